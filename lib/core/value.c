#include "core/value.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

cx_value cx_str(const char *s) { return cx_str_own(cx_strdup(s ? s : "")); }

cx_value cx_str_own(char *s) {
    cx_value v = {.kind = CX_STR};
    v.u.s = s;
    return v;
}

cx_value cx_array(void) { cx_value v = {.kind = CX_ARRAY}; return v; }
cx_value cx_map(void) { cx_value v = {.kind = CX_MAP}; return v; }

void cx_value_free(cx_value *v) {
    switch (v->kind) {
    case CX_STR: free(v->u.s); break;
    case CX_ARRAY:
        for (size_t i = 0; i < v->u.arr.n; i++) cx_value_free(&v->u.arr.items[i]);
        free(v->u.arr.items);
        break;
    case CX_MAP:
        for (size_t i = 0; i < v->u.map.n; i++) {
            free(v->u.map.keys[i]);
            cx_value_free(&v->u.map.vals[i]);
        }
        free(v->u.map.keys);
        free(v->u.map.vals);
        break;
    default: break;
    }
    *v = cx_nil();
}

cx_value cx_value_copy(const cx_value *v) {
    cx_value c;
    switch (v->kind) {
    case CX_STR: return cx_str(v->u.s);
    case CX_ARRAY:
        c = cx_array();
        for (size_t i = 0; i < v->u.arr.n; i++) cx_array_push(&c, cx_value_copy(&v->u.arr.items[i]));
        return c;
    case CX_MAP:
        c = cx_map();
        for (size_t i = 0; i < v->u.map.n; i++) cx_map_set(&c, v->u.map.keys[i], cx_value_copy(&v->u.map.vals[i]));
        return c;
    default: return *v;
    }
}

bool cx_value_equal(const cx_value *a, const cx_value *b) {
    if (a->kind != b->kind) {
        double x, y;   /* 3 and 3.0 are the same value */
        return (a->kind == CX_INT || a->kind == CX_FLOAT) && (b->kind == CX_INT || b->kind == CX_FLOAT) &&
               cx_value_number(a, &x) && cx_value_number(b, &y) && x == y;
    }
    switch (a->kind) {
    case CX_NIL: return true;
    case CX_BOOL: return a->u.b == b->u.b;
    case CX_INT: return a->u.i == b->u.i;
    case CX_FLOAT: return a->u.f == b->u.f || (isnan(a->u.f) && isnan(b->u.f));
    case CX_STR: return !strcmp(a->u.s, b->u.s);
    case CX_ARRAY:
        if (a->u.arr.n != b->u.arr.n) return false;
        for (size_t i = 0; i < a->u.arr.n; i++)
            if (!cx_value_equal(&a->u.arr.items[i], &b->u.arr.items[i])) return false;
        return true;
    case CX_MAP:
        if (a->u.map.n != b->u.map.n) return false;
        for (size_t i = 0; i < a->u.map.n; i++) {
            const cx_value *other = cx_map_get(b, a->u.map.keys[i]);
            if (!other || !cx_value_equal(&a->u.map.vals[i], other)) return false;
        }
        return true;
    }
    return false;
}

void cx_array_push(cx_value *arr, cx_value item) {
    if (arr->u.arr.n == arr->u.arr.cap) {
        arr->u.arr.cap = arr->u.arr.cap ? 2 * arr->u.arr.cap : 4;
        arr->u.arr.items = cx_realloc(arr->u.arr.items, arr->u.arr.cap * sizeof(cx_value));
    }
    arr->u.arr.items[arr->u.arr.n++] = item;
}

static long map_find(const cx_value *map, const char *key) {
    if (map->kind != CX_MAP) return -1;
    for (size_t i = 0; i < map->u.map.n; i++)
        if (!strcmp(map->u.map.keys[i], key)) return (long)i;
    return -1;
}

void cx_map_set(cx_value *map, const char *key, cx_value val) {
    long at = map_find(map, key);
    if (at >= 0) {
        cx_value_free(&map->u.map.vals[at]);
        map->u.map.vals[at] = val;
        return;
    }
    if (map->u.map.n == map->u.map.cap) {
        map->u.map.cap = map->u.map.cap ? 2 * map->u.map.cap : 8;
        map->u.map.keys = cx_realloc(map->u.map.keys, map->u.map.cap * sizeof(char *));
        map->u.map.vals = cx_realloc(map->u.map.vals, map->u.map.cap * sizeof(cx_value));
    }
    map->u.map.keys[map->u.map.n] = cx_strdup(key);
    map->u.map.vals[map->u.map.n++] = val;
}

