#include "enc_genmodel.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "enc_tensors.h"
#include "zb_dtype.h"
#include "zb_file.h"

/* safetensors is little-endian and values are written with memcpy. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "enc_genmodel writes safetensors by memcpy: little-endian hosts only"
#endif

#define VOCAB_MAX_BYTES  (64u << 20)
#define TOKJSON_MAX_BYTES (256u << 20)
#define CHUNK            8192   /* values generated and converted per write */

/* ---------- deterministic numbers ----------
 * splitmix64 used as a counter-based generator: draw k of a tensor is mix(base + (k+1)*gamma), so
 * any element can be computed on its own (enc_genmodel_value) and the stream does not depend on the
 * order tensors are written in. Normals are Irwin-Hall (sum of 12 uniforms - 6): integer sums
 * converted exactly to double, so the bytes are the same on every machine, which libm's log/cos
 * (Box-Muller) do not promise across CPUs. Tails are cut at 6 sigma, harmless for test weights. */

#define GOLDEN_GAMMA 0x9E3779B97F4A7C15ull

/* std * z + mean must round twice, never fused into one FMA, or the bytes would depend on flags. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t name_base(uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return mix64(seed ^ mix64(h));
}

static double std_normal(uint64_t base, uint64_t i)
{
    uint64_t sum = 0;
    for (uint64_t j = 0; j < 6; j++) {
        uint64_t r = mix64(base + (6 * i + j + 1) * GOLDEN_GAMMA);
        sum += (r >> 32) + (r & 0xffffffffu);
    }
    return (double)sum / 4294967296.0 - 6.0;
}

/* Spreads chosen so every part of the network visibly moves the output (tests see a wrong
 * attention, GELU or bias): Linear weights ~ N(0, 1/fan_in) keep activations at unit scale, as
 * nn.Linear's default init does (BERT's N(0, 0.02) makes a 32-wide model's attention uniform to
 * within 1e-4 and GELU inputs so small that erf and tanh GELU agree); embeddings and biases
 * ~ N(0, 0.02) as BERT's initializer; LayerNorm gammas ~ 1 + N(0, 0.1). cols is the tensor's
 * second dimension (0 for a vector). */
static void dist_of(const char *name, int64_t cols, double *mean, double *std)
{
    size_t n = strlen(name);
    const char *ln = "LayerNorm.weight";
    size_t s = strlen(ln);
    *mean = 0.0;
    *std = 0.02;
    if (n >= s && !strcmp(name + n - s, ln))
        *mean = 1.0, *std = 0.1;
    else if (cols > 0 && strncmp(name, "embeddings.", 11))
        *std = 1.0 / sqrt((double)cols);
}

float enc_genmodel_value(uint64_t seed, const char *name, int64_t cols, uint64_t i)
{
    double mean, std;
    dist_of(name, cols, &mean, &std);
    double v = std * std_normal(name_base(seed, name), i);
    return (float)(v + mean);
}

static int dtype_size(enc_genmodel_dtype d) { return d == ENC_GENMODEL_F32 ? 4 : 2; }

static const char *dtype_name(enc_genmodel_dtype d)
{
    return d == ENC_GENMODEL_F32 ? "F32" : d == ENC_GENMODEL_F16 ? "F16" : "BF16";
}

static const char *torch_dtype_name(enc_genmodel_dtype d)
{
    return d == ENC_GENMODEL_F32 ? "float32" : d == ENC_GENMODEL_F16 ? "float16" : "bfloat16";
}

int enc_genmodel_parse_dtype(const char *s, enc_genmodel_dtype *out, zb_err *err)
{
    if (!strcasecmp(s, "f32") || !strcasecmp(s, "float32"))
        *out = ENC_GENMODEL_F32;
    else if (!strcasecmp(s, "f16") || !strcasecmp(s, "float16"))
        *out = ENC_GENMODEL_F16;
    else if (!strcasecmp(s, "bf16") || !strcasecmp(s, "bfloat16"))
        *out = ENC_GENMODEL_BF16;
    else
        return zb_fail(err, ZB_EINVAL, "dtype '%s': expected f32, f16 or bf16", s);
    return ZB_OK;
}

/* ---------- presets and validation ---------- */

