/* tok_group: vocabulary token groups (see tok_group.h). */
#include <assert.h>
#include <string.h>

#include "tok_bpe.h"
#include "tok_group.h"

/* UTF-8 of the word-start markers: U+0120 'Ġ' (GPT-2's byte-level space) and U+2581 '▁'
 * (SentencePiece / Metaspace). */
static const char *const WORD_START_MARKS[] = {"\xC4\xA0", "\xE2\x96\x81"};

static const char *const GROUP_NAMES[TOK_N_GROUPS] = {"special", "continuation", "word_start", "other"};

static int starts_with(const char *s, size_t len, const char *p, size_t plen)
{
    return plen <= len && !memcmp(s, p, plen);
}

tok_group tok_token_group(const char *tok, size_t len, int is_special, const char *cont_prefix)
{
    if (is_special)
        return TOK_GROUP_SPECIAL;
    /* "[X]" with something inside: a lone "[" or "[]" is punctuation. */
    if (len >= 3 && tok[0] == '[' && tok[len - 1] == ']')
        return TOK_GROUP_SPECIAL;
    if (!cont_prefix)
        cont_prefix = TOK_GROUP_DEFAULT_PREFIX;
    size_t plen = strlen(cont_prefix);
    if (plen && len > plen && starts_with(tok, len, cont_prefix, plen))
        return TOK_GROUP_CONTINUATION;
    for (size_t i = 0; i < sizeof WORD_START_MARKS / sizeof *WORD_START_MARKS; i++)
        if (starts_with(tok, len, WORD_START_MARKS[i], strlen(WORD_START_MARKS[i])))
            return TOK_GROUP_WORD_START;
    return TOK_GROUP_OTHER;
}

/* The loaded model's continuing-subword prefix: a BPE's own ("" when it has none), WordPiece's. */
static const char *model_prefix(const tok_tokenizer *t)
{
    if (t->gen && t->gen->model == TOK_M_BPE)
        return t->gen->bpe && t->gen->bpe->prefix ? t->gen->bpe->prefix : "";
    if (t->gen && t->gen->model != TOK_M_WORDPIECE)
        return "";
    return t->prefix;                     /* NULL: the default */
}

tok_group tok_id_group(const tok_tokenizer *t, int32_t id)
{
    const char *s = tok_id_to_token(t, id);
    if (!s)
        return TOK_GROUP_OTHER;
    return tok_token_group(s, strlen(s), tok_is_special_id(t, id), model_prefix(t));
}

const char *tok_group_name(tok_group g)
{
    assert(g >= 0 && g < TOK_N_GROUPS);
    return GROUP_NAMES[g];
}
