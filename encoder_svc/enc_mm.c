/* enc_mm: bf16 / int8 Linear layers on oneDNN 2.6 matmul (see enc_mm.h for the numerics). */
#include "enc_mm_int.h"

#include "enc_impl.h"

#include <assert.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* see enc_kernels.c: lets gcc if-convert float clamps in the row loops */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif

#include "enc_math.h"
#include "zb_blas.h"

static struct {
    pthread_mutex_t mu;            /* guards everything here */
    dnnl_engine_t eng;
    dnnl_stream_t stream;          /* for set-up work under mu */
    prim_entry prim[MAX_PRIMS];
    int n_prim;
    int ready[3];                  /* per precision: 1 checked ok */
    char desc[3][160];
    char impl[3][64];              /* oneDNN's name of the kernel the probe got */
} G = {.mu = PTHREAD_MUTEX_INITIALIZER};

dnnl_engine_t enc_mm_engine(void)
{
    return G.eng;
}

dnnl_stream_t enc_mm_setup_stream(void)
{
    return G.stream;
}

/* oneDNN (Debian's build runs on OpenMP) uses omp_get_max_threads() of the calling thread; our
 * threads are the pool, so each call into it runs on one thread. */
void enc_mm_one_thread(void)
{
    if (omp_get_max_threads() != 1)
        omp_set_num_threads(1);
}

const char *enc_mm_isa_name(dnnl_cpu_isa_t isa)
{
    switch ((int)isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
    }
}

int enc_mm_dnnl_fail(zb_err *err, dnnl_status_t st, const char *what)
{
    return zb_fail(err, st == dnnl_out_of_memory ? ZB_ENOMEM : ZB_EINTERNAL,
                   "oneDNN: %s failed (status %d)", what, (int)st);
}

/* A matmul u8|bf16 [M,K] x s8|bf16 [K,N] -> s32|f32 [M,N], weights in layout wmd (NULL: let
 * oneDNN choose). Source and output are dense: with an output row stride other than N, oneDNN 2.6
 * leaves brgemm for gemm:jit or ref (measured), so each block goes to a tile of its own and our
 * row loop moves it into place. Caller holds G.mu. */
int enc_mm_create_prim(prim_entry *e, const dnnl_memory_desc_t *wmd, const char **impl, zb_err *err)
{
    int q = e->p == ENC_PREC_INT8;
    dnnl_dims_t sd = {e->M, e->K}, wd = {e->K, e->N}, dd = {e->M, e->N}, ds = {e->N, 1};
    dnnl_memory_desc_t w;
    dnnl_memory_desc_init_by_tag(&e->smd, 2, sd, q ? dnnl_u8 : dnnl_bf16, dnnl_ab);
    dnnl_memory_desc_init_by_strides(&e->dmd, 2, dd, q ? dnnl_s32 : dnnl_f32, ds);
    if (wmd)
        w = *wmd;
    else
        dnnl_memory_desc_init_by_tag(&w, 2, wd, q ? dnnl_s8 : dnnl_bf16, dnnl_format_tag_any);
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = dnnl_matmul_desc_init(&md, &e->smd, &w, NULL, &e->dmd);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)   /* scratchpad per worker: one primitive runs on several threads */
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success)
        st = dnnl_primitive_desc_create(&pd, &md, attr, G.eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success)
        return enc_mm_dnnl_fail(err, st, "creating a matmul");
    e->wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    e->spmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    e->scratch = dnnl_memory_desc_get_size(&e->spmd);
    if (impl && dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, impl) != dnnl_success)
        *impl = "?";
    st = dnnl_primitive_create(&e->prim, pd);
    if (impl && st == dnnl_success) {   /* pd owns the string: keep a copy */
        static char keep[64];
        snprintf(keep, sizeof keep, "%s", *impl);
        *impl = keep;
    }
    dnnl_primitive_desc_destroy(pd);
    return st == dnnl_success ? ZB_OK : enc_mm_dnnl_fail(err, st, "creating a matmul primitive");
}

