/* enc_mm_probe: what enc_mm_init and enc_mm_speed_check ask of this CPU before bf16 / int8 run:
 * does oneDNN run them natively (the ISA probe), and is bf16 faster than our fp32 here (the speed
 * probe). Called with enc_mm.c's lock held. */
#include "enc_mm_int.h"

#include "enc_impl.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Run on the same kind of matmul as the model will, once, with values that tell whether this
 * CPU's kernel is the native one: without VNNI, oneDNN's u8 x s8 sums pairs into int16 with
 * saturation (255 * 127 * 2 > 32767), so 255 x 127 over K = 64 comes out wrong. */
int enc_mm_probe_isa(enc_precision p, char *impl_out, size_t cap, zb_err *err)
{
    enum { M = 16, K = 64, N = 16 };
    prim_entry e = {.p = p, .M = M, .K = K, .N = N};
    const char *impl = "?";
    zb_err why;
    if (enc_mm_create_prim(&e, NULL, &impl, &why)) {   /* e.g. bf16 below AVX-512: unimplemented */
        dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
        return zb_fail(err, ZB_EUNSUPPORTED, "--precision %s needs %s instructions: oneDNN has no %s matmul "
                       "for this CPU (cpu isa %s; %s)", p == ENC_PREC_INT8 ? "int8" : "bf16",
                       p == ENC_PREC_INT8 ? "VNNI (AVX512_VNNI or AVX_VNNI)" : "AVX512_BF16 or AMX",
                       p == ENC_PREC_INT8 ? "int8" : "bf16", enc_mm_isa_name(isa), why.msg);
    }
    snprintf(impl_out, cap, "%s", impl);
    if (p == ENC_PREC_BF16) {
        dnnl_primitive_destroy(e.prim);
        /* "brg:avx512_core_bf16" or "brg:avx512_core_amx..." run bf16 natively; gemm:jit on
         * plain AVX-512 converts in software and is slower than our fp32. */
        if (strstr(impl, "bf16") || strstr(impl, "amx"))
            return ZB_OK;
        return zb_fail(err, ZB_EUNSUPPORTED,
                       "--precision bf16 needs AVX512_BF16 or AMX instructions, which this CPU lacks "
                       "(oneDNN cpu isa %s would emulate bf16 with %s, slower than fp32); use fp32 or int8",
                       enc_mm_isa_name(dnnl_get_effective_cpu_isa()), impl);
    }
    static uint8_t a[M * K];
    static int8_t w[K * N];
    static int32_t y[M * N];
    memset(a, 255, sizeof a);
    memset(w, 127, sizeof w);
    dnnl_memory_desc_t plain;
    dnnl_dims_t wd = {K, N};
    dnnl_memory_desc_init_by_tag(&plain, 2, wd, dnnl_s8, dnnl_ab);
    size_t wbytes = dnnl_memory_desc_get_size(&e.wmd);
    void *wb = calloc(1, wbytes);
    dnnl_memory_t ms = NULL, mw = NULL, md = NULL, mp = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t reo = NULL;
    dnnl_status_t st = wb ? dnnl_success : dnnl_out_of_memory;
    if (st == dnnl_success) st = dnnl_memory_create(&mp, &plain, enc_mm_engine(), w);
    if (st == dnnl_success) st = dnnl_memory_create(&mw, &e.wmd, enc_mm_engine(), wb);
    if (st == dnnl_success) st = dnnl_reorder_primitive_desc_create(&rpd, &plain, enc_mm_engine(), &e.wmd, enc_mm_engine(), NULL);
    if (st == dnnl_success) st = dnnl_primitive_create(&reo, rpd);
    if (st == dnnl_success) {
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, mp}, {DNNL_ARG_TO, mw}};
        st = dnnl_primitive_execute(reo, enc_mm_setup_stream(), 2, ra);
    }
    if (st == dnnl_success) st = dnnl_memory_create(&ms, &e.smd, enc_mm_engine(), a);
    if (st == dnnl_success) st = dnnl_memory_create(&md, &e.dmd, enc_mm_engine(), y);
    void *sp = NULL;
    dnnl_memory_t msp = NULL;
    if (st == dnnl_success && e.scratch) {
        sp = malloc(e.scratch);
        st = sp ? dnnl_memory_create(&msp, &e.spmd, enc_mm_engine(), sp) : dnnl_out_of_memory;
    }
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md},
                                   {DNNL_ARG_SCRATCHPAD, msp}};
        st = dnnl_primitive_execute(e.prim, enc_mm_setup_stream(), msp ? 4 : 3, args);
    }
    dnnl_memory_destroy(ms);
    dnnl_memory_destroy(mw);
    dnnl_memory_destroy(md);
    dnnl_memory_destroy(mp);
    dnnl_memory_destroy(msp);
    dnnl_primitive_destroy(reo);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_primitive_destroy(e.prim);
    free(wb);
    free(sp);
    if (st != dnnl_success)
        return enc_mm_dnnl_fail(err, st, "the int8 probe");
    for (int i = 0; i < M * N; i++)
        if (y[i] != 255 * 127 * K)
            return zb_fail(err, ZB_EUNSUPPORTED,
                           "--precision int8 needs VNNI (AVX512_VNNI or AVX_VNNI), which this CPU lacks: "
                           "oneDNN's %s kernel (cpu isa %s) saturates u8 x s8 products (got %d, exact %d); "
                           "use fp32", impl, enc_mm_isa_name(dnnl_get_effective_cpu_isa()), y[i], 255 * 127 * K);
    return ZB_OK;
}

