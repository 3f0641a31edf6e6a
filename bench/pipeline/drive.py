#!/usr/bin/python3
"""Drive a running pipeline for bench/pipeline/run.sh (never used by tests).

  drive.py stream  ENDPOINT FILE [--batch 32] [--window 8]   one pass over FILE's lines, pipelined
      -> "sentences N tokens T seconds S sent_per_s X tok_per_s Y"
  drive.py latency ENDPOINT SENTENCE [--repeats 200]         one sentence at a time, idle pipeline
      -> "tokens N p50_ms P p99_ms Q"
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from zembed_client import Client  # noqa: E402


def stream(c, lines, batch, window):
    pending, tokens, done, i = [], 0, 0, 0
    t0 = time.perf_counter()
    while i < len(lines) or pending:
        while i < len(lines) and len(pending) < window:
            pending.append(c.send("embed", texts=lines[i:i + batch]))
            i += batch
        r = c.receive(pending.pop(0), raw=True)  # raw: no numpy decode, the bytes are enough
        tokens += sum(r["tokens"])
        done += r["embeddings"]["shape"][0]
    s = time.perf_counter() - t0
    print("sentences %d tokens %d seconds %.3f sent_per_s %.1f tok_per_s %.0f" % (done, tokens, s, done / s, tokens / s))


def latency(c, sentence, repeats):
    for _ in range(5):  # warm up every stage
        c.embed([sentence])
    t, n = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        _, counts = c.embed([sentence], with_tokens=True)
        t.append((time.perf_counter() - t0) * 1e3)
        n = counts[0]
    t.sort()
    print("tokens %d p50_ms %.3f p99_ms %.3f" % (n, t[len(t) // 2], t[min(len(t) - 1, int(len(t) * 0.99))]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["stream", "latency"])
    p.add_argument("endpoint")
    p.add_argument("arg", help="file of lines (stream) or one sentence (latency)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--window", type=int, default=8)
    p.add_argument("--repeats", type=int, default=200)
    a = p.parse_args()
    with Client(a.endpoint, timeout_ms=120000) as c:
        if a.mode == "stream":
            lines = open(a.arg, encoding="utf-8").read().splitlines()
            stream(c, lines, a.batch, a.window)
        else:
            latency(c, a.arg, a.repeats)


if __name__ == "__main__":
    main()
