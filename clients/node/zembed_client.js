"use strict";
/* zembed_client: a Node client for a running zembed pipeline (docs/PROTOCOL.md, protocol v1).
 *
 *   const { Client } = require("./zembed_client");
 *   const c = new Client();                        // $ZEMBED_ENDPOINT or tcp://127.0.0.1:5555
 *   const e = await c.embed(["a cat", "a dog"]);  // {data: Float32Array, shape: [2, dim]}
 *   c.close();
 *
 * One zeromq Dealer socket; requests carry ids and replies are matched by id, so any number may be in
 * flight at once. Ids are this session's random prefix plus a counter: a request without a reply after
 * retryMs (the gateway restarted, the connection dropped) is sent again with the same id, until
 * timeoutMs; the gateway attaches a retry to the running request or answers it again from a copy. Tensors become typed arrays over the received bytes without a copy when the data is
 * aligned (the protocol pads it to 8 bytes from the start of the message); otherwise one copy.
 */
const crypto = require("crypto");
const zmq = require("zeromq");
const { encode, decode } = require("@msgpack/msgpack");

const PROTOCOL_VERSION = 1;
const DEFAULT_ENDPOINT = "tcp://127.0.0.1:5555";
const TYPED = {
  float32: Float32Array,
  float16: null, // no Float16Array in Node 20: raw uint16 halves, see tensor()
  int8: Int8Array,
  uint8: Uint8Array,
  int32: Int32Array,
};

class ZembedError extends Error {
  constructor(code, message, reply) {
    super(`${code}: ${message}`);
    this.code = code;
    this.reply = reply;
  }
}

/* {dtype, shape, data} -> {dtype, shape, data: TypedArray}; float16 comes as Uint16Array bits. */
function tensor(t) {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const Ctor = t.dtype === "float16" ? Uint16Array : TYPED[t.dtype];
  if (!Ctor) throw new ZembedError("bad_format", `unknown tensor dtype ${t.dtype}`);
  const bytes = t.data;
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== n * Ctor.BYTES_PER_ELEMENT)
    throw new ZembedError("bad_format", `tensor [${t.shape}] ${t.dtype} has ${bytes && bytes.byteLength} bytes`);
  // Typed arrays read host order; the wire is little-endian, as is every host Node runs on here.
  const data = bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0
    ? new Ctor(bytes.buffer, bytes.byteOffset, n)                 // a view: no copy
    : new Ctor(bytes.slice().buffer, 0, n);                       // misaligned: one copy
  return { dtype: t.dtype, shape: t.shape, data };
}

function decodeTensors(v) {
  if (v && typeof v === "object" && !(v instanceof Uint8Array)) {
    if ("dtype" in v && "shape" in v && "data" in v) return tensor(v);
    if (Array.isArray(v)) return v.map(decodeTensors);
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = decodeTensors(x);
    return o;
  }
  return v;
}

/* Row i of a [n, d] tensor as a view. */
function row(t, i) {
  const d = t.shape[1];
  return t.data.subarray(i * d, (i + 1) * d);
}

/* The one key of a zembed key file (NAME.pub / NAME.key: a 40-character Z85 line, '#' comments). */
function keyLine(path) {
  const keys = require("fs").readFileSync(path, "latin1").split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  if (keys.length !== 1 || keys[0].length !== 40) throw new Error(`${path}: expected one 40-character Z85 CURVE key`);
  return keys[0];
}

/* CURVE socket options (docs/PROTOCOL.md §7) or null for plaintext. serverKey: the gateway's NAME.pub
 * file or its Z85 text; clientKey: our NAME.key file (zeromq.js cannot derive a public key, so the
 * NAME.pub beside it, as `zembed keygen` writes them, is read too). Defaults: $ZEMBED_SERVER_KEY,
 * $ZEMBED_CURVE_KEY; both or neither. */
