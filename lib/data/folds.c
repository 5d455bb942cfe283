/* Cross-validation folds: the fold table of a first pass, stratified group k-fold, and
 * leave-one-center-out (folds.h). */
#include "data/folds.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"

/* ---- keysets ---- */

static uint64_t hash_name(const char *s) {   /* FNV-1a */
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void cx_keyset_init(cx_keyset *s) { memset(s, 0, sizeof *s); }

void cx_keyset_free(cx_keyset *s) {
    for (int64_t i = 0; i < s->n; i++) free(s->names[i]);
    free(s->names);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

/* The slot where name is, or the empty slot where it would go. */
static int64_t slot_of(const cx_keyset *s, const char *name) {
    int64_t i = (int64_t)(hash_name(name) & (uint64_t)(s->nslots - 1));
    while (s->slots[i] && strcmp(s->names[s->slots[i] - 1], name)) i = (i + 1) & (s->nslots - 1);
    return i;
}

int64_t cx_keyset_find(const cx_keyset *s, const char *name) {
    if (!s->nslots) return -1;
    return s->slots[slot_of(s, name)] - 1;
}

int64_t cx_keyset_add(cx_keyset *s, const char *name) {
    if (2 * (s->n + 1) > s->nslots) {   /* keep the table at most half full */
        int64_t nslots = s->nslots ? 2 * s->nslots : 64;
        free(s->slots);
        s->slots = cx_calloc((size_t)nslots, sizeof *s->slots);
        s->nslots = nslots;
        for (int64_t k = 0; k < s->n; k++) s->slots[slot_of(s, s->names[k])] = k + 1;
    }
    int64_t slot = slot_of(s, name);
    if (s->slots[slot]) return s->slots[slot] - 1;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->names = cx_realloc(s->names, (size_t)s->cap * sizeof *s->names);
    }
    s->names[s->n] = cx_strdup(name);
    s->slots[slot] = ++s->n;
    return s->n - 1;
}

/* ---- the fold table ---- */

void cx_fold_table_init(cx_fold_table *t, const cx_fold_spec *spec) {
    memset(t, 0, sizeof *t);
    t->spec = *spec;
    cx_keyset_init(&t->groups);
    cx_keyset_init(&t->classes);
    cx_keyset_init(&t->centers);
}

void cx_fold_table_free(cx_fold_table *t) {
    cx_keyset_free(&t->groups);
    cx_keyset_free(&t->classes);
    cx_keyset_free(&t->centers);
    free(t->record_group);
    free(t->record_class);
    free(t->group_center);
    memset(t, 0, sizeof *t);
}

static bool present(const cx_value *v) { return v && v->kind != CX_NIL; }

/* The class key: each stratification field's value in JSON (absent: null), joined by ','. */
static char *class_key(const cx_value *meta, const char *fields) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) cx_fatal(EX_OSERR, "out of memory");
    if (fields) {
        char *list = cx_strdup(fields), *save = NULL;
        int n = 0;
        for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
            if (n++) fputc(',', f);
            const cx_value *v = cx_map_get(meta, name);
            if (present(v)) cx_value_write_json(f, v);
            else fputs("null", f);
        }
        free(list);
    }
    fclose(f);
    return buf;
}

int cx_fold_table_add(cx_fold_table *t, const cx_value *meta) {
    int64_t center = -1;
    if (t->spec.center) {
        const cx_value *v = cx_map_get(meta, t->spec.center);
        if (!present(v) && !t->spec.missing_center)
            return cx_err(EX_DATAERR, "meta.%s: missing (use --missing-center VALUE)", t->spec.center);
        char *name = present(v) ? cx_value_plain_text(v) : cx_strdup(t->spec.missing_center);
        center = cx_keyset_add(&t->centers, name);
        free(name);
    }
    int64_t group;
    if (t->spec.group) {
        const cx_value *v = cx_map_get(meta, t->spec.group);
        if (!present(v)) return cx_err(EX_DATAERR, "meta.%s: missing", t->spec.group);
        char *name = cx_value_plain_text(v);
        group = cx_keyset_add(&t->groups, name);
        free(name);
    } else {
        group = t->ngroups;   /* each record a group of its own */
    }
    if (group == t->ngroups) {
        t->ngroups++;
        if (t->spec.center) {
            t->group_center = cx_realloc(t->group_center, (size_t)t->ngroups * sizeof *t->group_center);
            t->group_center[group] = center;
        }
    } else if (t->spec.center && t->group_center[group] != center) {
        return cx_err(EX_DATAERR, "meta.%s: \"%s\" is in two centers, \"%s\" and \"%s\" (one fold each: not left out)",
                      t->spec.group, t->groups.names[group], t->centers.names[t->group_center[group]],
                      t->centers.names[center]);
    }
    char *key = class_key(meta, t->spec.stratify);
    int64_t klass = cx_keyset_add(&t->classes, key);
    free(key);
    if (t->nrecords == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->record_group = cx_realloc(t->record_group, (size_t)t->cap * sizeof *t->record_group);
        t->record_class = cx_realloc(t->record_class, (size_t)t->cap * sizeof *t->record_class);
    }
    t->record_group[t->nrecords] = group;
    t->record_class[t->nrecords] = klass;
    t->nrecords++;
    return 0;
}

