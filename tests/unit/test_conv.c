/* Convolution and transposed convolution: PyTorch parity (tests/data/ref/conv.cxs from
 * tests/ref/gen_spatial.py), finite-difference gradients, a direct double-precision
 * convolution on shapes large enough to take the GEMM's other paths (the input used as
 * columns, one image per GEMM, a partial last group of images), and thread determinism. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "gradcheck.h"
#include "nn/conv.h"
#include "nn/nn.h"
#include "spatial_ref.h"
#include "test.h"

/* One convolution or transposed convolution with all its tensors. b is NULL without bias;
 * dx, dw, db start at zero. */
typedef struct {
    bool transpose;
    cx_conv2d_desc conv;
    cx_conv_transpose2d_desc tconv;
    int64_t nx, nw, nb, ny;
    float *x, *w, *b, *y, *probe, *dx, *dw, *db, *work;
} conv_run;

/* Set the descriptor up and allocate; false (after a failed check) when setup refuses it. */
static bool conv_run_init(conv_run *r, bool bias) {
    int n, cin, cout, kernel;
    int64_t in_plane, out_plane;
    size_t work;
    if (r->transpose) {
        cx_conv_transpose2d_desc *d = &r->tconv;
        if (!CHECK_EQ(cx_conv_transpose2d_setup(d), 0)) return false;
        n = d->batch, cin = d->in_channels, cout = d->out_channels, kernel = d->kernel_h * d->kernel_w;
        in_plane = (int64_t)d->in_h * d->in_w, out_plane = (int64_t)d->out_h * d->out_w;
        r->nw = (int64_t)cin * cout * kernel;
        work = cx_conv_transpose2d_workspace_bytes(d);
    } else {
        cx_conv2d_desc *d = &r->conv;
        if (!CHECK_EQ(cx_conv2d_setup(d), 0)) return false;
        n = d->batch, cin = d->in_channels, cout = d->out_channels, kernel = d->kernel_h * d->kernel_w;
        in_plane = (int64_t)d->in_h * d->in_w, out_plane = (int64_t)d->out_h * d->out_w;
        r->nw = (int64_t)cout * (cin / d->groups) * kernel;
        work = cx_conv2d_workspace_bytes(d);
    }
    r->nx = n * cin * in_plane, r->ny = n * cout * out_plane, r->nb = cout;
    r->x = zeros(r->nx), r->w = zeros(r->nw), r->b = bias ? zeros(cout) : NULL;
    r->y = zeros(r->ny), r->probe = zeros(r->ny);
    r->dx = zeros(r->nx), r->dw = zeros(r->nw), r->db = zeros(cout);
    r->work = zeros((int64_t)(work / sizeof(float)));
    return true;
}

static void conv_run_free(conv_run *r) {
    float *all[] = {r->x, r->w, r->b, r->y, r->probe, r->dx, r->dw, r->db, r->work};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
}

static void conv_run_forward(conv_run *r) {
    if (r->transpose)
        cx_conv_transpose2d_forward(&r->tconv, r->y, r->x, r->w, r->b, r->work);
    else
        cx_conv2d_forward(&r->conv, r->y, r->x, r->w, r->b, r->work);
}

/* Gradients of sum(probe * y), added to dx, dw and db (db only with a bias). */
static void conv_run_backward(conv_run *r) {
    float *db = r->b ? r->db : NULL;
    if (r->transpose)
        cx_conv_transpose2d_backward(&r->tconv, r->dx, r->dw, db, r->probe, r->x, r->w, r->work);
    else
        cx_conv2d_backward(&r->conv, r->dx, r->dw, db, r->probe, r->x, r->w, r->work);
}

static void conv_run_randomize(conv_run *r, uint64_t seed) {
    cx_fill_normal(r->x, r->nx, seed, 1.0f);
    cx_fill_normal(r->w, r->nw, seed + 1, 0.3f);
    if (r->b) cx_fill_normal(r->b, r->nb, seed + 2, 1.0f);
    cx_fill_normal(r->probe, r->ny, seed + 3, 1.0f);
}

static void zero_grads(conv_run *r) {
    memset(r->dx, 0, (size_t)r->nx * sizeof(float));
    memset(r->dw, 0, (size_t)r->nw * sizeof(float));
    memset(r->db, 0, (size_t)r->nb * sizeof(float));
}

