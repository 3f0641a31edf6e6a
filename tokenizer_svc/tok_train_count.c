/* tok_train_count: corpus files -> word counts, as HF's train_from_files feeds its trainers: every
 * line keeps its "\n" ("\r\n"), goes through the tokenizer's normalizer and pre-tokenizer, and
 * every split is a word. Files are streamed in blocks cut at line ends (memory: the blocks in
 * flight plus the word tables, whatever the corpus size); worker threads split and count blocks
 * into tables of their own, merged at the end (counts add, so the order of blocks is irrelevant). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tok.h"
#include "tok_train.h"

#define BLOCK_BYTES ((size_t)1 << 20)

typedef struct {
    char   *buf;
    size_t  len;
    int64_t first_line;          /* 1-based number of the block's first line */
    int     file;
} block;

typedef struct {
    const tok_tokenizer *t;
    const char *const   *names;
    pthread_mutex_t      mu;
    pthread_cond_t       has_work, has_room;
    block               *q;      /* ring of pending blocks */
    int                  q_cap, q_head, q_n, done;
    int                  failed; /* set once; workers stop */
    zb_err               err;    /* the first failure */
} shared;

typedef struct {
    shared     *sh;
    tokt_words *words;
    tok_words   split;           /* one line's words (and the tokenizer's scratch) */
} worker;

static void fail_once(shared *sh, const zb_err *e)
{
    pthread_mutex_lock(&sh->mu);
    if (!sh->failed) {
        sh->failed = 1;
        sh->err = *e;
    }
    pthread_cond_broadcast(&sh->has_room);
    pthread_cond_broadcast(&sh->has_work);
    pthread_mutex_unlock(&sh->mu);
}

static int count_block(worker *wk, const block *b)
{
    const char *s = b->buf, *end = b->buf + b->len;
    int64_t line = b->first_line;
    zb_err e;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
        size_t bad;
        if (tok_utf8_check(s, len, &bad)) {
            zb_fail(&e, ZB_EUTF8, "%s line %lld: invalid UTF-8 at byte %zu", wk->sh->names[b->file],
                    (long long)line, bad);
            fail_once(wk->sh, &e);
            return -1;
        }
        int rc = tok_pretokenize(wk->sh->t, s, len, 0, &wk->split, &e);
        for (int k = 0; !rc && k < wk->split.n; k++) {
            const char *w = wk->split.buf + wk->split.words[k].off;
            size_t wl = wk->split.words[k].len;
            if (tokt_words_add(wk->words, w, wl, 1))
                rc = zb_fail(&e, ZB_ENOMEM, "out of memory counting words");
        }
        if (rc) {
            zb_wrap(&e, "%s line %lld: ", wk->sh->names[b->file], (long long)line);
            fail_once(wk->sh, &e);
            return -1;
        }
        s += len;
        line++;
    }
    return 0;
}

static void *work(void *arg)
{
    worker *wk = arg;
    shared *sh = wk->sh;
    for (;;) {
        pthread_mutex_lock(&sh->mu);
        while (!sh->q_n && !sh->done && !sh->failed)
            pthread_cond_wait(&sh->has_work, &sh->mu);
        if (sh->failed || !sh->q_n) {
            pthread_mutex_unlock(&sh->mu);
            return NULL;
        }
        block b = sh->q[sh->q_head];
        sh->q_head = (sh->q_head + 1) % sh->q_cap;
        sh->q_n--;
        pthread_cond_signal(&sh->has_room);
        pthread_mutex_unlock(&sh->mu);
        int rc = count_block(wk, &b);
        free(b.buf);
        if (rc)
            return NULL;
    }
}

/* Hand a block to the workers (waits while the queue is full). 0, or -1 once a worker failed. */
static int enqueue(shared *sh, block b)
{
    pthread_mutex_lock(&sh->mu);
    while (sh->q_n == sh->q_cap && !sh->failed)
        pthread_cond_wait(&sh->has_room, &sh->mu);
    if (sh->failed) {
        pthread_mutex_unlock(&sh->mu);
        free(b.buf);
        return -1;
    }
    sh->q[(sh->q_head + sh->q_n++) % sh->q_cap] = b;
    pthread_cond_signal(&sh->has_work);
    pthread_mutex_unlock(&sh->mu);
    return 0;
}

static int64_t count_lines(const char *s, size_t n)
{
    int64_t k = 0;
    for (const char *p = s; (p = memchr(p, '\n', n - (size_t)(p - s))); p++)
        k++;
    return k;
}

/* Read file i in blocks cut after a "\n" (a longer line makes a longer block). 0, a ZB_E* code
 * of its own, or 1 when a worker failed. */
