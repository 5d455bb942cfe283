#include "nn/conv.h"

#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "nn/nn.h"

/* Threads: a dense convolution runs in ONE OpenMP parallel region. Its team unfolds the
 * columns together (orphaned `omp for` loops in the helpers below), then every thread
 * multiplies its own block of each GEMM with a single-threaded BLAS. Handing the cores back
 * and forth between OpenMP's and OpenBLAS's thread pools instead leaves each pool spinning
 * while the other works (measured twice as slow on 2 cores).
 *
 * OpenBLAS runs far below its peak on narrow matrices (shared/bench/README.md): images share
 * one GEMM until its N (images x output plane) reaches this many columns. */
#define GEMM_MIN_COLUMNS 4096

/* A stack of `channels` planes (in_h x in_w) read by a dilated kernel window at out_h x out_w
 * strided positions: the convolution's input side, which im2col unfolds and col2im folds.
 * For the transposed convolution its output is the stack that the windows cover. */
typedef struct {
    int channels, in_h, in_w, out_h, out_w;
    int kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
} window_geom;

static int min_int(int a, int b) { return a < b ? a : b; }

/* The window positions o in [*lo, *hi) whose tap o*stride + offset lies inside [0, in). */
static void tap_range(int offset, int stride, int in, int out, int *lo, int *hi) {
    int l = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int h = in - offset <= 0 ? 0 : (in - offset - 1) / stride + 1;
    h = min_int(h, out);
    *lo = min_int(l, h);
    *hi = h;
}

/* The window positions where tap t (row-major in the kernel) lies inside the input: a block
 * of rows x cols positions. On the window side (im2col's columns, an output plane) the block
 * starts at win_at, rows win_pitch apart, positions contiguous; on the input side it starts
 * at in_at, rows in_pitch apart, positions `stride` apart. */
typedef struct {
    int64_t win_at, win_pitch, in_at, in_pitch;
    int rows, cols, stride;
} tap_block;

static tap_block tap_at(const window_geom *g, int t) {
    int row_off = t / g->kernel_w * g->dilation_h - g->pad_top;
    int col_off = t % g->kernel_w * g->dilation_w - g->pad_left;
    int oh_lo, oh_hi, ow_lo, ow_hi;
    tap_range(row_off, g->stride_h, g->in_h, g->out_h, &oh_lo, &oh_hi);
    tap_range(col_off, g->stride_w, g->in_w, g->out_w, &ow_lo, &ow_hi);
    tap_block b;
    b.win_at = (int64_t)oh_lo * g->out_w + ow_lo;
    b.win_pitch = g->out_w;
    b.in_at = (int64_t)(oh_lo * g->stride_h + row_off) * g->in_w + col_off + (int64_t)ow_lo * g->stride_w;
    b.in_pitch = (int64_t)g->stride_h * g->in_w;
    b.rows = oh_hi - oh_lo, b.cols = ow_hi - ow_lo, b.stride = g->stride_w;
    return b;
}

/* Kernels over a tap block (win, in: the planes' starts). Each is one loop nest, instantiated
 * with the literal strides 1 and 2 (nearly all convolutions) so that those vectorise. */
static inline void gather_block_at(const tap_block *b, int stride, float *win, const float *in) {
    for (int r = 0; r < b->rows; r++) {
        float *w = win + b->win_at + r * b->win_pitch;
        const float *x = in + b->in_at + r * b->in_pitch;
#pragma omp simd
        for (int c = 0; c < b->cols; c++) w[c] = x[(int64_t)c * stride];
    }
}

static inline void axpy_gather_block_at(const tap_block *b, int stride, float *win, float a, const float *in) {
    for (int r = 0; r < b->rows; r++) {
        float *w = win + b->win_at + r * b->win_pitch;
        const float *x = in + b->in_at + r * b->in_pitch;
#pragma omp simd
        for (int c = 0; c < b->cols; c++) w[c] += a * x[(int64_t)c * stride];
    }
}

static inline void axpy_scatter_block_at(const tap_block *b, int stride, float *in, float a, const float *win) {
    for (int r = 0; r < b->rows; r++) {
        const float *w = win + b->win_at + r * b->win_pitch;
        float *x = in + b->in_at + r * b->in_pitch;
#pragma omp simd
        for (int c = 0; c < b->cols; c++) x[(int64_t)c * stride] += a * w[c];
    }
}

