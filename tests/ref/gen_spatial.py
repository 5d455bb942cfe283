"""PyTorch reference cases for lib/nn's spatial ops: convolution, transposed convolution,
pooling, upsampling and batch norm.

Run from the repository root with Debian's torch 1.13:  /usr/bin/python3 tests/ref/gen_spatial.py
It writes tests/data/ref/{conv,pool,upsample,batchnorm}.cxs, one record per case:
  id      the case name
  meta    the op's parameters
  tensors inputs and parameters (x, w, b, running statistics...), 'probe', the forward
          output 'y', and the gradients of L = sum(probe * y): 'dx', 'dw', 'db'.
Inputs are drawn in float32; PyTorch then computes in float64 from those exact values and the
results are rounded to float32, so the references carry no float32 summation error of their own.
The one exception is 'nearest' upsampling, which only copies values but picks them with index
arithmetic done in the tensor's dtype: it runs in float32 as the C code does, and its gradient
is that of PyTorch's forward (see nearest_by_gather).
The output is deterministic: rerunning reproduces the files byte for byte.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxstream import Writer, header  # noqa: E402

OUT_DIR = "tests/data/ref"


def randn(*shape, scale=1.0):
    return torch.randn(*shape, dtype=torch.float32) * scale


def as_f32(t):
    return t.detach().to(torch.float32).contiguous().numpy()


class CaseFile:
    """One .cxs file of reference cases."""

    def __init__(self, name):
        self.path = os.path.join(OUT_DIR, name + ".cxs")
        self.f = open(self.path + ".tmp", "wb")
        self.w = Writer(self.f, header("reference", tool="gen_spatial.py", argv=["tests/ref/gen_spatial.py"]))

    def case(self, name, meta, inputs, forward, dtype=torch.float64):
        """inputs: float32 tensors; forward(leaves in dtype) -> y, or (y, extra tensors).
        Stores inputs, probe, y and the gradient 'd'+name of every input."""
        leaves = {k: v.to(dtype).requires_grad_(True) for k, v in inputs.items()}
        out = forward(leaves)
        y, more = out if isinstance(out, tuple) else (out, {})
        probe = randn(*y.shape)
        (y * probe.to(dtype)).sum().backward()
        tensors = dict(inputs)
        tensors.update(more)
        tensors["probe"] = probe
        tensors["y"] = y
        for k, leaf in leaves.items():
            tensors["d" + k] = leaf.grad
        self.w.put(name, meta, {k: (as_f32(v) if v.is_floating_point() else v.numpy()) for k, v in tensors.items()})

    def close(self):
        self.w.close()
        self.f.close()
        os.replace(self.path + ".tmp", self.path)


def tf_same_padding(size, kernel, stride, dilation):
    """TensorFlow's 'same' padding (before, after) along one axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv_cases():
    torch.manual_seed(1)
    cf = CaseFile("conv")
    # name, N, Cin, Cout, H, W, (kh, kw), (sh, sw), (dh, dw), pads (top, left, bottom, right) or "same", groups, bias
    cases = [
        ("basic", 2, 3, 4, 5, 5, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1, True),
        ("stride2_odd", 2, 3, 5, 7, 6, (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 1, False),
        ("dilation2", 1, 2, 3, 9, 8, (3, 3), (1, 1), (2, 2), (2, 2, 2, 2), 1, True),
        ("rect_kernel_stride", 2, 3, 4, 6, 7, (3, 2), (2, 1), (1, 1), (1, 0, 1, 0), 1, True),
        ("stem_7x7_s2", 2, 1, 4, 11, 10, (7, 7), (2, 2), (1, 1), (3, 3, 3, 3), 1, False),
        ("pointwise", 3, 4, 5, 4, 3, (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1, True),
        ("pointwise_s2", 2, 4, 3, 5, 5, (1, 1), (2, 2), (1, 1), (0, 0, 0, 0), 1, False),
        ("groups2", 2, 4, 6, 6, 7, (3, 3), (2, 1), (1, 1), (1, 1, 1, 1), 2, True),
        ("groups3_dil", 1, 6, 3, 7, 7, (3, 3), (1, 2), (2, 1), (2, 1, 2, 1), 3, False),
        ("depthwise", 2, 4, 4, 7, 7, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 4, True),
        ("depthwise_mult2_k5_s2", 2, 3, 6, 8, 9, (5, 5), (2, 2), (1, 1), (2, 2, 2, 2), 3, False),
        ("depthwise_dil2_s2", 1, 3, 3, 9, 10, (3, 3), (2, 2), (2, 2), (1, 2, 1, 2), 3, True),
        ("tf_same_s2", 2, 3, 4, 8, 7, (3, 3), (2, 2), (1, 1), "same", 1, True),
        ("tf_same_k5_s2", 1, 2, 3, 6, 6, (5, 5), (2, 2), (1, 1), "same", 1, False),
        ("tf_same_depthwise_k5_s2", 2, 4, 4, 9, 6, (5, 5), (2, 2), (1, 1), "same", 4, True),
        ("asymmetric_pad", 1, 2, 2, 5, 6, (3, 3), (1, 1), (1, 1), (0, 2, 1, 0), 1, True),
    ]
    for name, n, cin, cout, h, w, k, s, d, pads, groups, bias in cases:
        same = pads == "same"
        if same:
            top, bottom = tf_same_padding(h, k[0], s[0], d[0])
            left, right = tf_same_padding(w, k[1], s[1], d[1])
            pads = (top, left, bottom, right)
        top, left, bottom, right = pads
        meta = {"batch": n, "in_channels": cin, "out_channels": cout, "in_h": h, "in_w": w,
                "kernel_h": k[0], "kernel_w": k[1], "stride_h": s[0], "stride_w": s[1],
                "dilation_h": d[0], "dilation_w": d[1], "pad_top": top, "pad_left": left,
                "pad_bottom": bottom, "pad_right": right, "groups": groups, "bias": bias, "same": same}
        fan_in = cin // groups * k[0] * k[1]
        inputs = {"x": randn(n, cin, h, w), "w": randn(cout, cin // groups, k[0], k[1], scale=fan_in ** -0.5)}
        if bias:
            inputs["b"] = randn(cout)

        def forward(t, s=s, d=d, pads=pads, groups=groups):
            xp = F.pad(t["x"], (pads[1], pads[3], pads[0], pads[2]))
            return F.conv2d(xp, t["w"], t.get("b"), stride=s, dilation=d, groups=groups)
        cf.case(name, meta, inputs, forward)

    # name, N, Cin, Cout, H, W, (kh, kw), (sh, sw), (ph, pw), (oph, opw), (dh, dw), bias
    tcases = [
        ("transpose_k3_s2_op1", 2, 3, 2, 4, 5, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), True),
        ("transpose_k4_s2_p1", 2, 2, 3, 3, 3, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), False),
        ("transpose_s1", 1, 3, 2, 4, 4, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1), True),
        ("transpose_s3_dil2_op2", 2, 2, 2, 3, 4, (3, 3), (3, 3), (2, 2), (2, 2), (2, 2), True),
        ("transpose_rect", 1, 2, 3, 3, 4, (2, 3), (2, 1), (0, 1), (1, 0), (1, 1), False),
    ]
    for name, n, cin, cout, h, w, k, s, p, op, d, bias in tcases:
        meta = {"batch": n, "in_channels": cin, "out_channels": cout, "in_h": h, "in_w": w,
                "kernel_h": k[0], "kernel_w": k[1], "stride_h": s[0], "stride_w": s[1], "pad_h": p[0],
                "pad_w": p[1], "output_pad_h": op[0], "output_pad_w": op[1], "dilation_h": d[0],
                "dilation_w": d[1], "bias": bias}
        inputs = {"x": randn(n, cin, h, w), "w": randn(cin, cout, k[0], k[1], scale=(cin * k[0] * k[1]) ** -0.5)}
        if bias:
            inputs["b"] = randn(cout)

        def forward(t, s=s, p=p, op=op, d=d):
            return F.conv_transpose2d(t["x"], t["w"], t.get("b"), stride=s, padding=p, output_padding=op, dilation=d)
        cf.case(name, meta, inputs, forward)
    cf.close()


def pool_cases():
    torch.manual_seed(2)
    cf = CaseFile("pool")
    # op, name, N, C, H, W, (kh, kw), (sh, sw), (ph, pw), ceil_mode, count_include_pad
    cases = [
        ("max", "max_k3_s2_p1", 2, 3, 9, 8, (3, 3), (2, 2), (1, 1), False, True),
        ("max", "max_k3_s2_ceil", 2, 2, 8, 8, (3, 3), (2, 2), (0, 0), True, True),
        ("max", "max_ceil_drops_last", 1, 2, 5, 7, (2, 2), (2, 2), (1, 1), True, True),
        ("max", "max_rect", 2, 2, 6, 7, (2, 3), (1, 2), (1, 1), False, True),
        ("max", "max_k3_s1_p1_ceil", 1, 3, 5, 6, (3, 3), (1, 1), (1, 1), True, True),
        ("avg", "avg_k3_s2_p1_include", 2, 3, 9, 8, (3, 3), (2, 2), (1, 1), False, True),
        ("avg", "avg_k3_s2_p1_exclude", 2, 3, 9, 8, (3, 3), (2, 2), (1, 1), False, False),
        ("avg", "avg_ceil_include", 2, 2, 7, 6, (3, 3), (2, 2), (1, 1), True, True),
        ("avg", "avg_ceil_exclude", 2, 2, 7, 6, (3, 3), (2, 2), (1, 1), True, False),
        ("avg", "avg_ceil_overhang_include", 2, 2, 6, 6, (3, 3), (2, 2), (1, 1), True, True),
        ("avg", "avg_k2_s2", 2, 3, 8, 6, (2, 2), (2, 2), (0, 0), False, True),
        ("avg", "avg_rect_ceil", 1, 2, 7, 9, (3, 2), (2, 3), (1, 0), True, True),
    ]
    for op, name, n, c, h, w, k, s, p, ceil, include in cases:
        meta = {"op": op, "batch": n, "channels": c, "in_h": h, "in_w": w, "kernel_h": k[0], "kernel_w": k[1],
                "stride_h": s[0], "stride_w": s[1], "pad_h": p[0], "pad_w": p[1], "ceil_mode": ceil,
                "count_include_pad": include}
        inputs = {"x": randn(n, c, h, w)}

        def forward(t, op=op, k=k, s=s, p=p, ceil=ceil, include=include):
            if op == "max":
                y, idx = F.max_pool2d(t["x"], k, s, p, ceil_mode=ceil, return_indices=True)
                return y, {"argmax": idx.to(torch.int64)}
            return F.avg_pool2d(t["x"], k, s, p, ceil_mode=ceil, count_include_pad=include)
        cf.case(name, meta, inputs, forward)

    # Ties (small integers) go to the first maximum; a NaN wins its window.
    ties = torch.randint(0, 3, (2, 2, 6, 7)).to(torch.float32)
    nan = randn(1, 2, 6, 6)
    nan[0, 0, 1, 1] = float("nan")
    nan[0, 1, 4, 2] = float("nan")
    nan[0, 1, 4, 3] = float("nan")
    for name, x in (("max_ties", ties), ("max_nan", nan)):
        n, c, h, w = x.shape
        meta = {"op": "max", "batch": n, "channels": c, "in_h": h, "in_w": w, "kernel_h": 3, "kernel_w": 3,
                "stride_h": 2, "stride_w": 2, "pad_h": 1, "pad_w": 1, "ceil_mode": True, "count_include_pad": True}

        def forward(t):
            y, idx = F.max_pool2d(t["x"], 3, 2, 1, ceil_mode=True, return_indices=True)
            return y, {"argmax": idx.to(torch.int64)}
        cf.case(name, meta, {"x": x}, forward)

    # name, N, C, H, W, out_h, out_w
    adaptive = [
        ("adaptive_7_to_3", 2, 3, 7, 7, 3, 3),
        ("adaptive_5x9_to_2x4", 2, 2, 5, 9, 2, 4),
        ("adaptive_up_3x3_to_5x4", 1, 2, 3, 3, 5, 4),
        ("global_6x5", 3, 4, 6, 5, 1, 1),
        ("global_14x14", 2, 8, 14, 14, 1, 1),
    ]
    for name, n, c, h, w, oh, ow in adaptive:
        meta = {"op": "adaptive", "batch": n, "channels": c, "in_h": h, "in_w": w, "out_h": oh, "out_w": ow}
        cf.case(name, meta, {"x": randn(n, c, h, w)}, lambda t, oh=oh, ow=ow: F.adaptive_avg_pool2d(t["x"], (oh, ow)))
    cf.close()


def nearest_by_gather(x, size, scale):
    """F.interpolate(x, mode='nearest') as a gather from the source positions PyTorch's own
    forward picks, so that autograd gives the gradient of that forward. (torch 1.13's backward
    kernel takes shortcuts for out == in and out == 2 in that its NCHW forward does not take
    when a scale factor is given, so its gradient is not the forward's there.)"""
    n, c, h, w = x.shape
    # positions as values, over 2 channels so that PyTorch takes its NCHW kernel, as for x
    where = torch.arange(h * w, dtype=torch.float32).reshape(1, 1, h, w).expand(1, 2, h, w).contiguous()
    src = F.interpolate(where, size=size, scale_factor=scale, mode="nearest")[0, 0].long()
    y = x.flatten(2)[:, :, src.flatten()].reshape(n, c, *src.shape)
    assert torch.equal(y, F.interpolate(x, size=size, scale_factor=scale, mode="nearest"))
    return y


def upsample_cases():
    torch.manual_seed(3)
    cf = CaseFile("upsample")
    # name, mode, align_corners, N, C, H, W, size (oh, ow) or None, scale (sh, sw) or None
    cases = [
        ("nearest_x2", "nearest", False, 2, 2, 4, 5, None, (2.0, 2.0)),
        ("nearest_size_5x5_to_7x9", "nearest", False, 1, 3, 5, 5, (7, 9), None),
        ("nearest_scale_1.5", "nearest", False, 2, 2, 5, 4, None, (1.5, 1.5)),
        ("nearest_scale_0.6_down", "nearest", False, 1, 2, 7, 8, None, (0.6, 0.6)),
        ("nearest_scale_3_x_1.7", "nearest", False, 1, 2, 3, 4, None, (3.0, 1.7)),
        ("nearest_scale_1.2_same_size", "nearest", False, 1, 2, 4, 6, None, (1.2, 1.1)),
        ("nearest_scale_2.1_x_1.05", "nearest", False, 1, 2, 5, 4, None, (2.1, 1.05)),
        ("bilinear_size_4x5_to_9x7", "bilinear", False, 2, 2, 4, 5, (9, 7), None),
        ("bilinear_x2", "bilinear", False, 1, 3, 4, 4, None, (2.0, 2.0)),
        ("bilinear_scale_1.5", "bilinear", False, 2, 2, 5, 4, None, (1.5, 1.5)),
        ("bilinear_down_7x8_to_3x2", "bilinear", False, 1, 2, 7, 8, (3, 2), None),
        ("bilinear_scale_0.7_x_2.3", "bilinear", False, 1, 2, 6, 5, None, (0.7, 2.3)),
        ("bilinear_align_size_4x5_to_9x7", "bilinear", True, 2, 2, 4, 5, (9, 7), None),
        ("bilinear_align_x2", "bilinear", True, 1, 2, 3, 4, None, (2.0, 2.0)),
        ("bilinear_align_to_1x3", "bilinear", True, 1, 2, 4, 5, (1, 3), None),
        ("bilinear_align_from_1x1", "bilinear", True, 1, 2, 1, 1, (3, 2), None),
        ("bilinear_scale_1.2_same_size", "bilinear", False, 1, 2, 4, 6, None, (1.2, 1.1)),
    ]
    for name, mode, align, n, c, h, w, size, scale in cases:
        oh, ow = size if size else (math.floor(h * scale[0]), math.floor(w * scale[1]))
        meta = {"mode": mode, "align_corners": align, "batch": n, "channels": c, "in_h": h, "in_w": w,
                "out_h": oh, "out_w": ow, "size_given": size is not None,
                "scale_h": scale[0] if scale else 0.0, "scale_w": scale[1] if scale else 0.0}

        def forward(t, mode=mode, align=align, size=size, scale=scale):
            if mode == "nearest":
                return nearest_by_gather(t["x"], size, scale)
            return F.interpolate(t["x"], size=size, scale_factor=scale, mode=mode, align_corners=align)
        cf.case(name, meta, {"x": randn(n, c, h, w)}, forward,
                dtype=torch.float32 if mode == "nearest" else torch.float64)
    cf.close()


def batchnorm_cases():
    torch.manual_seed(4)
    cf = CaseFile("batchnorm")
    # name, training, N, C, H, W, eps, momentum, affine, input offset, input scale
    cases = [
        ("train_basic", True, 4, 3, 5, 4, 1e-5, 0.1, True, 0.0, 1.0),
        ("train_eps1e-3_momentum0.01_no_affine", True, 2, 4, 3, 5, 1e-3, 0.01, False, 0.0, 1.0),
        ("train_shifted_input", True, 3, 2, 4, 4, 1e-5, 0.1, True, 5.0, 0.5),
        ("train_1x1", True, 8, 4, 1, 1, 1e-5, 0.3, True, 0.0, 2.0),
        ("train_odd", True, 3, 5, 7, 3, 1e-3, 0.1, True, -1.0, 3.0),
        ("eval_basic", False, 2, 3, 4, 5, 1e-5, 0.1, True, 0.5, 1.0),
        ("eval_no_affine", False, 2, 3, 3, 3, 1e-3, 0.1, False, 0.0, 1.0),
    ]
    for name, training, n, c, h, w, eps, momentum, affine, offset, scale in cases:
        meta = {"training": training, "batch": n, "channels": c, "height": h, "width": w, "eps": eps,
                "momentum": momentum, "affine": affine}
        inputs = {"x": randn(n, c, h, w) * scale + offset}
        if affine:
            inputs["weight"] = 1 + randn(c, scale=0.3)
            inputs["bias"] = randn(c, scale=0.3)
        running_mean = randn(c, scale=0.5)
        running_var = 0.5 + torch.rand(c, dtype=torch.float32)
        # two more batches for the running statistics after three training steps
        later = [randn(n, c, h, w) * scale + offset for _ in range(2)] if training else []

        def forward(t, training=training, c=c, eps=eps, momentum=momentum, affine=affine, rm=running_mean,
                    rv=running_var, later=later):
            bn = torch.nn.BatchNorm2d(c, eps=eps, momentum=momentum, affine=affine).double()
            bn.running_mean.copy_(rm)
            bn.running_var.copy_(rv)
            bn.train(training)
            if affine:
                del bn.weight, bn.bias
                bn.weight, bn.bias = t["weight"], t["bias"]
            y = bn(t["x"])
            more = {"running_mean": rm, "running_var": rv}
            if training:
                more["running_mean_1"] = bn.running_mean.clone()
                more["running_var_1"] = bn.running_var.clone()
                with torch.no_grad():
                    for i, x in enumerate(later):
                        bn(x.double())
                        more["x_step%d" % (i + 2)] = x
                more["running_mean_3"] = bn.running_mean.clone()
                more["running_var_3"] = bn.running_var.clone()
            return y, more
        cf.case(name, meta, inputs, forward)
    cf.close()


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    conv_cases()
    pool_cases()
    upsample_cases()
    batchnorm_cases()


if __name__ == "__main__":
    main()
