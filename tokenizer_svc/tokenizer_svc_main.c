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
#include "svc_hb.h"
#include "tok.h"
#include "wire.h"
#include "zm.h"

static const char usage[] =
    "usage: tokenizer_svc --model DIR [--gateway tcp://127.0.0.1:5555] [--in E] [--out E] [--sink E]\n"
    "                     [--threads 1]\n"
    "  --model DIR    model folder (tokenizer.json or vocab.txt + tokenizer_config.json)\n"
    "  --gateway E    the gateway's client endpoint; the others derive from it (env ZEMBED_GATEWAY)\n"
    "  --in E         jobs from the gateway (default: gateway port + 5)\n"
    "  --out E        tokenized jobs to the encoders (default: gateway port + 6)\n"
    "  --sink E       replies and errors to the gateway (default: gateway port + 10)\n"
    "  --control E    heartbeats to the gateway (default: gateway port + 3)\n"
    "  --threads N    independent worker threads in this process (default 1)\n"
    "Protocol: docs/PROTOCOL.md. SIGINT/SIGTERM stop it.\n";

typedef struct {
    void *ctx;
    zm_model *model;        /* the tokenizer part only */
    const tok_tokenizer *tok;
    const zm_info *info;
    svc_worker_args args;
    svc_hb *hb;                 /* heartbeats: which jobs this process holds */
    char whoami[128];
} tsvc;

/* The name of text i in the request, as the client sees it: texts[i], a[i] or b[i]. */
static void text_name(const wire_req *req, int i, char *buf, size_t cap)
{
    if (wire_ops[req->op].texts != WIRE_TEXTS_PAIR)
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
    zm_tok_options(s->model, &o);   /* max_length: the model's, at most its positions */
    o.truncate = req->opt.truncate;
    o.direction = req->opt.left ? TOK_LEFT : TOK_RIGHT;
    if (req->opt.max_length)        /* the encoder refuses more than the model's positions */
        o.max_length = req->opt.max_length;
    int limit = o.max_length;
    o.add_special_tokens = req->opt.add_special;    /* 1 unless the op takes the key */
    /* an op answered here (tokenize) is not bound by the encoder's limit: without truncate and
     * max_length, counting long texts is the point */
    if (wire_op_replier(req->op) == WIRE_STAGE_TOKENIZER && !req->opt.truncate && !req->opt.max_length)
        o.max_length = INT_MAX / 2;
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

/* One worker thread's sockets. */
typedef struct {
    const tsvc *s;
    void *out, *sink;
} tsvc_thread;

/* tokenize: the reply, from here. */
static int reply_tokenize(const tsvc_thread *t, uint64_t j, int64_t deadline_ms, const wire_req *req,
                          const tok_encoding *encs, zb_err *err)
{
    (void)err;
    (void)deadline_ms;      /* checked before tokenizing; the reply is cheap from here */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    wire_map r, e;
    wire_reply_begin(&r, &pk, &sb, &req->id, req->op, 1, t->s->info->demo);
    wire_map_key(&r, "tokens");
    msgpack_pack_array(&pk, req->n);
    for (int i = 0; i < req->n; i++)
        msgpack_pack_int(&pk, encs[i].n);
    if (!req->opt.count_only) {
        wire_map_key(&r, "results");
        msgpack_pack_array(&pk, req->n);
        for (int i = 0; i < req->n; i++) {
            const tok_encoding *enc = &encs[i];
            wire_map_begin(&e, &pk, &sb);
            wire_map_key(&e, "ids");
            msgpack_pack_array(&pk, enc->n);
            for (int k = 0; k < enc->n; k++)
                msgpack_pack_int32(&pk, enc->ids[k]);
            wire_map_key(&e, "tokens");
            msgpack_pack_array(&pk, enc->n);
            for (int k = 0; k < enc->n; k++) {
                const char *tk = tok_id_to_token(t->s->tok, enc->ids[k]);
                wire_pack_str(&pk, tk ? tk : "");
            }
            wire_map_key(&e, "offsets");
            msgpack_pack_array(&pk, enc->n);
            for (int k = 0; k < enc->n; k++) {
                msgpack_pack_array(&pk, 2);
                msgpack_pack_uint32(&pk, enc->offsets[k].start);
                msgpack_pack_uint32(&pk, enc->offsets[k].end);
            }
            wire_map_key(&e, "special");
            msgpack_pack_array(&pk, enc->n);
            for (int k = 0; k < enc->n; k++)
                enc->special[k] ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
            wire_map_end(&e);
        }
    }
    wire_map_end(&r);
    if (svc_send_result(t->sink, j, &sb))
        svc_log("job %llu: cannot send the reply: %s", (unsigned long long)j, zmq_strerror(errno));
    msgpack_sbuffer_destroy(&sb);
    return ZB_OK;
}

/* The job for the encoder: ids end to end, tokens per text, token strings when the reply needs them. */
static int make_job(const tsvc *s, uint64_t j, int64_t deadline_ms, const wire_req *req,
                    const tok_encoding *encs, wire_job *job, zb_err *err)
{
    wire_job_init(job);
    job->j = j;
    job->deadline_ms = deadline_ms;     /* sent on as the time left (ttl) */
    job->id = req->id;
    job->op = req->op;
    job->opt = req->opt;
    job->n = req->n;
    job->na = req->na;
    for (int i = 0; i < req->n; i++)
        job->n_ids += encs[i].n;
    job->lens = malloc(sizeof *job->lens * (req->n ? req->n : 1));
    job->ids = malloc(sizeof *job->ids * (job->n_ids ? job->n_ids : 1));
    int want_pieces = wire_op_pieces(req->op, &req->opt);
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
    return ZB_OK;
}

/* Every op the encoders work on: the job with the ids goes on to them. */
static int pass_on(const tsvc_thread *t, uint64_t j, int64_t deadline_ms, const wire_req *req,
                   const tok_encoding *encs, zb_err *err)
{
    wire_job job;
    int rc = make_job(t->s, j, deadline_ms, req, encs, &job, err);
    if (!rc && req->op == WIRE_OP_INFO) {
        wire_job_info_int(&job, "vocab_size", tok_vocab_size(t->s->tok));
        wire_job_info_int(&job, "max_length", t->s->info->max_length);
        wire_job_info_str(&job, "w_tokenizer", t->s->whoami);
    }
    if (!rc) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        wire_job_pack(&job, &sb);
        if (svc_send_sbuf(t->out, &sb, 0))
            svc_log("job %llu: cannot pass it on: %s", (unsigned long long)j, zmq_strerror(errno));
        msgpack_sbuffer_destroy(&sb);
    }
    wire_job_free(&job);
    return rc;
}