static inline double dot_block_at(const tap_block *b, int stride, const float *win, const float *in) {
    double sum = 0;
    for (int r = 0; r < b->rows; r++) {
        const float *w = win + b->win_at + r * b->win_pitch, *x = in + b->in_at + r * b->in_pitch;
        float dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int c = 0; c < b->cols; c++) dot += w[c] * x[(int64_t)c * stride];
        sum += dot;
    }
    return sum;
}

/* win = in under the tap (im2col) */
static void gather_block(const tap_block *b, float *win, const float *in) {
    if (b->stride == 1) gather_block_at(b, 1, win, in);
    else if (b->stride == 2) gather_block_at(b, 2, win, in);
    else gather_block_at(b, b->stride, win, in);
}

/* win += a * in under the tap (depthwise forward) */
static void axpy_gather_block(const tap_block *b, float *win, float a, const float *in) {
    if (b->stride == 1) axpy_gather_block_at(b, 1, win, a, in);
    else if (b->stride == 2) axpy_gather_block_at(b, 2, win, a, in);
    else axpy_gather_block_at(b, b->stride, win, a, in);
}

/* in += a * win under the tap (col2im, depthwise input gradient) */
static void axpy_scatter_block(const tap_block *b, float *in, float a, const float *win) {
    if (b->stride == 1) axpy_scatter_block_at(b, 1, in, a, win);
    else if (b->stride == 2) axpy_scatter_block_at(b, 2, in, a, win);
    else axpy_scatter_block_at(b, b->stride, in, a, win);
}

/* sum of win * in under the tap (depthwise weight gradient): row dots in float, summed in double */
static double dot_block(const tap_block *b, const float *win, const float *in) {
    if (b->stride == 1) return dot_block_at(b, 1, win, in);
    if (b->stride == 2) return dot_block_at(b, 2, win, in);
    return dot_block_at(b, b->stride, win, in);
}

/* Images per GEMM: enough that the GEMM is at least GEMM_MIN_COLUMNS wide. */
static int images_per_gemm(int batch, int64_t plane) {
    int64_t n = (GEMM_MIN_COLUMNS + plane - 1) / plane;
    return n < batch ? (int)n : batch;
}

/* [*lo, *hi): this thread's share of n items, cut at multiples of `align`. */
static void thread_share(int n, int align, int *lo, int *hi) {
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t blocks = (n + align - 1) / align;
    *lo = min_int((int)(blocks * t / nt) * align, n);
    *hi = min_int((int)(blocks * (t + 1) / nt) * align, n);
}

/* C = op(A) op(B) + beta C by the whole team: each thread computes a block of C's columns
 * (of its rows when C is taller than wide) with the single-threaded BLAS. Ends in a barrier. */
static void team_sgemm(bool trans_a, bool trans_b, int m, int n, int k, const float *a, int lda, const float *b,
                       int ldb, float beta, float *c, int ldc) {
    int lo, hi;
    if (n >= m) {
        thread_share(n, 16, &lo, &hi);
        if (hi > lo)
            cx_sgemm(trans_a, trans_b, m, hi - lo, k, 1.0f, a, lda, trans_b ? b + (int64_t)lo * ldb : b + lo, ldb,
                     beta, c + lo, ldc);
    } else {
        thread_share(m, 4, &lo, &hi);
        if (hi > lo)
            cx_sgemm(trans_a, trans_b, hi - lo, n, k, 1.0f, trans_a ? a + lo : a + (int64_t)lo * lda, lda, b, ldb,
                     beta, c + (int64_t)lo * ldc, ldc);
    }
#pragma omp barrier
}

/* The helpers below share their loops among the threads of the enclosing parallel region. */

/* col [channels * kernel_h * kernel_w][nimages * out_h * out_w] from nimages plane stacks
 * image_stride floats apart; taps outside the input are 0. */
static void im2col(const window_geom *g, const float *x, int64_t image_stride, int nimages, float *col) {
    int taps = g->kernel_h * g->kernel_w, rows = g->channels * taps;
    int64_t plane_in = (int64_t)g->in_h * g->in_w, plane_out = (int64_t)g->out_h * g->out_w;
    int64_t ncols = nimages * plane_out;
#pragma omp for collapse(2) schedule(static)
    for (int r = 0; r < rows; r++) {
        for (int n = 0; n < nimages; n++) {
            tap_block b = tap_at(g, r % taps);
            float *dst = col + r * ncols + n * plane_out;
            if ((int64_t)b.rows * b.cols < plane_out) memset(dst, 0, (size_t)plane_out * sizeof(float));
            gather_block(&b, dst, x + n * image_stride + r / taps * plane_in);
        }
    }
}

