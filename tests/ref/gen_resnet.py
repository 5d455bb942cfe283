#!/usr/bin/env python3
"""Reference for tests/unit/test_resnet.c: torchvision 0.14's resnet18, resnet34, resnet50,
resnet101 and wide_resnet50_2, every parameter and buffer filled by detweights (so no weights
are committed), run on det_tensor("input", [2, 3, H, W]); torchvision's ResNet has no dropout.

Run from the repository root with Debian's torch 1.13:  /usr/bin/python3 tests/ref/gen_resnet.py
It writes tests/data/ref/resnet.cxs, in the record layout of tests/ref/gen_tvsmall.py (whose
subset() and state_keys() it shares), with f32_error:
  id      "<name>" at 64x64 in training mode (BatchNorm on batch statistics), every model;
          "<name>@32" at the smallest input, forward only in eval mode, for resnet18 and
          resnet50 (the geometry is the block type's, not the depth's). Eval mode because
          there layer4's maps are 1x1, and training-mode BatchNorm on two values per channel
          turns the last bit into the sign of the output wherever the two nearly agree
  meta    input: [N, C, H, W]; mode: "train" or "eval"; num_classes; aux_logits (false);
          keys: the state_dict as "name:d0,d1,..." in order, num_batches_tracked left out
          (training records); steps: {tensor: step};
          f32_error: {tensor: max|float32 - float64| / max|float64|}, the same pass run by
          PyTorch in float32, to two significant digits: how close any float32 computation
          can be expected to come (see test_resnet.c)
  tensors features (the pooled input of fc, [N, F]) and logits; in training also the gradients
          of L = sum(probe * logits), probe = det_tensor("probe", logits shape): input_grad, and
          grad/<parameter> for parameters of the first, a middle and the last layers; and
          running/bn1.running_mean, running/bn1.running_var after the pass
Each tensor is flattened and only every step-th value is kept (step = ceil(n / cap); cap 4096 for
the outputs and the input gradient in training, 2048 for parameter gradients, 1024 at 32x32).
The reference is PyTorch's float64 pass from the float32 weights and inputs, rounded to float32,
so it carries no float32 rounding of its own.
Deterministic: rerunning reproduces the file byte for byte on the same machine (f32_error,
rounded as it is, could differ in its last digit where PyTorch picks other float32 kernels).
"""
import os
import sys

import torch
import torchvision.models as tvm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxstream import Writer, header  # noqa: E402
from detweights import det_tensor, fill_module  # noqa: E402
from gen_tvsmall import state_keys, subset  # noqa: E402

OUT = "tests/data/ref/resnet.cxs"
BATCH = 2
NUM_CLASSES = 1000

# name, constructor, parameters whose gradients are kept: of the first, a middle and the last
# layers, a downsample shortcut's among them
MODELS = [
    ("resnet18", tvm.resnet18,
     ["conv1.weight", "bn1.weight", "layer2.0.downsample.0.weight", "layer3.1.conv2.weight", "layer4.1.bn2.bias",
      "fc.weight", "fc.bias"]),
    ("resnet34", tvm.resnet34,
     ["conv1.weight", "bn1.bias", "layer3.0.downsample.1.weight", "layer3.3.conv1.weight", "layer4.2.conv2.weight",
      "fc.weight", "fc.bias"]),
    ("resnet50", tvm.resnet50,
     ["conv1.weight", "bn1.weight", "layer1.0.downsample.0.weight", "layer3.2.conv2.weight", "layer4.2.bn3.weight",
      "fc.weight", "fc.bias"]),
    ("resnet101", tvm.resnet101,
     ["conv1.weight", "bn1.bias", "layer3.11.conv3.weight", "layer3.22.bn2.weight", "layer4.0.downsample.0.weight",
      "fc.weight", "fc.bias"]),
    ("wide_resnet50_2", tvm.wide_resnet50_2,
     ["conv1.weight", "bn1.weight", "layer2.0.conv2.weight", "layer3.0.downsample.1.bias", "layer4.2.conv3.weight",
      "fc.weight", "fc.bias"]),
]
SMALLEST_INPUT = ["resnet18", "resnet50"]


def one_pass(model, dtype, size, train, param_names):
    """The record's tensors, unsubsampled, from one pass of a detweights-filled model in dtype."""
    fill_module(model)
    model = model.to(dtype).train(train)
    captured = {}

    def capture_features(module, inputs):
        captured["features"] = inputs[0]

    model.fc.register_forward_pre_hook(capture_features)
    x = torch.from_numpy(det_tensor("input", (BATCH, 3, size, size))).to(dtype).requires_grad_(train)
    logits = model(x)
    out = {"features": captured["features"], "logits": logits}
    if train:
        probe = torch.from_numpy(det_tensor("probe", tuple(logits.shape))).to(dtype)
        (probe * logits).sum().backward()
        out["input_grad"] = x.grad
        params = dict(model.named_parameters())
        for name in param_names:
            out["grad/" + name] = params[name].grad
        out["running/bn1.running_mean"] = model.bn1.running_mean
        out["running/bn1.running_var"] = model.bn1.running_var
    return {name: t.detach().double() for name, t in out.items()}


def relative_error(got, want):
    return float("%.2g" % ((got - want).abs().max() / want.abs().max()).item())


def run(w, rid, constructor, param_names, size, train):
    model = constructor()
    reference = one_pass(model, torch.float64, size, train, param_names)
    in_float32 = one_pass(constructor(), torch.float32, size, train, param_names)
    meta = {"input": [BATCH, 3, size, size], "mode": "train" if train else "eval", "num_classes": NUM_CLASSES,
            "aux_logits": False, "steps": {}, "f32_error": {}}
    if train:
        meta["keys"] = state_keys(model)
    tensors = {}
    for name, t in reference.items():
        cap = 1024 if not train else 2048 if name.startswith("grad/") else 4096
        tensors[name], meta["steps"][name] = subset(t, cap)
        meta["f32_error"][name] = relative_error(in_float32[name], t)
    w.put(rid, meta, tensors)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        w = Writer(f, header("reference", tool="gen_resnet.py", argv=["tests/ref/gen_resnet.py"]))
        for name, constructor, params in MODELS:
            run(w, name, constructor, params, 64, True)
        for name, constructor, _ in MODELS:
            if name in SMALLEST_INPUT:
                run(w, name + "@32", constructor, [], 32, False)
        w.close()


if __name__ == "__main__":
    main()
