/* PNG reading and writing (lib/io/png.c).
 *
 * The files read here are made in the test through libpng's own writer from samples packed
 * by hand (bits packed MSB first, 16-bit big-endian, as the PNG spec says), and the expected
 * gray levels are computed from those samples directly: luma 0.299 R + 0.587 G + 0.114 B
 * times alpha / max, rounded to nearest, low-bit gray scaled to 8 bits by v * 255 / (2^b - 1). */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "io/png.h"
#include "test.h"

typedef struct {
    int width, height, bit_depth, color_type, interlace;
    const unsigned *samples;          /* height x width x channels; palette indices for palette images */
    const png_color *palette;
    int npalette;
    const png_byte *palette_alpha;    /* tRNS of a palette image: alpha of the first entries */
    int nalpha;
    int trans_gray;                   /* tRNS of a gray image: this level is transparent; -1: none */
} png_spec;

static int spec_channels(const png_spec *s) {
    switch (s->color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
    }
}

/* Pack one row of samples the way PNG stores them. */
static void pack_row(const png_spec *s, const unsigned *samples, unsigned char *row) {
    int n = s->width * spec_channels(s), bits = s->bit_depth;
    if (bits == 16) {
        for (int i = 0; i < n; i++) {
            row[2 * i] = (unsigned char)(samples[i] >> 8);
            row[2 * i + 1] = (unsigned char)(samples[i] & 0xff);
        }
        return;
    }
    memset(row, 0, ((size_t)n * bits + 7) / 8);
    for (int i = 0; i < n; i++) {
        int bit = i * bits;
        row[bit / 8] |= (unsigned char)(samples[i] << (8 - bits - bit % 8));
    }
}

static bool write_spec(const char *path, const png_spec *s) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    int n = s->width * spec_channels(s);
    unsigned char *rows = calloc((size_t)s->height, (size_t)n * 2 + 1);
    size_t stride = (size_t)n * 2 + 1;
    for (int y = 0; y < s->height; y++) pack_row(s, s->samples + (size_t)y * n, rows + y * stride);
    bool ok = false;
    if (!setjmp(png_jmpbuf(png))) {
        png_init_io(png, f);
        png_set_IHDR(png, info, s->width, s->height, s->bit_depth, s->color_type, s->interlace,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        if (s->palette) png_set_PLTE(png, info, s->palette, s->npalette);
        if (s->palette_alpha) png_set_tRNS(png, info, s->palette_alpha, s->nalpha, NULL);
        if (s->trans_gray >= 0) {
            png_color_16 trans = {.gray = (png_uint_16)s->trans_gray};
            png_set_tRNS(png, info, NULL, 0, &trans);
        }
        png_write_info(png, info);
        int passes = png_set_interlace_handling(png);
        for (int pass = 0; pass < passes; pass++)
            for (int y = 0; y < s->height; y++) png_write_row(png, rows + y * stride);
        png_write_end(png, info);
        ok = true;
    }
    png_destroy_write_struct(&png, &info);
    free(rows);
    return fclose(f) == 0 && ok;
}

/* The gray level cx_png_read must give for pixel i, from the samples. */
static unsigned expected_gray(const png_spec *s, int i) {
    int c = spec_channels(s);
    const unsigned *px = s->samples + (size_t)i * c;
    double maxval = s->bit_depth == 16 ? 65535 : 255;
    double r, g, b, alpha = maxval;
    if (s->color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color e = s->palette[px[0]];
        r = e.red, g = e.green, b = e.blue;
        if ((int)px[0] < s->nalpha) alpha = s->palette_alpha[px[0]];
    } else if (c >= 3) {
        r = px[0], g = px[1], b = px[2];
        if (c == 4) alpha = px[3];
    } else {
        double level = s->bit_depth < 8 ? px[0] * 255.0 / ((1 << s->bit_depth) - 1) : px[0];
        r = g = b = level;
        if (c == 2) alpha = px[1];
        if ((int)px[0] == s->trans_gray) alpha = 0;
    }
    /* integers throughout, so one correctly rounded division: halves round up */
    return (unsigned)llround((299 * r + 587 * g + 114 * b) * alpha / (1000 * maxval));
}

