#include "features/features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* ------------------------------------------------------------------ a string table */

/* Open addressing on FNV-1a: distinct strings with a count and the last document that
 * counted (document frequencies count a term once per document). */
typedef struct {
    char **keys;
    int64_t *count, *last_doc;
    size_t n, cap;
} string_table;

uint64_t cx_fnv1a64(const char *s) {
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void table_free(string_table *t) {
    for (size_t i = 0; i < t->cap; i++) free(t->keys[i]);
    free(t->keys);
    free(t->count);
    free(t->last_doc);
    memset(t, 0, sizeof *t);
}

static size_t table_slot(const string_table *t, const char *key) {
    size_t i = cx_fnv1a64(key) & (t->cap - 1);
    while (t->keys[i] && strcmp(t->keys[i], key)) i = (i + 1) & (t->cap - 1);
    return i;
}

static void table_grow(string_table *t) {
    string_table old = *t;
    t->cap = old.cap ? 2 * old.cap : 64;
    t->keys = cx_calloc(t->cap, sizeof *t->keys);
    t->count = cx_calloc(t->cap, sizeof *t->count);
    t->last_doc = cx_calloc(t->cap, sizeof *t->last_doc);
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i]) {
            size_t j = table_slot(t, old.keys[i]);
            t->keys[j] = old.keys[i];
            t->count[j] = old.count[i];
            t->last_doc[j] = old.last_doc[i];
        }
    free(old.keys);
    free(old.count);
    free(old.last_doc);
}

/* The slot of key, inserted (count 0, last_doc -1) when new. */
static size_t table_add(string_table *t, const char *key) {
    if (2 * (t->n + 1) > t->cap) table_grow(t);
    size_t i = table_slot(t, key);
    if (!t->keys[i]) {
        t->keys[i] = cx_strdup(key);
        t->last_doc[i] = -1;
        t->n++;
    }
    return i;
}

static int by_string(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct { char *key; int64_t count; } keyed_count;

static int by_key(const void *a, const void *b) { return strcmp(((const keyed_count *)a)->key, ((const keyed_count *)b)->key); }

/* The keys, sorted bytewise, moved out of the table (which is left empty), and their counts
 * when counts is not NULL (malloc'd). */
static char **table_sorted_keys(string_table *t, int64_t **counts) {
    keyed_count *all = cx_malloc((t->n ? t->n : 1) * sizeof *all);
    size_t k = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->keys[i]) {
            all[k].key = t->keys[i];
            all[k++].count = t->count[i];
            t->keys[i] = NULL;
        }
    qsort(all, k, sizeof *all, by_key);
    char **keys = cx_malloc((k ? k : 1) * sizeof *keys);
    if (counts) *counts = cx_malloc((k ? k : 1) * sizeof **counts);
    for (size_t i = 0; i < k; i++) {
        keys[i] = all[i].key;
        if (counts) (*counts)[i] = all[i].count;
    }
    free(all);
    table_free(t);
    return keys;
}

/* ------------------------------------------------------------------ the featuriser */

typedef enum { FIELD_NUMERIC, FIELD_CATEGORICAL } field_type;

typedef struct {
    char *name;
    field_type type;
    double mean, std;          /* numeric */
    char **levels;             /* categorical, sorted */
    int64_t nlevels;
    int64_t present, missing;  /* training counts */
    /* fitting */
    double sumsq_dev;          /* Welford: the running mean is `mean`; the sum of squared deviations */
    bool saw_string;
    string_table seen;         /* the text of every present value */
} field;

struct cx_features {
    field *fields;
    int nfields;
    int64_t tab_width;
    char **columns;
    char *text_field;
    int text_dim;              /* H > 0 hashing; 0 vocabulary mode before the fit */
    bool vocabulary_mode;
    char **vocabulary;         /* vocabulary mode, sorted */
    int64_t text_width, n_docs;
    double *idf;               /* [text_width] */
    int64_t *df;               /* hashing mode while fitting: [H] */
    string_table terms;        /* vocabulary mode while fitting */
    bool fitted;
    cx_value header;           /* of a loaded set */
};

