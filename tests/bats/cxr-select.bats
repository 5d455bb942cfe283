load helpers
load streams

# Records of 'mk write' streams: r00000, r00001, ... with fold = i % 3, site = site-A/site-B
# alternating, n = i, and a comment on r00000 only.

# The ids of the records in stream $1, on one line.
ids() {
    cxr-inspect --csv n "$1" | tail -n +2 | cut -d, -f1 | tr '\n' ' '
}

@test "cxr-select --help, --version and unknown options" {
    assert_help cxr-select
    assert_version cxr-select
    assert_unknown_option cxr-select
}

@test "cxr-select refuses bad streams and then leaves no output file" {
    assert_bad_streams cxr-select -o out.cxs
    [ ! -e out.cxs ]
}

@test "cxr-select without conditions copies every record unchanged" {
    mk write s.cxs --records 5 --shape 4,6
    cxr-select s.cxs -o copy.cxs
    diff <(mk digest --full s.cxs) <(mk digest --full copy.cxs)
    # standard input and output, with the input's header kept as provenance
    cxr-select < s.cxs > piped.cxs
    diff <(mk digest --full s.cxs) <(mk digest --full piped.cxs)
    run cxr-inspect -H piped.cxs
    [[ "${lines[1]}" == "  image stream from mkstream.py 0: "* ]]
}

@test "cxr-select -o and --output write the file whole" {
    mk write s.cxs
    cxr-select -o a.cxs s.cxs
    cxr-select --output b.cxs - < s.cxs
    cmp <(mk digest --full a.cxs) <(mk digest --full b.cxs)
    no_partial_files .
}

@test "cxr-select --id and --ids-from keep the records named" {
    mk write s.cxs --records 6
    [ "$(ids <(cxr-select --id r00004 --id r00001 --id nosuch s.cxs))" = "r00001 r00004 " ]
    printf 'r00005\n\nr00002\r\n' > wanted.txt
    [ "$(ids <(cxr-select --ids-from wanted.txt s.cxs))" = "r00002 r00005 " ]
    # an empty list names no record: nothing is kept (and --invert keeps everything)
    : > none.txt
    [ "$(cxr-inspect -c <(cxr-select --ids-from none.txt s.cxs))" = 0 ]
    [ "$(cxr-inspect -c <(cxr-select --ids-from none.txt --invert s.cxs))" = 6 ]
    run cxr-select --ids-from missing.txt s.cxs
    assert_fails 66 "^cxr-select: missing.txt: cannot open"
}

@test "cxr-select --index keeps positions N, A-B and A-" {
    mk write s.cxs --records 6
    [ "$(ids <(cxr-select --index 0 --index 2-3 s.cxs))" = "r00000 r00002 r00003 " ]
    [ "$(ids <(cxr-select --index 4- s.cxs))" = "r00004 r00005 " ]
    run cxr-select --index 3-1 s.cxs
    assert_fails 64 "^cxr-select: --index: bad index range '3-1'"
}

@test "cxr-select --has keeps records whose field is present and not null" {
    mk write s.cxs --records 4
    cxr-select --set note= --index 1 s.cxs | cxr-cat -o mixed.cxs - s.cxs
    # mixed.cxs: r00001 with note null, then r00000..r00003 of which r00000 has a comment
    [ "$(ids <(cxr-select --has comment mixed.cxs))" = "r00000 " ]
    [ "$(cxr-select --has note mixed.cxs | cxr-inspect -c)" = 0 ]
    [ "$(ids <(cxr-select --has comment --has fold mixed.cxs))" = "r00000 " ]
}