int64_t *cx_fold_table_group_counts(const cx_fold_table *t) {
    int64_t nclasses = t->classes.n;
    int64_t *counts = cx_calloc((size_t)(t->ngroups * nclasses > 0 ? t->ngroups * nclasses : 1), sizeof *counts);
    for (int64_t i = 0; i < t->nrecords; i++) counts[t->record_group[i] * nclasses + t->record_class[i]]++;
    return counts;
}

/* ---- stratified group k-fold ---- */

/* Sum as numpy's pairwise summation does, so that values scikit-learn sees as tied (or not) are
 * tied here too and its greedy order can be reproduced exactly. */
static double numpy_sum(const double *a, int64_t n) {
    if (n < 8) {
        double sum = 0.;
        for (int64_t i = 0; i < n; i++) sum += a[i];
        return sum;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        int64_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) sum += a[i];
        return sum;
    }
    int64_t half = n / 2;
    half -= half % 8;
    return numpy_sum(a, half) + numpy_sum(a + half, n - half);
}

/* Population standard deviation of x [n]; scratch [n]. */
static double std_dev(const double *x, int64_t n, double *scratch) {
    double mean = numpy_sum(x, n) / (double)n;
    for (int64_t i = 0; i < n; i++) scratch[i] = (x[i] - mean) * (x[i] - mean);
    return sqrt(numpy_sum(scratch, n) / (double)n);
}

typedef struct { const double *key; } by_key_desc;

/* Decreasing key, then increasing position: a stable sort by decreasing key. */
static int compare_desc(const void *a, const void *b, void *ctx) {
    const double *key = ((const by_key_desc *)ctx)->key;
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (key[i] != key[j]) return key[i] > key[j] ? -1 : 1;
    return (i > j) - (i < j);
}

/* Mean over classes of the standard deviation over folds of the class fraction in each fold.
 * fold_counts [k, nclasses], class_total [nclasses]; scratch [k + nclasses]. The sum over folds
 * runs in fold order, as numpy reduces over a leading axis. */
static double balance(const double *fold_counts, const double *class_total, int k, int64_t nclasses, double *scratch) {
    double *fraction = scratch, *std_per_class = scratch + k;
    for (int64_t c = 0; c < nclasses; c++) {
        double sum = 0.;
        for (int f = 0; f < k; f++) {
            fraction[f] = fold_counts[f * nclasses + c] / class_total[c];
            sum += fraction[f];
        }
        double mean = sum / k, squares = 0.;
        for (int f = 0; f < k; f++) squares += (fraction[f] - mean) * (fraction[f] - mean);
        std_per_class[c] = sqrt(squares / k);
    }
    return numpy_sum(std_per_class, nclasses) / (double)nclasses;
}

static bool numpy_isclose(double a, double b) { return fabs(a - b) <= 1e-8 + 1e-5 * fabs(b); }

