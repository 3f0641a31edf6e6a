#!/usr/bin/python3
# zembed: asan
"""End to end through real processes on loopback (gateway + one worker per stage, a generated tiny
model): every op of docs/PROTOCOL.md, its errors, equality with the local `zembed encode` and
`zembed tokenize`, malformed client and stage messages, ingestion, REQ and DEALER clients, the
remote CLI, unavailable / overloaded / timeout answers and a clean SIGTERM stop."""
import os
import socket
import struct
import sys
import time

import msgpack
import numpy as np
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipe_harness import (Client, Pipeline, check, gen_model, run, run_cli, tensor)  # noqa: E402

MODEL = gen_model()
P = Pipeline(MODEL, gw_args=["--timeout-ms", "8000", "--max-texts", "64"])
INFO = P.wait_ready()
C = Client(P.endpoint)

TEXTS = ["Hello, world!", "The quick brown fox jumps over the lazy dog.", "", "naïve café — déjà vu",
         "東京は日本の首都です", "x " * 200, "Short.", "unbelievably tokenizable words"]


def err(r):
    return r.get("error", {}).get("code"), r.get("error", {}).get("message", "")


def embed(texts, **kw):
    r = C.call(dict(op="embed", texts=texts, **kw))
    check(r["ok"], "embed failed: %r" % (r,))
    return r


def test_health_and_info():
    r = P.wait_workers()           # every stage has a live worker: "serving"
    check(r["ok"] and r["status"] == "serving" and r["op"] == "health", r)
    check(r["limits"]["max_texts"] == 64 and r["limits"]["timeout_ms"] == 8000, r)
    i = C.call({"op": "info", "id": "my-id"})
    check(i["ok"] and i["id"] == "my-id", i)
    check(i["dim"] == 32 and i["hidden"] == 32 and i["layers"] == 2 and i["max_length"] == 128, i)
    check(i["vocab_size"] == 30522 and i["pooling"] == "mean" and i["demo_model"] is True, i)
    check(i["versions"]["protocol"] == 1 and i["model_type"] == "bert", i)
    pids = {str(p.pid) for ps in P.workers.values() for p in ps}
    for stage in ("tokenizer", "encoder", "pooler"):
        check(i["workers"][stage].split("@")[0] in pids, (stage, i["workers"]))


def test_embed_equals_local_encode():
    r = embed(TEXTS)
    e = tensor(r["embeddings"])
    check(e.shape == (len(TEXTS), 32) and e.dtype == np.float32, e.shape)
    check(r["dimensions"] == 32 and r.get("demo_model") is True, r)
    rc, lines, stderr = run_cli(["encode", "--model", MODEL], "\n".join(TEXTS) + "\n")
    check(rc == 0, "zembed encode failed: " + stderr)
    ref = np.array([l["embedding"] for l in lines], dtype=np.float32)
    check(ref.shape == e.shape, (ref.shape, e.shape))
    diff = float(np.abs(ref - e).max())
    check(diff <= 1e-5, "pipeline vs zembed encode: max abs diff %g" % diff)
    # token counts per input are those of zembed tokenize
    rc, toks, stderr = run_cli(["tokenize", "--model", MODEL], "\n".join(TEXTS) + "\n")
    check(rc == 0, stderr)
    check(r["tokens"] == [len(t["input_ids"]) for t in toks], (r["tokens"], [len(t["input_ids"]) for t in toks]))


def test_token_and_input_embeddings_equal_local():
    for op, output in (("token_embeddings", "tokens"), ("input_embeddings", "input")):
        r = C.call({"op": op, "texts": TEXTS[:4]})
        check(r["ok"], r)
        rc, lines, stderr = run_cli(["encode", "--model", MODEL, "--output", output],
                                    "\n".join(TEXTS[:4]) + "\n")
        check(rc == 0, "zembed encode --output %s failed: %s" % (output, stderr))
        for i in range(4):
            t = tensor(r["embeddings"][i])
            check(t.shape == (r["tokens"][i], 32), t.shape)
            check(r["pieces"][i][0] == "[CLS]" and r["pieces"][i][-1] == "[SEP]", r["pieces"][i])
            ref = np.array(lines[i]["token_embeddings"], dtype=np.float32)
            check(ref.shape == t.shape, (op, ref.shape, t.shape))
            diff = float(np.abs(ref - t).max())
            check(diff <= 1e-4, "%s text %d: max abs diff %g" % (op, i, diff))
    # input embeddings are context free: the same id gives the same row in any text
    r = C.call({"op": "input_embeddings", "texts": ["dog", "the dog"]})
    a, b = tensor(r["embeddings"][0]), tensor(r["embeddings"][1])
    check(np.array_equal(a[1], b[2]), "input embedding of 'dog' depends on context")