/* x += col folded back onto the planes (the adjoint of im2col). Each (image, channel) plane
 * belongs to one thread and receives its taps in a fixed order. */
static void col2im_add(const window_geom *g, const float *col, int nimages, float *x, int64_t image_stride) {
    int taps = g->kernel_h * g->kernel_w;
    int64_t plane_in = (int64_t)g->in_h * g->in_w, plane_out = (int64_t)g->out_h * g->out_w;
    int64_t ncols = nimages * plane_out;
#pragma omp for collapse(2) schedule(static)
    for (int n = 0; n < nimages; n++) {
        for (int c = 0; c < g->channels; c++) {
            for (int t = 0; t < taps; t++) {
                tap_block b = tap_at(g, t);
                axpy_scatter_block(&b, x + n * image_stride + c * plane_in, 1.0f,
                                   col + ((int64_t)c * taps + t) * ncols + n * plane_out);
            }
        }
    }
}

/* packed [channels][nimages * plane] from nimages NCHW images image_stride floats apart:
 * the layout of one GEMM over several images. */
static void pack_images(float *packed, const float *src, int channels, int nimages, int64_t plane,
                        int64_t image_stride) {
#pragma omp for collapse(2) schedule(static)
    for (int c = 0; c < channels; c++)
        for (int n = 0; n < nimages; n++)
            memcpy(packed + ((int64_t)c * nimages + n) * plane, src + n * image_stride + c * plane,
                   (size_t)plane * sizeof(float));
}

/* The inverse of pack_images: dst = packed + bias (bias may be NULL), or dst += packed when
 * accumulate. Works in place when nimages is 1 and dst is packed. */
static void unpack_images(float *dst, const float *packed, const float *bias, bool accumulate, int channels,
                          int nimages, int64_t plane, int64_t image_stride) {
#pragma omp for collapse(2) schedule(static)
    for (int c = 0; c < channels; c++) {
        for (int n = 0; n < nimages; n++) {
            const float *src = packed + ((int64_t)c * nimages + n) * plane;
            float *out = dst + n * image_stride + c * plane;
            float add = bias ? bias[c] : 0.0f;
            if (accumulate) {
#pragma omp simd
                for (int64_t k = 0; k < plane; k++) out[k] += src[k];
            } else {
#pragma omp simd
                for (int64_t k = 0; k < plane; k++) out[k] = src[k] + add;
            }
        }
    }
}

/* db[c] += the sum of dy [batch, channels, plane] over images and plane. */
static void bias_grad(float *db, const float *dy, int batch, int channels, int64_t plane) {
#pragma omp parallel for schedule(static)
    for (int c = 0; c < channels; c++) {
        double sum = 0;
        for (int n = 0; n < batch; n++) {
            const float *p = dy + ((int64_t)n * channels + c) * plane;
#pragma omp simd reduction(+ : sum)
            for (int64_t k = 0; k < plane; k++) sum += p[k];
        }
        db[c] += (float)sum;
    }
}

/* ---- convolution ---- */

int cx_conv2d_setup(cx_conv2d_desc *d) {
    if (d->batch < 1 || d->in_channels < 1 || d->out_channels < 1 || d->in_h < 1 || d->in_w < 1 ||
        d->kernel_h < 1 || d->kernel_w < 1 || d->stride_h < 1 || d->stride_w < 1 || d->dilation_h < 1 ||
        d->dilation_w < 1 || d->groups < 1)
        return cx_err(EX_DATAERR, "conv2d: sizes, strides, dilations and groups must be positive");
    if (d->pad_top < 0 || d->pad_left < 0 || d->pad_bottom < 0 || d->pad_right < 0)
        return cx_err(EX_DATAERR, "conv2d: negative padding");
    if (d->in_channels % d->groups || d->out_channels % d->groups)
        return cx_err(EX_DATAERR, "conv2d: %d input and %d output channels do not split into %d groups",
                      d->in_channels, d->out_channels, d->groups);
    int span_h = d->dilation_h * (d->kernel_h - 1) + 1, span_w = d->dilation_w * (d->kernel_w - 1) + 1;
    int padded_h = d->in_h + d->pad_top + d->pad_bottom, padded_w = d->in_w + d->pad_left + d->pad_right;
    if (span_h > padded_h || span_w > padded_w)
        return cx_err(EX_DATAERR, "conv2d: kernel spans %dx%d, larger than the padded input %dx%d", span_h, span_w,
                      padded_h, padded_w);
    d->out_h = (padded_h - span_h) / d->stride_h + 1;
    d->out_w = (padded_w - span_w) / d->stride_w + 1;
    return 0;
}

