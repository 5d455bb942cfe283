"""Reference fixtures for the training engine's losses, optimisers, schedules and safetensors files.

Run from the repository root with Debian's Python and torch 1.13:

    /usr/bin/python3 tests/ref/gen_train.py

It writes, deterministically (a rerun reproduces every byte):
  tests/data/ref/loss.cxs    one record per loss case: inputs, the output y, a random probe and the
                             gradients of L = sum(probe * y) (torch.nn.functional and autograd)
  tests/data/ref/optim.cxs   optimiser trajectories (torch.optim), gradient clipping
                             (clip_grad_norm_) and learning-rate sequences (torch.optim.lr_scheduler)
  tests/data/ref/st_mixed.safetensors    every supported dtype with special values, escaped names,
                             spaced JSON; each "<x>.values" has a float32 "<x>.expect" beside it
  tests/data/ref/st_written.safetensors  a fixed set of tensors that the C writer must reproduce byte
                             for byte
There is no safetensors package in Debian: the files are laid out here by hand from the format's
specification (huggingface/safetensors README and its Rust writer), independently of the C code.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cxstream  # noqa: E402

OUT = "tests/data/ref"
ARGV = ["tests/ref/gen_train.py"]


def f32(t):
    return t.detach().numpy().astype(np.float32)


def write_stream(path, kind, records):
    with open(path, "wb") as f:
        w = cxstream.Writer(f, cxstream.header(kind, tool="gen_train.py", argv=ARGV))
        for rid, meta, tensors in records:
            w.put(rid, meta, tensors)
        w.close()


# ---------------------------------------------------------------- losses

def loss_record(name, meta, fn, inputs, grad_names, extra):
    """Run y = fn(*inputs) with autograd; L = sum(probe * y). Gradients of the inputs named in
    grad_names (input name -> gradient name)."""
    leaves = {k: v.clone().requires_grad_(k in grad_names) for k, v in inputs.items()}
    y = fn(**leaves)
    y1 = y.reshape(-1) if y.dim() else y.reshape(1)
    probe = torch.randn(y1.shape) * 0.5 + 1.0
    (probe * y1).sum().backward()
    tensors = {k: f32(v) for k, v in inputs.items()}
    tensors.update(extra)
    tensors["out"] = f32(y1)
    tensors["probe"] = f32(probe)
    for k, g in grad_names.items():
        tensors[g] = f32(leaves[k].grad)
    return name, meta, tensors


def class_cases():
    recs = []
    # (case, loss, reduction, n, c, weighted, masked, scale)
    cases = [("ce_mean", "cross_entropy", "mean", 7, 5, False, False, 2.0),
             ("ce_weighted_mean", "cross_entropy", "mean", 9, 4, True, False, 2.0),
             ("ce_sum", "cross_entropy", "sum", 6, 3, False, False, 2.0),
             ("ce_weighted_none", "cross_entropy", "none", 5, 6, True, False, 2.0),
             ("ce_masked_mean", "cross_entropy", "mean", 11, 4, True, True, 2.0),
             ("ce_masked_sum", "cross_entropy", "sum", 8, 2, False, True, 2.0),
             ("ce_masked_none", "cross_entropy", "none", 7, 3, True, True, 2.0),
             ("ce_large_logits", "cross_entropy", "mean", 6, 5, False, False, 40.0),
             ("nll_weighted_mean", "nll", "mean", 7, 5, True, False, 1.0),
             ("nll_masked_sum", "nll", "sum", 9, 3, False, True, 1.0),
             ("nll_masked_none", "nll", "none", 6, 4, True, True, 1.0)]
    for name, loss, red, n, c, weighted, masked, scale in cases:
        x = torch.randn(n, c) * scale
        if loss == "nll":
            x = F.log_softmax(x, dim=1)
        t = torch.randint(0, c, (n,))
        w = torch.rand(c) + 0.5 if weighted else None
        mask = (torch.rand(n) < 0.6).float() if masked else torch.ones(n)
        if masked:
            mask[0], mask[1] = 1.0, 0.0   # at least one of each
        sel = mask > 0
        fn_t = F.cross_entropy if loss == "cross_entropy" else F.nll_loss

        def fn(x, red=red, t=t, w=w, sel=sel, mask=mask, fn_t=fn_t):
            if red == "none":
                return fn_t(x, t, weight=w, reduction="none") * mask
            # the masked loss is the loss over the rows that count
            return fn_t(x[sel], t[sel], weight=w, reduction=red)

        t_stored = t.clone().to(torch.int32)
        t_stored[~sel] = -999   # a masked sample's label is never read
        extra = {"target": t_stored.numpy()}
        if weighted:
            extra["weight"] = f32(w)
        if masked:
            extra["mask"] = f32(mask)
        recs.append(loss_record(name, {"loss": loss, "reduction": red}, fn, {"x": x}, {"x": "dx"}, extra))
    return recs


def elem_cases():
    recs = []
    # (case, loss, reduction, n, k, masked, pos_weight)
    cases = [("bce_mean", "bce_logits", "mean", 6, 3, False, True),
             ("bce_sum", "bce_logits", "sum", 5, 4, False, False),
             ("bce_none", "bce_logits", "none", 4, 3, False, True),
             ("bce_masked_mean", "bce_logits", "mean", 7, 2, True, True),
             ("l1_mean", "l1", "mean", 5, 3, False, False),
             ("l1_masked_sum", "l1", "sum", 7, 6, True, False),
             ("l1_none", "l1", "none", 3, 5, False, False),
             ("mse_mean", "mse", "mean", 6, 4, False, False),
             ("mse_masked_mean", "mse", "mean", 9, 6, True, False),
             ("mse_none", "mse", "none", 4, 3, True, False)]
    for name, loss, red, n, k, masked, with_pw in cases:
        x = torch.randn(n, k) * 3.0
        if loss == "bce_logits":
            y = torch.rand(n, k)
            y[0] = (y[0] > 0.5).float()   # hard labels too
        else:
            y = torch.randn(n, k)
        pw = torch.rand(k) * 3.0 + 0.2 if with_pw else None
        mask = (torch.rand(n) < 0.6).float() if masked else torch.ones(n)
        if masked:
            mask[0], mask[1] = 1.0, 0.0
        sel = mask > 0

        def fn(x, y, red=red, loss=loss, pw=pw, sel=sel, mask=mask):
            if loss == "bce_logits":
                f = lambda a, b, r: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw, reduction=r)  # noqa: E731
            else:
                f = F.l1_loss if loss == "l1" else F.mse_loss
                f = (lambda g: lambda a, b, r: g(a, b, reduction=r))(f)
            if red == "none":
                return f(x, y, "none") * mask[:, None]
            return f(x[sel], y[sel], red)

        extra = {}
        if with_pw:
            extra["pos_weight"] = f32(pw)
        if masked:
            extra["mask"] = f32(mask)
        grads = {"x": "dx"} if loss == "bce_logits" else {"x": "dx", "y": "dtarget"}
        recs.append(loss_record(name, {"loss": loss, "reduction": red}, fn, {"x": x, "y": y}, grads, extra))
    return recs


def dice_cases():
    recs = []
    # (case, reduction, n, k, eps, masked)
    for name, red, n, k, eps, masked in [("dice_mean", "mean", 4, 2 * 5 * 5, 1.0, False),
                                         ("dice_sum_small_eps", "sum", 3, 7 * 3, 1e-3, False),
                                         ("dice_masked_mean", "mean", 6, 4 * 4, 1.0, True),
                                         ("dice_none", "none", 5, 9, 1.0, True)]:
        p = torch.sigmoid(torch.randn(n, k) * 2.0)
        t = (torch.rand(n, k) < 0.4).float()
        t[-1] = 0.0   # an empty target
        mask = (torch.rand(n) < 0.6).float() if masked else torch.ones(n)
        if masked:
            mask[0], mask[1] = 1.0, 0.0
        sel = mask > 0

        def fn(x, t=t, eps=eps, red=red, sel=sel, mask=mask):
            d = 1 - (2 * (x * t).sum(1) + eps) / (x.sum(1) + t.sum(1) + eps)
            if red == "none":
                return d * mask
            return d[sel].mean() if red == "mean" else d[sel].sum()

        extra = {"target": f32(t)}
        if masked:
            extra["mask"] = f32(mask)
        recs.append(loss_record(name, {"loss": "dice", "reduction": red, "eps": eps}, fn, {"x": p}, {"x": "dx"},
                                extra))
    return recs


def infonce_cases():
    recs = []
    for name, red, n, d, tau in [("infonce_mean", "mean", 6, 5, 0.1),
                                 ("infonce_sum", "sum", 8, 16, 0.07),
                                 ("infonce_none", "none", 5, 9, 0.5)]:
        a = torch.randn(n, d)
        b = a + 0.8 * torch.randn(n, d)   # correlated pairs, as aligned modalities

        def fn(x, b, tau=tau, red=red):
            s = F.normalize(x, dim=1) @ F.normalize(b, dim=1).T / tau
            labels = torch.arange(s.shape[0])
            r = "none" if red == "none" else red
            return 0.5 * (F.cross_entropy(s, labels, reduction=r) + F.cross_entropy(s.T, labels, reduction=r))

        recs.append(loss_record(name, {"loss": "infonce", "reduction": red, "tau": tau}, fn, {"x": a, "b": b},
                                {"x": "dx", "b": "db"}, {}))
    return recs


# ---------------------------------------------------------------- optimisers and schedules

STEPS = 5


def optim_cases():
    recs = []
    cases = [("adam", "adam", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)),
             ("adam_l2", "adam", dict(lr=1e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
             ("adamw", "adamw", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)),
             ("sgd", "sgd", dict(lr=0.1)),
             ("sgd_momentum_wd", "sgd", dict(lr=0.05, momentum=0.9, weight_decay=1e-3)),
             ("sgd_dampening", "sgd", dict(lr=0.05, momentum=0.9, dampening=0.3)),
             ("sgd_nesterov", "sgd", dict(lr=0.02, momentum=0.8, nesterov=True, weight_decay=1e-2))]
    for name, kind, kw in cases:
        pa, pb = torch.randn(7), torch.randn(3, 4)
        # group b's gradients are small, so eps matters there
        ga, gb = torch.randn(STEPS, 7), torch.randn(STEPS, 3, 4) * 1e-3
        params = [pa.clone().requires_grad_(), pb.clone().requires_grad_()]
        cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[kind]
        opt = cls(params, **kw)
        traj_a, traj_b = [], []
        for s in range(STEPS):
            params[0].grad, params[1].grad = ga[s].clone(), gb[s].clone()
            opt.step()
            traj_a.append(f32(params[0]))
            traj_b.append(f32(params[1]).reshape(-1))
        meta = {"kind": kind, "lr": kw["lr"], "weight_decay": kw.get("weight_decay", 0.0)}
        if kind != "sgd":
            meta.update(beta1=kw["betas"][0], beta2=kw["betas"][1], eps=kw["eps"])
        else:
            meta.update(momentum=kw.get("momentum", 0.0), dampening=kw.get("dampening", 0.0),
                        nesterov=kw.get("nesterov", False))
        # torch keeps a None momentum_buffer for plain SGD: no state there
        state_names = [k for k, v in opt.state[params[0]].items() if k != "step" and v is not None]
        meta["state"] = state_names
        tensors = {"p0_a": f32(pa), "p0_b": f32(pb).reshape(-1), "g_a": f32(ga), "g_b": f32(gb).reshape(STEPS, -1),
                   "p_a": np.stack(traj_a), "p_b": np.stack(traj_b)}
        for k in state_names:
            tensors[k + "_a"] = f32(opt.state[params[0]][k])
            tensors[k + "_b"] = f32(opt.state[params[1]][k]).reshape(-1)
        recs.append((name, meta, tensors))
    return recs


def clip_cases():
    recs = []
    for name, max_norm in [("clip_active", 1.0), ("clip_inactive", 100.0)]:
        ga, gb = torch.randn(13) * 2.0, torch.randn(4, 5)
        params = [torch.zeros(13, requires_grad=True), torch.zeros(4, 5, requires_grad=True)]
        params[0].grad, params[1].grad = ga.clone(), gb.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm)
        recs.append((name, {"max_norm": max_norm},
                     {"g_a": f32(ga), "g_b": f32(gb).reshape(-1), "total_norm": f32(total).reshape(1),
                      "clipped_a": f32(params[0].grad), "clipped_b": f32(params[1].grad).reshape(-1)}))
    return recs


def lr_sequence(make, epochs, lr):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make(opt)
    seq = []
    for _ in range(epochs):
        seq.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(seq, dtype=np.float64)


def schedule_cases():
    S = torch.optim.lr_scheduler
    recs = [("lr_warmup", {"schedule": "warmup", "lr": 0.1, "start_factor": 0.1, "warmup": 5},
             {"lr": lr_sequence(lambda o: S.LinearLR(o, start_factor=0.1, total_iters=5), 12, 0.1)}),
            ("lr_cosine", {"schedule": "cosine", "lr": 0.1, "t_max": 10, "eta_min": 1e-3},
             {"lr": lr_sequence(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=1e-3), 26, 0.1)}),
            ("lr_step", {"schedule": "step", "lr": 0.1, "step_size": 3, "gamma": 0.5},
             {"lr": lr_sequence(lambda o: S.StepLR(o, step_size=3, gamma=0.5), 11, 0.1)})]
    # plateau: (case, lr, mode, factor, patience, threshold, cooldown, min_lr, metrics)
    gen = np.random.RandomState(0)
    falling = 1.0 / (1.0 + 0.1 * np.arange(40)) + 0.02 * gen.rand(40)
    flat = np.concatenate([np.linspace(1.0, 0.5, 8), np.full(10, 0.5), np.linspace(0.5, 0.45, 6), np.full(10, 0.45)])
    rising = np.concatenate([np.linspace(0.5, 0.9, 6), 0.9 + 0.01 * gen.rand(14)])
    mdmt = 0.7 * np.exp(-np.arange(120) / 15.0) + 0.3 + 0.03 * gen.randn(120)   # the MDMT authors' settings
    for name, lr, mode, factor, patience, threshold, cooldown, min_lr, metrics in [
            ("plateau_min", 0.1, "min", 0.5, 2, 1e-2, 1, 1e-3, np.concatenate([falling, flat])),
            ("plateau_max", 0.1, "max", 0.3, 1, 5e-2, 0, 2e-2, rising),
            ("plateau_mdmt", 1e-3, "min", 0.65, 15, 1e-4, 0, 1e-8, mdmt)]:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
        sched = S.ReduceLROnPlateau(opt, mode=mode, factor=factor, patience=patience, threshold=threshold,
                                    cooldown=cooldown, min_lr=min_lr)
        seq = []
        for m in metrics:
            sched.step(float(m))
            seq.append(opt.param_groups[0]["lr"])
        recs.append((name, {"schedule": "plateau", "lr": lr, "mode": mode, "factor": factor, "patience": patience,
                            "threshold": threshold, "cooldown": cooldown, "min_lr": min_lr},
                     {"metric": np.asarray(metrics, dtype=np.float64), "lr": np.array(seq, dtype=np.float64)}))
    return recs


# ---------------------------------------------------------------- safetensors

# The reference writer's Dtype order (increasing alignment): tensors are written largest first.
DTYPE_ORDER = ["U8", "F16", "BF16", "I32", "F32", "F64", "I64"]


def safetensors_bytes(tensors, metadata, ensure_ascii=False, separators=(",", ":"), json_key_order=None):
    """tensors: (name, dtype, shape, little-endian bytes). Data in the reference writer's order;
    the JSON keys in that order too unless json_key_order (a sort key) says otherwise."""
    order = sorted(tensors, key=lambda t: (-DTYPE_ORDER.index(t[1]), t[0]))
    entries, offset = {}, 0
    for name, dtype, shape, raw in order:
        entries[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    header = {}
    if metadata is not None:
        header["__metadata__"] = dict(sorted(metadata.items()))
    for name in (sorted(entries, key=json_key_order) if json_key_order else entries):
        header[name] = entries[name]
    text = json.dumps(header, ensure_ascii=ensure_ascii, separators=separators).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(raw for _, _, _, raw in order)


def pattern(n, salt):
    """Values exact in float32 (and in C): ((37 i + salt) mod 101 - 50) / 64."""
    return ((np.arange(n) * 37 + salt) % 101 - 50).astype(np.float32) / np.float32(64)


def st_written():
    """The fixed input that test_safetensors.c rebuilds and writes with cx_st_write."""
    t = [("layer1.0.conv1.weight", "F32", (4, 2, 3, 3), pattern(72, 1).tobytes()),
         ("fc.bias", "F32", (3,), pattern(3, 2).tobytes()),
         ("bn1.running_var", "F32", (4,), pattern(4, 3).tobytes()),
         ("bn1.num_batches_tracked", "I64", (), np.array(7, dtype="<i8").tobytes()),
         ("head.\"x\"\\y", "F32", (2, 2), pattern(4, 4).tobytes()),
         ("bn.\u00e9", "F32", (1,), pattern(1, 5).tobytes()),
         ("empty", "F32", (2, 0), b""),
         ("ids", "I32", (5,), np.array([3, -1, 0, 2147483647, -2147483648], dtype="<i4").tobytes())]
    meta = {"format": "pt", "producer": "cxr-mtl", "note": "tab\there\nnew line \u0001 \"q\" \u00e9"}
    return safetensors_bytes(t, meta)


def st_mixed():
    """Every supported dtype, special values, escaped names and spaced JSON, from torch/numpy's own
    conversions (the expected float32 values sit beside each tensor)."""
    f16 = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 6.103515625e-05, 5.960464477539063e-08, -3.0e-06,
                    np.inf, -np.inf, np.nan, 0.333251953125, 1000.5], dtype="<f2")
    bf16_src = torch.cat([torch.tensor([0.0, -0.0, 1.0, -3.140625, 3.3895313892515355e38, 1e-40, -9.2e-41,
                                        float("inf"), float("-inf"), float("nan")]), torch.randn(6) * 100])
    bf16 = bf16_src.to(torch.bfloat16)
    f64 = np.array([0.1, -1e-30, 1e40, -1e40, 3.3333333333333335, 1e-45, 7e-46, -2.0 ** -149 * 0.75, 1.0 + 2.0 ** -24,
                    1.0 + 3 * 2.0 ** -24], dtype="<f8")
    i64 = np.array([-3, 0, 1099511627783, -9007199254740992], dtype="<i8")
    i32 = np.array([-7, 2147483647, 16777217], dtype="<i4")
    u8 = np.array([0, 1, 128, 255], dtype="<u1")
    nbt = np.array(123457, dtype="<i8")
    with np.errstate(over="ignore"):   # 1e40 becomes inf in float32, on purpose
        f64_expect = f64.astype("<f4")
    t = [("f32.values", "F32", (2, 3), torch.randn(2, 3).numpy().astype("<f4").tobytes()),
         ("f16.values", "F16", f16.shape, f16.tobytes()),
         ("f16.expect", "F32", f16.shape, f16.astype("<f4").tobytes()),
         ("bf16.values", "BF16", tuple(bf16.shape), bf16.view(torch.int16).numpy().astype("<i2").tobytes()),
         ("bf16.expect", "F32", tuple(bf16.shape), bf16.float().numpy().astype("<f4").tobytes()),
         ("f64.values", "F64", f64.shape, f64.tobytes()),
         ("f64.expect", "F32", f64.shape, f64_expect.tobytes()),
         ("i64.values", "I64", i64.shape, i64.tobytes()),
         ("i64.expect", "F32", i64.shape, i64.astype("<f4").tobytes()),
         ("i32.values", "I32", i32.shape, i32.tobytes()),
         ("i32.expect", "F32", i32.shape, i32.astype("<f4").tobytes()),
         ("u8.values", "U8", u8.shape, u8.tobytes()),
         ("u8.expect", "F32", u8.shape, u8.astype("<f4").tobytes()),
         ("bn1.num_batches_tracked", "I64", (), nbt.tobytes()),
         ("scalar", "F32", (), np.array(-0.5, dtype="<f4").tobytes()),
         ("empty", "F32", (0, 3), b""),
         ("bn.\u00e9.weight", "F32", (2,), np.array([1.5, -2.0], dtype="<f4").tobytes()),
         ("emoji.\U0001f642", "U8", (1,), bytes([42])),
         ("quote\"back\\slash/tab\t", "F16", (1,), np.array([2.0], dtype="<f2").tobytes())]
    # the integers again as text: an independent statement of what read_i64 must give
    meta = {"format": "pt", "i64.values": " ".join(str(v) for v in i64), "i32.values": " ".join(str(v) for v in i32),
            "u8.values": " ".join(str(v) for v in u8), "bn1.num_batches_tracked": str(int(nbt)),
            "note": "\u00e9\u00e8 \U0001f642 \"quoted\" back\\slash"}
    # JSON keys in name order (not the data's order), \\u escapes for non-ASCII, spaces after , and :
    return safetensors_bytes(t, meta, ensure_ascii=True, separators=(", ", ": "), json_key_order=lambda k: k)


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    write_stream(os.path.join(OUT, "loss.cxs"), "reference-losses",
                 class_cases() + elem_cases() + dice_cases() + infonce_cases())
    write_stream(os.path.join(OUT, "optim.cxs"), "reference-optim", optim_cases() + clip_cases() + schedule_cases())
    with open(os.path.join(OUT, "st_written.safetensors"), "wb") as f:
        f.write(st_written())
    with open(os.path.join(OUT, "st_mixed.safetensors"), "wb") as f:
        f.write(st_mixed())


if __name__ == "__main__":
    main()