static int read_file(shared *sh, int i, tokt_progress_fn cb, void *ctx, int64_t *done, int64_t total,
                     int64_t *lines, zb_err *err)
{
    FILE *f = fopen(sh->names[i], "rb");
    if (!f)
        return zb_fail(err, ZB_ENOTFOUND, "%s: cannot open", sh->names[i]);
    char *carry = NULL;
    size_t carry_len = 0;
    int64_t line = 1;
    int rc = 0;
    for (;;) {
        /* read at least as much as is carried, so a huge line costs O(length) copies */
        size_t want = carry_len > BLOCK_BYTES ? carry_len : BLOCK_BYTES;
        char *buf = malloc(carry_len + want);
        if (!buf) {
            rc = zb_fail(err, ZB_ENOMEM, "%s: out of memory reading", sh->names[i]);
            break;
        }
        if (carry_len)
            memcpy(buf, carry, carry_len);
        free(carry);
        carry = NULL;
        size_t got = fread(buf + carry_len, 1, want, f);
        if (ferror(f)) {
            free(buf);
            rc = zb_fail(err, ZB_EIO, "%s: read error", sh->names[i]);
            break;
        }
        size_t len = carry_len + got, cut = len;
        if (got) {                       /* keep the unfinished last line for the next block */
            char *nl = memrchr(buf, '\n', len);
            cut = nl ? (size_t)(nl - buf) + 1 : 0;
            carry_len = len - cut;
            if (carry_len) {
                if (!(carry = malloc(carry_len))) {
                    free(buf);
                    rc = zb_fail(err, ZB_ENOMEM, "%s: out of memory reading", sh->names[i]);
                    break;
                }
                memcpy(carry, buf + cut, carry_len);
            }
        } else {
            carry_len = 0;
        }
        *done += (int64_t)got;
        if (cb)
            cb(ctx, *done, total);
        if (!cut) {
            free(buf);
            if (!got)
                break;                   /* end of file, nothing left */
            continue;                    /* a line longer than what we have: read on */
        }
        int64_t n = count_lines(buf, cut) + (buf[cut - 1] != '\n');
        if (enqueue(sh, (block){buf, cut, line, i})) {
            rc = 1;                      /* a worker failed: its error is in sh->err */
            break;
        }
        line += n;
        *lines += n;
        if (!got)
            break;
    }
    free(carry);
    fclose(f);
    return rc;
}

int tokt_count_files(const tok_tokenizer *t, const char *const *files, int n_files, int threads,
                     tokt_progress_fn cb, void *ctx, tokt_words **out, int64_t *n_lines, zb_err *err)
{
    if (threads < 1)
        threads = 1;
    int64_t total = 0, done = 0;
    for (int i = 0; i < n_files; i++) {
        struct stat st;
        if (stat(files[i], &st) || !S_ISREG(st.st_mode))
            return zb_fail(err, ZB_ENOTFOUND, "%s: not a readable file", files[i]);
        total += st.st_size;
    }
    shared sh = {.t = t, .names = files, .q_cap = 2 * threads};
    worker *wk = calloc((size_t)threads, sizeof *wk);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    sh.q = calloc((size_t)sh.q_cap, sizeof *sh.q);
    *out = NULL;
    *n_lines = 0;
    if (!wk || !th || !sh.q) {
        free(wk);
        free(th);
        free(sh.q);
        return zb_fail(err, ZB_ENOMEM, "out of memory starting %d counting threads", threads);
    }
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.has_work, NULL);
    pthread_cond_init(&sh.has_room, NULL);
    int started = 0, rc = 0;
    for (; started < threads; started++) {
        wk[started].sh = &sh;
        tok_words_init(&wk[started].split);
        if (!(wk[started].words = tokt_words_new(err)) || pthread_create(&th[started], NULL, work, &wk[started])) {
            tokt_words_destroy(&wk[started].words);
            tok_words_free(&wk[started].split);
            rc = zb_fail(err, ZB_ENOMEM, "cannot start counting thread %d", started + 1);
            break;
        }
    }
    for (int i = 0; !rc && i < n_files; i++)
        rc = read_file(&sh, i, cb, ctx, &done, total, n_lines, err);
    pthread_mutex_lock(&sh.mu);
    sh.done = 1;
    if (rc && !sh.failed)
        sh.failed = 1;               /* the reader failed: workers stop */
    pthread_cond_broadcast(&sh.has_work);
    pthread_mutex_unlock(&sh.mu);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (int k = 0; k < sh.q_n; k++)
        free(sh.q[(sh.q_head + k) % sh.q_cap].buf);
    if (rc == 1 || (!rc && sh.failed)) {
        *err = sh.err;
        rc = sh.err.code ? sh.err.code : ZB_EINTERNAL;
    }
    /* merge into the largest table */
    int big = 0;
    for (int i = 1; i < started; i++)
        if (tokt_words_count(wk[i].words) > tokt_words_count(wk[big].words))
            big = i;
    for (int i = 0; i < started; i++) {
        if (!rc && i != big && tokt_words_merge(wk[big].words, wk[i].words))
            rc = zb_fail(err, ZB_ENOMEM, "out of memory merging the word counts");
        if (i != big)
            tokt_words_destroy(&wk[i].words);
        tok_words_free(&wk[i].split);
    }
    if (!rc && started)
        *out = wk[big].words;
    else if (started)
        tokt_words_destroy(&wk[big].words);
    pthread_mutex_destroy(&sh.mu);
    pthread_cond_destroy(&sh.has_work);
    pthread_cond_destroy(&sh.has_room);
    free(sh.q);
    free(wk);
    free(th);
    return rc;
}
