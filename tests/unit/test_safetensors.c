/* safetensors: files written by tests/ref/gen_train.py's own writer (Python, laid out by hand
 * from the specification) read here, the C writer reproducing the Python writer's bytes, round
 * trips, every F16 and BF16 value against a direct decoding, and one corrupt variant per rule
 * of the format, each made by editing a valid file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"
#include "test.h"

#define MIXED "tests/data/ref/st_mixed.safetensors"
#define WRITTEN "tests/data/ref/st_written.safetensors"

typedef struct {
    unsigned char *bytes;
    size_t size;
} blob;

static blob read_all(const char *path) {
    blob b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (!CHECK(f != NULL)) return b;
    fseek(f, 0, SEEK_END);
    b.size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b.bytes = malloc(b.size ? b.size : 1);
    CHECK(fread(b.bytes, 1, b.size, f) == b.size);
    fclose(f);
    return b;
}

static void write_all(const char *path, const void *bytes, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!CHECK(f != NULL)) return;
    CHECK(fwrite(bytes, 1, size, f) == size);
    fclose(f);
}

static cx_st_file *open_or_report(const char *path) {
    cx_st_file *f = cx_st_open(path);
    if (!f) printf("  %s\n", cx_errmsg());
    CHECK(f != NULL);
    return f;
}

/* Direct decodings from the formats' definitions, independent of the library's converters:
 * F16 (1, 5, 10 bits, bias 15) and BF16 (1, 8, 7 bits, bias 127), subnormals included. */
static double half_direct(uint16_t h) {
    int e = h >> 10 & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return h >> 15 ? -v : v;
}

static double bf16_direct(uint16_t b) {
    int e = b >> 7 & 255, m = b & 127;
    double v = e == 0 ? ldexp(m, -133) : e == 255 ? (m ? NAN : INFINITY) : ldexp(128 + m, e - 134);
    return b >> 15 ? -v : v;
}

/* Equal as float32 bits (so -0 differs from 0), or both NaN. */
static bool same_float(float got, double want) {
    float w = (float)want;
    return isnan(w) ? isnan(got) : memcmp(&got, &w, sizeof got) == 0;
}

/* ---- reading Python's file ---- */

/* Each "<x>.values" beside its "<x>.expect", which numpy/torch converted to float32: F16 and
 * BF16 specials (signed zeros, subnormals, infinities, NaN, the largest values), F64 rounding
 * (ties, underflow to 0 and to subnormals, overflow to inf), integers past 2^24. */
TEST(safetensors_reads_python_values) {
    cx_st_file *f = open_or_report(MIXED);
    if (!f) return;
    static const char *const kinds[] = {"f16", "bf16", "f64", "i64", "i32", "u8"};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        char values[32], expect[32];
        snprintf(values, sizeof values, "%s.values", kinds[k]);
        snprintf(expect, sizeof expect, "%s.expect", kinds[k]);
        const cx_st_entry *e = cx_st_find(f, values);
        if (!CHECK(e != NULL && e->ndim == 1)) continue;
        float *got = calloc((size_t)e->numel, sizeof(float)), *want = calloc((size_t)e->numel, sizeof(float));
        CHECK(cx_st_read_f32(f, values, got, e->numel) == 0);
        CHECK(cx_st_read_f32(f, expect, want, e->numel) == 0);
        for (int64_t i = 0; i < e->numel; i++)
            if (!CHECK(same_float(got[i], want[i]))) printf("  %s[%lld]: %.9g, want %.9g\n", values, (long long)i, got[i], want[i]);
        free(got);
        free(want);
    }
    cx_st_close(f);
}

/* The integer tensors as int64, against the same numbers written as text in __metadata__; the
 * BatchNorm counter as a scalar; dtypes, shapes, names with escapes and non-ASCII characters
 * (\u escapes and a surrogate pair in the file), spaced JSON with keys out of data order. */
