#!/usr/bin/env bash
# The one test runner: `make test` and CI call it. Builds release, ASan/UBSan and valgrind trees,
# then runs
#   1. unit tests (every *_test.c next to its code)       release, ASan/UBSan, valgrind
#   2. integration tests: executables tests/**/test_*      against bin/ (and build/asan/bin when the
#      file contains the line "# zembed: asan")
# Each suite ends with "N passed, N failed" or "N passed, N failed, N skipped"; a suite without that
# line counts as one test by exit code (77 = skipped, as automake does). The last line printed is the
# total, "N passed, N failed, N skipped", which CI reads.
#
# valgrind runs the unit tests built by `make BUILD=valgrind` (-march=$VALGRIND_MARCH, default
# x86-64-v3): the release tree is -march=native, and valgrind 3.19 cannot decode AVX-512. One probe
# binary built with the same flags runs first; if valgrind cannot run it, the pass is one loud failure
# saying why, not a SIGILL per suite.
#
# Tests may read ../shared (real tokenizers, STS data) but a clone does not have it: such tests say
# "skipped: needs ../shared/..." and count as skipped. `ZEMBED_SHARED=/nonexistent tests/run.sh`
# runs the suites as a fresh clone does.
#
# Environment: ZEMBED_SHARED (default ../shared beside the repo), ZEMBED_TEST_FILTER (substring of
# suite names to run), ZEMBED_SKIP_SLOW=1 (skip valgrind and ASan passes, for quick local runs),
# VALGRIND_MARCH (the -march of the valgrind tree).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}   # as on the CI machines; keep it
# ../shared beside the repo; in a git worktree (e.g. /work/wt/NAME), beside the main checkout
default_shared() {
    local common
    [[ -d $ROOT/../shared ]] && { echo "$(cd "$ROOT/.." && pwd)/shared"; return; }
    common=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)
    if [[ -n $common && -d $common/../../shared ]]; then echo "$(cd "$common/../.." && pwd)/shared"; return; fi
    echo "$(cd "$ROOT/.." && pwd)/shared"
}
export ZEMBED_SHARED=${ZEMBED_SHARED:-$(default_shared)}
export ZEMBED_ROOT=$ROOT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
FILTER=${ZEMBED_TEST_FILTER:-}
SLOW=1; [[ "${ZEMBED_SKIP_SLOW:-}" == 1 ]] && SLOW=0
JOBS=$(nproc 2>/dev/null || echo 2)
LOG=build/test-logs; mkdir -p "$LOG"

export VALGRIND_MARCH=${VALGRIND_MARCH:-x86-64-v3}
VG_TREE=build/valgrind-$VALGRIND_MARCH         # as the Makefile names it
total_pass=0; total_fail=0; total_skip=0; failed_suites=()

build() {
    echo "== build $*"
    if ! make -s -j"$JOBS" "$@" >"$LOG/build.log" 2>&1; then
        cat "$LOG/build.log"; echo "build failed: make $*"; echo "0 passed, 1 failed, 0 skipped"; exit 1
    fi
}

