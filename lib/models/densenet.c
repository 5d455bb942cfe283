/* DenseNet-BC as torchvision 0.14 builds it (torchvision/models/densenet.py), bn_size 4:
 *
 *   features.conv0 7x7/2 (init) norm0 ReLU, pool0 maxpool 3x3/2 pad 1
 *   features.denseblock1..4      dense layers; layer l sees the concatenation of the block's
 *                                input and the outputs of layers 1..l-1, and adds growth_rate
 *                                channels; the block returns the concatenation of all of them
 *   features.transition1..3      after each block but the last: norm ReLU conv 1x1 (C -> C/2),
 *                                avgpool 2x2/2
 *   features.norm5, ReLU, global average pool -> features [N, C] -> classifier Linear
 *
 * Dense layer: norm1 ReLU conv1 1x1 (4 * growth_rate), norm2 ReLU conv2 3x3 pad 1 (growth_rate).
 *
 * Each layer concatenates every earlier feature map anew, as torchvision's bn_function does
 * (torch.cat per layer), so a block of L layers keeps O(L^2) activation memory in training, as
 * in torchvision without memory_efficient checkpointing.
 *
 * torchvision's drop_rate (dropout after every dense layer) defaults to 0 and its classifier
 * has no dropout; drop_rate > 0 here adds one before the classifier, where timm's DenseNet puts
 * it (no parameters, so the keys are unchanged). Initialisation as torchvision's: Kaiming-
 * normal (fan-in) convolutions, BN weight 1 and bias 0, the Linear's default weight
 * and a zero bias. */
#include "models/densenet.h"

#include <stdlib.h>

#include "core/error.h"
#include "models/layers.h"

#define BN_EPS 1e-5
#define BN_SIZE 4
/* The network strides 32 in all, so denseblock4 sees a 1x1 map at 32x32. torchvision also takes
 * 29 to 31 (rounding down gives the same map sizes as 32); 32, the registry's common minimum,
 * is kept. */
#define MIN_INPUT 32
/* torchvision draws its convolutions with kaiming_normal_ in its default fan-in mode. */
#define CONV_INIT CX_INIT_KAIMING_NORMAL_FAN_IN

typedef struct {
    const char *name;
    int growth_rate;
    int blocks[4];       /* dense layers in denseblock1..4 */
    int init_features;   /* conv0's output channels */
} densenet_arch;

static cx_var conv(cx_graph *g, cx_var x, const char *name, int out_channels, int kernel, int stride, int pad) {
    cx_conv_spec spec = cx_conv_k(kernel, stride, pad);
    spec.init = CONV_INIT;
    return cx_layer_conv(g, x, name, out_channels, spec);
}

/* DenseNet is pre-activation: every convolution but the stem's reads BN then ReLU of its input. */
static cx_var norm_relu(cx_graph *g, cx_var x, const char *name) {
    return cx_graph_act(g, cx_layer_bn(g, x, name, BN_EPS), CX_ACT_RELU);
}

/* One dense layer on features[0..n-1] (a single map is used as it is: concatenating one
 * tensor only copies it); returns its growth_rate new channels. */
static cx_var dense_layer(cx_graph *g, const cx_var *features, int n, int growth_rate) {
    cx_var x = n == 1 ? features[0] : cx_graph_concat(g, features, n);
    x = conv(g, norm_relu(g, x, "norm1"), "conv1", BN_SIZE * growth_rate, 1, 1, 0);
    return conv(g, norm_relu(g, x, "norm2"), "conv2", growth_rate, 3, 1, 1);
}

/* denseblock<index + 1>: its input and every layer's output, concatenated. */
static cx_var dense_block(cx_graph *g, cx_var x, int index, int layers, int growth_rate) {
    cx_var *features = cx_malloc((size_t)(layers + 1) * sizeof *features);
    features[0] = x;
    cx_graph_push(g, "denseblock%d", index + 1);
    for (int l = 0; l < layers; l++) {
        cx_graph_push(g, "denselayer%d", l + 1);
        features[l + 1] = dense_layer(g, features, l + 1, growth_rate);
        cx_graph_pop(g);
    }
    cx_graph_pop(g);
    cx_var out = cx_graph_concat(g, features, layers + 1);
    free(features);
    return out;
}

