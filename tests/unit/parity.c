#include "parity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "detweights.h"
#include "nn/nn.h"
#include "test.h"

#define FORWARD_RTOL 1e-4   /* the contract checks compare two of our own builds */
#define ATOL 1e-8
#define BATCH 2             /* the contract checks' batch */

typedef struct {
    cx_graph *g;
    cx_var x;
    cx_backbone_outputs out;
    int64_t input_shape[4];
} model;

/* Builds on shape [N, C, H, W]; on failure the graph is freed and the code returned. */
static int build_model(model *m, parity_build_fn build, const cx_backbone_options *opt, const int64_t shape[4]) {
    memcpy(m->input_shape, shape, sizeof m->input_shape);
    m->g = cx_graph_new((int)shape[0]);
    m->x = cx_graph_input(m->g, "input", 3, shape + 1, true);
    int rc = build(m->g, m->x, opt, &m->out);
    if (rc) {
        cx_graph_free(m->g);
        m->g = NULL;
    }
    return rc;
}

/* Plans, fills every parameter and buffer and the input with detweights. */
static bool prepare(model *m, cx_mode mode) {
    cx_graph_output(m->g, m->out.features);
    cx_graph_output(m->g, m->out.logits);
    cx_graph_output(m->g, m->out.aux[0]);
    cx_graph_output(m->g, m->out.aux[1]);
    if (!CHECK_EQ(cx_graph_plan(m->g, mode), 0)) return false;
    cx_det_fill(m->g);
    cx_det_tensor("input", 4, m->input_shape, cx_graph_data(m->g, m->x));
    return true;
}

/* Backward from L = sum(probe * logits) + sum(probe_aux1 * aux1) + sum(probe_aux2 * aux2). */
static void backward_from_probes(model *m) {
    static const char *const names[3] = {"probe", "probe_aux1", "probe_aux2"};
    cx_var outputs[3] = {m->out.logits, m->out.aux[0], m->out.aux[1]};
    memset(cx_graph_grad(m->g, m->out.features), 0, (size_t)cx_graph_numel(m->g, m->out.features) * sizeof(float));
    for (int i = 0; i < 3; i++)
        if (outputs[i] >= 0)
            cx_det_tensor(names[i], cx_graph_ndim(m->g, outputs[i]), cx_graph_shape(m->g, outputs[i]),
                          cx_graph_grad(m->g, outputs[i]));
    cx_graph_zero_grad(m->g);
    cx_graph_backward(m->g);
}

bool parity_close_to_scale(const float *got, const float *want, int64_t n, parity_tolerance tol, const char *what) {
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs((double)want[i]));
    bool ok = CHECK_CLOSE_F32(got, want, n, 0, tol.rtol * scale + tol.atol);
    if (!ok) printf("  (%s: rtol %g of the largest reference magnitude %g)\n", what, tol.rtol, scale);
    return ok;
}

double parity_meta_number(const cx_record *r, const char *table, const char *name, double def) {
    const cx_value *t = cx_map_get(&r->meta, table), *v = t ? cx_map_get(t, name) : NULL;
    double d;
    return v && cx_value_number(v, &d) ? d : def;
}

bool parity_meta_ints(const cx_value *meta, const char *key, int64_t *out, size_t n) {
    const cx_value *v = cx_map_get(meta, key);
    if (!v || v->kind != CX_ARRAY || v->u.arr.n != n) return false;
    for (size_t i = 0; i < n; i++) {
        double d;
        if (!cx_value_number(&v->u.arr.items[i], &d)) return false;
        out[i] = (int64_t)d;
    }
    return true;
}

void parity_check_kept(const cx_record *r, const char *name, const float *got, int64_t n, parity_tolerance tol) {
    const cx_tensor *want = cx_record_tensor(r, name);
    int64_t step = (int64_t)parity_meta_number(r, "steps", name, 0), count = step > 0 ? (n + step - 1) / step : 0;
    if (!CHECK(want && step > 0 && want->dtype == CX_F32 && cx_tensor_numel(want) == count)) {
        printf("  (%s %s: %lld values kept of %lld, step %lld)\n", r->id, name,
               want ? (long long)cx_tensor_numel(want) : -1LL, (long long)n, (long long)step);
        return;
    }
    float *kept = malloc((size_t)count * sizeof *kept);
    for (int64_t i = 0; i < count; i++) kept[i] = got[i * step];
    char what[256];
    snprintf(what, sizeof what, "%s %s", r->id, name);
    parity_close_to_scale(kept, want->data, count, tol, what);
    free(kept);
}

