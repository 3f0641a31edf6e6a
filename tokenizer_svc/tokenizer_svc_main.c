/* tokenizer_svc: the first pipeline stage. Pulls {j, req} jobs from the gateway, tokenizes every
 * text with the options the request asks for, and either answers (`tokenize`) or pushes a job with
 * the ids on to the encoders. Each --threads thread is an independent worker with its own sockets
 * (the tokenizer itself is immutable and shared). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "svc.h"
#include "tok.h"
#include "wire.h"

static const char usage[] =
    "usage: tokenizer_svc --model DIR [--gateway tcp://127.0.0.1:5555] [--in E] [--out E] [--sink E]\n"
    "                     [--threads 1]\n"
    "  --model DIR    model folder (tokenizer.json or vocab.txt + tokenizer_config.json)\n"
    "  --gateway E    the gateway's client endpoint; the others derive from it (env ZEMBED_GATEWAY)\n"
    "  --in E         jobs from the gateway (default: gateway port + 5)\n"
    "  --out E        tokenized jobs to the encoders (default: gateway port + 6)\n"
    "  --sink E       replies and errors to the gateway (default: gateway port + 10)\n"
    "  --threads N    independent worker threads in this process (default 1)\n"
    "Protocol: docs/PROTOCOL.md. SIGINT/SIGTERM stop it.\n";

typedef struct {
    void *ctx;
    tok_tokenizer *tok;
    svc_model_meta meta;
    svc_worker_args args;
    char whoami[128];
} tsvc;

/* The name of text i in the request, as the client sees it: texts[i], a[i] or b[i]. */
static void text_name(const wire_req *req, int i, char *buf, size_t cap)
{
    if (req->op != WIRE_OP_SIMILARITY)
        snprintf(buf, cap, "texts[%d]", i);
    else if (i < req->na)
        snprintf(buf, cap, "a[%d]", i);
    else
        snprintf(buf, cap, "b[%d]", i - req->na);
}

/* Tokenize every text; encs[i] filled. Error messages name the text and the limit. */
static int tokenize_all(const tsvc *s, const wire_req *req, tok_encoding *encs, zb_err *err)
{
    tok_options o;
    tok_options_default(s->tok, &o);
    o.truncate = req->opt.truncate;
    o.direction = req->opt.left ? TOK_LEFT : TOK_RIGHT;
    if (req->opt.max_length)        /* the encoder refuses more than the model's positions */
        o.max_length = req->opt.max_length;
    int limit = o.max_length;
    if (req->op == WIRE_OP_TOKENIZE) {
        o.add_special_tokens = req->opt.add_special;
        if (!req->opt.truncate && !req->opt.max_length)
            o.max_length = INT_MAX / 2;   /* counting long texts is the point of tokenize */
    }
    for (int i = 0; i < req->n; i++) {
        char name[32];
        zb_err e;
        int rc = tok_encode(s->tok, req->texts[i], req->text_lens[i], NULL, 0, &o, &encs[i], &e);
        if (rc == ZB_ETOOLONG && !o.truncate) {
            text_name(req, i, name, sizeof name);
            return zb_fail(err, rc, "%s has %d tokens; max_length is %d and truncate is false", name,
                           encs[i].n_before_truncation, limit);
        }
        if (rc) {
            text_name(req, i, name, sizeof name);
            *err = e;
            return zb_wrap(err, "%s: ", name);
        }
    }
    return ZB_OK;
}

