#!/usr/bin/env python3
"""Reference for tests/unit/test_efficientnet.c: timm's efficientnet_b0, efficientnet_b1_pruned,
efficientnet_es, efficientnet_es_pruned and efficientnet_lite0.

timm is not in Debian, so this file re-implements the three blocks and the model compactly from
timm's definitions (the block strings of timm/models/efficientnet.py, the rounding and SE widths
of _efficientnet_builder.py, the blocks of _efficientnet_blocks.py, TensorFlow "same" padding of
timm/layers/padding.py), with timm's module names registered in timm's order so that the
state_dict keys are timm's, in timm's order. Before writing anything it checks each model's
parameter count against the number timm publishes, and efficientnet_b1_pruned's keys and shapes
against timm's manifest timm/models/_pruned/efficientnet_b1_pruned.txt (embedded below as timm
ships it; timm builds that model from it, and so does this file).

Every parameter and buffer is filled by detweights (so no weights are committed) and the model
runs on det_tensor("input", [2, 3, H, W]): at 64x64 once in training mode (BatchNorm on batch
statistics, classifier dropout 0) with backward; at 32x32, the smallest input, in inference mode
(running statistics), forward only -- in training mode a batch of two 1x1 maps makes the last
BatchNorms chaotic (PyTorch's own float32 and float64 results differ by O(1) there).

Run from the repository root with Debian's torch 1.13:  /usr/bin/python3 tests/ref/gen_effnet.py
It writes tests/data/ref/effnet.cxs, one record per case:
  id      the model's name at 64x64; "<name>@32" at 32x32
  meta    input: [N, C, H, W]; mode: "train" or "eval"; num_classes; params: the parameter count;
          steps: {tensor: step}; rtol: {tensor: tolerance}; 64x64 cases: keys: the state_dict as
          "name:d0,d1,..." in order (num_batches_tracked left out), and for
          efficientnet_b1_pruned also manifest: timm's manifest in the same form
  tensors features (pooled, [N, 1280]) and logits; at 64x64 the gradients of
          L = sum(probe * logits), probe = det_tensor("probe", [N, 1000]): input_grad, grad/<name>
          for parameters of the first, a middle and the last layers; and running/bn1.running_mean,
          running/bn1.running_var, the first BatchNorm's statistics after the pass.
Each tensor is flattened and only every step-th value is kept (step = ceil(n / cap), cap 4096 at
64x64 and 1024 at 32x32), so the file stays small; the C side takes the same subset.
PyTorch computes in float64 from the float32 weights and inputs and the results are rounded to
float32, so a reference carries no float32 rounding of its own.
Tolerances: an implementation matches a tensor when every kept value is within rtol times the
tensor's largest magnitude; rtol is 1e-4 forward (features, logits, running statistics) and 1e-3
backward, or twice the reference's own spread where that is larger: the largest relative change
of the tensor when every parameter is scaled by 1 + 1e-6 * N(0, 1) (two draws), about the
rounding a float32 implementation accumulates. The ReLU models (es, lite0) need it: in training
mode a pre-activation within float32 rounding of a kink flips its unit, and through the
BatchNorms' batch statistics that moves every gradient upstream of it by up to a few percent.
Deterministic: rerunning reproduces the file byte for byte.
"""
import math
import os
import re
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxstream import Writer, header  # noqa: E402
from detweights import det_tensor, fill_module  # noqa: E402

OUT = "tests/data/ref/effnet.cxs"
BATCH = 2
NUM_CLASSES = 1000
STEM = 32
HEAD = 1280
# The tolerance asked of an implementation, relative to the tensor's largest value: 1e-4 forward
# and 1e-3 backward, or twice the reference's own spread under PERTURBATION where that is larger.
FORWARD_RTOL = 1e-4
BACKWARD_RTOL = 1e-3
PERTURBATION = 1e-6

# timm's architecture definitions, one block string per stage
ARCH_B0 = ["ds_r1_k3_s1_e1_c16_se0.25", "ir_r2_k3_s2_e6_c24_se0.25", "ir_r2_k5_s2_e6_c40_se0.25",
           "ir_r3_k3_s2_e6_c80_se0.25", "ir_r3_k5_s1_e6_c112_se0.25", "ir_r4_k5_s2_e6_c192_se0.25",
           "ir_r1_k3_s1_e6_c320_se0.25"]
ARCH_LITE = ["ds_r1_k3_s1_e1_c16", "ir_r2_k3_s2_e6_c24", "ir_r2_k5_s2_e6_c40", "ir_r3_k3_s2_e6_c80",
             "ir_r3_k5_s1_e6_c112", "ir_r4_k5_s2_e6_c192", "ir_r1_k3_s1_e6_c320"]
ARCH_EDGE = ["er_r1_k3_s1_e4_c24_fc24_noskip", "er_r2_k3_s2_e8_c32", "er_r4_k3_s2_e8_c48", "ir_r5_k5_s2_e8_c96",
             "ir_r4_k5_s1_e8_c144", "ir_r2_k5_s2_e8_c192"]


def decode(block_str):
    """{type}_r{repeats}_k{kernel}_s{stride}_e{expansion}_c{out}[_se{ratio}][_fc{in}][_noskip]"""
    kind, *ops = block_str.split("_")
    d = {"kind": kind, "e": 1.0, "se": 0.0, "fc": 0, "noskip": False}
    for op in ops:
        if op == "noskip":
            d["noskip"] = True
            continue
        key, value = re.fullmatch(r"([a-z]+)(\d.*)", op).groups()
        d[key] = float(value) if key in ("e", "se") else int(value)
    return d


def make_divisible(v, divisor=8, round_limit=0.9):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < round_limit * v else new_v


def block_configs(arch, depth, with_se):
    """Every block's kind, kernel, stride, widths (in, mid, out, se) and skip, as timm's builder
    computes them at channel multiplier 1.0 (round_channels is make_divisible there)."""
    cfgs, in_chs = [], STEM
    for stage, d in enumerate(map(decode, arch)):
        for i in range(int(math.ceil(d["r"] * depth))):
            stride = d["s"] if i == 0 else 1
            out = make_divisible(d["c"])
            if d["kind"] == "ds":
                mid, exp = in_chs, 1.0
            else:
                exp = d["e"]
                mid = make_divisible((make_divisible(d["fc"]) if d["fc"] else in_chs) * exp)
            se = round(mid * (d["se"] / exp)) if with_se and d["se"] else 0
            cfgs.append({"name": "%d.%d" % (stage, i), "kind": d["kind"], "k": d["k"], "stride": stride,
                         "in": in_chs, "mid": mid, "out": out, "se": se,
                         "skip": stride == 1 and in_chs == out and not d["noskip"]})
            in_chs = out
    return cfgs


