#include "nn/pool.h"

#include <math.h>

#include "core/error.h"

/* PyTorch's pooling_output_shape with dilation 1. */
static int pool_out_size(int in, int kernel, int stride, int pad, bool ceil_mode) {
    int span = in + 2 * pad - kernel;
    int out = (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
    if (ceil_mode && (out - 1) * stride >= in + pad) out--;
    return out;
}

int cx_pool2d_setup(cx_pool2d_desc *d) {
    if (d->batch < 1 || d->channels < 1 || d->in_h < 1 || d->in_w < 1 || d->kernel_h < 1 || d->kernel_w < 1 ||
        d->stride_h < 1 || d->stride_w < 1)
        return cx_err(EX_DATAERR, "pool2d: sizes and strides must be positive");
    if (d->pad_h < 0 || d->pad_w < 0 || d->pad_h > d->kernel_h / 2 || d->pad_w > d->kernel_w / 2)
        return cx_err(EX_DATAERR, "pool2d: padding %dx%d is negative or above half the kernel %dx%d", d->pad_h,
                      d->pad_w, d->kernel_h, d->kernel_w);
    if (d->in_h + 2 * d->pad_h < d->kernel_h || d->in_w + 2 * d->pad_w < d->kernel_w)
        return cx_err(EX_DATAERR, "pool2d: kernel %dx%d larger than the padded input", d->kernel_h, d->kernel_w);
    d->out_h = pool_out_size(d->in_h, d->kernel_h, d->stride_h, d->pad_h, d->ceil_mode);
    d->out_w = pool_out_size(d->in_w, d->kernel_w, d->stride_w, d->pad_w, d->ceil_mode);
    if (d->out_h < 1 || d->out_w < 1) return cx_err(EX_DATAERR, "pool2d: empty output");
    return 0;
}

/* A pooling window's rows [h0, h1) x columns [w0, w1) clipped to the input, and the count
 * PyTorch's average pooling divides by. */
typedef struct {
    int h0, h1, w0, w1, divisor;
} window;

static window pool_window(const cx_pool2d_desc *d, int oh, int ow) {
    int h0 = oh * d->stride_h - d->pad_h, w0 = ow * d->stride_w - d->pad_w;
    /* count_include_pad counts padding cells but not the part a ceil-mode window hangs over it */
    int h1 = h0 + d->kernel_h, w1 = w0 + d->kernel_w;
    if (h1 > d->in_h + d->pad_h) h1 = d->in_h + d->pad_h;
    if (w1 > d->in_w + d->pad_w) w1 = d->in_w + d->pad_w;
    int padded = (h1 - h0) * (w1 - w0);
    window win = {h0 < 0 ? 0 : h0, h1 < d->in_h ? h1 : d->in_h, w0 < 0 ? 0 : w0, w1 < d->in_w ? w1 : d->in_w, 0};
    win.divisor = d->count_include_pad ? padded : (win.h1 - win.h0) * (win.w1 - win.w0);
    return win;
}

void cx_maxpool2d_forward(const cx_pool2d_desc *d, float *y, int32_t *argmax, const float *x) {
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)d->batch * d->channels; p++) {
        const float *xp = x + p * plane_in;
        for (int oh = 0; oh < d->out_h; oh++) {
            for (int ow = 0; ow < d->out_w; ow++) {
                window win = pool_window(d, oh, ow);
                int best = win.h0 * d->in_w + win.w0;
                float best_value = -INFINITY;
                for (int ih = win.h0; ih < win.h1; ih++) {
                    for (int iw = win.w0; iw < win.w1; iw++) {
                        float v = xp[ih * d->in_w + iw];
                        if (v > best_value || isnan(v)) {
                            best_value = v;
                            best = ih * d->in_w + iw;
                        }
                    }
                }
                int64_t o = p * plane_out + (int64_t)oh * d->out_w + ow;
                y[o] = best_value;
                if (argmax) argmax[o] = best;
            }
        }
    }
}

void cx_maxpool2d_backward(const cx_pool2d_desc *d, float *dx, const float *dy, const int32_t *argmax) {
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)d->batch * d->channels; p++)
        for (int64_t k = 0; k < plane_out; k++) dx[p * plane_in + argmax[p * plane_out + k]] += dy[p * plane_out + k];
}

