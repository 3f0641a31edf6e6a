/* tok_regex: Oniguruma regexes as HF tokenizers runs them (Split, Replace, ByteLevel's GPT-2
 * pattern): UTF-8, the Oniguruma syntax, no options; iteration as the Rust `onig` crate's
 * find_iter, match spans as HF's Pattern::find_matches.
 *
 * HF compiles these with Oniguruma (6.9.10 in tokenizers 0.23.2); Debian 12 ships 6.9.8, same
 * syntax and Unicode property tables up to the differences the parity corpus would show. A literal
 * pattern ({"String": s}) is escaped as Rust's regex::escape does, then compiled the same way.
 *
 * Speed: Oniguruma allocates, copies and frees a backtrack stack on every match call (~70% of a
 * Llama-3 encode under callgrind). So a pattern made only of constructs whose meaning is the same
 * in PCRE2 (UTF + UCP) is also compiled there, JIT, and PCRE2 runs it; anything else stays on
 * Oniguruma (pcre2_equivalent() says which constructs and why; decided once, at load). If the JIT
 * reports a runtime error (its stack), that one step is redone with Oniguruma. tok_regex_test runs
 * both engines on the parity corpus, every code point and hostile lines, and requires equal spans.
 *
 * Thread safety: a compiled regex is read-only; each thread keeps its own match region / data. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <oniguruma.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok.h"
#include "tok_comp.h"

struct tok_regex {
    OnigRegex re;
    pcre2_code *pc; /* the same pattern for PCRE2; NULL: Oniguruma runs it */
    int jit;        /* pc is JIT-compiled (pcre2_jit_on at load) */
};

/* 1 when PCRE2 (UTF|UCP, JIT) gives the same matches as Oniguruma's syntax for pat: every token is
 * on this list, else 0. The list is what HF's files use (GPT-2 / Llama-3 / literal patterns), each
 * item checked against Oniguruma by tok_regex_test over all code points:
 *   literal chars (not . ^ $, which are line-sensitive in Oniguruma); \ + ASCII punctuation;
 *   \s \S (rewritten: ONIG_WS) \d \D \r \n \t \f (not \v \h \w \b: other meanings);
 *   \p{X} \P{X} for X in PROPS; [...] and [^...] of those and ranges (no nested [ or &&: set ops);
 *   ( (?: (?= (?! and (?i: over plain ASCII literals without ss st ff fi fl (Oniguruma folds
 *   those into one char: ß, ﬅ, ...; PCRE2 does not); | ); quantifiers * + ? {n} {n,} {n,m} and
 *   their lazy ? form (not possessive: Oniguruma reads {n,m}+ as a repeat of a repeat). */