static cx_features *features_alloc(void) {
    cx_features *f = cx_calloc(1, sizeof *f);
    f->header = cx_nil();
    return f;
}

cx_features *cx_features_new(const char *tabular, const char *text_field, int text_dim) {
    if ((!tabular || !*tabular) && (!text_field || !*text_field)) {
        cx_err(EX_USAGE, "features: no tabular field and no text field");
        return NULL;
    }
    if (text_dim < 0) {
        cx_err(EX_USAGE, "features: text width %d", text_dim);
        return NULL;
    }
    cx_features *f = features_alloc();
    if (tabular && *tabular) {
        char *list = cx_strdup(tabular), *save = NULL;
        f->fields = cx_calloc(CX_FEATURES_MAX_FIELDS, sizeof *f->fields);
        for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
            bool repeated = f->nfields == CX_FEATURES_MAX_FIELDS;
            for (int i = 0; i < f->nfields && !repeated; i++) repeated = !strcmp(f->fields[i].name, name);
            if (repeated) {
                cx_err(EX_USAGE, "features: tabular field %s named twice (or more than %d fields)", name,
                       CX_FEATURES_MAX_FIELDS);
                free(list);
                cx_features_free(f);
                return NULL;
            }
            f->fields[f->nfields++].name = cx_strdup(name);
        }
        free(list);
    }
    if (text_field && *text_field) {
        f->text_field = cx_strdup(text_field);
        f->text_dim = text_dim;
        f->vocabulary_mode = text_dim == 0;
        if (!f->vocabulary_mode) f->df = cx_calloc((size_t)text_dim, sizeof *f->df);
    }
    return f;
}

void cx_features_free(cx_features *f) {
    if (!f) return;
    for (int i = 0; i < f->nfields; i++) {
        free(f->fields[i].name);
        for (int64_t k = 0; k < f->fields[i].nlevels; k++) free(f->fields[i].levels[k]);
        free(f->fields[i].levels);
        table_free(&f->fields[i].seen);
    }
    free(f->fields);
    for (int64_t i = 0; i < f->tab_width && f->columns; i++) free(f->columns[i]);
    free(f->columns);
    free(f->text_field);
    for (int64_t i = 0; f->vocabulary && i < f->text_width; i++) free(f->vocabulary[i]);
    free(f->vocabulary);
    free(f->idf);
    free(f->df);
    table_free(&f->terms);
    cx_value_free(&f->header);
    free(f);
}

/* ------------------------------------------------------------------ text */

void cx_text_terms(const char *note, void (*fn)(const char *term, void *ctx), void *ctx) {
    size_t len = strlen(note);
    char *token = cx_malloc(len + 1), *pair = cx_malloc(2 * len + 2);
    size_t prev_len = 0;   /* the previous token, kept at the front of `pair` */
    for (const char *p = note; *p;) {
        size_t n = 0;
        for (; *p; p++) {
            char c = *p;
            if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) break;
            token[n++] = c;
        }
        if (!n) {
            p++;
            continue;
        }
        token[n] = 0;
        fn(token, ctx);
        if (prev_len) {
            pair[prev_len] = ' ';
            memcpy(pair + prev_len + 1, token, n + 1);
            fn(pair, ctx);
        }
        memcpy(pair, token, n + 1);
        prev_len = n;
    }
    free(token);
    free(pair);
}

typedef struct {
    const cx_features *f;
    double *counts;            /* [text_width] */
    string_table *df_terms;    /* vocabulary fitting: count document frequencies here */
    int64_t doc;
} term_ctx;

