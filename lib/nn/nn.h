/* The engine's shared conventions (every op family in lib/nn follows them).
 *
 * - float32, NCHW, dense row-major; shapes are passed explicitly in a small descriptor
 *   struct per op, as in llm.c: an op is a pair of plain functions, X_forward and X_backward.
 * - Backward ADDS into the gradients it produces (dx, dweight, dbias): the caller zeroes
 *   them once, so a tensor used twice in a graph simply receives both contributions.
 * - Threads: cx_nn_set_threads(n) sets both the OpenMP team used by the engine's own loops
 *   and OpenBLAS's threads. Loops that call cx_sgemm run outside OpenMP parallel regions,
 *   or set the BLAS to one thread inside them, so the cores are never oversubscribed.
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
 * reaches the BLAS (a backend switch lives here). */
void cx_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);
/* Run the BLAS single-threaded until the matching cx_blas_restore (for calls inside parallel loops). */
int cx_blas_single(void);
void cx_blas_restore(int saved);

#endif
