/* Evaluation metrics (metrics.h): confusion-matrix metrics, rank-based AUROC, regression
 * errors, and the bootstrap around any of them. */
#include "eval/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "eval/cluster.h"

static const char *const kind_names[] = {"binary", "multiclass", "regression", "clustering"};

const char *cx_task_kind_name(cx_task_kind k) {
    return (unsigned)k < sizeof kind_names / sizeof *kind_names ? kind_names[k] : "?";
}

int cx_task_kind_parse(const char *s, cx_task_kind *k) {
    for (int i = 0; i < (int)(sizeof kind_names / sizeof *kind_names); i++)
        if (!strcmp(s, kind_names[i])) {
            *k = (cx_task_kind)i;
            return 0;
        }
    return -1;
}

static const char *const classification_metrics[] = {"acc", "f1", "gmean", "auroc"};
static const char *const regression_metrics[] = {"mae", "r2"};
static const char *const clustering_metrics[] = {"silhouette"};

int cx_metric_names(cx_task_kind kind, const char *const **names) {
    switch (kind) {
    case CX_TASK_BINARY:
    case CX_TASK_MULTICLASS: *names = classification_metrics; return 4;
    case CX_TASK_REGRESSION: *names = regression_metrics; return 2;
    case CX_TASK_CLUSTERING: *names = clustering_metrics; return 1;
    }
    *names = NULL;
    return 0;
}

int cx_predicted_class(const cx_task_output *t, int64_t i) {
    const float *row = t->prob + i * t->k;
    int best = 0;
    for (int c = 1; c < t->k; c++)
        if (row[c] > row[best]) best = c;
    return best;
}

/* Sample j of the subset. */
static inline int64_t sample(const int64_t *idx, int64_t j) { return idx ? idx[j] : j; }

void cx_confusion(const cx_task_output *t, const int64_t *idx, int64_t m, int64_t *count) {
    int k = t->k;
    memset(count, 0, sizeof *count * (size_t)k * (size_t)k);
    for (int64_t j = 0; j < m; j++) {
        int64_t i = sample(idx, j);
        int32_t y = t->label[i];
        if (y < 0 || y >= k) continue;
        count[(int64_t)y * k + cx_predicted_class(t, i)]++;
    }
}

/* ---- confusion-matrix metrics ---- */

static double accuracy(const int64_t *count, int k, int64_t m) {
    if (m == 0) return NAN;
    int64_t right = 0;
    for (int c = 0; c < k; c++) right += count[c * k + c];
    return (double)right / (double)m;
}

/* F1 of class c: 2 tp / (2 tp + fp + fn), 0 when the class is neither true nor predicted. */
static double class_f1(const int64_t *count, int k, int c, int64_t *true_n, int64_t *pred_n) {
    int64_t tp = count[c * k + c], t = 0, p = 0;
    for (int j = 0; j < k; j++) {
        t += count[c * k + j];
        p += count[j * k + c];
    }
    *true_n = t;
    *pred_n = p;
    return t + p ? 2.0 * (double)tp / (double)(t + p) : 0.0;
}

static double f1_score(const cx_task_output *t, const int64_t *count, int64_t m) {
    if (m == 0) return NAN;
    int64_t true_n, pred_n;
    if (t->kind == CX_TASK_BINARY) return class_f1(count, t->k, 1, &true_n, &pred_n);
    double sum = 0;
    int present = 0;
    for (int c = 0; c < t->k; c++) {
        double f = class_f1(count, t->k, c, &true_n, &pred_n);
        if (true_n + pred_n == 0) continue;   /* sklearn's labels=None: only classes that occur */
        sum += f;
        present++;
    }
    return sum / present;
}

static double gmean(const int64_t *count, int k) {
    double log_sum = 0;
    int present = 0;
    bool some_recall_zero = false;
    for (int c = 0; c < k; c++) {
        int64_t true_n = 0;
        for (int j = 0; j < k; j++) true_n += count[c * k + j];
        if (true_n == 0) continue;
        int64_t tp = count[c * k + c];
        if (tp == 0) some_recall_zero = true;
        else log_sum += log((double)tp / (double)true_n);
        present++;
    }
    if (present < 2) return NAN;
    return some_recall_zero ? 0.0 : exp(log_sum / present);
}