static void reply_tokenize(const tsvc *s, void *sink, uint64_t j, const wire_req *req,
                           const tok_encoding *encs)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    wire_reply_head(&pk, &req->id, req->op, 1, s->meta.demo, req->opt.count_only ? 1 : 2);
    wire_pack_str(&pk, "tokens");
    msgpack_pack_array(&pk, req->n);
    for (int i = 0; i < req->n; i++)
        msgpack_pack_int(&pk, encs[i].n);
    if (!req->opt.count_only) {
        wire_pack_str(&pk, "results");
        msgpack_pack_array(&pk, req->n);
        for (int i = 0; i < req->n; i++) {
            const tok_encoding *e = &encs[i];
            msgpack_pack_map(&pk, 4);
            wire_pack_str(&pk, "ids");
            msgpack_pack_array(&pk, e->n);
            for (int k = 0; k < e->n; k++)
                msgpack_pack_int32(&pk, e->ids[k]);
            wire_pack_str(&pk, "tokens");
            msgpack_pack_array(&pk, e->n);
            for (int k = 0; k < e->n; k++) {
                const char *t = tok_id_to_token(s->tok, e->ids[k]);
                wire_pack_str(&pk, t ? t : "");
            }
            wire_pack_str(&pk, "offsets");
            msgpack_pack_array(&pk, e->n);
            for (int k = 0; k < e->n; k++) {
                msgpack_pack_array(&pk, 2);
                msgpack_pack_uint32(&pk, e->offsets[k].start);
                msgpack_pack_uint32(&pk, e->offsets[k].end);
            }
            wire_pack_str(&pk, "special");
            msgpack_pack_array(&pk, e->n);
            for (int k = 0; k < e->n; k++)
                e->special[k] ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
        }
    }
    if (svc_send_result(sink, j, &sb))
        svc_log("job %llu: cannot send the reply: %s", (unsigned long long)j, zmq_strerror(errno));
    msgpack_sbuffer_destroy(&sb);
}

/* The job for the encoder: ids end to end, tokens per text, token strings when the reply needs them. */
static int make_job(const tsvc *s, uint64_t j, const wire_req *req, const tok_encoding *encs,
                    wire_job *job, zb_err *err)
{
    wire_job_init(job);
    job->j = j;
    job->id = req->id;
    job->op = req->op;
    job->opt = req->opt;
    job->n = req->n;
    job->na = req->na;
    for (int i = 0; i < req->n; i++)
        job->n_ids += encs[i].n;
    job->lens = malloc(sizeof *job->lens * (req->n ? req->n : 1));
    job->ids = malloc(sizeof *job->ids * (job->n_ids ? job->n_ids : 1));
    int want_pieces = (req->op == WIRE_OP_SIMILARITY && req->opt.tokens_mode) ||
                      req->op == WIRE_OP_TOKEN_EMBEDDINGS || req->op == WIRE_OP_INPUT_EMBEDDINGS;
    if (want_pieces)
        job->pieces = calloc(job->n_ids ? job->n_ids : 1, sizeof *job->pieces);
    if (!job->lens || !job->ids || (want_pieces && !job->pieces))
        return zb_fail(err, ZB_ENOMEM, "out of memory for %lld tokens", (long long)job->n_ids);
    int64_t at = 0;
    for (int i = 0; i < req->n; i++) {
        job->lens[i] = encs[i].n;
        memcpy(job->ids + at, encs[i].ids, sizeof(int32_t) * encs[i].n);
        for (int k = 0; want_pieces && k < encs[i].n; k++) {
            const char *t = tok_id_to_token(s->tok, encs[i].ids[k]);
            if (!(job->pieces[at + k] = strdup(t ? t : "")))
                return zb_fail(err, ZB_ENOMEM, "out of memory for token strings");
        }
        at += encs[i].n;
    }
    if (req->op == WIRE_OP_INFO) {
        wire_job_info_int(job, "vocab_size", tok_vocab_size(s->tok));
        wire_job_info_int(job, "max_length", tok_max_length(s->tok));
        wire_job_info_str(job, "w_tokenizer", s->whoami);
    }
    return ZB_OK;
}