int cx_folds_stratified(const int64_t *counts, int64_t ngroups, int64_t nclasses, int k, bool shuffle,
                        uint64_t seed, int *fold_of_group) {
    if (k < 2) return cx_err(EX_USAGE, "%d folds: at least 2 are needed", k);
    if (k > ngroups)
        return cx_err(EX_DATAERR, "%d folds but only %lld group%s: each fold needs at least one", k,
                      (long long)ngroups, ngroups == 1 ? "" : "s");
    /* order: the groups in the order they are placed */
    int64_t *order = cx_malloc((size_t)ngroups * sizeof *order);
    for (int64_t g = 0; g < ngroups; g++) order[g] = g;
    if (shuffle) {
        cx_rng rng;
        cx_rng_seed(&rng, seed);
        cx_rng_shuffle_i64(&rng, order, ngroups);
    }
    double *scratch = cx_malloc((size_t)(k + nclasses) * sizeof *scratch);
    double *row = cx_malloc((size_t)nclasses * sizeof *row);
    double *spread_of = cx_malloc((size_t)ngroups * sizeof *spread_of);   /* [position in order] */
    for (int64_t p = 0; p < ngroups; p++) {
        for (int64_t c = 0; c < nclasses; c++) row[c] = (double)counts[order[p] * nclasses + c];
        spread_of[p] = std_dev(row, nclasses, scratch);   /* nclasses <= k + nclasses */
    }
    int64_t *positions = cx_malloc((size_t)ngroups * sizeof *positions);
    for (int64_t p = 0; p < ngroups; p++) positions[p] = p;
    by_key_desc ctx = {spread_of};
    qsort_r(positions, (size_t)ngroups, sizeof *positions, compare_desc, &ctx);

    double *class_total = cx_calloc((size_t)nclasses, sizeof *class_total);
    for (int64_t g = 0; g < ngroups; g++)
        for (int64_t c = 0; c < nclasses; c++) class_total[c] += (double)counts[g * nclasses + c];
    double *fold_counts = cx_calloc((size_t)(k * nclasses), sizeof *fold_counts);   /* [k, nclasses] */
    double *fold_records = cx_calloc((size_t)k, sizeof *fold_records);
    int empty_folds = k;
    for (int64_t p = 0; p < ngroups; p++) {
        int64_t group = order[positions[p]];
        const int64_t *group_counts = counts + group * nclasses;
        /* no fold may end empty: the last groups fill the folds still empty */
        bool only_empty = ngroups - p <= empty_folds;
        int best = -1;
        double best_balance = INFINITY, best_records = INFINITY;
        for (int f = 0; f < k; f++) {
            if (only_empty && fold_records[f] > 0) continue;
            for (int64_t c = 0; c < nclasses; c++) fold_counts[f * nclasses + c] += (double)group_counts[c];
            double b = balance(fold_counts, class_total, k, nclasses, scratch);
            for (int64_t c = 0; c < nclasses; c++) fold_counts[f * nclasses + c] -= (double)group_counts[c];
            if (b < best_balance || (numpy_isclose(b, best_balance) && fold_records[f] < best_records)) {
                best = f;
                best_balance = b;
                best_records = fold_records[f];
            }
        }
        double records = 0.;
        for (int64_t c = 0; c < nclasses; c++) {
            fold_counts[best * nclasses + c] += (double)group_counts[c];
            records += (double)group_counts[c];
        }
        if (fold_records[best] == 0 && records > 0) empty_folds--;
        fold_records[best] += records;
        fold_of_group[group] = best;
    }
    free(order);
    free(scratch);
    free(row);
    free(spread_of);
    free(positions);
    free(class_total);
    free(fold_counts);
    free(fold_records);
    return 0;
}

/* ---- leave-one-center-out ---- */

typedef struct { char *const *names; } by_name;

static int compare_names(const void *a, const void *b, void *ctx) {
    char *const *names = ((const by_name *)ctx)->names;
    return strcmp(names[*(const int64_t *)a], names[*(const int64_t *)b]);
}

/* centers in fold order: [ncenters] indices into t->centers */
static int64_t *centers_sorted(const cx_fold_table *t) {
    int64_t *sorted = cx_malloc((size_t)(t->centers.n ? t->centers.n : 1) * sizeof *sorted);
    for (int64_t i = 0; i < t->centers.n; i++) sorted[i] = i;
    by_name ctx = {t->centers.names};
    qsort_r(sorted, (size_t)t->centers.n, sizeof *sorted, compare_names, &ctx);
    return sorted;
}

int cx_folds_by_center(const cx_fold_table *t, int *fold_of_group) {
    if (t->centers.n < 2) {
        cx_err(EX_DATAERR, "%lld center%s in meta.%s: leaving one out needs at least 2", (long long)t->centers.n,
               t->centers.n == 1 ? "" : "s", t->spec.center);
        return -1;
    }
    int64_t *sorted = centers_sorted(t);
    int *fold_of_center = cx_malloc((size_t)t->centers.n * sizeof *fold_of_center);
    for (int64_t r = 0; r < t->centers.n; r++) fold_of_center[sorted[r]] = (int)r;
    for (int64_t g = 0; g < t->ngroups; g++) fold_of_group[g] = fold_of_center[t->group_center[g]];
    free(sorted);
    free(fold_of_center);
    return (int)t->centers.n;
}