/* ---- PyTorch parity ---- */

static void copy_ref(float *dst, const cx_record *rec, const char *name, int64_t n) {
    const float *src = ref_f32(rec, name, n);
    if (src) memcpy(dst, src, (size_t)n * sizeof(float));
}

/* Forward to rtol 1e-4; backward run twice, so the gradients also show that it adds, to
 * rtol 1e-3 (both with an absolute part of 1e-5 x the tensor's largest value). */
static void check_case(conv_run *r, const cx_record *rec) {
    copy_ref(r->x, rec, "x", r->nx);
    copy_ref(r->w, rec, "w", r->nw);
    if (r->b) copy_ref(r->b, rec, "b", r->nb);
    copy_ref(r->probe, rec, "probe", r->ny);
    conv_run_forward(r);
    CHECK_REF(rec, "y", r->y, r->ny, 1e-4, 1e-5);
    conv_run_backward(r);
    conv_run_backward(r);
    float *grads[] = {r->dx, r->dw, r->db};
    int64_t sizes[] = {r->nx, r->nw, r->b ? r->nb : 0};
    const char *names[] = {"dx", "dw", "db"};
    for (int g = 0; g < 3; g++) {
        for (int64_t i = 0; i < sizes[g]; i++) grads[g][i] *= 0.5f;
        if (sizes[g]) CHECK_REF(rec, names[g], grads[g], sizes[g], 1e-3, 1e-5);
    }
}

static cx_conv2d_desc conv_desc_from(const cx_record *rec) {
    return (cx_conv2d_desc){
        .batch = ref_int(rec, "batch"), .in_channels = ref_int(rec, "in_channels"),
        .out_channels = ref_int(rec, "out_channels"), .in_h = ref_int(rec, "in_h"), .in_w = ref_int(rec, "in_w"),
        .kernel_h = ref_int(rec, "kernel_h"), .kernel_w = ref_int(rec, "kernel_w"),
        .stride_h = ref_int(rec, "stride_h"), .stride_w = ref_int(rec, "stride_w"),
        .dilation_h = ref_int(rec, "dilation_h"), .dilation_w = ref_int(rec, "dilation_w"),
        .pad_top = ref_int(rec, "pad_top"), .pad_left = ref_int(rec, "pad_left"),
        .pad_bottom = ref_int(rec, "pad_bottom"), .pad_right = ref_int(rec, "pad_right"),
        .groups = ref_int(rec, "groups")};
}

static cx_conv_transpose2d_desc conv_transpose_desc_from(const cx_record *rec) {
    return (cx_conv_transpose2d_desc){
        .batch = ref_int(rec, "batch"), .in_channels = ref_int(rec, "in_channels"),
        .out_channels = ref_int(rec, "out_channels"), .in_h = ref_int(rec, "in_h"), .in_w = ref_int(rec, "in_w"),
        .kernel_h = ref_int(rec, "kernel_h"), .kernel_w = ref_int(rec, "kernel_w"),
        .stride_h = ref_int(rec, "stride_h"), .stride_w = ref_int(rec, "stride_w"),
        .dilation_h = ref_int(rec, "dilation_h"), .dilation_w = ref_int(rec, "dilation_w"),
        .pad_h = ref_int(rec, "pad_h"), .pad_w = ref_int(rec, "pad_w"),
        .output_pad_h = ref_int(rec, "output_pad_h"), .output_pad_w = ref_int(rec, "output_pad_w")};
}

TEST(conv2d_matches_pytorch) {
    ref_cases rc;
    int cases = 0;
    if (!ref_open(&rc, "conv")) return;
    while (ref_next(&rc)) {
        const cx_record *rec = &rc.rec;
        if (cx_map_get(&rec->meta, "groups") == NULL) continue;   /* a transposed case */
        conv_run r = {.transpose = false, .conv = conv_desc_from(rec)};
        if (ref_flag(rec, "same")) {   /* TensorFlow "same": our helper must find the generator's padding */
            cx_conv2d_desc *d = &r.conv;
            int top, left, bottom, right;
            cx_conv2d_same_padding(d->in_h, d->kernel_h, d->stride_h, d->dilation_h, &top, &bottom);
            cx_conv2d_same_padding(d->in_w, d->kernel_w, d->stride_w, d->dilation_w, &left, &right);
            CHECK(top == d->pad_top && left == d->pad_left && bottom == d->pad_bottom && right == d->pad_right);
        }
        if (!conv_run_init(&r, ref_flag(rec, "bias"))) continue;
        check_case(&r, rec);
        conv_run_free(&r);
        cases++;
    }
    ref_close(&rc);
    CHECK_EQ(cases, 16);
}

