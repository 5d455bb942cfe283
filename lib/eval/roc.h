/* ROC curves (mt-roc(1)): the points of the receiver operating characteristic of scores for a
 * binary truth, one point per distinct score, as scikit-learn 1.2's
 * roc_curve(y_true, y_score, drop_intermediate=False):
 *   thresholds: the distinct scores in decreasing order, preceded by max score + 1 (the point
 *               where nothing is called positive);
 *   tpr[i], fpr[i]: the fractions of positives and of negatives whose score is >= threshold[i].
 * The curve starts at (0, 0) and ends at (1, 1). It is undefined (an error) unless both classes
 * occur. The area under it by the trapezoidal rule is sklearn's auc(fpr, tpr), which equals
 * roc_auc_score (ties give half credit: a tied block is one diagonal segment).
 */
#ifndef CX_EVAL_ROC_H
#define CX_EVAL_ROC_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t n;           /* points */
    double *fpr, *tpr;   /* [n] */
    double *threshold;   /* [n], decreasing */
    int64_t positives, negatives;
} cx_roc;

/* The curve of score[0..m) against positive[0..m) (true: the positive class). 0, or
 * EX_DATAERR (recorded) when a class is absent or a score is not finite. */
int cx_roc_curve(const double *score, const bool *positive, int64_t m, cx_roc *out);

/* Area under the curve, trapezoidal rule over its points. */
double cx_roc_auc(const cx_roc *r);

void cx_roc_free(cx_roc *r);

#endif
