/* Batch norm: PyTorch parity (tests/data/ref/batchnorm.cxs from tests/ref/gen_spatial.py:
 * training and eval, outputs, gradients, running statistics after one and three training
 * steps), finite-difference gradients, and thread determinism. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "gradcheck.h"
#include "nn/batchnorm.h"
#include "spatial_ref.h"
#include "test.h"

/* One batch-norm layer with its tensors; weight and bias are NULL without the affine map. */
typedef struct {
    cx_batchnorm2d_desc d;
    bool training;
    int64_t n;   /* elements of x */
    float *x, *y, *probe, *dx, *weight, *bias, *dweight, *dbias, *running_mean, *running_var, *saved;
} bn_run;

static bool bn_run_init(bn_run *r, bool affine) {
    if (!CHECK_EQ(cx_batchnorm2d_setup(&r->d), 0)) return false;
    int c = r->d.channels;
    r->n = (int64_t)r->d.batch * c * r->d.height * r->d.width;
    r->x = zeros(r->n), r->y = zeros(r->n), r->probe = zeros(r->n), r->dx = zeros(r->n);
    r->weight = affine ? zeros(c) : NULL, r->bias = affine ? zeros(c) : NULL;
    r->dweight = zeros(c), r->dbias = zeros(c);
    r->running_mean = zeros(c), r->running_var = zeros(c), r->saved = zeros(2 * c);
    return true;
}

static void bn_run_free(bn_run *r) {
    float *all[] = {r->x, r->y, r->probe, r->dx, r->weight, r->bias, r->dweight, r->dbias, r->running_mean,
                    r->running_var, r->saved};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
}

static void bn_run_forward(bn_run *r) {
    if (r->training)
        CHECK_EQ(cx_batchnorm2d_forward_train(&r->d, r->y, r->saved, r->running_mean, r->running_var, r->x, r->weight,
                                              r->bias),
                 0);
    else
        cx_batchnorm2d_forward_eval(&r->d, r->y, r->x, r->weight, r->bias, r->running_mean, r->running_var);
}

/* Gradients of sum(probe * y), added to dx, dweight and dbias (training: through the
 * statistics of the last forward). */
static void bn_run_backward(bn_run *r) {
    float *dweight = r->weight ? r->dweight : NULL, *dbias = r->weight ? r->dbias : NULL;
    if (r->training)
        cx_batchnorm2d_backward_train(&r->d, r->dx, dweight, dbias, r->probe, r->x, r->weight, r->saved);
    else
        cx_batchnorm2d_backward_eval(&r->d, r->dx, dweight, dbias, r->probe, r->x, r->weight, r->running_mean,
                                     r->running_var);
}

/* ---- PyTorch parity ---- */

static void copy_ref(float *dst, const cx_record *rec, const char *name, int64_t n) {
    const float *src = ref_f32(rec, name, n);
    if (src) memcpy(dst, src, (size_t)n * sizeof(float));
}

/* Outputs and running statistics to rtol 1e-4; gradients (backward run twice, so they also
 * show that it adds) to rtol 1e-3; absolute parts 1e-5 x each tensor's largest value. */
TEST(batchnorm_matches_pytorch) {
    ref_cases rc;
    int cases = 0;
    if (!ref_open(&rc, "batchnorm")) return;
    while (ref_next(&rc)) {
        const cx_record *rec = &rc.rec;
        bn_run r = {.d = {ref_int(rec, "batch"), ref_int(rec, "channels"), ref_int(rec, "height"),
                          ref_int(rec, "width"), ref_num(rec, "eps"), ref_num(rec, "momentum")},
                    .training = ref_flag(rec, "training")};
        bool affine = ref_flag(rec, "affine");
        if (!bn_run_init(&r, affine)) continue;
        int c = r.d.channels;
        copy_ref(r.x, rec, "x", r.n);
        copy_ref(r.probe, rec, "probe", r.n);
        copy_ref(r.running_mean, rec, "running_mean", c);
        copy_ref(r.running_var, rec, "running_var", c);
        if (affine) {
            copy_ref(r.weight, rec, "weight", c);
            copy_ref(r.bias, rec, "bias", c);
        }
        bn_run_forward(&r);
        CHECK_REF(rec, "y", r.y, r.n, 1e-4, 1e-5);
        bn_run_backward(&r);
        bn_run_backward(&r);
        for (int64_t i = 0; i < r.n; i++) r.dx[i] *= 0.5f;
        CHECK_REF(rec, "dx", r.dx, r.n, 1e-3, 1e-5);
        if (affine) {
            for (int k = 0; k < c; k++) r.dweight[k] *= 0.5f, r.dbias[k] *= 0.5f;
            CHECK_REF(rec, "dweight", r.dweight, c, 1e-3, 1e-5);
            CHECK_REF(rec, "dbias", r.dbias, c, 1e-3, 1e-5);
        }
        if (r.training) {
            CHECK_REF(rec, "running_mean_1", r.running_mean, c, 1e-4, 1e-5);
            CHECK_REF(rec, "running_var_1", r.running_var, c, 1e-4, 1e-5);
            copy_ref(r.x, rec, "x_step2", r.n);
            bn_run_forward(&r);
            copy_ref(r.x, rec, "x_step3", r.n);
            bn_run_forward(&r);
            CHECK_REF(rec, "running_mean_3", r.running_mean, c, 1e-4, 1e-5);
            CHECK_REF(rec, "running_var_3", r.running_var, c, 1e-4, 1e-5);
        }
        bn_run_free(&r);
        cases++;
    }
    ref_close(&rc);
    CHECK_EQ(cases, 7);
}

