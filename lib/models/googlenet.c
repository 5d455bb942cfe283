/* GoogLeNet as torchvision 0.14 builds it (torchvision/models/googlenet.py):
 *
 *   conv1 7x7/2 (64), maxpool 3/2, conv2 1x1 (64), conv3 3x3 (192), maxpool 3/2
 *   inception3a, 3b, maxpool 3/2, inception4a..4e, maxpool 2/2, inception5a, 5b
 *   global average pool -> features [N, 1024] -> dropout 0.2 -> fc
 *
 * Every convolution is a BasicConv2d (conv without bias, BN with eps 1e-3, ReLU) and every
 * max pool rounds its output size up (ceil_mode). Initialisation as torchvision's:
 * N(0, 0.01) weights for convolutions and linear layers (its truncation at +-2 never bites),
 * PyTorch's default linear biases. */
#include "models/googlenet.h"

#include "core/error.h"
#include "models/layers.h"

#define BN_EPS 1e-3
/* The total stride is 32: at 32 the last map is 1x1 already, and a smaller input only gives
 * the stride-2 layers windows that are mostly padding. */
#define MIN_INPUT 32
#define FEATURES 1024
#define DEFAULT_DROPOUT 0.2
#define DEFAULT_AUX_DROPOUT 0.7

typedef struct {
    const char *name;
    int ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj;
} inception_spec;

static const inception_spec inception3[2] = {
    {"inception3a", 64, 96, 128, 16, 32, 32},
    {"inception3b", 128, 128, 192, 32, 96, 64},
};
static const inception_spec inception4[5] = {
    {"inception4a", 192, 96, 208, 16, 48, 64},
    {"inception4b", 160, 112, 224, 24, 64, 64},
    {"inception4c", 128, 128, 256, 24, 64, 64},
    {"inception4d", 112, 144, 288, 32, 64, 64},
    {"inception4e", 256, 160, 320, 32, 128, 128},
};
static const inception_spec inception5[2] = {
    {"inception5a", 256, 160, 320, 32, 128, 128},
    {"inception5b", 384, 192, 384, 48, 128, 128},
};

/* BasicConv2d under `name`: name.conv, name.bn. */
static cx_var basic_conv(cx_graph *g, cx_var x, const char *name, int out_channels, int kernel, int stride, int pad) {
    cx_conv_spec spec = cx_conv_k(kernel, stride, pad);
    spec.init = CX_INIT_NORMAL_001;
    cx_graph_push(g, "%s", name);
    x = cx_layer_conv_bn_act(g, x, "conv", "bn", out_channels, spec, BN_EPS, CX_ACT_RELU);
    cx_graph_pop(g);
    return x;
}

static cx_var linear(cx_graph *g, cx_var x, const char *name, int out_features) {
    int64_t wshape[2] = {out_features, cx_channels(g, x)}, bshape[1] = {out_features};
    cx_graph_push(g, "%s", name);
    cx_var w = cx_graph_param(g, "weight", 2, wshape, CX_INIT_NORMAL_001);
    cx_var b = cx_graph_param(g, "bias", 1, bshape, CX_INIT_UNIFORM_FAN_IN);
    cx_graph_pop(g);
    return cx_graph_linear(g, x, w, b);
}

/* Four branches concatenated: 1x1; 1x1 -> 3x3; 1x1 -> "5x5"; maxpool 3/1 -> 1x1. The "5x5"
 * branch is a 3x3 convolution in torchvision (pytorch/vision#906), and its weights were
 * trained that way. */
static cx_var inception(cx_graph *g, cx_var x, const inception_spec *s) {
    cx_var branches[4];
    cx_graph_push(g, "%s", s->name);
    branches[0] = basic_conv(g, x, "branch1", s->ch1x1, 1, 1, 0);
    branches[1] = basic_conv(g, basic_conv(g, x, "branch2.0", s->ch3x3_reduce, 1, 1, 0), "branch2.1", s->ch3x3, 3, 1, 1);
    branches[2] = basic_conv(g, basic_conv(g, x, "branch3.0", s->ch5x5_reduce, 1, 1, 0), "branch3.1", s->ch5x5, 3, 1, 1);
    branches[3] = basic_conv(g, cx_graph_maxpool(g, x, 3, 1, 1, true), "branch4.1", s->pool_proj, 1, 1, 0);
    cx_graph_pop(g);
    return cx_graph_concat(g, branches, 4);
}

