#include "nn/loss.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "core/error.h"
#include "nn/nn.h"

/* The element-wise losses and Dice sum their samples in LOSS_CHUNKS fixed pieces and add the
 * pieces in order, so the result does not depend on the thread count. Below PARALLEL_MIN
 * elements a parallel region costs more than it saves. */
#define LOSS_CHUNKS 64
#define PARALLEL_MIN 32768

static const char *const reduction_names[] = {[CX_REDUCE_MEAN] = "mean", [CX_REDUCE_SUM] = "sum",
                                              [CX_REDUCE_NONE] = "none"};

const char *cx_reduction_name(cx_reduction r) {
    return r >= CX_REDUCE_MEAN && r <= CX_REDUCE_NONE ? reduction_names[r] : "?";
}

int cx_reduction_parse(const char *name, cx_reduction *r) {
    for (int i = CX_REDUCE_MEAN; i <= CX_REDUCE_NONE; i++)
        if (strcmp(name, reduction_names[i]) == 0) {
            *r = (cx_reduction)i;
            return 0;
        }
    return -1;
}

static float mask_at(const float *mask, int i) { return mask ? mask[i] : 1.0f; }

static double mask_total(const float *mask, int n) {
    if (!mask) return n;
    double s = 0;
    for (int i = 0; i < n; i++) s += mask[i];
    return s;
}

/* The scalar loss from the sum of the terms and the mean's denominator; stored in out[0]. */
static float reduce_finish(cx_reduction r, double total, double denom, float *out) {
    float loss = r != CX_REDUCE_MEAN ? (float)total : denom > 0 ? (float)(total / denom) : 0.0f;
    if (out && r != CX_REDUCE_NONE) out[0] = loss;
    return loss;
}

/* The gradient reaching a term when the output is reduced: dout[0] / denom for a mean (0 when
 * nothing counts), dout[0] for a sum. */
static float reduced_upstream(cx_reduction r, const float *dout, double denom) {
    if (r == CX_REDUCE_SUM) return dout[0];
    return denom > 0 ? (float)(dout[0] / denom) : 0.0f;
}

static void chunk_rows(int chunk, int n, int *lo, int *hi) {
    *lo = (int)((int64_t)n * chunk / LOSS_CHUNKS);
    *hi = (int)((int64_t)n * (chunk + 1) / LOSS_CHUNKS);
}

/* ---- classification ---- */

int cx_class_targets_check(const char *what, const int32_t *target, const float *mask, int n, int c) {
    for (int i = 0; i < n; i++)
        if (mask_at(mask, i) != 0 && (target[i] < 0 || target[i] >= c))
            return cx_err(EX_DATAERR, "%s: sample %d has class %d, outside [0, %d)", what, i, (int)target[i], c);
    return 0;
}

static bool counts(const float *mask, const int32_t *target, int i, int c) {
    return mask_at(mask, i) != 0 && target[i] >= 0 && target[i] < c;
}

/* sum_i m_i w[t_i] over the samples that count: the weighted mean's denominator. */
static double class_weight_total(const cx_class_loss_desc *d, const int32_t *target, const float *class_weight,
                                 const float *mask) {
    double s = 0;
    for (int i = 0; i < d->n; i++)
        if (counts(mask, target, i, d->c)) s += mask_at(mask, i) * (class_weight ? class_weight[target[i]] : 1.0f);
    return s;
}

/* Row max and sum_j exp(x_j - max), for a softmax that cannot overflow. */
static void softmax_stats(const float *row, int c, float *max, double *sum) {
    float m = row[0];
    for (int j = 1; j < c; j++)
        if (row[j] > m) m = row[j];
    double s = 0;
    for (int j = 0; j < c; j++) s += expf(row[j] - m);
    *max = m;
    *sum = s;
}

/* x [N, C] holds logits (softmax inside) or log-probabilities. */
static float class_forward(const cx_class_loss_desc *d, float *out, const float *x, bool logits,
                           const int32_t *target, const float *class_weight, const float *mask) {
    double total = 0;
    for (int i = 0; i < d->n; i++) {
        float m = mask_at(mask, i), li = 0.0f;
        if (m != 0) {
            int t = target[i];
            if (t < 0 || t >= d->c) {
                li = NAN;
            } else {
                const float *row = x + (size_t)i * d->c;
                float nll = -row[t];
                if (logits) {
                    float max;
                    double sum;
                    softmax_stats(row, d->c, &max, &sum);
                    /* log(sum) - (x_t - max): x_t - max is exact, so a near-zero loss keeps its digits */
                    nll = (float)(log(sum) - (double)(row[t] - max));
                }
                li = m * (class_weight ? class_weight[t] : 1.0f) * nll;
            }
        }
        if (d->reduction == CX_REDUCE_NONE) out[i] = li;
        total += li;
    }
    return reduce_finish(d->reduction, total, class_weight_total(d, target, class_weight, mask), out);
}

