/* Pooling: PyTorch parity (tests/data/ref/pool.cxs from tests/ref/gen_spatial.py: values,
 * argmax positions, ties, NaN, ceil mode, count_include_pad, adaptive bins), finite-difference
 * gradients, and thread determinism. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "gradcheck.h"
#include "nn/pool.h"
#include "spatial_ref.h"
#include "test.h"

typedef enum { POOL_MAX, POOL_AVG, POOL_ADAPTIVE } pool_kind;

/* One pooling op with its tensors; dx starts at zero. */
typedef struct {
    pool_kind kind;
    cx_pool2d_desc d;            /* max and average pooling */
    cx_adaptive_pool2d_desc a;   /* adaptive pooling */
    int64_t nx, ny;
    float *x, *y, *probe, *dx;
    int32_t *argmax;
} pool_run;

static bool pool_run_init(pool_run *r) {
    int planes, in_plane, out_plane;
    if (r->kind == POOL_ADAPTIVE) {
        if (!CHECK_EQ(cx_adaptive_pool2d_setup(&r->a), 0)) return false;
        planes = r->a.batch * r->a.channels, in_plane = r->a.in_h * r->a.in_w, out_plane = r->a.out_h * r->a.out_w;
    } else {
        if (!CHECK_EQ(cx_pool2d_setup(&r->d), 0)) return false;
        planes = r->d.batch * r->d.channels, in_plane = r->d.in_h * r->d.in_w, out_plane = r->d.out_h * r->d.out_w;
    }
    r->nx = (int64_t)planes * in_plane, r->ny = (int64_t)planes * out_plane;
    r->x = zeros(r->nx), r->dx = zeros(r->nx), r->y = zeros(r->ny), r->probe = zeros(r->ny);
    r->argmax = cx_calloc((size_t)r->ny, sizeof(int32_t));
    return true;
}

static void pool_run_free(pool_run *r) {
    free(r->x), free(r->dx), free(r->y), free(r->probe), free(r->argmax);
}

static void pool_run_forward(pool_run *r) {
    if (r->kind == POOL_MAX)
        cx_maxpool2d_forward(&r->d, r->y, r->argmax, r->x);
    else if (r->kind == POOL_AVG)
        cx_avgpool2d_forward(&r->d, r->y, r->x);
    else
        cx_adaptive_avgpool2d_forward(&r->a, r->y, r->x);
}

/* dx += the gradient of sum(probe * y) (max pooling: at the argmax of the last forward). */
static void pool_run_backward(pool_run *r) {
    if (r->kind == POOL_MAX)
        cx_maxpool2d_backward(&r->d, r->dx, r->probe, r->argmax);
    else if (r->kind == POOL_AVG)
        cx_avgpool2d_backward(&r->d, r->dx, r->probe);
    else
        cx_adaptive_avgpool2d_backward(&r->a, r->dx, r->probe);
}

/* ---- PyTorch parity ---- */

static pool_run pool_run_from(const cx_record *rec) {
    pool_run r = {.kind = ref_is(rec, "op", "max") ? POOL_MAX : ref_is(rec, "op", "avg") ? POOL_AVG : POOL_ADAPTIVE};
    if (r.kind == POOL_ADAPTIVE) {
        r.a = (cx_adaptive_pool2d_desc){ref_int(rec, "batch"), ref_int(rec, "channels"), ref_int(rec, "in_h"),
                                        ref_int(rec, "in_w"), ref_int(rec, "out_h"), ref_int(rec, "out_w")};
        return r;
    }
    r.d = (cx_pool2d_desc){
        .batch = ref_int(rec, "batch"), .channels = ref_int(rec, "channels"), .in_h = ref_int(rec, "in_h"),
        .in_w = ref_int(rec, "in_w"), .kernel_h = ref_int(rec, "kernel_h"), .kernel_w = ref_int(rec, "kernel_w"),
        .stride_h = ref_int(rec, "stride_h"), .stride_w = ref_int(rec, "stride_w"), .pad_h = ref_int(rec, "pad_h"),
        .pad_w = ref_int(rec, "pad_w"), .ceil_mode = ref_flag(rec, "ceil_mode"),
        .count_include_pad = ref_flag(rec, "count_include_pad")};
    return r;
}

