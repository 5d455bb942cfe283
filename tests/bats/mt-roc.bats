load helpers
load streams

# Predictions streams as mt-eval -p writes them, made here with cxstream; the oracle is
# scikit-learn 1.2's roc_curve(drop_intermediate=False) and roc_auc_score on the records of a
# curve's files pooled, read on their own by Python.

# preds OUT SEED [--k K] [--unlabelled N]: 40 records, task prognosis (scores on a coarse grid:
# ties across files), the first N without a label.
preds() {
    py "$@" <<'EOF2'
import argparse, numpy as np, cxstream
p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("seed", type=int)
p.add_argument("--k", type=int, default=2)
p.add_argument("--unlabelled", type=int, default=4)
a = p.parse_args()
rng = np.random.default_rng(a.seed)
with open(a.out, "wb") as f:
    w = cxstream.Writer(f, cxstream.header("predictions", tool="mt-eval"))
    for i in range(40):
        y = int(rng.integers(0, a.k)) if i >= a.unlabelled else None
        prob = rng.dirichlet(np.ones(a.k))
        prob[1] = np.round(0.5 * prob[1] + 0.5 * (y == 1), 2)
        w.put("r%d" % i, dict(fold=a.seed, prognosis_true=y, prognosis_pred=int(np.argmax(prob))),
              dict(prognosis_prob=prob.astype(np.float32)))
    w.close()
EOF2
}

# sklearn_tsv CURVE=FILE,FILE... ...: what mt-roc's TSV should hold.
sklearn_tsv() {
    py "$@" <<'EOF2'
import sys, numpy as np, cxstream
from sklearn.metrics import roc_curve
print("curve\tfpr\ttpr\tthreshold")
for arg in sys.argv[1:]:
    name, files = arg.split("=", 1)
    y, s = [], []
    for path in files.split(","):
        with open(path, "rb") as f:
            for rec, t in cxstream.read(f):
                if t is None or rec["meta"].get("prognosis_true") is None:
                    continue
                y.append(rec["meta"]["prognosis_true"] == 1)
                s.append(float(t["prognosis_prob"][1]))
    fpr, tpr, thr = roc_curve(np.array(y), np.array(s), drop_intermediate=False)
    for a, b, c in zip(fpr, tpr, thr):
        print("%s\t%.17g\t%.17g\t%.9g" % (name, a, b, c))
EOF2
}

auc_of() {
    py "$@" <<'EOF2'
import sys, numpy as np, cxstream
from sklearn.metrics import roc_auc_score
y, s = [], []
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for rec, t in cxstream.read(f):
            if t is not None and rec["meta"].get("prognosis_true") is not None:
                y.append(rec["meta"]["prognosis_true"])
                s.append(float(t["prognosis_prob"][1]))
print("%.3f, %d+/%d-" % (roc_auc_score(y, s), sum(y), len(y) - sum(y)))
EOF2
}

@test "mt-roc: --help, --version, unknown options" {
    assert_help mt-roc
    assert_version mt-roc
    assert_unknown_option mt-roc --task prognosis a=x.cxs
}

@test "mt-roc: pooled curves match scikit-learn's roc_curve point for point" {
    preds f0.cxs 1
    preds f1.cxs 2
    preds f2.cxs 3 --unlabelled 0
    mt-roc --task prognosis -o roc.tsv stl=f0.cxs,f1.cxs mdmt=f2.cxs,f0.cxs,f1.cxs
    sklearn_tsv stl=f0.cxs,f1.cxs mdmt=f2.cxs,f0.cxs,f1.cxs >want.tsv
    diff roc.tsv want.tsv
    [ "$(grep -c '^stl' roc.tsv)" -gt 10 ]
}

@test "mt-roc: --plot draws the curves with sklearn's AUC in the key" {
    preds f0.cxs 1
    preds f1.cxs 2
    mt-roc --task prognosis --plot roc.png --title "resnet18, cv" -o roc.gp a=f0.cxs b=f0.cxs,f1.cxs
    grep -qF "title 'a (AUC $(auc_of f0.cxs))'" roc.gp
    grep -qF "title 'b (AUC $(auc_of f0.cxs f1.cxs))'" roc.gp
    grep -qF "set title 'resnet18, cv'" roc.gp
    gnuplot roc.gp
    py roc.png <<'EOF2'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", d[16:24]) == (640, 600)
EOF2
}