/* The cached primitive of a shape class; created on first use. */
prim_entry *enc_mm_get_prim(int p, int M, int K, int N, const dnnl_memory_desc_t *wmd, zb_err *err)
{
    pthread_mutex_lock(&G.mu);
    prim_entry *e = NULL;
    for (int i = 0; i < G.n_prim && !e; i++) {
        prim_entry *c = &G.prim[i];
        if (c->p == p && c->M == M && c->K == K && c->N == N &&
            dnnl_memory_desc_equal(&c->wmd, wmd))
            e = c;
    }
    if (!e && G.n_prim == MAX_PRIMS)
        zb_fail(err, ZB_EINTERNAL, "more than %d matmul shapes", MAX_PRIMS);
    else if (!e) {
        prim_entry *c = &G.prim[G.n_prim];
        *c = (prim_entry){.id = G.n_prim, .p = p, .M = M, .K = K, .N = N};
        enc_mm_one_thread();
        if (!enc_mm_create_prim(c, wmd, NULL, err))
            e = &G.prim[G.n_prim++];
    }
    pthread_mutex_unlock(&G.mu);
    return e;
}

int enc_mm_speed_check(enc_precision p, char *note, size_t cap, zb_err *err)
{
    note[0] = '\0';
    if (p != ENC_PREC_BF16)
        return ZB_OK;
    pthread_mutex_lock(&G.mu);
    assert(G.ready[p] && "enc_mm_init first");
    enc_mm_one_thread();
    int rc = enc_mm_probe_bf16_speed(G.impl[p], note, cap, err);
    pthread_mutex_unlock(&G.mu);
    return rc;
}

int enc_mm_init(enc_precision p, char *desc, size_t cap, zb_err *err)
{
    if (p == ENC_PREC_FP32) {
        snprintf(desc, cap, "OpenBLAS sgemm, %s kernels", zb_blas_core());
        return ZB_OK;
    }
    pthread_mutex_lock(&G.mu);
    enc_mm_one_thread();
    dnnl_status_t st = dnnl_success;
    if (!G.eng) {
        st = dnnl_engine_create(&G.eng, dnnl_cpu, 0);
        if (st == dnnl_success)
            st = dnnl_stream_create(&G.stream, G.eng, dnnl_stream_default_flags);
    }
    int rc = st == dnnl_success ? ZB_OK : enc_mm_dnnl_fail(err, st, "creating the CPU engine");
    if (!rc && !G.ready[p]) {
        char impl[sizeof G.impl[p]];
        if (!(rc = enc_mm_probe_isa(p, impl, sizeof impl, err))) {
            const dnnl_version_t *v = dnnl_version();
            snprintf(G.desc[p], sizeof G.desc[p], "oneDNN %d.%d.%d %s (cpu isa %s)", v->major, v->minor,
                     v->patch, impl, enc_mm_isa_name(dnnl_get_effective_cpu_isa()));
            memcpy(G.impl[p], impl, sizeof impl);
            G.ready[p] = 1;
        }
    }
    if (!rc)
        snprintf(desc, cap, "%s", G.desc[p]);
    pthread_mutex_unlock(&G.mu);
    return rc;
}

/* ---- weights ------------------------------------------------------------------------------ */

uint16_t enc_mm_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)(u >> 16 | 0x40);   /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

void enc_mm_free(enc_mm_w *w)
{
    if (!w)
        return;
    for (int b = 0; w->wmem && b < w->n_blk; b++)
        if (w->wmem[b])
            dnnl_memory_destroy(w->wmem[b]);
    for (int b = 0; w->wdata && b < w->n_blk && !w->borrowed; b++)
        free(w->wdata[b]);
    free(w->wmem);
    free(w->pc);
    free(w->wdata);
    free(w->wmd);
    if (!w->borrowed) {
        free(w->w_scale);
        free(w->w_sum);
    }
    free(w);
}

size_t enc_mm_bytes(const enc_mm_w *w)
{
    return w->bytes;
}

