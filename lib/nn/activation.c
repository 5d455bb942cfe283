#include "nn/activation.h"

#include <math.h>
#include <string.h>

/* Elements per parallel work item: large enough to amortise the dispatch. */
#define ACT_BLOCK 8192

static const char *const act_names[CX_NACTS] = {
    [CX_ACT_RELU] = "relu",           [CX_ACT_RELU6] = "relu6",         [CX_ACT_SILU] = "silu",
    [CX_ACT_SIGMOID] = "sigmoid",     [CX_ACT_HARDSWISH] = "hardswish", [CX_ACT_HARDSIGMOID] = "hardsigmoid",
    [CX_ACT_TANH] = "tanh",
};

const char *cx_act_name(cx_act act) { return act >= 0 && act < CX_NACTS ? act_names[act] : "?"; }

int cx_act_parse(const char *name, cx_act *act) {
    for (int i = 0; i < CX_NACTS; i++)
        if (strcmp(name, act_names[i]) == 0) {
            *act = (cx_act)i;
            return 0;
        }
    return -1;
}

bool cx_act_backward_needs_input(cx_act act) {
    return act == CX_ACT_SILU || act == CX_ACT_HARDSWISH || act == CX_ACT_HARDSIGMOID;
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
/* Comparisons rather than fminf/fmaxf so that NaN passes through, as in PyTorch. */
static float clamp(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* y[n] = act(x[n]) for one block. The operation order follows PyTorch's CPU kernels, so that
 * float32 results round the same way (hardswish is x * relu6(x + 3) / 6, not x * (relu6(x + 3) / 6)). */
static void forward_block(cx_act act, float *y, const float *x, int64_t n) {
    switch (act) {
    case CX_ACT_RELU:
#pragma omp simd
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
        break;
    case CX_ACT_RELU6:
#pragma omp simd
        for (int64_t i = 0; i < n; i++) y[i] = clamp(x[i], 0.0f, 6.0f);
        break;
    case CX_ACT_SILU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
        break;
    case CX_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) y[i] = sigmoid(x[i]);
        break;
    case CX_ACT_HARDSWISH:
#pragma omp simd
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * clamp(x[i] + 3.0f, 0.0f, 6.0f) / 6.0f;
        break;
    case CX_ACT_HARDSIGMOID:
#pragma omp simd
        for (int64_t i = 0; i < n; i++) y[i] = clamp(x[i] + 3.0f, 0.0f, 6.0f) / 6.0f;
        break;
    case CX_ACT_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    case CX_NACTS:
        break;
    }
}

/* dx[n] += act'(x) * dy[n] for one block (x or y as cx_act_backward_needs_input says). */
static void backward_block(cx_act act, float *dx, const float *dy, const float *x, const float *y, int64_t n) {
    switch (act) {
    case CX_ACT_RELU:
#pragma omp simd
        for (int64_t i = 0; i < n; i++) dx[i] += y[i] <= 0.0f ? 0.0f : dy[i];
        break;
    case CX_ACT_RELU6:
        /* 0 < y < 6 exactly when 0 < x < 6: relu6 is the identity there */
#pragma omp simd
        for (int64_t i = 0; i < n; i++) dx[i] += y[i] > 0.0f && y[i] < 6.0f ? dy[i] : 0.0f;
        break;
    case CX_ACT_SILU:
        for (int64_t i = 0; i < n; i++) {
            float s = sigmoid(x[i]);
            dx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
        }
        break;
    case CX_ACT_SIGMOID:
#pragma omp simd
        for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (1.0f - y[i]) * y[i];
        break;
    case CX_ACT_HARDSWISH:
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            dx[i] += x[i] < -3.0f ? 0.0f : x[i] < 3.0f ? dy[i] * (x[i] / 3.0f + 0.5f) : dy[i];
        break;
    case CX_ACT_HARDSIGMOID:
#pragma omp simd
        for (int64_t i = 0; i < n; i++) dx[i] += x[i] > -3.0f && x[i] < 3.0f ? dy[i] * (1.0f / 6.0f) : 0.0f;
        break;
    case CX_ACT_TANH:
#pragma omp simd
        for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    case CX_NACTS:
        break;
    }
}

void cx_act_forward(cx_act act, float *y, const float *x, int64_t n) {
    int64_t nblocks = (n + ACT_BLOCK - 1) / ACT_BLOCK;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t at = b * ACT_BLOCK, len = n - at < ACT_BLOCK ? n - at : ACT_BLOCK;
        forward_block(act, y + at, x + at, len);
    }
}

void cx_act_backward(cx_act act, float *dx, const float *dy, const float *x, const float *y, int64_t n) {
    int64_t nblocks = (n + ACT_BLOCK - 1) / ACT_BLOCK;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t at = b * ACT_BLOCK, len = n - at < ACT_BLOCK ? n - at : ACT_BLOCK;
        backward_block(act, dx + at, dy + at, x ? x + at : NULL, y ? y + at : NULL, len);
    }
}
