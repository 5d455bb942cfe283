#include "nn/linear.h"

#include <string.h>

#include "nn/nn.h"

/* Output columns per work item of the bias gradient (the double accumulators on the stack). */
#define COLUMN_BLOCK 256

void cx_linear_forward(float *y, const float *x, const float *w, const float *b, const cx_linear_desc *d) {
    int n = (int)d->n, in = (int)d->in, out = (int)d->out;
    if (b) {
        /* the bias goes in first and the product is added onto it (beta = 1), as torch.addmm */
#pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i++) memcpy(y + (int64_t)i * out, b, (size_t)out * sizeof *y);
    }
    cx_sgemm(false, true, n, out, in, 1.0f, x, in, w, in, b ? 1.0f : 0.0f, y, out);
}

void cx_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        const cx_linear_desc *d) {
    int n = (int)d->n, in = (int)d->in, out = (int)d->out;
    if (dx) cx_sgemm(false, false, n, in, out, 1.0f, dy, out, w, in, 1.0f, dx, in);
    if (dw) cx_sgemm(true, false, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
    if (!db) return;
    /* each block of columns is summed down the rows by one thread: the same for any thread count */
#pragma omp parallel for schedule(static)
    for (int at = 0; at < out; at += COLUMN_BLOCK) {
        int len = out - at < COLUMN_BLOCK ? out - at : COLUMN_BLOCK;
        double acc[COLUMN_BLOCK] = {0};
        for (int i = 0; i < n; i++) {
            const float *row = dy + (int64_t)i * out + at;
#pragma omp simd
            for (int k = 0; k < len; k++) acc[k] += row[k];
        }
        for (int k = 0; k < len; k++) db[at + k] = (float)(db[at + k] + acc[k]);
    }
}

/* Many small products (attention heads) run one per thread; few large ones run in turn, each
 * split across the threads by cx_sgemm. */
static bool threads_over_batch(const cx_matmul_desc *d) {
    return cx_nn_threads() > 1 && d->batch >= cx_nn_threads();
}

void cx_matmul_forward(float *c, const float *a, const float *b, const cx_matmul_desc *d) {
    int m = (int)d->m, n = (int)d->n, k = (int)d->k;
    int lda = d->trans_a ? m : k, ldb = d->trans_b ? k : n;
    bool over_batch = threads_over_batch(d);
#pragma omp parallel for schedule(static) if (over_batch)
    for (int64_t i = 0; i < d->batch; i++)
        cx_sgemm(d->trans_a, d->trans_b, m, n, k, 1.0f, a + i * m * k, lda, b + i * k * n, ldb, 0.0f, c + i * m * n,
                 n);
}

void cx_matmul_backward(float *da, float *db, const float *dc, const float *a, const float *b,
                        const cx_matmul_desc *d) {
    int m = (int)d->m, n = (int)d->n, k = (int)d->k;
    int lda = d->trans_a ? m : k, ldb = d->trans_b ? k : n;
    bool ta = d->trans_a, tb = d->trans_b, over_batch = threads_over_batch(d);
#pragma omp parallel for schedule(static) if (over_batch)
    for (int64_t i = 0; i < d->batch; i++) {
        const float *ai = a + i * m * k, *bi = b + i * k * n, *dci = dc + i * m * n;
        /* d op(A) = dC op(B)^T and d op(B) = op(A)^T dC; a stored transpose takes the transpose */
        if (da && !ta) cx_sgemm(false, !tb, m, k, n, 1.0f, dci, n, bi, ldb, 1.0f, da + i * m * k, lda);
        if (da && ta) cx_sgemm(tb, true, k, m, n, 1.0f, bi, ldb, dci, n, 1.0f, da + i * m * k, lda);
        if (db && !tb) cx_sgemm(!ta, false, k, n, m, 1.0f, ai, lda, dci, n, 1.0f, db + i * k * n, ldb);
        if (db && tb) cx_sgemm(true, ta, n, k, m, 1.0f, dci, n, ai, lda, 1.0f, db + i * k * n, ldb);
    }
}