TEST(safetensors_reads_python_layout) {
    cx_st_file *f = open_or_report(MIXED);
    if (!f) return;
    CHECK(cx_st_count(f) == 19);
    const cx_value *meta = cx_st_metadata(f);
    CHECK(!strcmp(cx_map_str(meta, "format", ""), "pt"));
    CHECK(!strcmp(cx_map_str(meta, "note", ""), "\xc3\xa9\xc3\xa8 \xf0\x9f\x99\x82 \"quoted\" back\\slash"));
    static const char *const ints[] = {"i64.values", "i32.values", "u8.values", "bn1.num_batches_tracked"};
    for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
        const cx_st_entry *e = cx_st_find(f, ints[k]);
        if (!CHECK(e != NULL)) continue;
        int64_t got[8];
        if (!CHECK(e->numel <= 8 && cx_st_read_i64(f, ints[k], got, e->numel) == 0)) continue;
        const char *text = cx_map_str(meta, ints[k], "");
        for (int64_t i = 0; i < e->numel; i++) {
            char *end;
            long long want = strtoll(text, &end, 10);
            CHECK(end != text && got[i] == want);
            text = end;
        }
    }
    const cx_st_entry *nbt = cx_st_find(f, "bn1.num_batches_tracked");
    CHECK(nbt && nbt->dtype == CX_ST_I64 && nbt->ndim == 0 && nbt->numel == 1 && nbt->begin == 0);
    const cx_st_entry *empty = cx_st_find(f, "empty");
    CHECK(empty && empty->ndim == 2 && empty->shape[0] == 0 && empty->shape[1] == 3 && empty->numel == 0);
    float v[2];
    CHECK(cx_st_read_f32(f, "scalar", v, 1) == 0 && v[0] == -0.5f);
    CHECK(cx_st_read_f32(f, "bn.\xc3\xa9.weight", v, 2) == 0 && v[0] == 1.5f && v[1] == -2.0f);
    CHECK(cx_st_read_f32(f, "quote\"back\\slash/tab\t", v, 1) == 0 && v[0] == 2.0f);
    const cx_st_entry *emoji = cx_st_find(f, "emoji.\xf0\x9f\x99\x82");
    CHECK(emoji && emoji->dtype == CX_ST_U8 && emoji->numel == 1);
    CHECK(cx_st_find(f, "emoji.") == NULL && cx_st_find(f, "") == NULL);
    static const char *const dtypes[] = {"U8", "F16", "BF16", "I32", "F32", "F64", "I64"};
    for (int d = 0; d < CX_ST_NDTYPES; d++) CHECK(!strcmp(cx_st_dtype_name((cx_st_dtype)d), dtypes[d]));
    /* file order is data order */
    for (size_t i = 1; i < cx_st_count(f); i++) CHECK(cx_st_entry_at(f, i)->begin == cx_st_entry_at(f, i - 1)->end);
    CHECK(cx_st_entry_at(f, cx_st_count(f)) == NULL);
    cx_st_close(f);
}

/* Asking for what is not there: an error naming the file and the tensor. */
TEST(safetensors_read_errors) {
    cx_st_file *f = open_or_report(MIXED);
    if (!f) return;
    float v[8];
    int64_t n;
    CHECK(cx_st_read_f32(f, "f32.values", v, 5) == EX_DATAERR && strstr(cx_errmsg(), "f32.values") &&
          strstr(cx_errmsg(), MIXED));
    CHECK(cx_st_read_f32(f, "nope", v, 1) == EX_DATAERR && strstr(cx_errmsg(), "nope"));
    CHECK(cx_st_read_i64(f, "scalar", &n, 1) == EX_DATAERR && strstr(cx_errmsg(), "scalar"));
    cx_st_close(f);
    CHECK(cx_st_open("tests/data/ref/no-such-file.safetensors") == NULL && cx_errcode() == EX_NOINPUT);
}

/* ---- writing ---- */

/* ((37 i + salt) mod 101 - 50) / 64, exact in float32: gen_train.py's pattern(). */
static void pattern(float *v, int n, int salt) {
    for (int i = 0; i < n; i++) v[i] = (float)((i * 37 + salt) % 101 - 50) / 64.0f;
}

/* gen_train.py's st_written() input, given in another order and with the metadata keys
 * inserted unsorted: the C writer must produce the Python writer's file byte for byte. */
