/* The EfficientNets as timm builds them (timm/models/efficientnet.py, _efficientnet_builder.py,
 * _efficientnet_blocks.py):
 *
 *   conv_stem 3x3/2 (32) -> bn1, act
 *   blocks.{stage}.{index}, one of three kinds, each ending in a 1x1 projection and a BatchNorm:
 *     depthwise separable  conv_dw kxk/s -> bn1, act -> [se] -> conv_pw -> bn2
 *     inverted residual    conv_pw 1x1 -> bn1, act -> conv_dw kxk/s -> bn2, act -> [se] -> conv_pwl -> bn3
 *     edge residual        conv_exp kxk/s -> bn1, act -> [se] -> conv_pwl -> bn2
 *   plus the block's input when the stride is 1, the width is kept and the stage is not "noskip";
 *   se: global mean -> se.conv_reduce 1x1 (bias) -> act -> se.conv_expand 1x1 (bias) -> sigmoid,
 *   which scales the channels
 *   conv_head 1x1 (1280) -> bn2, act -> global average pool -> features [N, 1280]
 *   -> dropout -> classifier (Linear)
 *
 *   efficientnet_b0          SiLU, SE, BatchNorm eps 1e-5, PyTorch padding ((s-1)+(k-1))/2
 *   efficientnet_b1_pruned   b0's stages at depth 1.1, every width pruned (timm's manifest
 *                            _pruned/efficientnet_b1_pruned.txt), eps 1e-3, TensorFlow "same" padding
 *   efficientnet_es          EdgeTPU-small: edge then inverted residual stages, ReLU, no SE
 *   efficientnet_es_pruned   es's architecture (its weights are sparse, not narrower)
 *   efficientnet_lite0       b0's stages without SE, ReLU6
 *
 * Widths: all five use channel multiplier 1.0, where timm's round_channels leaves the stage
 * widths as written, and every expanded width in * e is a multiple of 8, which make_divisible
 * leaves too. SE width = round(mid * se_ratio / e), timm's se_from_exp=False: a quarter of the
 * block's input width.
 *
 * Initialisation as timm's _init_weight_goog where the engine can say it: convolutions
 * N(0, 2 / fan_out). timm's fan-out divides by the groups and the engine's does not, so depthwise
 * convolutions keep nn.Conv2d's default, the nearer of the two. Biases and the classifier keep
 * the PyTorch module defaults (timm zeroes the biases and draws the classifier from
 * U(+-1/sqrt(classes))). */
#include "models/efficientnet.h"

#include <math.h>
#include <stdbool.h>

#include "core/error.h"
#include "models/layers.h"

#define STEM_CHANNELS 32
#define HEAD_CHANNELS 1280
/* The network downsamples 32x: below 32 the last stages would see maps that are mostly padding. */
#define MIN_INPUT 32
/* timm's definitions give 0.2 as these models' training dropout ("NOTE for train, drop_rate
 * should be 0.2"); its constructor's own default is 0. */
#define DEFAULT_DROP_RATE 0.2

typedef enum { DEPTHWISE_SEPARABLE, INVERTED_RESIDUAL, EDGE_RESIDUAL } block_kind;

/* One stage of timm's architecture definition, the block string
 * {ds|ir|er}_r{repeats}_k{kernel}_s{stride}_e{expansion}_c{out}[_se{ratio}][_fc{force_in}][_noskip]. */
typedef struct {
    block_kind kind;
    int repeats, kernel, stride, expansion, out_channels;
    double se_ratio;   /* 0: no squeeze-excitation */
    int force_in;      /* "fc": expand from this width rather than the input's (0: the input's) */
    bool noskip;
} stage_def;

enum { B0_NSTAGES = 7, EDGE_NSTAGES = 6 };

