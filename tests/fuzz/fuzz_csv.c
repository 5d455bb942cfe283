/* libFuzzer harness: cx_csv_parse accepts any bytes or fails cleanly; when a table parses and
 * its first column is a valid key (no duplicates), looking up each row's key finds that row. */
#include <stddef.h>
#include <stdint.h>

#include "io/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cx_csv csv;
    if (cx_csv_parse((const char *)data, size, "fuzz.csv", &csv) != 0) return 0;
    for (size_t row = 0; row < csv.nrows; row++) {
        long found = cx_csv_find(&csv, 0, cx_csv_cell(&csv, row, 0));
        if (found == -2) break;   /* duplicate keys: refused, and that is all */
        if (found != (long)row) __builtin_trap();
    }
    cx_csv_free(&csv);
    return 0;
}
