/* The U-Net against a PyTorch re-implementation with the same names (tests/ref/gen_unet.py): per
 * case the state_dict keys and shapes in order, and one training-mode pass on deterministic
 * weights (logits, the gradients of L = sum(probe * logits) for the input and every parameter,
 * down.0.bn1's running statistics after the pass) at 64x64 for both presets (lung-unet-small's
 * gradients at 32x32) and for small widths in each up-sampling mode with and without BatchNorm;
 * the published parameter count of lung-unet-4l; finite differences through a tiny U-Net; and
 * the errors for bad inputs and configurations.
 *
 * Tolerance: a tensor matches when every kept value is within rtol * max|reference| + ATOL of the
 * reference (rtol 1e-4 forward, 1e-3 backward). The scale is the tensor's largest magnitude: an
 * element's rounding error follows the sums it came from, not its own size. The reference is
 * float64 rounded to float32, so what is measured is the C code's float32 error; ATOL only lets
 * an all-zero reference pass. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "detweights.h"
#include "gradcheck.h"
#include "io/stream.h"
#include "models/unet.h"
#include "nn/nn.h"
#include "parity.h"
#include "test.h"

#define FIXTURE "tests/data/ref/unet.cxs"
#define FORWARD_RTOL 1e-4
#define BACKWARD_RTOL 1e-3
#define ATOL 1e-8
#define LUNG_UNET_4L_PARAMS 5468897   /* build_UNet2D_4L's count (reference.md B4) */

typedef struct {
    cx_graph *g;
    cx_var x, logits;
} model;

static bool meta_int(const cx_value *map, const char *key, int *out) {
    double d;
    if (!cx_value_number(cx_map_get(map, key), &d)) return false;
    *out = (int)d;
    return true;
}

static bool meta_ints(const cx_value *map, const char *key, int *out, size_t n) {
    const cx_value *v = cx_map_get(map, key);
    if (!v || v->kind != CX_ARRAY || v->u.arr.n != n) return false;
    for (size_t i = 0; i < n; i++) {
        double d;
        if (!cx_value_number(&v->u.arr.items[i], &d)) return false;
        out[i] = (int)d;
    }
    return true;
}

static bool config_from_meta(const cx_value *m, cx_unet_config *c) {
    static const char *modes[3] = {"nearest", "bilinear", "transposed"};
    memset(c, 0, sizeof *c);
    if (!meta_int(m, "depth", &c->depth) || c->depth < 1 || c->depth > CX_UNET_MAX_DEPTH) return false;
    const cx_value *bn = cx_map_get(m, "batch_norm");
    const char *mode = cx_map_str(m, "up_mode", "");
    int mode_index = 0;
    while (mode_index < 3 && strcmp(modes[mode_index], mode)) mode_index++;
    c->batch_norm = bn && bn->kind == CX_BOOL && bn->u.b;
    c->up_mode = (cx_unet_up_mode)mode_index;
    return meta_ints(m, "widths", c->widths, (size_t)c->depth + 1) &&
           meta_ints(m, "up_widths", c->up_widths, (size_t)c->depth) &&
           meta_int(m, "bottom_convs", &c->bottom_convs) && meta_int(m, "convs_before_concat", &c->convs_before_concat) &&
           meta_int(m, "convs_after_concat", &c->convs_after_concat) && meta_int(m, "head_kernel", &c->head_kernel) &&
           meta_int(m, "in_channels", &c->in_channels) && meta_int(m, "out_channels", &c->out_channels) &&
           bn && bn->kind == CX_BOOL && mode_index < 3;
}

static bool same_config(const cx_unet_config *a, const cx_unet_config *b) {
    if (a->depth != b->depth || a->bottom_convs != b->bottom_convs || a->convs_before_concat != b->convs_before_concat ||
        a->convs_after_concat != b->convs_after_concat || a->head_kernel != b->head_kernel ||
        a->batch_norm != b->batch_norm || a->up_mode != b->up_mode || a->in_channels != b->in_channels ||
        a->out_channels != b->out_channels)
        return false;
    for (int i = 0; i < a->depth; i++)
        if (a->widths[i] != b->widths[i] || a->up_widths[i] != b->up_widths[i]) return false;
    return a->widths[a->depth] == b->widths[b->depth];
}

