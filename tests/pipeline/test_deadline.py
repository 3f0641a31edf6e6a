#!/usr/bin/python3
# zembed: asan
"""Workers know deadlines (docs/PROTOCOL.md §4, "ttl" in §5): a heavy request whose timeout_ms
passes while the encoder computes it a pass at a time is answered `timeout` by the gateway, and the
encoder abandons it at the next pass instead of computing the rest. Observed through counters, not
clocks: the encoder's abandoned count (metrics page, from its heartbeats, and its stop line), and
the tokens it computed in all, fewer than the heavy request holds. A small request sent after the
deadline is answered within the client's timeout, and so is a heavy one without a short deadline
(nothing else changes for clients)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics_page import get, parse, value, wait_value  # noqa: E402
from pipe_harness import Client, Pipeline, check, gen_model, run  # noqa: E402

# MiniLM's shapes with 12 layers (random weights): 256 long texts take the encoder ~20 s on one
# core here, several times the short deadline below, while tokenizing them (ASan, loaded machine)
# takes well under it
MODEL = gen_model("minilm12", ["--preset", "minilm", "--layers", "12"])
P = Pipeline(MODEL, gw_args=["--timeout-ms", "600000"], enc=0, name="deadline")
ENC = P.start("encoder_svc", ["--max-batch-tokens", "512"])
P.wait_ready(timeout=120)
C = Client(P.endpoint)
URL = "http://127.0.0.1:%d" % (P.base + 11)
TEXTS = [" ".join("word%d" % ((i * 7 + k) % 50) for k in range(60)) for i in range(256)]
SHORT_MS = 5000     # the heavy request's timeout_ms: long enough to reach the encoder's lane


def metric(name, stage):
    v = value(parse(get(URL, "/metrics")[2]), name, stage=stage)
    check(v is not None, "%s{stage=%s} not on the metrics page" % (name, stage))
    return int(v)


def wait_metric(name, stage, at_least, timeout=30):
    wait_value(URL, name, lambda v: v >= at_least, timeout, stage=stage)
    return metric(name, stage)


def tokens_of(texts):
    r = C.call({"op": "tokenize", "texts": texts, "truncate": True, "count_only": True}, timeout=30)
    check(r["ok"], r)
    return sum(r["tokens"])


HEAVY, T32 = tokens_of(TEXTS), tokens_of(TEXTS[:32])


def test_heavy_request_past_deadline_is_abandoned():
    check(HEAVY > 50 * 512, "the heavy request must take many passes: %d tokens" % HEAVY)
    hid = C.send({"op": "token_embeddings", "texts": TEXTS, "timeout_ms": SHORT_MS})
    r = C.recv(30)
    check(r["id"] == hid and not r["ok"] and r["error"]["code"] == "timeout", r)
    small = C.call({"op": "embed", "texts": ["a small request after the deadline"]}, timeout=30)
    check(small["ok"], small)
    abandoned = wait_metric("zembed_jobs_abandoned_total", "encoder", 1)
    check(abandoned == 1, "encoder abandoned %d jobs, expected the heavy one: %s" % (abandoned, P.log(ENC)[-800:]))
    check("abandoned part-way" in P.log(ENC), "no log line about the abandoned job: %s" % P.log(ENC)[-800:])
    for stage in ("tokenizer", "encoder", "pooler"):     # nothing else was given up
        check(metric("zembed_jobs_expired_total", stage) == 0, "%s dropped a job" % stage)


def test_no_short_deadline_computes_everything():
    """The same request without a short timeout_ms is computed in full (the lane still works)."""
    r = C.call({"op": "token_embeddings", "texts": TEXTS[:32]}, timeout=300)
    check(r["ok"] and len(r["embeddings"]) == 32, r if not r.get("ok") else len(r["embeddings"]))
    check(metric("zembed_jobs_abandoned_total", "encoder") == 1, "a job without a short deadline was abandoned")


def test_clean_stop_counts():
    C.close()
    codes = P.stop_all()
    check(all(v == 0 for v in codes.values()), codes)
    log = P.log(ENC)
    m = re.search(r"stopping after \d+ jobs in \d+ batches, (\d+) tokens; .* (\d+) jobs past their "
                  r"deadline dropped, (\d+) abandoned part-way", log)
    check(m, "no stop line: %s" % log[-600:])
    tokens, dropped, abandoned = (int(x) for x in m.groups())
    print("note: the encoder computed %d tokens in all; the heavy request alone has %d" % (tokens, HEAVY))
    check(abandoned == 1 and dropped == 0, m.group(0))
    # what the encoder computed in all (the small requests and the 32-text one included) is less
    # than the heavy request alone: it stopped working on it
    check(tokens < HEAVY + T32, "the encoder computed %d tokens; the heavy request alone has %d" % (tokens, HEAVY))


if __name__ == "__main__":
    sys.exit(run([test_heavy_request_past_deadline_is_abandoned, test_no_short_deadline_computes_everything,
                  test_clean_stop_counts]))
