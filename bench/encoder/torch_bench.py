#!/usr/bin/python3
"""PyTorch side of the encoder benchmark: the reference model of tests/encoder/make_goldens.py
(torch's own modules, float32) on the benchmark's token ids, batches of 32 sorted by length and
padded, torch.set_num_threads(THREADS). With int8: the nn.Linear BertModel of
tests/encoder/fidelity.py under torch.ao.quantization.quantize_dynamic (engine onednn), the peer
of --precision int8.  usage: torch_bench.py MODEL_DIR IDS.json THREADS REPEATS [int8]"""
import json
import os
import sys
import time

# Debian's torch runs its matrix products on OpenBLAS, whose thread pool torch.set_num_threads does
# not size: without this, the "1 thread" column ran on every core.
if len(sys.argv) > 3:
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = sys.argv[3]

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "encoder"))
from fidelity import linear_bert, padded_batch  # noqa: E402
from make_goldens import Reference, padded  # noqa: E402
from st_py import load_folder  # noqa: E402


def main():
    model_dir, ids_path, threads, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    ids = json.load(open(ids_path))
    int8 = len(sys.argv) > 5 and sys.argv[5] == "int8"
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    if int8:
        model = linear_bert(model_dir, True)
        batches = [padded_batch([ids[i] for i in order[s:s + 32]]) for s in range(0, len(order), 32)]
    else:
        cfg, w = load_folder(model_dir)
        model = Reference(cfg).load_bert(w).float().eval()
        batches = [padded([ids[i] for i in order[s:s + 32]]) for s in range(0, len(order), 32)]
    times, cpu_times = [], []  # wall, and CPU of the whole process (all its threads)
    with torch.inference_mode():
        for b in batches[:2]:  # warm-up
            model(*b)
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            for b in batches:
                model(*b)
            times.append(time.perf_counter() - t0)
            cpu_times.append(time.process_time() - c0)
    print(json.dumps({"engine": "pytorch-int8" if int8 else "pytorch", "threads": threads, "times": times, "cpu_times": cpu_times,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