@test "mt-roc: --class picks the positive class of a multiclass task" {
    preds f0.cxs 1 --k 4
    mt-roc --task prognosis --class 1 -o roc.tsv x=f0.cxs
    sklearn_tsv x=f0.cxs >want.tsv
    diff roc.tsv want.tsv
    run mt-roc --task prognosis --class 4 x=f0.cxs
    assert_fails 65 "^mt-roc: f0.cxs: record 4 \(id \"r4\"\): tensors.prognosis_prob: 4 classes, no class 4"
}

@test "mt-roc: usage errors" {
    preds f0.cxs 1
    run mt-roc x=f0.cxs
    assert_fails 64 "^mt-roc: --task NAME is required"
    run mt-roc --task prognosis
    assert_fails 64 "^mt-roc: no curve"
    run mt-roc --task prognosis f0.cxs
    assert_fails 64 "^mt-roc: 'f0.cxs': a curve is NAME=FILE"
    run mt-roc --task prognosis x=
    assert_fails 64 "a curve is NAME=FILE"
    run mt-roc --task prognosis --class -1 x=f0.cxs
    assert_fails 64 "^mt-roc: --class"
}

@test "mt-roc: bad input: one class, wrong kind, missing tensor, bad label, truncated, no output" {
    preds f0.cxs 1
    py one.cxs <<'EOF2'
import sys, numpy as np, cxstream
with open(sys.argv[1], "wb") as f:
    w = cxstream.Writer(f, cxstream.header("predictions"))
    for i in range(3):
        w.put("r%d" % i, dict(prognosis_true=1), dict(prognosis_prob=np.array([0.4, 0.6], np.float32)))
    w.put("nolabel", dict(prognosis_true=None), dict(prognosis_prob=np.array([0.4, 0.6], np.float32)))
    w.close()
with open("notensor.cxs", "wb") as f:
    w = cxstream.Writer(f, cxstream.header("predictions"))
    w.put("a", dict(prognosis_true=0), dict(prognosis_prob=np.array([0.4, 0.6], np.float32)))
    w.put("b", dict(prognosis_true=1), {})
    w.close()
with open("badlabel.cxs", "wb") as f:
    w = cxstream.Writer(f, cxstream.header("predictions"))
    w.put("a", dict(prognosis_true="severe"), dict(prognosis_prob=np.array([0.4, 0.6], np.float32)))
    w.close()
with open("nan.cxs", "wb") as f:
    w = cxstream.Writer(f, cxstream.header("predictions"))
    w.put("a", dict(prognosis_true=1), dict(prognosis_prob=np.array([0.4, np.nan], np.float32)))
    w.close()
with open("metrics.cxs", "wb") as f:
    w = cxstream.Writer(f, cxstream.header("metrics"))
    w.close()
EOF2
    run mt-roc --task prognosis -o r.tsv x=one.cxs
    assert_fails 65 "^mt-roc: curve x: task prognosis: ROC curve undefined: 3 positive and 0 negative"
    run mt-roc --task prognosis -o r.tsv x=f0.cxs,notensor.cxs
    assert_fails 65 "^mt-roc: notensor.cxs: record 1 \(id \"b\"\): tensors.prognosis_prob: missing"
    run mt-roc --task prognosis -o r.tsv x=badlabel.cxs
    assert_fails 65 "^mt-roc: badlabel.cxs: record 0 \(id \"a\"\): meta.prognosis_true: not a class index 0..1"
    run mt-roc --task prognosis -o r.tsv x=nan.cxs
    assert_fails 65 "^mt-roc: nan.cxs: record 0 \(id \"a\"\): tensors.prognosis_prob\[1\]: nan is not a finite number"
    run mt-roc --task prognosis -o r.tsv x=metrics.cxs
    assert_fails 65 "^mt-roc: metrics.cxs: header: kind: \"metrics\", not a predictions stream"
    truncated f0.cxs >cut.cxs
    run mt-roc --task prognosis -o r.tsv x=cut.cxs
    assert_fails 65 "^mt-roc: cut.cxs: .*truncated"
    run mt-roc --task prognosis -o r.tsv x=missing.cxs
    assert_fails 66 "^mt-roc: missing.cxs: cannot open"
    [ ! -e r.tsv ]
    no_partial_files .
}
