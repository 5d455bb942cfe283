/* ROC curve points (roc.h). */
#include "eval/roc.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

typedef struct { double score; bool positive; } scored;

/* Decreasing score; the order within a tie does not matter (a tie is one point). */
static int by_score_desc(const void *pa, const void *pb) {
    const scored *a = pa, *b = pb;
    return (a->score < b->score) - (a->score > b->score);
}

int cx_roc_curve(const double *score, const bool *positive, int64_t m, cx_roc *out) {
    *out = (cx_roc){0};
    scored *s = cx_malloc((size_t)(m > 0 ? m : 1) * sizeof *s);   /* [m] */
    int64_t positives = 0;
    for (int64_t i = 0; i < m; i++) {
        if (!isfinite(score[i])) {
            free(s);
            return cx_err(EX_DATAERR, "sample %lld: score %g is not a finite number", (long long)i, score[i]);
        }
        s[i].score = score[i];
        s[i].positive = positive[i];
        positives += positive[i];
    }
    int64_t negatives = m - positives;
    if (positives == 0 || negatives == 0) {
        free(s);
        return cx_err(EX_DATAERR, "ROC curve undefined: %lld positive and %lld negative samples (both classes are needed)",
                      (long long)positives, (long long)negatives);
    }
    qsort(s, (size_t)m, sizeof *s, by_score_desc);

    /* at most one point per sample, plus the starting point */
    out->fpr = cx_malloc((size_t)(m + 1) * sizeof *out->fpr);
    out->tpr = cx_malloc((size_t)(m + 1) * sizeof *out->tpr);
    out->threshold = cx_malloc((size_t)(m + 1) * sizeof *out->threshold);
    out->positives = positives;
    out->negatives = negatives;
    out->fpr[0] = 0;
    out->tpr[0] = 0;
    out->threshold[0] = s[0].score + 1;
    int64_t n = 1, tp = 0, fp = 0;
    for (int64_t i = 0; i < m; i++) {
        if (s[i].positive) tp++;
        else fp++;
        /* a point after the last sample of each block of equal scores */
        if (i + 1 == m || s[i + 1].score != s[i].score) {
            out->fpr[n] = (double)fp / (double)negatives;
            out->tpr[n] = (double)tp / (double)positives;
            out->threshold[n] = s[i].score;
            n++;
        }
    }
    out->n = n;
    free(s);
    return 0;
}

double cx_roc_auc(const cx_roc *r) {
    double area = 0;
    for (int64_t i = 1; i < r->n; i++)
        area += (r->fpr[i] - r->fpr[i - 1]) * (r->tpr[i] + r->tpr[i - 1]) / 2;
    return area;
}

void cx_roc_free(cx_roc *r) {
    free(r->fpr);
    free(r->tpr);
    free(r->threshold);
    *r = (cx_roc){0};
}