int enc_genmodel_preset(const char *name, enc_genmodel_opts *o, zb_err *err)
{
    memset(o, 0, sizeof *o);
    o->type_vocab = 2;
    o->layer_norm_eps = 1e-12;
    o->hidden_act = "gelu";
    o->seed = 42;
    o->dtype = ENC_GENMODEL_F32;
    o->pooling = "mean";
    if (!strcmp(name, "tiny")) {
        o->hidden = 32, o->layers = 2, o->heads = 4, o->intermediate = 64;
        o->max_position = 128, o->max_seq_length = 128;
    } else if (!strcmp(name, "minilm")) {
        o->hidden = 384, o->layers = 6, o->heads = 12, o->intermediate = 1536;
        o->max_position = 512, o->max_seq_length = 128;
    } else {
        return zb_fail(err, ZB_EINVAL, "preset '%s': expected tiny or minilm", name);
    }
    return ZB_OK;
}

static const char *const POOLINGS[] = {"mean", "cls", "max", "mean_sqrt_len_tokens",
                                       "weightedmean", "lasttoken"};
#define N_POOLINGS (sizeof POOLINGS / sizeof POOLINGS[0])

static int validate(const enc_genmodel_opts *o, zb_err *err)
{
    struct { const char *name; int v, lo, hi; } dims[] = {
        {"hidden_size", o->hidden, 1, 16384},
        {"num_hidden_layers", o->layers, 1, 256},
        {"num_attention_heads", o->heads, 1, 1024},
        {"intermediate_size", o->intermediate, 1, 65536},
        {"max_position_embeddings", o->max_position, 1, 1 << 20},
        {"type_vocab_size", o->type_vocab, 1, 1024},
        {"max_seq_length", o->max_seq_length, 1, o->max_position},
        {"shards", o->shards, 0, 99999},
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        if (dims[i].v < dims[i].lo || dims[i].v > dims[i].hi)
            return zb_fail(err, ZB_EINVAL, "%s = %d: must be in [%d, %d]", dims[i].name, dims[i].v,
                           dims[i].lo, dims[i].hi);
    if (o->hidden % o->heads)
        return zb_fail(err, ZB_EINVAL, "hidden_size %d is not a multiple of num_attention_heads %d",
                       o->hidden, o->heads);
    if (!(o->layer_norm_eps > 0 && o->layer_norm_eps < 1))
        return zb_fail(err, ZB_EINVAL, "layer_norm_eps %g: must be in (0, 1)", o->layer_norm_eps);
    if (!o->hidden_act || (strcmp(o->hidden_act, "gelu") && strcmp(o->hidden_act, "gelu_new") &&
                           strcmp(o->hidden_act, "relu")))
        return zb_fail(err, ZB_EINVAL, "hidden_act '%s': expected gelu, gelu_new or relu",
                       o->hidden_act ? o->hidden_act : "(null)");
    size_t p = 0;
    while (p < N_POOLINGS && (!o->pooling || strcmp(o->pooling, POOLINGS[p])))
        p++;
    if (p == N_POOLINGS)
        return zb_fail(err, ZB_EINVAL,
                       "pooling '%s': expected mean, cls, max, mean_sqrt_len_tokens, weightedmean "
                       "or lasttoken", o->pooling ? o->pooling : "(null)");
    return ZB_OK;
}

/* ---------- the tensor list, in BertModel's state-dict order ---------- */

typedef struct {
    char name[96];     /* without the "bert." prefix: the name the numbers derive from */
    int64_t shape[2];
    int rank;
    uint64_t nbytes;
} tensor;


static void set(tensor *x, const char *name, int64_t d0, int64_t d1, int dsize)
{
    snprintf(x->name, sizeof x->name, "%s", name);
    x->shape[0] = d0, x->shape[1] = d1;
    x->rank = d1 ? 2 : 1;
    x->nbytes = (uint64_t)d0 * (uint64_t)(d1 ? d1 : 1) * (uint64_t)dsize;
}

/* A table row (encoder_svc/enc_tensors.h) as a tensor of these options' sizes. */
static void set_spec(tensor *x, const char *name, const enc_tensor_spec *t, const enc_genmodel_opts *o,
                     int dsize)
{
    const int64_t size[] = {[ENC_DIM_NONE] = 0, [ENC_DIM_HIDDEN] = o->hidden,
                            [ENC_DIM_INTERMEDIATE] = o->intermediate, [ENC_DIM_VOCAB] = o->vocab_size,
                            [ENC_DIM_POSITIONS] = o->max_position, [ENC_DIM_TYPES] = o->type_vocab};
    set(x, name, size[t->d0], size[t->d1], dsize);
}

static tensor *tensor_list(const enc_genmodel_opts *o, int *n_out)
{
    int n = ENC_N_EMB_TENSORS + o->layers * ENC_N_LAYER_TENSORS + ENC_N_POOLER_TENSORS, k = 0;
    int ds = dtype_size(o->dtype);
    tensor *t = calloc((size_t)n, sizeof *t);
    if (!t)
        return NULL;
    for (int i = 0; i < ENC_N_EMB_TENSORS; i++, k++)
        set_spec(&t[k], enc_emb_tensors[i].name, &enc_emb_tensors[i], o, ds);
    for (int l = 0; l < o->layers; l++)
        for (int p = 0; p < ENC_N_LAYER_TENSORS; p++, k++) {
            char name[96];
            enc_layer_tensor_name(name, sizeof name, l, p);
            set_spec(&t[k], name, &enc_layer_tensors[p], o, ds);
        }
    for (int i = 0; i < ENC_N_POOLER_TENSORS; i++, k++)
        set_spec(&t[k], enc_pooler_tensors[i].name, &enc_pooler_tensors[i], o, ds);
    *n_out = k;
    return t;
}

/* ---------- writing files ---------- */

/* Shortest of %.15g / %.17g that reads back as the same double, so 1e-12 stays "1e-12". */
static size_t real_precision_flag(double v)
{
    char s[64];
    snprintf(s, sizeof s, "%.15g", v);
    return strtod(s, NULL) == v ? JSON_REAL_PRECISION(15) : JSON_REAL_PRECISION(17);
}

/* Steals j. */
static int write_json(const char *dir, const char *name, json_t *j, size_t flags, zb_err *err)
{
    char path[4096];
    int rc = zb_path_join(path, sizeof path, dir, name, err);
    if (rc == ZB_OK && (!j || json_dump_file(j, path, JSON_INDENT(2) | flags) != 0))
        rc = zb_fail(err, ZB_EIO, "%s: cannot write: %s", path, j ? strerror(errno) : "out of memory");
    json_decref(j);
    return rc;
}

static int write_bytes(const char *dir, const char *name, const char *data, size_t len, zb_err *err)
{
    char path[4096];
    int rc = zb_path_join(path, sizeof path, dir, name, err);
    if (rc)
        return rc;
    FILE *f = fopen(path, "wb");
    if (!f)
        return zb_fail(err, ZB_EIO, "%s: cannot create: %s", path, strerror(errno));
    int bad = fwrite(data, 1, len, f) != len;
    bad |= fclose(f) != 0;
    return bad ? zb_fail(err, ZB_EIO, "%s: write failed: %s", path, strerror(errno)) : ZB_OK;
}

static void full_name(char *buf, size_t cap, const tensor *t, const enc_genmodel_opts *o)
{
    snprintf(buf, cap, "%s%s", o->prefix_bert ? "bert." : "", t->name);
}

/* Generate a tensor's values chunk by chunk, convert to the dtype and append them to f. */
static int write_tensor_data(FILE *f, const tensor *t, const enc_genmodel_opts *o)
{
    static _Thread_local unsigned char buf[CHUNK * 4];
    int ds = dtype_size(o->dtype);
    uint64_t count = t->nbytes / (uint64_t)ds;
    double mean, std;
    dist_of(t->name, t->rank == 2 ? t->shape[1] : 0, &mean, &std);
    uint64_t base = name_base(o->seed, t->name);
    for (uint64_t i0 = 0; i0 < count; i0 += CHUNK) {
        size_t m = count - i0 < CHUNK ? (size_t)(count - i0) : CHUNK;
        for (size_t i = 0; i < m; i++) {
            double v = std * std_normal(base, i0 + i);
            float x = (float)(v + mean); /* same expression as enc_genmodel_value */
            if (o->dtype == ENC_GENMODEL_F32) {
                memcpy(buf + 4 * i, &x, 4);
            } else {
                uint16_t h = o->dtype == ENC_GENMODEL_F16 ? zb_f32_to_f16(x) : zb_f32_to_bf16(x);
                memcpy(buf + 2 * i, &h, 2);
            }
        }
        if (fwrite(buf, (size_t)ds, m, f) != m)
            return -1;
    }
    return 0;
}

/* One safetensors file holding tensors t[0..n): 8-byte LE header length, JSON header padded with
 * spaces to a multiple of 8 (so data starts aligned), then the data in the listed order. */
static int write_safetensors(const char *dir, const char *fname, const tensor *t, int n,
                             const enc_genmodel_opts *o, zb_err *err)
{
    char path[4096], name[128];
    int rc = zb_path_join(path, sizeof path, dir, fname, err);
    if (rc)
        return rc;
    json_t *hdr = json_object(), *meta = json_object();
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(hdr, "__metadata__", meta);
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        json_t *e = json_object(), *shape = json_array(), *offs = json_array();
        for (int d = 0; d < t[i].rank; d++)
            json_array_append_new(shape, json_integer(t[i].shape[d]));
        json_array_append_new(offs, json_integer((json_int_t)off));
        json_array_append_new(offs, json_integer((json_int_t)(off + t[i].nbytes)));
        off += t[i].nbytes;
        json_object_set_new(e, "dtype", json_string(dtype_name(o->dtype)));
        json_object_set_new(e, "shape", shape);
        json_object_set_new(e, "data_offsets", offs);
        full_name(name, sizeof name, &t[i], o);
        json_object_set_new(hdr, name, e);
    }
    char *text = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(hdr);
    if (!text)
        return zb_fail(err, ZB_ENOMEM, "%s: cannot build the header", path);
    size_t len = strlen(text), padded = (len + 7) & ~(size_t)7;
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(text);
        return zb_fail(err, ZB_EIO, "%s: cannot create: %s", path, strerror(errno));
    }
    unsigned char lenbuf[8];
    for (int b = 0; b < 8; b++)
        lenbuf[b] = (unsigned char)((uint64_t)padded >> (8 * b));
    int bad = fwrite(lenbuf, 1, 8, f) != 8 || fwrite(text, 1, len, f) != len;
    for (size_t p = len; p < padded && !bad; p++)
        bad = fputc(' ', f) == EOF;
    free(text);
    for (int i = 0; i < n && !bad; i++)
        bad = write_tensor_data(f, &t[i], o) != 0;
    bad |= fclose(f) != 0;
    return bad ? zb_fail(err, ZB_EIO, "%s: write failed: %s", path, strerror(errno)) : ZB_OK;
}

