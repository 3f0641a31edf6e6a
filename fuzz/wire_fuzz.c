/* libFuzzer target: every decoder of the wire protocol (common/wire.h) on arbitrary frames, as a
 * client or anything that can connect to a stage port may send them.
 * Invariants: no crash, leak or unbounded allocation; errors carry a code and a message; a parsed
 * request respects its limits and its texts lie inside the frame; a decoded stage job is
 * consistent (lens add up to n_ids) and survives pack -> unpack unchanged. */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "wire.h"

static void check_request(const uint8_t *data, size_t size, const wire_req *req,
                          const wire_limits *lim, int op_known)
{
    FUZZ_ASSERT(op_known);
    FUZZ_ASSERT((unsigned)req->op < WIRE_OP_COUNT_);
    FUZZ_ASSERT(req->n >= 0 && req->na >= 0 && req->na <= req->n);
    FUZZ_ASSERT(req->id.len <= WIRE_ID_MAX);
    if (lim)
        FUZZ_ASSERT(req->n <= lim->max_texts);
    for (int i = 0; i < req->n; i++) {
        const uint8_t *t = (const uint8_t *)req->texts[i];
        FUZZ_ASSERT(t >= data && req->text_lens[i] <= size && t + req->text_lens[i] <= data + size);
        if (lim)
            FUZZ_ASSERT(req->text_lens[i] <= lim->max_text_bytes);
    }
}

static void check_job(const wire_job *job)
{
    FUZZ_ASSERT(job->n >= 0 && job->na >= 0 && job->na <= job->n);
    int64_t total = 0;
    for (int i = 0; i < job->n; i++) {
        FUZZ_ASSERT(job->lens[i] >= 0);
        total += job->lens[i];
    }
    FUZZ_ASSERT(total == job->n_ids);
    FUZZ_ASSERT((job->hidden == NULL) == (job->hidden_dim == 0));
    FUZZ_ASSERT(job->n_info >= 0 && job->n_info <= WIRE_INFO_MAX);
}

static void check_same_job(const wire_job *a, const wire_job *b)
{
    FUZZ_ASSERT(a->j == b->j && a->op == b->op && a->n == b->n && a->na == b->na);
    FUZZ_ASSERT(a->id.len == b->id.len && memcmp(a->id.raw, b->id.raw, a->id.len) == 0);
    FUZZ_ASSERT(memcmp(&a->opt, &b->opt, sizeof a->opt) == 0);
    FUZZ_ASSERT(a->n_ids == b->n_ids && a->hidden_dim == b->hidden_dim);
    FUZZ_ASSERT(memcmp(a->lens, b->lens, sizeof *a->lens * (size_t)a->n) == 0);
    FUZZ_ASSERT(memcmp(a->ids, b->ids, sizeof *a->ids * (size_t)a->n_ids) == 0);
    FUZZ_ASSERT((a->pieces == NULL) == (b->pieces == NULL));
    for (int64_t i = 0; a->pieces && i < a->n_ids; i++)
        FUZZ_ASSERT(strcmp(a->pieces[i], b->pieces[i]) == 0);
    if (a->hidden)   /* bytes, not floats: NaN payloads must survive too */
        FUZZ_ASSERT(memcmp(a->hidden, b->hidden,
                           sizeof(float) * (size_t)a->n_ids * (size_t)a->hidden_dim) == 0);
    FUZZ_ASSERT(a->n_info == b->n_info);
    for (int i = 0; i < a->n_info; i++) {
        FUZZ_ASSERT(strcmp(a->info[i].key, b->info[i].key) == 0);
        FUZZ_ASSERT(a->info[i].is_str == b->info[i].is_str);
        FUZZ_ASSERT(a->info[i].is_str ? strcmp(a->info[i].s, b->info[i].s) == 0
                                      : a->info[i].i == b->info[i].i);
    }
}

static void fuzz_job(const uint8_t *data, size_t size)
{
    wire_job job;
    zb_err err;
    zb_clear(&err);
    int rc = wire_job_unpack(data, size, &job, &err);
    fuzz_check_err(rc, &err);
    if (rc == ZB_OK) {
        check_job(&job);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        wire_job_pack(&job, &sb);
        wire_job again;
        rc = wire_job_unpack(sb.data, sb.size, &again, &err);
        if (rc)
            fprintf(stderr, "fuzz: a packed job does not unpack: %s\n", err.msg);
        FUZZ_ASSERT(rc == ZB_OK);
        check_same_job(&job, &again);
        wire_job_free(&again);
        msgpack_sbuffer_destroy(&sb);
    }
    wire_job_free(&job);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zb_err err;
    zb_clear(&err);
    fuzz_check_err(wire_check(data, size, WIRE_MAX_DEPTH, &err), &err);

    const wire_limits lim = { .max_texts = 64, .max_text_bytes = 4096, .max_timeout_ms = 60000 };
    const wire_limits *lims[] = { &lim, NULL };
    for (int k = 0; k < 2; k++) {
        wire_req req;
        int op_known;
        zb_clear(&err);
        int rc = wire_req_parse(data, size, lims[k], &req, &op_known, &err);
        fuzz_check_err(rc, &err);
        if (rc == ZB_OK)
            check_request(data, size, &req, lims[k], op_known);
        wire_req_free(&req);
    }

    fuzz_job(data, size);

    wire_req req;
    uint64_t j;
    int64_t deadline_ms;
    int op_known;
    zb_clear(&err);
    int rc = wire_unpack_tok_job(data, size, &j, &deadline_ms, &req, &op_known, &err);
    fuzz_check_err(rc, &err);
    if (rc == ZB_OK)
        check_request(data, size, &req, NULL, op_known);
    wire_req_free(&req);
    return 0;
}