def test_embed_options():
    full = tensor(embed(TEXTS[:3], normalize=False)["embeddings"])
    n = tensor(embed(TEXTS[:3], normalize=True)["embeddings"])
    check(np.allclose(np.linalg.norm(n, axis=1), 1, atol=1e-5), "normalize")
    check(np.allclose(n, full / np.linalg.norm(full, axis=1, keepdims=True), atol=1e-6), "normalize values")
    d = tensor(embed(TEXTS[:3], normalize=True, dimensions=8)["embeddings"])
    cut = full[:, :8] / np.linalg.norm(full[:, :8], axis=1, keepdims=True)
    check(d.shape == (3, 8) and np.allclose(d, cut, atol=1e-6), "Matryoshka: cut then renormalize")
    raw8 = tensor(embed(TEXTS[:3], normalize=False, dimensions=8)["embeddings"])
    check(np.array_equal(raw8, full[:, :8]), "dimensions without normalize: a plain cut")
    h = embed(TEXTS[:3], normalize=True, dtype="float16")["embeddings"]
    check(h["dtype"] == "float16" and np.array_equal(tensor(h), n.astype(np.float16)), "float16")
    clamp = np.clip(n, -1, 1)
    i8 = embed(TEXTS[:3], normalize=True, dtype="int8")["embeddings"]
    want = ((clamp + 1) / np.float32(2 / 255) - 128).astype(np.int8)
    check(i8["dtype"] == "int8" and np.abs(tensor(i8).astype(int) - want).max() <= 1, "int8")
    u8 = embed(TEXTS[:3], normalize=True, dtype="uint8")["embeddings"]
    check(u8["dtype"] == "uint8" and np.abs(tensor(u8).astype(int) - ((clamp + 1) / np.float32(2 / 255)).astype(np.uint8)).max() <= 1, "uint8")
    ub = embed(TEXTS[:3], dtype="ubinary", dimensions=12)["embeddings"]
    bits = np.packbits(full[:, :12] > 0, axis=1)
    check(ub["shape"] == [3, 2] and np.array_equal(tensor(ub), bits), "ubinary")
    b = embed(TEXTS[:3], dtype="binary")["embeddings"]
    check(b["dtype"] == "int8" and np.array_equal(tensor(b), (np.packbits(full > 0, axis=1).astype(int) - 128).astype(np.int8)), "binary")
    r = C.call({"op": "embed", "texts": ["a"], "dimensions": 33})
    check(err(r)[0] == "out_of_range" and "33" in err(r)[1] and "32" in err(r)[1], r)


def test_truncation():
    long = "word " * 300
    r = C.call({"op": "embed", "texts": ["ok", long], "truncate": False})
    check(not r["ok"] and err(r) == ("too_long", "texts[1] has 302 tokens; max_length is 128 and truncate is false"), r)
    right = embed([long + "tail"])
    check(right["tokens"] == [128], right["tokens"])
    t = C.call({"op": "tokenize", "texts": ["one two " * 100], "truncate": True, "truncation_direction": "left"})
    check(t["ok"] and t["tokens"] == [128] and t["results"][0]["tokens"][-2] == "two", t["results"][0]["tokens"][-3:])
    t = C.call({"op": "tokenize", "texts": [long]})
    check(t["ok"] and t["tokens"] == [302], "tokenize counts long texts by default")
    t = C.call({"op": "tokenize", "texts": [long], "max_length": 300})
    check(err(t) == ("too_long", "texts[0] has 302 tokens; max_length is 300 and truncate is false"), t)
    r = embed(["ok", long], max_length=16)
    check(r["tokens"] == [3, 16], r["tokens"])
    e16 = tensor(r["embeddings"])[1]
    rc, lines, stderr = run_cli(["encode", "--model", MODEL, "--max-length", "16"], long + "\n")
    check(rc == 0 and np.abs(np.array(lines[0]["embedding"], dtype=np.float32) - e16).max() <= 1e-5,
          "max_length 16 differs from zembed encode --max-length 16")
    r = C.call({"op": "embed", "texts": [long], "max_length": 200})
    check(err(r) == ("out_of_range", "texts[0] has 200 tokens; the model takes at most 128 "
                     "(max_position_embeddings 128, --max-batch-tokens 8192)"), r)     # the tiny model's positions