static void count_term(const char *term, void *ctx) {
    term_ctx *c = ctx;
    const cx_features *f = c->f;
    if (c->df_terms) {
        size_t i = table_add(c->df_terms, term);
        if (c->df_terms->last_doc[i] != c->doc) {
            c->df_terms->count[i]++;
            c->df_terms->last_doc[i] = c->doc;
        }
        return;
    }
    if (!f->vocabulary_mode) {
        c->counts[cx_fnv1a64(term) % (uint64_t)f->text_dim] += 1;
        return;
    }
    char *const *hit = bsearch(&term, f->vocabulary, (size_t)f->text_width, sizeof *f->vocabulary, by_string);
    if (hit) c->counts[hit - f->vocabulary] += 1;
}

void cx_features_text(const cx_features *f, const char *note, float *out) {
    int64_t h = f->text_width;
    double *counts = cx_calloc((size_t)(h ? h : 1), sizeof *counts);
    if (note) {
        term_ctx c = {f, counts, NULL, 0};
        cx_text_terms(note, count_term, &c);
    }
    double norm = 0;
    for (int64_t i = 0; i < h; i++) {
        counts[i] = counts[i] > 0 ? (1 + log(counts[i])) * f->idf[i] : 0;
        norm += counts[i] * counts[i];
    }
    norm = norm > 0 ? 1 / sqrt(norm) : 0;
    for (int64_t i = 0; i < h; i++) out[i] = (float)(counts[i] * norm);
    free(counts);
}

/* The note of a record: NULL when missing; EX_DATAERR when it is not a string. */
static int note_of(const cx_features *f, const cx_record *rec, const char **note) {
    const cx_value *v = cx_map_get(&rec->meta, f->text_field);
    *note = NULL;
    if (!v || v->kind == CX_NIL) return 0;
    if (v->kind != CX_STR) return cx_err(EX_DATAERR, "meta.%s: a note must be a string", f->text_field);
    *note = v->u.s;
    return 0;
}

/* ------------------------------------------------------------------ fitting */

/* A field's value: 0 missing, 1 a number (*x), 2 a string that is not a number. */
static int field_value(const cx_record *rec, const char *name, double *x, const cx_value **v) {
    *v = cx_map_get(&rec->meta, name);
    if (!*v || (*v)->kind == CX_NIL) return 0;
    if (cx_value_number(*v, x)) return isnan(*x) ? 0 : 1;
    return (*v)->kind == CX_STR ? 2 : -1;
}

int cx_features_fit_add(cx_features *f, const cx_record *rec) {
    if (f->fitted) return cx_err(EX_SOFTWARE, "features: fit_add after the fit was finished");
    for (int i = 0; i < f->nfields; i++) {
        field *fd = &f->fields[i];
        double x;
        const cx_value *v;
        int kind = field_value(rec, fd->name, &x, &v);
        if (kind < 0) return cx_err(EX_DATAERR, "meta.%s: neither a number nor a string", fd->name);
        if (kind == 0) {
            fd->missing++;
            continue;
        }
        fd->present++;
        if (kind == 1) {   /* Welford, so that large values do not lose the variance */
            double delta = x - fd->mean;
            fd->mean += delta / (double)fd->present;
            fd->sumsq_dev += delta * (x - fd->mean);
        } else {
            fd->saw_string = true;
        }
        char *text = cx_value_plain_text(v);
        table_add(&fd->seen, text);
        free(text);
    }
    if (f->text_field) {
        const char *note;
        if (note_of(f, rec, &note)) return cx_errcode();
        if (!note) return 0;
        if (f->vocabulary_mode) {
            term_ctx c = {f, NULL, &f->terms, f->n_docs};
            cx_text_terms(note, count_term, &c);
        } else {
            f->text_width = f->text_dim;
            double *counts = cx_calloc((size_t)f->text_dim, sizeof *counts);
            term_ctx c = {f, counts, NULL, 0};
            cx_text_terms(note, count_term, &c);
            for (int k = 0; k < f->text_dim; k++) f->df[k] += counts[k] > 0;
            free(counts);
        }
        f->n_docs++;
    }
    return 0;
}

