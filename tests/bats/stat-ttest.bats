load helpers
load streams

# The oracle: tests/data/ref/stats_metrics.tsv (18 backbones x stl/ft/mdmt x cv/loco) and scipy
# 1.10's answers on it, tests/data/ref/stats_metrics.expect.tsv, both from tests/ref/gen_stats.py.
# Small hand cases carry scipy's values pasted below, with the line of Python that gave them.

REF="$BATS_TEST_DIRNAME/../data/ref"

# paper_tsv PROTOCOL OUT: every test of the paper's questions on the reference table, as TSV.
paper_tsv() {
    stat-ttest -w protocol="$1" -p backbone -c experiment=mdmt,stl -c experiment=mdmt,ft \
        -k acc_mean,f1_mean,gmean_mean:greater -k acc_std,f1_std,gmean_std:less \
        -t paired,welch,student,wilcoxon -f tsv "${@:3}" >"$2"
}

# matches_scipy PROTOCOL OUT: every answer in OUT agrees with scipy's: p to 1e-10 relative,
# the statistic and df to 1e-12; prints the number of answers checked.
matches_scipy() {
    awk -F'\t' -v protocol="$1" '
        function bad(x, y, tol) { return (x == "" || y == "") ? x != y : (x - y > tol * (y < 0 ? -y : y) || y - x > tol * (y < 0 ? -y : y)) }
        FNR == 1 { next }
        FILENAME == ARGV[1] { if ($1 == protocol) { want[$2 "|" $3 "|" $4] = $7 "|" $8 "|" $9 } next }
        {
            key = $1 "|" $4 "|" $5
            if (!(key in want)) { print "no reference for " key; exit 1 }
            split(want[key], w, "|")
            if (bad($16, w[1], 1e-12) || bad($17, w[2], 1e-12) || bad($18, w[3], 1e-10)) {
                print key ": got " $16 " " $17 " " $18 ", scipy " w[1] " " w[2] " " w[3]; exit 1
            }
            n++
        }
        END { print n + 0 }' "$REF/stats_metrics.expect.tsv" "$2"
}

# tsv_to_stream IN OUT: the table as a summary stream (one record per row, cells as metadata).
tsv_to_stream() {
    py "$1" "$2" <<'EOF'
import sys, cxstream
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
with open(sys.argv[2], "wb") as f:
    w = cxstream.Writer(f, cxstream.header("summary"))
    for i, r in enumerate(rows[1:]):
        w.put("run%d" % i, {k: (float(v) if k.endswith(("_mean", "_std")) else v) for k, v in zip(rows[0], r)})
    w.close()
EOF
}

@test "stat-ttest --help, --version and unknown options" {
    assert_help stat-ttest
    assert_version stat-ttest
    assert_unknown_option stat-ttest -c experiment=mdmt,stl -k acc_mean -p backbone "$REF/stats_metrics.tsv"
}

@test "stat-ttest agrees with scipy on every test of the paper's questions (cv and loco)" {
    for protocol in cv loco; do
        paper_tsv $protocol out.tsv "$REF/stats_metrics.tsv"
        [ "$(wc -l <out.tsv)" -eq 49 ]
        run matches_scipy $protocol out.tsv
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "$output" = 48 ]
    done
}

@test "stat-ttest reads a summary stream, a CSV and standard input alike" {
    tsv_to_stream "$REF/stats_metrics.tsv" summary.cxs
    tr '\t' ',' <"$REF/stats_metrics.tsv" >metrics.csv
    paper_tsv cv from-tsv.tsv "$REF/stats_metrics.tsv"
    paper_tsv cv from-stream.tsv summary.cxs
    paper_tsv cv from-csv.tsv metrics.csv
    paper_tsv cv from-stdin-stream.tsv - <summary.cxs
    paper_tsv cv from-stdin-tsv.tsv <"$REF/stats_metrics.tsv"
    for f in from-stream from-csv from-stdin-stream from-stdin-tsv; do
        diff from-tsv.tsv $f.tsv
    done
}

@test "stat-ttest writes the paper's Table 2 block in Markdown" {
    stat-ttest -w protocol=cv -p backbone -c experiment=mdmt,stl -c experiment=mdmt,ft \
        -k acc_mean,f1_mean,gmean_mean:greater -k acc_std,f1_std,gmean_std:less --table \
        "$REF/stats_metrics.tsv" >table.md
    [ "$(sed -n 1p table.md)" = "| test | H1 | comparison | acc_mean / acc_std | f1_mean / f1_std | gmean_mean / gmean_std |" ]
    [ "$(sed -n 2p table.md)" = "|---|---|---|---|---|---|" ]
    # scipy: ttest_rel(mdmt, stl, alternative='greater').pvalue = 4.0695918747667655e-05 (acc_mean, cv)
    [[ "$(sed -n 3p table.md)" == "| paired | greater | mdmt vs stl | 4.1e-05 *** |"* ]]
    [[ "$(sed -n 4p table.md)" == "| paired | greater | mdmt vs ft |"* ]]
    [[ "$(sed -n 5p table.md)" == "| paired | less | mdmt vs stl |"* ]]
    [ "$(grep -c '^| paired' table.md)" -eq 4 ]
    grep -q "paired by backbone, n = 18; \* p < 0.05, \*\* p < 0.01, \*\*\* p < 0.001" table.md
}

