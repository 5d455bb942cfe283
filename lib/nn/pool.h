/* 2-D pooling, float32 NCHW, forward and backward, with PyTorch's exact semantics:
 * max and average pooling over kernel windows (padding, ceil mode, count_include_pad),
 * adaptive average pooling to a given size, and global average pooling as its 1x1 case.
 * Backward ADDS into dx. */
#ifndef CX_NN_POOL_H
#define CX_NN_POOL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int batch, channels, in_h, in_w;
    int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;   /* symmetric padding */
    /* Ceil mode rounds the output size up, but as in PyTorch a last window that would start
     * in the right/bottom padding is dropped. */
    bool ceil_mode;
    bool count_include_pad;   /* average pooling: divide by the window clipped to input + padding */
    int out_h, out_w;         /* set by cx_pool2d_setup */
} cx_pool2d_desc;

/* Check the descriptor and compute out_h, out_w. 0, or EX_DATAERR (recorded) for a
 * non-positive size or stride, padding negative or above half the kernel (PyTorch's limit),
 * or an empty output. */
int cx_pool2d_setup(cx_pool2d_desc *d);

/* y [batch, channels, out_h, out_w]. argmax (same shape, may be NULL) receives the position
 * ih * in_w + iw of each window's maximum within its plane, the first one on ties; a NaN
 * wins over numbers (as in PyTorch). */
void cx_maxpool2d_forward(const cx_pool2d_desc *d, float *y, int32_t *argmax, const float *x);
void cx_maxpool2d_backward(const cx_pool2d_desc *d, float *dx, const float *dy, const int32_t *argmax);

void cx_avgpool2d_forward(const cx_pool2d_desc *d, float *y, const float *x);
void cx_avgpool2d_backward(const cx_pool2d_desc *d, float *dx, const float *dy);

/* Adaptive average pooling: output cell (i, j) averages input rows floor(i*in_h/out_h) to
 * ceil((i+1)*in_h/out_h) - 1, and likewise for columns. out_h = out_w = 1 is global average
 * pooling (a fast path). */
typedef struct {
    int batch, channels, in_h, in_w, out_h, out_w;
} cx_adaptive_pool2d_desc;

int cx_adaptive_pool2d_setup(const cx_adaptive_pool2d_desc *d);   /* 0, or EX_DATAERR for a size < 1 */
void cx_adaptive_avgpool2d_forward(const cx_adaptive_pool2d_desc *d, float *y, const float *x);
void cx_adaptive_avgpool2d_backward(const cx_adaptive_pool2d_desc *d, float *dx, const float *dy);

#endif