/* Column names and the tabular width from the fitted fields. */
static void make_columns(cx_features *f) {
    f->tab_width = 0;
    for (int i = 0; i < f->nfields; i++)
        f->tab_width += f->fields[i].type == FIELD_NUMERIC ? 2 : f->fields[i].nlevels + 1;
    f->columns = cx_malloc((size_t)(f->tab_width ? f->tab_width : 1) * sizeof *f->columns);
    int64_t k = 0;
    for (int i = 0; i < f->nfields; i++) {
        const field *fd = &f->fields[i];
        char buf[1024];
        if (fd->type == FIELD_NUMERIC) f->columns[k++] = cx_strdup(fd->name);
        for (int64_t l = 0; fd->type == FIELD_CATEGORICAL && l < fd->nlevels; l++) {
            snprintf(buf, sizeof buf, "%s=%s", fd->name, fd->levels[l]);
            f->columns[k++] = cx_strdup(buf);
        }
        snprintf(buf, sizeof buf, "%s_missing", fd->name);
        f->columns[k++] = cx_strdup(buf);
    }
}

static double smooth_idf(int64_t n_docs, int64_t df) { return log((1.0 + (double)n_docs) / (1.0 + (double)df)) + 1; }

int cx_features_fit_finish(cx_features *f) {
    for (int i = 0; i < f->nfields; i++) {
        field *fd = &f->fields[i];
        if (!fd->present) return cx_err(EX_DATAERR, "meta.%s: no value in the training stream", fd->name);
        if (fd->saw_string) {
            fd->type = FIELD_CATEGORICAL;
            fd->nlevels = (int64_t)fd->seen.n;
            fd->levels = table_sorted_keys(&fd->seen, NULL);
        } else {   /* population std (ddof 0), as sklearn's StandardScaler */
            fd->type = FIELD_NUMERIC;
            fd->std = sqrt(fd->sumsq_dev / (double)fd->present);
            if (!(fd->std > 0)) fd->std = 1;
        }
        table_free(&fd->seen);
    }
    make_columns(f);
    if (f->text_field) {
        if (!f->n_docs) return cx_err(EX_DATAERR, "meta.%s: no note in the training stream", f->text_field);
        int64_t *df = f->df;
        if (f->vocabulary_mode) {
            f->text_width = (int64_t)f->terms.n;
            f->vocabulary = table_sorted_keys(&f->terms, &df);
        } else {
            f->text_width = f->text_dim;
        }
        f->idf = cx_malloc((size_t)(f->text_width ? f->text_width : 1) * sizeof *f->idf);
        for (int64_t k = 0; k < f->text_width; k++) f->idf[k] = smooth_idf(f->n_docs, df[k]);
        if (df != f->df) free(df);
        free(f->df);
        f->df = NULL;
    }
    f->fitted = true;
    return 0;
}

/* ------------------------------------------------------------------ applying */

int64_t cx_features_tabular_width(const cx_features *f) { return f->tab_width; }
int64_t cx_features_text_width(const cx_features *f) { return f->text_field ? f->text_width : 0; }
const char *cx_features_tabular_column(const cx_features *f, int64_t i) {
    return i >= 0 && i < f->tab_width ? f->columns[i] : NULL;
}
const cx_value *cx_features_header(const cx_features *f) { return f->header.kind == CX_MAP ? &f->header : NULL; }

static int tabular(const cx_features *f, const cx_record *rec, float *out) {
    int64_t k = 0;
    for (int i = 0; i < f->nfields; i++) {
        const field *fd = &f->fields[i];
        double x;
        const cx_value *v;
        int kind = field_value(rec, fd->name, &x, &v);
        if (fd->type == FIELD_NUMERIC) {
            if (kind > 1 || kind < 0) return cx_err(EX_DATAERR, "meta.%s: not a number", fd->name);
            out[k++] = kind ? (float)((x - fd->mean) / fd->std) : 0.0f;
        } else {
            if (kind < 0) return cx_err(EX_DATAERR, "meta.%s: neither a number nor a string", fd->name);
            char *text = kind ? cx_value_plain_text(v) : NULL;
            for (int64_t l = 0; l < fd->nlevels; l++) out[k++] = text && !strcmp(text, fd->levels[l]) ? 1.0f : 0.0f;
            free(text);
        }
        out[k++] = kind ? 0.0f : 1.0f;
    }
    return 0;
}

