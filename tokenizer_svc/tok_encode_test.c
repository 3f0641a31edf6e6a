/* Unit tests of tok_encode / tok_pad / tok_decode on the real paraphrase-MiniLM-L6-v2 tokenizer
 * (shared folder). Expected values were checked against HF tokenizers 0.23.2 (Node binding). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok.h"
#include "zb_test.h"

static tok_tokenizer *tk;
static tok_encoding enc;

#define S(lit) lit, sizeof(lit) - 1

/* Encode (pair when b != NULL) with opt (NULL: defaults), return the rc. */
static int run(const char *a, size_t al, const char *b, size_t bl, const tok_options *opt, zb_err *err)
{
    tok_options o;
    if (!opt) {
        tok_options_default(tk, &o);
        opt = &o;
    }
    return tok_encode(tk, a, al, b, bl, opt, &enc, err);
}

/* "tok[s,e] tok[s,e] ..." of the last encoding. */
static const char *dump(void)
{
    static char buf[8192];
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < enc.n && o < sizeof buf - 128; i++) {
        const char *s = tok_id_to_token(tk, enc.ids[i]);
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s[%u,%u]", i ? " " : "", s ? s : "?",
                              enc.offsets[i].start, enc.offsets[i].end);
    }
    return buf;
}

static void expect(const char *text, size_t len, const char *want)
{
    zb_err err;
    zb_clear(&err);
    int rc = run(text, len, NULL, 0, NULL, &err);
    ZT_CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "  error: %s\n", err.msg);
    const char *got = dump();
    if (strcmp(got, want))
        fprintf(stderr, "  '%.*s':\n    got      %s\n    expected %s\n", (int)len, text, got, want);
    ZT_CHECK(!strcmp(got, want));
}

static void test_basic_and_empty(void)
{
    expect(S("Hello, world!"), "[CLS][0,0] hello[0,5] ,[5,6] world[7,12] ![12,13] [SEP][0,0]");
    expect(S(""), "[CLS][0,0] [SEP][0,0]");
    expect(S("   \t "), "[CLS][0,0] [SEP][0,0]");
    ZT_CHECK_EQ_INT(enc.n_before_truncation, 2);
    ZT_CHECK_EQ_INT(enc.type_ids[1], 0);
    ZT_CHECK_EQ_INT(enc.attention_mask[1], 1);
    ZT_CHECK_EQ_INT(enc.special[0], 1);
}

static void test_accents_and_offsets(void)
{
    /* precomposed and decomposed accents: stripped, offsets still cover the original chars */
    expect(S("Café déjà"), "[CLS][0,0] cafe[0,4] de[5,7] ##ja[7,9] [SEP][0,0]");
    expect(S("Cafe\xcc\x81!"), "[CLS][0,0] cafe[0,4] ![5,6] [SEP][0,0]");
    /* U+0130: NFD gives I + U+0307, the mark goes, then lowercase */
    expect(S("\xc4\xb0stanbul"), "[CLS][0,0] istanbul[0,8] [SEP][0,0]");
    /* canonical reordering moves U+1BAA (ccc 9) before U+0300 (ccc 230), but HF's alignments
     * stay positional, so after U+0300 is stripped the word ends at the mark's position */
    expect(S("k\xe1\xad\x84\xcc\x80\xe1\xae\xaa"), "[CLS][0,0] [UNK][0,3] [SEP][0,0]");
    /* Å -> A U+030A, then U+1BAA sorts before the ring but keeps its own position */
    expect(S("\xc3\x85\xe1\xae\xaa"), "[CLS][0,0] [UNK][0,2] [SEP][0,0]");
    /* U+16FF0 has ccc 6 since Unicode 13; HF's older NFD does not reorder by it */
    expect(S("x\xcc\x88\xf0\x96\xbf\xb0\xcc\x82"), "[CLS][0,0] [UNK][0,3] [SEP][0,0]");
    /* a word made only of combining marks disappears */
    expect(S("a \xcc\x81\xcc\x82 b"), "[CLS][0,0] a[0,1] b[5,6] [SEP][0,0]");
}

