"""Shared by the viz tests: a generated model from the repository's demo vocabulary (no ../shared
needed), the zembed binary, and the browser checks (node + playwright-core + Debian chromium).
Builds on tests/pipeline/pipe_harness.py (processes, the pipeline, the tiny runner)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeline"))
import pipe_harness as H  # noqa: E402

ROOT, TMP, ENV = H.ROOT, H.TMP, H.ENV
ZEMBED = os.path.join(H.BIN, "zembed")
DEMO_VOCAB = os.path.join(ROOT, "deploy", "demo", "vocab.txt")
HERE = os.path.dirname(os.path.abspath(__file__))


def gen_model(name="tiny", preset="tiny", extra=()):
    out = os.path.join(TMP, name)
    r = subprocess.run([ZEMBED, "gen-model", "--out", out, "--vocab", DEMO_VOCAB, "--preset", preset, *extra],
                       capture_output=True, text=True, env=ENV)
    if r.returncode != 0:
        raise RuntimeError("gen-model failed: " + r.stderr)
    return out


def zembed(args, stdin="", timeout=300):
    """(exit status, stdout, stderr) of bin/zembed ARGS."""
    r = subprocess.run([ZEMBED, *args], input=stdin, capture_output=True, text=True, env=ENV, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def zembed_json(args, stdin=""):
    rc, out, err = zembed(args, stdin)
    H.check(rc == 0, "zembed %s: exit %d: %s" % (" ".join(args), rc, err))
    return json.loads(out)


def browser_check(script, *args):
    """Runs tests/viz/SCRIPT (node) and fails with its output unless it passed; returns its
    output. A missing browser or driver is a skip (H.Skip: counted and said aloud)."""
    r = subprocess.run(["node", os.path.join(HERE, script), *args], capture_output=True, text=True,
                       env=dict(ENV, ZEMBED_ROOT=ROOT), timeout=300)
    sys.stdout.write("".join("    | " + l + "\n" for l in r.stdout.splitlines()))
    if "skipped: needs" in r.stdout and r.returncode == 0:
        raise H.Skip(r.stdout.split("skipped: ", 1)[1].splitlines()[0])
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    H.check(r.returncode == 0 and " 0 failed" in last, "%s failed: %s%s" % (script, r.stdout[-3000:], r.stderr[-2000:]))
    return r.stdout