void cx_conv2d_same_padding(int in, int kernel, int stride, int dilation, int *before, int *after) {
    int out = (in + stride - 1) / stride;
    int total = (out - 1) * stride + (kernel - 1) * dilation + 1 - in;
    if (total < 0) total = 0;
    *before = total / 2;
    *after = total - *before;
}

static bool conv_is_depthwise(const cx_conv2d_desc *d) { return d->groups > 1 && d->groups == d->in_channels; }

/* A 1x1 stride-1 unpadded convolution: the input planes already are the GEMM's columns. */
static bool conv_is_pointwise(const cx_conv2d_desc *d) {
    return d->kernel_h == 1 && d->kernel_w == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_top == 0 &&
           d->pad_left == 0 && d->pad_bottom == 0 && d->pad_right == 0;
}

static window_geom conv_geom(const cx_conv2d_desc *d) {
    return (window_geom){d->in_channels / d->groups, d->in_h, d->in_w, d->out_h, d->out_w, d->kernel_h,
                         d->kernel_w, d->stride_h, d->stride_w, d->dilation_h, d->dilation_w, d->pad_top,
                         d->pad_left};
}

/* The dense path's workspace: im2col columns of one group (unless the input serves as
 * columns directly), then the packed output of all groups when a GEMM spans several images. */
size_t cx_conv2d_workspace_bytes(const cx_conv2d_desc *d) {
    if (conv_is_depthwise(d)) return 0;
    int64_t plane = (int64_t)d->out_h * d->out_w;
    int nimages = images_per_gemm(d->batch, plane);
    int64_t rows = (int64_t)d->in_channels / d->groups * d->kernel_h * d->kernel_w;
    size_t floats = 0;
    if (!(conv_is_pointwise(d) && nimages == 1)) floats += (size_t)(rows * nimages * plane);
    if (nimages > 1) floats += (size_t)((int64_t)d->out_channels * nimages * plane);
    return floats * sizeof(float);
}

/* The dense path's shapes and workspace, the same for forward and backward: a GEMM takes
 * per_gemm images at once (packed side by side when more than one); a pointwise convolution of
 * one image reads its input directly, otherwise im2col fills col. */
typedef struct {
    window_geom geom;
    int cin_g, cout_g, rows, per_gemm;
    int64_t plane_in, plane_out, x_image, y_image;
    bool direct;
    float *col, *packed;
} dense_layout;

static dense_layout dense_layout_of(const cx_conv2d_desc *d, float *work) {
    dense_layout l;
    l.geom = conv_geom(d);
    l.cin_g = d->in_channels / d->groups;
    l.cout_g = d->out_channels / d->groups;
    l.rows = l.cin_g * d->kernel_h * d->kernel_w;
    l.plane_in = (int64_t)d->in_h * d->in_w;
    l.plane_out = (int64_t)d->out_h * d->out_w;
    l.x_image = d->in_channels * l.plane_in;
    l.y_image = d->out_channels * l.plane_out;
    l.per_gemm = images_per_gemm(d->batch, l.plane_out);
    l.direct = conv_is_pointwise(d) && l.per_gemm == 1;
    l.col = work;
    l.packed = work + (l.direct ? 0 : (int64_t)l.rows * l.per_gemm * l.plane_out);
    return l;
}

static void conv_dense_forward(const cx_conv2d_desc *d, float *y, const float *x, const float *w, const float *b,
                               float *work) {
    dense_layout l = dense_layout_of(d, work);
#pragma omp parallel
    for (int n0 = 0; n0 < d->batch; n0 += l.per_gemm) {
        int nimages = min_int(l.per_gemm, d->batch - n0);
        int ncols = (int)(nimages * l.plane_out);
        float *yn = y + n0 * l.y_image;
        float *out = l.per_gemm > 1 ? l.packed : yn;   /* [out_channels][ncols] */
        for (int g = 0; g < d->groups; g++) {
            const float *xg = x + n0 * l.x_image + (int64_t)g * l.cin_g * l.plane_in;
            const float *cols = xg;
            if (!l.direct) {
                im2col(&l.geom, xg, l.x_image, nimages, l.col);
                cols = l.col;
            }
            team_sgemm(false, false, l.cout_g, ncols, l.rows, w + (int64_t)g * l.cout_g * l.rows, l.rows, cols, ncols, 0.0f,
                       out + (int64_t)g * l.cout_g * ncols, ncols);
        }
        if (out != yn || b) unpack_images(yn, out, b, false, d->out_channels, nimages, l.plane_out, l.y_image);
    }
}

