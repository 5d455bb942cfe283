#include "nn/nn.h"

#include <cblas.h>
#include <stdint.h>
#include <omp.h>
#include <unistd.h>

static int nn_threads = 1;

void cx_nn_set_threads(int n) {
    if (n <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (int)cpus : 1;
    }
    nn_threads = n;
    omp_set_num_threads(n);
    openblas_set_num_threads(1);
}

int cx_nn_threads(void) { return nn_threads; }

static void blas(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                 int ldb, float beta, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

void cx_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc) {
    int threads = omp_in_parallel() ? 1 : nn_threads;
    /* below about a million multiply-adds a split costs more than it saves */
    if (threads == 1 || (double)m * n * k < (1 << 20)) {
        blas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    bool by_rows = m >= n;   /* split the longer side of C, in blocks of 16 */
    int extent = by_rows ? m : n, block = ((extent + threads - 1) / threads + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int t = 0; t < threads; t++) {
        int lo = t * block, len = extent - lo < block ? extent - lo : block;
        if (len <= 0) continue;
        if (by_rows)   /* rows of op(A): A's rows, or its columns when transposed */
            blas(trans_a, trans_b, len, n, k, alpha, a + (trans_a ? lo : (int64_t)lo * lda), lda, b, ldb, beta,
                 c + (int64_t)lo * ldc, ldc);
        else           /* columns of op(B): B's columns, or its rows when transposed */
            blas(trans_a, trans_b, m, len, k, alpha, a, lda, b + (trans_b ? (int64_t)lo * ldb : lo), ldb, beta, c + lo,
                 ldc);
    }
}
