/* tok_regex: Oniguruma regexes as HF tokenizers runs them (Split, Replace, ByteLevel's GPT-2
 * pattern): UTF-8, the Oniguruma syntax, no options; iteration as the Rust `onig` crate's
 * find_iter, match spans as HF's Pattern::find_matches.
 *
 * HF compiles these with Oniguruma (6.9.10 in tokenizers 0.23.2); Debian 12 ships 6.9.8, same
 * syntax and Unicode property tables up to the differences the parity corpus would show. A literal
 * pattern ({"String": s}) is escaped as Rust's regex::escape does, then compiled the same way.
 *
 * Thread safety: a compiled regex is read-only; each thread keeps its own match region. */
#include <oniguruma.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tok_comp.h"

struct tok_regex {
    OnigRegex re;
};

static pthread_once_t onig_once = PTHREAD_ONCE_INIT;
static void onig_start(void)
{
    OnigEncoding enc[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(enc, 1);
}

tok_regex *tok_regex_new(const char *pat, size_t len, int literal, const char *where, zb_err *err)
{
    pthread_once(&onig_once, onig_start);
    char *esc = NULL;
    if (literal) {
        /* regex::escape: a backslash before each regex meta character. */
        static const char meta[] = "\\.+*?()|[]{}^$#&-~";
        if (!(esc = malloc(len * 2 + 1))) {
            zb_fail(err, ZB_ENOMEM, "%s: out of memory", where);
            return NULL;
        }
        size_t k = 0;
        for (size_t i = 0; i < len; i++) {
            if (pat[i] && strchr(meta, pat[i]))
                esc[k++] = '\\';
            esc[k++] = pat[i];
        }
        pat = esc;
        len = k;
    }
    tok_regex *r = calloc(1, sizeof *r);
    OnigErrorInfo einfo;
    int rc = r ? onig_new(&r->re, (const OnigUChar *)pat, (const OnigUChar *)pat + len, ONIG_OPTION_NONE,
                          ONIG_ENCODING_UTF8, ONIG_SYNTAX_ONIGURUMA, &einfo)
               : ONIGERR_MEMORY;
    if (rc != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, rc, &einfo);
        zb_fail(err, rc == ONIGERR_MEMORY ? ZB_ENOMEM : ZB_EFORMAT, "%s: regex /%.60s/: %s", where,
                literal ? "(literal)" : pat, (const char *)msg);
        free(r);
        r = NULL;
    }
    free(esc);
    return r;
}

void tok_regex_free(tok_regex *re)
{
    if (re) {
        onig_free(re->re);
        free(re);
    }
}

/* One region per thread, reused: onig_search would otherwise allocate one per match. A thread
 * that ends frees its region (the key's destructor): trainers count on short-lived threads. */
static __thread OnigRegion *tl_region;
static pthread_key_t region_key;
static pthread_once_t region_once = PTHREAD_ONCE_INIT;
static void region_free(void *r) { onig_region_free(r, 1); }
static void region_key_init(void) { (void)pthread_key_create(&region_key, region_free); }

int tok_regex_spans(const tok_regex *re, const char *s, size_t n, tok_span_fn fn, void *ctx)
{
    if (!n)
        return fn(ctx, 0, 0, 0);
    if (!tl_region) {
        if (!(tl_region = onig_region_new()))
            return ZB_ENOMEM;
        pthread_once(&region_once, region_key_init);
        (void)pthread_setspecific(region_key, tl_region);
    }
    const OnigUChar *str = (const OnigUChar *)s, *end = str + n;
    size_t last_end = 0, prev = 0;
    long last_match_end = -1;
    int rc;
    while (last_end <= n) {
        /* The leftmost match from last_end, searching the whole subject (look-behind sees
         * earlier text). Tokenizer patterns match at almost every position, so first an anchored
         * onig_match at last_end: if it matches, that is exactly what onig_search would return
         * (the leftmost start is last_end, and the same backtracking order picks the match), at
         * a fraction of the cost. A runtime error (retry limit) ends the iteration like a
         * mismatch, as in the onig crate. */
        size_t ms, me;
        int r = onig_match(re->re, str, end, str + last_end, NULL, ONIG_OPTION_NONE);
        if (r >= 0) {
            ms = last_end;
            me = last_end + (size_t)r;
        } else {
            onig_region_clear(tl_region);
            r = onig_search(re->re, str, end, str + last_end, end, tl_region, ONIG_OPTION_NONE);
            if (r < 0)
                break;
            ms = (size_t)tl_region->beg[0];
            me = (size_t)tl_region->end[0];
        }
        if (ms == me && last_match_end == (long)me) {
            /* an empty match right after the previous match: step one char and search again */
            last_end += last_end < n ? (size_t)tok_utf8_len1((unsigned char)s[last_end]) : 1;
            continue;
        }
        last_end = me;
        last_match_end = (long)me;
        if (prev != ms && (rc = fn(ctx, prev, ms, 0)))
            return rc;
        if ((rc = fn(ctx, ms, me, 1)))
            return rc;
        prev = me;
    }
    return prev != n ? fn(ctx, prev, n, 0) : 0;
}