static void conv_dense_backward(const cx_conv2d_desc *d, float *dx, float *dw, const float *dy, const float *x,
                                const float *w, float *work) {
    dense_layout l = dense_layout_of(d, work);
#pragma omp parallel
    for (int n0 = 0; n0 < d->batch; n0 += l.per_gemm) {
        int nimages = min_int(l.per_gemm, d->batch - n0);
        int ncols = (int)(nimages * l.plane_out);
        const float *dyc = dy + n0 * l.y_image;   /* [out_channels][ncols] */
        if (l.per_gemm > 1) {
            pack_images(l.packed, dyc, d->out_channels, nimages, l.plane_out, l.y_image);
            dyc = l.packed;
        }
        for (int g = 0; g < d->groups; g++) {
            int64_t x_off = n0 * l.x_image + (int64_t)g * l.cin_g * l.plane_in;
            const float *dyg = dyc + (int64_t)g * l.cout_g * ncols, *wg = w + (int64_t)g * l.cout_g * l.rows;
            if (dw) {
                const float *cols = x + x_off;
                if (!l.direct) {
                    im2col(&l.geom, x + x_off, l.x_image, nimages, l.col);
                    cols = l.col;
                }
                team_sgemm(false, true, l.cout_g, l.rows, ncols, dyg, ncols, cols, ncols, 1.0f,
                           dw + (int64_t)g * l.cout_g * l.rows, l.rows);
            }
            if (dx && l.direct) {
                team_sgemm(true, false, l.rows, ncols, l.cout_g, wg, l.rows, dyg, ncols, 1.0f, dx + x_off, ncols);
            } else if (dx) {
                team_sgemm(true, false, l.rows, ncols, l.cout_g, wg, l.rows, dyg, ncols, 0.0f, l.col, ncols);
                col2im_add(&l.geom, l.col, nimages, dx + x_off, l.x_image);
            }
        }
    }
}

/* ---- depthwise: output channel oc reads input channel oc / multiplier through its own kernel ----
 * One tap at a time over a tile of planes small enough to stay in L1 (one plane when planes
 * are large), as row kernels over the window positions where the tap lies inside the input. */
#define TILE_FLOATS 4096

static int64_t planes_per_tile(int64_t plane) { return plane < TILE_FLOATS ? TILE_FLOATS / plane : 1; }

static void conv_depthwise_forward(const cx_conv2d_desc *d, float *y, const float *x, const float *w,
                                   const float *b) {
    window_geom g = conv_geom(d);
    int multiplier = d->out_channels / d->in_channels, taps = d->kernel_h * d->kernel_w;
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
    int64_t nplanes = (int64_t)d->batch * d->out_channels, tile = planes_per_tile(plane_out);
#pragma omp parallel for schedule(static)
    for (int64_t p0 = 0; p0 < nplanes; p0 += tile) {
        int64_t p1 = p0 + tile < nplanes ? p0 + tile : nplanes;
        for (int64_t p = p0; p < p1; p++) {
            float init = b ? b[p % d->out_channels] : 0.0f;
            for (int64_t k = 0; k < plane_out; k++) y[p * plane_out + k] = init;
        }
        for (int t = 0; t < taps; t++) {
            tap_block blk = tap_at(&g, t);
            for (int64_t p = p0; p < p1; p++) {
                int64_t n = p / d->out_channels, oc = p % d->out_channels;
                axpy_gather_block(&blk, y + p * plane_out, w[oc * taps + t],
                                  x + (n * d->in_channels + oc / multiplier) * plane_in);
            }
        }
    }
}

