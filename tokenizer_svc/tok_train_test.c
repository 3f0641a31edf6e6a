/* Unit tests of the trainers (tok_train.h) on word tables written out by hand; expected results
 * are HF tokenizers 0.23's (experiments E1, E16 of ../shared/reference/hf-bpe-and-trainers.md)
 * or follow from its rules step by step. The corpus-level parity runs are tests/train/. */
#include <string.h>

#include "tok_train.h"
#include "zb_test.h"

typedef struct {
    const char *w;
    int64_t n;
} wc;

static tokt_words *words(const wc *list)
{
    tokt_words *w = tokt_words_new(NULL);
    for (; list->w; list++)
        ZT_CHECK_EQ_INT(tokt_words_add(w, list->w, strlen(list->w), list->n), 0);
    return w;
}

/* "tok tok ..." of every id (holes as "-") and "a b,a b" of the merges. */
static void check(const tokt_result *r, const char *want_vocab, const char *want_merges)
{
    char v[2048] = "", m[2048] = "";
    size_t o = 0;
    for (int i = 0; i < r->n_ids && o < sizeof v - 64; i++)
        o += (size_t)snprintf(v + o, sizeof v - o, "%s%s", i ? " " : "", r->tokens[i] ? r->tokens[i] : "-");
    o = 0;
    for (int i = 0; i < r->n_merges && o < sizeof m - 64; i++)
        o += (size_t)snprintf(m + o, sizeof m - o, "%s%s %s", i ? "," : "", r->tokens[r->merges[i][0]],
                              r->tokens[r->merges[i][1]]);
    if (strcmp(v, want_vocab))
        fprintf(stderr, "  vocab '%s', expected '%s'\n", v, want_vocab);
    if (want_merges && strcmp(m, want_merges))
        fprintf(stderr, "  merges '%s', expected '%s'\n", m, want_merges);
    ZT_CHECK(!strcmp(v, want_vocab));
    ZT_CHECK(!want_merges || !strcmp(m, want_merges));
}

static void train(const wc *list, const tokt_options *o, const char *vocab, const char *merges)
{
    tokt_words *w = words(list);
    tokt_result r;
    zb_err err;
    ZT_CHECK_EQ_INT(tokt_train(w, o, NULL, NULL, &r, &err), 0);
    check(&r, vocab, merges);
    tokt_result_free(&r);
    tokt_words_destroy(&w);
    ZT_CHECK(w == NULL);
}

/* E1: ties at equal counts go to the smaller pair of ids, not the smaller string. */
static void test_hf_e1_tie_by_ids(void)
{
    static const wc in[] = {{"zz", 5}, {"aa", 4}, {"zzq", 1}, {"aaq", 1}, {"\xC4\x8A", 11}, {0}};
    tokt_options o;
    tokt_options_default(&o, TOKT_BPE);
    train(in, &o, "a q z \xC4\x8A zz aa zzq aaq", "z z,a a,zz q,aa q");
    o.vocab_size = 6;                       /* a smaller run is the first merges of a larger one */
    train(in, &o, "a q z \xC4\x8A zz aa", "z z,a a");
    o.vocab_size = 30000;
    o.min_frequency = 2;                    /* the count-1 merges are below it */
    train(in, &o, "a q z \xC4\x8A zz aa", "z z,a a");
}

/* E16: overlapping occurrences count ("zzz" holds (z,z) twice). */
static void test_hf_e16_overlaps(void)
{
    static const wc in[] = {{"zzz", 1}, {"ab", 1}, {0}};
    tokt_options o;
    tokt_options_default(&o, TOKT_BPE);
    o.vocab_size = 4;
    train(in, &o, "a b z zz", "z z");
    o.vocab_size = 30000;                   /* then the ties at 1: pair (a,b) = (0,1) before (zz,z) = (3,2) */
    train(in, &o, "a b z zz ab zzz", "z z,a b,zz z");
}

/* Special tokens first (duplicates skipped); a special that is also a char keeps its id. */
static void test_specials(void)
{
    static const wc in[] = {{"ab", 3}, {0}};
    static const char *const sp[] = {"[UNK]", "a", "[UNK]", "<s>"};
    tokt_options o;
    tokt_options_default(&o, TOKT_BPE);
    o.special = sp;
    o.n_special = 4;
    train(in, &o, "[UNK] a <s> b ab", "a b");
}