@test "stat-ttest on a hand-made table: text answer with scipy's numbers" {
    printf 'model\tarm\tacc\nm1\tnew\t0.71\nm2\tnew\t0.69\nm3\tnew\t0.75\nm1\told\t0.66\nm2\told\t0.68\nm3\told\t0.70\n' >t.tsv
    # scipy: ttest_rel([.71,.69,.75], [.66,.68,.70], alternative='greater')
    #   -> statistic 2.7499999999999907, pvalue 0.05535135410005651, df 2
    run stat-ttest -c arm=new,old -k acc -a greater -p model t.tsv
    [ "$status" -eq 0 ]
    [[ "$output" == *"t = 2.75, df = 2, p = 0.0553514"$'\n'* ]]
    [[ "$output" == *"n = 3 pairs; mean a = 0.716667, mean b = 0.68"* ]]
    # scipy: wilcoxon([.71,.69,.75], [.66,.68,.70], alternative='greater') -> statistic 6.0, pvalue 0.125
    run stat-ttest -c arm=new,old -k acc -a greater -p model -t wilcoxon -f tsv t.tsv
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | cut -f16,18,21 | sed -n 2p)" = "$(printf '6\t0.125\texact')" ]
    # scipy: ttest_ind([.71,.69,.75], [.66,.68,.70], equal_var=False) -> pvalue 0.16832810017882105
    run stat-ttest -c arm=new,old -k acc -t welch -f tsv t.tsv
    [ "$status" -eq 0 ]
    p=$(echo "$output" | cut -f18 | sed -n 2p)
    awk -v p="$p" 'BEGIN { d = p / 0.16832810017882105 - 1; exit !(d < 1e-10 && d > -1e-10) }'
}

@test "stat-ttest -o writes the file whole; a failing run leaves none" {
    stat-ttest -w protocol=cv -p backbone -c experiment=mdmt,stl -k acc_mean -f tsv -o out.tsv "$REF/stats_metrics.tsv"
    [ "$(wc -l <out.tsv)" -eq 2 ]
    run stat-ttest -p backbone -c experiment=mdmt,stl -k acc_mean -o fail.tsv "$REF/stats_metrics.tsv"
    assert_fails 65 "both have experiment=mdmt and backbone=densenet121"
    [ ! -e fail.tsv ]
    no_partial_files .
}

@test "stat-ttest names the key of a missing pair, or drops it with --drop-unpaired" {
    grep -v $'^resnet18\tstl\tcv' "$REF/stats_metrics.tsv" >holed.tsv
    run stat-ttest -w protocol=cv -p backbone -c experiment=mdmt,stl -k acc_mean -o out.tsv holed.tsv
    assert_fails 65 '^stat-ttest: holed.tsv: backbone=resnet18: experiment=mdmt has a row \(line [0-9]+\), experiment=stl has none \(--drop-unpaired drops it\)$'
    [ ! -e out.tsv ]
    stat-ttest -w protocol=cv -p backbone -c experiment=mdmt,stl -k acc_mean -f tsv --drop-unpaired holed.tsv \
        >out.tsv 2>err.txt
    grep -q "warning: holed.tsv: acc_mean: dropped backbone=resnet18" err.txt
    [ "$(cut -f8,9 out.tsv | sed -n 2p)" = "$(printf '17\t17')" ]
}

@test "stat-ttest refuses missing, non-numeric and non-finite values, naming row and field" {
    sed 's/^\(resnet34\tstl\tcv\tprognosis\t\)[0-9.]*/\1/' "$REF/stats_metrics.tsv" >empty.tsv
    run stat-ttest -w protocol=cv -p backbone -c experiment=mdmt,stl -k acc_mean empty.tsv
    assert_fails 65 '^stat-ttest: empty.tsv: backbone=resnet34: experiment=stl \(line [0-9]+\) has no acc_mean'
    sed 's/^\(resnet34\tstl\tcv\tprognosis\t\)[0-9.]*/\1n\/a/' "$REF/stats_metrics.tsv" >text.tsv
    run stat-ttest -w protocol=cv -p backbone -c experiment=mdmt,stl -k acc_mean text.tsv
    assert_fails 65 "^stat-ttest: text.tsv: line [0-9]+: meta.acc_mean: 'n/a' is not a number"
    py <<'EOF'
import cxstream
with open("nan.cxs", "wb") as f:
    w = cxstream.Writer(f, cxstream.header("metrics"))
    for i, (e, acc) in enumerate([("a", 0.5), ("a", float("nan")), ("b", 0.4), ("b", 0.3)]):
        w.put("r%d" % i, {"experiment": e, "acc": acc})
    w.close()
EOF
    run stat-ttest -c experiment=a,b -k acc -t welch nan.cxs
    assert_fails 65 '^stat-ttest: nan.cxs: record 1 \(id "r1"\): meta.acc: nan is not a finite number'
}

