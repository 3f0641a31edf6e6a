#!/usr/bin/python3
"""The Python client against a live pipeline, every op, checked against the local commands.

usage: check_python.py ENDPOINT MODEL_DIR ZEMBED_BIN TEXTS_FILE
References come from `zembed encode` / `zembed tokenize` run in-process on the same model; the pipeline
must give the same numbers. Prints one line per check and "N passed, N failed".
"""
import json
import os
import subprocess
import sys

import numpy as np

endpoint, model, zbin, texts_file = sys.argv[1:5]
sys.path.insert(0, os.path.join(os.environ.get("ZEMBED_ROOT", "."), "clients", "python"))
from zembed_client import Client, ZembedError  # noqa: E402

texts = open(texts_file, encoding="utf-8").read().split("\n")[:-1]
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL %s %s" % (name, detail))
    sys.stdout.flush()


def local(cmd, *args, lines=texts):
    out = subprocess.run([os.path.join(zbin, "zembed"), cmd, "--model", model, *args],
                         input="\n".join(lines) + "\n", capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise RuntimeError("zembed %s failed: %s" % (cmd, out.stderr))
    return [json.loads(l) for l in out.stdout.splitlines()]


def expect_error(name, code, fragment, op, **args):
    try:
        c.request(op, **args)
        check(name, False, "no error")
    except ZembedError as e:
        check(name, e.code == code and fragment in e.message, "got %s: %s" % (e.code, e.message))


c = Client(endpoint, timeout_ms=20000)
ref = np.array([r["embedding"] for r in local("encode")], dtype=np.float32)
ref_norm = np.array([r["embedding"] for r in local("encode", "--normalize")], dtype=np.float32)
ref_tok = local("tokenize")

# -- embed --
got, counts = c.embed(texts, with_tokens=True)
check("embed equals zembed encode bit for bit", got.shape == ref.shape and np.array_equal(got, ref),
      "max diff %g" % float(np.abs(got - ref).max()) if got.shape == ref.shape else str(got.shape))
check("embed token counts equal zembed tokenize", counts == [len(r["input_ids"]) for r in ref_tok])
check("embed returns a zero-copy view (read-only numpy array over the reply bytes)",
      got.dtype == np.float32 and not got.flags.writeable)
got_n = c.embed(texts, normalize=True)
check("embed normalize equals zembed encode --normalize", np.array_equal(got_n, ref_norm),
      "max diff %g" % float(np.abs(got_n - ref_norm).max()))
d = 16
cut = ref_norm[:, :d] / np.linalg.norm(ref_norm[:, :d], axis=1, keepdims=True)
got_d = c.embed(texts, normalize=True, dimensions=d)
check("embed dimensions=16 cuts then renormalizes", got_d.shape == (len(texts), d) and np.allclose(got_d, cut, atol=1e-6))
got_h = c.embed(texts, normalize=True, dtype="float16")
check("embed float16 equals float32 rounded to half", got_h.dtype == np.float16 and
      np.array_equal(got_h, ref_norm.astype(np.float16)))
got_i = c.embed(texts, normalize=True, dtype="int8")
want_i = np.trunc((np.clip(ref_norm, -1, 1) + 1) / (2 / 255) - 128)
diff = np.abs(got_i.astype(np.float64) - want_i)
check("embed int8 is trunc((clamp(x)+1)/(2/255) - 128) (fixed range)", got_i.dtype == np.int8 and diff.max() <= 1
      and (diff == 0).mean() >= 0.99, "max diff %g" % diff.max())
got_u = c.embed(texts, normalize=True, dtype="ubinary")
check("embed ubinary equals numpy.packbits(x > 0)", got_u.dtype == np.uint8 and
      np.array_equal(got_u, np.packbits(ref_norm > 0, axis=1)))
got_b = c.embed(texts, normalize=True, dtype="binary")
check("embed binary is the ubinary bytes minus 128 as int8", got_b.dtype == np.int8 and
      np.array_equal(got_b.astype(np.int16), np.packbits(ref_norm > 0, axis=1).astype(np.int16) - 128))
# Other batch compositions change BLAS's blocking, hence the last bits (zembed encode itself gives
# such differences between one line at a time and all lines at once): close, not identical.
stream = np.concatenate(list(c.embed_stream(texts * 5, batch=7, window=4)))
check("embed_stream: 5x the texts in batches of 7, 4 in flight, in order (within 1e-5)",
      stream.shape == (5 * len(texts), ref.shape[1]) and np.allclose(stream, np.tile(ref, (5, 1)), rtol=0, atol=1e-5))

# -- tokenize --
toks = c.tokenize(texts)
check("tokenize ids and tokens equal zembed tokenize",
      [t["ids"] for t in toks] == [r["input_ids"] for r in ref_tok] and [t["tokens"] for t in toks] == [r["tokens"] for r in ref_tok])
check("tokenize offsets equal zembed tokenize", [[list(o) for o in t["offsets"]] for t in toks] == [r["offsets"] for r in ref_tok])
check("tokenize count_only", c.tokenize(texts, count_only=True) == [len(r["input_ids"]) for r in ref_tok])

# -- token_embeddings / input_embeddings --
ref_te = local("encode", "--output", "tokens", lines=texts[:3])  # the same batch as the request
te = c.token_embeddings(texts[:3])
check("token_embeddings equal zembed encode --output tokens",
      all(np.array_equal(te[i], np.array(ref_te[i]["token_embeddings"], dtype=np.float32).reshape(te[i].shape)) for i in range(3)))
ie = c.input_embeddings(texts[:2])
check("input_embeddings: one row per token", ie[0].shape[0] == len(ref_tok[0]["input_ids"]))

# -- similarity --
s = c.similarity(texts[:3], texts[3:7])
check("similarity texts equals cosine of the encode vectors", s.shape == (3, 4) and
      np.allclose(s, ref_norm[:3] @ ref_norm[3:7].T, atol=1e-5))
st = c.similarity([texts[0]], [texts[1]], mode="tokens", space="input")
check("similarity tokens mode: [tokens_a, tokens_b]",
      st.shape == (len(ref_tok[0]["input_ids"]), len(ref_tok[1]["input_ids"])))

# -- info, health --
info = c.info()
check("info: dim, demo_model flag from the generated model", info["dim"] == ref.shape[1] and info["demo_model"] is True)
check("every reply of a demo model carries demo_model", c.request("embed", texts=["x"]).get("demo_model") is True)
check("health answers serving", c.health()["status"] == "serving")

# -- errors --
long_text = "word " * 600
expect_error("too long with truncate false names the text and the limit", "too_long", "texts[1]",
             "embed", texts=["short", long_text], truncate=False)
expect_error("unknown argument is invalid_argument naming it", "invalid_argument", "colour", "embed", texts=["a"], colour=1)
expect_error("unknown op is unsupported", "unsupported", "", "paint", texts=["a"])
expect_error("texts must be strings", "invalid_argument", "texts[0]", "embed", texts=[3])
expect_error("dimensions out of range", "out_of_range", "dimensions", "embed", texts=["a"], dimensions=100000)
c.close()
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
