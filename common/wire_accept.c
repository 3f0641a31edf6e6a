/* wire_accept: what each stage checks in a decoded job before its own code touches it (wire.h).
 *
 * wire_job_unpack already guarantees a self-consistent job (sizes agree, options in range). What it
 * cannot know is which stage reads the job: a frame PUSHed into the encoder->pooler port without
 * hidden states, or into the tokenizer->encoder port with them (the encoder would overwrite them),
 * or with hidden states of another width than the model's, is refused here, never asserted on. */
#include <assert.h>

#include "wire.h"

int wire_job_accept(const wire_job *job, wire_stage stage, const wire_stage_limits *lim, zb_err *err)
{
    assert(stage == WIRE_STAGE_ENCODER || stage == WIRE_STAGE_POOLER);
    if (!wire_op_at(job->op, stage))
        return zb_fail(err, ZB_EFORMAT, "job: op %s does not reach the %s", wire_op_name(job->op),
                       stage == WIRE_STAGE_ENCODER ? "encoder" : "pooler");
    if (job->n_ids > lim->max_job_tokens)
        return zb_fail(err, ZB_EFORMAT, "job: %lld tokens; this worker takes at most %lld per job",
                       (long long)job->n_ids, (long long)lim->max_job_tokens);
    if (stage == WIRE_STAGE_ENCODER) {
        if (job->hidden)
            return zb_fail(err, ZB_EFORMAT, "job: hidden states already present in a job for the "
                           "encoder (they are the encoder's output)");
        return ZB_OK;
    }
    if (wire_op_hidden(job->op, &job->opt) == WIRE_HIDDEN_NONE)  /* info: only its info map is read */
        return ZB_OK;
    if (!job->hidden)
        return zb_fail(err, ZB_EFORMAT, "job: hidden states missing");
    if (job->hidden_dim != lim->hidden)
        return zb_fail(err, ZB_EFORMAT, "job: hidden states have %d columns; the model has %d",
                       job->hidden_dim, lim->hidden);
    for (int i = 0; i < job->n; i++)
        if (job->lens[i] < 1 || job->lens[i] > lim->max_position)
            return zb_fail(err, ZB_EFORMAT, "job: lens[%d] = %d is outside 1..%d (max_position)", i,
                           job->lens[i], lim->max_position);
    return ZB_OK;
}
