#include "stats/compare.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "io/csv.h"
#include "io/spool.h"
#include "io/stream.h"

/* ---------------------------------------------------------------- reading */

static char *format_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format_text(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    if (!s) cx_fatal(EX_OSERR, "out of memory formatting a message");
    return s;
}

/* Keep meta (taken) as a run when sel matches it; otherwise free it. */
static void add_run(cx_run_table *t, cx_selection *sel, cx_value meta, char *where) {
    if (sel && cx_selection_active(sel)) {
        cx_record probe;
        cx_record_init(&probe);
        cx_value_free(&probe.meta);
        probe.meta = meta;
        bool keep = cx_selection_match(sel, &probe);
        probe.meta = cx_nil();
        cx_record_free(&probe);
        if (!keep) {
            cx_value_free(&meta);
            free(where);
            return;
        }
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->runs = cx_realloc(t->runs, t->cap * sizeof *t->runs);
    }
    t->runs[t->n++] = (cx_run){meta, where};
}

static int read_stream(cx_reader *in, cx_selection *sel, cx_run_table *t) {
    cx_record rec;
    cx_record_init(&rec);
    int got;
    while ((got = cx_reader_next(in, &rec)) == 1)
        add_run(t, sel, cx_value_copy(&rec.meta), format_text("record %lld (id \"%s\")", (long long)rec.index, rec.id));
    cx_record_free(&rec);
    cx_reader_close(in);
    return got < 0 ? cx_errcode() : 0;
}

/* One row of text cells as a metadata map. */
static cx_value row_meta(char *const *header, const char *const *cells, size_t ncols) {
    cx_value meta = cx_map();
    for (size_t c = 0; c < ncols; c++) cx_map_set(&meta, header[c], cx_value_parse_scalar(cells[c]));
    return meta;
}

static int read_csv(const char *text, size_t len, cx_selection *sel, cx_run_table *t) {
    cx_csv csv;
    if (cx_csv_parse(text, len, t->name, &csv)) return cx_errcode();
    for (size_t r = 0; r < csv.nrows; r++)
        add_run(t, sel, row_meta(csv.header, (const char *const *)&csv.cells[r * csv.ncols], csv.ncols),
                format_text("line %zu", csv.lines[r]));
    cx_csv_free(&csv);
    return 0;
}

/* Split a line (modified in place) at tabs into at most max fields; returns the count. */
static size_t split_tabs(char *line, char **fields, size_t max) {
    size_t n = 0;
    for (char *p = line;; p++) {
        if (n < max) fields[n] = p;
        n++;
        p = strchr(p, '\t');
        if (!p) break;
        *p = 0;
    }
    return n;
}

/* Tab-separated: a header row, then rows of as many fields; no quoting; empty lines skipped. */
static int read_tsv(char *text, cx_selection *sel, cx_run_table *t) {
    char **header = NULL, **cells = NULL;
    size_t ncols = 0, line_no = 0;
    int rc = 0;
    if (!strncmp(text, "\xef\xbb\xbf", 3)) text += 3;   /* a UTF-8 byte order mark */
    for (char *line = text, *next; line && *line; line = next) {
        line_no++;
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[--len] = 0;
        if (!len) continue;
        if (!header) {
            ncols = 1;
            for (const char *p = line; (p = strchr(p, '\t')); p++) ncols++;
            header = cx_malloc(ncols * sizeof *header);
            cells = cx_malloc(ncols * sizeof *cells);
            split_tabs(line, header, ncols);
            for (size_t c = 0; c < ncols && !rc; c++) {
                if (!*header[c]) rc = cx_err(EX_DATAERR, "%s: line %zu: column %zu has no name", t->name, line_no, c + 1);
                for (size_t e = 0; e < c && !rc; e++)
                    if (!strcmp(header[e], header[c]))
                        rc = cx_err(EX_DATAERR, "%s: line %zu: column '%s' twice", t->name, line_no, header[c]);
            }
            if (rc) break;
            continue;
        }
        size_t n = split_tabs(line, cells, ncols);
        if (n != ncols) {
            rc = cx_err(EX_DATAERR, "%s: line %zu: %zu fields, the header has %zu", t->name, line_no, n, ncols);
            break;
        }
        add_run(t, sel, row_meta(header, (const char *const *)cells, ncols), format_text("line %zu", line_no));
    }
    if (!rc && !header) rc = cx_err(EX_DATAERR, "%s: no header row", t->name);
    free(header);
    free(cells);
    return rc;
}