TEST(safetensors_writer_matches_python_bytes) {
    float conv[72], bias[3], var[4], head[4], e[1];
    pattern(conv, 72, 1);
    pattern(bias, 3, 2);
    pattern(var, 4, 3);
    pattern(head, 4, 4);
    pattern(e, 1, 5);
    int64_t nbt = 7;
    int32_t ids[5] = {3, -1, 0, 2147483647, -2147483647 - 1};
    cx_st_tensor t[] = {
        {"ids", CX_ST_I32, 1, {5}, ids},
        {"head.\"x\"\\y", CX_ST_F32, 2, {2, 2}, head},
        {"layer1.0.conv1.weight", CX_ST_F32, 4, {4, 2, 3, 3}, conv},
        {"empty", CX_ST_F32, 2, {2, 0}, NULL},
        {"bn1.num_batches_tracked", CX_ST_I64, 0, {0}, &nbt},
        {"fc.bias", CX_ST_F32, 1, {3}, bias},
        {"bn.\xc3\xa9", CX_ST_F32, 1, {1}, e},
        {"bn1.running_var", CX_ST_F32, 1, {4}, var},
    };
    cx_value meta = cx_map();
    cx_map_set(&meta, "producer", cx_str("cxr-mtl"));
    cx_map_set(&meta, "note", cx_str("tab\there\nnew line \x01 \"q\" \xc3\xa9"));
    cx_map_set(&meta, "format", cx_str("pt"));
    const char *path = cx_test_tmp("written.safetensors");
    if (CHECK(cx_st_write(path, t, sizeof t / sizeof *t, &meta) == 0)) {
        blob got = read_all(path), want = read_all(WRITTEN);
        if (!CHECK(got.size == want.size && memcmp(got.bytes, want.bytes, want.size) == 0))
            for (size_t i = 0; i < got.size && i < want.size; i++)
                if (got.bytes[i] != want.bytes[i]) {
                    printf("  first difference at byte %zu of %zu\n", i, want.size);
                    break;
                }
        free(got.bytes);
        free(want.bytes);
    }
    cx_value_free(&meta);
}

/* Every dtype, a scalar, an empty tensor and odd sizes out and back: names, dtypes, shapes, raw
 * bytes and metadata survive; the header is padded to 8 bytes and every tensor is aligned to its
 * element size; no metadata means no __metadata__ entry. */
TEST(safetensors_round_trip) {
    unsigned char data[7][40];
    for (int k = 0; k < 7; k++)
        for (int i = 0; i < 40; i++) data[k][i] = (unsigned char)(k * 41 + i * 7 + 3);
    cx_st_tensor t[] = {
        {"u8", CX_ST_U8, 1, {3}, data[0]},            {"f16", CX_ST_F16, 2, {1, 3}, data[1]},
        {"bf16", CX_ST_BF16, 1, {5}, data[2]},        {"i32", CX_ST_I32, 3, {1, 1, 3}, data[3]},
        {"f32.\xe2\x82\xac", CX_ST_F32, 0, {0}, data[4]}, {"f64", CX_ST_F64, 1, {3}, data[5]},
        {"i64", CX_ST_I64, 2, {1, 0}, data[6]},       {"a/b\x7f", CX_ST_I64, 1, {2}, data[6]},
    };
    size_t count = sizeof t / sizeof *t;
    cx_value meta = cx_map();
    cx_map_set(&meta, "k\xc3\xa9y", cx_str("v\\al\"ue"));
    for (int with_meta = 0; with_meta < 2; with_meta++) {
        const char *path = cx_test_tmp(with_meta ? "rt_meta.safetensors" : "rt.safetensors");
        if (!CHECK(cx_st_write(path, t, count, with_meta ? &meta : NULL) == 0)) continue;
        cx_st_file *f = open_or_report(path);
        if (!f) continue;
        blob raw = read_all(path);
        uint64_t n;
        memcpy(&n, raw.bytes, 8);
        CHECK(n % 8 == 0 && (raw.bytes[8 + n - 1] == ' ' || raw.bytes[8 + n - 1] == '}'));
        CHECK(cx_st_count(f) == count);
        for (size_t i = 0; i < count; i++) {
            const cx_st_entry *e = cx_st_find(f, t[i].name);
            if (!CHECK(e != NULL)) continue;
            CHECK(e->dtype == t[i].dtype && e->ndim == t[i].ndim && !strcmp(e->name, t[i].name));
            for (int d = 0; d < e->ndim; d++) CHECK(e->shape[d] == t[i].shape[d]);
            CHECK(e->begin % cx_st_dtype_size(e->dtype) == 0);
            CHECK(memcmp(raw.bytes + 8 + n + e->begin, t[i].data, e->end - e->begin) == 0);
        }
        if (with_meta) {
            CHECK(cx_st_metadata(f)->u.map.n == 1);
            CHECK(!strcmp(cx_map_str(cx_st_metadata(f), "k\xc3\xa9y", ""), "v\\al\"ue"));
        } else {
            CHECK(cx_st_metadata(f)->u.map.n == 0 && !memmem(raw.bytes, raw.size, "__metadata__", 12));
        }
        free(raw.bytes);
        cx_st_close(f);
    }
    cx_value_free(&meta);
}

