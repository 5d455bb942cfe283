#include "io/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <msgpack/fbuffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/error.h"
#include "io/outfile.h"

/* ---------------------------------------------------------------- records */

void cx_record_init(cx_record *r) {
    memset(r, 0, sizeof *r);
    r->meta = cx_map();
}

void cx_record_free(cx_record *r) {
    free(r->id);
    cx_value_free(&r->meta);
    for (size_t i = 0; i < r->ntensors; i++) cx_tensor_free(&r->tensors[i]);
    free(r->tensors);
    cx_record_init(r);
}

void cx_record_set_id(cx_record *r, const char *id) {
    free(r->id);
    r->id = cx_strdup(id);
}

int cx_record_copy(cx_record *dst, const cx_record *src) {
    cx_record_init(dst);
    dst->id = src->id ? cx_strdup(src->id) : NULL;
    dst->index = src->index;
    cx_value_free(&dst->meta);
    dst->meta = cx_value_copy(&src->meta);
    for (size_t i = 0; i < src->ntensors; i++) {
        cx_tensor t;
        int rc = cx_tensor_copy(&t, &src->tensors[i]);
        if (rc) return rc;
        cx_record_take_tensor(dst, &t);
    }
    return 0;
}

cx_tensor *cx_record_tensor(const cx_record *r, const char *name) {
    for (size_t i = 0; i < r->ntensors; i++)
        if (!strcmp(r->tensors[i].name, name)) return &r->tensors[i];
    return NULL;
}

int cx_record_take_tensor(cx_record *r, cx_tensor *t) {
    if (cx_record_tensor(r, t->name)) {
        cx_err(EX_DATAERR, "duplicate tensor name \"%s\"", t->name);
        return -1;
    }
    if (r->ntensors == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 4;
        r->tensors = cx_realloc(r->tensors, r->cap * sizeof *r->tensors);
    }
    r->tensors[r->ntensors++] = *t;
    memset(t, 0, sizeof *t);
    return 0;
}

cx_tensor *cx_record_add_tensor(cx_record *r, const char *name, cx_dtype dt, int ndim, const int64_t *shape) {
    if (cx_record_tensor(r, name)) {
        cx_err(EX_DATAERR, "duplicate tensor name \"%s\"", name);
        return NULL;
    }
    cx_tensor t;
    if (cx_tensor_init(&t, name, dt, ndim, shape)) return NULL;
    cx_record_take_tensor(r, &t);
    return &r->tensors[r->ntensors - 1];
}

bool cx_record_remove_tensor(cx_record *r, const char *name) {
    cx_tensor *t = cx_record_tensor(r, name);
    if (!t) return false;
    size_t at = (size_t)(t - r->tensors);
    cx_tensor_free(t);
    memmove(&r->tensors[at], &r->tensors[at + 1], (r->ntensors - at - 1) * sizeof *t);
    r->ntensors--;
    return true;
}

/* ---------------------------------------------------------------- headers */

cx_value cx_header_new(const char *kind) {
    cx_value h = cx_map(), producer = cx_map(), argv = cx_array();
    const cx_tool *tool = cx_cli_tool();
    for (int i = 0; i < cx_cli_argc(); i++) cx_array_push(&argv, cx_str(cx_cli_argv()[i]));
    cx_map_set(&producer, "tool", cx_str(tool ? tool->name : cx_progname()));
    cx_map_set(&producer, "version", cx_str(CX_VERSION));
    cx_map_set(&producer, "argv", argv);
    cx_map_set(&h, "format", cx_str(CX_STREAM_FORMAT));
    cx_map_set(&h, "version", cx_int(CX_STREAM_VERSION));
    cx_map_set(&h, "kind", cx_str(kind));
    cx_map_set(&h, "producer", producer);
    cx_map_set(&h, "inputs", cx_array());
    return h;
}