/* A msgpack map (fixmap, map 16, map 32) opens a stream; text never starts with these bytes
 * (0x80-0x8f are UTF-8 continuation bytes; 0xde, 0xdf would open Thaana or NKo letters). */
static bool opens_stream(int byte) { return (byte >= 0x80 && byte <= 0x8f) || byte == 0xde || byte == 0xdf; }

static int read_all(FILE *f, const char *name, char **buf, size_t *len) {
    size_t cap = 1 << 16;
    *buf = cx_malloc(cap);
    *len = 0;
    size_t got;
    while ((got = fread(*buf + *len, 1, cap - *len - 1, f)) > 0) {
        *len += got;
        if (cap - *len - 1 == 0) *buf = cx_realloc(*buf, cap *= 2);
    }
    (*buf)[*len] = 0;
    if (ferror(f)) return cx_err(EX_IOERR, "%s: read error: %s", name, strerror(errno));
    return 0;
}

/* A CSV or TSV text in memory into t. */
static int read_text(char *buf, size_t len, cx_selection *sel, cx_run_table *t) {
    if (len == 0) return cx_err(EX_DATAERR, "%s: empty input", t->name);
    if (strlen(buf) != len) return cx_err(EX_DATAERR, "%s: a NUL byte in a text table", t->name);
    const char *eol = strchr(buf, '\n');
    bool tabs = memchr(buf, '\t', eol ? (size_t)(eol - buf) : len) != NULL;
    return tabs ? read_tsv(buf, sel, t) : read_csv(buf, len, sel, t);
}

int cx_run_table_read(const char *path, cx_selection *sel, cx_run_table *t) {
    *t = (cx_run_table){.name = cx_strdup(strcmp(path, "-") ? path : "standard input")};
    FILE *f;
    if (strcmp(path, "-")) {
        f = fopen(path, "rb");
        if (!f) return cx_err(EX_NOINPUT, "%s: cannot open: %s", path, strerror(errno));
    } else {
        /* standard input may be a stream, read by descriptor, or text: keep a copy to read either way */
        int fd = cx_spool_fd(STDIN_FILENO, t->name);
        if (fd < 0) return cx_errcode();
        f = fdopen(fd, "rb");
        if (!f) {
            close(fd);
            return cx_err(EX_OSERR, "%s: fdopen: %s", t->name, strerror(errno));
        }
    }
    int first = getc(f);
    if (opens_stream(first)) {
        /* a stream is read record by record, never whole (the copy of standard input from its start) */
        cx_reader *in = NULL;
        if (strcmp(path, "-")) in = cx_reader_open(path);
        else if (lseek(fileno(f), 0, SEEK_SET) == 0) in = cx_reader_open_fd(fileno(f), t->name);
        else cx_err(EX_IOERR, "%s: cannot seek the temporary copy: %s", t->name, strerror(errno));
        int rc = in ? read_stream(in, sel, t) : cx_errcode();
        fclose(f);
        return rc;
    }
    if (first != EOF) ungetc(first, f);
    char *buf;
    size_t len;
    int rc = read_all(f, t->name, &buf, &len);
    fclose(f);
    if (!rc) rc = read_text(buf, len, sel, t);
    free(buf);
    return rc;
}

void cx_run_table_free(cx_run_table *t) {
    for (size_t i = 0; i < t->n; i++) {
        cx_value_free(&t->runs[i].meta);
        free(t->runs[i].where);
    }
    free(t->runs);
    free(t->name);
    *t = (cx_run_table){0};
}

/* ---------------------------------------------------------------- answering */

typedef struct {
    const cx_run *run;
    char *key;        /* "backbone=resnet18,protocol=cv"; NULL without pairing */
    bool has_value;
    bool paired;
    double value;
} side_row;

/* The column's value of a run: 1 and *out, 0 when absent or null, -1 (recorded) when it is not
 * a finite number. */
