load helpers
load streams

mtdata() {
    "$PY" "$BATS_TEST_DIRNAME/mtdata.py" "$@"
}

# A trained heads-only model on the planted-signal embeddings, once per test.
trained() {
    mtdata embedding train.cxs --records 200 --seed 1
    mtdata embedding test.cxs --records 100 --seed 2
    mt-train --task prognosis:binary:prognosis --task brixia:multiclass:brixia_class:4 --input embedding \
        --epochs 6 --batch 32 --lr 3e-3 --threads 1 -o model.cxs train.cxs
}

@test "mt-eval --help, --version and unknown options" {
    assert_help mt-eval
    assert_version mt-eval
    assert_unknown_option mt-eval -m model.cxs in.cxs
}

@test "mt-eval refuses bad streams and then leaves no output file" {
    # a model of mkstream.py's records (tensor image u8 [8, 8], flattened)
    mk write s.cxs
    cxr-select --set prognosis=1 s.cxs >labelled.cxs
    mt-train --task p:binary:prognosis --input image --epochs 1 --threads 1 -o image-model.cxs labelled.cxs
    assert_bad_streams mt-eval -m image-model.cxs -o metrics.cxs -p pred.cxs
    [ ! -e metrics.cxs ] && [ ! -e pred.cxs ]
}

@test "mt-eval refuses a missing model, a stream that is no checkpoint and inputs of another shape" {
    trained
    run mt-eval test.cxs
    assert_fails 64 "^mt-eval: --model CKPT is required"
    run mt-eval -m test.cxs -o m.cxs test.cxs
    assert_fails 65 "^mt-eval: test.cxs: a embedding stream, not a checkpoint"
    mtdata embedding wide.cxs --records 4 --dim 9
    run mt-eval -m model.cxs -o m.cxs wide.cxs
    assert_fails 65 "^mt-eval: wide.cxs: tensors.embedding: 9 values per record, the model takes 8"
    run mt-eval -m model.cxs -o m.cxs --tag novalue test.cxs
    assert_fails 64 "^mt-eval: --tag: 'novalue' is not KEY=VALUE"
    [ ! -e m.cxs ]
    no_partial_files .
}

@test "mt-eval metrics: one flat record per task with tags, bootstrap fields and the confusion matrix" {
    trained
    mt-eval -m model.cxs -o metrics.cxs --tag backbone=none --tag fold=2 --bootstrap 20 test.cxs
    [ "$(cxr-inspect -c metrics.cxs)" = 2 ]
    run cxr-inspect --csv task,kind,n,backbone,fold,acc,acc_std,acc_lo,acc_hi metrics.cxs
    [[ "${lines[1]}" =~ ^prognosis,prognosis,binary,50,none,2,0\.[0-9]+,0\.[0-9]+,0\.[0-9]+,0\.[0-9]+$ ]]
    [[ "${lines[2]}" =~ ^brixia,brixia,multiclass,50,none,2, ]]
    py metrics.cxs <<'EOF'
import sys, cxstream
recs = [r for r in cxstream.read(open(sys.argv[1], "rb"))][1:]
for rec, t in recs:
    m = rec["meta"]
    k = 2 if m["kind"] == "binary" else 4
    assert t["confusion"].shape == (k, k) and t["confusion"].sum() == m["n"], rec
    for name in ("acc", "f1", "gmean", "auroc"):
        assert m[name + "_lo"] <= m[name + "_hi"], (name, m)
EOF
}

@test "mt-eval predictions: ACC and AUROC recomputed from the predictions stream match the metrics" {
    trained
    mt-eval -m model.cxs -o metrics.cxs -p pred.cxs test.cxs
    [ "$(cxr-inspect -c pred.cxs)" = 100 ]
    py pred.cxs metrics.cxs <<'EOF'
import sys, numpy as np, cxstream
from sklearn.metrics import roc_auc_score
preds = [r for r in cxstream.read(open(sys.argv[1], "rb"))][1:]
metrics = {r["id"]: r["meta"] for r, _ in [r for r in cxstream.read(open(sys.argv[2], "rb"))][1:]}
for task, k in (("prognosis", 2), ("brixia", 4)):
    rows = [(r["meta"][task + "_true"], r["meta"][task + "_pred"], t[task + "_prob"]) for r, t in preds
            if r["meta"][task + "_true"] is not None]
    y = np.array([r[0] for r in rows]); pred = np.array([r[1] for r in rows]); prob = np.array([r[2] for r in rows])
    assert prob.shape == (50, k) and np.allclose(prob.sum(1), 1, atol=1e-5)
    assert (pred == prob.argmax(1)).all()
    acc = (y == pred).mean()
    assert abs(acc - metrics[task]["acc"]) < 1e-12, (task, acc, metrics[task]["acc"])
    auroc = roc_auc_score(y, prob[:, 1]) if k == 2 else roc_auc_score(y, prob, multi_class="ovr")
    assert abs(auroc - metrics[task]["auroc"]) < 1e-6, (task, auroc, metrics[task]["auroc"])
    print(task, "acc", acc, "auroc", auroc)
# the records without a task's label say so with null, and keep patient, center, dataset
r0 = preds[0][0]["meta"]
assert r0["prognosis_true"] is None and r0["brixia_true"] is not None, r0
assert r0["patient"] == "pt-000" and r0["dataset"] == "brixia" and r0["center"] == "center-A", r0
EOF
}

@test "mt-eval writes null for a metric that is undefined" {
    trained
    cxr-select --where dataset=prognosis --where prognosis=1 test.cxs >positives.cxs
    mt-eval -m model.cxs -o m.cxs positives.cxs
    run cxr-inspect --csv n,auroc m.cxs
    [[ "${lines[1]}" =~ ^prognosis,[0-9]+,$ ]]
    [ "${lines[2]}" = "brixia,0," ]
}

@test "mt-eval tags every metrics record with task_set, the sorted task names, unless --tag sets it" {
    trained
    mt-eval -m model.cxs -o m.cxs test.cxs
    run cxr-inspect --csv task_set m.cxs
    [ "${lines[1]}" = 'prognosis,"brixia,prognosis"' ]
    [ "${lines[2]}" = 'brixia,"brixia,prognosis"' ]
    mt-eval -m model.cxs -o m2.cxs --tag task_set=mine test.cxs
    [ "$(cxr-inspect --csv task_set m2.cxs | tail -1)" = "brixia,mine" ]
}