void cx_header_add_input(cx_value *header, const cx_value *input_header) {
    cx_value *inputs = cx_map_get(header, "inputs");
    if (!inputs || inputs->kind != CX_ARRAY) {
        cx_map_set(header, "inputs", cx_array());
        inputs = cx_map_get(header, "inputs");
    }
    cx_array_push(inputs, cx_value_copy(input_header));
}

const char *cx_header_kind(const cx_value *header) { return cx_map_str(header, "kind", ""); }

/* ---------------------------------------------------------------- decoding */

/* Where a decoding error happened, so the message can name file, record and field. */
typedef struct {
    const char *file;
    int64_t index;        /* -1 for the header */
    const char *id;
} where;

static int decode_error(const where *w, const char *field, const char *fmt, ...) CX_PRINTF(3, 4);
static int decode_error(const where *w, const char *field, const char *fmt, ...) {
    char what[1024], ctx[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (w->index < 0) snprintf(ctx, sizeof ctx, "%s: header", w->file);
    else if (w->id) snprintf(ctx, sizeof ctx, "%s: record %lld (id \"%s\")", w->file, (long long)w->index, w->id);
    else snprintf(ctx, sizeof ctx, "%s: record %lld", w->file, (long long)w->index);
    if (field && *field) return cx_err(EX_DATAERR, "%s: %s: %s", ctx, field, what);
    return cx_err(EX_DATAERR, "%s: %s", ctx, what);
}

static bool key_is(const msgpack_object_kv *kv, const char *key) {
    size_t n = strlen(key);
    return kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == n && !memcmp(kv->key.via.str.ptr, key, n);
}

static const msgpack_object *map_lookup(const msgpack_object *map, const char *key) {
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (key_is(&map->via.map.ptr[i], key)) return &map->via.map.ptr[i].val;
    return NULL;
}

/* A msgpack string as a C string; NULL when it holds a NUL byte (C could not carry it). */
static char *dup_str(const msgpack_object *o) {
    size_t n = o->via.str.size;   /* an empty string's ptr may be NULL: never pass it on */
    if (n && memchr(o->via.str.ptr, 0, n)) return NULL;
    char *s = cx_malloc(n + 1);
    if (n) memcpy(s, o->via.str.ptr, n);
    s[o->via.str.size] = 0;
    return s;
}

/* Convert metadata; 'path' names the field for messages (e.g. "meta.lung_bbox[2]"). */
static int to_value(const msgpack_object *o, cx_value *out, const where *w, const char *path) {
    char sub[512];
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: *out = cx_nil(); return 0;
    case MSGPACK_OBJECT_BOOLEAN: *out = cx_bool(o->via.boolean); return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > INT64_MAX) return decode_error(w, path, "integer %llu out of range", (unsigned long long)o->via.u64);
        *out = cx_int((int64_t)o->via.u64);
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = cx_int(o->via.i64); return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *out = cx_float(o->via.f64); return 0;
    case MSGPACK_OBJECT_STR: {
        char *s = dup_str(o);
        if (!s) return decode_error(w, path, "string holds a NUL byte");
        *out = cx_str_own(s);
        return 0;
    }
    case MSGPACK_OBJECT_ARRAY:
        *out = cx_array();
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            cx_value item;
            snprintf(sub, sizeof sub, "%s[%u]", path, i);
            if (to_value(&o->via.array.ptr[i], &item, w, sub)) { cx_value_free(out); return cx_errcode(); }
            cx_array_push(out, item);
        }
        return 0;
    case MSGPACK_OBJECT_MAP:
        *out = cx_map();
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            char *key = kv->key.type == MSGPACK_OBJECT_STR ? dup_str(&kv->key) : NULL;
            cx_value val;
            if (!key) { cx_value_free(out); return decode_error(w, path, "map key %u is not a string", i); }
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", key);
            if (cx_map_get(out, key)) {
                free(key);
                cx_value_free(out);
                return decode_error(w, sub, "duplicate key");
            }
            if (to_value(&kv->val, &val, w, sub)) { free(key); cx_value_free(out); return cx_errcode(); }
            cx_map_set(out, key, val);
            free(key);
        }
        return 0;
    default: return decode_error(w, path, "binary or extension data is not allowed here");
    }
}