def test_tokenize_equals_local():
    r = C.call({"op": "tokenize", "texts": TEXTS, "truncate": True})
    check(r["ok"], r)
    rc, lines, stderr = run_cli(["tokenize", "--model", MODEL], "\n".join(TEXTS) + "\n")
    check(rc == 0, stderr)
    for i, (res, ref) in enumerate(zip(r["results"], lines)):
        check(res["ids"] == ref["input_ids"], (i, res["ids"], ref["input_ids"]))
        check(res["tokens"] == ref["tokens"], (i, res["tokens"], ref["tokens"]))
        check(res["offsets"] == ref["offsets"], (i, res["offsets"], ref["offsets"]))
    c = C.call({"op": "tokenize", "texts": TEXTS, "count_only": True, "truncate": True})
    check(c["ok"] and "results" not in c and c["tokens"] == r["tokens"], c)
    n = C.call({"op": "tokenize", "texts": ["hello"], "add_special_tokens": False})
    check(n["results"][0]["tokens"] == ["hello"] and n["results"][0]["special"] == [False], n)
    for flags in ([], ["--no-truncate"], ["--max-length", "5"], ["--no-special-tokens", "--truncation-side", "left"]):
        rc, lines, stderr = run_cli(["tokenize", "--endpoint", P.endpoint, *flags], "\n".join(TEXTS) + "\n")
        rc2, local, _ = run_cli(["tokenize", "--model", MODEL, *flags], "\n".join(TEXTS) + "\n")
        for k, (a, b) in enumerate(zip(lines, local)):      # error messages say where differently
            if "error" in b:
                check(a.get("error", {}).get("code") == b["error"]["code"], (flags, k, a, b))
            else:
                check(a == b, (flags, k, a, b))
        check(rc == rc2 and len(lines) == len(local), ("zembed tokenize --endpoint vs local", flags, rc, rc2))


def test_similarity():
    a, b = TEXTS[:3], TEXTS[3:7]
    r = C.call({"op": "similarity", "a": a, "b": b})
    check(r["ok"], r)
    s = tensor(r["scores"])
    ea, eb = tensor(embed(a)["embeddings"]), tensor(embed(b)["embeddings"])
    ea = ea / np.linalg.norm(ea, axis=1, keepdims=True)
    eb = eb / np.linalg.norm(eb, axis=1, keepdims=True)
    check(s.shape == (3, 4) and np.allclose(s, ea @ eb.T, atol=1e-5), "cosine matrix")
    check(r["tokens_a"] == embed(a)["tokens"], r)
    for space, op in (("output", "token_embeddings"), ("input", "input_embeddings")):
        t = C.call({"op": "similarity", "a": ["big dog"], "b": ["a small cat"], "mode": "tokens", "space": space})
        check(t["ok"], t)
        m = tensor(t["scores"])
        check(m.shape == (4, 5) and t["pieces_a"] == ["[CLS]", "big", "dog", "[SEP]"], (m.shape, t))
        e = C.call({"op": op, "texts": ["big dog", "a small cat"]})
        x, y = tensor(e["embeddings"][0]), tensor(e["embeddings"][1])
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        y = y / np.linalg.norm(y, axis=1, keepdims=True)
        check(np.allclose(m, x @ y.T, atol=1e-5), "token-by-token " + space)
    r = C.call({"op": "similarity", "a": ["x", "y"], "b": ["z"], "mode": "tokens"})
    check(err(r)[0] == "invalid_argument" and "exactly one" in err(r)[1], r)
    rc, lines, _ = run_cli(["similarity", "--endpoint", P.endpoint], "%s\t%s\n%s\t%s\n" % (a[0], b[0], a[1], b[1]))
    check(rc == 0 and abs(lines[0]["similarity"] - s[0, 0]) < 1e-6 and abs(lines[1]["similarity"] - s[1, 1]) < 1e-6, lines)


