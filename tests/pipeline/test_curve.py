#!/usr/bin/python3
# zembed: asan
"""CURVE on every endpoint (docs/PROTOCOL.md §7): keys from `zembed keygen`, one allow-list for
clients and one for workers checked by the gateway's ZAP handler. An allowed client is served; a
plaintext client, an unknown key and a client key posing as a worker are refused (and counted in the
gateway's log); a forged result from an unauthenticated process never reaches a client; the remote
CLI speaks CURVE from $ZEMBED_SERVER_KEY/$ZEMBED_CURVE_KEY. With root or CAP_NET_RAW and Debian's
tcpdump, a capture of the loopback traffic holds none of the texts sent (and, as a control, a
plaintext pipeline's capture does)."""
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

import msgpack
import numpy as np
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipe_harness import (ENV, TMP, ZBIN, Client, Pipeline, Skip, check, gen_model, run,  # noqa: E402
                          run_cli, tensor)

MODEL = gen_model()
KEYS = os.path.join(TMP, "keys")
os.makedirs(KEYS, mode=0o700)


def keygen(name):
    r = subprocess.run([os.path.join(ZBIN, "zembed"), "keygen", os.path.join(KEYS, name)],
                       capture_output=True, text=True, env=ENV)
    check(r.returncode == 0, "keygen %s: %s" % (name, r.stderr))
    pub = r.stdout.strip().encode()
    with open(os.path.join(KEYS, name + ".key")) as f:
        sec = [l.strip() for l in f if l.strip() and not l.startswith("#")][0].encode()
    return pub, sec


SERVER, WORKER, CLIENT, STRANGER = keygen("server"), keygen("worker"), keygen("client"), keygen("stranger")
with open(os.path.join(KEYS, "clients.allow"), "w") as f:
    f.write("# who may ask\n%s client\n" % CLIENT[0].decode())
with open(os.path.join(KEYS, "workers.allow"), "w") as f:
    f.write("%s\n" % WORKER[0].decode())
K = lambda name: os.path.join(KEYS, name)  # noqa: E731
GW_CURVE = ["--curve-key", K("server.key"), "--allow-clients", K("clients.allow"),
            "--allow-workers", K("workers.allow")]
WORKER_CURVE = ["--server-key", K("server.pub"), "--curve-key", K("worker.key")]
AS_CLIENT = (SERVER[0], CLIENT[0], CLIENT[1])

P = Pipeline(MODEL, gw_args=["--timeout-ms", "5000", *GW_CURVE], worker_args=WORKER_CURVE, curve=AS_CLIENT)
P.wait_ready()
C = Client(P.endpoint, curve=AS_CLIENT)
TEXTS = ["the quick brown fox", "a secret only the client and gateway may read"]
REF = None


def embed(c, texts=TEXTS, timeout=8.0):
    r = c.call({"op": "embed", "texts": texts}, timeout=timeout)
    check(r.get("ok"), "embed failed: %r" % r)
    return tensor(r["embeddings"])


def refused(curve, timeout=1.5):
    """True when a client with these keys (None: plaintext) gets no reply at all."""
    c = Client(P.endpoint, curve=curve)
    try:
        c.call({"op": "health"}, timeout=timeout)
        return False
    except TimeoutError:
        return True
    finally:
        c.close()


def test_allowed_client_served():
    global REF
    REF = embed(C)
    check(REF.shape[0] == 2, "two vectors")


def test_plaintext_and_unknown_keys_refused():
    check(refused(None), "a plaintext client was answered")
    check(refused((SERVER[0], STRANGER[0], STRANGER[1])), "an unknown client key was answered")
    check(refused((SERVER[0], WORKER[0], WORKER[1])), "a worker key was accepted on the client side")
    wrong_server = zmq.curve_keypair()[0]
    check(refused((wrong_server, CLIENT[0], CLIENT[1])), "a client with the wrong server key was answered")
    check(np.array_equal(embed(C), REF), "still serving the allowed client")


