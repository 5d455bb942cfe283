#include "models/layers.h"

#include "core/error.h"

int cx_channels(const cx_graph *g, cx_var x) { return x >= 0 ? (int)cx_graph_shape(g, x)[1] : 0; }

int cx_backbone_check_input(const cx_graph *g, cx_var x, const char *model, int min_input) {
    if (x < 0 || !cx_graph_ok(g)) return cx_errcode() ? cx_errcode() : cx_err(EX_SOFTWARE, "%s: no input", model);
    const int64_t *s = cx_graph_shape(g, x);
    if (cx_graph_ndim(g, x) != 4 || (s[1] != 1 && s[1] != 3))
        return cx_err(EX_USAGE, "%s: the input must be [N, 1 or 3, H, W]", model);
    if (s[2] < min_input || s[3] < min_input)
        return cx_err(EX_USAGE, "%s: input %lldx%lld is smaller than the minimum %dx%d", model, (long long)s[2],
                      (long long)s[3], min_input, min_input);
    return 0;
}

cx_var cx_layer_conv(cx_graph *g, cx_var x, const char *name, int out_channels, cx_conv_spec s) {
    if (x < 0 || !cx_graph_ok(g)) return -1;
    int in = cx_channels(g, x), groups = s.groups > 0 ? s.groups : 1;
    int64_t wshape[4] = {out_channels, in / groups, s.kernel_h, s.kernel_w}, bshape[1] = {out_channels};
    cx_graph_push(g, "%s", name);
    cx_var w = cx_graph_param(g, "weight", 4, wshape, s.init);
    cx_var b = s.bias ? cx_graph_param(g, "bias", 1, bshape, CX_INIT_UNIFORM_FAN_IN) : -1;
    cx_graph_pop(g);
    int dilation = s.dilation > 0 ? s.dilation : 1, pad[4] = {s.pad, s.pad, s.pad, s.pad};
    if (s.tf_same) {
        const int64_t *shape = cx_graph_shape(g, x);
        cx_conv2d_same_padding((int)shape[2], s.kernel_h, s.stride_h, dilation, &pad[0], &pad[2]);
        cx_conv2d_same_padding((int)shape[3], s.kernel_w, s.stride_w, dilation, &pad[1], &pad[3]);
    }
    return cx_graph_conv2d(g, x, w, b, s.stride_h, s.stride_w, pad, dilation, groups);
}

cx_var cx_layer_bn(cx_graph *g, cx_var x, const char *name, double eps) {
    if (x < 0 || !cx_graph_ok(g)) return -1;
    int64_t c[1] = {cx_channels(g, x)};
    cx_graph_push(g, "%s", name);
    cx_var w = cx_graph_param(g, "weight", 1, c, CX_INIT_ONE);
    cx_var b = cx_graph_param(g, "bias", 1, c, CX_INIT_ZERO);
    cx_var mean = cx_graph_buffer(g, "running_mean", 1, c, 0.0f);
    cx_var var = cx_graph_buffer(g, "running_var", 1, c, 1.0f);
    cx_graph_pop(g);
    return cx_graph_batchnorm(g, x, w, b, mean, var, eps, 0.1);
}

cx_var cx_layer_linear(cx_graph *g, cx_var x, const char *name, int out_features, bool bias) {
    if (x < 0 || !cx_graph_ok(g)) return -1;
    int64_t wshape[2] = {out_features, cx_graph_shape(g, x)[1]}, bshape[1] = {out_features};
    cx_graph_push(g, "%s", name);
    cx_var w = cx_graph_param(g, "weight", 2, wshape, CX_INIT_UNIFORM_FAN_IN);
    cx_var b = bias ? cx_graph_param(g, "bias", 1, bshape, CX_INIT_UNIFORM_FAN_IN) : -1;
    cx_graph_pop(g);
    return cx_graph_linear(g, x, w, b);
}

cx_var cx_layer_conv_bn_act(cx_graph *g, cx_var x, const char *conv_name, const char *bn_name, int out_channels,
                            cx_conv_spec spec, double eps, cx_act act) {
    cx_var y = cx_layer_bn(g, cx_layer_conv(g, x, conv_name, out_channels, spec), bn_name, eps);
    return act < CX_NACTS ? cx_graph_act(g, y, act) : y;
}
