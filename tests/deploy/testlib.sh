# Shared by the bash integration tests of tests/deploy and tests/clients: counters, checks, a temp
# folder and cleanup of every process and namespace a test starts, even when it fails.
#   source "$(dirname "$0")/../deploy/testlib.sh"
#   check "name" command...        passes when the command exits 0
#   skip "name" "why"              counted as skipped, not passed
#   need_shared "name" REL         0 when ../shared/REL exists, else skips "name" saying so
#   bg_start NAME cmd...           start a background process (killed at exit), pid in $BG_PID
#   finish                         prints "N passed, N failed, N skipped" and exits accordingly
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
# Files of ../shared are not in a clone: tests needing one skip aloud without it.
#   need_shared "HF parity" models/all-MiniLM-L6-v2/tokenizer.json && check ...
need_shared() {
    [[ -e $SHARED/$2 ]] && return 0
    skip "$1" "skipped: needs ../shared/$2 (not found in $SHARED)"
    return 1
}
# check NAME CMD...: one check; a slow one (2 s or more) says how long it took, so a remote log
# tells a slow machine from a hang.
check() {
    local name=$1 start=$SECONDS; shift
    if "$@"; then ok "$name"; else bad "$name"; fi
    ((SECONDS - start >= 2)) && echo "     ($((SECONDS - start)) s)"
    return 0
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

# wait_for CMD...: retry a command until it succeeds, for up to $WAIT_S seconds (default 30) of wall
# time, however long each try takes.
wait_for() {
    local end=$((SECONDS + ${WAIT_S:-30}))
    while ((SECONDS < end)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}

# free_base_port: a port P with P..P+11 free on 127.0.0.1 (tests/ports.py says why this range).
free_base_port() { "$PY" "$ROOT/tests/ports.py"; }

# gen_model DIR [gen-model options]: a small seeded random model with the real vocabulary.
gen_model() {
    "$BIN/zembed" gen-model --out "$1" --vocab "$ROOT/deploy/demo/vocab.txt" "${@:2}" >/dev/null
}

# pyclient ENDPOINT CODE: run python code with `c` a connected zembed Client (timeout
# $PYCLIENT_MS, default 5000 ms). A client stuck for ever is killed after 60 s (status 124).
pyclient() {
    timeout 60 "$PY" - "$1" "$ROOT/clients/python" "${PYCLIENT_MS:-5000}" <<PYEOF
import sys
sys.path.insert(0, sys.argv[2])
from zembed_client import Client
c = Client(sys.argv[1], timeout_ms=int(sys.argv[3]))
$2
PYEOF
}

# alive PID...: 0 if any of them still runs. all_alive PID...: 0 if every one runs (an exited
# child of ours not yet waited for is a zombie, which kill -0 still finds: the state says it).
alive() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
all_alive() {
    local p st
    for p in "$@"; do st=$(ps -o stat= -p "$p" 2>/dev/null) && [[ $st != Z* ]] || return 1; done
}

# add_counts LABEL FILE RC: show a sub-suite's output and add its "N passed, N failed" to ours (a
# sub-suite that crashed without the line, or exited non-zero with 0 failures, counts one failure).
add_counts() {
    local label=$1 file=$2 rc=$3 line p f s
    sed "s/^/$label: /" "$file"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$file" | tail -n 1)
    if [[ -z $line ]]; then bad "$label: no summary line (exit $rc)"; return; fi
    p=${line%% passed*}; f=$(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"$line")
    s=0; [[ $line =~ ,\ ([0-9]+)\ skipped ]] && s=${BASH_REMATCH[1]}
    PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s))
    ((rc != 0 && f == 0)) && bad "$label: exit $rc after its summary"
    return 0
}

finish() {
    # On a failure, the last lines of every background process's stderr (launchers, gateways):
    # what a remote CI log needs to tell a slow start from a refusal or a crash.
    if ((FAILED)); then
        local f
        for f in "$T"/*.err; do
            [[ -s $f ]] || continue
            echo "--- last lines of $(basename "$f")"; tail -n 15 "$f" | cut -c1-240 | sed 's/^/  | /'
        done
    fi
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
    ((FAILED == 0))
    exit $?
}