def test_worker_keys_checked():
    """A tokenizer with the client's key, one with an unknown key and a plaintext PULL on the
    tokenizer port get no job; the real tokenizer gets them all."""
    bad = [P.start("tokenizer_svc", ["--curve-key", K("client.key")]),
           P.start("tokenizer_svc", ["--curve-key", K("stranger.key")])]
    ctx = zmq.Context.instance()
    spy = ctx.socket(zmq.PULL)
    spy.setsockopt(zmq.LINGER, 0)
    spy.connect(P.port(5))
    time.sleep(1.0)
    for k in range(8):
        check(np.array_equal(embed(C, timeout=4.0), REF), "request %d through the real tokenizer" % k)
    check(not spy.poll(200), "a plaintext PULL on the tokenizer port got a job")
    spy.close()
    for p in bad:
        check(p.poll() is None, "a refused worker keeps running (and retrying), it does not crash")
        P.stop(p)
    end = time.time() + 10      # the gateway's log line comes at most once a second
    while "unknown worker keys" not in P.log(P.gateway) and time.time() < end:
        time.sleep(0.2)
    log = P.log(P.gateway)
    check("CURVE: refused" in log and "unknown worker keys" in log, "refusals logged: %s" % log[-800:])


def test_refusals_in_metrics():
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % (P.base + 11), timeout=5) as r:
        text = r.read().decode()
    def v(labels):
        line = [l for l in text.splitlines() if l.startswith("zembed_curve_refused_total{%s}" % labels)]
        return float(line[0].split()[-1]) if line else -1
    check("zembed_curve_enabled 1" in text, "CURVE on in the metrics")
    check(v('reason="unknown_key",side="clients"') >= 2, "unknown client keys counted: %s" % text[-900:])
    check(v('reason="unknown_key",side="workers"') >= 2, "unknown worker keys counted")
    check(v('reason="handshake",side="any"') >= 2, "plaintext and wrong-server-key handshakes counted")


def forged_reply(j):
    body = {"v": 1, "id": 1, "ok": True, "op": "embed", "dimensions": 1, "tokens": [1],
            "embeddings": {"dtype": "float32", "shape": [1, 1], "data": b"FORGED!!"[:4]}}
    return [struct.pack("<Q", j), msgpack.packb(body, use_bin_type=True)]


def test_forged_results_never_reach_a_client():
    """Plaintext and unknown-key PUSHes spray the sink with results for every plausible job number
    while the allowed client asks: every reply it gets is the real one."""
    ctx = zmq.Context.instance()
    sprayers = []
    for curve in (None, (SERVER[0], STRANGER[0], STRANGER[1]), (SERVER[0], CLIENT[0], CLIENT[1])):
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.SNDHWM, 100000)
        if curve:
            s.curve_serverkey, s.curve_publickey, s.curve_secretkey = curve
        s.connect(P.port(10))
        sprayers.append(s)
    rogue = ctx.socket(zmq.PULL)        # a rogue consumer on the results port
    rogue.setsockopt(zmq.LINGER, 0)
    rogue.connect(P.port(2))
    time.sleep(0.3)
    for k in range(6):
        for s in sprayers:
            for j in range(1, 400):
                try:
                    s.send_multipart(forged_reply(j), zmq.DONTWAIT)
                except zmq.Again:
                    pass
        check(np.array_equal(embed(C), REF), "round %d: a forged result reached the client" % k)
    check(not rogue.poll(100), "a plaintext PULL on the results port got a reply")
    for s in sprayers + [rogue]:
        s.close()


def test_cli_speaks_curve():
    env_ok = dict(ENV, ZEMBED_SERVER_KEY=K("server.pub"), ZEMBED_CURVE_KEY=K("client.key"))
    r = subprocess.run([os.path.join(ZBIN, "zembed"), "embed", "--endpoint", P.endpoint, "--timeout-ms", "8000"],
                       input="the quick brown fox\n", capture_output=True, text=True, env=env_ok, timeout=30)
    check(r.returncode == 0 and '"embedding"' in r.stdout, "zembed embed over CURVE: %s %s" % (r.stdout[:200], r.stderr))
    env_bad = dict(ENV, ZEMBED_SERVER_KEY=K("server.pub"), ZEMBED_CURVE_KEY=K("stranger.key"))
    r = subprocess.run([os.path.join(ZBIN, "zembed"), "info", "--endpoint", P.endpoint, "--timeout-ms", "1500"],
                       capture_output=True, text=True, env=env_bad, timeout=30)
    check(r.returncode != 0, "an unknown key got info: %s" % r.stdout[:200])
    env_half = dict(ENV, ZEMBED_SERVER_KEY=K("server.pub"))
    r = subprocess.run([os.path.join(ZBIN, "zembed"), "info", "--endpoint", P.endpoint],
                       capture_output=True, text=True, env=env_half, timeout=30)
    check(r.returncode != 0 and "ZEMBED_CURVE_KEY" in r.stderr, "half a configuration is an error: %s" % r.stderr)


