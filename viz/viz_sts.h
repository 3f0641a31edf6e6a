/* viz_sts: sentence pairs with a gold similarity from the STS Benchmark and SICK files.
 *
 * Layouts (tab separated; split on TABs only, never on quotes: sentences hold " and ,):
 *   - STS Benchmark as distributed (sts-train.csv, sts-dev.csv, sts-test.csv): no header; fields
 *     genre, file, year, id, score, sentence1, sentence2 [, sources ...]. One split per file.
 *   - sentence-transformers' stsbenchmark.tsv: a header naming split, score, sentence1, sentence2.
 *   - SICK (SICK.txt): a header naming sentence_A, sentence_B, relatedness_score, SemEval_set
 *     (TRAIN, TRIAL, TEST).
 * A header is recognised by its column names; rows are picked by split (case-insensitive) where
 * the file has a split column. */
#ifndef VIZ_STS_H
#define VIZ_STS_H

#include <stddef.h>
#include "zb_err.h"

typedef struct {
    int n;                 /* pairs */
    char **a, **b;         /* n sentences each (malloc'd) */
    double *gold;          /* n gold scores */
    char layout[24];       /* "stsbenchmark", "stsbenchmark-tsv" or "sick" */
    char split[16];        /* the split kept ("" when the file is one split) */
} viz_sts;

/* Parses text (len bytes; need not be NUL-terminated) read from name. split: NULL for the layout's
 * default (TEST for SICK, test for stsbenchmark.tsv), "all" for every row, else a split name; a
 * split on a one-split file is ZB_EINVAL. Errors name the file and the line. Empty result is
 * ZB_EFORMAT. */
int viz_sts_parse(const char *text, size_t len, const char *name, const char *split, viz_sts *out, zb_err *err);

/* viz_sts_parse on a file (at most 256 MiB). */
int viz_sts_load(const char *path, const char *split, viz_sts *out, zb_err *err);

void viz_sts_free(viz_sts *s);

#endif
