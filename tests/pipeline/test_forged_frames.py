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
import struct
import sys
import time

import msgpack
import numpy as np
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipe_harness import (Client, Pipeline, Skip, check, gen_model, run, tensor)  # noqa: E402

ASAN = "asan" in os.environ.get("ZEMBED_BIN", "")
MODEL = gen_model()
H = 32                          # the tiny model's hidden size
MAX_STAGE = 4 << 20             # --max-stage-bytes for this pipeline: the cap is tested, cheaply
P = Pipeline(MODEL, gw_args=["--timeout-ms", "8000", "--max-stage-bytes", str(MAX_STAGE)])
P.wait_ready()
C = Client(P.endpoint)
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
    for p in P.workers["tokenizer_svc"] + P.workers["encoder_svc"] + P.workers["pooler_svc"] + [P.gateway]:
        check(p.poll() is None, "%s died: %s" % (p.args[0], P.log(p)[-800:]))
    return e


def test_reference():
    global REF
    REF = serving()


def test_encoder_port():
    push_all(6, GARBAGE + OPTIONS + ENC_ONLY)
    serving()


def test_pooler_port():
    push_all(8, GARBAGE + OPTIONS + POOL_ONLY + POOL_OPTS)
    serving()


def test_memory_bounded_per_frame():
    """A 3 MB frame of one-byte items is refused before unpacking (it used to cost 24x its size)."""
    if ASAN:
        raise Skip("memory figures are meaningless under ASan (its quarantine holds freed memory)")
    enc = P.workers["encoder_svc"][0]

    def hwm():
        with open("/proc/%d/status" % enc.pid) as f:
            return int([l for l in f if l.startswith("VmHWM")][0].split()[1]) * 1024
    before = hwm()
    push_all(6, [("inflate", inflating(3 << 20))] * 4)
    serving()
    grew = hwm() - before
    check(grew < 6 * (3 << 20), "encoder peak memory grew by %d bytes for 3 MB frames" % grew)


def test_oversized_frames_cut():
    """Frames over --max-stage-bytes: ZeroMQ closes that connection; the rest serves on."""
    push_all(6, [("big", b"\x00" * (MAX_STAGE + 1))])
    push_all(8, [("big", b"\x00" * (MAX_STAGE + 1))])
    s = zmq.Context.instance().socket(zmq.DEALER)       # the results port is a PUSH: takes nothing
    s.setsockopt(zmq.LINGER, 0)
    s.connect(P.port(2))
    s.send(b"\x00" * (1 << 20), zmq.NOBLOCK)
    s.close()
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


def test_counted_and_clean_exit():
    C.close()
    codes = P.stop_all()
    check(all(v == 0 for v in codes.values()), "exit statuses after SIGTERM (ASan: leaks fail it): %r" % codes)
    enc_log, pool_log = P.log(P.workers["encoder_svc"][0]), P.log(P.workers["pooler_svc"][0])
    n_enc = len(GARBAGE) + len(OPTIONS) + len(ENC_ONLY) + (0 if ASAN else 4)
    n_pool = len(GARBAGE) + len(OPTIONS) + len(POOL_ONLY) + len(POOL_OPTS)
    check("refused %d frames" % n_enc in enc_log, "encoder: expected %d refused: %s" % (n_enc, enc_log[-600:]))
    check("refused %d frames" % n_pool in pool_log, "pooler: expected %d refused: %s" % (n_pool, pool_log[-600:]))


if __name__ == "__main__":
    sys.exit(run([test_reference, test_encoder_port, test_pooler_port, test_memory_bounded_per_frame,
                  test_oversized_frames_cut, test_sink_forgeries, test_counted_and_clean_exit]))
