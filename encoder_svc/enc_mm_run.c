/* enc_mm_run: running prepared weights (enc_mm.h): activation conversion, the matmul calls on our
 * threads, the dequantizing store and the fused row epilogue.
 *
 * Where the time went before (perf, int8, 1 thread, 2000 STS lines): a separate conversion pass
 * (its min/max loops scalar), a dequantizing store into a T x N float buffer that the next pass
 * (bias + GELU, residual + LayerNorm) read back from memory, and oneDNN memory objects created
 * per call. Now a tile's rows are dequantized, finished (epilogue) and converted for the next GEMM
 * while they are in cache, and the memory objects live as long as the runner.
 */
#include "enc_mm_int.h"

#include "enc_impl.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* see enc_kernels.c: lets gcc if-convert float clamps in the row loops */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif

#include "enc_math.h"

enum { M_SRC, M_DST, M_SCRATCH, M_N };

struct enc_mm_workers {
    dnnl_stream_t stream[MAX_WORKERS];
    void *tile[MAX_WORKERS];       /* [TILE][ENC_MM_NB] the matmul's dense output (s32 or f32) */
    float *rows[MAX_WORKERS];      /* [TILE][rows_cap] whole output rows for the epilogue */
    size_t rows_cap[MAX_WORKERS];
    void *scratch[MAX_WORKERS];
    size_t scratch_cap[MAX_WORKERS];
    dnnl_memory_t (*mem[MAX_WORKERS])[M_N];   /* [MAX_PRIMS] per primitive: src, dst, scratch */
};

int enc_mm_rows(int T)
{
    return (T + MSTEP - 1) / MSTEP * MSTEP;
}

int enc_mm_act_alloc(enc_mm_act *a, enc_precision p, int rows, int k)
{
    memset(a, 0, sizeof *a);
    rows = enc_mm_rows(rows);
    size_t el = p == ENC_PREC_INT8 ? 1 : 2;
    int ok = 1;
    for (int s = 0; s < 2; s++) {
        /* calloc: the rows past T that a rounded-up tile reads are defined (valgrind) */
        a->q[s] = calloc((size_t)rows * k, el);
        a->scale[s] = calloc(rows, sizeof *a->scale[s]);
        a->zp[s] = calloc(rows, sizeof *a->zp[s]);
        ok = ok && a->q[s] && a->scale[s] && a->zp[s];
    }
    a->wk = calloc(1, sizeof *a->wk);
    a->p = p;
    a->rows = rows;
    a->k = k;
    if (!ok || !a->wk) {
        enc_mm_act_free(a);
        return ZB_ENOMEM;
    }
    return ZB_OK;
}

void enc_mm_act_free(enc_mm_act *a)
{
    for (int i = 0; a->wk && i < MAX_WORKERS; i++) {
        struct enc_mm_workers *wk = a->wk;
        for (int e = 0; wk->mem[i] && e < MAX_PRIMS; e++)
            for (int m = 0; m < M_N; m++)
                if (wk->mem[i][e][m])
                    dnnl_memory_destroy(wk->mem[i][e][m]);
        if (wk->stream[i])
            dnnl_stream_destroy(wk->stream[i]);
        free(wk->mem[i]);
        free(wk->scratch[i]);
        free(wk->tile[i]);
        free(wk->rows[i]);
    }
    free(a->wk);
    for (int s = 0; s < 2; s++) {
        free(a->q[s]);
        free(a->scale[s]);
        free(a->zp[s]);
    }
    memset(a, 0, sizeof *a);
}

static inline float round_half_even(float x)   /* |x| < 2^22: the float adder rounds for us */
{
    return (x + 12582912.0f) - 12582912.0f;
}

/* GCC/clang vector extensions, as in enc_attention.c: gcc 12 leaves a float min/max reduction
 * scalar (16 vmaxss per 16 floats; it may not reorder a select under IEEE rules), so the lanes
 * are spelled out. max/min are exact whatever the order, so the result is the scalar loop's.
 * VW floats per vector: a zmm where the build has AVX-512 (twice the ymm's work per instruction
 * on these L1-resident rows), else a ymm (pairs of SSE registers without AVX). */
