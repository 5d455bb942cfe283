"""PyTorch reference cases for lib/nn's dense ops: activations, element-wise and channel ops,
linear and batched matmul, softmax and log-softmax, layer norm.

Run from the repository root with Debian's torch 1.13:  /usr/bin/python3 tests/ref/gen_dense.py
It writes tests/data/ref/{activation,elementwise,linear,softmax,layernorm}.cxs, one record per case:
  id      the case name
  meta    the op's parameters ('op' names the function when a file holds several)
  tensors the inputs and parameters, 'probe', the forward output 'y' and the gradients of
          L = sum(probe * y) with respect to every input and parameter: 'd' + its name.
          Ops with several inputs or outputs number them: x0, x1... / y0, probe0, ...
Inputs are drawn in float32; PyTorch computes in float64 from those exact values and the
results are rounded to float32, so a reference carries no float32 rounding of its own and the
C tests' tolerances measure the C code's error alone. Dropout is not here: PyTorch's random
stream cannot be reproduced, so test_dropout.c checks it statistically.
Deterministic: rerunning reproduces the files byte for byte.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxstream import Writer, header  # noqa: E402

OUT_DIR = "tests/data/ref"


def randn(*shape, scale=1.0):
    return torch.randn(*shape, dtype=torch.float32) * scale


def to_f32(t):
    return t.detach().to(torch.float32).contiguous().numpy()


class Cases:
    """One .cxs file of reference cases."""

    def __init__(self, family):
        self.path = os.path.join(OUT_DIR, family + ".cxs")
        self.f = open(self.path + ".tmp", "wb")
        self.w = Writer(self.f, header("reference", tool="gen_dense.py", argv=["tests/ref/gen_dense.py"]))

    def add(self, name, meta, inputs, forward):
        """inputs: name -> float32 tensor; forward(name -> float64 leaf) -> y or a list of outputs.
        A single output is stored as y with probe; several as y0, y1... with probe0, probe1..."""
        leaves = {k: v.double().requires_grad_(True) for k, v in inputs.items()}
        out = forward(leaves)
        outs = out if isinstance(out, (list, tuple)) else [out]
        suffix = (lambda i: "") if len(outs) == 1 else str
        tensors = dict(inputs)
        loss = 0
        for i, y in enumerate(outs):
            probe = randn(*y.shape)
            loss = loss + (y * probe.double()).sum()
            tensors["y" + suffix(i)] = y
            tensors["probe" + suffix(i)] = probe
        loss.backward()
        for k, leaf in leaves.items():
            tensors["d" + k] = leaf.grad
        self.w.put(name, meta, {k: to_f32(v) for k, v in tensors.items()})

    def close(self):
        self.w.close()
        self.f.close()
        os.replace(self.path + ".tmp", self.path)


ACTIVATIONS = {
    "relu": F.relu, "relu6": F.relu6, "silu": F.silu, "sigmoid": torch.sigmoid,
    "hardswish": F.hardswish, "hardsigmoid": F.hardsigmoid, "tanh": torch.tanh,
}


def activation_cases():
    torch.manual_seed(1)
    cases = Cases("activation")
    # the kinks of all of them, both sides of each by one float32 step, and saturation
    special = torch.tensor([-3.0, 0.0, 3.0, 6.0, -6.0, 1.0, -1.0, -20.0, 20.0, -100.0, 100.0], dtype=torch.float32)
    near = torch.cat([torch.nextafter(special[:4], torch.tensor(-1e9)), torch.nextafter(special[:4], torch.tensor(1e9))])
    for name, fn in ACTIVATIONS.items():
        x = torch.cat([randn(3, 5, 7, scale=3.0).flatten(), special, near])
        cases.add(name, {"op": name}, {"x": x}, lambda t, fn=fn: fn(t["x"]))
    cases.close()


def elementwise_cases():
    torch.manual_seed(2)
    cases = Cases("elementwise")
    # broadcast add and mul: name, a shape, b shape (same number of dims, as the C descriptor takes them)
    for op, fn in (("add", torch.add), ("mul", torch.mul)):
        for name, a_shape, b_shape in [
            ("same", (2, 3, 4, 5), (2, 3, 4, 5)),
            ("channel_bias", (2, 3, 4, 5), (1, 3, 1, 1)),
            ("se_gate", (2, 3, 4, 5), (2, 3, 1, 1)),
            ("both_broadcast", (2, 1, 4, 1), (1, 3, 1, 5)),
            ("last_dim", (3, 4, 5), (1, 1, 5)),
            ("inner_rows", (3, 1, 5), (3, 4, 5)),
            ("scalar", (3, 4), (1, 1)),
            ("long_rows", (2, 1, 1030), (1, 1, 1030)),
        ]:
            inputs = {"a": randn(*a_shape), "b": randn(*b_shape)}
            cases.add("%s_%s" % (op, name), {"op": op}, inputs, lambda t, fn=fn: fn(t["a"], t["b"]))
    cases.add("scale", {"op": "scale", "s": -0.75}, {"x": randn(2, 3, 4, 5)}, lambda t: -0.75 * t["x"])

    channels = [1, 4, 2]
    inputs = {"x%d" % i: randn(2, c, 3, 3) for i, c in enumerate(channels)}
    cases.add("concat", {"op": "concat", "channels": channels}, inputs,
              lambda t: torch.cat([t["x%d" % i] for i in range(len(channels))], dim=1))
    for c, chunks in ((5, 4), (6, 2), (7, 3)):
        cases.add("chunk_%d_%d" % (c, chunks), {"op": "chunk", "chunks": chunks}, {"x": randn(2, c, 3, 2)},
                  lambda t, chunks=chunks: list(torch.chunk(t["x"], chunks, dim=1)))
    for c, groups in ((6, 2), (6, 3), (8, 4)):
        def shuffle(t, groups=groups):
            n, c, h, w = t["x"].shape
            return t["x"].view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)
        cases.add("shuffle_%d_%d" % (c, groups), {"op": "shuffle", "groups": groups}, {"x": randn(2, c, 3, 2)},
                  shuffle)
    cases.close()


def linear_cases():
    torch.manual_seed(3)
    cases = Cases("linear")
    for name, x_shape, out, bias in [
        ("bias", (5, 7), 3, True),
        ("no_bias", (4, 6), 9, False),
        ("three_dims", (2, 3, 7), 4, True),
        ("wide", (3, 300), 17, True),
    ]:
        inputs = {"x": randn(*x_shape), "w": randn(out, x_shape[-1], scale=x_shape[-1] ** -0.5)}
        if bias:
            inputs["b"] = randn(out)
        cases.add(name, {"op": "linear", "bias": bias}, inputs, lambda t: F.linear(t["x"], t["w"], t.get("b")))
    for trans_a in (False, True):
        for trans_b in (False, True):
            batch, m, n, k = 3, 4, 5, 6
            a = randn(batch, k, m) if trans_a else randn(batch, m, k)
            b = randn(batch, n, k) if trans_b else randn(batch, k, n)

            def matmul(t, trans_a=trans_a, trans_b=trans_b):
                return torch.bmm(t["a"].transpose(1, 2) if trans_a else t["a"],
                                 t["b"].transpose(1, 2) if trans_b else t["b"])
            cases.add("matmul_%s%s" % ("t" if trans_a else "n", "t" if trans_b else "n"),
                      {"op": "matmul", "trans_a": trans_a, "trans_b": trans_b}, {"a": a, "b": b}, matmul)
    cases.close()


def softmax_cases():
    torch.manual_seed(4)
    cases = Cases("softmax")
    for op, fn in (("softmax", F.softmax), ("log_softmax", F.log_softmax)):
        for name, shape, axis, scale in [
            ("last", (4, 7), -1, 1.0),
            ("channels", (2, 5, 3, 3), 1, 1.0),
            ("first", (6, 4), 0, 1.0),
            ("middle_wide", (2, 3, 70), 1, 1.0),
            ("large_logits", (3, 9), 1, 40.0),
        ]:
            cases.add("%s_%s" % (op, name), {"op": op, "axis": axis}, {"x": randn(*shape, scale=scale)},
                      lambda t, fn=fn, axis=axis: fn(t["x"], dim=axis))
    cases.close()


def layernorm_cases():
    torch.manual_seed(5)
    cases = Cases("layernorm")
    for name, shape, dims, eps, affine, offset in [
        ("affine", (3, 4, 10), 1, 1e-5, True, 0.0),
        ("no_affine", (5, 6), 1, 1e-5, False, 0.0),
        ("two_dims_eps1e-6", (2, 3, 4, 5), 2, 1e-6, True, 0.0),
        ("large_mean", (4, 16), 1, 1e-5, True, 1000.0),
        ("wide", (4, 300), 1, 1e-5, True, 0.0),
    ]:
        normalized = shape[-dims:]
        inputs = {"x": randn(*shape) + offset}
        if affine:
            inputs["w"] = 1.0 + randn(*normalized, scale=0.3)
            inputs["b"] = randn(*normalized, scale=0.3)
        dim = 1
        for s in normalized:
            dim *= s
        cases.add(name, {"dim": dim, "eps": eps, "affine": affine}, inputs,
                  lambda t, normalized=normalized, eps=eps: F.layer_norm(t["x"], normalized, t.get("w"), t.get("b"),
                                                                         eps))
    cases.close()


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    activation_cases()
    elementwise_cases()
    linear_cases()
    softmax_cases()
    layernorm_cases()


if __name__ == "__main__":
    main()
