/* enc_mm: the encoder's Linear layers in bf16 and int8 on oneDNN's matmul (enc.h says which layers
 * and why). Internal to the encoder; fp32 stays on OpenBLAS (enc_forward.c).
 *
 * A prepared weight (enc_mm_w) is one nn.Linear W [N, K] (row-major, as torch stores it) converted
 * once: bf16, or s8 symmetric per output channel (scale s_w[n] = max_k |W[n,k]| / 127), stored in the
 * blocked layout oneDNN's brgemm kernel reads, cut into column blocks of at most ENC_MM_NB outputs
 * so a one-sentence batch still gives every thread work.
 *
 * Activations are converted per GEMM: bf16 (round to nearest even) or u8 asymmetric per token row
 * (x = s_r (q - z_r), the row's [min, max] widened to hold 0, mapped onto 0..255). oneDNN multiplies
 * u8 x s8 into int32 (VPDPBUSD, exact), and our own pass over the tile, while it is in cache, makes
 * y[m,n] = s_r s_w[n] (acc[m,n] - z_r sum_k q_w[n,k]). oneDNN 2.6 has no per-row zero points or
 * scales on its fast path (see docs/PRECISION.md), so that step is ours.
 *
 * Primitives are created once per shape class (rows rounded up to 16, K, N of the block, output row
 * stride), cached for the process and run single-threaded from our own thread pool: oneDNN's
 * OpenMP threads would fight ours (HACKING.md, threads). Streams and scratchpads belong to the
 * enc_mm_act, so runners on different threads do not share them (enc_mm_run.c runs them).
 */
#ifndef ENC_MM_H
#define ENC_MM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "enc.h"

#define ENC_MM_NB 384   /* most output columns per block */

typedef struct enc_mm_w enc_mm_w;

/* Per-runner activation scratch for T tokens of width at most K, in two slots: the epilogue of one
 * GEMM (enc_mm_run) converts its output rows for the next GEMM into the other slot while the rows
 * of other tiles still read this one. */
typedef struct {
    enc_precision p;
    void    *q[2];      /* [rows][K] u8 or bf16 */
    float   *scale[2];  /* [rows] s_r (int8) */
    int32_t *zp[2];     /* [rows] z_r (int8) */
    int rows, k;        /* capacity */
    struct enc_mm_workers *wk;   /* per pool worker: oneDNN stream, memory objects, tiles */
} enc_mm_act;

/* Set oneDNN up for precision p (fp32: nothing to do) and check that this CPU runs it natively:
 * bf16 needs AVX512_BF16 (or AMX), int8 needs VNNI (checked by a product that saturates without
 * it). ZB_EUNSUPPORTED names the missing instruction set. desc (cap bytes) gets what runs, e.g.
 * "oneDNN 2.6.3 brg:avx512_core_vnni (cpu isa avx512_core_bf16)". Process-wide; idempotent. */
int enc_mm_init(enc_precision p, char *desc, size_t cap, zb_err *err);

/* After enc_mm_init: would p be slower than our fp32 here? Only bf16 can be (a native bf16 kernel
 * without AMX may lose to sgemm): timed once per process on a layer-shaped product, refused below
 * 0.8x fp32 with ZB_EUNSUPPORTED naming the kernel and the ratio unless ZEMBED_BF16_ALLOW_SLOW=1;
 * ZEMBED_BF16_PROBE_RATIO=R stands in for the measurement (tests). note gets "; bf16 1.60x fp32
 * at start-up" (empty for fp32/int8), for the kernel description users see. */
int enc_mm_speed_check(enc_precision p, char *note, size_t cap, zb_err *err);

/* Prepare W [N, K] (n_parts matrices of rows[i] x K stacked: Q|K|V become one [3H, H]). */
enc_mm_w *enc_mm_prepare(enc_precision p, const float *const *parts, const int *rows, int n_parts,
                         int K, zb_err *err);
void enc_mm_free(enc_mm_w *w);
size_t enc_mm_bytes(const enc_mm_w *w);   /* memory the prepared weight holds */

int  enc_mm_rows(int T);                  /* T rounded up to a whole number of row steps */
int  enc_mm_act_alloc(enc_mm_act *a, enc_precision p, int rows, int k);
void enc_mm_act_free(enc_mm_act *a);