#ifdef __AVX512F__
#define VW 16
#else
#define VW 8
#endif
typedef float vw __attribute__((vector_size(VW * 4)));
typedef int32_t vwi __attribute__((vector_size(VW * 4)));
typedef float vwu __attribute__((vector_size(VW * 4), aligned(4), may_alias));
typedef uint8_t vwb __attribute__((vector_size(VW)));
typedef uint8_t vwbu __attribute__((vector_size(VW), aligned(1), may_alias));
#define loadw(p) (*(const vwu *)(p))

#define SEL(m, a, b) ((vw)(((m) & (vwi)(a)) | (~(m) & (vwi)(b))))

/* Four independent accumulator pairs: with one, every step waited on the previous select. */
static void row_range(const float *restrict x, int k, float *mx_out, float *mn_out)
{
    float mx = 0, mn = 0;   /* the range always holds 0 (see enc_mm_quant_row) */
    int j = 0;
    if (k >= 4 * VW) {
        vw hi[4], lo[4];
        for (int u = 0; u < 4; u++)
            hi[u] = lo[u] = loadw(x + VW * u);
        for (j = 4 * VW; j + 4 * VW <= k; j += 4 * VW)
            for (int u = 0; u < 4; u++) {
                vw v = loadw(x + j + VW * u);
                hi[u] = SEL(v > hi[u], v, hi[u]);
                lo[u] = SEL(v < lo[u], v, lo[u]);
            }
        for (int u = 1; u < 4; u++) {
            hi[0] = SEL(hi[u] > hi[0], hi[u], hi[0]);
            lo[0] = SEL(lo[u] < lo[0], lo[u], lo[0]);
        }
        for (int i = 0; i < VW; i++) {
            mx = hi[0][i] > mx ? hi[0][i] : mx;
            mn = lo[0][i] < mn ? lo[0][i] : mn;
        }
    }
    for (; j < k; j++) {
        mx = x[j] > mx ? x[j] : mx;
        mn = x[j] < mn ? x[j] : mn;
    }
    *mx_out = mx;
    *mn_out = mn;
}

/* Hot loop: one token row to u8 with its own range (asymmetric: post-GELU rows span [-0.17, big],
 * where a symmetric s8 code would waste half its values). The range is widened to hold 0; a NaN in
 * the row is ignored by the range and garbage either way. */
void enc_mm_quant_row(const float *restrict x, int k, uint8_t *restrict q, float *scale, int32_t *zp)
{
    float mx, mn;
    row_range(x, k, &mx, &mn);
    float s = (mx - mn) / 255.0f;
    if (!(s > 1e-30f)) {   /* all zero (or not finite: the result is garbage either way) */
        s = 1.0f;
        mn = 0;
    }
    float inv = 1.0f / s, z = round_half_even(-mn * inv);
    int j = 0;
    /* the scalar loop below, VW at a time: gcc's own vectorization of it ran through mask
     * registers and was half of the row's cost */
    const vw zero = {0}, top = zero + 255.0f, c = zero + 12582912.0f;
    for (; j + VW <= k; j += VW) {
        vw v = ((loadw(x + j) * inv + c) - c) + z;
        v = SEL(v > zero, v, zero);
        v = SEL(v > top, top, v);
        *(vwbu *)(q + j) = __builtin_convertvector(__builtin_convertvector(v, vwi), vwb);
    }
    for (; j < k; j++) {
        float v = round_half_even(x[j] * inv) + z;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        q[j] = (uint8_t)(int)v;
    }
    *scale = s;
    *zp = (int32_t)z;
}

void enc_mm_convert(enc_mm_act *a, int slot, const float *x, int ldx, int r0, int n, int K)
{
    assert(slot >= 0 && slot < 2 && r0 >= 0 && r0 + n <= a->rows && K <= a->k);
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * ldx;
        if (a->p == ENC_PREC_INT8) {
            enc_mm_quant_row(xr, K, (uint8_t *)a->q[slot] + (size_t)(r0 + r) * K,
                             &a->scale[slot][r0 + r], &a->zp[slot][r0 + r]);
        } else {
            uint16_t *d = (uint16_t *)a->q[slot] + (size_t)(r0 + r) * K;
            for (int k = 0; k < K; k++)
                d[k] = enc_mm_bf16(xr[k]);
        }
    }
}

