/* Lung segmentation: a U-Net (models/unet.h) trained on image + mask streams, and applied to
 * image streams with post-processing and quality measures.
 *
 * Images are square-resized to the model's size S (area averaging when shrinking, bilinear when
 * growing: image/resize.h, cx_resize) whatever their aspect ratio, and normalised per image:
 * values at the 1st and 99th percentiles go to 0 and 1 (linearly, not clipped), so 8-bit,
 * 16-bit and float inputs of any exposure look alike to the model. Masks (nonzero = lung) are
 * resized the same way to a fraction of lung per pixel, the training target.
 *
 * The model file is a checkpoint (nn/checkpoint.h) whose header config holds the
 * cx_seg_model (preset, base width, size) under "segmentation".
 */
#ifndef CX_SEG_SEG_H
#define CX_SEG_SEG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/tensor.h"
#include "core/value.h"
#include "image/augment.h"
#include "io/stream.h"
#include "models/unet.h"
#include "nn/graph.h"

/* ---- the model ---- */

typedef struct {
    char preset[32];   /* a cx_unet_preset name */
    int base;          /* the first level's width; every width of the preset scales by base / its own */
    int size;          /* input side S, a multiple of 2^depth */
} cx_seg_model;

typedef struct {
    cx_seg_model model;
    cx_unet_config unet;
    cx_graph *g;
    cx_var x, logits;   /* x [B, 1, S, S], logits [B, 1, S, S] */
    int max_batch;
} cx_seg_net;

/* Build (unplanned, uninitialised). 0 or EX_USAGE / EX_DATAERR (recorded) for a bad model. */
int cx_seg_net_build(cx_seg_net *n, const cx_seg_model *m, int max_batch);
/* Build from a model file and load its weights, planned for inference. 0 or an error naming path. */
int cx_seg_net_load(cx_seg_net *n, const char *path, int max_batch);
void cx_seg_net_free(cx_seg_net *n);
cx_value cx_seg_model_to_value(const cx_seg_model *m);
int cx_seg_model_from_value(const cx_value *v, cx_seg_model *m, const char *path);

/* ---- preprocessing ---- */

/* A 2-D tensor ([H, W], or [1, H, W]) of any dtype as a float plane (malloc'd, raw values). */
int cx_seg_plane(const cx_tensor *t, float **plane, int *h, int *w);
/* The model's input: plane [h, w] -> out [S, S], resized and percentile-normalised. */
void cx_seg_prepare_image(const float *plane, int h, int w, int size, float *out);
/* A mask tensor (nonzero = lung) -> out [S, S], lung fraction per pixel. */
void cx_seg_prepare_mask(const float *plane, int h, int w, int size, float *out);

/* ---- training ---- */

typedef struct {
    int64_t n, cap;
    int size;
    float *images, *masks;   /* [n, S, S] each */
    char **ids;
} cx_seg_dataset;

void cx_seg_dataset_init(cx_seg_dataset *d, int size);
void cx_seg_dataset_free(cx_seg_dataset *d);

/* Whether a record goes to the validation part: a fixed rule on its patient (meta.patient, or
 * the id when absent) so that no patient is in both parts: FNV-1a 64 of the name, modulo 10000,
 * below fraction * 10000. */
bool cx_seg_is_validation(const cx_record *rec, double fraction);

/* Read the records of a stream that carry a mask tensor into train (and into val, when given,
 * those cx_seg_is_validation picks). Records without the mask are skipped; a wrong tensor (not
 * 2-D, or mask and image of other sizes) is an error naming the record. *skipped counts them. */
int cx_seg_dataset_read(const char *path, const char *image_name, const char *mask_name, double val_fraction,
                        cx_seg_dataset *train, cx_seg_dataset *val, int64_t *skipped);