/* Write s, read it back with cx_png_read and compare every pixel with expected_gray. */
static void check_decode(const char *name, const png_spec *s) {
    const char *path = cx_test_tmp(name);
    if (!CHECK(write_spec(path, s))) return;
    cx_tensor t = {0};
    int rc = cx_png_read(path, "image", &t);
    if (!CHECK_EQ(rc, 0)) {
        printf("  %s: %s\n", name, cx_errmsg());
        return;
    }
    CHECK_EQ(t.dtype, s->bit_depth == 16 ? CX_U16 : CX_U8);
    CHECK(strcmp(t.name, "image") == 0);
    if (CHECK_EQ(t.ndim, 2) && CHECK_EQ(t.shape[0], s->height) && CHECK_EQ(t.shape[1], s->width)) {
        int bad = 0;
        for (int i = 0; i < s->width * s->height; i++) {
            unsigned got = (unsigned)cx_tensor_get(&t, i), want = expected_gray(s, i);
            if (got != want && bad++ == 0) printf("  %s: pixel %d is %u, want %u\n", name, i, got, want);
        }
        CHECK_EQ(bad, 0);
    }
    cx_tensor_free(&t);
}

/* n random samples below 2^bits, or below limit when limit > 0. */
static unsigned *random_samples(int n, int bits, unsigned limit, uint64_t seed) {
    cx_rng r;
    cx_rng_seed(&r, seed);
    unsigned *v = malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++) v[i] = (unsigned)cx_rng_below(&r, limit ? limit : 1u << bits);
    return v;
}

static const png_color PALETTE[5] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {200, 100, 50}, {7, 8, 9}};
static const png_byte PALETTE_ALPHA[3] = {255, 128, 0};

TEST(png_read_palette) {
    for (int bits = 2; bits <= 8; bits *= 2) {   /* 2, 4 and 8-bit indices */
        unsigned *idx = random_samples(13 * 5, 0, bits == 2 ? 4 : 5, 10 + bits);
        png_spec s = {.width = 13, .height = 5, .bit_depth = bits, .color_type = PNG_COLOR_TYPE_PALETTE,
                      .samples = idx, .palette = PALETTE, .npalette = bits == 2 ? 4 : 5, .trans_gray = -1};
        check_decode("palette.png", &s);
        s.palette_alpha = PALETTE_ALPHA;
        s.nalpha = 3;
        check_decode("palette-trns.png", &s);
        free(idx);
    }
}

TEST(png_read_rgb_rgba) {
    for (int bits = 8; bits <= 16; bits += 8) {
        unsigned *v = random_samples(11 * 7 * 4, bits, 0, 20 + bits);
        png_spec s = {.width = 11, .height = 7, .bit_depth = bits, .color_type = PNG_COLOR_TYPE_RGB, .samples = v,
                      .trans_gray = -1};
        check_decode("rgb.png", &s);
        s.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
        check_decode("rgba.png", &s);
        free(v);
    }
}

/* Pixels whose luma is exactly halfway between two levels, e.g. 25, 75, 0 -> 51.5: they round up. */
TEST(png_read_rgb_halves_round_up) {
    const unsigned v[9] = {25, 75, 0, 5, 5, 255, 35, 105, 100};
    png_spec s = {.width = 3, .height = 1, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_RGB, .samples = v,
                  .trans_gray = -1};
    check_decode("halves.png", &s);
}

TEST(png_read_gray_alpha) {
    for (int bits = 8; bits <= 16; bits += 8) {
        unsigned *v = random_samples(9 * 6 * 2, bits, 0, 30 + bits);
        png_spec s = {.width = 9, .height = 6, .bit_depth = bits, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA,
                      .samples = v, .trans_gray = -1};
        check_decode("gray-alpha.png", &s);
        free(v);
    }
}