static int run_value(const cx_run_table *t, const cx_run *run, const char *column, double *out) {
    const cx_value *v = cx_map_get(&run->meta, column);
    if (!v || v->kind == CX_NIL) return 0;
    if (!cx_value_number(v, out) || v->kind == CX_BOOL) {
        char *text = cx_value_plain_text(v);
        cx_err(EX_DATAERR, "%s: %s: meta.%s: '%s' is not a number", t->name, run->where, column, text);
        free(text);
        return -1;
    }
    if (!isfinite(*out)) {
        cx_err(EX_DATAERR, "%s: %s: meta.%s: %g is not a finite number", t->name, run->where, column, *out);
        return -1;
    }
    return 1;
}

/* "f1=v1,f2=v2" for the fields of pair_by; NULL (recorded) when one is missing. */
static char *pair_key(const cx_run_table *t, const cx_run *run, const char *pair_by) {
    char *key = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&key, &len);
    const char *p = pair_by;
    bool ok = true;
    while (*p && ok) {
        size_t n = strcspn(p, ",");
        char field[256];
        snprintf(field, sizeof field, "%.*s", (int)n, p);
        const cx_value *v = cx_map_get(&run->meta, field);
        if (!v || v->kind == CX_NIL) {
            cx_err(EX_DATAERR, "%s: %s: meta.%s: missing (a --pair-by field)", t->name, run->where, field);
            ok = false;
        } else {
            fprintf(f, "%s%s=", p == pair_by ? "" : ",", field);
            cx_value_write_plain(f, v);
        }
        p += n + (p[n] == ',');
    }
    fclose(f);
    if (!ok) {
        free(key);
        return NULL;
    }
    return key;
}

static void free_side(side_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) free(rows[i].key);
    free(rows);
}

/* The rows of one side (field reads value), with their keys and values. */
static int gather_side(const cx_run_table *t, const cx_question *q, const char *value, side_row **out, size_t *nout) {
    side_row *rows = cx_calloc(t->n ? t->n : 1, sizeof *rows);
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < t->n && !rc; i++) {
        const cx_value *v = cx_map_get(&t->runs[i].meta, q->field);
        if (!v || v->kind == CX_NIL) continue;
        char *text = cx_value_plain_text(v);
        bool mine = !strcmp(text, value);
        free(text);
        if (!mine) continue;
        side_row *row = &rows[n++];
        row->run = &t->runs[i];
        int got = run_value(t, row->run, q->column, &row->value);
        if (got < 0) rc = EX_DATAERR;
        row->has_value = got == 1;
        if (!rc && q->pair_by && !(row->key = pair_key(t, row->run, q->pair_by))) rc = EX_DATAERR;
        for (size_t e = 0; e + 1 < n && !rc && q->pair_by; e++)
            if (!strcmp(rows[e].key, row->key))
                rc = cx_err(EX_DATAERR, "%s: %s and %s both have %s=%s and %s (narrow the rows with --where)", t->name,
                            rows[e].run->where, row->run->where, q->field, value, row->key);
    }
    if (!rc && n == 0) rc = cx_err(EX_DATAERR, "%s: no row has %s=%s", t->name, q->field, value);
    if (rc) {
        free_side(rows, n);
        return rc;
    }
    *out = rows;
    *nout = n;
    return 0;
}

/* A key or row that cannot take part: dropped (and listed) or an error. */
static int unpaired(const cx_run_table *t, const cx_question *q, cx_answer *ans, char *why) {
    if (!q->drop_unpaired) {
        int rc = cx_err(EX_DATAERR, "%s: %s (--drop-unpaired drops it)", t->name, why);
        free(why);
        return rc;
    }
    ans->dropped = cx_realloc(ans->dropped, (ans->ndropped + 1) * sizeof *ans->dropped);
    ans->dropped[ans->ndropped++] = why;
    return 0;
}

