#!/usr/bin/python3
"""Labelled streams with a planted signal for the mt-train, mt-eval and embed suites.

    mtdata.py embedding OUT [--records N] [--dim D] [--seed S]
    mtdata.py crop OUT [--records N] [--channels C] [--size S] [--seed S]
    mtdata.py m3h OUT [--records N] [--clusters K] [--seed S]

Two data sets alternate, as in MDMT: odd records (dataset "prognosis") carry only prognosis,
0/1 = [x0 + 0.5 e > 0]; even records (dataset "brixia") only brixia_class, 0..3 from x1.
Embeddings are x ~ N(0, 1)^D (tensor embedding f32 [D]); crops are noise [C, S, S] with the
left half brightened by x0 and the top half by x1 (tensor image f32).

m3h: three modalities of every record, all labels on every record (M3H). A record belongs to
planted cluster c (meta phenotype, uniform over K) and has two hidden factors z ~ N(0, 1)^2;
each modality is its own fixed random linear view of [onehot(c) * 4, z] plus N(0, 0.3) noise:
tensors embedding f32 [16], tabular f32 [6], text f32 [10]. Labels: prognosis = [z0 + 0.3 e > 0],
brixia_global = 9 + 3 z1 + 0.3 e', brixia_class = brixia_global cut at 6, 9, 12.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
import cxstream  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["embedding", "crop", "m3h"])
    p.add_argument("out")
    p.add_argument("--records", type=int, default=60)
    p.add_argument("--dim", type=int, default=8)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--clusters", type=int, default=4)
    a = p.parse_args()
    if a.kind == "m3h":
        return multimodal(a)
    rng = np.random.default_rng(a.seed)
    with open(a.out, "wb") as f:
        w = cxstream.Writer(f, cxstream.header(a.kind, tool="mtdata.py"))
        for i in range(a.records):
            x = rng.standard_normal(max(a.dim, 2)).astype(np.float32)
            e = rng.standard_normal()
            meta = {"patient": "pt-%03d" % (i // 2), "center": "center-" + "AB"[i % 4 // 2]}
            if i % 2:
                meta.update(dataset="prognosis", prognosis=int(x[0] + 0.5 * e > 0))
            else:
                meta.update(dataset="brixia", brixia_class=int(np.clip(np.floor(1.2 * x[1] + 2), 0, 3)))
            if a.kind == "embedding":
                tensors = {"embedding": x[:a.dim]}
            else:
                s = a.size
                image = 0.5 * rng.standard_normal((a.channels, s, s)).astype(np.float32)
                image[:, :, : s // 2] += x[0]
                image[:, : s // 2, :] += x[1]
                tensors = {"image": image}
                meta.update(crop_size=s, normalization="zscore")
            w.put("r%04d" % i, meta, tensors)
        w.close()


def multimodal(a):
    # the views are the same for every seed: train and test streams share them
    views = np.random.default_rng(1000 + a.clusters)
    widths = {"embedding": 16, "tabular": 6, "text": 10}
    maps = {name: views.standard_normal((a.clusters + 2, w)) / np.sqrt(a.clusters + 2) for name, w in widths.items()}
    rng = np.random.default_rng(a.seed)
    with open(a.out, "wb") as f:
        w = cxstream.Writer(f, cxstream.header("embedding", tool="mtdata.py"))
        for i in range(a.records):
            c = int(rng.integers(a.clusters))
            z = rng.standard_normal(2)
            hidden = np.concatenate([4.0 * np.eye(a.clusters)[c], z])
            tensors = {name: (hidden @ m + 0.3 * rng.standard_normal(m.shape[1])).astype(np.float32)
                       for name, m in maps.items()}
            glob = float(np.clip(9 + 3 * z[1] + 0.3 * rng.standard_normal(), 0, 18))
            meta = {"patient": "pt-%03d" % i, "dataset": "m3h", "phenotype": c,
                    "prognosis": int(z[0] + 0.3 * rng.standard_normal() > 0),
                    "brixia_global": glob, "brixia_class": int(np.digitize(glob, [6, 9, 12]))}
            w.put("r%04d" % i, meta, tensors)
        w.close()


if __name__ == "__main__":
    main()