/* Max pooling selects, so y and argmax must equal PyTorch's exactly (NaN where it has NaN). */
static void check_max_selection(const pool_run *r, const cx_record *rec) {
    const float *want = ref_f32(rec, "y", r->ny);
    const int64_t *argmax = ref_i64(rec, "argmax", r->ny);
    if (!want || !argmax) return;
    int64_t bad_value = -1, bad_index = -1;
    for (int64_t i = 0; i < r->ny; i++) {
        bool same = isnan(want[i]) ? isnan(r->y[i]) : r->y[i] == want[i];
        if (!same && bad_value < 0) bad_value = i;
        if (r->argmax[i] != argmax[i] && bad_index < 0) bad_index = i;
    }
    if (!CHECK(bad_value < 0))
        printf("  case %s: y[%lld] = %g, PyTorch %g\n", rec->id, (long long)bad_value, r->y[bad_value],
               want[bad_value]);
    if (!CHECK(bad_index < 0))
        printf("  case %s: argmax[%lld] = %d, PyTorch %lld\n", rec->id, (long long)bad_index, r->argmax[bad_index],
               (long long)argmax[bad_index]);
}

/* Average pooling to rtol 1e-4, dx (backward run twice, so it also shows that it adds) to
 * rtol 1e-3, with an absolute part of 1e-5 x the tensor's largest value. */
TEST(pool_matches_pytorch) {
    ref_cases rc;
    int cases = 0;
    if (!ref_open(&rc, "pool")) return;
    while (ref_next(&rc)) {
        const cx_record *rec = &rc.rec;
        pool_run r = pool_run_from(rec);
        if (!pool_run_init(&r)) continue;
        const float *x = ref_f32(rec, "x", r.nx), *probe = ref_f32(rec, "probe", r.ny);
        if (x && probe) {
            memcpy(r.x, x, (size_t)r.nx * sizeof(float));
            memcpy(r.probe, probe, (size_t)r.ny * sizeof(float));
            pool_run_forward(&r);
            if (r.kind == POOL_MAX)
                check_max_selection(&r, rec);
            else
                CHECK_REF(rec, "y", r.y, r.ny, 1e-4, 1e-5);
            pool_run_backward(&r);
            pool_run_backward(&r);
            for (int64_t i = 0; i < r.nx; i++) r.dx[i] *= 0.5f;
            CHECK_REF(rec, "dx", r.dx, r.nx, 1e-3, 1e-5);
        }
        pool_run_free(&r);
        cases++;
    }
    ref_close(&rc);
    CHECK_EQ(cases, 19);
}

/* ---- finite differences ---- */

static double pool_loss(void *ctx) {
    pool_run *r = ctx;
    pool_run_forward(r);
    return cx_dot_f64(r->probe, r->y, r->ny);
}

/* Each plane holds distinct values 0.02 apart (at most 100 per plane, so |x| <= 1 and the
 * finite-difference step 0.01 never changes which element is a window's maximum). */
static void fill_distinct(float *x, int64_t planes, int64_t plane, uint64_t seed) {
    int64_t *order = cx_malloc((size_t)plane * sizeof(int64_t));
    cx_rng rng;
    cx_rng_seed(&rng, seed);
    for (int64_t p = 0; p < planes; p++) {
        for (int64_t k = 0; k < plane; k++) order[k] = k;
        cx_rng_shuffle_i64(&rng, order, plane);
        for (int64_t k = 0; k < plane; k++) x[p * plane + k] = 0.02f * (float)(order[k] - plane / 2);
    }
    free(order);
}

static void pool_gradcheck(pool_run *r, const char *name) {
    if (!pool_run_init(r)) return;
    int64_t planes = r->kind == POOL_ADAPTIVE ? r->a.batch * r->a.channels : r->d.batch * r->d.channels;
    CHECK(r->nx / planes <= 100);
    fill_distinct(r->x, planes, r->nx / planes, 3);
    cx_fill_normal(r->probe, r->ny, 4, 1.0f);
    pool_run_forward(r);
    pool_run_backward(r);
    CHECK(cx_gradcheck(name, pool_loss, r, r->x, r->dx, r->nx, 80, 1e-2, 1e-3 * (1 + max_abs(r->dx, r->nx))));
    pool_run_free(r);
}

