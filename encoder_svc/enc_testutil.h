/* enc_testutil: tiny model folders for the encoder's unit tests (written with enc_genmodel). */
#ifndef ENC_TESTUTIL_H
#define ENC_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enc_genmodel.h"

#define ET_VOCAB 60

/* A vocab.txt of ET_VOCAB lines in dir (the specials first, as BERT's). */
static inline void et_write_vocab(const char *dir, char *path, size_t cap)
{
    snprintf(path, cap, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", f);
    for (int i = 5; i < ET_VOCAB; i++)
        fprintf(f, "w%d\n", i);
    fclose(f);
}

/* Small dims that still have several heads and layers; max_position 24 keeps range tests short.
 * Head size 16 takes attention's tiled path (a multiple of its vector width); tests that set
 * heads = 4 (head size 8) take the plain one on AVX-512 builds. */
static inline void et_opts(enc_genmodel_opts *o)
{
    enc_genmodel_preset("tiny", o, NULL);
    o->hidden = 32, o->layers = 2, o->heads = 2, o->intermediate = 48;
    o->max_position = 24, o->max_seq_length = 24, o->type_vocab = 2;
    o->seed = 7;
}

/* Write a folder base/name with opts; returns 0 on success (prints the error otherwise). */
static inline int et_make(const char *base, const char *name, const char *vocab, const enc_genmodel_opts *o,
                          char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", base, name);
    zb_err e;
    if (enc_genmodel_write(out, vocab, o, &e)) {
        fprintf(stderr, "  gen-model %s: %s\n", name, e.msg);
        return -1;
    }
    return 0;
}

/* rm -r of a test folder (a mkdtemp name of ours, so quoting is safe). */
static inline void et_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "  could not remove %s\n", dir);
}

#endif
