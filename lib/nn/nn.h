/* The engine's shared conventions (every op family in lib/nn follows them).
 *
 * - float32, NCHW, dense row-major; shapes are passed explicitly in a small descriptor
 *   struct per op, as in llm.c: an op is a pair of plain functions, X_forward and X_backward.
 * - Backward ADDS into the gradients it produces (dx, dweight, dbias): the caller zeroes
 *   them once, so a tensor used twice in a graph simply receives both contributions.
 * - Threads: one pool. cx_nn_set_threads(n) sizes the OpenMP team of the engine's loops and
 *   keeps OpenBLAS single-threaded: a second pool of threads spinning beside the first halves
 *   the speed on a small machine. cx_sgemm splits a large product across the team itself.
 * - Determinism: with the same inputs and thread count every op is bit-identical; parallel
 *   reductions use a fixed partition and a fixed combination order, never atomics.
 */
#ifndef CX_NN_NN_H
#define CX_NN_NN_H

#include <stdbool.h>
#include <stdint.h>

void cx_nn_set_threads(int n);     /* n <= 0: the number of online CPUs */
int cx_nn_threads(void);

/* C = alpha * op(A) * op(B) + beta * C, row-major, as cblas_sgemm. The one place the engine
 * reaches the BLAS (a backend switch lives here). Called outside a parallel region, a large
 * product is cut into blocks of C's rows or columns, one per thread; inside one, it runs on
 * the calling thread. Each element of C is computed by one thread in a fixed order, so the
 * result does not depend on the thread count. */
void cx_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);

#endif
