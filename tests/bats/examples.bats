load helpers

# The examples are run as users would run them, so they cannot rot.

@test "examples/pipeline.sh runs and produces labels and images" {
    run sh "$BATS_TEST_DIRNAME/../../examples/pipeline.sh" out
    [ "$status" -eq 0 ]
    [[ "$output" =~ records ]]
    [ -s out/brixia.csv ]
    head -1 out/brixia.csv | grep -qx 'id,patient,center,brixia_global,brixia_class'
    # no center-A or center-B rows survived, and every row has a Brixia class
    ! cut -d, -f3 out/brixia.csv | grep -qx 'center-[AB]'
    [ "$(tail -n +2 out/brixia.csv | cut -d, -f5 | grep -c '^[0-3]$')" -eq "$(($(wc -l < out/brixia.csv) - 1))" ]
    [ "$(ls out/png/*.png | wc -l)" -eq 3 ]
}

@test "examples/read_stream.py reads a stream with msgpack and numpy" {
    phantom -o s.cxs
    run /usr/bin/python3 "$BATS_TEST_DIRNAME/../../examples/read_stream.py" s.cxs
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "kind image from cxr-phantom" ]]
    n=$(cxr-inspect -c s.cxs)
    [[ "${lines[-1]}" == "$n records" ]]
    # lungs are darker than their surroundings in every image
    run /usr/bin/python3 "$BATS_TEST_DIRNAME/../../examples/read_stream.py" s.cxs
    echo "$output" | awk '/lung/ { if ($(NF-2) >= $NF) bad++ } END { exit bad > 0 }'
}

@test "examples/read_stream.py refuses a truncated stream" {
    phantom -o s.cxs
    head -c -3 s.cxs > cut.cxs
    run /usr/bin/python3 "$BATS_TEST_DIRNAME/../../examples/read_stream.py" cut.cxs
    [ "$status" -ne 0 ]
}
