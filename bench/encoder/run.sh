#!/usr/bin/env bash
# Encoder benchmark: `zembed encode --precision fp32|bf16|int8` vs ONNX Runtime (onnxruntime-node,
# fp32) vs PyTorch (fp32, and dynamic int8 on oneDNN) on the MiniLM-dims model from `zembed
# gen-model --preset minilm` (same weights, exported to ONNX by tests/encoder/make_goldens.py), the
# same STS Benchmark sentences and token ids, 1 and 2 threads, median of 5 repeats, peak RSS, the
# fraction of the matmul ceiling of each precision (bench/bench_sgemm.c) and each precision's
# single-sentence forward latency (bench/enc_time.c).
# Needs /usr/bin/python3 with torch + onnx and tests/peers/node_modules. Never part of the tests.
#
#   bench/encoder/run.sh        env: BENCH_SENTENCES (1000) BENCH_REPEATS (5) BENCH_THREADS (1,2)
#                                    BENCH_ENGINES (zembed,zembed-bf16,zembed-int8,onnxruntime,
#                                    pytorch,pytorch-int8) ZEMBED_SHARED
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=${ZEMBED_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
WORK=$ROOT/build/bench-encoder
N=${BENCH_SENTENCES:-1000}
# Every engine runs under this same environment; the issue's ceiling figure was taken with
# OPENBLAS_CORETYPE unset, CI and tests set Haswell: say which one this run used.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-Haswell}
# zembed-bf16 is measured even where the encoder's start-up probe would refuse it as slower than
# fp32 (docs/PRECISION.md); the probe's own ratio is printed below.
export ZEMBED_BF16_ALLOW_SLOW=1
echo "uptime: $(uptime)"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores available"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"

make -s -j2 bin/zembed build/release/bench/bench_sgemm build/release/bench/enc_time
mkdir -p "$WORK"
# A private copy: the whole run uses one binary, whatever rebuilds bin/ meanwhile.
cp bin/zembed "$WORK/zembed"
"$WORK/zembed" gen-model --preset minilm --seed 7 --force --out "$WORK/minilm" \
    --vocab "$SHARED/models/paraphrase-MiniLM-L6-v2/vocab.txt"
# Export again only when the weights changed (the export takes a while; python3-onnx), and only
# when ONNX Runtime is one of the engines.
ENGINES=${BENCH_ENGINES:-zembed,zembed-bf16,zembed-int8,onnxruntime,pytorch,pytorch-int8}
sum=$(sha256sum "$WORK/minilm/model.safetensors" | cut -d' ' -f1)
if [[ ,$ENGINES, == *,onnxruntime,* ]] &&
   [[ ! -f $WORK/minilm.onnx || "$(cat "$WORK/minilm.onnx.sha" 2>/dev/null)" != "$sum" ]]; then
    /usr/bin/python3 tests/encoder/make_goldens.py --export-onnx "$WORK/minilm.onnx" \
        --model "$WORK/minilm" 2> >(grep -v -i warn >&2)
    echo "$sum" > "$WORK/minilm.onnx.sha"
fi

# Sentences: both columns of STS-B test, first N distinct, one per line; and the ids every engine
# gets: HF tokenizers, truncated at max_seq_length 128 as sentence-transformers does.
/usr/bin/python3 - "$WORK" "$SHARED" "$N" <<'PY'
import json, subprocess, sys
work, shared, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = []
for line in open(f"{shared}/data/stsbenchmark/sts-test.csv", encoding="utf-8"):
    for t in line.rstrip("\n").split("\t")[5:7]:
        if t.strip() and t not in texts and len(texts) < n:
            texts.append(t)
open(f"{work}/sentences.txt", "w", encoding="utf-8").write("\n".join(texts) + "\n")
open(f"{work}/one.txt", "w", encoding="utf-8").write(texts[0] + "\n")
req = {"tokenizer": f"{shared}/models/paraphrase-MiniLM-L6-v2/tokenizer.json", "max_length": 128,
       "texts": texts}
r = subprocess.run(["node", "tests/encoder/hf_tokenize.js"], input=json.dumps(req), text=True,
                   capture_output=True, check=True)
json.dump(json.loads(r.stdout)["ids"], open(f"{work}/ids.json", "w"))
PY

/usr/bin/python3 bench/encoder/compare.py --work "$WORK" --threads "${BENCH_THREADS:-1,2}" \
    --repeats "${BENCH_REPEATS:-5}" --engines "$ENGINES"
echo "uptime after: $(uptime)"
