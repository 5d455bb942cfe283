/* Building blocks for model definitions, named as torchvision/timm name them. Each takes its
 * input's channel count from the graph, creates its parameters under `name` in the current
 * scope (name.weight, name.bias, name.running_mean, ...), and returns the output variable.
 * Initialisation follows PyTorch's module defaults unless a model overrides it. */
#ifndef CX_MODELS_LAYERS_H
#define CX_MODELS_LAYERS_H

#include <stdbool.h>

#include "nn/conv.h"
#include "nn/graph.h"

typedef struct {
    int kernel_h, kernel_w;
    int stride_h, stride_w;
    int dilation;
    int groups;
    bool bias;
    /* Padding: symmetric `pad` (PyTorch), or TensorFlow "same" (asymmetric, from the input
     * size) when tf_same is set. */
    int pad;
    bool tf_same;
    cx_init init;   /* default CX_INIT_UNIFORM_FAN_IN (nn.Conv2d's) */
} cx_conv_spec;

/* A k x k convolution with stride s and PyTorch padding p (groups 1, no bias). */
static inline cx_conv_spec cx_conv_k(int k, int s, int p) {
    cx_conv_spec c = {k, k, s, s, 1, 1, false, p, false, CX_INIT_UNIFORM_FAN_IN};
    return c;
}

int cx_channels(const cx_graph *g, cx_var x);   /* dim 1 of an activation */
/* A backbone's input: [N, 1 or 3, H, W] with H, W >= min_input. 0, or EX_USAGE recorded naming
 * the model (or the error that an earlier builder call recorded). */
int cx_backbone_check_input(const cx_graph *g, cx_var x, const char *model, int min_input);

cx_var cx_layer_conv(cx_graph *g, cx_var x, const char *name, int out_channels, cx_conv_spec spec);
/* BatchNorm2d with affine parameters and running statistics, momentum 0.1. */
cx_var cx_layer_bn(cx_graph *g, cx_var x, const char *name, double eps);
cx_var cx_layer_linear(cx_graph *g, cx_var x, const char *name, int out_features, bool bias);
/* conv -> bn -> act in one call, with the conv and bn names given (act may be CX_NACTS for none). */
cx_var cx_layer_conv_bn_act(cx_graph *g, cx_var x, const char *conv_name, const char *bn_name, int out_channels,
                            cx_conv_spec spec, double eps, cx_act act);

#endif