def test_request_errors():
    cases = [
        ({"op": "fly"}, "unsupported", 'op: "fly" is not an operation'),
        ({"op": "embed", "texts": ["a"], "v": 2}, "unsupported", "version 2"),
        ({"op": "embed", "texts": ["a", 5]}, "invalid_argument", "texts[1]: expected str, got int"),
        ({"op": "embed", "texts": []}, "invalid_argument", "texts: empty"),
        ({"op": "embed", "texts": ["a"] * 65}, "too_long", "max_texts is 64"),
        ({"op": "embed", "texts": ["a"], "colour": 1}, "invalid_argument", 'colour: not an argument of op "embed"'),
        ({"op": "embed", "texts": ["a"], "dtype": "int4"}, "invalid_argument", 'dtype: "int4"'),
        ({"op": "embed", "texts": ["a"], "timeout_ms": 10 ** 7}, "invalid_argument", "timeout_ms"),
        ({"op": "tokenize", "texts": ["a" * 70000]}, "too_long", "texts[0] has 70000 bytes; max_text_bytes is 65536"),
    ]
    for req, code, needle in cases:
        r = C.call(dict(req, id="e"))
        check(not r["ok"] and r["id"] == "e" and err(r)[0] == code and needle in err(r)[1], (req.get("op"), r))
    r = C.call(None, raw=msgpack.packb({"v": 1, "op": "embed", "texts": ["a"], "id": "x" * 300}))
    check(err(r)[0] == "invalid_argument" and "id:" in err(r)[1] and r["id"] is None, r)
    # invalid UTF-8 is found by the tokenizer and names the text
    raw = msgpack.packb({"v": 1, "id": 9, "op": "embed", "texts": ["ok", "x"]})
    raw = raw.replace(b"\xa1x", b"\xa1\xff")
    r = C.call(None, raw=raw)
    check(err(r)[0] == "invalid_utf8" and "texts[1]" in err(r)[1] and r["id"] == 9, r)


def test_malformed_frames_get_error_replies():
    bad = [b"", b"\xc1", b"\x93\x01", b"\xdd\xff\xff\xff\xff", b"\x91" * 40 + b"\x00",
           msgpack.packb([1, 2, 3]), msgpack.packb({"v": 1, "op": "embed"}) + b"junk",
           msgpack.packb({1: 2, "v": 1, "op": "info"})]
    for raw in bad:
        r = C.call(None, raw=raw)
        check(r["ok"] is False and r["error"]["code"] in ("bad_format", "invalid_argument"), (raw[:8], r))
    # an envelope too deep to be a client: dropped, and the gateway keeps serving
    d = zmq.Context.instance().socket(zmq.DEALER)
    d.connect(P.endpoint)
    d.send_multipart([b"a", b"b", b"c", b"d", b"e", b"body"])
    d.close(linger=0)
    check(C.call({"op": "embed", "texts": ["still serving"]})["ok"], "gateway stopped serving")
    # a frame over --max-msg-bytes: ZeroMQ drops that connection, nobody else notices
    big = zmq.Context.instance().socket(zmq.DEALER)
    big.connect(P.endpoint)
    big.send_multipart([b"", b"\x00" * (17 << 20)])
    # a client that leaves before its reply: the reply is dropped, the request leaves the table
    gone = zmq.Context.instance().socket(zmq.DEALER)
    gone.connect(P.endpoint)
    gone.send_multipart([b"", msgpack.packb({"v": 1, "op": "embed", "texts": ["bye"] * 20})])
    time.sleep(0.2)
    big.close(linger=0)
    gone.close(linger=0)
    check(C.call({"op": "embed", "texts": ["still serving"]})["ok"], "gateway stopped serving")
    end = time.time() + 10
    while C.call({"op": "health"})["in_flight"] and time.time() < end:
        time.sleep(0.05)
    check(C.call({"op": "health"})["in_flight"] == 0, "a request stayed in flight")