typedef struct {
    const enc_mm_w *w;
    enc_mm_act *a;
    int slot;
    float *y;
    int T, ldy, n_tiles, whole_rows;
    const int *tiles;              /* enc_mm_run_tiles: [n_tiles][2] first row, rows */
    enc_mm_epi epi;
    void *ctx;
    zb_err *err;
    int failed;
} mm_job;

static void fail(mm_job *j, const zb_err *e)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    if (!j->failed++ && j->err)
        *j->err = *e;
    pthread_mutex_unlock(&mu);
}

/* Hot loop: the block's tile [nr][nc] into y (row stride ldy): int8 y = s_r s_w[n] (acc - z_r
 * sum_w[n]); bf16 a copy. */
static void store_tile(const mm_job *j, const void *tile, int r0, int nr, int c0, int nc, float *y0,
                       int ldy)
{
    const float *sc = j->a->scale[j->slot] + r0;
    const int32_t *zp = j->a->zp[j->slot] + r0;
    for (int r = 0; r < nr; r++) {
        float *restrict y = y0 + (size_t)r * ldy + c0;
        if (j->w->p != ENC_PREC_INT8) {
            memcpy(y, (const float *)tile + (size_t)r * nc, nc * sizeof *y);
            continue;
        }
        const float *restrict ws = j->w->w_scale + c0;
        const int32_t *restrict wsum = j->w->w_sum + c0, *restrict acc = (const int32_t *)tile + (size_t)r * nc;
        float s = sc[r];
        int32_t z = zp[r];
        for (int n = 0; n < nc; n++)
            y[n] = (float)(acc[n] - z * wsum[n]) * (s * ws[n]);
    }
}

/* This worker's stream, tile and scratchpad, and the memory objects of primitive e, made on first
 * use: creating memory objects per call cost about as much as a 16-row tile's matmul. */
static int worker_setup(struct enc_mm_workers *wk, int worker, const prim_entry *e, zb_err *err)
{
    dnnl_engine_t eng = enc_mm_engine();
    if (!wk->stream[worker] &&
        dnnl_stream_create(&wk->stream[worker], eng, dnnl_stream_default_flags) != dnnl_success) {
        wk->stream[worker] = NULL;
        return zb_fail(err, ZB_EINTERNAL, "oneDNN: cannot create a stream");
    }
    if (!wk->tile[worker] && !(wk->tile[worker] = aligned_alloc(64, (size_t)TILE * ENC_MM_NB * 4)))
        return zb_fail(err, ZB_ENOMEM, "no memory for a matmul tile");
    if (!wk->mem[worker] && !(wk->mem[worker] = calloc(MAX_PRIMS, sizeof *wk->mem[worker])))
        return zb_fail(err, ZB_ENOMEM, "no memory for matmul memory objects");
    dnnl_memory_t *m = wk->mem[worker][e->id];
    if (e->scratch > wk->scratch_cap[worker]) {
        free(wk->scratch[worker]);
        if (!(wk->scratch[worker] = malloc(e->scratch))) {
            wk->scratch_cap[worker] = 0;
            return zb_fail(err, ZB_ENOMEM, "no memory for matmul scratch");
        }
        wk->scratch_cap[worker] = e->scratch;
    }
    dnnl_status_t st = dnnl_success;
    if (!m[M_SRC])
        st = dnnl_memory_create(&m[M_SRC], &e->smd, eng, DNNL_MEMORY_NONE);
    if (st == dnnl_success && !m[M_DST])
        st = dnnl_memory_create(&m[M_DST], &e->dmd, eng, wk->tile[worker]);
    if (st == dnnl_success && e->scratch && !m[M_SCRATCH])
        st = dnnl_memory_create(&m[M_SCRATCH], &e->spmd, eng, wk->scratch[worker]);
    void *h = NULL;   /* the scratchpad may have grown since this object was made */
    if (st == dnnl_success && m[M_SCRATCH] && dnnl_memory_get_data_handle(m[M_SCRATCH], &h) == dnnl_success &&
        h != wk->scratch[worker])
        st = dnnl_memory_set_data_handle(m[M_SCRATCH], wk->scratch[worker]);
    return st == dnnl_success ? ZB_OK : enc_mm_dnnl_fail(err, st, "making matmul memory objects");
}