/* A reference tensor's counterpart in the graph: its values, count and tolerance. */
static const float *graph_value(const model *m, const char *name, int64_t *n, parity_tolerance *tol) {
    cx_var v = -1;
    bool grad = false;
    if (!strcmp(name, "logits")) v = m->logits;
    else if (!strcmp(name, "input_grad")) v = m->x, grad = true;
    else if (!strncmp(name, "grad/", 5)) v = cx_graph_find(m->g, name + 5), grad = true;
    else if (!strncmp(name, "running/", 8)) v = cx_graph_find(m->g, name + 8);
    if (v < 0) return NULL;
    *n = cx_graph_numel(m->g, v);
    *tol = (parity_tolerance){grad ? BACKWARD_RTOL : FORWARD_RTOL, ATOL};
    return grad ? cx_graph_grad(m->g, v) : cx_graph_data(m->g, v);
}

static model build(const cx_unet_config *c, const int64_t shape[4], bool requires_grad) {
    model m = {cx_graph_new((int)shape[0]), -1, -1};
    m.x = cx_graph_input(m.g, "input", 3, shape + 1, requires_grad);
    m.logits = cx_unet_build(m.g, m.x, c);
    return m;
}

/* The preset or the record's own configuration; a preset must also be the one PyTorch ran. */
static bool record_config(const cx_record *r, cx_unet_config *c) {
    cx_unet_config from_meta;
    const char *preset = cx_map_str(&r->meta, "preset", "");
    if (!CHECK(config_from_meta(cx_map_get(&r->meta, "config"), &from_meta))) return false;
    if (!*preset) {
        *c = from_meta;
        return true;
    }
    if (!CHECK_EQ(cx_unet_preset(preset, c), 0)) return false;
    if (!CHECK(same_config(c, &from_meta))) printf("  (preset %s differs from the reference's)\n", preset);
    return true;
}

/* Build as record `id` says, fill with detweights, run forward in training mode (and, when the
 * record holds gradients, backward from det_tensor("probe")), and compare every tensor the
 * record holds. */
static void check_against_pytorch(const char *id) {
    cx_record r;
    cx_unet_config c;
    int shape_ints[4];
    if (!parity_read(FIXTURE, id, &r)) return;
    const cx_value *gradients = cx_map_get(&r.meta, "gradients");
    if (!record_config(&r, &c) || !CHECK(meta_ints(&r.meta, "input", shape_ints, 4)) ||
        !CHECK(gradients && gradients->kind == CX_BOOL)) {
        cx_record_free(&r);
        return;
    }
    bool backward = gradients->u.b;
    int64_t shape[4] = {shape_ints[0], shape_ints[1], shape_ints[2], shape_ints[3]};
    int threads = cx_nn_threads();
    cx_nn_set_threads(2);
    model m = build(&c, shape, backward);
    if (!CHECK(m.logits >= 0)) printf("  (%s: %s)\n", id, cx_errmsg());
    else {
        parity_check_keys(m.g, cx_map_get(&r.meta, "keys"), id);
        const int64_t *out = cx_graph_shape(m.g, m.logits);
        CHECK(out[1] == c.out_channels && out[2] == shape[2] && out[3] == shape[3]);
        cx_graph_output(m.g, m.logits);
        if (CHECK_EQ(cx_graph_plan(m.g, CX_MODE_TRAIN), 0)) {
            cx_det_fill(m.g);
            cx_det_tensor("input", 4, shape, cx_graph_data(m.g, m.x));
            CHECK_EQ(cx_graph_forward(m.g, 1, 0), 0);
            if (backward) {
                cx_det_tensor("probe", 4, cx_graph_shape(m.g, m.logits), cx_graph_grad(m.g, m.logits));
                cx_graph_zero_grad(m.g);
                cx_graph_backward(m.g);
            }
            CHECK(cx_record_tensor(&r, "logits") && (!backward || cx_record_tensor(&r, "input_grad")));
            CHECK(!c.batch_norm || cx_record_tensor(&r, "running/down.0.bn1.running_var"));
            for (size_t i = 0; i < r.ntensors; i++) {
                int64_t n = 0;
                parity_tolerance tol;
                const float *got = graph_value(&m, r.tensors[i].name, &n, &tol);
                if (CHECK(got != NULL)) parity_check_kept(&r, r.tensors[i].name, got, n, tol);
                else printf("  (%s: no %s in the graph)\n", id, r.tensors[i].name);
            }
        }
    }
    cx_graph_free(m.g);
    cx_record_free(&r);
    cx_nn_set_threads(threads);
}