static int block_cols(const enc_mm_w *w, int b)
{
    return b == w->n_blk - 1 ? w->N - b * w->nb : w->nb;
}

/* How W [N, K] is cut into column blocks, and arrays for them. */
static enc_mm_w *new_w(enc_precision p, int N, int K)
{
    enc_mm_w *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->p = p;
    w->N = N;
    w->K = K;
    w->n_blk = (N + ENC_MM_NB - 1) / ENC_MM_NB;
    if (w->n_blk < 2 && N >= 2 * MSTEP)
        w->n_blk = 2;     /* two threads on one sentence: both get a block */
    w->nb = ((N + w->n_blk - 1) / w->n_blk + MSTEP - 1) / MSTEP * MSTEP;
    w->n_blk = (N + w->nb - 1) / w->nb;
    w->wmd = calloc(w->n_blk, sizeof *w->wmd);
    w->wdata = calloc(w->n_blk, sizeof *w->wdata);
    w->wmem = calloc(w->n_blk, sizeof *w->wmem);
    w->pc = calloc((size_t)w->n_blk * (TILE / MSTEP), sizeof *w->pc);
    if (!w->wmd || !w->wdata || !w->wmem || !w->pc) {
        enc_mm_free(w);
        return NULL;
    }
    return w;
}

/* Block b's weight layout: the one the TILE-row primitive wants (the other row counts are created
 * for it). */
static int block_layout(enc_mm_w *w, int b, zb_err *err)
{
    prim_entry e = {.p = w->p, .M = TILE, .K = w->K, .N = block_cols(w, b)};
    pthread_mutex_lock(&G.mu);
    int rc = enc_mm_create_prim(&e, NULL, NULL, err);
    pthread_mutex_unlock(&G.mu);
    if (rc)
        return rc;
    dnnl_primitive_destroy(e.prim);
    w->wmd[b] = e.wmd;
    return ZB_OK;
}

/* The memory object every matmul of block b reads its weights through: made once, since creating
 * one per call cost more than a small tile's arithmetic. Only ever read, so all threads share it. */
static int block_mem(enc_mm_w *w, int b, zb_err *err)
{
    dnnl_status_t st = dnnl_memory_create(&w->wmem[b], &w->wmd[b], G.eng, w->wdata[b]);
    if (st != dnnl_success)
        w->wmem[b] = NULL;
    return st == dnnl_success ? ZB_OK : enc_mm_dnnl_fail(err, st, "wrapping prepared weights");
}

/* Reorder plain [N_b, K] rows (row-major, i.e. {K, N_b} with tag ba) into block b's layout. */
static int reorder_block(enc_mm_w *w, int b, const void *plain_rows, zb_err *err)
{
    int q = w->p == ENC_PREC_INT8, n = block_cols(w, b);
    int rc = block_layout(w, b, err);
    if (rc)
        return rc;
    dnnl_memory_desc_t e = {0};
    e = w->wmd[b];
    size_t bytes = dnnl_memory_desc_get_size(&e);
    if (!(w->wdata[b] = aligned_alloc(64, (bytes + 63) / 64 * 64)))
        return zb_fail(err, ZB_ENOMEM, "no memory for %zu bytes of prepared weights", bytes);
    w->bytes += bytes;
    dnnl_memory_desc_t src;
    dnnl_dims_t wd = {w->K, n};
    dnnl_memory_desc_init_by_tag(&src, 2, wd, q ? dnnl_s8 : dnnl_bf16, dnnl_ba);
    dnnl_memory_t from = NULL, to = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t reo = NULL;
    dnnl_status_t st = dnnl_memory_create(&from, &src, G.eng, (void *)plain_rows);
    if (st == dnnl_success) st = dnnl_memory_create(&to, &e, G.eng, w->wdata[b]);
    if (st == dnnl_success) st = dnnl_reorder_primitive_desc_create(&rpd, &src, G.eng, &e, G.eng, NULL);
    if (st == dnnl_success) st = dnnl_primitive_create(&reo, rpd);
    if (st == dnnl_success) {
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        pthread_mutex_lock(&G.mu);
        st = dnnl_primitive_execute(reo, G.stream, 2, ra);
        pthread_mutex_unlock(&G.mu);
    }
    dnnl_primitive_destroy(reo);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(from);
    dnnl_memory_destroy(to);
    if (st != dnnl_success)
        return enc_mm_dnnl_fail(err, st, "reordering weights");
    return block_mem(w, b, err);
}

