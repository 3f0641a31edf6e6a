/* enc_forward_test: the forward pass against a naive double-precision BertModel written here
 * independently (plain loops, libm erf/tanh), batching, threads, dtypes, layouts, range errors. */
#include "enc_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enc_tensors.h"
#include "enc_testutil.h"
#include "zb_dtype.h"
#include "zb_test.h"

static char base[] = "/tmp/enc_fwd_XXXXXX";
static char vocab[300], m_f32[300];
static enc_genmodel_opts opts;

/* ---------- the reference ---------- */

/* Tensor name of an F32/F16/BF16 file as doubles (malloc'd). */
static double *ref_tensor(st_file *f, const char *name)
{
    const st_tensor *t = st_find(f, name);
    if (!t) {
        fprintf(stderr, "  reference: %s missing\n", name);
        exit(1);
    }
    double *d = malloc(t->numel * sizeof *d);
    for (int64_t i = 0; i < t->numel; i++) {
        if (t->dtype == ST_F32) {
            float x;
            memcpy(&x, t->data + 4 * i, 4);
            d[i] = x;
        } else {
            uint16_t h = (uint16_t)(t->data[2 * i] | t->data[2 * i + 1] << 8);
            d[i] = t->dtype == ST_F16 ? zb_f16_to_f32(h) : zb_bf16_to_f32(h);
        }
    }
    return d;
}

static double *ref_layer_tensor(st_file *f, int l, const char *suffix)
{
    char name[200];
    snprintf(name, sizeof name, "encoder.layer.%d.%s", l, suffix);
    return ref_tensor(f, name);
}

static void ref_layernorm(double *x, int n, int h, const double *g, const double *b, double eps)
{
    for (int t = 0; t < n; t++) {
        double mean = 0, var = 0;
        for (int d = 0; d < h; d++)
            mean += x[t * h + d];
        mean /= h;
        for (int d = 0; d < h; d++)
            var += (x[t * h + d] - mean) * (x[t * h + d] - mean);
        var /= h;
        for (int d = 0; d < h; d++)
            x[t * h + d] = (x[t * h + d] - mean) / sqrt(var + eps) * g[d] + b[d];
    }
}

/* y[n,out] = x[n,in] W[out,in]^T + b */
static void ref_linear(const double *x, const double *w, const double *b, double *y, int n, int in, int out)
{
    for (int t = 0; t < n; t++)
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int i = 0; i < in; i++)
                s += x[t * in + i] * w[o * in + i];
            y[t * out + o] = s;
        }
}

