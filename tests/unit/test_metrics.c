/* Metrics: every classification, regression and silhouette case of tests/data/ref/metrics.cxs
 * (scikit-learn 1.2 from tests/ref/gen_metrics.py; null where the metric is undefined), AUROC
 * on many ties against a direct pairwise count, the bootstrap's determinism and sanity, and
 * the errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "eval/metrics.h"
#include "io/stream.h"
#include "test.h"

#define REF "tests/data/ref/metrics.cxs"

/* The task output a fixture record describes (pointers into rec's tensors). */
static bool task_of_record(const cx_record *rec, cx_task_output *t) {
    memset(t, 0, sizeof *t);
    const char *kind = cx_map_str(&rec->meta, "kind", "");
    if (cx_task_kind_parse(kind, &t->kind)) return false;
    if (t->kind == CX_TASK_REGRESSION) {
        const cx_tensor *target = cx_record_tensor(rec, "target"), *value = cx_record_tensor(rec, "value");
        t->n = target->shape[0];
        t->target = target->data;
        t->value = value->data;
    } else if (t->kind == CX_TASK_CLUSTERING) {
        const cx_tensor *x = cx_record_tensor(rec, "x"), *cluster = cx_record_tensor(rec, "cluster");
        t->n = x->shape[0];
        t->dim = (int)x->shape[1];
        t->x = x->data;
        t->cluster = cluster->data;
    } else {
        const cx_tensor *label = cx_record_tensor(rec, "label"), *prob = cx_record_tensor(rec, "prob");
        t->n = label->shape[0];
        t->k = (int)prob->shape[1];
        t->label = label->data;
        t->prob = prob->data;
    }
    return true;
}

/* The reference value of a metric: NaN for null. */
static double reference(const cx_record *rec, const char *name) {
    const cx_value *v = cx_map_get(&rec->meta, name);
    double d;
    return v && cx_value_number(v, &d) ? d : NAN;
}

static bool same_or_both_nan(double got, double want) {
    return isnan(want) ? isnan(got) : fabs(got - want) <= 1e-12 + 1e-12 * fabs(want);
}

TEST(metrics_match_sklearn) {
    cx_reader *in = cx_reader_open(REF);
    if (!CHECK(in != NULL)) return;
    cx_record rec;
    cx_record_init(&rec);
    int cases = 0, metrics = 0, nan_cases = 0;
    while (cx_reader_next(in, &rec) == 1) {
        cx_task_output t;
        if (!task_of_record(&rec, &t)) continue;   /* k-means cases: test_cluster.c */
        const char *const *names;
        int count = cx_metric_names(t.kind, &names);
        for (int i = 0; i < count; i++) {
            double got, want = reference(&rec, names[i]);
            int rc = cx_metric(names[i], &t, NULL, t.n, &got);
            bool ok = rc == 0 && same_or_both_nan(got, want);
            if (!ok) printf("  %s %s: got %.17g, sklearn %.17g (rc %d)\n", rec.id, names[i], got, want, rc);
            CHECK(ok);
            nan_cases += isnan(want);
            metrics++;
        }
        if (t.kind == CX_TASK_BINARY || t.kind == CX_TASK_MULTICLASS) {
            int64_t *count_k = calloc((size_t)t.k * t.k, sizeof *count_k);
            cx_confusion(&t, NULL, t.n, count_k);
            const cx_tensor *want = cx_record_tensor(&rec, "confusion");
            bool same = memcmp(count_k, want->data, want->nbytes) == 0;
            if (!same) printf("  %s: confusion differs\n", rec.id);
            CHECK(same);
            free(count_k);
        }
        cases++;
    }
    CHECK(cx_errcode() == 0);
    CHECK(cases == 26);     /* every case of the fixture was seen */
    CHECK(nan_cases >= 8);  /* and the undefined ones among them */
    printf("  %d cases, %d metric values\n", cases, metrics);
    cx_record_free(&rec);
    cx_reader_close(in);
}

/* AUROC as the fraction of (positive, negative) pairs ranked right, ties counting half: the
 * definition, in O(P N), beside the library's sort. */
static double auroc_pairwise(const int32_t *label, const float *prob, int64_t n) {
    double right = 0, pairs = 0;
    for (int64_t i = 0; i < n; i++) {
        if (label[i] != 1) continue;
        for (int64_t j = 0; j < n; j++) {
            if (label[j] != 0) continue;
            float p = prob[2 * i + 1], q = prob[2 * j + 1];
            right += p > q ? 1.0 : p == q ? 0.5 : 0.0;
            pairs++;
        }
    }
    return right / pairs;
}

