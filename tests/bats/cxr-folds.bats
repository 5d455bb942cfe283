load helpers
load streams

# phantom40: 40 patients per data set, several images for some patients, six centers.
phantom40() {
    cxr-phantom --seed 7 --size 64 --patients 40 -o p.cxs
}

STRAT=(-k 5 --stratify dataset,prognosis,brixia_class --group patient)

@test "cxr-folds --help, --version and unknown options" {
    assert_help cxr-folds
    assert_version cxr-folds
    assert_unknown_option cxr-folds -k 2
}

@test "cxr-folds refuses bad streams and then leaves no output file" {
    assert_bad_streams cxr-folds -k 2 -q -o out.cxs
    [ ! -e out.cxs ]
}

@test "cxr-folds: every record once, in order, unchanged but for fold; k folds, none empty" {
    phantom40
    cxr-folds "${STRAT[@]}" -q -o f.cxs p.cxs
    # the same records with 'fold' removed are the input, byte for byte in their digests
    diff <(mk digest --full p.cxs) <(cxr-select --unset fold f.cxs | mk digest --full /dev/stdin)
    [ "$(cxr-inspect --csv fold f.cxs | tail -n +2 | cut -d, -f2 | sort -u | tr '\n' ' ')" = "0 1 2 3 4 " ]
}

@test "cxr-folds never puts one patient in two folds" {
    phantom40
    # several images per patient exist, or the test would prove nothing
    [ "$(cxr-inspect --csv patient p.cxs | tail -n +2 | cut -d, -f2 | sort | uniq -d | wc -l)" -ge 5 ]
    for seed in 1 2 3; do
        cxr-folds "${STRAT[@]}" --seed $seed -q -o f.cxs p.cxs
        [ "$(cxr-inspect --csv patient,fold f.cxs | tail -n +2 | cut -d, -f2,3 | sort -u | cut -d, -f1 | uniq -d | wc -l)" -eq 0 ]
    done
}

