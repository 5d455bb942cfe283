/* ROC curves: every case of tests/data/ref/roc.cxs (scikit-learn 1.2's roc_curve with
 * drop_intermediate=False and roc_auc_score, from tests/ref/gen_roc.py), point for point, and
 * the undefined cases. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "eval/roc.h"
#include "io/stream.h"
#include "test.h"

#define REF "tests/data/ref/roc.cxs"

static bool same_points(const double *got, const double *want, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > 1e-12 * (1 + fabs(want[i]))) return false;
    return true;
}

TEST(roc_matches_sklearn) {
    cx_reader *in = cx_reader_open(REF);
    if (!CHECK(in != NULL)) return;
    cx_record rec;
    cx_record_init(&rec);
    int cases = 0;
    while (cx_reader_next(in, &rec) == 1) {
        const cx_tensor *score = cx_record_tensor(&rec, "score"), *label = cx_record_tensor(&rec, "label");
        const cx_tensor *fpr = cx_record_tensor(&rec, "fpr"), *tpr = cx_record_tensor(&rec, "tpr");
        const cx_tensor *threshold = cx_record_tensor(&rec, "threshold");
        int64_t m = score->shape[0];
        double *s = malloc((size_t)m * sizeof *s);   /* [m] */
        bool *positive = malloc((size_t)m * sizeof *positive);
        for (int64_t i = 0; i < m; i++) {
            s[i] = ((const float *)score->data)[i];
            positive[i] = ((const int32_t *)label->data)[i] == 1;
        }
        cx_roc r;
        if (CHECK(cx_roc_curve(s, positive, m, &r) == 0)) {
            int64_t p = fpr->shape[0];
            if (!CHECK(r.n == p)) fprintf(stderr, "  case %s: %lld points, sklearn %lld\n", rec.id, (long long)r.n, (long long)p);
            else {
                if (!CHECK(same_points(r.fpr, fpr->data, p))) fprintf(stderr, "  case %s: fpr\n", rec.id);
                if (!CHECK(same_points(r.tpr, tpr->data, p))) fprintf(stderr, "  case %s: tpr\n", rec.id);
                if (!CHECK(same_points(r.threshold, threshold->data, p))) fprintf(stderr, "  case %s: thresholds\n", rec.id);
            }
            double auc = 0;
            cx_value_number(cx_map_get(&rec.meta, "auc"), &auc);
            CHECK_NEAR(cx_roc_auc(&r), auc, 1e-12, 1e-12);
            cx_roc_free(&r);
        }
        free(s);
        free(positive);
        cases++;
    }
    CHECK_EQ(cases, 7);
    cx_record_free(&rec);
    cx_reader_close(in);
}

TEST(roc_needs_both_classes) {
    double s[3] = {0.1, 0.5, 0.9};
    bool all_negative[3] = {false, false, false}, all_positive[3] = {true, true, true};
    cx_roc r;
    CHECK_EQ(cx_roc_curve(s, all_negative, 3, &r), EX_DATAERR);
    CHECK_EQ(cx_roc_curve(s, all_positive, 3, &r), EX_DATAERR);
    CHECK_EQ(cx_roc_curve(s, all_positive, 0, &r), EX_DATAERR);
    bool mixed[3] = {false, true, false};
    s[1] = NAN;
    CHECK_EQ(cx_roc_curve(s, mixed, 3, &r), EX_DATAERR);
    cx_err_clear();
}
