#!/usr/bin/python3
# zembed: asan
"""A gateway crash loses nothing: the Python client retries an unanswered request with the same id
after the gateway is killed (SIGKILL) and started again on the same port, and every request of a
stream is answered once, equal (to 1e-5) to a run without the crash. The gateway de-duplicates retried ids:
a retry of a request in flight is attached to it, a retry of one answered recently is answered
again from a copy (counted in health.retries), and short ids (which clients may reuse) are not."""
import os
import signal
import sys
import threading
import time

import msgpack
import numpy as np
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pipeline"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
from pipe_harness import (Client, Pipeline, check, gen_model, run)  # noqa: E402
import zembed_client  # noqa: E402

MODEL = gen_model()
P = Pipeline(MODEL, gw_args=["--timeout-ms", "20000"])
P.wait_ready()
TEXTS = ["retry text number %d" % i for i in range(3000)]


KILLED = []


def restart_gateway():
    P.gateway.send_signal(signal.SIGKILL)
    P.gateway.wait()
    KILLED.append(P.gateway.pid)
    P.gateway = P._spawn("gateway", ["--endpoint", P.endpoint, "--timeout-ms", "20000"], "gw2")


def test_stream_survives_gateway_restart():
    ref = np.concatenate(list(zembed_client.Client(P.endpoint).embed_stream(TEXTS, batch=16, window=8)))
    c = zembed_client.Client(P.endpoint, timeout_ms=60000, retry_ms=500)
    out = []
    t = threading.Timer(0.3, restart_gateway)
    t.start()
    for e in c.embed_stream(TEXTS, batch=16, window=8):
        out.append(np.array(e))
    t.join()
    got = np.concatenate(out)
    check(got.shape == ref.shape, (got.shape, ref.shape))
    # batches form differently with and without the crash: equal up to float summation order
    bad = [i for i in range(len(ref)) if np.abs(got[i] - ref[i]).max() > 1e-5]
    check(not bad, "%d vectors differ after the restart, first at %r" % (len(bad), bad[:5]))
    check("gw2" in P.gateway.log, "the gateway was not restarted during the stream")
    c.close()


def test_retries_deduplicated():
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(P.endpoint)
    rid = "0123456789abcdef:1"
    req = msgpack.packb({"v": 1, "id": rid, "op": "embed", "texts": ["once"]})
    for _ in range(3):                  # two retries while (or after) the first runs
        s.send_multipart([b"", req])
    replies = []
    while s.poll(2000):
        replies.append(msgpack.unpackb(s.recv_multipart()[-1]))
    check(all(r["ok"] and r["id"] == rid for r in replies) and 1 <= len(replies) <= 3, replies)
    s.send_multipart([b"", req])        # answered already: from the copy
    check(s.poll(5000), "a retry of an answered id got no reply")
    again = msgpack.unpackb(s.recv_multipart()[-1])
    check(again["ok"] and again["embeddings"] == replies[0]["embeddings"], again)
    h = Client(P.endpoint).call({"op": "health"})
    check(h["retries"] >= 2, h)
    # short ids are the client's own business: each request runs and is answered
    for _ in range(2):
        s.send_multipart([b"", msgpack.packb({"v": 1, "id": 7, "op": "embed", "texts": ["x"]})])
    n = 0
    while s.poll(2000):
        s.recv_multipart()
        n += 1
    check(n == 2, "%d replies to two requests with id 7" % n)
    s.close()


def test_clean_stop():
    codes = P.stop_all()
    check(all(v == 0 for pid, v in codes.items() if pid not in KILLED), codes)


if __name__ == "__main__":
    sys.exit(run([test_stream_survives_gateway_restart, test_retries_deduplicated, test_clean_stop]))
