#include "nn/batchnorm.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

int cx_batchnorm2d_setup(const cx_batchnorm2d_desc *d) {
    if (d->batch < 1 || d->channels < 1 || d->height < 1 || d->width < 1)
        return cx_err(EX_DATAERR, "batchnorm2d: sizes must be positive");
    if (!(d->eps > 0) || !(d->momentum >= 0 && d->momentum <= 1))
        return cx_err(EX_DATAERR, "batchnorm2d: eps %g must be positive and momentum %g in [0, 1]", d->eps,
                      d->momentum);
    return 0;
}

/* Channel c's values lie in `batch` planes of height*width floats, channels*plane apart. */
static int64_t plane_of(const cx_batchnorm2d_desc *d) { return (int64_t)d->height * d->width; }
static const float *channel_plane(const cx_batchnorm2d_desc *d, const float *t, int n, int c) {
    return t + ((int64_t)n * d->channels + c) * plane_of(d);
}

/* y = (x - mean) * scale + shift over channel c. */
static void normalize_channel(const cx_batchnorm2d_desc *d, int c, float *y, const float *x, float mean, float scale,
                              float shift) {
    int64_t plane = plane_of(d);
    for (int n = 0; n < d->batch; n++) {
        const float *xp = channel_plane(d, x, n, c);
        float *yp = y + (xp - x);
#pragma omp simd
        for (int64_t k = 0; k < plane; k++) yp[k] = (xp[k] - mean) * scale + shift;
    }
}

int cx_batchnorm2d_forward_train(const cx_batchnorm2d_desc *d, float *y, float *saved, float *running_mean,
                                 float *running_var, const float *x, const float *weight, const float *bias) {
    int64_t plane = plane_of(d), count = d->batch * plane;
    if (count < 2)
        return cx_err(EX_DATAERR, "batchnorm2d: training needs more than one value per channel");
#pragma omp parallel for schedule(static)
    for (int c = 0; c < d->channels; c++) {
        double sum = 0;
        for (int n = 0; n < d->batch; n++) {
            const float *xp = channel_plane(d, x, n, c);
#pragma omp simd reduction(+ : sum)
            for (int64_t k = 0; k < plane; k++) sum += xp[k];
        }
        double mean = sum / (double)count, squares = 0;
        for (int n = 0; n < d->batch; n++) {
            const float *xp = channel_plane(d, x, n, c);
#pragma omp simd reduction(+ : squares)
            for (int64_t k = 0; k < plane; k++) squares += (xp[k] - mean) * (xp[k] - mean);
        }
        double invstd = 1.0 / sqrt(squares / (double)count + d->eps);
        saved[c] = (float)mean;
        saved[d->channels + c] = (float)invstd;
        running_mean[c] = (float)(d->momentum * mean + (1 - d->momentum) * running_mean[c]);
        running_var[c] = (float)(d->momentum * squares / (double)(count - 1) + (1 - d->momentum) * running_var[c]);
        float scale = (float)invstd * (weight ? weight[c] : 1.0f);
        normalize_channel(d, c, y, x, (float)mean, scale, bias ? bias[c] : 0.0f);
    }
    return 0;
}

void cx_batchnorm2d_forward_eval(const cx_batchnorm2d_desc *d, float *y, const float *x, const float *weight,
                                 const float *bias, const float *running_mean, const float *running_var) {
#pragma omp parallel for schedule(static)
    for (int c = 0; c < d->channels; c++) {
        float invstd = (float)(1.0 / sqrt(running_var[c] + d->eps));
        normalize_channel(d, c, y, x, running_mean[c], invstd * (weight ? weight[c] : 1.0f), bias ? bias[c] : 0.0f);
    }
}

/* Gradients of channel c for y = (x - mean) * invstd * weight + bias. With the batch
 * statistics (training), mean and invstd depend on x too, which adds the terms of
 * dx = weight * invstd * (dy - mean(dy) - (x - mean) * invstd^2 * mean((x - mean) * dy)). */
static void backward_channel(const cx_batchnorm2d_desc *d, int c, bool through_stats, float *dx, float *dweight,
                             float *dbias, const float *dy, const float *x, const float *weight, float mean,
                             float invstd) {
    int64_t plane = plane_of(d), count = d->batch * plane;
    double sum_dy = 0, dot = 0;   /* sum(dy), sum((x - mean) * dy) */
    for (int n = 0; n < d->batch; n++) {
        const float *xp = channel_plane(d, x, n, c), *dyp = channel_plane(d, dy, n, c);
#pragma omp simd reduction(+ : sum_dy, dot)
        for (int64_t k = 0; k < plane; k++) {
            sum_dy += dyp[k];
            dot += (double)(xp[k] - mean) * dyp[k];
        }
    }
    if (dweight) dweight[c] += (float)(dot * invstd);
    if (dbias) dbias[c] += (float)sum_dy;
    if (!dx) return;
    float scale = invstd * (weight ? weight[c] : 1.0f);
    float mean_dy = through_stats ? (float)(sum_dy / count) : 0.0f;
    float proj = through_stats ? (float)(dot / count * invstd * invstd) : 0.0f;
    for (int n = 0; n < d->batch; n++) {
        const float *xp = channel_plane(d, x, n, c), *dyp = channel_plane(d, dy, n, c);
        float *dxp = dx + (xp - x);
#pragma omp simd
        for (int64_t k = 0; k < plane; k++) dxp[k] += scale * (dyp[k] - mean_dy - (xp[k] - mean) * proj);
    }
}

void cx_batchnorm2d_backward_train(const cx_batchnorm2d_desc *d, float *dx, float *dweight, float *dbias,
                                   const float *dy, const float *x, const float *weight, const float *saved) {
#pragma omp parallel for schedule(static)
    for (int c = 0; c < d->channels; c++)
        backward_channel(d, c, true, dx, dweight, dbias, dy, x, weight, saved[c], saved[d->channels + c]);
}

void cx_batchnorm2d_backward_eval(const cx_batchnorm2d_desc *d, float *dx, float *dweight, float *dbias,
                                  const float *dy, const float *x, const float *weight, const float *running_mean,
                                  const float *running_var) {
#pragma omp parallel for schedule(static)
    for (int c = 0; c < d->channels; c++)
        backward_channel(d, c, false, dx, dweight, dbias, dy, x, weight, running_mean[c],
                         (float)(1.0 / sqrt(running_var[c] + d->eps)));
}