TEST(png_read_gray_all_depths) {
    for (int bits = 1; bits <= 16; bits *= 2) {
        unsigned *v = random_samples(19 * 4, bits, 0, 40 + bits);
        png_spec s = {.width = 19, .height = 4, .bit_depth = bits, .color_type = PNG_COLOR_TYPE_GRAY, .samples = v,
                      .trans_gray = -1};
        check_decode("gray.png", &s);
        s.trans_gray = (int)v[3];   /* some pixels are this level: they become black */
        check_decode("gray-trns.png", &s);
        free(v);
    }
}

TEST(png_read_interlaced) {
    unsigned *v = random_samples(17 * 11 * 3, 16, 0, 50);
    png_spec s = {.width = 17, .height = 11, .color_type = PNG_COLOR_TYPE_GRAY,
                  .interlace = PNG_INTERLACE_ADAM7, .samples = v, .trans_gray = -1};
    s.bit_depth = 16;
    check_decode("adam7-gray16.png", &s);
    s.color_type = PNG_COLOR_TYPE_RGB;
    check_decode("adam7-rgb16.png", &s);
    s.bit_depth = 8;
    s.color_type = PNG_COLOR_TYPE_GRAY;
    for (int i = 0; i < 17 * 11; i++) v[i] &= 0xff;
    check_decode("adam7-gray8.png", &s);
    s.bit_depth = 1;
    for (int i = 0; i < 17 * 11; i++) v[i] &= 1;
    check_decode("adam7-gray1.png", &s);
    free(v);
}

/* Round trips through cx_png_write and cx_png_read must be bit exact. */
static void check_round_trip(cx_dtype dt, int64_t height, int64_t width, uint64_t seed) {
    cx_tensor t = {0}, back = {0};
    cx_tensor_init(&t, "x", dt, 2, (int64_t[]){height, width});
    cx_rng r;
    cx_rng_seed(&r, seed);
    for (int64_t i = 0; i < height * width; i++) cx_tensor_set(&t, i, (double)cx_rng_below(&r, dt == CX_U8 ? 256 : 65536));
    const char *path = cx_test_tmp("round-trip.png");
    CHECK_EQ(cx_png_write(path, &t, 0, 0), 0);
    if (CHECK_EQ(cx_png_read(path, "x", &back), 0)) {
        CHECK_EQ(back.dtype, dt);
        CHECK(cx_tensor_same_shape(&t, &back));
        CHECK(back.nbytes == t.nbytes && memcmp(back.data, t.data, t.nbytes) == 0);
    }
    cx_tensor_free(&t);
    cx_tensor_free(&back);
}

TEST(png_round_trip_u8_u16) {
    const int64_t sizes[][2] = {{1, 1}, {3, 517}, {517, 3}, {64, 48}};
    for (int k = 0; k < 4; k++) {
        check_round_trip(CX_U8, sizes[k][0], sizes[k][1], 60 + k);
        check_round_trip(CX_U16, sizes[k][0], sizes[k][1], 70 + k);
    }
}

/* The written file itself, read by libpng here: 16-bit gray, samples big-endian. */
TEST(png_write_u16_file_layout) {
    cx_tensor t = {0};
    cx_tensor_init(&t, "x", CX_U16, 2, (int64_t[]){2, 3});
    const uint16_t values[6] = {0, 1, 256, 0x1234, 0xfedc, 65535};
    memcpy(t.data, values, sizeof values);
    const char *path = cx_test_tmp("layout.png");
    CHECK_EQ(cx_png_write(path, &t, 0, 0), 0);
    FILE *f = fopen(path, "rb");
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    unsigned char rows[2][6];
    if (f && !setjmp(png_jmpbuf(png))) {
        png_init_io(png, f);
        png_read_info(png, info);
        CHECK_EQ(png_get_bit_depth(png, info), 16);
        CHECK_EQ(png_get_color_type(png, info), PNG_COLOR_TYPE_GRAY);
        png_read_row(png, rows[0], NULL);
        png_read_row(png, rows[1], NULL);
        for (int i = 0; i < 6; i++)
            CHECK_EQ(rows[i / 3][2 * (i % 3)] << 8 | rows[i / 3][2 * (i % 3) + 1], values[i]);
    } else {
        CHECK(!"libpng could not read the written file");
    }
    png_destroy_read_struct(&png, &info, NULL);
    if (f) fclose(f);
    cx_tensor_free(&t);
}