TEST(unet_lung_4l_matches_pytorch) { check_against_pytorch("lung-unet-4l"); }
/* Forward at 64x64, gradients at 32x32: see tests/ref/gen_unet.py on conditioning. */
TEST(unet_lung_small_matches_pytorch) {
    check_against_pytorch("lung-unet-small");
    check_against_pytorch("lung-unet-small@32");
}

TEST(unet_small_widths_match_pytorch_in_every_up_mode) {
    const char *ids[] = {"nearest-bn",    "nearest-plain",    "bilinear-bn",          "bilinear-plain",
                         "transposed-bn", "transposed-plain", "bilinear-bn-rgb-48x32"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) check_against_pytorch(ids[i]);
}

TEST(unet_lung_4l_has_the_published_parameter_count) {
    cx_unet_config c;
    CHECK_EQ(cx_unet_preset("lung-unet-4l", &c), 0);
    int64_t shape[4] = {1, 1, 256, 256};
    model m = build(&c, shape, false);
    if (CHECK(m.logits >= 0)) {
        CHECK_EQ(parity_param_count(m.g), LUNG_UNET_4L_PARAMS);
        CHECK_EQ(cx_graph_state_count(m.g), 2 * 22);   /* 22 convolutions with bias, no BatchNorm */
        const int64_t *out = cx_graph_shape(m.g, m.logits);
        CHECK(out[1] == 1 && out[2] == 256 && out[3] == 256);
    }
    cx_graph_free(m.g);
}

/* Finite differences through a tiny U-Net in each up-sampling mode, with convolutions on both
 * sides of the concatenation, a 3x3 head and two output channels.
 *
 * ReLU and max pooling are piecewise linear, and a U-Net has thousands of kinks: with weights
 * of both signs a step crosses some, and a crossing errs by a tenth of a gradient that sums
 * terms of both signs. So the weights, biases, input and probe are all made positive: each
 * ReLU then passes its input (no kink to cross), every path adds with the same sign, and the
 * loss is linear but where a max-pool window changes its winner. Each weight tensor is scaled
 * to a mean of 1 / fan-in, so the maps keep their scale through the layers and the float32
 * loss keeps its resolution. No BatchNorm: it would centre the maps and bring the kinks back
 * (its training-mode gradients are checked against PyTorch above).
 *
 * gradcheck steps by 1e-2 (absolute below 1), far more than a weight of 1 / fan-in, so each
 * check runs on a proxy p of the values under test, v = v0 + step * p with step three times
 * the tensor's mean magnitude: p's step of 1e-2 moves v by 3% of its size, where the measured
 * error is below 0.3% (at 10% max-pool winners change, below 1% rounding shows). */
#define FD_OUTPUTS (2 * 2 * 8 * 8)

typedef struct {
    model m;
    float probe[FD_OUTPUTS];
    float *values;          /* under test: the input or a parameter, n of them */
    const float *origin;    /* their values at the point of the check */
    const float *proxy;
    float step;
    int64_t n;
} fd_ctx;

