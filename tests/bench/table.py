#!/usr/bin/python3
"""make bench's tables, cxr-mtl beside PyTorch, from the JSON lines pipelines/bench.mk collects.
A ratio is PyTorch's time over ours (above 1: cxr-mtl is faster).

    table.py backbones FILE    per model and mode: images/s, ratio, peak memory
    table.py conv FILE         per convolution shape: forward and backward GFLOP/s, ratios"""
import json
import sys


def runs(path):
    return [json.loads(line) for line in open(path) if line.startswith("{")]


def ours_by_core(rows, key):
    out = {}
    for r in rows:
        if r["impl"] == "cxr-mtl":
            out.setdefault(key(r), {})[r.get("coretype", "auto")] = r
    return out


def env_name(ours):
    return next((c for v in ours.values() for c in v if c != "auto"), "auto")


def backbones(rows):
    key = lambda r: (r["model"], r["mode"])
    torch = {key(r): r for r in rows if r["impl"] == "pytorch"}
    ours = ours_by_core(rows, key)
    env = env_name(ours)
    print("| model | mode | batch | PyTorch img/s | cxr-mtl img/s (OPENBLAS_CORETYPE=%s) | ratio |"
          " cxr-mtl img/s (OpenBLAS autodetect) | ratio | PyTorch peak RSS MB | cxr-mtl peak RSS MB |" % env)
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k in sorted(ours, key=lambda k: (k[0], k[1] != "train")):
        t, o = torch.get(k), ours[k]
        e, a = o.get(env, o.get("auto")), o.get("auto", o.get(env))
        tp = t["img_per_s"] if t else float("nan")
        print("| %s | %s | %d | %.1f | %.1f | %.2f | %.1f | %.2f | %.0f | %.0f |" % (
            k[0], k[1], e["batch"], tp, e["img_per_s"], e["img_per_s"] / tp, a["img_per_s"], a["img_per_s"] / tp,
            t["peak_rss_mb"] if t else float("nan"), a["peak_rss_mb"]))


def conv(rows):
    key = lambda r: r["shape"]
    torch = {key(r): r for r in rows if r["impl"] == "pytorch"}
    ours = ours_by_core(rows, key)
    env = env_name(ours)
    print("| shape | PyTorch fwd GF/s | ours fwd (%s) | ours fwd (auto) | fwd ratio (auto) | PyTorch bwd GF/s |"
          " ours bwd (%s) | ours bwd (auto) | bwd ratio (auto) |" % (env, env))
    print("|---|---|---|---|---|---|---|---|---|")
    order = [r["shape"] for r in rows if r["impl"] == "pytorch"]
    for k in order:
        t, o = torch[k], ours.get(k, {})
        e, a = o.get(env, o.get("auto")), o.get("auto", o.get(env))
        if not e:
            continue
        gf = t["gflop_fwd"]
        print("| %s | %.0f | %.0f | %.0f | %.2f | %.0f | %.0f | %.0f | %.2f |" % (
            k, gf / t["fwd_s"], gf / e["fwd_s"], gf / a["fwd_s"], t["fwd_s"] / a["fwd_s"], 2 * gf / t["bwd_s"],
            2 * gf / e["bwd_s"], 2 * gf / a["bwd_s"], t["bwd_s"] / a["bwd_s"]))


if __name__ == "__main__":
    {"backbones": backbones, "conv": conv}[sys.argv[1]](runs(sys.argv[2]))