static void format_key(const cx_graph *g, cx_var v, char *buf, size_t size) {
    int len = snprintf(buf, size, "%s:", cx_graph_name(g, v));
    for (int d = 0; d < cx_graph_ndim(g, v) && len > 0 && (size_t)len < size; d++)
        len += snprintf(buf + len, size - (size_t)len, "%s%lld", d ? "," : "", (long long)cx_graph_shape(g, v)[d]);
}

void parity_check_keys(const cx_graph *g, const cx_value *keys, const char *what) {
    if (!CHECK(keys && keys->kind == CX_ARRAY)) return;
    size_t n = (size_t)cx_graph_state_count(g);
    if (!CHECK_EQ(n, keys->u.arr.n)) printf("  (%s: %zu keys in the graph, %zu in the reference)\n", what, n, keys->u.arr.n);
    for (size_t i = 0; i < n && i < keys->u.arr.n; i++) {
        char mine[512];
        format_key(g, cx_graph_state_var(g, (int)i), mine, sizeof mine);
        const cx_value *want = &keys->u.arr.items[i];
        if (!CHECK(want->kind == CX_STR && !strcmp(mine, want->u.s))) {
            printf("  (%s key %zu: %s, the reference has %s)\n", what, i, mine, want->kind == CX_STR ? want->u.s : "?");
            return;
        }
    }
}

bool parity_read(const char *fixture, const char *id, cx_record *r) {
    cx_reader *rd = cx_reader_open(fixture);
    if (!CHECK(rd != NULL)) {
        printf("  (%s)\n", cx_errmsg());
        return false;
    }
    cx_record_init(r);
    int rc;
    while ((rc = cx_reader_next(rd, r)) == 1 && strcmp(r->id, id)) continue;
    cx_reader_close(rd);
    if (!CHECK_EQ(rc, 1)) {
        printf("  (%s has no record %s)\n", fixture, id);
        cx_record_free(r);
        return false;
    }
    return true;
}

/* A reference tensor's counterpart in the graph: its values and count. */
static const float *graph_value(const model *m, const char *name, int64_t *n) {
    cx_var v = -1;
    bool grad = false;
    if (!strcmp(name, "features")) v = m->out.features;
    else if (!strcmp(name, "logits")) v = m->out.logits;
    else if (!strcmp(name, "aux1")) v = m->out.aux[0];
    else if (!strcmp(name, "aux2")) v = m->out.aux[1];
    else if (!strcmp(name, "input_grad")) v = m->x, grad = true;
    else if (!strncmp(name, "grad/", 5)) v = cx_graph_find(m->g, name + 5), grad = true;
    else if (!strncmp(name, "running/", 8)) v = cx_graph_find(m->g, name + 8);
    if (v < 0) return NULL;
    *n = cx_graph_numel(m->g, v);
    return grad ? cx_graph_grad(m->g, v) : cx_graph_data(m->g, v);
}

