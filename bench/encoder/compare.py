#!/usr/bin/python3
"""Encoder benchmark driver (called by bench/encoder/run.sh, which prepares WORK): zembed encode
(--precision fp32, bf16, int8) vs ONNX Runtime vs PyTorch (fp32, and dynamic int8 on oneDNN) on the
same sentences and token ids, 1 and 2 threads, median of REPEATS, peak RSS of each process, the
fraction of the measured matmul ceiling of the engine's precision reached (bench/bench_sgemm.c:
OpenBLAS sgemm for fp32, oneDNN bf16 / u8s8 matmul for bf16 / int8), and each zembed precision's
single-sentence forward latency (bench/enc_time.c).

Timing: each round runs every engine once, in turn (a busy spell on a shared machine then hits all
of them); the figure is the median over rounds. ONNX Runtime and PyTorch time their batches
in-process after a warm-up (session/model creation excluded); zembed is timed as a whole
`zembed encode` process (tokenization and pooling included; output as .npy, since the peers hand
back tensors and are not charged for printing JSON) minus the median start-up time of a one-sentence
run. Tokens are real tokens (no padding), [CLS]/[SEP] included."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_rss(cmd, stdin_path=None, stdout_null=False):
    """(wall s, peak RSS MB, stdout, CPU s) of one process; RSS and CPU from wait4 of that child."""
    fin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    fout = subprocess.DEVNULL if stdout_null else subprocess.PIPE
    with tempfile.TemporaryFile() as ferr:  # a file, so a chatty stderr cannot block the child
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=ferr)
        out = p.stdout.read() if not stdout_null else b""
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        ferr.seek(0)
        errb = ferr.read()
    if stdin_path:
        fin.close()
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {errb.decode()[-500:]}")
    return wall, ru.ru_maxrss / 1024.0, out, ru.ru_utime + ru.ru_stime


def sgemm(bench, threads):
    """{(precision, threads): layer GFLOP/s}: OpenBLAS for fp32, oneDNN matmul for bf16/int8."""
    out = subprocess.run([bench, "--threads", ",".join(map(str, threads)), "--tokens", "512"],
                         capture_output=True, text=True, check=True).stdout
    print(out.rstrip())
    ceil = {}
    for line in out.splitlines():
        f = line.split()
        if line.startswith("sgemm_layer_gflops"):
            ceil[("fp32", int(f[1].split("=")[1]))] = float(f[-1])
        elif line.startswith("matmul_layer_gflops") and "prec=fp32" not in line:
            ceil[(f[1].split("=")[1], int(f[2].split("=")[1]))] = float(f[-1])
    return ceil


PREC = {"zembed": "fp32", "zembed-bf16": "bf16", "zembed-int8": "int8", "onnxruntime": "fp32",
        "pytorch": "fp32", "pytorch-int8": "int8"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--engines", default="zembed,zembed-bf16,zembed-int8,onnxruntime,pytorch,pytorch-int8")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    engines = a.engines.split(",")
    W = lambda *p: os.path.join(a.work, *p)
    ids = json.load(open(W("ids.json")))
    cfg = json.load(open(W("minilm", "config.json")))
    H, Lyr, F = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"]
    n_sent, n_tok = len(ids), sum(len(s) for s in ids)
    dense = n_tok * Lyr * 2.0 * (4 * H * H + 2 * H * F)
    attn = sum(Lyr * 4.0 * len(s) ** 2 * H for s in ids)  # QK^T and AV, padding-free
    print(f"sentences {n_sent}, tokens {n_tok} (mean {n_tok / n_sent:.1f}, max "
          f"{max(map(len, ids))}); {(dense + attn) / n_tok / 1e6:.1f} MFLOP/token "
          f"(dense {dense / n_tok / 1e6:.1f} + attention {attn / n_tok / 1e6:.2f})")
    ceil = sgemm(os.path.join(ROOT, "build", "release", "bench", "bench_sgemm"), threads)
    zembed = W("zembed")  # run.sh's copy of bin/zembed

    def zcmd(eng, t):
        prec = eng.split("-")[1] if "-" in eng else "fp32"
        return [zembed, "encode", "--model", W("minilm"), "--threads", str(t), "--output", "sentence",
                "--format", "npy", "--precision", prec]

    def once(eng, t):
        """One timed pass of an engine over all sentences: (wall s, peak RSS MB, CPU s)."""
        if eng.startswith("zembed"):
            wall, rss, _, cpu = run_rss(zcmd(eng, t), W("sentences.txt"), True)
            return wall - startup[eng][0], rss, cpu - startup[eng][1]
        script = {"onnxruntime": ["node", os.path.join(ROOT, "bench", "encoder", "ort_bench.js"),
                                  W("minilm.onnx")],
                  "pytorch": ["/usr/bin/python3",
                              os.path.join(ROOT, "bench", "encoder", "torch_bench.py"),
                              W("minilm")]}[eng.replace("-int8", "")]
        _, rss, out, _ = run_rss(script + [W("ids.json"), str(t), "1"] + (["int8"] if eng == "pytorch-int8" else []))
        r = json.loads(out)
        return r["times"][0], rss, r["cpu_times"][0]

    rows, lat = [], []
    for t in threads:
        # zembed is timed as whole processes: take off the start-up (model mmap, tokenizer load,
        # and for bf16/int8 the weight conversion)
        startup = {}
        for eng in (e for e in engines if e.startswith("zembed")):
            st = [run_rss(zcmd(eng, t), W("one.txt"), True) for _ in range(3)]
            startup[eng] = (statistics.median(x[0] for x in st), statistics.median(x[3] for x in st))
            print(f"{eng} start-up (one sentence) threads={t}: {startup[eng][0]:.3f}s wall, "
                  f"{startup[eng][1]:.3f}s CPU, peak RSS {max(x[1] for x in st):.0f} MB")
            # single-sentence latency: the forward pass alone, in-process (bench/enc_time.c)
            out = subprocess.run([os.path.join(ROOT, "build", "release", "bench", "enc_time"), W("minilm"),
                                  str(t), "200", open(W("one.txt")).read().strip(), PREC[eng]],
                                 capture_output=True, text=True)
            if out.returncode == 0:
                f = out.stdout.split()
                lat.append((eng, t, int(f[1]), float(f[4]), float(f[6])))
        # Rounds interleave the engines, so a busy spell on a shared machine hits all of them.
        res = {e: [] for e in engines}
        for r in range(a.repeats):
            for eng in engines:
                try:
                    res[eng].append(once(eng, t))
                except Exception as e:  # one engine failing must not hide the others
                    print(f"{eng} threads={t}: FAILED: {e}")
            print(f"round {r + 1}: " + ", ".join(f"{e} {res[e][-1][0]:.3f}s ({res[e][-1][2]:.3f}s CPU)"
                                                 for e in engines
                                                 if len(res[e]) == r + 1))
            sys.stdout.flush()
        for eng in engines:
            if not res[eng]:
                continue
            secs = statistics.median(x[0] for x in res[eng])
            rss = max(x[1] for x in res[eng])
            cpu = statistics.median(x[2] for x in res[eng])
            gflops = (dense + attn) / secs / 1e9
            c = ceil.get((PREC[eng], t))
            rows.append((eng, t, n_sent / secs, n_tok / secs, rss, gflops,
                         gflops / c if c else float("nan"), n_tok / cpu))
    print()
    print(f"{'engine':<12} {'thr':>3} {'sent/s':>8} {'tok/s':>8} {'RSS MB':>7} {'GFLOP/s':>8} "
          f"{'of ceil':>8} {'vs ORT':>7} {'tok/CPU-s':>9} {'vs ORT':>7}")
    ort = {r[1]: (r[3], r[7]) for r in rows if r[0] == "onnxruntime"}
    for eng, t, ss, ts, rss, gf, frac, tc in rows:
        vs = f"{ts / ort[t][0]:.2f}x" if t in ort else "-"
        vc = f"{tc / ort[t][1]:.2f}x" if t in ort else "-"
        print(f"{eng:<12} {t:>3} {ss:>8.0f} {ts:>8.0f} {rss:>7.0f} {gf:>8.1f} {frac:>7.0%} {vs:>7} "
              f"{tc:>9.0f} {vc:>7}")
    pt = {r[1]: r[3] for r in rows if r[0] == "pytorch-int8"}
    for eng, t, _, ts, *_ in rows:
        if eng == "zembed-int8" and t in pt:
            print(f"zembed-int8 vs pytorch-int8, {t} thread(s): {ts / pt[t]:.2f}x tokens/s")
    print("of ceil: GFLOP/s over the layer ceiling of the engine's precision measured above "
          "(fp32: OpenBLAS sgemm; bf16/int8: oneDNN matmul)")
    for eng, t, n, p50, p99 in lat:
        print(f"single sentence ({n} tokens), {eng}, {t} thread(s): forward p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    print("tok/CPU-s: tokens per CPU-second of the whole process (all threads), steadier than wall "
          "time on a loaded machine; it does not show the gain from a second thread.")


if __name__ == "__main__":
    main()
