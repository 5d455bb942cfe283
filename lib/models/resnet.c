/* ResNet as torchvision 0.14 builds it (torchvision/models/resnet.py):
 *
 *   conv1 7x7/2 (64) bn1 ReLU, maxpool 3x3/2 pad 1
 *   layer1..layer4   stages of blocks on 64, 128, 256, 512 planes; the first block of layer2..4
 *                    has stride 2, and the first block of a stage whose input differs in
 *                    shape from its output adds the shortcut's downsample (conv 1x1 + BN)
 *   global average pool -> features [N, planes * expansion] -> fc Linear
 *
 * BasicBlock (resnet18/34, expansion 1): conv3x3(stride) BN ReLU, conv3x3 BN, + shortcut, ReLU.
 * Bottleneck (resnet50/101, wide_resnet50_2, expansion 4): conv1x1 BN ReLU, conv3x3(stride) BN
 * ReLU, conv1x1 BN, + shortcut, ReLU. The stride sits on the 3x3, not on the first 1x1 as in the
 * paper ("ResNet V1.5"), so that weights trained by torchvision compute what they were trained
 * to. The inner width is planes * width_per_group / 64: wide_resnet50_2 doubles it, the
 * block's output stays 4 * planes.
 *
 * torchvision's ResNet has no dropout; drop_rate > 0 adds one before fc, where timm's ResNet
 * puts it (no parameters, so the keys are unchanged). Initialisation as torchvision's:
 * Kaiming-normal (fan-out) convolutions, BN weight 1 and bias 0 (zero_init_residual false),
 * PyTorch's default Linear. */
#include "models/resnet.h"

#include "core/error.h"
#include "models/layers.h"

#define BN_EPS 1e-5
/* The total stride: at 32 layer4's map is 1x1 already, smaller inputs only fill the windows
 * that make it with more padding. */
#define MIN_INPUT 32
#define BOTTLENECK_EXPANSION 4

typedef cx_var (*block_fn)(cx_graph *g, cx_var x, int planes, int stride, int width_per_group);

typedef struct {
    const char *name;
    block_fn block;
    int blocks[4];         /* blocks in layer1..layer4 */
    int width_per_group;   /* 64, or 128 for the wide variant (bottlenecks only) */
} resnet_arch;

/* conv (no bias, padding kernel / 2) -> BN -> act, as torchvision's conv1x1, conv3x3 and stem. */
static cx_var conv_bn(cx_graph *g, cx_var x, const char *conv_name, const char *bn_name, int out_channels,
                      int kernel, int stride, cx_act act) {
    cx_conv_spec spec = cx_conv_k(kernel, stride, kernel / 2);
    spec.init = CX_INIT_KAIMING_NORMAL_FAN_OUT;
    return cx_layer_conv_bn_act(g, x, conv_name, bn_name, out_channels, spec, BN_EPS, act);
}

/* The end of every block: branch + shortcut, then ReLU. The shortcut is the input itself, or
 * "downsample" (conv 1x1 with the block's stride, BN) where the shapes differ; it is declared
 * after the branch, as torchvision's state_dict lists it. */
static cx_var add_shortcut(cx_graph *g, cx_var x, cx_var branch, int stride) {
    int out_channels = cx_channels(g, branch);
    cx_var shortcut = x;
    if (stride != 1 || cx_channels(g, x) != out_channels)
        shortcut = conv_bn(g, x, "downsample.0", "downsample.1", out_channels, 1, stride, CX_NACTS);
    return cx_graph_act(g, cx_graph_add(g, branch, shortcut), CX_ACT_RELU);
}

static cx_var basic_block(cx_graph *g, cx_var x, int planes, int stride, int width_per_group) {
    cx_var y = conv_bn(g, x, "conv1", "bn1", planes, 3, stride, CX_ACT_RELU);
    y = conv_bn(g, y, "conv2", "bn2", planes, 3, 1, CX_NACTS);
    return add_shortcut(g, x, y, stride);
}

