/* enc_forward: the BertModel forward pass on a padding-free batch.
 *
 * Shapes (T = tokens of the batch, H hidden, I intermediate, 3H the packed Q|K|V rows):
 *   x   [T,H]   the residual stream; it is the caller's hidden_out, so no final copy
 *   qkv [T,3H]  three GEMMs write side by side (ldc = 3H), so attention reads q, k, v of a token
 *               from one row without copying the weights into a fused matrix
 *   ctx [T,H], tmp [T,H], ffn [T,I]
 * Dense layers are one cblas_sgemm per weight matrix over all T tokens (y = x W^T, W as nn.Linear
 * stores it, [out,in]); attention runs per (sequence, head) on our own threads and adds the Q, K,
 * V biases itself; the element-wise steps (residual + LayerNorm, bias + activation) run in row
 * chunks on the same threads.
 */
#include "enc_impl.h"

#include <assert.h>
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

struct enc_runner {
    const enc_model *m;
    enc_precision prec;   /* the model's when the runner was made (its buffers are for it) */
    enc_mm_act act;       /* bf16/int8: the activations converted for a GEMM */
    int max_tokens;
    int max_len;          /* longest sequence attention must handle: max_position */
    float *qkv, *ctx, *tmp, *ffn;
    float *scratch;       /* per-worker attention scratch */
    size_t scratch_each;
    int scratch_workers;
};

enc_runner *enc_runner_new(const enc_model *m, int max_batch_tokens, zb_err *err)
{
    const enc_config *c = &m->cfg;
    if (max_batch_tokens < 1 || max_batch_tokens > (1 << 24)) {
        zb_fail(err, ZB_EINVAL, "token budget %d is outside [1, %d]", max_batch_tokens, 1 << 24);
        return NULL;
    }
    enc_runner *r = calloc(1, sizeof *r);
    size_t T = (size_t)max_batch_tokens;
    int act_rc = ZB_OK;
    if (r) {
        r->m = m;
        r->prec = m->prec;
        if (m->prec != ENC_PREC_FP32)
            act_rc = enc_mm_act_alloc(&r->act, m->prec, max_batch_tokens,
                                      c->intermediate > c->hidden ? c->intermediate : c->hidden);
        r->max_tokens = max_batch_tokens;
        r->max_len = c->max_position < max_batch_tokens ? c->max_position : max_batch_tokens;
        r->qkv = malloc(T * 3 * c->hidden * sizeof(float));
        r->ctx = malloc(T * c->hidden * sizeof(float));
        r->tmp = malloc(T * c->hidden * sizeof(float));
        r->ffn = malloc(T * c->intermediate * sizeof(float));
        r->scratch_each = enc_attention_scratch(r->max_len, c->hidden / c->heads);
    }
    if (!r || !r->qkv || !r->ctx || !r->tmp || !r->ffn || act_rc) {
        enc_runner_free(r);
        zb_fail(err, ZB_ENOMEM, "no memory for a runner of %d tokens", max_batch_tokens);
        return NULL;
    }
    return r;
}

void enc_runner_free(enc_runner *r)
{
    if (!r)
        return;
    free(r->qkv);
    free(r->ctx);
    free(r->tmp);
    free(r->ffn);
    free(r->scratch);
    enc_mm_act_free(&r->act);
    free(r);
}

int enc_runner_max_tokens(const enc_runner *r)
{
    return r->max_tokens;
}

const enc_model *enc_runner_model(const enc_runner *r)
{
    return r->m;
}

/* y[T,N] = x[T,K] W[N,K]^T, row stride ldy.
 * The work is split across our own threads, each calling a single-threaded sgemm: one pool of
 * threads runs the GEMMs, attention and the element-wise steps. With OpenBLAS's own threads for
 * the GEMMs and ours for the rest, OpenBLAS's threads kept spinning after each GEMM while ours
 * wanted the cores: two threads per core, and 2-thread runs swung between 1.0x and 1.5x.
 * Large batches split the token rows; a short batch (one sentence: latency) splits the output
 * columns, i.e. the weight rows, so both threads still help. */
typedef struct {
    const float *x, *w;
    float *y;
    int T, N, K, ldy;
    int split_rows;       /* 1: items are row blocks of x/y; 0: column blocks of y (rows of W) */
    int per_item;         /* rows or columns per item, a multiple of 16 (whole sgemm tiles) */
} linear_job;

