/* 2-D convolution and transposed convolution, float32 NCHW, forward and backward.
 *
 * Dense convolutions run as GEMMs on im2col columns; several images share one GEMM when
 * their output planes are small, so OpenBLAS gets wide matrices. A 1x1 stride-1 unpadded
 * convolution of a large plane needs no im2col at all. Depthwise convolutions
 * (groups == in_channels > 1) use a direct kernel.
 *
 * Usage: fill a descriptor, call X_setup (validates it and sets out_h, out_w), then
 * X_workspace_bytes(desc) for the scratch memory that forward and backward take at `work`
 * (one size for both; 0 for depthwise), then forward/backward. Backward ADDS into dx, dw,
 * db; any of them may be NULL to skip it. A dense convolution runs its loops and its GEMMs
 * in one OpenMP team (the BLAS single-threaded within it), so results are bit-identical
 * for a given cx_nn_set_threads count.
 */
#ifndef CX_NN_CONV_H
#define CX_NN_CONV_H

#include <stddef.h>

typedef struct {
    int batch, in_channels, out_channels, in_h, in_w;
    int kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
    /* Explicit padding on each side: PyTorch's symmetric padding p is (p, p, p, p); TensorFlow's
     * "same" comes from cx_conv2d_same_padding and may be one larger at the bottom/right. */
    int pad_top, pad_left, pad_bottom, pad_right;
    int groups;
    int out_h, out_w;   /* set by cx_conv2d_setup */
} cx_conv2d_desc;

/* Check the descriptor and compute out_h, out_w. 0, or EX_DATAERR (recorded) for a
 * non-positive size, stride or dilation, negative padding, channels not divisible by groups,
 * or a kernel larger than the padded input. */
int cx_conv2d_setup(cx_conv2d_desc *d);
/* TensorFlow "same" padding along one axis: total = max((ceil(in/stride)-1)*stride +
 * (kernel-1)*dilation + 1 - in, 0), floor(total/2) before and the rest after. */
void cx_conv2d_same_padding(int in, int kernel, int stride, int dilation, int *before, int *after);
size_t cx_conv2d_workspace_bytes(const cx_conv2d_desc *d);

/* y [batch, out_channels, out_h, out_w] from x [batch, in_channels, in_h, in_w],
 * w [out_channels, in_channels/groups, kernel_h, kernel_w], b [out_channels] or NULL. */
void cx_conv2d_forward(const cx_conv2d_desc *d, float *y, const float *x, const float *w, const float *b,
                       float *work);
void cx_conv2d_backward(const cx_conv2d_desc *d, float *dx, float *dw, float *db, const float *dy, const float *x,
                        const float *w, float *work);

/* PyTorch's ConvTranspose2d with groups 1: x [batch, in_channels, in_h, in_w],
 * w [in_channels, out_channels, kernel_h, kernel_w], b [out_channels] or NULL, and
 * out = (in-1)*stride - 2*pad + dilation*(kernel-1) + output_pad + 1. */
typedef struct {
    int batch, in_channels, out_channels, in_h, in_w;
    int kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
    int pad_h, pad_w, output_pad_h, output_pad_w;
    int out_h, out_w;   /* set by cx_conv_transpose2d_setup */
} cx_conv_transpose2d_desc;

/* 0, or EX_DATAERR (recorded) for a non-positive size, stride or dilation, negative padding,
 * output_pad not below stride or dilation (PyTorch's rule), or an empty output. */
int cx_conv_transpose2d_setup(cx_conv_transpose2d_desc *d);
size_t cx_conv_transpose2d_workspace_bytes(const cx_conv_transpose2d_desc *d);
void cx_conv_transpose2d_forward(const cx_conv_transpose2d_desc *d, float *y, const float *x, const float *w,
                                 const float *b, float *work);
void cx_conv_transpose2d_backward(const cx_conv_transpose2d_desc *d, float *dx, float *dw, float *db,
                                  const float *dy, const float *x, const float *w, float *work);

#endif