static void check_record(const cx_record *r, parity_build_fn build, parity_tolerance_fn tolerance) {
    int64_t shape[4];
    const cx_value *aux = cx_map_get(&r->meta, "aux_logits");
    const char *mode = cx_map_str(&r->meta, "mode", "");
    bool train = !strcmp(mode, "train");
    double classes;
    if (!CHECK(parity_meta_ints(&r->meta, "input", shape, 4) && cx_value_number(cx_map_get(&r->meta, "num_classes"), &classes) &&
               (!aux || aux->kind == CX_BOOL) && (train || !strcmp(mode, "eval"))))
        return;
    cx_backbone_options opt = {(int)classes, 0.0, aux && aux->u.b};
    model m;
    if (!CHECK_EQ(build_model(&m, build, &opt, shape), 0)) {
        printf("  (%s: %s)\n", r->id, cx_errmsg());
        return;
    }
    const cx_value *keys = cx_map_get(&r->meta, "keys");
    if (keys) parity_check_keys(m.g, keys, r->id);
    if (prepare(&m, train ? CX_MODE_TRAIN : CX_MODE_EVAL) && CHECK_EQ(cx_graph_forward(m.g, 1, 0), 0)) {
        if (train) backward_from_probes(&m);
        CHECK(cx_record_tensor(r, "features") && cx_record_tensor(r, "logits"));
        CHECK(!train || cx_record_tensor(r, "input_grad"));
        for (size_t i = 0; i < r->ntensors; i++) {
            const char *name = r->tensors[i].name;
            int64_t n = 0;
            const float *got = graph_value(&m, name, &n);
            if (CHECK(got != NULL)) parity_check_kept(r, name, got, n, tolerance(r, name));
            else printf("  (%s: no %s in the graph)\n", r->id, name);
        }
    }
    cx_graph_free(m.g);
}

void parity_check_backbone(const char *fixture, const char *id, parity_build_fn build, parity_tolerance_fn tolerance) {
    cx_record r;
    if (!parity_read(fixture, id, &r)) return;
    int threads = cx_nn_threads();
    cx_nn_set_threads(2);
    check_record(&r, build, tolerance);
    cx_nn_set_threads(threads);
    cx_record_free(&r);
}

/* tvsmall.cxs: the references are float64. In training mode at batch 2 and 64x64 the deepest
 * BatchNorms see 8 values per channel and magnify float32 rounding a hundredfold, and
 * GoogLeNet's ReLUs and max pools then take other branches under that noise, so even PyTorch's
 * own float32 result misses its float64 one by up to 1.4e-4 in the features and 1.5e-2 in
 * GoogLeNet's early gradients. The fixture records that error per tensor (meta f32_error), and a
 * tensor whose PyTorch float32 error times 8 exceeds the nominal tolerance (1e-4 forward, 1e-3
 * backward) gets that product instead (the C engine's error is 0.3 to 3 times PyTorch's). A wrong
 * layer errs by tens of percent either way, and the eval-mode references, which are well
 * conditioned (PyTorch float32 within 4e-7), hold the nominal tolerance. */
static parity_tolerance tvsmall_tolerance(const cx_record *r, const char *name) {
    bool grad = !strncmp(name, "grad/", 5) || !strcmp(name, "input_grad");
    double nominal = grad ? 1e-3 : 1e-4, f32_error = parity_meta_number(r, "f32_error", name, 0);
    return (parity_tolerance){fmax(nominal, 8 * f32_error), ATOL};
}

void parity_check_tvsmall(const char *id, parity_build_fn build) {
    parity_check_backbone("tests/data/ref/tvsmall.cxs", id, build, tvsmall_tolerance);
}

int64_t parity_param_count(const cx_graph *g) {
    int64_t n = 0;
    for (int i = 0; i < cx_graph_state_count(g); i++) {
        cx_var v = cx_graph_state_var(g, i);
        if (cx_graph_kind(g, v) == CX_VAR_PARAM) n += cx_graph_numel(g, v);
    }
    return n;
}

static bool has_key_with_prefix(const cx_graph *g, const char *prefix) {
    for (int i = 0; i < cx_graph_state_count(g); i++)
        if (!strncmp(cx_graph_name(g, cx_graph_state_var(g, i)), prefix, strlen(prefix))) return true;
    return false;
}

static bool features_are_pooled(const model *m, int feature_dim) {
    const int64_t *s = cx_graph_shape(m->g, m->out.features);
    return m->out.features >= 0 && cx_graph_ndim(m->g, m->out.features) == 2 && s[0] == BATCH && s[1] == feature_dim;
}