enc_mm_w *enc_mm_prepare(enc_precision p, const float *const *parts, const int *rows, int n_parts,
                         int K, zb_err *err)
{
    assert(p != ENC_PREC_FP32 && G.ready[p] && "enc_mm_init first");
    enc_mm_one_thread();
    int N = 0;
    for (int i = 0; i < n_parts; i++)
        N += rows[i];
    enc_mm_w *w = new_w(p, N, K);
    int q = p == ENC_PREC_INT8;
    void *conv = malloc((size_t)N * K * (q ? 1 : 2));
    if (!w || !conv)
        goto oom;
    if (q && (!(w->w_scale = malloc(N * sizeof *w->w_scale)) || !(w->w_sum = malloc(N * sizeof *w->w_sum))))
        goto oom;
    /* convert every row of W once */
    for (int i = 0, n = 0; i < n_parts; i++)
        for (int r = 0; r < rows[i]; r++, n++) {
            const float *src = parts[i] + (size_t)r * K;
            if (!q) {
                uint16_t *d = (uint16_t *)conv + (size_t)n * K;
                for (int k = 0; k < K; k++)
                    d[k] = enc_mm_bf16(src[k]);
                continue;
            }
            float amax = 0;
            for (int k = 0; k < K; k++)
                amax = fabsf(src[k]) > amax ? fabsf(src[k]) : amax;
            float s = amax > 0 ? amax / 127.0f : 1.0f, inv = 1.0f / s;
            int8_t *d = (int8_t *)conv + (size_t)n * K;
            int32_t sum = 0;
            for (int k = 0; k < K; k++) {
                float v = nearbyintf(src[k] * inv);
                d[k] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
                sum += d[k];
            }
            w->w_scale[n] = s;
            w->w_sum[n] = sum;
        }
    for (int b = 0; b < w->n_blk; b++)
        if (reorder_block(w, b, (char *)conv + (size_t)b * w->nb * K * (q ? 1 : 2), err))
            goto fail;
    free(conv);
    w->bytes += q ? (size_t)N * 8 : 0;
    return w;
oom:
    zb_fail(err, ZB_ENOMEM, "no memory to prepare a %d x %d weight", N, K);
fail:
    free(conv);
    enc_mm_free(w);
    return NULL;
}

/* ---- cache file records ---- */

#define PAD64(x) (((x) + 63) / 64 * 64)
#define BLOB_MAGIC 0x574d425au   /* "ZBMW" */

static size_t blob_head(int n_blk)
{
    return PAD64(32 + 8 * (size_t)n_blk);
}

size_t enc_mm_blob_size(const enc_mm_w *w)
{
    size_t n = blob_head(w->n_blk);
    for (int b = 0; b < w->n_blk; b++)
        n += PAD64(dnnl_memory_desc_get_size(&w->wmd[b]));
    return n + (w->p == ENC_PREC_INT8 ? PAD64((size_t)w->N * 8) : 0);
}

