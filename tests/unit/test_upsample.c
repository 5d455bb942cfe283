/* Upsampling: PyTorch parity (tests/data/ref/upsample.cxs from tests/ref/gen_spatial.py:
 * nearest and bilinear, align_corners both ways, by size and by scale factor, up and down),
 * finite-difference gradients, and thread determinism. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "gradcheck.h"
#include "nn/upsample.h"
#include "spatial_ref.h"
#include "test.h"

typedef struct {
    cx_upsample2d_desc d;
    int64_t nx, ny;
    float *x, *y, *probe, *dx;
} upsample_run;

static bool upsample_run_init(upsample_run *r) {
    if (!CHECK_EQ(cx_upsample2d_setup(&r->d), 0)) return false;
    int64_t planes = (int64_t)r->d.batch * r->d.channels;
    r->nx = planes * r->d.in_h * r->d.in_w, r->ny = planes * r->d.out_h * r->d.out_w;
    r->x = zeros(r->nx), r->dx = zeros(r->nx), r->y = zeros(r->ny), r->probe = zeros(r->ny);
    return true;
}

static void upsample_run_free(upsample_run *r) { free(r->x), free(r->dx), free(r->y), free(r->probe); }

/* Forward to rtol 1e-4, dx (backward run twice, so it also shows that it adds) to rtol 1e-3,
 * with an absolute part of 1e-5 x the tensor's largest value. */
TEST(upsample_matches_pytorch) {
    ref_cases rc;
    int cases = 0;
    if (!ref_open(&rc, "upsample")) return;
    while (ref_next(&rc)) {
        const cx_record *rec = &rc.rec;
        bool size_given = ref_flag(rec, "size_given");
        upsample_run r = {.d = {.batch = ref_int(rec, "batch"), .channels = ref_int(rec, "channels"),
                                .in_h = ref_int(rec, "in_h"), .in_w = ref_int(rec, "in_w"),
                                .out_h = size_given ? ref_int(rec, "out_h") : 0,
                                .out_w = size_given ? ref_int(rec, "out_w") : 0,
                                .scale_h = ref_num(rec, "scale_h"), .scale_w = ref_num(rec, "scale_w"),
                                .mode = ref_is(rec, "mode", "nearest") ? CX_UPSAMPLE_NEAREST : CX_UPSAMPLE_BILINEAR,
                                .align_corners = ref_flag(rec, "align_corners")}};
        if (!upsample_run_init(&r)) continue;
        /* a scale factor gives PyTorch's output size floor(in * scale) */
        CHECK(r.d.out_h == ref_int(rec, "out_h") && r.d.out_w == ref_int(rec, "out_w"));
        const float *x = ref_f32(rec, "x", r.nx), *probe = ref_f32(rec, "probe", r.ny);
        if (x && probe) {
            memcpy(r.x, x, (size_t)r.nx * sizeof(float));
            memcpy(r.probe, probe, (size_t)r.ny * sizeof(float));
            cx_upsample2d_forward(&r.d, r.y, r.x);
            CHECK_REF(rec, "y", r.y, r.ny, 1e-4, 1e-5);
            cx_upsample2d_backward(&r.d, r.dx, r.probe);
            cx_upsample2d_backward(&r.d, r.dx, r.probe);
            for (int64_t i = 0; i < r.nx; i++) r.dx[i] *= 0.5f;
            CHECK_REF(rec, "dx", r.dx, r.nx, 1e-3, 1e-5);
        }
        upsample_run_free(&r);
        cases++;
    }
    ref_close(&rc);
    CHECK_EQ(cases, 17);
}

static double upsample_loss(void *ctx) {
    upsample_run *r = ctx;
    cx_upsample2d_forward(&r->d, r->y, r->x);
    return cx_dot_f64(r->probe, r->y, r->ny);
}