static int decode_tensor(const msgpack_object *o, const char *name, cx_record *rec, const where *w) {
    char field[512];
    snprintf(field, sizeof field, "tensors.%s", name);
    if (o->type != MSGPACK_OBJECT_MAP) return decode_error(w, field, "not a map");
    const msgpack_object *dtype = map_lookup(o, "dtype"), *shape = map_lookup(o, "shape"), *data = map_lookup(o, "data");
    if (!dtype || dtype->type != MSGPACK_OBJECT_STR) return decode_error(w, field, "missing or non-string \"dtype\"");
    if (!shape || shape->type != MSGPACK_OBJECT_ARRAY) return decode_error(w, field, "missing or non-array \"shape\"");
    if (!data || data->type != MSGPACK_OBJECT_BIN) return decode_error(w, field, "missing or non-binary \"data\"");
    char dtname[16];
    snprintf(dtname, sizeof dtname, "%.*s", (int)(dtype->via.str.size < 15 ? dtype->via.str.size : 15), dtype->via.str.ptr);
    cx_dtype dt;
    if (dtype->via.str.size >= 15 || cx_dtype_parse(dtname, &dt))
        return decode_error(w, field, "unknown dtype \"%s\" (u8, u16, i32, i64, f16, f32, f64)", dtname);
    if (shape->via.array.size > CX_MAX_DIMS)
        return decode_error(w, field, "%u dims (at most %d)", shape->via.array.size, CX_MAX_DIMS);
    int64_t dims[CX_MAX_DIMS];
    int ndim = (int)shape->via.array.size;
    for (int i = 0; i < ndim; i++) {
        const msgpack_object *d = &shape->via.array.ptr[i];
        if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER || d->via.u64 > (uint64_t)CX_MAX_TENSOR_BYTES)
            return decode_error(w, field, "shape[%d] is not a size", i);
        dims[i] = (int64_t)d->via.u64;
    }
    char shapebuf[160];
    cx_shape_format(shapebuf, sizeof shapebuf, ndim, dims);
    int64_t numel = cx_shape_numel(ndim, dims, dt);
    if (numel < 0) return decode_error(w, field, "absurd shape %s", shapebuf);
    size_t want = (size_t)numel * cx_dtype_size(dt);
    if (data->via.bin.size != want)
        return decode_error(w, field, "%u data bytes disagree with dtype %s and shape %s (%zu bytes)",
                            data->via.bin.size, dtname, shapebuf, want);
    if (cx_record_tensor(rec, name)) return decode_error(w, field, "duplicate tensor name");
    cx_tensor *t = cx_record_add_tensor(rec, name, dt, ndim, dims);
    if (!t) return decode_error(w, field, "%s", cx_errmsg());
    memcpy(t->data, data->via.bin.ptr, want);   /* the bin payload is unaligned: copy */
    return 0;
}