static void class_backward(const cx_class_loss_desc *d, float *dx, const float *dout, const float *logits,
                           const int32_t *target, const float *class_weight, const float *mask) {
    float up = 0.0f;
    if (d->reduction != CX_REDUCE_NONE)
        up = reduced_upstream(d->reduction, dout, class_weight_total(d, target, class_weight, mask));
    for (int i = 0; i < d->n; i++) {
        if (!counts(mask, target, i, d->c)) continue;
        int t = target[i];
        float g = (d->reduction == CX_REDUCE_NONE ? dout[i] : up) * mask_at(mask, i) *
                  (class_weight ? class_weight[t] : 1.0f);
        float *drow = dx + (size_t)i * d->c;
        if (!logits) {
            drow[t] -= g;
            continue;
        }
        /* g (softmax - onehot), one addition per element */
        const float *row = logits + (size_t)i * d->c;
        float max;
        double sum;
        softmax_stats(row, d->c, &max, &sum);
        for (int j = 0; j < d->c; j++) drow[j] += g * ((float)(expf(row[j] - max) / sum) - (j == t ? 1.0f : 0.0f));
    }
}

float cx_cross_entropy_forward(const cx_class_loss_desc *d, float *out, const float *logits, const int32_t *target,
                               const float *class_weight, const float *mask) {
    return class_forward(d, out, logits, true, target, class_weight, mask);
}

void cx_cross_entropy_backward(const cx_class_loss_desc *d, float *dlogits, const float *dout, const float *logits,
                               const int32_t *target, const float *class_weight, const float *mask) {
    class_backward(d, dlogits, dout, logits, target, class_weight, mask);
}

float cx_nll_forward(const cx_class_loss_desc *d, float *out, const float *logp, const int32_t *target,
                     const float *class_weight, const float *mask) {
    return class_forward(d, out, logp, false, target, class_weight, mask);
}

void cx_nll_backward(const cx_class_loss_desc *d, float *dlogp, const float *dout, const int32_t *target,
                     const float *class_weight, const float *mask) {
    class_backward(d, dlogp, dout, NULL, target, class_weight, mask);
}

/* ---- element-wise ---- */

typedef enum { ELEM_BCE, ELEM_L1, ELEM_MSE } elem_kind;

/* softplus(-x) = log(1 + exp(-x)), without overflow for either sign of x. */
static float softplus_neg(float x) { return (x < 0.0f ? -x : 0.0f) + log1pf(expf(-fabsf(x))); }

/* sigmoid(-x) = 1 / (1 + exp(x)), without overflow. */
static float sigmoid_neg(float x) {
    if (x >= 0.0f) {
        float e = expf(-x);
        return e / (1.0f + e);
    }
    return 1.0f / (1.0f + expf(x));
}

/* sum_k l(x_k, y_k) over one sample's k elements; each term also into lrow unless it is NULL. */
static double elem_row_forward(elem_kind kind, float *lrow, const float *x, const float *y, const float *pos_weight,
                               int k) {
    double s = 0;
    for (int j = 0; j < k; j++) {
        float l;
        switch (kind) {
        case ELEM_BCE: {
            float lw = 1.0f + ((pos_weight ? pos_weight[j] : 1.0f) - 1.0f) * y[j];
            l = (1.0f - y[j]) * x[j] + lw * softplus_neg(x[j]);
            break;
        }
        case ELEM_L1: l = fabsf(x[j] - y[j]); break;
        default: l = (x[j] - y[j]) * (x[j] - y[j]); break;
        }
        if (lrow) lrow[j] = l;
        s += l;
    }
    return s;
}

/* dx_k += g_k dl/dx_k (and dtarget_k -= the same, as dl/dy = -dl/dx for L1 and MSE), with
 * g_k = grow[k] when grow is given (per-element output) or g otherwise. */
