/* Losses, forward and backward, with PyTorch's definitions.
 *
 * Every loss is an op like the others (nn.h): X_forward computes the output, X_backward ADDS
 * d(loss)/d(input) into the input's gradient, scaled by the gradient that arrives at the output.
 * The output's shape depends on the reduction:
 *
 *   CX_REDUCE_MEAN  out[1]: the (weighted) mean over the samples that count (below)
 *   CX_REDUCE_SUM   out[1]: the plain sum (the MDMT paper's literal batch sum)
 *   CX_REDUCE_NONE  out[N] per sample, or out[N, K] per element for the element-wise losses
 *
 * and dout has the same shape as out (pass a pointer to 1.0f for a loss that is the final
 * scalar). Forward returns the scalar: out[0], or the sum of out for CX_REDUCE_NONE. `out` may be
 * NULL except for CX_REDUCE_NONE.
 *
 * Mask: the MDMT task indicator. mask[N] (or NULL for all ones) multiplies sample i's term and
 * its share of a mean's denominator; it is 0/1 in practice. A sample with mask 0 is skipped
 * entirely, so its target is never read (any placeholder label will do). A mean with nothing
 * that counts (all masked, or all weights 0) is 0 with a zero gradient, where PyTorch gives NaN.
 *
 * Targets get no gradient, except for L1 and MSE (reconstruction losses compare two computed
 * tensors): their backward also adds into dtarget when it is not NULL. Class targets are int32 in
 * [0, C); a sample that counts with a target outside that range makes the loss NaN and gets no
 * gradient (cx_class_targets_check says so up front, with a message).
 *
 * The element-wise losses split their samples into a fixed number of chunks summed in a fixed
 * order, so results are identical for any thread count.
 */
#ifndef CX_NN_LOSS_H
#define CX_NN_LOSS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { CX_REDUCE_MEAN, CX_REDUCE_SUM, CX_REDUCE_NONE } cx_reduction;

/* "mean", "sum", "none" (PyTorch's names), and back: 0, or -1 when unknown (nothing recorded). */
const char *cx_reduction_name(cx_reduction r);
int cx_reduction_parse(const char *name, cx_reduction *r);

/* ---- classification over [N, C] rows with integer targets ----
 *
 * cross_entropy on logits:   l_i = -w[t_i] * log_softmax(x_i)[t_i]
 * nll on log-probabilities:  l_i = -w[t_i] * x_i[t_i]
 * class_weight[C] w (NULL: all 1). The mean is PyTorch's weighted mean: sum_i m_i l_i divided by
 * sum_i m_i w[t_i]. CX_REDUCE_NONE gives out[N] = m_i l_i. */
typedef struct {
    int n, c;
    cx_reduction reduction;
} cx_class_loss_desc;

/* 0, or EX_DATAERR (recorded, naming `what` and the first bad sample) when a sample that counts
 * has a target outside [0, c). */
int cx_class_targets_check(const char *what, const int32_t *target, const float *mask, int n, int c);

float cx_cross_entropy_forward(const cx_class_loss_desc *d, float *out, const float *logits, const int32_t *target,
                               const float *class_weight, const float *mask);
void cx_cross_entropy_backward(const cx_class_loss_desc *d, float *dlogits, const float *dout, const float *logits,
                               const int32_t *target, const float *class_weight, const float *mask);
float cx_nll_forward(const cx_class_loss_desc *d, float *out, const float *logp, const int32_t *target,
                     const float *class_weight, const float *mask);
void cx_nll_backward(const cx_class_loss_desc *d, float *dlogp, const float *dout, const int32_t *target,
                     const float *class_weight, const float *mask);

/* ---- element-wise over [N, K] (K outputs per sample) with float targets ----
 *
 * bce_logits:  l = (1 - y) x + (1 + (p - 1) y) softplus(-x), binary_cross_entropy_with_logits
 *              with pos_weight[K] p (NULL: all 1); targets y in [0, 1]
 * l1:          l = |x - y|   (gradient sign(x - y), 0 where x == y, as torch)
 * mse:         l = (x - y)^2
 * The mean is over the elements of the samples that count: sum_i m_i sum_k l_ik / (K sum_i m_i). */
typedef struct {
    int n, k;
    cx_reduction reduction;
} cx_elem_loss_desc;

float cx_bce_logits_forward(const cx_elem_loss_desc *d, float *out, const float *logits, const float *target,
                            const float *pos_weight, const float *mask);
void cx_bce_logits_backward(const cx_elem_loss_desc *d, float *dlogits, const float *dout, const float *logits,
                            const float *target, const float *pos_weight, const float *mask);
float cx_l1_forward(const cx_elem_loss_desc *d, float *out, const float *x, const float *target, const float *mask);
void cx_l1_backward(const cx_elem_loss_desc *d, float *dx, float *dtarget, const float *dout, const float *x,
                    const float *target, const float *mask);
float cx_mse_forward(const cx_elem_loss_desc *d, float *out, const float *x, const float *target, const float *mask);
void cx_mse_backward(const cx_elem_loss_desc *d, float *dx, float *dtarget, const float *dout, const float *x,
                     const float *target, const float *mask);

/* ---- soft Dice on probabilities [N, K] (K = the flattened C*H*W of one sample) ----
 *
 * per sample: l_i = 1 - (2 sum_k p t + eps) / (sum_k p + sum_k t + eps); eps (CX_DICE_EPS by
 * default) keeps an empty prediction of an empty target at loss 0 and smooths the gradient. The
 * mean is over the samples that count; CX_REDUCE_NONE gives out[N]. */
#define CX_DICE_EPS 1.0f
typedef struct {
    int n, k;
    float eps;
    cx_reduction reduction;
} cx_dice_desc;

float cx_dice_forward(const cx_dice_desc *d, float *out, const float *prob, const float *target, const float *mask);
void cx_dice_backward(const cx_dice_desc *d, float *dprob, const float *dout, const float *prob, const float *target,
                      const float *mask);

/* ---- InfoNCE between paired embeddings a[N, D] and b[N, D] (CLIP's symmetric loss) ----
 *
 * a and b are L2-normalised row by row (x / max(|x|, 1e-12), torch.nn.functional.normalize),
 * S = a b^T / tau [N, N], and pair n is the positive of row n and of column n:
 *   l_n = (CE(S[n, :], n) + CE(S[:, n], n)) / 2,
 * the average of the a->b and b->a cross-entropies. tau is a fixed temperature (> 0). The mean is
 * over n; CX_REDUCE_NONE gives out[N]. Scratch: cx_infonce_workspace_bytes at `work`, the same
 * size for forward and backward (backward recomputes what forward found). */
typedef struct {
    int n, dim;
    float tau;
    cx_reduction reduction;
} cx_infonce_desc;

size_t cx_infonce_workspace_bytes(const cx_infonce_desc *d);
float cx_infonce_forward(const cx_infonce_desc *d, float *out, const float *a, const float *b, float *work);
/* da, db may be NULL to skip one. */
void cx_infonce_backward(const cx_infonce_desc *d, float *da, float *db, const float *dout, const float *a,
                         const float *b, float *work);

#endif