/* y[T, N] (row stride ldy) = x[T, K] W^T, on enc_threads() threads: x converted into slot 0, then
 * enc_mm_run. 0, or ZB_E* when oneDNN fails. */
int enc_mm_linear(const enc_mm_w *w, const float *x, int T, float *y, int ldy, enc_mm_act *a,
                  zb_err *err);

/* Convert n rows of x (row stride ldx, width K) into rows [r0, r0 + n) of slot `slot`. Each row
 * on its own (its own range for int8), so where a row is converted does not change its bits. */
void enc_mm_convert(enc_mm_act *a, int slot, const float *x, int ldx, int r0, int n, int K);
/* All T rows of x [T, K] into a slot, on the pool unless T is small. */
void enc_mm_convert_all(enc_mm_act *a, int slot, const float *x, int T, int K);

/* Called with whole output rows [r0, r0 + nr) of a GEMM, row i at y + i * ldy (ldy = N), on pool
 * worker `worker` (enc_parallel_for's numbering: its scratch is free to use). */
typedef void (*enc_mm_epi)(void *ctx, float *y, int ldy, int r0, int nr, int worker);

/* y[T, N] = (slot's T rows) W^T, dequantized, on enc_threads() threads; then epi (if not NULL) on
 * every row. When there are at least as many 64-row tiles as threads, a thread computes all column
 * blocks of a tile into a buffer of its own and runs epi on those rows while they are in cache (y
 * is not written); otherwise the tiles' column blocks are spread over the threads, written to y,
 * and epi runs after over y's rows. Same bits either way. 0, or ZB_E* when oneDNN fails. */
int enc_mm_run(const enc_mm_w *w, enc_mm_act *a, int slot, int T, float *y, int ldy, enc_mm_epi epi,
               void *ctx, zb_err *err);

#define ENC_MM_TILE 64   /* most rows of a tile */

/* Threads a GEMM of T rows runs on: 1 below ENC_MM_SERIAL_ROWS, where starting a thread (~20-50 us:
 * enc_threads.c starts them per call) costs about what it would save (a 16-row int8 Q|K|V product
 * is ~50 us); else enc_threads(). One sentence thus runs its int8 layers without a thread start. */
#define ENC_MM_SERIAL_ROWS 32
int enc_mm_workers(int T);
/* fn(arg, i, worker) for i in [0, n), the work of a T-row batch: in turn on this thread (worker 0)
 * when enc_mm_workers(T) is 1, else on the pool (enc_parallel_for). */
void enc_mm_for(int T, int n, void (*fn)(void *arg, int i, int worker), void *arg);

/* The same, always with the rows in per-thread buffers, cut into the caller's tiles: tiles[2t] is
 * tile t's first row, tiles[2t+1] its rows (1..ENC_MM_TILE); in order, covering [0, T). The
 * encoder cuts at sequence boundaries so the epilogue can run attention on whole sequences. */
int enc_mm_run_tiles(const enc_mm_w *w, enc_mm_act *a, int slot, int T, const int *tiles, int n_tiles,
                     enc_mm_epi epi, void *ctx, zb_err *err);

/* ---- the weight cache file's records (enc_wcache.c), host byte order ----
 * {u32 magic 'ZBMW', prec, N, K, nb, n_blk, 0, 0} {u64 bytes of each block} [pad to 64]
 * {each block's reordered weights, padded to 64} [int8: f32 s_w[N], i32 sum_w[N], padded to 64] */
size_t enc_mm_blob_size(const enc_mm_w *w);   /* a multiple of 64 */
int    enc_mm_blob_write(const enc_mm_w *w, FILE *f);
/* A prepared weight whose arrays point into blob (which must stay mapped and 64-aligned while it is
 * used): everything is checked against what enc_mm_prepare would make for (p, N, K) on this CPU
 * (layout, block sizes, bounds, finite scales); ZB_EFORMAT names the first thing that is not.
 * *used = the record's size. */
enc_mm_w *enc_mm_from_blob(enc_precision p, int N, int K, const unsigned char *blob, size_t avail,
                           size_t *used, zb_err *err);

/* The quantization of one row (exposed for the unit test): q[k], *scale, *zp as described above. */
void enc_mm_quant_row(const float *x, int k, uint8_t *q, float *scale, int32_t *zp);
uint16_t enc_mm_bf16(float x);            /* round to nearest even */

#endif
