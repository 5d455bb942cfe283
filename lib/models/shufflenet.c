/* ShuffleNetV2 as torchvision 0.14 builds it (torchvision/models/shufflenetv2.py):
 *
 *   conv1       conv 3x3/2 BN ReLU, then maxpool 3/2 p1
 *   stage2..4   4, 8, 4 units; the first of each halves the resolution
 *   conv5       conv 1x1 (1024) BN ReLU
 *   mean over H, W -> features [N, 1024] -> fc
 *
 * A unit of stride 2 runs two branches on the whole input; a unit of stride 1 splits the
 * channels in half (torch.chunk), passes the first half through and runs branch2 on the
 * second. Either way the two halves are concatenated and shuffled across 2 groups, so the next
 * unit's split mixes both. torchvision has no dropout here: drop_rate > 0 adds one before fc.
 * Initialisation is PyTorch's module default (torchvision sets none). */
#include "models/shufflenet.h"

#include "core/error.h"
#include "models/layers.h"

#define BN_EPS 1e-5
/* The total stride is 32: at 32 the last map is 1x1 already, and a smaller input only gives
 * the stride-2 layers windows that are mostly padding. */
#define MIN_INPUT 32

static cx_conv_spec depthwise_3x3(int channels, int stride) {
    cx_conv_spec s = cx_conv_k(3, stride, 1);
    s.groups = channels;
    return s;
}

/* 1x1 BN ReLU -> depthwise 3x3 BN -> 1x1 BN ReLU, as the Sequential "branch2" (its ReLUs, 2 and
 * 7, hold no parameters: hence the gaps in the names). */
static cx_var branch2(cx_graph *g, cx_var x, int channels, int stride) {
    cx_graph_push(g, "branch2");
    x = cx_layer_conv_bn_act(g, x, "0", "1", channels, cx_conv_k(1, 1, 0), BN_EPS, CX_ACT_RELU);
    x = cx_layer_conv_bn_act(g, x, "3", "4", channels, depthwise_3x3(channels, stride), BN_EPS, CX_NACTS);
    x = cx_layer_conv_bn_act(g, x, "5", "6", channels, cx_conv_k(1, 1, 0), BN_EPS, CX_ACT_RELU);
    cx_graph_pop(g);
    return x;
}

/* One InvertedResidual in the current scope, out_channels wide. */
static cx_var unit(cx_graph *g, cx_var x, int out_channels, int stride) {
    int half = out_channels / 2;
    cx_var halves[2];
    if (stride == 1) {
        cx_graph_chunk(g, x, 2, halves);
        halves[1] = branch2(g, halves[1], half, 1);
    } else {
        int in_channels = cx_channels(g, x);
        cx_graph_push(g, "branch1");
        cx_var y = cx_layer_conv_bn_act(g, x, "0", "1", in_channels, depthwise_3x3(in_channels, stride), BN_EPS,
                                        CX_NACTS);
        halves[0] = cx_layer_conv_bn_act(g, y, "2", "3", half, cx_conv_k(1, 1, 0), BN_EPS, CX_ACT_RELU);
        cx_graph_pop(g);
        halves[1] = branch2(g, x, half, stride);
    }
    return cx_graph_channel_shuffle(g, cx_graph_concat(g, halves, 2), 2);
}

/* channels: conv1, stage2, stage3, stage4, conv5 */
static int build_shufflenet_v2(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out,
                               const char *model, const int channels[5]) {
    static const int repeats[3] = {4, 8, 4};
    *out = (cx_backbone_outputs){-1, -1, {-1, -1}};
    int rc = cx_backbone_check_input(g, x, model, MIN_INPUT);
    if (rc) return rc;
    cx_graph_push(g, "conv1");
    x = cx_layer_conv_bn_act(g, x, "0", "1", channels[0], cx_conv_k(3, 2, 1), BN_EPS, CX_ACT_RELU);
    cx_graph_pop(g);
    x = cx_graph_maxpool(g, x, 3, 2, 1, false);
    for (int stage = 0; stage < 3; stage++)
        for (int i = 0; i < repeats[stage]; i++) {
            cx_graph_push(g, "stage%d.%d", stage + 2, i);
            x = unit(g, x, channels[stage + 1], i == 0 ? 2 : 1);
            cx_graph_pop(g);
        }
    cx_graph_push(g, "conv5");
    x = cx_layer_conv_bn_act(g, x, "0", "1", channels[4], cx_conv_k(1, 1, 0), BN_EPS, CX_ACT_RELU);
    cx_graph_pop(g);
    out->features = cx_graph_flatten(g, cx_graph_adaptive_avgpool(g, x, 1, 1));
    if (opt->num_classes > 0) {
        cx_var f = opt->drop_rate > 0 ? cx_graph_dropout(g, out->features, opt->drop_rate) : out->features;
        out->logits = cx_layer_linear(g, f, "fc", opt->num_classes, true);
    }
    return cx_graph_ok(g) ? 0 : cx_errcode();
}

static int build_x0_5(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    static const int channels[5] = {24, 48, 96, 192, 1024};
    return build_shufflenet_v2(g, x, opt, out, "shufflenet_v2_x0_5", channels);
}

static int build_x1_0(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    static const int channels[5] = {24, 116, 232, 464, 1024};
    return build_shufflenet_v2(g, x, opt, out, "shufflenet_v2_x1_0", channels);
}

const cx_backbone cx_shufflenet_backbones[] = {
    {"shufflenet_v2_x0_5", "torchvision", 1024, 1366792, "fc.", MIN_INPUT, build_x0_5},
    {"shufflenet_v2_x1_0", "torchvision", 1024, 2278604, "fc.", MIN_INPUT, build_x1_0},
};
const int cx_shufflenet_backbone_count = (int)(sizeof cx_shufflenet_backbones / sizeof cx_shufflenet_backbones[0]);