static void handle(const tsvc *s, void *out, void *sink, zmq_msg_t *m)
{
    uint64_t j;
    wire_req req;
    int op_known;
    zb_err err;
    int rc = wire_unpack_tok_job(zmq_msg_data(m), zmq_msg_size(m), &j, &req, &op_known, &err);
    if (rc) {
        if (j)
            svc_send_error(sink, j, &req.id, op_known ? (int)req.op : -1, rc, err.msg);
        svc_refused(j, err.msg);
        wire_req_free(&req);
        return;
    }
    tok_encoding *encs = calloc(req.n ? req.n : 1, sizeof *encs);
    if (!encs) {
        svc_send_error(sink, j, &req.id, req.op, ZB_ENOMEM, "out of memory");
        wire_req_free(&req);
        return;
    }
    for (int i = 0; i < req.n; i++)
        tok_encoding_init(&encs[i]);
    rc = tokenize_all(s, &req, encs, &err);
    if (rc) {
        svc_send_error(sink, j, &req.id, req.op, rc, err.msg);
    } else if (req.op == WIRE_OP_TOKENIZE) {
        reply_tokenize(s, sink, j, &req, encs);
    } else {
        wire_job job;
        if ((rc = make_job(s, j, &req, encs, &job, &err))) {
            svc_send_error(sink, j, &req.id, req.op, rc, err.msg);
        } else {
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            wire_job_pack(&job, &sb);
            if (svc_send_sbuf(out, &sb, 0))
                svc_log("job %llu: cannot pass it on: %s", (unsigned long long)j, zmq_strerror(errno));
            msgpack_sbuffer_destroy(&sb);
        }
        wire_job_free(&job);
    }
    for (int i = 0; i < req.n; i++)
        tok_encoding_free(&encs[i]);
    free(encs);
    wire_req_free(&req);
}

/* One worker thread's sockets, for svc_serve's callback. */
typedef struct {
    const tsvc *s;
    void *out, *sink;
} tsvc_thread;

static void handle_msg(void *ud, zmq_msg_t *m)
{
    const tsvc_thread *t = ud;
    handle(t->s, t->out, t->sink, m);
}

static void *worker(void *arg)
{
    const tsvc *s = arg;
    zb_err err;
    svc_sockopt pull = {.rcvhwm = 4}, push = {.sndhwm = 4, .immediate = 1};
    void *in = svc_socket(s->ctx, ZMQ_PULL, s->args.in, 0, &pull, &err);
    void *out = in ? svc_socket(s->ctx, ZMQ_PUSH, s->args.out, 0, &push, &err) : NULL;
    void *sink = out ? svc_socket(s->ctx, ZMQ_PUSH, s->args.sink, 0, &push, &err) : NULL;
    long served = 0;
    if (!sink) {
        svc_log("%s", err.msg);
    } else {
        tsvc_thread t = {.s = s, .out = out, .sink = sink};
        served = svc_serve(in, handle_msg, &t);
    }
    svc_counters c = svc_counters_get();
    svc_log("stopping after %ld jobs; refused %ld frames (%ld dropped) in this process", served,
            c.refused_answered + c.refused_dropped, c.refused_dropped);
    if (in) zmq_close(in);
    if (out) zmq_close(out);
    if (sink) zmq_close(sink);
    return NULL;
}

int main(int argc, char **argv)
{
    tsvc s;
    memset(&s, 0, sizeof s);
    svc_log_init("tokenizer_svc");
    int rc = svc_worker_args_parse(argc, argv, usage, SVC_OFF_TOK, SVC_OFF_ENC_IN, &s.args, NULL);
    if (rc)
        return rc == 1 ? 0 : 2;
    zb_err err;
    if (!(s.tok = tok_load(s.args.model, &err)) || svc_model_meta_load(s.args.model, &s.meta, &err)) {
        svc_log("cannot load the model: %s", err.msg);
        tok_free(s.tok);
        return 2;
    }
    svc_whoami(s.whoami, sizeof s.whoami);
    svc_signals();
    s.ctx = zmq_ctx_new();
    svc_log("model %s%s, in %s, out %s, sink %s, %d thread(s)", s.meta.name,
            s.meta.demo ? " (generated random demo model: its vectors mean nothing)" : "", s.args.in,
            s.args.out, s.args.sink, s.args.threads < 1 ? 1 : s.args.threads);
    svc_run_threads(s.args.threads, worker, &s);
    zmq_ctx_term(s.ctx);
    tok_free(s.tok);
    return 0;
}
