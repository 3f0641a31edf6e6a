/* tok_regex: PCRE2-JIT runs a pattern only where it matches exactly as Oniguruma (HF's engine).
 * Proof by comparison: the same patterns on both engines over every code point in several
 * contexts, the parity corpus (tests/tokenizer/gen_corpus.js, when node is there) and hostile
 * lines; the span lists must be identical. Also: which patterns get PCRE2 and which stay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_comp.h"
#include "zb_test.h"

#define GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define LLAMA3                                                                                \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+" \
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Patterns the comparison runs on: HF's, and one per construct pcre2_equivalent() admits. */
static const char *const PATTERNS[] = {
    GPT2, LLAMA3, "\\s+", "\\p{N}", "[\\p{P}\\p{S}]+", "\\p{Lu}\\p{Ll}*|\\p{Lo}|\\p{Nd}+|\\p{M}+",
    "\\P{L}+?x|\\d{2,}|\\D", "(?:ab)*c|(?=\\p{Zs})\\s", "\\p{Lt}|\\p{Lm}|\\p{Nl}|\\p{No}|\\p{Mn}|\\p{Z}",
    "(?i:k|s|i|a)+", "[a-f0-9\\-]{1,3}", "\\S+|\\t|\\f|\\n\\r?",
};

typedef struct {
    size_t *v; /* [n][3]: start, end, is_match */
    size_t n, cap;
} spans;

static int push(void *ctx, size_t s, size_t e, int m)
{
    spans *sp = ctx;
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 256;
        sp->v = realloc(sp->v, sp->cap * 3 * sizeof *sp->v);
        if (!sp->v)
            abort();
    }
    sp->v[sp->n * 3] = s;
    sp->v[sp->n * 3 + 1] = e;
    sp->v[sp->n * 3 + 2] = (size_t)m;
    sp->n++;
    return 0;
}

/* 1 when both engines give the same spans for s (says where they part otherwise). */
static int same(const tok_regex *re, const char *pat, const char *s, size_t n)
{
    spans a = {0}, b = {0};
    ZT_CHECK_EQ_INT(tok_regex_spans_on(re, TOK_RE_ONIG, s, n, push, &a), 0);
    ZT_CHECK_EQ_INT(tok_regex_spans_on(re, TOK_RE_PCRE2, s, n, push, &b), 0);
    int ok = a.n == b.n && !memcmp(a.v, b.v, a.n * 3 * sizeof *a.v);
    if (!ok) {
        size_t i = 0;
        while (i < a.n && i < b.n && !memcmp(a.v + i * 3, b.v + i * 3, 3 * sizeof *a.v))
            i++;
        size_t at = i < a.n ? a.v[i * 3] : i < b.n ? b.v[i * 3] : n;
        fprintf(stderr, "  /%s/: engines differ at span %zu (byte %zu: \"%.16s\"): onig %zu spans, pcre2 %zu\n",
                pat, i, at, s + (at < n ? at : n), a.n, b.n);
    }
    free(a.v);
    free(b.v);
    return ok;
}

static tok_regex *compile(const char *pat)
{
    zb_err err;
    tok_regex *re = tok_regex_new(pat, strlen(pat), 0, "test", &err);
    if (!re)
        fprintf(stderr, "  /%s/: %s\n", pat, err.msg);
    return re;
}

static size_t put_utf8(char *o, unsigned c)
{
    if (c < 0x80)
        return o[0] = (char)c, 1;
    if (c < 0x800)
        return o[0] = (char)(0xC0 | c >> 6), o[1] = (char)(0x80 | (c & 63)), 2;
    if (c < 0x10000)
        return o[0] = (char)(0xE0 | c >> 12), o[1] = (char)(0x80 | (c >> 6 & 63)),
               o[2] = (char)(0x80 | (c & 63)), 3;
    return o[0] = (char)(0xF0 | c >> 18), o[1] = (char)(0x80 | (c >> 12 & 63)),
           o[2] = (char)(0x80 | (c >> 6 & 63)), o[3] = (char)(0x80 | (c & 63)), 4;
}

static void test_engine_choice(void)
{
    static const char *const pcre[] = {GPT2, LLAMA3, "\\s+", "(?i:'s|'t)", "a{2,3}?b"};
    static const char *const onig[] = {".", "^a", "a$", "\\w+", "\\b", "\\h", "\\v", "(?i:ss)",
                                       "(?i:st)", "(?i:fi)", "(?i:\\p{L})", "(?i)a", "a{,3}",
                                       "a++", "a{1,2}+", "[[:alpha:]]", "[a&&b]", "(?<=a)b",
                                       "\\p{Greek}", "\\x41", "(?i:é)", "[]a]"};
    for (size_t i = 0; i < sizeof pcre / sizeof *pcre; i++) {
        tok_regex *re = compile(pcre[i]);
        ZT_CHECK(re && tok_regex_engine(re) == TOK_RE_PCRE2);
        tok_regex_free(re);
    }
    for (size_t i = 0; i < sizeof onig / sizeof *onig; i++) {
        tok_regex *re = compile(onig[i]);
        if (re && tok_regex_engine(re) != TOK_RE_ONIG)
            fprintf(stderr, "  /%s/ should stay on Oniguruma\n", onig[i]);
        ZT_CHECK(re && tok_regex_engine(re) == TOK_RE_ONIG);
        tok_regex_free(re);
    }
    /* A literal pattern (HF's {"String": s}) is escaped, then decided like any other. */
    zb_err err;
    tok_regex *re = tok_regex_new("a.b(", 4, 1, "test", &err);
    ZT_CHECK(re && tok_regex_engine(re) == TOK_RE_PCRE2);
    tok_regex_free(re);
}

