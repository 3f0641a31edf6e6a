#!/usr/bin/env bash
# Pipeline benchmark (never part of tests): end-to-end sentences/s and tokens/s of a stream of N STS
# sentences through the pipeline vs in-process `zembed encode` on the same cores, and the
# single-sentence latency of an idle pipeline vs the encoder's own forward time for that sentence.
#
#   bench/pipeline/run.sh            (env: N=10000 REPEATS=3 BATCH=32 WINDOW=8 ZEMBED_MODEL=DIR
#                                     CONFIGS="1x1x1 1x2x1 1x1x1:int8", i.e. tokenizers x encoders x
#                                     poolers, :PRECISION = encoder_svc --precision, default fp32)
# Model: $ZEMBED_MODEL, else a generated model with paraphrase-MiniLM-L6-v2's shapes (random weights;
# speed does not depend on the values). Sentences: STS Benchmark train (both columns), from
# $ZEMBED_SHARED (default ../shared). Every figure is the median of REPEATS runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
N=${N:-10000} REPEATS=${REPEATS:-3} BATCH=${BATCH:-32} WINDOW=${WINDOW:-8}
CONFIGS=${CONFIGS:-"1x1x1 1x2x1 1x1x1:int8"}
SHARED=${ZEMBED_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
PY=/usr/bin/python3
CORES=$(nproc)
source "$ROOT/bench/lib.sh"
bench_workdir bench

echo "uptime: $(uptime)"
echo "cores: $CORES   N=$N REPEATS=$REPEATS BATCH=$BATCH WINDOW=$WINDOW"
make -s -j"$CORES" all build/release/bench/enc_time >/dev/null
cp build/release/bench/enc_time "$T/enc_time"

MODEL=${ZEMBED_MODEL:-}
if [[ -z $MODEL ]]; then
    MODEL=$T/model
    bin/zembed gen-model --out "$MODEL" --vocab deploy/demo/vocab.txt --preset minilm >/dev/null
    echo "model: generated, paraphrase-MiniLM-L6-v2 shapes (384 hidden, 6 layers), random weights"
else
    echo "model: $MODEL"
fi
STS=$SHARED/data/stsbenchmark/sts-train.csv
awk -F'\t' -v n="$N" '{ for (i = 6; i <= 7; i++) if (k++ < n) print $i } k >= n { exit }' "$STS" >"$T/sentences"
TOKENS=$(bin/zembed tokenize --model "$MODEL" <"$T/sentences" | grep -o '"input_ids":\[[^]]*\]' | awk -F, '{ n += NF } END { print n }')
echo "sentences: $(wc -l <"$T/sentences") from $STS, $TOKENS tokens (specials included)"

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }

NSENT=$(wc -l <"$T/sentences")
inproc_run() { # seconds for one in-process pass over the sentences at precision $1
    local s e
    s=$(date +%s.%N)
    bin/zembed encode --model "$MODEL" --threads "$CORES" --precision "$1" <"$T/sentences" >/dev/null
    e=$(date +%s.%N)
    echo "$s $e" | awk '{ print $2 - $1 }'
}

