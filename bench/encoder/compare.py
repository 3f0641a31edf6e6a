#!/usr/bin/python3
"""Encoder benchmark driver (called by bench/encoder/run.sh, which prepares WORK): zembed encode vs
ONNX Runtime vs PyTorch on the same sentences and token ids, 1 and 2 threads, median of REPEATS,
peak RSS of each process, and the fraction of OpenBLAS's measured sgemm GFLOP/s reached.

Timing: ONNX Runtime and PyTorch time their batches in-process after a warm-up (session/model
creation excluded); zembed is timed as whole `zembed encode` processes (tokenization, pooling and
JSON output included) minus the median start-up time of a one-line run, and the raw wall time is
printed too. Tokens are real tokens (no padding), [CLS]/[SEP] included."""
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
    """(wall seconds, peak RSS MB, stdout) of one process; RSS from wait4 of that very child."""
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
    return wall, ru.ru_maxrss / 1024.0, out


def sgemm(bench, threads):
    out = subprocess.run([bench, "--threads", ",".join(map(str, threads)), "--tokens", "512"],
                         capture_output=True, text=True, check=True).stdout
    print(out.rstrip())
    ceil = {}
    for line in out.splitlines():
        if line.startswith("sgemm_layer_gflops"):
            f = line.split()
            ceil[int(f[1].split("=")[1])] = float(f[-1])
    return ceil


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--engines", default="zembed,onnxruntime,pytorch")
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
    zembed = os.path.join(ROOT, "bin", "zembed")
    rows = []
    for t in threads:
        for eng in engines:
            try:
                if eng == "zembed":
                    cmd = [zembed, "encode", "--model", W("minilm"), "--threads", str(t),
                           "--output", "sentence"]
                    start = statistics.median(run_rss(cmd, W("one.txt"), True)[0] for _ in range(3))
                    runs = [run_rss(cmd, W("sentences.txt"), True) for _ in range(a.repeats)]
                    wall = statistics.median(r[0] for r in runs)
                    secs, rss = wall - start, max(r[1] for r in runs)
                    note = f"wall {wall:.3f}s incl. start-up {start:.3f}s"
                elif eng == "onnxruntime":
                    _, rss, out = run_rss(["node", os.path.join(ROOT, "bench", "encoder",
                                                               "ort_bench.js"),
                                           W("minilm.onnx"), W("ids.json"), str(t), str(a.repeats)])
                    secs, note = statistics.median(json.loads(out)["times"]), "batches of 32"
                else:
                    _, rss, out = run_rss(["/usr/bin/python3", os.path.join(ROOT, "bench", "encoder",
                                                                           "torch_bench.py"),
                                           W("minilm"), W("ids.json"), str(t), str(a.repeats)])
                    secs, note = statistics.median(json.loads(out)["times"]), "batches of 32"
            except Exception as e:  # one engine failing must not hide the others
                print(f"{eng} threads={t}: FAILED: {e}")
                continue
            gflops = (dense + attn) / secs / 1e9
            rows.append((eng, t, n_sent / secs, n_tok / secs, rss, gflops,
                         gflops / ceil[t] if t in ceil else float("nan"), note))
            print(f"{eng} threads={t}: {secs:.3f}s ({note})")
            sys.stdout.flush()
    print()
    print(f"{'engine':<12} {'thr':>3} {'sent/s':>8} {'tok/s':>8} {'RSS MB':>7} {'GFLOP/s':>8} "
          f"{'of sgemm':>8} {'vs ORT':>7}")
    ort = {r[1]: r[3] for r in rows if r[0] == "onnxruntime"}
    for eng, t, ss, ts, rss, gf, frac, _ in rows:
        vs = f"{ts / ort[t]:.2f}x" if t in ort else "-"
        print(f"{eng:<12} {t:>3} {ss:>8.0f} {ts:>8.0f} {rss:>7.0f} {gf:>8.1f} {frac:>7.0%} {vs:>7}")


if __name__ == "__main__":
    main()
