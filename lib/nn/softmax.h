/* Softmax and log-softmax along one axis of an N-d tensor.
 *
 * The tensor is viewed as [outer, dim, inner] with the axis in the middle: the last axis has
 * inner = 1, NCHW channels have outer = N, dim = C, inner = H*W. Numerically stable (the
 * maximum along the axis is subtracted first); sums run in double.
 *
 * Backward reads only the forward output y, so the forward may run in place (y == x):
 *   softmax      dx += y * (dy - sum(dy * y))
 *   log-softmax  dx += dy - exp(y) * sum(dy)
 * (sums along the axis), as PyTorch defines them.
 */
#ifndef CX_NN_SOFTMAX_H
#define CX_NN_SOFTMAX_H

#include <stdint.h>

typedef struct {
    int64_t outer, dim, inner;
} cx_softmax_desc;

/* The view for axis of an ndim-dim shape (negative axis counts from the end, as torch's dim).
 * 0, or EX_DATAERR recorded when the axis is out of range. */
int cx_softmax_desc_make(cx_softmax_desc *d, int ndim, const int64_t *shape, int axis);

void cx_softmax_forward(float *y, const float *x, const cx_softmax_desc *d);
void cx_softmax_backward(float *dx, const float *dy, const float *y, const cx_softmax_desc *d);
void cx_log_softmax_forward(float *y, const float *x, const cx_softmax_desc *d);
void cx_log_softmax_backward(float *dx, const float *dy, const float *y, const cx_softmax_desc *d);

#endif