/* One sequence through BertModel; out gets n x H doubles. */
static void ref_forward(const char *dir, const int32_t *ids, const int32_t *types, int n, double *out)
{
    char p[400];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    zb_err e;
    st_file *f = st_open(p, &e);
    enc_config c;
    enc_config_load(dir, &c, &e);
    int H = c.hidden, F = c.intermediate, nh = c.heads, dh = H / nh;
    double *word = ref_tensor(f, enc_emb_tensors[ENC_T_WORD].name),
           *pos = ref_tensor(f, enc_emb_tensors[ENC_T_POS].name),
           *typ = ref_tensor(f, enc_emb_tensors[ENC_T_TYPE].name),
           *g = ref_tensor(f, enc_emb_tensors[ENC_T_EMB_LN_W].name), *b = ref_tensor(f, enc_emb_tensors[ENC_T_EMB_LN_B].name);
    double *x = out, *q = malloc(sizeof(double) * n * H), *k = malloc(sizeof(double) * n * H),
           *v = malloc(sizeof(double) * n * H), *ctx = malloc(sizeof(double) * n * H),
           *a = malloc(sizeof(double) * n * H), *ff = malloc(sizeof(double) * n * F), *sc = malloc(sizeof(double) * n);
    for (int t = 0; t < n; t++)
        for (int d = 0; d < H; d++)
            x[t * H + d] = word[ids[t] * H + d] + pos[t * H + d] + typ[types[t] * H + d];
    ref_layernorm(x, n, H, g, b, c.layer_norm_eps);
    free(word), free(pos), free(typ), free(g), free(b);

    for (int l = 0; l < c.layers; l++) {
        double *w[ENC_N_LAYER_TENSORS];   /* in enc_tensors.h's order: q, k, v, o, ln1, i, f, ln2 */
        for (int i = 0; i < ENC_N_LAYER_TENSORS; i++)
            w[i] = ref_layer_tensor(f, l, enc_layer_tensors[i].name);
        ref_linear(x, w[0], w[1], q, n, H, H);
        ref_linear(x, w[2], w[3], k, n, H, H);
        ref_linear(x, w[4], w[5], v, n, H, H);
        for (int h = 0; h < nh; h++)
            for (int i = 0; i < n; i++) {
                double mx = -1e300, sum = 0;
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int d = 0; d < dh; d++)
                        s += q[i * H + h * dh + d] * k[j * H + h * dh + d];
                    sc[j] = s / sqrt((double)dh);
                    mx = fmax(mx, sc[j]);
                }
                for (int j = 0; j < n; j++)
                    sum += sc[j] = exp(sc[j] - mx);
                for (int d = 0; d < dh; d++) {
                    double s = 0;
                    for (int j = 0; j < n; j++)
                        s += sc[j] / sum * v[j * H + h * dh + d];
                    ctx[i * H + h * dh + d] = s;
                }
            }
        ref_linear(ctx, w[6], w[7], a, n, H, H);
        for (int i = 0; i < n * H; i++)
            x[i] += a[i];
        ref_layernorm(x, n, H, w[8], w[9], c.layer_norm_eps);
        ref_linear(x, w[10], w[11], ff, n, H, F);
        for (int i = 0; i < n * F; i++) {
            double z = ff[i];
            ff[i] = c.act == ENC_ACT_GELU ? 0.5 * z * (1 + erf(z / sqrt(2.0)))
                  : c.act == ENC_ACT_GELU_NEW ? 0.5 * z * (1 + tanh(sqrt(2 / M_PI) * (z + 0.044715 * z * z * z)))
                                              : fmax(z, 0);
        }
        ref_linear(ff, w[12], w[13], a, n, F, H);
        for (int i = 0; i < n * H; i++)
            x[i] += a[i];
        ref_layernorm(x, n, H, w[14], w[15], c.layer_norm_eps);
        for (int i = 0; i < ENC_N_LAYER_TENSORS; i++)
            free(w[i]);
    }
    free(q), free(k), free(v), free(ctx), free(a), free(ff), free(sc);
    st_close(f);
}

/* ---------- helpers ---------- */

#define NSEQ 4
static const int lens[NSEQ] = {1, 7, 24, 12};   /* 24 = max_position */
static int32_t ids[64], types[64];
static int total;

static void make_inputs(void)
{
    unsigned s = 12345;
    total = 0;
    for (int i = 0; i < NSEQ; i++)
        total += lens[i];
    for (int t = 0; t < total; t++) {
        s = s * 1103515245u + 12345u;
        ids[t] = (int32_t)((s >> 8) % ET_VOCAB);
        types[t] = (int32_t)((s >> 20) & 1);
    }
}

/* enc_forward of the batch on a folder; returns a malloc'd total x H array or NULL. */
static float *run(const char *dir, const int32_t *id, const int32_t *ty, const int *ln, int nseq, int T)
{
    zb_err e;
    enc_model *m = enc_model_load(dir, &e);
    if (!m) {
        fprintf(stderr, "  load %s: %s\n", dir, e.msg);
        return NULL;
    }
    enc_runner *r = enc_runner_new(m, 64, &e);
    float *out = calloc((size_t)T * enc_model_config(m)->hidden, sizeof *out);
    if (enc_forward(r, id, ty, ln, nseq, out, &e)) {
        fprintf(stderr, "  forward: %s\n", e.msg);
        free(out);
        out = NULL;
    }
    enc_runner_free(r);
    enc_model_free(m);
    return out;
}

/* max |a - ref| over the batch, the reference run one sequence at a time. */
static double err_vs_ref(const char *dir, const float *a)
{
    double worst = 0, *ref = malloc(sizeof(double) * 64 * opts.hidden);
    for (int s = 0, t0 = 0; s < NSEQ; t0 += lens[s++]) {
        ref_forward(dir, ids + t0, types + t0, lens[s], ref);
        for (int i = 0; i < lens[s] * opts.hidden; i++)
            worst = fmax(worst, fabs(a[(size_t)t0 * opts.hidden + i] - ref[i]));
    }
    free(ref);
    return worst;
}

/* ---------- tests ---------- */

static void test_matches_reference(void)
{
    float *a = run(m_f32, ids, types, lens, NSEQ, total);
    ZT_CHECK(a != NULL);
    if (a)
        ZT_CHECK_NEAR(err_vs_ref(m_f32, a), 0, 2e-5);
    free(a);
}

