/* libFuzzer target: enc_model_load on a fuzzed model folder (config.json and model.safetensors),
 * then a forward pass and input embeddings with whatever it accepted.
 * Input: config.json, a NUL byte, then model.safetensors (no NUL: only config.json, so the
 * "no weights" error path runs). A loaded model must run a small batch of in-range ids, refuse
 * out-of-range ids and over-long sequences with an error, and never read outside its tensors.
 * The model handle (model/zm.h) opens the same folder too: the weights with the pooling, and the
 * tokenizer part, whose lenient config.json read runs before the (missing) tokenizer is refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enc.h"
#include "fuzz_util.h"
#include "zm.h"

static void exercise(const enc_model *m)
{
    const enc_config *c = enc_model_config(m);
    FUZZ_ASSERT(c->vocab_size >= 1 && c->hidden >= 1 && c->layers >= 1 && c->heads >= 1);
    FUZZ_ASSERT(c->hidden % c->heads == 0 && c->max_position >= 1 && c->type_vocab >= 1);
    zb_err err;
    zb_clear(&err);
    enc_runner *r = enc_runner_new(m, 16, &err);
    if (!r) {
        fuzz_check_err(err.code, &err);
        return;
    }
    int32_t ids[6], types[6];
    for (int i = 0; i < 6; i++) {
        ids[i] = (int32_t)(i * 7 % c->vocab_size);
        types[i] = i % c->type_vocab;
    }
    int lens[2] = { 4, 2 };
    if (c->max_position < 4)
        lens[0] = lens[1] = 1;
    size_t n_tok = (size_t)(lens[0] + lens[1]);
    float *out = malloc(sizeof *out * 6 * (size_t)c->hidden);
    FUZZ_ASSERT(out != NULL);
    int rc = enc_forward(r, ids, types, lens, 2, out, &err);
    fuzz_check_err(rc, &err);
    rc = enc_input_embeddings(m, ids, (int)n_tok, out, &err);
    FUZZ_ASSERT(rc == ZB_OK);
    /* Out of range: an error, not a read outside the embedding matrix. */
    int32_t bad[2] = { c->vocab_size, -1 };
    int one[1] = { 1 };
    FUZZ_ASSERT(enc_forward(r, bad, NULL, one, 1, out, &err) == ZB_ERANGE);
    FUZZ_ASSERT(enc_input_embeddings(m, bad + 1, 1, out, &err) == ZB_ERANGE);
    free(out);
    enc_runner_free(r);
}

static void open_handle(unsigned parts)
{
    zm_open_opts o;
    zm_open_opts_default(&o);
    o.parts = parts;
    o.batch_tokens = 16;
    zb_err err;
    zb_clear(&err);
    zm_model *z = zm_open(fuzz_dir(), &o, &err);
    if (!z) {
        FUZZ_ASSERT(err.code < 0);
        fuzz_check_err(err.code, &err);
        return;
    }
    const zm_info *in = zm_info_get(z);
    FUZZ_ASSERT(!(parts & ZM_TOKENIZER) == !zm_tokenizer(z) && !(parts & ZM_WEIGHTS) == !zm_runner(z));
    if (parts & ZM_POOLING)
        FUZZ_ASSERT(in->max_position >= 1 && in->hidden >= 1 && in->dim == in->hidden);
    zm_close(&z);
    FUZZ_ASSERT(z == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t clen = nul ? (size_t)(nul - data) : size;
    fuzz_put("config.json", data, clen);
    fuzz_put("model.safetensors", nul ? nul + 1 : NULL, nul ? size - clen - 1 : 0);
    zb_err err;
    zb_clear(&err);
    open_handle(ZM_WEIGHTS | ZM_POOLING);
    open_handle(ZM_TOKENIZER);
    enc_model *m = enc_model_load(fuzz_dir(), &err);
    if (!m) {
        FUZZ_ASSERT(err.code < 0);
        fuzz_check_err(err.code, &err);
        return 0;
    }
    exercise(m);
    enc_model_free(m);
    return 0;
}
