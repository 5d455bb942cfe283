#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/outfile.h"

/* The reference implementation's MAX_HEADER_SIZE. */
#define MAX_HEADER_BYTES 100000000u

static const char *const dtype_names[CX_ST_NDTYPES] = {
    [CX_ST_U8] = "U8",   [CX_ST_F16] = "F16", [CX_ST_BF16] = "BF16", [CX_ST_I32] = "I32",
    [CX_ST_F32] = "F32", [CX_ST_F64] = "F64", [CX_ST_I64] = "I64",
};
static const size_t dtype_sizes[CX_ST_NDTYPES] = {
    [CX_ST_U8] = 1, [CX_ST_F16] = 2, [CX_ST_BF16] = 2, [CX_ST_I32] = 4, [CX_ST_F32] = 4, [CX_ST_F64] = 8, [CX_ST_I64] = 8,
};
/* The format's other dtypes: known, but not read here. */
static const char *const unsupported_dtypes[] = {"BOOL",    "I8",      "I16",         "U16",         "U32",
                                                 "U64",     "C64",     "F8_E5M2",     "F8_E4M3",     "F8_E8M0",
                                                 "F4",      "F6_E2M3", "F6_E3M2",     "F8_E4M3FNUZ", "F8_E5M2FNUZ"};

const char *cx_st_dtype_name(cx_st_dtype dt) { return dt >= 0 && dt < CX_ST_NDTYPES ? dtype_names[dt] : "?"; }
size_t cx_st_dtype_size(cx_st_dtype dt) { return dt >= 0 && dt < CX_ST_NDTYPES ? dtype_sizes[dt] : 0; }

/* Length of the well-formed UTF-8 sequence at s (at most avail bytes), or 0: no overlong forms,
 * surrogates or code points past U+10FFFF (RFC 3629). */
static size_t utf8_sequence(const unsigned char *s, size_t avail) {
    if (s[0] < 0x80) return 1;
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || s[0] > 0xf4 || len > avail) return 0;
    uint32_t cp = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < smallest[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

static bool utf8_valid(const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_sequence((const unsigned char *)s + i, n - i);
        if (!len) return false;
        i += len;
    }
    return true;
}

/* Element count of a shape, or -1 when it or its byte size (with elements of `size` bytes)
 * overflows int64. */
static int64_t shape_numel(int ndim, const int64_t *shape, size_t size) {
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(numel, shape[i], &numel)) return -1;
    int64_t bytes;
    return __builtin_mul_overflow(numel, (int64_t)size, &bytes) ? -1 : numel;
}

/* ---- reading ---- */

struct cx_st_file {
    char *path;
    unsigned char *map;
    size_t size;
    const unsigned char *buffer;   /* the data buffer: map + 8 + N */
    cx_st_entry *entries;          /* in offset order once opened */
    size_t count, cap;
    cx_st_entry **by_name;         /* the entries sorted by name */
    cx_value metadata;
};

/* A cursor over the header text; key names the tensor being read, for messages. */
typedef struct {
    const char *path;
    const unsigned char *start, *at, *end;
    const char *key;
} json_in;

static int json_fail(const json_in *in, const char *what) {
    long byte = 8 + (long)(in->at - in->start);
    if (in->key) return cx_err(EX_DATAERR, "%s: tensor \"%s\": %s (file byte %ld)", in->path, in->key, what, byte);
    return cx_err(EX_DATAERR, "%s: safetensors header: %s (file byte %ld)", in->path, what, byte);
}

static void skip_ws(json_in *in) {
    while (in->at < in->end && (*in->at == ' ' || *in->at == '\t' || *in->at == '\n' || *in->at == '\r')) in->at++;
}

/* Skip whitespace; consume c if it comes next. */
static bool eat(json_in *in, char c) {
    skip_ws(in);
    if (in->at < in->end && *in->at == (unsigned char)c) {
        in->at++;
        return true;
    }
    return false;
}

static int expect(json_in *in, char c) {
    if (eat(in, c)) return 0;
    char what[32];
    snprintf(what, sizeof what, "expected '%c'", c);
    return json_fail(in, what);
}

