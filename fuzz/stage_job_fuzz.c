/* libFuzzer target: stage-job decoding as the encoder and the pooler do it (wire_job_unpack, then
 * wire_job_accept for that stage), on arbitrary frames pushed into their ports.
 * Invariants: no crash, leak or unbounded allocation; a refused frame carries a code and a message;
 * an accepted job holds only what the stage's code may rely on without further checks: options
 * in range (a dtype and dimension count pool_quant can size without asserting), an op that travels
 * between stages, similarity lists that fit, no hidden states for the encoder (it would overwrite
 * them), hidden states of the model's width for the pooler with 1..max_position tokens per text,
 * a deadline within WIRE_TTL_MAX_MS. */
#include <stdint.h>

#include "fuzz_util.h"
#include "pool.h"
#include "wire.h"

static const wire_stage_limits LIM = {.hidden = 4, .max_position = 64, .max_job_tokens = 4096};

static void check_accepted(const wire_job *job, wire_stage stage)
{
    const wire_opts *o = &job->opt;
    FUZZ_ASSERT(o->dtype >= 0 && o->dtype < ZB_DT_COUNT);
    FUZZ_ASSERT(o->dimensions >= 0 && o->normalize >= -1 && o->normalize <= 1);
    FUZZ_ASSERT(o->truncate >= 0 && o->truncate <= 1 && o->tokens_mode >= 0 && o->tokens_mode <= 1);
    FUZZ_ASSERT(o->max_length >= 0);
    /* what the pooler computes from them: must not assert */
    (void)zb_dtype_row_bytes((zb_dtype)o->dtype, o->dimensions ? o->dimensions : LIM.hidden);
    (void)zb_dtype_name((zb_dtype)o->dtype);
    FUZZ_ASSERT(job->op != WIRE_OP_TOKENIZE && job->op != WIRE_OP_HEALTH);
    FUZZ_ASSERT((unsigned)job->op < WIRE_OP_COUNT_);
    if (job->op == WIRE_OP_SIMILARITY)
        FUZZ_ASSERT(job->na >= 1 && job->na < job->n && (!o->tokens_mode || job->n == 2));
    else
        FUZZ_ASSERT(job->na == 0);
    FUZZ_ASSERT(job->n_ids <= LIM.max_job_tokens);
    int64_t total = 0;
    for (int i = 0; i < job->n; i++) {
        FUZZ_ASSERT(job->lens[i] >= 0);
        total += job->lens[i];
    }
    FUZZ_ASSERT(total == job->n_ids);
    /* a deadline (from "ttl") is none or at most WIRE_TTL_MAX_MS ahead: no overflow, never "none" by
     * accident (a ttl of 0 is a deadline already passed) */
    FUZZ_ASSERT(job->deadline_ms >= 0 && wire_ttl_left(job->deadline_ms, wire_now_ms()) <= WIRE_TTL_MAX_MS);
    if (stage == WIRE_STAGE_ENCODER) {
        FUZZ_ASSERT(job->hidden == NULL);
    } else if (job->op != WIRE_OP_INFO) {
        FUZZ_ASSERT(job->hidden && job->hidden_dim == LIM.hidden);
        for (int i = 0; i < job->n; i++)
            FUZZ_ASSERT(job->lens[i] >= 1 && job->lens[i] <= LIM.max_position);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int stage = WIRE_STAGE_ENCODER; stage <= WIRE_STAGE_POOLER; stage++) {
        wire_job job;
        zb_err err;
        zb_clear(&err);
        int rc = wire_job_unpack(data, size, &job, &err);
        if (rc == ZB_OK)
            rc = wire_job_accept(&job, (wire_stage)stage, &LIM, &err);
        fuzz_check_err(rc, &err);
        if (rc == ZB_OK)
            check_accepted(&job, (wire_stage)stage);
        wire_job_free(&job);
    }
    return 0;
}
