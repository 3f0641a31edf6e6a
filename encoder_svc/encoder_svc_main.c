/* encoder_svc: the middle pipeline stage. Pulls tokenized jobs, runs the BERT encoder and pushes
 * the jobs with their hidden states on to the poolers.
 *
 * Batching is ours, not the client's: block for one job, then take whatever else is already queued
 * (without waiting) until the batch holds --max-batch-tokens tokens. An idle pipeline answers a
 * single sentence at once; a busy one runs large GEMMs. Batches are padding-free (enc_forward packs
 * sequences end to end), so a sequence's numbers do not depend on its neighbours' lengths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "enc.h"
#include "enc_embed.h"
#include "svc.h"
#include "svc_hb.h"
#include "wire.h"
#include "zm.h"
#include "zb_blas.h"

static const char usage[] =
    "usage: encoder_svc --model DIR [--gateway tcp://127.0.0.1:5555] [--in E] [--out E] [--sink E]\n"
    "                   [--threads 0] [--max-batch-tokens 8192] [--queue 32] [--max-job-tokens 262144]\n"
    "                   [--precision fp32]\n"
    "  --model DIR            model folder (config.json + model.safetensors)\n"
    "  --gateway E            the gateway's client endpoint; the others derive from it (env ZEMBED_GATEWAY)\n"
    "  --in E                 tokenized jobs (default: gateway port + 7)\n"
    "  --out E                encoded jobs to the poolers (default: gateway port + 8)\n"
    "  --sink E               errors to the gateway (default: gateway port + 10)\n"
    "  --control E            heartbeats to the gateway (default: gateway port + 3)\n"
    "  --threads N            BLAS and attention threads (default 0: all cores of the cgroup)\n"
    "  --max-batch-tokens N   tokens per forward pass; bounds memory (default 8192)\n"
    "  --queue N              jobs this worker accepts ahead of its work (default 32)\n"
    "  --max-job-tokens N     larger jobs are refused (bounds memory per job: its hidden states;\n"
    "                         default 262144, twice the largest the default gateway limits make)\n"
    "  --precision P          fp32 (default, exact), bf16 or int8: the dense layers on oneDNN in bf16\n"
    "                         or int8 (docs/PRECISION.md); refused at start on a CPU without the\n"
    "                         instructions. Every reply says which ran (\"precision\")\n"
    "Protocol: docs/PROTOCOL.md. SIGINT/SIGTERM stop it.\n";

#define MAX_BATCH_JOBS 256
#define MAX_LARGE 8     /* jobs over the token budget computed a pass at a time, in turn */

/* A job with more tokens than one forward pass takes (token_embeddings of 256 long texts): its
 * sequences go through a pass at a time, in turn with the other large jobs and after each batch of
 * small ones, so one heavy request delays the others by a pass, not by its whole length. */
typedef struct {
    wire_job job;
    int next_seq;           /* sequences [0, next_seq) are done */
    int64_t next_tok;       /* their tokens */
} large_job;

typedef struct {
    void *ctx, *in, *out, *sink;
    zm_model *zm;           /* config and weights; no tokenizer, no pooling */
    const enc_model *model;
    const enc_config *cfg;
    enc_runner *runner;
    const zm_info *info;
    const char *precision;      /* enc_precision_name of the model's */
    svc_worker_args args;
    svc_hb *hb;                 /* heartbeats: which jobs this process holds */
    wire_stage_limits lim;      /* what a job must satisfy before we touch it */
    int budget;
    char whoami[128];
    long jobs, batches, tokens;
    wire_job *fwd[MAX_BATCH_JOBS];  /* the jobs of this batch that take the forward pass */
    int n_fwd;
    large_job large[MAX_LARGE];
    int n_large, large_turn;
} esvc;


