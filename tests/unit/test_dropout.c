/* Dropout and drop-path. PyTorch's random stream cannot be reproduced, so these check the
 * distribution (the dropped fraction within a binomial bound), the exact scale, eval identity,
 * backward against the stored mask, finite-difference gradients with the mask held fixed, and
 * that masks depend on (seed, step) only, not on the thread count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/dropout.h"
#include "nn/nn.h"
#include "spatial_ref.h"
#include "test.h"

static int64_t count_zero(const uint8_t *mask, int64_t n) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) k += mask[i] == 0;
    return k;
}

/* The number dropped of n, each with probability p, lies within 5 standard deviations of n p
 * (the masks are deterministic, so this either always holds or never; a wrong p or a mask that
 * is not random would miss it by far). */
static bool binomial_ok(int64_t dropped, int64_t n, double p) {
    double sd = sqrt(n * p * (1 - p));
    bool ok = fabs(dropped - n * p) <= 5 * sd;
    if (!ok) printf("  dropped %lld of %lld, expected %.1f +- %.1f\n", (long long)dropped, (long long)n, n * p, sd);
    return ok;
}

TEST(dropout_statistics_and_exact_scale) {
    enum { N = 200003 };
    float *x = zeros(N), *y = zeros(N);
    uint8_t *mask = malloc(N);
    cx_fill_normal(x, N, 1, 1.0f);
    static const float ps[] = {0.1f, 0.5f, 0.8f};
    for (int k = 0; k < 3; k++) {
        cx_dropout_desc d = {.n = N, .p = ps[k], .training = true, .seed = 7, .step = (uint64_t)k};
        cx_dropout_forward(y, mask, x, &d);
        CHECK(binomial_ok(count_zero(mask, N), N, ps[k]));
        /* survivors scaled by the float32 1/(1-p) exactly, as torch's float mask; the rest 0 */
        float scale = 1.0f / (1.0f - ps[k]);
        int64_t wrong = 0;
        for (int64_t i = 0; i < N; i++) wrong += mask[i] ? y[i] != x[i] * scale : y[i] != 0.0f;
        CHECK(wrong == 0);
        /* each chunk draws from its own stream: the first two chunks' masks differ */
        CHECK(memcmp(mask, mask + CX_DROPOUT_CHUNK, CX_DROPOUT_CHUNK) != 0);
    }
    free(x);
    free(y);
    free(mask);
}

TEST(drop_path_statistics) {
    enum { SAMPLES = 20000, SAMPLE = 3 };
    float *x = zeros(SAMPLES * SAMPLE), *y = zeros(SAMPLES * SAMPLE);
    uint8_t mask[SAMPLES];
    cx_fill_normal(x, SAMPLES * SAMPLE, 2, 1.0f);
    cx_drop_path_desc d = {.n = SAMPLES, .sample = SAMPLE, .p = 0.2f, .training = true, .seed = 3, .step = 11};
    cx_drop_path_forward(y, mask, x, &d);
    CHECK(binomial_ok(count_zero(mask, SAMPLES), SAMPLES, 0.2));
    float scale = 1.0f / (1.0f - 0.2f);
    int64_t wrong = 0;
    for (int64_t s = 0; s < SAMPLES; s++)
        for (int k = 0; k < SAMPLE; k++) {
            int64_t i = s * SAMPLE + k;
            wrong += mask[s] ? y[i] != x[i] * scale : y[i] != 0.0f;   /* whole samples */
        }
    CHECK(wrong == 0);
    free(x);
    free(y);
}

/* Eval (and p = 0) is the identity and leaves the mask alone; p = 1 drops everything. */
TEST(dropout_eval_and_extremes) {
    enum { N = 1000 };
    float x[N], y[N], dx[N], dy[N];
    uint8_t mask[N];
    cx_fill_normal(x, N, 4, 1.0f);
    cx_fill_normal(dy, N, 5, 1.0f);
    for (int training = 0; training < 2; training++) {
        cx_dropout_desc d = {.n = N, .p = training ? 0.0f : 0.5f, .training = training, .seed = 1};
        memset(mask, 7, sizeof mask);
        cx_dropout_forward(y, mask, x, &d);
        CHECK(memcmp(y, x, sizeof x) == 0);
        CHECK(mask[0] == 7 && mask[N - 1] == 7);
        memcpy(dx, x, sizeof dx);
        cx_dropout_backward(dx, dy, mask, &d);
        int64_t wrong = 0;
        for (int i = 0; i < N; i++) wrong += dx[i] != x[i] + dy[i];
        CHECK(wrong == 0);
        /* in place */
        memcpy(y, x, sizeof y);
        cx_dropout_forward(y, mask, y, &d);
        CHECK(memcmp(y, x, sizeof x) == 0);
    }
    cx_drop_path_desc all = {.n = 10, .sample = 100, .p = 1.0f, .training = true, .seed = 1};
    cx_drop_path_forward(y, mask, x, &all);
    CHECK(count_zero(mask, 10) == 10);
    int64_t nonzero = 0;
    for (int i = 0; i < N; i++) nonzero += y[i] != 0.0f;
    CHECK(nonzero == 0);
}

