#!/usr/bin/python3
# zembed: asan
"""Scaling and failures through real processes: two encoder workers share a stream and give the
same vectors as one; workers killed (SIGKILL) and started while a stream of requests runs still
leave every request answered exactly once, either with its result or with a clear timeout /
unavailable error, never a hang; the pipeline serves normally afterwards."""
import os
import signal
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipe_harness import Client, Pipeline, check, gen_model, run, tensor  # noqa: E402

MODEL = gen_model()
SLOW = os.environ.get("ZEMBED_VALGRIND") == "1"
TEXTS = ["sentence number %d with %s" % (k, "more words " * (k % 9)) for k in range(40)]


def stream(c, n, window, timeout_ms, during=None):
    """Send n embed requests keeping `window` in flight; during(k) runs after the k-th send.
    Returns {id: reply}; fails if any reply is missing after the deadline or arrives twice."""
    replies, sent, k = {}, 0, 0
    deadline_each = timeout_ms / 1000.0 + 5.0       # the gateway answers by timeout_ms; slack for load
    last_progress = time.time()
    while len(replies) < n:
        while sent < n and sent - len(replies) < window:
            c.send({"op": "embed", "id": sent, "texts": TEXTS[sent % 40: sent % 40 + 3],
                    "timeout_ms": timeout_ms})
            sent += 1
            if during:
                during(sent)
        try:
            r = c.recv(timeout=0.5)
        except TimeoutError:
            check(time.time() - last_progress < deadline_each,
                  "no reply for %.1fs with %d of %d answered: a hang" % (deadline_each, len(replies), n))
            continue
        check(r["id"] not in replies, "request %r answered twice" % r["id"])
        replies[r["id"]] = r
        last_progress = time.time()
    return replies


def test_two_encoders_share_the_work_and_agree():
    p = Pipeline(MODEL, enc=1, name="one")
    p.wait_ready()
    c = Client(p.endpoint)
    one = {k: tensor(c.call({"op": "embed", "texts": [t]})["embeddings"])[0] for k, t in enumerate(TEXTS)}
    c.close()
    codes = p.stop_all()
    check(all(v == 0 for v in codes.values()), codes)

    p = Pipeline(MODEL, tok=0, enc=2, pool=0, name="two")
    p.start("tokenizer_svc", ["--threads", "2"])     # threads are independent workers too
    p.start("pooler_svc", ["--threads", "2"])
    p.wait_ready()
    p.wait_workers(encoder=2)      # round-robin reaches only the encoders already connected
    c = Client(p.endpoint)
    n = 40 if SLOW else 160
    replies = stream(c, n, window=24, timeout_ms=20000)
    c.close()
    for k, r in replies.items():
        check(r["ok"], r)
        e = tensor(r["embeddings"])
        for i, t in enumerate(TEXTS[k % 40: k % 40 + 3]):
            diff = float(np.abs(e[i] - one[TEXTS.index(t)]).max())
            check(diff <= 1e-5, "request %d text %d: %g from the single-encoder vector" % (k, i, diff))
    codes = p.stop_all()
    check(all(v == 0 for v in codes.values()), codes)
    served = []
    for w in p.workers["encoder_svc"]:
        log = p.log(w)
        jobs = int(log.split("stopping after ")[1].split(" jobs")[0])
        served.append(jobs)
    check(all(j > 0 for j in served), "both encoders must have served: %r" % served)


def test_encoder_batches_what_is_queued():
    """Work that queued up while the encoder was busy (here: stopped) goes through in few batches."""
    p = Pipeline(MODEL, name="batch")
    p.wait_ready()
    enc = p.workers["encoder_svc"][0]
    c = Client(p.endpoint)
    enc.send_signal(signal.SIGSTOP)
    n = 12
    ids = [c.send({"op": "embed", "texts": [TEXTS[k]]}) for k in range(n)]
    time.sleep(0.5)                                 # everything is tokenized and queued by now
    enc.send_signal(signal.SIGCONT)
    got = [c.recv(timeout=20) for _ in ids]
    check(all(r["ok"] for r in got), got)
    c.close()
    codes = p.stop_all()
    check(all(v == 0 for v in codes.values()), codes)
    log = p.log(enc).split("stopping after ")[1]
    jobs, batches = int(log.split(" jobs")[0]), int(log.split(" in ")[1].split(" batches")[0])
    # wait_ready's info jobs and the 12 embeds; the queued ones must have shared forward passes
    print("    %d jobs in %d batches" % (jobs, batches))
    check(jobs >= n and batches <= jobs - n // 2, "%d jobs in %d batches: the encoder did not batch" % (jobs, batches))


def test_workers_killed_and_started_during_a_stream():
    p = Pipeline(MODEL, gw_args=["--timeout-ms", "20000"], tok=2, enc=2, pool=2, name="chaos")
    p.wait_ready()
    c = Client(p.endpoint)
    n = 60 if SLOW else 240
    events = {n // 6: ("encoder_svc", 0), n // 3: ("tokenizer_svc", 0), n // 2: ("pooler_svc", 0),
              2 * n // 3: ("encoder_svc", 1)}

    def during(k):
        if k in events:
            kind, idx = events[k]
            victim = p.workers[kind][idx]
            victim.send_signal(signal.SIGKILL)      # no goodbye: its queued work is lost
            victim.wait()
            p.start(kind)                           # and a new one joins

    replies = stream(c, n, window=16, timeout_ms=1500, during=during)
    ok = sum(1 for r in replies.values() if r["ok"])
    failed = [r for r in replies.values() if not r["ok"]]
    for r in failed:
        check(r["error"]["code"] in ("timeout", "unavailable"), r)
        check("re-dispatched" in r["error"]["message"] or "tokenizer_svc" in r["error"]["message"], r)
    check(len(replies) == n and ok > 0, (len(replies), ok))
    print("    %d answered: %d ok, %d timeout/unavailable" % (n, ok, len(failed)))
    # afterwards it serves normally
    end = time.time() + 20
    while True:
        r = c.call({"op": "embed", "texts": ["after the storm"]}, timeout=10)
        if r["ok"] or time.time() > end:
            break
    check(r["ok"], r)
    h = c.call({"op": "health"})
    check(h["in_flight"] == 0, h)
    c.close()
    codes = p.stop_all()
    alive = {pid: v for pid, v in codes.items() if v != -signal.SIGKILL}
    check(all(v == 0 for v in alive.values()), codes)


if __name__ == "__main__":
    sys.exit(run([test_two_encoders_share_the_work_and_agree, test_encoder_batches_what_is_queued,
                  test_workers_killed_and_started_during_a_stream]))
