/* Layer norm: finite-difference gradients (input and affine parameters), PyTorch's results,
 * saved statistics, and thread independence. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/layernorm.h"
#include "spatial_ref.h"
#include "test.h"

typedef struct {
    cx_layernorm_desc d;
    float *x, *w, *b, *y, *mean, *rstd;   /* w, b NULL without affine */
    const float *probe;
} layernorm_case;

static double layernorm_loss(void *ctx) {
    layernorm_case *c = ctx;
    cx_layernorm_forward(c->y, c->mean, c->rstd, c->x, c->w, c->b, &c->d);
    return cx_dot_f64(c->probe, c->y, c->d.rows * c->d.dim);
}

TEST(layernorm_gradcheck) {
    static const cx_layernorm_desc descs[] = {{.rows = 5, .dim = 7, .eps = 1e-5f}, {.rows = 3, .dim = 20, .eps = 1e-2f},
                                              {.rows = 2, .dim = 1, .eps = 1e-5f}};
    for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++)
        for (int affine = 0; affine < 2; affine++) {
            cx_layernorm_desc d = descs[i];
            int64_t n = d.rows * d.dim;
            float *x = zeros(n), *y = zeros(n), *probe = zeros(n), *dx = zeros(n), *w = zeros(d.dim),
                  *b = zeros(d.dim), *dw = zeros(d.dim), *db = zeros(d.dim), *mean = zeros(d.rows),
                  *rstd = zeros(d.rows);
            cx_fill_normal(x, n, 1 + i, 2.0f);
            cx_fill_normal(w, d.dim, 2 + i, 1.0f);
            cx_fill_normal(b, d.dim, 3 + i, 1.0f);
            cx_fill_normal(probe, n, 4 + i, 1.0f);
            layernorm_case c = {d, x, affine ? w : NULL, affine ? b : NULL, y, mean, rstd, probe};
            layernorm_loss(&c);
            cx_layernorm_backward(dx, affine ? dw : NULL, affine ? db : NULL, probe, x, mean, rstd, c.w, &d);
            char what[64];
            snprintf(what, sizeof what, "layernorm %zu%s dx", i, affine ? " affine" : "");
            CHECK(cx_gradcheck(what, layernorm_loss, &c, x, dx, n, 200, 1e-2, 1e-3));
            if (affine) {
                snprintf(what, sizeof what, "layernorm %zu dw", i);
                CHECK(cx_gradcheck(what, layernorm_loss, &c, w, dw, d.dim, 200, 1e-2, 1e-3));
                snprintf(what, sizeof what, "layernorm %zu db", i);
                CHECK(cx_gradcheck(what, layernorm_loss, &c, b, db, d.dim, 200, 1e-2, 1e-3));
            }
            free(x);
            free(y);
            free(probe);
            free(dx);
            free(w);
            free(b);
            free(dw);
            free(db);
            free(mean);
            free(rstd);
        }
}

/* tests/data/ref/layernorm.cxs (torch in float64, rounded): affine or not, two normalised dims,
 * eps 1e-6, a mean of 1000 (the variance must not cancel), dim 300 (two column blocks).
 * Statistics in double: rtol 1e-5 with atol 1e-6 of the largest value, forward and gradients
 * (whose sums cancel to values near 0, hence the absolute part). Case large_mean: rtol 1e-4,
 * atol 1e-5, as backward reads the mean saved in float32, whose rounding (ulp(1000) / 2 = 3e-5
 * of a unit standard deviation) enters every normalised value; torch in float32 is 5 to 10
 * times further off there. */
