#!/usr/bin/python3
"""PyTorch reference for zembed's encoder: golden outputs and the ONNX export for the benchmark.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, numpy, python3-onnx); tests never need it,
they read the goldens this writes. Regenerate after changing the texts or the generator:

    /usr/bin/python3 tests/encoder/make_goldens.py            # -> tests/encoder/goldens/
    /usr/bin/python3 tests/encoder/make_goldens.py --export-onnx OUT.onnx --model DIR

The model is built from torch's own modules, not a transcription of our C: nn.Embedding x3 +
nn.LayerNorm, then per layer nn.TransformerEncoderLayer (post-LN, exact-erf GELU, batch_first) with
BERT's tensors loaded into it (in_proj = cat(Wq, Wk, Wv), ...), run on one padded batch with a key
padding mask. A separate float64 numpy transcription of HF BertModel's math checks that this
mapping is BERT. Goldens are computed in float64 and stored as float32, so a float32
implementation is measured against the exact answer; torch's own float32 error is printed as a
baseline.

Models come from `zembed gen-model` (deterministic), so CI regenerates the same weights; the index
records each model's sha256 so a generator drift is reported as such.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from st_py import load_folder, sha256_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HF_MODEL = "paraphrase-MiniLM-L6-v2"   # real tokenizer files in ../shared/models
MAX_SEQ = 128

# Variants: name -> gen-model flags. "same_as" variants must give the numbers of another one.
VARIANTS = {
    "tiny-f32": ["--preset", "tiny", "--seed", "42"],
    "tiny-bf16": ["--preset", "tiny", "--seed", "42", "--dtype", "bf16"],
    "tiny-f16": ["--preset", "tiny", "--seed", "42", "--dtype", "f16"],
    "minilm-f32": ["--preset", "minilm", "--seed", "7"],
}
SAME_AS = {  # generated and checked by the test against the goldens of the named variant
    "tiny-f32-bert-prefix": ("tiny-f32", ["--preset", "tiny", "--seed", "42", "--prefix-bert"]),
    "tiny-f32-sharded": ("tiny-f32", ["--preset", "tiny", "--seed", "42", "--shards", "3"]),
    "tiny-bf16-prefix-sharded": ("tiny-bf16", ["--preset", "tiny", "--seed", "42", "--dtype",
                                               "bf16", "--prefix-bert", "--shards", "2"]),
}
MINILM_FULL_TEXTS = 3  # minilm: full token embeddings for this many texts (files stay small)


def texts():
    """1 to max_seq_length tokens: empty, one word, punctuation, accents/CJK/emoji, STS
    sentences, exactly 128 tokens untruncated, and a long text truncated to 128."""
    sts = [
        "A girl is styling her hair.",
        "A group of men play soccer on the beach.",
        "One woman is measuring another woman's ankle.",
        "A man is cutting up a cucumber.",
        "A man is playing a harp.",
        "A woman is slicing an onion.",
        "The dog ran after the ball, which had rolled under the old wooden bench.",
    ]
    single = "the cat sat on the mat and the dog ran to the park".split()
    exact = " ".join(single[i % len(single)] for i in range(MAX_SEQ - 2))
    long = " ".join(sts * 4)
    return [
        "",
        "a",
        "Hello, world!",
        sts[0],
        "Café naïve RÉSUMÉ — ünïcödé 東京 🙂 tokenization!",
        " ".join(sts[1:4]),
        " ".join(sts[:6]) + " " + sts[6],
        exact,
        long,
        "unaffable preprocessing: re-tokenize (x) [y] {z}; 3.14159 + 2,718 = 5.85959?",
    ]


# ---------- the reference, from torch's own modules ----------

class Reference(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        H, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.word = nn.Embedding(cfg["vocab_size"], H)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], H)
        self.typ = nn.Embedding(cfg["type_vocab_size"], H)
        self.ln = nn.LayerNorm(H, eps=eps)
        act = {"gelu": "gelu", "relu": "relu",
               "gelu_new": lambda x: F.gelu(x, approximate="tanh")}[cfg["hidden_act"]]
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(H, cfg["num_attention_heads"], cfg["intermediate_size"],
                                       dropout=0.0, activation=act, layer_norm_eps=eps,
                                       batch_first=True, norm_first=False)
            for _ in range(cfg["num_hidden_layers"])])

    def load_bert(self, w):
        t = lambda k: torch.from_numpy(w[k])
        sd = {"word.weight": t("embeddings.word_embeddings.weight"),
              "pos.weight": t("embeddings.position_embeddings.weight"),
              "typ.weight": t("embeddings.token_type_embeddings.weight"),
              "ln.weight": t("embeddings.LayerNorm.weight"),
              "ln.bias": t("embeddings.LayerNorm.bias")}
        for i in range(len(self.layers)):
            p, q = f"encoder.layer.{i}.", f"layers.{i}."
            sd[q + "self_attn.in_proj_weight"] = torch.cat(
                [t(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")])
            sd[q + "self_attn.in_proj_bias"] = torch.cat(
                [t(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
            for dst, src in (("self_attn.out_proj", "attention.output.dense"),
                             ("norm1", "attention.output.LayerNorm"),
                             ("linear1", "intermediate.dense"),
                             ("linear2", "output.dense"),
                             ("norm2", "output.LayerNorm")):
                sd[q + dst + ".weight"] = t(p + src + ".weight")
                sd[q + dst + ".bias"] = t(p + src + ".bias")
        self.load_state_dict(sd, strict=True)
        return self

    def forward(self, input_ids, attention_mask, token_type_ids):
        pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.ln(self.word(input_ids) + self.typ(token_type_ids) + self.pos(pos))
        pad = attention_mask == 0
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=pad)
        return x


def padded(ids):
    L = max(len(s) for s in ids)
    x = torch.zeros(len(ids), L, dtype=torch.long)
    m = torch.zeros(len(ids), L, dtype=torch.long)
    for i, s in enumerate(ids):
        x[i, :len(s)] = torch.tensor(s)
        m[i, :len(s)] = 1
    return x, m, torch.zeros_like(x)


def run_reference(cfg, w, ids, dtype):
    model = Reference(cfg).load_bert(w).to(dtype).eval()
    x, m, t = padded(ids)
    with torch.no_grad():
        h = model(x, m, t)
    return [h[i, :len(s)].numpy() for i, s in enumerate(ids)]


# ---------- an independent float64 transcription of HF BertModel, to check the mapping ----------

def bert_numpy(cfg, w, ids):
    from math import erf, sqrt
    H, nh, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    g = {k: v.astype(np.float64) for k, v in w.items()}
    n = len(ids)

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * g[p + ".weight"] + g[p + ".bias"]

    def lin(x, p):
        return x @ g[p + ".weight"].T + g[p + ".bias"]

    gelu = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / sqrt(2))))
    x = g["embeddings.word_embeddings.weight"][ids] + g["embeddings.token_type_embeddings.weight"][0] \
        + g["embeddings.position_embeddings.weight"][:n]
    x = ln(x, "embeddings.LayerNorm")
    d = H // nh
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (lin(x, p + f"attention.self.{s}").reshape(n, nh, d).transpose(1, 0, 2)
                   for s in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(d)
        s = np.exp(s - s.max(-1, keepdims=True))
        ctx = (s / s.sum(-1, keepdims=True)) @ v
        a = ln(lin(ctx.transpose(1, 0, 2).reshape(n, H), p + "attention.output.dense") + x,
               p + "attention.output.LayerNorm")
        x = ln(lin(gelu(lin(a, p + "intermediate.dense")), p + "output.dense") + a,
               p + "output.LayerNorm")
    return x


# ---------- goldens ----------

def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def hf_tokenize(shared, txts):
    req = {"tokenizer": os.path.join(shared, "models", HF_MODEL, "tokenizer.json"),
           "max_length": MAX_SEQ, "texts": txts}
    return json.loads(sh(["node", os.path.join(HERE, "hf_tokenize.js")], input=json.dumps(req)))


def gen_model(zembed, vocab, out, flags):
    sh([zembed, "gen-model", "--out", out, "--vocab", vocab] + flags)
    return out


# sentence-transformers' Pooling modes over one text's real tokens (no padding here).
POOLINGS = {
    "mean": lambda t: t.mean(0),
    "cls": lambda t: t[0],
    "max": lambda t: t.max(0),
    "mean_sqrt_len_tokens": lambda t: t.sum(0) / np.sqrt(len(t)),
    "lasttoken": lambda t: t[-1],
}


def pool(tok, normalize, mode="mean"):
    v = POOLINGS[mode](tok)
    return v / max(np.linalg.norm(v), 1e-12) if normalize else v


def save(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype="<f4"))


def make_goldens(args):
    txts = texts()
    tk = hf_tokenize(args.shared, txts)
    ids, tokens = tk["ids"], tk["tokens"]
    lens = [len(s) for s in ids]
    print("token counts:", lens)
    assert min(lens) == 2 and max(lens) == MAX_SEQ and lens.count(MAX_SEQ) >= 2
    vocab = os.path.join(args.shared, "models", HF_MODEL, "vocab.txt")
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="zembed-goldens-")
    index = {"note": "written by tests/encoder/make_goldens.py; float32 little-endian .npy",
             "hf_model": HF_MODEL, "max_seq_length": MAX_SEQ,
             "texts": txts, "ids": ids, "tokens": tokens, "variants": {}, "same_as": {}}
    try:
        for name, flags in VARIANTS.items():
            d = gen_model(args.zembed, vocab, os.path.join(tmp, name), flags)
            cfg, w = load_folder(d)
            full = list(range(len(txts))) if name.startswith("tiny") \
                else [3, 6, 8][:MINILM_FULL_TEXTS]
            h64 = run_reference(cfg, w, ids, torch.float64)
            h32 = run_reference(cfg, w, ids, torch.float32)
            err32 = max(float(np.abs(a - b).max()) for a, b in zip(h32, h64))
            # the torch-module mapping is BERT: compare with the numpy transcription
            mid = 5
            ref = bert_numpy(cfg, w, ids[mid])
            err_map = float(np.abs(ref - h64[mid]).max())
            assert err_map < 1e-9, f"{name}: torch modules vs numpy BERT differ by {err_map}"
            emb = w["embeddings.word_embeddings.weight"]
            vd = os.path.join(args.out, name)
            os.makedirs(vd, exist_ok=True)
            save(os.path.join(vd, "sentence.npy"), np.stack([pool(h, False) for h in h64]))
            save(os.path.join(vd, "sentence_norm.npy"), np.stack([pool(h, True) for h in h64]))
            if name == "tiny-f32":  # the other pooling modes, on one model
                for mode in set(POOLINGS) - {"mean"}:
                    save(os.path.join(vd, f"sentence_{mode}.npy"),
                         np.stack([pool(h, False, mode) for h in h64]))
            save(os.path.join(vd, "tokens.npy"), np.concatenate([h64[i] for i in full]))
            save(os.path.join(vd, "input.npy"), np.concatenate([emb[ids[i]] for i in full]))
            index["variants"][name] = {
                "gen_model": flags, "sha256": sha256_file(os.path.join(d, "model.safetensors")),
                "hidden": cfg["hidden_size"], "full_texts": full}
            print(f"{name}: torch float32 vs float64 max abs diff {err32:.3g} on token embeddings; "
                  f"torch modules vs numpy BERT {err_map:.3g}")
        for name, (base, flags) in SAME_AS.items():
            d = gen_model(args.zembed, vocab, os.path.join(tmp, name), flags)
            _, w = load_folder(d)
            _, wb = load_folder(os.path.join(tmp, base))
            assert w.keys() == wb.keys() and all((w[k] == wb[k]).all() for k in w), name
            index["same_as"][name] = {"base": base, "gen_model": flags}
            print(f"{name}: same tensors as {base}")
    finally:
        shutil.rmtree(tmp)
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote", args.out)


# ---------- ONNX export for the benchmark ----------

def export_onnx(args):
    cfg, w = load_folder(args.model)
    model = Reference(cfg).load_bert(w).float().eval()
    x, m, t = padded([[101, 7592, 2088, 102], [101, 2088, 102]])
    torch.onnx.export(model, (x, m, t), args.export_onnx, opset_version=14,
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"],
                      dynamic_axes={n: {0: "batch", 1: "sequence"} for n in
                                    ("input_ids", "attention_mask", "token_type_ids",
                                     "last_hidden_state")})
    import onnx
    onnx.checker.check_model(onnx.load(args.export_onnx))
    # ONNX Runtime (Node) on a padded batch of different lengths vs torch, on real tokens
    ids = [[101] + list(range(2000, 2000 + n)) + [102] for n in (3, 17, 40)]
    x, m, t = padded(ids)
    with torch.no_grad():
        want = model(x, m, t).numpy()
    req = {"model": args.export_onnx, "ids": x.tolist(), "mask": m.tolist()}
    got = np.array(json.loads(sh(["node", os.path.join(HERE, "ort_run.js")],
                                 input=json.dumps(req))), dtype=np.float32)
    err = max(float(np.abs(got[i, :len(s)] - want[i, :len(s)]).max()) for i, s in enumerate(ids))
    print(f"ONNX export {args.export_onnx}: ORT vs torch max abs diff {err:.3g}")
    if err > 1e-4:
        sys.exit("ONNX Runtime disagrees with torch")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zembed", default=os.path.join(ROOT, "bin", "zembed"))
    ap.add_argument("--shared", default=os.environ.get("ZEMBED_SHARED",
                                                      os.path.join(os.path.dirname(ROOT), "shared")))
    ap.add_argument("--out", default=os.path.join(HERE, "goldens"))
    ap.add_argument("--export-onnx", metavar="OUT.onnx")
    ap.add_argument("--model", metavar="DIR", help="model folder to export (with --export-onnx)")
    args = ap.parse_args()
    torch.manual_seed(0)
    if args.export_onnx:
        if not args.model:
            ap.error("--export-onnx needs --model")
        export_onnx(args)
    else:
        make_goldens(args)


if __name__ == "__main__":
    main()
