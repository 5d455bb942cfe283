#!/usr/bin/env python3
"""Reference for tests/unit/test_{mobilenet,shufflenet,googlenet}.c: torchvision 0.14's
mobilenet_v2, shufflenet_v2_x0_5, shufflenet_v2_x1_0 and googlenet, every parameter and buffer
filled by detweights (so no weights are committed), run once on det_tensor("input", [2, 3, H, W])
in training mode (BatchNorm on batch statistics, dropout 0) at 64x64, in eval mode at 32x32.

Run from the repository root with Debian's torch 1.13:  /usr/bin/python3 tests/ref/gen_tvsmall.py
It writes tests/data/ref/tvsmall.cxs, one record per case:
  id      the model's name at 64x64; "googlenet_aux" with the auxiliary classifiers (their
          dropout 0 too); "<name>@32" at the smallest input, 32x32, and "<name>@80x48", where
          odd sizes meet every stride-2 layer (GoogLeNet's last max pool rounds 5 up to 3),
          forward only in eval mode (googlenet with its auxiliary heads, applied to
          inception4a/4d's outputs)
  meta    input: [N, C, H, W]; mode: "train" or "eval"; num_classes; aux_logits;
          steps: {tensor: step}; and for the 64x64 cases
          keys: the state_dict as "name:d0,d1,..." in order (num_batches_tracked left out),
          f32_error: {tensor: max |float32 result - float64 result| / max |float64 result|},
          how far PyTorch's own float32 run of the same case lands from the reference
  tensors features (pooled, [N, F]), logits, aux1, aux2 (googlenet_aux and googlenet@32), and
          for the 64x64 cases the gradients of
              L = sum(probe * logits) [+ sum(probe_aux1 * aux1) + sum(probe_aux2 * aux2)]
          probe = det_tensor("probe", logits shape), likewise "probe_aux1", "probe_aux2":
          input_grad, grad/<parameter> for a few parameters of the first, a middle and the
          last layers, and running/<buffer>, the first BatchNorm's statistics after the pass.
Each tensor is flattened and only every step-th value is kept (step = ceil(n / cap); cap 4096 for
the outputs and the input gradient at 64x64, 2048 for parameter gradients, 1024 in eval mode), so
the file stays small; the C side takes the same subset.

The reference is computed in float64 from the float32 weights and inputs and rounded to float32,
so it carries no float32 rounding of its own. Training mode at batch 2 is ill-conditioned for
float32: the deepest BatchNorms normalise 8 values per channel (2 at 32x32, where the last maps
are 1x1) and magnify rounding, and ReLUs and max pools then take other branches under it;
f32_error measures that, and the C test scales its tolerance by it where it is large. Hence eval
mode for the other sizes (PyTorch's float32 within 4e-7 of float64 there): they are about the
geometry (padding, ceil-mode pooling, the auxiliary heads' 2x2 -> 4x4 adaptive pooling), which
eval mode checks at the nominal tolerance.
Deterministic: rerunning on the same machine reproduces the file byte for byte.
"""
import os
import sys
from collections import namedtuple

import torch
import torchvision.models as tvm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxstream import Writer, header  # noqa: E402
from detweights import det_tensor, fill_module  # noqa: E402

OUT = "tests/data/ref/tvsmall.cxs"
BATCH = 2
NUM_CLASSES = 1000


def googlenet(aux):
    return tvm.googlenet(aux_logits=aux, dropout=0.0, dropout_aux=0.0, init_weights=False)


class Case(namedtuple("Case", "name make linear bn params")):
    """make(aux) builds the model; linear: the classifier's Linear (its input is the pooled
    features); bn: the first BatchNorm; params: parameters whose gradients are kept (first,
    middle and last layers)."""


CASES = [
    Case("mobilenet_v2", lambda aux: tvm.mobilenet_v2(dropout=0.0), "classifier.1", "features.0.1",
         ["features.0.0.weight", "features.0.1.weight", "features.1.conv.0.0.weight", "features.9.conv.1.0.weight",
          "features.9.conv.3.weight", "features.18.0.weight", "features.18.1.weight", "classifier.1.weight",
          "classifier.1.bias"]),
    Case("shufflenet_v2_x0_5", lambda aux: tvm.shufflenet_v2_x0_5(), "fc", "conv1.1",
         ["conv1.0.weight", "conv1.1.bias", "stage2.0.branch1.0.weight", "stage3.0.branch1.2.weight",
          "stage3.3.branch2.3.weight", "stage3.3.branch2.4.weight", "conv5.0.weight", "conv5.1.bias", "fc.weight",
          "fc.bias"]),
    Case("shufflenet_v2_x1_0", lambda aux: tvm.shufflenet_v2_x1_0(), "fc", "conv1.1",
         ["conv1.0.weight", "conv1.1.weight", "stage3.4.branch2.0.weight", "stage3.4.branch2.3.weight",
          "stage4.0.branch2.5.weight", "conv5.0.weight", "fc.weight", "fc.bias"]),
    Case("googlenet", googlenet, "fc", "conv1.bn",
         ["conv1.conv.weight", "conv1.bn.weight", "inception3a.branch3.1.conv.weight",
          "inception4c.branch2.1.conv.weight", "inception4c.branch4.1.bn.bias", "inception5b.branch1.conv.weight",
          "fc.weight", "fc.bias"]),
]
GOOGLENET_AUX = Case("googlenet_aux", googlenet, "fc", "conv1.bn",
                     ["conv1.conv.weight", "inception4a.branch1.conv.weight", "inception4e.branch4.1.conv.weight",
                      "aux1.conv.conv.weight", "aux1.fc1.weight", "aux1.fc2.bias", "aux2.conv.bn.weight",
                      "aux2.fc2.weight"])