TEST(layernorm_matches_torch) {
    ref_cases rc;
    ref_open(&rc, "layernorm");
    while (ref_next(&rc)) {
        const cx_record *rec = &rc.rec;
        const cx_tensor *xt = cx_record_tensor(rec, "x");
        if (!CHECK(xt != NULL)) continue;
        bool affine = ref_flag(rec, "affine");
        cx_layernorm_desc d = {.dim = ref_int(rec, "dim"), .eps = (float)ref_num(rec, "eps")};
        int64_t n = cx_tensor_numel(xt);
        if (!CHECK(d.dim > 0 && n % d.dim == 0)) continue;
        d.rows = n / d.dim;
        const float *w = affine ? ref_f32(rec, "w", d.dim) : NULL, *b = affine ? ref_f32(rec, "b", d.dim) : NULL;
        const float *probe = ref_f32(rec, "probe", n);
        if ((affine && (!w || !b)) || !probe) continue;
        float *y = zeros(n), *dx = zeros(n), *dw = zeros(d.dim), *db = zeros(d.dim), *mean = zeros(d.rows),
              *rstd = zeros(d.rows);
        cx_layernorm_forward(y, mean, rstd, xt->data, w, b, &d);
        cx_layernorm_backward(dx, affine ? dw : NULL, affine ? db : NULL, probe, xt->data, mean, rstd, w, &d);
        double rtol = strcmp(rec->id, "large_mean") ? 1e-5 : 1e-4;
        CHECK_REF(rec, "y", y, n, rtol, rtol / 10);
        CHECK_REF(rec, "dx", dx, n, rtol, rtol / 10);
        if (affine) {
            CHECK_REF(rec, "dw", dw, d.dim, rtol, rtol / 10);
            CHECK_REF(rec, "db", db, d.dim, rtol, rtol / 10);
        }
        free(y);
        free(dx);
        free(dw);
        free(db);
        free(mean);
        free(rstd);
    }
    ref_close(&rc);
}

/* The saved statistics, against a direct computation: mean and 1/sqrt(biased variance + eps). */
TEST(layernorm_statistics) {
    cx_layernorm_desc d = {.rows = 3, .dim = 11, .eps = 1e-3f};
    float x[33], y[33], mean[3], rstd[3];
    cx_fill_normal(x, 33, 41, 5.0f);
    cx_layernorm_forward(y, mean, rstd, x, NULL, NULL, &d);
    for (int r = 0; r < 3; r++) {
        double m = 0, v = 0;
        for (int i = 0; i < 11; i++) m += x[r * 11 + i] / 11.0;
        for (int i = 0; i < 11; i++) v += (x[r * 11 + i] - m) * (x[r * 11 + i] - m) / 11.0;
        CHECK_NEAR(mean[r], m, 1e-6, 1e-6);
        CHECK_NEAR(rstd[r], 1.0 / sqrt(v + 1e-3), 1e-6, 0);
    }
}

typedef struct {
    cx_layernorm_desc d;
    const float *x, *w, *b, *probe;
} layernorm_threads;

/* out = [y, dx, dw, db, mean, rstd] */
static void layernorm_run(void *ctx, float *out) {
    layernorm_threads *c = ctx;
    int64_t n = c->d.rows * c->d.dim;
    float *y = out, *dx = y + n, *dw = dx + n, *db = dw + c->d.dim, *mean = db + c->d.dim, *rstd = mean + c->d.rows;
    memset(dx, 0, (size_t)(n + 2 * c->d.dim) * sizeof *out);
    cx_layernorm_forward(y, mean, rstd, c->x, c->w, c->b, &c->d);
    cx_layernorm_backward(dx, dw, db, c->probe, c->x, mean, rstd, c->w, &c->d);
}

/* Rows and column blocks are owned by one work item each: 1 and 2 threads agree exactly (rtol
 * 1e-12 admits no rounding difference). */
TEST(layernorm_threads) {
    layernorm_threads c = {.d = {.rows = 64, .dim = 600, .eps = 1e-5f}};
    int64_t n = 64 * 600;
    float *x = zeros(n), *w = zeros(600), *b = zeros(600), *probe = zeros(n);
    cx_fill_normal(x, n, 51, 2.0f);
    cx_fill_normal(w, 600, 52, 1.0f);
    cx_fill_normal(b, 600, 53, 1.0f);
    cx_fill_normal(probe, n, 54, 1.0f);
    c.x = x;
    c.w = w;
    c.b = b;
    c.probe = probe;
    check_thread_determinism("layernorm", layernorm_run, &c, 2 * n + 2 * 600 + 2 * 64, 1e-12);
    free(x);
    free(w);
    free(b);
    free(probe);
}
