/* Training checkpoints in the stream format (cxr-stream(5), kind "checkpoint"), so that a
 * checkpoint is inspectable with cxr-inspect and a resumed run continues bit-identically.
 *
 *   header     kind "checkpoint", "checkpoint_version": 1, "config": the caller's model and
 *              run configuration (a map; mt-train keeps everything needed to rebuild the model)
 *   records    one per parameter and buffer, id = its state_dict name, meta {"kind": "param" |
 *              "buffer"}, tensor "value" (f32, its shape) and, for parameters, the optimiser's
 *              state under torch.optim's names ("exp_avg", "exp_avg_sq", "momentum_buffer")
 *   last       id "__train_state__": meta {"step", "epoch", "optimizer": {kind, lr,
 *              weight_decay, betas, eps, momentum, dampening, nesterov, step}, "extra": the
 *              caller's state (data order, best score, patience, ...)} and tensor "rng" (i64 [4],
 *              the generator's state bit for bit)
 */
#ifndef CX_NN_CHECKPOINT_H
#define CX_NN_CHECKPOINT_H

#include <stdint.h>

#include "core/rng.h"
#include "core/value.h"
#include "nn/graph.h"
#include "nn/optim.h"

#define CX_CHECKPOINT_VERSION 1

typedef struct {
    int64_t step, epoch;
    cx_rng rng;
    cx_optim optim;
    /* Optimiser state arrays in the layout of cx_graph_params (NULL where the optimiser has none). */
    float *m, *v;
    cx_value config;   /* a map, saved in the header */
    cx_value extra;    /* a map, saved in the train state */
} cx_train_state;

/* path is written atomically. 0 or an error code (recorded). */
int cx_checkpoint_save(const char *path, const cx_graph *g, const cx_train_state *st);
/* Read a checkpoint's header configuration only (to rebuild the model before loading). */
int cx_checkpoint_config(const char *path, cx_value *config);
/* Load weights, buffers and (when st->m / st->v are given) the optimiser state; fill st's
 * scalars, rng, config and extra (freeing what st held). Every parameter and buffer of g must be
 * in the file with its shape, and the file may hold no others: otherwise an error naming the key. */
int cx_checkpoint_load(const char *path, cx_graph *g, cx_train_state *st);
void cx_train_state_free(cx_train_state *st);

#endif
