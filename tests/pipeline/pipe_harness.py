"""Shared harness of the pipeline tests: a generated tiny model, processes on free loopback ports
(all killed at exit, even on failure), a DEALER client with timeouts, and a tiny test runner whose
last line is "N passed, N failed, N skipped". A test that needs a file of ../shared (absent from a
clone) calls need_shared("models/..."): without it the test is skipped, said aloud.
Run with /usr/bin/python3 (Debian's zmq, msgpack, numpy)."""
import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import msgpack
import numpy as np
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ports import free_base  # noqa: E402,F401  (the one home of port picking; re-exported)

ROOT = os.environ.get("ZEMBED_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ZEMBED_BIN") or os.path.join(ROOT, "bin")
ZBIN = BIN                                 # gen-model and the local commands too
SHARED = os.environ.get("ZEMBED_SHARED") or os.path.join(ROOT, "..", "shared")
VOCAB = os.path.join(ROOT, "deploy", "demo", "vocab.txt")   # bert-base-uncased's, in the repo
ENV = dict(os.environ, OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE", "Haswell"))

_procs = []
TMP = tempfile.mkdtemp(prefix="zembed-pipe-")


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
    for p in _procs:
        try:
            p.wait(timeout=5)
        except Exception:
            pass
    subprocess.run(["rm", "-rf", TMP])


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))   # the runner's timeout: still clean up


def gen_model(name="tiny", extra=()):
    out = os.path.join(TMP, name)
    r = subprocess.run([os.path.join(ZBIN, "zembed"), "gen-model", "--out", out, "--vocab", VOCAB,
                        "--preset", "tiny", *extra], capture_output=True, text=True, env=ENV)
    if r.returncode != 0:
        raise RuntimeError("gen-model failed: " + r.stderr)
    return out


class Pipeline:
    """A gateway on a free port range plus workers; every process logs to TMP/<name>.log."""

    def __init__(self, model, gw_args=(), tok=1, enc=1, pool=1, name="p", worker_args=(), curve=None):
        """worker_args: extra flags of every worker; curve: the Client curve triple wait_ready uses."""
        self.model, self.name = model, name
        self.worker_args, self.curve = list(worker_args), curve
        self.base = free_base()
        self.endpoint = "tcp://127.0.0.1:%d" % self.base
        self.procs = {}
        self.gateway = self._spawn("gateway", ["--endpoint", self.endpoint, *gw_args], "gw")
        self.workers = {"tokenizer_svc": [], "encoder_svc": [], "pooler_svc": []}
        for kind, n in (("tokenizer_svc", tok), ("encoder_svc", enc), ("pooler_svc", pool)):
            for _ in range(n):
                self.start(kind)

    def port(self, off):
        return "tcp://127.0.0.1:%d" % (self.base + off)

    def _spawn(self, exe, args, tag, env=None):
        log = os.path.join(TMP, "%s-%s-%d.log" % (self.name, tag, len(self.procs)))
        p = subprocess.Popen([os.path.join(BIN, exe), *args], stdout=subprocess.DEVNULL,
                             stderr=open(log, "w"), env=ENV if env is None else env)
        p.log = log
        _procs.append(p)
        self.procs[p.pid] = p
        return p

    def start(self, kind, extra=(), env=None):
        """A worker of this pipeline; env replaces the harness's ENV for it."""
        args = ["--model", self.model, "--gateway", self.endpoint, *self.worker_args, *extra]
        if kind == "encoder_svc" and "--threads" not in extra:
            args += ["--threads", "1"]
        p = self._spawn(kind, args, kind, env)
        self.workers[kind].append(p)
        return p

    def log(self, p):
        with open(p.log) as f:
            return f.read()

    def wait_ready(self, timeout=20):
        """Until an info request goes through every stage."""
        c = Client(self.endpoint, curve=self.curve)
        end = time.time() + timeout
        try:
            while time.time() < end:
                try:
                    r = c.call({"op": "info"}, timeout=1.0)
                    if r.get("ok"):
                        return r
                except TimeoutError:
                    pass
            raise RuntimeError("pipeline not ready in %ds" % timeout)
        finally:
            c.close()

    def wait_workers(self, timeout=20, **want):
        """Until health counts at least want[stage] live workers (tokenizer=, encoder=, pooler=;
        default: serving, one each). Workers connect on their own time, slowly under ASan on a
        loaded machine, and PUSH round-robin only reaches those connected. Returns the last health."""
        c = Client(self.endpoint, curve=self.curve)
        end = time.time() + timeout
        try:
            while True:
                h = c.call({"op": "health"}, timeout=2.0)
                live = h.get("workers") or {}
                if (h.get("status") == "serving" and
                        all(live.get(stage, 0) >= n for stage, n in want.items())):
                    return h
                if time.time() > end:
                    raise RuntimeError("workers %r not live in %ds: %r" % (want, timeout, h))
                time.sleep(0.1)
        finally:
            c.close()

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            p.send_signal(sig)
        return p.wait(timeout=timeout)

    def stop_all(self):
        """SIGTERM to everything; returns {pid: exit status}."""
        codes = {}
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for pid, p in self.procs.items():
            try:
                codes[pid] = p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                codes[pid] = "hang"
        return codes


