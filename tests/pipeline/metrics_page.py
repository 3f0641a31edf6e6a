"""The gateway's Prometheus page as Prometheus reads it (docs/PROTOCOL.md §8), for the pipeline tests:
get a path, parse the text format (every sample under a # HELP and # TYPE of its family, histograms
cumulative and ending at +Inf = _count; a format error fails the test), look a sample up, wait for
one. url is http://HOST:PORT of the metrics listener."""
import re
import time
import urllib.error
import urllib.request

from pipe_harness import check

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def get(url, path):
    """(status, Content-Type, body) of url + path, error statuses included."""
    try:
        with urllib.request.urlopen(url + path, timeout=5) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def parse(text):
    """{family: {"type", "help", "samples": [(name, labels dict, value)]}}; raises on a format error."""
    fams, cur = {}, None
    for n, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            check(name not in fams, "line %d: family %s twice" % (n, name))
            fams[name] = cur = {"help": help_, "type": None, "samples": []}
            cur["name"] = name
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            check(cur and cur["name"] == name and cur["type"] is None, "line %d: TYPE without its HELP" % n)
            check(typ in ("counter", "gauge", "histogram"), "line %d: type %s" % (n, typ))
            cur["type"] = typ
        else:
            m = SAMPLE.match(line)
            check(m, "line %d: not a sample: %r" % (n, line))
            name, labels, value = m.group(1), dict(LABEL.findall(m.group(3) or "")), float(m.group(4))
            base = cur["name"] if cur else None
            ok = name == base or (cur and cur["type"] == "histogram" and name in
                                  (base + "_bucket", base + "_sum", base + "_count"))
            check(ok, "line %d: sample %s outside its family (%s)" % (n, name, base))
            if cur["type"] == "counter":
                check(value >= 0, "line %d: negative counter" % n)
            cur["samples"].append((name, labels, value))
    for f in fams.values():
        check(f["type"], "family %s has no TYPE" % f["name"])
        if f["type"] == "histogram":
            check_histogram(f)
    return fams


def check_histogram(f):
    series = {}
    for name, labels, value in f["samples"]:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        s = series[key]
        if name.endswith("_bucket"):
            s["buckets"].append((labels["le"], value))
        elif name.endswith("_sum"):
            s["sum"] = value
        else:
            s["count"] = value
    for key, s in series.items():
        b = s["buckets"]
        check(b and b[-1][0] == "+Inf", "%s%s: last bucket is +Inf" % (f["name"], key))
        les = [float(le) for le, _ in b[:-1]]
        check(les == sorted(les), "%s: bounds increase" % f["name"])
        counts = [v for _, v in b]
        check(counts == sorted(counts), "%s%s: buckets cumulative: %r" % (f["name"], key, counts))
        check(s["count"] == counts[-1], "%s%s: _count == +Inf bucket" % (f["name"], key))
        check(s["sum"] is not None and s["sum"] >= 0, "%s%s: _sum" % (f["name"], key))


def value(fams, name, **labels):
    fam = re.sub(r"_(count|sum|bucket)$", "", name) if name not in fams else name
    for n, l, v in fams[fam]["samples"]:
        if n == name and all(l.get(k) == str(x) for k, x in labels.items()):
            return v
    return None


def wait_value(url, name, pred, timeout=5.0, **labels):
    """Polls url's /metrics until the sample satisfies pred or timeout: (families, value or None)."""
    end = time.time() + timeout
    while True:
        fams = parse(get(url, "/metrics")[2])
        v = value(fams, name, **labels)
        if (v is not None and pred(v)) or time.time() > end:
            return fams, v
        time.sleep(0.1)
