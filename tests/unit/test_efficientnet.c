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
#include <string.h>

#include "core/error.h"
#include "detweights.h"
#include "models/efficientnet.h"
#include "nn/nn.h"
#include "parity.h"
#include "test.h"

#define FIXTURE "tests/data/ref/effnet.cxs"
#define FORWARD_RTOL 1e-4   /* for comparisons of this file's own two builds */
#define ATOL 1e-6
#define BATCH 2
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

/* Each reference tensor carries its own rtol (gen_effnet.py). */
static parity_tolerance effnet_tolerance(const cx_record *r, const char *name) {
    double rtol = parity_meta_number(r, "rtol", name, 0);
    CHECK(rtol > 0);
    return (parity_tolerance){rtol, ATOL};
}

/* The training pass at 64x64, and for efficientnet_b1_pruned the keys against timm's manifest. */
static void check_parity(const char *name) {
    const cx_backbone *b = find_backbone(name);
    if (!b) return;
    parity_check_backbone(FIXTURE, name, b->build, effnet_tolerance);
    cx_record r;
    if (!parity_read(FIXTURE, name, &r)) return;
    const cx_value *manifest = cx_map_get(&r.meta, "manifest");
    if (manifest) {
        model m = build(b, 3, 64, 64, 1000, 0.0);
        if (CHECK_EQ(m.rc, 0)) parity_check_keys(m.g, manifest, "timm's manifest");
        cx_graph_free(m.g);
    }
    cx_record_free(&r);
}

TEST(efficientnet_b0_matches_pytorch) { check_parity("efficientnet_b0"); }
TEST(efficientnet_b1_pruned_matches_pytorch_and_timm_manifest) { check_parity("efficientnet_b1_pruned"); }
TEST(efficientnet_es_matches_pytorch) { check_parity("efficientnet_es"); }
TEST(efficientnet_es_pruned_matches_pytorch) { check_parity("efficientnet_es_pruned"); }
TEST(efficientnet_lite0_matches_pytorch) { check_parity("efficientnet_lite0"); }

/* In inference mode: in training mode a batch of two 1x1 maps makes the last BatchNorms chaotic. */
TEST(efficientnet_smallest_input_matches_pytorch) {
    for (int i = 0; i < cx_efficientnet_backbone_count; i++) {
        const cx_backbone *b = &cx_efficientnet_backbones[i];
        CHECK_EQ(b->min_input, 32);
        char id[64];
        snprintf(id, sizeof id, "%s@%d", b->name, b->min_input);
        parity_check_backbone(FIXTURE, id, b->build, effnet_tolerance);
    }
}

TEST(efficientnet_registry_contract) {
    for (int i = 0; i < cx_efficientnet_backbone_count; i++) {
        const cx_backbone *b = &cx_efficientnet_backbones[i];
        CHECK(!strcmp(b->source, "timm") && !strcmp(b->classifier, "classifier.") && b->feature_dim == FEATURES);
        backbone_check_counts(b);
        backbone_check_input_limits(b);
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
        parity_close_to_scale(cx_graph_data(gray.g, gray.out.features), cx_graph_data(rgb.g, rgb.out.features),
                              BATCH * FEATURES, (parity_tolerance){FORWARD_RTOL, ATOL}, b->name);
        cx_graph_free(gray.g);
        cx_graph_free(rgb.g);
    }
}

/* The default rate (drop_rate < 0) is 0.2: in training it changes the logits, never the features;
 * in inference it is the identity. */
TEST(efficientnet_default_classifier_dropout) {
    const cx_backbone *b = find_backbone("efficientnet_lite0");
    if (b) backbone_check_default_dropout(b, b->build, false, true);
}
