"""scikit-learn 1.2 references for lib/data/folds.c (stratified group k-fold).

Run from the repository root with Debian's python3-sklearn:  /usr/bin/python3 tests/ref/gen_folds.py
It writes tests/data/ref/folds.cxs, one record per case:
  id       the case name
  meta     k; spread_sklearn = the balance of StratifiedGroupKFold(k, shuffle=False)'s folds
           (mean over classes of the std over folds of the class fraction, numpy's formula);
           spread_sklearn_shuffled = its mean over StratifiedGroupKFold(k, shuffle=True,
           random_state=0..9) (scikit-learn 1.2 shuffles the class counts but not the group ids
           beside them, so its shuffled folds are less balanced: for information only);
           sklearn_empty_fold = 1 when scikit-learn leaves a fold empty
  tensors  group, klass: i64 [n] per record, both dense 0..G-1 / 0..C-1 in np.unique order,
           so that scikit-learn's group and class indices are these numbers;
           sklearn_fold: i64 [n], the fold of each record in StratifiedGroupKFold(k, shuffle=False)
Deterministic: rerunning reproduces the file byte for byte.
"""
import os
import sys
import warnings

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxstream import Writer, header  # noqa: E402

OUT = "tests/data/ref/folds.cxs"


def folds_of(splitter, klass, group):
    fold = np.full(len(klass), -1, dtype=np.int64)
    for f, (_, test) in enumerate(splitter.split(np.zeros(len(klass)), klass, group)):
        fold[test] = f
    return fold


def spread(fold, klass, k):
    counts = np.zeros((k, klass.max() + 1))
    for f, c in zip(fold, klass):
        if f >= 0:
            counts[f, c] += 1
    return float(np.mean(np.std(counts / np.bincount(klass).reshape(1, -1), axis=0)))


def dense(values):
    return np.unique(values, return_inverse=True)[1].astype(np.int64)


def phantom_like(rng):
    """Two data sets of patients with 1-3 images; joint class (data set, prognosis or Brixia class);
    a few patients' images differ in label, as in cxr-phantom and the real data."""
    group, klass = [], []
    for p in range(150):
        brixia = p % 2 == 1
        label = int(rng.integers(0, 4)) if brixia else int(rng.random() < 0.4)
        for _ in range(int(rng.integers(1, 4))):
            if rng.random() < 0.15:
                label = int(rng.integers(0, 4)) if brixia else 1 - label
            group.append(p)
            klass.append(2 + label if brixia else label)
    return np.array(group), np.array(klass), 5


def imbalanced(rng):
    group, klass = [], []
    for p in range(200):
        label = int(rng.random() < 0.08)
        for _ in range(int(rng.integers(1, 5))):
            group.append(p)
            klass.append(label)
    return np.array(group), np.array(klass), 5


def many_classes(rng):
    """12 classes: numpy sums 8 or more numbers pairwise, which the C code must do too."""
    group, klass = [], []
    for p in range(120):
        for _ in range(int(rng.integers(1, 4))):
            group.append(p)
            klass.append(int(rng.integers(0, 12)))
    return np.array(group), np.array(klass), 3


def large_groups(rng):
    """Few, large groups of mixed classes: the greedy's choices matter most."""
    group, klass = [], []
    for p in range(23):
        for _ in range(int(rng.integers(1, 40))):
            group.append(p)
            klass.append(int(rng.integers(0, 3)))
    return np.array(group), np.array(klass), 4


def sklearn_empty_fold(_rng):
    """Found by search (numpy seed 8643): scikit-learn's greedy leaves one of 4 folds empty."""
    rng = np.random.default_rng(8643)
    n_groups = rng.integers(3, 9)
    rng.integers(2, min(n_groups, 6) + 1)
    sizes = rng.integers(1, 40, n_groups) ** (1 + int(rng.integers(0, 2)))
    group = np.repeat(np.arange(n_groups), sizes)
    klass = rng.integers(0, int(rng.integers(2, 5)), len(group))
    return group, klass, 4


def main():
    warnings.simplefilter("ignore")   # "least populated class has fewer members than n_splits"
    rng = np.random.default_rng(20261123)
    with open(OUT + ".tmp", "wb") as f:
        w = Writer(f, header("reference", tool="gen_folds.py", argv=["tests/ref/gen_folds.py"]))
        for make in (phantom_like, imbalanced, many_classes, large_groups, sklearn_empty_fold):
            group, klass, k = make(rng)
            group, klass = dense(group), dense(klass)
            fold = folds_of(StratifiedGroupKFold(k, shuffle=False), klass, group)
            shuffled = [spread(folds_of(StratifiedGroupKFold(k, shuffle=True, random_state=s), klass, group), klass, k)
                        for s in range(10)]
            meta = {"k": k, "spread_sklearn": spread(fold, klass, k),
                    "spread_sklearn_shuffled": float(np.mean(shuffled)),
                    "sklearn_empty_fold": int(len(np.unique(fold)) < k)}
            w.put(make.__name__, meta, {"group": group, "klass": klass, "sklearn_fold": fold})
        w.close()
    os.replace(OUT + ".tmp", OUT)


if __name__ == "__main__":
    main()