@test "cxr-select -w and --where compare numbers as numbers, strings exactly" {
    mk write s.cxs --records 6
    [ "$(ids <(cxr-select -w fold=1 s.cxs))" = "r00001 r00004 " ]
    [ "$(ids <(cxr-select --where fold=1.0 s.cxs))" = "r00001 r00004 " ]
    [ "$(ids <(cxr-select --where fold!=1 s.cxs))" = "r00000 r00002 r00003 r00005 " ]
    [ "$(ids <(cxr-select --where site=site-B --where fold=0 s.cxs))" = "r00003 " ]
    [ "$(cxr-select --where site=site s.cxs | cxr-inspect -c)" = 0 ]
    # an empty value means absent
    [ "$(ids <(cxr-select --where comment= s.cxs))" = "r00001 r00002 r00003 r00004 r00005 " ]
    [ "$(ids <(cxr-select --where comment!= s.cxs))" = "r00000 " ]
    run cxr-select --where fold s.cxs
    assert_fails 64 "^cxr-select: --where: bad condition 'fold'"
}

@test "cxr-select -v and --invert keep exactly the other records" {
    mk write s.cxs --records 7
    [ "$(ids <(cxr-select -v --where fold=1 s.cxs))" = "r00000 r00002 r00003 r00005 r00006 " ]
    [ "$(ids <(cxr-select --invert --index 1- s.cxs))" = "r00000 " ]
    [ "$(cxr-select --invert s.cxs | cxr-inspect -c)" = 0 ]
}

@test "cxr-select --set and --unset edit the metadata of the kept records" {
    mk write s.cxs --records 3
    cxr-select --set fold=7 --set tag=new --set ratio=0.5 --set flag=true --set gone= \
        --unset n --unset site --unset absent s.cxs -o edited.cxs
    py s.cxs edited.cxs <<'EOF'
import sys, mkstream
before = list(mkstream.read_records(sys.argv[1]))
after = list(mkstream.read_records(sys.argv[2]))
assert len(before) == len(after) == 3
for (a, ta), (b, tb) in zip(before, after):
    want = {k: v for k, v in a["meta"].items() if k not in ("n", "site")}
    want.update(fold=7, tag="new", ratio=0.5, flag=True, gone=None)
    assert b["id"] == a["id"] and b["meta"] == want, (b["meta"], want)
    assert all((ta[k] == tb[k]).all() for k in ta) and ta.keys() == tb.keys()
EOF
    run cxr-select --set fold s.cxs
    assert_fails 64 "^cxr-select: --set: 'fold' is not FIELD=VALUE"
}

@test "cxr-select --keep-tensors and --drop-tensors choose tensors by name" {
    mk write s.cxs --records 2
    run cxr-inspect --json <(cxr-select --keep-tensors mask,other s.cxs)
    [[ "${lines[1]}" == *'"tensors":[{"name":"mask",'*'}]}' ]]
    [[ "${lines[1]}" != *'"name":"image"'* ]]
    run cxr-inspect --json <(cxr-select --drop-tensors mask s.cxs)
    [[ "${lines[1]}" == *'"tensors":[{"name":"image",'*'}]}' ]]
    [[ "${lines[1]}" != *'"name":"mask"'* ]]
    diff <(mk digest --tensor image s.cxs) <(mk digest --tensor image <(cxr-select --drop-tensors mask s.cxs))
    run cxr-inspect --json <(cxr-select --drop-tensors image,mask s.cxs)
    [[ "${lines[1]}" == *'"tensors":[]}' ]]
}

@test "cxr-select takes one input, and fails cleanly when it cannot write" {
    mk write s.cxs
    run cxr-select s.cxs s.cxs
    assert_fails 64 "^cxr-select: one input stream at most"
    run cxr-select s.cxs -o no/such/dir/out.cxs
    assert_fails 73 "^cxr-select: no/such/dir/out.cxs: cannot create"
}

@test "cxr-select leaves no output when its input turns out truncated" {
    mk write s.cxs --records 50
    truncated s.cxs 40 > cut.cxs
    run cxr-select --where fold=1 cut.cxs -o out.cxs
    assert_fails 65 "^cxr-select: cut.cxs: .*truncated"
    [ ! -e out.cxs ]
    no_partial_files .
    # and a pipeline stage downstream sees the failure too
    run sh -c 'cxr-select < cut.cxs | cxr-inspect -c'
    [ "$status" -eq 65 ]
}
