/* PNG in and out through libpng (see png.h).
 *
 * libpng reports errors by calling on_png_error, which keeps the reason and longjmps back to
 * the setjmp of the small function that made the libpng call (read_header, read_pixels,
 * write_pixels). Those functions hold no locals of their own across setjmp, so nothing they
 * own can be clobbered; the callers allocate and free. */
#include "io/png.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/outfile.h"

/* Refuse bigger images as corrupt: a chest X-ray is ~10 Mpixels, 2^28 is far beyond any. */
#define MAX_PIXELS ((uint64_t)1 << 28)
/* Deflate cannot expand its input more than 1032:1, so a file of n bytes holds at most
 * 1032 * n bytes of pixel data; a header claiming more is a lie, refused before allocating. */
#define MAX_DEFLATE_RATIO 1032

typedef struct {
    char reason[256];
} png_failure;

static void on_png_error(png_structp png, png_const_charp msg) {
    png_failure *failure = png_get_error_ptr(png);
    snprintf(failure->reason, sizeof failure->reason, "%s", msg);
    png_longjmp(png, 1);
}

/* Library code never prints; libpng's warnings (unknown chunks, bad ancillary CRCs) are
 * about data it skips and does not affect the pixels. */
static void on_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* ---- reading ---- */

typedef struct {
    const unsigned char *data;
    size_t len, pos;
} memory_source;

static void read_from_memory(png_structp png, png_bytep out, size_t n) {
    memory_source *src = png_get_io_ptr(png);
    if (n > src->len - src->pos) png_error(png, "file is truncated");
    memcpy(out, src->data + src->pos, n);
    src->pos += n;
}

static void read_from_file(png_structp png, png_bytep out, size_t n) {
    FILE *f = png_get_io_ptr(png);
    if (fread(out, 1, n, f) != n) png_error(png, ferror(f) ? strerror(errno) : "file is truncated");
}

/* Reads the header and sets the transformations that leave 8- or 16-bit samples in host byte
 * order with 1 (gray), 2 (gray, alpha), 3 (RGB) or 4 (RGBA) channels. stored_bits is the
 * size of one pixel as the file stores it. 0, or -1 when libpng failed. */
