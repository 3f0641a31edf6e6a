"""zembed_client: a Python client for a running zembed pipeline (docs/PROTOCOL.md, protocol v1).

Needs Debian's python3-zmq, python3-msgpack and python3-numpy (run with /usr/bin/python3):

    from zembed_client import Client
    with Client() as c:                                   # $ZEMBED_ENDPOINT or tcp://127.0.0.1:5555
        vecs = c.embed(["a cat", "a dog"])                 # numpy float32 [2, dim]
        print(c.similarity(["a cat"], ["a dog", "a car"])) # numpy float32 [1, 2]

One DEALER socket; every request carries an id and replies are matched by it, so several requests can
be in flight at once (`embed_stream`). Ids are this session's random prefix plus a counter: when a
reply does not come within `retry_ms` (the gateway restarted, the connection dropped), the request is
sent again with the same id, until `timeout_ms`; the gateway attaches a retry to the running request
or answers it again from a copy, so each request is computed and answered once. Tensors are numpy views of the received bytes (numpy.frombuffer,
no copy), hence read-only. Errors come back as ZembedError with the protocol's stable code.
"""
import itertools
import os
import time
import uuid

import msgpack
import numpy as np
import zmq

PROTOCOL_VERSION = 1
DEFAULT_ENDPOINT = "tcp://127.0.0.1:5555"


class ZembedError(Exception):
    """An error reply: .code is the stable name (invalid_argument, too_long, timeout, ...)."""

    def __init__(self, code, message, reply=None):
        super().__init__("%s: %s" % (code, message))
        self.code, self.message, self.reply = code, message, reply


def tensor(t):
    """A protocol tensor map {dtype, shape, data} as a numpy array viewing its data (no copy)."""
    dtype = np.dtype(t["dtype"]).newbyteorder("<")  # the wire is little-endian
    shape = tuple(t["shape"])
    data = t["data"]
    if len(data) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise ZembedError("bad_format", "tensor of shape %s and dtype %s has %d bytes" % (shape, t["dtype"], len(data)))
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _key_line(path):
    """The one key of a zembed key file (NAME.pub / NAME.key: a 40-character Z85 line, '#' comments)."""
    with open(path, "rb") as f:
        keys = [l.strip() for l in f if l.strip() and not l.lstrip().startswith(b"#")]
    if len(keys) != 1 or len(keys[0]) != 40:
        raise ValueError("%s: expected one 40-character Z85 CURVE key" % path)
    return keys[0]


def curve_keys(server_key=None, client_key=None):
    """(server public, our public, our secret) for CURVE (docs/PROTOCOL.md §7), or None for plaintext.
    server_key: the gateway's NAME.pub file (or its 40-character Z85 text); client_key: our NAME.key
    file. Defaults: $ZEMBED_SERVER_KEY, $ZEMBED_CURVE_KEY; both or neither."""
    server_key = server_key or os.environ.get("ZEMBED_SERVER_KEY") or None
    client_key = client_key or os.environ.get("ZEMBED_CURVE_KEY") or None
    if not server_key and not client_key:
        return None
    if not server_key or not client_key:
        raise ValueError("CURVE needs both the server's public key (server_key, $ZEMBED_SERVER_KEY) and our "
                         "secret key file (client_key, $ZEMBED_CURVE_KEY)")
    if isinstance(server_key, bytes) or (len(server_key) == 40 and not os.path.exists(server_key)):
        server = server_key if isinstance(server_key, bytes) else server_key.encode()
    else:
        server = _key_line(server_key)
    secret = _key_line(client_key)
    return server, zmq.curve_public(secret), secret


def _is_tensor(v):
    return isinstance(v, dict) and "dtype" in v and "shape" in v and "data" in v


def decode(v):
    """Replace every tensor map inside a reply by a numpy array."""
    if _is_tensor(v):
        return tensor(v)
    if isinstance(v, dict):
        return {k: decode(x) for k, x in v.items()}
    if isinstance(v, list):
        return [decode(x) for x in v]
    return v


