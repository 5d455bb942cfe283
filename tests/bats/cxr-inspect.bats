load helpers
load streams

# Records of the streams made by 'mk write' are r00000, r00001, ... with metadata fold = i % 3,
# site = site-A / site-B alternating, n = i, and a comment (holding a comma and quotes) on r00000.

@test "cxr-inspect --help, --version and unknown options" {
    assert_help cxr-inspect
    assert_version cxr-inspect
    assert_unknown_option cxr-inspect
}

@test "cxr-inspect refuses missing, truncated and foreign streams with one line" {
    # (the default listing prints the records before the damage on stdout)
    assert_bad_streams cxr-inspect --count
    assert_bad_streams cxr-inspect --check
}

@test "cxr-inspect shows the provenance, every record and its tensors, and a count" {
    mk write s.cxs --records 4 --shape 5,7
    run cxr-inspect s.cxs
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "s.cxs: image stream from mkstream.py 0: "* ]]
    [[ "${lines[1]}" == '[0] r00000  fold=0  site=site-A  n=0  comment=a comma, and a "quote"' ]]
    [[ "${lines[2]}" =~ ^\ \ image\ +u8\ +\[5,\ 7\]$ ]]
    [[ "${lines[3]}" =~ ^\ \ mask\ +u8\ +\[5,\ 7\]$ ]]
    [[ "${lines[10]}" == "[3] r00003  fold=0  site=site-B  n=3" ]]
    [[ "${lines[-1]}" == "s.cxs: 4 records" ]]
    [ "${#lines[@]}" -eq 14 ]
}

@test "cxr-inspect -H and --header print the provenance tree only" {
    mk write s.cxs --records 3
    cxr-select --where fold=1 s.cxs | cxr-cat -o joined.cxs - s.cxs
    for opt in -H --header; do
        run cxr-inspect "$opt" joined.cxs
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == "joined.cxs: image stream from cxr-cat 0.1.0: cxr-cat -o joined.cxs - s.cxs" ]]
        [[ "${lines[1]}" == "  image stream from cxr-select 0.1.0: cxr-select --where fold=1 s.cxs" ]]
        [[ "${lines[2]}" == "    image stream from mkstream.py 0: "* ]]
        [[ "${lines[3]}" == "  image stream from mkstream.py 0: "* ]]
        [ "${#lines[@]}" -eq 4 ]
    done
}

@test "cxr-inspect -c and --count print the number of (selected) records" {
    mk write s.cxs --records 7
    [ "$(cxr-inspect -c s.cxs)" = 7 ]
    [ "$(cxr-inspect --count < s.cxs)" = 7 ]
    [ "$(cxr-inspect -c --index 2-4 s.cxs)" = 3 ]
    mk write empty.cxs --records 0
    [ "$(cxr-inspect -c empty.cxs)" = 0 ]
}

@test "cxr-inspect reads several files and standard input in order" {
    mk write a.cxs --records 2
    mk write b.cxs --records 3
    run cxr-inspect -c a.cxs - b.cxs < b.cxs
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '2\n3\n3')" ]
    run cxr-inspect a.cxs - < b.cxs
    [[ "$output" == *"standard input: 3 records"* ]]
}

@test "cxr-inspect -j and --json write JSON lines that agree with the stream" {
    mk write s.cxs --records 4 --shape 3,5
    for opt in -j --json; do
        cxr-inspect "$opt" s.cxs > out.jsonl
        py s.cxs out.jsonl <<'EOF'
import json, sys, cxstream
lines = [json.loads(line) for line in open(sys.argv[2])]
with open(sys.argv[1], "rb") as f:
    items = list(cxstream.read(f))
header, records = items[0][0], items[1:]
assert lines[0] == {"file": "s.cxs", "header": header}, lines[0]
assert lines[-1] == {"file": "s.cxs", "records": 4, "selected": 4}, lines[-1]
assert len(lines) == len(records) + 2
for i, (line, (rec, tensors)) in enumerate(zip(lines[1:-1], records)):
    assert line["record"] == i and line["file"] == "s.cxs" and line["id"] == rec["id"], line
    assert line["meta"] == rec["meta"], (line["meta"], rec["meta"])
    assert line["tensors"] == [{"name": k, "dtype": cxstream.NAMES[v.dtype], "shape": list(v.shape)}
                               for k, v in tensors.items()], line["tensors"]
EOF
    done
}