/* This stage's row of the op table: what it does with each op (wire_stage_check'ed in main). */
typedef int (*tok_handler)(const tsvc_thread *t, uint64_t j, int64_t deadline_ms, const wire_req *req,
                           const tok_encoding *encs, zb_err *err);
static const tok_handler handlers[WIRE_OP_COUNT_] = {
    [WIRE_OP_EMBED] = pass_on,
    [WIRE_OP_TOKENIZE] = reply_tokenize,
    [WIRE_OP_TOKEN_EMBEDDINGS] = pass_on,
    [WIRE_OP_INPUT_EMBEDDINGS] = pass_on,
    [WIRE_OP_SIMILARITY] = pass_on,
    [WIRE_OP_INFO] = pass_on,
};

static void handle(const tsvc_thread *t, zmq_msg_t *m)
{
    uint64_t j;
    int64_t deadline_ms;
    wire_req req;
    int op_known;
    zb_err err;
    void *sink = t->sink;
    int rc = wire_unpack_tok_job(zmq_msg_data(m), zmq_msg_size(m), &j, &deadline_ms, &req, &op_known,
                                 &err);
    if (!rc && !handlers[req.op])
        rc = zb_fail(&err, ZB_EFORMAT, "job: op %s does not reach the tokenizer", wire_op_name(req.op));
    if (rc) {
        if (j)
            svc_send_error(sink, j, &req.id, op_known ? (int)req.op : -1, rc, err.msg);
        svc_refused(j, err.msg);
        wire_req_free(&req);
        return;
    }
    if (svc_hb_give_up(t->s->hb, j, deadline_ms, 0)) {    /* answered `timeout` by the gateway */
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
    rc = tokenize_all(t->s, &req, encs, &err);
    if (!rc)
        rc = handlers[req.op](t, j, deadline_ms, &req, encs, &err);
    if (rc)
        svc_send_error(sink, j, &req.id, req.op, rc, err.msg);
    for (int i = 0; i < req.n; i++)
        tok_encoding_free(&encs[i]);
    free(encs);
    wire_req_free(&req);
}

static void handle_msg(void *ud, zmq_msg_t *m)
{
    const tsvc_thread *t = ud;
    uint64_t j = wire_peek_j(zmq_msg_data(m), zmq_msg_size(m));
    svc_hb_hold(t->s->hb, j);       /* the gateway re-dispatches it if this process dies now */
    handle(t, m);
    svc_hb_release(t->s->hb, j);
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
    WIRE_STAGE_CHECK(WIRE_STAGE_TOKENIZER, handlers);
    int rc = svc_worker_args_parse(argc, argv, usage, SVC_OFF_TOK, SVC_OFF_ENC_IN, &s.args, NULL);
    if (rc)
        return rc == 1 ? 0 : 2;
    zb_err err;
    zm_open_opts zo;
    zm_open_opts_default(&zo);
    zo.parts = ZM_TOKENIZER;
    if (!(s.model = zm_open(s.args.model, &zo, &err))) {
        svc_log("cannot load the model: %s", err.msg);
        return 2;
    }
    s.tok = zm_tokenizer(s.model);
    s.info = zm_info_get(s.model);
    svc_whoami(s.whoami, sizeof s.whoami);
    svc_signals();
    s.ctx = zmq_ctx_new();
    if (!(s.hb = svc_hb_start(s.ctx, s.args.control, WIRE_STAGE_TOKENIZER, s.whoami, &err))) {
        svc_log("%s", err.msg);
        zmq_ctx_term(s.ctx);
        zm_close(&s.model);
        return 2;
    }
    svc_log("model %s%s, max_length %d, in %s, out %s, sink %s, control %s, %d thread(s)", s.info->name,
            s.info->demo ? " (generated random demo model: its vectors mean nothing)" : "",
            s.info->max_length, s.args.in, s.args.out, s.args.sink, s.args.control,
            s.args.threads < 1 ? 1 : s.args.threads);
    svc_run_threads(s.args.threads, worker, &s);
    svc_hb_stop(&s.hb);
    zmq_ctx_term(s.ctx);
    zm_close(&s.model);
    return 0;
}