/* One matmul: nr rows from r0 of the slot x column block b into the worker's tile. */
static int exec(const mm_job *j, int b, int r0, int nr, int worker, zb_err *err)
{
    const enc_mm_w *w = j->w;
    int Mc = enc_mm_rows(nr), nc = b == w->n_blk - 1 ? w->N - b * w->nb : w->nb;
    prim_entry *_Atomic *pc = &w->pc[(size_t)b * (TILE / MSTEP) + Mc / MSTEP - 1];
    prim_entry *e = atomic_load_explicit(pc, memory_order_acquire);
    if (!e) {
        if (!(e = enc_mm_get_prim(w->p, Mc, w->K, nc, &w->wmd[b], err)))
            return err->code;
        atomic_store_explicit(pc, e, memory_order_release);
    }
    struct enc_mm_workers *wk = j->a->wk;
    int rc = worker_setup(wk, worker, e, err);
    if (rc)
        return rc;
    dnnl_memory_t *m = wk->mem[worker][e->id];
    void *src = (char *)j->a->q[j->slot] + (size_t)r0 * w->K * (w->p == ENC_PREC_INT8 ? 1 : 2);
    dnnl_status_t st = dnnl_memory_set_data_handle(m[M_SRC], src);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, m[M_SRC]}, {DNNL_ARG_WEIGHTS, w->wmem[b]},
                                   {DNNL_ARG_DST, m[M_DST]}, {DNNL_ARG_SCRATCHPAD, m[M_SCRATCH]}};
        st = dnnl_primitive_execute(e->prim, wk->stream[worker], m[M_SCRATCH] ? 4 : 3, args);
    }
    return st == dnnl_success ? ZB_OK : enc_mm_dnnl_fail(err, st, "running a matmul");
}

/* An item of the column split: one tile x one column block, stored into y. */
static void block_item(void *arg, int i, int worker)
{
    mm_job *j = arg;
    const enc_mm_w *w = j->w;
    int tile = i / w->n_blk, b = i % w->n_blk;
    int r0 = tile * TILE, nr = j->T - r0 < TILE ? j->T - r0 : TILE;
    zb_err err;
    enc_mm_one_thread();
    if (exec(j, b, r0, nr, worker, &err)) {
        fail(j, &err);
        return;
    }
    store_tile(j, j->a->wk->tile[worker], r0, nr, b * w->nb, b == w->n_blk - 1 ? w->N - b * w->nb : w->nb,
               j->y + (size_t)r0 * j->ldy, j->ldy);
}

/* An item of the row split: every column block of one tile into the worker's row buffer, then the
 * epilogue on those rows while they are in cache. */
static void tile_item(void *arg, int tile, int worker)
{
    mm_job *j = arg;
    const enc_mm_w *w = j->w;
    struct enc_mm_workers *wk = j->a->wk;
    int r0 = tile * TILE, nr = j->T - r0 < TILE ? j->T - r0 : TILE;
    if (j->tiles) {
        r0 = j->tiles[2 * tile];
        nr = j->tiles[2 * tile + 1];
    }
    zb_err err;
    enc_mm_one_thread();
    size_t need = (size_t)TILE * w->N;
    if (need > wk->rows_cap[worker]) {
        free(wk->rows[worker]);
        if (!(wk->rows[worker] = aligned_alloc(64, need * sizeof(float)))) {
            wk->rows_cap[worker] = 0;
            zb_fail(&err, ZB_ENOMEM, "no memory for %d x %d matmul rows", TILE, w->N);
            fail(j, &err);
            return;
        }
        wk->rows_cap[worker] = need;
    }
    for (int b = 0; b < w->n_blk; b++) {
        if (exec(j, b, r0, nr, worker, &err)) {
            fail(j, &err);
            return;
        }
        store_tile(j, wk->tile[worker], r0, nr, b * w->nb, b == w->n_blk - 1 ? w->N - b * w->nb : w->nb,
                   wk->rows[worker], w->N);
    }
    j->epi(j->ctx, wk->rows[worker], w->N, r0, nr, worker);
}

#define EPI_ROWS 32   /* rows per epilogue item after a column split */

static void epi_item(void *arg, int i, int worker)
{
    mm_job *j = arg;
    int r0 = i * EPI_ROWS, nr = j->T - r0 < EPI_ROWS ? j->T - r0 : EPI_ROWS;
    j->epi(j->ctx, j->y + (size_t)r0 * j->ldy, j->ldy, r0, nr, worker);
}

