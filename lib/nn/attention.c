#include "nn/attention.h"

#include <math.h>

typedef struct {
    float scale;     /* s = max|M| + eps */
    int32_t argmax;  /* row-major index of the element of M that gave it */
} sample_scale;

size_t cx_task_attention_saved_bytes(const cx_task_attention_desc *d) { return (size_t)d->n * sizeof(sample_scale); }

size_t cx_task_attention_workspace_bytes(const cx_task_attention_desc *d) {
    return 2 * (size_t)d->tasks * (size_t)d->tasks * sizeof(float);
}

/* m [T, T] = q [T, d] k^T; returns the arg-max of |m| (first in row-major order). */
static int32_t scores(float *m, const float *q, const float *k, int t, int dim) {
    int32_t arg = 0;
    for (int i = 0; i < t; i++)
        for (int j = 0; j < t; j++) {
            double acc = 0;
            for (int c = 0; c < dim; c++) acc += (double)q[i * dim + c] * k[j * dim + c];
            m[i * t + j] = (float)acc;
            if (fabsf(m[i * t + j]) > fabsf(m[arg])) arg = i * t + j;
        }
    return arg;
}

void cx_task_attention_forward(const cx_task_attention_desc *d, float *o, float *w, void *saved, const float *q,
                               const float *k, const float *v, float *work) {
    int t = d->tasks, dim = d->dim;
    sample_scale *keep = saved;
    float *m = work;   /* [T, T] */
    for (int64_t n = 0; n < d->n; n++) {
        const float *kn = k + n * t * dim, *vn = v + n * t * dim;
        float *wn = w + n * t * t, *on = o + n * t * dim;
        int32_t arg = scores(m, q, kn, t, dim);
        float s = fabsf(m[arg]) + CX_TASK_ATTENTION_EPS;
        keep[n].scale = s;
        keep[n].argmax = arg;
        for (int i = 0; i < t; i++) {
            float *row = wn + i * t;
            float max = -INFINITY;
            for (int j = 0; j < t; j++) {
                row[j] = (i == j ? 1.0f : 0.0f) + d->alpha * m[i * t + j] / s;
                if (row[j] > max) max = row[j];
            }
            double sum = 0;
            for (int j = 0; j < t; j++) {
                row[j] = expf(row[j] - max);
                sum += row[j];
            }
            for (int j = 0; j < t; j++) row[j] = (float)(row[j] / sum);
        }
        for (int i = 0; i < t; i++)   /* o_n = w_n v_n */
            for (int c = 0; c < dim; c++) {
                double acc = 0;
                for (int j = 0; j < t; j++) acc += (double)wn[i * t + j] * vn[j * dim + c];
                on[i * dim + c] = (float)acc;
            }
    }
}

void cx_task_attention_backward(const cx_task_attention_desc *d, float *dq, float *dk, float *dv, const float *do_,
                                const float *dw, const float *q, const float *k, const float *v, const float *w,
                                const void *saved, float *work) {
    int t = d->tasks, dim = d->dim;
    const sample_scale *keep = saved;
    float *m = work, *g = work + t * t;   /* [T, T] scores; the gradient at W, then at M */
    for (int64_t n = 0; n < d->n; n++) {
        const float *kn = k + n * t * dim, *vn = v + n * t * dim, *wn = w + n * t * t;
        const float *don = do_ ? do_ + n * t * dim : NULL;
        float s = keep[n].scale;
        int32_t arg = keep[n].argmax;
        /* dW = dO V^T (+ what arrives at the W output) */
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++) {
                double acc = dw ? dw[n * t * t + i * t + j] : 0;
                if (don)
                    for (int c = 0; c < dim; c++) acc += (double)don[i * dim + c] * vn[j * dim + c];
                g[i * t + j] = (float)acc;
            }
        if (dv && don)   /* dV = W^T dO */
            for (int j = 0; j < t; j++)
                for (int c = 0; c < dim; c++) {
                    double acc = 0;
                    for (int i = 0; i < t; i++) acc += (double)wn[i * t + j] * don[i * dim + c];
                    dv[n * t * dim + j * dim + c] += (float)acc;
                }
        if (!dq && !dk) continue;
        scores(m, q, kn, t, dim);
        /* through the row softmax: dZ = W (dW - sum_k dW W), then Z = I + alpha M / s */
        double dscale = 0;
        for (int i = 0; i < t; i++) {
            double dot = 0;
            for (int j = 0; j < t; j++) dot += (double)g[i * t + j] * wn[i * t + j];
            for (int j = 0; j < t; j++) {
                double dz = wn[i * t + j] * (g[i * t + j] - dot);
                dscale -= dz * d->alpha * m[i * t + j] / ((double)s * s);
                g[i * t + j] = (float)(dz * d->alpha / s);
            }
        }
        /* s = |M_arg| + eps */
        g[arg] += (float)(dscale * (m[arg] > 0 ? 1 : m[arg] < 0 ? -1 : 0));
        if (dq)   /* dQ += dM K */
            for (int i = 0; i < t; i++)
                for (int c = 0; c < dim; c++) {
                    double acc = 0;
                    for (int j = 0; j < t; j++) acc += (double)g[i * t + j] * kn[j * dim + c];
                    dq[i * dim + c] += (float)acc;
                }
        if (dk)   /* dK = dM^T Q */
            for (int j = 0; j < t; j++)
                for (int c = 0; c < dim; c++) {
                    double acc = 0;
                    for (int i = 0; i < t; i++) acc += (double)g[i * t + j] * q[i * dim + c];
                    dk[n * t * dim + j * dim + c] += (float)acc;
                }
    }
}