/* ---- AUROC ---- */

typedef struct { float score; int positive; } scored;

static int by_score(const void *a, const void *b) {
    float x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x > y) - (x < y);
}

/* Area under the ROC curve of `column` of prob for "label == positive_class" over the subset:
 * the Mann-Whitney statistic (sum of the positives' mid-ranks - P(P+1)/2) / (P N), which equals
 * the trapezoidal area over the distinct thresholds that sklearn computes. buf holds m items. */
static double auroc_one(const cx_task_output *t, const int64_t *idx, int64_t m, int column,
                        int positive_class, scored *buf) {
    int64_t npos = 0;
    for (int64_t j = 0; j < m; j++) {
        int64_t i = sample(idx, j);
        buf[j].score = t->prob[i * t->k + column];
        buf[j].positive = t->label[i] == positive_class;
        npos += buf[j].positive;
    }
    int64_t nneg = m - npos;
    if (npos == 0 || nneg == 0) return NAN;
    qsort(buf, (size_t)m, sizeof *buf, by_score);
    /* ranks are 1-based; a run of ties [a, b) shares the mid-rank (a + 1 + b) / 2 */
    double rank_sum = 0;
    for (int64_t a = 0; a < m;) {
        int64_t b = a + 1, pos_in_run = buf[a].positive;
        while (b < m && buf[b].score == buf[a].score) pos_in_run += buf[b++].positive;
        rank_sum += (double)pos_in_run * (double)(a + 1 + b) / 2.0;
        a = b;
    }
    double u = rank_sum - (double)npos * (double)(npos + 1) / 2.0;
    return u / ((double)npos * (double)nneg);
}

static double auroc(const cx_task_output *t, const int64_t *idx, int64_t m) {
    if (m == 0) return NAN;
    scored *buf = cx_malloc(sizeof *buf * (size_t)m);
    double result;
    if (t->kind == CX_TASK_BINARY) {
        result = auroc_one(t, idx, m, 1, 1, buf);
    } else {
        double sum = 0;
        for (int c = 0; c < t->k; c++) sum += auroc_one(t, idx, m, c, c, buf);
        result = sum / t->k;   /* NaN when any class is absent: its one-vs-rest AUROC is undefined */
    }
    free(buf);
    return result;
}

/* ---- regression ---- */

static double mean_absolute_error(const cx_task_output *t, const int64_t *idx, int64_t m) {
    if (m == 0) return NAN;
    double sum = 0;
    for (int64_t j = 0; j < m; j++) {
        int64_t i = sample(idx, j);
        sum += fabs(t->target[i] - t->value[i]);
    }
    return sum / (double)m;
}

static double r2_score(const cx_task_output *t, const int64_t *idx, int64_t m) {
    if (m < 2) return NAN;
    double mean = 0;
    for (int64_t j = 0; j < m; j++) mean += t->target[sample(idx, j)];
    mean /= (double)m;
    double ss_res = 0, ss_tot = 0;
    for (int64_t j = 0; j < m; j++) {
        int64_t i = sample(idx, j);
        double r = t->target[i] - t->value[i], d = t->target[i] - mean;
        ss_res += r * r;
        ss_tot += d * d;
    }
    return ss_tot > 0 ? 1.0 - ss_res / ss_tot : NAN;
}

/* ---- dispatch ---- */

static int check_labels(const cx_task_output *t, const int64_t *idx, int64_t m) {
    for (int64_t j = 0; j < m; j++) {
        int64_t i = sample(idx, j);
        if (t->label[i] < 0 || t->label[i] >= t->k)
            return cx_err(EX_DATAERR, "sample %lld: label %d outside 0..%d", (long long)i, (int)t->label[i], t->k - 1);
    }
    return 0;
}

static bool kind_reports(cx_task_kind kind, const char *name) {
    const char *const *names;
    int count = cx_metric_names(kind, &names);
    for (int i = 0; i < count; i++)
        if (!strcmp(names[i], name)) return true;
    return false;
}