/* A merge that rebuilds an existing string reuses its id and is still recorded. */
static void test_existing_string_reused(void)
{
    static const wc in[] = {{"ab", 3}, {0}};
    static const char *const sp[] = {"ab"};
    tokt_options o;
    tokt_options_default(&o, TOKT_BPE);
    o.special = sp;
    o.n_special = 1;
    train(in, &o, "ab a b", "a b");
}

/* limit_alphabet keeps the most frequent chars; at equal counts the lower code points. */
static void test_limit_alphabet(void)
{
    static const wc in[] = {{"abcd", 1}, {"dd", 1}, {0}};
    tokt_options o;
    tokt_options_default(&o, TOKT_BPE);
    o.limit_alphabet = 2;
    o.vocab_size = 2;
    train(in, &o, "a d", "");
    o.vocab_size = 30000;                   /* b, c dropped: "abcd" is "ad" to the merges */
    train(in, &o, "a d ad dd", "a d,d d");
}

/* WordPiece: "##" on every non-first char; decorated ids in byte order after the alphabet; the
 * prefix of the right part is dropped when merging. */
static void test_wordpiece_prefix(void)
{
    static const wc in[] = {{"hug", 10}, {"pug", 5}, {"bug", 1}, {0}};
    tokt_options o;
    tokt_options_default(&o, TOKT_WORDPIECE);
    train(in, &o, "b g h p u ##g ##u ##ug hug pug bug",
          "##u ##g,h ##ug,p ##ug,b ##ug");
}

/* end_of_word_suffix on the last char; the char level keeps the alphabet only. */
static void test_suffix_and_char(void)
{
    static const wc in[] = {{"ab", 2}, {"b", 1}, {"c", 1}, {0}};
    tokt_options o;
    tokt_options_default(&o, TOKT_BPE);
    o.suffix = "</w>";
    train(in, &o, "a b c b</w> c</w> ab</w>", "a b</w>");
    tokt_options_default(&o, TOKT_CHAR);
    o.vocab_size = 2;                       /* b (3) and a (2) beat c (1) */
    train(in, &o, "a b", "");
}

/* WordLevel: specials, then words by count desc and bytes asc; a repeat leaves a hole. */
static void test_wordlevel(void)
{
    static const wc in[] = {{"b", 2}, {"a", 2}, {"<s>", 1}, {"B", 2}, {"z", 0}, {0}};
    static const char *const sp[] = {"<s>", "[UNK]"};
    tokt_options o;
    tokt_options_default(&o, TOKT_WORDLEVEL);
    o.special = sp;
    o.n_special = 2;
    train(in, &o, "- [UNK] B a b <s> z", NULL);
    o.min_frequency = 1;
    o.vocab_size = 4;
    train(in, &o, "<s> [UNK] B a", NULL);
}

static void test_refusals(void)
{
    static const wc in[] = {{"ab", 1}, {0}};
    tokt_words *w = words(in);
    tokt_options o;
    tokt_result r;
    zb_err err;
    tokt_options_default(&o, TOKT_BPE);
    o.prefix = "";
    ZT_CHECK_EQ_INT(tokt_train(w, &o, NULL, NULL, &r, &err), ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "continuing_subword_prefix") != NULL);
    tokt_options_default(&o, TOKT_BPE);
    static const char *const sp[] = {""};
    o.special = sp;
    o.n_special = 1;
    ZT_CHECK_EQ_INT(tokt_train(w, &o, NULL, NULL, &r, &err), ZB_EINVAL);
    tokt_words_destroy(&w);
}

int main(void)
{
    ZT_RUN(test_hf_e1_tie_by_ids);
    ZT_RUN(test_hf_e16_overlaps);
    ZT_RUN(test_specials);
    ZT_RUN(test_existing_string_reused);
    ZT_RUN(test_limit_alphabet);
    ZT_RUN(test_wordpiece_prefix);
    ZT_RUN(test_suffix_and_char);
    ZT_RUN(test_wordlevel);
    ZT_RUN(test_refusals);
    return zt_done();
}
