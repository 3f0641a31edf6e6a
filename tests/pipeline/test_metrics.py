#!/usr/bin/python3
# zembed: asan
"""The gateway's Prometheus page (docs/PROTOCOL.md §8): http://HOST:PORT+11/metrics by default, parsed
as Prometheus would (every sample under a # HELP and # TYPE of its family, histogram buckets cumulative
and ending at +Inf = _count, _sum present); the numbers follow what happened (requests by op and code,
stage latencies, workers alive, a lost worker and its restart); /healthz is 503 while a stage has no
worker; --metrics moves the page and --metrics off removes it."""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics_page  # noqa: E402
from metrics_page import value  # noqa: E402
from pipe_harness import Client, Pipeline, check, free_base, gen_model, run  # noqa: E402

MODEL = gen_model()
# --dead-ms: short enough for a quick test, long enough that an ASan worker on a loaded machine does
# not miss it between two heartbeats (100 ms apart) and get counted lost.
P = Pipeline(MODEL, gw_args=["--timeout-ms", "5000", "--dead-ms", "1500"])
P.wait_ready()
P.wait_workers()
C = Client(P.endpoint)
URL = "http://127.0.0.1:%d" % (P.base + 11)



def get(path, url=None):
    return metrics_page.get(url or URL, path)


def wait_value(name, pred, timeout=5.0, **labels):
    return metrics_page.wait_value(URL, name, pred, timeout, **labels)


def test_format_and_counts():
    for _ in range(3):
        check(C.call({"op": "embed", "texts": ["a cat", "a dog"]})["ok"], "embed")
    check(C.call({"op": "tokenize", "texts": ["a cat"]})["ok"], "tokenize")
    r = C.call({"op": "embed", "texts": ["x"], "dimensions": 0})
    check(not r["ok"] and r["error"]["code"] == "out_of_range", "an invalid request: %r" % r)
    check(C.call({"op": "health"})["ok"], "health")
    status, ctype, text = get("/metrics")
    check(status == 200 and ctype.startswith("text/plain; version=0.0.4"), "status %d, %s" % (status, ctype))
    fams, v = wait_value("zembed_requests_total", lambda v: v >= 3, op="embed", code="ok")
    check(v == 3, "3 embeds ok, got %r" % v)
    check(value(fams, "zembed_requests_total", op="tokenize", code="ok") == 1, "1 tokenize")
    check(value(fams, "zembed_requests_total", op="embed", code="out_of_range") == 1, "the invalid one, by code")
    check(value(fams, "zembed_requests_total", op="health", code="ok") >= 1, "health counted")
    for st in ("tokenizer", "encoder", "pooler"):
        check(value(fams, "zembed_workers_alive", stage=st) == 1, "one %s alive" % st)
        check(value(fams, "zembed_stage_duration_seconds_count", stage=st) >= 3, "%s latencies observed" % st)
    check(value(fams, "zembed_request_duration_seconds_count", op="embed") == 3, "embed latency: 3 observations")
    check(value(fams, "zembed_curve_enabled") == 0, "CURVE off here")
    fams, n = wait_value("zembed_batch_tokens_count", lambda v: v >= 3)
    check(n >= 3, "encoder batches reported by heartbeat: %r" % n)
    check(value(fams, "zembed_batch_tokens_sum") >= 3 * 4, "tokens of those batches")
    for fam in ("zembed_redispatched_total", "zembed_duplicates_dropped_total", "zembed_retries_total",
                "zembed_in_flight", "zembed_batch_tokens", "zembed_worker_restarts_total"):
        check(fam in fams, "family %s present" % fam)


def test_healthz_and_worker_restart():
    status, _, text = get("/healthz")
    check(status == 200 and text.startswith("serving"), "healthz: %d %s" % (status, text))
    enc = P.workers["encoder_svc"][0]
    enc.send_signal(signal.SIGKILL)
    enc.wait(timeout=10)
    fams, v = wait_value("zembed_workers_alive", lambda v: v == 0, timeout=15, stage="encoder")
    check(v == 0, "encoder gone from workers_alive: %r" % v)
    status, _, text = get("/healthz")
    check(status == 503 and "encoder 0" in text, "healthz without an encoder: %d %s" % (status, text))
    check(value(fams, "zembed_workers_lost_total", stage="encoder") == 1, "the lost encoder counted")
    P.start("encoder_svc")
    fams, v = wait_value("zembed_worker_restarts_total", lambda v: v == 1, timeout=20, stage="encoder")
    check(v == 1, "the new encoder is a restart: %r" % v)
    check(value(fams, "zembed_worker_starts_total", stage="encoder") == 2, "two encoder starts")
    check(value(fams, "zembed_worker_restarts_total", stage="tokenizer") == 0, "no tokenizer restart")
    check(C.call({"op": "embed", "texts": ["after"]}, timeout=10)["ok"], "serving again")
    check(get("/healthz")[0] == 200, "healthz 200 again")
    check(get("/nothing")[0] == 404, "other paths: 404")


def test_metrics_flag():
    base = free_base()
    port = base + 13
    Q = Pipeline(MODEL, gw_args=["--metrics", "127.0.0.1:%d" % port], tok=0, enc=0, pool=0, name="moved")
    Q.base, Q.endpoint = Q.base, Q.endpoint
    end = time.time() + 10
    while time.time() < end:
        try:
            status, _, text = get("/metrics", "http://127.0.0.1:%d" % port)
            break
        except OSError:
            time.sleep(0.1)
    check(status == 200 and "zembed_requests_total" in text, "--metrics HOST:PORT moves the page")
    R = Pipeline(MODEL, gw_args=["--metrics", "off"], tok=0, enc=0, pool=0, name="off")
    time.sleep(1.0)
    check(R.gateway.poll() is None, "gateway with --metrics off runs")
    s = socket.socket()
    refused = s.connect_ex(("127.0.0.1", R.base + 11)) != 0
    s.close()
    check(refused, "--metrics off: nothing listens on +11")
    check("metrics: off" in R.log(R.gateway), "the log says metrics are off")
    for p in (Q, R):
        codes = p.stop_all()
        check(all(v == 0 for v in codes.values()), "clean exit: %r" % codes)


def test_clean_exit():
    C.close()
    codes = P.stop_all()
    check(all(v in (0, -9) for v in codes.values()), "exit statuses after SIGTERM (ASan: leaks fail it): %r" % codes)


if __name__ == "__main__":
    sys.exit(run([test_format_and_counts, test_healthz_and_worker_restart, test_metrics_flag, test_clean_exit]))