static const stage_def b0_stages[B0_NSTAGES] = {
    {DEPTHWISE_SEPARABLE, 1, 3, 1, 1, 16, 0.25, 0, false},   /* ds_r1_k3_s1_e1_c16_se0.25 */
    {INVERTED_RESIDUAL, 2, 3, 2, 6, 24, 0.25, 0, false},     /* ir_r2_k3_s2_e6_c24_se0.25 */
    {INVERTED_RESIDUAL, 2, 5, 2, 6, 40, 0.25, 0, false},     /* ir_r2_k5_s2_e6_c40_se0.25 */
    {INVERTED_RESIDUAL, 3, 3, 2, 6, 80, 0.25, 0, false},     /* ir_r3_k3_s2_e6_c80_se0.25 */
    {INVERTED_RESIDUAL, 3, 5, 1, 6, 112, 0.25, 0, false},    /* ir_r3_k5_s1_e6_c112_se0.25 */
    {INVERTED_RESIDUAL, 4, 5, 2, 6, 192, 0.25, 0, false},    /* ir_r4_k5_s2_e6_c192_se0.25 */
    {INVERTED_RESIDUAL, 1, 3, 1, 6, 320, 0.25, 0, false},    /* ir_r1_k3_s1_e6_c320_se0.25 */
};

static const stage_def edge_stages[EDGE_NSTAGES] = {
    {EDGE_RESIDUAL, 1, 3, 1, 4, 24, 0, 24, true},         /* er_r1_k3_s1_e4_c24_fc24_noskip */
    {EDGE_RESIDUAL, 2, 3, 2, 8, 32, 0, 0, false},         /* er_r2_k3_s2_e8_c32 */
    {EDGE_RESIDUAL, 4, 3, 2, 8, 48, 0, 0, false},         /* er_r4_k3_s2_e8_c48 */
    {INVERTED_RESIDUAL, 5, 5, 2, 8, 96, 0, 0, false},     /* ir_r5_k5_s2_e8_c96 */
    {INVERTED_RESIDUAL, 4, 5, 1, 8, 144, 0, 0, false},    /* ir_r4_k5_s1_e8_c144 */
    {INVERTED_RESIDUAL, 2, 5, 2, 8, 192, 0, 0, false},    /* ir_r2_k5_s2_e8_c192 */
};

/* A pruned block's widths: expanded (a depthwise separable block's input), output, SE. */
typedef struct { int mid, out, se; } pruned_widths;

/* efficientnet_b1_pruned block by block (2, 3, 3, 4, 4, 5, 2 per stage), read off timm's manifest:
 * conv_pw (or conv_dw) out, conv_pwl (or conv_pw) out, se.conv_reduce out. The SE widths follow
 * the pruning, not a formula (5.0 has 27). */
static const pruned_widths b1_pruned_widths[] = {
    {32, 16, 8}, {16, 16, 4},
    {48, 12, 4}, {62, 12, 6}, {48, 12, 6},
    {70, 35, 6}, {61, 35, 10}, {51, 35, 10},
    {175, 74, 10}, {188, 74, 20}, {137, 74, 20}, {164, 74, 20},
    {399, 67, 20}, {201, 67, 28}, {160, 67, 28}, {213, 67, 28},
    {637, 192, 27}, {806, 192, 48}, {798, 192, 48}, {891, 192, 48}, {990, 192, 48},
    {1152, 320, 48}, {1912, 320, 80},
};

typedef struct {
    const char *name;
    const stage_def *stages;
    int nstages;
    double depth_multiplier;       /* each stage repeats ceil(repeats * multiplier) times */
    bool squeeze_excite;           /* lite0 drops the stages' SE */
    cx_act act;
    double bn_eps;
    bool tf_same;
    const pruned_widths *pruned;   /* every block's widths, or NULL for the stages' */
} effnet_arch;

typedef struct {
    block_kind kind;
    int kernel, stride, mid, out, se;   /* se 0: none */
    bool skip;
} block_cfg;

