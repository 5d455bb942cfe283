/* Activations: finite-difference gradients, PyTorch's values and gradients (kinks included),
 * in-place use, and thread independence. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/activation.h"
#include "spatial_ref.h"
#include "test.h"

typedef struct {
    cx_act act;
    float *x, *y;
    const float *probe;
    int64_t n;
} act_case;

static double act_loss(void *ctx) {
    act_case *c = ctx;
    cx_act_forward(c->act, c->y, c->x, c->n);
    return cx_dot_f64(c->probe, c->y, c->n);
}

/* Every kink (0 and 6 of relu/relu6, -3 and 3 of the hard ones) at least 0.2 away, so that the
 * finite differences (step 1e-2 * max(1, |x|)) never straddle one. */
static void keep_off_kinks(float *x, int64_t n) {
    static const float kinks[] = {-3.0f, 0.0f, 3.0f, 6.0f};
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++)
            if (fabsf(x[i] - kinks[k]) < 0.2f) x[i] = kinks[k] + 0.2f;
}

TEST(activation_gradcheck) {
    enum { N = 3 * 5 * 7 };
    for (int a = 0; a < CX_NACTS; a++) {
        float x[N], y[N], probe[N], dx[N] = {0};
        cx_fill_normal(x, N, 10 + a, 3.0f);
        keep_off_kinks(x, N);
        cx_fill_normal(probe, N, 20 + a, 1.0f);
        act_case c = {(cx_act)a, x, y, probe, N};
        cx_act_forward(c.act, y, x, N);
        cx_act_backward(c.act, dx, probe, x, y, N);
        CHECK(cx_gradcheck(cx_act_name(c.act), act_loss, &c, x, dx, N, N, 1e-2, 1e-3));
    }
}

/* tests/data/ref/activation.cxs: random inputs plus every kink, its float32 neighbours and
 * saturated values; the references are torch in float64 rounded to float32. Tolerance: rtol 1e-5
 * with atol 1e-6 of the largest value (a few float32 roundings of expf/tanhf; the absolute part
 * covers sigmoid(-100) = 3.7e-44, a float32 denormal that comes out 0 as exp(100) overflows). */
TEST(activation_matches_torch) {
    ref_cases rc;
    ref_open(&rc, "activation");
    while (ref_next(&rc)) {
        const cx_record *rec = &rc.rec;
        cx_act act;
        if (!CHECK(cx_act_parse(cx_map_str(&rec->meta, "op", "?"), &act) == 0)) continue;
        const cx_tensor *xt = cx_record_tensor(rec, "x");
        if (!CHECK(xt != NULL)) continue;
        int64_t n = cx_tensor_numel(xt);
        const float *x = ref_f32(rec, "x", n), *probe = ref_f32(rec, "probe", n);
        if (!x || !probe) continue;
        float *y = zeros(n), *dx = zeros(n);
        cx_act_forward(act, y, x, n);
        cx_act_backward(act, dx, probe, x, y, n);
        CHECK_REF(rec, "y", y, n, 1e-5, 1e-6);
        CHECK_REF(rec, "dx", dx, n, 1e-5, 1e-6);
        free(y);
        free(dx);
    }
    ref_close(&rc);
}

/* The kinks themselves, as torch 1.13's vectorised kernels define the gradient there (see
 * activation.h; the fixture above holds the same points, away from torch's scalar tail). */
TEST(activation_kink_gradients) {
    struct { cx_act act; float x, dx; } kinks[] = {
        {CX_ACT_RELU, 0.0f, 0.0f},         {CX_ACT_RELU6, 0.0f, 0.0f},       {CX_ACT_RELU6, 6.0f, 0.0f},
        {CX_ACT_HARDSWISH, -3.0f, -0.5f},  {CX_ACT_HARDSWISH, 3.0f, 1.0f},   {CX_ACT_HARDSIGMOID, -3.0f, 0.0f},
        {CX_ACT_HARDSIGMOID, 3.0f, 0.0f},
    };
    for (size_t i = 0; i < sizeof kinks / sizeof kinks[0]; i++) {
        float y, dx = 0, dy = 1;
        cx_act_forward(kinks[i].act, &y, &kinks[i].x, 1);
        cx_act_backward(kinks[i].act, &dx, &dy, &kinks[i].x, &y, 1);
        if (!CHECK(dx == kinks[i].dx)) printf("  %s'(%g) = %g\n", cx_act_name(kinks[i].act), kinks[i].x, dx);
    }
}

/* Where backward reads only the output, forward in place and backward without x give the same
 * bytes as the out-of-place run; backward adds into dx. */
TEST(activation_in_place_and_accumulate) {
    enum { N = 1000 };
    float x[N], y[N], inplace[N], probe[N], dx[N], dx_inplace[N], prior[N];
    cx_fill_normal(x, N, 3, 4.0f);
    cx_fill_normal(probe, N, 4, 1.0f);
    cx_fill_normal(prior, N, 5, 1.0f);
    for (int a = 0; a < CX_NACTS; a++) {
        cx_act act = (cx_act)a;
        cx_act_forward(act, y, x, N);
        memset(dx, 0, sizeof dx);
        cx_act_backward(act, dx, probe, x, y, N);
        /* accumulation: starting from prior gives prior + the same gradient */
        float added[N];
        memcpy(added, prior, sizeof added);
        cx_act_backward(act, added, probe, x, y, N);
        for (int i = 0; i < N; i++)
            if (!CHECK(added[i] == prior[i] + dx[i])) break;
        if (cx_act_backward_needs_input(act)) continue;
        memcpy(inplace, x, sizeof inplace);
        cx_act_forward(act, inplace, inplace, N);
        CHECK(memcmp(inplace, y, sizeof y) == 0);
        memset(dx_inplace, 0, sizeof dx_inplace);
        cx_act_backward(act, dx_inplace, probe, NULL, inplace, N);
        CHECK(memcmp(dx_inplace, dx, sizeof dx) == 0);
    }
}

TEST(activation_names) {
    for (int a = 0; a < CX_NACTS; a++) {
        cx_act back;
        CHECK(cx_act_parse(cx_act_name((cx_act)a), &back) == 0 && back == (cx_act)a);
    }
    cx_act act;
    CHECK(cx_act_parse("gelu", &act) == -1);
}

typedef struct {
    cx_act act;
    const float *x, *probe;
    int64_t n;
} act_threads;

/* out = [y, dx] */
static void act_run(void *ctx, float *out) {
    act_threads *c = ctx;
    cx_act_forward(c->act, out, c->x, c->n);
    memset(out + c->n, 0, (size_t)c->n * sizeof *out);
    cx_act_backward(c->act, out + c->n, c->probe, c->x, out, c->n);
}

/* Element-wise work splits into blocks with no shared sums: 1 and 2 threads agree exactly
 * (rtol 1e-12 admits no rounding difference). */
TEST(activation_threads) {
    enum { N = 5 * 8192 + 77 };
    float *x = zeros(N), *probe = zeros(N);
    cx_fill_normal(x, N, 6, 3.0f);
    cx_fill_normal(probe, N, 7, 1.0f);
    for (int a = 0; a < CX_NACTS; a++) {
        act_threads c = {(cx_act)a, x, probe, N};
        check_thread_determinism(cx_act_name(c.act), act_run, &c, 2 * N, 1e-12);
    }
    free(x);
    free(probe);
}
