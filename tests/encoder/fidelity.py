#!/usr/bin/python3
"""How far --precision bf16 / int8 move sentence vectors from fp32, next to PyTorch's dynamic int8.

Run with Debian's /usr/bin/python3 (python3-torch, numpy, scipy); tests never need torch, they read
the goldens this writes (tests/encoder/test_precision):

    /usr/bin/python3 tests/encoder/fidelity.py                  # the report (2400 lines, 5000 pairs)
    /usr/bin/python3 tests/encoder/fidelity.py --write-goldens  # also tests/encoder/fidelity/

Model: `zembed gen-model --preset minilm --seed 42` (paraphrase-MiniLM-L6-v2's shapes, N(0, 1/fan_in)
weights: harder to quantize than BERT's 0.02 init), mean pooling, normalized.
Lines: STS benchmark sentences (../shared/data/stsbenchmark), plus lines made varied on purpose:
single words, numbers and punctuation, and paragraphs of several sentences cut at 128 tokens.
Per precision: cosine of each sentence vector to our fp32 one (min, mean), and the Spearman
correlation between fp32 and quantized cosine similarities of 5000 random sentence pairs (what a
search ranking sees). The peer: torch.ao.quantization.quantize_dynamic (engine onednn, qint8
weights per tensor, quint8 activations per tensor with reduce_range) on a BertModel written here
from nn.Linear, compared with the same model in fp32.
"""
import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile

