/* Cross-task attention of M3H (models/m3h.h), forward and backward.
 *
 * Per sample n, with T tasks and width d:
 *   M = Q K_n^T                          [T, T]   Q [T, d] shared by the batch, K_n [T, d]
 *   s = max_ij |M_ij| + 1e-8             the sample's own scale (the paper's max(M), made
 *                                        safe for max(M) <= 0)
 *   W = softmax_rows(I + alpha * M / s)  [T, T]   the attention, an output of its own
 *   O = W V_n                            [T, d]
 * s is a maximum: its subgradient goes to the arg-max element of |M| (the first one in
 * row-major order when several tie), with the sign of that element.
 *
 * Sums run in double; samples are independent and dq is summed over them in order, so results
 * do not depend on the thread count.
 */
#ifndef CX_NN_ATTENTION_H
#define CX_NN_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

#define CX_TASK_ATTENTION_EPS 1e-8f

typedef struct {
    int64_t n;       /* samples */
    int tasks, dim;  /* T, d */
    float alpha;
} cx_task_attention_desc;

/* What forward keeps for backward: the scale s and the arg-max of |M| per sample. */
size_t cx_task_attention_saved_bytes(const cx_task_attention_desc *d);
/* Scratch for either pass (M and its gradient of one sample). */
size_t cx_task_attention_workspace_bytes(const cx_task_attention_desc *d);

/* o [n, T, d] and w [n, T, T] from q [T, d], k, v [n, T, d]. */
void cx_task_attention_forward(const cx_task_attention_desc *d, float *o, float *w, void *saved, const float *q,
                               const float *k, const float *v, float *work);
/* Adds into dq [T, d], dk, dv [n, T, d] (any may be NULL) from do_ [n, T, d] and dw [n, T, T]
 * (either may be NULL: no gradient arrives there). Reads q, k, v, the forward's w and saved. */
void cx_task_attention_backward(const cx_task_attention_desc *d, float *dq, float *dk, float *dv, const float *do_,
                                const float *dw, const float *q, const float *k, const float *v, const float *w,
                                const void *saved, float *work);

#endif
