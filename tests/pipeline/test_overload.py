#!/usr/bin/python3
# zembed: asan
"""Overload and slow consumers: every request is answered exactly once (`overloaded` counts as an
answer, and carries retry_after_ms), nothing is dropped by the gateway's own queues, and memory stays
bounded. Streaming: a producer PUSHes 20,000 requests as fast as ZeroMQ lets it while the only
consumer reads nothing for a while, then slowly: the producer is slowed down (back-pressure), no
reply is lost. ROUTER: a client fires 3,000 requests at a gateway that takes 8 at a time (at most 4
of one client: its fair share), and another client is still served. A heavy
request (token_embeddings of 256 long texts) does not hold up small ones sent after it."""
import os
import sys
import threading
import time

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

from pipe_harness import (Client, Pipeline, check, gen_model, run, run_cli, tensor)  # noqa: E402

ASAN = "asan" in os.environ.get("ZEMBED_BIN", "")
N_STREAM = 20000
MODEL = gen_model()
P = Pipeline(MODEL, gw_args=["--timeout-ms", "120000", "--max-ingest", "500"])
P.wait_ready()
ctx = zmq.Context.instance()
PAD = "x" * 8000        # 8 KB a request: more than kernel socket buffers hold, so the queues fill


def rss_peak(p):
    with open("/proc/%d/status" % p.pid) as f:
        return int([l for l in f if l.startswith("VmHWM")][0].split()[1]) * 1024


def test_stream_slow_consumer_loses_nothing():
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.LINGER, 0)
    pull.setsockopt(zmq.RCVHWM, 10)         # a consumer that holds little
    pull.connect(P.port(2))
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.connect(P.port(1))
    done = threading.Event()

    def produce():
        for k in range(N_STREAM):           # blocks when the gateway stops reading: back-pressure
            push.send(msgpack.packb({"v": 1, "id": k, "op": "embed", "texts": ["text number %d %s" % (k, PAD)]}))
        done.set()
    t = threading.Thread(target=produce)
    t.start()
    time.sleep(2.0)                         # nobody reads for 2 s
    check(not done.is_set(), "the producer pushed %d requests with nobody reading: no back-pressure" % N_STREAM)
    got, dups, errors = set(), 0, []
    end = time.time() + 600
    while len(got) < N_STREAM and time.time() < end:
        if not pull.poll(30000):
            break
        r = msgpack.unpackb(pull.recv())
        if r["id"] in got:
            dups += 1
        got.add(r["id"])
        if not r["ok"]:
            errors.append(r)
        if len(got) < 2000:
            time.sleep(0.0005)              # slow at first
    t.join(60)
    push.close()
    pull.close()
    check(len(got) == N_STREAM, "%d of %d streamed requests answered" % (len(got), N_STREAM))
    check(dups == 0, "%d duplicate replies" % dups)
    check(not errors, "%d errors, first %r" % (len(errors), errors[:2]))
    h = Client(P.endpoint).call({"op": "health"})
    check(h["undeliverable"] == 0 and h["in_flight"] == 0, h)
    if not ASAN:
        peak = rss_peak(P.gateway)
        check(peak < 200 << 20, "gateway peak memory %d MB" % (peak >> 20))
        print("gateway peak RSS %.1f MB after %d streamed requests" % (peak / 2 ** 20, N_STREAM))


def test_router_overload_every_request_answered():
    small = Pipeline(MODEL, gw_args=["--timeout-ms", "60000", "--max-in-flight", "8"], name="small")
    small.wait_ready()
    c = Client(small.endpoint)
    n = 3000
    try:
        for k in range(n):
            c.send({"op": "embed", "texts": ["burst %d" % k], "id": k})
        # fair share: the flooding client holds at most half the table, another one finds room
        other = Client(small.endpoint)
        r = other.call({"op": "embed", "texts": ["another client"]}, timeout=60)
        other.close()
        check(r["ok"], "a second client was refused while the first floods: %r" % r)
        got, over = {}, 0
        while len(got) < n:
            r = c.recv(60)
            check(r["id"] not in got, "duplicate reply for %r" % r["id"])
            got[r["id"]] = r
            if not r["ok"]:
                check(r["error"]["code"] == "overloaded", r)
                check(r["error"]["retry_after_ms"] >= 1, r)
                over += 1
        check(over > 0 and over < n, "%d of %d overloaded" % (over, n))
        print("%d requests: %d answered with vectors, %d overloaded (with retry_after_ms)" % (n, n - over, over))
        h = c.call({"op": "health"})
        check(h["undeliverable"] == 0, h)
    finally:
        c.close()
        codes = small.stop_all()
    check(all(v == 0 for v in codes.values()), codes)


def test_heavy_request_does_not_block_others():
    """token_embeddings of 256 long texts goes through the encoder a pass at a time: small requests
    sent after it are answered before it, and its token states equal the local ones."""
    heavy = Pipeline(MODEL, gw_args=["--timeout-ms", "120000"], enc=0, name="heavy")
    heavy.start("encoder_svc", ["--max-batch-tokens", "128"])
    heavy.wait_ready()
    c = Client(heavy.endpoint)
    texts = [" ".join("word%d" % ((i * 7 + k) % 50) for k in range(60)) for i in range(256)]
    try:
        hid = c.send({"op": "token_embeddings", "texts": texts})
        small = [c.send({"op": "embed", "texts": ["small %d" % k]}) for k in range(5)]
        order = []
        while len(order) < 6:
            r = c.recv(120)
            check(r["ok"], r)
            order.append(r["id"])
            if r["id"] == hid:
                big = r
        check(order[-1] == hid, "the heavy request was answered before small ones sent after it: %r" % order)
        rc, lines, stderr = run_cli(["encode", "--model", MODEL, "--output", "tokens"], "\n".join(texts) + "\n",
                                    timeout=300)
        check(rc == 0, stderr)
        for i in (0, 100, 255):
            mine = tensor(big["embeddings"][i])
            ref = np.array(lines[i]["token_embeddings"], dtype=np.float32)
            check(mine.shape == ref.shape and np.abs(mine - ref).max() <= 1e-5, "text %d: token states differ by %g" % (i, np.abs(mine - ref).max()))
    finally:
        c.close()
        codes = heavy.stop_all()
    check(all(v == 0 for v in codes.values()), codes)
    enc_log = heavy.log(heavy.workers["encoder_svc"][0])
    check("batches" in enc_log, enc_log[-300:])


def test_clean_stop():
    codes = P.stop_all()
    check(all(v == 0 for v in codes.values()), codes)
    check(" 0 undeliverable" in P.log(P.gateway), P.log(P.gateway)[-500:])


if __name__ == "__main__":
    sys.exit(run([test_stream_slow_consumer_loses_nothing, test_router_overload_every_request_answered,
                  test_heavy_request_does_not_block_others, test_clean_stop]))
