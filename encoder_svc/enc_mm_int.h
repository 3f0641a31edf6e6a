/* enc_mm_int: what enc_mm.c (set-up, weights, cache records) and enc_mm_run.c (running them)
 * share. Internal to those two files. */
#ifndef ENC_MM_INT_H
#define ENC_MM_INT_H

#include "enc_mm.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdatomic.h>

#define MSTEP 16        /* primitives exist for M = 16, 32, ... TILE */
#define TILE ENC_MM_TILE  /* rows per matmul call (bench/bench_sgemm.c measured 64 ~ 128 >> 16) */
#define MAX_PRIMS 512
#define MAX_WORKERS 256

struct enc_mm_w {
    enc_precision p;
    int N, K, nb, n_blk;           /* nb columns per block, the last may be narrower */
    dnnl_memory_desc_t *wmd;       /* [n_blk] the blocked layout of each block */
    void **wdata;                  /* [n_blk] the reordered weights */
    dnnl_memory_t *wmem;           /* [n_blk] memory objects over wdata, made once (read-only use) */
    struct prim_entry *_Atomic *pc;   /* [n_blk][TILE / MSTEP] the primitive of each row count, found
                                         once (enc_mm_get_prim locks and searches) */
    float *w_scale;                /* [N] int8: s_w */
    int32_t *w_sum;                /* [N] int8: sum_k q_w[n,k] */
    size_t bytes;
    int borrowed;                  /* the arrays point into a mapped cache file: not ours to free */
};

typedef struct prim_entry {
    int id;                        /* index in the process's table: keys per-worker memory objects */
    int p, M, K, N;
    dnnl_memory_desc_t wmd;        /* the weights layout it was created for */
    dnnl_primitive_t prim;
    dnnl_memory_desc_t smd, dmd, spmd;
    size_t scratch;
} prim_entry;

dnnl_engine_t enc_mm_engine(void);
dnnl_stream_t enc_mm_setup_stream(void);   /* for set-up work under enc_mm.c's lock */
const char *enc_mm_isa_name(dnnl_cpu_isa_t isa);
/* A matmul primitive for e's shape (weights in layout wmd, NULL: oneDNN's choice, written back to
 * e->wmd); impl (if not NULL) gets oneDNN's name of the kernel. Under enc_mm.c's lock. */
int  enc_mm_create_prim(prim_entry *e, const dnnl_memory_desc_t *wmd, const char **impl, zb_err *err);

/* ---- enc_mm_probe.c, under enc_mm.c's lock ---- */
/* Whether oneDNN runs p natively here (ZB_EUNSUPPORTED naming the missing instructions); impl gets
 * the kernel's name. */
int  enc_mm_probe_isa(enc_precision p, char *impl, size_t cap, zb_err *err);
/* bf16 vs our fp32, measured once per process (enc_mm_speed_check says the rules). */
int  enc_mm_probe_bf16_speed(const char *impl, char *note, size_t cap, zb_err *err);
/* oneDNN runs on the calling thread's OpenMP team: make it one thread (we are the pool). */
void enc_mm_one_thread(void);
int  enc_mm_dnnl_fail(zb_err *err, dnnl_status_t st, const char *what);
/* The cached primitive of a shape class; created on first use. NULL + err when oneDNN fails. */
prim_entry *enc_mm_get_prim(int p, int M, int K, int N, const dnnl_memory_desc_t *wmd, zb_err *err);

#endif