static double unet_loss(void *p) {
    fd_ctx *c = p;
    for (int64_t i = 0; i < c->n; i++) c->values[i] = c->origin[i] + c->step * c->proxy[i];
    cx_graph_forward(c->m.g, 1, 0);
    return cx_dot_f64(c->probe, cx_graph_data(c->m.g, c->m.logits), FD_OUTPUTS);
}

static double mean_magnitude(const float *x, int64_t n) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += fabs((double)x[i]);
    return sum / (double)n;
}

static void make_positive(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = fabsf(x[i]);
}

/* Positive parameters; weights scaled to a mean of 1 / fan-in (a stride-2 2x2 transposed
 * convolution gives each output one tap per input channel: its fan-in is in_channels). */
static void make_positive_averaging(cx_graph *g) {
    for (int i = 0; i < cx_graph_state_count(g); i++) {
        cx_var v = cx_graph_state_var(g, i);
        float *p = cx_graph_data(g, v);
        int64_t n = cx_graph_numel(g, v);
        const int64_t *shape = cx_graph_shape(g, v);
        make_positive(p, n);
        if (cx_graph_ndim(g, v) != 4) continue;
        double fan_in = strstr(cx_graph_name(g, v), "upconv") ? (double)shape[0] : (double)(shape[1] * shape[2] * shape[3]);
        float scale = (float)(1.0 / (mean_magnitude(p, n) * fan_in));
        for (int64_t k = 0; k < n; k++) p[k] *= scale;
    }
}

/* gradcheck of v through its proxy against backward's gradient; restores v. */
static bool gradcheck_var(fd_ctx *c, const char *what, cx_var v, int max_points) {
    int64_t n = cx_graph_numel(c->m.g, v);
    float *values = cx_graph_data(c->m.g, v), *origin = malloc((size_t)n * sizeof *origin);
    float *proxy = calloc((size_t)n, sizeof *proxy), *proxy_grad = malloc((size_t)n * sizeof *proxy_grad);
    memcpy(origin, values, (size_t)n * sizeof *origin);
    c->values = values, c->origin = origin, c->proxy = proxy, c->n = n;
    c->step = (float)(3 * mean_magnitude(origin, n));
    const float *grad = cx_graph_grad(c->m.g, v);
    double scale = 0;
    for (int64_t i = 0; i < n; i++) {
        proxy_grad[i] = c->step * grad[i];
        scale = fmax(scale, fabs((double)proxy_grad[i]));
    }
    bool ok = cx_gradcheck(what, unet_loss, c, proxy, proxy_grad, n, max_points, 1e-2, 1e-3 * scale);
    memcpy(values, origin, (size_t)n * sizeof *origin);
    free(origin);
    free(proxy);
    free(proxy_grad);
    return ok;
}

static void check_finite_differences(cx_unet_up_mode mode) {
    static const char *modes[3] = {"nearest", "bilinear", "transposed"};
    cx_unet_config cfg = {.depth = 2, .widths = {3, 4, 5}, .up_widths = {3, 4}, .bottom_convs = 1,
                          .convs_before_concat = 1, .convs_after_concat = 1, .head_kernel = 3,
                          .batch_norm = false, .up_mode = mode, .in_channels = 1, .out_channels = 2};
    int64_t shape[4] = {2, 1, 8, 8}, nx = 2 * 8 * 8;
    fd_ctx c;
    c.m = build(&cfg, shape, true);
    cx_graph *g = c.m.g;
    if (!CHECK(c.m.logits >= 0)) {
        cx_graph_free(g);
        return;
    }
    cx_graph_output(g, c.m.logits);
    CHECK_EQ(cx_graph_plan(g, CX_MODE_TRAIN), 0);
    cx_graph_init(g, 3);
    make_positive_averaging(g);
    cx_fill_normal(cx_graph_data(g, c.m.x), nx, 5, 1.0f);
    make_positive(cx_graph_data(g, c.m.x), nx);
    cx_fill_normal(c.probe, FD_OUTPUTS, 6, 1.0f);
    make_positive(c.probe, FD_OUTPUTS);
    cx_graph_forward(g, 1, 0);
    memcpy(cx_graph_grad(g, c.m.logits), c.probe, sizeof c.probe);
    cx_graph_zero_grad(g);
    cx_graph_backward(g);
    /* each gradcheck_var copies backward's gradient before its forwards: the input's is read
     * first, and the parameters' live in their own arena, which forward does not touch */
    if (!CHECK(gradcheck_var(&c, "input", c.m.x, (int)nx))) printf("  (%s up-sampling)\n", modes[mode]);
    for (int i = 0; i < cx_graph_state_count(g); i++) {
        cx_var v = cx_graph_state_var(g, i);
        if (!CHECK(gradcheck_var(&c, cx_graph_name(g, v), v, 24))) printf("  (%s up-sampling)\n", modes[mode]);
    }
    cx_graph_free(g);
}

