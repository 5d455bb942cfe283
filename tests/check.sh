#!/usr/bin/env bash
# make check: the unit runner, then every bats suite; ends with one line over both,
# "N passed, N failed, N skipped". Usage: tests/check.sh UNIT_RUNNER BIN_DIR LOG_PREFIX
set -u
# Tests are not benchmarks: threads that sleep rather than spin keep a busy machine usable.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
unit=$1 bin=$2 log=$3
mkdir -p "$(dirname "$log")"

"$unit" | tee "$log.unit"
unit_status=${PIPESTATUS[0]}
CXR_BIN=$bin bats --tap tests/bats | tee "$log.bats"
bats_status=${PIPESTATUS[0]}

read -r unit_passed unit_failed < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log.unit" | tail -n 1)
if [ -z "${unit_passed:-}" ]; then   # the runner died before its summary
    unit_passed=0 unit_failed=1
fi
bats_skipped=$(grep -c '^ok .* # skip' "$log.bats")
bats_passed=$(( $(grep -c '^ok ' "$log.bats") - bats_skipped ))
bats_failed=$(grep -c '^not ok ' "$log.bats")
echo "unit: $unit_passed passed, $unit_failed failed; bats: $bats_passed passed, $bats_failed failed, $bats_skipped skipped"
echo "$((unit_passed + bats_passed)) passed, $((unit_failed + bats_failed)) failed, $bats_skipped skipped"
[ "$unit_status" -eq 0 ] && [ "$bats_status" -eq 0 ] && [ "$unit_failed" -eq 0 ] && [ "$bats_failed" -eq 0 ]
