/* The deterministic parity weights agree bit for bit with their Python twin. */
#include <stdlib.h>
#include <string.h>

#include "detweights.h"
#include "io/stream.h"
#include "test.h"

TEST(detweights_match_python_bit_for_bit) {
    cx_reader *rd = cx_reader_open("tests/data/ref/detweights.cxs");
    CHECK(rd != NULL);
    if (!rd) return;
    cx_record r;
    cx_record_init(&r);
    int n = 0;
    while (cx_reader_next(rd, &r) == 1) {
        const cx_tensor *t = cx_record_tensor(&r, "value");
        float *mine = malloc(t->nbytes);
        cx_det_tensor(r.id, t->ndim, t->shape, mine);
        if (!CHECK(!memcmp(mine, t->data, t->nbytes))) printf("  (%s)\n", r.id);
        free(mine);
        n++;
    }
    CHECK_EQ(n, 6);
    cx_record_free(&r);
    cx_reader_close(rd);
}