typedef struct {
    cx_seg_model model;
    cx_augment_config augment;
    bool no_augment;
    int epochs, batch;
    double lr, weight_decay;
    double dice_weight;      /* loss = BCE + dice_weight * soft Dice */
    uint64_t seed;
    const char *out_path;    /* the best model (by validation Dice; the last without validation) */
    const char *state_path;  /* the last epoch's full state, or NULL */
    bool resume;             /* continue from state_path */
    cx_value run_config;     /* copied into the checkpoint header config (a map, or nil) */
} cx_seg_train_options;

typedef struct {
    int64_t epoch, step, epochs;
    double loss, bce, dice_loss;   /* means over the epoch's batches */
    double val_dice;               /* mean hard Dice at the model's size; NaN without validation */
    double lr, seconds;
    bool best;                     /* this epoch's model became the best */
} cx_seg_epoch;

typedef struct {
    void (*on_step)(void *ctx, int64_t done, int64_t total);   /* batches of this epoch */
    int (*on_epoch)(void *ctx, const cx_seg_epoch *e);         /* nonzero stops with that code */
    void *ctx;
} cx_seg_callbacks;

/* Fit. Adam (betas 0.9, 0.999), learning rate on a cosine from lr to 0 over all steps, loss
 * BCE-with-logits + dice_weight * soft Dice (nn/loss.h), per-epoch shuffles and augmentations
 * drawn from the seeded generator saved in the state, so a resumed run repeats an uninterrupted
 * one. 0 or an error code (recorded). */
int cx_seg_train(const cx_seg_train_options *o, const cx_seg_dataset *train, const cx_seg_dataset *val,
                 const cx_seg_callbacks *cb);

/* ---- application ---- */

/* Probabilities [h, w] for a plane [h, w] (any size): the model at S x S, sigmoid, then mapped
 * back by cx_resize (bilinear when growing), before any threshold. */
int cx_seg_predict(cx_seg_net *n, const float *plane, int h, int w, float *prob);

typedef struct {
    double threshold;      /* 0.5 */
    int keep;              /* components kept: 2 */
    double min_fraction;   /* smallest region kept, as a fraction of the image: 0.02 */
} cx_seg_post;

void cx_seg_post_defaults(cx_seg_post *p);

typedef struct {
    int components;     /* 8-connected components right after the threshold */
    int kept;           /* components after post-processing */
    double fraction;    /* lung area / image area after post-processing */
} cx_seg_quality;

/* Threshold prob [h, w] into mask (0/255), keep the `keep` largest components of at least
 * min_fraction of the image, fill holes. 0 or an error code. */
int cx_seg_postprocess(const float *prob, int h, int w, const cx_seg_post *p, uint8_t *mask, cx_seg_quality *q);

/* Why a mask looks wrong, or NULL: "no lung found", "lung fraction F outside [0.1, 0.7]",
 * "N lung components, not 2" (into buf). */
const char *cx_seg_suspicious(const cx_seg_quality *q, int keep, char *buf, int size);
/* The same verdict as a short code: "ok", "no_lung", "fraction" or "components". */
const char *cx_seg_qc(const cx_seg_quality *q, int keep);

/* Dice 2|A∩B| / (|A|+|B|) and IoU |A∩B| / |A∪B| of two masks (nonzero = in); both 1 when both
 * are empty. */
void cx_mask_overlap(const uint8_t *a, const uint8_t *b, int64_t n, double *dice, double *iou);
/* IoU of two boxes [x0, y0, x1, y1] (x1, y1 exclusive); 0 when both are empty. */
double cx_box_iou(const int a[4], const int b[4]);
/* A box from metadata: an array of 4 numbers or a string of 4 numbers separated by spaces or
 * commas ("x0 y0 x1 y1"). false when absent, null or not such a box. */
bool cx_seg_box_from_value(const cx_value *v, int box[4]);

/* Summary of per-image scores: mean, median, the 5th percentile (linear interpolation, as
 * numpy's default) and the mean of the worst 5% (at least one image). Sorts x. */
typedef struct {
    int64_t n;
    double mean, median, p5, worst5_mean, min;
} cx_score_summary;
void cx_score_summarize(double *x, int64_t n, cx_score_summary *s);

#endif
