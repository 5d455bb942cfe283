load helpers
load streams

# A synthetic grid as pipelines/mdmt.mk leaves it, made here with cxstream: RUNS/metrics.cxs
# (mt-eval's metrics records, flat meta; an MDMT run also reports brixia, with null metrics as
# its test folds have no brixia label) and RUNS/runs/B/E/P/F/predictions.cxs. The oracle for
# Table 1 is numpy reading metrics.cxs on its own: per experiment and protocol, the mean over
# backbones of the mean over folds.

# grid DIR [--seed S]: backbones resnet18, densenet121, mobilenet_v2; experiments stl-tau1, ft,
# mdmt; protocols cv (3 folds) and loco (4 folds); 24 test records per fold, 3 unlabelled.
grid() {
    py "$@" <<'EOF2'
import argparse, os, numpy as np, cxstream
p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
rng = np.random.default_rng(a.seed)
metrics = open(os.path.join(a.dir, "metrics.cxs"), "wb")
mw = cxstream.Writer(metrics, cxstream.header("metrics", tool="mt-eval"))
for bb in ("resnet18", "densenet121", "mobilenet_v2"):
    for ex, skill in (("stl-tau1", 0.5), ("ft", 1.0), ("mdmt", 1.5)):
        for pr, nf in (("cv", 3), ("loco", 4)):
            for f in range(nf):
                tags = dict(backbone=bb, experiment=ex, protocol=pr, fold=f)
                m = {k: float(rng.uniform(0.4, 0.9)) for k in ("acc", "f1", "gmean", "auroc")}
                mw.put("prognosis", dict(task="prognosis", kind="binary", n=21, **tags, **m))
                if ex == "mdmt":
                    mw.put("brixia", dict(task="brixia", kind="multiclass", n=0, **tags,
                                          acc=None, f1=None, gmean=None, auroc=None))
                d = os.path.join(a.dir, "runs", bb, ex, pr, str(f))
                os.makedirs(d)
                with open(os.path.join(d, "predictions.cxs"), "wb") as fh:
                    w = cxstream.Writer(fh, cxstream.header("predictions", tool="mt-eval"))
                    for i in range(24):
                        y = int(rng.integers(0, 2)) if i >= 3 else None
                        s = 1 / (1 + np.exp(-(rng.normal() + skill * (2 * (y or 0) - 1))))
                        w.put("%s-%d-%d" % (pr, f, i), dict(fold=f, prognosis_true=y, prognosis_pred=int(s > 0.5),
                                                              brixia_true=None, brixia_pred=0),
                              dict(prognosis_prob=np.array([1 - s, s], np.float32),
                                   brixia_prob=np.full(4, 0.25, np.float32)))
                    w.close()
mw.close()
EOF2
}

# table1_oracle METRICS.cxs: Table 1's body rows as mt-report prints them.
table1_oracle() {
    py "$1" <<'EOF2'
import sys, numpy as np, cxstream
runs = {}
with open(sys.argv[1], "rb") as f:
    for rec, _ in cxstream.read(f):
        m = rec.get("meta", {})
        if m.get("task") != "prognosis":
            continue
        for k in ("acc", "f1", "gmean"):
            runs.setdefault((m["experiment"], m["protocol"], k, m["backbone"]), []).append(m[k])
for ex in ("stl-tau1", "ft", "mdmt"):
    cells = []
    for pr in ("cv", "loco"):
        for k in ("acc", "f1", "gmean"):
            fold_means = [np.mean(v) for key, v in runs.items() if key[:3] == (ex, pr, k)]
            assert len(fold_means) == 3
            cells.append("%.1f" % (100 * np.mean(fold_means)))
    print("| %s | %s |" % (ex, " | ".join(cells)))
EOF2
}

# is_png FILE WIDTH HEIGHT: a PNG signature and an IHDR of that size.
is_png() {
    py "$@" <<'EOF2'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
assert data[12:16] == b"IHDR"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (int(sys.argv[2]), int(sys.argv[3])), (w, h)
EOF2
}

# summary_stream OUT: a hand-made summary stream: two backbones, f1 undefined for one of them in
# mdmt/cv (every fold null), and a record of another task.
summary_stream() {
    py "$1" <<'EOF2'
import sys, cxstream
with open(sys.argv[1], "wb") as f:
    w = cxstream.Writer(f, cxstream.header("summary", tool="mt-summary"))
    def put(bb, ex, pr, acc, f1, task="prognosis"):
        w.put("/".join((bb, ex, pr, task)), dict(backbone=bb, experiment=ex, protocol=pr, task=task, n_folds=5,
              acc_mean=acc, acc_std=0.02, f1_mean=f1, f1_std=None if f1 is None else 0.03,
              gmean_mean=0.5, gmean_std=None))
    put("a", "stl", "loco", 0.60, 0.50)
    put("a", "stl", "cv", 0.70, 0.60)
    put("a", "mdmt", "cv", 0.80, None)
    put("b", "stl", "cv", 0.65, 0.55)
    put("b", "mdmt", "cv", 0.75, 0.45)
    put("b", "mdmt", "cv", 0.10, 0.10, task="brixia")
    w.close()
EOF2
}

@test "mt-report: --help, --version, unknown options" {
    assert_help mt-report
    assert_version mt-report
    assert_unknown_option mt-report
}

@test "mt-report: Table 1 is the mean over backbones of the fold means (numpy)" {
    mkdir runs
    grid runs
    mt-summary -o summary.cxs runs/metrics.cxs
    run mt-report --task prognosis summary.cxs
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "| Experiment | CV ACC | CV F1 | CV GM | LOCO ACC | LOCO F1 | LOCO GM |" ]
    [ "${lines[1]}" = "|---|---:|---:|---:|---:|---:|---:|" ]
    diff <(table1_oracle runs/metrics.cxs) <(printf '%s\n' "${lines[@]:2:3}")
    [[ "$output" == *"Mean over 3 backbones of the mean over folds, %, task prognosis."* ]]
}