@test "cxr-inspect -s and --stats agree with numpy over the finite values" {
    mk write f.cxs --records 3 --dtype f32 --shape 6,5 --nonfinite
    for opt in -s --stats; do
        cxr-inspect --json "$opt" f.cxs > out.jsonl
        py f.cxs out.jsonl <<'EOF'
import json, sys, numpy as np, mkstream
lines = [json.loads(line) for line in open(sys.argv[2])][1:-1]
for line, (rec, tensors) in zip(lines, mkstream.read_records(sys.argv[1])):
    for t in line["tensors"]:
        a = tensors[t["name"]].astype(np.float64).ravel()
        finite = a[np.isfinite(a)]
        assert t["nan"] == np.isnan(a).sum() and t["inf"] == np.isinf(a).sum(), t
        want = {"min": finite.min(), "max": finite.max(), "mean": finite.mean(), "std": finite.std()}
        for k, v in want.items():
            assert abs(t[k] - v) <= 1e-12 * max(1.0, abs(v)), (t["name"], k, t[k], v)
EOF
    done
    # the plain form shows the same figures
    run cxr-inspect -s --index 0 f.cxs
    [[ "${lines[2]}" =~ image\ +f32\ +\[6,\ 5\]\ +min\ .*\ max\ .*\ mean\ .*\ std\ .*\ nan\ 1\ inf\ 2$ ]]
}

@test "cxr-inspect --id and --index choose records; a bad range is a usage error" {
    mk write s.cxs --records 8
    ids() { cxr-inspect --csv n "$@" s.cxs | tail -n +2 | cut -d, -f1 | tr '\n' ' '; }
    [ "$(ids --id r00003)" = "r00003 " ]
    [ "$(ids --id r00005 --id r00001 --id nosuch)" = "r00001 r00005 " ]
    [ "$(ids --index 2)" = "r00002 " ]
    [ "$(ids --index 1-2 --index 6-)" = "r00001 r00002 r00006 r00007 " ]
    [ "$(ids --index 1-6 --id r00000 --id r00004)" = "r00004 " ]
    run cxr-inspect --index 4-2 s.cxs
    assert_fails 64 "^cxr-inspect: --index: bad index range '4-2'"
    run cxr-inspect --index x s.cxs
    assert_fails 64 "^cxr-inspect: --index: bad index range 'x'"
}

@test "cxr-inspect names a long option that lacks its value as typed" {
    for opt in --id --index --csv; do
        run cxr-inspect "$opt"
        assert_fails 64 "^cxr-inspect: option '$opt' needs a value"
    done
}

@test "the provenance keeps the command line as typed" {
    mk write s.cxs
    cxr-cat s.cxs -o joined.cxs
    run cxr-inspect -H joined.cxs
    [[ "${lines[0]}" == "joined.cxs: image stream from cxr-cat 0.1.0: cxr-cat s.cxs -o joined.cxs" ]]
}

@test "cxr-inspect -q and --check print nothing; the exit status tells" {
    mk write s.cxs
    for opt in -q --check; do
        run cxr-inspect "$opt" s.cxs
        [ "$status" -eq 0 ]
        [ -z "$output" ]
    done
    truncated s.cxs > cut.cxs
    run cxr-inspect -q s.cxs cut.cxs
    assert_fails 65 "^cxr-inspect: cut.cxs: .*truncated"
}

@test "cxr-inspect --csv writes an RFC 4180 table of the chosen fields" {
    mk write s.cxs --records 3
    cxr-inspect --csv site,comment,fold,absent s.cxs > t.csv
    head -1 t.csv | grep -qx 'id,site,comment,fold,absent'
    py s.cxs t.csv <<'EOF'
import csv, sys, mkstream
rows = list(csv.reader(open(sys.argv[2], newline="")))[1:]
records = [rec for rec, _ in mkstream.read_records(sys.argv[1])]
assert len(rows) == len(records) == 3
for row, rec in zip(rows, records):
    m = rec["meta"]
    assert row == [rec["id"], m["site"], m.get("comment", ""), str(m["fold"]), ""], row
EOF
}

@test "cxr-inspect --json names a file with quotes in valid JSON" {
    mk write 'a"b.cxs'
    cxr-inspect --json 'a"b.cxs' > out.jsonl
    py out.jsonl <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    assert json.loads(line)["file"] == 'a"b.cxs'
EOF
}
