/* Unit tests of the token groups (tok_group.h). */
#include <string.h>

#include "tok_group.h"
#include "zb_test.h"

static tok_group g(const char *s, int special, const char *prefix)
{
    return tok_token_group(s, strlen(s), special, prefix);
}

static void test_special(void)
{
    ZT_CHECK_EQ_INT(g("[CLS]", 0, NULL), TOK_GROUP_SPECIAL);
    ZT_CHECK_EQ_INT(g("[unused12]", 0, NULL), TOK_GROUP_SPECIAL);
    ZT_CHECK_EQ_INT(g("<s>", 1, NULL), TOK_GROUP_SPECIAL);      /* flagged by the tokenizer */
    ZT_CHECK_EQ_INT(g("<s>", 0, NULL), TOK_GROUP_OTHER);        /* not flagged: ordinary text */
    ZT_CHECK_EQ_INT(g("##x", 1, NULL), TOK_GROUP_SPECIAL);      /* the flag wins */
    ZT_CHECK_EQ_INT(g("[", 0, NULL), TOK_GROUP_OTHER);
    ZT_CHECK_EQ_INT(g("[]", 0, NULL), TOK_GROUP_OTHER);
    ZT_CHECK_EQ_INT(g("[x", 0, NULL), TOK_GROUP_OTHER);
}

static void test_continuation(void)
{
    ZT_CHECK_EQ_INT(g("##ing", 0, NULL), TOK_GROUP_CONTINUATION);
    ZT_CHECK_EQ_INT(g("##", 0, NULL), TOK_GROUP_OTHER);         /* the prefix alone */
    ZT_CHECK_EQ_INT(g("#", 0, NULL), TOK_GROUP_OTHER);
    ZT_CHECK_EQ_INT(g("@@ing", 0, "@@"), TOK_GROUP_CONTINUATION);
    ZT_CHECK_EQ_INT(g("##ing", 0, ""), TOK_GROUP_OTHER);        /* a model without prefix */
    ZT_CHECK_EQ_INT(g("##ing", 0, "@@"), TOK_GROUP_OTHER);
}

static void test_word_start(void)
{
    ZT_CHECK_EQ_INT(g("\xC4\xA0the", 0, NULL), TOK_GROUP_WORD_START);     /* Ġthe */
    ZT_CHECK_EQ_INT(g("\xC4\xA0", 0, NULL), TOK_GROUP_WORD_START);        /* Ġ alone: a space */
    ZT_CHECK_EQ_INT(g("\xE2\x96\x81the", 0, NULL), TOK_GROUP_WORD_START); /* ▁the */
    ZT_CHECK_EQ_INT(g("the\xC4\xA0", 0, NULL), TOK_GROUP_OTHER);
    ZT_CHECK_EQ_INT(g("\xC4", 0, NULL), TOK_GROUP_OTHER);                 /* half of Ġ */
    ZT_CHECK_EQ_INT(g("the", 0, NULL), TOK_GROUP_OTHER);
    ZT_CHECK_EQ_INT(g("", 0, NULL), TOK_GROUP_OTHER);
}

static void test_names(void)
{
    ZT_CHECK(!strcmp(tok_group_name(TOK_GROUP_SPECIAL), "special"));
    ZT_CHECK(!strcmp(tok_group_name(TOK_GROUP_CONTINUATION), "continuation"));
    ZT_CHECK(!strcmp(tok_group_name(TOK_GROUP_WORD_START), "word_start"));
    ZT_CHECK(!strcmp(tok_group_name(TOK_GROUP_OTHER), "other"));
}

/* A real BERT vocabulary (the repo's demo one): every id gets a group, and the well-known ones the expected group. */
static void test_bert_vocab(void)
{
    char dir[4096];
    zt_repo_path(dir, sizeof dir, ZT_DEMO_VOCAB_DIR);     /* bert-base-uncased's vocab.txt */
    zb_err err;
    tok_tokenizer *t = tok_load(dir, &err);
    ZT_CHECK(t != NULL);
    if (!t) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    int n[TOK_N_GROUPS] = {0};
    for (int32_t id = 0; id < tok_vocab_size(t); id++)
        n[tok_id_group(t, id)]++;
    ZT_CHECK_EQ_INT(tok_id_group(t, tok_token_to_id(t, "[CLS]", 5)), TOK_GROUP_SPECIAL);
    ZT_CHECK_EQ_INT(tok_id_group(t, tok_token_to_id(t, "##s", 3)), TOK_GROUP_CONTINUATION);
    ZT_CHECK_EQ_INT(tok_id_group(t, tok_token_to_id(t, "the", 3)), TOK_GROUP_OTHER);
    ZT_CHECK_EQ_INT(tok_id_group(t, -1), TOK_GROUP_OTHER);
    /* bert-base-uncased: 5 specials + 994 [unusedN]; 5828 "##" pieces */
    ZT_CHECK_EQ_INT(n[TOK_GROUP_SPECIAL], 999);
    ZT_CHECK_EQ_INT(n[TOK_GROUP_CONTINUATION], 5828);
    ZT_CHECK_EQ_INT(n[TOK_GROUP_WORD_START], 0);
    ZT_CHECK_EQ_INT(n[TOK_GROUP_SPECIAL] + n[TOK_GROUP_CONTINUATION] + n[TOK_GROUP_OTHER], 30522);
    tok_free(t);
}

int main(void)
{
    ZT_RUN(test_special);
    ZT_RUN(test_continuation);
    ZT_RUN(test_word_start);
    ZT_RUN(test_names);
    ZT_RUN(test_bert_vocab);
    return zt_done();
}
