/* pooler_svc: the last pipeline stage. Pulls encoded jobs (token states), pools, normalizes,
 * truncates, quantizes or compares them with the pool_ library (the same calls `zembed encode`
 * makes) and sends the finished reply to the gateway's sink. Each --threads thread is an
 * independent worker with its own sockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "pool.h"
#include "svc.h"
#include "svc_hb.h"
#include "zb_version.h"
#include "wire.h"
#include "zm.h"
#include "zb_blas.h"

static const char usage[] =
    "usage: pooler_svc --model DIR [--gateway tcp://127.0.0.1:5555] [--in E] [--sink E] [--threads 1]\n"
    "                  [--max-job-tokens 262144]\n"
    "  --model DIR    model folder (modules.json, 1_Pooling/config.json, config.json)\n"
    "  --gateway E    the gateway's client endpoint; the others derive from it (env ZEMBED_GATEWAY)\n"
    "  --in E         encoded jobs (default: gateway port + 9)\n"
    "  --sink E       replies and errors to the gateway (default: gateway port + 10)\n"
    "  --control E    heartbeats to the gateway (default: gateway port + 3)\n"
    "  --threads N    independent worker threads in this process (default 1)\n"
    "  --max-job-tokens N  larger jobs are refused (bounds memory per job; default 262144)\n"
    "Protocol: docs/PROTOCOL.md. SIGINT/SIGTERM stop it.\n";

typedef struct {
    void *ctx;
    zm_model *model;        /* config.json and the pooling modules only */
    pool_config cfg;
    const zm_info *info;
    svc_worker_args args;
    wire_stage_limits lim;      /* what a job must satisfy before we touch it */
    svc_hb *hb;                 /* heartbeats: which jobs this process holds */
    char whoami[128];
} psvc;

static void pack_counts(wire_map *r, const char *key, const int32_t *lens, int n)
{
    msgpack_packer *pk = r->pk;
    wire_map_key(r, key);
    msgpack_pack_array(pk, n);
    for (int i = 0; i < n; i++)
        msgpack_pack_int32(pk, lens[i]);
}

/* Sentence vectors of texts [first, first + n) of the job: out gets n x cfg->out_dim. */
static void pool_texts(const pool_config *cfg, const wire_job *job, int first, int n, float *out)
{
    int64_t t0 = 0;
    for (int i = 0; i < first; i++)
        t0 += job->lens[i];
    pool_batch(cfg, job->hidden + t0 * job->hidden_dim, job->lens + first, n, out);
}


static const wire_info_kv *info_get(const wire_job *job, const char *key)
{
    for (int i = 0; i < job->n_info; i++)
        if (!strcmp(job->info[i].key, key))
            return &job->info[i];
    return NULL;
}

/* The encoder's --precision, which every reply of a job that went through it carries
 * ("precision": "fp32" | "bf16" | "int8"); NULL for jobs that did not (input embeddings). */
static const char *job_precision(const wire_job *job)
{
    const wire_info_kv *kv = info_get(job, "precision");
    return kv && kv->is_str ? kv->s : NULL;
}

static void pack_precision(wire_map *r, const wire_job *job)
{
    const char *prec = job_precision(job);
    if (prec)
        wire_map_str(r, "precision", prec);
}

static int reply_embed(const psvc *s, const wire_job *job, msgpack_packer *pk, msgpack_sbuffer *sb,
                       zb_err *err)
{
    pool_config cfg = s->cfg;
    if (job->opt.normalize >= 0)
        cfg.normalize = job->opt.normalize;
    int dim = cfg.out_dim, d = job->opt.dimensions ? job->opt.dimensions : dim;
    if (d > dim)
        return zb_fail(err, ZB_ERANGE, "dimensions: %d is more than the model's %d", d, dim);
    size_t row = zb_dtype_row_bytes((zb_dtype)job->opt.dtype, d);
    float *v = malloc(sizeof *v * dim * (job->n ? job->n : 1));
    void *q = malloc(row * (job->n ? job->n : 1));
    int rc = ZB_OK;
    if (!v || !q) {
        rc = zb_fail(err, ZB_ENOMEM, "no memory for %d vectors", job->n);
        goto out;
    }
    pool_texts(&cfg, job, 0, job->n, v);
    if (d < dim && (rc = pool_truncate_dims(v, job->n, dim, d, cfg.normalize, err)))
        goto out;
    if ((rc = pool_quantize((zb_dtype)job->opt.dtype, v, job->n, d, NULL, q, err)))
        goto out;
    const char *dt = zb_dtypes[job->opt.dtype].tensor;
    size_t esize = zb_tensor_elem_bytes(dt);
    int shape[2] = {job->n, (int)(row / esize)};
    wire_map r;
    wire_reply_begin(&r, pk, sb, &job->id, job->op, 1, s->info->demo);
    pack_precision(&r, job);
    wire_map_key(&r, "embeddings");
    wire_pack_tensor(pk, sb, dt, shape, 2, q, row * job->n);
    pack_counts(&r, "tokens", job->lens, job->n);
    wire_map_int(&r, "dimensions", d);
    wire_map_end(&r);
out:
    free(v);
    free(q);
    return rc;
}