/* Split tensors into o->shards files by size, in state-dict order (as transformers' sharding
 * does), keeping at least one tensor per shard. */
static int write_weights(const char *dir, const tensor *t, int n, const enc_genmodel_opts *o,
                         zb_err *err)
{
    if (o->shards <= 1)
        return write_safetensors(dir, "model.safetensors", t, n, o, err);
    int S = o->shards;
    if (S > n)
        return zb_fail(err, ZB_EINVAL, "shards = %d: the model has only %d tensors", S, n);
    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        total += t[i].nbytes;
    json_t *map = json_object();
    int start = 0, rc = ZB_OK;
    uint64_t acc = 0;
    for (int s = 0; s < S && rc == ZB_OK; s++) {
        int end = start + 1;
        acc += t[start].nbytes;
        /* grow while under this shard's share and enough tensors remain for the others */
        while (end < n - (S - 1 - s) && (s == S - 1 || acc + t[end].nbytes <= total * (s + 1) / S))
            acc += t[end++].nbytes;
        if (s == S - 1)
            while (end < n)
                acc += t[end++].nbytes;
        char fname[64], name[128];
        snprintf(fname, sizeof fname, "model-%05d-of-%05d.safetensors", s + 1, S);
        rc = write_safetensors(dir, fname, t + start, end - start, o, err);
        for (int i = start; i < end; i++) {
            full_name(name, sizeof name, &t[i], o);
            json_object_set_new(map, name, json_string(fname));
        }
        start = end;
    }
    if (rc) {
        json_decref(map);
        return rc;
    }
    json_t *idx = json_object(), *meta = json_object();
    json_object_set_new(meta, "total_size", json_integer((json_int_t)total));
    json_object_set_new(idx, "metadata", meta);
    json_object_set_new(idx, "weight_map", map);
    return write_json(dir, "model.safetensors.index.json", idx, JSON_SORT_KEYS, err);
}