/* ---- bf16: is it faster than our fp32 here? ----
 * A native bf16 kernel is not always a faster one: on the AVX512_BF16 Xeon VM without AMX these
 * numbers were measured on, oneDNN 2.6's brg:avx512_core_bf16 ran at or below OpenBLAS's sgemm
 * (bench/results/README.md). So the first bf16 set-up times one layer-shaped product both ways,
 * as each path runs it (bf16: conversion + 64-row tiles; fp32: one sgemm over all rows), ~20 ms,
 * and bf16 is refused when it would be a clear slowdown (SP_SLOW). CPU time of this thread, best of several
 * rounds, interleaved: a busy machine slows both sides alike. */
enum { SP_M = 256, SP_K = 384, SP_N = 384, SP_ROUNDS = 8 };
/* Refused below this ratio, not below 1: the probe times a matmul, not the encoder, and reads
 * noisily near 1. On the VM of 2026-12-01, where bf16 and fp32 ran the whole encoder at the same
 * speed (1.02-1.05x per CPU-second, bench/results), repeated probes under load read 0.90-1.24x: a
 * threshold near 1 would allow bf16 on one start and refuse it on the next. Below 0.8 bf16 is
 * slower beyond that noise. */
#define SP_SLOW 0.8

static double thread_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* fp32 seconds / bf16 seconds for the same product (> 1: bf16 is faster); 0 when it cannot be
 * measured. */