@test "cxr-folds balances the joint classes at least as well as scikit-learn's StratifiedGroupKFold" {
    "$PY" -c 'import sklearn' 2>/dev/null || skip "python3-sklearn not installed"
    phantom40
    cxr-folds "${STRAT[@]}" -q -o f.cxs p.cxs
    cxr-inspect --csv patient,dataset,prognosis,brixia_class,fold f.cxs > f.csv
    run "$PY" - f.csv <<'EOF'
import csv, sys, warnings
import numpy as np
from sklearn.model_selection import StratifiedGroupKFold
warnings.simplefilter("ignore")
rows = list(csv.DictReader(open(sys.argv[1])))
klass = np.unique(["%s|%s|%s" % (r["dataset"], r["prognosis"], r["brixia_class"]) for r in rows], return_inverse=True)[1]
group = [r["patient"] for r in rows]
def spread(fold):
    counts = np.zeros((5, klass.max() + 1))
    for f, c in zip(fold, klass):
        counts[f, c] += 1
    return np.mean(np.std(counts / np.bincount(klass), axis=0))
ours = spread([int(r["fold"]) for r in rows])
sk = np.zeros(len(rows), dtype=int)
for f, (_, test) in enumerate(StratifiedGroupKFold(5).split(klass, klass, group)):
    sk[test] = f
print("ours %.4f sklearn %.4f" % (ours, spread(sk)))
sys.exit(0 if ours <= spread(sk) + 0.005 else 1)
EOF
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "cxr-folds prints the summary: records, patients and classes per fold, a total row" {
    phantom40
    cxr-folds "${STRAT[@]}" --summary s.tsv -o f.cxs p.cxs
    [ "$(head -1 s.tsv | cut -f1-3)" = "$(printf 'fold\trecords\tpatient')" ]
    [ "$(grep -c '^[0-4]	' s.tsv)" -eq 5 ]
    # the total row: every record and every patient
    n=$(cxr-inspect -c p.cxs)
    patients=$(cxr-inspect --csv patient p.cxs | tail -n +2 | cut -d, -f2 | sort -u | wc -l)
    [ "$(grep '^total' s.tsv | cut -f2,3)" = "$(printf '%s\t%s' "$n" "$patients")" ]
    # fold 2's records as cxr-select counts them
    [ "$(grep '^2	' s.tsv | cut -f2)" = "$(cxr-select --where fold=2 f.cxs | cxr-inspect -c)" ]
    grep -q '^# spread ' s.tsv
    # by default the same table goes to standard error
    cxr-folds "${STRAT[@]}" -o g.cxs p.cxs 2> err.tsv
    diff s.tsv err.tsv
}

@test "cxr-folds is deterministic in --seed; reading standard input gives the same folds" {
    phantom40
    cxr-folds "${STRAT[@]}" --seed 3 -q -o a.cxs p.cxs
    mkdir again && cp p.cxs again/ && (cd again && cxr-folds "${STRAT[@]}" --seed 3 -q -o a.cxs p.cxs)
    cmp a.cxs again/a.cxs
    cxr-folds "${STRAT[@]}" --seed 3 -q < p.cxs > c.cxs
    cat p.cxs | cxr-folds "${STRAT[@]}" --seed 3 -q -o d.cxs
    diff <(mk digest --full a.cxs) <(mk digest --full c.cxs)
    diff <(mk digest --full a.cxs) <(mk digest --full d.cxs)
    cxr-folds "${STRAT[@]}" --seed 4 -q -o e.cxs p.cxs
    ! diff -q <(mk digest --full a.cxs) <(mk digest --full e.cxs)
}

@test "cxr-folds --by center: one fold per center, in sorted order, named in the header" {
    phantom40
    cxr-folds --by center --group patient -q -o l.cxs p.cxs
    centers=$(cxr-inspect --csv center p.cxs | tail -n +2 | cut -d, -f2 | sort -u)
    [ "$(echo "$centers" | wc -l)" -eq 6 ]
    # fold i holds exactly the records of the i-th center
    i=0
    for c in $centers; do
        diff <(cxr-select --where center=$c p.cxs | mk digest --full /dev/stdin) \
             <(cxr-select --where fold=$i l.cxs | cxr-select --unset fold | mk digest --full /dev/stdin)
        i=$((i + 1))
    done
    cxr-inspect -H l.cxs | grep -q '"method": "leave-one-center-out", "by": "center", "k": 6, "fold_centers": \["center-A","center-B","center-C","center-D","center-E","center-F"\]'
}

@test "cxr-folds --by: a record without a center is an error naming it, or --missing-center" {
    phantom40
    cxr-select --index 3 --unset center p.cxs > one.cxs
    cxr-cat -o mixed.cxs p.cxs one.cxs
    run cxr-folds --by center -o l.cxs mixed.cxs
    assert_fails 65 '^cxr-folds: mixed.cxs: record 129 \(id "pg-0003-2"\): meta.center: missing \(use --missing-center VALUE\)$'
    [ ! -e l.cxs ]
    cxr-folds --by center --missing-center none -q -o l.cxs mixed.cxs
    cxr-inspect -H l.cxs | grep -q '"fold_centers": \[.*,"center-F","none"\]'
    [ "$(cxr-select --where fold=6 l.cxs | cxr-inspect --csv patient | tail -1)" = "pg-0003-2,pg-0003" ]
    # with --group, a patient in two centers cannot be left out with one of them
    run cxr-folds --by center --missing-center none --group patient -o l2.cxs mixed.cxs
    assert_fails 65 '^cxr-folds: mixed.cxs: record 129 \(id "pg-0003-2"\): meta.patient: "pg-0003" is in two centers'
    [ ! -e l2.cxs ]
    no_partial_files .
}

@test "cxr-folds: more folds than patients, or a record without its group, is a clear error" {
    cxr-phantom --seed 7 --size 64 --patients 2 --dataset prognosis -o two.cxs
    run cxr-folds -k 3 --group patient -o f.cxs two.cxs
    assert_fails 65 '^cxr-folds: two.cxs: 3 folds but only 2 groups: each fold needs at least one$'
    [ ! -e f.cxs ]
    cxr-select --index 0 --unset patient two.cxs | cxr-cat -o nopat.cxs two.cxs -
    run cxr-folds -k 2 --group patient -o f.cxs nopat.cxs
    assert_fails 65 '^cxr-folds: nopat.cxs: record [0-9]+ \(id "pg-0001-1"\): meta.patient: missing$'
    [ ! -e f.cxs ]
    no_partial_files .
}

@test "cxr-folds usage errors" {
    phantom40
    run cxr-folds -k 1 p.cxs
    assert_fails 64 "^cxr-folds: -k"
    run cxr-folds -k 5 --by center p.cxs
    assert_fails 64 "^cxr-folds: -k and --by exclude each other"
    run cxr-folds --missing-center x p.cxs
    assert_fails 64 "^cxr-folds: --missing-center needs --by FIELD"
    run cxr-folds --stratify 'dataset,,prognosis' p.cxs
    assert_fails 64 "^cxr-folds: --stratify: an empty field name"
    run cxr-folds p.cxs p.cxs
    assert_fails 64 "^cxr-folds: one input stream at most"
    run cxr-folds -q -o no/such/dir/f.cxs p.cxs
    assert_fails 73 "^cxr-folds: no/such/dir/f.cxs: cannot create"
}