TEST(conv_transpose2d_matches_pytorch) {
    ref_cases rc;
    int cases = 0;
    if (!ref_open(&rc, "conv")) return;
    while (ref_next(&rc)) {
        const cx_record *rec = &rc.rec;
        if (cx_map_get(&rec->meta, "output_pad_h") == NULL) continue;
        conv_run r = {.transpose = true, .tconv = conv_transpose_desc_from(rec)};
        if (!conv_run_init(&r, ref_flag(rec, "bias"))) continue;
        check_case(&r, rec);
        conv_run_free(&r);
        cases++;
    }
    ref_close(&rc);
    CHECK_EQ(cases, 5);
}

/* ---- finite differences ---- */

static double conv_loss(void *ctx) {
    conv_run *r = ctx;
    conv_run_forward(r);
    return cx_dot_f64(r->probe, r->y, r->ny);
}

static void gradcheck_run(conv_run *r, const char *name, bool bias) {
    if (!conv_run_init(r, bias)) return;
    conv_run_randomize(r, 17);
    conv_run_backward(r);
    char what[96];
    float *params[] = {r->x, r->w, r->b};
    const float *grads[] = {r->dx, r->dw, r->db};
    int64_t sizes[] = {r->nx, r->nw, r->nb};
    const char *names[] = {"dx", "dw", "db"};
    for (int g = 0; g < (bias ? 3 : 2); g++) {
        snprintf(what, sizeof what, "%s %s", name, names[g]);
        double atol = 1e-3 * (1 + max_abs(grads[g], sizes[g]));
        CHECK(cx_gradcheck(what, conv_loss, r, params[g], grads[g], sizes[g], 60, 1e-2, atol));
    }
    conv_run_free(r);
}