TEST(unet_gradients_pass_finite_differences) {
    int threads = cx_nn_threads();
    cx_nn_set_threads(1);   /* a tiny graph: threads would only add their start-up to each pass */
    check_finite_differences(CX_UNET_UP_NEAREST);
    check_finite_differences(CX_UNET_UP_BILINEAR);
    check_finite_differences(CX_UNET_UP_TRANSPOSED);
    cx_nn_set_threads(threads);
}

/* Build the preset on [1, channels, h, w]: the error code, 0 when it builds. */
static int build_preset(const char *name, int channels, int h, int w) {
    cx_unet_config c;
    int rc = cx_unet_preset(name, &c);
    if (rc) return rc;
    int64_t shape[4] = {1, channels, h, w};
    model m = build(&c, shape, false);
    rc = m.logits >= 0 ? 0 : cx_errcode();
    cx_graph_free(m.g);
    return rc;
}

TEST(unet_refuses_input_sizes_it_cannot_take_and_says_which_work) {
    cx_err_clear();
    CHECK_EQ(build_preset("lung-unet-4l", 1, 250, 250), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "250x250") && strstr(cx_errmsg(), "multiple of 16") &&
          strstr(cx_errmsg(), "240x240 or 256x256 work"));
    CHECK_EQ(build_preset("lung-unet-4l", 1, 256, 200), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "256x192 or 256x208 work") != NULL);
    CHECK_EQ(build_preset("lung-unet-small", 1, 8, 8), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "16x16 works") != NULL);
    CHECK_EQ(build_preset("lung-unet-4l", 3, 256, 256), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "[N, 1, H, W]") != NULL);
    /* the sizes the message offers do build, square or not, down to 2^depth */
    CHECK_EQ(build_preset("lung-unet-4l", 1, 240, 240), 0);
    CHECK_EQ(build_preset("lung-unet-4l", 1, 256, 208), 0);
    CHECK_EQ(build_preset("lung-unet-small", 1, 16, 16), 0);
}

TEST(unet_refuses_bad_configurations_and_unknown_presets) {
    cx_unet_config c;
    CHECK_EQ(cx_unet_preset("lung-unet", &c), EX_USAGE);
    CHECK(strstr(cx_errmsg(), "lung-unet-4l, lung-unet-small") != NULL);
    CHECK_EQ(cx_unet_preset("lung-unet-small", &c), 0);
    int64_t shape[4] = {1, 1, 64, 64};
    cx_unet_config bad[5] = {c, c, c, c, c};
    bad[0].depth = 0;
    bad[1].widths[4] = 0;          /* the bottom */
    bad[2].up_widths[3] = -1;
    bad[3].head_kernel = 2;
    bad[4].convs_after_concat = 0;
    const char *why[5] = {"depth 0", "widths[4] is 0", "up_widths[3] is -1", "head kernel 2", "2 bottom convolutions"};
    for (int i = 0; i < 5; i++) {
        model m = build(&bad[i], shape, false);
        CHECK_EQ(m.logits, -1);
        CHECK_EQ(cx_errcode(), EX_USAGE);
        if (!CHECK(strstr(cx_errmsg(), why[i]) != NULL)) printf("  (%s)\n", cx_errmsg());
        cx_graph_free(m.g);
    }
}