/* Replace tensor `name` of rec with a zeroed f32 [width]. */
static float *fresh_tensor(cx_record *rec, const char *name, int64_t width) {
    cx_record_remove_tensor(rec, name);
    cx_tensor *t = cx_record_add_tensor(rec, name, CX_F32, 1, &width);
    return t ? t->data : NULL;
}

int cx_features_apply(const cx_features *f, cx_record *rec) {
    if (!f->fitted) return cx_err(EX_SOFTWARE, "features: apply before the fit");
    if (f->nfields) {
        float *out = fresh_tensor(rec, "tabular", f->tab_width);
        if (!out || tabular(f, rec, out)) return cx_errcode();
    }
    if (f->text_field) {
        const char *note;
        if (note_of(f, rec, &note)) return cx_errcode();
        float *out = fresh_tensor(rec, "text", f->text_width);
        if (!out) return cx_errcode();
        cx_features_text(f, note, out);
    }
    return 0;
}

/* ------------------------------------------------------------------ the parameter stream */

static cx_value string_array(char *const *s, int64_t n) {
    cx_value a = cx_array();
    for (int64_t i = 0; i < n; i++) cx_array_push(&a, cx_str(s[i]));
    return a;
}

static void tabular_record(const cx_features *f, cx_record *r) {
    cx_record_set_id(r, "tabular");
    cx_value fields = cx_array();
    for (int i = 0; i < f->nfields; i++) {
        const field *fd = &f->fields[i];
        cx_value m = cx_map();
        cx_map_set(&m, "name", cx_str(fd->name));
        cx_map_set(&m, "type", cx_str(fd->type == FIELD_NUMERIC ? "numeric" : "categorical"));
        if (fd->type == FIELD_NUMERIC) {
            cx_map_set(&m, "mean", cx_float(fd->mean));
            cx_map_set(&m, "std", cx_float(fd->std));
        } else {
            cx_map_set(&m, "levels", string_array(fd->levels, fd->nlevels));
        }
        cx_map_set(&m, "present", cx_int(fd->present));
        cx_map_set(&m, "missing", cx_int(fd->missing));
        cx_array_push(&fields, m);
    }
    cx_map_set(&r->meta, "fields", fields);
    cx_map_set(&r->meta, "columns", string_array(f->columns, f->tab_width));
    cx_map_set(&r->meta, "imputation", cx_str("training mean (z = 0) plus a missing indicator"));
}

static int text_record(const cx_features *f, cx_record *r) {
    cx_record_set_id(r, "text");
    cx_map_set(&r->meta, "field", cx_str(f->text_field));
    cx_map_set(&r->meta, "mode", cx_str(f->vocabulary_mode ? "vocabulary" : "hash"));
    cx_map_set(&r->meta, "dim", cx_int(f->text_width));
    cx_map_set(&r->meta, "documents", cx_int(f->n_docs));
    cx_map_set(&r->meta, "tokens", cx_str("ascii-alnum-lower"));
    cx_map_set(&r->meta, "ngrams", cx_int(2));
    cx_map_set(&r->meta, "hash", cx_str("fnv1a64"));
    if (f->vocabulary_mode) cx_map_set(&r->meta, "vocabulary", string_array(f->vocabulary, f->text_width));
    int64_t width = f->text_width;
    cx_tensor *idf = cx_record_add_tensor(r, "idf", CX_F64, 1, &width);
    if (!idf) return cx_errcode();
    memcpy(idf->data, f->idf, (size_t)width * sizeof(double));
    return 0;
}