static void test_cjk(void)
{
    expect(S("\xe4\xb8\xad\xe6\x96\x87" "ab"), "[CLS][0,0] 中[0,1] 文[1,2] ab[2,4] [SEP][0,0]");
    /* U+20000 (above U+FFFF) is CJK: its own word; offsets count code points */
    expect(S("a\xf0\xa0\x80\x80" "b"), "[CLS][0,0] a[0,1] [UNK][1,2] b[2,3] [SEP][0,0]");
    /* U+2B820..U+2B91F is not in HF's CJK ranges (Google BERT's is): stays inside the word */
    expect(S("a\xf0\xab\xa0\xa0" "b"), "[CLS][0,0] [UNK][0,3] [SEP][0,0]");
    expect(S("a\xf0\xab\xa4\xa0" "b"), "[CLS][0,0] a[0,1] [UNK][1,2] b[2,3] [SEP][0,0]");
    /* compatibility ideograph U+F98E decomposes (NFD) to U+5E74 */
    expect(S("\xef\xa6\x8e"), "[CLS][0,0] 年[0,1] [SEP][0,0]");
}

static void test_controls_and_whitespace(void)
{
    /* controls (Cc), format chars (Cf: U+200B, U+00AD), U+FFFD and NUL are removed */
    expect(S("a\x01" "b\xe2\x80\x8b" "c\xc2\xad" "d\xef\xbf\xbd" "e"), "[CLS][0,0] abc[0,5] ##de[6,9] [SEP][0,0]");
    /* NBSP, U+2028, U+3000, U+2009 split words; U+0085 is Cc and removed */
    expect(S("a\xc2\xa0" "b\xe2\x80\xa8" "c\xe3\x80\x80" "d\xe2\x80\x89" "e\xc2\x85" "f"),
           "[CLS][0,0] a[0,1] b[2,3] c[4,5] d[6,7] e[8,9] ##f[10,11] [SEP][0,0]");
    /* private use (Co) is removed too; an unassigned code point (U+0378) is kept */
    expect(S("x\xee\x80\x80y"), "[CLS][0,0] x[0,1] ##y[2,3] [SEP][0,0]");
    expect(S("x\xcd\xb8y"), "[CLS][0,0] [UNK][0,3] [SEP][0,0]");
}

static void test_unicode_skew(void)
{
    /* U+061D (Po since Unicode 14) is not punctuation to HF (older tables): one word */
    expect(S("x\xd8\x9dy"), "[CLS][0,0] [UNK][0,3] [SEP][0,0]");
    /* U+166D was Po and is So now: HF still splits on it */
    expect(S("x\xe1\x99\xad" "y"), "[CLS][0,0] x[0,1] [UNK][1,2] y[2,3] [SEP][0,0]");
}

static void test_wordpiece_limits(void)
{
    char w[128];
    memset(w, 'a', sizeof w);
    zb_err err;
    ZT_CHECK_EQ_INT(run(w, 100, NULL, 0, NULL, &err), 0);
    ZT_CHECK(enc.n > 3);                           /* 100 chars: split into pieces */
    ZT_CHECK(enc.ids[1] != tok_special_id(tk, "unk"));
    ZT_CHECK_EQ_INT(enc.offsets[enc.n - 2].end, 100);
    ZT_CHECK_EQ_INT(run(w, 101, NULL, 0, NULL, &err), 0);
    ZT_CHECK_EQ_INT(enc.n, 3);                     /* 101 chars: one [UNK] for the whole word */
    ZT_CHECK_EQ_INT(enc.ids[1], tok_special_id(tk, "unk"));
    ZT_CHECK_EQ_INT(enc.offsets[1].end, 101);
    /* a piece that matches nothing makes the whole word [UNK] */
    expect(S("abc\xe2\x98\x83" "def ok"), "[CLS][0,0] [UNK][0,7] ok[8,10] [SEP][0,0]");
    expect(S("unaffable"), "[CLS][0,0] una[0,3] ##ffa[3,6] ##ble[6,9] [SEP][0,0]");
}