static cx_var inceptions(cx_graph *g, cx_var x, const inception_spec *specs, int n) {
    for (int i = 0; i < n; i++) x = inception(g, x, &specs[i]);
    return x;
}

/* InceptionAux: adaptive average pool to 4x4, BasicConv2d 1x1 (128), fc1 (1024) ReLU,
 * dropout, fc2. */
static cx_var aux_head(cx_graph *g, cx_var x, const char *name, int num_classes, double drop_rate) {
    cx_graph_push(g, "%s", name);
    x = basic_conv(g, cx_graph_adaptive_avgpool(g, x, 4, 4), "conv", 128, 1, 1, 0);
    x = cx_graph_act(g, linear(g, cx_graph_flatten(g, x), "fc1", 1024), CX_ACT_RELU);
    if (drop_rate > 0) x = cx_graph_dropout(g, x, drop_rate);
    x = linear(g, x, "fc2", num_classes);
    cx_graph_pop(g);
    return x;
}

int cx_googlenet_build(cx_graph *g, cx_var x, const cx_backbone_options *opt, double aux_drop_rate,
                       cx_backbone_outputs *out) {
    *out = (cx_backbone_outputs){-1, -1, {-1, -1}};
    int rc = cx_backbone_check_input(g, x, "googlenet", MIN_INPUT);
    if (rc) return rc;
    if (opt->aux_logits && opt->num_classes <= 0)
        return cx_err(EX_USAGE, "googlenet: the auxiliary classifiers need num_classes > 0");
    x = basic_conv(g, x, "conv1", 64, 7, 2, 3);
    x = cx_graph_maxpool(g, x, 3, 2, 0, true);
    x = basic_conv(g, x, "conv2", 64, 1, 1, 0);
    x = basic_conv(g, x, "conv3", 192, 3, 1, 1);
    x = cx_graph_maxpool(g, x, 3, 2, 0, true);
    x = inceptions(g, x, inception3, 2);
    x = cx_graph_maxpool(g, x, 3, 2, 0, true);
    cx_var after_4a = inception(g, x, &inception4[0]);
    cx_var after_4d = inceptions(g, after_4a, inception4 + 1, 3);
    x = inception(g, after_4d, &inception4[4]);
    x = cx_graph_maxpool(g, x, 2, 2, 0, true);
    x = inceptions(g, x, inception5, 2);
    /* built after inception5b so that the keys come in torchvision's order (aux1, aux2, fc) */
    if (opt->aux_logits) {
        out->aux[0] = aux_head(g, after_4a, "aux1", opt->num_classes, aux_drop_rate);
        out->aux[1] = aux_head(g, after_4d, "aux2", opt->num_classes, aux_drop_rate);
    }
    out->features = cx_graph_flatten(g, cx_graph_adaptive_avgpool(g, x, 1, 1));
    if (opt->num_classes > 0) {
        double p = opt->drop_rate < 0 ? DEFAULT_DROPOUT : opt->drop_rate;
        out->logits = linear(g, p > 0 ? cx_graph_dropout(g, out->features, p) : out->features, "fc", opt->num_classes);
    }
    return cx_graph_ok(g) ? 0 : cx_errcode();
}

static int build_googlenet(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return cx_googlenet_build(g, x, opt, DEFAULT_AUX_DROPOUT, out);
}

const cx_backbone cx_googlenet_backbones[] = {
    {"googlenet", "torchvision", FEATURES, 6624904, "fc.", MIN_INPUT, build_googlenet},
};
const int cx_googlenet_backbone_count = (int)(sizeof cx_googlenet_backbones / sizeof cx_googlenet_backbones[0]);
