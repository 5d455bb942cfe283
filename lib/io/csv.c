/* CSV tables (RFC 4180) held in memory, with a hash index on one key column (see csv.h). */
#include "io/csv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* ---- string index: open addressing with linear probing ---- */

/* The strings indexed are keys[i * stride] for i < n: header names (stride 1) or one column
 * of the cells (stride ncols). A slot holds i + 1, or 0 when empty. */
struct cx_csv_index {
    size_t key_col;
    size_t mask;       /* slot count - 1, a power of two at least twice n */
    size_t *slots;
};

static uint64_t hash_string(const char *s) {   /* FNV-1a */
    uint64_t h = 14695981039346656037u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t probe(const struct cx_csv_index *idx, char *const *keys, size_t stride, const char *key) {
    size_t at = hash_string(key) & idx->mask;
    while (idx->slots[at] && strcmp(keys[(idx->slots[at] - 1) * stride], key) != 0) at = (at + 1) & idx->mask;
    return at;
}

/* Index n strings. When two are equal, returns NULL with their positions in *first, *second. */
static struct cx_csv_index *index_build(char *const *keys, size_t stride, size_t n, size_t *first, size_t *second) {
    struct cx_csv_index *idx = cx_malloc(sizeof *idx);
    size_t nslots = 16;
    while (nslots < 2 * n) nslots *= 2;
    idx->mask = nslots - 1;
    idx->slots = cx_calloc(nslots, sizeof *idx->slots);
    for (size_t i = 0; i < n; i++) {
        size_t at = probe(idx, keys, stride, keys[i * stride]);
        if (idx->slots[at]) {
            *first = idx->slots[at] - 1;
            *second = i;
            free(idx->slots);
            free(idx);
            return NULL;
        }
        idx->slots[at] = i + 1;
    }
    return idx;
}

static void index_free(struct cx_csv_index *idx) {
    if (idx) free(idx->slots);
    free(idx);
}

/* ---- parsing ---- */

typedef struct {
    const char *p, *end;   /* the text not yet parsed */
    const char *content_end;   /* only line ends follow: trailing blank lines are not rows */
    const char *name;
    size_t line;           /* of p, 1-based */
    char *field;           /* the field being decoded */
    size_t len, cap;
} parser;

typedef struct {
    char **items;
    size_t n, cap;
} string_list;

static void list_push(string_list *l, char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = cx_realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n++] = s;
}

static void list_free(string_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    *l = (string_list){0};
}

static void field_append(parser *ps, char c) {
    if (ps->len == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 64;
        ps->field = cx_realloc(ps->field, ps->cap);
    }
    ps->field[ps->len++] = c;
}

/* Length of the line end at p: 2 for CRLF, 1 for LF (or a CR that ends the text), else 0. */
static int line_end(const parser *ps, const char *p) {
    if (p < ps->end && *p == '\n') return 1;
    if (p < ps->end && *p == '\r') return p + 1 == ps->end ? 1 : p[1] == '\n' ? 2 : 0;
    return 0;
}

enum { FIELD_ERROR = -1, FIELD_LAST, FIELD_MORE };

/* Decode one field (column col, 1-based, for messages) into ps->field, NUL-terminated, and
 * consume what ends it. FIELD_MORE after a comma, FIELD_LAST at a line end or the end of the
 * text, FIELD_ERROR (recorded) on malformed input. */
static int parse_field(parser *ps, size_t col) {
    ps->len = 0;
    if (ps->p < ps->end && *ps->p == '"') {
        size_t start_line = ps->line;
        ps->p++;
        for (;;) {
            if (ps->p == ps->end) {
                cx_err(EX_DATAERR, "%s:%zu: column %zu: quoted field never closed", ps->name, start_line, col);
                return FIELD_ERROR;
            }
            char c = *ps->p++;
            if (c == '"') {
                if (ps->p == ps->end || *ps->p != '"') break;
                ps->p++;   /* "" stands for one quote */
            } else if (c == '\n') {
                ps->line++;
            }
            field_append(ps, c);
        }
        if (ps->p < ps->end && *ps->p != ',' && !line_end(ps, ps->p)) {
            cx_err(EX_DATAERR, "%s:%zu: column %zu: text after a closing quote", ps->name, ps->line, col);
            return FIELD_ERROR;
        }
    } else {
        while (ps->p < ps->end && *ps->p != ',' && !line_end(ps, ps->p)) {
            if (*ps->p == '"') {
                cx_err(EX_DATAERR, "%s:%zu: column %zu: quote inside an unquoted field", ps->name, ps->line, col);
                return FIELD_ERROR;
            }
            field_append(ps, *ps->p++);
        }
    }
    if (ps->len > 0 && memchr(ps->field, '\0', ps->len)) {
        cx_err(EX_DATAERR, "%s:%zu: column %zu: NUL byte in the text", ps->name, ps->line, col);
        return FIELD_ERROR;
    }
    field_append(ps, '\0');
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        return FIELD_MORE;
    }
    int eol = line_end(ps, ps->p);
    if (eol) {
        ps->p += eol;
        ps->line++;
    }
    return FIELD_LAST;
}

