/* Tasks of a multi-task model: what each head predicts, from which metadata field, with which
 * loss and weight (cxr-tasks(5)).
 *
 *   spec:  NAME:KIND:FIELD[:K][,weight=W][,loss=L]
 *          KIND binary | multiclass (K classes, required) | regression | clustering (M3H only)
 *          L    ce | bce | nll (classification; binary default ce over 2 logits, bce 1 logit)
 *               mae | mse (regression; default mae, the M3H paper's)
 *
 * A record's label is its meta field FIELD: binary 0/1, multiclass 0..K-1 (integers), regression
 * any number. An absent or null field means "no label for this task" (the MDMT indicator). */
#ifndef CX_TRAIN_TASK_H
#define CX_TRAIN_TASK_H

#include <stdbool.h>

#include "core/value.h"
#include "eval/metrics.h"

#define CX_MAX_TASKS 16
#define CX_TASK_NAME_MAX 48
#define CX_TASK_FIELD_MAX 64

typedef enum { CX_LOSS_CE, CX_LOSS_BCE, CX_LOSS_NLL, CX_LOSS_MAE, CX_LOSS_MSE, CX_LOSS_RECON } cx_task_loss;

typedef struct {
    char name[CX_TASK_NAME_MAX];    /* letters, digits, '_' and '-': it names heads and columns */
    cx_task_kind kind;
    char field[CX_TASK_FIELD_MAX];
    int classes;                    /* binary 2, multiclass K, clustering K (k-means), regression 0 */
    cx_task_loss loss;
    double weight;                  /* > 0; multiplies the task's loss (default 1) */
    bool loss_given;                /* the spec named its loss (else the kind's default) */
} cx_task;

/* "ce", "bce", "nll", "mae", "mse", "recon", and back (-1 when unknown, nothing recorded). */
const char *cx_task_loss_name(cx_task_loss l);
int cx_task_loss_parse(const char *s, cx_task_loss *l);

/* Parse one spec. Defaults: weight 1; loss ce (binary, multiclass), mae (regression, the M3H
 * paper's), recon (clustering); clustering K defaults to 15 (the paper's k-means). 0 or
 * EX_USAGE recorded, quoting the spec. */
int cx_task_parse(const char *spec, cx_task *t);
/* Append the specs of a task file (one per line, '#' comments, blank lines skipped) to
 * tasks[*n..max). 0, or EX_NOINPUT / EX_USAGE recorded naming file and line. */
int cx_tasks_read(const char *path, cx_task *tasks, int *n, int max);
/* Refuse two tasks of one name. 0 or EX_USAGE. */
int cx_tasks_check(const cx_task *tasks, int n);

/* The M3H paper's losses for the tasks whose spec names none: binary bce (one logit),
 * multiclass nll (the head ends in a log-softmax). */
void cx_tasks_m3h_losses(cx_task *tasks, int n);

/* Width of the task's head output: binary ce/nll 2, bce 1; multiclass K; regression 1;
 * clustering: none here (the M3H latent width is the model's, cx_mt_config.latent_dim). */
int cx_task_outputs(const cx_task *t);
bool cx_task_is_classification(const cx_task *t);

/* The spec text back ("prognosis:binary:prognosis,weight=1,loss=ce"), as a checkpoint stores it. */
cx_value cx_task_to_value(const cx_task *t);
int cx_task_from_value(const cx_value *v, cx_task *t);

/* The task's label in a record's metadata: 1 with *label set, 0 when absent or null, or -1 with
 * EX_DATAERR recorded ("meta.FIELD: ...") when present but not a valid label for the kind. */
int cx_task_label(const cx_task *t, const cx_value *meta, double *label);

#endif