static json_t *config_json(const enc_genmodel_opts *o)
{
    json_t *c = json_object(), *arch = json_array();
    json_array_append_new(arch, json_string("BertModel"));
    json_object_set_new(c, "_name_or_path", json_string("zembed/gen-model"));
    json_object_set_new(c, "architectures", arch);
    json_object_set_new(c, "attention_probs_dropout_prob", json_real(0.1));
    json_object_set_new(c, "classifier_dropout", json_null());
    json_object_set_new(c, "gradient_checkpointing", json_false());
    json_object_set_new(c, "hidden_act", json_string(o->hidden_act));
    json_object_set_new(c, "hidden_dropout_prob", json_real(0.1));
    json_object_set_new(c, "hidden_size", json_integer(o->hidden));
    json_object_set_new(c, "initializer_range", json_real(0.02));
    json_object_set_new(c, "intermediate_size", json_integer(o->intermediate));
    json_object_set_new(c, "layer_norm_eps", json_real(o->layer_norm_eps));
    json_object_set_new(c, "max_position_embeddings", json_integer(o->max_position));
    json_object_set_new(c, "model_type", json_string("bert"));
    json_object_set_new(c, "num_attention_heads", json_integer(o->heads));
    json_object_set_new(c, "num_hidden_layers", json_integer(o->layers));
    json_object_set_new(c, "pad_token_id", json_integer(0));
    json_object_set_new(c, "position_embedding_type", json_string("absolute"));
    json_object_set_new(c, "torch_dtype", json_string(torch_dtype_name(o->dtype)));
    json_object_set_new(c, "transformers_version", json_string("4.49.0"));
    json_object_set_new(c, "type_vocab_size", json_integer(o->type_vocab));
    json_object_set_new(c, "use_cache", json_true());
    json_object_set_new(c, "vocab_size", json_integer(o->vocab_size));
    /* Not an HF field: lets the pipeline warn that outputs are meaningless. */
    json_object_set_new(c, "zembed_random_weights", json_true());
    json_object_set_new(c, "zembed_seed", json_integer((json_int_t)o->seed));
    return c;
}