static int put(FILE *f, const void *p, size_t n)
{
    static const unsigned char zero[64];
    if (!p)   /* padding to 64 */
        return n % 64 == 0 || fwrite(zero, 1, 64 - n % 64, f) == 64 - n % 64 ? 0 : -1;
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

int enc_mm_blob_write(const enc_mm_w *w, FILE *f)
{
    uint32_t h[8] = {BLOB_MAGIC, (uint32_t)w->p, (uint32_t)w->N, (uint32_t)w->K, (uint32_t)w->nb,
                     (uint32_t)w->n_blk, 0, 0};
    int bad = put(f, h, sizeof h);
    for (int b = 0; b < w->n_blk; b++) {
        uint64_t n = dnnl_memory_desc_get_size(&w->wmd[b]);
        bad |= put(f, &n, 8);
    }
    bad |= put(f, NULL, 32 + 8 * (size_t)w->n_blk);
    for (int b = 0; b < w->n_blk; b++) {
        size_t n = dnnl_memory_desc_get_size(&w->wmd[b]);
        bad |= put(f, w->wdata[b], n) | put(f, NULL, n);
    }
    if (w->p == ENC_PREC_INT8)
        bad |= put(f, w->w_scale, (size_t)w->N * 4) | put(f, w->w_sum, (size_t)w->N * 4) |
               put(f, NULL, (size_t)w->N * 8);
    return bad ? ZB_EIO : ZB_OK;
}

enc_mm_w *enc_mm_from_blob(enc_precision p, int N, int K, const unsigned char *blob, size_t avail,
                           size_t *used, zb_err *err)
{
    assert(p != ENC_PREC_FP32 && G.ready[p] && "enc_mm_init first");
    assert(((uintptr_t)blob & 63) == 0);
    enc_mm_w *w = new_w(p, N, K);
    uint32_t h[8];
    if (!w) {
        zb_fail(err, ZB_ENOMEM, "out of memory");
        return NULL;
    }
    w->borrowed = 1;
    if (avail < sizeof h) {
        zb_fail(err, ZB_EFORMAT, "a %d x %d weight record is cut short", N, K);
        goto bad;
    }
    memcpy(h, blob, sizeof h);
    if (h[0] != BLOB_MAGIC || h[1] != (uint32_t)p || h[2] != (uint32_t)N || h[3] != (uint32_t)K ||
        h[4] != (uint32_t)w->nb || h[5] != (uint32_t)w->n_blk || h[6] || h[7]) {
        zb_fail(err, ZB_EFORMAT, "a weight record is not the %s %d x %d weight in %d blocks of %d", 
                p == ENC_PREC_INT8 ? "int8" : "bf16", N, K, w->n_blk, w->nb);
        goto bad;
    }
    size_t off = blob_head(w->n_blk);
    if (off > avail) {
        zb_fail(err, ZB_EFORMAT, "a %d x %d weight record is cut short", N, K);
        goto bad;
    }
    for (int b = 0; b < w->n_blk; b++) {
        uint64_t n;
        memcpy(&n, blob + 32 + 8 * (size_t)b, 8);
        if (block_layout(w, b, err))
            goto bad;
        size_t want = dnnl_memory_desc_get_size(&w->wmd[b]);
        if (n != want || want > avail - off || PAD64(want) > avail - off) {
            zb_fail(err, ZB_EFORMAT, "block %d of a %d x %d weight: %llu bytes, this CPU's layout has %zu%s",
                    b, N, K, (unsigned long long)n, want, n == want ? " (cut short)" : "");
            goto bad;
        }
        w->wdata[b] = (void *)(blob + off);
        if (block_mem(w, b, err))
            goto bad;
        off += PAD64(want);
        w->bytes += want;
    }
    if (p == ENC_PREC_INT8) {
        size_t n = PAD64((size_t)N * 8);
        if (n > avail - off) {
            zb_fail(err, ZB_EFORMAT, "the scales of a %d x %d weight are cut short", N, K);
            goto bad;
        }
        w->w_scale = (float *)(void *)(blob + off);
        w->w_sum = (int32_t *)(void *)(blob + off + (size_t)N * 4);
        for (int i = 0; i < N; i++)
            if (!(w->w_scale[i] > 0 && w->w_scale[i] < 1e30f) || w->w_sum[i] > 127 * K || w->w_sum[i] < -127 * K) {
                zb_fail(err, ZB_EFORMAT, "output channel %d of a %d x %d weight: scale %g, sum %d out of range",
                        i, N, K, (double)w->w_scale[i], (int)w->w_sum[i]);
                goto bad;
            }
        off += n;
    }
    *used = off;
    return w;
bad:
    enc_mm_free(w);
    return NULL;
}