static double bf16_speed_ratio(zb_err *err)
{
    (void)enc_threads();   /* OpenBLAS on one thread, as the encoder runs it (enc_set_threads) */
    prim_entry e = {.p = ENC_PREC_BF16, .M = TILE, .K = SP_K, .N = SP_N};
    if (enc_mm_create_prim(&e, NULL, NULL, err))
        return 0;
    size_t wbytes = dnnl_memory_desc_get_size(&e.wmd);
    float *x = calloc((size_t)SP_M * SP_K, 4), *w = calloc((size_t)SP_N * SP_K, 4),
          *y = calloc((size_t)SP_M * SP_N, 4);
    void *xb = calloc((size_t)SP_M * SP_K, 2), *wb = calloc(1, wbytes), *sp = calloc(1, e.scratch + 1);
    dnnl_memory_t ms = NULL, mw = NULL, md = NULL, mp = NULL;
    dnnl_status_t st = x && w && y && xb && wb && sp ? dnnl_success : dnnl_out_of_memory;
    for (int i = 0; x && i < SP_M * SP_K; i++)   /* ordinary values: no denormals, no zeros */
        x[i] = (float)((i * 37 % 101) - 50) / 64.0f;
    for (int i = 0; w && i < SP_N * SP_K; i++)
        w[i] = (float)((i * 53 % 97) - 48) / 64.0f;
    if (st == dnnl_success) st = dnnl_memory_create(&ms, &e.smd, enc_mm_engine(), xb);
    if (st == dnnl_success) st = dnnl_memory_create(&mw, &e.wmd, enc_mm_engine(), wb);
    if (st == dnnl_success) st = dnnl_memory_create(&md, &e.dmd, enc_mm_engine(), y);
    if (st == dnnl_success && e.scratch) st = dnnl_memory_create(&mp, &e.spmd, enc_mm_engine(), sp);
    double best16 = 1e30, best32 = 1e30;
    for (int r = 0; r <= SP_ROUNDS && st == dnnl_success; r++) {   /* round 0 warms up */
        double t0 = thread_seconds();
        /* bf16 as enc_mm runs it: the activation conversion, then the matmul */
        for (int i = 0; i < SP_M * SP_K; i++)
            ((uint16_t *)xb)[i] = enc_mm_bf16(x[i]);
        for (int t = 0; t < SP_M / TILE && st == dnnl_success; t++) {
            st = dnnl_memory_set_data_handle(ms, (uint16_t *)xb + (size_t)t * TILE * SP_K);
            if (st == dnnl_success)
                st = dnnl_memory_set_data_handle(md, y + (size_t)t * TILE * SP_N);
            dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md},
                                       {DNNL_ARG_SCRATCHPAD, mp}};
            if (st == dnnl_success)
                st = dnnl_primitive_execute(e.prim, enc_mm_setup_stream(), mp ? 4 : 3, args);
        }
        double t1 = thread_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, SP_M, SP_N, SP_K, 1.0f, x, SP_K, w, SP_K,
                    0.0f, y, SP_N);
        double t2 = thread_seconds();
        if (r > 0) {
            best16 = t1 - t0 < best16 ? t1 - t0 : best16;
            best32 = t2 - t1 < best32 ? t2 - t1 : best32;
        }
    }
    dnnl_memory_destroy(ms);
    dnnl_memory_destroy(mw);
    dnnl_memory_destroy(md);
    dnnl_memory_destroy(mp);
    dnnl_primitive_destroy(e.prim);
    free(x), free(w), free(y), free(xb), free(wb), free(sp);
    if (st != dnnl_success) {
        enc_mm_dnnl_fail(err, st, "the bf16 speed probe");
        return 0;
    }
    return best16 > 0 ? best32 / best16 : 1e9;
}

/* The decision, made at every enc_mm_init (the measurement once per process). Env, documented in
 * docs/PRECISION.md: ZEMBED_BF16_ALLOW_SLOW=1 runs bf16 even when slower (the kernel description
 * says so); ZEMBED_BF16_PROBE_RATIO=R takes R as the measured ratio (tests: the refusal without
 * depending on timing). */
int enc_mm_probe_bf16_speed(const char *impl, char *note, size_t cap, zb_err *err)
{
    static double measured;   /* under enc_mm.c's lock */
    const char *forced = getenv("ZEMBED_BF16_PROBE_RATIO"), *allow = getenv("ZEMBED_BF16_ALLOW_SLOW");
    double ratio;
    if (forced && *forced) {
        char *end;
        ratio = strtod(forced, &end);
        if (*end || !(ratio > 0 && ratio < 1e6))
            return zb_fail(err, ZB_EINVAL, "ZEMBED_BF16_PROBE_RATIO='%s' is not a positive number", forced);
    } else {
        if (!measured && !(measured = bf16_speed_ratio(err)))
            return err->code;
        ratio = measured;
    }
    int slow = ratio < SP_SLOW, allowed = allow && strcmp(allow, "1") == 0;
    snprintf(note, cap, "; bf16 %.2fx fp32 %s%s", ratio, forced && *forced ? "(ZEMBED_BF16_PROBE_RATIO)" : "at start-up",
             slow && allowed ? ", slower, run as ZEMBED_BF16_ALLOW_SLOW=1 asks" : "");
    if (slow && !allowed)
        return zb_fail(err, ZB_EUNSUPPORTED,
                       "--precision bf16 would be slower than fp32 on this CPU: oneDNN's %s kernel ran a "
                       "%dx%dx%d product at %.2fx the speed of fp32 (OpenBLAS sgemm), %s "
                       "(bf16 pays off with AMX); use int8 or fp32, or set ZEMBED_BF16_ALLOW_SLOW=1 to run "
                       "bf16 anyway", impl, SP_M, SP_K, SP_N, ratio,
                       forced && *forced ? "as ZEMBED_BF16_PROBE_RATIO says" : "measured at start-up");
    return ZB_OK;
}