int cx_features_save(const cx_features *f, const char *path, const cx_value *input_header) {
    if (!f->fitted) return cx_err(EX_SOFTWARE, "features: save before the fit");
    cx_value header = cx_header_new(CX_FEATURES_KIND);
    if (input_header) cx_header_add_input(&header, input_header);
    cx_writer *w = cx_writer_open(path, &header);
    cx_value_free(&header);
    if (!w) return cx_errcode();
    cx_record r;
    cx_record_init(&r);
    int rc = 0;
    if (f->nfields) {
        tabular_record(f, &r);
        rc = cx_writer_put(w, &r);
        cx_record_free(&r);
    }
    if (!rc && f->text_field) {
        rc = text_record(f, &r);
        if (!rc) rc = cx_writer_put(w, &r);
        cx_record_free(&r);
    }
    if (rc) {
        cx_writer_abort(w);
        return rc;
    }
    return cx_writer_close(w);
}

/* An array of strings (count in *n, copied out); NULL with EX_DATAERR when it is not one. */
static char **strings_from(const cx_value *a, const char *what, int64_t *n) {
    if (!a || a->kind != CX_ARRAY) {
        cx_err(EX_DATAERR, "%s: not an array", what);
        return NULL;
    }
    char **s = cx_malloc((a->u.arr.n ? a->u.arr.n : 1) * sizeof *s);
    for (size_t i = 0; i < a->u.arr.n; i++) {
        if (a->u.arr.items[i].kind != CX_STR || (i > 0 && strcmp(a->u.arr.items[i - 1].u.s, a->u.arr.items[i].u.s) >= 0)) {
            for (size_t k = 0; k < i; k++) free(s[k]);
            free(s);
            cx_err(EX_DATAERR, "%s[%zu]: not a string in sorted order", what, i);
            return NULL;
        }
        s[i] = cx_strdup(a->u.arr.items[i].u.s);
    }
    *n = (int64_t)a->u.arr.n;
    return s;
}

static int load_tabular(cx_features *f, const cx_record *r) {
    const cx_value *fields = cx_map_get(&r->meta, "fields");
    if (!fields || fields->kind != CX_ARRAY || fields->u.arr.n < 1 || fields->u.arr.n > CX_FEATURES_MAX_FIELDS)
        return cx_err(EX_DATAERR, "record tabular: meta.fields is not an array of 1..%d fields", CX_FEATURES_MAX_FIELDS);
    f->fields = cx_calloc(fields->u.arr.n, sizeof *f->fields);
    for (size_t i = 0; i < fields->u.arr.n; i++) {
        const cx_value *m = &fields->u.arr.items[i];
        field *fd = &f->fields[f->nfields++];
        const char *name = cx_map_str(m, "name", NULL), *type = cx_map_str(m, "type", "");
        if (!name) return cx_err(EX_DATAERR, "record tabular: fields[%zu]: no name", i);
        fd->name = cx_strdup(name);
        double present = 0, missing = 0;   /* training counts, for the record only */
        cx_value_number(cx_map_get(m, "present"), &present);
        cx_value_number(cx_map_get(m, "missing"), &missing);
        fd->present = (int64_t)present;
        fd->missing = (int64_t)missing;
        if (!strcmp(type, "numeric")) {
            fd->type = FIELD_NUMERIC;
            if (!cx_value_number(cx_map_get(m, "mean"), &fd->mean) || !cx_value_number(cx_map_get(m, "std"), &fd->std) ||
                !isfinite(fd->mean) || !(fd->std > 0))
                return cx_err(EX_DATAERR, "record tabular: field %s: mean and std (> 0) wanted", name);
        } else if (!strcmp(type, "categorical")) {
            fd->type = FIELD_CATEGORICAL;
            fd->levels = strings_from(cx_map_get(m, "levels"), "record tabular: levels", &fd->nlevels);
            if (!fd->levels) return cx_errcode();
        } else {
            return cx_err(EX_DATAERR, "record tabular: field %s: type \"%s\" (numeric or categorical)", name, type);
        }
    }
    make_columns(f);
    return 0;
}

