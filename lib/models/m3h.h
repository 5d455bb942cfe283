/* M3H: the multimodal multitask network of Bertsimas & Ma (papers/m3h-multimodal-multitask.txt).
 *
 *   input m [N, modality_dim[m]]
 *     -> modality net m: Linear(hidden), ReLU, Dropout, Linear(proj_dim)  = projection m
 *   concat of the projections [N, M * proj_dim]
 *     -> shared-task net: Linear(shared_dim), ReLU, Dropout
 *     -> task net t: Linear(task_dim), ReLU                               = task embedding t
 *   K, V = Linear(task_dim) of each task embedding (one key and one value map for all tasks)
 *   Q [T, task_dim]: a learned embedding of the task tokens (the paper's Linear of the token
 *     embedding collapses into this one matrix: a linear map of a learned table is a learned table)
 *   cross-task attention per sample: M = Q K^T, W = softmax(I + alpha * M / (max|M| + 1e-8)),
 *     out = W V (nn/attention.h; the paper divides by max(M), which flips signs when max(M) <= 0)
 *   head t: Linear(task_out[t]) of row t of W V.
 *
 * A clustering task is the paper's autoencoder on the concatenated inputs [N, sum dims]:
 * encoder Linear(hidden), ReLU, Linear(task_out[t]) = the latent (task_out[t], what k-means runs
 * on); decoder Linear(hidden), ReLU, Linear(sum dims) = reconstruction. Its token in the attention
 * is its task net applied to the latent, so the latent's structure reaches the other tasks; its own
 * attention row feeds nothing. At most one clustering task.
 *
 * Parameter names: modality.<m>.fc1/.fc2, shared.fc, task.<t>.net, attention.query.weight,
 * attention.key, attention.value, task.<t>.head, autoencoder.encoder.fc1/.fc2,
 * autoencoder.decoder.fc1/.fc2 (each .weight and .bias; PyTorch's Linear initialisation).
 *
 * Graph outputs (cx_graph_output): every projection, task_out, the attention and the
 * reconstruction. The trainer writes the supervised tasks' gradients into task_out; cx_m3h_aux_loss
 * writes the others. */
#ifndef CX_MODELS_M3H_H
#define CX_MODELS_M3H_H

#include <stdbool.h>
#include <stdint.h>

#include "core/value.h"
#include "nn/graph.h"

#define CX_M3H_MAX_MODALITIES 8
#define CX_M3H_MAX_TASKS 16
/* InfoNCE temperature of the contrastive loss (fixed; the paper gives none, CLIP-style losses
 * commonly use 0.07-0.1). */
#define CX_M3H_INFONCE_TAU 0.1f

typedef struct {
    int n_modalities;
    int modality_dim[CX_M3H_MAX_MODALITIES];   /* input widths, in input order */
    int hidden;       /* modality net (and autoencoder) hidden width */
    int proj_dim;     /* modality projection width (contrastive space) */
    int shared_dim;   /* shared-task net width */
    int task_dim;     /* task-net / attention width */
    int n_tasks;
    int task_out[CX_M3H_MAX_TASKS];   /* head width: binary bce 1, ce 2; multiclass K; regression 1; clustering: latent width */
    bool task_is_clustering[CX_M3H_MAX_TASKS];
    double alpha;     /* cross-task attention strength */
    double dropout;   /* after the modality nets' and the shared net's hidden layers */
} cx_m3h_config;

/* Defaults: hidden 256, proj_dim 128, shared_dim 256, task_dim 64, alpha 0.1 (the paper's),
 * dropout 0.1; no modalities and no tasks. The paper gives its exact widths only in a
 * supplementary figure we do not have; it says they are "mostly multiples of 64", and alpha 0.1. */
void cx_m3h_config_default(cx_m3h_config *c);

typedef struct {
    cx_var input[CX_M3H_MAX_MODALITIES];        /* graph inputs [N, modality_dim[m]] */
    cx_var projection[CX_M3H_MAX_MODALITIES];   /* [N, proj_dim] for the contrastive loss */
    cx_var task_out[CX_M3H_MAX_TASKS];          /* [N, task_out[t]] head outputs (logits / value / latent) */
    cx_var attention;                           /* [N, T, T] the attention matrix W */
    cx_var reconstruction;                      /* [N, sum modality_dim] or -1 without a clustering task */
} cx_m3h_graph;

/* Build into g (created with the maximum batch). 0, or EX_USAGE recorded for a bad config
 * (no modality, no task, a width < 1, two clustering tasks) or the graph's error. */
int cx_m3h_build(cx_graph *g, const cx_m3h_config *c, cx_m3h_graph *out);

/* After forward and zero_grad, before backward: returns
 *   w_contrastive * (mean InfoNCE over the modality pairs m < m', tau CX_M3H_INFONCE_TAU)
 *   + w_recon * MSE(reconstruction, concatenated inputs)
 * and writes those terms' gradients into the projections' and the reconstruction's gradient
 * buffers (overwriting them). It also zeroes the gradients of the attention output and of a
 * clustering task's latent, which no loss reads directly. One modality gives no contrastive term;
 * no clustering task no reconstruction term. */
float cx_m3h_aux_loss(cx_graph *g, const cx_m3h_config *c, const cx_m3h_graph *m, float w_contrastive, float w_recon);

/* The paper's bias initialisation for an imbalanced binary task: when positives are under 10%
 * of the labelled samples (and both classes occur), task t's head bias becomes
 * log(n_pos / n_neg) (a 1-wide head; a 2-wide head gets it on its positive column, 0 on the other).
 * Returns 1 when it set the bias, 0 when the rule does not apply. Call after cx_graph_init. */
int cx_m3h_init_binary_bias(cx_graph *g, const cx_m3h_config *c, int task, int64_t n_pos, int64_t n_neg);

/* Config to and from a metadata map (checkpoints). from_value: 0, or EX_DATAERR recorded naming
 * the missing or bad key. */
int cx_m3h_config_to_value(const cx_m3h_config *c, cx_value *out);
int cx_m3h_config_from_value(const cx_value *v, cx_m3h_config *c);

#endif