class Client:
    """DEALER client: send/recv with an empty delimiter, like REQ but pipelined."""
    _ctx = zmq.Context.instance()

    def __init__(self, endpoint, kind=zmq.DEALER, curve=None):
        """curve: (server public, our public, our secret), Z85 bytes: a CURVE client."""
        self.kind = kind
        self.s = self._ctx.socket(kind)
        self.s.setsockopt(zmq.LINGER, 0)
        if curve:
            self.s.curve_serverkey, self.s.curve_publickey, self.s.curve_secretkey = curve
        self.s.connect(endpoint)
        self.next_id = 0

    def send(self, req, raw=None):
        if raw is None:
            req = dict(req)
            req.setdefault("v", 1)
            if "id" not in req:
                self.next_id += 1
                req["id"] = self.next_id
            raw = msgpack.packb(req, use_bin_type=True)
        if self.kind == zmq.DEALER:
            self.s.send_multipart([b"", raw])
        else:
            self.s.send(raw)
        return req.get("id") if isinstance(req, dict) else None

    def recv(self, timeout=10.0):
        if not self.s.poll(int(timeout * 1000)):
            raise TimeoutError("no reply in %.1fs" % timeout)
        frames = self.s.recv_multipart()
        return msgpack.unpackb(frames[-1], raw=False)

    def call(self, req, timeout=10.0, raw=None):
        want = self.send(req, raw)
        while True:
            r = self.recv(timeout)
            if raw is not None or r.get("id") == want:
                return r

    def close(self):
        self.s.close()


def tensor(t):
    return np.frombuffer(t["data"], dtype=t["dtype"]).reshape(t["shape"])


def run_cli(args, stdin="", timeout=60, stdout=subprocess.PIPE):
    """zembed ARGS: (exit status, its JSON lines, its stderr); stdout=a file: written there, no lines."""
    r = subprocess.run([os.path.join(ZBIN, "zembed"), *args], input=stdin, stdout=stdout, stderr=subprocess.PIPE,
                       text=True, env=ENV, timeout=timeout)
    return r.returncode, [json.loads(l) for l in (r.stdout or "").splitlines() if l.strip()], r.stderr


# ---- the tiny test runner -------------------------------------------------------------------

_results = []


class Skip(Exception):
    """raise Skip("needs ...") in a test: counted as skipped, said aloud."""


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def need_shared(rel):
    """The path of ../shared/rel; skips the calling test when it is not there."""
    path = os.path.join(SHARED, rel)
    if not os.path.exists(path):
        raise Skip("needs ../shared/%s (not found in %s)" % (rel, SHARED))
    return path


def run(tests):
    for t in tests:
        start = time.time()
        try:
            t()
            _results.append("ok")
            print("ok   %s (%.1fs)" % (t.__name__, time.time() - start), flush=True)
        except Skip as e:
            _results.append("skip")
            print("skip %s: skipped: %s" % (t.__name__, e), flush=True)
        except Exception:
            _results.append("fail")
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc(file=sys.stdout)
    failed = _results.count("fail")
    print("%d passed, %d failed, %d skipped" % (_results.count("ok"), failed, _results.count("skip")),
          flush=True)
    return 1 if failed else 0
