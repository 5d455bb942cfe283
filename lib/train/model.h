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
 * M3H (--arch m3h, models/m3h.h): each input tensor is a modality (graph inputs modality0...);
 * task t's output is the M3H head t (parameter names task.<t>...), followed by a log-softmax for
 * an nll task; a clustering task's output is the autoencoder's latent [N, latent_dim], and the
 * k-means centroids fitted on the training latents after training live in the buffer
 * "clustering.centroids" [K, latent_dim], so that a checkpoint alone assigns clusters.
 *
 * The configuration is what a checkpoint stores (cx_mt_config_to_value) so that mt-eval and
 * embed rebuild the same model from a checkpoint alone. */
#ifndef CX_TRAIN_MODEL_H
#define CX_TRAIN_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/value.h"
#include "models/m3h.h"
#include "nn/graph.h"
#include "train/data.h"
#include "train/task.h"

typedef enum { CX_HEAD_MLP, CX_HEAD_LINEAR } cx_head_kind;
typedef enum { CX_ARCH_MDMT, CX_ARCH_M3H } cx_mt_arch;

typedef struct {
    cx_mt_arch arch;
    char backbone[64];       /* registry name; "" for embedding input */
    char input[256];         /* the input tensors, a comma list ("image" for crops) */
    int channels, size;      /* crops: [channels, size, size] */
    int in_dim;              /* embeddings: the width of the concatenated input tensors */
    cx_head_kind head;
    double head_dropout;     /* the MLP head's dropout (0.5) */
    int ntasks;
    cx_task tasks[CX_MAX_TASKS];
    /* M3H: the network (widths, alpha, dropout; its modality widths and task outputs are set by
     * cx_mt_config_m3h), the clustering latent width and the contrastive loss weight w_c */
    cx_m3h_config m3h;
    int latent_dim;
    double contrastive_weight;
} cx_mt_config;

typedef struct {
    cx_mt_config cfg;
    cx_graph *g;
    int max_batch;
    cx_var input;                 /* mdmt: [N, C, S, S] or [N, in_dim] */
    int ninputs;                  /* graph inputs: mdmt 1, M3H one per modality */
    cx_var inputs[CX_TRAIN_MAX_PARTS];
    int64_t input_numel[CX_TRAIN_MAX_PARTS];   /* floats per sample of each, in the data's order */
    cx_m3h_graph m3h;             /* M3H's variables */
    cx_var centroids;             /* M3H clustering: [K, latent_dim] buffer, or -1 */
    cx_var features;              /* the trunk's output [N, F] (the input itself for embeddings) */
    cx_var out[CX_MAX_TASKS];     /* [N, cx_task_outputs] logits, log-probabilities or values; clustering: the latent */
} cx_mt_model;

/* Defaults: mdmt, mlp head, dropout 0.5, input "image"; M3H cx_m3h_config_default, latent 16,
 * contrastive weight 1. */
void cx_mt_config_default(cx_mt_config *c);
const char *cx_head_kind_name(cx_head_kind h);
int cx_head_kind_parse(const char *s, cx_head_kind *h);
/* Floats per sample of the model's input. */
int64_t cx_mt_input_numel(const cx_mt_config *c);

cx_value cx_mt_config_to_value(const cx_mt_config *c);
/* 0 or EX_DATAERR recorded ("config.FIELD: ..."). */
int cx_mt_config_from_value(const cx_value *v, cx_mt_config *c);

/* M3H: fill c->m3h's modalities (one per input tensor of d, its width) and tasks (output widths:
 * binary bce 1, ce/nll 2, multiclass K, regression 1, clustering latent_dim). 0 or EX_USAGE
 * recorded (more modalities or tasks than M3H takes, a bad width). */
int cx_mt_config_m3h(cx_mt_config *c, const cx_mt_data *d);
int cx_mt_clustering_task(const cx_mt_config *c);   /* index of the clustering task, or -1 */

/* Build the graph for batches up to max_batch (not planned). 0 or an error code (recorded). */
int cx_mt_model_build(cx_mt_model *m, const cx_mt_config *c, int max_batch);
void cx_mt_model_free(cx_mt_model *m);

/* M3H, after cx_graph_init: the paper's output bias log(n_pos / n_neg) for each binary task
 * whose training labels are under 10% positive. Returns how many heads it set. */
int cx_mt_model_init_bias(cx_mt_model *m, const cx_mt_data *train);

/* M3H, after a forward (and the task losses' gradients): the auxiliary losses. Returns
 * w_c * contrastive + w_t * reconstruction (0 for mdmt); *recon gets the reconstruction MSE
 * (the clustering task's loss, before its weight), *contrastive the mean InfoNCE (may be NULL).
 * In a training plan it also writes the gradients of every graph output the task losses do not. */
double cx_mt_model_aux_loss(cx_mt_model *m, double *recon, double *contrastive);

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
 * gives [1 - p, p]) or the value (regression); not for clustering. */
void cx_mt_prediction(const cx_mt_model *m, int t, int i, float *prob, double *value);

#endif