/* What enc_forward would refuse for the whole batch is refused here for this job only. */
static int check_job(const esvc *s, const wire_job *job, zb_err *err)
{
    for (int i = 0; i < job->n; i++)
        if (job->lens[i] < 1 || job->lens[i] > s->cfg->max_position || job->lens[i] > s->budget) {
            int sim = wire_ops[job->op].texts == WIRE_TEXTS_PAIR, b = sim && i >= job->na;
            return zb_fail(err, ZB_ERANGE, "%s[%d] has %d tokens; the model takes at most %d "
                           "(max_position_embeddings %d, --max-batch-tokens %d)",
                           sim ? (b ? "b" : "a") : "texts", b ? i - job->na : i, job->lens[i],
                           s->cfg->max_position < s->budget ? s->cfg->max_position : s->budget,
                           s->cfg->max_position, s->budget);
        }
    for (int64_t k = 0; k < job->n_ids; k++)
        if (job->ids[k] < 0 || job->ids[k] >= s->cfg->vocab_size)
            return zb_fail(err, ZB_ERANGE, "token id %d is outside the model's vocabulary [0, %d)",
                           job->ids[k], s->cfg->vocab_size);
    return ZB_OK;
}

/* The hot path: the sequences of all forward jobs of a batch, end to end, through enc_embed_tokens
 * (the code path of `zembed encode`: passes of at most the runner's budget, no padding); then each
 * job gets its own rows. An error fails every job of the batch (check_job already refused what
 * would fail because of a single job). */
static int forward_all(esvc *s, wire_job **jobs, int n_jobs, zb_err *err)
{
    const int H = s->cfg->hidden;
    int seqs = 0;
    int64_t toks = 0;
    for (int b = 0; b < n_jobs; b++) {
        seqs += jobs[b]->n;
        toks += jobs[b]->n_ids;
    }
    int32_t *ids = malloc(sizeof *ids * (toks ? toks : 1));
    int *lens = malloc(sizeof *lens * (seqs ? seqs : 1));
    float *hid = malloc(sizeof *hid * H * (toks ? toks : 1));
    int rc = ZB_OK;
    if (!ids || !lens || !hid) {
        rc = zb_fail(err, ZB_ENOMEM, "no memory for a batch of %lld tokens", (long long)toks);
        goto out;
    }
    int q = 0;
    int64_t t = 0;
    for (int b = 0; b < n_jobs; b++) {
        memcpy(ids + t, jobs[b]->ids, sizeof *ids * jobs[b]->n_ids);
        t += jobs[b]->n_ids;
        for (int i = 0; i < jobs[b]->n; i++)
            lens[q++] = jobs[b]->lens[i];
    }
    rc = enc_embed_tokens(s->runner, ids, NULL, lens, seqs, hid, err);
    svc_hb_batch(s->hb, (long)toks);        /* the gateway's batch-size histogram */
    for (int b = 0; b < n_jobs && !rc; b++)   /* the pooler puts it into every reply */
        wire_job_info_str(jobs[b], "precision", s->precision);
    s->batches++;
    s->tokens += toks;
    t = 0;
    for (int b = 0; b < n_jobs && !rc; b++) {
        if (!(jobs[b]->hidden = malloc(sizeof(float) * H * (jobs[b]->n_ids ? jobs[b]->n_ids : 1)))) {
            rc = zb_fail(err, ZB_ENOMEM, "no memory for hidden states");
            break;
        }
        memcpy(jobs[b]->hidden, hid + t * H, sizeof(float) * H * jobs[b]->n_ids);
        jobs[b]->hidden_dim = H;
        t += jobs[b]->n_ids;
    }
out:
    free(ids);
    free(lens);
    free(hid);
    return rc;
}

static void send_on(esvc *s, wire_job *job)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    wire_job_pack(job, &sb);
    if (svc_send_sbuf(s->out, &sb, 0))
        svc_log("job %llu: cannot pass it on: %s", (unsigned long long)job->j, zmq_strerror(errno));
    msgpack_sbuffer_destroy(&sb);
}

/* Jobs that need no forward pass: info and the context-free input embeddings. */
static int job_info(esvc *s, wire_job *job, zb_err *err)
{
    (void)err;
    wire_job_info_str(job, "model_type", s->cfg->model_type);
    wire_job_info_int(job, "hidden", s->cfg->hidden);
    wire_job_info_int(job, "layers", s->cfg->layers);
    wire_job_info_int(job, "heads", s->cfg->heads);
    wire_job_info_int(job, "max_position", s->cfg->max_position);
    wire_job_info_str(job, "w_encoder", s->whoami);
    wire_job_info_str(job, "precision", s->precision);
    wire_job_info_str(job, "encoder_kernel", enc_model_kernel(s->model));
    return ZB_OK;
}

