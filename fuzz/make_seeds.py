#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (small, committed).
Run with Debian's interpreter (it has python3-msgpack): /usr/bin/python3 fuzz/make_seeds.py
Seeds are well-formed inputs the fuzzer mutates from: one of each shape a parser accepts, plus a few
near misses. pool_config_fuzz and tokenizer seeds are hand-written files and not touched here."""
import json
import os
import re
import struct

import msgpack

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def pk(obj):
    return msgpack.packb(obj, use_bin_type=True)


# ---- wire_fuzz: client requests (docs/PROTOCOL.md §2), gateway->tokenizer jobs, stage jobs (§5)
REQS = {
    "embed": {"v": 1, "id": "r1", "op": "embed", "texts": ["Hello world", "zembed"],
              "normalize": True, "dimensions": 64, "dtype": "float16", "truncate": True,
              "truncation_direction": "left", "timeout_ms": 1000},
    "embed_int8": {"v": 1, "id": 7, "op": "embed", "texts": ["a"], "dtype": "int8"},
    "tokenize": {"v": 1, "op": "tokenize", "texts": ["Héllo, wörld!"], "add_special_tokens": False,
                 "count_only": True},
    "token_embeddings": {"v": 1, "id": -3, "op": "token_embeddings", "texts": ["x y"]},
    "input_embeddings": {"v": 1, "op": "input_embeddings", "texts": ["x"], "truncate": False},
    "similarity": {"v": 1, "op": "similarity", "a": ["cat", "dog"], "b": ["kitten"]},
    "similarity_tokens": {"v": 1, "op": "similarity", "mode": "tokens", "space": "input",
                          "a": ["a cat"], "b": ["the dog"]},
    "info": {"v": 1, "op": "info"},
    "health": {"v": 1, "id": None, "op": "health"},
    "bad_version": {"v": 2, "op": "embed", "texts": ["a"]},
    "unknown_key": {"v": 1, "op": "embed", "texts": ["a"], "normalise": True},
}
for name, req in REQS.items():
    put("wire_fuzz", "req_" + name, pk(req))
put("wire_fuzz", "tok_job", pk({"j": 42, "req": REQS["embed"]}))
put("wire_fuzz", "tok_job_ttl", pk({"j": 42, "ttl": 1500, "req": REQS["embed"]}))


def tensor(dtype, shape, data):
    # Keys in the order dtype, shape, pad, data; pad aligns data (irrelevant for decoding).
    return {"dtype": dtype, "shape": shape, "pad": "", "data": data}


lens = [3, 2]
ids = [101, 7592, 102, 101, 102]
hidden_dim = 4
job = {"j": 9, "id": "r1", "op": 0, "o": [1, 0, -1, 0, 0, 1, 0, 0, 0, 0], "n": 2, "na": 0,
       "lens": tensor("int32", [2], struct.pack("<2i", *lens)),
       "ids": tensor("int32", [5], struct.pack("<5i", *ids)),
       "pieces": ["[CLS]", "hello", "[SEP]", "[CLS]", "[SEP]"],
       "hidden": tensor("float32", [5, hidden_dim],
                        struct.pack("<20f", *[i * 0.25 - 2 for i in range(20)])),
       "info": {"tokenizer": "123@host", "max_length": 128}}
put("wire_fuzz", "stage_job_full", pk(job))
small = {k: v for k, v in job.items() if k not in ("pieces", "hidden", "info")}
put("wire_fuzz", "stage_job_tokenized", pk(small))
put("wire_fuzz", "not_a_map", pk([1, 2, 3]))

# ---- stage_job_fuzz: stage jobs as the encoder and the pooler receive them (hidden is 4 wide there)
put("stage_job_fuzz", "tokenized", pk(small))
# the time left to the deadline (ms), right after j as the workers pack it
put("stage_job_fuzz", "tokenized_ttl", pk(dict({"j": small["j"], "ttl": 2500}, **small)))
put("stage_job_fuzz", "encoded_ttl_0", pk(dict({"j": job["j"], "ttl": 0}, **{k: v for k, v in job.items() if k != "info"})))
put("stage_job_fuzz", "encoded", pk({k: v for k, v in job.items() if k != "info"}))
put("stage_job_fuzz", "similarity_tokens", pk(dict(job, op=4, na=1, o=[1, 0, -1, 0, 0, 1, 0, 1, 0, 0])))
put("stage_job_fuzz", "embed_int8_dims", pk(dict(job, o=[1, 0, 1, 3, 2, 1, 0, 0, 0, 0])))
put("stage_job_fuzz", "info", pk(dict(small, op=5, n=0, lens=tensor("int32", [0], b""),
                                      ids=tensor("int32", [0], b""), info=job["info"])))


# ---- heartbeat_fuzz: a beat with jobs given up at their deadline (xd dropped, xa abandoned); the
# other heartbeat seeds were written by hand
put("heartbeat_fuzz", "expired", pk({"w": "13@h#2.000", "s": 2, "held": struct.pack("<Q", 77), "busy_ms": 3,
                                     "xd": 2, "xa": 1}))

# ---- st_fuzz: safetensors files (8-byte LE header length, JSON header, data buffer)
def safetensors(tensors, metadata=None, pad_to=8):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % pad_to)
    return struct.pack("<Q", len(h)) + h + data


put("st_fuzz", "f32_two", safetensors({
    "embeddings.word_embeddings.weight": ("F32", [3, 2], struct.pack("<6f", 1, 2, 3, 4, 5, 6)),
    "encoder.layer.0.output.LayerNorm.bias": ("F32", [2], struct.pack("<2f", 0.5, -0.5))},
    {"format": "pt"}))
put("st_fuzz", "f16_bf16", safetensors({
    "a": ("F16", [2], struct.pack("<2H", 0x3C00, 0xC000)),
    "b": ("BF16", [1, 2], struct.pack("<2H", 0x3F80, 0x4000)),
    "scalar": ("I64", [], struct.pack("<q", 7))}))
put("st_fuzz", "empty_tensor", safetensors({"z": ("F32", [0, 4], b"")}))
put("st_fuzz", "no_tensors", safetensors({}, {"format": "pt"}))
put("st_fuzz", "overlap", struct.pack("<Q", 80) +
    b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'[:80]
    + b"\0" * 8)

# ---- tok_text_fuzz: flags byte, max_length byte, pair split byte, then the text (tok_text_fuzz.c)
def tok_seed(flags, max_len, split, text):
    return bytes([flags, max_len, split]) + (text if isinstance(text, bytes) else text.encode())


TEXTS = {
    "plain": tok_seed(0, 0, 0, "Hello, world! How are you doing today?"),
    "accents_cjk": tok_seed(0, 0, 0, "Héllo Wörld naïve café 日本語の文章 Ça va? ＦＵＬＬ"),
    "pair_longest_left": tok_seed(16 | 4, 12, 100, "The quick brown fox jumps over the lazy dog twice"),
    "pair_only_second": tok_seed(16 | 2, 10, 60, "short one and a much longer second text here"),
    "only_first_too_short": tok_seed(16 | 1, 6, 200, "a b c d e f g h i j"),
    "lossy_invalid": tok_seed(8, 0, 0, b"caf\xc3 \xff\xfe ok \xe2\x82 end \xf0\x9f\x98\x80"),
    "strict_invalid": tok_seed(0, 0, 0, b"valid then \xc0\xaf overlong"),
    "specials_in_text": tok_seed(0, 0, 0, "[CLS] a [MASK] b [SEP][PAD] c [UNK]"),
    "no_specials_no_trunc": tok_seed(32 | 64, 20, 0, "unaffable tokenization ##ing"),
    "controls_spaces": tok_seed(0, 0, 0, "tab\there\u00a0nbsp\u200bzw\u0301\u3000ideo\r\nx\x00y"),
    "long_word": tok_seed(0, 0, 0, "x" * 150 + " supercalifragilisticexpialidocious"),
    "punct": tok_seed(4, 16, 0, "Wait... what?!? (yes) [no] {maybe} \u00bfqu\u00e9? \u201cquoted\u201d \u2014 dash"),
}
for name, data in TEXTS.items():
    put("tok_text_fuzz", name, data)


# ---- tok_load_fuzz: main file (tokenizer.json, or vocab.txt when it does not start with '{'),
# NUL, tokenizer_config.json, NUL, sentence_bert_config.json (tok_load_fuzz.c). Built from the real
# paraphrase-MiniLM-L6-v2 files with the vocabulary cut to a few dozen entries.
SHARED = os.environ.get("ZEMBED_SHARED") or os.path.join(os.path.dirname(ROOT), "..", "..", "shared")
MODEL = os.path.join(SHARED, "models", "paraphrase-MiniLM-L6-v2")
with open(os.path.join(MODEL, "tokenizer.json")) as f:
    tj = json.load(f)
full_vocab = tj["model"]["vocab"]
KEEP = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "!", ",", ".", "?", "a", "the", "hello", "world",
        "how", "are", "you", "un", "##af", "##fa", "##ble", "##able", "##s", "##ing", "token", "##ization", "cafe",
        "日", "本", "##e", "e", "x", "##x"]
dense = {tok: i for i, tok in enumerate(KEEP)}


def small_tokenizer(vocab, **changes):
    t = json.loads(json.dumps(tj))
    t["model"]["vocab"] = vocab
    for a in t["added_tokens"]:
        a["id"] = vocab[a["content"]]
    sp = t["post_processor"]["special_tokens"]
    for name in sp:
        sp[name]["ids"] = [vocab[name]]
    t.update(changes)
    return json.dumps(t, ensure_ascii=False, indent=1)


def load_seed(main, tok_config=None, sbert=None):
    parts = [main.encode()]
    if tok_config is not None or sbert is not None:
        parts.append(json.dumps(tok_config or {}).encode())
    if sbert is not None:
        parts.append(json.dumps(sbert).encode())
    return b"\0".join(parts)


put("tok_load_fuzz", "json_dense", load_seed(small_tokenizer(dense)))
put("tok_load_fuzz", "json_sparse_ids", load_seed(small_tokenizer({t: full_vocab[t] for t in KEEP})))
put("tok_load_fuzz", "json_truncation_padding", load_seed(small_tokenizer(
    dense, truncation={"max_length": 8, "strategy": "LongestFirst", "stride": 0, "direction": "Left"},
    padding={"strategy": {"Fixed": 12}, "direction": "Right", "pad_to_multiple_of": None,
             "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}), None, {"max_seq_length": 16}))
bert_proc = small_tokenizer(dense, post_processor={"type": "BertProcessing", "sep": ["[SEP]", 3],
                                                   "cls": ["[CLS]", 2]},
                            normalizer={"type": "Sequence", "normalizers": [
                                {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                                 "strip_accents": True, "lowercase": False}]})
put("tok_load_fuzz", "json_bertprocessing", load_seed(bert_proc))
extra = json.loads(small_tokenizer(dense))
extra["added_tokens"].append({"id": len(KEEP), "content": "<new>", "single_word": True, "lstrip": True,
                              "rstrip": False, "normalized": True, "special": False})
put("tok_load_fuzz", "json_added_token", load_seed(json.dumps(extra)))
vocab_txt = "\n".join(KEEP) + "\n"
put("tok_load_fuzz", "vocab_txt", load_seed(vocab_txt))
with open(os.path.join(MODEL, "tokenizer_config.json")) as f:
    tcfg = json.load(f)
tcfg["added_tokens_decoder"] = {str(dense[v["content"]]): v for v in tcfg["added_tokens_decoder"].values()}
put("tok_load_fuzz", "vocab_txt_configs", load_seed(vocab_txt, tcfg, {"max_seq_length": 10,
                                                                      "do_lower_case": False}))
put("tok_load_fuzz", "vocab_txt_cased", load_seed(vocab_txt, {"do_lower_case": False,
                                                             "strip_accents": True,
                                                             "tokenize_chinese_chars": False,
                                                             "model_max_length": 6}))


# ---- enc_model_fuzz: config.json, NUL, model.safetensors of a micro BERT (enc_model_fuzz.c)
def f16(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


# BERT's tensor names and shapes: read from the encoder's own table (encoder_svc/enc_tensors.c, their
# one home), not spelled again here.
def bert_tensor_table():
    src = open(os.path.join(os.path.dirname(ROOT), "..", "encoder_svc", "enc_tensors.c")).read()
    def table(name):
        body = re.search(r"enc_%s_tensors\[[A-Z_]+\] = \{(.*?)\n\};" % name, src, re.S).group(1)
        return re.findall(r'\{"([^"]+)", (\w+), (\w+)\}', body)
    layer_fmt = re.search(r'snprintf\(buf, cap, "([^"]+)", layer, ', src).group(1)
    return table("emb"), table("layer"), layer_fmt


EMB_TENSORS, LAYER_TENSORS, LAYER_NAME = bert_tensor_table()


def layer_tensor(layer, part):
    return LAYER_NAME % (layer, part)


def micro_bert(prefix="", dtype="F32", act="gelu", V=8, H=4, I=8, P=8, T=2, L=1, nan_in=None):
    dim = {"H": H, "I": I, "ENC_DIM_VOCAB": V, "ENC_DIM_POSITIONS": P, "ENC_DIM_TYPES": T, "NONE": None}
    def shape(d0, d1):
        return [dim[d] for d in (d0, d1) if dim[d] is not None]
    shapes = {name: shape(d0, d1) for name, d0, d1 in EMB_TENSORS}
    for l in range(L):
        for part, d0, d1 in LAYER_TENSORS:
            shapes[layer_tensor(l, part)] = shape(d0, d1)
    tensors, k = {}, 0
    for name, shape in sorted(shapes.items()):
        n = 1
        for d in shape:
            n *= d
        vals = [((k + i) % 13 - 6) / 8 for i in range(n)]
        if name.endswith("LayerNorm.weight"):
            vals = [1.0] * n
        if name == nan_in:
            vals[0] = float("nan")
        k += n
        raw = struct.pack(f"<{n}f", *vals) if dtype == "F32" else struct.pack(f"<{n}H", *map(f16, vals))
        tensors[prefix + name] = (dtype, shape, raw)
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": V, "hidden_size": H,
              "num_hidden_layers": L, "num_attention_heads": 2, "intermediate_size": I,
              "max_position_embeddings": P, "type_vocab_size": T, "layer_norm_eps": 1e-12,
              "hidden_act": act, "position_embedding_type": "absolute"}
    return json.dumps(config).encode() + b"\0" + safetensors(tensors, {"format": "pt"})


put("enc_model_fuzz", "micro_f32", micro_bert())
put("enc_model_fuzz", "micro_bert_prefix_f16", micro_bert(prefix="bert.", dtype="F16", act="gelu_new"))
put("enc_model_fuzz", "micro_two_layers_relu", micro_bert(act="relu", L=2, P=3))
# Regression: NaN weights reach exp_approx (NaN -> int conversion was undefined behaviour).
put("enc_model_fuzz", "regress_nan_query_weight", micro_bert(nan_in=layer_tensor(0, LAYER_TENSORS[0][0])))
put("enc_model_fuzz", "config_only", json.dumps({"model_type": "bert", "vocab_size": 8, "hidden_size": 4,
                                                 "num_hidden_layers": 1, "num_attention_heads": 2,
                                                 "intermediate_size": 8}))


# ---- hub_fuzz: a string (ETag, repo id, revision or path), NUL, a pin file (hub_fuzz.c)
SHA = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
PINS = f"{SHA}  vocab.txt\n{SHA.upper()} *model.safetensors\n# comment\n\nbad line\n"
for name, text in {
    "repo": "sentence-transformers/paraphrase-MiniLM-L6-v2",
    "etag_sha256": f'"{SHA}"', "etag_weak_sha1": 'W/"da39a3ee5e6b4b0d3255bfef95601890afd80709"',
    "rel_path": "1_Pooling/config.json", "dotdot": "a/../../etc/passwd", "revision_pr": "refs/pr/12",
    "commit": "e4ce9877abf3edfe10b0d82785e83bdcb973e22e",
}.items():
    put("hub_fuzz", name, text.encode() + b"\0" + PINS.encode())

print("seeds written under", ROOT)
