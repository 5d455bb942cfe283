load helpers
load streams

# Labelled streams with a planted signal (tests/bats/mtdata.py): odd records carry prognosis,
# even ones brixia_class, as the two MDMT data sets.
mtdata() {
    "$PY" "$BATS_TEST_DIRNAME/mtdata.py" "$@"
}

TASKS=(--task prognosis:binary:prognosis --task brixia:multiclass:brixia_class:4)
CROPS=(-b shufflenet_v2_x0_5 --batch 6 --threads 1)

@test "mt-train --help, --version and unknown options" {
    assert_help mt-train
    assert_version mt-train
    assert_unknown_option mt-train "${TASKS[@]}" --input embedding -o best.cxs in.cxs
}

@test "mt-train refuses bad streams and then leaves no output file" {
    assert_bad_streams mt-train "${TASKS[@]}" --input image -o best.cxs
    [ ! -e best.cxs ]
}

@test "mt-train usage errors name the problem" {
    mtdata embedding e.cxs --records 10
    run mt-train --input embedding -o best.cxs e.cxs
    assert_fails 64 "^mt-train: give at least one --task or --tasks FILE"
    run mt-train --task p:ordinal:prognosis --input embedding -o best.cxs e.cxs
    assert_fails 64 "^mt-train: --task: task 'p:ordinal:prognosis': unknown kind 'ordinal'"
    run mt-train --task b:multiclass:brixia_class --input embedding -o best.cxs e.cxs
    assert_fails 64 "needs K"
    run mt-train "${TASKS[@]}" -b resnet18 --input embedding -o best.cxs e.cxs
    assert_fails 64 "^mt-train: give one of --backbone NAME"
    run mt-train "${TASKS[@]}" -b resnet99 -o best.cxs e.cxs
    assert_fails 64 '^mt-train: unknown backbone "resnet99"'
    run mt-train "${TASKS[@]}" --input embedding e.cxs
    assert_fails 64 "^mt-train: --output BEST.cxs is required"
    run mt-train "${TASKS[@]}" --input embedding -o best.cxs --resume e.cxs
    assert_fails 64 "^mt-train: --resume needs --state FILE"
    run mt-train "${TASKS[@]}" -b resnet18 -o best.cxs --arch m3h e.cxs
    assert_fails 64 "^mt-train: --arch m3h takes embeddings"
    run mt-train "${TASKS[@]}" --input embedding -o best.cxs --val e.cxs --monitor brixia:mae e.cxs
    assert_fails 64 "^mt-train: --monitor brixia:mae: a multiclass task reports no metric 'mae'"
    run mt-train --task p:binary:prognosis --task p:binary:prognosis --input embedding -o best.cxs e.cxs
    assert_fails 64 "^mt-train: task 'p' given twice"
    [ ! -e best.cxs ]
}

@test "mt-train refuses bad labels and inputs with one line naming file, record and field" {
    mtdata embedding e.cxs --records 40
    run mt-train --task b:multiclass:brixia_class:2 --input embedding -o best.cxs e.cxs
    assert_fails 65 '^mt-train: e.cxs: record [0-9]+ \(id "r[0-9]+"\): meta.brixia_class: [23] is not a class 0..1'
    run mt-train --task g:regression:no_such_field --input embedding -o best.cxs e.cxs
    assert_fails 65 "^mt-train: no training record has a label for task g \(meta.no_such_field\)"
    run mt-train "${TASKS[@]}" --input features -o best.cxs e.cxs
    assert_fails 65 '^mt-train: e.cxs: record 0 \(id "r0000"\): tensors.features: missing'
    run mt-train "${TASKS[@]}" -b resnet18 -o best.cxs e.cxs
    assert_fails 65 '^mt-train: e.cxs: record 0 \(id "r0000"\): tensors.image: missing'
    [ ! -e best.cxs ]
    no_partial_files .
}

@test "mt-train --tasks reads a task file" {
    mtdata embedding e.cxs --records 20
    printf '# the two MDMT tasks\nprognosis:binary:prognosis,loss=bce\n\nbrixia:multiclass:brixia_class:4 # tau2\n' >tasks.txt
    mt-train --tasks tasks.txt --input embedding --epochs 1 --batch 8 --threads 1 -o best.cxs e.cxs
    run cxr-inspect -H best.cxs
    [[ "$output" == *"prognosis:binary:prognosis,weight=1,loss=bce"* ]]
    [[ "$output" == *"brixia:multiclass:brixia_class:4,weight=1,loss=ce"* ]]
    printf 'prognosis:binary\n' >bad.txt
    run mt-train --tasks bad.txt --input embedding -o best2.cxs e.cxs
    assert_fails 64 "^mt-train: --tasks: bad.txt: line 1: task 'prognosis:binary': no FIELD"
}

@test "mt-train heads-only on embeddings learns the planted signal (mt-eval AUROC)" {
    mtdata embedding train.cxs --records 400 --seed 1
    mtdata embedding val.cxs --records 200 --seed 2
    mt-train "${TASKS[@]}" --input embedding --epochs 12 --batch 32 --lr 3e-3 --threads 1 \
        --val val.cxs --monitor prognosis:auroc --log log.cxs -o best.cxs train.cxs
    [ "$(cxr-inspect -c log.cxs)" = 12 ]
    mt-eval -m best.cxs -o metrics.cxs val.cxs
    auroc=$(cxr-inspect --csv auroc metrics.cxs | awk -F, '$1 == "prognosis" {print $2}')
    echo "prognosis AUROC $auroc"
    awk -v a="$auroc" 'BEGIN {exit !(a > 0.85)}'
    auroc=$(cxr-inspect --csv auroc metrics.cxs | awk -F, '$1 == "brixia" {print $2}')
    echo "brixia AUROC $auroc"
    awk -v a="$auroc" 'BEGIN {exit !(a > 0.7)}'
}

