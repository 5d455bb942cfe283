/* MobileNetV2 as torchvision 0.14 builds it (torchvision/models/mobilenetv2.py, width 1.0):
 *
 *   features.0       conv 3x3/2 (32) BN ReLU6
 *   features.1-17    inverted residuals, settings below
 *   features.18      conv 1x1 (1280) BN ReLU6
 *   global average pool -> features [N, 1280] -> classifier.0 Dropout(0.2), classifier.1 Linear
 *
 * At width 1.0 torchvision's _make_divisible(c, 8) leaves every channel count unchanged, so the
 * counts are used as they stand. Initialisation as torchvision's: Kaiming-normal (fan-out)
 * convolutions, N(0, 0.01) classifier weight, zero bias. */
#include "models/mobilenet.h"

#include <stdio.h>

#include "core/error.h"
#include "models/layers.h"

#define BN_EPS 1e-5
/* The total stride is 32: at 32 the last map is 1x1 already, and a smaller input only gives
 * the stride-2 layers windows that are mostly padding. */
#define MIN_INPUT 32
#define LAST_CHANNELS 1280
#define DEFAULT_DROPOUT 0.2

static cx_conv_spec conv_spec(int kernel, int stride, int groups) {
    cx_conv_spec s = cx_conv_k(kernel, stride, (kernel - 1) / 2);
    s.groups = groups;
    s.init = CX_INIT_KAIMING_NORMAL_FAN_OUT;
    return s;
}

/* torchvision's Conv2dNormActivation under `name`: children 0 (conv) and 1 (BN), then ReLU6. */
static cx_var conv_bn_relu6(cx_graph *g, cx_var x, const char *name, int out_channels, int kernel, int stride,
                            int groups) {
    cx_graph_push(g, "%s", name);
    cx_var y = cx_layer_conv_bn_act(g, x, "0", "1", out_channels, conv_spec(kernel, stride, groups), BN_EPS,
                                    CX_ACT_RELU6);
    cx_graph_pop(g);
    return y;
}

/* An InvertedResidual in the current scope: [expand 1x1] -> depthwise 3x3 -> project 1x1 -> BN,
 * plus the input when the shape is kept. Its Sequential "conv" numbers the layers, so without
 * the expansion (ratio 1) every index after it moves down by one. */
static cx_var inverted_residual(cx_graph *g, cx_var x, int out_channels, int stride, int expand_ratio) {
    int in_channels = cx_channels(g, x), hidden = in_channels * expand_ratio, next = 0;
    char depthwise[16], project[16], project_bn[16];
    cx_var y = x;
    if (expand_ratio != 1) {
        y = conv_bn_relu6(g, y, "conv.0", hidden, 1, 1, 1);
        next = 1;
    }
    snprintf(depthwise, sizeof depthwise, "conv.%d", next);
    snprintf(project, sizeof project, "conv.%d", next + 1);
    snprintf(project_bn, sizeof project_bn, "conv.%d", next + 2);
    y = conv_bn_relu6(g, y, depthwise, hidden, 3, stride, hidden);
    y = cx_layer_conv_bn_act(g, y, project, project_bn, out_channels, conv_spec(1, 1, 1), BN_EPS, CX_NACTS);
    return stride == 1 && in_channels == out_channels ? cx_graph_add(g, x, y) : y;
}

static cx_var classifier(cx_graph *g, cx_var features, int num_classes, double drop_rate) {
    int64_t wshape[2] = {num_classes, cx_channels(g, features)}, bshape[1] = {num_classes};
    cx_var x = drop_rate > 0 ? cx_graph_dropout(g, features, drop_rate) : features;
    cx_graph_push(g, "classifier.1");
    cx_var w = cx_graph_param(g, "weight", 2, wshape, CX_INIT_NORMAL_001);
    cx_var b = cx_graph_param(g, "bias", 1, bshape, CX_INIT_ZERO);
    cx_graph_pop(g);
    return cx_graph_linear(g, x, w, b);
}

static int build_mobilenet_v2(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    /* expansion t, output channels c, repeats n, stride s of the first repeat */
    static const int settings[7][4] = {
        {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
    };
    *out = (cx_backbone_outputs){-1, -1, {-1, -1}};
    int rc = cx_backbone_check_input(g, x, "mobilenet_v2", MIN_INPUT);
    if (rc) return rc;
    cx_graph_push(g, "features");
    x = conv_bn_relu6(g, x, "0", 32, 3, 2, 1);
    int index = 1;
    char name[16];
    for (int i = 0; i < 7; i++)
        for (int r = 0; r < settings[i][2]; r++) {
            cx_graph_push(g, "%d", index++);
            x = inverted_residual(g, x, settings[i][1], r == 0 ? settings[i][3] : 1, settings[i][0]);
            cx_graph_pop(g);
        }
    snprintf(name, sizeof name, "%d", index);
    x = conv_bn_relu6(g, x, name, LAST_CHANNELS, 1, 1, 1);
    cx_graph_pop(g);
    out->features = cx_graph_flatten(g, cx_graph_adaptive_avgpool(g, x, 1, 1));
    if (opt->num_classes > 0)
        out->logits = classifier(g, out->features, opt->num_classes, opt->drop_rate < 0 ? DEFAULT_DROPOUT : opt->drop_rate);
    return cx_graph_ok(g) ? 0 : cx_errcode();
}

const cx_backbone cx_mobilenet_backbones[] = {
    {"mobilenet_v2", "torchvision", LAST_CHANNELS, 3504872, "classifier.", MIN_INPUT, build_mobilenet_v2},
};
const int cx_mobilenet_backbone_count = (int)(sizeof cx_mobilenet_backbones / sizeof cx_mobilenet_backbones[0]);
