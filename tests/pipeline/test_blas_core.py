#!/usr/bin/python3
# zembed: asan
"""OpenBLAS's kernels (common/zb_blas.h): Debian 12's OpenBLAS falls back to its slow Prescott kernels
on CPUs newer than itself; an encoder started without OPENBLAS_CORETYPE must not run them on a CPU
with AVX2 (it starts itself again with the right core type), info says which kernels run, a core type
the user set is kept, and the vectors do not depend on the kernels (within the goldens' 1e-5)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipe_harness import ENV, Client, Pipeline, check, gen_model, run, tensor  # noqa: E402

MODEL = gen_model()
TEXTS = ["A man is playing a guitar.", "vector search optimization", "zembed"]


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def encode_with(name, env):
    """info's encoder_kernel and the embeddings of TEXTS from an encoder started with env."""
    p = Pipeline(MODEL, enc=0, name=name)
    p.start("encoder_svc", env=env)
    info = p.wait_ready(timeout=60)
    c = Client(p.endpoint)
    r = c.call({"op": "embed", "texts": TEXTS}, timeout=30)
    c.close()
    check(r["ok"], r)
    codes = p.stop_all()
    check(all(v == 0 for v in codes.values()), codes)
    return info["encoder_kernel"], tensor(r["embeddings"])


def test_kernels_named_kept_and_chosen():
    chosen = {k: v for k, v in ENV.items() if k != "OPENBLAS_CORETYPE"}
    k_set, e_set = encode_with("haswell", dict(ENV, OPENBLAS_CORETYPE="Haswell"))
    check(k_set == "OpenBLAS sgemm, Haswell kernels", "a core type the user set is kept: %r" % k_set)
    k_auto, e_auto = encode_with("auto", chosen)
    print("note: without OPENBLAS_CORETYPE: %s" % k_auto)
    check(k_auto.startswith("OpenBLAS sgemm, ") and k_auto.endswith(" kernels"), k_auto)
    if {"avx2", "fma"} <= cpu_flags():
        check("Prescott" not in k_auto, "a CPU with AVX2 runs OpenBLAS's Prescott kernels: %r" % k_auto)
    diff = float(np.abs(e_set - e_auto).max())
    check(diff <= 1e-5, "vectors differ by %g between %r and %r" % (diff, k_set, k_auto))


if __name__ == "__main__":
    sys.exit(run([test_kernels_named_kept_and_chosen]))