static void elem_row_backward(elem_kind kind, float *dx, float *dtarget, const float *grow, float g, const float *x,
                              const float *y, const float *pos_weight, int k) {
    for (int j = 0; j < k; j++) {
        float dl;
        switch (kind) {
        case ELEM_BCE: {
            float lw = 1.0f + ((pos_weight ? pos_weight[j] : 1.0f) - 1.0f) * y[j];
            dl = (1.0f - y[j]) - lw * sigmoid_neg(x[j]);
            break;
        }
        case ELEM_L1: dl = x[j] > y[j] ? 1.0f : x[j] < y[j] ? -1.0f : 0.0f; break;
        default: dl = 2.0f * (x[j] - y[j]); break;
        }
        float gd = (grow ? grow[j] * g : g) * dl;
        dx[j] += gd;
        if (dtarget) dtarget[j] -= gd;
    }
}

static float elem_forward(elem_kind kind, const cx_elem_loss_desc *d, float *out, const float *x, const float *y,
                          const float *pos_weight, const float *mask) {
    bool none = d->reduction == CX_REDUCE_NONE;
    double part[LOSS_CHUNKS];
#pragma omp parallel for schedule(static) if ((int64_t)d->n * d->k >= PARALLEL_MIN)
    for (int chunk = 0; chunk < LOSS_CHUNKS; chunk++) {
        int lo, hi;
        chunk_rows(chunk, d->n, &lo, &hi);
        double s = 0;
        for (int i = lo; i < hi; i++) {
            size_t at = (size_t)i * d->k;
            float m = mask_at(mask, i);
            float *lrow = none ? out + at : NULL;
            if (m == 0) {
                if (lrow) memset(lrow, 0, (size_t)d->k * sizeof *lrow);
                continue;
            }
            s += m * elem_row_forward(kind, lrow, x + at, y + at, pos_weight, d->k);
            if (lrow && m != 1.0f)
                for (int j = 0; j < d->k; j++) lrow[j] *= m;
        }
        part[chunk] = s;
    }
    double total = 0;
    for (int chunk = 0; chunk < LOSS_CHUNKS; chunk++) total += part[chunk];
    return reduce_finish(d->reduction, total, mask_total(mask, d->n) * d->k, out);
}

static void elem_backward(elem_kind kind, const cx_elem_loss_desc *d, float *dx, float *dtarget, const float *dout,
                          const float *x, const float *y, const float *pos_weight, const float *mask) {
    bool none = d->reduction == CX_REDUCE_NONE;
    float up = none ? 0.0f : reduced_upstream(d->reduction, dout, mask_total(mask, d->n) * d->k);
#pragma omp parallel for schedule(static) if ((int64_t)d->n * d->k >= PARALLEL_MIN)
    for (int i = 0; i < d->n; i++) {
        float m = mask_at(mask, i);
        if (m == 0) continue;
        size_t at = (size_t)i * d->k;
        elem_row_backward(kind, dx + at, dtarget ? dtarget + at : NULL, none ? dout + at : NULL, none ? m : up * m,
                          x + at, y + at, pos_weight, d->k);
    }
}

float cx_bce_logits_forward(const cx_elem_loss_desc *d, float *out, const float *logits, const float *target,
                            const float *pos_weight, const float *mask) {
    return elem_forward(ELEM_BCE, d, out, logits, target, pos_weight, mask);
}

void cx_bce_logits_backward(const cx_elem_loss_desc *d, float *dlogits, const float *dout, const float *logits,
                            const float *target, const float *pos_weight, const float *mask) {
    elem_backward(ELEM_BCE, d, dlogits, NULL, dout, logits, target, pos_weight, mask);
}

float cx_l1_forward(const cx_elem_loss_desc *d, float *out, const float *x, const float *target, const float *mask) {
    return elem_forward(ELEM_L1, d, out, x, target, NULL, mask);
}

void cx_l1_backward(const cx_elem_loss_desc *d, float *dx, float *dtarget, const float *dout, const float *x,
                    const float *target, const float *mask) {
    elem_backward(ELEM_L1, d, dx, dtarget, dout, x, target, NULL, mask);
}

float cx_mse_forward(const cx_elem_loss_desc *d, float *out, const float *x, const float *target, const float *mask) {
    return elem_forward(ELEM_MSE, d, out, x, target, NULL, mask);
}

void cx_mse_backward(const cx_elem_loss_desc *d, float *dx, float *dtarget, const float *dout, const float *x,
                     const float *target, const float *mask) {
    elem_backward(ELEM_MSE, d, dx, dtarget, dout, x, target, NULL, mask);
}

/* ---- Dice ---- */