void cx_avgpool2d_forward(const cx_pool2d_desc *d, float *y, const float *x) {
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)d->batch * d->channels; p++) {
        const float *xp = x + p * plane_in;
        for (int oh = 0; oh < d->out_h; oh++) {
            for (int ow = 0; ow < d->out_w; ow++) {
                window win = pool_window(d, oh, ow);
                float sum = 0;
                for (int ih = win.h0; ih < win.h1; ih++)
                    for (int iw = win.w0; iw < win.w1; iw++) sum += xp[ih * d->in_w + iw];
                y[p * plane_out + (int64_t)oh * d->out_w + ow] = win.divisor > 0 ? sum / (float)win.divisor : 0.0f;
            }
        }
    }
}

void cx_avgpool2d_backward(const cx_pool2d_desc *d, float *dx, const float *dy) {
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)d->batch * d->channels; p++) {
        float *dxp = dx + p * plane_in;
        for (int oh = 0; oh < d->out_h; oh++) {
            for (int ow = 0; ow < d->out_w; ow++) {
                window win = pool_window(d, oh, ow);
                if (win.divisor <= 0) continue;
                float g = dy[p * plane_out + (int64_t)oh * d->out_w + ow] / (float)win.divisor;
                for (int ih = win.h0; ih < win.h1; ih++)
                    for (int iw = win.w0; iw < win.w1; iw++) dxp[ih * d->in_w + iw] += g;
            }
        }
    }
}

/* ---- adaptive average pooling ---- */

int cx_adaptive_pool2d_setup(const cx_adaptive_pool2d_desc *d) {
    if (d->batch < 1 || d->channels < 1 || d->in_h < 1 || d->in_w < 1 || d->out_h < 1 || d->out_w < 1)
        return cx_err(EX_DATAERR, "adaptive_pool2d: sizes must be positive");
    return 0;
}

/* Bin i of `out` over `in` cells: [floor(i*in/out), ceil((i+1)*in/out)). */
static int bin_start(int i, int out, int in) { return (int)((int64_t)i * in / out); }
static int bin_end(int i, int out, int in) { return (int)(((int64_t)(i + 1) * in + out - 1) / out); }

static void global_avgpool_forward(const cx_adaptive_pool2d_desc *d, float *y, const float *x) {
    int64_t plane = (int64_t)d->in_h * d->in_w;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)d->batch * d->channels; p++) {
        const float *xp = x + p * plane;
        double sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int64_t k = 0; k < plane; k++) sum += xp[k];
        y[p] = (float)(sum / (double)plane);
    }
}

static void global_avgpool_backward(const cx_adaptive_pool2d_desc *d, float *dx, const float *dy) {
    int64_t plane = (int64_t)d->in_h * d->in_w;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)d->batch * d->channels; p++) {
        float g = dy[p] / (float)plane, *dxp = dx + p * plane;
        for (int64_t k = 0; k < plane; k++) dxp[k] += g;
    }
}

void cx_adaptive_avgpool2d_forward(const cx_adaptive_pool2d_desc *d, float *y, const float *x) {
    if (d->out_h == 1 && d->out_w == 1) {
        global_avgpool_forward(d, y, x);
        return;
    }
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)d->batch * d->channels; p++) {
        const float *xp = x + p * plane_in;
        for (int oh = 0; oh < d->out_h; oh++) {
            int h0 = bin_start(oh, d->out_h, d->in_h), h1 = bin_end(oh, d->out_h, d->in_h);
            for (int ow = 0; ow < d->out_w; ow++) {
                int w0 = bin_start(ow, d->out_w, d->in_w), w1 = bin_end(ow, d->out_w, d->in_w);
                double sum = 0;
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++) sum += xp[ih * d->in_w + iw];
                y[p * plane_out + (int64_t)oh * d->out_w + ow] = (float)(sum / ((h1 - h0) * (w1 - w0)));
            }
        }
    }
}

void cx_adaptive_avgpool2d_backward(const cx_adaptive_pool2d_desc *d, float *dx, const float *dy) {
    if (d->out_h == 1 && d->out_w == 1) {
        global_avgpool_backward(d, dx, dy);
        return;
    }
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)d->batch * d->channels; p++) {
        float *dxp = dx + p * plane_in;
        for (int oh = 0; oh < d->out_h; oh++) {
            int h0 = bin_start(oh, d->out_h, d->in_h), h1 = bin_end(oh, d->out_h, d->in_h);
            for (int ow = 0; ow < d->out_w; ow++) {
                int w0 = bin_start(ow, d->out_w, d->in_w), w1 = bin_end(ow, d->out_w, d->in_w);
                float g = dy[p * plane_out + (int64_t)oh * d->out_w + ow] / (float)((h1 - h0) * (w1 - w0));
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++) dxp[ih * d->in_w + iw] += g;
            }
        }
    }
}