@test "stat-ttest refuses too few pairs, empty sides and ragged tables" {
    printf 'k\tarm\tv\n1\tx\t0.5\n1\ty\t0.4\n' >one.tsv
    run stat-ttest -c arm=x,y -k v -p k one.tsv
    assert_fails 65 '^stat-ttest: one.tsv: v: 1 pair of arm=x and arm=y by k: a test needs at least 2'
    run stat-ttest -c arm=x,z -k v -t welch one.tsv
    assert_fails 65 '^stat-ttest: one.tsv: no row has arm=z'
    printf 'k\tarm\tv\n1\tx\n' >ragged.tsv
    run stat-ttest -c arm=x,y -k v -t welch ragged.tsv
    assert_fails 65 '^stat-ttest: ragged.tsv: line 2: 2 fields, the header has 3'
    : >empty.tsv
    run stat-ttest -c arm=x,y -k v -t welch empty.tsv
    assert_fails 65 '^stat-ttest: empty.tsv: empty input'
    run stat-ttest -c arm=x,y -k v -t welch missing.tsv
    assert_fails 66 '^stat-ttest: missing.tsv: cannot open'
}

@test "stat-ttest refuses bad streams" {
    assert_bad_streams stat-ttest -c experiment=a,b -k n -t welch
}

@test "stat-ttest usage errors" {
    t="$REF/stats_metrics.tsv"
    run stat-ttest -k acc_mean -p backbone "$t"
    assert_fails 64 '^stat-ttest: --compare FIELD=A,B is required'
    run stat-ttest -c experiment=mdmt,stl -p backbone "$t"
    assert_fails 64 '^stat-ttest: --column COLUMNS is required'
    for bad in experiment mdmt,stl experiment=mdmt experiment=a,b,c 'experiment=a,'; do
        run stat-ttest -c "$bad" -k acc_mean -p backbone "$t"
        assert_fails 64 "^stat-ttest: --compare: '.*' is not FIELD=A,B"
    done
    run stat-ttest -c experiment=mdmt,stl -k acc_mean "$t"
    assert_fails 64 '^stat-ttest: the paired test needs --pair-by FIELD'
    run stat-ttest -c experiment=mdmt,stl -k acc_mean -t welch,wilcoxon "$t"
    assert_fails 64 '^stat-ttest: the wilcoxon test needs --pair-by FIELD'
    run stat-ttest -c experiment=mdmt,stl -k acc_mean -p backbone -t anova "$t"
    assert_fails 64 "^stat-ttest: --test: 'anova' is not paired, welch, student or wilcoxon"
    run stat-ttest -c experiment=mdmt,stl -k acc_mean -p backbone -a bigger "$t"
    assert_fails 64 "^stat-ttest: --alternative: 'bigger' is not two-sided, greater or less"
    run stat-ttest -c experiment=mdmt,stl -k acc_mean:up -p backbone "$t"
    assert_fails 64 "^stat-ttest: --column: 'up' is not an alternative"
    run stat-ttest -c experiment=mdmt,stl -k acc_mean -p backbone -f html "$t"
    assert_fails 64 "^stat-ttest: --format: 'html' is not text, tsv or markdown"
    run stat-ttest -c experiment=mdmt,stl -k acc_mean -p backbone --confidence 1.5 "$t"
    assert_fails 64 '^stat-ttest: --confidence'
    run stat-ttest -c experiment=mdmt,stl -k acc_mean -p backbone "$t" "$t"
    assert_fails 64 '^stat-ttest: one input at most'
}

@test "stat-ttest answers zero variance in words, never with a silent NaN" {
    printf 'k\tarm\tv\n1\tx\t1.5\n2\tx\t2.5\n3\tx\t3.5\n1\ty\t1\n2\ty\t2\n3\ty\t3\n' >shift.tsv
    # scipy: ttest_rel([1.5,2.5,3.5], [1,2,3], alternative='greater') -> statistic inf, pvalue 0.0
    run stat-ttest -c arm=x,y -k v -p k -a greater -f tsv shift.tsv
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | sed -n 2p | cut -f14-18,20,22)" = "$(printf '0.5\tinf\tinf\t2\t0\tinf\tthe differences have zero variance: t and d are infinite, p is its limit')" ]
    printf 'k\tarm\tv\n1\tx\t1\n2\tx\t2\n1\ty\t1\n2\ty\t2\n' >same.tsv
    run stat-ttest -c arm=x,y -k v -p k same.tsv
    [ "$status" -eq 0 ]
    [[ "$output" == *"t = undefined, df = 1, p = undefined"* ]]
    [[ "$output" == *"note: every difference is 0: t, p and d are undefined"* ]]
    run stat-ttest -c arm=x,y -k v -p k -f tsv same.tsv
    [ "$(echo "$output" | sed -n 2p | cut -f16-20)" = "$(printf '\t1\t\t\t')" ]
    run stat-ttest -c arm=x,y -k v -p k --table same.tsv
    [[ "$output" == *"| paired | two-sided | x vs y | undefined |"* ]]
}
