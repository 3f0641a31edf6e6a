/* tok_train_run: the whole of a training run, corpus files -> tokenizer folder, shared by
 * `zembed train-tokenizer` and `zembed tokstats` (bpe:N, wordpiece:N). The normalizer and
 * pre-tokenizer that split the corpus are loaded by the tokenizer library (tok_load_json) from
 * the very JSON the output file gets (tokt_pipeline_json), so counting and the written file
 * cannot disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tok.h"
#include "tok_load.h"
#include "tok_train.h"

tok_tokenizer *tokt_load_pipeline(const char *normalizer, const char *pretok, zb_err *err)
{
    if (tokt_check_names(normalizer, pretok, err))
        return NULL;
    char *json = tokt_pipeline_json(normalizer, pretok);
    if (!json) {
        zb_fail(err, ZB_ENOMEM, "out of memory");
        return NULL;
    }
    tok_tokenizer *t = tok_load_pipeline_json(json, strlen(json), "the training pipeline", err);
    free(json);
    return t;
}

static double since(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) + 1e-9 * (double)(b.tv_nsec - a->tv_nsec);
}

int tokt_train_files(const tokt_options *o, const char *normalizer, const char *pretok,
                     const char *const *files, int n_files, int threads, const char *out_dir,
                     const tokt_progress *pg, tokt_report *rep, zb_err *err)
{
    memset(rep, 0, sizeof *rep);
    int rc = tokt_check_names(normalizer, pretok, err);
    if (rc)
        return rc;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tokt_words *words = NULL;
    tokt_result r = {0};
    tok_tokenizer *pipe = tokt_load_pipeline(normalizer, pretok, err);
    if (!pipe)
        return err ? err->code : ZB_EIO;
    if (mkdir(out_dir, 0777) && access(out_dir, W_OK)) {
        rc = zb_fail(err, ZB_EIO, "%s: cannot create or write the folder", out_dir);
        goto out;
    }
    if ((rc = tokt_count_files(pipe, files, n_files, threads, pg ? pg->counting : NULL, pg ? pg->ctx : NULL,
                               &words, &rep->lines, err)))
        goto out;
    rep->count_s = since(&t0);
    if ((rc = tokt_train(words, o, pg ? pg->merging : NULL, pg ? pg->ctx : NULL, &r, err)))
        goto out;
    rep->train_s = since(&t0) - rep->count_s;
    if ((rc = tokt_write(out_dir, &r, o, normalizer, pretok, err)))
        goto out;
    rep->words_distinct = (int64_t)tokt_words_count(words);
    rep->words_total = tokt_words_total(words);
    rep->alphabet = r.n_alphabet;
    rep->specials = r.n_special;
    rep->merges = r.n_merges;
    rep->vocab = r.n_ids;
    rep->total_s = since(&t0);
out:
    tokt_result_free(&r);
    tokt_words_destroy(&words);
    tok_free(pipe);
    return rc;
}