static bool hex4(json_in *in, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++, in->at++) {
        if (in->at >= in->end) return false;
        unsigned char c = *in->at;
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (digit < 0) return false;
        v = v << 4 | (uint32_t)digit;
    }
    *out = v;
    return true;
}

/* The code point of a \u escape (the "\u" already read), joining a surrogate pair; NULL, or
 * what is wrong with it. */
static const char *unicode_escape(json_in *in, uint32_t *cp) {
    uint32_t hi, lo;
    if (!hex4(in, &hi)) return "bad \\u escape";
    if (hi >= 0xdc00 && hi <= 0xdfff) return "lone low surrogate in a \\u escape";
    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = hi;
        return NULL;
    }
    if (in->end - in->at < 2 || in->at[0] != '\\' || in->at[1] != 'u') return "lone high surrogate in a \\u escape";
    in->at += 2;
    if (!hex4(in, &lo)) return "bad \\u escape";
    if (lo < 0xdc00 || lo > 0xdfff) return "high surrogate not followed by a low one";
    *cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
    return NULL;
}

static size_t utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A JSON string into *out (malloc'd). Escapes never lengthen the text, so the raw length bounds
 * the decoded one. NUL (\u0000) is refused: names are C strings. */
static int parse_string(json_in *in, char **out) {
    static const char escapes[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
    skip_ws(in);
    if (in->at >= in->end || *in->at != '"') return json_fail(in, "expected a string");
    in->at++;
    const unsigned char *close = in->at;
    while (close < in->end && *close != '"') close += *close == '\\' ? 2 : 1;
    char *s = cx_malloc((size_t)(close - in->at) + 1);
    size_t len = 0;
    const char *problem = NULL;
    while (!problem) {
        if (in->at >= in->end) {
            problem = "unterminated string";
            break;
        }
        unsigned char c = *in->at;
        if (c == '"') {
            in->at++;
            break;
        }
        if (c < 0x20) {
            problem = "control character in a string";
        } else if (c != '\\') {
            size_t n = utf8_sequence(in->at, (size_t)(in->end - in->at));
            if (!n) {
                problem = "invalid UTF-8";
                break;
            }
            memcpy(s + len, in->at, n);
            len += n;
            in->at += n;
        } else {
            in->at++;
            char e = in->at < in->end ? (char)*in->at++ : 0;
            const char *plain = e ? strchr(escapes, e) : NULL;
            uint32_t cp = 0;
            if (plain)
                s[len++] = decoded[plain - escapes];
            else if (e != 'u')
                problem = "bad escape in a string";
            else if (!(problem = unicode_escape(in, &cp)) && cp == 0)
                problem = "NUL character in a string";
            else if (!problem)
                len += utf8_encode(cp, s + len);
        }
    }
    if (problem) {
        free(s);
        return json_fail(in, problem);
    }
    s[len] = 0;
    *out = s;
    return 0;
}

/* A non-negative integer that fits int64 (JSON syntax: no sign, leading zero, fraction or exponent). */
static int parse_uint(json_in *in, uint64_t *out) {
    skip_ws(in);
    if (in->at < in->end && *in->at == '-') return json_fail(in, "negative number");
    if (in->at >= in->end || *in->at < '0' || *in->at > '9') return json_fail(in, "expected a number");
    if (*in->at == '0' && in->end - in->at > 1 && in->at[1] >= '0' && in->at[1] <= '9')
        return json_fail(in, "number with a leading zero");
    uint64_t v = 0;
    while (in->at < in->end && *in->at >= '0' && *in->at <= '9') {
        v = v * 10 + (uint64_t)(*in->at++ - '0');
        if (v > (uint64_t)INT64_MAX) return json_fail(in, "number too large");
    }
    if (in->at < in->end && (*in->at == '.' || *in->at == 'e' || *in->at == 'E'))
        return json_fail(in, "not an integer");
    *out = v;
    return 0;
}

/* [n, n, ...] with at most max items. */
static int parse_uint_list(json_in *in, uint64_t *items, int max, int *count, const char *field) {
    if (expect(in, '[')) return EX_DATAERR;
    *count = 0;
    if (eat(in, ']')) return 0;
    do {
        if (*count == max) {
            char what[64];
            snprintf(what, sizeof what, "%s has more than %d entries", field, max);
            return json_fail(in, what);
        }
        if (parse_uint(in, &items[(*count)++])) return EX_DATAERR;
    } while (eat(in, ','));
    return expect(in, ']');
}

static int parse_dtype(json_in *in, cx_st_dtype *dt) {
    char *name;
    if (parse_string(in, &name)) return EX_DATAERR;
    int rc = 0;
    for (int i = 0; i < CX_ST_NDTYPES; i++)
        if (!strcmp(name, dtype_names[i])) {
            *dt = (cx_st_dtype)i;
            goto done;
        }
    char what[96];
    snprintf(what, sizeof what, "unknown dtype \"%.40s\"", name);
    for (size_t i = 0; i < sizeof unsupported_dtypes / sizeof *unsupported_dtypes; i++)
        if (!strcmp(name, unsupported_dtypes[i])) snprintf(what, sizeof what, "unsupported dtype %s", name);
    rc = json_fail(in, what);
done:
    free(name);
    return rc;
}

/* {"dtype": ..., "shape": [...], "data_offsets": [BEGIN, END]}, each exactly once. */
static int parse_tensor(json_in *in, cx_st_entry *e) {
    enum { DTYPE = 1, SHAPE = 2, OFFSETS = 4 };
    int seen = 0;
    if (expect(in, '{')) return EX_DATAERR;
    if (!eat(in, '}')) {
        do {
            char *field;
            if (parse_string(in, &field)) return EX_DATAERR;
            int which = !strcmp(field, "dtype") ? DTYPE : !strcmp(field, "shape") ? SHAPE
                        : !strcmp(field, "data_offsets") ? OFFSETS : 0;
            free(field);
            if (!which) return json_fail(in, "unexpected field (only dtype, shape, data_offsets)");
            if (seen & which) return json_fail(in, "field given twice");
            seen |= which;
            if (expect(in, ':')) return EX_DATAERR;
            uint64_t items[CX_MAX_DIMS];
            int count;
            if (which == DTYPE) {
                if (parse_dtype(in, &e->dtype)) return EX_DATAERR;
            } else if (which == SHAPE) {
                if (parse_uint_list(in, items, CX_MAX_DIMS, &count, "shape")) return EX_DATAERR;
                e->ndim = count;
                for (int i = 0; i < count; i++) e->shape[i] = (int64_t)items[i];
            } else {
                if (parse_uint_list(in, items, 2, &count, "data_offsets")) return EX_DATAERR;
                if (count != 2) return json_fail(in, "data_offsets must be [BEGIN, END]");
                e->begin = items[0];
                e->end = items[1];
            }
        } while (eat(in, ','));
        if (expect(in, '}')) return EX_DATAERR;
    }
    if (seen != (DTYPE | SHAPE | OFFSETS)) return json_fail(in, "needs dtype, shape and data_offsets");
    if (e->end < e->begin) return json_fail(in, "data_offsets END is before BEGIN");
    e->numel = shape_numel(e->ndim, e->shape, dtype_sizes[e->dtype]);
    if (e->numel < 0) return json_fail(in, "shape too large");
    if (e->end - e->begin != (uint64_t)e->numel * dtype_sizes[e->dtype]) {
        char what[160];
        snprintf(what, sizeof what, "data_offsets span %llu bytes, but %lld %s elements need %llu",
                 (unsigned long long)(e->end - e->begin), (long long)e->numel, dtype_names[e->dtype],
                 (unsigned long long)e->numel * dtype_sizes[e->dtype]);
        return json_fail(in, what);
    }
    return 0;
}

static int parse_metadata(json_in *in, cx_value *map) {
    if (expect(in, '{')) return EX_DATAERR;
    if (eat(in, '}')) return 0;
    do {
        char *key, *val;
        if (parse_string(in, &key)) return EX_DATAERR;
        char what[96];
        snprintf(what, sizeof what, "__metadata__ \"%.40s\": %s", key,
                 cx_map_get(map, key) ? "key given twice" : "value is not a string");
        int rc = cx_map_get(map, key) ? json_fail(in, what) : expect(in, ':');
        if (!rc) {
            skip_ws(in);
            rc = in->at < in->end && *in->at == '"' ? parse_string(in, &val) : json_fail(in, what);
        }
        if (!rc) cx_map_set(map, key, cx_str_own(val));
        free(key);
        if (rc) return rc;
    } while (eat(in, ','));
    return expect(in, '}');
}

static int parse_header(cx_st_file *f, const unsigned char *text, size_t len) {
    json_in in = {.path = f->path, .start = text, .at = text, .end = text + len, .key = NULL};
    if (len == 0 || text[0] != '{') return json_fail(&in, "does not start with '{'");
    in.at++;
    bool have_metadata = false;
    if (!eat(&in, '}')) {
        do {
            char *key;
            if (parse_string(&in, &key)) return EX_DATAERR;
            if (!strcmp(key, "__metadata__")) {
                free(key);
                if (have_metadata) return json_fail(&in, "__metadata__ given twice");
                have_metadata = true;
                if (expect(&in, ':') || parse_metadata(&in, &f->metadata)) return EX_DATAERR;
                continue;
            }
            if (f->count == f->cap) {
                f->cap = f->cap ? 2 * f->cap : 16;
                f->entries = cx_realloc(f->entries, f->cap * sizeof *f->entries);
            }
            cx_st_entry *e = &f->entries[f->count++];
            memset(e, 0, sizeof *e);
            e->name = key;
            in.key = key;
            if (expect(&in, ':') || parse_tensor(&in, e)) return EX_DATAERR;
            in.key = NULL;
        } while (eat(&in, ','));
        if (expect(&in, '}')) return EX_DATAERR;
    }
    skip_ws(&in);
    if (in.at != in.end) return json_fail(&in, "text after the closing '}'");
    return 0;
}

static int by_offset(const void *pa, const void *pb) {
    const cx_st_entry *a = pa, *b = pb;
    if (a->begin != b->begin) return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int by_name(const void *pa, const void *pb) {
    return strcmp((*(cx_st_entry *const *)pa)->name, (*(cx_st_entry *const *)pb)->name);
}

/* Unique names, and offsets that tile the buffer exactly. */
static int check_layout(cx_st_file *f, size_t buffer_bytes) {
    if (f->count) qsort(f->entries, f->count, sizeof *f->entries, by_offset);
    f->by_name = cx_malloc((f->count ? f->count : 1) * sizeof *f->by_name);
    for (size_t i = 0; i < f->count; i++) f->by_name[i] = &f->entries[i];
    qsort(f->by_name, f->count, sizeof *f->by_name, by_name);
    for (size_t i = 1; i < f->count; i++)
        if (!strcmp(f->by_name[i]->name, f->by_name[i - 1]->name))
            return cx_err(EX_DATAERR, "%s: tensor \"%s\" appears twice", f->path, f->by_name[i]->name);
    uint64_t at = 0;
    for (size_t i = 0; i < f->count; i++) {
        const cx_st_entry *e = &f->entries[i];
        if (e->begin != at)
            return cx_err(EX_DATAERR, "%s: tensor \"%s\": data_offsets [%llu, %llu] %s the previous tensor (which ends at %llu)",
                          f->path, e->name, (unsigned long long)e->begin, (unsigned long long)e->end,
                          e->begin > at ? "leave a gap after" : "overlap", (unsigned long long)at);
        at = e->end;
    }
    if (at != buffer_bytes) {
        if (f->count)
            return cx_err(EX_DATAERR, "%s: tensor \"%s\": the tensors end at byte %llu of the data, which holds %zu bytes",
                          f->path, f->entries[f->count - 1].name, (unsigned long long)at, buffer_bytes);
        return cx_err(EX_DATAERR, "%s: no tensors, but %zu bytes of data follow the header", f->path, buffer_bytes);
    }
    return 0;
}

cx_st_file *cx_st_open(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cx_err(EX_NOINPUT, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        cx_err(EX_NOINPUT, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    cx_st_file *f = cx_calloc(1, sizeof *f);
    f->path = cx_strdup(path);
    f->metadata = cx_map();
    f->size = (size_t)st.st_size;
    if (f->size < 8) {
        cx_err(EX_DATAERR, "%s: %zu bytes, too short for a safetensors file", path, f->size);
        goto fail;
    }
    f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        cx_err(EX_IOERR, "%s: cannot map: %s", path, strerror(errno));
        goto fail;
    }
    uint64_t n;
    memcpy(&n, f->map, 8);   /* little-endian host */
    if (n > MAX_HEADER_BYTES) {
        cx_err(EX_DATAERR, "%s: header length %llu is over the format's limit of %u", path, (unsigned long long)n,
               MAX_HEADER_BYTES);
        goto fail;
    }
    if (n > f->size - 8) {
        cx_err(EX_DATAERR, "%s: header length %llu runs past the end of the file (%zu bytes)", path,
               (unsigned long long)n, f->size);
        goto fail;
    }
    if (parse_header(f, f->map + 8, (size_t)n) || check_layout(f, f->size - 8 - (size_t)n)) goto fail;
    f->buffer = f->map + 8 + n;
    close(fd);
    return f;
fail:
    close(fd);
    cx_st_close(f);
    return NULL;
}

void cx_st_close(cx_st_file *f) {
    if (!f) return;
    if (f->map) munmap(f->map, f->size);
    for (size_t i = 0; i < f->count; i++) free(f->entries[i].name);
    free(f->entries);
    free(f->by_name);
    cx_value_free(&f->metadata);
    free(f->path);
    free(f);
}

size_t cx_st_count(const cx_st_file *f) { return f->count; }
const cx_st_entry *cx_st_entry_at(const cx_st_file *f, size_t i) { return i < f->count ? &f->entries[i] : NULL; }
const cx_value *cx_st_metadata(const cx_st_file *f) { return &f->metadata; }

const cx_st_entry *cx_st_find(const cx_st_file *f, const char *name) {
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->by_name[mid]->name, name);
        if (c == 0) return f->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* The entry for name holding n elements, or NULL with EX_DATAERR recorded. */
static const cx_st_entry *entry_for_read(const cx_st_file *f, const char *name, int64_t n) {
    const cx_st_entry *e = cx_st_find(f, name);
    if (!e) {
        cx_err(EX_DATAERR, "%s: no tensor \"%s\"", f->path, name);
        return NULL;
    }
    if (e->numel != n) {
        char shape[128];
        cx_shape_format(shape, sizeof shape, e->ndim, e->shape);
        cx_err(EX_DATAERR, "%s: tensor \"%s\" has shape %s (%lld elements), expected %lld elements", f->path, name,
               shape, (long long)e->numel, (long long)n);
        return NULL;
    }
    return e;
}

/* Element loads through memcpy: another writer's offsets need not be aligned. */
int cx_st_read_f32(const cx_st_file *f, const char *name, float *dst, int64_t n) {
    const cx_st_entry *e = entry_for_read(f, name, n);
    if (!e) return EX_DATAERR;
    const unsigned char *src = f->buffer + e->begin;
    size_t size = dtype_sizes[e->dtype];
    if (e->dtype == CX_ST_F32) {
        if (n) memcpy(dst, src, (size_t)n * size);
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *at = src + (size_t)i * size;
        uint8_t u8;
        uint16_t u16;
        uint32_t u32;
        int32_t i32;
        int64_t i64;
        double f64;
        switch (e->dtype) {
        case CX_ST_U8: memcpy(&u8, at, 1); dst[i] = u8; break;
        case CX_ST_F16: memcpy(&u16, at, 2); dst[i] = cx_half_to_float(u16); break;
        case CX_ST_BF16:
            /* bfloat16 is the top half of a float32 */
            memcpy(&u16, at, 2);
            u32 = (uint32_t)u16 << 16;
            memcpy(&dst[i], &u32, 4);
            break;
        case CX_ST_I32: memcpy(&i32, at, 4); dst[i] = (float)i32; break;
        case CX_ST_F64: memcpy(&f64, at, 8); dst[i] = (float)f64; break;
        case CX_ST_I64: memcpy(&i64, at, 8); dst[i] = (float)i64; break;
        default: break;
        }
    }
    return 0;
}

int cx_st_read_i64(const cx_st_file *f, const char *name, int64_t *dst, int64_t n) {
    const cx_st_entry *e = entry_for_read(f, name, n);
    if (!e) return EX_DATAERR;
    const unsigned char *src = f->buffer + e->begin;
    for (int64_t i = 0; i < n; i++) {
        uint8_t u8;
        int32_t i32;
        switch (e->dtype) {
        case CX_ST_U8: memcpy(&u8, src + i, 1); dst[i] = u8; break;
        case CX_ST_I32: memcpy(&i32, src + 4 * i, 4); dst[i] = i32; break;
        case CX_ST_I64: memcpy(&dst[i], src + 8 * i, 8); break;
        default: return cx_err(EX_DATAERR, "%s: tensor \"%s\" is %s, not an integer tensor", f->path, name, dtype_names[e->dtype]);
        }
    }
    return 0;
}

/* ---- writing ---- */

typedef struct {
    char *p;
    size_t len, cap;
} text_buf;

static void put(text_buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = cx_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void put_str(text_buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_u64(text_buf *b, uint64_t v) {
    char num[24];
    put(b, num, (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)v));
}

/* A JSON string escaped as serde_json (the reference writer) and Python's json do it: \" \\
 * \b \f \n \r \t, other control characters as \u00xx, everything else as is. */
static void put_json_string(text_buf *b, const char *s) {
    put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        const char *short_escape = *c == '"' ? "\\\"" : *c == '\\' ? "\\\\" : *c == '\b' ? "\\b" : *c == '\f' ? "\\f"
                                   : *c == '\n' ? "\\n" : *c == '\r' ? "\\r" : *c == '\t' ? "\\t" : NULL;
        if (short_escape) {
            put_str(b, short_escape);
        } else if (*c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", *c);
            put_str(b, esc);
        } else {
            put(b, (const char *)c, 1);
        }
    }
    put(b, "\"", 1);
}

static int tensor_by_name(const void *pa, const void *pb) {
    return strcmp((*(const cx_st_tensor *const *)pa)->name, (*(const cx_st_tensor *const *)pb)->name);
}
static int by_alignment_then_name(const void *pa, const void *pb) {
    const cx_st_tensor *a = *(const cx_st_tensor *const *)pa, *b = *(const cx_st_tensor *const *)pb;
    if (a->dtype != b->dtype) return a->dtype > b->dtype ? -1 : 1;
    return strcmp(a->name, b->name);
}
static int key_order(const void *pa, const void *pb) { return strcmp(*(char *const *)pa, *(char *const *)pb); }

/* Validate the input and put the tensors in the order they are written. */
static int check_write_input(const char *path, const cx_st_tensor *tensors, size_t count, const cx_value *metadata,
                             const cx_st_tensor **order) {
    for (size_t i = 0; i < count; i++) {
        const cx_st_tensor *t = &tensors[i];
        if (!t->name || !utf8_valid(t->name) || !strcmp(t->name, "__metadata__"))
            return cx_err(EX_DATAERR, "%s: tensor %zu: name \"%s\" is not usable", path, i, t->name ? t->name : "(null)");
        if (t->dtype < 0 || t->dtype >= CX_ST_NDTYPES)
            return cx_err(EX_DATAERR, "%s: tensor \"%s\": unknown dtype %d", path, t->name, (int)t->dtype);
        if (t->ndim < 0 || t->ndim > CX_MAX_DIMS || shape_numel(t->ndim, t->shape, dtype_sizes[t->dtype]) < 0)
            return cx_err(EX_DATAERR, "%s: tensor \"%s\": bad shape", path, t->name);
        order[i] = t;
    }
    qsort(order, count, sizeof *order, tensor_by_name);
    for (size_t i = 1; i < count; i++)
        if (!strcmp(order[i]->name, order[i - 1]->name))
            return cx_err(EX_DATAERR, "%s: tensor \"%s\" given twice", path, order[i]->name);
    if (metadata) {
        if (metadata->kind != CX_MAP) return cx_err(EX_DATAERR, "%s: __metadata__ must be a map", path);
        for (size_t i = 0; i < metadata->u.map.n; i++)
            if (metadata->u.map.vals[i].kind != CX_STR || !utf8_valid(metadata->u.map.keys[i]) ||
                !utf8_valid(metadata->u.map.vals[i].u.s))
                return cx_err(EX_DATAERR, "%s: __metadata__ \"%s\": values must be UTF-8 strings", path,
                              metadata->u.map.keys[i]);
    }
    qsort(order, count, sizeof *order, by_alignment_then_name);
    return 0;
}

static void put_metadata(text_buf *b, const cx_value *metadata) {
    size_t n = metadata->u.map.n;
    char **keys = cx_malloc((n ? n : 1) * sizeof *keys);
    if (n) memcpy(keys, metadata->u.map.keys, n * sizeof *keys);
    qsort(keys, n, sizeof *keys, key_order);
    put_str(b, "\"__metadata__\":{");
    for (size_t i = 0; i < n; i++) {
        if (i) put_str(b, ",");
        put_json_string(b, keys[i]);
        put_str(b, ":");
        put_json_string(b, cx_map_str(metadata, keys[i], ""));
    }
    put_str(b, "}");
    free(keys);
}

int cx_st_write(const char *path, const cx_st_tensor *tensors, size_t count, const cx_value *metadata) {
    const cx_st_tensor **order = cx_malloc((count ? count : 1) * sizeof *order);
    int rc = check_write_input(path, tensors, count, metadata, order);
    if (rc) {
        free(order);
        return rc;
    }
    text_buf header = {0};
    put_str(&header, "{");
    if (metadata) put_metadata(&header, metadata);
    uint64_t offset = 0;
    for (size_t k = 0; k < count; k++) {
        const cx_st_tensor *t = order[k];
        uint64_t bytes = (uint64_t)shape_numel(t->ndim, t->shape, dtype_sizes[t->dtype]) * dtype_sizes[t->dtype];
        if (metadata || k) put_str(&header, ",");
        put_json_string(&header, t->name);
        put_str(&header, ":{\"dtype\":\"");
        put_str(&header, dtype_names[t->dtype]);
        put_str(&header, "\",\"shape\":[");
        for (int i = 0; i < t->ndim; i++) {
            if (i) put_str(&header, ",");
            put_u64(&header, (uint64_t)t->shape[i]);
        }
        put_str(&header, "],\"data_offsets\":[");
        put_u64(&header, offset);
        put_str(&header, ",");
        put_u64(&header, offset + bytes);
        put_str(&header, "]}");
        offset += bytes;
    }
    put_str(&header, "}");
    /* spaces up to a multiple of 8, so the buffer (and every tensor in it) starts aligned */
    while (header.len % 8) put_str(&header, " ");

    cx_outfile *o = cx_outfile_open(path);
    if (!o) {
        free(header.p);
        free(order);
        return cx_errcode();
    }
    FILE *fp = cx_outfile_fp(o);
    uint64_t n = header.len;
    fwrite(&n, 8, 1, fp);   /* little-endian host */
    fwrite(header.p, 1, header.len, fp);
    for (size_t k = 0; k < count; k++) {
        const cx_st_tensor *t = order[k];
        size_t bytes = (size_t)shape_numel(t->ndim, t->shape, dtype_sizes[t->dtype]) * dtype_sizes[t->dtype];
        if (bytes) fwrite(t->data, 1, bytes, fp);
    }
    free(header.p);
    free(order);
    /* a failed fwrite leaves the stream's error flag set: commit reports it */
    return cx_outfile_commit(o);
}