static void test_no_type_ids_means_zero(void)
{
    int32_t zeros[64] = {0};
    float *a = run(m_f32, ids, NULL, lens, NSEQ, total), *b = run(m_f32, ids, zeros, lens, NSEQ, total);
    ZT_CHECK(a && b && !memcmp(a, b, sizeof(float) * total * opts.hidden));
    free(a), free(b);
}

static void test_batch_equals_one_by_one(void)
{
    float *a = run(m_f32, ids, types, lens, NSEQ, total);
    double worst = 0;
    for (int s = 0, t0 = 0; a && s < NSEQ; t0 += lens[s++]) {
        float *one = run(m_f32, ids + t0, types + t0, &lens[s], 1, lens[s]);
        for (int i = 0; one && i < lens[s] * opts.hidden; i++)
            worst = fmax(worst, fabs(a[(size_t)t0 * opts.hidden + i] - one[i]));
        ZT_CHECK(one != NULL);
        free(one);
    }
    ZT_CHECK(a != NULL);
    ZT_CHECK_NEAR(worst, 0, 1e-5);
    free(a);
}

static void test_threads_agree(void)
{
    enc_set_threads(1);
    float *a = run(m_f32, ids, types, lens, NSEQ, total);
    enc_set_threads(3);
    float *b = run(m_f32, ids, types, lens, NSEQ, total);
    enc_set_threads(0);
    ZT_CHECK(enc_threads() >= 1);
    double worst = 0;
    for (int i = 0; a && b && i < total * opts.hidden; i++)
        worst = fmax(worst, fabs(a[i] - b[i]));
    ZT_CHECK(a && b);
    ZT_CHECK_NEAR(worst, 0, 1e-5);
    free(a), free(b);
}

/* Other layouts of the same weights: identical numbers; F16/BF16: the reference on their values. */
static void test_layouts_and_dtypes(void)
{
    float *a = run(m_f32, ids, types, lens, NSEQ, total);
    struct { const char *name; int prefix, shards; enc_genmodel_dtype dt; } v[] = {
        {"prefix", 1, 0, ENC_GENMODEL_F32}, {"shards", 0, 3, ENC_GENMODEL_F32},
        {"prefix_shards", 1, 2, ENC_GENMODEL_F32}, {"f16", 0, 0, ENC_GENMODEL_F16},
        {"bf16", 0, 0, ENC_GENMODEL_BF16},
    };
    for (size_t i = 0; a && i < sizeof v / sizeof *v; i++) {
        enc_genmodel_opts o = opts;
        o.prefix_bert = v[i].prefix, o.shards = v[i].shards, o.dtype = v[i].dt;
        char dir[400];
        ZT_CHECK(et_make(base, v[i].name, vocab, &o, dir, sizeof dir) == 0);
        float *b = run(dir, ids, types, lens, NSEQ, total);
        ZT_CHECK(b != NULL);
        if (b && v[i].dt == ENC_GENMODEL_F32 && memcmp(a, b, sizeof(float) * total * opts.hidden)) {
            fprintf(stderr, "  %s differs from the plain F32 folder\n", v[i].name);
            ZT_CHECK(0);
        }
        if (b && v[i].dt != ENC_GENMODEL_F32) {
            ZT_CHECK_NEAR(err_vs_ref(dir, b), 0, 2e-5);
            double drift = 0;   /* rounding the weights must change something, a little */
            for (int j = 0; j < total * opts.hidden; j++)
                drift = fmax(drift, fabs(a[j] - b[j]));
            ZT_CHECK(drift > 0 && drift < 0.5);
        }
        free(b);
    }
    free(a);
}

static void test_activations(void)
{
    const char *acts[] = {"gelu_new", "relu"};
    for (int i = 0; i < 2; i++) {
        enc_genmodel_opts o = opts;
        o.hidden_act = acts[i];
        o.heads = 4;   /* head size 8: attention's plain path */
        char dir[400];
        ZT_CHECK(et_make(base, acts[i], vocab, &o, dir, sizeof dir) == 0);
        float *a = run(dir, ids, types, lens, NSEQ, total);
        ZT_CHECK(a != NULL);
        if (a)
            ZT_CHECK_NEAR(err_vs_ref(dir, a), 0, 2e-5);
        free(a);
    }
}