static int read_header(png_structp png, png_infop info, int *stored_bits) {
    if (setjmp(png_jmpbuf(png))) return -1;
    png_read_info(png, info);
    *stored_bits = png_get_bit_depth(png, info) * png_get_channels(png, info);
    int color_type = png_get_color_type(png, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (png_get_bit_depth(png, info) == 16) png_set_swap(png);   /* PNG is big-endian, hosts little */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    return 0;
}

static int read_pixels(png_structp png, png_bytepp rows) {
    if (setjmp(png_jmpbuf(png))) return -1;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    return 0;
}

static unsigned sample(const unsigned char *row, size_t i, int depth) {
    return depth == 16 ? ((const uint16_t *)row)[i] : row[i];
}

/* Gray level of pixel x of a decoded row: luma 0.299 R + 0.587 G + 0.114 B (ITU-R 601),
 * times alpha (compositing on black), rounded half up, in exact integer arithmetic. */
static unsigned gray_level(const unsigned char *row, uint32_t x, int channels, int depth) {
    uint64_t maxval = depth == 16 ? 65535 : 255;
    size_t i = (size_t)x * channels;
    uint64_t luma_x1000 = channels >= 3
                              ? 299 * sample(row, i, depth) + 587 * sample(row, i + 1, depth) + 114 * sample(row, i + 2, depth)
                              : 1000 * sample(row, i, depth);
    uint64_t alpha = channels % 2 == 0 ? sample(row, i + channels - 1, depth) : maxval;
    return (unsigned)((luma_x1000 * alpha + 500 * maxval) / (1000 * maxval));
}

static int corrupt(const char *what, const png_failure *failure) {
    return cx_err(EX_DATAERR, "%s: corrupt PNG: %s", what, failure->reason);
}

/* source_bytes: the size of the whole file, or SIZE_MAX when unknown (a pipe). */
static int decode(png_structp png, png_infop info, png_failure *failure, size_t source_bytes, const char *what,
                  const char *tensor_name, cx_tensor *out) {
    int stored_bits;
    if (read_header(png, info, &stored_bits)) return corrupt(what, failure);
    uint32_t width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    if ((uint64_t)width * height > MAX_PIXELS)
        return cx_err(EX_DATAERR, "%s: corrupt PNG: %ux%u image exceeds the limit of %llu pixels", what, width, height,
                      (unsigned long long)MAX_PIXELS);
    uint64_t stored_bytes = ((uint64_t)width * stored_bits + 7) / 8 * height;
    if (source_bytes != SIZE_MAX && stored_bytes / MAX_DEFLATE_RATIO > source_bytes)
        return cx_err(EX_DATAERR, "%s: corrupt PNG: %zu bytes cannot hold a %ux%u image", what, source_bytes, width,
                      height);
    int channels = png_get_channels(png, info), depth = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    unsigned char *pixels = cx_malloc(rowbytes * height);   /* height x rowbytes */
    png_bytepp rows = cx_malloc(height * sizeof *rows);
    for (uint32_t y = 0; y < height; y++) rows[y] = pixels + y * rowbytes;
    int rc = read_pixels(png, rows) ? corrupt(what, failure) : 0;
    if (rc == 0) rc = cx_tensor_init(out, tensor_name, depth == 16 ? CX_U16 : CX_U8, 2,
                                     (const int64_t[]){height, width});
    for (uint32_t y = 0; rc == 0 && y < height; y++)
        for (uint32_t x = 0; x < width; x++) {
            size_t i = (size_t)y * width + x;
            unsigned g = gray_level(rows[y], x, channels, depth);
            if (depth == 16) ((uint16_t *)out->data)[i] = (uint16_t)g;
            else ((uint8_t *)out->data)[i] = (uint8_t)g;
        }
    free(rows);
    free(pixels);
    return rc;
}

/* io_ptr is a memory_source or a FILE, matching reader. */
static int read_png(void *io_ptr, png_rw_ptr reader, size_t source_bytes, const char *what, const char *tensor_name,
                    cx_tensor *out) {
    png_failure failure = {""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return cx_err(EX_OSERR, "%s: cannot set up the PNG decoder", what);
    }
    png_set_read_fn(png, io_ptr, reader);
    int rc = decode(png, info, &failure, source_bytes, what, tensor_name, out);
    png_destroy_read_struct(&png, &info, NULL);
    return rc;
}

int cx_png_read_mem(const void *buf, size_t len, const char *what, const char *tensor_name, cx_tensor *out) {
    memory_source src = {buf, len, 0};
    return read_png(&src, read_from_memory, len, what, tensor_name, out);
}

int cx_png_read(const char *path, const char *tensor_name, cx_tensor *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return cx_err(EX_NOINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    size_t source_bytes = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size : SIZE_MAX;
    int rc = read_png(f, read_from_file, source_bytes, path, tensor_name, out);
    fclose(f);
    return rc;
}

/* ---- writing ---- */

/* Gray levels 0..255 for display: u8 as it is; anything else maps [lo, hi] linearly onto
 * [0, 255] (lo == hi: the finite min and max), clamped, NaN -> 0. out holds numel bytes. */
static void display_levels(const cx_tensor *t, double lo, double hi, uint8_t *out) {
    int64_t n = cx_tensor_numel(t);
    if (t->dtype == CX_U8) {
        memcpy(out, t->data, (size_t)n);
        return;
    }
    if (lo == hi) {
        cx_tensor_stats s;
        cx_tensor_stats_compute(t, &s);
        lo = s.n > 0 ? s.min : 0;
        hi = s.n > 0 ? s.max : 0;
    }
    double scale = hi != lo ? 255.0 / (hi - lo) : 0;   /* a constant image is black */
    for (int64_t i = 0; i < n; i++) {
        double v = (cx_tensor_get(t, i) - lo) * scale;
        if (!(v > 0)) v = 0;   /* also NaN, and inf * 0 */
        if (v > 255) v = 255;
        out[i] = (uint8_t)(v + 0.5);
    }
}

static int write_pixels(png_structp png, png_infop info, FILE *f, uint32_t width, uint32_t height, int depth,
                        int color_type, const unsigned char *pixels, size_t rowbytes) {
    if (setjmp(png_jmpbuf(png))) return -1;
    png_init_io(png, f);
    png_set_IHDR(png, info, width, height, depth, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    if (depth == 16) png_set_swap(png);   /* tensors are little-endian, PNG big-endian */
    for (uint32_t y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * rowbytes);
    png_write_end(png, info);
    return 0;
}

/* Encode to an open output file; 0 or EX_IOERR (recorded). */
static int encode(cx_outfile *o, uint32_t width, uint32_t height, int depth, int color_type,
                  const unsigned char *pixels, size_t rowbytes) {
    png_failure failure = {""};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return cx_err(EX_OSERR, "%s: cannot set up the PNG encoder", cx_outfile_path(o));
    }
    int rc = 0;
    if (write_pixels(png, info, cx_outfile_fp(o), width, height, depth, color_type, pixels, rowbytes))
        rc = cx_err(EX_IOERR, "%s: cannot write PNG: %s", cx_outfile_path(o), failure.reason);
    png_destroy_write_struct(&png, &info);
    return rc;
}

int cx_png_write(const char *path, const cx_tensor *t, double lo, double hi) {
    bool gray = t->ndim == 2, rgb = t->ndim == 3 && t->shape[2] == 3 && t->dtype == CX_U8;
    if ((!gray && !rgb) || t->shape[0] < 1 || t->shape[1] < 1 || t->shape[0] > PNG_UINT_31_MAX ||
        t->shape[1] > PNG_UINT_31_MAX) {
        char shape[64];
        cx_shape_format(shape, sizeof shape, t->ndim, t->shape);
        return cx_err(EX_DATAERR, "%s: cannot write a %s tensor of shape %s as PNG (need [H, W], or u8 [H, W, 3])",
                      path, cx_dtype_name(t->dtype), shape);
    }
    uint32_t height = (uint32_t)t->shape[0], width = (uint32_t)t->shape[1];
    int depth = t->dtype == CX_U16 ? 16 : 8;
    int color_type = rgb ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY;
    size_t rowbytes = (size_t)width * (rgb ? 3 : 1) * (depth / 8);
    unsigned char *mapped = NULL;
    if (t->dtype != CX_U8 && t->dtype != CX_U16) {
        mapped = cx_malloc((size_t)width * height);
        display_levels(t, lo, hi, mapped);
    }
    cx_outfile *o = cx_outfile_open(path);
    int rc = o ? encode(o, width, height, depth, color_type, mapped ? mapped : t->data, rowbytes) : cx_errcode();
    if (o && rc == 0) rc = cx_outfile_commit(o);
    else if (o) cx_outfile_abort(o);
    free(mapped);
    return rc;
}

/* ---- overlay ---- */

/* Mask pixels are blended this far toward TINT, and the mask's edge drawn in EDGE: a red
 * wash keeps the anatomy visible underneath, a yellow outline shows exactly where it ends. */
#define TINT_WEIGHT 0.35
static const uint8_t TINT[3] = {255, 0, 0};
static const uint8_t EDGE[3] = {255, 255, 0};

int cx_overlay(const cx_tensor *image, const cx_tensor *mask, double lo, double hi, cx_tensor *rgb) {
    if (image->ndim != 2 || !cx_tensor_same_shape(image, mask)) {
        char a[64], b[64];
        cx_shape_format(a, sizeof a, image->ndim, image->shape);
        cx_shape_format(b, sizeof b, mask->ndim, mask->shape);
        return cx_err(EX_DATAERR, "overlay: image %s and mask %s must both be [H, W]", a, b);
    }
    int64_t height = image->shape[0], width = image->shape[1], n = height * width;
    int rc = cx_tensor_init(rgb, "overlay", CX_U8, 3, (const int64_t[]){height, width, 3});
    if (rc) return rc;
    uint8_t *level = cx_malloc((size_t)n), *inside = cx_malloc((size_t)n);   /* [H, W] each */
    display_levels(image, lo, hi, level);
    for (int64_t i = 0; i < n; i++) inside[i] = cx_tensor_get(mask, i) > 0;
    uint8_t *out = rgb->data;   /* [H, W, 3] */
    for (int64_t y = 0; y < height; y++)
        for (int64_t x = 0; x < width; x++) {
            int64_t i = y * width + x;
            /* outside the image counts as outside the mask, so the outline closes at the border */
            bool edge = inside[i] && (x == 0 || y == 0 || x == width - 1 || y == height - 1 || !inside[i - 1] ||
                                      !inside[i + 1] || !inside[i - width] || !inside[i + width]);
            for (int c = 0; c < 3; c++) {
                double v = level[i];
                if (edge) v = EDGE[c];
                else if (inside[i]) v += TINT_WEIGHT * (TINT[c] - v);
                out[3 * i + c] = (uint8_t)(v + 0.5);
            }
        }
    free(inside);
    free(level);
    return 0;
}
