/* Fully connected layers and batched matrix products, on the BLAS (cx_sgemm).
 *
 * linear: y [n, out] = x [n, in] W^T + b, with W [out, in] and b [out] in PyTorch's layout
 * (nn.Linear's weight and bias). Inputs with more dims ([B, T, in]) pass n = B*T.
 *
 * matmul: for each of batch matrices, C [m, n] = op(A) op(B), where op(A) is A [m, k] or, with
 * trans_a, the transpose of A stored [k, m]; op(B) is B [k, n] or, with trans_b, B stored
 * [n, k] transposed. Attention's scores are Q K^T (trans_b), its output W V.
 *
 * Results come from OpenBLAS: bit-identical for a given thread count, equal within float
 * rounding across thread counts. The bias gradient is summed in double by this file. Every
 * matrix dim must be below 2^31 (the BLAS takes int).
 */
#ifndef CX_NN_LINEAR_H
#define CX_NN_LINEAR_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t n, in, out;
} cx_linear_desc;

/* y [n, out] = x [n, in] w^T + b; b may be NULL (no bias). */
void cx_linear_forward(float *y, const float *x, const float *w, const float *b, const cx_linear_desc *d);
/* dx [n, in] += dy w, dw [out, in] += dy^T x, db [out] += column sums of dy. Any of dx, dw,
 * db may be NULL (not wanted); x is read only for dw and w only for dx. */
void cx_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        const cx_linear_desc *d);

typedef struct {
    int64_t batch, m, n, k;
    bool trans_a, trans_b;
} cx_matmul_desc;

/* c [batch, m, n] = op(a) op(b) per batch matrix. */
void cx_matmul_forward(float *c, const float *a, const float *b, const cx_matmul_desc *d);
/* da += dc op(b)^T (transposed back when trans_a), db += op(a)^T dc (likewise); either may be NULL. */
void cx_matmul_backward(float *da, float *db, const float *dc, const float *a, const float *b,
                        const cx_matmul_desc *d);

#endif
