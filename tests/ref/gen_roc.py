#!/usr/bin/env python3
"""Reference for tests/unit/test_roc.c: scikit-learn 1.2's ROC curve points,
roc_curve(y_true, y_score, drop_intermediate=False), and roc_auc_score, on fixed cases.
Writes tests/data/ref/roc.cxs, one record per case: tensors score f32 [n] (sklearn sees them
widened to float64, so both sides rank the very same scores), label i32 [n] (1 = positive),
fpr, tpr, threshold f64 [p] (the curve), meta auc.

    /usr/bin/python3 tests/ref/gen_roc.py
"""
import os
import sys

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

sys.path.insert(0, os.path.dirname(__file__))
import cxstream  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "ref", "roc.cxs")


def case(w, name, label, score):
    label = np.asarray(label, dtype=np.int32)
    score = np.asarray(score, dtype=np.float32)
    fpr, tpr, threshold = roc_curve(label, score.astype(np.float64), drop_intermediate=False)
    auc = roc_auc_score(label, score.astype(np.float64))
    w.put(name, {"auc": float(auc), "points": int(len(fpr))},
          {"score": score, "label": label, "fpr": fpr.astype(np.float64), "tpr": tpr.astype(np.float64),
           "threshold": threshold.astype(np.float64)})


def main():
    rng = np.random.default_rng(20261123)
    with open(OUT, "wb") as out:
        w = cxstream.Writer(out, cxstream.header("roc-reference", tool="gen_roc.py"))
        # distinct scores, informative
        label = rng.integers(0, 2, 200)
        case(w, "distinct", label, 1 / (1 + np.exp(-(rng.normal(size=200) + 1.2 * label))))
        # scores on a coarse grid: many ties, mixed classes within a tie
        label = rng.integers(0, 2, 300)
        case(w, "ties", label, np.round(rng.uniform(size=300) * 0.6 + 0.4 * label, 1))
        # every score equal: the diagonal in one step
        case(w, "all-tied", [0, 1, 1, 0, 1], [0.5] * 5)
        # perfect separation, and perfectly wrong
        case(w, "perfect", [0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.8, 0.9])
        case(w, "inverted", [1, 1, 0, 0], [0.1, 0.2, 0.3, 0.8])
        # one positive among many, scores at the ends of [0, 1]
        case(w, "one-positive", [0] * 9 + [1], [0.0, 0.0, 0.1, 0.2, 0.2, 0.5, 0.9, 1.0, 1.0, 0.9])
        # imbalanced, skewed probabilities as a trained model gives
        label = (rng.uniform(size=120) < 0.25).astype(np.int32)
        case(w, "imbalanced", label, rng.beta(2 + 3 * label, 5, size=120))
        w.close()


if __name__ == "__main__":
    main()
