"""Read and write safetensors with json + numpy only (no safetensors package), for the encoder
reference script and tests. Little-endian; F32/F16/BF16 read as float32, other dtypes raw."""
import json
import os
import struct

import numpy as np


def read_header(path):
    """(header dict, data start offset, whole file bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), 8 + n, data


def read_safetensors(path):
    header, base, data = read_header(path)
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        raw = data[base + a:base + b]
        if t["dtype"] == "F32":
            x = np.frombuffer(raw, "<f4")
        elif t["dtype"] == "F16":
            x = np.frombuffer(raw, "<f2").astype(np.float32)
        elif t["dtype"] == "BF16":
            x = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name}: dtype {t['dtype']}")
        out[name] = x.reshape(t["shape"]).copy()
    return out


def write_raw(path, entries, metadata=None):
    """entries: list of (name, dtype string, shape, raw bytes), written in that order, header padded
    with spaces to 8 bytes. Offsets are honest; callers corrupt the result on purpose if they want."""
    header = {"__metadata__": metadata or {"format": "pt"}}
    off, blobs = 0, []
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def raw_entries(path):
    """The tensors of a file as write_raw entries, in data order."""
    header, base, data = read_header(path)
    items = sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                   key=lambda kv: kv[1]["data_offsets"][0])
    return [(k, v["dtype"], v["shape"], data[base + v["data_offsets"][0]:base + v["data_offsets"][1]])
            for k, v in items]


def load_folder(d):
    """(config dict, {name without 'bert.': float32 array}) of a model folder, sharded or not."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    idx = os.path.join(d, "model.safetensors.index.json")
    files = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) \
        else ["model.safetensors"]
    w = {}
    for f in files:
        for k, v in read_safetensors(os.path.join(d, f)).items():
            w[k[5:] if k.startswith("bert.") else k] = v
    return cfg, w


def sha256_file(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