/* One sample's A = 2 sum(p t) + eps and B = sum(p) + sum(t) + eps; its loss is 1 - A / B. */
static void dice_sums(const float *p, const float *t, int k, float eps, double *a, double *b) {
    double pt = 0, ps = 0, ts = 0;
    for (int j = 0; j < k; j++) {
        pt += (double)p[j] * t[j];
        ps += p[j];
        ts += t[j];
    }
    *a = 2 * pt + eps;
    *b = ps + ts + eps;
}

float cx_dice_forward(const cx_dice_desc *d, float *out, const float *prob, const float *target, const float *mask) {
    double part[LOSS_CHUNKS];
#pragma omp parallel for schedule(static) if ((int64_t)d->n * d->k >= PARALLEL_MIN)
    for (int chunk = 0; chunk < LOSS_CHUNKS; chunk++) {
        int lo, hi;
        chunk_rows(chunk, d->n, &lo, &hi);
        double s = 0;
        for (int i = lo; i < hi; i++) {
            float m = mask_at(mask, i), li = 0.0f;
            if (m != 0) {
                double a, b;
                dice_sums(prob + (size_t)i * d->k, target + (size_t)i * d->k, d->k, d->eps, &a, &b);
                li = m * (float)(1.0 - a / b);
            }
            if (d->reduction == CX_REDUCE_NONE) out[i] = li;
            s += li;
        }
        part[chunk] = s;
    }
    double total = 0;
    for (int chunk = 0; chunk < LOSS_CHUNKS; chunk++) total += part[chunk];
    return reduce_finish(d->reduction, total, mask_total(mask, d->n), out);
}

void cx_dice_backward(const cx_dice_desc *d, float *dprob, const float *dout, const float *prob, const float *target,
                      const float *mask) {
    bool none = d->reduction == CX_REDUCE_NONE;
    float up = none ? 0.0f : reduced_upstream(d->reduction, dout, mask_total(mask, d->n));
#pragma omp parallel for schedule(static) if ((int64_t)d->n * d->k >= PARALLEL_MIN)
    for (int i = 0; i < d->n; i++) {
        float m = mask_at(mask, i);
        if (m == 0) continue;
        const float *p = prob + (size_t)i * d->k, *t = target + (size_t)i * d->k;
        double a, b;
        dice_sums(p, t, d->k, d->eps, &a, &b);
        /* d(1 - A/B)/dp_k = (A - 2 t_k B) / B^2 = A/B^2 - t_k 2/B */
        double g = (double)(none ? dout[i] : up) * m;
        float c0 = (float)(g * a / (b * b)), c1 = (float)(g * 2.0 / b);
        float *dp = dprob + (size_t)i * d->k;
        for (int j = 0; j < d->k; j++) dp[j] += c0 - c1 * t[j];
    }
}

/* ---- InfoNCE ---- */

#define NORMALIZE_EPS 1e-12f

/* The workspace: normalised a and b, S (then dS), the row and column log-sum-exps of S, the row
 * norms of a and b, and the gradient reaching normalised a, then normalised b. */
typedef struct {
    float *an, *bn, *s, *lse_row, *lse_col, *norm_a, *norm_b, *dxn;
} infonce_work;

static infonce_work infonce_layout(const cx_infonce_desc *d, float *work) {
    size_t nd = (size_t)d->n * d->dim, nn = (size_t)d->n * d->n;
    infonce_work w;
    w.an = work;
    w.bn = w.an + nd;
    w.s = w.bn + nd;
    w.lse_row = w.s + nn;
    w.lse_col = w.lse_row + d->n;
    w.norm_a = w.lse_col + d->n;
    w.norm_b = w.norm_a + d->n;
    w.dxn = w.norm_b + d->n;
    return w;
}

size_t cx_infonce_workspace_bytes(const cx_infonce_desc *d) {
    size_t nd = (size_t)d->n * d->dim, nn = (size_t)d->n * d->n;
    return (3 * nd + nn + 4 * (size_t)d->n) * sizeof(float);
}

/* xn[n, dim] = x / max(|x|, eps) row by row; norm[n] = |x|. */
static void normalize_rows(float *xn, float *norm, const float *x, int n, int dim) {
    for (int i = 0; i < n; i++) {
        const float *row = x + (size_t)i * dim;
        double ss = 0;
        for (int j = 0; j < dim; j++) ss += (double)row[j] * row[j];
        norm[i] = (float)sqrt(ss);
        float denom = fmaxf(norm[i], NORMALIZE_EPS);
        for (int j = 0; j < dim; j++) xn[(size_t)i * dim + j] = row[j] / denom;
    }
}