static int pcre2_equivalent(const char *p, size_t n)
{
    static const char *const PROPS[] = {"L", "Lu", "Ll", "Lt", "Lm", "Lo", "N", "Nd", "Nl", "No",
                                        "P", "S", "M", "Mn", "Z", "Zs", NULL};
    int in_class = 0, caseless = 0, depth = 0, caseless_depth = -1, quantifiable = 0;
    char prev = 0; /* previous literal inside (?i:, for the multi-char fold pairs */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        int lit = 0;
        if (c == '\\') {
            if (++i >= n)
                return 0;
            c = (unsigned char)p[i];
            if (c == 'p' || c == 'P') {
                size_t j = i + 2;
                while (j < n && p[j] != '}')
                    j++;
                if (i + 1 >= n || p[i + 1] != '{' || j >= n)
                    return 0;
                int ok = 0;
                for (const char *const *q = PROPS; *q; q++)
                    ok |= strlen(*q) == j - i - 2 && !memcmp(*q, p + i + 2, j - i - 2);
                if (!ok || caseless)
                    return 0;
                i = j;
            } else if (strchr("sSdDrntf", c) && c) {
                if (caseless || (c == 'S' && in_class)) /* no complement inside a class */
                    return 0;
            } else if (c < 0x80 && ispunct(c)) {
                lit = 1;
            } else {
                return 0;
            }
            quantifiable = !in_class;
        } else if (in_class) {
            if (c == '[' || (c == '&' && i + 1 < n && p[i + 1] == '&'))
                return 0;
            if (c == ']')
                in_class = 0, quantifiable = 1;
        } else if (c == '[') {
            if (caseless)
                return 0;
            in_class = 1;
            if (i + 1 < n && p[i + 1] == '^')
                i++;
            if (i + 1 < n && p[i + 1] == ']') /* a leading ] is a literal in both: keep it simple */
                return 0;
        } else if (c == '(') {
            depth++;
            if (i + 1 < n && p[i + 1] == '?') {
                if (i + 2 < n && strchr(":=!", p[i + 2]) && p[i + 2])
                    i += 2;
                else if (i + 3 < n && p[i + 2] == 'i' && p[i + 3] == ':' && !caseless)
                    i += 3, caseless = 1, caseless_depth = depth;
                else
                    return 0;
            }
            quantifiable = 0;
        } else if (c == ')') {
            if (depth == caseless_depth)
                caseless = 0, caseless_depth = -1;
            if (--depth < 0)
                return 0;
            quantifiable = 1;
        } else if (c == '|') {
            quantifiable = 0;
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (!quantifiable)
                return 0;
            if (c == '{') {
                size_t j = i + 1, d1 = 0, d2 = 0;
                while (j < n && isdigit((unsigned char)p[j]))
                    j++, d1++;
                if (j < n && p[j] == ',')
                    for (j++; j < n && isdigit((unsigned char)p[j]); j++)
                        d2++;
                if (!d1 || j >= n || p[j] != '}')
                    return 0;
                (void)d2;
                i = j;
            }
            if (i + 1 < n && p[i + 1] == '?')
                i++;
            if (i + 1 < n && strchr("*+?{", p[i + 1]) && p[i + 1])
                return 0;
            quantifiable = 0;
        } else if (c == '.' || c == '^' || c == '$' || c == '}' || c == ']') {
            return 0;
        } else {
            lit = 1;
            quantifiable = 1;
        }
        if (caseless) {
            if (lit && (c >= 0x80 || (isalpha(c) && prev && strchr("sf", tolower(prev)) &&
                                      strchr(tolower(prev) == 's' ? "st" : "fil", tolower(c)))))
                return 0;
            prev = lit ? (char)c : 0;
        }
    }
    return !in_class && depth == 0;
}

/* Oniguruma's \s is Unicode's White_Space; PCRE2 10.42's (UCP) adds U+180E (a space before
 * Unicode 6.3). So \s becomes this class, \S its complement (tok_regex_test checks every code
 * point). */
#define ONIG_WS "\\t\\n\\x0B\\f\\r\\x20\\x85\\xA0\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

/* ZEMBED_PCRE2_JIT=0 runs PCRE2's interpreter instead of its JIT: same matches, slower. Valgrind
 * cannot see into JIT code (it loads ahead of the subject in wide words and reports each branch on
 * those bytes), so tests/run.sh's valgrind pass sets it; it is also an operator's escape hatch. */
static int pcre2_jit_on(void)
{
    const char *v = getenv("ZEMBED_PCRE2_JIT");
    return !(v && !strcmp(v, "0"));
}

/* The PCRE2 twin of pat (JIT-compiled unless pcre2_jit_on says no), or NULL (not equivalent, no
 * JIT, or compile error). */
static pcre2_code *pcre2_twin(const char *pat, size_t len)
{
    if (!pcre2_equivalent(pat, len))
        return NULL;
    char *x = malloc(len * sizeof ONIG_WS + 1), *o = x; /* each char a \s at most */
    if (!x)
        return NULL;
    for (size_t i = 0, in_class = 0; i < len; i++) {
        if (pat[i] == '\\' && (pat[i + 1] == 's' || pat[i + 1] == 'S')) {
            o += sprintf(o, in_class ? "%s" : pat[i + 1] == 's' ? "[%s]" : "[^%s]", ONIG_WS);
            i++;
            continue;
        }
        if (pat[i] == '\\') /* the escaped char is copied below, never read as [ or ] */
            *o++ = pat[i++];
        else if (pat[i] == '[' || pat[i] == ']') /* no nested [, no leading ]: the checker */
            in_class = pat[i] == '[';
        *o++ = pat[i];
    }
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *pc = pcre2_compile((PCRE2_SPTR)x, (size_t)(o - x), PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
    free(x);
    if (pc && pcre2_jit_on() && pcre2_jit_compile(pc, PCRE2_JIT_COMPLETE) != 0) {
        pcre2_code_free(pc);
        pc = NULL;
    }
    return pc;
}

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
    } else {
        r->pc = pcre2_twin(pat, len);
        r->jit = pcre2_jit_on();
    }
    free(esc);
    return r;
}