function curveOptions(serverKey, clientKey) {
  serverKey = serverKey || process.env.ZEMBED_SERVER_KEY || null;
  clientKey = clientKey || process.env.ZEMBED_CURVE_KEY || null;
  if (!serverKey && !clientKey) return null;
  if (!serverKey || !clientKey)
    throw new Error("CURVE needs both the server's public key (serverKey, $ZEMBED_SERVER_KEY) and our secret key file (clientKey, $ZEMBED_CURVE_KEY)");
  const fs = require("fs");
  const server = serverKey.length === 40 && !fs.existsSync(serverKey) ? serverKey : keyLine(serverKey);
  if (!clientKey.endsWith(".key")) throw new Error(`${clientKey}: expected a NAME.key file (with NAME.pub beside it)`);
  return { curveServerKey: server, curveSecretKey: keyLine(clientKey), curvePublicKey: keyLine(clientKey.slice(0, -4) + ".pub") };
}

class Client {
  /* serverKey, clientKey: CURVE (curveOptions); a gateway that refuses our key never answers:
   * requests time out. */
  constructor({ endpoint, timeoutMs = 30000, retryMs = 3000, serverKey, clientKey } = {}) {
    this.endpoint = endpoint || process.env.ZEMBED_ENDPOINT || DEFAULT_ENDPOINT;
    this.timeoutMs = timeoutMs;
    this.retryMs = retryMs;
    this.session = crypto.randomBytes(8).toString("hex");
    this.sock = new zmq.Dealer({ linger: 0, ...(curveOptions(serverKey, clientKey) || {}) });
    this.sock.connect(this.endpoint);
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, timer}
    this.reading = false;
    this.sending = Promise.resolve(); // zeromq.js allows one send at a time: chain them
  }

  close() {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      clearInterval(p.retry);
      p.reject(new ZembedError("unavailable", "client closed"));
    }
    this.pending.clear();
    this.sock.close();
  }

  async readLoop() {
    this.reading = true;
    try {
      while (this.pending.size > 0) {
        const frames = await this.sock.receive();
        const msg = decode(frames[frames.length - 1]);
        const p = msg && this.pending.get(msg.id);
        if (!p) continue; // a late reply to a request that timed out
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        clearInterval(p.retry);
        if (msg.ok) p.resolve(decodeTensors(msg));
        else p.reject(new ZembedError((msg.error || {}).code || "unknown", (msg.error || {}).message || "", msg));
      }
    } catch (e) {
      if (!this.sock.closed) for (const [, p] of this.pending) p.reject(e);
    } finally {
      this.reading = false;
    }
  }

  /* Send one request (undefined arguments are left out) and resolve with its decoded reply. */
  request(op, args = {}) {
    const id = `${this.session}:${this.nextId++}`; // unique: the gateway de-duplicates it
    const req = { v: PROTOCOL_VERSION, id, op };
    for (const [k, v] of Object.entries(args)) if (v !== undefined && v !== null) req[k] = v;
    const bytes = encode(req);
    // An empty delimiter frame first, as a REQ socket sends: the gateway sees REQ and DEALER alike.
    const send = () => {
      this.sending = this.sending.then(() => this.sock.send([Buffer.alloc(0), bytes]));
      this.sending.catch(() => {});
    };
    const reply = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(this.pending.get(id).retry);
        this.pending.delete(id);
        reject(new Error(`no reply from ${this.endpoint} within ${this.timeoutMs} ms (is the pipeline up?)`));
      }, this.timeoutMs);
      const retry = setInterval(send, this.retryMs); // no reply yet: the same id again
      this.pending.set(id, { resolve, reject, timer, retry });
    });
    send();
    if (!this.reading) this.readLoop();
    return reply;
  }

  async embed(texts, opts = {}) {
    const r = await this.request("embed", { texts, ...opts });
    return Object.assign(r.embeddings, { tokens: r.tokens, demoModel: !!r.demo_model });
  }
  async tokenize(texts, opts = {}) {
    const r = await this.request("tokenize", { texts, ...opts });
    return opts.count_only ? r.tokens : r.results;
  }
  async tokenEmbeddings(texts, opts = {}) {
    return (await this.request("token_embeddings", { texts, ...opts })).embeddings;
  }
  async inputEmbeddings(texts, opts = {}) {
    return (await this.request("input_embeddings", { texts, ...opts })).embeddings;
  }
  async similarity(a, b, opts = {}) {
    return (await this.request("similarity", { a, b, ...opts })).scores;
  }
  info() { return this.request("info"); }
  health() { return this.request("health"); }
}

module.exports = { Client, ZembedError, tensor, row, PROTOCOL_VERSION, DEFAULT_ENDPOINT };
