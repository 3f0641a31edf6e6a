#!/usr/bin/env bash
# Soak (never part of tests): DURATION seconds of mixed load through deploy/zembed-up with 2 workers
# per stage, sampling every process's resident memory every 10 s. Prints per process the RSS after
# warm-up, at the end and its peak, the requests answered by kind and every error; exits 1 when a
# request went unanswered or errored, or a process's RSS grew more than GROWTH_MB after warm-up.
#
#   bench/soak/run.sh          (env: DURATION=600 GROWTH_MB=20 ZEMBED_MODEL=DIR PRESET=tiny)
# Load (bench/soak/drive.py): 4 DEALER clients (embed batches of 1-32 texts, tokenize, similarity,
# token_embeddings of a few texts, health), one ingest producer + a slow consumer, one client that
# sends bursts past --max-in-flight (overloaded answers count), one that retries after a gap.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
DURATION=${DURATION:-600} GROWTH_MB=${GROWTH_MB:-20} PRESET=${PRESET:-tiny}
source "$ROOT/bench/lib.sh"
bench_workdir soak
echo "uptime: $(uptime)"
make -s -j"$(nproc)" all >/dev/null
MODEL=${ZEMBED_MODEL:-}
if [[ -z $MODEL ]]; then
    MODEL=$T/model
    bin/zembed gen-model --out "$MODEL" --vocab deploy/demo/vocab.txt --preset "$PRESET" >/dev/null
    echo "model: generated ($PRESET preset), random weights"
fi
PORT=$(/usr/bin/python3 -c 'import random; print(random.randrange(20000, 30000, 16))')
EP=tcp://127.0.0.1:$PORT
deploy/zembed-up --endpoint "$EP" --model "$MODEL" --tokenizers 2 --encoders 2 --poolers 2 \
    --encoder-threads 1 --gateway-args "--max-in-flight 256" 2>"$T/up.log" &
UP_PID=$!
/usr/bin/python3 bench/soak/drive.py "$EP" "$UP_PID" "$DURATION" "$GROWTH_MB"