static int job_input(esvc *s, wire_job *job, zb_err *err)
{
    const int H = s->cfg->hidden;
    if (!(job->hidden = malloc(sizeof(float) * H * (job->n_ids ? job->n_ids : 1))))
        return zb_fail(err, ZB_ENOMEM, "no memory for %lld input embeddings", (long long)job->n_ids);
    job->hidden_dim = H;
    return enc_input_embeddings(s->model, job->ids, (int)job->n_ids, job->hidden, err);
}

/* Ops with a forward pass join the batch's (forward_all runs it once for all of them). */
static int job_forward(esvc *s, wire_job *job, zb_err *err)
{
    (void)err;
    s->fwd[s->n_fwd++] = job;
    return ZB_OK;
}

static int job_similarity(esvc *s, wire_job *job, zb_err *err)
{
    return wire_op_hidden(job->op, &job->opt) == WIRE_HIDDEN_INPUT ? job_input(s, job, err)
                                                                   : job_forward(s, job, err);
}

/* This stage's row of the op table (wire_stage_check'ed in main). */
typedef int (*enc_handler)(esvc *s, wire_job *job, zb_err *err);
static const enc_handler handlers[WIRE_OP_COUNT_] = {
    [WIRE_OP_EMBED] = job_forward,
    [WIRE_OP_TOKEN_EMBEDDINGS] = job_forward,
    [WIRE_OP_INPUT_EMBEDDINGS] = job_input,
    [WIRE_OP_SIMILARITY] = job_similarity,
    [WIRE_OP_INFO] = job_info,
};

/* Receive one job without blocking; 1 got one, 0 nothing queued, -1 one not to work on: a bad
 * message (answered) or a job past its deadline (dropped: the gateway answered it). */
static int take(esvc *s, wire_job *job)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s->in, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return 0;
    }
    zb_err err;
    int rc = wire_job_unpack(zmq_msg_data(&m), zmq_msg_size(&m), job, &err);
    int op = rc ? -1 : (int)job->op;    /* echoed in the error reply when it could be read */
    zmq_msg_close(&m);
    if (!rc && svc_hb_give_up(s->hb, job->j, job->deadline_ms, 0)) {    /* answered `timeout` already */
        wire_job_free(job);
        return -1;
    }
    if (!rc)
        rc = wire_job_accept(job, WIRE_STAGE_ENCODER, &s->lim, &err);
    if (!rc && !handlers[job->op])
        rc = zb_fail(&err, ZB_EFORMAT, "job: op %s does not reach the encoder", wire_op_name(job->op));
    if (!rc && wire_ops[job->op].texts != WIRE_TEXTS_NONE)
        rc = check_job(s, job, &err);
    if (!rc)
        return 1;
    if (job->j)
        svc_send_error(s->sink, job->j, &job->id, op, rc, err.msg);
    svc_refused(job->j, err.msg);
    wire_job_free(job);
    return -1;
}

/* A large forward job joins the lane (1), or not (0: the lane is full, or it is small). */
static int to_lane(esvc *s, wire_job *job)
{
    if (job->n_ids <= s->budget || s->n_large == MAX_LARGE || !handlers[job->op] ||
        wire_op_hidden(job->op, &job->opt) != WIRE_HIDDEN_OUTPUT)
        return 0;
    size_t bytes = sizeof(float) * (size_t)job->n_ids * (size_t)s->cfg->hidden;
    if (!(job->hidden = malloc(bytes)))
        return 0;           /* the usual path answers out_of_memory */
    job->hidden_dim = s->cfg->hidden;
    large_job *l = &s->large[s->n_large++];
    l->job = *job;
    l->next_seq = 0;
    l->next_tok = 0;
    wire_job_init(job);
    svc_hb_hold(s->hb, l->job.j);
    return 1;
}

