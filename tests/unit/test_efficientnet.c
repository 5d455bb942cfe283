/* The five timm EfficientNets against tests/ref/gen_effnet.py (a PyTorch re-implementation with
 * timm's module names, checked there against timm's published parameter counts and, for
 * efficientnet_b1_pruned, timm's key/shape manifest): state_dict keys and shapes in order,
 * parameter counts, one training-mode pass at 64x64 on deterministic weights (features, logits,
 * the gradients of L = sum(probe * logits) for the input and named parameters, the first
 * BatchNorm's running statistics), an inference pass at the smallest input, 32x32; a 1-channel
 * build against the 3-channel one; inputs below the minimum; the default classifier dropout.
 *
 * Tolerance: a tensor matches when every kept value is within rtol * max|reference| + 1e-6 of
 * the reference. rtol comes with each reference tensor: 1e-4 forward and 1e-3 backward, or twice
 * the reference's own spread under float32-sized perturbations of the weights where that is
 * larger -- the ReLU models' gradients upstream of a near-kink unit (gen_effnet.py explains). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/stream.h"
#include "models/efficientnet.h"
#include "nn/graph.h"
#include "nn/nn.h"
#include "detweights.h"
#include "test.h"

#define FIXTURE "tests/data/ref/effnet.cxs"
#define FORWARD_RTOL 1e-4   /* for comparisons of this file's own two builds */
#define ATOL 1e-6
#define BATCH 2
#define CLASSES 1000
#define FEATURES 1280

typedef struct {
    cx_graph *g;
    cx_var x;
    cx_backbone_outputs out;
    int rc;
} model;

static const cx_backbone *find_backbone(const char *name) {
    for (int i = 0; i < cx_efficientnet_backbone_count; i++)
        if (!strcmp(cx_efficientnet_backbones[i].name, name)) return &cx_efficientnet_backbones[i];
    printf("  no backbone %s\n", name);
    return NULL;
}

static model build(const cx_backbone *b, int channels, int height, int width, int num_classes, double drop_rate) {
    model m;
    m.g = cx_graph_new(BATCH);
    int64_t shape[3] = {channels, height, width};
    m.x = cx_graph_input(m.g, "input", 3, shape, true);
    cx_backbone_options opt = {num_classes, drop_rate, false};
    m.rc = b->build(m.g, m.x, &opt, &m.out);
    return m;
}

static int64_t count_params(const cx_graph *g) {
    int64_t n = 0;
    for (int i = 0; i < cx_graph_state_count(g); i++) {
        cx_var v = cx_graph_state_var(g, i);
        if (cx_graph_kind(g, v) == CX_VAR_PARAM) n += cx_graph_numel(g, v);
    }
    return n;
}

static bool read_case(const char *id, cx_record *r) {
    cx_reader *rd = cx_reader_open(FIXTURE);
    CHECK(rd != NULL);
    if (!rd) return false;
    cx_record_init(r);
    bool found = false;
    while (!found && cx_reader_next(rd, r) == 1) found = !strcmp(r->id, id);
    cx_reader_close(rd);
    if (!found) printf("  %s has no case %s\n", FIXTURE, id);
    CHECK(found);
    return found;
}

/* The graph's parameters and buffers, in order, as "name:d0,d1,...", against a list of them. */
static void check_keys(const cx_graph *g, const cx_value *keys, const char *what) {
    CHECK(keys && keys->kind == CX_ARRAY);
    if (!keys || keys->kind != CX_ARRAY) return;
    int n = cx_graph_state_count(g);
    CHECK_EQ((size_t)n, keys->u.arr.n);
    for (int i = 0; i < n && (size_t)i < keys->u.arr.n; i++) {
        cx_var v = cx_graph_state_var(g, i);
        char key[256];
        int len = snprintf(key, sizeof key, "%s:", cx_graph_name(g, v));
        for (int d = 0; d < cx_graph_ndim(g, v); d++)
            len += snprintf(key + len, sizeof key - (size_t)len, "%s%lld", d ? "," : "", (long long)cx_graph_shape(g, v)[d]);
        const cx_value *want = &keys->u.arr.items[i];
        if (!CHECK(want->kind == CX_STR && !strcmp(key, want->u.s))) {
            printf("  %s entry %d: graph has %s, wanted %s\n", what, i, key, want->kind == CX_STR ? want->u.s : "?");
            return;
        }
    }
}

