/* A graph's parameters and buffers in and out of safetensors files, by state_dict name, so
 * that weights converted from torchvision or downloaded from timm load unchanged and trained
 * weights load back into PyTorch (model.load_state_dict(safetensors.torch.load_file(...))).
 *
 * Loading is strict by default: a key the model has and the file lacks, a key the file has and
 * the model lacks, or a shape that differs is an error naming the key and both shapes.
 * BatchNorm's num_batches_tracked counters are accepted and ignored (momentum is fixed, so
 * the count changes nothing); saving writes none, which PyTorch's loader accepts. */
#ifndef CX_NN_WEIGHTS_H
#define CX_NN_WEIGHTS_H

#include <stdbool.h>

#include "core/value.h"
#include "nn/graph.h"

typedef struct {
    /* Keys starting with any of these prefixes are left alone on both sides (e.g. "fc." when a
     * classifier is replaced by task heads). NULL-terminated; NULL for none. */
    const char *const *skip_prefixes;
    bool allow_missing;      /* model keys absent from the file keep their values */
    bool allow_unexpected;   /* file keys absent from the model are ignored */
    /* A [O, 3, k, k] weight loads into a [O, 1, k, k] one by summing the colour filters, so a
     * gray-scale model starts from RGB ImageNet weights (the input's three equal channels). */
    bool sum_rgb_filters;
} cx_weights_options;

/* 0, or EX_NOINPUT / EX_DATAERR (recorded: file, key, shapes). Nothing is changed on error. */
int cx_weights_load(cx_graph *g, const char *path, const cx_weights_options *opt);
/* Every parameter and buffer as F32; metadata (a map of strings) may be NULL. */
int cx_weights_save(const cx_graph *g, const char *path, const cx_value *metadata);

#endif
