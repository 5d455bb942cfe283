#!/usr/bin/env python3
"""Reference for tests/unit/test_metrics.c and tests/unit/test_cluster.c: scikit-learn 1.2's
metrics on fixed predictions, and its KMeans on planted blobs. Writes tests/data/ref/metrics.cxs,
one record per case:

  classification (meta kind binary|multiclass, k): tensors label i32 [n], prob f32 [n, k],
      confusion i64 [k, k]; meta acc, f1, gmean, auroc (null where sklearn raises, i.e. the
      metric is undefined). sklearn sees the float32 probabilities widened to float64, so both
      sides rank the very same scores. gmean is a direct numpy computation (imblearn is not
      installed): the geometric mean of the recalls of the classes present in the true labels.
  regression: tensors target f64 [n], value f64 [n]; meta mae, r2 (null for constant targets,
      where sklearn's 1.0/0.0 is a convention the library does not follow).
  clustering: tensors x f32 [n, dim], cluster i32 [n]; meta silhouette (null when sklearn
      refuses: fewer than 2 or more than n - 1 clusters).
  kmeans (kind "kmeans"): tensors x f32 [n, dim], planted i32 [n], sklearn i32 [n] (KMeans
      labels); meta k, inertia (KMeans with k-means++, n_init 10, tol 0, Lloyd).

    /usr/bin/python3 tests/ref/gen_metrics.py
"""
import math
import os
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, mean_absolute_error, r2_score,
                             roc_auc_score, silhouette_score)

sys.path.insert(0, os.path.dirname(__file__))
import cxstream  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "ref", "metrics.cxs")