static void expect_range(const int32_t *id, const int32_t *ty, const int *ln, int nseq, const char *want)
{
    zb_err e;
    enc_model *m = enc_model_load(m_f32, &e);
    enc_runner *r = enc_runner_new(m, 40, &e);
    float *out = calloc(64 * opts.hidden, sizeof *out);
    int rc = enc_forward(r, id, ty, ln, nseq, out, &e);
    ZT_CHECK_EQ_INT(rc, ZB_ERANGE);
    if (rc && !strstr(e.msg, want)) {
        fprintf(stderr, "  message '%s' lacks '%s'\n", e.msg, want);
        ZT_CHECK(0);
    }
    free(out);
    enc_runner_free(r);
    enc_model_free(m);
}

static void test_range_errors(void)
{
    int32_t id[30] = {2, 5, 6, 3, 2, 7, 3}, ty[30] = {0};
    int ln[2] = {4, 3};
    id[5] = ET_VOCAB;
    expect_range(id, ty, ln, 2, "sequence 1, position 1: token id 60");
    id[5] = -1;
    expect_range(id, ty, ln, 2, "sequence 1, position 1: token id -1");
    id[5] = 7;
    ty[2] = 2;
    expect_range(id, ty, ln, 2, "sequence 0, position 2: token type id 2");
    ty[2] = 0;
    int too_long[1] = {25};
    expect_range(id, NULL, too_long, 1, "sequence 0 has 25 tokens");
    int over_budget[2] = {24, 24};
    expect_range(id, NULL, over_budget, 2, "more than 40 tokens");
    int negative[1] = {-1};
    expect_range(id, NULL, negative, 1, "sequence 0 has -1 tokens");
}

static void test_input_embeddings(void)
{
    zb_err e;
    enc_model *m = enc_model_load(m_f32, &e);
    char p[400];
    snprintf(p, sizeof p, "%s/model.safetensors", m_f32);
    st_file *f = st_open(p, &e);
    const st_tensor *w = st_find(f, enc_emb_tensors[ENC_T_WORD].name);
    int32_t id[3] = {0, 59, 17};
    float out[3 * 32];
    ZT_CHECK_EQ_INT(enc_input_embeddings(m, id, 3, out, &e), 0);
    for (int i = 0; i < 3; i++)
        ZT_CHECK(!memcmp(out + 32 * i, w->data + (size_t)4 * 32 * id[i], 32 * 4));
    id[1] = 60;
    ZT_CHECK_EQ_INT(enc_input_embeddings(m, id, 3, out, &e), ZB_ERANGE);
    ZT_CHECK(strstr(e.msg, "token 1: id 60") != NULL);
    st_close(f);
    enc_model_free(m);
}

/* The vectorized exp/GELU against libm in double over the range activations take. */
static void test_math_approximations(void)
{
    double we = 0, wg = 0, wt = 0;
    for (double x0 = -20; x0 <= 20; x0 += 0.001) {
        double x = (float)x0;   /* the reference at exactly the float we pass */
        we = fmax(we, fabs(enc_expf((float)x) - exp(x)) / exp(x));
        double ge = 0.5 * x * (1 + erf(x / sqrt(2.0)));
        double gt = 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
        wg = fmax(wg, fabs(enc_gelu_erf((float)x) - ge) / fmax(1, fabs(x)));
        wt = fmax(wt, fabs(enc_gelu_tanh((float)x) - gt) / fmax(1, fabs(x)));
    }
    ZT_CHECK_NEAR(we, 0, 5e-7);
    ZT_CHECK_NEAR(wg, 0, 5e-7);
    ZT_CHECK_NEAR(wt, 0, 5e-7);
    ZT_CHECK(enc_expf(-200) >= 0 && enc_expf(-200) < 1e-37);
}

int main(void)
{
    if (!mkdtemp(base))
        return 1;
    et_write_vocab(base, vocab, sizeof vocab);
    et_opts(&opts);
    if (et_make(base, "f32", vocab, &opts, m_f32, sizeof m_f32))
        return 1;
    make_inputs();
    ZT_RUN(test_math_approximations);
    ZT_RUN(test_matches_reference);
    ZT_RUN(test_no_type_ids_means_zero);
    ZT_RUN(test_batch_equals_one_by_one);
    ZT_RUN(test_threads_agree);
    ZT_RUN(test_layouts_and_dtypes);
    ZT_RUN(test_activations);
    ZT_RUN(test_range_errors);
    ZT_RUN(test_input_embeddings);
    et_rmtree(base);
    return zt_done();
}
