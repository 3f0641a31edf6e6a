#!/usr/bin/python3
"""Example: embed a few sentences with a running zembed pipeline and rank them by similarity.

    deploy/zembed-up &                      # or: make run
    /usr/bin/python3 clients/python/example.py [--endpoint tcp://127.0.0.1:5555] "a query" "doc 1" "doc 2"
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zembed_client import Client, ZembedError  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", default=None, help="default $ZEMBED_ENDPOINT or tcp://127.0.0.1:5555")
    p.add_argument("query", nargs="?", default="A man is playing a guitar.")
    p.add_argument("docs", nargs="*", default=["Someone plays an instrument.", "A woman is slicing an onion.",
                                               "The man is playing music.", "Stocks fell sharply today."])
    a = p.parse_args()
    with Client(a.endpoint, timeout_ms=10000) as c:
        try:
            info = c.info()
            print("model %s: dim %d, max_length %d, pooling %s" % (info["model"], info["dim"], info["max_length"],
                                                                   info["pooling"]))
            if info.get("demo_model"):
                print("note: this is the generated DEMO model (random weights): the scores mean nothing")
            vecs, tokens = c.embed([a.query] + a.docs, normalize=True, with_tokens=True)
            scores = vecs[1:] @ vecs[0]  # normalized, so the dot product is the cosine
            print("query: %r (%d tokens)" % (a.query, tokens[0]))
            for s, d in sorted(zip(scores, a.docs), reverse=True):
                print("  %.4f  %s" % (s, d))
        except (ZembedError, TimeoutError) as e:
            print("error: %s" % e, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