def test_bad_key_files_refused_at_start():
    with open(K("broken.allow"), "w") as f:
        f.write("%s\nnot-a-key\n" % CLIENT[0].decode())
    r = subprocess.run([os.path.join(ZBIN, "gateway"), "--endpoint", "tcp://127.0.0.1:1", "--curve-key",
                        K("server.key"), "--allow-clients", K("broken.allow"), "--allow-workers",
                        K("workers.allow")], capture_output=True, text=True, env=ENV, timeout=20)
    check(r.returncode == 2 and "broken.allow:2:" in r.stderr, "allow-list error names file:line: %s" % r.stderr)
    r = subprocess.run([os.path.join(ZBIN, "gateway"), "--endpoint", "tcp://127.0.0.1:1", "--curve-key",
                        K("server.key"), "--allow-clients", K("clients.allow"), "--allow-workers",
                        K("clients.allow")], capture_output=True, text=True, env=ENV, timeout=20)
    check(r.returncode == 2 and "on both" in r.stderr, "a key on both lists refused: %s" % r.stderr)


def capture(pipe, client, texts):
    """Loopback capture of the pipeline's ports while client embeds texts; the pcap's bytes."""
    pcap = os.path.join(TMP, "cap-%d.pcap" % pipe.base)
    t = subprocess.Popen([shutil.which("tcpdump"), "--immediate-mode", "-i", "lo", "-U", "-s", "0", "-w", pcap,
                          "tcp portrange %d-%d" % (pipe.base, pipe.base + 10)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    line = t.stderr.readline().decode()      # "listening on lo ..." once the capture runs
    if "listening" not in line:
        t.kill()
        raise Skip("tcpdump could not capture on lo: %s" % line.strip())
    time.sleep(0.5)     # "listening" comes a moment before packets are taken
    r = client.call({"op": "embed", "texts": texts}, timeout=8.0)
    check(r.get("ok"), "embed during the capture: %r" % r)
    time.sleep(0.3)
    t.send_signal(signal.SIGINT)
    t.wait(timeout=10)
    with open(pcap, "rb") as f:
        return f.read()


def test_capture_shows_no_text():
    if not shutil.which("tcpdump"):
        raise Skip("needs tcpdump (deploy/install-deps.sh --test-peers)")
    if os.geteuid() != 0:
        caps = open("/proc/self/status").read()
        eff = int([l for l in caps.splitlines() if l.startswith("CapEff")][0].split()[1], 16)
        if not eff & (1 << 13):     # CAP_NET_RAW
            raise Skip("needs root or CAP_NET_RAW to capture loopback traffic")
    texts = ["zembedcanary%d wombat marmalade" % k for k in range(3)]
    data = capture(P, C, texts)
    check(len(data) > 2000, "the capture saw the traffic (%d bytes)" % len(data))
    for t in texts:
        check(t.encode() not in data, "'%s' is in the CURVE capture" % t)
    # control: the same in plaintext is visible, so the check above can fail
    plain = Pipeline(MODEL, gw_args=["--timeout-ms", "5000"], name="plain")
    plain.wait_ready()
    pc = Client(plain.endpoint)
    data = capture(plain, pc, texts)
    pc.close()
    plain.stop_all()
    check(all(t.encode() in data for t in texts), "control: plaintext texts seen in the capture")


def test_clean_exit():
    C.close()
    codes = P.stop_all()
    check(all(v == 0 for v in codes.values()), "exit statuses after SIGTERM (ASan: leaks fail it): %r" % codes)


if __name__ == "__main__":
    sys.exit(run([test_allowed_client_served, test_plaintext_and_unknown_keys_refused, test_worker_keys_checked,
                  test_refusals_in_metrics,
                  test_forged_results_never_reach_a_client, test_cli_speaks_curve, test_bad_key_files_refused_at_start,
                  test_capture_shows_no_text, test_clean_exit]))
