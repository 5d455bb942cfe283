/* 2-D resampling of float32 NCHW planes as PyTorch's F.interpolate: 'nearest' and 'bilinear'
 * (align_corners false or true), to a given size or by a scale factor. Backward ADDS into dx.
 *
 * PyTorch maps output index o to a source position with the ratio 1/scale when a scale
 * factor was given and in/out otherwise; the two differ when in*scale is not whole (in 5,
 * scale 1.5: out 7, ratio 0.667 rather than 0.714), so the descriptor keeps the scale.
 *
 * 'nearest' follows PyTorch 1.13's kernel for NCHW tensors, src = floor(o * ratio) with the
 * ratio in float. (PyTorch sends a one-channel tensor, which is also channels-last
 * contiguous, to another kernel that copies when out == in and takes o / 2 when out == 2 in,
 * whatever the scale factor; only a scale factor that is not whole tells the two apart.) */
#ifndef CX_NN_UPSAMPLE_H
#define CX_NN_UPSAMPLE_H

#include <stdbool.h>

typedef enum { CX_UPSAMPLE_NEAREST, CX_UPSAMPLE_BILINEAR } cx_upsample_mode;

typedef struct {
    int batch, channels, in_h, in_w;
    /* The output size; 0 with a scale factor > 0 means floor(in * scale) (set by setup). */
    int out_h, out_w;
    double scale_h, scale_w;   /* the scale factor, or 0 for none */
    cx_upsample_mode mode;
    bool align_corners;        /* bilinear only: corner pixels' centres map onto each other */
} cx_upsample2d_desc;

/* Fill in out_h/out_w from the scale factors where they are 0 and check the descriptor:
 * 0, or EX_DATAERR (recorded) for a size < 1, a negative scale or an unknown mode. */
int cx_upsample2d_setup(cx_upsample2d_desc *d);
/* y [batch, channels, out_h, out_w] from x [batch, channels, in_h, in_w]. */
void cx_upsample2d_forward(const cx_upsample2d_desc *d, float *y, const float *x);
void cx_upsample2d_backward(const cx_upsample2d_desc *d, float *dx, const float *dy);

#endif