/* Lane job k is finished, failed or given up: it leaves the lane. */
static void lane_leave(esvc *s, int k)
{
    wire_job *job = &s->large[k].job;
    uint64_t j = job->j;
    wire_job_free(job);
    svc_hb_release(s->hb, j);
    s->jobs++;
    s->large[k] = s->large[--s->n_large];
}

/* One pass of the large job whose turn it is: as many of its next sequences as the budget takes.
 * A job whose deadline has passed is abandoned here, between passes: its request was answered
 * `timeout`, and each further pass would only delay the others. */
static void lane_pass(esvc *s)
{
    if (!s->n_large)
        return;
    int k = s->large_turn++ % s->n_large;
    large_job *l = &s->large[k];
    wire_job *job = &l->job;
    if (svc_hb_give_up(s->hb, job->j, job->deadline_ms, 1)) {
        lane_leave(s, k);
        return;
    }
    int n = 0;
    int64_t toks = 0;
    while (l->next_seq + n < job->n && (n == 0 || toks + job->lens[l->next_seq + n] <= s->budget))
        toks += job->lens[l->next_seq + n++];
    const int H = s->cfg->hidden;
    int *lens = malloc(sizeof *lens * (size_t)n);
    zb_err err;
    int rc = lens ? ZB_OK : zb_fail(&err, ZB_ENOMEM, "no memory for a pass of %d sequences", n);
    for (int i = 0; i < n && lens; i++)
        lens[i] = job->lens[l->next_seq + i];
    if (!rc)
        rc = enc_embed_tokens(s->runner, job->ids + l->next_tok, NULL, lens, n,
                              job->hidden + l->next_tok * H, &err);
    free(lens);
    svc_hb_batch(s->hb, (long)toks);
    s->batches++;
    s->tokens += toks;
    l->next_seq += n;
    l->next_tok += toks;
    svc_hb_progress(s->hb);
    if (rc)
        svc_send_error(s->sink, job->j, &job->id, job->op, err.code, err.msg);
    else if (l->next_seq == job->n)
        send_on(s, job);
    else
        return;
    lane_leave(s, k);
}

static void serve(esvc *s)
{
    static wire_job batch[MAX_BATCH_JOBS];
    while (!svc_stopping()) {
        /* with large jobs under way, look for new jobs without waiting */
        int r = svc_wait_in(s->in, s->n_large ? 0 : 250);
        if (r < 0)
            break;
        if (r == 0 && !s->n_large)
            continue;
        int n = 0;
        int64_t toks = 0;
        while (r > 0 && n < MAX_BATCH_JOBS && toks < s->budget) {
            int got = take(s, &batch[n]);
            if (got == 0)
                break;
            if (got > 0 && !to_lane(s, &batch[n]))
                toks += batch[n++].n_ids;
        }
        uint64_t held[MAX_BATCH_JOBS];
        for (int b = 0; b < n; b++)     /* the gateway re-dispatches them if this process dies now */
            svc_hb_hold(s->hb, held[b] = batch[b].j);
        s->n_fwd = 0;
        zb_err err;
        for (int b = 0; b < n; b++) {
            if (handlers[batch[b].op](s, &batch[b], &err)) {
                svc_send_error(s->sink, batch[b].j, &batch[b].id, batch[b].op, err.code, err.msg);
                wire_job_free(&batch[b]);
            }
        }
        if (s->n_fwd && forward_all(s, s->fwd, s->n_fwd, &err)) {
            for (int b = 0; b < s->n_fwd; b++) {
                svc_send_error(s->sink, s->fwd[b]->j, &s->fwd[b]->id, s->fwd[b]->op, err.code, err.msg);
                wire_job_free(s->fwd[b]);
            }
        }
        for (int b = 0; b < n; b++) {
            if (batch[b].j)     /* not failed above */
                send_on(s, &batch[b]);
            wire_job_free(&batch[b]);
        }
        for (int b = 0; b < n; b++)
            svc_hb_release(s->hb, held[b]);
        s->jobs += n;
        lane_pass(s);
    }
    while (s->n_large) {        /* stopping: what is under way is dropped (the gateway re-dispatches) */
        wire_job_free(&s->large[--s->n_large].job);
    }
}

