#!/usr/bin/env python3
"""Reference for tests/unit/test_unet.c: a PyTorch U-Net with the parameter names and order of
lib/models/unet.h, every parameter and buffer filled by detweights (no weights are committed),
run in training mode (BatchNorm on batch statistics) on det_tensor("input", [N, C, H, W]).

Run from the repository root with Debian's torch 1.13:  /usr/bin/python3 tests/ref/gen_unet.py
It writes tests/data/ref/unet.cxs, one record per case:
  id      "lung-unet-4l" and "lung-unet-small" (the presets at 64x64), "lung-unet-small@32", and
          the small cases' names
  meta    preset: the preset's name, or "" for a configuration of its own; config: the
          cx_unet_config fields by name (up_mode "nearest", "bilinear" or "transposed");
          input: [N, C, H, W]; gradients: whether the record holds them; keys: the state_dict
          as "name:d0,d1,..." in order, without num_batches_tracked; steps: {tensor: step}
  tensors logits; with BatchNorm running/down.0.bn1.running_mean and running_var after the
          pass; with gradients, those of L = sum(probe * logits), probe = det_tensor("probe",
          logits shape): input_grad and grad/<parameter> for every parameter
Each tensor is flattened and only every step-th value is kept (step = ceil(n / cap), made odd so
that the kept values are not confined to even columns: an off-by-one in the up-sampling shows on
odd pixels; cap 4096, 512 for parameter gradients), so the file stays small.
PyTorch computes in float64 from the float32 weights and inputs and the results are rounded to
float32, so a reference carries no float32 rounding of its own.

Conditioning: every case is one that PyTorch's own float32 pass matches to a tenth of the C
test's tolerances (check_conditioning asserts it). lung-unet-small at 64x64 is not, in its
gradients: a BatchNorm output there lies at 7e-7 before its ReLU (up.1.bn2), inside the 4e-6
that float32 rounding accumulates by that layer, so float32 takes the other branch and PyTorch's
float32 input gradient is off by 0.5%. Its 64x64 record keeps the forward pass only (logits and
running statistics, continuous through the kinks), and lung-unet-small@32 has the gradients.

The lung-unet-4l preset is checked here against build_UNet2D_4L of imlab-uiip/lung-segmentation-2d
(build_model.py): its convolutions, in order, as (in, out) channels, all 3x3 with bias, and the
total of 5,468,897 parameters.
Deterministic: rerunning reproduces the file byte for byte.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxstream import Writer, header  # noqa: E402
from detweights import det_tensor, fill_module  # noqa: E402
from gen_tvsmall import state_keys  # noqa: E402

OUT = "tests/data/ref/unet.cxs"
BATCH = 2
FORWARD_RTOL, BACKWARD_RTOL = 1e-4, 1e-3   # test_unet.c's


def config(depth, widths, up_widths, bottom_convs, before, after, head_kernel, batch_norm, up_mode, cin, cout):
    return {"depth": depth, "widths": widths, "up_widths": up_widths, "bottom_convs": bottom_convs,
            "convs_before_concat": before, "convs_after_concat": after, "head_kernel": head_kernel,
            "batch_norm": batch_norm, "up_mode": up_mode, "in_channels": cin, "out_channels": cout}


PRESETS = {
    "lung-unet-4l": config(4, [32, 64, 64, 128, 256], [64, 128, 256, 256], 1, 2, 1, 3, False, "nearest", 1, 1),
    "lung-unet-small": config(4, [16, 32, 64, 128, 256], [16, 32, 64, 128], 2, 0, 2, 1, True, "bilinear", 1, 1),
}

# build_UNet2D_4L's Convolution2D layers in the order build_model.py creates them: (in, out)
IMLAB_4L_CONVS = [(1, 32), (32, 32), (32, 64), (64, 64), (64, 64), (64, 64), (64, 128), (128, 128), (128, 256),
                  (256, 256), (256, 256), (128 + 256, 256),
                  (256, 256), (256, 256), (64 + 256, 256),
                  (256, 128), (128, 128), (64 + 128, 128),
                  (128, 64), (64, 64), (32 + 64, 64),
                  (64, 1)]
IMLAB_4L_PARAMS = 5468897

# Small widths, every up-sampling mode with and without BatchNorm; decoder widths differ from
# the encoder's so that a mix-up shows in the shapes; two cases have convolutions before the
# concatenation and a 3x3 head as the 4l layout (one also its single bottom conv), one has an
# RGB input and two outputs on a non-square input.
SMALL_CASES = [
    ("nearest-bn", config(2, [4, 6, 8], [5, 7], 2, 0, 2, 1, True, "nearest", 1, 1), (64, 64)),
    ("nearest-plain", config(3, [3, 5, 6, 8], [4, 5, 7], 2, 0, 2, 1, False, "nearest", 1, 1), (64, 64)),
    ("bilinear-bn", config(2, [4, 6, 8], [5, 7], 1, 2, 1, 3, True, "bilinear", 1, 1), (64, 64)),
    ("bilinear-plain", config(2, [4, 6, 8], [5, 7], 2, 0, 2, 1, False, "bilinear", 1, 1), (64, 64)),
    ("transposed-bn", config(3, [4, 5, 6, 8], [3, 5, 7], 2, 1, 1, 3, True, "transposed", 1, 1), (64, 64)),
    ("transposed-plain", config(2, [4, 6, 8], [5, 7], 2, 0, 2, 1, False, "transposed", 1, 1), (64, 64)),
    ("bilinear-bn-rgb-48x32", config(3, [4, 6, 6, 8], [5, 6, 7], 2, 0, 2, 1, True, "bilinear", 3, 2), (48, 32)),
]


def subset(t, cap):
    flat = t.detach().to(torch.float32).reshape(-1).numpy()
    step = -(-flat.size // cap)
    step += 1 - step % 2
    return flat[::step].copy(), step


def add_convs(module, cin, width, first, count, batch_norm):
    """conv<k> (and bn<k>) for k = first .. first + count - 1; returns the channels out."""
    for k in range(first, first + count):
        setattr(module, "conv%d" % k, nn.Conv2d(cin, width, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            setattr(module, "bn%d" % k, nn.BatchNorm2d(width))
        cin = width
    return cin


def run_convs(module, x, first, count, batch_norm):
    for k in range(first, first + count):
        x = getattr(module, "conv%d" % k)(x)
        if batch_norm:
            x = getattr(module, "bn%d" % k)(x)
        x = F.relu(x)
    return x


class UNet(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        bn = c["batch_norm"]
        self.down = nn.ModuleList()
        skip_channels, cin = [], c["in_channels"]
        for i in range(c["depth"]):
            level = nn.Module()
            cin = add_convs(level, cin, c["widths"][i], 1, 2, bn)
            skip_channels.append(cin)
            self.down.append(level)
        self.bottom = nn.Module()
        cin = add_convs(self.bottom, cin, c["widths"][c["depth"]], 1, c["bottom_convs"], bn)
        self.up = nn.ModuleDict()   # in the order they run: the deepest level first
        before, after = c["convs_before_concat"], c["convs_after_concat"]
        for i in reversed(range(c["depth"])):
            level, width = nn.Module(), c["up_widths"][i]
            if c["up_mode"] == "transposed":
                level.upconv = nn.ConvTranspose2d(cin, width, 2, stride=2)
                cin = width
            cin = add_convs(level, cin, width, 1, before, bn)
            cin = add_convs(level, skip_channels[i] + cin, width, 1 + before, after, bn)
            self.up[str(i)] = level
        k = c["head_kernel"]
        self.head = nn.Conv2d(cin, c["out_channels"], k, padding=k // 2)

    def forward(self, x):
        c, bn = self.c, self.c["batch_norm"]
        skips = []
        for level in self.down:
            x = run_convs(level, x, 1, 2, bn)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = run_convs(self.bottom, x, 1, c["bottom_convs"], bn)
        before, after = c["convs_before_concat"], c["convs_after_concat"]
        for i in reversed(range(c["depth"])):
            level = self.up[str(i)]
            if c["up_mode"] == "transposed":
                x = level.upconv(x)
            elif c["up_mode"] == "bilinear":
                x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            else:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = run_convs(level, x, 1, before, bn)
            x = torch.cat([skips[i], x], dim=1)
            x = run_convs(level, x, 1 + before, after, bn)
        return self.head(x)


def check_imlab_4l():
    model = UNet(PRESETS["lung-unet-4l"])
    convs = [(m.in_channels, m.out_channels) for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert convs == IMLAB_4L_CONVS, convs
    assert all(m.kernel_size == (3, 3) and m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d))
    count = sum(p.numel() for p in model.parameters())
    assert count == IMLAB_4L_PARAMS, count


def run(c, shape, gradients, dtype):
    """One training-mode pass: the full tensors the record keeps, by name."""
    model = UNet(c)
    fill_module(model)
    model = model.to(dtype).train(True)
    x = torch.from_numpy(det_tensor("input", shape)).to(dtype).requires_grad_(gradients)
    logits = model(x)
    out = {"logits": logits}
    if c["batch_norm"]:
        out["running/down.0.bn1.running_mean"] = model.down[0].bn1.running_mean
        out["running/down.0.bn1.running_var"] = model.down[0].bn1.running_var
    if gradients:
        (torch.from_numpy(det_tensor("probe", tuple(logits.shape))).to(dtype) * logits).sum().backward()
        out["input_grad"] = x.grad
        for name, p in model.named_parameters():
            out["grad/" + name] = p.grad
    return model, {k: v.detach().double() for k, v in out.items()}


def check_conditioning(rid, c, shape, gradients, reference):
    """PyTorch's own float32 pass must meet a tenth of the C test's tolerances: where a ReLU
    input or a max-pool runner-up lies within float32 rounding of its kink, the branch taken
    flips with the rounding, and no float32 implementation can match the float64 reference."""
    _, single = run(c, shape, gradients, torch.float32)
    for name, want in reference.items():
        rtol = BACKWARD_RTOL if name.endswith("grad") or name.startswith("grad/") else FORWARD_RTOL
        err = float((single[name] - want).abs().max() / want.abs().max())
        assert err < rtol / 10, "%s: float32 PyTorch is off by %.2g in %s" % (rid, err, name)


def put_case(w, rid, preset, c, size, gradients):
    shape = (BATCH, c["in_channels"]) + size
    model, reference = run(c, shape, gradients, torch.float64)
    check_conditioning(rid, c, shape, gradients, reference)
    meta = {"preset": preset, "config": c, "input": list(shape), "gradients": gradients,
            "keys": state_keys(model), "steps": {}}
    tensors = {}
    for name, t in reference.items():
        cap = 512 if name.startswith("grad/") else 4096
        tensors[name], meta["steps"][name] = subset(t, cap)
    w.put(rid, meta, tensors)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    check_imlab_4l()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        w = Writer(f, header("reference", tool="gen_unet.py", argv=["tests/ref/gen_unet.py"]))
        put_case(w, "lung-unet-4l", "lung-unet-4l", PRESETS["lung-unet-4l"], (64, 64), True)
        put_case(w, "lung-unet-small", "lung-unet-small", PRESETS["lung-unet-small"], (64, 64), False)
        put_case(w, "lung-unet-small@32", "lung-unet-small", PRESETS["lung-unet-small"], (32, 32), True)
        for name, c, size in SMALL_CASES:
            put_case(w, name, "", c, size, True)
        w.close()


if __name__ == "__main__":
    main()