@test "mt-report: missing cells, undefined values, another task, --metrics" {
    summary_stream s.cxs
    run mt-report --task prognosis -m acc,f1 -o t.md s.cxs
    [ "$status" -eq 0 ]
    # stl: acc cv (70+65)/2, f1 cv (60+55)/2; loco from backbone a only; mdmt f1 cv from b only
    diff t.md - <<'EOF2'
| Experiment | CV ACC | CV F1 | LOCO ACC | LOCO F1 |
|---|---:|---:|---:|---:|
| stl | 67.5 | 57.5 | 60.0* | 50.0* |
| mdmt | 77.5 | 45.0* | - | - |

Mean over 2 backbones of the mean over folds, %, task prognosis. *: over fewer backbones (the others lack the experiment or the value is undefined).
EOF2
    run mt-report s.cxs
    assert_fails 64 "^mt-report: s.cxs: record 5 .*several tasks \(prognosis, brixia\): choose one with --task"
    run mt-report --task nosuch s.cxs
    assert_fails 65 "^mt-report: no summary record of task nosuch"
    run mt-report --task prognosis -m acc,auroc s.cxs
    assert_fails 65 "^mt-report: s.cxs: record 0 \(id \"a/stl/loco/prognosis\"\): meta.auroc_mean: missing"
    run mt-report -m acc,,f1 s.cxs
    assert_fails 64 "^mt-report: --metrics: empty item"
    run mt-report -m acc,acc s.cxs
    assert_fails 64 "^mt-report: --metrics: 'acc' given twice"
}

@test "mt-report: --plot writes a gnuplot script that draws the bars" {
    summary_stream s.cxs
    mt-report --task prognosis --plot bars.png -o bars.gp s.cxs
    grep -q "^set multiplot layout 3,2" bars.gp
    # backbone a, cv, acc: stl 70 +- 2, mdmt 80 +- 2
    grep -q '^"a" 70 2 80 2$' bars.gp
    # f1 of a/mdmt/cv undefined: a missing bar
    grep -q '^"a" 60 3 - -$' bars.gp
    gnuplot bars.gp
    is_png bars.png 1280 1020
    gnuplot -e "png='other.png'" bars.gp
    is_png other.png 1280 1020
}

@test "mt-report: bad input: not a summary stream, truncated, missing, no output on error" {
    summary_stream s.cxs
    truncated s.cxs >cut.cxs
    run mt-report --task prognosis -o t.md cut.cxs
    assert_fails 65 "^mt-report: cut.cxs: .*truncated"
    mkdir runs
    grid runs
    run mt-report --task prognosis -o t.md runs/metrics.cxs
    assert_fails 65 "^mt-report: runs/metrics.cxs: header: kind: \"metrics\", not a summary stream"
    run mt-report -o t.md missing.cxs
    assert_fails 66 "^mt-report: missing.cxs: cannot open"
    run mt-report s.cxs other.cxs
    assert_fails 64 "one summary stream at most"
    [ ! -e t.md ]
    no_partial_files .
}

@test "report.mk: the whole report on a synthetic grid" {
    mkdir runs
    grid runs
    run make -s -f "$BATS_TEST_DIRNAME/../../pipelines/report.mk" BIN="$CXR_BIN" RUNS=runs OUT=rep
    [ "$status" -eq 0 ]
    for f in summary.cxs table1.md table2-cv.md table2-loco.md table-s1.md bars.png report.md \
             roc-{resnet18,densenet121,mobilenet_v2}-{cv,loco}.png; do
        [ -s "rep/$f" ]
    done
    is_png rep/bars.png 1280 1020
    is_png rep/roc-resnet18-cv.png 640 600
    # Table 1 in the report, checked against numpy
    diff <(table1_oracle runs/metrics.cxs) <(grep -E '^\| (stl-tau1|ft|mdmt) \| [0-9]' rep/table1.md)
    grep -qF "$(sed -n 3p rep/table1.md)" rep/report.md
    # Table 2: both protocols, both comparisons, mu and sigma rows
    [ "$(grep -c '^| paired | greater | mdmt vs stl-tau1 |' rep/report.md)" -eq 2 ]
    [ "$(grep -c '^| paired | less | mdmt vs ft |' rep/report.md)" -eq 2 ]
    # Table S1: 3 backbones x 3 experiments
    [ "$(grep -cE '^\| (resnet18|densenet121|mobilenet_v2) \| ' rep/table-s1.md)" -eq 9 ]
    grep -q '^!\[ROC roc-mobilenet_v2-loco\](roc-mobilenet_v2-loco.png)$' rep/report.md
    grep -q '^!\[.*\](bars.png)$' rep/report.md
    no_partial_files rep
    [ -z "$(find rep -name '*.tmp')" ]
    # nothing to redo
    run make -f "$BATS_TEST_DIRNAME/../../pipelines/report.mk" BIN="$CXR_BIN" RUNS=runs OUT=rep
    [[ "$output" == *"Nothing to be done"* ]]
}

@test "report.mk: without the grid's metrics it says what to run" {
    run make -s -f "$BATS_TEST_DIRNAME/../../pipelines/report.mk" BIN="$CXR_BIN" RUNS=nogrid OUT=rep
    [ "$status" -ne 0 ]
    [[ "$output" == *"nogrid/metrics.cxs is missing: run the grid first"* ]]
    [ ! -e rep/report.md ]
}
