#include "nn/dropout.h"

#include <string.h>

#include "core/rng.h"

/* mask[i] = 1 with probability 1 - p, chunk by chunk from generators that depend only on
 * (seed, step, chunk index). */
static void draw_mask(uint8_t *mask, int64_t count, float p, uint64_t seed, uint64_t step) {
    cx_rng step_rng = cx_rng_split(seed, step);
    uint64_t base = cx_rng_u64(&step_rng);
    int64_t chunks = (count + CX_DROPOUT_CHUNK - 1) / CX_DROPOUT_CHUNK;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        cx_rng r = cx_rng_split(base, (uint64_t)c);
        int64_t end = (c + 1) * CX_DROPOUT_CHUNK < count ? (c + 1) * CX_DROPOUT_CHUNK : count;
        for (int64_t i = c * CX_DROPOUT_CHUNK; i < end; i++) mask[i] = cx_rng_uniform(&r) >= p;
    }
}

/* y[u * unit + k] = x[u * unit + k] * (mask[u] ? scale : 0) for u < count, or += in backward.
 * Dropout (unit 1) runs as one flat vector loop, drop-path as a loop per sample. */
static void apply_mask(float *y, const float *x, const uint8_t *mask, int64_t count, int64_t unit, float scale,
                       bool accumulate) {
    if (unit == 1 && accumulate) {
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < count; i++) y[i] += x[i] * (mask[i] ? scale : 0.0f);
    } else if (unit == 1) {
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < count; i++) y[i] = x[i] * (mask[i] ? scale : 0.0f);
    } else {
#pragma omp parallel for schedule(static)
        for (int64_t u = 0; u < count; u++) {
            float f = mask[u] ? scale : 0.0f;
            const float *xu = x + u * unit;
            float *yu = y + u * unit;
            if (accumulate) {
#pragma omp simd
                for (int64_t k = 0; k < unit; k++) yu[k] += xu[k] * f;
            } else {
#pragma omp simd
                for (int64_t k = 0; k < unit; k++) yu[k] = xu[k] * f;
            }
        }
    }
}

/* 1 / (1 - p) in float, as torch divides its float mask by 1 - p; 0 when everything is dropped. */
static float keep_scale(float p) { return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f; }

/* count units of unit elements each, one mask entry per unit (an element, or a sample). */
static void mask_forward(float *y, uint8_t *mask, const float *x, int64_t count, int64_t unit, float p,
                         bool training, uint64_t seed, uint64_t step) {
    if (!training || p <= 0.0f) {   /* the identity */
        if (y != x) memcpy(y, x, (size_t)(count * unit) * sizeof *y);
        return;
    }
    draw_mask(mask, count, p, seed, step);
    apply_mask(y, x, mask, count, unit, keep_scale(p), false);
}

static void mask_backward(float *dx, const float *dy, const uint8_t *mask, int64_t count, int64_t unit, float p,
                          bool training) {
    if (!training || p <= 0.0f) {
        int64_t n = count * unit;
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
        return;
    }
    apply_mask(dx, dy, mask, count, unit, keep_scale(p), true);
}

void cx_dropout_forward(float *y, uint8_t *mask, const float *x, const cx_dropout_desc *d) {
    mask_forward(y, mask, x, d->n, 1, d->p, d->training, d->seed, d->step);
}

void cx_dropout_backward(float *dx, const float *dy, const uint8_t *mask, const cx_dropout_desc *d) {
    mask_backward(dx, dy, mask, d->n, 1, d->p, d->training);
}

void cx_drop_path_forward(float *y, uint8_t *mask, const float *x, const cx_drop_path_desc *d) {
    mask_forward(y, mask, x, d->n, d->sample, d->p, d->training, d->seed, d->step);
}

void cx_drop_path_backward(float *dx, const float *dy, const uint8_t *mask, const cx_drop_path_desc *d) {
    mask_backward(dx, dy, mask, d->n, d->sample, d->p, d->training);
}