/* All 65536 F16 and BF16 bit patterns out and back in as float32, against the direct decoding. */
TEST(safetensors_half_and_bfloat16_exhaustive) {
    enum { N = 65536 };
    uint16_t *bits = malloc(N * sizeof *bits);
    float *got = malloc(N * sizeof *got);
    for (int i = 0; i < N; i++) bits[i] = (uint16_t)i;
    cx_st_tensor t[] = {{"h", CX_ST_F16, 1, {N}, bits}, {"b", CX_ST_BF16, 2, {256, 256}, bits}};
    const char *path = cx_test_tmp("halves.safetensors");
    cx_st_file *f = NULL;
    if (CHECK(cx_st_write(path, t, 2, NULL) == 0)) f = open_or_report(path);
    for (int k = 0; f && k < 2; k++) {
        if (!CHECK(cx_st_read_f32(f, t[k].name, got, N) == 0)) continue;
        int bad = 0;
        for (int i = 0; i < N; i++) {
            double want = k == 0 ? half_direct(bits[i]) : bf16_direct(bits[i]);
            if (!same_float(got[i], want) && bad++ < 3) printf("  %s 0x%04x: %.9g, want %.9g\n", t[k].name, i, got[i], want);
        }
        CHECK(bad == 0);
    }
    cx_st_close(f);
    free(bits);
    free(got);
}

/* Bad input to the writer: EX_DATAERR naming the tensor, and no file appears. */
TEST(safetensors_writer_rejects_bad_input) {
    float v[2] = {1, 2};
    cx_value numeric = cx_map();
    cx_map_set(&numeric, "epochs", cx_int(3));
    struct {
        cx_st_tensor t[2];
        const cx_value *meta;
        const char *named;
    } cases[] = {
        {{{"w", CX_ST_F32, 1, {2}, v}, {"w", CX_ST_F16, 1, {1}, v}}, NULL, "\"w\""},
        {{{"__metadata__", CX_ST_F32, 1, {2}, v}, {"x", CX_ST_F32, 1, {1}, v}}, NULL, "__metadata__"},
        {{{"bad\xff", CX_ST_F32, 1, {2}, v}, {"x", CX_ST_F32, 1, {1}, v}}, NULL, "bad"},
        {{{"neg", CX_ST_F32, 1, {-2}, v}, {"x", CX_ST_F32, 1, {1}, v}}, NULL, "neg"},
        {{{"w", CX_ST_F32, 1, {2}, v}, {"x", CX_ST_F32, 1, {1}, v}}, &numeric, "epochs"},
    };
    const char *path = cx_test_tmp("refused.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = cx_st_write(path, cases[i].t, 2, cases[i].meta);
        if (!CHECK(rc == EX_DATAERR && strstr(cx_errmsg(), cases[i].named) && strstr(cx_errmsg(), path)))
            printf("  case %zu: %d %s\n", i, rc, cx_errmsg());
        FILE *exists = fopen(path, "rb");
        CHECK(exists == NULL);
        if (exists) fclose(exists);
    }
    cx_value_free(&numeric);
    CHECK(cx_st_write("/nonexistent-dir/w.safetensors", cases[0].t + 1, 1, NULL) == EX_CANTCREAT);
}

/* ---- corrupt files ---- */

/* valid with the first `from` in its header replaced by `to` (the header length field follows),
 * at path. */