/* got holds n floats; the reference kept every step-th of them (step and rtol from the meta). */
static void check_subset(const cx_record *r, const char *name, const float *got, int64_t n) {
    const cx_tensor *want = cx_record_tensor(r, name);
    double step = 0, rtol = 0;
    cx_value_number(cx_map_get(cx_map_get(&r->meta, "steps"), name), &step);
    cx_value_number(cx_map_get(cx_map_get(&r->meta, "rtol"), name), &rtol);
    if (!CHECK(want && got && step >= 1 && rtol > 0)) {
        printf("  (%s: %s missing)\n", r->id, name);
        return;
    }
    int64_t stride = (int64_t)step, kept = (n + stride - 1) / stride;
    if (!CHECK_EQ(cx_tensor_numel(want), kept)) return;
    const float *ref = want->data;
    float *picked = malloc((size_t)kept * sizeof *picked);
    double scale = 0;
    for (int64_t i = 0; i < kept; i++) {
        picked[i] = got[i * stride];
        scale = fmax(scale, fabs(ref[i]));
    }
    if (!CHECK_CLOSE_F32(picked, ref, kept, 0, rtol * scale + ATOL)) printf("  (%s: %s, rtol %g)\n", r->id, name, rtol);
    free(picked);
}

static void check_parity(const char *name) {
    cx_nn_set_threads(2);
    cx_record r;
    const cx_backbone *b = find_backbone(name);
    if (!b || !read_case(name, &r)) return;
    CHECK(!strcmp(cx_map_str(&r.meta, "mode", ""), "train"));
    model m = build(b, 3, 64, 64, CLASSES, 0.0);
    CHECK_EQ(m.rc, 0);
    if (m.rc) {
        printf("  %s\n", cx_errmsg());
        cx_graph_free(m.g);
        cx_record_free(&r);
        return;
    }
    check_keys(m.g, cx_map_get(&r.meta, "keys"), "keys");
    const cx_value *manifest = cx_map_get(&r.meta, "manifest");
    if (manifest) check_keys(m.g, manifest, "timm's manifest");
    CHECK_EQ(count_params(m.g), b->params_1000);

    cx_graph_output(m.g, m.out.features);
    cx_graph_output(m.g, m.out.logits);
    CHECK_EQ(cx_graph_plan(m.g, CX_MODE_TRAIN), 0);
    cx_det_fill(m.g);
    int64_t input_shape[4] = {BATCH, 3, 64, 64}, probe_shape[2] = {BATCH, CLASSES};
    cx_det_tensor("input", 4, input_shape, cx_graph_data(m.g, m.x));
    CHECK_EQ(cx_graph_forward(m.g, 1, 0), 0);
    check_subset(&r, "features", cx_graph_data(m.g, m.out.features), BATCH * FEATURES);
    check_subset(&r, "logits", cx_graph_data(m.g, m.out.logits), BATCH * CLASSES);

    cx_det_tensor("probe", 2, probe_shape, cx_graph_grad(m.g, m.out.logits));
    memset(cx_graph_grad(m.g, m.out.features), 0, BATCH * FEATURES * sizeof(float));
    cx_graph_zero_grad(m.g);
    cx_graph_backward(m.g);
    check_subset(&r, "input_grad", cx_graph_grad(m.g, m.x), cx_graph_numel(m.g, m.x));
    int checked = 0;
    for (size_t i = 0; i < r.ntensors; i++) {
        const char *tname = r.tensors[i].name;
        bool grad = !strncmp(tname, "grad/", 5), running = !strncmp(tname, "running/", 8);
        if (!grad && !running) continue;
        cx_var v = cx_graph_find(m.g, strchr(tname, '/') + 1);
        if (!CHECK(v >= 0)) {
            printf("  (%s: the graph has no %s)\n", name, tname);
            continue;
        }
        check_subset(&r, tname, grad ? cx_graph_grad(m.g, v) : cx_graph_data(m.g, v), cx_graph_numel(m.g, v));
        checked++;
    }
    CHECK(checked >= 6);
    cx_graph_free(m.g);
    cx_record_free(&r);
}

TEST(efficientnet_b0_matches_pytorch) { check_parity("efficientnet_b0"); }
TEST(efficientnet_b1_pruned_matches_pytorch_and_timm_manifest) { check_parity("efficientnet_b1_pruned"); }
TEST(efficientnet_es_matches_pytorch) { check_parity("efficientnet_es"); }
TEST(efficientnet_es_pruned_matches_pytorch) { check_parity("efficientnet_es_pruned"); }
TEST(efficientnet_lite0_matches_pytorch) { check_parity("efficientnet_lite0"); }