def softmax_rows(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def gmean_direct(y, pred, k):
    recalls = [np.mean(pred[y == c] == c) for c in range(k) if np.any(y == c)]
    return float(np.prod(recalls) ** (1.0 / len(recalls))) if len(recalls) >= 2 else None


def or_none(fn):
    try:
        v = fn()
    except ValueError:
        return None
    return None if v is None or math.isnan(v) else float(v)


def classification(w, name, kind, label, prob):
    label = np.asarray(label, dtype=np.int32)
    prob = np.asarray(prob, dtype=np.float32)
    k = prob.shape[1]
    p64 = prob.astype(np.float64)
    pred = np.argmax(prob, axis=1)
    if kind == "binary":
        f1 = f1_score(label, pred, average="binary", pos_label=1, zero_division=0)
        auroc = or_none(lambda: roc_auc_score(label, p64[:, 1]))
    else:
        f1 = f1_score(label, pred, average="macro", zero_division=0)
        # the mean of the per-class one-vs-rest AUROCs, undefined when a class is absent; for
        # k >= 3 it must equal sklearn's own multi_class="ovr" (which takes k = 2 as binary)
        auroc = or_none(lambda: np.mean([roc_auc_score(label == c, p64[:, c]) for c in range(k)]))
        if k >= 3 and auroc is not None:
            ovr = roc_auc_score(label, p64, multi_class="ovr", average="macro", labels=list(range(k)))
            assert abs(ovr - auroc) < 1e-12, (name, ovr, auroc)
    meta = {"kind": kind, "k": k, "n": int(len(label)), "acc": float(accuracy_score(label, pred)),
            "f1": float(f1), "gmean": gmean_direct(label, pred, k), "auroc": auroc}
    confusion = confusion_matrix(label, pred, labels=list(range(k))).astype(np.int64)
    w.put(name, meta, {"label": label, "prob": prob, "confusion": confusion})


def regression(w, name, target, value):
    target = np.asarray(target, dtype=np.float64)
    value = np.asarray(value, dtype=np.float64)
    r2 = None if np.all(target == target[0]) else float(r2_score(target, value))
    w.put(name, {"kind": "regression", "n": len(target), "mae": float(mean_absolute_error(target, value)),
                 "r2": r2}, {"target": target, "value": value})


def clustering(w, name, x, cluster):
    x = np.asarray(x, dtype=np.float32)
    cluster = np.asarray(cluster, dtype=np.int32)
    s = or_none(lambda: silhouette_score(x.astype(np.float64), cluster, metric="euclidean"))
    w.put(name, {"kind": "clustering", "n": len(x), "silhouette": s}, {"x": x, "cluster": cluster})


def blobs(rng, k, dim, per_cluster, spread):
    centers = rng.uniform(-20, 20, size=(k, dim))
    x = np.concatenate([c + spread * rng.standard_normal((per_cluster, dim)) for c in centers])
    planted = np.repeat(np.arange(k), per_cluster)
    order = rng.permutation(len(x))
    return x[order].astype(np.float32), planted[order].astype(np.int32)


def kmeans(w, name, x, planted, k):
    km = KMeans(n_clusters=k, init="k-means++", n_init=10, tol=0.0, max_iter=300, algorithm="lloyd",
                random_state=0).fit(x.astype(np.float64))
    w.put(name, {"kind": "kmeans", "k": k, "n": len(x), "inertia": float(km.inertia_)},
          {"x": x, "planted": planted, "sklearn": km.labels_.astype(np.int32)})


def main():
    rng = np.random.default_rng(20240611)
    out = open(OUT, "wb")
    w = cxstream.Writer(out, cxstream.header("metrics-reference", tool="gen_metrics.py"))

    # binary
    n = 200
    y = rng.integers(0, 2, n)
    p1 = np.clip(0.5 + 0.25 * (2 * y - 1) + 0.3 * rng.standard_normal(n), 0, 1)
    classification(w, "binary_random", "binary", y, np.stack([1 - p1, p1], 1))
    q1 = np.round(p1 * 8) / 8                     # few distinct scores: many ties across classes
    classification(w, "binary_ties", "binary", y, np.stack([1 - q1, q1], 1))
    classification(w, "binary_perfect", "binary", y, np.stack([1.0 - y, y.astype(float)], 1))
    classification(w, "binary_all_positive", "binary", np.ones(20, int), np.stack([1 - p1[:20], p1[:20]], 1))
    classification(w, "binary_all_negative_none_predicted", "binary", np.zeros(10, int),
                   np.tile([0.8, 0.2], (10, 1)))
    classification(w, "binary_tiny", "binary", [0, 1, 1], [[0.4, 0.6], [0.7, 0.3], [0.2, 0.8]])
    n = 400
    y = (rng.random(n) < 0.05).astype(int)         # 5% positives
    p1 = np.clip(0.2 + 0.4 * y + 0.2 * rng.standard_normal(n), 0, 1)
    classification(w, "binary_imbalanced", "binary", y, np.stack([1 - p1, p1], 1))
    classification(w, "binary_constant_score", "binary", y, np.tile([0.5, 0.5], (n, 1)))

    # multiclass, K = 2..5
    for k in (2, 3, 4, 5):
        n = 60 * k
        y = rng.integers(0, k, n)
        logits = rng.standard_normal((n, k)) + 1.2 * np.eye(k)[y]
        classification(w, "multiclass_k%d_random" % k, "multiclass", y, softmax_rows(logits))
    n = 300
    y = rng.choice(4, n, p=[0.7, 0.2, 0.07, 0.03])
    logits = rng.standard_normal((n, 4)) + 1.5 * np.eye(4)[y]
    classification(w, "multiclass_imbalanced", "multiclass", y, softmax_rows(logits))
    prob = softmax_rows(np.round(rng.standard_normal((n, 4)) + 2.0 * np.eye(4)[y]))  # rounded logits: ties
    classification(w, "multiclass_ties", "multiclass", y, prob)
    classification(w, "multiclass_perfect", "multiclass", y, softmax_rows(5.0 * np.eye(4)[y]))
    y3 = rng.integers(0, 3, 90)                    # class 3 never true and (by the bias) never predicted
    logits = rng.standard_normal((90, 4)) + 1.0 * np.eye(4)[y3] - 10.0 * np.eye(4)[3]
    classification(w, "multiclass_absent_class", "multiclass", y3, softmax_rows(logits))
    y3 = rng.integers(0, 3, 90)                    # class 3 never true but often predicted
    logits = rng.standard_normal((90, 4)) + 1.0 * np.eye(4)[y3] + 0.8 * np.eye(4)[3]
    classification(w, "multiclass_predicted_never_true", "multiclass", y3, softmax_rows(logits))
    classification(w, "multiclass_tiny", "multiclass", [0, 2, 1],
                   softmax_rows(np.array([[2.0, 0, 0], [0, 0, 1], [1, 0.5, 0]])))

    # regression
    t = rng.uniform(0, 18, 80)
    regression(w, "regression_random", t, t + 2.5 * rng.standard_normal(80))
    regression(w, "regression_perfect", t, t)
    regression(w, "regression_worse_than_mean", t[:10], 18 - t[:10])
    regression(w, "regression_constant_target", np.full(12, 3.0), rng.uniform(0, 6, 12))

    # silhouette
    x = rng.standard_normal((90, 4))
    clustering(w, "silhouette_random_labels", x, rng.integers(0, 3, 90))
    xb, planted = blobs(rng, 3, 5, 40, 2.0)
    clustering(w, "silhouette_blobs", xb, planted)
    labels = rng.integers(0, 2, 30)
    labels[7] = 9                                  # a singleton cluster with a non-compact id
    clustering(w, "silhouette_singleton", x[:30], labels)
    clustering(w, "silhouette_one_cluster", x[:10], np.zeros(10, int))

    # k-means
    xb, planted = blobs(rng, 4, 2, 75, 1.0)
    kmeans(w, "kmeans_blobs_2d", xb, planted, 4)
    xb, planted = blobs(rng, 6, 8, 50, 1.5)
    kmeans(w, "kmeans_blobs_8d", xb, planted, 6)

    w.close()
    out.close()


if __name__ == "__main__":
    main()
