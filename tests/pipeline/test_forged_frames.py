#!/usr/bin/python3
# zembed: asan
"""Forged-frame catalogue on every port a process outside the pipeline can push into: the encoder
input (+6, forwarded to encoder_svc), the pooler input (+8, to pooler_svc), the result sink (+10) and
the ingestion port (+1). Each case is a frame a hostile local process could send (the reported ones
first: dimensions = -1 and dtype = -1 aborted the pooler, a job already carrying hidden states leaked
them in the encoder, a frame of one-byte items inflated ~24x when unpacked). Nothing aborts, nothing
leaks (under ASan every process must exit 0 after SIGTERM: LeakSanitizer fails the exit), every
refused frame is counted, and the pipeline keeps serving the same vectors."""
import os
import socket
import struct
import sys
import time

import msgpack
import numpy as np
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipe_harness import (Client, Pipeline, check, gen_model, run, tensor)  # noqa: E402

ASAN = "asan" in os.environ.get("ZEMBED_BIN", "")
MODEL = gen_model()
H = 32                          # the tiny model's hidden size
MAX_STAGE = 4 << 20             # --max-stage-bytes for this pipeline: the cap is tested, cheaply
P = Pipeline(MODEL, gw_args=["--timeout-ms", "8000", "--max-stage-bytes", str(MAX_STAGE)])
P.wait_ready()
C = Client(P.endpoint)
PIPELINE = [P.gateway] + [p for ps in P.workers.values() for p in ps]     # not the lone workers below
REF = None


def t_int32(vals):
    return {"dtype": "int32", "shape": [len(vals)], "data": struct.pack("<%di" % len(vals), *vals)}


def t_hidden(rows, cols):
    return {"dtype": "float32", "shape": [rows, cols], "data": b"\x00" * (4 * rows * cols)}


def job(**kw):
    """A well-formed embed job of two texts as the tokenizer makes it (wire_job_pack's keys); kw
    overrides or (value None) removes keys; o_* keys set one option of "o"."""
    opts = {"truncate": 1, "left": 0, "normalize": -1, "dimensions": 0, "dtype": 0, "add_special": 1,
            "count_only": 0, "tokens_mode": 0, "input_space": 0, "max_length": 0}
    for k in list(kw):
        if k.startswith("o_"):
            opts[k[2:]] = kw.pop(k)
    m = {"j": 1 << 40, "id": 7, "op": 0, "o": list(opts.values()), "n": 2, "na": 0,
         "lens": t_int32([3, 2]), "ids": t_int32([101, 7592, 102, 101, 102])}
    for k, v in kw.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    return msgpack.packb(m, use_bin_type=True)


def with_hidden(**kw):
    return job(hidden=t_hidden(5, H), **kw)


def inflating(n):
    """n one-byte items: 24 bytes each once msgpack-c unpacks them."""
    return b"\x82\xa1j\xcf" + struct.pack(">Q", 1 << 40) + b"\xa6pieces\xdd" + struct.pack(">I", n) + b"\x00" * n


# (name, frame) refused by the stage that reads them; ENC: pushed into +6, POOL: into +8
GARBAGE = [
    ("not msgpack", b"garbage"), ("reserved byte", b"\xc1"), ("empty", b""),
    ("array32 declaring 2^32 items", b"\xdd\xff\xff\xff\xff"), ("nested 40 deep", b"\x91" * 40 + b"\x00"),
    ("a list, not a map", msgpack.packb([1, 2, 3])), ("trailing bytes", job() + b"x"),
    ("j missing", job(j=None)), ("j a string", job(j="1")), ("j negative", job(j=-5)),
    ("ttl negative", job(ttl=-1)), ("ttl a string", job(ttl="5")), ("ttl 2^31 ms", job(ttl=1 << 31)),
    ("op missing", job(op=None)), ("op 99", job(op=99)), ("op tokenize", job(op=1)), ("op health", job(op=6)),
    ("o with 9 items", job(o=[0] * 9)), ("o with a float", job(o=[0.5] * 10)), ("o huge", job(o=[2 ** 40] * 10)),
    ("n negative", job(n=-1)), ("n mismatch", job(n=3)), ("na > n", job(na=3)), ("na for embed", job(na=1)),
    ("similarity na 0", job(op=4, na=0)), ("similarity na n", job(op=4, na=2)),
    ("similarity tokens mode with 3 texts", job(op=4, na=1, n=3, o_tokens_mode=1, lens=t_int32([1, 2, 2]))),
    ("lens negative", job(lens=t_int32([-1, 6]))), ("lens not summing", job(lens=t_int32([3, 3]))),
    ("lens wrong dtype", job(lens={"dtype": "float32", "shape": [2], "data": b"\x00" * 8})),
    ("lens short data", job(lens={"dtype": "int32", "shape": [2], "data": b"\x00" * 7})),
    ("lens shape huge", job(lens={"dtype": "int32", "shape": [2 ** 31, 2 ** 31], "data": b""})),
    ("ids missing", job(ids=None)), ("pieces count wrong", job(pieces=["a"])), ("pieces not str", job(pieces=[1] * 5)),
    ("info bad key", job(op=5, info={"k" * 40: 1})), ("info float", job(op=5, info={"k": 1.5})),
    ("info 30 entries", job(op=5, info={"k%d" % i: i for i in range(30)})),
    ("one-byte items inflate", inflating(2 << 20)),
]
# the reported aborts: options out of range
OPTIONS = [("dimensions -1", job(o_dimensions=-1)), ("dtype -1", job(o_dtype=-1)), ("dtype 99", job(o_dtype=99)),
           ("normalize 7", job(o_normalize=7)), ("truncate -1", job(o_truncate=-1)),
           ("max_length negative", job(o_max_length=-1))]