def parse_manifest():
    """[(key, shape)] in timm's order, num_batches_tracked left out."""
    entries = []
    for item in MANIFEST.split("***"):
        key, shape = item.split(":")
        if not key.endswith("num_batches_tracked"):
            entries.append((key, tuple(int(s) for s in re.findall(r"\d+", shape))))
    return entries


def pruned_configs(cfgs, manifest):
    """timm's adapt_model_from_file: the unpruned model's blocks (kind, kernel, stride, skip) with
    every width taken from the manifest's shapes."""
    shapes = dict(manifest)
    for c in cfgs:
        p = "blocks.%s." % c["name"]
        first = shapes[p + ("conv_dw.weight" if c["kind"] == "ds" else "conv_pw.weight")]
        c["in"] = first[0] if c["kind"] == "ds" else first[1]
        c["mid"] = first[0]
        c["out"] = shapes[p + ("conv_pw.weight" if c["kind"] == "ds" else "conv_pwl.weight")][0]
        c["se"] = shapes[p + "se.conv_reduce.weight"][0] if p + "se.conv_reduce.weight" in shapes else 0
    return cfgs


def same_padding(n, k, s):
    return max((math.ceil(n / s) - 1) * s + k - n, 0)


class Conv2dSame(nn.Conv2d):
    """TensorFlow "same": the padding follows the input size, the smaller half before."""

    def forward(self, x):
        ph = same_padding(x.shape[-2], self.kernel_size[0], self.stride[0])
        pw = same_padding(x.shape[-1], self.kernel_size[1], self.stride[1])
        return super().forward(F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2]))