# Debian's torch runs its matrix products on OpenBLAS, whose thread pool torch.set_num_threads does
# not size: spinning BLAS threads on a busy machine made this script 10x slower. One thread.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# OpenBLAS 0.3.21 does not know this CPU and falls back to its Prescott (SSE3) kernels: Haswell's, as
# tests/run.sh and the benchmarks set.
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
# fidelity is about bf16's numbers, not its speed here (the start-up probe may refuse it as slower)
os.environ.setdefault("ZEMBED_BF16_ALLOW_SLOW", "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from st_py import load_folder  # noqa: E402

GOLD = os.path.join(HERE, "fidelity")
GEN = ["--preset", "minilm", "--seed", "42"]
AIMS = {"bf16": 0.9999, "int8": 0.999}
CI_LINES = 240


def sh(cmd, stdin=None):
    r = subprocess.run(cmd, input=stdin, capture_output=True)
    if r.returncode:
        sys.exit(f"{' '.join(cmd[:3])}...: exit {r.returncode}: {r.stderr.decode()[-500:]}")
    return r.stdout


def sts_sentences(shared):
    out = []
    for name in ("sts-train.csv", "sts-dev.csv", "sts-test.csv"):
        with open(os.path.join(shared, "data", "stsbenchmark", name), encoding="utf-8") as f:
            for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if len(row) >= 7:
                    out += [row[5].strip(), row[6].strip()]
    return list(dict.fromkeys(s for s in out if s))


def varied_lines(shared, n, seed=1):
    rng = random.Random(seed)
    sts = sts_sentences(shared)
    rng.shuffle(sts)
    lines, k = [], 0
    while len(lines) < n:
        r = rng.random()
        if r < 0.08:      # one or two words
            lines.append(" ".join(sts[k].split()[:rng.randint(1, 2)]))
        elif r < 0.12:    # numbers, symbols, mixed scripts
            lines.append(rng.choice(["3.14159 2.71828", "$1,299.99 (incl. VAT)", "+1 (555) 010-9999",
                                     "C++ / C# / F#", "naïve café — déjà vu", "東京 and 北京",
                                     "!!! ??? ...", "x = y^2 + 3*z"]) + " " + sts[k].split()[0])
        elif r < 0.22:    # paragraphs: several sentences, cut at 128 tokens by the model
            lines.append(" ".join(sts[k:k + rng.randint(3, 8)]))
        else:
            lines.append(sts[k])
        k = (k + 1) % len(sts)
    return [ln.replace("\n", " ") for ln in lines]


def ours(zembed, model, lines, prec, threads=2):
    out = sh([zembed, "encode", "--model", model, "--precision", prec, "--normalize", "--format", "npy",
              "--threads", str(threads)], "\n".join(lines).encode() + b"\n")
    import io
    return np.load(io.BytesIO(out)).astype(np.float64)


def linear_bert(model, quantized):
    """BertModel written from nn.Linear / nn.LayerNorm / nn.Embedding with the folder's weights, so
    that quantize_dynamic quantizes all six dense layers of each layer (nn.MultiheadAttention's
    projections are not nn.Linear). quantized: torch dynamic int8, engine onednn. forward(ids, mask)
    -> last hidden state [B, L, H]."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    cfg = json.load(open(os.path.join(model, "config.json")))
    _, w = load_folder(model)
    H, nh, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            I = cfg["intermediate_size"]
            self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
            self.i, self.f = nn.Linear(H, I), nn.Linear(I, H)
            self.ln1, self.ln2 = nn.LayerNorm(H, eps), nn.LayerNorm(H, eps)

        def forward(self, x, mask):
            B, L, _ = x.shape
            sp = lambda t: t.view(B, L, nh, H // nh).transpose(1, 2)  # noqa: E731
            s = sp(self.q(x)) @ sp(self.k(x)).transpose(-1, -2) / (H // nh) ** 0.5
            s = s + (1.0 - mask[:, None, None, :]) * -1e9
            c = (s.softmax(-1) @ sp(self.v(x))).transpose(1, 2).reshape(B, L, H)
            x = self.ln1(x + self.o(c))
            return self.ln2(x + self.f(F.gelu(self.i(x))))

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(cfg["vocab_size"], H)
            self.pos = nn.Embedding(cfg["max_position_embeddings"], H)
            self.typ = nn.Embedding(cfg["type_vocab_size"], H)
            self.ln = nn.LayerNorm(H, eps)
            self.layers = nn.ModuleList(Layer() for _ in range(cfg["num_hidden_layers"]))

        def forward(self, ids, mask):
            x = self.ln(self.word(ids) + self.typ(torch.zeros_like(ids))
                        + self.pos(torch.arange(ids.shape[1])[None]))
            for layer in self.layers:
                x = layer(x, mask)
            return x

    m = Bert().eval()
    t = lambda n: torch.from_numpy(np.ascontiguousarray(w[n]))  # noqa: E731
    with torch.no_grad():
        for a, n in ((m.word, "word_embeddings"), (m.pos, "position_embeddings"), (m.typ, "token_type_embeddings")):
            a.weight.copy_(t(f"embeddings.{n}.weight"))
        m.ln.weight.copy_(t("embeddings.LayerNorm.weight"))
        m.ln.bias.copy_(t("embeddings.LayerNorm.bias"))
        for l, y in enumerate(m.layers):
            p = f"encoder.layer.{l}."
            for mod, n in ((y.q, "attention.self.query"), (y.k, "attention.self.key"), (y.v, "attention.self.value"),
                           (y.o, "attention.output.dense"), (y.i, "intermediate.dense"), (y.f, "output.dense"),
                           (y.ln1, "attention.output.LayerNorm"), (y.ln2, "output.LayerNorm")):
                mod.weight.copy_(t(p + n + ".weight"))
                mod.bias.copy_(t(p + n + ".bias"))
    if quantized:
        torch.backends.quantized.engine = "onednn"
        m = torch.ao.quantization.quantize_dynamic(m, {nn.Linear}, dtype=torch.qint8)
    return m


def padded_batch(chunk):
    import torch
    L = max(len(s) for s in chunk)
    x = torch.zeros(len(chunk), L, dtype=torch.long)
    mk = torch.zeros(len(chunk), L)
    for i, s in enumerate(chunk):
        x[i, :len(s)] = torch.tensor(s)
        mk[i, :len(s)] = 1
    return x, mk


def torch_vectors(model, ids, quantized):
    """Mean-pooled, normalized sentence vectors (float64 numpy) of the nn.Linear BertModel."""
    import torch
    import torch.nn.functional as F
    m = linear_bert(model, quantized)
    torch.set_num_threads(1)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))   # similar lengths: little padding
    out = np.zeros((len(ids), m.word.weight.shape[1]))
    with torch.no_grad():
        for b in range(0, len(ids), 64):   # padded batches of 64; the mask keeps them exact
            rows = order[b:b + 64]
            x, mk = padded_batch([ids[i] for i in rows])
            h = m(x, mk)
            v = (h * mk[..., None]).sum(1) / mk.sum(1, keepdim=True)
            out[rows] = F.normalize(v, dim=-1).double().numpy()
    return out


def ranks(x):
    r = np.empty(len(x))
    r[np.argsort(x, kind="stable")] = np.arange(len(x))
    return r


def spearman(a, b):
    """Spearman correlation without scipy (ties among float cosines do not occur in practice)."""
    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def pairs(n, count, seed=7):
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, count), rng.integers(0, n, count)
    keep = i != j
    return i[keep], j[keep]


def compare(ref, got, pi, pj):
    cos = (ref * got).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(got, axis=1)
    sa, sb = (ref[pi] * ref[pj]).sum(1), (got[pi] * got[pj]).sum(1)
    return {"min_cos": float(cos.min()), "mean_cos": float(cos.mean()), "pair_spearman": spearman(sa, sb),
            "pair_max_abs": float(np.abs(sa - sb).max())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=2400)
    ap.add_argument("--pairs", type=int, default=5000)
    ap.add_argument("--write-goldens", action="store_true")
    ap.add_argument("--zembed", default=os.path.join(ROOT, "bin", "zembed"))
    ap.add_argument("--shared", default=os.environ.get("ZEMBED_SHARED", os.path.join(ROOT, "..", "shared")))
    a = ap.parse_args()
    lines = varied_lines(a.shared, a.lines)
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m")
        sh([a.zembed, "gen-model", "--out", model, "--vocab", os.path.join(ROOT, "deploy", "demo", "vocab.txt")] + GEN)
        toks = sh([a.zembed, "tokenize", "--model", model], "\n".join(lines).encode() + b"\n").decode().splitlines()
        ids = [json.loads(t)["input_ids"] for t in toks]
        print(f"{len(lines)} lines, {sum(map(len, ids))} tokens (mean {np.mean([len(s) for s in ids]):.1f}, "
              f"max {max(map(len, ids))}), {a.pairs} random pairs; model gen-model {' '.join(GEN)}")
        vec = {p: ours(a.zembed, model, lines, p) for p in ("fp32", "bf16", "int8")}
        tf = torch_vectors(model, ids, False)
        tq = torch_vectors(model, ids, True)
        pi, pj = pairs(len(lines), a.pairs)
        rows = [("zembed bf16 vs zembed fp32", compare(vec["fp32"], vec["bf16"], pi, pj)),
                ("zembed int8 vs zembed fp32", compare(vec["fp32"], vec["int8"], pi, pj)),
                ("torch dynamic int8 (onednn) vs torch fp32", compare(tf, tq, pi, pj)),
                ("zembed fp32 vs torch fp32 (sanity)", compare(tf, vec["fp32"], pi, pj))]
        print(f"{'':44} {'min cos':>10} {'mean cos':>10} {'pair rho':>10} {'pair max|d|':>12}")
        for name, r in rows:
            print(f"{name:44} {r['min_cos']:10.6f} {r['mean_cos']:10.6f} {r['pair_spearman']:10.6f} "
                  f"{r['pair_max_abs']:12.2e}")
        for p, aim in AIMS.items():
            r = compare(vec["fp32"], vec[p], pi, pj)
            ok = r["min_cos"] >= aim and r["pair_spearman"] >= aim
            print(f"{p}: aim min cos and pair rho >= {aim}: {'met' if ok else 'MISSED'}")
        if a.write_goldens:
            # CI set: every 10th line (keeps the mix), its torch fp32 vectors as float16 (a cosine
            # moves by ~1e-7 from half rounding, far below the aims being checked)
            idx = list(range(0, len(lines), max(1, len(lines) // CI_LINES)))[:CI_LINES]
            os.makedirs(GOLD, exist_ok=True)
            with open(os.path.join(GOLD, "lines.txt"), "w", encoding="utf-8") as f:
                f.write("\n".join(lines[i] for i in idx) + "\n")
            np.save(os.path.join(GOLD, "fp32.npy"), tf[idx].astype(np.float16))
            json.dump({"gen_model": GEN, "aims": AIMS, "pairs": 5000, "lines": len(idx),
                       "made_by": "tests/encoder/fidelity.py --write-goldens"},
                      open(os.path.join(GOLD, "index.json"), "w"), indent=1)
            print(f"wrote {len(idx)} lines and torch fp32 vectors to {GOLD}")


if __name__ == "__main__":
    main()