# run_suite NAME CMD...: runs, shows output, adds its counts.
run_suite() {
    local name=$1; shift
    [[ -n "$FILTER" && "$name" != *"$FILTER"* ]] && return 0
    local out="$LOG/${name//\//_}.log" start=$SECONDS
    timeout --kill-after=10 1200 "$@" >"$out" 2>&1
    local rc=$? p=0 f=0 s=0
    local line; line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    if [[ "$line" =~ ^([A-Za-z_-]+:\ )?([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
        p=${BASH_REMATCH[2]}; f=${BASH_REMATCH[3]}; s=${BASH_REMATCH[5]:-0}
        ((rc != 0 && f == 0)) && f=1          # a crash after the summary still fails
    elif ((rc == 0)); then p=1; elif ((rc == 77)); then s=1; else f=1; fi
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
    printf '%-58s %4d passed, %d failed, %d skipped  (%ds)\n' "$name" "$p" "$f" "$s" $((SECONDS - start))
    if ((f)); then failed_suites+=("$name"); sed 's/^/    | /' "$out" | tail -n 60; fi
    # a skip is said aloud, with its reason, even when the suite passed
    ((s && !f)) && grep -E 'skipped: ' "$out" | sort -u | head -n 5 | sed 's/^/    | /'
    return 0
}

# valgrind_usable: 0 when valgrind runs the probe built like the valgrind tree; else VG_WHY says why.
VG_WHY=
valgrind_usable() {
    local log=$LOG/valgrind_probe.log cpu what
    if ! command -v valgrind >/dev/null; then
        VG_WHY="valgrind is not installed (deploy/install-deps.sh --test-peers installs it)"; return 1
    fi
    valgrind --error-exitcode=99 "$VG_TREE/valgrind_probe" >"$log" 2>&1 && return 0
    cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
    what=$(grep -E 'unhandled instruction bytes|signal [0-9]+ \(SIG' "$log" | head -n 2 | sed -E 's/^==[0-9]+== *//' | paste -sd ';')
    [[ -n $what ]] || what=$(tail -n 1 "$log")
    VG_WHY="$(valgrind --version) cannot run code built with -march=$VALGRIND_MARCH on this CPU ($cpu): $what (log: $log). Set VALGRIND_MARCH to an older level (e.g. x86-64-v2) or use a newer valgrind; the valgrind suites did not run"
    return 1
}

build all
if ((SLOW)); then
    build BUILD=asan all
    build BUILD=valgrind tests $VG_TREE/valgrind_probe
fi

for t in build/release/tests/*_test; do
    [[ -x $t ]] || continue
    run_suite "unit/$(basename "$t")" "$t"
done
if ((SLOW)); then
    for t in build/asan/tests/*_test; do
        [[ -x $t ]] || continue
        run_suite "asan/$(basename "$t")" "$t"
    done
    vg_wanted=0
    for t in $VG_TREE/tests/*_test; do
        n="valgrind/$(basename "$t")"; [[ -z "$FILTER" || "$n" == *"$FILTER"* ]] && vg_wanted=1
    done
    if ((!vg_wanted)); then
        :                                      # no valgrind suite matches the filter: no probe
    elif valgrind_usable; then
        for t in $VG_TREE/tests/*_test; do
            [[ -x $t ]] || continue
            # PCRE2's JIT code is opaque to valgrind (false reports): its interpreter runs instead.
            ZEMBED_VALGRIND=1 ZEMBED_PCRE2_JIT=0 run_suite "valgrind/$(basename "$t")" \
                valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$t"
        done
    else
        printf '%-58s %4d passed, %d failed, %d skipped\n' "valgrind/* (not run)" 0 1 0
        echo "    | $VG_WHY"
        total_fail=$((total_fail + 1)); failed_suites+=("valgrind")
    fi
fi

mapfile -t integ < <(find tests -path tests/peers -prune -o -type f -name 'test_*' -perm -u+x -print | sort)
for t in "${integ[@]}"; do
    ZEMBED_BIN=$ROOT/bin run_suite "integration/${t#tests/}" "$t"
    if ((SLOW)) && grep -q '^# zembed: asan' "$t"; then
        ZEMBED_BIN=$ROOT/build/asan/bin run_suite "integration-asan/${t#tests/}" "$t"
    fi
done

echo
# The recap repeats what failed, a few lines per suite, right above the total: CI shows only the
# tail of this output, and a failure far up in a 40-minute log is otherwise out of sight.
if ((${#failed_suites[@]})); then
    echo "failed suites: ${failed_suites[*]}"
    for n in "${failed_suites[@]}"; do
        f="$LOG/${n//\//_}.log"; [[ -f $f ]] || continue
        grep -E '(^|: )(FAIL|not ok)|ERROR|runtime error|Assertion|reproducer:|^[A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Again|Expired): ' "$f" |
            head -n 8 | cut -c1-300 |
            sed "s|^|  $n: |"
    done
fi
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
((total_fail == 0))
