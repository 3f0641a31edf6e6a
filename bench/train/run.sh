#!/usr/bin/env bash
# Trainer benchmark: `zembed train-tokenizer` vs Hugging Face tokenizers' trainer (Node binding,
# tests/train/hf_train.js) on the same corpus in the same run, one after the other.
#
#   bench/train/run.sh [--mb N] [--threads T] [--types "bpe wordpiece"]   (defaults: 100 MB, all
#                                                                           cores, both types)
# Corpus: bench/train/gen_corpus.py (seeded English-like text from STS + SICK words with a long
# tail of variants; ~N MB). bpe = byte-level BPE (HF: ByteLevel pre-tokenizer, no normalizer);
# wordpiece = BERT normalizer + pre-tokenizer. Both train to HF's default 30000 tokens.
# Reported: wall seconds of the whole command (reading, counting, merging, writing) for both, the
# ratio, HF's own train() time, uptime's load (the machine may be shared: compare ratios), and
# whether the byte-level BPE outputs are identical (they must be).
# Needs: make, node, tests/peers/node_modules, ../shared (or ZEMBED_SHARED) for STS and SICK.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MB=100 THREADS=$(nproc) TYPES="bpe wordpiece"
while (($#)); do
    case $1 in
    --mb) MB=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --types) TYPES=$2; shift 2 ;;
    *) echo "usage: bench/train/run.sh [--mb N] [--threads T] [--types \"bpe wordpiece\"]" >&2; exit 2 ;;
    esac
done
SHARED=${ZEMBED_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
source "$ROOT/bench/lib.sh"
bench_workdir trainbench
make -s bin/zembed >/dev/null
cp bin/zembed "$T/zembed"            # a private copy: rebuilds cannot change a run

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; zembed threads $THREADS"
/usr/bin/python3 bench/train/gen_corpus.py "$SHARED" "$T/corpus.txt" "$MB"
echo "corpus: $(stat -c %s "$T/corpus.txt") bytes, $(wc -l <"$T/corpus.txt") lines"

now() { date +%s.%N; }
for type in $TYPES; do
    case $type in
    bpe) zf=(--type bpe); hf=(--type bpe --pre-tokenizer byte-level) ;;
    wordpiece) zf=(--type wordpiece); hf=(--type wordpiece --normalizer bert --pre-tokenizer bert) ;;
    *) echo "unknown type $type" >&2; exit 2 ;;
    esac
    echo "== $type to 30000; uptime: $(uptime | sed 's/.*load/load/')"
    t0=$(now)
    "$T/zembed" train-tokenizer --quiet "${zf[@]}" --threads "$THREADS" --out "$T/zb-$type" "$T/corpus.txt" \
        2>"$T/zb.log" >/dev/null
    t1=$(now)
    node tests/train/hf_train.js "${hf[@]}" --out "$T/hf-$type.json" "$T/corpus.txt" >/dev/null 2>"$T/hf.log"
    t2=$(now)
    zs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    hs=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')
    echo "zembed: $zs s   ($(tail -n 1 "$T/zb.log" | sed 's/.*train-tokenizer: //'))"
    echo "HF:     $hs s   ($(sed 's/hf_train.js: //' "$T/hf.log"))"
    echo "ratio HF/zembed: $(awk -v a="$hs" -v b="$zs" 'BEGIN { printf "%.1fx", a / b }')"
    if [[ $type == bpe ]]; then
        node tests/train/cmp_trained.js exact "$T/zb-$type/tokenizer.json" "$T/hf-$type.json" || echo "BPE OUTPUTS DIFFER"
    else
        echo "token set: $(node tests/train/cmp_trained.js set "$T/zb-$type/tokenizer.json" "$T/hf-$type.json" |
            awk '{ print $2 " tokens differ from HF'"'"'s run, of " $6 }')"
    fi
done
echo "uptime at the end: $(uptime | sed 's/.*load/load/')"