/* ---- finite differences ---- */

static double bn_loss(void *ctx) {
    bn_run *r = ctx;
    bn_run_forward(r);
    return cx_dot_f64(r->probe, r->y, r->n);
}

TEST(batchnorm_gradcheck) {
    /* cx_batchnorm2d_desc: batch, channels, height, width, eps, momentum */
    struct { const char *name; cx_batchnorm2d_desc d; bool training, affine; } cases[] = {
        {"train 3x3x5x4", {3, 3, 5, 4, 1e-5, 0.1}, true, true},
        {"train no affine eps 1e-3", {2, 2, 3, 3, 1e-3, 0.1}, true, false},
        {"train 1x1 planes", {6, 3, 1, 1, 1e-5, 0.1}, true, true},
        {"eval", {2, 3, 4, 3, 1e-5, 0.1}, false, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bn_run r = {.d = cases[i].d, .training = cases[i].training};
        if (!bn_run_init(&r, cases[i].affine)) continue;
        int c = r.d.channels;
        cx_fill_normal(r.x, r.n, 1, 1.0f);
        cx_fill_normal(r.probe, r.n, 2, 1.0f);
        cx_fill_normal(r.running_mean, c, 3, 0.5f);
        for (int k = 0; k < c; k++) r.running_var[k] = 0.5f + 0.25f * (float)k;
        if (r.weight) {
            cx_fill_normal(r.weight, c, 4, 1.0f);
            cx_fill_normal(r.bias, c, 5, 1.0f);
        }
        bn_run_forward(&r);
        bn_run_backward(&r);
        char what[96];
        snprintf(what, sizeof what, "%s dx", cases[i].name);
        CHECK(cx_gradcheck(what, bn_loss, &r, r.x, r.dx, r.n, 60, 1e-2, 1e-3 * (1 + max_abs(r.dx, r.n))));
        if (r.weight) {
            snprintf(what, sizeof what, "%s dweight", cases[i].name);
            CHECK(cx_gradcheck(what, bn_loss, &r, r.weight, r.dweight, c, c, 1e-2, 1e-3 * (1 + max_abs(r.dweight, c))));
            snprintf(what, sizeof what, "%s dbias", cases[i].name);
            CHECK(cx_gradcheck(what, bn_loss, &r, r.bias, r.dbias, c, c, 1e-2, 1e-3 * (1 + max_abs(r.dbias, c))));
        }
        bn_run_free(&r);
    }
}

/* ---- threads ---- */

/* out = [y | dx | dweight | dbias | running_mean | running_var] of a fresh forward and
 * backward from the same running statistics. */
static void bn_run_all(void *ctx, float *out) {
    bn_run *r = ctx;
    int c = r->d.channels;
    for (int k = 0; k < c; k++) r->running_mean[k] = 0, r->running_var[k] = 1;
    bn_run_forward(r);
    memset(r->dx, 0, (size_t)r->n * sizeof(float));
    memset(r->dweight, 0, (size_t)c * sizeof(float));
    memset(r->dbias, 0, (size_t)c * sizeof(float));
    bn_run_backward(r);
    const float *parts[] = {r->y, r->dx, r->dweight, r->dbias, r->running_mean, r->running_var};
    int64_t sizes[] = {r->n, r->n, c, c, c, c};
    for (int k = 0; k < 6; k++) {
        memcpy(out, parts[k], (size_t)sizes[k] * sizeof(float));
        out += sizes[k];
    }
}

TEST(batchnorm_threads_deterministic) {
    for (int training = 0; training <= 1; training++) {
        bn_run r = {.d = {5, 12, 9, 7, 1e-5, 0.1}, .training = training};
        if (!bn_run_init(&r, true)) continue;
        cx_fill_normal(r.x, r.n, 1, 2.0f);
        cx_fill_normal(r.probe, r.n, 2, 1.0f);
        cx_fill_normal(r.weight, r.d.channels, 3, 1.0f);
        cx_fill_normal(r.bias, r.d.channels, 4, 1.0f);
        check_thread_determinism(training ? "train" : "eval", bn_run_all, &r, 2 * r.n + 4 * r.d.channels, 1e-5);
        bn_run_free(&r);
    }
}

/* ---- validation ---- */

TEST(batchnorm_rejects_bad_input) {
    cx_batchnorm2d_desc eps = {2, 3, 4, 4, 0.0, 0.1}, momentum = {2, 3, 4, 4, 1e-5, 1.5};
    cx_batchnorm2d_desc empty = {0, 3, 4, 4, 1e-5, 0.1};
    CHECK_EQ(cx_batchnorm2d_setup(&eps), EX_DATAERR);
    CHECK_EQ(cx_batchnorm2d_setup(&momentum), EX_DATAERR);
    CHECK_EQ(cx_batchnorm2d_setup(&empty), EX_DATAERR);
    /* as PyTorch: training needs more than one value per channel */
    cx_batchnorm2d_desc single = {1, 2, 1, 1, 1e-5, 0.1};
    float x[2] = {1, 2}, y[2], saved[4], mean[2] = {0, 0}, var[2] = {1, 1};
    CHECK_EQ(cx_batchnorm2d_setup(&single), 0);
    CHECK_EQ(cx_batchnorm2d_forward_train(&single, y, saved, mean, var, x, NULL, NULL), EX_DATAERR);
    CHECK(mean[0] == 0 && var[0] == 1);
}
