#include "io/select.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void cx_selection_init(cx_selection *s) { memset(s, 0, sizeof *s); }

void cx_selection_free(cx_selection *s) {
    for (size_t i = 0; i < s->nids; i++) free(s->ids[i]);
    free(s->ids);
    free(s->ranges);
    for (size_t i = 0; i < s->nconds; i++) {
        free(s->conds[i].field);
        cx_value_free(&s->conds[i].value);
    }
    free(s->conds);
    cx_selection_init(s);
}

void cx_selection_add_id(cx_selection *s, const char *id) {
    if (s->nids == s->capids) {
        s->capids = s->capids ? 2 * s->capids : 16;
        s->ids = cx_realloc(s->ids, s->capids * sizeof *s->ids);
    }
    s->ids[s->nids++] = cx_strdup(id);
    s->ids_sorted = false;
    s->ids_given = true;
}

int cx_selection_add_ids_from(cx_selection *s, const char *path) {
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) return cx_err(EX_NOINPUT, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    s->ids_given = true;   /* an empty list selects nothing, not everything */
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (n) cx_selection_add_id(s, line);
    }
    free(line);
    int bad = ferror(f);
    if (f != stdin) fclose(f);
    return bad ? cx_err(EX_IOERR, "%s: read error", path) : 0;
}

int cx_selection_add_index(cx_selection *s, const char *range) {
    char *end;
    errno = 0;
    long long lo = strtoll(range, &end, 10), hi = lo;
    if (end == range || lo < 0 || errno) return cx_err(EX_USAGE, "bad index range '%s' (N, A-B or A-)", range);
    if (*end == '-') {
        const char *rest = end + 1;
        if (!*rest) hi = INT64_MAX;
        else {
            hi = strtoll(rest, &end, 10);
            if (end == rest || *end || hi < lo || errno) return cx_err(EX_USAGE, "bad index range '%s' (N, A-B or A-)", range);
        }
    } else if (*end) {
        return cx_err(EX_USAGE, "bad index range '%s' (N, A-B or A-)", range);
    }
    s->ranges = cx_realloc(s->ranges, (s->nranges + 1) * sizeof *s->ranges);
    s->ranges[s->nranges++] = (struct cx_index_range){lo, hi};
    return 0;
}

static void add_cond(cx_selection *s, const char *field, size_t len, cx_where_op op, cx_value value) {
    s->conds = cx_realloc(s->conds, (s->nconds + 1) * sizeof *s->conds);
    char *f = cx_malloc(len + 1);
    memcpy(f, field, len);
    f[len] = 0;
    s->conds[s->nconds++] = (struct cx_where){f, op, value};
}

int cx_selection_add_where(cx_selection *s, const char *expr) {
    const char *eq = strchr(expr, '=');
    if (!eq || eq == expr || (eq == expr + 1 && expr[0] == '!'))
        return cx_err(EX_USAGE, "bad condition '%s' (FIELD=VALUE or FIELD!=VALUE)", expr);
    bool ne = eq[-1] == '!';
    add_cond(s, expr, (size_t)(eq - expr) - ne, ne ? CX_WHERE_NE : CX_WHERE_EQ, cx_value_parse_scalar(eq + 1));
    return 0;
}

void cx_selection_add_has(cx_selection *s, const char *field) { add_cond(s, field, strlen(field), CX_WHERE_HAS, cx_nil()); }

bool cx_selection_active(const cx_selection *s) { return s->ids_given || s->nranges || s->nconds || s->invert; }

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool value_matches(const cx_value *have, const cx_value *want) {
    if (want->kind == CX_NIL) return !have || have->kind == CX_NIL;
    if (!have) return false;
    double x, y;
    if ((want->kind == CX_INT || want->kind == CX_FLOAT || want->kind == CX_BOOL) && cx_value_number(have, &x) &&
        cx_value_number(want, &y))
        return x == y;
    if (want->kind == CX_STR) return have->kind == CX_STR && !strcmp(have->u.s, want->u.s);
    return cx_value_equal(have, want);
}

static bool match(cx_selection *s, const cx_record *r) {
    if (s->ids_given) {
        if (!s->nids) return false;
        if (!s->ids_sorted) {
            qsort(s->ids, s->nids, sizeof *s->ids, cmp_str);
            s->ids_sorted = true;
        }
        const char *key = r->id;
        if (!bsearch(&key, s->ids, s->nids, sizeof *s->ids, cmp_str)) return false;
    }
    if (s->nranges) {
        bool in = false;
        for (size_t i = 0; i < s->nranges && !in; i++) in = r->index >= s->ranges[i].lo && r->index <= s->ranges[i].hi;
        if (!in) return false;
    }
    for (size_t i = 0; i < s->nconds; i++) {
        const cx_value *v = cx_map_get(&r->meta, s->conds[i].field);
        switch (s->conds[i].op) {
        case CX_WHERE_HAS: if (!v || v->kind == CX_NIL) return false; break;
        case CX_WHERE_EQ: if (!value_matches(v, &s->conds[i].value)) return false; break;
        case CX_WHERE_NE: if (value_matches(v, &s->conds[i].value)) return false; break;
        }
    }
    return true;
}

bool cx_selection_match(cx_selection *s, const cx_record *r) { return match(s, r) != s->invert; }