static void linear_block(const linear_job *j, int r0, int nr, int c0, int nc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, nc, j->K, 1.0f,
                j->x + (size_t)r0 * j->K, j->K, j->w + (size_t)c0 * j->K, j->K, 0.0f,
                j->y + (size_t)r0 * j->ldy + c0, j->ldy);
}

static void linear_item(void *arg, int i, int worker)
{
    (void)worker;
    const linear_job *j = arg;
    int total = j->split_rows ? j->T : j->N, a = i * j->per_item;
    int n = total - a < j->per_item ? total - a : j->per_item;
    if (j->split_rows)
        linear_block(j, a, n, 0, j->N);
    else
        linear_block(j, 0, j->T, a, n);
}

#define LINEAR_MIN_ROWS 32   /* rows per thread below which the columns are split instead */

static void linear(const float *x, const float *w, float *y, int T, int N, int K, int ldy)
{
    linear_job j = {.x = x, .w = w, .y = y, .T = T, .N = N, .K = K, .ldy = ldy};
    int workers = enc_threads();
    if (workers <= 1) {
        linear_block(&j, 0, T, 0, N);
        return;
    }
    j.split_rows = T >= workers * LINEAR_MIN_ROWS;
    int total = j.split_rows ? T : N;
    j.per_item = ((total + workers - 1) / workers + 15) / 16 * 16;
    enc_parallel_for((total + j.per_item - 1) / j.per_item, linear_item, &j);
}

typedef struct {
    enc_runner *r;
    const enc_layer *y;   /* the layer being run */
    const int *lens;
    const int *start;     /* first token of each sequence */
    int heads_per_item;   /* heads per work item: fewer, larger items for short sequences */
    int items_per_seq;
    int convert;          /* bf16/int8 with an item per sequence: attn_item converts ctx for O */
} attn_job;

static void attn_item(void *arg, int i, int worker)
{
    attn_job *j = arg;
    enc_runner *r = j->r;
    const enc_config *c = &r->m->cfg;
    int seq = i / j->items_per_seq, h0 = (i % j->items_per_seq) * j->heads_per_item;
    int h1 = h0 + j->heads_per_item < c->heads ? h0 + j->heads_per_item : c->heads;
    int H = c->hidden;
    const float *base = r->qkv + (size_t)j->start[seq] * 3 * H;
    /* The sequence's Q|K|V rows were written a whole batch ago and sit in L3; the head loops read
     * them 128 bytes a row at a 4.6 KB stride, which the hardware prefetcher does not follow, and
     * waited on each line in turn (perf: ~15% of an int8 forward). Asking for all of them first
     * lets the loads overlap. */
    for (const char *p = (const char *)base, *end = (const char *)(base + (size_t)j->lens[seq] * 3 * H);
         p < end; p += 64)
        __builtin_prefetch(p);
    enc_attn_args a = {.q = base, .k = base + H, .v = base + 2 * H, .ld = 3 * H,
                       .qb = j->y->q_b, .kb = j->y->k_b, .vb = j->y->v_b,
                       .n = j->lens[seq], .dh = H / c->heads,
                       .ctx = r->ctx + (size_t)j->start[seq] * H, .ldc = H};
    enc_attention(&a, h0, h1, r->scratch + r->scratch_each * worker);
    if (j->convert && h0 == 0 && h1 == c->heads)   /* the rows are whole: convert them for O */
        enc_mm_convert(&r->act, 1, a.ctx, H, j->start[seq], j->lens[seq], H);
}

/* The element-wise steps between GEMMs, split into row chunks for our threads (with one thread
 * enc_parallel_for runs them inline). */
enum { STEP_LN_ATTN, STEP_ACT, STEP_LN_FFN };
#define ROW_CHUNK 64

typedef struct {
    enc_runner *r;
    const enc_layer *y;
    float *x;
    int T, step;
} rows_job;

