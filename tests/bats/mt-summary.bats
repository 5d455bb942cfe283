load helpers
load streams

# Metrics streams as mt-eval writes them (one record per task, flat meta), made here with
# cxstream, and an oracle in numpy that reads the same streams on its own: per group
# (backbone, experiment, protocol, task) the mean and numpy.std(ddof=1) of each metric over
# the folds, null values left out.

# runs [--seed S] [--skip B/E/P/F ...]: run-B-E-P-F.cxs for backbones resnet18, densenet121,
# experiments stl, ft, mdmt, protocols cv (5 folds) and loco (3 folds); tasks prognosis
# (binary) and brixia (multiclass); prognosis auroc is null in fold 0 of every run.
runs() {
    py "$@" <<'EOF'
import argparse, numpy as np, cxstream
p = argparse.ArgumentParser()
p.add_argument("--seed", type=int, default=1)
p.add_argument("--skip", nargs="*", default=[])
a = p.parse_args()
rng = np.random.default_rng(a.seed)
for bb in ("resnet18", "densenet121"):
    for ex in ("stl", "ft", "mdmt"):
        for pr, nf in (("cv", 5), ("loco", 3)):
            for f in range(nf):
                if "%s/%s/%s/%d" % (bb, ex, pr, f) in a.skip:
                    continue
                with open("run-%s-%s-%s-%d.cxs" % (bb, ex, pr, f), "wb") as fh:
                    w = cxstream.Writer(fh, cxstream.header("metrics", tool="mt-eval"))
                    tags = dict(backbone=bb, experiment=ex, protocol=pr, fold=f)
                    m = {k: float(rng.uniform(0.4, 0.9)) for k in ("acc", "f1", "gmean", "auroc")}
                    if f == 0:
                        m["auroc"] = None
                    w.put("prognosis", dict(task="prognosis", kind="binary", n=40, **m, **tags),
                          {"confusion": np.array([[10, 5], [5, 20]], dtype=np.int64)})
                    m = {k: float(rng.uniform(0.2, 0.7)) for k in ("acc", "f1", "gmean", "auroc")}
                    w.put("brixia", dict(task="brixia", kind="multiclass", n=40, **m, **tags))
                    w.close()
EOF
}

# oracle SUMMARY.tsv|SUMMARY.cxs INPUT...: checks mt-summary's flat TSV table or summary stream
# against numpy; prints "ok N" (N groups) or what differs.
oracle() {
    py "$@" <<'EOF'
import sys, math, numpy as np, cxstream
out, inputs = sys.argv[1], sys.argv[2:]
metrics = ("acc", "f1", "gmean", "auroc")
groups = {}
for path in inputs:
    with open(path, "rb") as f:
        for rec, _ in cxstream.read(f):
            if "meta" not in rec:
                continue
            m = rec["meta"]
            key = (m["backbone"], m["experiment"], m["protocol"], m["task"])
            groups.setdefault(key, []).append([np.nan if m[k] is None else m[k] for k in metrics])
want = {}
for key, rows in groups.items():
    a = np.array(rows, dtype=float)
    stats = {"n_folds": len(rows)}
    for j, k in enumerate(metrics):
        v = a[:, j][~np.isnan(a[:, j])]
        stats[k + "_mean"] = v.mean() if len(v) else None
        stats[k + "_std"] = v.std(ddof=1) if len(v) >= 2 else None
        stats[k + "_n"] = len(v)
    want[key] = stats
got = {}
if out.endswith(".tsv"):
    lines = open(out).read().splitlines()
    head = lines[0].split("\t")
    for line in lines[1:]:
        cells = dict(zip(head, line.split("\t")))
        key = tuple(cells[f] for f in ("backbone", "experiment", "protocol", "task"))
        got[key] = {k: None if v == "-" else float(v.rstrip("*")) for k, v in cells.items() if k not in
                    ("backbone", "experiment", "protocol", "task")}
else:
    with open(out, "rb") as f:
        for rec, _ in cxstream.read(f):
            if "meta" in rec:
                m = rec["meta"]
                got[(m["backbone"], m["experiment"], m["protocol"], m["task"])] = m
bad = []
if set(got) != set(want):
    bad.append("groups differ: %s" % sorted(set(got) ^ set(want)))
for key in set(got) & set(want):
    for k, w in want[key].items():
        if k.endswith("_n") and out.endswith(".tsv"):
            continue
        g = got[key].get(k, "absent")
        ok = g is None if w is None else g not in (None, "absent") and math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12)
        if not ok:
            bad.append("%s %s: got %s, numpy %s" % ("/".join(key), k, g, w))