static int reply_tokens(const psvc *s, const wire_job *job, msgpack_packer *pk, msgpack_sbuffer *sb,
                        zb_err *err)
{
    (void)err;
    wire_map r;
    wire_reply_begin(&r, pk, sb, &job->id, job->op, 1, s->info->demo);
    pack_precision(&r, job);
    wire_map_key(&r, "embeddings");
    msgpack_pack_array(pk, job->n);
    int64_t t = 0;
    for (int i = 0; i < job->n; i++) {
        int shape[2] = {job->lens[i], job->hidden_dim};
        wire_pack_tensor(pk, sb, "float32", shape, 2, job->hidden + t * job->hidden_dim,
                         sizeof(float) * job->lens[i] * job->hidden_dim);
        t += job->lens[i];
    }
    wire_map_key(&r, "ids");
    msgpack_pack_array(pk, job->n);
    t = 0;
    for (int i = 0; i < job->n; i++) {
        msgpack_pack_array(pk, job->lens[i]);
        for (int k = 0; k < job->lens[i]; k++)
            msgpack_pack_int32(pk, job->ids[t + k]);
        t += job->lens[i];
    }
    if (job->pieces) {
        wire_map_key(&r, "pieces");
        msgpack_pack_array(pk, job->n);
        t = 0;
        for (int i = 0; i < job->n; i++) {
            msgpack_pack_array(pk, job->lens[i]);
            for (int k = 0; k < job->lens[i]; k++)
                wire_pack_str(pk, job->pieces[t + k]);
            t += job->lens[i];
        }
    }
    pack_counts(&r, "tokens", job->lens, job->n);
    wire_map_end(&r);
    return ZB_OK;
}

static int reply_similarity(const psvc *s, const wire_job *job, msgpack_packer *pk,
                            msgpack_sbuffer *sb, zb_err *err)
{
    int na = job->na, nb = job->n - job->na, rc;
    const int H = job->hidden_dim;
    float *a = NULL, *b = NULL, *scores = NULL;
    int ra, rb, dim;
    if (job->opt.tokens_mode) {         /* every token of a against every token of b */
        ra = job->lens[0];
        rb = job->lens[1];
        dim = H;
    } else {
        ra = na;
        rb = nb;
        dim = s->cfg.out_dim;
        a = malloc(sizeof *a * dim * na);
        b = malloc(sizeof *b * dim * nb);
        if (!a || !b) {
            rc = zb_fail(err, ZB_ENOMEM, "no memory for %d vectors", job->n);
            goto out;
        }
        pool_texts(&s->cfg, job, 0, na, a);
        pool_texts(&s->cfg, job, na, nb, b);
    }
    size_t cells = (size_t)ra * rb;
    if (!(scores = malloc(sizeof *scores * (cells ? cells : 1)))) {
        rc = zb_fail(err, ZB_ENOMEM, "no memory for a %d x %d matrix", ra, rb);
        goto out;
    }
    if (job->opt.tokens_mode)
        rc = pool_cosine_matrix(job->hidden, ra, job->hidden + (size_t)ra * H, rb, H, scores, err);
    else
        rc = pool_cosine_matrix(a, ra, b, rb, dim, scores, err);
    if (rc)
        goto out;
    int shape[2] = {ra, rb};
    wire_map r;
    wire_reply_begin(&r, pk, sb, &job->id, job->op, 1, s->info->demo);
    pack_precision(&r, job);
    wire_map_key(&r, "scores");
    wire_pack_tensor(pk, sb, "float32", shape, 2, scores, sizeof(float) * ra * rb);
    pack_counts(&r, "tokens_a", job->lens, na);
    pack_counts(&r, "tokens_b", job->lens + na, nb);
    if (job->opt.tokens_mode && job->pieces) {
        wire_map_key(&r, "pieces_a");
        msgpack_pack_array(pk, ra);
        for (int k = 0; k < ra; k++)
            wire_pack_str(pk, job->pieces[k]);
        wire_map_key(&r, "pieces_b");
        msgpack_pack_array(pk, rb);
        for (int k = 0; k < rb; k++)
            wire_pack_str(pk, job->pieces[ra + k]);
    }
    wire_map_end(&r);
out:
    free(a);
    free(b);
    free(scores);
    return rc;
}