void tok_regex_free(tok_regex *re)
{
    if (re) {
        onig_free(re->re);
        pcre2_code_free(re->pc);
        free(re);
    }
}

/* One Oniguruma region and one PCRE2 match data per thread, reused: both engines would otherwise
 * allocate per match. A thread that ends frees them (the key's destructor): trainers count on
 * short-lived threads. */
struct tl_match {
    OnigRegion *region;
    pcre2_match_data *md;
};
static __thread struct tl_match *tl;
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;
static void tl_free(void *p)
{
    struct tl_match *m = p;
    onig_region_free(m->region, 1);
    pcre2_match_data_free(m->md);
    free(m);
}
static void tl_key_init(void) { (void)pthread_key_create(&tl_key, tl_free); }

static struct tl_match *tl_get(void)
{
    if (!tl) {
        struct tl_match *m = calloc(1, sizeof *m);
        if (!m || !(m->region = onig_region_new()) || !(m->md = pcre2_match_data_create(1, NULL))) {
            if (m)
                onig_region_free(m->region, 1);
            free(m);
            return NULL;
        }
        pthread_once(&tl_once, tl_key_init);
        (void)pthread_setspecific(tl_key, m);
        tl = m;
    }
    return tl;
}

/* The leftmost match at or after s[from], searching the whole subject (look-behind sees earlier
 * text): 1 and [*ms, *me), or 0 for none. A runtime error ends the iteration like a mismatch, as
 * in the onig crate. */
static int next_onig(const tok_regex *re, OnigRegion *region, const char *s, size_t n, size_t from,
                     size_t *ms, size_t *me)
{
    const OnigUChar *str = (const OnigUChar *)s, *end = str + n;
    /* Tokenizer patterns match at almost every position, so first an anchored onig_match at
     * from: if it matches, that is exactly what onig_search would return (the leftmost start is
     * from, and the same backtracking order picks the match), at a fraction of the cost. */
    int r = onig_match(re->re, str, end, str + from, NULL, ONIG_OPTION_NONE);
    if (r >= 0) {
        *ms = from;
        *me = from + (size_t)r;
        return 1;
    }
    onig_region_clear(region);
    if (onig_search(re->re, str, end, str + from, end, region, ONIG_OPTION_NONE) < 0)
        return 0;
    *ms = (size_t)region->beg[0];
    *me = (size_t)region->end[0];
    return 1;
}

static int next_pcre2(const tok_regex *re, struct tl_match *m, const char *s, size_t n, size_t from,
                      size_t *ms, size_t *me)
{
    /* The subject was checked once by the caller: the interpreter must not check it per call. */
    int r = re->jit ? pcre2_jit_match(re->pc, (PCRE2_SPTR)s, n, from, 0, m->md, NULL)
                    : pcre2_match(re->pc, (PCRE2_SPTR)s, n, from, PCRE2_NO_UTF_CHECK, m->md, NULL);
    if (r == PCRE2_ERROR_NOMATCH)
        return 0;
    if (r < 0) /* JIT stack exhausted: Oniguruma takes this step */
        return next_onig(re, m->region, s, n, from, ms, me);
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
    *ms = ov[0];
    *me = ov[1];
    return 1;
}

int tok_regex_engine(const tok_regex *re) { return re->pc ? TOK_RE_PCRE2 : TOK_RE_ONIG; }

int tok_regex_spans(const tok_regex *re, const char *s, size_t n, tok_span_fn fn, void *ctx)
{
    return tok_regex_spans_on(re, tok_regex_engine(re), s, n, fn, ctx);
}

int tok_regex_spans_on(const tok_regex *re, int engine, const char *s, size_t n, tok_span_fn fn,
                       void *ctx)
{
    if (!n)
        return fn(ctx, 0, 0, 0);
    struct tl_match *m = tl_get();
    if (!m)
        return ZB_ENOMEM;
    size_t bad;
    /* pcre2_jit_match trusts its subject to be UTF-8 (checking it per call would be quadratic):
     * the rare invalid one (a Replace decoder over byte-fallback pieces) goes to Oniguruma. */
    int pcre = engine == TOK_RE_PCRE2 && re->pc && tok_utf8_check(s, n, &bad) == 0;
    size_t last_end = 0, prev = 0;
    long last_match_end = -1;
    int rc;
    while (last_end <= n) {
        size_t ms, me;
        if (!(pcre ? next_pcre2(re, m, s, n, last_end, &ms, &me)
                   : next_onig(re, m->region, s, n, last_end, &ms, &me)))
            break;
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