cx_value *cx_map_get(const cx_value *map, const char *key) {
    long at = map_find(map, key);
    return at < 0 ? NULL : &map->u.map.vals[at];
}

bool cx_map_del(cx_value *map, const char *key) {
    long at = map_find(map, key);
    if (at < 0) return false;
    free(map->u.map.keys[at]);
    cx_value_free(&map->u.map.vals[at]);
    size_t rest = map->u.map.n - (size_t)at - 1;
    memmove(&map->u.map.keys[at], &map->u.map.keys[at + 1], rest * sizeof(char *));
    memmove(&map->u.map.vals[at], &map->u.map.vals[at + 1], rest * sizeof(cx_value));
    map->u.map.n--;
    return true;
}

const char *cx_map_str(const cx_value *map, const char *key, const char *def) {
    const cx_value *v = cx_map_get(map, key);
    return v && v->kind == CX_STR ? v->u.s : def;
}

bool cx_value_number(const cx_value *v, double *out) {
    switch (v->kind) {
    case CX_BOOL: *out = v->u.b; return true;
    case CX_INT: *out = (double)v->u.i; return true;
    case CX_FLOAT: *out = v->u.f; return true;
    case CX_STR: {
        cx_value parsed = cx_value_parse_scalar(v->u.s);
        bool ok = (parsed.kind == CX_INT || parsed.kind == CX_FLOAT) && cx_value_number(&parsed, out);
        cx_value_free(&parsed);
        return ok;
    }
    default: return false;
    }
}

cx_value cx_value_parse_scalar(const char *text) {
    if (!*text) return cx_nil();
    if (!strcmp(text, "true")) return cx_bool(true);
    if (!strcmp(text, "false")) return cx_bool(false);
    char *end;
    errno = 0;
    long long i = strtoll(text, &end, 10);
    if (!*end && !errno && end != text) return cx_int(i);
    /* strtod would accept "nan", "inf", hex and leading spaces: only plain decimals become numbers */
    const char *p = text;
    if (*p == '-' || *p == '+') p++;
    if ((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')) {
        errno = 0;
        double d = strtod(text, &end);
        if (!*end && !errno && isfinite(d)) return cx_float(d);
    }
    return cx_str(text);
}

void cx_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void write_number(FILE *f, double d, bool json) {
    if (!isfinite(d)) fputs(json ? "null" : (isnan(d) ? "nan" : d > 0 ? "inf" : "-inf"), f);
    else if (d == nearbyint(d) && fabs(d) < 1e15) fprintf(f, "%.1f", d);
    else {
        /* the shortest decimal that reads back as the same double: 37.1, not 37.100000000000001 */
        char buf[32];
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(buf, sizeof buf, "%.*g", digits, d);
            if (strtod(buf, NULL) == d) break;
        }
        fputs(buf, f);
    }
}

static void write_value(FILE *f, const cx_value *v, bool json) {
    switch (v->kind) {
    case CX_NIL: fputs("null", f); break;
    case CX_BOOL: fputs(v->u.b ? "true" : "false", f); break;
    case CX_INT: fprintf(f, "%lld", (long long)v->u.i); break;
    case CX_FLOAT: write_number(f, v->u.f, json); break;
    case CX_STR:
        if (json) cx_json_string(f, v->u.s);
        else fputs(v->u.s, f);
        break;
    case CX_ARRAY:
        fputc('[', f);
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (i) fputs(json ? "," : ", ", f);
            /* inside containers strings stay quoted so the structure reads unambiguously */
            write_value(f, &v->u.arr.items[i], true);
        }
        fputc(']', f);
        break;
    case CX_MAP:
        fputc('{', f);
        for (size_t i = 0; i < v->u.map.n; i++) {
            if (i) fputs(json ? "," : ", ", f);
            cx_json_string(f, v->u.map.keys[i]);
            fputs(json ? ":" : ": ", f);
            write_value(f, &v->u.map.vals[i], true);
        }
        fputc('}', f);
        break;
    }
}

void cx_value_write_json(FILE *f, const cx_value *v) { write_value(f, v, true); }
void cx_value_write_plain(FILE *f, const cx_value *v) { write_value(f, v, false); }

char *cx_value_plain_text(const cx_value *v) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) cx_fatal(EX_OSERR, "out of memory");
    write_value(f, v, false);
    fclose(f);
    return buf;
}
