/* embed(1): a backbone over crops gives one feature vector per record: the pooled features, or a
 * named intermediate activation (as cxr-model --layers names it), global-average-pooled when it
 * is [N, C, H, W]. The backbone comes from the registry (with safetensors weights) or from an
 * mt-train checkpoint (its shared backbone). */
#ifndef CX_TRAIN_EMBED_H
#define CX_TRAIN_EMBED_H

#include "io/stream.h"
#include "train/model.h"

typedef struct {
    cx_mt_model model;   /* the backbone (and, from a checkpoint, its heads, unused) */
    cx_var out;          /* [N, dim] */
    int dim;
} cx_embedder;

/* Build for crops [channels, size, size] in batches up to max_batch, planned for inference.
 * checkpoint: an mt-train checkpoint whose backbone to use (backbone may then be NULL, or must
 * name the same one); otherwise backbone with weights (safetensors, may be NULL: initialised
 * from seed 0). layer: NULL for the pooled features. 0 or an error code (recorded). */
int cx_embedder_build(cx_embedder *e, const char *backbone, const char *weights, const char *checkpoint,
                      const char *layer, int channels, int size, int max_batch);
void cx_embedder_free(cx_embedder *e);

/* Embed records rec[0..n) (n <= max_batch), whose tensor "image" has the embedder's shape: each
 * gets tensor "embedding" f32 [dim] in place of its tensors, and meta embedding_model. */
int cx_embedder_run(cx_embedder *e, cx_record *rec, int n, const char *file);

#endif