static int reply_info(const psvc *s, const wire_job *job, msgpack_packer *pk, msgpack_sbuffer *sb,
                      zb_err *err)
{
    (void)err;
    static const char *const ints[] = {"hidden", "layers", "heads", "vocab_size", "max_length",
                                       "max_position"};
    wire_map r, m;
    wire_reply_begin(&r, pk, sb, &job->id, job->op, 1, 0);
    wire_map_str(&r, "model", s->info->name);
    const char *sk[2] = {"precision", "encoder_kernel"};
    for (int i = 0; i < 2; i++) {
        const wire_info_kv *p = info_get(job, sk[i]);
        wire_map_str(&r, sk[i], p && p->is_str ? p->s : "");
    }
    const wire_info_kv *kv = info_get(job, "model_type");
    wire_map_str(&r, "model_type", kv && kv->is_str ? kv->s : "");
    wire_map_int(&r, "dim", s->info->dim);
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        kv = info_get(job, ints[i]);
        wire_map_key(&r, ints[i]);
        if (kv && !kv->is_str)
            msgpack_pack_int64(pk, kv->i);
        else
            msgpack_pack_nil(pk);
    }
    wire_map_str(&r, "pooling", s->info->pooling);
    wire_map_bool(&r, "normalize", s->info->normalize);
    wire_map_bool(&r, "demo_model", s->info->demo);
    wire_map_key(&r, "versions");
    wire_map_begin(&m, pk, sb);
    char v[32];
    int maj, min, pat;
    zmq_version(&maj, &min, &pat);
    snprintf(v, sizeof v, "%d.%d.%d", maj, min, pat);
    wire_map_int(&m, "protocol", WIRE_VERSION);
    wire_map_str(&m, "zembed", ZB_VERSION);
    wire_map_str(&m, "zmq", v);
    wire_map_str(&m, "msgpack", msgpack_version());
    wire_map_end(&m);
    wire_map_key(&r, "workers");
    wire_map_begin(&m, pk, sb);
    const char *who[2][2] = {{"tokenizer", "w_tokenizer"}, {"encoder", "w_encoder"}};
    for (int i = 0; i < 2; i++) {
        kv = info_get(job, who[i][1]);
        wire_map_str(&m, who[i][0], kv && kv->is_str ? kv->s : "");
    }
    wire_map_str(&m, "pooler", s->whoami);
    wire_map_end(&m);
    wire_map_end(&r);
    return ZB_OK;
}

/* This stage's row of the op table: the reply writer of each op the pooler answers
 * (wire_stage_check'ed in main). */
typedef int (*pool_reply)(const psvc *s, const wire_job *job, msgpack_packer *pk, msgpack_sbuffer *sb,
                          zb_err *err);
static const pool_reply replies[WIRE_OP_COUNT_] = {
    [WIRE_OP_EMBED] = reply_embed,
    [WIRE_OP_TOKEN_EMBEDDINGS] = reply_tokens,
    [WIRE_OP_INPUT_EMBEDDINGS] = reply_tokens,
    [WIRE_OP_SIMILARITY] = reply_similarity,
    [WIRE_OP_INFO] = reply_info,
};

