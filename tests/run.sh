#!/usr/bin/env bash
# The one test runner: `make test` and CI call it. Builds release and ASan/UBSan trees, then runs
#   1. unit tests (every *_test.c next to its code)       release, ASan/UBSan, valgrind
#   2. integration tests: executables tests/**/test_*      against bin/ (and build/asan/bin when the
#      file contains the line "# zembed: asan")
# Each suite ends with "N passed, N failed"; a suite without that line counts as one test, by exit
# code. The last line printed is the total, which CI reads.
#
# Environment: ZEMBED_SHARED (default ../shared beside the repo), ZEMBED_TEST_FILTER (substring of
# suite names to run), ZEMBED_SKIP_SLOW=1 (skip valgrind and ASan passes, for quick local runs).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}   # as on the CI machines; keep it
export ZEMBED_SHARED=${ZEMBED_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
export ZEMBED_ROOT=$ROOT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
FILTER=${ZEMBED_TEST_FILTER:-}
SLOW=1; [[ "${ZEMBED_SKIP_SLOW:-}" == 1 ]] && SLOW=0
JOBS=$(nproc 2>/dev/null || echo 2)
LOG=build/test-logs; mkdir -p "$LOG"

total_pass=0; total_fail=0; failed_suites=()

build() {
    echo "== build $*"
    if ! make -s -j"$JOBS" "$@" >"$LOG/build.log" 2>&1; then
        cat "$LOG/build.log"; echo "build failed: make $*"; echo "0 passed, 1 failed"; exit 1
    fi
}

# run_suite NAME CMD...: runs, shows output, adds its counts.
run_suite() {
    local name=$1; shift
    [[ -n "$FILTER" && "$name" != *"$FILTER"* ]] && return 0
    local out="$LOG/${name//\//_}.log" start=$SECONDS
    timeout --kill-after=10 1200 "$@" >"$out" 2>&1
    local rc=$? p=0 f=0
    local line; line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    if [[ -n "$line" ]]; then
        p=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
        f=$(sed -E 's/^([A-Za-z_-]+: )?[0-9]+ passed, ([0-9]+) failed.*/\2/' <<<"$line")
        ((rc != 0 && f == 0)) && f=1          # a crash after the summary still fails
    elif ((rc == 0)); then p=1; else f=1; fi
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    printf '%-58s %4d passed, %d failed  (%ds)\n' "$name" "$p" "$f" $((SECONDS - start))
    if ((f)); then failed_suites+=("$name"); sed 's/^/    | /' "$out" | tail -n 60; fi
}

build all
((SLOW)) && build BUILD=asan all

for t in build/release/tests/*_test; do
    [[ -x $t ]] || continue
    run_suite "unit/$(basename "$t")" "$t"
done
if ((SLOW)); then
    for t in build/asan/tests/*_test; do
        [[ -x $t ]] || continue
        run_suite "asan/$(basename "$t")" "$t"
    done
    for t in build/release/tests/*_test; do
        [[ -x $t ]] || continue
        ZEMBED_VALGRIND=1 run_suite "valgrind/$(basename "$t")" \
            valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$t"
    done
fi

mapfile -t integ < <(find tests -path tests/peers -prune -o -type f -name 'test_*' -perm -u+x -print | sort)
for t in "${integ[@]}"; do
    ZEMBED_BIN=$ROOT/bin run_suite "integration/${t#tests/}" "$t"
    if ((SLOW)) && grep -q '^# zembed: asan' "$t"; then
        ZEMBED_BIN=$ROOT/build/asan/bin run_suite "integration-asan/${t#tests/}" "$t"
    fi
done

echo
((${#failed_suites[@]})) && echo "failed suites: ${failed_suites[*]}"
echo "$total_pass passed, $total_fail failed"
((total_fail == 0))