static json_t *special_token(const char *content)
{
    json_t *t = json_object();
    json_object_set_new(t, "content", json_string(content));
    json_object_set_new(t, "lstrip", json_false());
    json_object_set_new(t, "normalized", json_false());
    json_object_set_new(t, "rstrip", json_false());
    json_object_set_new(t, "single_word", json_false());
    return t;
}

static const char *const SPECIALS[][2] = {
    {"cls_token", "[CLS]"}, {"mask_token", "[MASK]"}, {"pad_token", "[PAD]"},
    {"sep_token", "[SEP]"}, {"unk_token", "[UNK]"},
};

static json_t *special_tokens_map(void)
{
    json_t *m = json_object();
    for (size_t i = 0; i < 5; i++)
        json_object_set_new(m, SPECIALS[i][0], special_token(SPECIALS[i][1]));
    return m;
}

static json_t *tokenizer_config(const enc_genmodel_opts *o)
{
    json_t *c = json_object();
    json_object_set_new(c, "clean_up_tokenization_spaces", json_false());
    for (size_t i = 0; i < 5; i++)
        json_object_set_new(c, SPECIALS[i][0], json_string(SPECIALS[i][1]));
    json_object_set_new(c, "do_basic_tokenize", json_true());
    json_object_set_new(c, "do_lower_case", json_true());
    json_object_set_new(c, "model_max_length", json_integer(o->max_position));
    json_object_set_new(c, "never_split", json_null());
    json_object_set_new(c, "strip_accents", json_null());
    json_object_set_new(c, "tokenize_chinese_chars", json_true());
    json_object_set_new(c, "tokenizer_class", json_string("BertTokenizer"));
    return c;
}

static json_t *module(int idx, const char *path, const char *type)
{
    json_t *m = json_object();
    char name[16];
    snprintf(name, sizeof name, "%d", idx);
    json_object_set_new(m, "idx", json_integer(idx));
    json_object_set_new(m, "name", json_string(name));
    json_object_set_new(m, "path", json_string(path));
    json_object_set_new(m, "type", json_string(type));
    return m;
}