ENC_ONLY = [("hidden already present (leaked 15 MB each)", with_hidden()),
            ("more tokens than --max-job-tokens", job(n=1, lens=t_int32([300000]), ids=t_int32([101] * 300000)))]
POOL_ONLY = [("hidden missing", job()), ("hidden 7 columns", job(hidden=t_hidden(5, 7))),
             ("hidden rows != tokens", job(hidden=t_hidden(4, H))),
             ("a text of 0 tokens", job(lens=t_int32([0, 5]), hidden=t_hidden(5, H))),
             ("tokens mode 1 x 600 tokens", job(op=4, na=1, o_tokens_mode=1, lens=t_int32([1, 600]),
                                               ids=t_int32([5] * 601), hidden=t_hidden(601, H)))]
POOL_OPTS = [(n, f) for n, f in [("dimensions -1", with_hidden(o_dimensions=-1)), ("dtype -1", with_hidden(o_dtype=-1)),
                                 ("dtype 99", with_hidden(o_dtype=99))]]


class LoneWorker:
    """One worker whose every endpoint is a socket of this test: frames reach it unfiltered (in a
    pipeline the gateway already drops frames of jobs it does not know)."""

    def __init__(self, kind):
        ctx = zmq.Context.instance()
        self.push, self.out, self.sink, self.ctl = (ctx.socket(t) for t in (zmq.PUSH, zmq.PULL, zmq.PULL, zmq.PULL))
        eps = []
        for sock in (self.push, self.out, self.sink, self.ctl):
            sock.setsockopt(zmq.LINGER, 0)
            sock.bind("tcp://127.0.0.1:0")
            eps.append(sock.getsockopt_string(zmq.LAST_ENDPOINT))
        args = ["--in", eps[0], "--sink", eps[2], "--control", eps[3]]
        if kind == "encoder_svc":
            args += ["--out", eps[1]]
        self.p = P.start(kind, args)
        check(self.ctl.poll(10000), "%s sends no heartbeat" % kind)

    def send(self, frames):
        for _, f in frames:
            self.push.send(f)

    def alive(self):
        check(self.p.poll() is None, "%s died: %s" % (self.p.args[0], P.log(self.p)[-800:]))

    def sink_replies(self, want, timeout=10):
        """want replies on the sink: [j][reply], each an error."""
        got = []
        while len(got) < want and self.sink.poll(timeout * 1000):
            frames = self.sink.recv_multipart()
            check(len(frames) == 2 and len(frames[0]) == 8, frames[:1])
            got.append(msgpack.unpackb(frames[1]))
        return got

    def stop(self):
        code = P.stop(self.p)
        for sock in (self.push, self.out, self.sink, self.ctl):
            sock.close()
        return code, P.log(self.p)


def push_all(off, frames):
    s = zmq.Context.instance().socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 5000)
    s.connect(P.port(off))
    for _, f in frames:
        s.send(f)
    s.close()           # linger: every frame is handed over


def serving():
    r = C.call({"op": "embed", "texts": ["still serving", "after the forgeries"]})
    check(r["ok"], r)
    e = tensor(r["embeddings"])
    check(REF is None or np.array_equal(e, REF), "vectors changed after the forged frames")
    time.sleep(0.3)     # jobs from other connections may overtake the forged ones: let them land
    for p in PIPELINE:
        check(p.poll() is None, "%s died: %s" % (p.args[0], P.log(p)[-800:]))
    return e


def test_reference():
    global REF
    REF = serving()


ENC_FRAMES = GARBAGE + OPTIONS + ENC_ONLY
POOL_FRAMES = GARBAGE + OPTIONS + POOL_ONLY + POOL_OPTS


def lone_catalogue(kind, frames):
    w = LoneWorker(kind)
    w.send(frames)
    # every refused frame that carries a job number is answered with an error on the sink
    answered = [n for n, f in frames if job_number(f)]
    got = w.sink_replies(len(answered))
    check(len(got) == len(answered) and all(not r["ok"] for r in got),
          "%s: %d error replies for %d refused jobs: %r" % (kind, len(got), len(answered), got[:3]))
    w.alive()
    if kind == "encoder_svc" and ASAN:
        print("note: the memory check is skipped under ASan (its quarantine holds freed memory)")
    if kind == "encoder_svc" and not ASAN:      # memory: refused before unpacking
        def hwm():
            with open("/proc/%d/status" % w.p.pid) as f:
                return int([l for l in f if l.startswith("VmHWM")][0].split()[1]) * 1024
        before = hwm()
        w.send([("inflate", inflating(3 << 20))] * 4)
        check(len(w.sink_replies(4)) == 4, "inflating frames not answered")
        grew = hwm() - before
        # 4 frames of 3 MB may sit in ZeroMQ's queue at once; unpacking one used to take 72 MB
        check(grew < 12 * (3 << 20), "encoder peak memory grew by %d bytes for 3 MB frames" % grew)
        frames = frames + [("inflate", b"")] * 4
    code, log = w.stop()
    check(code == 0, "%s exit status %r after SIGTERM (ASan: leaks fail it): %s" % (kind, code, log[-800:]))
    check("refused %d frames" % len(frames) in log, "%s: expected %d refused: %s" % (kind, len(frames), log[-600:]))


