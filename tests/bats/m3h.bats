load helpers
load streams

# M3H through mt-train --arch m3h and mt-eval, on tests/bats/mtdata.py's multimodal records:
# three modalities (embedding, tabular, text) that are views of a planted cluster (meta
# phenotype) and of two hidden factors behind prognosis (binary) and brixia_global (regression).
mtdata() {
    "$PY" "$BATS_TEST_DIRNAME/mtdata.py" "$@"
}

TASKS=(--task prognosis:binary:prognosis --task global:regression:brixia_global
       --task brixia:multiclass:brixia_class:4 --task pheno:clustering:phenotype:4)
NET=(--arch m3h --input embedding,tabular,text --hidden 32 --proj-dim 16 --shared-dim 32 --task-dim 16
     --latent-dim 8 --threads 1)

@test "m3h learns binary, regression and multiclass tasks, recovers the planted clusters, writes attention per record" {
    mtdata m3h train.cxs --records 400 --seed 1
    mtdata m3h test.cxs --records 200 --seed 2
    mt-train "${NET[@]}" "${TASKS[@]}" --epochs 20 --batch 32 --lr 3e-3 --log log.cxs -o best.cxs train.cxs
    run cxr-inspect -H best.cxs
    [[ "$output" == *'"arch":"m3h"'* ]]
    [[ "$output" == *'prognosis:binary:prognosis,weight=1,loss=bce'* ]]
    [[ "$output" == *'brixia:multiclass:brixia_class:4,weight=1,loss=nll'* ]]
    [[ "$(cxr-inspect --csv train_loss_contrastive,train_loss_pheno log.cxs | tail -1)" =~ ^epoch-19,[0-9.e-]+,[0-9.e-]+$ ]]
    mt-eval -m best.cxs -o metrics.cxs -p pred.cxs --bootstrap 5 --bootstrap-fraction 0.9 test.cxs
    cxr-inspect --csv task,n,task_set,auroc,auroc_std,r2,r2_std,silhouette,silhouette_std metrics.cxs
    [ "$(cxr-inspect -c pred.cxs)" = 200 ]
    py metrics.cxs pred.cxs <<'EOF'
import sys, numpy as np, cxstream
from sklearn.metrics import adjusted_rand_score, roc_auc_score, r2_score, silhouette_score
metrics = {r["id"]: r["meta"] for r, _ in list(cxstream.read(open(sys.argv[1], "rb")))[1:]}
preds = list(cxstream.read(open(sys.argv[2], "rb")))[1:]
for m in metrics.values():
    assert m["task_set"] == "brixia,global,pheno,prognosis", m
    assert m["n"] == 200, m
# well above chance (chance: AUROC 0.5, R^2 0); the planted Bayes AUROC is about 0.95
assert metrics["prognosis"]["auroc"] > 0.75 and metrics["prognosis"]["auroc_std"] > 0, metrics["prognosis"]
assert metrics["global"]["r2"] > 0.8 and metrics["global"]["r2_std"] > 0, metrics["global"]
assert metrics["brixia"]["auroc"] > 0.8, metrics["brixia"]
# the metrics agree with sklearn on the predictions stream
y = np.array([r["meta"]["prognosis_true"] for r, _ in preds]); p = np.array([t["prognosis_prob"][1] for _, t in preds])
assert abs(roc_auc_score(y, p) - metrics["prognosis"]["auroc"]) < 1e-6
g = np.array([r["meta"]["global_true"] for r, _ in preds]); gp = np.array([r["meta"]["global_pred"] for r, _ in preds])
assert abs(r2_score(g, gp) - metrics["global"]["r2"]) < 1e-6
# the planted clusters, up to relabelling
truth = [r["meta"]["pheno_true"] for r, _ in preds]; found = [r["meta"]["pheno_pred"] for r, _ in preds]
ari = adjusted_rand_score(truth, found)
print("ARI", ari, "silhouette", metrics["pheno"]["silhouette"])
assert ari > 0.95, ari
assert -1 <= metrics["pheno"]["silhouette"] <= 1
# attention [T, T] per record, rows on the simplex
for _, t in preds:
    a = t["attention"]
    assert a.dtype == np.float32 and a.shape == (4, 4) and (a >= 0).all(), a
    assert np.allclose(a.sum(1), 1, atol=1e-5), a
EOF
}

@test "m3h with --val, an imbalanced binary task and a task set of one" {
    mtdata m3h train.cxs --records 200 --seed 3
    # prognosis positives kept at under 10%: the paper's bias initialisation applies
    cxr-select --where prognosis=0 train.cxs >neg.cxs
    cxr-select --where prognosis=1 train.cxs | cxr-select --index 0-11 >pos.cxs
    mt-train "${NET[@]}" --task prognosis:binary:prognosis --epochs 2 --batch 32 --val train.cxs \
        --monitor prognosis:auroc -o best.cxs neg.cxs pos.cxs
    mt-eval -m best.cxs -o m.cxs --tag task_set=override train.cxs
    [ "$(cxr-inspect --csv task_set m.cxs | tail -1)" = "prognosis,override" ]
    mt-eval -m best.cxs -o m2.cxs train.cxs
    [ "$(cxr-inspect --csv task_set m2.cxs | tail -1)" = "prognosis,prognosis" ]
}

