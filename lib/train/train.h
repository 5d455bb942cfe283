/* Training and evaluating a multi-task model (mt-train(1), mt-eval(1)).
 *
 * Loss of a batch: L = sum_t w_t L_t, with L_t the task's loss over the samples that have its
 * label (the MDMT indicator: a sample without it adds nothing, not even to a denominator):
 *   task-mean (default)  L_t = the mean over the task's labelled samples in the batch (a task
 *                        with none adds 0); with class weights, PyTorch's weighted mean
 *   batch-sum            L_t = the plain sum over them (the paper's eq. 2 taken literally)
 *
 * Epochs: the sampler orders the training records from a generator seeded by (seed, epoch), so
 * that any step of any epoch is reproducible from the checkpoint alone; dropout masks come from
 * (seed, step). A resumed run therefore continues bit-identically, even from a checkpoint taken
 * in the middle of an epoch.
 *   random    a permutation of all records, cut into batches (the paper: batches drawn from
 *             the union of the data sets)
 *   balanced  each slot of the epoch goes to the tasks in turn and draws a record uniformly
 *             (with replacement) among those labelled for that task
 * A final batch of one record is dropped when the model has BatchNorm (batch statistics of one
 * value do not exist); otherwise the last batch may be short.
 *
 * M3H adds to L the auxiliary losses of cx_mt_model_aux_loss: w_c * the mean InfoNCE between
 * the modality projections, and the clustering task's weight * the autoencoder's reconstruction
 * MSE (that task's loss in the log). The validation loss has the tasks' losses (the
 * reconstruction included) but not the contrastive term, which depends on the batch. When
 * training ends (all epochs, or early stopping) and the model has a clustering task, k-means
 * (k-means++ seeding, 10 restarts, seeded by --seed) runs on the training records' latents of
 * the best checkpoint and the centroids are written into it (buffer clustering.centroids). */
#ifndef CX_TRAIN_TRAIN_H
#define CX_TRAIN_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/rng.h"
#include "eval/metrics.h"
#include "nn/loss.h"
#include "nn/optim.h"
#include "train/data.h"
#include "train/model.h"

typedef enum { CX_SAMPLER_RANDOM, CX_SAMPLER_BALANCED } cx_sampler;

typedef struct {
    cx_reduction norm;                        /* CX_REDUCE_MEAN: task-mean; CX_REDUCE_SUM: batch-sum */
    float *class_weight[CX_MAX_TASKS];        /* [K] per classification task (bce: pos_weight[1]); NULL: none */
} cx_mt_loss;

/* Balanced class weights over the training labels: w_c = n / (K n_c) (sklearn's "balanced";
 * 0 for a class absent from the data); for a bce task the positive weight n_neg / n_pos. The
 * arrays are allocated into l->class_weight. */
void cx_mt_loss_balanced(cx_mt_loss *l, const cx_mt_config *c, const cx_mt_data *d);
void cx_mt_loss_free(cx_mt_loss *l);

/* After a forward over `batch` samples whose labels are labels[batch, ntasks] (NaN: none):
 * writes each head output's gradient dL/dout (when grads) and returns L; task_loss[t] (may be
 * NULL) gets each L_t before its weight. */
double cx_mt_loss_compute(const cx_mt_model *m, const cx_mt_loss *l, const double *labels, int batch,
                          double *task_loss, bool grads);

/* The record order of one epoch: n_out indices into the data (n_out = d->n for both samplers). */
int64_t *cx_mt_epoch_order(const cx_mt_data *d, cx_sampler sampler, uint64_t seed, int64_t epoch, int64_t *n_out);

/* Copy records idx[0..batch) into the model's input and labels[batch, ntasks]. */
void cx_mt_gather(const cx_mt_model *m, const cx_mt_data *d, const int64_t *idx, int batch, double *labels);

/* Predictions of a model (inference plan) over all records. */
typedef struct {
    int64_t n;
    int ntasks;
    float *prob[CX_MAX_TASKS];     /* [n, K] classification */
    double *value[CX_MAX_TASKS];   /* [n] regression */
    int latent_dim;
    float *latent[CX_MAX_TASKS];   /* [n, latent_dim] clustering (M3H) */
    int32_t *cluster[CX_MAX_TASKS];/* [n] clustering: the nearest of the checkpoint's centroids */
    float *attention;              /* [n, T, T] M3H's cross-task attention, or NULL */
    double task_loss[CX_MAX_TASKS];/* task-mean loss over all labelled records (nan: none) */
    double loss;                   /* sum_t w_t task_loss[t] over the tasks with labels */
} cx_mt_predictions;

/* Plans the graph for inference, runs every record through it in batches of the graph's maximum
 * batch, and leaves the inference plan in place. */
int cx_mt_predict(cx_mt_model *m, const cx_mt_data *d, const cx_mt_loss *l, cx_mt_predictions *p);
void cx_mt_predictions_free(cx_mt_predictions *p);

/* The labelled records of task t as a cx_task_output over them (arrays allocated into *out and
 * freed by cx_mt_task_output_free); rows[j] (may be NULL) gets the record of output sample j.
 * A clustering task needs no label: every record, its latent and its cluster. */
void cx_mt_task_output(const cx_mt_predictions *p, const cx_mt_data *d, const cx_task *task, int t,
                       cx_task_output *out, int64_t **rows);
void cx_mt_task_output_free(cx_task_output *out);

/* ---- the training loop ---- */

typedef struct {
    cx_optim_config optim;
    int64_t epochs, warmup;        /* maximum epochs; linear warm-up epochs (0: none) */
    int batch;
    uint64_t seed;
    cx_sampler sampler;
    bool balanced_class_weights;
    cx_reduction loss_norm;
    const char *monitor;           /* "loss" or "TASK:METRIC" (validation) */
    int patience;                  /* epochs without improvement before stopping; 0: never stop */
    const char *best_path;         /* -o: the best checkpoint (the last one without validation) */
    const char *state_path;        /* --state: the latest checkpoint, each epoch (and every checkpoint_steps) */
    const char *log_path;          /* --log: the training log stream, rewritten each epoch */
    int64_t checkpoint_steps;      /* also save --state every this many steps (0: only at epoch ends) */
    int64_t max_steps;             /* stop (after saving --state) once this many steps are done (0: no limit) */
    bool resume;                   /* continue from --state */
    bool progress;
} cx_train_options;

/* Train m (built, its parameters initialised) on train (validated on val, may be NULL).
 * run_config (a map) is stored in every checkpoint beside the model's configuration. 0 or an
 * error code (recorded). */
int cx_mt_train(cx_mt_model *m, const cx_mt_data *train, const cx_mt_data *val, const cx_train_options *o,
                const cx_value *run_config);

/* Whether a metric improves upward (acc, f1, gmean, auroc, r2, silhouette) or downward (mae, loss). */
bool cx_metric_higher_is_better(const char *name);

#endif
