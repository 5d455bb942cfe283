load helpers
load streams

# Metrics streams are written here in Python (tests/ref/cxstream.py), one record per task of a
# run, as mt-eval writes them with --tag task_set=...; the expected values come from the
# paper's formula evaluated in Python (itertools over the subsets S) or worked out by hand.

# metrics OUT TASK_SET:TASK=SCORE ...: a metrics stream, kind binary, the score as auroc.
metrics() {
    py "$@" <<'EOF'
import sys
import cxstream
out = open(sys.argv[1], "wb")
w = cxstream.Writer(out, cxstream.header("metrics", tool="tim-score.bats"))
for item in sys.argv[2:]:
    task_set, rest = item.split(":")
    task, score = rest.split("=")
    w.put(task, {"task": task, "kind": "binary", "n": 20, "task_set": task_set,
                 "auroc": None if score == "null" else float(score), "acc": 0.5})
w.close()
EOF
}

# The three-task example of tests/unit/test_tim.c: every subset run.
three_tasks() {
    metrics "$1" a:a=.5 a,b:a=.75 a,c:a=.625 a,b,c:a=.875 \
        b:b=.5 a,b:b=.25 b,c:b=.5 a,b,c:b=.375 \
        c:c=.75 a,c:c=.875 b,c:c=.625 a,b,c:c=.75
}

@test "tim-score --help, --version and unknown options" {
    assert_help tim-score
    assert_version tim-score
    assert_unknown_option tim-score m.cxs
}

@test "tim-score: the exact matrix, subset counts and ranks of three tasks (by hand)" {
    three_tasks m.cxs
    # delta_ab = ((.75-.5) + (.875-.625))/2 = .25     delta_ac = ((.625-.5) + (.875-.75))/2 = .125
    # delta_ba = ((.25-.5) + (.375-.5))/2 = -.1875    delta_bc = ((.5-.5) + (.375-.25))/2 = .0625
    # delta_ca = ((.875-.75) + (.75-.625))/2 = .125   delta_cb = ((.625-.75) + (.75-.875))/2 = -.125
    run tim-score m.cxs
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$(printf 'delta\ta\tb\tc')" ]
    [ "${lines[1]}" = "$(printf 'a\t0\t0.25\t0.125')" ]
    [ "${lines[2]}" = "$(printf 'b\t-0.1875\t0\t0.0625')" ]
    [ "${lines[3]}" = "$(printf 'c\t0.125\t-0.125\t0')" ]
    [ "${lines[4]}" = "$(printf 'used/2\ta\tb\tc')" ]
    [ "${lines[5]}" = "$(printf 'a\t0\t2\t2')" ]
    [ "${lines[8]}" = "$(printf 'rank\ta\tb\tc')" ]
    [ "${lines[9]}" = "$(printf 'a\t0\t2\t1')" ]
    [ "${lines[10]}" = "$(printf 'b\t-1\t0\t1')" ]
    [ "${lines[11]}" = "$(printf 'c\t1\t-1\t0')" ]
}

@test "tim-score: missing subsets give the mean over those present, and '-' where none is" {
    # no run {a,b,c}: one subset (S = {}) per cell; no run {a} either: row a has none
    metrics m.cxs a,b:a=.75 a,c:a=.625 b:b=.5 a,b:b=.25 b,c:b=.5 c:c=.75 a,c:c=.875 b,c:c=.625
    run tim-score m.cxs
    [ "$status" -eq 0 ]
    [ "${lines[1]}" = "$(printf 'a\t0\t-\t-')" ]
    [ "${lines[2]}" = "$(printf 'b\t-0.25\t0\t0')" ]
    [ "${lines[3]}" = "$(printf 'c\t0.125\t-0.125\t0')" ]
    [ "${lines[5]}" = "$(printf 'a\t0\t0\t0')" ]
    [ "${lines[6]}" = "$(printf 'b\t1\t0\t1')" ]
    [ "${lines[9]}" = "$(printf 'a\t0\t-\t-')" ]
    [ "${lines[10]}" = "$(printf 'b\t-1\t0\t0')" ]
}