static void test_special_tokens_in_text(void)
{
    expect(S("[CLS] hi[SEP]x[MASK]"), "[CLS][0,0] [CLS][0,5] hi[6,8] [SEP][8,13] x[13,14] [MASK][14,20] [SEP][0,0]");
    /* matched against the raw text: case matters */
    expect(S("[cls]"), "[CLS][0,0] [[0,1] cl[1,3] ##s[3,4] ][4,5] [SEP][0,0]");
}

static void test_pairs_and_truncation(void)
{
    tok_options o;
    zb_err err;
    tok_options_default(tk, &o);
    ZT_CHECK_EQ_INT(run(S("one two"), S("three"), &o, &err), 0);
    ZT_CHECK(!strcmp(dump(), "[CLS][0,0] one[0,3] two[4,7] [SEP][0,0] three[0,5] [SEP][0,0]"));
    int want_types[] = {0, 0, 0, 0, 1, 1};
    for (int i = 0; i < 6; i++)
        ZT_CHECK_EQ_INT(enc.type_ids[i], want_types[i]);

    const char *a = "a b c d e f g h", *b = "i j k";   /* 8 and 3 tokens */
    o.max_length = 9;                                  /* 6 for the texts */
    ZT_CHECK_EQ_INT(run(a, strlen(a), b, strlen(b), &o, &err), 0);
    ZT_CHECK(!strcmp(dump(), "[CLS][0,0] a[0,1] b[2,3] c[4,5] [SEP][0,0] i[0,1] j[2,3] k[4,5] [SEP][0,0]"));
    ZT_CHECK_EQ_INT(enc.n_before_truncation, 14);
    o.direction = TOK_LEFT;
    ZT_CHECK_EQ_INT(run(a, strlen(a), b, strlen(b), &o, &err), 0);
    ZT_CHECK(!strcmp(dump(), "[CLS][0,0] f[10,11] g[12,13] h[14,15] [SEP][0,0] i[0,1] j[2,3] k[4,5] [SEP][0,0]"));
    o.direction = TOK_RIGHT;
    o.strategy = TOK_ONLY_SECOND;                      /* the second is too short to remove 5 */
    ZT_CHECK_EQ_INT(run(a, strlen(a), b, strlen(b), &o, &err), ZB_ETOOLONG);
    o.strategy = TOK_ONLY_FIRST;
    ZT_CHECK_EQ_INT(run(a, strlen(a), b, strlen(b), &o, &err), 0);
    ZT_CHECK(!strcmp(dump(), "[CLS][0,0] a[0,1] b[2,3] c[4,5] [SEP][0,0] i[0,1] j[2,3] k[4,5] [SEP][0,0]"));
    o.strategy = TOK_ONLY_SECOND;
    ZT_CHECK_EQ_INT(run(a, strlen(a), NULL, 0, &o, &err), ZB_EINVAL);

    /* longest_first with both long: HF 0.23's partial lengths decide who keeps the odd token */
    o.strategy = TOK_LONGEST_FIRST;
    o.max_length = 8;                                  /* 5 for the texts */
    const char *c = "a b c d e f g h i j", *d = "k l m n o p q";
    ZT_CHECK_EQ_INT(run(c, strlen(c), d, strlen(d), &o, &err), 0);
    ZT_CHECK(!strcmp(dump(), "[CLS][0,0] a[0,1] b[2,3] c[4,5] [SEP][0,0] k[0,1] l[2,3] [SEP][0,0]"));

    /* single text */
    tok_options_default(tk, &o);
    o.max_length = 4;
    ZT_CHECK_EQ_INT(run(a, strlen(a), NULL, 0, &o, &err), 0);
    ZT_CHECK(!strcmp(dump(), "[CLS][0,0] a[0,1] b[2,3] [SEP][0,0]"));
    o.direction = TOK_LEFT;
    ZT_CHECK_EQ_INT(run(a, strlen(a), NULL, 0, &o, &err), 0);
    ZT_CHECK(!strcmp(dump(), "[CLS][0,0] g[12,13] h[14,15] [SEP][0,0]"));
    o.truncate = 0;
    ZT_CHECK_EQ_INT(run(a, strlen(a), NULL, 0, &o, &err), ZB_ETOOLONG);
    ZT_CHECK(strstr(err.msg, "10 tokens") && strstr(err.msg, "max_length 4"));
    o.truncate = 1;
    o.max_length = 1;                                  /* no room for [CLS] [SEP] */
    ZT_CHECK_EQ_INT(run(a, strlen(a), NULL, 0, &o, &err), ZB_EINVAL);
    o.max_length = 2;
    ZT_CHECK_EQ_INT(run(a, strlen(a), NULL, 0, &o, &err), 0);
    ZT_CHECK_EQ_INT(enc.n, 2);

    tok_options_default(tk, &o);
    o.add_special_tokens = 0;
    ZT_CHECK_EQ_INT(run(S("x y"), S("z"), &o, &err), 0);
    ZT_CHECK(!strcmp(dump(), "x[0,1] y[2,3] z[0,1]"));
    ZT_CHECK_EQ_INT(enc.type_ids[2], 1);
}