/* In inference mode: in training mode a batch of two 1x1 maps makes the last BatchNorms chaotic. */
TEST(efficientnet_smallest_input_matches_pytorch) {
    cx_nn_set_threads(2);
    for (int i = 0; i < cx_efficientnet_backbone_count; i++) {
        const cx_backbone *b = &cx_efficientnet_backbones[i];
        CHECK_EQ(b->min_input, 32);
        char id[64];
        snprintf(id, sizeof id, "%s@%d", b->name, b->min_input);
        cx_record r;
        if (!read_case(id, &r)) continue;
        CHECK(!strcmp(cx_map_str(&r.meta, "mode", ""), "eval"));
        model m = build(b, 3, b->min_input, b->min_input, CLASSES, 0.0);
        CHECK_EQ(m.rc, 0);
        cx_graph_output(m.g, m.out.features);
        cx_graph_output(m.g, m.out.logits);
        if (!m.rc && CHECK_EQ(cx_graph_plan(m.g, CX_MODE_EVAL), 0)) {
            cx_det_fill(m.g);
            int64_t shape[4] = {BATCH, 3, b->min_input, b->min_input};
            cx_det_tensor("input", 4, shape, cx_graph_data(m.g, m.x));
            CHECK_EQ(cx_graph_forward(m.g, 1, 0), 0);
            check_subset(&r, "features", cx_graph_data(m.g, m.out.features), BATCH * FEATURES);
            check_subset(&r, "logits", cx_graph_data(m.g, m.out.logits), BATCH * CLASSES);
        }
        cx_graph_free(m.g);
        cx_record_free(&r);
    }
}

TEST(efficientnet_parameter_counts_with_and_without_classifier) {
    for (int i = 0; i < cx_efficientnet_backbone_count; i++) {
        const cx_backbone *b = &cx_efficientnet_backbones[i];
        CHECK(!strcmp(b->source, "timm") && !strcmp(b->classifier, "classifier.") && b->feature_dim == FEATURES);
        model full = build(b, 3, 64, 64, CLASSES, -1), trunk = build(b, 3, 64, 64, 0, -1);
        CHECK(full.rc == 0 && trunk.rc == 0);
        if (!CHECK_EQ(count_params(full.g), b->params_1000)) printf("  (%s)\n", b->name);
        CHECK_EQ(count_params(trunk.g), b->params_1000 - (FEATURES * CLASSES + CLASSES));
        CHECK(trunk.out.logits < 0 && cx_graph_find(trunk.g, "classifier.weight") < 0);
        CHECK_EQ(cx_graph_shape(trunk.g, trunk.out.features)[1], FEATURES);
        cx_graph_free(full.g);
        cx_graph_free(trunk.g);
    }
}

/* A gray build is the RGB build whose stem sees the gray image in channel 0 and ignores the
 * others: with the RGB stem's channels 1 and 2 zeroed, both give the same features. */