@test "tim-score -o: every cell against the formula in Python, with folds averaged and runs missing" {
    py <<'EOF'
import itertools, random
import cxstream
random.seed(5)
tasks = ["ae", "bx", "cy", "dz"]
w = cxstream.Writer(open("m.cxs", "wb"), cxstream.header("metrics"))
for k in range(1, 5):
    for s in itertools.combinations(tasks, k):
        if random.random() < 0.25:
            continue                      # this run is missing
        for t in s:
            for fold in range(2):         # two folds, averaged by tim-score
                kind = "regression" if t == "dz" else "binary"
                w.put(t, {"task": t, "kind": kind, "task_set": ",".join(s), "fold": fold,
                          "auroc": round(random.uniform(.5, .9), 6), "r2": round(random.uniform(0, .6), 6)})
w.close()
EOF
    tim-score -o tim.cxs m.cxs >/dev/null
    py <<'EOF'
import itertools
import numpy as np
from scipy.stats import rankdata
import cxstream
tasks = ["ae", "bx", "cy", "dz"]
scores = {}
with open("m.cxs", "rb") as f:
    records = cxstream.read(f); next(records)
    for rec, _ in records:
        m = rec["meta"]
        key = (frozenset(m["task_set"].split(",")), m["task"])
        scores.setdefault(key, []).append(m["r2" if m["kind"] == "regression" else "auroc"])
f = {k: np.mean(v) for k, v in scores.items()}
want = {}
for i in tasks:
    for j in tasks:
        if i == j:
            continue
        rest = [t for t in tasks if t not in (i, j)]
        diffs = []
        for k in range(len(rest) + 1):
            for s in itertools.combinations(rest, k):
                with_j, without = (frozenset(s) | {i, j}, i), (frozenset(s) | {i}, i)
                if with_j in f and without in f:
                    diffs.append(f[with_j] - f[without])
        want[(i, j)] = (np.mean(diffs) if diffs else None, len(diffs))
# ranks: per source, positive deltas ranked ascending from 1 (ties to the lower rank), negative
# ones by |delta| from -1
ranks = {}
for i in tasks:
    row = {j: want[(i, j)][0] for j in tasks if j != i and want[(i, j)][0] is not None}
    pos = {j: v for j, v in row.items() if v > 0}
    neg = {j: v for j, v in row.items() if v < 0}
    for group, sign in ((pos, 1), (neg, -1)):
        if group:
            r = rankdata([abs(v) for v in group.values()], method="min")
            ranks.update({(i, j): sign * int(x) for j, x in zip(group, r)})
got = {}
with open("tim.cxs", "rb") as fh:
    records = cxstream.read(fh)
    hdr, _ = next(records)
    assert hdr["kind"] == "tim" and hdr["tasks"] == tasks and hdr["subsets_per_cell"] == 4, hdr
    assert [h["kind"] for h in hdr["inputs"]] == ["metrics"], hdr["inputs"]
    for rec, _ in records:
        m = rec["meta"]
        got[(m["source"], m["target"])] = m
        assert rec["id"] == m["source"] + "+" + m["target"]
assert len(got) == 12, len(got)
exact = 0
for key, (delta, used) in want.items():
    m = got[key]
    assert m["subsets_used"] == used and len(m["subsets"]) == used, (key, m, used)
    assert m["exact"] == (used == 4) and m["subsets_total"] == 4
    assert m["metric"] == ("r2" if key[0] == "dz" else "auroc")
    if delta is None:
        assert m["delta"] is None and m["rank"] is None, (key, m)
    else:
        assert abs(m["delta"] - delta) < 1e-12, (key, m["delta"], delta)
        assert m["rank"] == ranks.get(key, 0), (key, m["rank"], ranks.get(key))
    exact += used == 4
assert 0 < sum(u for _, u in want.values()) and exact < 12, "the case should mix exact and estimated cells"
EOF
}