static void conv_depthwise_backward_input(const cx_conv2d_desc *d, float *dx, const float *dy, const float *w) {
    window_geom g = conv_geom(d);
    int multiplier = d->out_channels / d->in_channels, taps = d->kernel_h * d->kernel_w;
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
    int64_t nplanes = (int64_t)d->batch * d->in_channels, tile = planes_per_tile(plane_in);
#pragma omp parallel for schedule(static)
    for (int64_t p0 = 0; p0 < nplanes; p0 += tile) {
        int64_t p1 = p0 + tile < nplanes ? p0 + tile : nplanes;
        for (int t = 0; t < taps; t++) {
            tap_block blk = tap_at(&g, t);
            for (int64_t p = p0; p < p1; p++) {
                int64_t n = p / d->in_channels, ic = p % d->in_channels;
                for (int64_t oc = ic * multiplier; oc < (ic + 1) * multiplier; oc++)
                    axpy_scatter_block(&blk, dx + p * plane_in, w[oc * taps + t],
                                       dy + (n * d->out_channels + oc) * plane_out);
            }
        }
    }
}

/* dw[oc][t] += the sum over images and window positions of dy * x under tap t. */
static void conv_depthwise_backward_weight(const cx_conv2d_desc *d, float *dw, const float *dy, const float *x) {
    window_geom g = conv_geom(d);
    int multiplier = d->out_channels / d->in_channels, taps = d->kernel_h * d->kernel_w;
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
#pragma omp parallel for schedule(static)
    for (int oc = 0; oc < d->out_channels; oc++) {
        for (int t = 0; t < taps; t++) {
            tap_block blk = tap_at(&g, t);
            double sum = 0;
            for (int n = 0; n < d->batch; n++)
                sum += dot_block(&blk, dy + ((int64_t)n * d->out_channels + oc) * plane_out,
                                 x + ((int64_t)n * d->in_channels + oc / multiplier) * plane_in);
            dw[(int64_t)oc * taps + t] += (float)sum;
        }
    }
}

void cx_conv2d_forward(const cx_conv2d_desc *d, float *y, const float *x, const float *w, const float *b,
                       float *work) {
    if (conv_is_depthwise(d))
        conv_depthwise_forward(d, y, x, w, b);
    else
        conv_dense_forward(d, y, x, w, b, work);
}

void cx_conv2d_backward(const cx_conv2d_desc *d, float *dx, float *dw, float *db, const float *dy, const float *x,
                        const float *w, float *work) {
    if (conv_is_depthwise(d)) {
        if (dx) conv_depthwise_backward_input(d, dx, dy, w);
        if (dw) conv_depthwise_backward_weight(d, dw, dy, x);
    } else if (dx || dw) {
        conv_dense_backward(d, dx, dw, dy, x, w, work);
    }
    if (db) bias_grad(db, dy, d->batch, d->out_channels, (int64_t)d->out_h * d->out_w);
}

/* ---- transposed convolution ----
 * Its forward pass is a convolution's input gradient: x's columns times w^T give im2col
 * columns of y, folded back by col2im. Its backward pass is a convolution of dy. */

int cx_conv_transpose2d_setup(cx_conv_transpose2d_desc *d) {
    if (d->batch < 1 || d->in_channels < 1 || d->out_channels < 1 || d->in_h < 1 || d->in_w < 1 ||
        d->kernel_h < 1 || d->kernel_w < 1 || d->stride_h < 1 || d->stride_w < 1 || d->dilation_h < 1 ||
        d->dilation_w < 1)
        return cx_err(EX_DATAERR, "conv_transpose2d: sizes, strides and dilations must be positive");
    if (d->pad_h < 0 || d->pad_w < 0 || d->output_pad_h < 0 || d->output_pad_w < 0)
        return cx_err(EX_DATAERR, "conv_transpose2d: negative padding");
    if ((d->output_pad_h >= d->stride_h && d->output_pad_h >= d->dilation_h) ||
        (d->output_pad_w >= d->stride_w && d->output_pad_w >= d->dilation_w))
        return cx_err(EX_DATAERR, "conv_transpose2d: output padding must be smaller than the stride or the dilation");
    d->out_h = (d->in_h - 1) * d->stride_h - 2 * d->pad_h + d->dilation_h * (d->kernel_h - 1) + d->output_pad_h + 1;
    d->out_w = (d->in_w - 1) * d->stride_w - 2 * d->pad_w + d->dilation_w * (d->kernel_w - 1) + d->output_pad_w + 1;
    if (d->out_h < 1 || d->out_w < 1)
        return cx_err(EX_DATAERR, "conv_transpose2d: output would be %dx%d", d->out_h, d->out_w);
    return 0;
}