/* Append the fields of one record to out; returns their count, or 0 on error (recorded). */
static size_t parse_record(parser *ps, string_list *out) {
    for (size_t col = 1;; col++) {
        int r = parse_field(ps, col);
        if (r == FIELD_ERROR) return 0;
        char *cell = cx_malloc(ps->len);
        memcpy(cell, ps->field, ps->len);
        list_push(out, cell);
        if (r == FIELD_LAST) return col;
    }
}

static int check_header(const cx_csv *csv) {
    size_t first, second;
    struct cx_csv_index *idx = index_build(csv->header, 1, csv->ncols, &first, &second);
    if (!idx)
        return cx_err(EX_DATAERR, "%s:1: columns %zu and %zu are both named '%s'", csv->name, first + 1, second + 1,
                      csv->header[first]);
    index_free(idx);
    return 0;
}

static const unsigned char UTF8_BOM[3] = {0xEF, 0xBB, 0xBF};

int cx_csv_parse(const char *text, size_t len, const char *name, cx_csv *csv) {
    *csv = (cx_csv){.name = cx_strdup(name)};
    parser ps = {.p = text, .end = text + len, .content_end = text + len, .name = csv->name, .line = 1};
    if (len >= 3 && memcmp(text, UTF8_BOM, 3) == 0) ps.p += 3;
    while (ps.content_end > ps.p && (ps.content_end[-1] == '\n' || ps.content_end[-1] == '\r')) ps.content_end--;
    string_list header = {0}, cells = {0};
    size_t nlines = 0, cap_lines = 0;
    int rc = 0;
    if (ps.p == ps.content_end) rc = cx_err(EX_DATAERR, "%s: no header row", csv->name);
    if (rc == 0 && parse_record(&ps, &header) == 0) rc = cx_errcode();
    csv->header = header.items;
    csv->ncols = header.n;   /* also on error: what was parsed gets freed */
    if (rc == 0) rc = check_header(csv);
    while (rc == 0 && ps.p < ps.content_end) {
        size_t line = ps.line, nfields = parse_record(&ps, &cells);
        if (nfields == 0) rc = cx_errcode();
        else if (nfields != csv->ncols)
            rc = cx_err(EX_DATAERR, "%s:%zu: %zu fields, the header has %zu", csv->name, line, nfields, csv->ncols);
        if (nlines == cap_lines) {
            cap_lines = cap_lines ? 2 * cap_lines : 64;
            csv->lines = cx_realloc(csv->lines, cap_lines * sizeof *csv->lines);
        }
        csv->lines[nlines++] = line;
    }
    free(ps.field);
    if (rc) {
        list_free(&cells);   /* rows may be partial, so not through csv->cells */
        cx_csv_free(csv);
        return rc;
    }
    csv->cells = cells.items;
    csv->nrows = nlines;
    return 0;
}

int cx_csv_read(const char *path, cx_csv *csv) {
    bool use_stdin = strcmp(path, "-") == 0;
    const char *name = use_stdin ? "<stdin>" : path;
    FILE *f = use_stdin ? stdin : fopen(path, "rb");
    if (!f) return cx_err(EX_NOINPUT, "%s: cannot open: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            cap = cap ? 2 * cap : 65536;
            text = cx_realloc(text, cap);
        }
        got = fread(text + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    int rc = ferror(f) ? cx_err(EX_IOERR, "%s: %s", name, strerror(errno)) : cx_csv_parse(text, len, name, csv);
    if (!use_stdin) fclose(f);
    free(text);
    return rc;
}

void cx_csv_free(cx_csv *csv) {
    for (size_t i = 0; i < csv->nrows * csv->ncols; i++) free(csv->cells[i]);
    for (size_t i = 0; csv->header && i < csv->ncols; i++) free(csv->header[i]);
    free(csv->cells);
    free(csv->header);
    free(csv->lines);
    free(csv->name);
    index_free(csv->index);
    *csv = (cx_csv){0};
}

long cx_csv_col(const cx_csv *csv, const char *column) {
    for (size_t i = 0; i < csv->ncols; i++)
        if (strcmp(csv->header[i], column) == 0) return (long)i;
    cx_err(EX_DATAERR, "%s: no column '%s'", csv->name, column);
    return -1;
}

long cx_csv_find(cx_csv *csv, size_t key_col, const char *key) {
    if (key_col >= csv->ncols) {
        cx_err(EX_DATAERR, "%s: key column %zu out of range (%zu columns)", csv->name, key_col, csv->ncols);
        return -2;
    }
    if (csv->index && csv->index->key_col != key_col) {
        index_free(csv->index);
        csv->index = NULL;
    }
    if (!csv->index) {
        size_t first, second;
        csv->index = index_build(csv->cells + key_col, csv->ncols, csv->nrows, &first, &second);
        if (!csv->index) {
            cx_err(EX_DATAERR, "%s: lines %zu and %zu have the same %s '%s'", csv->name, csv->lines[first],
                   csv->lines[second], csv->header[key_col], cx_csv_cell(csv, first, key_col));
            return -2;
        }
        csv->index->key_col = key_col;
    }
    size_t at = probe(csv->index, csv->cells + key_col, csv->ncols, key);
    return csv->index->slots[at] ? (long)(csv->index->slots[at] - 1) : -1;
}