int cx_metric(const char *name, const cx_task_output *t, const int64_t *idx, int64_t m, double *value) {
    *value = NAN;
    if (!kind_reports(t->kind, name))
        return cx_err(EX_USAGE, "metric %s: not a metric of %s tasks", name, cx_task_kind_name(t->kind));
    if (idx == NULL) m = t->n;
    if (t->kind == CX_TASK_REGRESSION) {
        *value = !strcmp(name, "mae") ? mean_absolute_error(t, idx, m) : r2_score(t, idx, m);
        return 0;
    }
    if (t->kind == CX_TASK_CLUSTERING) {
        *value = cx_silhouette(t->x, t->dim, t->cluster, idx, m);
        return 0;
    }
    int rc = check_labels(t, idx, m);
    if (rc) return rc;
    if (!strcmp(name, "auroc")) {
        *value = auroc(t, idx, m);
        return 0;
    }
    int64_t *count = cx_malloc(sizeof *count * (size_t)t->k * (size_t)t->k);
    cx_confusion(t, idx, m, count);
    if (!strcmp(name, "acc")) *value = accuracy(count, t->k, m);
    else if (!strcmp(name, "f1")) *value = f1_score(t, count, m);
    else *value = gmean(count, t->k);
    free(count);
    return 0;
}

/* ---- bootstrap ---- */

static int by_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile's default (linear) on sorted v[0..n): position q (n - 1). */
static double percentile_sorted(const double *v, int n, double q) {
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1) return v[n - 1];
    return v[lo] + (pos - lo) * (v[lo + 1] - v[lo]);
}

int cx_bootstrap(const char *name, const cx_task_output *t, int resamples, double fraction, double level,
                 uint64_t seed, cx_interval *out) {
    out->std = out->lo = out->hi = NAN;
    out->resamples = resamples;
    out->fraction = fraction;
    out->level = level;
    if (resamples < 1) return cx_err(EX_USAGE, "bootstrap: %d resamples (need at least 1)", resamples);
    if (!(fraction > 0 && fraction <= 1)) return cx_err(EX_USAGE, "bootstrap: fraction %g outside (0, 1]", fraction);
    if (!(level > 0 && level < 1)) return cx_err(EX_USAGE, "bootstrap: level %g outside (0, 1)", level);
    double point;
    int rc = cx_metric(name, t, NULL, t->n, &point);   /* checks name and labels once */
    if (rc) return rc;
    int64_t m = llround(fraction * (double)t->n);
    if (m < 1) return 0;
    int64_t *pool = cx_malloc(sizeof *pool * (size_t)(t->n > 0 ? t->n : 1));
    int64_t *draw = cx_malloc(sizeof *draw * (size_t)m);
    double *values = cx_malloc(sizeof *values * (size_t)resamples);
    cx_rng rng;
    cx_rng_seed(&rng, seed);
    int defined = 0;
    for (int r = 0; r < resamples; r++) {
        if (fraction < 1) {
            /* without replacement: the first m places of a partial Fisher-Yates shuffle */
            for (int64_t i = 0; i < t->n; i++) pool[i] = i;
            for (int64_t j = 0; j < m; j++) {
                int64_t pick = j + (int64_t)cx_rng_below(&rng, (uint64_t)(t->n - j));
                int64_t keep = pool[j];
                pool[j] = pool[pick];
                pool[pick] = keep;
                draw[j] = pool[j];
            }
        } else {
            for (int64_t j = 0; j < m; j++) draw[j] = (int64_t)cx_rng_below(&rng, (uint64_t)t->n);
        }
        double v;
        cx_metric(name, t, draw, m, &v);
        if (!isnan(v)) values[defined++] = v;
    }
    if (defined >= 2) {
        double mean = 0, ss = 0;
        for (int i = 0; i < defined; i++) mean += values[i];
        mean /= defined;
        for (int i = 0; i < defined; i++) ss += (values[i] - mean) * (values[i] - mean);
        out->std = sqrt(ss / (defined - 1));
        qsort(values, (size_t)defined, sizeof *values, by_double);
        out->lo = percentile_sorted(values, defined, (1 - level) / 2);
        out->hi = percentile_sorted(values, defined, 1 - (1 - level) / 2);
    }
    free(values);
    free(draw);
    free(pool);
    return 0;
}