TEST(metrics_auroc_ties_match_pairwise_count) {
    enum { N = 3000 };
    int32_t *label = malloc(sizeof *label * N);
    float *prob = malloc(sizeof *prob * 2 * N);
    cx_rng rng;
    cx_rng_seed(&rng, 5);
    for (int levels = 2; levels <= 64; levels *= 4) {   /* from 2 distinct scores to many */
        for (int i = 0; i < N; i++) {
            label[i] = cx_rng_uniform(&rng) < 0.3;
            float p = (float)(cx_rng_below(&rng, (uint64_t)levels) + 2 * label[i]) / (float)(levels + 2);
            prob[2 * i] = 1 - p;
            prob[2 * i + 1] = p;
        }
        cx_task_output t = {.kind = CX_TASK_BINARY, .k = 2, .n = N, .label = label, .prob = prob};
        double got;
        CHECK(cx_metric("auroc", &t, NULL, N, &got) == 0);
        CHECK_NEAR(got, auroc_pairwise(label, prob, N), 1e-12, 0);
    }
    free(prob);
    free(label);
}

/* A subset through idx gives what the same samples give as a whole. */
TEST(metrics_subset_equals_copied_samples) {
    enum { N = 50, K = 3 };
    int32_t label[N], sub_label[N];
    float prob[N * K], sub_prob[N * K];
    int64_t idx[N];
    cx_rng rng;
    cx_rng_seed(&rng, 9);
    for (int i = 0; i < N; i++) {
        label[i] = (int32_t)cx_rng_below(&rng, K);
        float sum = 0;
        for (int c = 0; c < K; c++) sum += prob[i * K + c] = (float)cx_rng_uniform(&rng) + (c == label[i]);
        for (int c = 0; c < K; c++) prob[i * K + c] /= sum;
    }
    int m = 0;
    for (int i = 0; i < N; i += 2) idx[m++] = N - 1 - i;
    for (int j = 0; j < m; j++) {
        sub_label[j] = label[idx[j]];
        memcpy(sub_prob + j * K, prob + idx[j] * K, sizeof(float) * K);
    }
    cx_task_output all = {.kind = CX_TASK_MULTICLASS, .k = K, .n = N, .label = label, .prob = prob};
    cx_task_output sub = {.kind = CX_TASK_MULTICLASS, .k = K, .n = m, .label = sub_label, .prob = sub_prob};
    const char *const *names;
    int count = cx_metric_names(CX_TASK_MULTICLASS, &names);
    for (int i = 0; i < count; i++) {
        double a, b;
        CHECK(cx_metric(names[i], &all, idx, m, &a) == 0);
        CHECK(cx_metric(names[i], &sub, NULL, m, &b) == 0);
        CHECK(a == b);
    }
}

/* A binary classifier that is right about 80% of the time on 200 samples. */
typedef struct {
    int32_t label[200];
    float prob[400];
} noisy_case;

static cx_task_output noisy_classifier(noisy_case *c, bool perfect) {
    cx_rng rng;
    cx_rng_seed(&rng, 3);
    for (int i = 0; i < 200; i++) {
        c->label[i] = (int32_t)cx_rng_below(&rng, 2);
        double p = perfect ? 0.2 + 0.6 * c->label[i] : cx_rng_uniform(&rng) * 0.7 + 0.3 * c->label[i];
        c->prob[2 * i] = (float)(1 - p);
        c->prob[2 * i + 1] = (float)p;
    }
    cx_task_output t = {.kind = CX_TASK_BINARY, .k = 2, .n = 200, .label = c->label, .prob = c->prob};
    return t;
}

TEST(metrics_bootstrap_is_deterministic_and_brackets_the_estimate) {
    noisy_case c;
    cx_task_output t = noisy_classifier(&c, false);
    const char *const *names;
    int count = cx_metric_names(CX_TASK_BINARY, &names);
    for (int i = 0; i < count; i++) {
        double point;
        cx_interval a, b, other, sub;
        CHECK(cx_metric(names[i], &t, NULL, t.n, &point) == 0);
        CHECK(cx_bootstrap(names[i], &t, 200, 1.0, 0.95, 42, &a) == 0);
        CHECK(cx_bootstrap(names[i], &t, 200, 1.0, 0.95, 42, &b) == 0);
        CHECK(cx_bootstrap(names[i], &t, 200, 1.0, 0.95, 43, &other) == 0);
        CHECK(a.std == b.std && a.lo == b.lo && a.hi == b.hi);
        CHECK(a.std != other.std);
        CHECK(a.lo < point && point < a.hi);
        CHECK(a.std > 0.005 && a.std < 0.1);   /* ~sqrt(p(1-p)/n) = 0.03 for the accuracy */
        CHECK(a.hi - a.lo > 2 * a.std && a.hi - a.lo < 6 * a.std);
        CHECK(a.resamples == 200 && a.fraction == 1.0 && a.level == 0.95);
        /* the M3H variant: 5 draws of 90% without replacement */
        CHECK(cx_bootstrap(names[i], &t, 5, 0.9, 0.95, 42, &sub) == 0);
        CHECK(sub.std > 0 && sub.std < a.std);
        CHECK(sub.lo <= sub.hi);
    }
}