/* Fill a[], b[] with the pairs, in the order of side a. */
static int make_pairs(const cx_run_table *t, const cx_question *q, side_row *ra, size_t na, side_row *rb, size_t nb,
                      double *a, double *b, int64_t *n, cx_answer *ans) {
    *n = 0;
    for (size_t i = 0; i < na; i++) {
        side_row *match = NULL;
        for (size_t j = 0; j < nb && !match; j++)
            if (!strcmp(ra[i].key, rb[j].key)) match = &rb[j];
        int rc = 0;
        if (match) match->paired = true;
        if (!match)
            rc = unpaired(t, q, ans, format_text("%s: %s=%s has a row (%s), %s=%s has none", ra[i].key, q->field, q->a,
                                                 ra[i].run->where, q->field, q->b));
        else if (!ra[i].has_value || !match->has_value) {
            side_row *lacking = ra[i].has_value ? match : &ra[i];
            rc = unpaired(t, q, ans, format_text("%s: %s=%s (%s) has no %s", ra[i].key, q->field,
                                                 lacking == match ? q->b : q->a, lacking->run->where, q->column));
        } else {
            a[*n] = ra[i].value;
            b[*n] = match->value;
            (*n)++;
        }
        if (rc) return rc;
    }
    for (size_t j = 0; j < nb; j++) {
        if (rb[j].paired) continue;
        int rc = unpaired(t, q, ans, format_text("%s: %s=%s has a row (%s), %s=%s has none", rb[j].key, q->field, q->b,
                                                 rb[j].run->where, q->field, q->a));
        if (rc) return rc;
    }
    return 0;
}

/* Fill v[] with the values of one side (independent samples). */
static int side_values(const cx_run_table *t, const cx_question *q, const char *value, side_row *rows, size_t n,
                       double *v, int64_t *nv, cx_answer *ans) {
    *nv = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].has_value) {
            v[(*nv)++] = rows[i].value;
            continue;
        }
        int rc = unpaired(t, q, ans, format_text("%s=%s (%s) has no %s", q->field, value, rows[i].run->where, q->column));
        if (rc) return rc;
    }
    return 0;
}

int cx_answer_question(const cx_run_table *t, const cx_question *q, cx_answer *ans) {
    *ans = (cx_answer){.q = *q};
    bool paired_test = q->test == CX_TEST_PAIRED || q->test == CX_TEST_WILCOXON;
    if (paired_test && !q->pair_by)
        return cx_err(EX_USAGE, "the %s test needs pairs: name the key fields with --pair-by", cx_test_name(q->test));
    side_row *ra, *rb;
    size_t na, nb;
    int rc = gather_side(t, q, q->a, &ra, &na);
    if (rc) return rc;
    if ((rc = gather_side(t, q, q->b, &rb, &nb))) {
        free_side(ra, na);
        return rc;
    }
    double *a = cx_malloc((na + 1) * sizeof *a), *b = cx_malloc((nb + 1) * sizeof *b);
    int64_t n_a = 0, n_b = 0;
    if (q->pair_by) {
        rc = make_pairs(t, q, ra, na, rb, nb, a, b, &n_a, ans);
        n_b = n_a;
    } else {
        rc = side_values(t, q, q->a, ra, na, a, &n_a, ans);
        if (!rc) rc = side_values(t, q, q->b, rb, nb, b, &n_b, ans);
    }
    if (!rc && (n_a < 2 || n_b < 2)) {
        if (q->pair_by)
            rc = cx_err(EX_DATAERR, "%s: %s: %lld pair%s of %s=%s and %s=%s by %s: a test needs at least 2", t->name,
                        q->column, (long long)n_a, n_a == 1 ? "" : "s", q->field, q->a, q->field, q->b, q->pair_by);
        else
            rc = cx_err(EX_DATAERR, "%s: %s: %lld value%s with %s=%s: a test needs at least 2 per side", t->name, q->column,
                        (long long)(n_a < 2 ? n_a : n_b), (n_a < 2 ? n_a : n_b) == 1 ? "" : "s", q->field,
                        n_a < 2 ? q->a : q->b);
    }
    if (!rc && cx_test_run(q->test, a, n_a, b, n_b, q->alternative, q->confidence, &ans->r))
        rc = cx_err_prefix("%s: %s, %s=%s vs %s", t->name, q->column, q->field, q->a, q->b);
    free(a);
    free(b);
    free_side(ra, na);
    free_side(rb, nb);
    return rc;
}