/* Decode a record map. Returns 0, or an error code (recorded). *is_end set for the end marker. */
static int decode_record(const msgpack_object *o, cx_record *rec, where *w, bool *is_end, int64_t *end_count) {
    *is_end = false;
    if (o->type != MSGPACK_OBJECT_MAP) return decode_error(w, NULL, "not a map");
    const msgpack_object *end = map_lookup(o, "end");
    if (end) {
        if (end->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.map.size != 1)
            return decode_error(w, "end", "malformed end marker");
        *is_end = true;
        *end_count = (int64_t)end->via.u64;
        return 0;
    }
    const msgpack_object *id = map_lookup(o, "id"), *meta = map_lookup(o, "meta"), *tensors = map_lookup(o, "tensors");
    if (!id || id->type != MSGPACK_OBJECT_STR) return decode_error(w, "id", "missing or not a string");
    rec->id = dup_str(id);
    if (!rec->id) return decode_error(w, "id", "holds a NUL byte");
    w->id = rec->id;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR) return decode_error(w, NULL, "a record key is not a string");
        for (uint32_t j = 0; j < i; j++)
            if (kv->key.via.str.size == o->via.map.ptr[j].key.via.str.size &&
                !memcmp(kv->key.via.str.ptr, o->via.map.ptr[j].key.via.str.ptr, kv->key.via.str.size))
                return decode_error(w, NULL, "duplicate key \"%.*s\"", (int)kv->key.via.str.size, kv->key.via.str.ptr);
    }
    if (meta) {
        if (meta->type != MSGPACK_OBJECT_MAP) return decode_error(w, "meta", "not a map");
        cx_value_free(&rec->meta);
        if (to_value(meta, &rec->meta, w, "meta")) { rec->meta = cx_map(); return cx_errcode(); }
    }
    if (tensors) {
        if (tensors->type != MSGPACK_OBJECT_MAP) return decode_error(w, "tensors", "not a map");
        for (uint32_t i = 0; i < tensors->via.map.size; i++) {
            const msgpack_object_kv *kv = &tensors->via.map.ptr[i];
            char *name = kv->key.type == MSGPACK_OBJECT_STR ? dup_str(&kv->key) : NULL;
            if (!name || !*name) { free(name); return decode_error(w, "tensors", "tensor %u has no usable name", i); }
            int rc = decode_tensor(&kv->val, name, rec, w);
            free(name);
            if (rc) return rc;
        }
    }
    return 0;
}

/* The extent of the first msgpack object in buf, found without allocating anything.
 *
 * msgpack-c allocates a container's elements when it meets the container's header, trusting
 * the count it claims: five bytes claiming a map of 2^32 entries would ask for 200 GB. The
 * reader therefore hands msgpack-c only objects whose every byte is present, and then its
 * allocations are bounded by a small multiple of the bytes read. Returns the object's size,
 * 0 when more bytes are needed, or -1 for bytes that are not msgpack (or nest too deep). */
#define MAX_NESTING 32

static long long object_extent(const unsigned char *p, size_t len) {
    uint64_t pending[MAX_NESTING + 1];   /* elements still to read, per open container */
    int depth = 0;
    size_t at = 0;
    pending[0] = 1;
    while (depth > 0 || pending[0] > 0) {
        if (pending[depth] == 0) { depth--; continue; }
        pending[depth]--;
        if (at >= len) return 0;
        unsigned c = p[at++];
        uint64_t skip = 0, children = 0;
        int header = 0;   /* bytes of a big-endian length that follow the type byte */
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
        } else if (c >= 0xa0 && c <= 0xbf) skip = c & 0x1f;
        else if (c >= 0x90 && c <= 0x9f) children = c & 0x0f;
        else if (c >= 0x80 && c <= 0x8f) children = 2 * (uint64_t)(c & 0x0f);
        else switch (c) {
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xca: case 0xce: case 0xd2: skip = 4; break;
            case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;   /* fixext: type byte + data */
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xc4: case 0xd9: header = 1; break;   /* bin 8, str 8 */
            case 0xc5: case 0xda: header = 2; break;
            case 0xc6: case 0xdb: header = 4; break;
            case 0xc7: header = 1; skip = 1; break;    /* ext: length, then a type byte */
            case 0xc8: header = 2; skip = 1; break;
            case 0xc9: header = 4; skip = 1; break;
            case 0xdc: case 0xdd: case 0xde: case 0xdf: header = c & 1 ? 4 : 2; break;
            default: return -1;   /* 0xc1 is never used */
            }
        if (header) {
            if (len - at < (size_t)header) return 0;
            uint64_t n = 0;
            for (int i = 0; i < header; i++) n = n << 8 | p[at++];
            if (c >= 0xdc) children = c >= 0xde ? 2 * n : n;
            else skip += n;
        }
        if (skip > len - at) return 0;
        at += (size_t)skip;
        if (children) {
            if (depth == MAX_NESTING) return -1;
            pending[++depth] = children;
        }
    }
    return (long long)at;
}