static void rows_item(void *arg, int i, int worker)
{
    (void)worker;
    rows_job *j = arg;
    const enc_config *c = &j->r->m->cfg;
    int r0 = i * ROW_CHUNK, n = j->T - r0 < ROW_CHUNK ? j->T - r0 : ROW_CHUNK, H = c->hidden;
    size_t h0 = (size_t)r0 * H;
    switch (j->step) {
    case STEP_LN_ATTN:
        enc_add_layernorm(j->x + h0, j->r->tmp + h0, j->y->o_b, j->y->ln1_g, j->y->ln1_b, n, H,
                          c->layer_norm_eps);
        break;
    case STEP_ACT:
        enc_bias_act(j->r->ffn + (size_t)r0 * c->intermediate, j->y->i_b, n, c->intermediate, c->act);
        break;
    case STEP_LN_FFN:
        enc_add_layernorm(j->x + h0, j->r->tmp + h0, j->y->f_b, j->y->ln2_g, j->y->ln2_b, n, H,
                          c->layer_norm_eps);
        break;
    }
}

static void rows(rows_job *j, int step)
{
    j->step = step;
    enc_parallel_for((j->T + ROW_CHUNK - 1) / ROW_CHUNK, rows_item, j);
}

/* ---- bf16 / int8: the epilogues enc_mm_run calls on a GEMM's finished rows (enc_mm.h) ---- */

typedef struct {
    enc_runner *r;
    const enc_layer *y;
    float *x;
    int convert;          /* epi_ln: convert x's rows for the next layer's Q|K|V (not after the last) */
    const int *start, *lens;   /* epi_attn: the sequences */
    int n_seq;
} epi_ctx;

/* O and FFN out: x = LayerNorm(x + rows + bias), then x's rows into slot 0 (the next GEMM's input). */
static void epi_ln(void *arg, float *rows, int ld, int r0, int nr, int ffn)
{
    epi_ctx *e = arg;
    const enc_config *c = &e->r->m->cfg;
    int H = c->hidden;
    assert(ld == H);
    float *x = e->x + (size_t)r0 * H;
    if (ffn)
        enc_add_layernorm(x, rows, e->y->f_b, e->y->ln2_g, e->y->ln2_b, nr, H, c->layer_norm_eps);
    else
        enc_add_layernorm(x, rows, e->y->o_b, e->y->ln1_g, e->y->ln1_b, nr, H, c->layer_norm_eps);
    if (e->convert || !ffn)
        enc_mm_convert(&e->r->act, 0, x, H, r0, nr, H);
}

static void epi_ln_attn(void *arg, float *rows, int ld, int r0, int nr, int worker)
{
    (void)worker;
    epi_ln(arg, rows, ld, r0, nr, 0);
}

static void epi_ln_ffn(void *arg, float *rows, int ld, int r0, int nr, int worker)
{
    (void)worker;
    epi_ln(arg, rows, ld, r0, nr, 1);
}

/* FFN in: rows = act(rows + bias), into slot 1 for FFN out. */
static void epi_act(void *arg, float *rows, int ld, int r0, int nr, int worker)
{
    (void)worker;
    epi_ctx *e = arg;
    const enc_config *c = &e->r->m->cfg;
    assert(ld == c->intermediate);
    enc_bias_act(rows, e->y->i_b, nr, c->intermediate, c->act);
    enc_mm_convert(&e->r->act, 1, rows, ld, r0, nr, c->intermediate);
}

/* Q|K|V, cut at sequence boundaries (enc_mm_run_tiles): attention on the tile's whole sequences
 * while their Q|K|V rows are in cache, then the context rows into slot 1 for O. Written back to a
 * [T,3H] buffer and read a batch later, those rows came from L3 at a 4.6 KB stride and attention
 * waited on them (perf: ~15% of an int8 forward at 2048-token batches). */