void cx_folds_center_names(const cx_fold_table *t, const char **names) {
    int64_t *sorted = centers_sorted(t);
    for (int64_t r = 0; r < t->centers.n; r++) names[r] = t->centers.names[sorted[r]];
    free(sorted);
}

/* ---- balance and summary ---- */

int64_t *cx_folds_class_counts(const int64_t *counts, int64_t ngroups, int64_t nclasses, int k,
                               const int *fold_of_group) {
    int64_t *fold_counts = cx_calloc((size_t)(k * nclasses > 0 ? k * nclasses : 1), sizeof *fold_counts);
    for (int64_t g = 0; g < ngroups; g++)
        for (int64_t c = 0; c < nclasses; c++) fold_counts[fold_of_group[g] * nclasses + c] += counts[g * nclasses + c];
    return fold_counts;
}

double cx_folds_spread(const int64_t *fold_counts, int k, int64_t nclasses) {
    double *as_double = cx_malloc((size_t)(k * nclasses > 0 ? k * nclasses : 1) * sizeof *as_double);
    double *class_total = cx_calloc((size_t)(nclasses ? nclasses : 1), sizeof *class_total);
    for (int f = 0; f < k; f++)
        for (int64_t c = 0; c < nclasses; c++) {
            as_double[f * nclasses + c] = (double)fold_counts[f * nclasses + c];
            class_total[c] += as_double[f * nclasses + c];
        }
    double *scratch = cx_malloc((size_t)(k + nclasses) * sizeof *scratch);
    double spread = balance(as_double, class_total, k, nclasses, scratch);
    free(as_double);
    free(class_total);
    free(scratch);
    return spread;
}

void cx_folds_summary(FILE *f, const cx_fold_table *t, int k, const int *fold_of_group) {
    int64_t nclasses = t->classes.n;
    int64_t *counts = cx_fold_table_group_counts(t);
    int64_t *fold_counts = cx_folds_class_counts(counts, t->ngroups, nclasses, k, fold_of_group);
    int64_t *fold_groups = cx_calloc((size_t)k, sizeof *fold_groups);
    for (int64_t g = 0; g < t->ngroups; g++) fold_groups[fold_of_group[g]]++;
    /* classes as columns in key order */
    int64_t *column = cx_malloc((size_t)(nclasses ? nclasses : 1) * sizeof *column);
    for (int64_t c = 0; c < nclasses; c++) column[c] = c;
    by_name ctx = {t->classes.names};
    qsort_r(column, (size_t)nclasses, sizeof *column, compare_names, &ctx);
    const char **center = NULL;
    if (t->spec.center) {
        center = cx_malloc((size_t)t->centers.n * sizeof *center);
        cx_folds_center_names(t, center);
    }

    fprintf(f, "fold\t%srecords\t%s", center ? "center\t" : "", t->spec.group ? t->spec.group : "groups");
    for (int64_t c = 0; c < nclasses; c++)
        fprintf(f, "\t%s", t->spec.stratify ? t->classes.names[column[c]] : "all");
    fputc('\n', f);
    int64_t *total = cx_calloc((size_t)(nclasses + 2), sizeof *total);   /* records, groups, per class */
    for (int fold = 0; fold < k; fold++) {
        int64_t records = 0;
        for (int64_t c = 0; c < nclasses; c++) records += fold_counts[fold * nclasses + c];
        fprintf(f, "%d\t", fold);
        if (center) fprintf(f, "%s\t", center[fold]);
        fprintf(f, "%lld\t%lld", (long long)records, (long long)fold_groups[fold]);
        total[0] += records;
        total[1] += fold_groups[fold];
        for (int64_t c = 0; c < nclasses; c++) {
            fprintf(f, "\t%lld", (long long)fold_counts[fold * nclasses + column[c]]);
            total[2 + c] += fold_counts[fold * nclasses + column[c]];
        }
        fputc('\n', f);
    }
    fprintf(f, "total\t%s%lld\t%lld", center ? "\t" : "", (long long)total[0], (long long)total[1]);
    for (int64_t c = 0; c < nclasses; c++) fprintf(f, "\t%lld", (long long)total[2 + c]);
    fputc('\n', f);
    fprintf(f, "# spread %.6f (mean over classes of the std over folds of the class fraction; 0 = even)\n",
            cx_folds_spread(fold_counts, k, nclasses));
    free(counts);
    free(fold_counts);
    free(fold_groups);
    free(column);
    free(center);
    free(total);
}
