#include "nn/nn.h"

#include <cblas.h>
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
    openblas_set_num_threads(n);
}

int cx_nn_threads(void) { return nn_threads; }

void cx_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

int cx_blas_single(void) {
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
    return saved;
}

void cx_blas_restore(int saved) { openblas_set_num_threads(saved); }
