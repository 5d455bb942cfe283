/* Evaluation metrics for the task kinds of a multi-task model, checked against scikit-learn 1.2.
 *
 * A cx_task_output holds what a model predicted for one task over n labelled samples; every
 * metric is computed over a subset idx[0..m) of them (idx NULL: all n), so the bootstrap and
 * per-group evaluations share one code path. Undefined metrics come back as NaN (writers turn
 * NaN into null):
 *   acc      fraction of argmax(prob) == label
 *   f1       binary: F1 of class 1 (sklearn average='binary', pos_label=1); 0 when class 1 is
 *            neither true nor predicted (zero_division=0). multiclass: unweighted mean of the
 *            per-class F1 over the classes that occur among the true or the predicted labels
 *            of the samples (sklearn average='macro' with labels=None); a class predicted but
 *            never true, or true but never predicted, has F1 = 0 and counts.
 *   gmean    geometric mean of the per-class recalls over the classes that occur among the true
 *            labels (binary: sqrt(sensitivity * specificity)); NaN unless at least 2 occur.
 *   auroc    binary: area under the ROC curve of prob[:,1], ties handled as sklearn's
 *            roc_auc_score (the Mann-Whitney U with half credit for tied scores);
 *            multiclass: mean of the one-vs-rest AUROCs of the k classes (sklearn
 *            multi_class='ovr', average='macro'). NaN when any class needed is absent.
 *   mae, r2  sklearn mean_absolute_error and r2_score; r2 is NaN when the targets are constant
 *            (sklearn returns 1 or 0 there; the value says nothing about the model).
 *   silhouette  mean silhouette of the points x under the assignment cluster (cluster.h);
 *            NaN unless 2 <= clusters present <= m-1.
 */
#ifndef CX_EVAL_METRICS_H
#define CX_EVAL_METRICS_H

#include <stdint.h>

typedef enum { CX_TASK_BINARY, CX_TASK_MULTICLASS, CX_TASK_REGRESSION, CX_TASK_CLUSTERING } cx_task_kind;

/* "binary", "multiclass", "regression", "clustering". */
const char *cx_task_kind_name(cx_task_kind k);
/* 0, or -1 when s names no kind. */
int cx_task_kind_parse(const char *s, cx_task_kind *k);

typedef struct {
    cx_task_kind kind;
    int k;                  /* classes (binary: 2); clustering: clusters */
    int64_t n;              /* samples, all labelled */
    const int32_t *label;   /* [n] true class (classification) */
    const float *prob;      /* [n, k] class probabilities (classification; binary column 1 = positive) */
    const double *target;   /* [n] true value (regression) */
    const double *value;    /* [n] predicted value (regression) */
    const float *x; int dim;/* [n, dim] points (clustering, for silhouette) */
    const int32_t *cluster; /* [n] cluster assignment (clustering) */
} cx_task_output;

/* Predicted class of sample i = argmax of its prob row, ties to the lower index. */
int cx_predicted_class(const cx_task_output *t, int64_t i);

/* The metric names a kind reports, in order: binary and multiclass "acc","f1","gmean","auroc";
 * regression "mae","r2"; clustering "silhouette". Returns the count. */
int cx_metric_names(cx_task_kind kind, const char *const **names);

/* One metric over samples idx[0..m) (idx NULL: all n). *value = NaN when undefined.
 * Returns 0, or EX_USAGE (unknown name, or a name the kind does not report) /
 * EX_DATAERR (a label outside 0..k-1), recorded with cx_err. */
int cx_metric(const char *name, const cx_task_output *t, const int64_t *idx, int64_t m, double *value);

/* Confusion counts [k*k], row = true class, column = predicted class; labels outside 0..k-1
 * are not counted. */
void cx_confusion(const cx_task_output *t, const int64_t *idx, int64_t m, int64_t *count /* [k*k], row = true */);

typedef struct { double std, lo, hi; int resamples; double fraction, level; } cx_interval;

/* Bootstrap of one metric: `resamples` draws of round(fraction * n) samples (fraction < 1:
 * without replacement, the M3H paper's "5 resamples of 90%"; fraction = 1: with replacement,
 * the classic bootstrap); std over the draws whose metric is defined (sample std, ddof = 1)
 * and the percentile interval at `level` (e.g. 0.95: the 2.5th and 97.5th percentiles, linear
 * interpolation as numpy.percentile). Draws where the metric is undefined are left out; all
 * fields NaN when fewer than 2 are defined. Deterministic in seed. Returns 0 or an error code
 * (bad name, resamples < 1, fraction outside (0, 1], level outside (0, 1)). */
int cx_bootstrap(const char *name, const cx_task_output *t, int resamples, double fraction, double level,
                 uint64_t seed, cx_interval *out);

#endif
