/* Linear layers and batched matmul: finite-difference gradients, PyTorch's results, and
 * thread determinism (both matmul threading strategies). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/linear.h"
#include "spatial_ref.h"
#include "test.h"

typedef struct {
    cx_linear_desc d;
    float *x, *w, *b, *y;   /* b NULL without bias */
    const float *probe;
} linear_case;

static double linear_loss(void *ctx) {
    linear_case *c = ctx;
    cx_linear_forward(c->y, c->x, c->w, c->b, &c->d);
    return cx_dot_f64(c->probe, c->y, c->d.n * c->d.out);
}

TEST(linear_gradcheck) {
    for (int bias = 0; bias < 2; bias++) {
        cx_linear_desc d = {.n = 3, .in = 5, .out = 4};
        int64_t nx = d.n * d.in, nw = d.out * d.in, ny = d.n * d.out;
        float *x = zeros(nx), *w = zeros(nw), *b = zeros(d.out), *y = zeros(ny), *probe = zeros(ny);
        float *dx = zeros(nx), *dw = zeros(nw), *db = zeros(d.out);
        cx_fill_normal(x, nx, 1, 1.0f);
        cx_fill_normal(w, nw, 2, 0.5f);
        cx_fill_normal(b, d.out, 3, 1.0f);
        cx_fill_normal(probe, ny, 4, 1.0f);
        linear_case c = {d, x, w, bias ? b : NULL, y, probe};
        cx_linear_backward(dx, dw, bias ? db : NULL, probe, x, w, &d);
        CHECK(cx_gradcheck("linear dx", linear_loss, &c, x, dx, nx, 100, 1e-2, 1e-3));
        CHECK(cx_gradcheck("linear dw", linear_loss, &c, w, dw, nw, 100, 1e-2, 1e-3));
        if (bias) CHECK(cx_gradcheck("linear db", linear_loss, &c, b, db, d.out, 100, 1e-2, 1e-3));
        free(x);
        free(w);
        free(b);
        free(y);
        free(probe);
        free(dx);
        free(dw);
        free(db);
    }
}

typedef struct {
    cx_matmul_desc d;
    float *a, *b, *c;
    const float *probe;
} matmul_case;

static double matmul_loss(void *ctx) {
    matmul_case *c = ctx;
    cx_matmul_forward(c->c, c->a, c->b, &c->d);
    return cx_dot_f64(c->probe, c->c, c->d.batch * c->d.m * c->d.n);
}

TEST(matmul_gradcheck) {
    for (int t = 0; t < 4; t++) {
        cx_matmul_desc d = {.batch = 2, .m = 3, .n = 5, .k = 4, .trans_a = t & 1, .trans_b = t >> 1};
        int64_t na = d.batch * d.m * d.k, nb = d.batch * d.k * d.n, nc = d.batch * d.m * d.n;
        float *a = zeros(na), *b = zeros(nb), *c = zeros(nc), *probe = zeros(nc), *da = zeros(na), *db = zeros(nb);
        cx_fill_normal(a, na, 5 + t, 1.0f);
        cx_fill_normal(b, nb, 9 + t, 1.0f);
        cx_fill_normal(probe, nc, 13 + t, 1.0f);
        matmul_case mc = {d, a, b, c, probe};
        cx_matmul_backward(da, db, probe, a, b, &d);
        char what[32];
        snprintf(what, sizeof what, "matmul %c%c da", d.trans_a ? 't' : 'n', d.trans_b ? 't' : 'n');
        CHECK(cx_gradcheck(what, matmul_loss, &mc, a, da, na, 100, 1e-2, 1e-3));
        snprintf(what, sizeof what, "matmul %c%c db", d.trans_a ? 't' : 'n', d.trans_b ? 't' : 'n');
        CHECK(cx_gradcheck(what, matmul_loss, &mc, b, db, nb, 100, 1e-2, 1e-3));
        free(a);
        free(b);
        free(c);
        free(probe);
        free(da);
        free(db);
    }
}

static void check_linear_case(const cx_record *rec) {
    const cx_tensor *xt = cx_record_tensor(rec, "x"), *wt = cx_record_tensor(rec, "w");
    if (!CHECK(xt && wt && wt->ndim == 2)) return;
    bool bias = ref_flag(rec, "bias");
    cx_linear_desc d = {.n = cx_tensor_numel(xt) / wt->shape[1], .in = wt->shape[1], .out = wt->shape[0]};
    int64_t ny = d.n * d.out;
    const float *b = bias ? ref_f32(rec, "b", d.out) : NULL, *probe = ref_f32(rec, "probe", ny);
    if ((bias && !b) || !probe) return;
    float *y = zeros(ny), *dx = zeros(d.n * d.in), *dw = zeros(d.out * d.in), *db = zeros(d.out);
    cx_linear_forward(y, xt->data, wt->data, b, &d);
    cx_linear_backward(dx, dw, bias ? db : NULL, probe, xt->data, wt->data, &d);
    /* sums of up to 300 float32 products in the BLAS: a few float32 roundings of the sum's
     * magnitude, hence the absolute part relative to the largest value */
    CHECK_REF(rec, "y", y, ny, 1e-5, 1e-6);
    CHECK_REF(rec, "dx", dx, d.n * d.in, 1e-5, 1e-6);
    CHECK_REF(rec, "dw", dw, d.out * d.in, 1e-5, 1e-6);
    if (bias) CHECK_REF(rec, "db", db, d.out, 1e-6, 1e-7);   /* summed in double */
    free(y);
    free(dx);
    free(dw);
    free(db);
}