class Client:
    def __init__(self, endpoint=None, timeout_ms=30000, context=None, retry_ms=3000, server_key=None,
                 client_key=None):
        """server_key, client_key: CURVE (see curve_keys); a gateway that refuses our key (or plaintext)
        never answers: requests time out."""
        self.endpoint = endpoint or os.environ.get("ZEMBED_ENDPOINT") or DEFAULT_ENDPOINT
        self.timeout_ms = timeout_ms
        self.retry_ms = retry_ms
        curve = curve_keys(server_key, client_key)
        self._ctx = context or zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        if curve:
            self._sock.curve_serverkey, self._sock.curve_publickey, self._sock.curve_secretkey = curve
        self._sock.connect(self.endpoint)
        self._session = uuid.uuid4().hex[:16]
        self._ids = itertools.count(1)
        self._early = {}  # replies that arrived while waiting for another id
        self._sent = {}   # id -> request bytes, until answered: resent as they are

    def close(self):
        self._sock.close(0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- transport --
    def send(self, op, **args):
        """Send one request without waiting; returns its id. None-valued arguments are left out."""
        rid = "%s:%d" % (self._session, next(self._ids))     # unique: the gateway de-duplicates it
        req = {"v": PROTOCOL_VERSION, "id": rid, "op": op}
        req.update({k: v for k, v in args.items() if v is not None})
        self._sent[rid] = msgpack.packb(req, use_bin_type=True)
        self._send_raw(rid)
        return rid

    def _send_raw(self, rid):
        # An empty delimiter frame first, as a REQ socket would send: the gateway's ROUTER sees the
        # same envelope from REQ and DEALER clients. Never blocking: a DEALER with no connection
        # (libzmq drops it for good when the gateway refuses the handshake: plaintext to a CURVE
        # gateway, an unknown key) would wait in send forever; the request stays in _sent, the
        # retry loop sends it again, and receive's timeout says no reply came.
        try:
            self._sock.send_multipart([b"", self._sent[rid]], zmq.NOBLOCK)
        except zmq.Again:
            pass

    def receive(self, rid, raw=False):
        """The reply to request rid (decoded tensors unless raw); raises ZembedError on an error reply."""
        reply = self._early.pop(rid, None)
        end = time.monotonic() + self.timeout_ms / 1000
        while reply is None:
            left = end - time.monotonic()
            if left <= 0:
                self._sent.pop(rid, None)
                raise TimeoutError("no reply from %s within %d ms (is the pipeline up?)" % (self.endpoint, self.timeout_ms))
            if not self._sock.poll(int(min(left, self.retry_ms / 1000) * 1000) + 1, zmq.POLLIN):
                if rid in self._sent and end - time.monotonic() > 0:
                    self._send_raw(rid)     # no reply yet: same id again (the gateway de-duplicates)
                continue
            frames = self._sock.recv_multipart(copy=False)
            msg = msgpack.unpackb(frames[-1].buffer, raw=False)
            if not isinstance(msg, dict):
                raise ZembedError("bad_format", "reply is not a msgpack map")
            mid = msg.get("id")
            if mid == rid:
                reply = msg
            elif mid in self._sent and mid not in self._early:     # another pending request's
                self._early[mid] = msg
        self._sent.pop(rid, None)
        if not reply.get("ok"):
            e = reply.get("error") or {}
            raise ZembedError(e.get("code", "unknown"), e.get("message", ""), reply)
        return reply if raw else decode(reply)

    def request(self, op, **args):
        return self.receive(self.send(op, **args))

    # -- ops --
    def embed(self, texts, normalize=None, dimensions=None, dtype=None, truncate=None,
              truncation_direction=None, with_tokens=False):
        """Sentence embeddings [len(texts), dim]; with_tokens: also the token count per text."""
        r = self.request("embed", texts=list(texts), normalize=normalize, dimensions=dimensions, dtype=dtype,
                         truncate=truncate, truncation_direction=truncation_direction)
        return (r["embeddings"], r["tokens"]) if with_tokens else r["embeddings"]

    def embed_stream(self, texts, batch=32, window=8, **opts):
        """Yield embeddings of an iterable of texts, batch by batch in order, with up to `window`
        requests in flight so every stage of the pipeline stays busy."""
        pending, it = [], iter(texts)
        while True:
            while len(pending) < window:
                chunk = list(itertools.islice(it, batch))
                if not chunk:
                    break
                pending.append(self.send("embed", texts=chunk, **{k: v for k, v in opts.items() if v is not None}))
            if not pending:
                return
            yield self.receive(pending.pop(0))["embeddings"]

    def tokenize(self, texts, add_special_tokens=None, truncate=None, truncation_direction=None, count_only=None):
        """Per text {ids, tokens, offsets, special}; with count_only the token counts only."""
        r = self.request("tokenize", texts=list(texts), add_special_tokens=add_special_tokens, truncate=truncate,
                         truncation_direction=truncation_direction, count_only=count_only)
        return r["tokens"] if count_only else r["results"]

    def token_embeddings(self, texts, **opts):
        return self.request("token_embeddings", texts=list(texts), **opts)["embeddings"]

    def input_embeddings(self, texts, **opts):
        return self.request("input_embeddings", texts=list(texts), **opts)["embeddings"]

    def similarity(self, a, b, mode=None, space=None, **opts):
        """Cosine matrix: texts mode [len(a), len(b)]; tokens mode (one text each) [tokens_a, tokens_b]."""
        return self.request("similarity", a=list(a), b=list(b), mode=mode, space=space, **opts)["scores"]

    def info(self):
        return self.request("info")

    def health(self):
        return self.request("health")