def conv(cin, cout, k, stride=1, groups=1, same=False):
    if same:
        return Conv2dSame(cin, cout, k, stride, 0, groups=groups, bias=False)
    return nn.Conv2d(cin, cout, k, stride, ((stride - 1) + (k - 1)) // 2, groups=groups, bias=False)


class SqueezeExcite(nn.Module):
    def __init__(self, chs, reduced, act):
        super().__init__()
        self.conv_reduce = nn.Conv2d(chs, reduced, 1)
        self.conv_expand = nn.Conv2d(reduced, chs, 1)
        self.act = act

    def forward(self, x):
        s = self.act(self.conv_reduce(x.mean((2, 3), keepdim=True)))
        return x * torch.sigmoid(self.conv_expand(s))


class Block(nn.Module):
    """timm's DepthwiseSeparableConv ("ds"), InvertedResidual ("ir") or EdgeResidual ("er"),
    modules registered in timm's order."""

    def __init__(self, c, act, eps, same):
        super().__init__()
        self.kind, self.skip, self.act = c["kind"], c["skip"], act
        se = SqueezeExcite(c["mid"], c["se"], act) if c["se"] else None
        if c["kind"] == "ds":
            self.conv_dw = conv(c["in"], c["in"], c["k"], c["stride"], c["in"], same)
            self.bn1 = nn.BatchNorm2d(c["in"], eps)
            self.se = se
            self.conv_pw = conv(c["in"], c["out"], 1, same=same)
            self.bn2 = nn.BatchNorm2d(c["out"], eps)
        elif c["kind"] == "ir":
            self.conv_pw = conv(c["in"], c["mid"], 1, same=same)
            self.bn1 = nn.BatchNorm2d(c["mid"], eps)
            self.conv_dw = conv(c["mid"], c["mid"], c["k"], c["stride"], c["mid"], same)
            self.bn2 = nn.BatchNorm2d(c["mid"], eps)
            self.se = se
            self.conv_pwl = conv(c["mid"], c["out"], 1, same=same)
            self.bn3 = nn.BatchNorm2d(c["out"], eps)
        else:
            self.conv_exp = conv(c["in"], c["mid"], c["k"], c["stride"], 1, same)
            self.bn1 = nn.BatchNorm2d(c["mid"], eps)
            self.se = se
            self.conv_pwl = conv(c["mid"], c["out"], 1, same=same)
            self.bn2 = nn.BatchNorm2d(c["out"], eps)

    def forward(self, x):
        act, se = self.act, self.se or (lambda y: y)
        if self.kind == "ds":
            y = self.bn2(self.conv_pw(se(act(self.bn1(self.conv_dw(x))))))
        elif self.kind == "ir":
            y = act(self.bn2(self.conv_dw(act(self.bn1(self.conv_pw(x))))))
            y = self.bn3(self.conv_pwl(se(y)))
        else:
            y = self.bn2(self.conv_pwl(se(act(self.bn1(self.conv_exp(x))))))
        return y + x if self.skip else y


class EfficientNet(nn.Module):
    """forward returns (pooled features, logits); timm's dropout before the classifier is left
    out, the parity runs use rate 0."""

    def __init__(self, cfgs, act, eps, same):
        super().__init__()
        self.act = act
        self.conv_stem = conv(3, STEM, 3, 2, same=same)
        self.bn1 = nn.BatchNorm2d(STEM, eps)
        stages = []
        for c in cfgs:
            if c["name"].endswith(".0"):
                stages.append([])
            stages[-1].append(Block(c, act, eps, same))
        self.blocks = nn.Sequential(*[nn.Sequential(*s) for s in stages])
        self.conv_head = conv(cfgs[-1]["out"], HEAD, 1, same=same)
        self.bn2 = nn.BatchNorm2d(HEAD, eps)
        self.classifier = nn.Linear(HEAD, NUM_CLASSES)

    def forward(self, x):
        x = self.act(self.bn1(self.conv_stem(x)))
        x = self.act(self.bn2(self.conv_head(self.blocks(x))))
        features = x.mean((2, 3))
        return features, self.classifier(features)


# name, architecture, depth multiplier, SE, activation, BatchNorm eps, "same" padding, pruned,
# published parameter count, parameters whose gradients are kept (first, middle and last layers)
MODELS = [
    ("efficientnet_b0", ARCH_B0, 1.0, True, F.silu, 1e-5, False, False, 5288548,
     ["conv_stem.weight", "bn1.weight", "blocks.0.0.se.conv_reduce.bias", "blocks.3.1.conv_dw.weight",
      "blocks.3.1.se.conv_expand.weight", "blocks.3.1.bn2.bias", "conv_head.weight", "bn2.weight",
      "classifier.bias"]),
    ("efficientnet_b1_pruned", ARCH_B0, 1.1, True, F.silu, 1e-3, True, True, 6331916,
     ["conv_stem.weight", "bn1.bias", "blocks.0.1.conv_dw.weight", "blocks.2.0.conv_dw.weight",
      "blocks.5.0.se.conv_reduce.weight", "blocks.6.1.conv_pwl.weight", "conv_head.weight", "classifier.bias"]),
    ("efficientnet_es", ARCH_EDGE, 1.0, False, F.relu, 1e-5, False, False, 5438392,
     ["conv_stem.weight", "bn1.weight", "blocks.0.0.conv_exp.weight", "blocks.1.1.conv_exp.weight",
      "blocks.3.2.conv_dw.weight", "blocks.5.1.conv_pwl.weight", "conv_head.weight", "classifier.bias"]),
    ("efficientnet_es_pruned", ARCH_EDGE, 1.0, False, F.relu, 1e-5, False, False, 5438392,
     ["conv_stem.weight", "blocks.0.0.bn2.weight", "blocks.2.3.conv_pwl.weight", "blocks.4.0.conv_pw.weight",
      "bn2.bias", "classifier.bias"]),
    ("efficientnet_lite0", ARCH_LITE, 1.0, False, F.relu6, 1e-5, False, False, 4652008,
     ["conv_stem.weight", "bn1.weight", "blocks.0.0.conv_pw.weight", "blocks.4.1.conv_dw.weight",
      "blocks.4.1.bn2.bias", "blocks.6.0.conv_pwl.weight", "conv_head.weight", "bn2.bias", "classifier.bias"]),
]


def key_strings(entries):
    return ["%s:%s" % (k, ",".join(str(d) for d in shape)) for k, shape in entries]


def build(name, arch, depth, with_se, act, eps, same, pruned, published):
    cfgs = block_configs(arch, depth, with_se)
    if pruned:
        cfgs = pruned_configs(cfgs, parse_manifest())
    model = EfficientNet(cfgs, act, eps, same)
    count = sum(p.numel() for p in model.parameters())
    if count != published:
        sys.exit("%s: %d parameters, timm publishes %d" % (name, count, published))
    keys = key_strings((k, tuple(v.shape)) for k, v in model.state_dict().items()
                       if not k.endswith("num_batches_tracked"))
    if pruned and keys != key_strings(parse_manifest()):
        sys.exit("%s: the module's keys and shapes differ from timm's manifest" % name)
    return model, keys, count


def subset(t, cap):
    flat = t.detach().to(torch.float32).reshape(-1).numpy()
    step = -(-flat.size // cap)
    return flat[::step].copy(), step


def evaluate(spec, size, train, noise=0.0, seed=0):
    """Every tensor the fixture keeps, in full: the model on detweights (each parameter scaled by
    1 + noise * N(0, 1) when noise > 0), one pass in training mode with backward, or in inference
    mode forward only."""
    name, arch, depth, with_se, act, eps, same, pruned, published, param_names = spec
    model, keys, count = build(name, arch, depth, with_se, act, eps, same, pruned, published)
    fill_module(model)
    model = model.double().train(train)
    if noise:
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1 + noise * torch.randn(p.shape, generator=g, dtype=torch.float64))
    x = torch.from_numpy(det_tensor("input", (BATCH, 3, size, size))).double().requires_grad_(train)
    with torch.set_grad_enabled(train):
        features, logits = model(x)
    out = {"features": features, "logits": logits}
    if train:
        probe = torch.from_numpy(det_tensor("probe", tuple(logits.shape))).double()
        (probe * logits).sum().backward()
        out["input_grad"] = x.grad
        params = dict(model.named_parameters())
        for p in param_names:
            out["grad/" + p] = params[p].grad
        out["running/bn1.running_mean"] = model.bn1.running_mean
        out["running/bn1.running_var"] = model.bn1.running_var
    return {k: v.detach() for k, v in out.items()}, keys, count


def run(w, spec, size):
    name, pruned = spec[0], spec[7]
    train = size == 64
    ref, keys, count = evaluate(spec, size, train)
    perturbed = [evaluate(spec, size, train, PERTURBATION, seed)[0] for seed in (1, 2)]
    meta = {"input": [BATCH, 3, size, size], "mode": "train" if train else "eval", "num_classes": NUM_CLASSES,
            "params": count, "steps": {}, "rtol": {}}
    if train:
        meta["keys"] = keys
        if pruned:
            meta["manifest"] = key_strings(parse_manifest())
    tensors = {}
    for tensor_name, t in ref.items():
        tensors[tensor_name], meta["steps"][tensor_name] = subset(t, 4096 if train else 1024)
        spread = max(((p[tensor_name] - t).abs().max() / t.abs().max()).item() for p in perturbed)
        floor = BACKWARD_RTOL if tensor_name == "input_grad" or tensor_name.startswith("grad/") else FORWARD_RTOL
        meta["rtol"][tensor_name] = float("%.2g" % max(floor, 2 * spread))
    w.put(name if train else "%s@%d" % (name, size), meta, tensors)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        w = Writer(f, header("reference", tool="gen_effnet.py", argv=["tests/ref/gen_effnet.py"]))
        for spec in MODELS:
            run(w, spec, 64)
        for spec in MODELS:
            run(w, spec, 32)
        w.close()


# timm/models/_pruned/efficientnet_b1_pruned.txt, verbatim (18,596 characters, one line in timm)
MANIFEST = (
    "conv_stem.weight:[32, 3, 3, 3]***bn1.weight:[32]***bn1.bias:[32]***bn1.running_mean:[32]***"
    "bn1.running_var:[32]***bn1.num_batches_tracked:[]***blocks.0.0.conv_dw.weight:[32, 1, 3, 3]***"
    "blocks.0.0.bn1.weight:[32]***blocks.0.0.bn1.bias:[32]***blocks.0.0.bn1.running_mean:[32]***"
    "blocks.0.0.bn1.running_var:[32]***blocks.0.0.bn1.num_batches_tracked:[]***"
    "blocks.0.0.se.conv_reduce.weight:[8, 32, 1, 1]***blocks.0.0.se.conv_reduce.bias:[8]***"
    "blocks.0.0.se.conv_expand.weight:[32, 8, 1, 1]***blocks.0.0.se.conv_expand.bias:[32]***"
    "blocks.0.0.conv_pw.weight:[16, 32, 1, 1]***blocks.0.0.bn2.weight:[16]***blocks.0.0.bn2.bias:[16]***"
    "blocks.0.0.bn2.running_mean:[16]***blocks.0.0.bn2.running_var:[16]***"
    "blocks.0.0.bn2.num_batches_tracked:[]***blocks.0.1.conv_dw.weight:[16, 1, 3, 3]***"
    "blocks.0.1.bn1.weight:[16]***blocks.0.1.bn1.bias:[16]***blocks.0.1.bn1.running_mean:[16]***"
    "blocks.0.1.bn1.running_var:[16]***blocks.0.1.bn1.num_batches_tracked:[]***"
    "blocks.0.1.se.conv_reduce.weight:[4, 16, 1, 1]***blocks.0.1.se.conv_reduce.bias:[4]***"
    "blocks.0.1.se.conv_expand.weight:[16, 4, 1, 1]***blocks.0.1.se.conv_expand.bias:[16]***"
    "blocks.0.1.conv_pw.weight:[16, 16, 1, 1]***blocks.0.1.bn2.weight:[16]***blocks.0.1.bn2.bias:[16]***"
    "blocks.0.1.bn2.running_mean:[16]***blocks.0.1.bn2.running_var:[16]***"
    "blocks.0.1.bn2.num_batches_tracked:[]***blocks.1.0.conv_pw.weight:[48, 16, 1, 1]***"
    "blocks.1.0.bn1.weight:[48]***blocks.1.0.bn1.bias:[48]***blocks.1.0.bn1.running_mean:[48]***"
    "blocks.1.0.bn1.running_var:[48]***blocks.1.0.bn1.num_batches_tracked:[]***"
    "blocks.1.0.conv_dw.weight:[48, 1, 3, 3]***blocks.1.0.bn2.weight:[48]***blocks.1.0.bn2.bias:[48]***"
    "blocks.1.0.bn2.running_mean:[48]***blocks.1.0.bn2.running_var:[48]***"
    "blocks.1.0.bn2.num_batches_tracked:[]***blocks.1.0.se.conv_reduce.weight:[4, 48, 1, 1]***"
    "blocks.1.0.se.conv_reduce.bias:[4]***blocks.1.0.se.conv_expand.weight:[48, 4, 1, 1]***"
    "blocks.1.0.se.conv_expand.bias:[48]***blocks.1.0.conv_pwl.weight:[12, 48, 1, 1]***"
    "blocks.1.0.bn3.weight:[12]***blocks.1.0.bn3.bias:[12]***blocks.1.0.bn3.running_mean:[12]***"
    "blocks.1.0.bn3.running_var:[12]***blocks.1.0.bn3.num_batches_tracked:[]***"
    "blocks.1.1.conv_pw.weight:[62, 12, 1, 1]***blocks.1.1.bn1.weight:[62]***blocks.1.1.bn1.bias:[62]***"
    "blocks.1.1.bn1.running_mean:[62]***blocks.1.1.bn1.running_var:[62]***"
    "blocks.1.1.bn1.num_batches_tracked:[]***blocks.1.1.conv_dw.weight:[62, 1, 3, 3]***"
    "blocks.1.1.bn2.weight:[62]***blocks.1.1.bn2.bias:[62]***blocks.1.1.bn2.running_mean:[62]***"
    "blocks.1.1.bn2.running_var:[62]***blocks.1.1.bn2.num_batches_tracked:[]***"
    "blocks.1.1.se.conv_reduce.weight:[6, 62, 1, 1]***blocks.1.1.se.conv_reduce.bias:[6]***"
    "blocks.1.1.se.conv_expand.weight:[62, 6, 1, 1]***blocks.1.1.se.conv_expand.bias:[62]***"
    "blocks.1.1.conv_pwl.weight:[12, 62, 1, 1]***blocks.1.1.bn3.weight:[12]***blocks.1.1.bn3.bias:[12]***"
    "blocks.1.1.bn3.running_mean:[12]***blocks.1.1.bn3.running_var:[12]***"
    "blocks.1.1.bn3.num_batches_tracked:[]***blocks.1.2.conv_pw.weight:[48, 12, 1, 1]***"
    "blocks.1.2.bn1.weight:[48]***blocks.1.2.bn1.bias:[48]***blocks.1.2.bn1.running_mean:[48]***"
    "blocks.1.2.bn1.running_var:[48]***blocks.1.2.bn1.num_batches_tracked:[]***"
    "blocks.1.2.conv_dw.weight:[48, 1, 3, 3]***blocks.1.2.bn2.weight:[48]***blocks.1.2.bn2.bias:[48]***"
    "blocks.1.2.bn2.running_mean:[48]***blocks.1.2.bn2.running_var:[48]***"
    "blocks.1.2.bn2.num_batches_tracked:[]***blocks.1.2.se.conv_reduce.weight:[6, 48, 1, 1]***"
    "blocks.1.2.se.conv_reduce.bias:[6]***blocks.1.2.se.conv_expand.weight:[48, 6, 1, 1]***"
    "blocks.1.2.se.conv_expand.bias:[48]***blocks.1.2.conv_pwl.weight:[12, 48, 1, 1]***"
    "blocks.1.2.bn3.weight:[12]***blocks.1.2.bn3.bias:[12]***blocks.1.2.bn3.running_mean:[12]***"
    "blocks.1.2.bn3.running_var:[12]***blocks.1.2.bn3.num_batches_tracked:[]***"
    "blocks.2.0.conv_pw.weight:[70, 12, 1, 1]***blocks.2.0.bn1.weight:[70]***blocks.2.0.bn1.bias:[70]***"
    "blocks.2.0.bn1.running_mean:[70]***blocks.2.0.bn1.running_var:[70]***"
    "blocks.2.0.bn1.num_batches_tracked:[]***blocks.2.0.conv_dw.weight:[70, 1, 5, 5]***"
    "blocks.2.0.bn2.weight:[70]***blocks.2.0.bn2.bias:[70]***blocks.2.0.bn2.running_mean:[70]***"
    "blocks.2.0.bn2.running_var:[70]***blocks.2.0.bn2.num_batches_tracked:[]***"
    "blocks.2.0.se.conv_reduce.weight:[6, 70, 1, 1]***blocks.2.0.se.conv_reduce.bias:[6]***"
    "blocks.2.0.se.conv_expand.weight:[70, 6, 1, 1]***blocks.2.0.se.conv_expand.bias:[70]***"
    "blocks.2.0.conv_pwl.weight:[35, 70, 1, 1]***blocks.2.0.bn3.weight:[35]***blocks.2.0.bn3.bias:[35]***"
    "blocks.2.0.bn3.running_mean:[35]***blocks.2.0.bn3.running_var:[35]***"
    "blocks.2.0.bn3.num_batches_tracked:[]***blocks.2.1.conv_pw.weight:[61, 35, 1, 1]***"
    "blocks.2.1.bn1.weight:[61]***blocks.2.1.bn1.bias:[61]***blocks.2.1.bn1.running_mean:[61]***"
    "blocks.2.1.bn1.running_var:[61]***blocks.2.1.bn1.num_batches_tracked:[]***"
    "blocks.2.1.conv_dw.weight:[61, 1, 5, 5]***blocks.2.1.bn2.weight:[61]***blocks.2.1.bn2.bias:[61]***"
    "blocks.2.1.bn2.running_mean:[61]***blocks.2.1.bn2.running_var:[61]***"
    "blocks.2.1.bn2.num_batches_tracked:[]***blocks.2.1.se.conv_reduce.weight:[10, 61, 1, 1]***"
    "blocks.2.1.se.conv_reduce.bias:[10]***blocks.2.1.se.conv_expand.weight:[61, 10, 1, 1]***"
    "blocks.2.1.se.conv_expand.bias:[61]***blocks.2.1.conv_pwl.weight:[35, 61, 1, 1]***"
    "blocks.2.1.bn3.weight:[35]***blocks.2.1.bn3.bias:[35]***blocks.2.1.bn3.running_mean:[35]***"
    "blocks.2.1.bn3.running_var:[35]***blocks.2.1.bn3.num_batches_tracked:[]***"
    "blocks.2.2.conv_pw.weight:[51, 35, 1, 1]***blocks.2.2.bn1.weight:[51]***blocks.2.2.bn1.bias:[51]***"
    "blocks.2.2.bn1.running_mean:[51]***blocks.2.2.bn1.running_var:[51]***"
    "blocks.2.2.bn1.num_batches_tracked:[]***blocks.2.2.conv_dw.weight:[51, 1, 5, 5]***"
    "blocks.2.2.bn2.weight:[51]***blocks.2.2.bn2.bias:[51]***blocks.2.2.bn2.running_mean:[51]***"
    "blocks.2.2.bn2.running_var:[51]***blocks.2.2.bn2.num_batches_tracked:[]***"
    "blocks.2.2.se.conv_reduce.weight:[10, 51, 1, 1]***blocks.2.2.se.conv_reduce.bias:[10]***"
    "blocks.2.2.se.conv_expand.weight:[51, 10, 1, 1]***blocks.2.2.se.conv_expand.bias:[51]***"
    "blocks.2.2.conv_pwl.weight:[35, 51, 1, 1]***blocks.2.2.bn3.weight:[35]***blocks.2.2.bn3.bias:[35]***"
    "blocks.2.2.bn3.running_mean:[35]***blocks.2.2.bn3.running_var:[35]***"
    "blocks.2.2.bn3.num_batches_tracked:[]***blocks.3.0.conv_pw.weight:[175, 35, 1, 1]***"
    "blocks.3.0.bn1.weight:[175]***blocks.3.0.bn1.bias:[175]***blocks.3.0.bn1.running_mean:[175]***"
    "blocks.3.0.bn1.running_var:[175]***blocks.3.0.bn1.num_batches_tracked:[]***"
    "blocks.3.0.conv_dw.weight:[175, 1, 3, 3]***blocks.3.0.bn2.weight:[175]***blocks.3.0.bn2.bias:[175]***"
    "blocks.3.0.bn2.running_mean:[175]***blocks.3.0.bn2.running_var:[175]***"
    "blocks.3.0.bn2.num_batches_tracked:[]***blocks.3.0.se.conv_reduce.weight:[10, 175, 1, 1]***"
    "blocks.3.0.se.conv_reduce.bias:[10]***blocks.3.0.se.conv_expand.weight:[175, 10, 1, 1]***"
    "blocks.3.0.se.conv_expand.bias:[175]***blocks.3.0.conv_pwl.weight:[74, 175, 1, 1]***"
    "blocks.3.0.bn3.weight:[74]***blocks.3.0.bn3.bias:[74]***blocks.3.0.bn3.running_mean:[74]***"
    "blocks.3.0.bn3.running_var:[74]***blocks.3.0.bn3.num_batches_tracked:[]***"
    "blocks.3.1.conv_pw.weight:[188, 74, 1, 1]***blocks.3.1.bn1.weight:[188]***blocks.3.1.bn1.bias:[188]***"
    "blocks.3.1.bn1.running_mean:[188]***blocks.3.1.bn1.running_var:[188]***"
    "blocks.3.1.bn1.num_batches_tracked:[]***blocks.3.1.conv_dw.weight:[188, 1, 3, 3]***"
    "blocks.3.1.bn2.weight:[188]***blocks.3.1.bn2.bias:[188]***blocks.3.1.bn2.running_mean:[188]***"
    "blocks.3.1.bn2.running_var:[188]***blocks.3.1.bn2.num_batches_tracked:[]***"
    "blocks.3.1.se.conv_reduce.weight:[20, 188, 1, 1]***blocks.3.1.se.conv_reduce.bias:[20]***"
    "blocks.3.1.se.conv_expand.weight:[188, 20, 1, 1]***blocks.3.1.se.conv_expand.bias:[188]***"
    "blocks.3.1.conv_pwl.weight:[74, 188, 1, 1]***blocks.3.1.bn3.weight:[74]***blocks.3.1.bn3.bias:[74]***"
    "blocks.3.1.bn3.running_mean:[74]***blocks.3.1.bn3.running_var:[74]***"
    "blocks.3.1.bn3.num_batches_tracked:[]***blocks.3.2.conv_pw.weight:[137, 74, 1, 1]***"
    "blocks.3.2.bn1.weight:[137]***blocks.3.2.bn1.bias:[137]***blocks.3.2.bn1.running_mean:[137]***"
    "blocks.3.2.bn1.running_var:[137]***blocks.3.2.bn1.num_batches_tracked:[]***"
    "blocks.3.2.conv_dw.weight:[137, 1, 3, 3]***blocks.3.2.bn2.weight:[137]***blocks.3.2.bn2.bias:[137]***"
    "blocks.3.2.bn2.running_mean:[137]***blocks.3.2.bn2.running_var:[137]***"
    "blocks.3.2.bn2.num_batches_tracked:[]***blocks.3.2.se.conv_reduce.weight:[20, 137, 1, 1]***"
    "blocks.3.2.se.conv_reduce.bias:[20]***blocks.3.2.se.conv_expand.weight:[137, 20, 1, 1]***"
    "blocks.3.2.se.conv_expand.bias:[137]***blocks.3.2.conv_pwl.weight:[74, 137, 1, 1]***"
    "blocks.3.2.bn3.weight:[74]***blocks.3.2.bn3.bias:[74]***blocks.3.2.bn3.running_mean:[74]***"
    "blocks.3.2.bn3.running_var:[74]***blocks.3.2.bn3.num_batches_tracked:[]***"
    "blocks.3.3.conv_pw.weight:[164, 74, 1, 1]***blocks.3.3.bn1.weight:[164]***blocks.3.3.bn1.bias:[164]***"
    "blocks.3.3.bn1.running_mean:[164]***blocks.3.3.bn1.running_var:[164]***"
    "blocks.3.3.bn1.num_batches_tracked:[]***blocks.3.3.conv_dw.weight:[164, 1, 3, 3]***"
    "blocks.3.3.bn2.weight:[164]***blocks.3.3.bn2.bias:[164]***blocks.3.3.bn2.running_mean:[164]***"
    "blocks.3.3.bn2.running_var:[164]***blocks.3.3.bn2.num_batches_tracked:[]***"
    "blocks.3.3.se.conv_reduce.weight:[20, 164, 1, 1]***blocks.3.3.se.conv_reduce.bias:[20]***"
    "blocks.3.3.se.conv_expand.weight:[164, 20, 1, 1]***blocks.3.3.se.conv_expand.bias:[164]***"
    "blocks.3.3.conv_pwl.weight:[74, 164, 1, 1]***blocks.3.3.bn3.weight:[74]***blocks.3.3.bn3.bias:[74]***"
    "blocks.3.3.bn3.running_mean:[74]***blocks.3.3.bn3.running_var:[74]***"
    "blocks.3.3.bn3.num_batches_tracked:[]***blocks.4.0.conv_pw.weight:[399, 74, 1, 1]***"
    "blocks.4.0.bn1.weight:[399]***blocks.4.0.bn1.bias:[399]***blocks.4.0.bn1.running_mean:[399]***"
    "blocks.4.0.bn1.running_var:[399]***blocks.4.0.bn1.num_batches_tracked:[]***"
    "blocks.4.0.conv_dw.weight:[399, 1, 5, 5]***blocks.4.0.bn2.weight:[399]***blocks.4.0.bn2.bias:[399]***"
    "blocks.4.0.bn2.running_mean:[399]***blocks.4.0.bn2.running_var:[399]***"
    "blocks.4.0.bn2.num_batches_tracked:[]***blocks.4.0.se.conv_reduce.weight:[20, 399, 1, 1]***"
    "blocks.4.0.se.conv_reduce.bias:[20]***blocks.4.0.se.conv_expand.weight:[399, 20, 1, 1]***"
    "blocks.4.0.se.conv_expand.bias:[399]***blocks.4.0.conv_pwl.weight:[67, 399, 1, 1]***"
    "blocks.4.0.bn3.weight:[67]***blocks.4.0.bn3.bias:[67]***blocks.4.0.bn3.running_mean:[67]***"
    "blocks.4.0.bn3.running_var:[67]***blocks.4.0.bn3.num_batches_tracked:[]***"
    "blocks.4.1.conv_pw.weight:[201, 67, 1, 1]***blocks.4.1.bn1.weight:[201]***blocks.4.1.bn1.bias:[201]***"
    "blocks.4.1.bn1.running_mean:[201]***blocks.4.1.bn1.running_var:[201]***"
    "blocks.4.1.bn1.num_batches_tracked:[]***blocks.4.1.conv_dw.weight:[201, 1, 5, 5]***"
    "blocks.4.1.bn2.weight:[201]***blocks.4.1.bn2.bias:[201]***blocks.4.1.bn2.running_mean:[201]***"
    "blocks.4.1.bn2.running_var:[201]***blocks.4.1.bn2.num_batches_tracked:[]***"
    "blocks.4.1.se.conv_reduce.weight:[28, 201, 1, 1]***blocks.4.1.se.conv_reduce.bias:[28]***"
    "blocks.4.1.se.conv_expand.weight:[201, 28, 1, 1]***blocks.4.1.se.conv_expand.bias:[201]***"
    "blocks.4.1.conv_pwl.weight:[67, 201, 1, 1]***blocks.4.1.bn3.weight:[67]***blocks.4.1.bn3.bias:[67]***"
    "blocks.4.1.bn3.running_mean:[67]***blocks.4.1.bn3.running_var:[67]***"
    "blocks.4.1.bn3.num_batches_tracked:[]***blocks.4.2.conv_pw.weight:[160, 67, 1, 1]***"
    "blocks.4.2.bn1.weight:[160]***blocks.4.2.bn1.bias:[160]***blocks.4.2.bn1.running_mean:[160]***"
    "blocks.4.2.bn1.running_var:[160]***blocks.4.2.bn1.num_batches_tracked:[]***"
    "blocks.4.2.conv_dw.weight:[160, 1, 5, 5]***blocks.4.2.bn2.weight:[160]***blocks.4.2.bn2.bias:[160]***"
    "blocks.4.2.bn2.running_mean:[160]***blocks.4.2.bn2.running_var:[160]***"
    "blocks.4.2.bn2.num_batches_tracked:[]***blocks.4.2.se.conv_reduce.weight:[28, 160, 1, 1]***"
    "blocks.4.2.se.conv_reduce.bias:[28]***blocks.4.2.se.conv_expand.weight:[160, 28, 1, 1]***"
    "blocks.4.2.se.conv_expand.bias:[160]***blocks.4.2.conv_pwl.weight:[67, 160, 1, 1]***"
    "blocks.4.2.bn3.weight:[67]***blocks.4.2.bn3.bias:[67]***blocks.4.2.bn3.running_mean:[67]***"
    "blocks.4.2.bn3.running_var:[67]***blocks.4.2.bn3.num_batches_tracked:[]***"
    "blocks.4.3.conv_pw.weight:[213, 67, 1, 1]***blocks.4.3.bn1.weight:[213]***blocks.4.3.bn1.bias:[213]***"
    "blocks.4.3.bn1.running_mean:[213]***blocks.4.3.bn1.running_var:[213]***"
    "blocks.4.3.bn1.num_batches_tracked:[]***blocks.4.3.conv_dw.weight:[213, 1, 5, 5]***"
    "blocks.4.3.bn2.weight:[213]***blocks.4.3.bn2.bias:[213]***blocks.4.3.bn2.running_mean:[213]***"
    "blocks.4.3.bn2.running_var:[213]***blocks.4.3.bn2.num_batches_tracked:[]***"
    "blocks.4.3.se.conv_reduce.weight:[28, 213, 1, 1]***blocks.4.3.se.conv_reduce.bias:[28]***"
    "blocks.4.3.se.conv_expand.weight:[213, 28, 1, 1]***blocks.4.3.se.conv_expand.bias:[213]***"
    "blocks.4.3.conv_pwl.weight:[67, 213, 1, 1]***blocks.4.3.bn3.weight:[67]***blocks.4.3.bn3.bias:[67]***"
    "blocks.4.3.bn3.running_mean:[67]***blocks.4.3.bn3.running_var:[67]***"
    "blocks.4.3.bn3.num_batches_tracked:[]***blocks.5.0.conv_pw.weight:[637, 67, 1, 1]***"
    "blocks.5.0.bn1.weight:[637]***blocks.5.0.bn1.bias:[637]***blocks.5.0.bn1.running_mean:[637]***"
    "blocks.5.0.bn1.running_var:[637]***blocks.5.0.bn1.num_batches_tracked:[]***"
    "blocks.5.0.conv_dw.weight:[637, 1, 5, 5]***blocks.5.0.bn2.weight:[637]***blocks.5.0.bn2.bias:[637]***"
    "blocks.5.0.bn2.running_mean:[637]***blocks.5.0.bn2.running_var:[637]***"
    "blocks.5.0.bn2.num_batches_tracked:[]***blocks.5.0.se.conv_reduce.weight:[27, 637, 1, 1]***"
    "blocks.5.0.se.conv_reduce.bias:[27]***blocks.5.0.se.conv_expand.weight:[637, 27, 1, 1]***"
    "blocks.5.0.se.conv_expand.bias:[637]***blocks.5.0.conv_pwl.weight:[192, 637, 1, 1]***"
    "blocks.5.0.bn3.weight:[192]***blocks.5.0.bn3.bias:[192]***blocks.5.0.bn3.running_mean:[192]***"
    "blocks.5.0.bn3.running_var:[192]***blocks.5.0.bn3.num_batches_tracked:[]***"
    "blocks.5.1.conv_pw.weight:[806, 192, 1, 1]***blocks.5.1.bn1.weight:[806]***blocks.5.1.bn1.bias:[806]***"
    "blocks.5.1.bn1.running_mean:[806]***blocks.5.1.bn1.running_var:[806]***"
    "blocks.5.1.bn1.num_batches_tracked:[]***blocks.5.1.conv_dw.weight:[806, 1, 5, 5]***"
    "blocks.5.1.bn2.weight:[806]***blocks.5.1.bn2.bias:[806]***blocks.5.1.bn2.running_mean:[806]***"
    "blocks.5.1.bn2.running_var:[806]***blocks.5.1.bn2.num_batches_tracked:[]***"
    "blocks.5.1.se.conv_reduce.weight:[48, 806, 1, 1]***blocks.5.1.se.conv_reduce.bias:[48]***"
    "blocks.5.1.se.conv_expand.weight:[806, 48, 1, 1]***blocks.5.1.se.conv_expand.bias:[806]***"
    "blocks.5.1.conv_pwl.weight:[192, 806, 1, 1]***blocks.5.1.bn3.weight:[192]***blocks.5.1.bn3.bias:[192]***"
    "blocks.5.1.bn3.running_mean:[192]***blocks.5.1.bn3.running_var:[192]***"
    "blocks.5.1.bn3.num_batches_tracked:[]***blocks.5.2.conv_pw.weight:[798, 192, 1, 1]***"
    "blocks.5.2.bn1.weight:[798]***blocks.5.2.bn1.bias:[798]***blocks.5.2.bn1.running_mean:[798]***"
    "blocks.5.2.bn1.running_var:[798]***blocks.5.2.bn1.num_batches_tracked:[]***"
    "blocks.5.2.conv_dw.weight:[798, 1, 5, 5]***blocks.5.2.bn2.weight:[798]***blocks.5.2.bn2.bias:[798]***"
    "blocks.5.2.bn2.running_mean:[798]***blocks.5.2.bn2.running_var:[798]***"
    "blocks.5.2.bn2.num_batches_tracked:[]***blocks.5.2.se.conv_reduce.weight:[48, 798, 1, 1]***"
    "blocks.5.2.se.conv_reduce.bias:[48]***blocks.5.2.se.conv_expand.weight:[798, 48, 1, 1]***"
    "blocks.5.2.se.conv_expand.bias:[798]***blocks.5.2.conv_pwl.weight:[192, 798, 1, 1]***"
    "blocks.5.2.bn3.weight:[192]***blocks.5.2.bn3.bias:[192]***blocks.5.2.bn3.running_mean:[192]***"
    "blocks.5.2.bn3.running_var:[192]***blocks.5.2.bn3.num_batches_tracked:[]***"
    "blocks.5.3.conv_pw.weight:[891, 192, 1, 1]***blocks.5.3.bn1.weight:[891]***blocks.5.3.bn1.bias:[891]***"
    "blocks.5.3.bn1.running_mean:[891]***blocks.5.3.bn1.running_var:[891]***"
    "blocks.5.3.bn1.num_batches_tracked:[]***blocks.5.3.conv_dw.weight:[891, 1, 5, 5]***"
    "blocks.5.3.bn2.weight:[891]***blocks.5.3.bn2.bias:[891]***blocks.5.3.bn2.running_mean:[891]***"
    "blocks.5.3.bn2.running_var:[891]***blocks.5.3.bn2.num_batches_tracked:[]***"
    "blocks.5.3.se.conv_reduce.weight:[48, 891, 1, 1]***blocks.5.3.se.conv_reduce.bias:[48]***"
    "blocks.5.3.se.conv_expand.weight:[891, 48, 1, 1]***blocks.5.3.se.conv_expand.bias:[891]***"
    "blocks.5.3.conv_pwl.weight:[192, 891, 1, 1]***blocks.5.3.bn3.weight:[192]***blocks.5.3.bn3.bias:[192]***"
    "blocks.5.3.bn3.running_mean:[192]***blocks.5.3.bn3.running_var:[192]***"
    "blocks.5.3.bn3.num_batches_tracked:[]***blocks.5.4.conv_pw.weight:[990, 192, 1, 1]***"
    "blocks.5.4.bn1.weight:[990]***blocks.5.4.bn1.bias:[990]***blocks.5.4.bn1.running_mean:[990]***"
    "blocks.5.4.bn1.running_var:[990]***blocks.5.4.bn1.num_batches_tracked:[]***"
    "blocks.5.4.conv_dw.weight:[990, 1, 5, 5]***blocks.5.4.bn2.weight:[990]***blocks.5.4.bn2.bias:[990]***"
    "blocks.5.4.bn2.running_mean:[990]***blocks.5.4.bn2.running_var:[990]***"
    "blocks.5.4.bn2.num_batches_tracked:[]***blocks.5.4.se.conv_reduce.weight:[48, 990, 1, 1]***"
    "blocks.5.4.se.conv_reduce.bias:[48]***blocks.5.4.se.conv_expand.weight:[990, 48, 1, 1]***"
    "blocks.5.4.se.conv_expand.bias:[990]***blocks.5.4.conv_pwl.weight:[192, 990, 1, 1]***"
    "blocks.5.4.bn3.weight:[192]***blocks.5.4.bn3.bias:[192]***blocks.5.4.bn3.running_mean:[192]***"
    "blocks.5.4.bn3.running_var:[192]***blocks.5.4.bn3.num_batches_tracked:[]***"
    "blocks.6.0.conv_pw.weight:[1152, 192, 1, 1]***blocks.6.0.bn1.weight:[1152]***blocks.6.0.bn1.bias:[1152]***"
    "blocks.6.0.bn1.running_mean:[1152]***blocks.6.0.bn1.running_var:[1152]***"
    "blocks.6.0.bn1.num_batches_tracked:[]***blocks.6.0.conv_dw.weight:[1152, 1, 3, 3]***"
    "blocks.6.0.bn2.weight:[1152]***blocks.6.0.bn2.bias:[1152]***blocks.6.0.bn2.running_mean:[1152]***"
    "blocks.6.0.bn2.running_var:[1152]***blocks.6.0.bn2.num_batches_tracked:[]***"
    "blocks.6.0.se.conv_reduce.weight:[48, 1152, 1, 1]***blocks.6.0.se.conv_reduce.bias:[48]***"
    "blocks.6.0.se.conv_expand.weight:[1152, 48, 1, 1]***blocks.6.0.se.conv_expand.bias:[1152]***"
    "blocks.6.0.conv_pwl.weight:[320, 1152, 1, 1]***blocks.6.0.bn3.weight:[320]***blocks.6.0.bn3.bias:[320]***"
    "blocks.6.0.bn3.running_mean:[320]***blocks.6.0.bn3.running_var:[320]***"
    "blocks.6.0.bn3.num_batches_tracked:[]***blocks.6.1.conv_pw.weight:[1912, 320, 1, 1]***"
    "blocks.6.1.bn1.weight:[1912]***blocks.6.1.bn1.bias:[1912]***blocks.6.1.bn1.running_mean:[1912]***"
    "blocks.6.1.bn1.running_var:[1912]***blocks.6.1.bn1.num_batches_tracked:[]***"
    "blocks.6.1.conv_dw.weight:[1912, 1, 3, 3]***blocks.6.1.bn2.weight:[1912]***blocks.6.1.bn2.bias:[1912]***"
    "blocks.6.1.bn2.running_mean:[1912]***blocks.6.1.bn2.running_var:[1912]***"
    "blocks.6.1.bn2.num_batches_tracked:[]***blocks.6.1.se.conv_reduce.weight:[80, 1912, 1, 1]***"
    "blocks.6.1.se.conv_reduce.bias:[80]***blocks.6.1.se.conv_expand.weight:[1912, 80, 1, 1]***"
    "blocks.6.1.se.conv_expand.bias:[1912]***blocks.6.1.conv_pwl.weight:[320, 1912, 1, 1]***"
    "blocks.6.1.bn3.weight:[320]***blocks.6.1.bn3.bias:[320]***blocks.6.1.bn3.running_mean:[320]***"
    "blocks.6.1.bn3.running_var:[320]***blocks.6.1.bn3.num_batches_tracked:[]***"
    "conv_head.weight:[1280, 320, 1, 1]***bn2.weight:[1280]***bn2.bias:[1280]***bn2.running_mean:[1280]***"
    "bn2.running_var:[1280]***bn2.num_batches_tracked:[]***classifier.weight:[1000, 1280]***"
    "classifier.bias:[1000]"
)


if __name__ == "__main__":
    main()