static void test_invalid_utf8(void)
{
    zb_err err;
    tok_options o;
    tok_options_default(tk, &o);
    ZT_CHECK_EQ_INT(run(S("abc\xff" "d"), NULL, 0, &o, &err), ZB_EUTF8);
    ZT_CHECK(strstr(err.msg, "byte 3") != NULL);
    ZT_CHECK_EQ_INT(run(S("ok"), S("x\xc3"), &o, &err), ZB_EUTF8);
    ZT_CHECK(strstr(err.msg, "second text") && strstr(err.msg, "byte 1"));
    ZT_CHECK_EQ_INT(run(S("\xed\xa0\x80"), NULL, 0, &o, &err), ZB_EUTF8);   /* surrogate */
    ZT_CHECK_EQ_INT(run(S("\xc0\xaf"), NULL, 0, &o, &err), ZB_EUTF8);       /* overlong */
    size_t bad = 0;
    ZT_CHECK_EQ_INT(tok_utf8_check(S("\xe2\x82\xac ok \xf4\x90\x80\x80"), &bad), ZB_EUTF8);
    ZT_CHECK_EQ_INT(bad, 7);
    ZT_CHECK_EQ_INT(tok_utf8_check(S("\xf0\x9f\x98\x80"), &bad), 0);

    /* lossy: one U+FFFD per maximal ill-formed subpart; clean_text then drops U+FFFD, and the
     * offsets count each U+FFFD as one code point */
    o.lossy_utf8 = 1;
    ZT_CHECK_EQ_INT(run(S("\xff\xfe" "ab"), NULL, 0, &o, &err), 0);
    ZT_CHECK(!strcmp(dump(), "[CLS][0,0] ab[2,4] [SEP][0,0]"));
    ZT_CHECK_EQ_INT(run(S("\xe2\x82" "ab"), NULL, 0, &o, &err), 0);         /* E2 82: one prefix */
    ZT_CHECK(!strcmp(dump(), "[CLS][0,0] ab[1,3] [SEP][0,0]"));
    ZT_CHECK_EQ_INT(run(S("\xf0\x80" "ab"), NULL, 0, &o, &err), 0);         /* F0 80: two */
    ZT_CHECK(!strcmp(dump(), "[CLS][0,0] ab[2,4] [SEP][0,0]"));
}