static void handle(const psvc *s, void *sink, zmq_msg_t *m)
{
    wire_job job;
    zb_err err;
    int rc = wire_job_unpack(zmq_msg_data(m), zmq_msg_size(m), &job, &err);
    int op = rc ? -1 : (int)job.op;     /* echoed in the error reply when it could be read */
    if (!rc)
        rc = wire_job_accept(&job, WIRE_STAGE_POOLER, &s->lim, &err);
    if (!rc && !replies[job.op])
        rc = zb_fail(&err, ZB_EFORMAT, "job: op %s does not reach the pooler", wire_op_name(job.op));
    if (rc) {
        if (job.j)
            svc_send_error(sink, job.j, &job.id, op, rc, err.msg);
        svc_refused(job.j, err.msg);
        wire_job_free(&job);
        return;
    }
    if (svc_hb_give_up(s->hb, job.j, job.deadline_ms, 0)) {    /* answered `timeout` by the gateway */
        wire_job_free(&job);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    rc = replies[job.op](s, &job, &pk, &sb, &err);
    if (rc) {
        msgpack_sbuffer_clear(&sb);
        wire_reply_error(&sb, &job.id, job.op, rc, err.msg);
    }
    if (svc_send_result(sink, job.j, &sb))
        svc_log("job %llu: cannot send the reply: %s", (unsigned long long)job.j, zmq_strerror(errno));
    msgpack_sbuffer_destroy(&sb);
    wire_job_free(&job);
}

/* One worker thread's sockets, for svc_serve's callback. */
typedef struct {
    const psvc *s;
    void *sink;
} psvc_thread;

static void handle_msg(void *ud, zmq_msg_t *m)
{
    const psvc_thread *t = ud;
    uint64_t j = wire_peek_j(zmq_msg_data(m), zmq_msg_size(m));
    svc_hb_hold(t->s->hb, j);       /* the gateway re-dispatches it if this process dies now */
    handle(t->s, t->sink, m);
    svc_hb_release(t->s->hb, j);
}

static void *worker(void *arg)
{
    const psvc *s = arg;
    zb_err err;
    svc_sockopt pull = {.rcvhwm = 4}, push = {.sndhwm = 16, .immediate = 1};
    void *in = svc_socket(s->ctx, ZMQ_PULL, s->args.in, 0, &pull, &err);
    void *sink = in ? svc_socket(s->ctx, ZMQ_PUSH, s->args.sink, 0, &push, &err) : NULL;
    long served = 0;
    if (!sink) {
        svc_log("%s", err.msg);
    } else {
        psvc_thread t = {.s = s, .sink = sink};
        served = svc_serve(in, handle_msg, &t);
    }
    svc_counters c = svc_counters_get();
    svc_log("stopping after %ld jobs; refused %ld frames (%ld dropped) in this process", served,
            c.refused_answered + c.refused_dropped, c.refused_dropped);
    if (in) zmq_close(in);
    if (sink) zmq_close(sink);
    return NULL;
}

int main(int argc, char **argv)
{
    zb_blas_check_core(argv);            /* first: it may start this program again */
    psvc s;
    memset(&s, 0, sizeof s);
    svc_log_init("pooler_svc");
    WIRE_STAGE_CHECK(WIRE_STAGE_POOLER, replies);
    int max_job_tokens = SVC_MAX_JOB_TOKENS;
    svc_int_flag extra[] = {{"--max-job-tokens", &max_job_tokens, 1, 1 << 24}, {NULL, NULL, 0, 0}};
    int rc = svc_worker_args_parse(argc, argv, usage, SVC_OFF_POOL, -1, &s.args, extra);
    if (rc)
        return rc == 1 ? 0 : 2;
    zb_err err;
    zm_open_opts zo;
    zm_open_opts_default(&zo);
    zo.parts = ZM_POOLING;
    if (!(s.model = zm_open(s.args.model, &zo, &err))) {
        svc_log("cannot load the model: %s", err.msg);
        return 2;
    }
    s.cfg = *zm_pooling(s.model);
    s.info = zm_info_get(s.model);
    s.lim = (wire_stage_limits){s.info->hidden, s.info->max_position, max_job_tokens};
    svc_whoami(s.whoami, sizeof s.whoami);
    svc_signals();
    s.ctx = zmq_ctx_new();
    if (!(s.hb = svc_hb_start(s.ctx, s.args.control, WIRE_STAGE_POOLER, s.whoami, &err))) {
        svc_log("%s", err.msg);
        zmq_ctx_term(s.ctx);
        zm_close(&s.model);
        return 2;
    }
    svc_log("model %s%s, pooling %s%s, in %s, sink %s, control %s", s.info->name,
            s.info->demo ? " (generated random demo model: its vectors mean nothing)" : "",
            s.info->pooling, s.info->normalize ? " + normalize" : "", s.args.in, s.args.sink,
            s.args.control);
    svc_run_threads(s.args.threads, worker, &s);
    svc_hb_stop(&s.hb);
    zmq_ctx_term(s.ctx);
    zm_close(&s.model);
    return 0;
}