static window_geom transpose_geom(const cx_conv_transpose2d_desc *d) {
    return (window_geom){d->out_channels, d->out_h, d->out_w, d->in_h, d->in_w, d->kernel_h, d->kernel_w,
                         d->stride_h, d->stride_w, d->dilation_h, d->dilation_w, d->pad_h, d->pad_w};
}

/* Columns of y for one GEMM's images, then x (or dx) packed when the GEMM spans several. */
size_t cx_conv_transpose2d_workspace_bytes(const cx_conv_transpose2d_desc *d) {
    int64_t plane = (int64_t)d->in_h * d->in_w;
    int nimages = images_per_gemm(d->batch, plane);
    int64_t rows = (int64_t)d->out_channels * d->kernel_h * d->kernel_w;
    size_t floats = (size_t)(rows * nimages * plane);
    if (nimages > 1) floats += (size_t)((int64_t)d->in_channels * nimages * plane);
    return floats * sizeof(float);
}

void cx_conv_transpose2d_forward(const cx_conv_transpose2d_desc *d, float *y, const float *x, const float *w,
                                 const float *b, float *work) {
    window_geom geom = transpose_geom(d);
    int rows = d->out_channels * d->kernel_h * d->kernel_w;
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
    int64_t x_image = d->in_channels * plane_in, y_image = d->out_channels * plane_out;
    int per_gemm = images_per_gemm(d->batch, plane_in);
    float *col = work, *packed = work + (int64_t)rows * per_gemm * plane_in;
#pragma omp parallel
    for (int n0 = 0; n0 < d->batch; n0 += per_gemm) {
        int nimages = min_int(per_gemm, d->batch - n0);
        int ncols = (int)(nimages * plane_in);
        const float *xc = x + n0 * x_image;   /* [in_channels][ncols] */
        if (per_gemm > 1) {
            pack_images(packed, xc, d->in_channels, nimages, plane_in, x_image);
            xc = packed;
        }
        team_sgemm(true, false, rows, ncols, d->in_channels, w, rows, xc, ncols, 0.0f, col, ncols);
        float *yn = y + n0 * y_image;
#pragma omp for schedule(static)
        for (int64_t p = 0; p < (int64_t)nimages * d->out_channels; p++) {
            float init = b ? b[p % d->out_channels] : 0.0f;
            for (int64_t k = 0; k < plane_out; k++) yn[p * plane_out + k] = init;
        }
        col2im_add(&geom, col, nimages, yn, y_image);
    }
}

void cx_conv_transpose2d_backward(const cx_conv_transpose2d_desc *d, float *dx, float *dw, float *db,
                                  const float *dy, const float *x, const float *w, float *work) {
    window_geom geom = transpose_geom(d);
    int rows = d->out_channels * d->kernel_h * d->kernel_w;
    int64_t plane_in = (int64_t)d->in_h * d->in_w, plane_out = (int64_t)d->out_h * d->out_w;
    int64_t x_image = d->in_channels * plane_in, y_image = d->out_channels * plane_out;
    int per_gemm = images_per_gemm(d->batch, plane_in);
    float *col = work, *packed = work + (int64_t)rows * per_gemm * plane_in;
#pragma omp parallel
    for (int n0 = 0; n0 < d->batch && (dx || dw); n0 += per_gemm) {
        int nimages = min_int(per_gemm, d->batch - n0);
        int ncols = (int)(nimages * plane_in);
        im2col(&geom, dy + n0 * y_image, y_image, nimages, col);
        if (dw) {
            const float *xc = x + n0 * x_image;
            if (per_gemm > 1) {
                pack_images(packed, xc, d->in_channels, nimages, plane_in, x_image);
                xc = packed;
            }
            team_sgemm(false, true, d->in_channels, rows, ncols, xc, ncols, col, ncols, 1.0f, dw, rows);
        }
        if (dx && per_gemm > 1) {
            team_sgemm(false, false, d->in_channels, ncols, rows, w, rows, col, ncols, 0.0f, packed, ncols);
            unpack_images(dx + n0 * x_image, packed, NULL, true, d->in_channels, nimages, plane_in, x_image);
        } else if (dx) {
            team_sgemm(false, false, d->in_channels, ncols, rows, w, rows, col, ncols, 1.0f, dx + n0 * x_image, ncols);
        }
    }
    if (db) bias_grad(db, dy, d->batch, d->out_channels, plane_out);
}
