"""Soak load for bench/soak/run.sh: drive.py ENDPOINT LAUNCHER_PID DURATION_S GROWTH_MB.
Mixed clients for DURATION_S seconds, RSS of every process under the launcher sampled every 10 s;
the report says per process warm-up / end / peak RSS, requests answered by kind, errors."""
import os
import random
import subprocess
import sys
import threading
import time

import msgpack
import zmq

EP, LAUNCHER, DURATION, GROWTH_MB = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
BASE = int(EP.rsplit(":", 1)[1])
ctx = zmq.Context.instance()
stop = threading.Event()
lock = threading.Lock()
stats = {}
errors = []
WORDS = ("the quick brown fox jumps over a lazy dog while seven tiny robots sing about vectors "
         "naïve café déjà vu 東京 données").split()


def count(kind, ok=True, r=None):
    if not ok and isinstance(r, dict) and (r.get("error") or {}).get("code") == "overloaded":
        kind, ok = kind + "_overloaded", True       # an answer: retry later (the bursts cause them)
    with lock:
        stats[kind] = stats.get(kind, 0) + 1
        if not ok:
            errors.append((kind, r))


def text(rng, n=None):
    return " ".join(rng.choice(WORDS) for _ in range(n or rng.randint(1, 40)))


def dealer():
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(EP)
    return s


def call(s, req, timeout=60):
    s.send_multipart([b"", msgpack.packb(dict(req, v=1))])
    if not s.poll(timeout * 1000):
        return None
    return msgpack.unpackb(s.recv_multipart()[-1])


def mixed_client(seed):
    rng, s, k = random.Random(seed), dealer(), 0
    while not stop.is_set():
        k += 1
        kind = rng.choice(["embed"] * 6 + ["tokenize", "similarity", "token_embeddings", "health"])
        if kind == "embed":
            req = {"op": "embed", "texts": [text(rng) for _ in range(rng.randint(1, 32))],
                   "dtype": rng.choice(["float32", "float16", "int8", "ubinary"])}
        elif kind == "tokenize":
            req = {"op": "tokenize", "texts": [text(rng) for _ in range(4)]}
        elif kind == "similarity":
            req = {"op": "similarity", "a": [text(rng)], "b": [text(rng) for _ in range(3)]}
        elif kind == "token_embeddings":
            req = {"op": "token_embeddings", "texts": [text(rng, 100) for _ in range(rng.randint(1, 8))]}
        else:
            req = {"op": "health"}
        req["id"] = "%08x-soak-client:%d" % (seed, k)
        r = call(s, req)
        count(kind, r is not None and r.get("ok"), r)


def ingest():
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    for x in (push, pull):
        x.setsockopt(zmq.LINGER, 0)
    push.connect("tcp://127.0.0.1:%d" % (BASE + 1))
    pull.connect("tcp://127.0.0.1:%d" % (BASE + 2))
    rng, sent, got = random.Random(7), 0, 0
    while not stop.is_set():
        for _ in range(50):
            push.send(msgpack.packb({"v": 1, "id": sent, "op": "embed", "texts": [text(rng)]}))
            sent += 1
        while got < sent and pull.poll(100 if got + 200 > sent else 2000):
            r = msgpack.unpackb(pull.recv())
            got += 1
            count("ingest", r.get("ok"), r)
            time.sleep(0.001)               # a slow consumer
    end = time.time() + 60
    while got < sent and time.time() < end and pull.poll(1000):
        r = msgpack.unpackb(pull.recv())
        got += 1
        count("ingest", r.get("ok"), r)
    if got < sent:
        errors.append(("ingest", "%d of %d streamed requests unanswered" % (sent - got, sent)))


def burst():
    rng, s = random.Random(11), dealer()
    while not stop.wait(5):
        n = 400
        for k in range(n):
            s.send_multipart([b"", msgpack.packb({"v": 1, "op": "embed", "id": k, "texts": [text(rng, 5)]})])
        for _ in range(n):
            if not s.poll(60000):
                errors.append(("burst", "a burst request unanswered"))
                break
            r = msgpack.unpackb(s.recv_multipart()[-1])
            over = not r["ok"] and r["error"]["code"] == "overloaded"
            count("burst_overloaded" if over else "burst", r["ok"] or over, r)


def rss(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return int([l for l in f if l.startswith("VmRSS")][0].split()[1]) // 1024
    except (OSError, IndexError):
        return None


def processes():
    out = {}
    for pid in subprocess.run(["pgrep", "-P", str(LAUNCHER)], capture_output=True, text=True).stdout.split():
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                out[int(pid)] = os.path.basename(f.read().split(b"\0")[0].decode())
        except OSError:
            pass
    return out


def main():
    end = time.time() + 60
    while time.time() < end:
        r = call(dealer(), {"op": "info"}, timeout=1)
        if r and r.get("ok"):
            break
    threads = [threading.Thread(target=f, args=a) for f, a in
               [(mixed_client, (i,)) for i in range(4)] + [(ingest, ()), (burst, ())]]
    for t in threads:
        t.start()
    t0 = time.time()
    warm, peak, last = {}, {}, {}
    while time.time() - t0 < DURATION:
        time.sleep(10)
        for pid, name in processes().items():
            m = rss(pid)
            if m is None:
                continue
            key = "%s %d" % (name, pid)
            if time.time() - t0 >= min(60, DURATION / 4):
                warm.setdefault(key, m)     # after warm-up
            peak[key] = max(peak.get(key, 0), m)
            last[key] = m
        with lock:
            print("%5.0fs  %s" % (time.time() - t0, " ".join("%s=%d" % kv for kv in sorted(stats.items()))), flush=True)
    stop.set()
    for t in threads:
        t.join(120)
    print("\nprocess                       warm-up MB   end MB   peak MB")
    grew = []
    for key in sorted(last):
        w = warm.get(key, last[key])
        print("%-28s %10d %8d %9d" % (key, w, last[key], peak[key]))
        if last[key] - w > GROWTH_MB:
            grew.append(key)
    print("\nanswered: %s" % ", ".join("%s %d" % kv for kv in sorted(stats.items())))
    print("errors: %d%s" % (len(errors), (" first: %r" % (errors[:3],)) if errors else ""))
    if grew:
        print("memory grew more than %g MB after warm-up: %s" % (GROWTH_MB, ", ".join(grew)))
    sys.exit(1 if errors or grew else 0)


main()