up() { # up TOKxENCxPOOL PRECISION
    IFS=x read -r nt ne np <<<"$1"
    PORT=$($PY -c '
import random, socket
for _ in range(500):  # a base port with base..base+10 free (the gateway binds them all)
    base, socks = random.randrange(20000, 60000, 16), []
    try:
        for off in range(11):
            socks.append(socket.socket())
            socks[-1].bind(("127.0.0.1", base + off))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()')
    EP=tcp://127.0.0.1:$PORT
    deploy/zembed-up --endpoint "$EP" --model "$MODEL" --tokenizers "$nt" --encoders "$ne" --poolers "$np" \
        --encoder-precision "$2" 2>"$T/up.log" &
    UP_PID=$!
    for _ in $(seq 300); do
        $PY -c 'import sys; sys.path.insert(0, "clients/python"); from zembed_client import Client
Client(sys.argv[1], timeout_ms=1000).health()' "$EP" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "pipeline did not come up:"; tail "$T/up.log"; exit 1
}
down() { kill -TERM "$UP_PID"; wait "$UP_PID" 2>/dev/null || true; UP_PID=; }

SENT_LAT=$(awk 'length($0) > 50 && length($0) < 70 { print; exit }' "$T/sentences")
FIRST=${CONFIGS%% *}
for spec in $CONFIGS; do
    cfg=${spec%%:*} prec=fp32
    [[ $spec == *:* ]] && prec=${spec#*:}
    up "$cfg" "$prec"
    # In-process and pipeline runs alternate, so a change of load on the machine hits both alike
    # (the idle pipeline's processes sleep in zmq_poll meanwhile).
    : >"$T/inproc.s"; : >"$T/stream.out"
    for r in $(seq "$REPEATS"); do
        inproc_run "$prec" >>"$T/inproc.s"
        $PY bench/pipeline/drive.py stream "$EP" "$T/sentences" --batch "$BATCH" --window "$WINDOW" >>"$T/stream.out"
    done
    INPROC_S=$(median <"$T/inproc.s")
    INPROC_SPS=$(awk -v n="$NSENT" -v s="$INPROC_S" 'BEGIN { printf "%.1f", n / s }')
    INPROC_TPS=$(awk -v n="$TOKENS" -v s="$INPROC_S" 'BEGIN { printf "%.0f", n / s }')
    SPS=$(field sent_per_s <"$T/stream.out" | median)
    TPS=$(field tok_per_s <"$T/stream.out" | median)
    echo "in-process zembed encode --threads $CORES --precision $prec: median $INPROC_SPS sentences/s, $INPROC_TPS tokens/s" \
         "(runs: $(awk -v n="$NSENT" '{ printf "%.1f ", n / $1 }' "$T/inproc.s")sentences/s)"
    echo "pipeline $cfg $prec (tokenizers x encoders x poolers; $(grep -o '[a-z0-9]* encoder(s) x [0-9]* threads' "$T/up.log")):" \
         "median $SPS sentences/s, $TPS tokens/s (runs: $(field sent_per_s <"$T/stream.out" | tr '\n' ' '))" \
         "= $(awk -v a="$SPS" -v b="$INPROC_SPS" 'BEGIN { printf "%.0f", 100 * a / b }')% of in-process"
    if [[ $spec == "$FIRST" || $prec != fp32 ]]; then   # latency: the first config and each precision
        $PY bench/pipeline/drive.py latency "$EP" "$SENT_LAT" --repeats 300 >"$T/lat.out"
        down
        # The encoder's own time: the faster of 1 thread and all cores (one short sentence may not
        # gain from a second BLAS thread).
        best=
        for th in 1 "$CORES"; do
            "$T/enc_time" "$MODEL" "$th" 300 "$SENT_LAT" "$prec" >"$T/enc$th.out"
            if [[ -z $best ]] || awk -v a="$(field p50 <"$T/enc$th.out")" -v b="$(field p50 <"$T/enc.out")" 'BEGIN { exit !(a < b) }'; then
                best=$th; cp "$T/enc$th.out" "$T/enc.out"
            fi
        done
        echo "single sentence (\"$SENT_LAT\", $(field tokens <"$T/lat.out") tokens), idle pipeline $cfg $prec:" \
             "p50 $(field p50_ms <"$T/lat.out") ms, p99 $(field p99_ms <"$T/lat.out") ms;" \
             "encoder forward alone (best of 1 and $CORES threads: $best): p50 $(field p50 <"$T/enc.out") ms, p99 $(field p99 <"$T/enc.out") ms;" \
             "ratio p50 $(awk -v a="$(field p50_ms <"$T/lat.out")" -v b="$(field p50 <"$T/enc.out")" 'BEGIN { printf "%.2f", a / b }')x"
    else
        down
    fi
done
echo "uptime: $(uptime)"
