load helpers
load streams

# Records of 'mk write' streams: r00000, r00001, ... with fold = i % 3, site = site-A/site-B
# alternating, n = i, and a comment on r00000 only.

@test "cxr-split --help, --version and unknown options" {
    assert_help cxr-split
    assert_version cxr-split
    assert_unknown_option cxr-split --by fold -o 'p-%s.cxs'
}

@test "cxr-split refuses bad streams and then leaves no output file" {
    assert_bad_streams cxr-split --by fold -o 'p-%s.cxs'
    [ -z "$(ls p-* 2>/dev/null)" ]
}

@test "cxr-split -b and -o put each record in the file of its value, in order" {
    mk write s.cxs --records 8
    cxr-split -b fold -o 'fold-%s.cxs' s.cxs
    [ "$(ls fold-*.cxs | tr '\n' ' ')" = "fold-0.cxs fold-1.cxs fold-2.cxs " ]
    for k in 0 1 2; do
        diff <(mk digest --full <(cxr-select --where fold=$k s.cxs)) <(mk digest --full fold-$k.cxs)
    done
}

@test "cxr-split then cxr-cat preserves every record" {
    mk write s.cxs --records 9 --shape 3,4
    cxr-split --by site --output 'site-%s.cxs' < s.cxs
    cxr-cat site-*.cxs -o back.cxs
    diff <(mk digest --full s.cxs | sort) <(mk digest --full back.cxs | sort)
    [ "$(cxr-inspect -c back.cxs)" = 9 ]
}

@test "cxr-split records the field it split on and its input's provenance" {
    mk write s.cxs
    cxr-split --by site -o 'p-%s.cxs' s.cxs
    run cxr-inspect -H p-site-A.cxs
    [[ "${lines[1]}" == "  split_by: site" ]]
    [[ "${lines[2]}" == "  image stream from mkstream.py 0: "* ]]
}

@test "cxr-split needs --by and a PATTERN with %s once" {
    mk write s.cxs
    run cxr-split -o 'p-%s.cxs' s.cxs
    assert_fails 64 "^cxr-split: --by FIELD is required"
    run cxr-split --by fold s.cxs
    assert_fails 64 "^cxr-split: --output PATTERN is required"
    for pattern in p.cxs 'p-%s-%s.cxs' 'p-%d-%s.cxs'; do
        run cxr-split --by fold -o "$pattern" s.cxs
        assert_fails 64 "^cxr-split: --output: PATTERN must contain %s exactly once"
    done
    run cxr-split --by fold -o 'p-%s.cxs' s.cxs s.cxs
    assert_fails 64 "^cxr-split: one input stream at most"
    [ -z "$(ls p-* 2>/dev/null)" ]
}

@test "cxr-split refuses a % after the %s of its PATTERN" {
    mk write s.cxs
    for pattern in 'p-%s%.cxs' 'p-%s-%d.cxs'; do
        run cxr-split --by fold -o "$pattern" s.cxs
        assert_fails 64 "^cxr-split: --output: PATTERN must contain %s exactly once"
    done
    [ -z "$(ls p-* 2>/dev/null)" ]
}

@test "cxr-split refuses a record without the field, and then writes no output at all" {
    mk write s.cxs --records 5
    # records 0..3 carry note, record 4 does not: parts were already open when it fails
    cxr-select --index 0-3 --set note=x s.cxs | cxr-cat -o mixed.cxs - <(cxr-select --index 4 s.cxs)
    run cxr-split --by note -o 'p-%s.cxs' mixed.cxs
    assert_fails 65 '^cxr-split: mixed.cxs: record 4 \(id "r00004"\): meta.note: missing'
    [ -z "$(ls p-* 2>/dev/null)" ]
    no_partial_files .
}

@test "cxr-split --missing names the part of records without the field" {
    mk write s.cxs --records 4
    cxr-split --by comment --missing none -o 'p-%s.cxs' s.cxs
    [ "$(ls p-*.cxs | tr '\n' ' ')" = "p-a_comma__and_a__quote_.cxs p-none.cxs " ]
    [ "$(cxr-inspect -c p-none.cxs)" = 3 ]
    [ "$(cxr-inspect --csv n p-a_comma__and_a__quote_.cxs | tail -1)" = "r00000,0" ]
}

@test "cxr-split --missing VALUE becomes a file name like any value" {
    mk write s.cxs --records 4
    cxr-split --by comment --missing n/a -o 'p-%s.cxs' s.cxs
    [ "$(cxr-inspect -c p-n_a.cxs)" = 3 ]
}

@test "cxr-split fails cleanly when it cannot create an output" {
    mk write s.cxs
    run cxr-split --by fold -o 'no/such/dir/p-%s.cxs' s.cxs
    assert_fails 73 "^cxr-split: no/such/dir/p-0.cxs: cannot create"
}