static json_t *pooling_config(const enc_genmodel_opts *o)
{
    static const char *const keys[] = {
        "pooling_mode_mean_tokens", "pooling_mode_cls_token", "pooling_mode_max_tokens",
        "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
        "pooling_mode_lasttoken",
    }; /* same order as POOLINGS */
    json_t *c = json_object();
    json_object_set_new(c, "word_embedding_dimension", json_integer(o->hidden));
    for (size_t i = 0; i < N_POOLINGS; i++)
        json_object_set_new(c, keys[i], json_boolean(!strcmp(o->pooling, POOLINGS[i])));
    json_object_set_new(c, "include_prompt", json_true());
    return c;
}

static int write_st_files(const char *dir, const enc_genmodel_opts *o, zb_err *err)
{
    json_t *mods = json_array();
    json_array_append_new(mods, module(0, "", "sentence_transformers.models.Transformer"));
    json_array_append_new(mods, module(1, "1_Pooling", "sentence_transformers.models.Pooling"));
    if (o->normalize)
        json_array_append_new(mods, module(2, "2_Normalize", "sentence_transformers.models.Normalize"));
    json_t *sb = json_object();
    json_object_set_new(sb, "max_seq_length", json_integer(o->max_seq_length));
    json_object_set_new(sb, "do_lower_case", json_false());
    json_t *cst = json_object(), *ver = json_object();
    json_object_set_new(ver, "sentence_transformers", json_string("3.4.1"));
    json_object_set_new(cst, "__version__", ver);
    json_object_set_new(cst, "prompts", json_object());
    json_object_set_new(cst, "default_prompt_name", json_null());
    json_object_set_new(cst, "similarity_fn_name", json_string("cosine"));

    char sub[4096];
    int rc = write_json(dir, "modules.json", mods, JSON_PRESERVE_ORDER, err);
    if (rc == ZB_OK)
        rc = write_json(dir, "sentence_bert_config.json", sb, JSON_PRESERVE_ORDER, err);
    else
        json_decref(sb);
    if (rc == ZB_OK)
        rc = write_json(dir, "config_sentence_transformers.json", cst, JSON_PRESERVE_ORDER, err);
    else
        json_decref(cst);
    if (rc == ZB_OK)
        rc = zb_path_join(sub, sizeof sub, dir, "1_Pooling", err);
    if (rc == ZB_OK && mkdir(sub, 0777) != 0 && errno != EEXIST)
        rc = zb_fail(err, ZB_EIO, "%s: cannot create: %s", sub, strerror(errno));
    if (rc == ZB_OK)
        rc = write_json(sub, "config.json", pooling_config(o), JSON_PRESERVE_ORDER, err);
    if (rc == ZB_OK && o->normalize) {
        rc = zb_path_join(sub, sizeof sub, dir, "2_Normalize", err);
        if (rc == ZB_OK && mkdir(sub, 0777) != 0 && errno != EEXIST)
            rc = zb_fail(err, ZB_EIO, "%s: cannot create: %s", sub, strerror(errno));
    }
    return rc;
}

static int write_readme(const char *dir, const enc_genmodel_opts *o, zb_err *err)
{
    char text[2048];
    int len = snprintf(text, sizeof text,
        "# zembed test model: random weights, not meaningful\n\n"
        "Written by `zembed gen-model`. The weights are seeded random numbers (seed %llu), so the\n"
        "embeddings of this model carry no meaning; it exists to test and benchmark the pipeline\n"
        "with the shapes of a real BERT sentence-transformers model.\n\n"
        "- BERT: hidden %d, %d layers, %d heads, FFN %d, %d positions, vocab %d, %s, %s\n"
        "- sentence-transformers: max_seq_length %d, %s pooling%s\n",
        (unsigned long long)o->seed, o->hidden, o->layers, o->heads, o->intermediate,
        o->max_position, o->vocab_size, o->hidden_act, dtype_name(o->dtype), o->max_seq_length,
        o->pooling, o->normalize ? ", normalized" : "");
    return write_bytes(dir, "README.md", text, (size_t)len, err);
}