@test "tim-score: with singletons and pairs only each cell is f_i({i,j}) - f_i({i}), one subset of 2^(M-2)" {
    metrics m.cxs a:a=.5 b:b=.625 c:c=.75 a,b:a=.5625 a,b:b=.5 a,c:a=.375 a,c:c=.75 b,c:b=.75 b,c:c=.875
    run tim-score m.cxs
    [ "${lines[1]}" = "$(printf 'a\t0\t0.0625\t-0.125')" ]
    [ "${lines[2]}" = "$(printf 'b\t-0.125\t0\t0.125')" ]
    [ "${lines[3]}" = "$(printf 'c\t0\t0.125\t0')" ]
    [ "${lines[4]}" = "$(printf 'used/2\ta\tb\tc')" ]
    [ "${lines[5]}" = "$(printf 'a\t0\t1\t1')" ]
    [ "${lines[11]}" = "$(printf 'c\t0\t1\t0')" ]
}

@test "tim-score --tasks restricts the universe: M and the runs taken follow it" {
    three_tasks m.cxs
    # over {a, b}: M = 2, one subset per cell, runs naming c are left out
    run tim-score --tasks b,a m.cxs
    [ "${lines[0]}" = "$(printf 'delta\ta\tb')" ]
    [ "${lines[1]}" = "$(printf 'a\t0\t0.25')" ]
    [ "${lines[2]}" = "$(printf 'b\t-0.25\t0')" ]
    [ "${lines[3]}" = "$(printf 'used/1\ta\tb')" ]
}

@test "tim-score -f markdown prints the three tables with their meaning" {
    three_tasks m.cxs
    run tim-score -f markdown m.cxs
    [ "$status" -eq 0 ]
    [[ "$output" == *"| a | 0 | 0.25 | 0.125 |"* ]]
    [[ "$output" == *"6 of 6 cells exact"* ]]
    [[ "$output" == *"column j: the target task added"* ]]
    [[ "$output" == *"| rank | a | b | c |"* ]]
}

@test "tim-score --heatmap draws a PNG through gnuplot, whole or not at all" {
    three_tasks m.cxs
    tim-score --heatmap h.png m.cxs >/dev/null
    tim-score --heatmap d.png --heatmap-values delta m.cxs >/dev/null
    for png in h.png d.png; do
        [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
        size=$(stat -c %s "$png")
        [ "$size" -gt 5000 ] && [ "$size" -lt 500000 ]
    done
    # the IHDR width and height: at least 640 x 300
    read -r width height < <(py <<'EOF'
import struct
print(*struct.unpack(">II", open("h.png", "rb").read()[16:24]))
EOF
)
    [ "$width" -ge 640 ] && [ "$height" -ge 300 ]
    no_partial_files .
}

@test "tim-score --heatmap without gnuplot fails clearly and writes nothing" {
    three_tasks m.cxs
    run env PATH=/nonexistent "$CXR_BIN/tim-score" --heatmap h.png -o t.cxs m.cxs
    assert_fails 69 "^tim-score: --heatmap: gnuplot not found on PATH"
    [ ! -e h.png ] && [ ! -e t.cxs ]
    no_partial_files .
}

@test "tim-score --plan K lists the sets of size 1..K not yet run" {
    run tim-score --plan 2 --tasks c,a,b
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'a\nb\nc\na,b\na,c\nb,c')" ]
    [ "$(tim-score --plan 4 --tasks a,b,c,d | wc -l)" = 15 ]
    metrics m.cxs a:a=.5 a,c:a=.5 a,c:c=.5
    run tim-score --plan 2 --tasks a,b,c m.cxs
    [ "$output" = "$(printf 'b\nc\na,b\nb,c')" ]
    run tim-score --plan 30 --tasks a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z
    assert_fails 64 "^tim-score: --plan 30 over 26 tasks: 67108863 sets, more than 1000000"
}