TEST(png_write_rgb) {
    cx_tensor t = {0}, back = {0};
    cx_tensor_init(&t, "rgb", CX_U8, 3, (int64_t[]){5, 7, 3});
    unsigned *v = random_samples(5 * 7 * 3, 8, 0, 80);
    for (int i = 0; i < 5 * 7 * 3; i++) ((uint8_t *)t.data)[i] = (uint8_t)v[i];
    const char *path = cx_test_tmp("rgb-out.png");
    CHECK_EQ(cx_png_write(path, &t, 0, 0), 0);
    png_spec s = {.width = 7, .height = 5, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_RGB, .samples = v,
                  .trans_gray = -1};
    if (CHECK_EQ(cx_png_read(path, "g", &back), 0))
        for (int i = 0; i < 35; i++) CHECK_EQ(((uint8_t *)back.data)[i], expected_gray(&s, i));
    free(v);
    cx_tensor_free(&t);
    cx_tensor_free(&back);
}

/* round((x - lo) / (hi - lo) * 255) clamped to [0, 255], NaN -> 0 */
static unsigned mapped_level(double x, double lo, double hi) {
    if (isnan(x)) return 0;
    double v = (x - lo) / (hi - lo) * 255;
    return v <= 0 ? 0 : v >= 255 ? 255 : (unsigned)floor(v + 0.5);
}

TEST(png_write_float_mapping) {
    const float values[8] = {-1.0f, 0.0f, 0.25f, 0.5f, 2.0f, NAN, INFINITY, -INFINITY};
    cx_tensor t = {0}, back = {0};
    cx_tensor_init(&t, "f", CX_F32, 2, (int64_t[]){2, 4});
    memcpy(t.data, values, sizeof values);
    const char *path = cx_test_tmp("float.png");
    /* an explicit window, then lo == hi: the finite range [-1, 2] */
    const double windows[2][2] = {{0, 1}, {0, 0}}, ranges[2][2] = {{0, 1}, {-1, 2}};
    for (int w = 0; w < 2; w++) {
        CHECK_EQ(cx_png_write(path, &t, windows[w][0], windows[w][1]), 0);
        if (CHECK_EQ(cx_png_read(path, "g", &back), 0) && CHECK_EQ(back.dtype, CX_U8))
            for (int i = 0; i < 8; i++) {
                unsigned want = values[i] == -INFINITY ? 0 : mapped_level(values[i], ranges[w][0], ranges[w][1]);
                CHECK_EQ(((uint8_t *)back.data)[i], want);
            }
        cx_tensor_free(&back);
    }
    cx_tensor_free(&t);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.' || strstr(e->d_name, ".tmp-") != NULL;
    if (d) closedir(d);
    return n;
}

TEST(png_write_failures_leave_no_file) {
    const char *dir = cx_test_tmp("write-fail");
    mkdir(dir, 0777);
    char path[600];
    snprintf(path, sizeof path, "%s/out.png", dir);
    cx_tensor t = {0};
    /* libpng refuses widths over its limit of a million: the error comes mid-write */
    cx_tensor_init(&t, "wide", CX_U8, 2, (int64_t[]){1, 1000001});
    CHECK_EQ(cx_png_write(path, &t, 0, 0), EX_IOERR);
    CHECK(strstr(cx_errmsg(), path) != NULL);
    cx_tensor_free(&t);
    cx_tensor_init(&t, "rgb16", CX_U16, 3, (int64_t[]){2, 2, 3});
    CHECK_EQ(cx_png_write(path, &t, 0, 0), EX_DATAERR);
    cx_tensor_free(&t);
    cx_tensor_init(&t, "cube", CX_U8, 3, (int64_t[]){2, 2, 2});
    CHECK_EQ(cx_png_write(path, &t, 0, 0), EX_DATAERR);
    cx_tensor_free(&t);
    CHECK_EQ(count_entries(dir), 0);
    snprintf(path, sizeof path, "%s/no-such-dir/out.png", dir);
    cx_tensor_init(&t, "x", CX_U8, 2, (int64_t[]){2, 2});
    CHECK(cx_png_write(path, &t, 0, 0) != 0);
    cx_tensor_free(&t);
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *buf = malloc(*len ? *len : 1);
    if (fread(buf, 1, *len, f) != *len) *len = 0;
    fclose(f);
    return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
}

