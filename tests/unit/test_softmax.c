/* Softmax and log-softmax along any axis: finite-difference gradients, PyTorch's results,
 * in-place use, the axis view, and thread independence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "gradcheck.h"
#include "nn/softmax.h"
#include "spatial_ref.h"
#include "test.h"

static void run_forward(bool log_space, float *y, const float *x, const cx_softmax_desc *d) {
    if (log_space) cx_log_softmax_forward(y, x, d);
    else cx_softmax_forward(y, x, d);
}

static void run_backward(bool log_space, float *dx, const float *dy, const float *y, const cx_softmax_desc *d) {
    if (log_space) cx_log_softmax_backward(dx, dy, y, d);
    else cx_softmax_backward(dx, dy, y, d);
}

typedef struct {
    bool log_space;
    cx_softmax_desc d;
    float *x, *y;
    const float *probe;
    int64_t n;
} softmax_case;

static double softmax_loss(void *ctx) {
    softmax_case *c = ctx;
    run_forward(c->log_space, c->y, c->x, &c->d);
    return cx_dot_f64(c->probe, c->y, c->n);
}

TEST(softmax_gradcheck) {
    static const struct { int ndim; int64_t shape[3]; int axis; } cases[] = {
        {3, {3, 5, 4}, 1}, {3, {3, 5, 4}, -1}, {2, {6, 3}, 0}, {3, {2, 3, 70}, 1}, {1, {9}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int log_space = 0; log_space < 2; log_space++) {
            softmax_case c = {.log_space = log_space, .n = 1};
            if (!CHECK(cx_softmax_desc_make(&c.d, cases[i].ndim, cases[i].shape, cases[i].axis) == 0)) continue;
            for (int k = 0; k < cases[i].ndim; k++) c.n *= cases[i].shape[k];
            float *x = zeros(c.n), *y = zeros(c.n), *probe = zeros(c.n), *dx = zeros(c.n);
            cx_fill_normal(x, c.n, 1 + i, 2.0f);
            cx_fill_normal(probe, c.n, 11 + i, 1.0f);
            c.x = x;
            c.y = y;
            c.probe = probe;
            run_forward(log_space, y, x, &c.d);
            run_backward(log_space, dx, probe, y, &c.d);
            char what[64];
            snprintf(what, sizeof what, "%s case %zu", log_space ? "log_softmax" : "softmax", i);
            CHECK(cx_gradcheck(what, softmax_loss, &c, x, dx, c.n, 200, 1e-2, 1e-3));
            free(x);
            free(y);
            free(probe);
            free(dx);
        }
}

/* tests/data/ref/softmax.cxs (torch in float64, rounded): last, channel, first and middle axes,
 * inner sizes beyond one work item, and logits of scale 40. Forward rtol 1e-5 (an expf and a
 * division per element) with atol 1e-6 of the largest value: tiny probabilities exp(-100) carry
 * the float32 rounding of x - max times their exponent. Gradients rtol 1e-5, atol 1e-6. */
TEST(softmax_matches_torch) {
    ref_cases rc;
    ref_open(&rc, "softmax");
    while (ref_next(&rc)) {
        const cx_record *rec = &rc.rec;
        const cx_tensor *xt = cx_record_tensor(rec, "x");
        if (!CHECK(xt != NULL)) continue;
        bool log_space = ref_is(rec, "op", "log_softmax");
        cx_softmax_desc d;
        if (!CHECK(cx_softmax_desc_make(&d, xt->ndim, xt->shape, ref_int(rec, "axis")) == 0)) continue;
        int64_t n = cx_tensor_numel(xt);
        const float *probe = ref_f32(rec, "probe", n);
        if (!probe) continue;
        float *y = zeros(n), *dx = zeros(n);
        run_forward(log_space, y, xt->data, &d);
        run_backward(log_space, dx, probe, y, &d);
        CHECK_REF(rec, "y", y, n, 1e-5, 1e-6);
        CHECK_REF(rec, "dx", dx, n, 1e-5, 1e-6);
        free(y);
        free(dx);
    }
    ref_close(&rc);
}