static void epi_attn(void *arg, float *rows, int ld, int r0, int nr, int worker)
{
    epi_ctx *e = arg;
    enc_runner *r = e->r;
    const enc_config *c = &r->m->cfg;
    int H = c->hidden, lo = 0, hi = e->n_seq;
    while (lo < hi) {   /* the first sequence starting at or after r0 */
        int mid = (lo + hi) / 2;
        if (e->start[mid] < r0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int s = lo; s < e->n_seq && e->start[s] < r0 + nr; s++) {
        if (!e->lens[s])
            continue;
        const float *base = rows + (size_t)(e->start[s] - r0) * ld;
        enc_attn_args a = {.q = base, .k = base + H, .v = base + 2 * H, .ld = ld,
                           .qb = e->y->q_b, .kb = e->y->k_b, .vb = e->y->v_b,
                           .n = e->lens[s], .dh = H / c->heads,
                           .ctx = r->ctx + (size_t)e->start[s] * H, .ldc = H};
        enc_attention(&a, 0, c->heads, r->scratch + r->scratch_each * worker);
    }
    enc_mm_convert(&r->act, 1, r->ctx + (size_t)r0 * H, H, r0, nr, H);
}

/* Whole sequences packed into tiles of at most ENC_MM_TILE rows, if every sequence fits one and
 * there are tiles for every thread; else 0 (attention then runs on its own, attn_item). */
static int pack_tiles(const int *lens, int n_seq, int *tiles)
{
    int n = 0, r0 = 0, rows = 0;
    for (int s = 0; s < n_seq; s++) {
        if (lens[s] > ENC_MM_TILE)
            return 0;
        if (rows + lens[s] > ENC_MM_TILE) {
            tiles[2 * n] = r0;
            tiles[2 * n++ + 1] = rows;
            r0 += rows;
            rows = 0;
        }
        rows += lens[s];
    }
    if (rows) {
        tiles[2 * n] = r0;
        tiles[2 * n++ + 1] = rows;
    }
    return n >= enc_mm_workers(r0 + rows) ? n : 0;   /* r0 + rows: the batch's tokens */
}

/* One transformer layer in bf16 / int8: on entry slot 0 holds x converted, on exit too (unless it
 * is the last layer). Bias, activation, residual and LayerNorm run in the GEMMs' epilogues. */
static int layer_mm(enc_runner *r, int l, attn_job *aj, const int *tiles, int n_tiles, float *x, int T,
                    int n_seq, zb_err *err)
{
    const enc_model *m = r->m;
    const enc_config *c = &m->cfg;
    const int H = c->hidden, FF = c->intermediate;
    enc_mm_w *const *w = m->mm + (size_t)l * ENC_MM_PER_LAYER;
    epi_ctx e = {.r = r, .y = &m->layer[l], .x = x, .convert = l + 1 < c->layers,
                 .start = aj->start, .lens = aj->lens, .n_seq = n_seq};
    int rc;
    if (n_tiles) {
        rc = enc_mm_run_tiles(w[ENC_MM_QKV], &r->act, 0, T, tiles, n_tiles, epi_attn, &e, err);
    } else {
        rc = enc_mm_run(w[ENC_MM_QKV], &r->act, 0, T, r->qkv, 3 * H, NULL, NULL, err);
        aj->convert = aj->heads_per_item >= c->heads;
        if (!rc)   /* adds the QKV biases; a short batch without a thread start (enc_mm.h) */
            enc_mm_for(T, n_seq * aj->items_per_seq, attn_item, aj);
        if (!rc && !aj->convert)
            enc_mm_convert_all(&r->act, 1, r->ctx, T, H);
    }
    if (rc || (rc = enc_mm_run(w[ENC_MM_O], &r->act, 1, T, r->tmp, H, epi_ln_attn, &e, err)) ||
        (rc = enc_mm_run(w[ENC_MM_I], &r->act, 0, T, r->ffn, FF, epi_act, &e, err)))
        return rc;
    return enc_mm_run(w[ENC_MM_F], &r->act, 1, T, r->tmp, H, epi_ln_ffn, &e, err);
}

static int check_inputs(const enc_runner *r, const int32_t *ids, const int32_t *type_ids,
                        const int *lens, int n_seq, int *total, zb_err *err)
{
    const enc_config *c = &r->m->cfg;
    long T = 0;
    for (int s = 0; s < n_seq; s++) {
        if (lens[s] < 0 || lens[s] > c->max_position)
            return zb_fail(err, ZB_ERANGE,
                           "sequence %d has %d tokens; the model takes 0 to %d (max_position_embeddings)",
                           s, lens[s], c->max_position);
        T += lens[s];
        if (T > r->max_tokens)
            return zb_fail(err, ZB_ERANGE, "batch has more than %d tokens (the runner's budget) at sequence %d",
                           r->max_tokens, s);
    }
    for (long t = 0, s = 0, p = 0; t < T; t++, p++) {
        while (p >= lens[s]) {
            s++;
            p = 0;
        }
        if (ids[t] < 0 || ids[t] >= c->vocab_size)
            return zb_fail(err, ZB_ERANGE, "sequence %ld, position %ld: token id %d is outside the vocabulary [0, %d)",
                           s, p, ids[t], c->vocab_size);
        if (type_ids && (type_ids[t] < 0 || type_ids[t] >= c->type_vocab))
            return zb_fail(err, ZB_ERANGE, "sequence %ld, position %ld: token type id %d is outside [0, %d)",
                           s, p, type_ids[t], c->type_vocab);
    }
    *total = (int)T;
    return ZB_OK;
}

int enc_forward(enc_runner *r, const int32_t *ids, const int32_t *type_ids, const int *lens, int n_seq,
                float *x, zb_err *err)
{
    const enc_model *m = r->m;
    const enc_config *c = &m->cfg;
    const int H = c->hidden, FF = c->intermediate, nh = c->heads;
    int T = 0, rc = check_inputs(r, ids, type_ids, lens, n_seq, &T, err);
    if (rc || T == 0)
        return rc;
    assert(r->prec == m->prec && "enc_model_set_precision after enc_runner_new");

    int workers = enc_threads();
    if (workers > r->scratch_workers) {
        float *s = realloc(r->scratch, r->scratch_each * workers * sizeof *s);
        if (!s)
            return zb_fail(err, ZB_ENOMEM, "no memory for attention scratch of %d threads", workers);
        r->scratch = s;
        r->scratch_workers = workers;
    }
    int *start = malloc((size_t)n_seq * sizeof *start);
    int *tiles = m->mm ? malloc((size_t)n_seq * 2 * sizeof *tiles) : NULL;
    if (!start || (m->mm && !tiles)) {
        free(start);
        free(tiles);
        return zb_fail(err, ZB_ENOMEM, "out of memory");
    }
    int n_tiles = m->mm ? pack_tiles(lens, n_seq, tiles) : 0;

    /* Embeddings: word + position (0.. per sequence) + token type, then LayerNorm. */
    for (int s = 0, t = 0; s < n_seq; s++) {
        start[s] = t;
        for (int p = 0; p < lens[s]; p++, t++) {
            const float *w = m->word + (size_t)ids[t] * H, *pe = m->pos + (size_t)p * H,
                        *te = m->type + (size_t)(type_ids ? type_ids[t] : 0) * H;
            float *xr = x + (size_t)t * H;
            for (int d = 0; d < H; d++)
                xr[d] = w[d] + pe[d] + te[d];
        }
    }
    enc_add_layernorm(x, NULL, NULL, m->emb_ln_g, m->emb_ln_b, T, H, c->layer_norm_eps);
    if (m->mm)
        enc_mm_convert_all(&r->act, 0, x, T, H);

    /* Short sequences carry little attention work per head: group heads so that an item is worth
     * handing to a thread, but keep at least ~4 items per worker for balance. */
    int avg = T / n_seq;
    int hpi = avg >= 64 ? 1 : avg >= 16 ? 3 : nh;
    while (hpi > 1 && (long)n_seq * ((nh + hpi - 1) / hpi) < 4L * workers)
        hpi = hpi / 2 ? hpi / 2 : 1;
    attn_job aj = {.r = r, .lens = lens, .start = start, .heads_per_item = hpi,
                   .items_per_seq = (nh + hpi - 1) / hpi};

    rows_job rj = {.r = r, .x = x, .T = T};
    for (int l = 0; l < c->layers && !rc; l++) {
        const enc_layer *y = &m->layer[l];
        aj.y = rj.y = y;
        if (m->mm) {   /* bf16 / int8: Q|K|V as one prepared [3H,H] weight */
            rc = layer_mm(r, l, &aj, tiles, n_tiles, x, T, n_seq, err);
            continue;
        }
        linear(x, y->q_w, r->qkv, T, H, H, 3 * H);
        linear(x, y->k_w, r->qkv + H, T, H, H, 3 * H);
        linear(x, y->v_w, r->qkv + 2 * H, T, H, H, 3 * H);
        enc_parallel_for(n_seq * aj.items_per_seq, attn_item, &aj);   /* adds the QKV biases */
        linear(r->ctx, y->o_w, r->tmp, T, H, H, H);
        rows(&rj, STEP_LN_ATTN);
        linear(x, y->i_w, r->ffn, T, FF, H, FF);
        rows(&rj, STEP_ACT);
        linear(r->ffn, y->f_w, r->tmp, T, H, FF, H);
        rows(&rj, STEP_LN_FFN);
    }
    free(start);
    free(tiles);
    return rc;
}