/* A corrupt file must fail from disk and from memory alike, naming the file. */
static void check_corrupt(const char *path, const unsigned char *buf, size_t len, const char *reason) {
    spit(path, buf, len);
    cx_tensor t = {0};
    CHECK_EQ(cx_png_read(path, "x", &t), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), path) && strstr(cx_errmsg(), "corrupt PNG"));
    if (reason && !CHECK(strstr(cx_errmsg(), reason))) printf("  message: %s\n", cx_errmsg());
    CHECK_EQ(cx_png_read_mem(buf, len, "in-memory", "x", &t), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "in-memory") != NULL);
    CHECK(t.data == NULL);
}

static void write_random_gray(const char *path, int width, int height) {
    unsigned *v = random_samples(width * height, 8, 0, 90);
    png_spec s = {.width = width, .height = height, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_GRAY,
                  .samples = v, .trans_gray = -1};
    CHECK(write_spec(path, &s));
    free(v);
}

TEST(png_truncated) {
    const char *good = cx_test_tmp("whole.png"), *cut = cx_test_tmp("cut.png");
    write_random_gray(good, 40, 30);
    size_t len = 0;
    unsigned char *buf = slurp(good, &len);
    if (!CHECK(buf && len > 1000)) return;
    /* inside the signature, IHDR, the IDAT header, the pixel data, IEND */
    const size_t cuts[] = {0, 5, 8, 20, 33, 40, 45, 300, len / 2, len - 20, len - 12, len - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) check_corrupt(cut, buf, cuts[k], NULL);
    free(buf);
}

TEST(png_bad_crc) {
    const char *good = cx_test_tmp("whole.png"), *bad = cx_test_tmp("bad-crc.png");
    write_random_gray(good, 40, 30);
    size_t len = 0;
    unsigned char *buf = slurp(good, &len);
    if (!CHECK(buf && len > 100)) return;
    /* 8 signature bytes, then IHDR: length 4, type 4, data 13, CRC at 29..32; the last IDAT's
     * CRC just before IEND, whose 12 bytes end the file */
    const size_t crc_bytes[] = {30, len - 14, len - 2};
    for (int k = 0; k < 3; k++) {
        buf[crc_bytes[k]] ^= 0x10;
        check_corrupt(bad, buf, len, "CRC");
        buf[crc_bytes[k]] ^= 0x10;
    }
    /* a flipped bit in the compressed pixels: zlib's own check (or the CRC) catches it */
    buf[60] ^= 0x10;
    check_corrupt(bad, buf, len, NULL);
    free(buf);
}