void backbone_check_counts(const cx_backbone *b) {
    cx_backbone_options imagenet = {1000, -1, false}, features_only = {0, -1, false};
    model m;
    if (!CHECK_EQ(build_model(&m, b->build, &imagenet, (int64_t[4]){BATCH, 3, 64, 64}), 0)) return;
    if (!CHECK_EQ(parity_param_count(m.g), b->params_1000)) printf("  (%s: %lld)\n", b->name, (long long)parity_param_count(m.g));
    CHECK(has_key_with_prefix(m.g, b->classifier));
    CHECK(features_are_pooled(&m, b->feature_dim));
    cx_graph_free(m.g);
    if (!CHECK_EQ(build_model(&m, b->build, &features_only, (int64_t[4]){BATCH, 3, 64, 64}), 0)) return;
    CHECK_EQ(parity_param_count(m.g), b->params_1000 - ((int64_t)b->feature_dim * 1000 + 1000));
    CHECK(!has_key_with_prefix(m.g, b->classifier));
    CHECK(features_are_pooled(&m, b->feature_dim));
    CHECK_EQ(m.out.logits, -1);
    cx_graph_free(m.g);
}

void backbone_check_gray_input(const cx_backbone *b) {
    int size = 2 * b->min_input;
    cx_backbone_options opt = {0, -1, false};
    model rgb, gray;
    if (!CHECK_EQ(build_model(&rgb, b->build, &opt, (int64_t[4]){BATCH, 3, size, size}), 0)) return;
    if (!CHECK_EQ(build_model(&gray, b->build, &opt, (int64_t[4]){BATCH, 1, size, size}), 0)) {
        cx_graph_free(rgb.g);
        return;
    }
    int threads = cx_nn_threads();
    cx_nn_set_threads(2);
    CHECK(features_are_pooled(&gray, b->feature_dim));
    if (prepare(&rgb, CX_MODE_EVAL) && prepare(&gray, CX_MODE_EVAL)) {
        /* the first convolution: [O, 3, k, k] summed over colours into [O, 1, k, k] */
        cx_var w3 = cx_graph_state_var(rgb.g, 0), w1 = cx_graph_state_var(gray.g, 0);
        const int64_t *s3 = cx_graph_shape(rgb.g, w3), *s1 = cx_graph_shape(gray.g, w1);
        if (CHECK(cx_graph_ndim(gray.g, w1) == 4 && s3[1] == 3 && s1[1] == 1 && s1[0] == s3[0])) {
            int64_t filters = s3[0], taps = s3[2] * s3[3];
            const float *from = cx_graph_data(rgb.g, w3);
            float *to = cx_graph_data(gray.g, w1);
            for (int64_t o = 0; o < filters; o++)
                for (int64_t k = 0; k < taps; k++)
                    to[o * taps + k] = from[(o * 3 + 0) * taps + k] + from[(o * 3 + 1) * taps + k] + from[(o * 3 + 2) * taps + k];
            /* the gray input replicated into the three colour planes */
            int64_t plane = (int64_t)size * size;
            const float *x1 = cx_graph_data(gray.g, gray.x);
            float *x3 = cx_graph_data(rgb.g, rgb.x);
            for (int n = 0; n < BATCH; n++)
                for (int c = 0; c < 3; c++) memcpy(x3 + (n * 3 + c) * plane, x1 + n * plane, (size_t)plane * sizeof *x3);
            CHECK_EQ(cx_graph_forward(rgb.g, 1, 0), 0);
            CHECK_EQ(cx_graph_forward(gray.g, 1, 0), 0);
            parity_close_to_scale(cx_graph_data(gray.g, gray.out.features), cx_graph_data(rgb.g, rgb.out.features),
                           (int64_t)BATCH * b->feature_dim, (parity_tolerance){FORWARD_RTOL, ATOL}, b->name);
        }
    }
    cx_graph_free(rgb.g);
    cx_graph_free(gray.g);
    cx_nn_set_threads(threads);
}

static bool all_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return false;
    return true;
}