static bool edit_header(const blob *valid, const char *from, const char *to, const char *path) {
    uint64_t n;
    memcpy(&n, valid->bytes, 8);
    const unsigned char *header = valid->bytes + 8, *at = memmem(header, n, from, strlen(from));
    if (!at) {
        printf("  \"%s\" is not in the header\n", from);
        return CHECK(!"edit does not apply");
    }
    size_t before = (size_t)(at - header), after = n - before - strlen(from), len = before + strlen(to) + after;
    blob out = {malloc(valid->size + strlen(to) + 8), 0};
    uint64_t new_n = len;
    memcpy(out.bytes, &new_n, 8);
    memcpy(out.bytes + 8, header, before);
    memcpy(out.bytes + 8 + before, to, strlen(to));
    memcpy(out.bytes + 8 + before + strlen(to), at + strlen(from), after);
    memcpy(out.bytes + 8 + len, header + n, valid->size - 8 - n);
    write_all(path, out.bytes, 8 + len + valid->size - 8 - n);
    free(out.bytes);
    return true;
}

/* Opening path must fail with EX_DATAERR, the message naming the file, `key` (when given) and
 * containing `why`. */
static void expect_refused(const char *path, const char *key, const char *why, const char *label) {
    cx_err_clear();
    cx_st_file *f = cx_st_open(path);
    const char *msg = cx_errmsg();
    bool ok = f == NULL && cx_errcode() == EX_DATAERR && strstr(msg, path) && (!key || strstr(msg, key)) &&
              strstr(msg, why);
    if (!CHECK(ok)) printf("  %s: %s\n", label, f ? "accepted" : msg);
    cx_st_close(f);
}

/* The Python writer's valid file (see gen_train.py's st_written for its header), one edit per
 * rule. */
TEST(safetensors_rejects_corrupt_headers) {
    static const struct { const char *from, *to, *key, *why; } edits[] = {
        /* dtypes */
        {"\"dtype\":\"I32\"", "\"dtype\":\"U32\"", "ids", "unsupported dtype U32"},
        {"\"dtype\":\"I32\"", "\"dtype\":\"BOOL\"", "ids", "unsupported dtype BOOL"},
        {"\"dtype\":\"I32\"", "\"dtype\":\"Q32\"", "ids", "unknown dtype"},
        {"\"dtype\":\"I32\"", "\"dtype\":32", "ids", "expected a string"},
        /* shapes */
        {"\"shape\":[4,2,3,3]", "\"shape\":[4,-2,3,3]", "layer1.0.conv1.weight", "negative"},
        {"\"shape\":[4,2,3,3]", "\"shape\":[4,2,3,2]", "layer1.0.conv1.weight", "need 192"},
        {"\"shape\":[5]", "\"shape\":[1,1,1,1,1,1,1,1,5]", "ids", "more than 8"},
        {"\"shape\":[5]", "\"shape\":[4294967296,4294967296,4294967296]", "ids", "too large"},
        {"\"shape\":[5]", "\"shape\":[05]", "ids", "leading zero"},
        {"\"shape\":[5]", "\"shape\":[5.0]", "ids", "not an integer"},
        {"\"shape\":[5]", "\"shape\":[5e0]", "ids", "not an integer"},
        {"\"shape\":[5]", "\"shape\":[99999999999999999999]", "ids", "too large"},
        {"\"shape\":[5]", "\"shape\":5", "ids", "expected '['"},
        /* offsets: tiling the buffer from 0 without gap or overlap */
        {"[12,28]", "[16,32]", "bn1.running_var", "gap"},
        {"[12,28]", "[8,24]", "bn1.running_var", "overlap"},
        {"[0,8]", "[1,9]", "bn1.num_batches_tracked", "gap"},
        {"[344,364]", "[364,344]", "ids", "before BEGIN"},
        {"[344,364]", "[344,364,0]", "ids", "more than 2"},
        {"[344,364]", "[344]", "ids", "[BEGIN, END]"},
        /* keys and fields */
        {"\"fc.bias\"", "\"empty\"", "empty", "twice"},
        {"\"dtype\":\"I32\",", "\"dtype\":\"I32\",\"extra\":1,", "ids", "unexpected field"},
        {"\"dtype\":\"I32\",", "\"dtype\":\"I32\",\"dtype\":\"I32\",", "ids", "twice"},
        {"\"dtype\":\"I32\",", "", "ids", "needs dtype"},
        /* __metadata__: a map of strings, once */
        {"\"format\":\"pt\"", "\"format\":7", "format", "not a string"},
        {"\"producer\":\"cxr-mtl\"", "\"format\":\"cxr-mtl\"", "format", "given twice"},
        {"{\"__metadata__\":{", "{\"__metadata__\":{},\"__metadata__\":{", "__metadata__", "twice"},
        {"{\"__metadata__\":{", "{\"__metadata__\":[\"pt\"],\"m\":{", NULL, "expected '{'"},
        /* JSON */
        {"{\"__metadata__\"", " {\"__metadata__\"", NULL, "start with '{'"},
        {"\"ids\":{", "\"ids\" {", NULL, "expected ':'"},
        {"[344,364]}}", "[344,364]},}", NULL, "expected a string"},
        {"[344,364]}}", "[344,364]}", NULL, "expected '}'"},
        {"[344,364]}}", "[344,364]}}x", NULL, "after the closing"},
        {"\\\"q\\\"", "\\q", NULL, "bad escape"},
        {"\\u0001", "\\ud800", NULL, "lone high surrogate"},
        {"\\u0001", "\\udc00", NULL, "lone low surrogate"},
        {"\\u0001", "\\u0000", NULL, "NUL"},
        {"\\u0001", "\\u00g1", NULL, "bad \\u escape"},
        {"new line", "new\x01line", NULL, "control character"},
        {"\"fc.bias\"", "\"fc.\xff\x62ias\"", NULL, "invalid UTF-8"},
        {"\"fc.bias\"", "\"fc.\xc0\xaeias\"", NULL, "invalid UTF-8"},
        {"\"fc.bias\"", "\"fc.\xed\xa0\x80ias\"", NULL, "invalid UTF-8"},
        {"\"fc.bias\"", "\"fc.bias", NULL, "expected ':'"},
    };
    blob valid = read_all(WRITTEN);
    if (!valid.bytes) return;
    const char *path = cx_test_tmp("corrupt.safetensors");
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        char label[160];
        snprintf(label, sizeof label, "edit %zu (%s -> %s)", i, edits[i].from, edits[i].to);
        if (edit_header(&valid, edits[i].from, edits[i].to, path)) expect_refused(path, edits[i].key, edits[i].why, label);
    }
    /* the unedited file passes, so the failures above come from the edits */
    cx_st_file *f = open_or_report(WRITTEN);
    cx_st_close(f);
    free(valid.bytes);
}

