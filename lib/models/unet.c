/* The U-Net of unet.h: encoder levels, bottom, decoder levels joined to the encoder's by
 * concatenation, and a convolution head. Initialisation is PyTorch's module defaults (nn.Conv2d,
 * nn.ConvTranspose2d, nn.BatchNorm2d); the original lung U-Net was trained from Keras' Glorot
 * defaults, which matters only to training from scratch, not to imported weights. */
#include "models/unet.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "models/layers.h"

#define BN_EPS 1e-5
#define CONVS_PER_DOWN_LEVEL 2

typedef struct {
    const char *name;
    cx_unet_config config;
} unet_preset;

static const unet_preset presets[] = {
    {"lung-unet-4l",
     {.depth = 4, .widths = {32, 64, 64, 128, 256}, .up_widths = {64, 128, 256, 256}, .bottom_convs = 1,
      .convs_before_concat = 2, .convs_after_concat = 1, .head_kernel = 3, .batch_norm = false,
      .up_mode = CX_UNET_UP_NEAREST, .in_channels = 1, .out_channels = 1}},
    {"lung-unet-small",
     {.depth = 4, .widths = {16, 32, 64, 128, 256}, .up_widths = {16, 32, 64, 128}, .bottom_convs = 2,
      .convs_before_concat = 0, .convs_after_concat = 2, .head_kernel = 1, .batch_norm = true,
      .up_mode = CX_UNET_UP_BILINEAR, .in_channels = 1, .out_channels = 1}},
};
#define NPRESETS (int)(sizeof presets / sizeof presets[0])

int cx_unet_preset(const char *name, cx_unet_config *c) {
    char known[256] = "";
    for (int i = 0; i < NPRESETS; i++) {
        if (!strcmp(presets[i].name, name)) {
            *c = presets[i].config;
            return 0;
        }
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", presets[i].name);
    }
    return cx_err(EX_USAGE, "unknown U-Net preset \"%s\" (known: %s)", name, known);
}

static int check_config(const cx_unet_config *c) {
    if (c->depth < 1 || c->depth > CX_UNET_MAX_DEPTH)
        return cx_err(EX_USAGE, "U-Net: depth %d is not in 1..%d", c->depth, CX_UNET_MAX_DEPTH);
    for (int i = 0; i <= c->depth; i++)
        if (c->widths[i] < 1) return cx_err(EX_USAGE, "U-Net: widths[%d] is %d, not positive", i, c->widths[i]);
    for (int i = 0; i < c->depth; i++)
        if (c->up_widths[i] < 1)
            return cx_err(EX_USAGE, "U-Net: up_widths[%d] is %d, not positive", i, c->up_widths[i]);
    if (c->bottom_convs < 1 || c->convs_before_concat < 0 || c->convs_after_concat < 1)
        return cx_err(EX_USAGE, "U-Net: %d bottom convolutions and %d + %d around each concatenation "
                      "(at least 1, 0 and 1 wanted)", c->bottom_convs, c->convs_before_concat, c->convs_after_concat);
    if (c->head_kernel < 1 || c->head_kernel % 2 == 0)
        return cx_err(EX_USAGE, "U-Net: head kernel %d is not odd (padding keeps the size)", c->head_kernel);
    if (c->up_mode != CX_UNET_UP_NEAREST && c->up_mode != CX_UNET_UP_BILINEAR && c->up_mode != CX_UNET_UP_TRANSPOSED)
        return cx_err(EX_USAGE, "U-Net: unknown up-sampling mode %d", (int)c->up_mode);
    if (c->in_channels < 1 || c->out_channels < 1)
        return cx_err(EX_USAGE, "U-Net: %d input and %d output channels", c->in_channels, c->out_channels);
    return 0;
}

/* Each level halves the size with a 2x2 pool and the decoder doubles it back, so a side must
 * be a multiple of 2^depth for the skip and the up-sampled map to agree. The message offers
 * the nearest multiples below (at least m) and above. */
static int64_t multiple_below(int64_t side, int64_t m) { return side < m ? m : side / m * m; }
static int64_t multiple_above(int64_t side, int64_t m) { return (side + m - 1) / m * m; }

static int check_input(const cx_graph *g, cx_var x, const cx_unet_config *c) {
    const int64_t *s = cx_graph_shape(g, x);
    if (cx_graph_ndim(g, x) != 4 || s[1] != c->in_channels)
        return cx_err(EX_DATAERR, "U-Net: the input must be [N, %d, H, W]", c->in_channels);
    int64_t m = (int64_t)1 << c->depth, h = s[2], w = s[3];
    if (h % m == 0 && w % m == 0) return 0;
    char why[160], below[48], above[48];
    snprintf(why, sizeof why, "U-Net of depth %d: input %lldx%lld does not work, each side must be a multiple of %lld",
             c->depth, (long long)h, (long long)w, (long long)m);
    snprintf(below, sizeof below, "%lldx%lld", (long long)multiple_below(h, m), (long long)multiple_below(w, m));
    snprintf(above, sizeof above, "%lldx%lld", (long long)multiple_above(h, m), (long long)multiple_above(w, m));
    if (!strcmp(below, above)) return cx_err(EX_DATAERR, "%s; %s works", why, below);
    return cx_err(EX_DATAERR, "%s; %s or %s work", why, below, above);
}

