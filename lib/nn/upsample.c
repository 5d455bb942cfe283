#include "nn/upsample.h"

#include <math.h>
#include <stdint.h>

#include "core/error.h"

int cx_upsample2d_setup(cx_upsample2d_desc *d) {
    if (d->scale_h < 0 || d->scale_w < 0 || isnan(d->scale_h) || isnan(d->scale_w))
        return cx_err(EX_DATAERR, "upsample2d: negative scale factor");
    if (d->mode != CX_UPSAMPLE_NEAREST && d->mode != CX_UPSAMPLE_BILINEAR)
        return cx_err(EX_DATAERR, "upsample2d: unknown mode %d", (int)d->mode);
    if (d->out_h == 0 && d->scale_h > 0) d->out_h = (int)floor(d->in_h * d->scale_h);
    if (d->out_w == 0 && d->scale_w > 0) d->out_w = (int)floor(d->in_w * d->scale_w);
    if (d->batch < 1 || d->channels < 1 || d->in_h < 1 || d->in_w < 1 || d->out_h < 1 || d->out_w < 1)
        return cx_err(EX_DATAERR, "upsample2d: sizes must be positive (output %dx%d)", d->out_h, d->out_w);
    return 0;
}

/* PyTorch's compute_scales_value in float: 1/scale when a scale was given, else in/out. */
static float source_ratio(int in, int out, double scale) {
    return scale > 0 ? (float)(1.0 / scale) : (float)in / (float)out;
}

/* PyTorch's nearest source index for NCHW tensors: floor(o * ratio) in float, clamped. */
static int nearest_source(int o, int in, int out, double scale) {
    int src = (int)floorf(source_ratio(in, out, scale) * (float)o);
    return src < in - 1 ? src : in - 1;
}

/* Output index o reads input cells i0 and i1 with weights l0 and l1 (PyTorch's
 * compute_source_index_and_lambda, float arithmetic in the same order). */
typedef struct {
    int i0, i1;
    float l0, l1;
} linear_tap;

static linear_tap linear_source(int o, int in, int out, double scale, bool align_corners) {
    if (out == in) return (linear_tap){o, o, 1.0f, 0.0f};
    float src;
    if (align_corners) {
        float ratio = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
        src = ratio * (float)o;
    } else {
        src = (float)((double)source_ratio(in, out, scale) * (o + 0.5) - 0.5);
        if (src < 0) src = 0;
    }
    linear_tap t;
    t.i0 = (int)src;
    t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
    t.l1 = fminf(fmaxf(src - (float)t.i0, 0.0f), 1.0f);
    t.l0 = 1.0f - t.l1;
    return t;
}

void cx_upsample2d_forward(const cx_upsample2d_desc *d, float *y, const float *x) {
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)d->batch * d->channels; p++) {
        const float *xp = x + p * plane_in;
        float *yp = y + p * plane_out;
        for (int oh = 0; oh < d->out_h; oh++) {
            float *out = yp + (int64_t)oh * d->out_w;
            if (d->mode == CX_UPSAMPLE_NEAREST) {
                const float *row = xp + (int64_t)nearest_source(oh, d->in_h, d->out_h, d->scale_h) * d->in_w;
                for (int ow = 0; ow < d->out_w; ow++)
                    out[ow] = row[nearest_source(ow, d->in_w, d->out_w, d->scale_w)];
                continue;
            }
            linear_tap th = linear_source(oh, d->in_h, d->out_h, d->scale_h, d->align_corners);
            const float *row0 = xp + (int64_t)th.i0 * d->in_w, *row1 = xp + (int64_t)th.i1 * d->in_w;
            for (int ow = 0; ow < d->out_w; ow++) {
                linear_tap tw = linear_source(ow, d->in_w, d->out_w, d->scale_w, d->align_corners);
                out[ow] = th.l0 * (tw.l0 * row0[tw.i0] + tw.l1 * row0[tw.i1]) +
                          th.l1 * (tw.l0 * row1[tw.i0] + tw.l1 * row1[tw.i1]);
            }
        }
    }
}

void cx_upsample2d_backward(const cx_upsample2d_desc *d, float *dx, const float *dy) {
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)d->batch * d->channels; p++) {
        float *dxp = dx + p * plane_in;
        const float *dyp = dy + p * plane_out;
        for (int oh = 0; oh < d->out_h; oh++) {
            const float *grad = dyp + (int64_t)oh * d->out_w;
            if (d->mode == CX_UPSAMPLE_NEAREST) {
                float *row = dxp + (int64_t)nearest_source(oh, d->in_h, d->out_h, d->scale_h) * d->in_w;
                for (int ow = 0; ow < d->out_w; ow++)
                    row[nearest_source(ow, d->in_w, d->out_w, d->scale_w)] += grad[ow];
                continue;
            }
            linear_tap th = linear_source(oh, d->in_h, d->out_h, d->scale_h, d->align_corners);
            float *row0 = dxp + (int64_t)th.i0 * d->in_w, *row1 = dxp + (int64_t)th.i1 * d->in_w;
            for (int ow = 0; ow < d->out_w; ow++) {
                linear_tap tw = linear_source(ow, d->in_w, d->out_w, d->scale_w, d->align_corners);
                row0[tw.i0] += th.l0 * tw.l0 * grad[ow];
                row0[tw.i1] += th.l0 * tw.l1 * grad[ow];
                row1[tw.i0] += th.l1 * tw.l0 * grad[ow];
                row1[tw.i1] += th.l1 * tw.l1 * grad[ow];
            }
        }
    }
}
