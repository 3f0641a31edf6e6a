/* enc_embed_test: batching by token budget gives what one big pass gives, pooled vectors are the
 * pooling of those token states, and a text that cannot fit is named. */
#include "enc_embed.h"

#include <math.h>
#include <string.h>

#include "enc_testutil.h"
#include "zb_test.h"

static char base[] = "/tmp/enc_embed_XXXXXX";
static char dir[400];

#define N 7
static const int lens[N] = {3, 9, 1, 24, 5, 12, 8};   /* 62 tokens */
static int32_t ids[62], types[62];
static int total;

static float *forward_all(enc_model *m)
{
    zb_err e;
    enc_runner *r = enc_runner_new(m, 64, &e);
    float *out = malloc(sizeof(float) * total * 32);
    ZT_CHECK_EQ_INT(enc_forward(r, ids, types, lens, N, out, &e), 0);
    enc_runner_free(r);
    return out;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++)
        w = fmax(w, fabs(a[i] - b[i]));
    return w;
}

static void test_tokens_across_budgets(void)
{
    zb_err e;
    enc_model *m = enc_model_load(dir, &e);
    float *want = forward_all(m), *got = malloc(sizeof(float) * total * 32);
    /* 24: the longest text fills a pass alone; 25 and 40: passes of several texts; 64: one pass */
    int budgets[] = {24, 25, 40, 64};
    for (int b = 0; b < 4; b++) {
        enc_runner *r = enc_runner_new(m, budgets[b], &e);
        memset(got, 0, sizeof(float) * total * 32);
        ZT_CHECK_EQ_INT(enc_embed_tokens(r, ids, types, lens, N, got, &e), 0);
        ZT_CHECK_NEAR(max_diff(got, want, (size_t)total * 32), 0, 1e-5);
        enc_runner_free(r);
    }
    free(want), free(got);
    enc_model_free(m);
}

static void test_sentences_are_pooled_tokens(void)
{
    zb_err e;
    enc_model *m = enc_model_load(dir, &e);
    float *tok = forward_all(m);
    pool_config pc;
    pool_config_default(32, &pc);
    pool_config_set_mode(&pc, POOL_MAX);
    pc.normalize = 1;
    float want[N * 32], got[N * 32];
    pool_batch(&pc, tok, lens, N, want);
    enc_runner *r = enc_runner_new(m, 30, &e);
    ZT_CHECK_EQ_INT(enc_embed_sentences(r, &pc, ids, types, lens, N, got, &e), 0);
    ZT_CHECK_NEAR(max_diff(got, want, N * 32), 0, 1e-5);
    /* nothing to do is fine */
    ZT_CHECK_EQ_INT(enc_embed_sentences(r, &pc, ids, types, lens, 0, got, &e), 0);
    enc_runner_free(r);
    free(tok);
    enc_model_free(m);
}

static void test_errors_name_the_text(void)
{
    zb_err e;
    enc_model *m = enc_model_load(dir, &e);
    enc_runner *r = enc_runner_new(m, 20, &e);
    float *out = malloc(sizeof(float) * total * 32);
    ZT_CHECK_EQ_INT(enc_embed_tokens(r, ids, types, lens, N, out, &e), ZB_ERANGE);
    ZT_CHECK(strstr(e.msg, "text 3 has 24 tokens") != NULL);
    enc_runner_free(r);
    r = enc_runner_new(m, 64, &e);
    int32_t bad[62];
    memcpy(bad, ids, sizeof bad);
    bad[3 + 9 + 1 + 2] = 1000;   /* text 3, position 2 */
    ZT_CHECK_EQ_INT(enc_embed_tokens(r, bad, NULL, lens, N, out, &e), ZB_ERANGE);
    ZT_CHECK(strstr(e.msg, "sequence 3, position 2: token id 1000") != NULL);
    enc_runner_free(r);
    free(out);
    enc_model_free(m);
}

int main(void)
{
    if (!mkdtemp(base))
        return 1;
    char vocab[300];
    enc_genmodel_opts o;
    et_write_vocab(base, vocab, sizeof vocab);
    et_opts(&o);
    if (et_make(base, "m", vocab, &o, dir, sizeof dir))
        return 1;
    unsigned s = 99;
    for (int i = 0; i < N; i++)
        total += lens[i];
    for (int t = 0; t < total; t++) {
        s = s * 1103515245u + 12345u;
        ids[t] = (int32_t)((s >> 8) % ET_VOCAB);
        types[t] = (int32_t)((s >> 20) & 1);
    }
    ZT_RUN(test_tokens_across_budgets);
    ZT_RUN(test_sentences_are_pooled_tokens);
    ZT_RUN(test_errors_name_the_text);
    et_rmtree(base);
    return zt_done();
}
