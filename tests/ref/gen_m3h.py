"""PyTorch reference cases for M3H's cross-task attention (lib/nn/attention.h).

Run from the repository root with Debian's torch 1.13:  /usr/bin/python3 tests/ref/gen_m3h.py
It writes tests/data/ref/m3h_attention.cxs, one record per case:
  id      the case name
  meta    alpha
  tensors q [T, d], k and v [N, T, d]; the outputs y0 = W V [N, T, d] and y1 = W [N, T, T] with
          probes probe0, probe1; the gradients dq, dk, dv of L = sum(probe0 * y0) + sum(probe1 * y1)
          by autograd.
The formula, per sample: M = Q K^T, s = max|M| + 1e-8 (per sample), W = softmax(I + alpha M / s),
out = W V. Inputs are drawn in float32; torch computes in float64 from those exact values.
Deterministic: rerunning reproduces the file byte for byte.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxstream import Writer, header  # noqa: E402

OUT = "tests/data/ref/m3h_attention.cxs"


def attention(q, k, v, alpha):
    t = q.shape[0]
    m = torch.einsum("id,njd->nij", q, k)
    s = m.abs().amax(dim=(1, 2), keepdim=True) + 1e-8
    w = torch.softmax(torch.eye(t, dtype=q.dtype) + alpha * m / s, dim=-1)
    return torch.einsum("nij,njd->nid", w, v), w


def to_f32(t):
    return t.detach().to(torch.float32).contiguous().numpy()


def main():
    torch.manual_seed(7)
    f = open(OUT + ".tmp", "wb")
    w = Writer(f, header("reference", tool="gen_m3h.py", argv=["tests/ref/gen_m3h.py"]))
    # name, N, T, d, alpha, how K is made
    cases = [
        ("small", 2, 3, 4, 0.1, "randn"),
        ("strong", 3, 4, 5, 2.0, "randn"),
        ("negative_scores", 2, 3, 4, 1.5, "negative"),   # max(M) < 0: the |M| guard matters
        ("one_task", 2, 1, 3, 0.1, "randn"),
        ("zero_keys", 2, 3, 4, 0.1, "zero"),             # M = 0: W = softmax(I)
        ("paper_width", 2, 5, 64, 0.1, "randn"),
    ]
    for name, n, t, d, alpha, kind in cases:
        q = torch.randn(t, d)
        k = torch.randn(n, t, d)
        if kind == "negative":   # every score negative: K rows opposite to the mean query direction
            q = q.abs() + 0.5
            k = -(k.abs() + 0.5)
        if kind == "zero":
            k = torch.zeros(n, t, d)
        v = torch.randn(n, t, d)
        inputs = {"q": q, "k": k, "v": v}
        leaves = {key: val.double().requires_grad_(True) for key, val in inputs.items()}
        out, att = attention(leaves["q"], leaves["k"], leaves["v"], alpha)
        probe0, probe1 = torch.randn(*out.shape), torch.randn(*att.shape)
        ((out * probe0.double()).sum() + (att * probe1.double()).sum()).backward()
        tensors = dict(inputs)
        tensors.update({"y0": out, "y1": att, "probe0": probe0, "probe1": probe1})
        tensors.update({"d" + key: leaf.grad for key, leaf in leaves.items()})
        w.put(name, {"alpha": alpha, "n": n, "tasks": t, "dim": d}, {key: to_f32(val) for key, val in tensors.items()})
    w.close()
    f.close()
    os.replace(OUT + ".tmp", OUT)


if __name__ == "__main__":
    main()
