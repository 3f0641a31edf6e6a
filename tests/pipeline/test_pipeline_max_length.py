#!/usr/bin/python3
# zembed: asan
"""A model whose tokenizer allows more tokens than the model has positions (sentence_bert_config.json
says 128, config.json max_position_embeddings 32; real folders do this, e.g. a tokenizer that says
nothing and defaults to 512 on a 256-position model). Every path must settle the same max_length
(model/zm.h): the pipeline cuts to 32 as `zembed encode` does, `info` advertises 32, and only an
explicit max_length above the positions is refused (out_of_range from the encoder, as PROTOCOL.md
says). Before the model handle the pipeline refused every long text and `info` said 128."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipe_harness import Client, Pipeline, check, gen_model, run, run_cli, tensor  # noqa: E402

MODEL = gen_model("short", ["--max-position", "32", "--max-seq-length", "32"])
with open(os.path.join(MODEL, "sentence_bert_config.json"), "w") as f:
    json.dump({"max_seq_length": 128, "do_lower_case": False}, f)   # more than the positions

P = Pipeline(MODEL)
INFO = P.wait_ready()
C = Client(P.endpoint)
LONG = "the quick brown fox jumps over the lazy dog " * 12      # about 110 tokens
TEXTS = ["Hello, world!", LONG, "Short."]


def test_info_advertises_what_the_model_takes():
    check(INFO["max_position"] == 32, INFO)
    check(INFO["max_length"] == 32, "info max_length %r, the model has 32 positions" % INFO["max_length"])


def test_long_text_is_cut_as_zembed_encode_cuts_it():
    r = C.call({"op": "embed", "texts": TEXTS})
    check(r["ok"], "embed of a long text failed: %r" % (r.get("error"),))
    check(r["tokens"][1] == 32, r["tokens"])
    e = tensor(r["embeddings"])
    rc, lines, stderr = run_cli(["encode", "--model", MODEL], "\n".join(TEXTS) + "\n")
    check(rc == 0, "zembed encode failed: " + stderr)
    ref = np.array([l["embedding"] for l in lines], dtype=np.float32)
    diff = float(np.abs(ref - e).max())
    check(diff <= 1e-5, "pipeline vs zembed encode: max abs diff %g" % diff)
    # the token-level ops and similarity take the same length
    r = C.call({"op": "token_embeddings", "texts": [LONG]})
    check(r["ok"] and r["tokens"] == [32] and tensor(r["embeddings"][0]).shape == (32, 32), r.get("tokens"))
    r = C.call({"op": "similarity", "a": [LONG], "b": ["Short."]})
    check(r["ok"] and r["tokens_a"] == [32], r)


def test_tokenize_counts_and_cuts_at_the_settled_length():
    r = C.call({"op": "tokenize", "texts": [LONG], "count_only": True})
    check(r["ok"] and r["tokens"][0] > 100, r)             # counting: no limit
    r = C.call({"op": "tokenize", "texts": [LONG], "truncate": True, "count_only": True})
    check(r["ok"] and r["tokens"] == [32], r)
    rc, lines, stderr = run_cli(["tokenize", "--model", MODEL], LONG + "\n")   # truncates by default
    check(rc == 0 and len(lines[0]["input_ids"]) == 32, (rc, stderr, lines and len(lines[0]["input_ids"])))


def test_limits_beyond_the_positions_are_refused():
    r = C.call({"op": "embed", "texts": [LONG], "max_length": 33})
    check(not r["ok"] and r["error"]["code"] == "out_of_range", r)
    check("max_position_embeddings 32" in r["error"]["message"], r["error"])
    r = C.call({"op": "embed", "texts": [LONG], "truncate": False})
    check(not r["ok"] and r["error"]["code"] == "too_long", r)
    check("max_length is 32" in r["error"]["message"], r["error"])
    rc, _, stderr = run_cli(["encode", "--model", MODEL, "--max-length", "33"], "x\n")
    check(rc == 2 and "max_position_embeddings 32" in stderr, (rc, stderr))


if __name__ == "__main__":
    sys.exit(run([test_info_advertises_what_the_model_takes, test_long_text_is_cut_as_zembed_encode_cuts_it,
                  test_tokenize_counts_and_cuts_at_the_settled_length,
                  test_limits_beyond_the_positions_are_refused]))