print("\n".join(bad) if bad else "ok %d" % len(got))
EOF
}

@test "mt-summary --help, --version and unknown options" {
    assert_help mt-summary
    assert_version mt-summary
    assert_unknown_option mt-summary
}

@test "mt-summary's TSV table gives numpy's mean and std (ddof 1) per group, nulls left out" {
    runs
    mt-summary run-*.cxs >table.tsv
    [ "$(head -1 table.tsv)" = "$(printf 'backbone\texperiment\tprotocol\ttask\tn_folds\tacc_mean\tacc_std\tf1_mean\tf1_std\tgmean_mean\tgmean_std\tauroc_mean\tauroc_std')" ]
    [ "$(wc -l <table.tsv)" -eq 25 ]   # 2 backbones x 3 experiments x 2 protocols x 2 tasks
    [ "$(oracle table.tsv run-*.cxs)" = "ok 24" ]
}

@test "mt-summary -o writes one summary record per group, with null for undefined values" {
    runs
    # a group of one fold: its std is undefined; its prognosis auroc (null in fold 0) too
    cxr-cat run-resnet18-stl-cv-0.cxs -o lone.cxs
    mt-summary -o summary.cxs run-*.cxs
    [ "$(oracle summary.cxs run-*.cxs)" = "ok 24" ]
    [[ "$(cxr-inspect -H summary.cxs)" == *'summary_by: ["backbone", "experiment", "protocol", "task"]'* ]]
    [ "$(cxr-inspect --csv n_folds,auroc_n,acc_n summary.cxs | grep '^resnet18/stl/cv/prognosis,')" = \
      "resnet18/stl/cv/prognosis,5,4,5" ]
    mt-summary -o one.cxs lone.cxs
    py <<'EOF'
import cxstream
recs = [r for r, _ in cxstream.read(open("one.cxs", "rb")) if "meta" in r]
m = {r["id"]: r["meta"] for r in recs}["resnet18/stl/cv/prognosis"]
assert m["n_folds"] == 1 and m["acc_n"] == 1 and m["acc_std"] is None and m["acc_mean"] > 0, m
assert m["auroc_mean"] is None and m["auroc_std"] is None and m["auroc_n"] == 0, m
assert m["kind"] == "binary" and "fold" not in m and "confusion" not in m, m
EOF
    no_partial_files .
}

@test "mt-summary reads inputs from --list and from standard input" {
    runs
    ls run-*.cxs >list.txt
    printf '# runs\n\n' >>list.txt
    mt-summary --list list.txt >a.tsv
    mt-summary run-*.cxs >b.tsv
    diff a.tsv b.tsv
    cxr-cat run-resnet18-*.cxs -o all-resnet.cxs
    mt-summary <all-resnet.cxs >c.tsv
    diff c.tsv <(head -1 b.tsv; grep '^resnet18' b.tsv)
}