def test_malformed_stage_messages():
    """Anything that can reach a stage port can send garbage: workers answer or drop, never die."""
    ctx = zmq.Context.instance()
    socks = []
    for off in (6, 8, 10):          # tokenizers -> encoders, encoders -> poolers, sink
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 1000)
        s.connect(P.port(off))
        socks.append(s)
    lie = {"j": 12345, "id": 1, "op": 0, "o": [1, 0, -1, 0, 0, 1, 0, 0, 0], "n": 2, "na": 0,
           "lens": {"dtype": "int32", "shape": [2], "data": struct.pack("<2i", 3, 100)},
           "ids": {"dtype": "int32", "shape": [3], "data": struct.pack("<3i", 101, 7, 102)}}
    out_of_vocab = dict(lie, lens={"dtype": "int32", "shape": [1], "data": struct.pack("<i", 3)}, n=1,
                        ids={"dtype": "int32", "shape": [3], "data": struct.pack("<3i", 101, 10 ** 6, 102)})
    for s in socks[:2]:
        for raw in (b"garbage", b"\xdd\xff\xff\xff\xff", msgpack.packb(lie), msgpack.packb(out_of_vocab)):
            s.send(raw)
    socks[2].send_multipart([b"12345678", b"not ours"])
    socks[2].send(b"one frame")
    time.sleep(0.3)
    for s in socks:
        s.close()
    r = C.call({"op": "embed", "texts": ["after the garbage"]})
    check(r["ok"], r)
    for p in P.workers["encoder_svc"] + P.workers["pooler_svc"] + [P.gateway]:
        check(p.poll() is None, "%s died: %s" % (p.args[0], P.log(p)[-500:]))


def test_req_client_and_ingestion():
    req = Client(P.endpoint, kind=zmq.REQ)
    r = req.call({"op": "embed", "texts": ["via REQ"], "id": "q"})
    check(r["ok"] and r["id"] == "q", r)
    req.close()
    ctx = zmq.Context.instance()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    push.setsockopt(zmq.LINGER, 0)
    pull.setsockopt(zmq.LINGER, 0)
    push.connect(P.port(1))
    pull.connect(P.port(2))
    time.sleep(0.2)
    for k in range(10):
        push.send(msgpack.packb({"v": 1, "id": k, "op": "embed", "texts": ["stream %d" % k]}))
    push.send(b"\xc1")
    got = {}
    for _ in range(11):
        check(pull.poll(10000), "an ingested request was not answered")
        r = msgpack.unpackb(pull.recv())
        got[r["id"]] = r
    check(all(got[k]["ok"] for k in range(10)) and got[None]["error"]["code"] == "bad_format", got.keys())
    push.close()
    pull.close()