/* dx += d(x / max(|x|, eps))^T dxn for each row: (dxn - xn (xn . dxn)) / |x|, or dxn / eps
 * where the clamp holds. */
static void normalize_rows_backward(float *dx, const float *dxn, const float *xn, const float *norm, int n, int dim) {
    for (int i = 0; i < n; i++) {
        const float *g = dxn + (size_t)i * dim, *u = xn + (size_t)i * dim;
        float *out = dx + (size_t)i * dim;
        if (norm[i] > NORMALIZE_EPS) {
            double dot = 0;
            for (int j = 0; j < dim; j++) dot += (double)u[j] * g[j];
            float proj = (float)dot, inv = 1.0f / norm[i];
            for (int j = 0; j < dim; j++) out[j] += (g[j] - u[j] * proj) * inv;
        } else {
            for (int j = 0; j < dim; j++) out[j] += g[j] / NORMALIZE_EPS;
        }
    }
}

/* Everything forward finds: the normalised rows, S = an bn^T / tau and its log-sum-exps. */
static void infonce_logits(const cx_infonce_desc *d, const infonce_work *w, const float *a, const float *b) {
    int n = d->n;
    normalize_rows(w->an, w->norm_a, a, n, d->dim);
    normalize_rows(w->bn, w->norm_b, b, n, d->dim);
    cx_sgemm(false, true, n, n, d->dim, 1.0f / d->tau, w->an, d->dim, w->bn, d->dim, 0.0f, w->s, n);
    for (int i = 0; i < n; i++) {
        float max;
        double sum;
        softmax_stats(w->s + (size_t)i * n, n, &max, &sum);
        w->lse_row[i] = max + (float)log(sum);
    }
    for (int j = 0; j < n; j++) {
        float max = w->s[j];
        for (int i = 1; i < n; i++) max = fmaxf(max, w->s[(size_t)i * n + j]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += expf(w->s[(size_t)i * n + j] - max);
        w->lse_col[j] = max + (float)log(sum);
    }
}

float cx_infonce_forward(const cx_infonce_desc *d, float *out, const float *a, const float *b, float *work) {
    infonce_work w = infonce_layout(d, work);
    infonce_logits(d, &w, a, b);
    double total = 0;
    for (int i = 0; i < d->n; i++) {
        float sii = w.s[(size_t)i * d->n + i];
        float li = 0.5f * ((w.lse_row[i] - sii) + (w.lse_col[i] - sii));
        if (d->reduction == CX_REDUCE_NONE) out[i] = li;
        total += li;
    }
    return reduce_finish(d->reduction, total, d->n, out);
}

void cx_infonce_backward(const cx_infonce_desc *d, float *da, float *db, const float *dout, const float *a,
                         const float *b, float *work) {
    int n = d->n;
    infonce_work w = infonce_layout(d, work);
    infonce_logits(d, &w, a, b);
    bool none = d->reduction == CX_REDUCE_NONE;
    float up = none ? 0.0f : reduced_upstream(d->reduction, dout, n);
    /* dS[i, j] = g_i/2 (softmax_row(S)[i, j] - [i == j]) + g_j/2 (softmax_col(S)[i, j] - [i == j]),
     * g_i being the gradient reaching l_i; written over S */
    for (int i = 0; i < n; i++) {
        float gi = 0.5f * (none ? dout[i] : up);
        float *srow = w.s + (size_t)i * n;
        for (int j = 0; j < n; j++) {
            float gj = 0.5f * (none ? dout[j] : up);
            float ds = gi * expf(srow[j] - w.lse_row[i]) + gj * expf(srow[j] - w.lse_col[j]);
            srow[j] = i == j ? ds - gi - gj : ds;
        }
    }
    /* S = an bn^T / tau: dan = dS bn / tau, dbn = dS^T an / tau */
    if (da) {
        cx_sgemm(false, false, n, d->dim, n, 1.0f / d->tau, w.s, n, w.bn, d->dim, 0.0f, w.dxn, d->dim);
        normalize_rows_backward(da, w.dxn, w.an, w.norm_a, n, d->dim);
    }
    if (db) {
        cx_sgemm(true, false, n, d->dim, n, 1.0f / d->tau, w.s, n, w.an, d->dim, 0.0f, w.dxn, d->dim);
        normalize_rows_backward(db, w.dxn, w.bn, w.norm_b, n, d->dim);
    }
}
