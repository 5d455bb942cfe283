# Shared by the tool suites (load after helpers): test data from mkstream.py, and the promises
# every stream tool makes about --help, --version, bad options and bad streams.

# Debian's python3 has numpy and msgpack; a python3 earlier on PATH may not.
PY=${CXR_PYTHON:-/usr/bin/python3}

mk() {
    "$PY" "$BATS_TEST_DIRNAME/mkstream.py" "$@"
}

# py ARGS... <<'EOF' (a script on standard input): Python with mkstream and cxstream importable.
py() {
    PYTHONPATH="$BATS_TEST_DIRNAME:$BATS_TEST_DIRNAME/../ref" "$PY" - "$@"
}

# A stream whose last bytes are cut off: inside the end marker (the default), or the whole end
# marker (6 bytes while the record count is below 128), which leaves a stream that ends exactly
# between records.
truncated() {
    head -c "-${2:-3}" "$1"
}

# assert_help TOOL: --help prints the usage on stdout and exits 0.
assert_help() {
    run "$1" --help
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "Usage: $1 "* ]]
    [[ "$output" == *"Exit status"* ]]
}

# assert_version TOOL: --version prints "TOOL (cxr-mtl) VERSION" and exits 0.
assert_version() {
    run "$1" --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^$1\ \(cxr-mtl\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

# assert_unknown_option TOOL ARGS...: an unknown long and short option are usage errors naming
# the option, and nothing is written.
assert_unknown_option() {
    local tool=$1
    shift
    run "$tool" --no-such-option "$@"
    assert_fails 64 "^$tool: unknown option '--no-such-option'"
    run "$tool" -Z "$@"
    assert_fails 64 "^$tool: unknown option '-Z'"
}

# assert_bad_streams TOOL ARGS...: TOOL run on a missing file, a stream cut inside the end
# marker, one cut between records and one with another format name fails with one line naming
# the file; ARGS come after the input, and leave no temporaries behind.
assert_bad_streams() {
    local tool=$1
    shift
    mk write good.cxs
    truncated good.cxs >cut.cxs
    truncated good.cxs 6 >cut-at-record.cxs
    mk write other.cxs --format other-format

    run "$tool" missing.cxs "$@"
    assert_fails 66 "^$tool: missing.cxs: cannot open"
    run "$tool" cut.cxs "$@"
    assert_fails 65 "^$tool: cut.cxs: .*truncated"
    run "$tool" cut-at-record.cxs "$@"
    assert_fails 65 "^$tool: cut-at-record.cxs: .*truncated"
    run "$tool" other.cxs "$@"
    assert_fails 65 "^$tool: other.cxs: header: format: not a cxr-mtl stream"
    no_partial_files .
}
