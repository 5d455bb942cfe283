#include "nn/softmax.h"

#include <math.h>
#include <stdbool.h>

#include "core/error.h"

/* Columns of the inner dim handled together by one work item: the loops along the axis then
 * read rows of this many contiguous floats instead of single strided ones. */
#define SOFTMAX_COLUMNS 64

int cx_softmax_desc_make(cx_softmax_desc *d, int ndim, const int64_t *shape, int axis) {
    int a = axis < 0 ? axis + ndim : axis;
    if (a < 0 || a >= ndim) return cx_err(EX_DATAERR, "softmax: axis %d of a %d-dim tensor", axis, ndim);
    d->outer = d->inner = 1;
    for (int i = 0; i < a; i++) d->outer *= shape[i];
    d->dim = shape[a];
    for (int i = a + 1; i < ndim; i++) d->inner *= shape[i];
    return 0;
}

/* Work items are (outer index, block of columns) pairs; each owns its outputs, so the results do
 * not depend on the thread count. */
static int64_t work_items(const cx_softmax_desc *d) {
    return d->outer * ((d->inner + SOFTMAX_COLUMNS - 1) / SOFTMAX_COLUMNS);
}

/* Offset of work item u's first element, and its number of columns. */
static int64_t work_item(const cx_softmax_desc *d, int64_t u, int64_t *columns) {
    int64_t blocks = (d->inner + SOFTMAX_COLUMNS - 1) / SOFTMAX_COLUMNS, first = (u % blocks) * SOFTMAX_COLUMNS;
    *columns = d->inner - first < SOFTMAX_COLUMNS ? d->inner - first : SOFTMAX_COLUMNS;
    return (u / blocks) * d->dim * d->inner + first;
}

/* One work item: columns [0, w) of x and y, which point at its element on axis index 0. */
static void forward_columns(bool log_space, float *y, const float *x, int64_t dim, int64_t inner, int64_t w) {
    float max[SOFTMAX_COLUMNS];
    double sum[SOFTMAX_COLUMNS];
    for (int64_t c = 0; c < w; c++) {
        max[c] = -INFINITY;
        sum[c] = 0;
    }
    for (int64_t i = 0; i < dim; i++)
        for (int64_t c = 0; c < w; c++) max[c] = x[i * inner + c] > max[c] ? x[i * inner + c] : max[c];
    for (int64_t i = 0; i < dim; i++)
        for (int64_t c = 0; c < w; c++) {
            float e = expf(x[i * inner + c] - max[c]);
            sum[c] += e;
            if (!log_space) y[i * inner + c] = e;   /* in place, x is not read again */
        }
    if (log_space) {
        double lse[SOFTMAX_COLUMNS];   /* log-sum-exp: y = x - lse */
        for (int64_t c = 0; c < w; c++) lse[c] = max[c] + log(sum[c]);
        for (int64_t i = 0; i < dim; i++)
            for (int64_t c = 0; c < w; c++) y[i * inner + c] = (float)(x[i * inner + c] - lse[c]);
    } else {
        double inv[SOFTMAX_COLUMNS];   /* a multiply per element rather than a division, in double */
        for (int64_t c = 0; c < w; c++) inv[c] = 1.0 / sum[c];
        for (int64_t i = 0; i < dim; i++)
            for (int64_t c = 0; c < w; c++) y[i * inner + c] = (float)(y[i * inner + c] * inv[c]);
    }
}

static void backward_columns(bool log_space, float *dx, const float *dy, const float *y, int64_t dim,
                             int64_t inner, int64_t w) {
    double sum[SOFTMAX_COLUMNS];
    for (int64_t c = 0; c < w; c++) sum[c] = 0;
    for (int64_t i = 0; i < dim; i++)
        for (int64_t c = 0; c < w; c++) {
            int64_t at = i * inner + c;
            sum[c] += log_space ? dy[at] : (double)dy[at] * y[at];
        }
    for (int64_t i = 0; i < dim; i++)
        for (int64_t c = 0; c < w; c++) {
            int64_t at = i * inner + c;
            double g = log_space ? dy[at] - exp(y[at]) * sum[c] : y[at] * (dy[at] - sum[c]);
            dx[at] = (float)(dx[at] + g);
        }
}

static void softmax_forward(bool log_space, float *y, const float *x, const cx_softmax_desc *d) {
    int64_t items = work_items(d);
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u < items; u++) {
        int64_t w, at = work_item(d, u, &w);
        forward_columns(log_space, y + at, x + at, d->dim, d->inner, w);
    }
}

static void softmax_backward(bool log_space, float *dx, const float *dy, const float *y, const cx_softmax_desc *d) {
    int64_t items = work_items(d);
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u < items; u++) {
        int64_t w, at = work_item(d, u, &w);
        backward_columns(log_space, dx + at, dy + at, y + at, d->dim, d->inner, w);
    }
}

void cx_softmax_forward(float *y, const float *x, const cx_softmax_desc *d) { softmax_forward(false, y, x, d); }

void cx_softmax_backward(float *dx, const float *dy, const float *y, const cx_softmax_desc *d) {
    softmax_backward(false, dx, dy, y, d);
}

void cx_log_softmax_forward(float *y, const float *x, const cx_softmax_desc *d) { softmax_forward(true, y, x, d); }

void cx_log_softmax_backward(float *dx, const float *dy, const float *y, const cx_softmax_desc *d) {
    softmax_backward(true, dx, dy, y, d);
}