int cx_record_decode(const void *buf, size_t len, cx_record *rec) {
    msgpack_unpacked result;
    msgpack_unpacked_init(&result);
    size_t off = 0;
    where w = {"buffer", 0, NULL};
    int rc;
    cx_record_free(rec);
    long long extent = object_extent(buf, len);
    msgpack_unpack_return ret = extent > 0 ? msgpack_unpack_next(&result, buf, (size_t)extent, &off) : MSGPACK_UNPACK_PARSE_ERROR;
    if (ret == MSGPACK_UNPACK_SUCCESS) {
        bool is_end;
        int64_t count;
        rc = decode_record(&result.data, rec, &w, &is_end, &count);
        if (!rc && is_end) rc = decode_error(&w, NULL, "an end marker, not a record");
    } else {
        rc = decode_error(&w, NULL, extent == 0 ? "truncated" : "not valid msgpack");
    }
    msgpack_unpacked_destroy(&result);
    if (rc) cx_record_free(rec);
    return rc;
}

/* ---------------------------------------------------------------- reader */

struct cx_reader {
    char *name;
    int fd;
    bool own_fd, at_end, eof;
    unsigned char *buf;        /* bytes read and not yet consumed: buf[start, end) */
    size_t start, end, cap;
    msgpack_unpacked result;   /* the current object; its bin/str point into buf */
    cx_value header;
    int64_t count;
    size_t max_record;
};

static size_t max_record_bytes(void) {
    const char *env = getenv("CXR_MAX_RECORD_MB");
    long long mb = env ? atoll(env) : 0;
    return mb > 0 ? (size_t)mb << 20 : CX_MAX_RECORD_BYTES;
}

/* Read more input behind what is buffered, moving unconsumed bytes to the front and growing the
 * buffer (up to the record limit) when it is full. 1 read, 0 end of input, -1 error. */
static int fill(cx_reader *r) {
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) {
        if (r->cap >= r->max_record) return cx_err(EX_DATAERR, "%s: record %lld: larger than %zu MiB (corrupt, or raise CXR_MAX_RECORD_MB)",
                                                   r->name, (long long)r->count, r->max_record >> 20), -1;
        r->cap = 2 * r->cap < r->max_record ? 2 * r->cap : r->max_record;
        r->buf = cx_realloc(r->buf, r->cap);
    }
    ssize_t n;
    do n = read(r->fd, r->buf + r->end, r->cap - r->end);
    while (n < 0 && errno == EINTR);
    if (n < 0) return cx_err(EX_IOERR, "%s: read error: %s", r->name, strerror(errno)), -1;
    r->end += (size_t)n;
    return n > 0;
}

/* Next msgpack object into r->result: 1, 0 at a clean end of input, -1 on error (recorded). */
static int next_object(cx_reader *r) {
    const where w = {r->name, r->count, NULL};
    for (;;) {
        long long extent = object_extent(r->buf + r->start, r->end - r->start);
        if (extent < 0) { decode_error(&w, NULL, "not valid msgpack (corrupt stream)"); return -1; }
        if (extent > 0) {
            size_t off = 0;
            msgpack_unpacked_destroy(&r->result);
            msgpack_unpacked_init(&r->result);
            msgpack_unpack_return ret = msgpack_unpack_next(&r->result, (const char *)r->buf + r->start, (size_t)extent, &off);
            if (ret != MSGPACK_UNPACK_SUCCESS) { decode_error(&w, NULL, "not valid msgpack (corrupt stream)"); return -1; }
            r->start += (size_t)extent;
            return 1;
        }
        if (r->eof) {
            if (r->end > r->start) { decode_error(&w, NULL, "truncated stream (input ends inside a record)"); return -1; }
            return 0;
        }
        int got = fill(r);
        if (got < 0) return -1;
        if (got == 0) r->eof = true;
    }
}