static cx_conv_spec conv_spec(const effnet_arch *a, int kernel, int stride, int groups) {
    cx_conv_spec s = cx_conv_k(kernel, stride, (stride - 1 + kernel - 1) / 2);
    s.groups = groups;
    s.tf_same = a->tf_same;
    if (groups == 1) s.init = CX_INIT_KAIMING_NORMAL_FAN_OUT;
    return s;
}

static block_cfg block_config(const effnet_arch *a, const stage_def *s, bool first_in_stage, int in,
                              const pruned_widths *pruned) {
    block_cfg b = {s->kind, s->kernel, first_in_stage ? s->stride : 1, in, s->out_channels, 0, false};
    if (s->kind != DEPTHWISE_SEPARABLE) b.mid = (s->force_in ? s->force_in : in) * s->expansion;
    if (a->squeeze_excite && s->se_ratio > 0) b.se = (int)nearbyint(b.mid * (s->se_ratio / s->expansion));
    if (pruned) {
        b.mid = pruned->mid;
        b.out = pruned->out;
        b.se = pruned->se;
    }
    /* timm decides on the unpruned widths; the pruning kept a width equal exactly where they were */
    b.skip = b.stride == 1 && in == b.out && !s->noskip;
    return b;
}

static cx_var squeeze_excite(cx_graph *g, cx_var x, int reduced, cx_act act) {
    cx_conv_spec pointwise = cx_conv_k(1, 1, 0);
    pointwise.bias = true;
    pointwise.init = CX_INIT_KAIMING_NORMAL_FAN_OUT;
    cx_graph_push(g, "se");
    cx_var s = cx_graph_adaptive_avgpool(g, x, 1, 1);
    s = cx_graph_act(g, cx_layer_conv(g, s, "conv_reduce", reduced, pointwise), act);
    s = cx_graph_act(g, cx_layer_conv(g, s, "conv_expand", cx_channels(g, x), pointwise), CX_ACT_SIGMOID);
    cx_graph_pop(g);
    return cx_graph_mul(g, x, s);
}

/* The end every block shares: [squeeze-excite] -> 1x1 projection -> BatchNorm -> [+ input]. */
static cx_var excite_project(cx_graph *g, cx_var y, cx_var input, const block_cfg *b, const effnet_arch *a,
                             const char *conv_name, const char *bn_name) {
    if (b->se) y = squeeze_excite(g, y, b->se, a->act);
    y = cx_layer_conv_bn_act(g, y, conv_name, bn_name, b->out, conv_spec(a, 1, 1, 1), a->bn_eps, CX_NACTS);
    return b->skip ? cx_graph_add(g, y, input) : y;
}

static cx_var block(cx_graph *g, cx_var x, const block_cfg *b, const effnet_arch *a) {
    cx_conv_spec depthwise = conv_spec(a, b->kernel, b->stride, b->mid);
    cx_var y;
    switch (b->kind) {
    case DEPTHWISE_SEPARABLE:
        y = cx_layer_conv_bn_act(g, x, "conv_dw", "bn1", b->mid, depthwise, a->bn_eps, a->act);
        return excite_project(g, y, x, b, a, "conv_pw", "bn2");
    case INVERTED_RESIDUAL:
        y = cx_layer_conv_bn_act(g, x, "conv_pw", "bn1", b->mid, conv_spec(a, 1, 1, 1), a->bn_eps, a->act);
        y = cx_layer_conv_bn_act(g, y, "conv_dw", "bn2", b->mid, depthwise, a->bn_eps, a->act);
        return excite_project(g, y, x, b, a, "conv_pwl", "bn3");
    case EDGE_RESIDUAL:
        y = cx_layer_conv_bn_act(g, x, "conv_exp", "bn1", b->mid, conv_spec(a, b->kernel, b->stride, 1), a->bn_eps,
                                 a->act);
        return excite_project(g, y, x, b, a, "conv_pwl", "bn2");
    }
    return -1;
}

