load helpers

# cxr-phantom: options, errors, whole-or-nothing output, determinism, --count.

@test "cxr-phantom --help describes every option" {
    run cxr-phantom --help
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "Usage: cxr-phantom "* ]]
    for opt in --output --seed --size --bits --patients --centers --dataset --all-labels --count --version; do
        [[ "$output" == *"$opt"* ]]
    done
}

@test "cxr-phantom --version prints the tool and version" {
    run cxr-phantom --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^cxr-phantom\ .*[0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "cxr-phantom: an unknown option is a usage error naming it" {
    run cxr-phantom --no-such-option
    assert_fails 64 "no-such-option"
    [ ! -e -o ]
}

@test "cxr-phantom: sizes outside 64..1024 and malformed sizes are usage errors" {
    for size in 63 1025 2000x128 128x32 x128 128x abc; do
        run cxr-phantom --size "$size" -o out.cxs
        assert_fails 64 "--size"
    done
    [ ! -e out.cxs ]
    no_partial_files
}

@test "cxr-phantom: other bad values are usage errors naming the option" {
    run cxr-phantom --bits 12
    assert_fails 64 "--bits"
    run cxr-phantom --centers 5
    assert_fails 64 "--centers"
    run cxr-phantom --patients 0
    assert_fails 64 "--patients"
    run cxr-phantom --dataset covid
    assert_fails 64 "--dataset"
    run cxr-phantom --count -1
    assert_fails 64 "--count"
    run cxr-phantom stray-argument
    assert_fails 64 "stray-argument"
}

@test "cxr-phantom: an output file appears only when complete" {
    cxr-phantom --size 256 --patients 1000000 -o big.cxs &
    pid=$!
    # wait until it is writing (its temporary exists), then interrupt it
    for _ in $(seq 100); do
        find . -name '.big.cxs.tmp-*' | grep -q . && break
        sleep 0.05
    done
    find . -name '.big.cxs.tmp-*' | grep -q .
    kill -TERM "$pid"
    wait "$pid" || true
    [ ! -e big.cxs ]
    no_partial_files
}

@test "cxr-phantom: the same options give the same bytes, another seed other bytes" {
    phantom > a.cxs
    phantom > b.cxs
    cmp a.cxs b.cxs
    cxr-phantom --seed 8 --size 64 --patients 4 > c.cxs
    ! cmp -s a.cxs c.cxs
    cxr-inspect -q a.cxs
}

@test "cxr-phantom --count writes the first N records of the full stream" {
    phantom -o all.cxs
    phantom --count 3 -o three.cxs
    [ "$(cxr-inspect -c three.cxs)" -eq 3 ]
    [ "$(cxr-inspect -c all.cxs)" -gt 3 ]
    # same records: ids, metadata and pixel statistics (the headers differ by their command line)
    diff <(cxr-inspect -s three.cxs | grep -v '^three.cxs\|^  phantom') \
         <(cxr-inspect -s --index 0-2 all.cxs | grep -v '^all.cxs\|^  phantom')
    phantom --count 0 -o none.cxs
    [ "$(cxr-inspect -c none.cxs)" -eq 0 ]
    phantom --count 100000 -o more.cxs
    cmp <(cxr-inspect -s more.cxs | grep -v '^more.cxs\|^  phantom') <(cxr-inspect -s all.cxs | grep -v '^all.cxs\|^  phantom')
}

@test "cxr-phantom: data sets, labels, sizes and bit depth as asked" {
    phantom --dataset brixia -o b.cxs
    run cxr-inspect --csv dataset,prognosis,brixia_global b.cxs
    [ "$status" -eq 0 ]
    [ "$(tail -n +2 <<< "$output" | grep -vc '^bx-[0-9]*-[1-3],brixia,,[0-9][0-9]*$')" -eq 0 ]
    phantom --dataset prognosis -o p.cxs
    run cxr-inspect --csv dataset,prognosis,brixia_global p.cxs
    [ "$(tail -n +2 <<< "$output" | grep -vc '^pg-[0-9]*-[1-3],prognosis,[01],$')" -eq 0 ]
    phantom --all-labels -o all.cxs
    run cxr-inspect --csv prognosis,brixia_class all.cxs
    [ "$(tail -n +2 <<< "$output" | grep -vc ',[01],[0-3]$')" -eq 0 ]
    cxr-phantom --size 96x72 --bits 16 --patients 1 --count 1 -o s16.cxs
    run cxr-inspect s16.cxs
    [[ "$output" == *"image            u16  [72, 96]"* ]]
    [[ "$output" == *"mask             u8   [72, 96]"* ]]
}
