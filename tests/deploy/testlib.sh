# Shared by the bash integration tests of tests/deploy and tests/clients: counters, checks, a temp
# folder and cleanup of every process and namespace a test starts, even when it fails.
#   source "$(dirname "$0")/../deploy/testlib.sh"
#   check "name" command...        passes when the command exits 0
#   skip "name" "why"              counted as skipped, not passed
#   bg_start NAME cmd...           start a background process (killed at exit), pid in $BG_PID
#   finish                         prints "N passed, N failed" and exits accordingly
set -uo pipefail
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
ROOT=${ZEMBED_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${ZEMBED_BIN:-$ROOT/bin}
SHARED=${ZEMBED_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
PY=/usr/bin/python3   # Debian's python3 has zmq, msgpack and numpy
T=$(mktemp -d /tmp/zembed-test.XXXXXX)
PASSED=0 FAILED=0 SKIPPED=0
BG_PIDS=()
CLEANUPS=()

ok()   { PASSED=$((PASSED + 1)); echo "ok   $1"; }
bad()  { FAILED=$((FAILED + 1)); echo "FAIL $1"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "skip $1: $2"; }
check() {
    local name=$1; shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
# contains FILE TEXT: grep -F, showing the file when it fails.
contains() {
    if grep -qF -- "$2" "$1"; then return 0; fi
    echo "  expected '$2' in $1:" >&2; sed 's/^/  | /' "$1" | tail -n 20 >&2; return 1
}

bg_start() {
    local name=$1; shift
    "$@" >"$T/$name.out" 2>"$T/$name.err" &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
}
# Stop one process: SIGTERM, then SIGKILL after 5 s.
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
at_exit() { CLEANUPS+=("$1"); }
cleanup() {
    local c p
    for ((c = ${#CLEANUPS[@]} - 1; c >= 0; c--)); do eval "${CLEANUPS[$c]}" >/dev/null 2>&1; done
    for p in "${BG_PIDS[@]}"; do stop_pid "$p"; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for CMD...: retry a command for up to 30 s.
wait_for() {
    local i
    for i in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}

finish() {
    ((SKIPPED)) && echo "($SKIPPED skipped)"
    echo "$PASSED passed, $FAILED failed"
    ((FAILED == 0))
    exit $?
}