void cx_answer_free(cx_answer *ans) {
    for (size_t i = 0; i < ans->ndropped; i++) free(ans->dropped[i]);
    free(ans->dropped);
    ans->dropped = NULL;
    ans->ndropped = 0;
}

/* ---------------------------------------------------------------- writing */

/* Full precision; inf and -inf; nothing for an undefined value. */
static void put_number(FILE *f, double x) {
    if (isnan(x)) return;
    if (isinf(x)) fputs(x > 0 ? "inf" : "-inf", f);
    else fprintf(f, "%.15g", x);
}

static const char *method_name(const cx_test_result *r) {
    if (r->test != CX_TEST_WILCOXON) return "t";
    return r->exact ? "exact" : "normal";
}

void cx_answers_write_tsv(FILE *f, const cx_answer *ans, size_t n) {
    fputs("column\tfield\ta\tb\ttest\talternative\tpair_by\tn_a\tn_b\tmean_a\tmean_b\tmean_diff\tconfidence\t"
          "ci_lo\tci_hi\tstatistic\tdf\tp\tstars\td\tmethod\tnote\n", f);
    for (size_t i = 0; i < n; i++) {
        const cx_question *q = &ans[i].q;
        const cx_test_result *r = &ans[i].r;
        fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%lld\t%lld", q->column, q->field, q->a, q->b, cx_test_name(r->test),
                cx_alternative_name(r->alternative), q->pair_by ? q->pair_by : "", (long long)r->n_a, (long long)r->n_b);
        const double numbers[] = {r->mean_a, r->mean_b, r->mean_diff, r->confidence, r->ci_lo,
                                  r->ci_hi,  r->statistic, r->df,     r->p};
        for (size_t k = 0; k < sizeof numbers / sizeof *numbers; k++) {
            fputc('\t', f);
            put_number(f, numbers[k]);
        }
        fprintf(f, "\t%s\t", cx_stars(r->p));
        put_number(f, r->cohen_d);
        fprintf(f, "\t%s\t%s\n", method_name(r), r->note ? r->note : "");
    }
}

static const char *test_title(cx_test_kind test) {
    static const char *const titles[] = {"paired t-test", "Welch's t-test", "Student's t-test",
                                         "Wilcoxon signed-rank test"};
    return titles[test];
}

void cx_answers_write_markdown(FILE *f, const cx_answer *ans, size_t n) {
    int nrows = 0, ncols = 0;
    for (size_t i = 0; i < n; i++) {
        if (ans[i].q.row + 1 > nrows) nrows = ans[i].q.row + 1;
        if (ans[i].q.col + 1 > ncols) ncols = ans[i].q.col + 1;
    }
    /* header: the columns met at each position, "acc_mean / acc_std" */
    fputs("| test | H1 | comparison |", f);
    for (int c = 0; c < ncols; c++) {
        fputc(' ', f);
        size_t shown = 0;
        for (size_t i = 0; i < n; i++) {
            if (ans[i].q.col != c) continue;
            bool seen = false;
            for (size_t e = 0; e < i && !seen; e++) seen = ans[e].q.col == c && !strcmp(ans[e].q.column, ans[i].q.column);
            if (!seen) fprintf(f, "%s%s", shown++ ? " / " : "", ans[i].q.column);
        }
        fputs(" |", f);
    }
    fputs("\n|---|---|---|", f);
    for (int c = 0; c < ncols; c++) fputs("---|", f);
    fputc('\n', f);
    for (int row = 0; row < nrows; row++) {
        const cx_answer *first = NULL;
        for (size_t i = 0; i < n && !first; i++)
            if (ans[i].q.row == row) first = &ans[i];
        if (!first) continue;
        fprintf(f, "| %s | %s | %s vs %s |", cx_test_name(first->q.test), cx_alternative_name(first->q.alternative),
                first->q.a, first->q.b);
        for (int c = 0; c < ncols; c++) {
            const cx_answer *cell = NULL;
            for (size_t i = 0; i < n && !cell; i++)
                if (ans[i].q.row == row && ans[i].q.col == c) cell = &ans[i];
            if (!cell) fputs(" |", f);
            else if (isnan(cell->r.p)) fputs(" undefined |", f);
            else fprintf(f, " %.2g%s%s |", cell->r.p, *cx_stars(cell->r.p) ? " " : "", cx_stars(cell->r.p));
        }
        fputc('\n', f);
    }
    /* what the cells are */
    int64_t lo = INT64_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (ans[i].r.n_a < lo) lo = ans[i].r.n_a;
        if (ans[i].r.n_a > hi) hi = ans[i].r.n_a;
    }
    if (n) {
        fprintf(f, "\nEach cell: the p-value of the row's test on that column, a and b the two values of %s in the row",
                ans[0].q.field);
        if (ans[0].q.pair_by) fprintf(f, ", paired by %s", ans[0].q.pair_by);
        if (lo == hi) fprintf(f, ", n = %lld", (long long)lo);
        else fprintf(f, ", n = %lld to %lld", (long long)lo, (long long)hi);
        fputs("; * p < 0.05, ** p < 0.01, *** p < 0.001.\n", f);
    }
    for (size_t i = 0; i < n; i++)
        if (ans[i].r.note)
            fprintf(f, "\n%s, %s vs %s (%s): %s.\n", ans[i].q.column, ans[i].q.a, ans[i].q.b, test_title(ans[i].q.test),
                    ans[i].r.note);
}