/* Backward: dx += dy * mask * scale exactly, for a stored mask. */
TEST(dropout_backward_uses_mask) {
    enum { N = 5000 };
    float x[N], y[N], dy[N], dx[N], prior[N];
    uint8_t mask[N];
    cx_fill_normal(x, N, 6, 1.0f);
    cx_fill_normal(dy, N, 7, 1.0f);
    cx_fill_normal(prior, N, 8, 1.0f);
    cx_dropout_desc d = {.n = N, .p = 0.3f, .training = true, .seed = 9, .step = 2};
    cx_dropout_forward(y, mask, x, &d);
    memcpy(dx, prior, sizeof dx);
    cx_dropout_backward(dx, dy, mask, &d);
    float scale = 1.0f / (1.0f - 0.3f);
    int64_t wrong = 0;
    for (int i = 0; i < N; i++) wrong += dx[i] != prior[i] + (mask[i] ? dy[i] * scale : 0.0f);
    CHECK(wrong == 0);
    cx_drop_path_desc dp = {.n = 50, .sample = 100, .p = 0.3f, .training = true, .seed = 9, .step = 2};
    uint8_t sample_mask[50];
    cx_drop_path_forward(y, sample_mask, x, &dp);
    memcpy(dx, prior, sizeof dx);
    cx_drop_path_backward(dx, dy, sample_mask, &dp);
    wrong = 0;
    for (int i = 0; i < N; i++) wrong += dx[i] != prior[i] + (sample_mask[i / 100] ? dy[i] * scale : 0.0f);
    CHECK(wrong == 0);
}

/* With (seed, step) fixed the forward is a fixed linear map: finite differences see it. */
typedef struct {
    cx_dropout_desc drop;
    cx_drop_path_desc path;
    bool per_sample;
    float *x, *y;
    uint8_t *mask;
    const float *probe;
    int64_t n;
} dropout_case;

static double dropout_loss(void *ctx) {
    dropout_case *c = ctx;
    if (c->per_sample) cx_drop_path_forward(c->y, c->mask, c->x, &c->path);
    else cx_dropout_forward(c->y, c->mask, c->x, &c->drop);
    return cx_dot_f64(c->probe, c->y, c->n);
}

TEST(dropout_gradcheck) {
    enum { N = 6 * 35 };
    float x[N], y[N], probe[N], dx[N];
    uint8_t mask[N];
    cx_fill_normal(x, N, 10, 1.0f);
    cx_fill_normal(probe, N, 11, 1.0f);
    for (int per_sample = 0; per_sample < 2; per_sample++) {
        dropout_case c = {.drop = {.n = N, .p = 0.4f, .training = true, .seed = 5, .step = 1},
                          .path = {.n = 6, .sample = 35, .p = 0.4f, .training = true, .seed = 5, .step = 1},
                          .per_sample = per_sample, .x = x, .y = y, .mask = mask, .probe = probe, .n = N};
        dropout_loss(&c);
        memset(dx, 0, sizeof dx);
        if (per_sample) cx_drop_path_backward(dx, probe, mask, &c.path);
        else cx_dropout_backward(dx, probe, mask, &c.drop);
        CHECK(cx_gradcheck(per_sample ? "drop_path" : "dropout", dropout_loss, &c, x, dx, N, N, 1e-2, 1e-3));
    }
}

/* The same (seed, step) gives the same mask for any thread count; another step or seed another. */
TEST(dropout_mask_determinism) {
    enum { N = 10 * CX_DROPOUT_CHUNK + 123 };
    float *x = zeros(N), *y = zeros(N);
    uint8_t *one = malloc(N), *two = malloc(N), *again = malloc(N), *other = malloc(N);
    cx_fill_normal(x, N, 12, 1.0f);
    int saved = cx_nn_threads();
    cx_dropout_desc d = {.n = N, .p = 0.5f, .training = true, .seed = 99, .step = 5};
    cx_nn_set_threads(1);
    cx_dropout_forward(y, one, x, &d);
    cx_nn_set_threads(2);
    cx_dropout_forward(y, two, x, &d);
    cx_dropout_forward(y, again, x, &d);
    CHECK(memcmp(one, two, N) == 0);
    CHECK(memcmp(two, again, N) == 0);
    d.step = 6;
    cx_dropout_forward(y, other, x, &d);
    CHECK(memcmp(one, other, N) != 0);
    d.step = 5;
    d.seed = 100;
    cx_dropout_forward(y, other, x, &d);
    CHECK(memcmp(one, other, N) != 0);
    cx_nn_set_threads(saved);
    free(x);
    free(y);
    free(one);
    free(two);
    free(again);
    free(other);
}