@test "mt-train --arch m3h --resume after a step limit in mid-epoch ends bit-identical (clustering centroids too)" {
    mtdata m3h e.cxs --records 60
    common=("${NET[@]}" "${TASKS[@]}" --epochs 3 --batch 16 --val e.cxs)
    mt-train "${common[@]}" --state full-state.cxs --log full-log.cxs -o full.cxs e.cxs
    mt-train "${common[@]}" --state part-state.cxs --log part-log.cxs --max-steps 6 -o part.cxs e.cxs
    mt-train "${common[@]}" --state part-state.cxs --log part-log.cxs --resume -o part.cxs e.cxs
    diff <(mk digest --full full.cxs) <(mk digest --full part.cxs)
    diff <(mk digest --full full-state.cxs) <(mk digest --full part-state.cxs)
    diff <(mk digest --full full-log.cxs) <(mk digest --full part-log.cxs)
    # the best checkpoint carries fitted centroids, which are not all zero
    py full.cxs <<'EOF'
import sys, cxstream
recs = {r["id"]: t for r, t in list(cxstream.read(open(sys.argv[1], "rb")))[1:]}
c = recs["clustering.centroids"]["value"]
assert c.shape == (4, 8) and abs(c).sum() > 0, c
EOF
}

@test "mt-train --arch m3h trains a clustering task alone (the TIM needs its singleton run)" {
    mtdata m3h e.cxs --records 40
    mt-train "${NET[@]}" --task p:clustering:phenotype:3 --epochs 2 -o b.cxs e.cxs
    mt-eval -m b.cxs -o m.cxs e.cxs
    [ "$(cxr-inspect --csv task,task_set,kind m.cxs | tail -1)" = "p,p,p,clustering" ]
    py m.cxs <<'EOF'
import sys, cxstream
recs = list(cxstream.read(open(sys.argv[1], "rb")))[1:]
s = recs[0][0]["meta"]["silhouette"]
assert s is not None and -1 <= s <= 1, s
EOF
}

@test "mt-train --arch m3h refuses bad configurations with one clear line" {
    mtdata m3h e.cxs --records 10
    run mt-train "${TASKS[@]}" --arch m3h -b resnet18 -o b.cxs e.cxs
    assert_fails 64 "^mt-train: --arch m3h takes embeddings \(--input TENSOR\[,TENSOR...\]\), not --backbone"
    run mt-train --task pheno:clustering:phenotype --input embedding -o b.cxs e.cxs
    assert_fails 64 "^mt-train: task pheno: clustering tasks need --arch m3h"
    run mt-train "${NET[@]}" --task a:clustering:phenotype --task b:clustering:phenotype -o b.cxs e.cxs
    assert_fails 64 "^mt-train: --arch m3h: task b: at most one clustering task"
    run mt-train --task p:binary:prognosis --input embedding --hidden 8 -o b.cxs e.cxs
    assert_fails 64 "^mt-train: --hidden: only for --arch m3h"
    run mt-train "${NET[@]}" "${TASKS[@]}" --val e.cxs --monitor pheno:silhouette -o b.cxs e.cxs
    assert_fails 64 "^mt-train: --monitor pheno:silhouette: the clusters exist only after training; monitor pheno:loss"
    run mt-train "${NET[@]}" --task p:binary:prognosis --head linear -o b.cxs e.cxs
    assert_fails 64 "^mt-train: --head: only for --arch mdmt"
    run mt-train "${NET[@]}" --task p:binary:prognosis --init e.cxs -o b.cxs e.cxs
    assert_fails 64 "^mt-train: --arch m3h: --weights, --init and --init-average are for mdmt"
    run mt-train "${NET[@]}" --task p:clustering:phenotype:20 --task b:binary:prognosis --epochs 1 -o b.cxs e.cxs
    assert_fails 65 "^mt-train: task p: 20 clusters but 10 training records"
    run mt-train --arch m3h --input embedding,tabular,text,a,b,c,d,e,f --task p:binary:prognosis -o b.cxs e.cxs
    assert_fails 64 "^mt-train: --input: at most 8 tensors"
    [ ! -e b.cxs ]
    no_partial_files .
}

@test "mt-eval refuses M3H inputs whose modality widths differ from the model's" {
    mtdata m3h e.cxs --records 20
    mt-train "${NET[@]}" --task p:binary:prognosis --epochs 1 -o model.cxs e.cxs
    # the same total width, split otherwise: tabular and text swapped
    py e.cxs swapped.cxs <<'EOF'
import sys, cxstream
with open(sys.argv[1], "rb") as f:
    items = list(cxstream.read(f))
with open(sys.argv[2], "wb") as f:
    w = cxstream.Writer(f, items[0][0])
    for rec, t in items[1:]:
        t["tabular"], t["text"] = t["text"], t["tabular"]
        w.put(rec["id"], rec["meta"], t)
    w.close()
EOF
    run mt-eval -m model.cxs -o m.cxs swapped.cxs
    assert_fails 65 "^mt-eval: swapped.cxs: input tensor 2 of embedding,tabular,text: 10 values per record, the model takes 6"
    [ ! -e m.cxs ]
}
