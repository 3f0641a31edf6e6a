#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (small, committed).
Run with Debian's interpreter (it has python3-msgpack): /usr/bin/python3 fuzz/make_seeds.py
Seeds are well-formed inputs the fuzzer mutates from: one of each shape a parser accepts, plus a few
near misses. pool_config_fuzz and tokenizer seeds are hand-written files and not touched here."""
import json
import os
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


def tensor(dtype, shape, data):
    # Keys in the order dtype, shape, pad, data; pad aligns data (irrelevant for decoding).
    return {"dtype": dtype, "shape": shape, "pad": "", "data": data}


lens = [3, 2]
ids = [101, 7592, 102, 101, 102]
hidden_dim = 4
job = {"j": 9, "id": "r1", "op": 0, "o": [1, 0, -1, 0, 0, 1, 0, 0, 0], "n": 2, "na": 0,
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
print("seeds written under", ROOT)
