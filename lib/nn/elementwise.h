/* Element-wise arithmetic with broadcasting, and the channel shape ops of NCHW networks.
 *
 * Flatten ([N, C, H, W] -> [N, C*H*W]) and every other view of contiguous memory are no-ops:
 * the engine's tensors are dense row-major, so the next op simply reads the same buffer with
 * its own shape (and backward passes the same gradient buffer back). No function exists for it.
 */
#ifndef CX_NN_ELEMENTWISE_H
#define CX_NN_ELEMENTWISE_H

#include <stdint.h>

#include "core/tensor.h"

/* ---- broadcast add and multiply ----
 * y = a + b or y = a * b with PyTorch's broadcasting: a and b have ndim dims each (pad the
 * shorter shape with leading 1s) and each dim is either the output's or 1. Residual additions
 * use equal shapes; squeeze-and-excitation gating multiplies [N, C, H, W] by [N, C, 1, 1].
 * Backward sums the gradient over the dims an operand was broadcast along; each gradient
 * element is summed in double in a fixed order by one thread, so results do not depend on the
 * thread count. */
typedef struct {
    int ndim;
    int64_t a_shape[CX_MAX_DIMS];
    int64_t b_shape[CX_MAX_DIMS];
} cx_broadcast_desc;

/* Check the shapes and write the output's ndim dims to y_shape. 0, or EX_DATAERR recorded. */
int cx_broadcast_shape(const cx_broadcast_desc *d, int64_t *y_shape);

/* y (broadcast shape) = a + b. y may be a or b when that operand has the output's shape. */
void cx_add_forward(float *y, const float *a, const float *b, const cx_broadcast_desc *d);
/* da += reduce(dy), db += reduce(dy); either may be NULL. */
void cx_add_backward(float *da, float *db, const float *dy, const cx_broadcast_desc *d);
/* y = a * b; y may be an operand that has the output's shape only if backward does not need it. */
void cx_mul_forward(float *y, const float *a, const float *b, const cx_broadcast_desc *d);
/* da += reduce(dy * b), db += reduce(dy * a); either may be NULL. */
void cx_mul_backward(float *da, float *db, const float *dy, const float *a, const float *b,
                     const cx_broadcast_desc *d);

/* y[n] = s * x[n] (y may be x); backward dx[n] += s * dy[n]. */
void cx_scale_forward(float *y, const float *x, float s, int64_t n);
void cx_scale_backward(float *dx, const float *dy, float s, int64_t n);

/* ---- channel concatenation and split ----
 * parts tensors [n, channels[i], hw] joined along C into [n, sum(channels), hw] (hw = H*W, or
 * any trailing size). Concat backward and split forward take the joined tensor apart; split
 * backward joins the parts' gradients. */
typedef struct {
    int64_t n, hw;
    int parts;
    const int64_t *channels;   /* [parts] */
} cx_channels_desc;

/* y [n, sum(channels), hw] = cat(x[0..parts-1], dim=1) */
void cx_concat_forward(float *y, const float *const *x, const cx_channels_desc *d);
/* dx[i] += its slice of dy; a NULL dx[i] is skipped. */
void cx_concat_backward(float *const *dx, const float *dy, const cx_channels_desc *d);
/* y[i] = slice i of x (torch.split(x, channels, dim=1), copied out). */
void cx_split_forward(float *const *y, const float *x, const cx_channels_desc *d);
/* dx slice i += dy[i]; a NULL dy[i] is a zero gradient (an unused chunk). */
void cx_split_backward(float *dx, const float *const *dy, const cx_channels_desc *d);

/* The channel counts of torch.chunk(x, chunks, dim=1): ceil(c / chunks) each, the last one
 * smaller, so there may be fewer than chunks parts (c = 5, chunks = 4 gives 2, 2, 1).
 * Writes them to channels[] (room for chunks) and returns their number; -1 with EX_DATAERR
 * recorded when c < 1 or chunks < 1. */
int cx_chunk_channels(int64_t c, int chunks, int64_t *channels);

/* ---- channel shuffle (ShuffleNetV2) ----
 * x [n, c, hw] viewed as [n, groups, c/groups, hw], the two middle dims transposed, flattened
 * back: y channel j*groups + i = x channel i*(c/groups) + j. groups must divide c. */
typedef struct {
    int64_t n, c, hw;
    int64_t groups;
} cx_shuffle_desc;

/* 0, or EX_DATAERR recorded when groups does not divide c. */
int cx_shuffle_check(const cx_shuffle_desc *d);
void cx_channel_shuffle_forward(float *y, const float *x, const cx_shuffle_desc *d);
/* dx += the inverse permutation of dy (a shuffle with c/groups groups). */
void cx_channel_shuffle_backward(float *dx, const float *dy, const cx_shuffle_desc *d);

#endif