TEST(efficientnet_one_channel_build_equals_rgb_with_zeroed_channels) {
    cx_nn_set_threads(2);
    for (int i = 0; i < cx_efficientnet_backbone_count; i++) {
        const cx_backbone *b = &cx_efficientnet_backbones[i];
        int side = b->min_input, plane = side * side;
        model gray = build(b, 1, side, side, 0, -1), rgb = build(b, 3, side, side, 0, -1);
        CHECK(gray.rc == 0 && rgb.rc == 0);
        if (gray.rc || rgb.rc) {
            cx_graph_free(gray.g);
            cx_graph_free(rgb.g);
            continue;
        }
        cx_var w1 = cx_graph_find(gray.g, "conv_stem.weight"), w3 = cx_graph_find(rgb.g, "conv_stem.weight");
        CHECK_EQ(cx_graph_shape(gray.g, w1)[1], 1);
        cx_graph_output(gray.g, gray.out.features);
        cx_graph_output(rgb.g, rgb.out.features);
        CHECK_EQ(cx_graph_plan(gray.g, CX_MODE_EVAL), 0);
        CHECK_EQ(cx_graph_plan(rgb.g, CX_MODE_EVAL), 0);
        cx_det_fill(gray.g);
        cx_det_fill(rgb.g);
        float *k1 = cx_graph_data(gray.g, w1), *k3 = cx_graph_data(rgb.g, w3);
        for (int o = 0; o < 32; o++)
            for (int c = 0; c < 3; c++)
                for (int k = 0; k < 9; k++) k3[(o * 3 + c) * 9 + k] = c == 0 ? k1[o * 9 + k] : 0.0f;
        int64_t shape[4] = {BATCH, 3, side, side};
        float *x1 = cx_graph_data(gray.g, gray.x), *x3 = cx_graph_data(rgb.g, rgb.x);
        cx_det_tensor("input", 4, shape, x3);
        for (int n = 0; n < BATCH; n++) memcpy(x1 + n * plane, x3 + n * 3 * plane, (size_t)plane * sizeof(float));
        CHECK_EQ(cx_graph_forward(gray.g, 1, 0), 0);
        CHECK_EQ(cx_graph_forward(rgb.g, 1, 0), 0);
        const int64_t *fshape = cx_graph_shape(gray.g, gray.out.features);
        CHECK(cx_graph_ndim(gray.g, gray.out.features) == 2 && fshape[0] == BATCH && fshape[1] == FEATURES);
        const float *want = cx_graph_data(rgb.g, rgb.out.features);
        double scale = 0;
        for (int k = 0; k < BATCH * FEATURES; k++) scale = fmax(scale, fabs(want[k]));
        CHECK(scale > 0);
        if (!CHECK_CLOSE_F32(cx_graph_data(gray.g, gray.out.features), want, BATCH * FEATURES, 0,
                             FORWARD_RTOL * scale + ATOL))
            printf("  (%s)\n", b->name);
        cx_graph_free(gray.g);
        cx_graph_free(rgb.g);
    }
}

TEST(efficientnet_refuses_inputs_below_the_minimum) {
    for (int i = 0; i < cx_efficientnet_backbone_count; i++) {
        const cx_backbone *b = &cx_efficientnet_backbones[i];
        model small = build(b, 3, b->min_input, b->min_input - 1, 0, -1);
        CHECK_EQ(small.rc, EX_USAGE);
        CHECK(strstr(cx_errmsg(), b->name) && strstr(cx_errmsg(), "32x31 is smaller than the minimum 32x32"));
        model two = build(b, 2, 64, 64, 0, -1);
        CHECK_EQ(two.rc, EX_USAGE);
        CHECK(strstr(cx_errmsg(), "[N, 1 or 3, H, W]") != NULL);
        cx_graph_free(small.g);
        cx_graph_free(two.g);
    }
}

/* The default rate (drop_rate < 0) is 0.2: in training it changes the logits, never the features;
 * in inference it is the identity. */
TEST(efficientnet_default_classifier_dropout) {
    cx_nn_set_threads(2);
    const cx_backbone *b = find_backbone("efficientnet_lite0");
    if (!b) return;
    model plain = build(b, 3, 32, 32, 10, 0.0), dropped = build(b, 3, 32, 32, 10, -1);
    CHECK(plain.rc == 0 && dropped.rc == 0);
    model *both[2] = {&plain, &dropped};
    const int64_t n_logits = BATCH * 10;
    for (int mode = 0; mode < 2; mode++) {
        for (int k = 0; k < 2; k++) {
            cx_graph_output(both[k]->g, both[k]->out.features);
            cx_graph_output(both[k]->g, both[k]->out.logits);
            CHECK_EQ(cx_graph_plan(both[k]->g, mode ? CX_MODE_EVAL : CX_MODE_TRAIN), 0);
            cx_det_fill(both[k]->g);
            int64_t shape[4] = {BATCH, 3, 32, 32};
            cx_det_tensor("input", 4, shape, cx_graph_data(both[k]->g, both[k]->x));
            CHECK_EQ(cx_graph_forward(both[k]->g, 7, 0), 0);
        }
        CHECK(!memcmp(cx_graph_data(plain.g, plain.out.features), cx_graph_data(dropped.g, dropped.out.features),
                      BATCH * FEATURES * sizeof(float)));
        bool same_logits = !memcmp(cx_graph_data(plain.g, plain.out.logits), cx_graph_data(dropped.g, dropped.out.logits),
                                   (size_t)n_logits * sizeof(float));
        CHECK(same_logits == (mode == 1));
    }
    cx_graph_free(plain.g);
    cx_graph_free(dropped.g);
}
