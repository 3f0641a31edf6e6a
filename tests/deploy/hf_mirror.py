#!/usr/bin/python3
"""A loopback stand-in for the Hugging Face hub's file endpoint, for tests of the real download code.

Serves one model folder as {repo}@{main or COMMIT}: GET /{org}/{name}/resolve/{rev}/{path}, with the
hub's headers: X-Repo-Commit on every answer; small files carry their git blob sha1 as ETag; files
named with --lfs are answered like LFS files (302 to /cdn/<sha256>, X-Linked-Etag = sha256). Faults on
demand: --bad-hash FILE (advertise a wrong hash), --drop FILE (close the connection halfway),
--no-etag (send no hashes at all), --hide FILE (404 for it), --rate B (bodies at B bytes/s). Missing files: 404 + X-Error-Code
EntryNotFound; another repo: 401 RepositoryNotFound; another revision: 404 RevisionNotFound.

Binds 127.0.0.1 on a free port and writes the port to --port-file; logs request paths to --log.
"""
import argparse
import hashlib
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet; the request log is ours
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        rate = self.server.args.rate
        if not rate:
            self.wfile.write(body)
            return
        step = max(1, rate // 20)       # --rate: 20 slices a second (progress bars have something to show)
        for at in range(0, len(body), step):
            self.wfile.write(body[at:at + step])
            self.wfile.flush()
            time.sleep(0.05)

    def do_GET(self):
        a = self.server.args
        with open(a.log, "a") as f:
            f.write(self.path + "\n")
        commit = [("X-Repo-Commit", a.commit)]
        if self.path.startswith("/cdn/"):
            return self.send_file(self.server.cdn.get(self.path[5:]), [], None)
        parts = self.path.split("/", 5)  # '', org, name, 'resolve', rev, path
        if len(parts) < 6 or parts[3] != "resolve":
            return self.answer(404, b"not found")
        repo, rev, path = parts[1] + "/" + parts[2], parts[4], parts[5]
        if repo != a.repo:
            return self.answer(401, b"Repository not found", [("X-Error-Code", "RepositoryNotFound")])
        if rev not in ("main", a.commit):
            return self.answer(404, b"Revision not found", [("X-Error-Code", "RevisionNotFound")])
        full = os.path.realpath(os.path.join(a.root, path))
        if path in a.hide or not full.startswith(os.path.realpath(a.root) + "/") or not os.path.isfile(full):
            return self.answer(404, b"Entry not found", commit + [("X-Error-Code", "EntryNotFound")])
        data = open(full, "rb").read()
        if path in a.lfs:
            sha = hashlib.sha256(data).hexdigest()
            self.server.cdn[sha] = (path, data)
            linked = "0" * 64 if path in a.bad_hash else sha
            hdrs = commit + [("Location", "/cdn/" + sha), ("X-Linked-Size", str(len(data)))]
            if not a.no_etag:
                hdrs.append(("X-Linked-Etag", '"%s"' % linked))
            return self.answer(302, b"", hdrs)
        etag = "1" * 40 if path in a.bad_hash else git_blob_sha1(data)
        self.send_file((path, data), commit, None if a.no_etag else 'W/"%s"' % etag)

    def send_file(self, entry, headers, etag):
        if entry is None:
            return self.answer(404, b"no such blob")
        path, data = entry
        if etag:
            headers = headers + [("ETag", etag)]
        if path in self.server.args.drop:  # promise everything, deliver half, hang up
            self.send_response(200)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.answer(200, data, headers)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--commit", default="c0ffee" + "0" * 34)
    p.add_argument("--lfs", action="append", default=[])
    p.add_argument("--bad-hash", action="append", default=[])
    p.add_argument("--drop", action="append", default=[])
    p.add_argument("--hide", action="append", default=[])
    p.add_argument("--no-etag", action="store_true")
    p.add_argument("--rate", type=int, default=0, help="bytes per second for file bodies (0: no limit)")
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", default=os.devnull)
    args = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.args, srv.cdn = args, {}
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
