/* enc_impl: what the encoder's own files share (not part of the enc.h API). */
#ifndef ENC_IMPL_H
#define ENC_IMPL_H

#include "enc.h"
#include "enc_mm.h"
#include "st.h"

/* One transformer layer; every pointer is [out, in] row-major as nn.Linear stores it. */
typedef struct {
    const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;   /* [H,H], [H] */
    const float *o_w, *o_b, *ln1_g, *ln1_b;            /* attention output + LayerNorm */
    const float *i_w, *i_b;                            /* [I,H], [I] */
    const float *f_w, *f_b, *ln2_g, *ln2_b;            /* [H,I], [H] + LayerNorm */
} enc_layer;

struct enc_model {
    enc_config cfg;
    st_file **files;          /* the mapped safetensors (one, or the shards) */
    int n_files;
    float **owned;            /* weights we had to convert (F16/BF16/unaligned F32) */
    int n_owned;
    const float *word, *pos, *type, *emb_ln_g, *emb_ln_b;
    enc_layer *layer;         /* cfg.layers */
    enc_precision prec;
    enc_mm_w **mm;            /* bf16/int8: [cfg.layers * ENC_MM_PER_LAYER] prepared dense weights */
    char kernel[256];         /* enc_model_kernel */
    char weights_note[640];   /* enc_model_weights_note */
    void *wc_map;             /* the mapped weight cache file mm points into, or NULL */
    size_t wc_len;
};

/* The prepared weights of layer l: Q|K|V fused [3H,H], attention output, FFN in, FFN out. */
enum { ENC_MM_QKV, ENC_MM_O, ENC_MM_I, ENC_MM_F, ENC_MM_PER_LAYER };
void enc_model_free_prepared(enc_model *m);   /* enc_prec.c */

/* ---- enc_wcache.c: the prepared weights in a shared, mmap'd file (see there) ---- */
int  enc_wcache_key(const enc_model *m, char hex[65], zb_err *err);
/* Fill mm (layers x ENC_MM_PER_LAYER) from the cache file, or by prepare() and then writing the
 * file and mapping it back; note says which. Errors are prepare()'s only: a cache that cannot be
 * read or written leaves the weights in memory. */
int  enc_wcache_get(enc_model *m, enc_precision p, const char *kernel,
                    int (*prepare)(enc_model *, enc_precision, enc_mm_w **, zb_err *), enc_mm_w **mm,
                    char *note, size_t cap, zb_err *err);
/* Check and read a cache file's bytes (buf 64-aligned) into mm; exposed for the fuzzer. */
int  enc_wcache_parse(const enc_config *c, enc_precision p, const char *key, const char *kernel,
                      const unsigned char *buf, size_t len, enc_mm_w **mm, zb_err *err);
void enc_wcache_unmap(enc_model *m);

/* ---- enc_kernels.c: the element-wise hot loops, written so -O3 vectorizes them ---- */

/* x[i] = LayerNorm(x[i] + add[i] + bias) for rows of width h (add or bias may be NULL). */
void enc_add_layernorm(float *x, const float *add, const float *bias, const float *g, const float *b,
                       int rows, int h, float eps);
/* x = act(x + bias) over rows of width n. */
void enc_bias_act(float *x, const float *bias, int rows, int n, enc_act act);

/* Attention of one sequence of n tokens: q, k, v point at its first row of the packed QKV buffer
 * (row stride ld), before their biases qb, kb, vb ([H], added inside); the context goes to ctx
 * (row stride ldc). */
typedef struct {
    const float *q, *k, *v, *qb, *kb, *vb;
    int ld, n, dh;
    float *ctx;
    int ldc;
} enc_attn_args;

/* Heads [h0, h1); scratch holds enc_attention_scratch(n, dh) floats. */
void   enc_attention(const enc_attn_args *a, int h0, int h1, float *scratch);
size_t enc_attention_scratch(int max_n, int dh);

/* Vectorizable exp and erf-GELU (errors around 1e-7), exposed for the unit tests. */
float enc_expf(float x);
float enc_gelu_erf(float x);
float enc_gelu_tanh(float x);

/* ---- enc_threads.c ---- */
int  enc_threads(void);   /* the current thread count (>= 1) */
int  enc_default_threads(void);   /* cgroup quota and affinity */
/* ceil(quota / period) of the tightest CPU quota on the process's cgroup path (proc_cgroup is the
 * text of /proc/self/cgroup; sysfs is normally /sys/fs/cgroup), v1 and v2; 0 if none. */
int  enc_cgroup_cpu_limit(const char *sysfs, const char *proc_cgroup);
/* Run fn(arg, i, worker) for i in [0, n) on up to enc_threads() threads (worker in
 * [0, enc_threads()) tells which scratch to use); returns when all are done. */
void enc_parallel_for(int n, void (*fn)(void *arg, int i, int worker), void *arg);

#endif