TEST(conv2d_gradcheck) {
    /* cx_conv2d_desc: batch, in/out channels, in_h, in_w, kernel h w, stride h w, dilation h w,
     * pads top left bottom right, groups, (out_h, out_w from setup) */
    struct { const char *name; cx_conv2d_desc d; bool bias; } cases[] = {
        {"odd stride 2x1 asymmetric pad", {2, 3, 4, 6, 5, 3, 3, 2, 1, 1, 1, 1, 0, 2, 1, 1, 0, 0}, true},
        {"groups 2 dilation 2 stride 2", {1, 4, 6, 7, 7, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0}, true},
        {"depthwise x2 stride 2", {2, 3, 6, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3, 0, 0}, true},
        {"depthwise dilation 2 rect", {1, 2, 2, 7, 8, 3, 2, 1, 2, 2, 1, 2, 1, 2, 0, 2, 0, 0}, false},
        {"pointwise", {2, 3, 2, 4, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0}, true},
        {"kernel 4 stride 3", {1, 2, 3, 8, 7, 4, 4, 3, 3, 1, 1, 1, 1, 2, 2, 1, 0, 0}, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        conv_run r = {.transpose = false, .conv = cases[i].d};
        gradcheck_run(&r, cases[i].name, cases[i].bias);
    }
}

TEST(conv_transpose2d_gradcheck) {
    /* cx_conv_transpose2d_desc: batch, in/out channels, in_h, in_w, kernel h w, stride h w,
     * dilation h w, pad h w, output_pad h w, (out_h, out_w from setup) */
    struct { const char *name; cx_conv_transpose2d_desc d; bool bias; } cases[] = {
        {"k3 s2 p1 op1", {2, 3, 2, 3, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0}, true},
        {"k3 s3 p2 op2 dilation 2", {1, 2, 2, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 0, 0}, false},
        {"rect k2x3 s2x1", {2, 2, 3, 3, 4, 2, 3, 2, 1, 1, 1, 0, 1, 1, 0, 0, 0}, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        conv_run r = {.transpose = true, .tconv = cases[i].d};
        gradcheck_run(&r, cases[i].name, cases[i].bias);
    }
}

/* ---- a direct double-precision convolution as the oracle for larger shapes ---- */

/* y and the gradients of sum(probe * y), by definition: one loop over every (output, tap). */
static void direct_conv(const cx_conv2d_desc *d, const conv_run *r, double *y, double *dx, double *dw, double *db) {
    int cin_g = d->in_channels / d->groups, cout_g = d->out_channels / d->groups;
    for (int n = 0; n < d->batch; n++)
        for (int oc = 0; oc < d->out_channels; oc++)
            for (int oh = 0; oh < d->out_h; oh++)
                for (int ow = 0; ow < d->out_w; ow++) {
                    int64_t yi = (((int64_t)n * d->out_channels + oc) * d->out_h + oh) * d->out_w + ow;
                    double acc = r->b ? r->b[oc] : 0, p = r->probe[yi];
                    for (int c = 0; c < cin_g; c++)
                        for (int i = 0; i < d->kernel_h; i++)
                            for (int j = 0; j < d->kernel_w; j++) {
                                int ih = oh * d->stride_h - d->pad_top + i * d->dilation_h;
                                int iw = ow * d->stride_w - d->pad_left + j * d->dilation_w;
                                if (ih < 0 || ih >= d->in_h || iw < 0 || iw >= d->in_w) continue;
                                int ic = oc / cout_g * cin_g + c;
                                int64_t xi = (((int64_t)n * d->in_channels + ic) * d->in_h + ih) * d->in_w + iw;
                                int64_t wi = (((int64_t)oc * cin_g + c) * d->kernel_h + i) * d->kernel_w + j;
                                acc += (double)r->w[wi] * r->x[xi];
                                dx[xi] += r->w[wi] * p;
                                dw[wi] += r->x[xi] * p;
                            }
                    y[yi] = acc;
                    db[oc] += p;
                }
}

static void direct_conv_transpose(const cx_conv_transpose2d_desc *d, const conv_run *r, double *y, double *dx,
                                  double *dw, double *db) {
    for (int n = 0; n < d->batch; n++)
        for (int oc = 0; oc < d->out_channels; oc++)
            for (int64_t k = 0; k < (int64_t)d->out_h * d->out_w; k++) {
                int64_t yi = ((int64_t)n * d->out_channels + oc) * d->out_h * d->out_w + k;
                y[yi] = r->b ? r->b[oc] : 0;
                db[oc] += r->probe[yi];
            }
    for (int n = 0; n < d->batch; n++)
        for (int ic = 0; ic < d->in_channels; ic++)
            for (int ih = 0; ih < d->in_h; ih++)
                for (int iw = 0; iw < d->in_w; iw++) {
                    int64_t xi = (((int64_t)n * d->in_channels + ic) * d->in_h + ih) * d->in_w + iw;
                    for (int oc = 0; oc < d->out_channels; oc++)
                        for (int i = 0; i < d->kernel_h; i++)
                            for (int j = 0; j < d->kernel_w; j++) {
                                int oh = ih * d->stride_h - d->pad_h + i * d->dilation_h;
                                int ow = iw * d->stride_w - d->pad_w + j * d->dilation_w;
                                if (oh < 0 || oh >= d->out_h || ow < 0 || ow >= d->out_w) continue;
                                int64_t yi = (((int64_t)n * d->out_channels + oc) * d->out_h + oh) * d->out_w + ow;
                                int64_t wi = (((int64_t)ic * d->out_channels + oc) * d->kernel_h + i) * d->kernel_w + j;
                                y[yi] += (double)r->x[xi] * r->w[wi];
                                dx[xi] += (double)r->w[wi] * r->probe[yi];
                                dw[wi] += (double)r->x[xi] * r->probe[yi];
                            }
                }
}

static void check_close_f64(const char *what, const float *got, const double *want, int64_t n, double rtol,
                            double atol_frac) {
    float *w = zeros(n);
    for (int64_t i = 0; i < n; i++) w[i] = (float)want[i];
    if (!cx_test_close_f32(got, w, n, rtol, atol_frac * max_abs(w, n), what, __FILE__, __LINE__))
        printf("  (in %s)\n", what);
    free(w);
}

static void check_direct(conv_run *r, const char *name, bool bias) {
    if (!conv_run_init(r, bias)) return;
    conv_run_randomize(r, 5);
    conv_run_forward(r);
    conv_run_backward(r);
    double *y = calloc((size_t)r->ny, sizeof(double)), *dx = calloc((size_t)r->nx, sizeof(double));
    double *dw = calloc((size_t)r->nw, sizeof(double)), *db = calloc((size_t)r->nb, sizeof(double));
    if (r->transpose)
        direct_conv_transpose(&r->tconv, r, y, dx, dw, db);
    else
        direct_conv(&r->conv, r, y, dx, dw, db);
    char what[128];
    snprintf(what, sizeof what, "%s: y", name);
    check_close_f64(what, r->y, y, r->ny, 1e-4, 1e-5);
    snprintf(what, sizeof what, "%s: dx", name);
    check_close_f64(what, r->dx, dx, r->nx, 1e-3, 1e-5);
    snprintf(what, sizeof what, "%s: dw", name);
    check_close_f64(what, r->dw, dw, r->nw, 1e-3, 1e-5);
    if (bias) {
        snprintf(what, sizeof what, "%s: db", name);
        check_close_f64(what, r->db, db, r->nb, 1e-3, 1e-5);
    }
    free(y), free(dx), free(dw), free(db);
    conv_run_free(r);
}

TEST(conv2d_large_planes_match_direct) {
    /* cx_conv2d_desc: batch, in/out channels, in_h, in_w, kernel h w, stride h w, dilation h w,
     * pads top left bottom right, groups, (out_h, out_w from setup) */
    struct { const char *name; cx_conv2d_desc d; bool bias; } cases[] = {
        {"pointwise 64x64 (input as columns)", {2, 3, 4, 64, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0}, true},
        {"3x3 on 64x64 (one image per GEMM)", {2, 2, 3, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, true},
        {"3x3 30x30 batch 7 (partial last group)", {7, 4, 5, 30, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, false},
        {"groups 2 30x30 batch 7", {7, 4, 6, 30, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0, 0}, true},
        {"pointwise 20x20 batch 13", {13, 4, 3, 20, 20, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0}, true},
        {"depthwise 5x5 s2 on 40x36", {3, 4, 4, 40, 36, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 4, 0, 0}, true},
        {"depthwise 9x9", {2, 3, 3, 12, 11, 9, 9, 1, 1, 1, 1, 4, 4, 4, 4, 3, 0, 0}, true},
        {"depthwise x2 stride 3", {2, 2, 4, 13, 14, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 2, 0, 0}, false},
        {"pointwise 4->32 (GEMM split by rows)", {3, 4, 32, 10, 10, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0}, true},
    };
    /* with 2 threads, so that the team's shares of each GEMM meet the oracle too */
    int saved = cx_nn_threads();
    cx_nn_set_threads(2);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        conv_run r = {.transpose = false, .conv = cases[i].d};
        check_direct(&r, cases[i].name, cases[i].bias);
    }
    cx_nn_set_threads(saved);
}

TEST(conv_transpose2d_large_planes_match_direct) {
    /* cx_conv_transpose2d_desc: batch, in/out channels, in_h, in_w, kernel h w, stride h w,
     * dilation h w, pad h w, output_pad h w, (out_h, out_w from setup) */
    struct { const char *name; cx_conv_transpose2d_desc d; bool bias; } cases[] = {
        {"k2 s2 on 64x64", {2, 3, 2, 64, 64, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0}, true},
        {"k3 s2 p1 op1 20x20 batch 13", {13, 3, 2, 20, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0}, true},
    };
    int saved = cx_nn_threads();
    cx_nn_set_threads(2);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        conv_run r = {.transpose = true, .tconv = cases[i].d};
        check_direct(&r, cases[i].name, cases[i].bias);
    }
    cx_nn_set_threads(saved);
}

/* ---- threads ---- */

/* out = [y | dx | dw | db] of a fresh forward and backward. */
static void conv_run_all(void *ctx, float *out) {
    conv_run *r = ctx;
    conv_run_forward(r);
    zero_grads(r);
    conv_run_backward(r);
    const float *parts[] = {r->y, r->dx, r->dw, r->db};
    int64_t sizes[] = {r->ny, r->nx, r->nw, r->nb};
    for (int k = 0; k < 4; k++) {
        memcpy(out, parts[k], (size_t)sizes[k] * sizeof(float));
        out += sizes[k];
    }
}

TEST(conv_threads_deterministic) {
    struct { const char *name; bool transpose; cx_conv2d_desc d; cx_conv_transpose2d_desc t; } cases[] = {
        {"dense 3x3", false, {6, 8, 16, 18, 18, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {0}},
        {"pointwise 70x70", false, {2, 8, 8, 70, 70, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0}, {0}},
        {"pointwise widening", false, {3, 4, 32, 10, 10, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0}, {0}},
        {"depthwise s2", false, {4, 16, 16, 18, 18, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 16, 0, 0}, {0}},
        {"transposed", true, {0}, {4, 8, 4, 9, 9, 4, 4, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        conv_run r = {.transpose = cases[i].transpose, .conv = cases[i].d, .tconv = cases[i].t};
        if (!conv_run_init(&r, true)) continue;
        conv_run_randomize(&r, 9);
        check_thread_determinism(cases[i].name, conv_run_all, &r, r.ny + r.nx + r.nw + r.nb, 1e-5);
        conv_run_free(&r);
    }
}

/* ---- padding and validation ---- */

TEST(conv2d_same_padding) {
    /* TensorFlow's documented values: 224 -> 112 with k3 s2 pads (0, 1); 225 -> 113 pads (1, 1) */
    int before, after;
    cx_conv2d_same_padding(224, 3, 2, 1, &before, &after);
    CHECK(before == 0 && after == 1);
    cx_conv2d_same_padding(225, 3, 2, 1, &before, &after);
    CHECK(before == 1 && after == 1);
    cx_conv2d_same_padding(7, 1, 1, 1, &before, &after);
    CHECK(before == 0 && after == 0);
    cx_conv2d_same_padding(5, 5, 1, 1, &before, &after);
    CHECK(before == 2 && after == 2);
    /* What "same" means: output ceil(in / stride), with the least padding that achieves it. */
    for (int in = 1; in <= 20; in++)
        for (int k = 1; k <= 7; k++)
            for (int s = 1; s <= 3; s++)
                for (int dil = 1; dil <= 2; dil++) {
                    cx_conv2d_same_padding(in, k, s, dil, &before, &after);
                    cx_conv2d_desc d = {1, 1, 1, in, 1, k, 1, s, 1, dil, 1, before, 0, after, 0, 1, 0, 0};
                    CHECK(before >= 0 && after - before >= 0 && after - before <= 1);
                    CHECK(cx_conv2d_setup(&d) == 0 && d.out_h == (in + s - 1) / s);
                    if (before + after > 0) {
                        d.pad_bottom--;
                        CHECK(cx_conv2d_setup(&d) != 0 || d.out_h < (in + s - 1) / s);
                    }
                }
}

TEST(conv_setup_rejects_bad_shapes) {
    cx_conv2d_desc groups = {1, 3, 4, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0, 0};
    CHECK_EQ(cx_conv2d_setup(&groups), EX_DATAERR);
    cx_conv2d_desc big = {1, 1, 1, 2, 2, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    CHECK_EQ(cx_conv2d_setup(&big), EX_DATAERR);
    cx_conv2d_desc fits = {1, 1, 1, 3, 3, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    CHECK(cx_conv2d_setup(&fits) == 0 && fits.out_h == 1 && fits.out_w == 1);
    cx_conv2d_desc stride0 = {1, 1, 1, 3, 3, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0};
    CHECK_EQ(cx_conv2d_setup(&stride0), EX_DATAERR);
    /* PyTorch: output padding must be below the stride or the dilation */
    cx_conv_transpose2d_desc op = {1, 1, 1, 3, 3, 3, 3, 2, 2, 1, 1, 0, 0, 2, 0, 0, 0};
    CHECK_EQ(cx_conv_transpose2d_setup(&op), EX_DATAERR);
    cx_conv_transpose2d_desc op_dil = {1, 1, 1, 3, 3, 3, 3, 1, 1, 2, 2, 0, 0, 1, 1, 0, 0};
    CHECK(cx_conv_transpose2d_setup(&op_dil) == 0 && op_dil.out_h == 8);
    cx_conv_transpose2d_desc empty = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
    CHECK_EQ(cx_conv_transpose2d_setup(&empty), EX_DATAERR);
}