/* The length field and the buffer's size. */
TEST(safetensors_rejects_bad_sizes) {
    blob valid = read_all(WRITTEN);
    if (!valid.bytes) return;
    const char *path = cx_test_tmp("sizes.safetensors");
    unsigned char *b = malloc(valid.size + 8);
    uint64_t n, orig;
    memcpy(&orig, valid.bytes, 8);

    memcpy(b, valid.bytes, valid.size);
    n = 100000001;
    memcpy(b, &n, 8);
    write_all(path, b, valid.size);
    expect_refused(path, NULL, "over the format's limit", "header length over 100,000,000");

    n = valid.size - 7;
    memcpy(b, &n, 8);
    write_all(path, b, valid.size);
    expect_refused(path, NULL, "past the end", "header length past the end");

    n = 0;
    memcpy(b, &n, 8);
    write_all(path, b, valid.size);
    expect_refused(path, NULL, "start with '{'", "empty header");

    memcpy(b, &orig, 8);
    write_all(path, b, valid.size - 4);
    expect_refused(path, "ids", "tensors end at byte 364", "buffer cut short");

    memset(b + valid.size, 0, 8);
    write_all(path, b, valid.size + 8);
    expect_refused(path, "ids", "which holds 372 bytes", "bytes after the last tensor");

    write_all(path, b, 5);
    expect_refused(path, NULL, "too short", "shorter than the length field");

    static const char no_tensors[16] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    write_all(path, no_tensors, sizeof no_tensors);
    cx_st_file *f = open_or_report(path);   /* valid: nothing in it */
    CHECK(f && cx_st_count(f) == 0);
    cx_st_close(f);
    memcpy(b, no_tensors, sizeof no_tensors);
    b[16] = 0;
    write_all(path, b, 17);
    expect_refused(path, NULL, "no tensors, but 1 bytes", "data without tensors");
    free(b);
    free(valid.bytes);
}
