#!/usr/bin/python3
"""PyTorch's side of the per-layer convolution table: torch.nn.functional.conv2d forward and
backward (input and weight gradients) on the shapes of tests/bench/conv_shapes.tsv, best of
`reps` after a warm-up, one JSON line per shape.

    /usr/bin/python3 tests/bench/torch_conv.py [batch] [threads] [reps]"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F


def best(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    torch.set_num_threads(threads)
    path = os.path.join(os.path.dirname(__file__), "conv_shapes.tsv")
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        name, cin, cout, size, k, s, groups = line.split()
        cin, cout, size, k, s, groups = map(int, (cin, cout, size, k, s, groups))
        x = torch.randn(batch, cin, size, size, requires_grad=True)
        w = (0.1 * torch.randn(cout, cin // groups, k, k)).requires_grad_()
        b = torch.randn(cout, requires_grad=True)
        with torch.no_grad():
            y = F.conv2d(x, w, b, s, k // 2, 1, groups)
        dy = torch.randn_like(y)
        fwd = best(lambda: F.conv2d(x.detach(), w.detach(), b.detach(), s, k // 2, 1, groups), reps)
        y = F.conv2d(x, w, b, s, k // 2, 1, groups)
        bwd = best(lambda: torch.autograd.grad(y, (x, w, b), dy, retain_graph=True), reps)
        flops = 2.0 * y.numel() * (cin // groups) * k * k
        print(json.dumps({"impl": "pytorch", "shape": name, "batch": batch, "threads": threads, "fwd_s": fwd,
                          "bwd_s": bwd, "gflop_fwd": flops * 1e-9}), flush=True)


if __name__ == "__main__":
    main()