@test "mt-summary --layout s1 is the paper's Table S1: rows backbone x experiment, cv and loco column groups" {
    runs --skip densenet121/ft/loco/0 densenet121/ft/loco/1 densenet121/ft/loco/2 resnet18/mdmt/cv/4
    mt-summary --layout s1 --task prognosis -t markdown run-*.cxs >s1.md 2>warn.txt
    [ "$(sed -n 1p s1.md)" = "| Backbone | Experiment | CV ACC | CV F1 | CV GM | LOCO ACC | LOCO F1 | LOCO GM |" ]
    [ "$(sed -n 2p s1.md)" = "|---|---|---:|---:|---:|---:|---:|---:|" ]
    [ "$(wc -l <s1.md)" -eq 8 ]
    # a missing group is "-", a group with fewer folds than its protocol's others is starred
    [[ "$(grep '^| densenet121 | ft |' s1.md)" == *"| - | - | - |" ]]
    [[ "$(grep '^| resnet18 | mdmt |' s1.md)" =~ ^\|\ resnet18\ \|\ mdmt\ \|\ [0-9.]+\([0-9.]+\)\*\ \| ]]
    grep -q "warning: group resnet18/mdmt/cv/prognosis has 4 folds, most comparable groups have 5" warn.txt
    # every cell is 100 * mean(std) with one decimal, as numpy computes them
    mt-summary -t tsv --layout s1 --metrics acc,gmean,auroc --task prognosis run-*.cxs >s1.tsv 2>/dev/null
    py <<'EOF'
import glob, numpy as np, cxstream
vals = {}
for path in glob.glob("run-*.cxs"):
    for rec, _ in cxstream.read(open(path, "rb")):
        m = rec.get("meta")
        if m and m["task"] == "prognosis":
            vals.setdefault((m["backbone"], m["experiment"], m["protocol"]), []).append(m)
lines = open("s1.tsv").read().splitlines()
assert lines[0].split("\t") == ["backbone", "experiment", "CV ACC", "CV GM", "CV AUROC",
                                "LOCO ACC", "LOCO GM", "LOCO AUROC"], lines[0]
assert [tuple(l.split("\t")[:2]) for l in lines[1:]] == [
    (b, e) for b in ("densenet121", "resnet18") for e in ("ft", "mdmt", "stl")], lines
for line in lines[1:]:
    cells = line.split("\t")
    b, e, rest = cells[0], cells[1], cells[2:]
    for i, cell in enumerate(rest):
        p, k = ("cv", "loco")[i // 3], ("acc", "gmean", "auroc")[i % 3]
        runs = vals.get((b, e, p))
        if runs is None:
            assert cell == "-", (b, e, p, cell)
            continue
        v = np.array([r[k] for r in runs if r[k] is not None])
        mean, std = cell.rstrip("*")[:-1].split("(")
        assert abs(float(mean) - 100 * v.mean()) <= 0.05 + 1e-9, (b, e, p, k, cell, v)
        assert abs(float(std) - 100 * v.std(ddof=1)) <= 0.05 + 1e-9, (b, e, p, k, cell, v)
        assert cell.endswith("*") == (len(runs) != {"cv": 5, "loco": 3}[p]), (b, e, p, cell)
print("ok")
EOF
}

@test "mt-summary --layout s1 needs one task and the four fields" {
    runs
    run mt-summary --layout s1 run-*.cxs
    assert_fails 64 "^mt-summary: --layout s1: several tasks \(prognosis, brixia\): choose one with --task; try"
    run mt-summary --layout s1 --by backbone,task run-*.cxs
    assert_fails 64 "^mt-summary: --layout s1 needs backbone, experiment, protocol and task among the --by fields"
    run mt-summary --layout s1 --task nosuch run-*.cxs
    assert_fails 65 "^mt-summary: --task nosuch: no group of that task"
    run mt-summary --layout s1 --task prognosis --metrics acc,r3 run-*.cxs
    assert_fails 64 "^mt-summary: --metrics: r3 is not among the metrics summarized"
}

@test "mt-summary refuses a fold seen twice in a group, unless told not to check" {
    runs
    run mt-summary --by backbone,task run-*.cxs
    assert_fails 65 '^mt-summary: run-.*\.cxs: record 0 \(id "prognosis"\): meta.fold: fold 0 appears twice in group [a-z0-9]+/prognosis$'
    mt-summary --by backbone,task --fold-field '' run-*.cxs >t.tsv 2>/dev/null
    [ "$(grep -c . t.tsv)" -eq 5 ]
    [ "$(awk -F'\t' '$1 == "resnet18" && $2 == "prognosis" {print $3}' t.tsv)" = 24 ]
}

@test "mt-summary refuses bad streams with one line and leaves no output file" {
    runs
    truncated run-resnet18-stl-cv-1.cxs >cut.cxs
    truncated run-resnet18-stl-cv-1.cxs 6 >cut-at-record.cxs
    mk write image.cxs
    mk write other.cxs --format other-format
    run mt-summary -o s.cxs missing.cxs
    assert_fails 66 "^mt-summary: missing.cxs: cannot open"
    run mt-summary -o s.cxs run-resnet18-stl-cv-0.cxs cut.cxs
    assert_fails 65 "^mt-summary: cut.cxs: .*truncated"
    run mt-summary -o s.cxs cut-at-record.cxs
    assert_fails 65 "^mt-summary: cut-at-record.cxs: .*truncated"
    run mt-summary -o s.cxs other.cxs
    assert_fails 65 "^mt-summary: other.cxs: header: format: not a cxr-mtl stream"
    run mt-summary -o s.cxs run-resnet18-stl-cv-0.cxs image.cxs
    assert_fails 65 '^mt-summary: image.cxs: header: kind: "image", not a metrics stream$'
    run mt-summary -o s.cxs --list missing-list.txt
    assert_fails 66 "^mt-summary: missing-list.txt: cannot open"
    [ ! -e s.cxs ]
    no_partial_files .
}

@test "mt-summary refuses records without a metric, a field or a kind, naming them" {
    runs
    cxr-select --unset auroc run-resnet18-stl-cv-2.cxs -o no-auroc.cxs
    run mt-summary -o s.cxs run-resnet18-stl-cv-0.cxs no-auroc.cxs
    assert_fails 65 '^mt-summary: no-auroc.cxs: record 0 \(id "prognosis"\): meta.auroc: missing$'
    cxr-select --set acc=high run-resnet18-stl-cv-2.cxs -o text.cxs
    run mt-summary -o s.cxs text.cxs
    assert_fails 65 '^mt-summary: text.cxs: record 0 \(id "prognosis"\): meta.acc: not a number or null$'
    cxr-select --unset protocol run-resnet18-stl-cv-2.cxs -o no-protocol.cxs
    run mt-summary -o s.cxs no-protocol.cxs
    assert_fails 65 '^mt-summary: no-protocol.cxs: record 0 \(id "prognosis"\): meta.protocol: missing \(a --by field\)$'
    cxr-select --unset kind run-resnet18-stl-cv-2.cxs -o no-kind.cxs
    run mt-summary -o s.cxs no-kind.cxs
    assert_fails 65 '^mt-summary: no-kind.cxs: record 0 \(id "prognosis"\): meta.kind: missing'
    # with --metrics the records need only those, and kind is not looked at
    mt-summary --metrics acc,f1 no-kind.cxs >t.tsv
    [ "$(head -1 t.tsv | cut -f5-)" = "$(printf 'n_folds\tacc_mean\tacc_std\tf1_mean\tf1_std')" ]
    run mt-summary --metrics acc,auroc no-auroc.cxs
    assert_fails 65 '^mt-summary: no-auroc.cxs: record 0 \(id "prognosis"\): meta.auroc: missing$'
    # an empty metrics stream
    cxr-select --where task=none run-resnet18-stl-cv-2.cxs -o empty.cxs
    run mt-summary -o s.cxs empty.cxs
    assert_fails 65 "^mt-summary: no metrics records in the input"
    [ ! -e s.cxs ]
    no_partial_files .
}

@test "mt-summary usage errors" {
    runs
    run mt-summary --table html run-*.cxs
    assert_fails 64 "^mt-summary: --table: 'html' is not tsv, markdown or none"
    run mt-summary --layout wide run-*.cxs
    assert_fails 64 "^mt-summary: --layout: 'wide' is not flat or s1"
    run mt-summary --metrics acc,precision run-*.cxs
    assert_fails 64 "^mt-summary: --metrics: unknown metric 'precision'"
    run mt-summary --by backbone,,task run-*.cxs
    assert_fails 64 "^mt-summary: --by: empty item"
    run mt-summary --task prognosis run-*.cxs
    assert_fails 64 "^mt-summary: --task goes with --layout s1"
}

@test "mt-summary --table markdown and --table none" {
    runs
    mt-summary -t markdown --by experiment,protocol,task --fold-field '' run-*.cxs >t.md 2>/dev/null
    [ "$(sed -n 2p t.md)" = "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" ]
    [[ "$(sed -n 3p t.md)" =~ ^\|\ ft\ \|\ cv\ \|\ prognosis\ \|\ 10\ \|\ 0\.[0-9]{4}\ \| ]]
    run mt-summary -t none run-*.cxs
    [ "$status" -eq 0 ] && [ -z "$output" ]
}
