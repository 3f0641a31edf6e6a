/* enc_prec: --precision: converting a loaded model's dense weights once for bf16 / int8. */
#include "enc_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const names[] = {[ENC_PREC_FP32] = "fp32", [ENC_PREC_BF16] = "bf16",
                                     [ENC_PREC_INT8] = "int8"};

int enc_precision_parse(const char *s, enc_precision *out)
{
    for (int p = 0; p < 3; p++)
        if (s && !strcmp(s, names[p])) {
            *out = (enc_precision)p;
            return 0;
        }
    return -1;
}

const char *enc_precision_name(enc_precision p)
{
    return (unsigned)p < 3 ? names[p] : "?";
}

enc_precision enc_model_precision(const enc_model *m)
{
    return m->prec;
}

/* fp32's kernel, the same for every model: which kernel family OpenBLAS settled on at load */
static char fp32_kernel[64];
static pthread_once_t fp32_once = PTHREAD_ONCE_INIT;
static void fp32_describe(void) { enc_mm_init(ENC_PREC_FP32, fp32_kernel, sizeof fp32_kernel, NULL); }

const char *enc_model_kernel(const enc_model *m)
{
    pthread_once(&fp32_once, fp32_describe);
    return m->kernel[0] ? m->kernel : fp32_kernel;
}

static int owned(const enc_model *m, const float *p)
{
    for (int i = 0; i < m->n_owned; i++)
        if (m->owned[i] == p)
            return 1;
    return 0;
}

/* The fp32 weights a prepared layer replaced are read no more: give their pages back, so that an
 * int8 encoder's resident memory is its int8 weights, not both (the mapping stays valid: a later
 * read would fault the page in again from the page cache). Only for zero-copy F32 tensors, which
 * are file-backed; converted ones (owned) are left as they are. */
static void drop_pages(const enc_model *m, const float *p, size_t n)
{
    if (owned(m, p))
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)p, b = a + n * sizeof *p;
    a = (a + page - 1) / page * page;
    b = b / page * page;
    if (b > a)
        madvise((void *)a, b - a, MADV_DONTNEED);
}

const char *enc_model_weights_note(const enc_model *m)
{
    return m->prec == ENC_PREC_FP32 ? "fp32, mmap'd from the model" : m->weights_note;
}

void enc_model_free_prepared(enc_model *m)
{
    for (int i = 0; m->mm && i < m->cfg.layers * ENC_MM_PER_LAYER; i++)
        enc_mm_free(m->mm[i]);
    free(m->mm);
    m->mm = NULL;
    enc_wcache_unmap(m);
}

/* Convert every dense weight of m for p into mm (layers x ENC_MM_PER_LAYER). */
static int prepare_all(enc_model *m, enc_precision p, enc_mm_w **mm, zb_err *err)
{
    const enc_config *c = &m->cfg;
    int H = c->hidden, I = c->intermediate, L = c->layers;
    for (int l = 0; l < L; l++) {
        const enc_layer *y = &m->layer[l];
        const float *qkv[3] = {y->q_w, y->k_w, y->v_w};
        const int hhh[3] = {H, H, H}, ii[1] = {I};
        enc_mm_w **d = mm + (size_t)l * ENC_MM_PER_LAYER;
        if (!(d[ENC_MM_QKV] = enc_mm_prepare(p, qkv, hhh, 3, H, err)) ||
            !(d[ENC_MM_O] = enc_mm_prepare(p, &y->o_w, hhh, 1, H, err)) ||
            !(d[ENC_MM_I] = enc_mm_prepare(p, &y->i_w, ii, 1, H, err)) ||
            !(d[ENC_MM_F] = enc_mm_prepare(p, &y->f_w, hhh, 1, I, err))) {
            for (int i = 0; i < L * ENC_MM_PER_LAYER; i++) {
                enc_mm_free(mm[i]);
                mm[i] = NULL;
            }
            return zb_wrap(err, "preparing layer %d for %s: ", l, names[p]);
        }
        /* layer by layer, so the peak holds one layer's fp32 pages next to the converted ones */
        drop_pages(m, y->q_w, (size_t)H * H);
        drop_pages(m, y->k_w, (size_t)H * H);
        drop_pages(m, y->v_w, (size_t)H * H);
        drop_pages(m, y->o_w, (size_t)H * H);
        drop_pages(m, y->i_w, (size_t)I * H);
        drop_pages(m, y->f_w, (size_t)H * I);
    }
    return ZB_OK;
}

int enc_model_set_precision(enc_model *m, enc_precision p, zb_err *err)
{
    if ((unsigned)p > ENC_PREC_INT8)
        return zb_fail(err, ZB_EINVAL, "unknown precision %d", (int)p);
    if (p == m->prec)
        return ZB_OK;
    char desc[160], note[96];   /* desc is part of the weight cache's key: the note is not */
    int rc = enc_mm_init(p, desc, sizeof desc, err);
    if (!rc)
        rc = enc_mm_speed_check(p, note, sizeof note, err);
    if (rc)
        return rc;
    int L = m->cfg.layers;
    enc_mm_w **mm = NULL;
    enc_model_free_prepared(m);   /* before a new cache mapping replaces the old one */
    m->prec = ENC_PREC_FP32;
    m->kernel[0] = '\0';
    if (p != ENC_PREC_FP32) {
        if (!(mm = calloc((size_t)L * ENC_MM_PER_LAYER, sizeof *mm)))
            return zb_fail(err, ZB_ENOMEM, "out of memory");
        if ((rc = enc_wcache_get(m, p, desc, prepare_all, mm, m->weights_note, sizeof m->weights_note, err))) {
            free(mm);
            return rc;
        }
    }
    m->mm = mm;
    m->prec = p;
    snprintf(m->kernel, sizeof m->kernel, "%s%s", p == ENC_PREC_FP32 ? "" : desc, note);
    return ZB_OK;
}
