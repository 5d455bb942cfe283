/* libFuzzer harness: cx_png_read_mem turns any bytes into a 2-D gray tensor or a clean error.
 *
 * libpng is not coverage-instrumented and checks each chunk's CRC before using it, so nearly
 * every mutation would die there unseen. Each input is therefore decoded twice: as given,
 * and with its chunk CRCs recomputed, which lets mutated headers and palettes through to the
 * decoding and conversion paths. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/tensor.h"
#include "io/png.h"

static uint32_t get_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Chunks after the 8-byte signature: length, type, data, CRC over type and data. */
static void fix_crcs(uint8_t *png, size_t size) {
    for (size_t at = 8; at + 12 <= size;) {
        uint32_t len = get_be32(png + at);
        if (len > size - at - 12) break;
        put_be32(png + at + 8 + len, (uint32_t)crc32(0, png + at + 4, len + 4));
        at += 12 + len;
    }
}

static void decode(const uint8_t *data, size_t size) {
    cx_tensor t = {0};
    if (cx_png_read_mem(data, size, "fuzz.png", "image", &t) != 0) return;
    bool consistent = t.ndim == 2 && (t.dtype == CX_U8 || t.dtype == CX_U16) &&
                      t.nbytes == (size_t)(t.shape[0] * t.shape[1]) * cx_dtype_size(t.dtype);
    if (!consistent) __builtin_trap();
    cx_tensor_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    decode(data, size);
    uint8_t *fixed = malloc(size ? size : 1);
    memcpy(fixed, data, size);
    fix_crcs(fixed, size);
    decode(fixed, size);
    free(fixed);
    return 0;
}