static uint32_t crc32_png(const unsigned char *p, size_t n) {   /* bitwise CRC-32 (ISO 3309) */
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

static size_t put_chunk(unsigned char *out, const char *type, const unsigned char *data, uint32_t n) {
    unsigned char *p = out;
    *p++ = (unsigned char)(n >> 24), *p++ = (unsigned char)(n >> 16), *p++ = (unsigned char)(n >> 8), *p++ = (unsigned char)n;
    memcpy(p, type, 4);
    if (n) memcpy(p + 4, data, n);
    uint32_t crc = crc32_png(p, n + 4);
    p += n + 4;
    *p++ = (unsigned char)(crc >> 24), *p++ = (unsigned char)(crc >> 16), *p++ = (unsigned char)(crc >> 8), *p++ = (unsigned char)crc;
    return (size_t)(p - out);
}

/* A well-formed header claiming huge dimensions, with a few bytes of image data. */
static size_t huge_header_png(unsigned char *out, uint32_t width, uint32_t height) {
    static const unsigned char sig[8] = {137, 'P', 'N', 'G', '\r', '\n', 26, '\n'};
    unsigned char ihdr[13] = {(unsigned char)(width >> 24), (unsigned char)(width >> 16), (unsigned char)(width >> 8),
                              (unsigned char)width, (unsigned char)(height >> 24), (unsigned char)(height >> 16),
                              (unsigned char)(height >> 8), (unsigned char)height, 8, 0, 0, 0, 0};
    const unsigned char idat[8] = {0x78, 0x9c, 0x63, 0, 0, 0, 0, 0};
    memcpy(out, sig, 8);
    size_t n = 8 + put_chunk(out + 8, "IHDR", ihdr, 13);
    n += put_chunk(out + n, "IDAT", idat, 8);
    return n + put_chunk(out + n, "IEND", NULL, 0);
}

TEST(png_absurd_dimensions) {
    unsigned char buf[128];
    const char *path = cx_test_tmp("huge.png");
    check_corrupt(path, buf, huge_header_png(buf, 20000, 20000), "limit");   /* 4e8 > 2^28 pixels */
    check_corrupt(path, buf, huge_header_png(buf, 10000, 10000), "cannot hold");   /* 1e8 bytes from 57 */
}

TEST(png_missing_file) {
    cx_tensor t = {0};
    const char *path = cx_test_tmp("no-such.png");
    CHECK_EQ(cx_png_read(path, "x", &t), EX_NOINPUT);
    CHECK(strstr(cx_errmsg(), path) != NULL);
}

TEST(png_overlay) {
    enum { H = 9, W = 12 };
    cx_tensor image = {0}, mask = {0}, rgb = {0};
    cx_tensor_init(&image, "image", CX_F32, 2, (int64_t[]){H, W});
    cx_tensor_init(&mask, "mask", CX_U8, 2, (int64_t[]){H, W});
    float *level = image.data;
    uint8_t *m = mask.data;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            level[y * W + x] = (float)(y * W + x);
            /* a rectangle inside the image, and a block touching the right border */
            m[y * W + x] = (y >= 2 && y <= 6 && x >= 3 && x <= 7) || (y >= 3 && y <= 5 && x >= 10);
        }
    if (!CHECK_EQ(cx_overlay(&image, &mask, 0, 0, &rgb), 0)) return;
    CHECK(rgb.dtype == CX_U8 && rgb.ndim == 3 && rgb.shape[0] == H && rgb.shape[1] == W && rgb.shape[2] == 3);
    const uint8_t *out = rgb.data;
    int bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double g = mapped_level(level[y * W + x], 0, H * W - 1);
            bool rect_edge = (y == 2 || y == 6 || x == 3 || x == 7) && y >= 2 && y <= 6 && x >= 3 && x <= 7;
            bool block_edge = (y == 3 || y == 5 || x == 10 || x == 11) && y >= 3 && y <= 5 && x >= 10;
            double want[3] = {g, g, g};
            if (rect_edge || block_edge) {
                want[0] = 255, want[1] = 255, want[2] = 0;   /* solid yellow outline */
            } else if (m[y * W + x]) {
                want[0] = g + 0.35 * (255 - g), want[1] = 0.65 * g, want[2] = 0.65 * g;   /* 35% toward red */
            }
            for (int c = 0; c < 3; c++) bad += fabs(out[(y * W + x) * 3 + c] - want[c]) > 0.5 + 1e-9;
        }
    CHECK_EQ(bad, 0);
    cx_tensor_free(&rgb);
    cx_tensor_free(&mask);
    cx_tensor_init(&mask, "mask", CX_U8, 2, (int64_t[]){H, W + 1});
    CHECK_EQ(cx_overlay(&image, &mask, 0, 0, &rgb), EX_DATAERR);
    cx_tensor_free(&mask);
    cx_tensor_free(&image);
}