/* conv<index> 3x3 'same' -> bn<index> -> ReLU, or conv<index> (with bias) -> ReLU. */
static cx_var conv_relu(cx_graph *g, cx_var x, int index, int width, bool batch_norm) {
    char conv_name[16], bn_name[16];
    snprintf(conv_name, sizeof conv_name, "conv%d", index);
    snprintf(bn_name, sizeof bn_name, "bn%d", index);
    cx_conv_spec spec = cx_conv_k(3, 1, 1);
    spec.bias = !batch_norm;
    if (batch_norm) return cx_layer_conv_bn_act(g, x, conv_name, bn_name, width, spec, BN_EPS, CX_ACT_RELU);
    return cx_graph_act(g, cx_layer_conv(g, x, conv_name, width, spec), CX_ACT_RELU);
}

/* conv<first> .. conv<first + count - 1>, all of `width` channels. */
static cx_var conv_relu_stack(cx_graph *g, cx_var x, int first, int count, int width, bool batch_norm) {
    for (int k = first; k < first + count; k++) x = conv_relu(g, x, k, width, batch_norm);
    return x;
}

/* "upconv": ConvTranspose2d(in, out_channels, 2, stride 2) with bias, as nn.ConvTranspose2d
 * declares it (weight [in, out, 2, 2]). */
static cx_var upconv(cx_graph *g, cx_var x, int out_channels) {
    int64_t wshape[4] = {cx_channels(g, x), out_channels, 2, 2}, bshape[1] = {out_channels};
    cx_graph_push(g, "upconv");
    cx_var w = cx_graph_param(g, "weight", 4, wshape, CX_INIT_UNIFORM_FAN_IN);
    cx_var b = cx_graph_param(g, "bias", 1, bshape, CX_INIT_UNIFORM_FAN_IN);
    cx_graph_pop(g);
    return cx_graph_conv_transpose2d(g, x, w, b, 2, 0, 0);
}

static cx_var upsample2x(cx_graph *g, cx_var x, const cx_unet_config *c, int width) {
    if (x < 0) return -1;
    if (c->up_mode == CX_UNET_UP_TRANSPOSED) return upconv(g, x, width);
    const int64_t *s = cx_graph_shape(g, x);
    cx_upsample_mode mode = c->up_mode == CX_UNET_UP_NEAREST ? CX_UPSAMPLE_NEAREST : CX_UPSAMPLE_BILINEAR;
    return cx_graph_upsample(g, x, 2 * (int)s[2], 2 * (int)s[3], mode, false);
}

/* up.<level>: back to the skip's size, then the convolutions around the concatenation. */
static cx_var up_level(cx_graph *g, cx_var x, cx_var skip, int level, const cx_unet_config *c) {
    int width = c->up_widths[level], before = c->convs_before_concat;
    cx_graph_push(g, "up.%d", level);
    x = conv_relu_stack(g, upsample2x(g, x, c, width), 1, before, width, c->batch_norm);
    cx_var parts[2] = {skip, x};
    x = cx_graph_concat(g, parts, 2);
    x = conv_relu_stack(g, x, 1 + before, c->convs_after_concat, width, c->batch_norm);
    cx_graph_pop(g);
    return x;
}

cx_var cx_unet_build(cx_graph *g, cx_var x, const cx_unet_config *c) {
    if (x < 0 || !cx_graph_ok(g)) {
        if (!cx_errcode()) cx_err(EX_SOFTWARE, "U-Net: no input");
        return -1;
    }
    if (check_config(c) || check_input(g, x, c)) return -1;
    cx_var skips[CX_UNET_MAX_DEPTH];
    for (int i = 0; i < c->depth; i++) {
        cx_graph_push(g, "down.%d", i);
        skips[i] = conv_relu_stack(g, x, 1, CONVS_PER_DOWN_LEVEL, c->widths[i], c->batch_norm);
        cx_graph_pop(g);
        x = cx_graph_maxpool(g, skips[i], 2, 2, 0, false);
    }
    cx_graph_push(g, "bottom");
    x = conv_relu_stack(g, x, 1, c->bottom_convs, c->widths[c->depth], c->batch_norm);
    cx_graph_pop(g);
    for (int i = c->depth - 1; i >= 0; i--) x = up_level(g, x, skips[i], i, c);
    cx_conv_spec head = cx_conv_k(c->head_kernel, 1, c->head_kernel / 2);
    head.bias = true;
    x = cx_layer_conv(g, x, "head", c->out_channels, head);
    return cx_graph_ok(g) ? x : -1;
}
