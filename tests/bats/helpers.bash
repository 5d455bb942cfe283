# Shared by the bats suites: tools come from $CXR_BIN (set by 'make bats'), each test gets a
# fresh directory, and a few helpers check the project's promises on errors.

setup() {
    : "${CXR_BIN:?run through 'make bats' (CXR_BIN names the built tools)}"
    PATH="$CXR_BIN:$PATH"
    TMP="$BATS_TEST_TMPDIR"
    cd "$TMP" || return 1
}

# assert_fails CODE PATTERN: the last 'run' exited with CODE and printed exactly one line on
# stderr (bats merges it into $output) matching the extended regex PATTERN.
assert_fails() {
    local code=$1 pattern=$2
    if [ "$status" -ne "$code" ]; then
        echo "exit status $status, expected $code; output: $output" >&2
        return 1
    fi
    if [ "${#lines[@]}" -ne 1 ]; then
        echo "expected one line of output, got ${#lines[@]}: $output" >&2
        return 1
    fi
    if ! [[ "$output" =~ $pattern ]]; then
        echo "output '$output' does not match '$pattern'" >&2
        return 1
    fi
}

# no_partial_files DIR: nothing under DIR looks like a left-over temporary.
no_partial_files() {
    if find "${1:-.}" -name '*.tmp-*' | grep -q .; then
        echo "temporary files left behind:" >&2
        find "${1:-.}" -name '*.tmp-*' >&2
        return 1
    fi
}

# A small phantom stream, made once per test file when the generator exists.
phantom() {
    cxr-phantom --seed 7 --size 64 --patients 4 "$@"
}