static cx_reader *reader_new(int fd, bool own, const char *name) {
    cx_reader *r = cx_calloc(1, sizeof *r);
    r->name = cx_strdup(name);
    r->fd = fd;
    r->own_fd = own;
    r->max_record = max_record_bytes();
    r->cap = 1 << 16;   /* grows to the largest record */
    r->buf = cx_malloc(r->cap);
    r->header = cx_nil();
    msgpack_unpacked_init(&r->result);
    const where w = {r->name, -1, NULL};
    int got = next_object(r);
    if (got <= 0) {
        if (got == 0) cx_err(EX_DATAERR, "%s: empty input (no stream header)", r->name);
        goto fail;
    }
    const msgpack_object *o = &r->result.data;
    if (o->type != MSGPACK_OBJECT_MAP) { decode_error(&w, NULL, "not a cxr-mtl stream (the first object is not a map)"); goto fail; }
    if (to_value(o, &r->header, &w, "")) goto fail;
    const cx_value *format = cx_map_get(&r->header, "format"), *version = cx_map_get(&r->header, "version");
    if (!format || format->kind != CX_STR || strcmp(format->u.s, CX_STREAM_FORMAT)) {
        decode_error(&w, "format", "not a cxr-mtl stream (format must be \"%s\")", CX_STREAM_FORMAT);
        goto fail;
    }
    if (!version || version->kind != CX_INT || version->u.i != CX_STREAM_VERSION) {
        decode_error(&w, "version", "unsupported format version (this build reads version %d)", CX_STREAM_VERSION);
        goto fail;
    }
    if (!cx_map_get(&r->header, "kind") || cx_map_get(&r->header, "kind")->kind != CX_STR) {
        decode_error(&w, "kind", "missing or not a string");
        goto fail;
    }
    return r;
fail:
    cx_reader_close(r);
    return NULL;
}