/* transition<index + 1>: halves the channels and the resolution. */
static cx_var transition(cx_graph *g, cx_var x, int index) {
    cx_graph_push(g, "transition%d", index + 1);
    x = conv(g, norm_relu(g, x, "norm"), "conv", cx_channels(g, x) / 2, 1, 1, 0);
    cx_graph_pop(g);
    return cx_graph_avgpool(g, x, 2, 2, 0, false, true);
}

/* torchvision's classifier: a default nn.Linear whose bias its init sets to 0. */
static cx_var classifier(cx_graph *g, cx_var features, int num_classes, double drop_rate) {
    int64_t wshape[2] = {num_classes, cx_channels(g, features)}, bshape[1] = {num_classes};
    cx_var x = drop_rate > 0 ? cx_graph_dropout(g, features, drop_rate) : features;
    cx_graph_push(g, "classifier");
    cx_var w = cx_graph_param(g, "weight", 2, wshape, CX_INIT_UNIFORM_FAN_IN);
    cx_var b = cx_graph_param(g, "bias", 1, bshape, CX_INIT_ZERO);
    cx_graph_pop(g);
    return cx_graph_linear(g, x, w, b);
}

static int build_densenet(const densenet_arch *a, cx_graph *g, cx_var x, const cx_backbone_options *opt,
                          cx_backbone_outputs *out) {
    *out = (cx_backbone_outputs){-1, -1, {-1, -1}};
    int rc = cx_backbone_check_input(g, x, a->name, MIN_INPUT);
    if (rc) return rc;
    cx_graph_push(g, "features");
    x = conv(g, x, "conv0", a->init_features, 7, 2, 3);
    x = cx_graph_maxpool(g, norm_relu(g, x, "norm0"), 3, 2, 1, false);
    for (int i = 0; i < 4; i++) {
        x = dense_block(g, x, i, a->blocks[i], a->growth_rate);
        if (i < 3) x = transition(g, x, i);
    }
    x = norm_relu(g, x, "norm5");
    cx_graph_pop(g);
    out->features = cx_graph_flatten(g, cx_graph_adaptive_avgpool(g, x, 1, 1));
    if (opt->num_classes > 0) out->logits = classifier(g, out->features, opt->num_classes, opt->drop_rate);
    return cx_graph_ok(g) ? 0 : cx_errcode();
}

static const densenet_arch densenet121 = {"densenet121", 32, {6, 12, 24, 16}, 64};
static const densenet_arch densenet161 = {"densenet161", 48, {6, 12, 36, 24}, 96};
static const densenet_arch densenet169 = {"densenet169", 32, {6, 12, 32, 32}, 64};
static const densenet_arch densenet201 = {"densenet201", 32, {6, 12, 48, 32}, 64};

static int build_densenet121(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build_densenet(&densenet121, g, x, opt, out);
}
static int build_densenet161(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build_densenet(&densenet161, g, x, opt, out);
}
static int build_densenet169(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build_densenet(&densenet169, g, x, opt, out);
}
static int build_densenet201(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build_densenet(&densenet201, g, x, opt, out);
}

const cx_backbone cx_densenet_backbones[] = {
    {"densenet121", "torchvision", 1024, 7978856, "classifier.", MIN_INPUT, build_densenet121},
    {"densenet161", "torchvision", 2208, 28681000, "classifier.", MIN_INPUT, build_densenet161},
    {"densenet169", "torchvision", 1664, 14149480, "classifier.", MIN_INPUT, build_densenet169},
    {"densenet201", "torchvision", 1920, 20013928, "classifier.", MIN_INPUT, build_densenet201},
};
const int cx_densenet_backbone_count = (int)(sizeof cx_densenet_backbones / sizeof cx_densenet_backbones[0]);
