/* libFuzzer harness: the stream decoder rejects garbage cleanly, both when decoding one record
 * from a buffer (cx_record_decode) and when reading a whole stream through a file descriptor
 * (cx_reader_open_fd on an in-memory file, then cx_reader_next to the end or the first error). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/stream.h"

static void read_stream(const uint8_t *data, size_t size) {
    int fd = memfd_create("fuzz-stream", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) abort();
    cx_reader *r = cx_reader_open_fd(fd, "fuzz.cxs");
    if (r) {
        cx_record rec;
        cx_record_init(&rec);
        while (cx_reader_next(r, &rec) == 1) continue;
        cx_record_free(&rec);
        cx_reader_close(r);
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cx_record rec;
    cx_record_init(&rec);
    cx_record_decode(data, size, &rec);
    cx_record_free(&rec);
    read_stream(data, size);
    return 0;
}