static void check_matmul_case(const cx_record *rec) {
    const cx_tensor *at = cx_record_tensor(rec, "a"), *bt = cx_record_tensor(rec, "b");
    if (!CHECK(at && bt && at->ndim == 3 && bt->ndim == 3)) return;
    cx_matmul_desc d = {.batch = at->shape[0], .trans_a = ref_flag(rec, "trans_a"), .trans_b = ref_flag(rec, "trans_b")};
    d.m = at->shape[d.trans_a ? 2 : 1];
    d.k = at->shape[d.trans_a ? 1 : 2];
    d.n = bt->shape[d.trans_b ? 1 : 2];
    int64_t na = cx_tensor_numel(at), nb = cx_tensor_numel(bt), nc = d.batch * d.m * d.n;
    const float *probe = ref_f32(rec, "probe", nc);
    if (!probe) return;
    float *c = zeros(nc), *da = zeros(na), *db = zeros(nb);
    cx_matmul_forward(c, at->data, bt->data, &d);
    cx_matmul_backward(da, db, probe, at->data, bt->data, &d);
    CHECK_REF(rec, "y", c, nc, 1e-5, 1e-6);
    CHECK_REF(rec, "da", da, na, 1e-5, 1e-6);
    CHECK_REF(rec, "db", db, nb, 1e-5, 1e-6);
    free(c);
    free(da);
    free(db);
}

/* tests/data/ref/linear.cxs (torch in float64, rounded); tolerances per tensor above. */
TEST(linear_matches_torch) {
    ref_cases rc;
    ref_open(&rc, "linear");
    while (ref_next(&rc)) {
        if (ref_is(&rc.rec, "op", "linear")) check_linear_case(&rc.rec);
        else if (ref_is(&rc.rec, "op", "matmul")) check_matmul_case(&rc.rec);
        else CHECK(!"unknown op in linear.cxs");
    }
    ref_close(&rc);
}

/* Backward adds into the gradients it is given. */
TEST(linear_backward_accumulates) {
    cx_linear_desc d = {.n = 4, .in = 3, .out = 2};
    float x[12], w[6], dy[8], once[12 + 6 + 2] = {0}, twice[12 + 6 + 2] = {0};
    cx_fill_normal(x, 12, 21, 1.0f);
    cx_fill_normal(w, 6, 22, 1.0f);
    cx_fill_normal(dy, 8, 23, 1.0f);
    cx_linear_backward(once, once + 12, once + 18, dy, x, w, &d);
    cx_linear_backward(twice, twice + 12, twice + 18, dy, x, w, &d);
    cx_linear_backward(twice, twice + 12, twice + 18, dy, x, w, &d);
    for (int i = 0; i < 20; i++) CHECK_NEAR(twice[i], 2.0 * once[i], 1e-6, 1e-7);
}

typedef struct {
    cx_linear_desc lin;
    cx_matmul_desc mm;
    const float *x, *w, *b, *probe;   /* linear; matmul multiplies x by w */
} blas_threads;

/* out = [linear y, dx, dw, db, matmul c, da, db] */
static void blas_run(void *ctx, float *out) {
    blas_threads *c = ctx;
    int64_t nx = c->lin.n * c->lin.in, nw = c->lin.out * c->lin.in, ny = c->lin.n * c->lin.out;
    float *y = out, *dx = y + ny, *dw = dx + nx, *db = dw + nw, *mc = db + c->lin.out;
    int64_t na = c->mm.batch * c->mm.m * c->mm.k, nb = c->mm.batch * c->mm.k * c->mm.n;
    int64_t nc = c->mm.batch * c->mm.m * c->mm.n;
    float *da = mc + nc, *dmb = da + na;
    memset(dx, 0, (size_t)(nx + nw + c->lin.out) * sizeof *out);
    memset(da, 0, (size_t)(na + nb) * sizeof *out);
    cx_linear_forward(y, c->x, c->w, c->b, &c->lin);
    cx_linear_backward(dx, dw, db, c->probe, c->x, c->w, &c->lin);
    cx_matmul_forward(mc, c->x, c->w, &c->mm);
    cx_matmul_backward(da, dmb, c->probe, c->x, c->w, &c->mm);
}

/* The BLAS may split sums differently for 1 and 2 threads: equal within float rounding then,
 * and bitwise equal for the same thread count. batch 8 runs matrices on OpenMP threads, batch 1
 * on the BLAS's threads. */
TEST(linear_threads) {
    for (int batch = 1; batch <= 8; batch += 7) {
        blas_threads c = {.lin = {.n = 96, .in = 160, .out = 120}};
        /* the same buffers as batch matrices: x [batch, m, k] times w^T */
        c.mm = (cx_matmul_desc){.batch = batch, .m = 96 / batch, .k = 160, .n = 120, .trans_b = true};
        int64_t nx = 96 * 160, nw = 120 * 160 * (int64_t)batch, ny = 96 * 120;
        float *x = zeros(nx), *w = zeros(nw), *b = zeros(120), *probe = zeros(ny);
        cx_fill_normal(x, nx, 31, 1.0f);
        cx_fill_normal(w, nw, 32, 0.1f);
        cx_fill_normal(b, 120, 33, 1.0f);
        cx_fill_normal(probe, ny, 34, 1.0f);
        c.x = x;
        c.w = w;
        c.b = b;
        c.probe = probe;
        int64_t n = ny + nx + 120 * 160 + 120 + ny + nx + nw;
        check_thread_determinism(batch == 1 ? "linear, matmul batch 1" : "matmul batch 8", blas_run, &c, n, 1e-5);
        free(x);
        free(w);
        free(b);
        free(probe);
    }
}