cx_reader *cx_reader_open(const char *path) {
    if (!strcmp(path, "-")) return reader_new(STDIN_FILENO, false, "standard input");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cx_err(errno == ENOENT || errno == EACCES ? EX_NOINPUT : EX_IOERR, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    return reader_new(fd, true, path);
}

cx_reader *cx_reader_open_fd(int fd, const char *name) { return reader_new(fd, false, name); }

const cx_value *cx_reader_header(const cx_reader *r) { return &r->header; }
const char *cx_reader_name(const cx_reader *r) { return r->name; }
int64_t cx_reader_count(const cx_reader *r) { return r->count; }

int cx_reader_next(cx_reader *r, cx_record *rec) {
    cx_record_free(rec);
    if (r->at_end) return 0;
    where w = {r->name, r->count, NULL};
    int got = next_object(r);
    if (got < 0) return -1;
    if (got == 0) {
        decode_error(&w, NULL, "truncated stream (no end marker after %lld records)", (long long)r->count);
        return -1;
    }
    bool is_end;
    int64_t end_count;
    if (decode_record(&r->result.data, rec, &w, &is_end, &end_count)) {
        cx_record_free(rec);
        return -1;
    }
    if (is_end) {
        if (end_count != r->count) {
            cx_err(EX_DATAERR, "%s: end marker counts %lld records, the stream holds %lld", r->name,
                   (long long)end_count, (long long)r->count);
            return -1;
        }
        got = next_object(r);
        if (got != 0) {
            if (got > 0) cx_err(EX_DATAERR, "%s: data after the end marker (concatenate streams with cxr-cat, not cat)", r->name);
            return -1;
        }
        r->at_end = true;
        return 0;
    }
    rec->index = r->count++;
    return 1;
}

void cx_reader_close(cx_reader *r) {
    if (!r) return;
    msgpack_unpacked_destroy(&r->result);
    free(r->buf);
    if (r->own_fd) close(r->fd);
    cx_value_free(&r->header);
    free(r->name);
    free(r);
}

/* ---------------------------------------------------------------- writer */

struct cx_writer {
    cx_outfile *out;
    msgpack_packer pk;
    int64_t count;
};

static void pack_str(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_value(msgpack_packer *pk, const cx_value *v) {
    switch (v->kind) {
    case CX_NIL: msgpack_pack_nil(pk); break;
    case CX_BOOL: v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
    case CX_INT: msgpack_pack_int64(pk, v->u.i); break;
    case CX_FLOAT: msgpack_pack_double(pk, v->u.f); break;
    case CX_STR: pack_str(pk, v->u.s); break;
    case CX_ARRAY:
        msgpack_pack_array(pk, v->u.arr.n);
        for (size_t i = 0; i < v->u.arr.n; i++) pack_value(pk, &v->u.arr.items[i]);
        break;
    case CX_MAP:
        msgpack_pack_map(pk, v->u.map.n);
        for (size_t i = 0; i < v->u.map.n; i++) {
            pack_str(pk, v->u.map.keys[i]);
            pack_value(pk, &v->u.map.vals[i]);
        }
        break;
    }
}

static int writer_check(cx_writer *w) {
    FILE *f = cx_outfile_fp(w->out);
    if (ferror(f)) return cx_err(EX_IOERR, "%s: write failed: %s", cx_outfile_path(w->out), strerror(errno));
    return 0;
}

cx_writer *cx_writer_open(const char *path, const cx_value *header) {
    if (header->kind != CX_MAP || strcmp(cx_map_str(header, "format", ""), CX_STREAM_FORMAT)) {
        cx_err(EX_SOFTWARE, "%s: header is not a stream header (use cx_header_new)", path);
        return NULL;
    }
    cx_outfile *out = cx_outfile_open(path);
    if (!out) return NULL;
    cx_writer *w = cx_calloc(1, sizeof *w);
    w->out = out;
    msgpack_packer_init(&w->pk, cx_outfile_fp(out), msgpack_fbuffer_write);
    pack_value(&w->pk, header);
    if (writer_check(w)) { cx_writer_abort(w); return NULL; }
    return w;
}

int cx_writer_put(cx_writer *w, const cx_record *rec) {
    msgpack_packer *pk = &w->pk;
    msgpack_pack_map(pk, 3);
    pack_str(pk, "id");
    pack_str(pk, rec->id ? rec->id : "");
    pack_str(pk, "meta");
    if (rec->meta.kind == CX_MAP) pack_value(pk, &rec->meta);
    else msgpack_pack_map(pk, 0);
    pack_str(pk, "tensors");
    msgpack_pack_map(pk, rec->ntensors);
    for (size_t i = 0; i < rec->ntensors; i++) {
        const cx_tensor *t = &rec->tensors[i];
        pack_str(pk, t->name);
        msgpack_pack_map(pk, 3);
        pack_str(pk, "dtype");
        pack_str(pk, cx_dtype_name(t->dtype));
        pack_str(pk, "shape");
        msgpack_pack_array(pk, (size_t)t->ndim);
        for (int d = 0; d < t->ndim; d++) msgpack_pack_uint64(pk, (uint64_t)t->shape[d]);
        pack_str(pk, "data");
        msgpack_pack_bin(pk, t->nbytes);
        msgpack_pack_bin_body(pk, t->data, t->nbytes);
    }
    w->count++;
    return writer_check(w);
}

int cx_writer_close(cx_writer *w) {
    msgpack_pack_map(&w->pk, 1);
    pack_str(&w->pk, "end");
    msgpack_pack_int64(&w->pk, w->count);
    int rc = writer_check(w);
    if (rc) {
        cx_outfile_abort(w->out);
    } else {
        rc = cx_outfile_commit(w->out);
    }
    free(w);
    return rc;
}

void cx_writer_abort(cx_writer *w) {
    if (!w) return;
    cx_outfile_abort(w->out);
    free(w);
}

int64_t cx_writer_count(const cx_writer *w) { return w->count; }
