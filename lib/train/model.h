/* The multi-task model of mt-train: a shared trunk and one head per task.
 *
 *   crops      [N, C, S, S] -> backbone (models/backbone.h, pooled features [N, F]) -> heads
 *   embeddings [N, F] (the named 1-D tensors of a record, concatenated)           -> heads
 *
 * Heads: the MDMT authors' MLP (Linear F->128, ReLU, Dropout p, Linear 128->32, ReLU, Dropout p,
 * Linear 32->n), or one Linear F->n; n = cx_task_outputs. A task whose loss is nll ends in a
 * log-softmax. Parameter names: the backbone's torchvision/timm names unchanged (ImageNet weights
 * load as they are); heads "heads.<task>.0", ".3", ".6" (the MLP, numbered as nn.Sequential
 * numbers them) or "heads.<task>" (linear), each ".weight" and ".bias". Everything outside
 * "heads." is the shared part that FT keeps and MDMT averages.
 *
 * The configuration is what a checkpoint stores (cx_mt_config_to_value) so that mt-eval and
 * embed rebuild the same model from a checkpoint alone. */
#ifndef CX_TRAIN_MODEL_H
#define CX_TRAIN_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/value.h"
#include "nn/graph.h"
#include "train/task.h"

typedef enum { CX_HEAD_MLP, CX_HEAD_LINEAR } cx_head_kind;

typedef struct {
    char backbone[64];       /* registry name; "" for embedding input */
    char input[256];         /* the input tensors, a comma list ("image" for crops) */
    int channels, size;      /* crops: [channels, size, size] */
    int in_dim;              /* embeddings: the width of the concatenated input tensors */
    cx_head_kind head;
    double head_dropout;     /* the MLP head's dropout (0.5) */
    int ntasks;
    cx_task tasks[CX_MAX_TASKS];
} cx_mt_config;

typedef struct {
    cx_mt_config cfg;
    cx_graph *g;
    int max_batch;
    cx_var input;                 /* [N, C, S, S] or [N, in_dim] */
    cx_var features;              /* the trunk's output [N, F] (the input itself for embeddings) */
    cx_var out[CX_MAX_TASKS];     /* [N, cx_task_outputs] logits, log-probabilities or values */
} cx_mt_model;

/* Defaults: mlp head, dropout 0.5, input "image". */
void cx_mt_config_default(cx_mt_config *c);
const char *cx_head_kind_name(cx_head_kind h);
int cx_head_kind_parse(const char *s, cx_head_kind *h);
/* Floats per sample of the model's input. */
int64_t cx_mt_input_numel(const cx_mt_config *c);

cx_value cx_mt_config_to_value(const cx_mt_config *c);
/* 0 or EX_DATAERR recorded ("config.FIELD: ..."). */
int cx_mt_config_from_value(const cx_value *v, cx_mt_config *c);

/* Build the graph for batches up to max_batch (not planned). 0 or an error code (recorded). */
int cx_mt_model_build(cx_mt_model *m, const cx_mt_config *c, int max_batch);
void cx_mt_model_free(cx_mt_model *m);

/* Whether a parameter or buffer name belongs to the shared part (not to a head). */
bool cx_mt_is_shared(const char *name);

/* Start from checkpoints (after cx_graph_init, which gives the new heads their values):
 * the shared parameters and buffers become the element-wise mean over paths[0..n) (computed in
 * double, rounded once to float; n = 1 is a plain copy: FT). With take_heads, each task's head
 * becomes the mean over the checkpoints that have a head of that task's name (MDMT from STL
 * models: each task's head comes from the STL run of that task); without, heads stay new.
 * Every checkpoint must hold every shared key of the model with the model's shape: otherwise
 * EX_DATAERR naming the file and key. */
int cx_mt_model_init_from(cx_mt_model *m, const char *const *paths, int n, bool take_heads);

/* Sample i of the last forward, task t: class probabilities prob[K] (classification; binary bce
 * gives [1 - p, p]) or the value (regression). */
void cx_mt_prediction(const cx_mt_model *m, int t, int i, float *prob, double *value);

#endif