/* Copy the vocabulary and count its tokens (one per line, as BertTokenizer reads it). */
static int copy_vocab(const char *dir, const char *vocab_path, int *n_tokens, zb_err *err)
{
    char *data;
    size_t len;
    int rc = zb_read_file(vocab_path, VOCAB_MAX_BYTES, &data, &len, err);
    if (rc)
        return rc;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    if (len && data[len - 1] != '\n')
        lines++;
    if (lines == 0 || lines > (1u << 24)) {
        free(data);
        return zb_fail(err, ZB_EFORMAT, "%s: %zu tokens; expected 1 to %u lines", vocab_path, lines,
                       1u << 24);
    }
    *n_tokens = (int)lines;
    rc = write_bytes(dir, "vocab.txt", data, len, err);
    free(data);
    return rc;
}

static int copy_file(const char *dir, const char *name, const char *src, size_t max, zb_err *err)
{
    char *data;
    size_t len;
    int rc = zb_read_file(src, max, &data, &len, err);
    if (rc == ZB_OK)
        rc = write_bytes(dir, name, data, len, err);
    free(data);
    return rc;
}

static int mkdir_p(const char *dir, zb_err *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return zb_fail(err, ZB_ETOOLONG, "output folder path is too long");
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return zb_fail(err, ZB_EIO, "%s: cannot create: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return zb_fail(err, ZB_EIO, "%s: cannot create: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return zb_fail(err, ZB_EINVAL, "%s: exists and is not a folder", buf);
    return ZB_OK;
}

static int is_weight_file(const char *n)
{
    size_t l = strlen(n);
    return !strcmp(n, "model.safetensors.index.json") ||
           (!strncmp(n, "model", 5) && l > 12 && !strcmp(n + l - 12, ".safetensors"));
}

/* A non-empty folder is refused unless force; with force, old weight files go, so a stale
 * model.safetensors cannot sit beside new shards. */
static int prepare_dir(const char *dir, int force, zb_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return zb_fail(err, ZB_EIO, "%s: cannot open: %s", dir, strerror(errno));
    int rc = ZB_OK;
    struct dirent *e;
    char path[4096];
    while (rc == ZB_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!force)
            rc = zb_fail(err, ZB_EINVAL, "%s: folder is not empty (use --force to write into it)",
                         dir);
        else if (is_weight_file(e->d_name) &&
                 (rc = zb_path_join(path, sizeof path, dir, e->d_name, err)) == ZB_OK &&
                 unlink(path) != 0)
            rc = zb_fail(err, ZB_EIO, "%s: cannot remove: %s", path, strerror(errno));
    }
    closedir(d);
    return rc;
}

int enc_genmodel_write(const char *out_dir, const char *vocab_path, const enc_genmodel_opts *opts,
                       zb_err *err)
{
    enc_genmodel_opts o = *opts;
    int rc = validate(&o, err), n_tok = 0, n = 0;
    if (rc)
        return rc;
    if ((rc = mkdir_p(out_dir, err)) || (rc = prepare_dir(out_dir, o.force, err)) ||
        (rc = copy_vocab(out_dir, vocab_path, &n_tok, err)))
        return rc;
    if (o.vocab_size == 0)
        o.vocab_size = n_tok;
    else if (o.vocab_size < n_tok)
        return zb_fail(err, ZB_EINVAL, "vocab_size %d is smaller than the %d tokens of %s",
                       o.vocab_size, n_tok, vocab_path);
    if (o.tokenizer_json &&
        (rc = copy_file(out_dir, "tokenizer.json", o.tokenizer_json, TOKJSON_MAX_BYTES, err)))
        return rc;
    tensor *t = tensor_list(&o, &n);
    if (!t)
        return zb_fail(err, ZB_ENOMEM, "cannot allocate the tensor list");
    rc = write_weights(out_dir, t, n, &o, err);
    free(t);
    if (rc == ZB_OK)
        rc = write_json(out_dir, "config.json", config_json(&o),
                        JSON_SORT_KEYS | real_precision_flag(o.layer_norm_eps), err);
    if (rc == ZB_OK)
        rc = write_json(out_dir, "tokenizer_config.json", tokenizer_config(&o), JSON_SORT_KEYS, err);
    if (rc == ZB_OK)
        rc = write_json(out_dir, "special_tokens_map.json", special_tokens_map(), JSON_SORT_KEYS, err);
    if (rc == ZB_OK)
        rc = write_st_files(out_dir, &o, err);
    if (rc == ZB_OK)
        rc = write_readme(out_dir, &o, err);
    return rc;
}
