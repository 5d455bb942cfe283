#!/usr/bin/env python3
"""Reference for tests/unit/test_densenet.c: torchvision 0.14's densenet121, densenet161,
densenet169 and densenet201, every parameter and buffer filled by detweights (so no weights are
committed), run on det_tensor("input", [2, 3, H, W]); torchvision's DenseNet has drop_rate 0.

Run from the repository root with Debian's torch 1.13:  /usr/bin/python3 tests/ref/gen_densenet.py
It writes tests/data/ref/densenet.cxs, two records per model, in the layout of
tests/ref/gen_tvsmall.py's (whose subset() and state_keys() it shares):
  id      "<name>" at 64x64 in training mode (BatchNorm on batch statistics); "<name>@32" at the
          smallest input, forward only in eval mode (there denseblock4's maps are 1x1, and
          training-mode BatchNorm over two values per channel turns the last bit into the sign
          of the output wherever the two nearly agree; what 32x32 tests is the geometry, which
          eval mode checks as well)
  meta    input: [N, C, H, W]; mode: "train" or "eval"; num_classes; aux_logits (false);
          keys: the state_dict as "name:d0,d1,..." in order, num_batches_tracked left out
          (64x64 only); steps: {tensor: step}; float32_error: {gradient tensor: e} (64x64 only)
  tensors features (the pooled input of the classifier, [N, F]) and logits; at 64x64 also the
          gradients of L = sum(probe * logits), probe = det_tensor("probe", logits shape):
          input_grad, and grad/<parameter> for parameters of the first, a middle and the last
          layers; and running/features.norm0.running_{mean,var} after the pass
Each tensor is flattened and only every step-th value is kept (step = ceil(n / cap); cap 4096 for
the outputs and the input gradient at 64x64, 1024 for parameter gradients and at 32x32).
PyTorch computes in float64 from the float32 weights and inputs, and the results are rounded to
float32, so a reference carries no float32 rounding of its own.

float32_error: the same training step run by PyTorch in float32: max |g32 - g64| / max |g64| over
the whole tensor. Through 120 to 200 layers in float32 some ReLU inputs land within rounding of
zero and switch sides, and training-mode BatchNorm spreads each switched unit's gradient over its
channel and on to every earlier layer: PyTorch's own float32 gradients of the stem differ from
float64 by 4e-3 to 2e-2 here, while its outputs agree to 1e-5. The C test therefore holds the
gradients that pass through the network to TRAIN_GRAD_RTOL of their scale, and this script
refuses a case where PyTorch's float32 itself comes closer than a factor 2 to that bound; the
classifier's gradients depend on the forward pass only and are held to 1e-3. The parameters
below avoid features.norm5, whose 2x2 maps give each switched unit a quarter of its channel.
Deterministic: rerunning reproduces the file byte for byte.
"""
import os
import sys

import torch
import torchvision.models as tvm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxstream import Writer, header  # noqa: E402
from detweights import det_tensor, fill_module  # noqa: E402
from gen_tvsmall import state_keys, subset  # noqa: E402

OUT = "tests/data/ref/densenet.cxs"
BATCH = 2
NUM_CLASSES = 1000
FIRST_BN = "features.norm0"
TRAIN_GRAD_RTOL = 5e-2   # tests/unit/test_densenet.c's tolerance for gradients through the network

# name, constructor, parameters whose gradients are kept: the stem, a dense layer and a
# transition in the middle (a dense layer's conv1 reads the concatenation, so a wrong order of
# the concatenated maps shows there), and the end
MODELS = [
    ("densenet121", tvm.densenet121,
     ["features.conv0.weight", "features.norm0.weight", "features.denseblock2.denselayer7.conv1.weight",
      "features.transition2.conv.weight", "features.denseblock4.denselayer16.norm2.bias", "classifier.weight"]),
    ("densenet161", tvm.densenet161,
     ["features.conv0.weight", "features.denseblock1.denselayer2.norm1.bias",
      "features.denseblock3.denselayer20.conv1.weight", "features.transition1.norm.weight",
      "features.denseblock4.denselayer24.norm2.weight", "classifier.bias"]),
    ("densenet169", tvm.densenet169,
     ["features.conv0.weight", "features.denseblock1.denselayer1.conv1.weight",
      "features.denseblock3.denselayer32.conv2.weight", "features.transition3.conv.weight", "classifier.weight"]),
    ("densenet201", tvm.densenet201,
     ["features.conv0.weight", "features.denseblock1.denselayer6.norm1.weight",
      "features.denseblock3.denselayer48.conv1.weight", "features.denseblock4.denselayer32.conv2.weight",
      "classifier.bias"]),
]


def step(constructor, param_names, size, train, dtype):
    """One pass (and in training mode the backward of sum(probe * logits)) in dtype: the model and
    a map of the recorded tensors."""
    model = constructor()
    fill_module(model)
    model = model.to(dtype).train(train)
    captured = {}
    model.classifier.register_forward_pre_hook(lambda module, inputs: captured.update(features=inputs[0]))
    shape = (BATCH, 3, size, size)
    x = torch.from_numpy(det_tensor("input", shape)).to(dtype).requires_grad_(train)
    logits = model(x)
    tensors = {"features": captured["features"], "logits": logits}
    if train:
        (torch.from_numpy(det_tensor("probe", tuple(logits.shape))).to(dtype) * logits).sum().backward()
        tensors["input_grad"] = x.grad
        params = dict(model.named_parameters())
        for name in param_names:
            tensors["grad/" + name] = params[name].grad
        bn = dict(model.named_modules())[FIRST_BN]
        tensors["running/%s.running_mean" % FIRST_BN] = bn.running_mean
        tensors["running/%s.running_var" % FIRST_BN] = bn.running_var
    return model, {k: t.detach() for k, t in tensors.items()}


def relative_error(got, want):
    return float((got.double() - want).abs().max() / want.abs().max())


def run(w, rid, constructor, param_names, size, train):
    model, ref = step(constructor, param_names, size, train, torch.float64)
    meta = {"input": [BATCH, 3, size, size], "mode": "train" if train else "eval", "num_classes": NUM_CLASSES,
            "aux_logits": False, "steps": {}}
    tensors = {}
    for name, t in ref.items():
        cap = 1024 if name.startswith("grad/") or not train else 4096
        tensors[name], meta["steps"][name] = subset(t, cap)
    if train:
        meta["keys"] = state_keys(model)
        _, ref32 = step(constructor, param_names, size, train, torch.float32)
        meta["float32_error"] = {name: relative_error(ref32[name], t) for name, t in ref.items()
                                 if name == "input_grad" or name.startswith("grad/")}
        for name, error in meta["float32_error"].items():
            if error > TRAIN_GRAD_RTOL / 2:
                sys.exit("%s: %s is too ill-conditioned to test: PyTorch's float32 is off by %.3g"
                         % (rid, name, error))
    w.put(rid, meta, tensors)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        w = Writer(f, header("reference", tool="gen_densenet.py", argv=["tests/ref/gen_densenet.py"]))
        for name, constructor, params in MODELS:
            run(w, name, constructor, params, 64, True)
        for name, constructor, _ in MODELS:
            run(w, name + "@32", constructor, [], 32, False)
        w.close()


if __name__ == "__main__":
    main()