static cx_var bottleneck(cx_graph *g, cx_var x, int planes, int stride, int width_per_group) {
    int width = planes * width_per_group / 64;
    cx_var y = conv_bn(g, x, "conv1", "bn1", width, 1, 1, CX_ACT_RELU);
    y = conv_bn(g, y, "conv2", "bn2", width, 3, stride, CX_ACT_RELU);
    y = conv_bn(g, y, "conv3", "bn3", planes * BOTTLENECK_EXPANSION, 1, 1, CX_NACTS);
    return add_shortcut(g, x, y, stride);
}

/* layer<index + 1>: its blocks, the first with the stage's stride. */
static cx_var stage(cx_graph *g, cx_var x, const resnet_arch *a, int index, int planes, int stride) {
    for (int i = 0; i < a->blocks[index]; i++) {
        cx_graph_push(g, "layer%d.%d", index + 1, i);
        x = a->block(g, x, planes, i == 0 ? stride : 1, a->width_per_group);
        cx_graph_pop(g);
    }
    return x;
}

static int build_resnet(const resnet_arch *a, cx_graph *g, cx_var x, const cx_backbone_options *opt,
                        cx_backbone_outputs *out) {
    static const int planes[4] = {64, 128, 256, 512}, strides[4] = {1, 2, 2, 2};
    *out = (cx_backbone_outputs){-1, -1, {-1, -1}};
    int rc = cx_backbone_check_input(g, x, a->name, MIN_INPUT);
    if (rc) return rc;
    x = conv_bn(g, x, "conv1", "bn1", 64, 7, 2, CX_ACT_RELU);
    x = cx_graph_maxpool(g, x, 3, 2, 1, false);
    for (int i = 0; i < 4; i++) x = stage(g, x, a, i, planes[i], strides[i]);
    out->features = cx_graph_flatten(g, cx_graph_adaptive_avgpool(g, x, 1, 1));
    if (opt->num_classes > 0) {
        cx_var pooled = opt->drop_rate > 0 ? cx_graph_dropout(g, out->features, opt->drop_rate) : out->features;
        out->logits = cx_layer_linear(g, pooled, "fc", opt->num_classes, true);
    }
    return cx_graph_ok(g) ? 0 : cx_errcode();
}

static const resnet_arch resnet18 = {"resnet18", basic_block, {2, 2, 2, 2}, 64};
static const resnet_arch resnet34 = {"resnet34", basic_block, {3, 4, 6, 3}, 64};
static const resnet_arch resnet50 = {"resnet50", bottleneck, {3, 4, 6, 3}, 64};
static const resnet_arch resnet101 = {"resnet101", bottleneck, {3, 4, 23, 3}, 64};
static const resnet_arch wide_resnet50_2 = {"wide_resnet50_2", bottleneck, {3, 4, 6, 3}, 128};

static int build_resnet18(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build_resnet(&resnet18, g, x, opt, out);
}
static int build_resnet34(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build_resnet(&resnet34, g, x, opt, out);
}
static int build_resnet50(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build_resnet(&resnet50, g, x, opt, out);
}
static int build_resnet101(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build_resnet(&resnet101, g, x, opt, out);
}
static int build_wide_resnet50_2(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build_resnet(&wide_resnet50_2, g, x, opt, out);
}

const cx_backbone cx_resnet_backbones[] = {
    {"resnet18", "torchvision", 512, 11689512, "fc.", MIN_INPUT, build_resnet18},
    {"resnet34", "torchvision", 512, 21797672, "fc.", MIN_INPUT, build_resnet34},
    {"resnet50", "torchvision", 2048, 25557032, "fc.", MIN_INPUT, build_resnet50},
    {"resnet101", "torchvision", 2048, 44549160, "fc.", MIN_INPUT, build_resnet101},
    {"wide_resnet50_2", "torchvision", 2048, 68883240, "fc.", MIN_INPUT, build_wide_resnet50_2},
};
const int cx_resnet_backbone_count = (int)(sizeof cx_resnet_backbones / sizeof cx_resnet_backbones[0]);
