#!/usr/bin/env bash
# Run every benchmark (bench/*/run.sh). Benchmarks are never part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
echo "uptime: $(uptime)"
for b in bench/*/run.sh; do
    [[ -x $b ]] || continue
    echo "== $b"
    "$b" "$@"
done