static int build(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out,
                 const effnet_arch *a) {
    *out = (cx_backbone_outputs){-1, -1, {-1, -1}};
    int rc = cx_backbone_check_input(g, x, a->name, MIN_INPUT);
    if (rc) return rc;
    cx_var y = cx_layer_conv_bn_act(g, x, "conv_stem", "bn1", STEM_CHANNELS, conv_spec(a, 3, 2, 1), a->bn_eps, a->act);
    const pruned_widths *pruned = a->pruned;
    for (int s = 0; s < a->nstages; s++) {
        const stage_def *stage = &a->stages[s];
        int repeats = (int)ceil(stage->repeats * a->depth_multiplier);
        for (int i = 0; i < repeats; i++) {
            block_cfg b = block_config(a, stage, i == 0, cx_channels(g, y), pruned ? pruned++ : NULL);
            cx_graph_push(g, "blocks.%d.%d", s, i);
            y = block(g, y, &b, a);
            cx_graph_pop(g);
        }
    }
    y = cx_layer_conv_bn_act(g, y, "conv_head", "bn2", HEAD_CHANNELS, conv_spec(a, 1, 1, 1), a->bn_eps, a->act);
    out->features = cx_graph_flatten(g, cx_graph_adaptive_avgpool(g, y, 1, 1));
    if (opt->num_classes > 0) {
        double p = opt->drop_rate < 0 ? DEFAULT_DROP_RATE : opt->drop_rate;
        cx_var dropped = p > 0 ? cx_graph_dropout(g, out->features, p) : out->features;
        out->logits = cx_layer_linear(g, dropped, "classifier", opt->num_classes, true);
    }
    return cx_graph_ok(g) ? 0 : cx_errcode();
}

static const effnet_arch b0 = {"efficientnet_b0", b0_stages, B0_NSTAGES, 1.0, true, CX_ACT_SILU, 1e-5, false, NULL};
static const effnet_arch b1_pruned = {"efficientnet_b1_pruned", b0_stages, B0_NSTAGES, 1.1, true, CX_ACT_SILU, 1e-3,
                                      true, b1_pruned_widths};
static const effnet_arch es = {"efficientnet_es", edge_stages, EDGE_NSTAGES, 1.0, false, CX_ACT_RELU, 1e-5, false, NULL};
static const effnet_arch es_pruned = {"efficientnet_es_pruned", edge_stages, EDGE_NSTAGES, 1.0, false, CX_ACT_RELU,
                                      1e-5, false, NULL};
static const effnet_arch lite0 = {"efficientnet_lite0", b0_stages, B0_NSTAGES, 1.0, false, CX_ACT_RELU6, 1e-5, false,
                                  NULL};

static int build_b0(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build(g, x, opt, out, &b0);
}
static int build_b1_pruned(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build(g, x, opt, out, &b1_pruned);
}
static int build_es(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build(g, x, opt, out, &es);
}
static int build_es_pruned(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build(g, x, opt, out, &es_pruned);
}
static int build_lite0(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return build(g, x, opt, out, &lite0);
}

const cx_backbone cx_efficientnet_backbones[] = {
    {"efficientnet_b0", "timm", HEAD_CHANNELS, 5288548, "classifier.", MIN_INPUT, build_b0},
    {"efficientnet_b1_pruned", "timm", HEAD_CHANNELS, 6331916, "classifier.", MIN_INPUT, build_b1_pruned},
    {"efficientnet_es", "timm", HEAD_CHANNELS, 5438392, "classifier.", MIN_INPUT, build_es},
    {"efficientnet_es_pruned", "timm", HEAD_CHANNELS, 5438392, "classifier.", MIN_INPUT, build_es_pruned},
    {"efficientnet_lite0", "timm", HEAD_CHANNELS, 4652008, "classifier.", MIN_INPUT, build_lite0},
};
const int cx_efficientnet_backbone_count =
    (int)(sizeof cx_efficientnet_backbones / sizeof cx_efficientnet_backbones[0]);