@test "mt-train --resume after a step limit in mid-epoch ends bit-identical to an unbroken run" {
    mtdata embedding e.cxs --records 50
    common=("${TASKS[@]}" --input embedding --epochs 3 --batch 8 --threads 1 --val e.cxs --warmup 1)
    mt-train "${common[@]}" --state full-state.cxs --log full-log.cxs -o full.cxs e.cxs
    # 7 batches per epoch: stop in the middle of the second epoch
    mt-train "${common[@]}" --state part-state.cxs --log part-log.cxs --max-steps 10 -o part.cxs e.cxs
    [ "$(cxr-inspect -c part-log.cxs)" = 1 ]
    mt-train "${common[@]}" --state part-state.cxs --log part-log.cxs --resume -o part.cxs e.cxs
    diff <(mk digest --full full.cxs) <(mk digest --full part.cxs)
    diff <(mk digest --full full-state.cxs) <(mk digest --full part-state.cxs)
    diff <(mk digest --full full-log.cxs) <(mk digest --full part-log.cxs)
}

@test "mt-train --resume after kill -9 ends bit-identical to an unbroken run (backbone on crops)" {
    mtdata crop c.cxs --records 14
    common=("${TASKS[@]}" "${CROPS[@]}" --epochs 3 --checkpoint-steps 1)
    mt-train "${common[@]}" --state full-state.cxs -o full.cxs c.cxs
    mt-train "${common[@]}" --state state.cxs -o best.cxs c.cxs &
    pid=$!
    for _ in $(seq 600); do [ -e state.cxs ] && break; sleep 0.05; done
    kill -9 $pid 2>/dev/null || true
    wait $pid || true
    [ -e state.cxs ]
    mt-train "${common[@]}" --state state.cxs --resume -o best.cxs c.cxs
    # (kill -9 leaves the killed run's temporary behind: nothing can remove it; state.cxs itself
    # is always whole, being renamed into place)
    diff <(mk digest --full full.cxs) <(mk digest --full best.cxs)
}

@test "mt-train --resume refuses a state made with other options" {
    mtdata embedding e.cxs --records 20
    mt-train "${TASKS[@]}" --input embedding --epochs 2 --batch 8 --threads 1 --state s.cxs --max-steps 1 -o b.cxs e.cxs
    run mt-train "${TASKS[@]}" --input embedding --epochs 2 --batch 8 --lr 0.5 --threads 1 --state s.cxs --resume -o b.cxs e.cxs
    assert_fails 64 "^mt-train: --resume: s.cxs was made with other training options or data"
    run mt-train --task prognosis:binary:prognosis --input embedding --epochs 2 --batch 8 --threads 1 --state s.cxs --resume -o b.cxs e.cxs
    assert_fails 64 "^mt-train: --resume: s.cxs holds another model or task set"
}

@test "mt-train early stopping stops patience epochs after the best one" {
    mtdata embedding e.cxs --records 30
    # lr 0: the validation loss never improves on epoch 0's
    mt-train "${TASKS[@]}" --input embedding --epochs 50 --lr 0 --weight-decay 0 --batch 8 --threads 1 \
        --val e.cxs --patience 2 --log log.cxs -o best.cxs e.cxs
    [ "$(cxr-inspect -c log.cxs)" = 3 ]
    [ "$(cxr-inspect --csv best_epoch log.cxs | tail -1)" = "epoch-2,0" ]
}

@test "mt-train STL, FT and MDMT (--init-average) on crops; mismatched checkpoints are refused" {
    mtdata crop c.cxs --records 12
    mt-train --task prognosis:binary:prognosis "${CROPS[@]}" --epochs 1 -o stl1.cxs c.cxs
    mt-train --task brixia:multiclass:brixia_class:4 "${CROPS[@]}" --epochs 1 -o stl2.cxs c.cxs
    mt-train --task prognosis:binary:prognosis "${CROPS[@]}" --epochs 1 --init stl2.cxs -o ft.cxs c.cxs
    mt-train "${TASKS[@]}" "${CROPS[@]}" --epochs 1 --init-average stl1.cxs --init-average stl2.cxs -o mdmt.cxs c.cxs
    run cxr-inspect -H mdmt.cxs
    [[ "$output" == *'"init_mode":"average"'* ]]
    mt-train --task prognosis:binary:prognosis -b shufflenet_v2_x1_0 --batch 6 --threads 1 --epochs 1 -o r.cxs c.cxs
    run mt-train "${TASKS[@]}" "${CROPS[@]}" --epochs 1 --init-average stl1.cxs --init-average r.cxs -o bad.cxs c.cxs
    assert_fails 65 "^mt-train: r.cxs: a shufflenet_v2_x1_0 model; this one is shufflenet_v2_x0_5"
    [ ! -e bad.cxs ]
}