TEST(metrics_bootstrap_degenerate_cases) {
    noisy_case c;
    cx_task_output t = noisy_classifier(&c, true);
    cx_interval r;
    const char *const *names;
    int count = cx_metric_names(CX_TASK_BINARY, &names);
    for (int i = 0; i < count; i++) {   /* a perfect classifier: every draw scores 1 */
        CHECK(cx_bootstrap(names[i], &t, 50, 1.0, 0.9, 1, &r) == 0);
        CHECK(r.std == 0 && r.lo == 1 && r.hi == 1);
    }
    /* 99.9% of 200 rounds to all 200 without replacement: every draw is the whole set */
    t = noisy_classifier(&c, false);
    double point;
    CHECK(cx_metric("auroc", &t, NULL, t.n, &point) == 0);
    CHECK(cx_bootstrap("auroc", &t, 7, 0.999, 0.95, 1, &r) == 0);
    CHECK_NEAR(r.std, 0, 0, 1e-15);
    CHECK_NEAR(r.lo, point, 1e-15, 0);
    CHECK_NEAR(r.hi, point, 1e-15, 0);
    /* fewer than 2 defined draws (one class only): all NaN */
    int32_t ones[200];
    for (int i = 0; i < 200; i++) ones[i] = 1;
    t.label = ones;
    CHECK(cx_bootstrap("auroc", &t, 20, 1.0, 0.95, 1, &r) == 0);
    CHECK(isnan(r.std) && isnan(r.lo) && isnan(r.hi));
}

TEST(metrics_errors_and_names) {
    int32_t label[3] = {0, 1, 2};
    float prob[6] = {0.9f, 0.1f, 0.2f, 0.8f, 0.5f, 0.5f};
    cx_task_output t = {.kind = CX_TASK_BINARY, .k = 2, .n = 3, .label = label, .prob = prob};
    double v;
    CHECK(cx_metric("acc", &t, NULL, 3, &v) == EX_DATAERR);   /* label 2 of a binary task */
    CHECK(strstr(cx_errmsg(), "sample 2: label 2 outside 0..1") != NULL);
    CHECK(cx_metric("auroc", &t, NULL, 2, &v) == EX_DATAERR);
    CHECK(cx_metric("acc", &t, (const int64_t[]){0, 1}, 2, &v) == 0 && v == 1.0);
    CHECK(cx_metric("r2", &t, NULL, 3, &v) == EX_USAGE && isnan(v));
    CHECK(cx_metric("precision", &t, NULL, 3, &v) == EX_USAGE);
    cx_interval r;
    CHECK(cx_bootstrap("acc", &t, 0, 1.0, 0.95, 1, &r) == EX_USAGE);
    CHECK(cx_bootstrap("acc", &t, 10, 1.5, 0.95, 1, &r) == EX_USAGE);
    CHECK(cx_bootstrap("acc", &t, 10, 1.0, 1.0, 1, &r) == EX_USAGE);
    cx_err_clear();
    /* an empty subset: undefined, not an error */
    CHECK(cx_metric("acc", &t, (const int64_t[]){0}, 0, &v) == 0 && isnan(v));
    const char *const *names;
    CHECK(cx_metric_names(CX_TASK_MULTICLASS, &names) == 4 && !strcmp(names[3], "auroc"));
    CHECK(cx_metric_names(CX_TASK_REGRESSION, &names) == 2 && !strcmp(names[0], "mae"));
    CHECK(cx_metric_names(CX_TASK_CLUSTERING, &names) == 1 && !strcmp(names[0], "silhouette"));
    for (int k = CX_TASK_BINARY; k <= CX_TASK_CLUSTERING; k++) {
        cx_task_kind back;
        CHECK(cx_task_kind_parse(cx_task_kind_name((cx_task_kind)k), &back) == 0 && back == (cx_task_kind)k);
    }
    cx_task_kind back;
    CHECK(cx_task_kind_parse("ordinal", &back) == -1);
    /* argmax ties go to the lower index */
    float tied[3] = {0.4f, 0.4f, 0.2f};
    cx_task_output tie = {.kind = CX_TASK_MULTICLASS, .k = 3, .n = 1, .prob = tied};
    CHECK(cx_predicted_class(&tie, 0) == 0);
}
