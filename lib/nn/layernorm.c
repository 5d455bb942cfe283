#include "nn/layernorm.h"

#include <math.h>

/* Columns per work item of the parameter gradients (two double accumulators each, on the stack). */
#define COLUMN_BLOCK 256

void cx_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b,
                          const cx_layernorm_desc *d) {
    int64_t dim = d->dim;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < d->rows; r++) {
        const float *xr = x + r * dim;
        float *yr = y + r * dim;
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < dim; i++) sum += xr[i];
        double m = sum / dim;
        /* two passes: the variance as a mean of squared deviations does not cancel */
        for (int64_t i = 0; i < dim; i++) sq += (xr[i] - m) * (xr[i] - m);
        double s = 1.0 / sqrt(sq / dim + d->eps);
        mean[r] = (float)m;
        rstd[r] = (float)s;
        for (int64_t i = 0; i < dim; i++) {
            double v = (xr[i] - m) * s;
            yr[i] = (float)(v * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f));
        }
    }
}

void cx_layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean,
                           const float *rstd, const float *w, const cx_layernorm_desc *d) {
    int64_t dim = d->dim;
    if (dx) {
        /* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w */
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < d->rows; r++) {
            const float *xr = x + r * dim, *dyr = dy + r * dim;
            float *dxr = dx + r * dim;
            double m = mean[r], s = rstd[r], g_sum = 0, gx_sum = 0;
            for (int64_t i = 0; i < dim; i++) {
                double g = (double)dyr[i] * (w ? w[i] : 1.0f);
                g_sum += g;
                gx_sum += g * (xr[i] - m) * s;
            }
            double g_mean = g_sum / dim, gx_mean = gx_sum / dim;
            for (int64_t i = 0; i < dim; i++) {
                double g = (double)dyr[i] * (w ? w[i] : 1.0f), xhat = (xr[i] - m) * s;
                dxr[i] = (float)(dxr[i] + s * (g - g_mean - xhat * gx_mean));
            }
        }
    }
    if (!dw && !db) return;
    /* dw = sum over rows of dy * xhat, db = sum of dy; a block of columns per work item */
#pragma omp parallel for schedule(static)
    for (int64_t at = 0; at < dim; at += COLUMN_BLOCK) {
        int64_t len = dim - at < COLUMN_BLOCK ? dim - at : COLUMN_BLOCK;
        double w_acc[COLUMN_BLOCK] = {0}, b_acc[COLUMN_BLOCK] = {0};
        for (int64_t r = 0; r < d->rows; r++) {
            const float *xr = x + r * dim + at, *dyr = dy + r * dim + at;
            double m = mean[r], s = rstd[r];
            for (int64_t k = 0; k < len; k++) {
                w_acc[k] += dyr[k] * ((xr[k] - m) * s);
                b_acc[k] += dyr[k];
            }
        }
        for (int64_t k = 0; k < len; k++) {
            if (dw) dw[at + k] = (float)(dw[at + k] + w_acc[k]);
            if (db) db[at + k] = (float)(db[at + k] + b_acc[k]);
        }
    }
}