/* Every code point (no surrogates) alone and next to ' space letter digit CR LF, per chunk. */
static void test_every_code_point(void)
{
    static const char ctx[] = " 'a1\r\n";
    enum { CHUNK = 2048 };
    char *buf = malloc(CHUNK * (4 * 8 + 8));
    for (size_t p = 0; p < sizeof PATTERNS / sizeof *PATTERNS; p++) {
        tok_regex *re = compile(PATTERNS[p]);
        ZT_CHECK(re && tok_regex_engine(re) == TOK_RE_PCRE2);
        int ok = 1;
        /* under valgrind: the planes in use (BMP, SMP), not the empty ones */
        unsigned top = zt_under_valgrind() ? 0x20000 : 0x110000;
        for (unsigned lo = 1; re && ok && lo < top; lo += CHUNK) {
            size_t n = 0;
            for (unsigned c = lo; c < lo + CHUNK && c < 0x110000; c++) {
                if (c >= 0xD800 && c < 0xE000)
                    continue;
                n += put_utf8(buf + n, c);
                buf[n++] = ctx[c % 6];
                n += put_utf8(buf + n, c);
                n += put_utf8(buf + n, c);
                buf[n++] = ctx[(c / 6) % 6];
                buf[n++] = '\'';
                n += put_utf8(buf + n, c);
            }
            ok = same(re, PATTERNS[p], buf, n);
        }
        ZT_CHECK(ok);
        tok_regex_free(re);
    }
    free(buf);
}

/* The parity corpus, generated as test_bpe_parity does (node needed: else skipped aloud). */
static void test_corpus(void)
{
    char gen[4096], cmd[8192], dir[] = "/tmp/tok_regex_test.XXXXXX";
    zt_repo_path(gen, sizeof gen, "tests/tokenizer/gen_corpus.js");
    snprintf(cmd, sizeof cmd, "node '%s' '%s' '%s' >/dev/null 2>&1", gen, mkdtemp(dir), ZT_SHARED());
    if (system(cmd) != 0) {
        printf("  test_corpus: skipped: needs node and tests/tokenizer/gen_corpus.js\n");
        zt_cur_skipped = 1;
        return;
    }
    snprintf(cmd, sizeof cmd, "%s/single.txt", dir);
    FILE *f = fopen(cmd, "r");
    ZT_CHECK(f != NULL);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lines = 0, bad = 0;
    tok_regex *re[sizeof PATTERNS / sizeof *PATTERNS];
    for (size_t p = 0; p < sizeof PATTERNS / sizeof *PATTERNS; p++)
        re[p] = compile(PATTERNS[p]);
    while (f && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            len--;
        lines++;
        for (size_t p = 0; p < sizeof PATTERNS / sizeof *PATTERNS; p++)
            bad += re[p] && !same(re[p], PATTERNS[p], line, (size_t)len);
    }
    printf("  test_corpus: %d lines x %zu patterns, %d differ\n", lines, sizeof PATTERNS / sizeof *PATTERNS, bad);
    ZT_CHECK(lines > 1000);
    ZT_CHECK_EQ_INT(bad, 0);
    for (size_t p = 0; p < sizeof PATTERNS / sizeof *PATTERNS; p++)
        tok_regex_free(re[p]);
    free(line);
    if (f)
        fclose(f);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ZT_CHECK_EQ_INT(system(cmd), 0);
}

/* Long runs: 1M apostrophes, digits, spaces, CRLFs, apostrophes and digits, "'s". */
static void test_hostile(void)
{
    static const char *const unit[] = {"'", "7", " ", "\r\n", "'1", "'s", " \xC2\xA0", "a\xCC\x81"};
    size_t units = zt_under_valgrind() ? 100000 : 1000000, n = units * 3; /* units of <= 3 bytes */
    char *buf = malloc(n + 2);
    tok_regex *gpt2 = compile(GPT2), *llama3 = compile(LLAMA3);
    for (size_t u = 0; u < sizeof unit / sizeof *unit; u++) {
        size_t k = strlen(unit[u]), m = 0;
        while (m + k <= units * k && m + k <= n)
            memcpy(buf + m, unit[u], k), m += k;
        buf[m++] = 'x'; /* a different last char: look-ahead at the end of the run */
        ZT_CHECK(same(gpt2, "gpt2", buf, m));
        ZT_CHECK(same(llama3, "llama3", buf, m));
    }
    /* Invalid UTF-8 (a Replace decoder over byte pieces) runs on Oniguruma: still answers. */
    spans sp = {0};
    ZT_CHECK_EQ_INT(tok_regex_spans(gpt2, "a\xFF b", 4, push, &sp), 0);
    ZT_CHECK(sp.n >= 2);
    free(sp.v);
    tok_regex_free(gpt2);
    tok_regex_free(llama3);
    free(buf);
}

int main(void)
{
    ZT_RUN(test_engine_choice);
    ZT_RUN(test_every_code_point);
    ZT_RUN(test_corpus);
    ZT_RUN(test_hostile);
    return zt_done();
}