static int load_text(cx_features *f, const cx_record *r) {
    const char *field_name = cx_map_str(&r->meta, "field", NULL), *mode = cx_map_str(&r->meta, "mode", "");
    const cx_tensor *idf = cx_record_tensor(r, "idf");
    double docs = 0;
    cx_value_number(cx_map_get(&r->meta, "documents"), &docs);
    if (!field_name) return cx_err(EX_DATAERR, "record text: no meta.field");
    if (!idf || idf->dtype != CX_F64 || idf->ndim != 1 || idf->shape[0] < 1)
        return cx_err(EX_DATAERR, "record text: tensor idf is not f64 [dim]");
    f->text_field = cx_strdup(field_name);
    f->text_width = idf->shape[0];
    f->n_docs = (int64_t)docs;
    if (!strcmp(mode, "vocabulary")) {
        int64_t n = 0;
        f->vocabulary_mode = true;
        f->vocabulary = strings_from(cx_map_get(&r->meta, "vocabulary"), "record text: vocabulary", &n);
        if (!f->vocabulary) return cx_errcode();
        if (n != f->text_width) {
            for (int64_t i = 0; i < n; i++) free(f->vocabulary[i]);
            free(f->vocabulary);
            f->vocabulary = NULL;
            return cx_err(EX_DATAERR, "record text: %lld vocabulary terms for %lld idf values", (long long)n,
                          (long long)f->text_width);
        }
    } else if (!strcmp(mode, "hash")) {
        if (f->text_width > INT32_MAX) return cx_err(EX_DATAERR, "record text: dim too large");
        f->text_dim = (int)f->text_width;
    } else {
        return cx_err(EX_DATAERR, "record text: mode \"%s\" (hash or vocabulary)", mode);
    }
    f->idf = cx_malloc((size_t)f->text_width * sizeof *f->idf);
    memcpy(f->idf, idf->data, (size_t)f->text_width * sizeof *f->idf);
    for (int64_t i = 0; i < f->text_width; i++)
        if (!isfinite(f->idf[i])) return cx_err(EX_DATAERR, "record text: idf[%lld] is not finite", (long long)i);
    return 0;
}

cx_features *cx_features_load(const char *path) {
    cx_reader *in = cx_reader_open(path);
    if (!in) return NULL;
    cx_features *f = features_alloc();
    int rc = 0;
    const char *kind = cx_header_kind(cx_reader_header(in));
    if (!kind || strcmp(kind, CX_FEATURES_KIND))
        rc = cx_err(EX_DATAERR, "%s: a stream of kind \"%s\", not \"%s\"", path, kind ? kind : "?", CX_FEATURES_KIND);
    f->header = cx_value_copy(cx_reader_header(in));
    cx_record r;
    cx_record_init(&r);
    while (!rc && (rc = cx_reader_next(in, &r)) == 1) {
        if (!strcmp(r.id, "tabular") && !f->fields) rc = load_tabular(f, &r);
        else if (!strcmp(r.id, "text") && !f->text_field) rc = load_text(f, &r);
        else rc = cx_err(EX_DATAERR, "record %lld: id \"%s\" (tabular or text, once each)", (long long)r.index, r.id);
        if (rc && strncmp(cx_errmsg(), path, strlen(path))) cx_err_prefix("%s", path);
    }
    cx_record_free(&r);
    cx_reader_close(in);
    if (!rc && !f->nfields && !f->text_field) rc = cx_err(EX_DATAERR, "%s: no tabular and no text record", path);
    if (rc < 0) rc = cx_errcode();
    if (rc) {
        cx_features_free(f);
        return NULL;
    }
    f->fitted = true;
    return f;
}
