/* What mt-eval writes: a model rebuilt from its checkpoint, the metrics stream (one record per
 * task) and the predictions stream (one record per input record); cxr-stream(5) conventions,
 * described in mt-eval(1). */
#ifndef CX_TRAIN_EVALUATE_H
#define CX_TRAIN_EVALUATE_H

#include <stdint.h>

#include "core/value.h"
#include "io/stream.h"
#include "train/data.h"
#include "train/model.h"
#include "train/train.h"

/* The sorted comma list of a config's task names: the metrics' task_set tag (tim-score(1)). */
cx_value cx_mt_task_set(const cx_mt_config *c);

/* Rebuild the model a checkpoint was trained as (its header's config.model: mdmt or M3H) and
 * load its weights, for inference (planned in eval mode) in batches up to max_batch. */
int cx_mt_model_load(cx_mt_model *m, const char *checkpoint, int max_batch);

typedef struct {
    int resamples;      /* 0: no bootstrap */
    double fraction;    /* 1: classic bootstrap with replacement; < 1 without (M3H's 90%) */
    double level;       /* the percentile interval's coverage, 0.95 */
    uint64_t seed;
} cx_bootstrap_options;

/* The metrics record of task t: id = task name; meta task, kind, n (labelled records; clustering:
 * all records, silhouette of the clusters on the latent), the tags
 * (a map of plain values, may be NULL), each metric of the kind (null when undefined) and with a
 * bootstrap <metric>_std, _lo, _hi; tensor confusion i64 [K, K] (rows true) for classification. */
int cx_mt_metrics_record(const cx_mt_config *c, const cx_mt_predictions *p, const cx_mt_data *d, int t,
                         const cx_value *tags, const cx_bootstrap_options *b, cx_record *rec);

/* The predictions record of data record i: same id; meta patient, center, dataset, fold when the
 * input had them, <task>_true (label or null) and <task>_pred (class index, value, or the
 * cluster of a clustering task, whose _true is its FIELD when present: a reference grouping);
 * tensor <task>_prob f32 [K] per classification task; M3H: tensor attention f32 [T, T], the
 * record's cross-task attention (row t: how task t's output mixes the tasks; rows sum to 1). */
void cx_mt_prediction_record(const cx_mt_config *c, const cx_mt_predictions *p, const cx_mt_data *d, int64_t i,
                             cx_record *rec);

#endif