TEST(softmax_desc_and_in_place) {
    cx_softmax_desc d;
    int64_t shape[4] = {2, 3, 4, 5};
    CHECK(cx_softmax_desc_make(&d, 4, shape, 1) == 0 && d.outer == 2 && d.dim == 3 && d.inner == 20);
    CHECK(cx_softmax_desc_make(&d, 4, shape, -1) == 0 && d.outer == 24 && d.dim == 5 && d.inner == 1);
    CHECK(cx_softmax_desc_make(&d, 4, shape, 4) == EX_DATAERR);
    CHECK(cx_softmax_desc_make(&d, 4, shape, -5) == EX_DATAERR);
    /* backward reads only y, so the forward may overwrite x: the same bytes either way */
    cx_softmax_desc_make(&d, 4, shape, 1);
    float x[120], y[120], inplace[120];
    cx_fill_normal(x, 120, 21, 3.0f);
    for (int log_space = 0; log_space < 2; log_space++) {
        run_forward(log_space, y, x, &d);
        memcpy(inplace, x, sizeof x);
        run_forward(log_space, inplace, inplace, &d);
        CHECK(memcmp(inplace, y, sizeof y) == 0);
    }
}

/* Saturated inputs stay finite: a row with one huge logit, and logits of magnitude 1e4. */
TEST(softmax_extreme_logits) {
    cx_softmax_desc d = {.outer = 2, .dim = 4, .inner = 1};
    float x[8] = {1e4f, 0.0f, -1e4f, 3.0f, -1e4f, -1e4f, -1e4f, -1e4f}, y[8], ly[8];
    cx_softmax_forward(y, x, &d);
    cx_log_softmax_forward(ly, x, &d);
    CHECK(y[0] == 1.0f && y[1] == 0.0f && y[2] == 0.0f);
    CHECK(ly[0] == 0.0f && ly[1] == -1e4f && ly[2] == -2e4f);
    for (int i = 4; i < 8; i++) CHECK(y[i] == 0.25f);   /* all equal: the max shift keeps them exact */
    for (int i = 4; i < 8; i++) CHECK_NEAR(ly[i], -1.3862943611198906, 1e-7, 0);
}

typedef struct {
    cx_softmax_desc d;
    const float *x, *probe;
    int64_t n;
} softmax_threads;

/* out = [softmax, its dx, log-softmax, its dx] */
static void softmax_run(void *ctx, float *out) {
    softmax_threads *c = ctx;
    for (int log_space = 0; log_space < 2; log_space++) {
        float *y = out + 2 * log_space * c->n, *dx = y + c->n;
        memset(dx, 0, (size_t)c->n * sizeof *dx);
        run_forward(log_space, y, c->x, &c->d);
        run_backward(log_space, dx, c->probe, y, &c->d);
    }
}

/* Each work item owns its outputs: 1 and 2 threads agree exactly (rtol 1e-12 admits no rounding
 * difference), for the last axis and for channels of an NCHW tensor. */
TEST(softmax_threads) {
    static const cx_softmax_desc descs[] = {{.outer = 300, .dim = 37, .inner = 1}, {.outer = 4, .dim = 10, .inner = 300}};
    for (size_t i = 0; i < 2; i++) {
        softmax_threads c = {.d = descs[i], .n = descs[i].outer * descs[i].dim * descs[i].inner};
        float *x = zeros(c.n), *probe = zeros(c.n);
        cx_fill_normal(x, c.n, 31, 3.0f);
        cx_fill_normal(probe, c.n, 32, 1.0f);
        c.x = x;
        c.probe = probe;
        check_thread_determinism("softmax", softmax_run, &c, 4 * c.n, 1e-12);
        free(x);
        free(probe);
    }
}