@test "tim-score --next drives the greedy search to its end; --chosen agrees with a Python search" {
    # The runs are 'made' by a fixed score table: f_i(S) = base_i + the sum over j in S of w[i][j].
    # Each round runs what --next lists, until it lists nothing, as a Makefile loop would.
    cat >score.py <<'EOF'
import sys
import cxstream
tasks = ["a", "b", "c", "d", "e"]
base = {"a": .6, "b": .7, "c": .5, "d": .65, "e": .55}
w = {("a", "b"): .03, ("a", "c"): .05, ("a", "d"): -.02, ("a", "e"): .01,
     ("b", "a"): -.01, ("b", "c"): -.02, ("b", "d"): -.03, ("b", "e"): -.01,
     ("c", "a"): .04, ("c", "b"): .02, ("c", "d"): .06, ("c", "e"): -.05,
     ("d", "a"): .02, ("d", "b"): -.04, ("d", "c"): .03, ("d", "e"): .02,
     ("e", "a"): -.03, ("e", "b"): .04, ("e", "c"): .01, ("e", "d"): .02}
def f(i, s):
    return round(base[i] + sum(w[(i, j)] for j in s if j != i), 6)
EOF
    round=0
    : >runs.list
    shopt -s nullglob   # no rounds yet: no input, which --next reads as no runs
    while next=$(tim-score --next --tasks a,b,c,d,e rounds-*.cxs); [ -n "$next" ]; do
        round=$((round + 1))
        [ "$round" -le 10 ]
        echo "$next" >>runs.list
        echo "$next" >next.list
        py rounds-$round.cxs <<'EOF'
import sys
import cxstream
sys.path.insert(0, ".")
from score import f
w = cxstream.Writer(open(sys.argv[1], "wb"), cxstream.header("metrics"))
for line in open("next.list").read().split():
    for t in line.split(","):
        w.put(t, {"task": t, "kind": "binary", "task_set": line, "auroc": f(t, line.split(","))})
w.close()
EOF
    done
    # round 1: the singletons; round 2: every pair; round 3: the triples grown from each beam
    [ "$round" -eq 3 ]
    [ "$(sed -n 1p runs.list)" = a ]
    [ "$(grep -c '^[a-e]$' runs.list)" = 5 ]
    [ "$(grep -c '^[a-e],[a-e]$' runs.list)" = 10 ]
    tim-score --chosen rounds-*.cxs >chosen.tsv
    py <<'EOF'
import sys
sys.path.insert(0, ".")
from score import f, tasks
# the M3H search, written again: beam of 3 sets that beat their best parent, up to size 3
want = {}
for i in tasks:
    beam = [((i,), f(i, [i]))]
    best = beam[0]
    for size in (2, 3):
        cands = sorted({tuple(sorted(set(b) | {j})) for b, _ in beam for j in tasks if j not in b})
        better = []
        for c in cands:
            parent = max(s for b, s in beam if set(b) <= set(c))
            if f(i, c) > parent:
                better.append((c, f(i, c)))
        if not better:
            break
        better.sort(key=lambda cs: -cs[1])
        beam = better[:3]
        if beam[0][1] > best[1]:
            best = beam[0]
    want[i] = best
lines = open("chosen.tsv").read().split("\n")
assert lines[0] == "task\tset\tscore\tsearch", lines[0]
for line in lines[1:]:
    if not line:
        continue
    task, s, score, state = line.split("\t")
    assert state == "done", line
    assert s == ",".join(want[task][0]) and abs(float(score) - want[task][1]) < 1e-6, (line, want[task])
assert len([l for l in lines[1:] if l]) == 5
# b gains from nothing: it keeps {b}; a grows to {a,b,c} (.68) through {a,c} (.65)
assert want["b"][0] == ("b",) and want["a"][0] == ("a", "b", "c"), want
EOF
}

@test "tim-score --next with no runs lists the singletons; --chosen says what each search waits for" {
    run tim-score --next --tasks b,a
    [ "$output" = "$(printf 'a\nb')" ]
    metrics m.cxs a:a=.5
    run tim-score --chosen --tasks a,b m.cxs
    [ "${lines[1]}" = "$(printf 'a\ta\t0.5\twaiting for 1 runs')" ]
    [ "${lines[2]}" = "$(printf 'b\t-\t-\twaiting for 1 runs')" ]
    run tim-score --next --tasks a,b m.cxs
    [ "$output" = "$(printf 'b\na,b')" ]
}