TEST(upsample_gradcheck) {
    /* cx_upsample2d_desc: batch, channels, in_h, in_w, out_h, out_w, scale_h, scale_w, mode, align_corners */
    struct { const char *name; cx_upsample2d_desc d; } cases[] = {
        {"nearest x2", {2, 2, 3, 4, 0, 0, 2.0, 2.0, CX_UPSAMPLE_NEAREST, false}},
        {"nearest 5x4 to 7x9", {1, 2, 5, 4, 7, 9, 0, 0, CX_UPSAMPLE_NEAREST, false}},
        {"nearest scale 0.6", {1, 2, 8, 7, 0, 0, 0.6, 0.6, CX_UPSAMPLE_NEAREST, false}},
        {"bilinear scale 1.5", {2, 2, 4, 5, 0, 0, 1.5, 1.5, CX_UPSAMPLE_BILINEAR, false}},
        {"bilinear 6x5 to 3x8", {1, 2, 6, 5, 3, 8, 0, 0, CX_UPSAMPLE_BILINEAR, false}},
        {"bilinear align 4x5 to 9x7", {2, 1, 4, 5, 9, 7, 0, 0, CX_UPSAMPLE_BILINEAR, true}},
        {"bilinear align 7x6 to 4x3", {1, 2, 7, 6, 4, 3, 0, 0, CX_UPSAMPLE_BILINEAR, true}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        upsample_run r = {.d = cases[i].d};
        if (!upsample_run_init(&r)) continue;
        cx_fill_normal(r.x, r.nx, 1, 1.0f);
        cx_fill_normal(r.probe, r.ny, 2, 1.0f);
        cx_upsample2d_backward(&r.d, r.dx, r.probe);
        CHECK(cx_gradcheck(cases[i].name, upsample_loss, &r, r.x, r.dx, r.nx, 80, 1e-2,
                           1e-3 * (1 + max_abs(r.dx, r.nx))));
        upsample_run_free(&r);
    }
}

/* out = [y | dx] of a fresh forward and backward. */
static void upsample_run_all(void *ctx, float *out) {
    upsample_run *r = ctx;
    cx_upsample2d_forward(&r->d, r->y, r->x);
    memset(r->dx, 0, (size_t)r->nx * sizeof(float));
    cx_upsample2d_backward(&r->d, r->dx, r->probe);
    memcpy(out, r->y, (size_t)r->ny * sizeof(float));
    memcpy(out + r->ny, r->dx, (size_t)r->nx * sizeof(float));
}

TEST(upsample_threads_deterministic) {
    upsample_run runs[] = {
        {.d = {4, 6, 13, 11, 0, 0, 2.5, 2.5, CX_UPSAMPLE_NEAREST, false}},
        {.d = {4, 6, 13, 11, 0, 0, 2.5, 2.5, CX_UPSAMPLE_BILINEAR, false}},
        {.d = {4, 6, 13, 11, 30, 17, 0, 0, CX_UPSAMPLE_BILINEAR, true}},
    };
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        upsample_run *r = &runs[i];
        if (!upsample_run_init(r)) continue;
        cx_fill_normal(r->x, r->nx, 1, 1.0f);
        cx_fill_normal(r->probe, r->ny, 2, 1.0f);
        check_thread_determinism("upsample", upsample_run_all, r, r->ny + r->nx, 1e-6);
        upsample_run_free(r);
    }
}

TEST(upsample_setup_rejects_bad_shapes) {
    cx_upsample2d_desc negative = {1, 1, 4, 4, 0, 0, -2.0, 2.0, CX_UPSAMPLE_NEAREST, false};
    CHECK_EQ(cx_upsample2d_setup(&negative), EX_DATAERR);
    cx_upsample2d_desc empty = {1, 1, 4, 4, 0, 0, 0.2, 2.0, CX_UPSAMPLE_BILINEAR, false};   /* floor(0.8) = 0 */
    CHECK_EQ(cx_upsample2d_setup(&empty), EX_DATAERR);
    cx_upsample2d_desc no_size = {1, 1, 4, 4, 0, 5, 0, 0, CX_UPSAMPLE_BILINEAR, false};
    CHECK_EQ(cx_upsample2d_setup(&no_size), EX_DATAERR);
}