TEST(pool_gradcheck) {
    /* cx_pool2d_desc: batch, channels, in_h, in_w, kernel h w, stride h w, pad h w, ceil_mode,
     * count_include_pad, (out_h, out_w from setup) */
    struct { const char *name; pool_kind kind; cx_pool2d_desc d; } cases[] = {
        {"max k3 s2 p1", POOL_MAX, {2, 2, 7, 8, 3, 3, 2, 2, 1, 1, false, true, 0, 0}},
        {"max ceil drops last", POOL_MAX, {1, 2, 5, 7, 2, 2, 2, 2, 1, 1, true, true, 0, 0}},
        {"max rect k2x3 s1x2", POOL_MAX, {1, 3, 6, 7, 2, 3, 1, 2, 1, 1, false, true, 0, 0}},
        {"avg include pad ceil", POOL_AVG, {2, 2, 7, 6, 3, 3, 2, 2, 1, 1, true, true, 0, 0}},
        {"avg exclude pad ceil", POOL_AVG, {2, 2, 7, 6, 3, 3, 2, 2, 1, 1, true, false, 0, 0}},
        {"avg rect k3x2 s2x3", POOL_AVG, {1, 2, 9, 7, 3, 2, 2, 3, 1, 0, false, false, 0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pool_run r = {.kind = cases[i].kind, .d = cases[i].d};
        pool_gradcheck(&r, cases[i].name);
    }
    /* batch, channels, in_h, in_w, out_h, out_w */
    struct { const char *name; cx_adaptive_pool2d_desc a; } adaptive[] = {
        {"adaptive 7x9 to 3x4", {2, 2, 7, 9, 3, 4}},
        {"adaptive up 3x4 to 5x7", {1, 2, 3, 4, 5, 7}},
        {"global 5x6", {2, 3, 5, 6, 1, 1}},
    };
    for (size_t i = 0; i < sizeof adaptive / sizeof *adaptive; i++) {
        pool_run r = {.kind = POOL_ADAPTIVE, .a = adaptive[i].a};
        pool_gradcheck(&r, adaptive[i].name);
    }
}

/* ---- threads ---- */

/* out = [y | dx] of a fresh forward and backward. */
static void pool_run_all(void *ctx, float *out) {
    pool_run *r = ctx;
    pool_run_forward(r);
    memset(r->dx, 0, (size_t)r->nx * sizeof(float));
    pool_run_backward(r);
    memcpy(out, r->y, (size_t)r->ny * sizeof(float));
    memcpy(out + r->ny, r->dx, (size_t)r->nx * sizeof(float));
}

TEST(pool_threads_deterministic) {
    pool_run runs[] = {
        {.kind = POOL_MAX, .d = {4, 8, 23, 21, 3, 3, 2, 2, 1, 1, true, true, 0, 0}},
        {.kind = POOL_AVG, .d = {4, 8, 23, 21, 3, 3, 2, 2, 1, 1, true, false, 0, 0}},
        {.kind = POOL_ADAPTIVE, .a = {4, 8, 23, 21, 5, 4}},
        {.kind = POOL_ADAPTIVE, .a = {4, 8, 23, 21, 1, 1}},
    };
    const char *names[] = {"max", "avg", "adaptive", "global"};
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        pool_run *r = &runs[i];
        if (!pool_run_init(r)) continue;
        cx_fill_normal(r->x, r->nx, 1, 1.0f);
        cx_fill_normal(r->probe, r->ny, 2, 1.0f);
        check_thread_determinism(names[i], pool_run_all, r, r->ny + r->nx, 1e-6);
        pool_run_free(r);
    }
}

/* ---- validation ---- */

TEST(pool_setup_rejects_bad_shapes) {
    /* PyTorch refuses padding above half the kernel */
    cx_pool2d_desc pad = {1, 1, 5, 5, 3, 3, 1, 1, 2, 1, false, true, 0, 0};
    CHECK_EQ(cx_pool2d_setup(&pad), EX_DATAERR);
    cx_pool2d_desc big = {1, 1, 2, 2, 5, 5, 1, 1, 1, 1, false, true, 0, 0};
    CHECK_EQ(cx_pool2d_setup(&big), EX_DATAERR);
    cx_pool2d_desc stride0 = {1, 1, 5, 5, 2, 2, 0, 1, 0, 0, false, true, 0, 0};
    CHECK_EQ(cx_pool2d_setup(&stride0), EX_DATAERR);
    cx_adaptive_pool2d_desc empty = {1, 1, 5, 5, 0, 3};
    CHECK_EQ(cx_adaptive_pool2d_setup(&empty), EX_DATAERR);
}