def job_number(f):
    """The job number a worker reads from frame f to answer it (0: none, dropped): wire_peek_j,
    a map whose first key is "j" with an unsigned int."""
    if f[:1] and 0x81 <= f[0] <= 0x8f:
        at = 1
    elif f[:1] == b"\xde" and len(f) >= 3 and f[1:3] != b"\0\0":
        at = 3
    else:
        return 0
    if f[at:at + 2] != b"\xa1j" or len(f) < at + 3:
        return 0
    c, at = f[at + 2], at + 3
    if c <= 0x7f:
        return c
    n = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}.get(c, 0)
    return int.from_bytes(f[at:at + n], "big") if n and len(f) >= at + n else 0


def test_encoder_catalogue():
    lone_catalogue("encoder_svc", ENC_FRAMES)


def test_pooler_catalogue():
    lone_catalogue("pooler_svc", POOL_FRAMES)


def test_gateway_stage_ports():
    """Into the pipeline's stage ports: the gateway drops frames of jobs it does not know."""
    push_all(6, ENC_FRAMES)
    push_all(8, POOL_FRAMES)
    push_all(3, [("not a heartbeat", b"garbage"), ("fake worker", msgpack.packb({"w": "x", "s": 9}))])
    serving()


def zmtp_push_into(endpoint, body, peer_type=b"PULL"):
    """Speaks ZMTP 3.0 (NULL mechanism) by hand on a raw TCP connection, claiming to be peer_type,
    and sends body as one message: how a hostile process gets a frame into a port whose socket
    type never reads (no ZeroMQ socket can: libzmq refuses a DEALER peer at the handshake). Returns
    True when the far end closed (or reset) the connection within 10 s of the message."""
    host, port = endpoint[len("tcp://"):].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as t:
        greeting = b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" * 32
        ready = b"\x05READY\x0bSocket-Type" + struct.pack(">I", len(peer_type)) + peer_type
        t.sendall(greeting + b"\x04" + bytes([len(ready)]) + ready)
        got = b""               # the handshake ends with the peer's READY (a short command frame)
        while len(got) < 66 or len(got) < 66 + got[65]:
            more = t.recv(4096)
            check(more, "%s closed the connection during the ZMTP handshake" % endpoint)
            got += more
        try:                    # one long final frame; the cut may come while it is on its way
            t.sendall(b"\x02" + struct.pack(">Q", len(body)) + body)
            while t.recv(65536):
                pass
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def test_oversized_frames_cut():
    """Frames over --max-stage-bytes: ZeroMQ closes that connection; the rest serves on. The results
    port (+2) is a PUSH that takes nothing: a frame over its 4 KB cap is cut there too."""
    push_all(6, [("big", b"\x00" * (MAX_STAGE + 1))])
    push_all(8, [("big", b"\x00" * (MAX_STAGE + 1))])
    check(zmtp_push_into(P.port(2), b"\x00" * (1 << 20)), "the results port kept a connection sending 1 MB")
    serving()


def test_sink_forgeries():
    s = zmq.Context.instance().socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 2000)
    s.connect(P.port(10))
    s.send_multipart([struct.pack("<Q", 12345), b"not ours"])
    s.send_multipart([b"1234567", b"short job number"])
    s.send_multipart([b"a", b"b", b"c", b"d", b"e", b"f"])
    s.send(b"one frame")
    s.send(b"\x00" * (MAX_STAGE + 1))
    s.close()
    serving()


def test_clean_exit():
    C.close()
    codes = P.stop_all()
    check(all(v == 0 for v in codes.values()), "exit statuses after SIGTERM (ASan: leaks fail it): %r" % codes)
    gw = P.log(P.gateway)
    check("stage frames dropped" in gw and " 0 stage frames dropped" not in gw, gw[-600:])
    for p in PIPELINE:      # one logfmt record per line, never a request's text
        lines = P.log(p).splitlines()
        check(lines and all(l.startswith("ts=") and " stage=" in l and " pid=" in l for l in lines), lines[:3])
        check("forgeries" not in P.log(p), "a request's text is in the log of %s" % p.args[0])


if __name__ == "__main__":
    sys.exit(run([test_reference, test_encoder_catalogue, test_pooler_catalogue, test_gateway_stage_ports,
                  test_oversized_frames_cut, test_sink_forgeries, test_clean_exit]))