def subset(t, cap):
    flat = t.detach().to(torch.float32).reshape(-1).numpy()
    step = -(-flat.size // cap)
    return flat[::step].copy(), step


def state_keys(model):
    return ["%s:%s" % (k, ",".join(str(d) for d in v.shape))
            for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]


def evaluate(case, height, width, aux, train, dtype):
    """Every recorded tensor in full (float64 copies), computed in dtype, and the model."""
    model = case.make(aux)
    fill_module(model)
    model = model.to(dtype).train(train)
    captured = {}
    modules = dict(model.named_modules())

    def capture(key, from_input):
        def hook(module, inputs, output):   # returns None: the module's output stands
            captured.setdefault(key, inputs[0] if from_input else output)
        return hook

    modules[case.linear].register_forward_hook(capture("features", True))
    if aux:
        modules["inception4a"].register_forward_hook(capture("4a", False))
        modules["inception4d"].register_forward_hook(capture("4d", False))
    x = torch.from_numpy(det_tensor("input", (BATCH, 3, height, width))).to(dtype).requires_grad_(train)
    y = model(x)
    if not aux:
        outputs = {"logits": y}
    elif train:
        # torchvision 0.14's GoogLeNetOutputs names them crosswise (aux_logits1 holds aux2's output)
        outputs = {"logits": y.logits, "aux1": y.aux_logits2, "aux2": y.aux_logits1}
    else:   # torchvision runs the auxiliary heads in training only
        outputs = {"logits": y, "aux1": model.aux1(captured["4a"]), "aux2": model.aux2(captured["4d"])}
    result = {"features": captured["features"]}
    result.update(outputs)
    if train:
        loss = 0
        for name, t in outputs.items():
            probe_name = "probe" if name == "logits" else "probe_" + name
            loss = loss + (torch.from_numpy(det_tensor(probe_name, tuple(t.shape))).to(dtype) * t).sum()
        loss.backward()
        result["input_grad"] = x.grad
        params = dict(model.named_parameters())
        for name in case.params:
            result["grad/" + name] = params[name].grad
        bn = modules[case.bn]
        result["running/%s.running_mean" % case.bn] = bn.running_mean
        result["running/%s.running_var" % case.bn] = bn.running_var
    return {k: v.detach().double() for k, v in result.items()}, model


def relative_error(approx, exact):
    scale = exact.abs().max().item()
    return (approx - exact).abs().max().item() / scale if scale > 0 else 0.0


def run(w, rid, case, height, width, aux, train):
    exact, model = evaluate(case, height, width, aux, train, torch.float64)
    meta = {"input": [BATCH, 3, height, width], "mode": "train" if train else "eval", "num_classes": NUM_CLASSES,
            "aux_logits": aux, "steps": {}}
    tensors = {}
    for name, t in exact.items():
        cap = 1024 if not train else 2048 if name.startswith("grad/") else 4096
        tensors[name], meta["steps"][name] = subset(t, cap)
    if train:
        meta["keys"] = state_keys(model)
        single, _ = evaluate(case, height, width, aux, train, torch.float32)
        meta["f32_error"] = {name: relative_error(single[name], t) for name, t in exact.items()}
    w.put(rid, meta, tensors)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        w = Writer(f, header("reference", tool="gen_tvsmall.py", argv=["tests/ref/gen_tvsmall.py"]))
        for case in CASES:
            run(w, case.name, case, 64, 64, False, True)
        run(w, GOOGLENET_AUX.name, GOOGLENET_AUX, 64, 64, True, True)
        for case in CASES:
            run(w, case.name + "@32", case, 32, 32, case.name == "googlenet", False)
            run(w, case.name + "@80x48", case, 80, 48, case.name == "googlenet", False)
        w.close()


if __name__ == "__main__":
    main()