/* "%.6g", inf, -inf, or "undefined" */
static void put_short(FILE *f, double x) {
    if (isnan(x)) fputs("undefined", f);
    else if (isinf(x)) fputs(x > 0 ? "inf" : "-inf", f);
    else fprintf(f, "%.6g", x);
}

void cx_answers_write_text(FILE *f, const cx_answer *ans, size_t n) {
    static const char *const h1[] = {"a != b", "a > b", "a < b"};
    for (size_t i = 0; i < n; i++) {
        const cx_question *q = &ans[i].q;
        const cx_test_result *r = &ans[i].r;
        bool paired = q->test == CX_TEST_PAIRED || q->test == CX_TEST_WILCOXON;
        if (i) fputc('\n', f);
        fprintf(f, "%s: a = %s=%s, b = %s=%s; %s", q->column, q->field, q->a, q->field, q->b, test_title(q->test));
        if (q->pair_by) fprintf(f, ", pairs by %s", q->pair_by);
        fprintf(f, "; H1: %s\n", h1[r->alternative]);
        if (paired) fprintf(f, "  n = %lld pairs", (long long)r->n_a);
        else fprintf(f, "  n = %lld and %lld", (long long)r->n_a, (long long)r->n_b);
        fputs("; mean a = ", f);
        put_short(f, r->mean_a);
        fputs(", mean b = ", f);
        put_short(f, r->mean_b);
        fputs("\n  mean difference a - b = ", f);
        put_short(f, r->mean_diff);
        fprintf(f, ", %g%% CI [", 100 * r->confidence);
        put_short(f, r->ci_lo);
        fputs(", ", f);
        put_short(f, r->ci_hi);
        fputs("]\n  ", f);
        if (q->test == CX_TEST_WILCOXON) {
            fputs("W = ", f);
            put_short(f, r->statistic);
            fprintf(f, " (%lld non-zero differences)", (long long)r->n_ranked);
        } else {
            fputs("t = ", f);
            put_short(f, r->statistic);
            fputs(", df = ", f);
            put_short(f, r->df);
        }
        fputs(", p = ", f);
        put_short(f, r->p);
        fprintf(f, "%s%s", *cx_stars(r->p) ? " " : "", cx_stars(r->p));
        if (q->test == CX_TEST_WILCOXON) {
            if (r->exact) fputs(" (exact)", f);
            else if (!isnan(r->z)) {
                fputs(" (normal approximation, z = ", f);
                put_short(f, r->z);
                fputc(')', f);
            }
        }
        fputs("\n  Cohen's d = ", f);
        put_short(f, r->cohen_d);
        fputs(paired ? " (mean difference / sd of the differences)\n" : " (mean difference / pooled sd)\n", f);
        if (r->note) fprintf(f, "  note: %s\n", r->note);
    }
}