def test_remote_cli():
    lines_in = "\n".join(TEXTS[:4]) + "\n"
    rc, remote, stderr = run_cli(["embed", "--endpoint", P.endpoint, "--batch", "3"], lines_in)
    check(rc == 0 and len(remote) == 4, stderr)
    rc, local, stderr = run_cli(["encode", "--model", MODEL], lines_in)
    check(rc == 0, "zembed encode failed: " + stderr)
    check(np.abs(np.array([l["embedding"] for l in remote]) - np.array([l["embedding"] for l in local])).max() <= 1e-5,
          "zembed embed --endpoint differs from zembed encode")
    # a generated demo model: the replies' flag reaches every line, remote and local alike
    check(all(l.get("demo_model") is True for l in remote + local) and "demo model" in stderr,
          ("demo_model not on every line", remote[0].keys(), local[0].keys(), stderr))
    rc, rtok, _ = run_cli(["tokenize", "--endpoint", P.endpoint], lines_in)
    rc2, ltok, _ = run_cli(["tokenize", "--model", MODEL], lines_in)
    check(rc == 0 and rc2 == 0 and rtok == ltok and rtok[0]["demo_model"] is True, (rtok[:1], ltok[:1]))
    # one bad line among good ones: only it gets an error object
    rc, out, _ = run_cli(["embed", "--endpoint", P.endpoint, "--no-truncate"], "ok\n" + "w " * 300 + "\nfine\n")
    check(rc == 1 and "embedding" in out[0] and out[1]["error"]["code"] == "too_long" and "line 2" in out[1]["error"]["message"]
          and "embedding" in out[2], out)
    rc, out, _ = run_cli(["info", "--endpoint", P.endpoint])
    check(rc == 0 and out[0]["dim"] == 32, out)
    # stdout on a full disk: exit 2 with the reason, as the local commands (tests/cli/test_cli_front)
    # (a line longer than stdio's buffer fails inside printf, before the final flush: "w " * 400 makes one)
    for args, stdin in ((["embed"], lines_in), (["tokenize"], lines_in), (["similarity"], "a\tb\n"), (["info"], ""),
                        (["embed", "--output", "tokens"], "w " * 400 + "\n")):
        with open("/dev/full", "wb") as full:
            rc, _, err = run_cli([*args, "--endpoint", P.endpoint], stdin, stdout=full)
        check(rc == 2 and "zembed %s: writing the output failed: No space left on device" % args[0] in err,
              ("remote %s into /dev/full" % args[0], rc, err[-300:]))
    # nothing listening: a clear message and status 2, quickly
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = "tcp://127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    t0 = time.time()
    rc, out, stderr = run_cli(["embed", "--endpoint", dead, "--timeout-ms", "500"], "x\n")
    check(rc == 2 and "no gateway at " + dead in stderr and time.time() - t0 < 10, (rc, stderr))


def test_unavailable_overloaded_timeout():
    lone = Pipeline(MODEL, gw_args=["--timeout-ms", "400", "--max-in-flight", "2"], tok=0, enc=0, pool=0, name="lone")
    c = Client(lone.endpoint)
    try:
        ids = [c.send({"op": "embed", "texts": ["x"]}) for _ in range(3)]
        got = {}
        for _ in range(3):
            r = c.recv(5)
            got[r["id"]] = r
        check(err(got[ids[2]])[0] == "overloaded", got)
        check(got[ids[2]]["error"].get("retry_after_ms", 0) > 0, got[ids[2]])
        check(err(got[ids[0]])[0] == "unavailable" and "tokenizer_svc" in err(got[ids[0]])[1], got[ids[0]])
        # a tokenizer but no encoder: tokenize works, embed times out with a clear error
        lone.start("tokenizer_svc")
        end = time.time() + 10
        while time.time() < end:
            r = c.call({"op": "tokenize", "texts": ["x"]}, timeout=5)
            if r["ok"]:
                break
        check(r["ok"], r)
        r = c.call({"op": "embed", "texts": ["x"], "timeout_ms": 300}, timeout=5)
        check(err(r)[0] == "timeout" and "dispatched again" in err(r)[1], r)
        h = c.call({"op": "health"})
        check(h["failed"] >= 3 and h["in_flight"] == 0, h)
    finally:
        c.close()
        codes = lone.stop_all()
    check(all(v == 0 for v in codes.values()), codes)


def test_clean_stop():
    C.close()
    codes = P.stop_all()
    check(all(v == 0 for v in codes.values()), "exit statuses after SIGTERM: %r" % codes)
    for p in P.procs.values():
        check("stopping" in P.log(p), P.log(p)[-300:])


if __name__ == "__main__":
    sys.exit(run([test_health_and_info, test_embed_equals_local_encode,
                  test_token_and_input_embeddings_equal_local, test_embed_options, test_truncation,
                  test_tokenize_equals_local, test_similarity, test_request_errors,
                  test_malformed_frames_get_error_replies, test_malformed_stage_messages,
                  test_req_client_and_ingestion, test_remote_cli, test_unavailable_overloaded_timeout,
                  test_clean_stop]))