static void check_refused(const cx_backbone *b, int channels, int h, int w, const char *why) {
    cx_backbone_options opt = {10, -1, false};
    model m;
    cx_err_clear();
    int rc = build_model(&m, b->build, &opt, (int64_t[4]){BATCH, channels, h, w});
    if (!CHECK_EQ(rc, EX_USAGE)) {
        if (!rc) cx_graph_free(m.g);
        printf("  (%s on [%d, %d, %d, %d])\n", b->name, BATCH, channels, h, w);
        return;
    }
    if (!CHECK(strstr(cx_errmsg(), b->name) && strstr(cx_errmsg(), why))) printf("  (message: %s)\n", cx_errmsg());
}

void backbone_check_input_limits(const cx_backbone *b) {
    int threads = cx_nn_threads(), s = b->min_input;
    cx_nn_set_threads(2);
    cx_backbone_options opt = {10, -1, false};
    model m;
    if (CHECK_EQ(build_model(&m, b->build, &opt, (int64_t[4]){BATCH, 3, s, s}), 0)) {
        if (prepare(&m, CX_MODE_TRAIN) && CHECK_EQ(cx_graph_forward(m.g, 1, 0), 0)) {
            backward_from_probes(&m);
            CHECK(features_are_pooled(&m, b->feature_dim));
            CHECK(all_finite(cx_graph_data(m.g, m.out.logits), BATCH * 10));
            CHECK(all_finite(cx_graph_grad(m.g, m.x), cx_graph_numel(m.g, m.x)));
        }
        cx_graph_free(m.g);
    }
    check_refused(b, 3, s - 1, s, "smaller than the minimum");
    check_refused(b, 3, s, s - 1, "smaller than the minimum");
    check_refused(b, 2, s, s, "1 or 3");
    cx_nn_set_threads(threads);
}

static bool same(const cx_graph *ga, cx_var a, const cx_graph *gb, cx_var b) {
    int64_t n = cx_graph_numel(ga, a);
    return n == cx_graph_numel(gb, b) && !memcmp(cx_graph_data(ga, a), cx_graph_data(gb, b), (size_t)n * sizeof(float));
}

void backbone_check_default_dropout(const cx_backbone *b, parity_build_fn without_dropout, bool aux_logits,
                               bool has_default_dropout) {
    int s = b->min_input;
    cx_backbone_options by_default = {10, -1, aux_logits}, none = {10, 0, aux_logits};
    model d, z;
    if (!CHECK_EQ(build_model(&d, b->build, &by_default, (int64_t[4]){BATCH, 3, s, s}), 0)) return;
    if (!CHECK_EQ(build_model(&z, without_dropout, &none, (int64_t[4]){BATCH, 3, s, s}), 0)) {
        cx_graph_free(d.g);
        return;
    }
    int threads = cx_nn_threads();
    cx_nn_set_threads(2);
    cx_var heads_d[3] = {d.out.logits, d.out.aux[0], d.out.aux[1]}, heads_z[3] = {z.out.logits, z.out.aux[0], z.out.aux[1]};
    int nheads = aux_logits ? 3 : 1;
    CHECK(aux_logits == (heads_d[1] >= 0 && heads_d[2] >= 0 && heads_z[1] >= 0 && heads_z[2] >= 0));
    if (prepare(&d, CX_MODE_TRAIN) && prepare(&z, CX_MODE_TRAIN) && CHECK_EQ(cx_graph_forward(d.g, 7, 0), 0) &&
        CHECK_EQ(cx_graph_forward(z.g, 7, 0), 0)) {
        CHECK(same(d.g, d.out.features, z.g, z.out.features));
        for (int i = 0; i < nheads; i++)
            if (!CHECK(same(d.g, heads_d[i], z.g, heads_z[i]) == !has_default_dropout)) printf("  (%s head %d)\n", b->name, i);
    }
    if (prepare(&d, CX_MODE_EVAL) && prepare(&z, CX_MODE_EVAL) && CHECK_EQ(cx_graph_forward(d.g, 7, 0), 0) &&
        CHECK_EQ(cx_graph_forward(z.g, 7, 0), 0))
        for (int i = 0; i < nheads; i++) CHECK(same(d.g, heads_d[i], z.g, heads_z[i]));
    cx_graph_free(d.g);
    cx_graph_free(z.g);
    cx_nn_set_threads(threads);
}