static void test_pad(void)
{
    tok_encoding e[2];
    tok_options o;
    zb_err err;
    tok_options_default(tk, &o);
    tok_encoding_init(&e[0]);
    tok_encoding_init(&e[1]);
    ZT_CHECK_EQ_INT(tok_encode(tk, S("a b c"), NULL, 0, &o, &e[0], &err), 0);
    ZT_CHECK_EQ_INT(tok_encode(tk, S("a"), NULL, 0, &o, &e[1], &err), 0);
    ZT_CHECK_EQ_INT(tok_pad(tk, e, 2, 0, 0, &err), 0);                       /* longest: 5 */
    ZT_CHECK_EQ_INT(e[1].n, 5);
    ZT_CHECK_EQ_INT(e[1].ids[4], tok_special_id(tk, "pad"));
    ZT_CHECK_EQ_INT(e[1].attention_mask[3], 0);
    ZT_CHECK_EQ_INT(e[1].attention_mask[2], 1);
    ZT_CHECK_EQ_INT(e[1].special[3], 1);
    ZT_CHECK_EQ_INT(tok_pad(tk, e, 2, 0, 4, &err), 0);                       /* multiple of 4: 8 */
    ZT_CHECK_EQ_INT(e[0].n, 8);
    ZT_CHECK_EQ_INT(e[1].n, 8);
    ZT_CHECK_EQ_INT(tok_pad(tk, e, 2, 10, 0, &err), 0);                      /* fixed */
    ZT_CHECK_EQ_INT(e[0].n, 10);
    ZT_CHECK_EQ_INT(e[0].offsets[9].end, 0);
    ZT_CHECK_EQ_INT(tok_pad(tk, e, 2, -1, 0, &err), ZB_EINVAL);
    tok_encoding_free(&e[0]);
    tok_encoding_free(&e[1]);
}

static void test_decode_and_lookup(void)
{
    zb_err err;
    char *s = NULL;
    ZT_CHECK_EQ_INT(run(S("Hello, world! Don't un-affable it's x ."), NULL, 0, NULL, &err), 0);
    ZT_CHECK_EQ_INT(tok_decode(tk, enc.ids, enc.n, 1, &s, &err), 0);
    ZT_CHECK(s && !strcmp(s, "hello, world! don ' t un - affable it ' s x."));
    if (s && strcmp(s, "hello, world! don ' t un - affable it ' s x."))
        fprintf(stderr, "  decoded '%s'\n", s);
    free(s);
    ZT_CHECK_EQ_INT(tok_decode(tk, enc.ids, 3, 0, &s, &err), 0);
    ZT_CHECK(s && !strcmp(s, "[CLS] hello,"));
    free(s);
    int32_t bad[] = {101, 999999};
    ZT_CHECK_EQ_INT(tok_decode(tk, bad, 2, 1, &s, &err), ZB_ERANGE);
    ZT_CHECK(strstr(err.msg, "ids[1]") != NULL);

    ZT_CHECK_EQ_INT(tok_vocab_size(tk), 30522);
    ZT_CHECK(!strcmp(tok_id_to_token(tk, 101), "[CLS]"));
    ZT_CHECK(tok_id_to_token(tk, 30522) == NULL && tok_id_to_token(tk, -1) == NULL);
    ZT_CHECK_EQ_INT(tok_token_to_id(tk, S("##ing")), 2075);
    ZT_CHECK_EQ_INT(tok_token_to_id(tk, S("no-such-token")), -1);
    ZT_CHECK_EQ_INT(tok_special_id(tk, "cls"), 101);
    ZT_CHECK_EQ_INT(tok_special_id(tk, "sep"), 102);
    ZT_CHECK_EQ_INT(tok_special_id(tk, "pad"), 0);
    ZT_CHECK_EQ_INT(tok_special_id(tk, "unk"), 100);
    ZT_CHECK_EQ_INT(tok_special_id(tk, "mask"), 103);
    ZT_CHECK_EQ_INT(tok_max_length(tk), 512);
    int specials = 0, named = 0;
    for (int32_t id = 0; id < tok_vocab_size(tk); id++) {
        specials += tok_is_special_id(tk, id);
        named += tok_id_to_token(tk, id) != NULL;
    }
    ZT_CHECK_EQ_INT(specials, 5);                      /* [PAD] [UNK] [CLS] [SEP] [MASK] */
    ZT_CHECK_EQ_INT(named, 30522);
    ZT_CHECK(!tok_is_special_id(tk, 2075) && !tok_is_special_id(tk, -1) && !tok_is_special_id(tk, 30522));
}