int main(int argc, char **argv)
{
    zb_blas_check_core(argv);            /* first: it may start this program again */
    esvc s;
    memset(&s, 0, sizeof s);
    svc_log_init("encoder_svc");
    WIRE_STAGE_CHECK(WIRE_STAGE_ENCODER, handlers);
    int queue = 32;
    s.budget = 8192;
    int max_job_tokens = SVC_MAX_JOB_TOKENS;
    int prec = ENC_PREC_FP32;   /* an enc_precision: the choices are in its order */
    static const char *const precisions[] = {"fp32", "bf16", "int8", NULL};
    svc_int_flag extra[] = {{"--max-batch-tokens", &s.budget, 16, 1 << 20},
                            {"--queue", &queue, 1, 100000},
                            {"--max-job-tokens", &max_job_tokens, 1, 1 << 24},
                            {"--precision", &prec, 0, 0, NULL, precisions},
                            {NULL, NULL, 0, 0}};
    int rc = svc_worker_args_parse(argc, argv, usage, SVC_OFF_ENC, SVC_OFF_POOL_IN, &s.args, extra);
    if (rc)
        return rc == 1 ? 0 : 2;
    zb_err err;
    enc_set_threads(s.args.threads < 0 ? 0 : s.args.threads);
    zm_open_opts zo;
    zm_open_opts_default(&zo);
    zo.parts = ZM_WEIGHTS;
    zo.batch_tokens = s.budget;
    zo.precision = prec;
    if (!(s.zm = zm_open(s.args.model, &zo, &err))) {
        svc_log("cannot load the model (--max-batch-tokens %d): %s", s.budget, err.msg);
        return 2;
    }
    s.model = zm_weights(s.zm);
    s.cfg = zm_config(s.zm);
    s.runner = zm_runner(s.zm);
    s.info = zm_info_get(s.zm);
    s.precision = enc_precision_name((enc_precision)prec);
    if (prec != ENC_PREC_FP32)
        svc_log("precision %s on %s; weights %s", s.precision, enc_model_kernel(s.model),
                enc_model_weights_note(s.model));
    s.lim = (wire_stage_limits){s.cfg->hidden, s.cfg->max_position, max_job_tokens};
    svc_whoami(s.whoami, sizeof s.whoami);
    svc_signals();
    s.ctx = zmq_ctx_new();
    svc_sockopt pull = {.rcvhwm = queue}, push = {.sndhwm = 4, .immediate = 1};
    s.in = svc_socket(s.ctx, ZMQ_PULL, s.args.in, 0, &pull, &err);
    s.out = s.in ? svc_socket(s.ctx, ZMQ_PUSH, s.args.out, 0, &push, &err) : NULL;
    s.sink = s.out ? svc_socket(s.ctx, ZMQ_PUSH, s.args.sink, 0, &push, &err) : NULL;
    s.hb = s.sink ? svc_hb_start(s.ctx, s.args.control, WIRE_STAGE_ENCODER, s.whoami, &err) : NULL;
    rc = 0;
    if (!s.hb) {
        svc_log("%s", err.msg);
        rc = 2;
    } else {
        svc_log("model %s%s (%s, %d layers, hidden %d), precision %s on %s, in %s, out %s, sink %s, "
                "budget %d tokens", s.info->name,
                s.info->demo ? " (generated random demo model: its vectors mean nothing)" : "",
                s.cfg->model_type, s.cfg->layers, s.cfg->hidden, s.precision, enc_model_kernel(s.model),
                s.args.in, s.args.out, s.args.sink, s.budget);
        serve(&s);
        svc_counters c = svc_counters_get();
        svc_log("stopping after %ld jobs in %ld batches, %ld tokens; refused %ld frames (%ld dropped); "
                "%ld jobs past their deadline dropped, %ld abandoned part-way", s.jobs, s.batches,
                s.tokens, c.refused_answered + c.refused_dropped, c.refused_dropped, c.expired_dropped,
                c.expired_abandoned);
    }
    svc_hb_stop(&s.hb);
    if (s.in) zmq_close(s.in);
    if (s.out) zmq_close(s.out);
    if (s.sink) zmq_close(s.sink);
    zmq_ctx_term(s.ctx);
    zm_close(&s.zm);
    return rc;
}