/* Below this many rows an element-wise pass is cheaper on the calling thread than the ~20 us of
 * starting another (enc_threads.c creates threads per call). */
#define INLINE_ROWS 64

int enc_mm_workers(int T)
{
    return T < ENC_MM_SERIAL_ROWS ? 1 : enc_threads();
}

void enc_mm_for(int T, int n, void (*fn)(void *arg, int i, int worker), void *arg)
{
    if (enc_mm_workers(T) > 1) {
        enc_parallel_for(n, fn, arg);
        return;
    }
    for (int i = 0; i < n; i++)
        fn(arg, i, 0);
}

int enc_mm_run(const enc_mm_w *w, enc_mm_act *a, int slot, int T, float *y, int ldy, enc_mm_epi epi,
               void *ctx, zb_err *err)
{
    assert(T <= a->rows && w->K <= a->k && ldy >= w->N && a->p == w->p);
    assert(enc_threads() <= MAX_WORKERS);
    if (T <= 0)
        return ZB_OK;
    int workers = enc_mm_workers(T);
    mm_job j = {.w = w, .a = a, .slot = slot, .y = y, .T = T, .ldy = ldy, .epi = epi, .ctx = ctx,
                .err = err, .n_tiles = (T + TILE - 1) / TILE};
    if (epi && (j.n_tiles >= workers || w->n_blk == 1)) {
        enc_mm_for(T, j.n_tiles, tile_item, &j);
    } else {
        enc_mm_for(T, j.n_tiles * w->n_blk, block_item, &j);
        if (epi && !j.failed) {
            if (T <= INLINE_ROWS)
                epi(ctx, y, ldy, 0, T, 0);   /* the calling thread is worker 0 */
            else
                enc_parallel_for((T + EPI_ROWS - 1) / EPI_ROWS, epi_item, &j);
        }
    }
    return j.failed ? (err ? err->code : ZB_EINTERNAL) : ZB_OK;
}

int enc_mm_run_tiles(const enc_mm_w *w, enc_mm_act *a, int slot, int T, const int *tiles, int n_tiles,
                     enc_mm_epi epi, void *ctx, zb_err *err)
{
    assert(T <= a->rows && w->K <= a->k && a->p == w->p && epi);
    for (int t = 0, r = 0; t < n_tiles; r += tiles[2 * t + 1], t++)
        assert(tiles[2 * t] == r && tiles[2 * t + 1] >= 1 && tiles[2 * t + 1] <= TILE &&
               r + tiles[2 * t + 1] <= T);
    mm_job j = {.w = w, .a = a, .slot = slot, .T = T, .tiles = tiles, .epi = epi, .ctx = ctx, .err = err,
                .n_tiles = n_tiles};
    enc_mm_for(T, n_tiles, tile_item, &j);
    return j.failed ? (err ? err->code : ZB_EINTERNAL) : ZB_OK;
}

#define CONV_ROWS 32

typedef struct {
    enc_mm_act *a;
    int slot, T, K;
    const float *x;
} conv_job;

static void conv_item(void *arg, int i, int worker)
{
    (void)worker;
    conv_job *j = arg;
    int r0 = i * CONV_ROWS, n = j->T - r0 < CONV_ROWS ? j->T - r0 : CONV_ROWS;
    enc_mm_convert(j->a, j->slot, j->x + (size_t)r0 * j->K, j->K, r0, n, j->K);
}

void enc_mm_convert_all(enc_mm_act *a, int slot, const float *x, int T, int K)
{
    conv_job j = {.a = a, .slot = slot, .T = T, .K = K, .x = x};
    if (T <= INLINE_ROWS)
        enc_mm_convert(a, slot, x, K, 0, T, K);
    else
        enc_parallel_for((T + CONV_ROWS - 1) / CONV_ROWS, conv_item, &j);
}

int enc_mm_linear(const enc_mm_w *w, const float *x, int T, float *y, int ldy, enc_mm_act *a, zb_err *err)
{
    assert(T <= a->rows && w->K <= a->k);
    enc_mm_convert_all(a, 0, x, T, w->K);
    return enc_mm_run(w, a, 0, T, y, ldy, NULL, NULL, err);
}
