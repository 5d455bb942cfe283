/* Layer normalisation over the last dim elements of each of rows rows (torch.nn.LayerNorm with
 * normalized_shape = the trailing dims, whose product is dim):
 *
 *   y = (x - mean) * rstd * w + b,   rstd = 1 / sqrt(var + eps), var the biased variance.
 *
 * w and b [dim] are the elementwise affine parameters, or NULL when the layer has none.
 * The forward saves mean and rstd [rows] for backward, as llm.c does. Statistics and the
 * gradient sums run in double; the parameter gradients are summed per column block by one
 * thread, so nothing depends on the thread count and no workspace is needed.
 */
#ifndef CX_NN_LAYERNORM_H
#define CX_NN_LAYERNORM_H

#include <stdint.h>

typedef struct {
    int64_t rows, dim;
    float eps;   /* 1e-5 in PyTorch, 1e-6 in many vision transformers */
} cx_layernorm_desc;

/* y, x [rows, dim]; mean, rstd [rows] (written); w, b [dim] or NULL (either may be absent). */
void cx_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b,
                          const cx_layernorm_desc *d);
/* dx [rows, dim] += ..., dw, db [dim] += ...; any of dx, dw, db may be NULL. x is the forward
 * input, mean and rstd its saved statistics, w NULL when there is no affine. */
void cx_layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean,
                           const float *rstd, const float *w, const cx_layernorm_desc *d);

#endif