/* Bounded work on hostile inputs: a long line without spaces, many combining marks, many CJK. */
static void test_long_inputs(void)
{
    size_t n = getenv("ZEMBED_VALGRIND") ? 20000 : 1000000;
    char *buf = malloc(n * 3);
    zb_err err;
    memset(buf, 'a', n);
    ZT_CHECK_EQ_INT(run(buf, n, NULL, 0, NULL, &err), 0);
    ZT_CHECK_EQ_INT(enc.n_before_truncation, 3);
    for (size_t i = 0; i < n; i++) { buf[2 * i] = (char)0xcc; buf[2 * i + 1] = (char)0x81; }
    ZT_CHECK_EQ_INT(run(buf, 2 * n, NULL, 0, NULL, &err), 0);
    ZT_CHECK_EQ_INT(enc.n_before_truncation, 2);
    for (size_t i = 0; i < n; i++) { buf[3 * i] = (char)0xe4; buf[3 * i + 1] = (char)0xb8; buf[3 * i + 2] = (char)0xad; }
    ZT_CHECK_EQ_INT(run(buf, 3 * n, NULL, 0, NULL, &err), 0);
    ZT_CHECK_EQ_INT(enc.n_before_truncation, (long)n + 2);
    ZT_CHECK_EQ_INT(enc.n, 512);
    free(buf);
}

/* One loaded tokenizer, several threads each with its own encoding: same results as alone. */
static const char *const mt_texts[] = {"Hello, world!", "Café déjà vu 中文 İstanbul", "[CLS] x [MASK]",
                                       "unaffable pneumonoultramicroscopic", "a\u2028b\u0301"};
#define MT_N (sizeof mt_texts / sizeof *mt_texts)
static int32_t mt_want[MT_N][64];
static int mt_want_n[MT_N];

static void *mt_worker(void *arg)
{
    long bad = 0;
    tok_encoding e;
    tok_options o;
    zb_err err;
    tok_encoding_init(&e);
    tok_options_default(tk, &o);
    for (int r = 0; r < 2000; r++) {
        size_t k = (size_t)(r + (long)(intptr_t)arg) % MT_N;
        if (tok_encode(tk, mt_texts[k], strlen(mt_texts[k]), NULL, 0, &o, &e, &err) || e.n != mt_want_n[k] ||
            memcmp(e.ids, mt_want[k], (size_t)e.n * sizeof *e.ids))
            bad++;
    }
    tok_encoding_free(&e);
    return (void *)(intptr_t)bad;
}

static void test_threads(void)
{
    zb_err err;
    for (size_t k = 0; k < MT_N; k++) {
        ZT_CHECK_EQ_INT(run(mt_texts[k], strlen(mt_texts[k]), NULL, 0, NULL, &err), 0);
        ZT_CHECK(enc.n <= 64);
        mt_want_n[k] = enc.n;
        memcpy(mt_want[k], enc.ids, (size_t)enc.n * sizeof *enc.ids);
    }
    pthread_t th[4];
    for (long i = 0; i < 4; i++)
        ZT_CHECK_EQ_INT(pthread_create(&th[i], NULL, mt_worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        ZT_CHECK_EQ_INT((intptr_t)bad, 0);
    }
}

int main(void)
{
    char dir[4096];
    zt_repo_path(dir, sizeof dir, ZT_DEMO_VOCAB_DIR);     /* bert-base-uncased's vocab.txt */
    zb_err err;
    tk = tok_load(dir, &err);
    if (!tk) {
        fprintf(stderr, "cannot load %s: %s\n", dir, err.msg);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    tok_encoding_init(&enc);
    ZT_RUN(test_basic_and_empty);
    ZT_RUN(test_accents_and_offsets);
    ZT_RUN(test_cjk);
    ZT_RUN(test_controls_and_whitespace);
    ZT_RUN(test_unicode_skew);
    ZT_RUN(test_wordpiece_limits);
    ZT_RUN(test_special_tokens_in_text);
    ZT_RUN(test_pairs_and_truncation);
    ZT_RUN(test_invalid_utf8);
    ZT_RUN(test_pad);
    ZT_RUN(test_decode_and_lookup);
    ZT_RUN(test_long_inputs);
    ZT_RUN(test_threads);
    tok_encoding_free(&enc);
    tok_free(tk);
    return zt_done();
}
