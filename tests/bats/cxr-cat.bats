load helpers
load streams

@test "cxr-cat --help, --version and unknown options" {
    assert_help cxr-cat
    assert_version cxr-cat
    assert_unknown_option cxr-cat
}

@test "cxr-cat refuses bad streams and then leaves no output file" {
    assert_bad_streams cxr-cat -o out.cxs
    [ ! -e out.cxs ]
}

@test "cxr-cat leaves no output when a later input is truncated" {
    mk write a.cxs --records 4
    mk write b.cxs --records 30 --seed 2
    truncated b.cxs 100 > cut.cxs
    run cxr-cat a.cxs cut.cxs -o out.cxs
    assert_fails 65 "^cxr-cat: cut.cxs: .*truncated"
    [ ! -e out.cxs ]
    no_partial_files .
}

@test "cxr-cat writes the records of every input in order" {
    mk write a.cxs --records 3 --seed 1
    mk write b.cxs --records 4 --seed 2 --shape 2,3,5
    mk write empty.cxs --records 0
    cxr-cat a.cxs empty.cxs b.cxs a.cxs -o all.cxs
    diff <(cat <(mk digest --full a.cxs) <(mk digest --full b.cxs) <(mk digest --full a.cxs)) \
         <(mk digest --full all.cxs)
    [ "$(cxr-inspect -c all.cxs)" = 10 ]
}

@test "cxr-cat -o, --output and standard input" {
    mk write a.cxs --records 2
    mk write b.cxs --records 3 --seed 2
    cxr-cat --output one.cxs a.cxs b.cxs
    cxr-cat a.cxs - < b.cxs > two.cxs
    diff <(mk digest --full one.cxs) <(mk digest --full two.cxs)
    run cxr-cat a.cxs b.cxs -o no/such/dir/out.cxs
    assert_fails 73 "^cxr-cat: no/such/dir/out.cxs: cannot create"
}

@test "cxr-cat records every input's header as provenance" {
    mk write a.cxs
    cxr-select --where fold=1 -o b.cxs a.cxs
    cxr-cat -o ab.cxs a.cxs b.cxs
    run cxr-inspect -H ab.cxs
    [ "${#lines[@]}" -eq 4 ]
    [[ "${lines[1]}" == "  image stream from mkstream.py 0: "* ]]
    [[ "${lines[2]}" == "  image stream from cxr-select 0.1.0: cxr-select --where fold=1 -o b.cxs a.cxs" ]]
    [[ "${lines[3]}" == "    image stream from mkstream.py 0: "* ]]
}

@test "cxr-cat needs at least one input" {
    run cxr-cat
    assert_fails 64 "^cxr-cat: no input streams"
}

@test "cxr-cat refuses inputs of different kinds; -k and --kind name the kind" {
    mk write a.cxs --kind image
    mk write b.cxs --kind crop
    run cxr-cat a.cxs b.cxs
    assert_fails 65 "^cxr-cat: b.cxs: kind \"crop\" differs from \"image\""
    cxr-cat -k crop b.cxs b.cxs -o c.cxs
    [[ "$(cxr-inspect -H c.cxs)" == "c.cxs: crop stream from cxr-cat "* ]]
    cxr-cat --kind image a.cxs -o d.cxs
    [[ "$(cxr-inspect -H d.cxs)" == "d.cxs: image stream from cxr-cat "* ]]
}

@test "cxr-cat --kind joins inputs of different kinds and names the output's kind" {
    mk write a.cxs --kind image
    mk write b.cxs --kind crop
    cxr-cat --kind mixed a.cxs b.cxs -o ab.cxs
    [ "$(cxr-inspect -c ab.cxs)" = 12 ]
    cxr-cat --kind embedding a.cxs -o e.cxs
    [[ "$(cxr-inspect -H e.cxs)" == "e.cxs: embedding stream from cxr-cat "* ]]
}

@test "cxr-cat then cxr-split by file of origin gives back each input's records" {
    mk write a.cxs --records 5 --seed 1
    mk write b.cxs --records 4 --seed 2
    # tag each input with where it came from, join, split on the tag, drop the tag
    cxr-select --set origin=a a.cxs | cxr-cat -o ab.cxs - <(cxr-select --set origin=b b.cxs)
    cxr-split --by origin -o 'part-%s.cxs' ab.cxs
    diff <(mk digest --full a.cxs) <(mk digest --full <(cxr-select --unset origin part-a.cxs))
    diff <(mk digest --full b.cxs) <(mk digest --full <(cxr-select --unset origin part-b.cxs))
    [ "$(ls part-*.cxs | wc -l)" -eq 2 ]
}