@test "tim-score: a null score counts as a run without a score, with a warning" {
    metrics m.cxs a:a=null b:b=.5 a,b:a=.75 a,b:b=.625
    run tim-score --next --tasks a,b m.cxs
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "tim-score: warning: 1 records without a score (null metric) count as runs with no score" ]
    [ "${#lines[@]}" -eq 1 ]
    tim-score m.cxs 2>/dev/null | sed -n 2,3p >got
    diff got <(printf 'a\t0\t-\nb\t0.125\t0\n')
}

@test "tim-score refuses bad input with one line naming file, record and field" {
    metrics good.cxs a:a=.5
    truncated good.cxs >cut.cxs
    run tim-score missing.cxs
    assert_fails 66 "^tim-score: missing.cxs: cannot open"
    run tim-score cut.cxs
    assert_fails 65 "^tim-score: cut.cxs: .*truncated"
    mk write image.cxs
    run tim-score image.cxs
    assert_fails 65 '^tim-score: image.cxs: header: kind "image": not a metrics stream$'
    metrics wrong.cxs a,b:c=.5
    run tim-score wrong.cxs
    assert_fails 65 '^tim-score: wrong.cxs: record 0 \(id "c"\): meta.task: "c" is not in task_set "a,b"$'
    metrics twice.cxs a,a:a=.5
    run tim-score twice.cxs
    assert_fails 65 '^tim-score: twice.cxs: record 0 \(id "a"\): meta.task_set: task "a" named twice$'
    py <<'EOF'
import cxstream
w = cxstream.Writer(open("noset.cxs", "wb"), cxstream.header("metrics"))
w.put("a", {"task": "a", "kind": "binary", "auroc": .5})
w.close()
w = cxstream.Writer(open("nokind.cxs", "wb"), cxstream.header("metrics"))
w.put("a", {"task": "a", "task_set": "a", "auroc": .5})
w.close()
w = cxstream.Writer(open("text.cxs", "wb"), cxstream.header("metrics"))
w.put("a", {"task": "a", "task_set": "a", "kind": "binary", "auroc": "high"})
w.close()
EOF
    run tim-score noset.cxs
    assert_fails 65 '^tim-score: noset.cxs: record 0 \(id "a"\): meta.task_set: missing or not a string$'
    run tim-score nokind.cxs
    assert_fails 65 '^tim-score: nokind.cxs: record 0 \(id "a"\): meta.kind: missing \(use --metric NAME\)$'
    run tim-score --metric f1 good.cxs
    assert_fails 65 '^tim-score: good.cxs: record 0 \(id "a"\): meta.f1: missing$'
    run tim-score text.cxs
    assert_fails 65 '^tim-score: text.cxs: record 0 \(id "a"\): meta.auroc: not a finite number$'
    run tim-score -o out.cxs nokind.cxs
    [ "$status" -eq 65 ] && [ ! -e out.cxs ]
    no_partial_files .
}

@test "tim-score usage errors" {
    metrics m.cxs a:a=.5
    run tim-score --format csv m.cxs
    assert_fails 64 "^tim-score: --format: tsv or markdown, not 'csv'"
    run tim-score --next
    assert_fails 64 "^tim-score: no runs to take the tasks from: give --tasks LIST"
    run tim-score --next --chosen --tasks a
    assert_fails 64 "^tim-score: --next, --chosen and --plan exclude each other"
    run tim-score --next -o t.cxs --tasks a
    assert_fails 64 "^tim-score: -o and --heatmap go with the matrix"
    run tim-score --tasks 'a,b c' m.cxs
    assert_fails 64 "^tim-score: --tasks: task name \"b c\""
    run tim-score --beam 0 --next --tasks a
    assert_fails 64 "^tim-score: --beam"
    run tim-score --heatmap-values size m.cxs
    assert_fails 64 "^tim-score: --heatmap-values: rank or delta"
}

@test "tim-score -o cannot create: 73 and nothing written" {
    three_tasks m.cxs
    run tim-score -o no/such/dir/t.cxs m.cxs
    assert_fails 73 "^tim-score: no/such/dir/t.cxs: cannot create"
}
