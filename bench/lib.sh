# Sourced by bench/*/run.sh: what every benchmark script sets up the same way.
#
# bench_workdir NAME: a scratch folder in $T, removed at exit; a launcher whose pid the script puts
# in $UP_PID (deploy/zembed-up) is stopped first (SIGTERM, then waited for).
bench_workdir() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/zembed-$1.XXXXXX")
    UP_PID=
    trap 'bench_cleanup' EXIT
}
bench_cleanup() {
    if [[ -n $UP_PID ]]; then kill -TERM "$UP_PID" 2>/dev/null; wait "$UP_PID" 2>/dev/null; fi
    rm -rf "$T"
}
