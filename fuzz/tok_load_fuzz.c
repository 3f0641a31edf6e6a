/* libFuzzer target: tok_load on a fuzzed tokenizer folder, then tok_encode with what it loaded.
 * Input: the main file, a NUL byte, tokenizer_config.json, a NUL byte, sentence_bert_config.json
 * (missing parts: no such file). The main file is tokenizer.json when it starts with '{' (after
 * blanks), else vocab.txt: both loaders get fuzzed. A loaded tokenizer must encode sample texts
 * with every id inside its vocabulary and every length within its max_length. */
#include <stdint.h>
#include <string.h>

#include "fuzz_tok.h"

static const char *const SAMPLES[] = {
    "Hello, world! How are you?", "unaffable tokenization", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",
    "[CLS] x [MASK] <new> ## e", "", "bad \xff utf-8",
};

static void exercise(const tok_tokenizer *t)
{
    FUZZ_ASSERT(tok_vocab_size(t) >= 0);   /* HF loads an empty BPE / WordLevel vocabulary too */
    FUZZ_ASSERT(tok_max_length(t) >= 1);
    static const char *const SPECIAL[] = { "cls", "sep", "pad", "unk", "mask" };
    for (size_t i = 0; i < sizeof SPECIAL / sizeof SPECIAL[0]; i++) {
        int32_t id = tok_special_id(t, SPECIAL[i]);
        FUZZ_ASSERT(id >= -1 && id < tok_vocab_size(t));
    }
    int vocab = tok_vocab_size(t);
    for (int32_t id = 0; id < vocab && id < 64; id++) {
        const char *s = tok_id_to_token(t, id);
        if (s)
            FUZZ_ASSERT(tok_token_to_id(t, s, strlen(s)) >= 0);
    }
    FUZZ_ASSERT(tok_id_to_token(t, -1) == NULL && tok_id_to_token(t, vocab) == NULL);

    tok_encoding e[2];
    tok_encoding_init(&e[0]);
    tok_encoding_init(&e[1]);
    size_t n = sizeof SAMPLES / sizeof SAMPLES[0];
    for (size_t i = 0; i < n; i++) {
        for (int lossy = 0; lossy < 2; lossy++) {
            tok_options opt;
            tok_options_default(t, &opt);
            opt.lossy_utf8 = lossy;
            const char *a = SAMPLES[i], *b = SAMPLES[(i + 1) % n];
            zb_err err;
            zb_clear(&err);
            int rc = tok_encode(t, a, strlen(a), NULL, 0, &opt, &e[0], &err);
            fuzz_check_err(rc, &err);
            if (rc == ZB_OK)
                fuzz_check_encoding(t, &e[0], &opt, a, strlen(a), NULL, 0, 0);
            rc = tok_encode(t, a, strlen(a), b, strlen(b), &opt, &e[1], &err);
            fuzz_check_err(rc, &err);
            if (rc == ZB_OK) {
                fuzz_check_encoding(t, &e[1], &opt, a, strlen(a), b, strlen(b), 0);
                if (e[0].n >= 0 && tok_encode(t, a, strlen(a), NULL, 0, &opt, &e[0], &err) == ZB_OK) {
                    rc = tok_pad(t, e, 2, 0, 8, &err);
                    fuzz_check_err(rc, &err);
                    if (rc == ZB_OK) {
                        FUZZ_ASSERT(e[0].n == e[1].n && e[0].n % 8 == 0);
                        for (int k = 0; k < e[0].n; k++)
                            FUZZ_ASSERT(e[0].ids[k] >= 0 && e[0].ids[k] < vocab);
                    }
                }
            }
        }
    }
    tok_encoding_free(&e[0]);
    tok_encoding_free(&e[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[3] = { data, NULL, NULL };
    size_t len[3] = { size, 0, 0 };
    for (int k = 1; k < 3; k++) {
        const uint8_t *nul = memchr(part[k - 1], 0, len[k - 1]);
        if (!nul)
            break;
        part[k] = nul + 1;
        len[k] = len[k - 1] - (size_t)(part[k] - part[k - 1]);
        len[k - 1] = (size_t)(nul - part[k - 1]);
    }
    size_t skip = 0;
    while (skip < len[0] && strchr(" \t\r\n", part[0][skip]))
        skip++;
    int is_json = skip < len[0] && part[0][skip] == '{';
    fuzz_put("tokenizer.json", is_json ? part[0] : NULL, len[0]);
    fuzz_put("vocab.txt", is_json ? NULL : part[0], len[0]);
    fuzz_put("tokenizer_config.json", part[1], len[1]);
    fuzz_put("sentence_bert_config.json", part[2], len[2]);

    zb_err err;
    zb_clear(&err);
    tok_tokenizer *t = tok_load(fuzz_dir(), &err);
    if (!t) {
        FUZZ_ASSERT(err.code < 0);
        fuzz_check_err(err.code, &err);
        return 0;
    }
    exercise(t);
    tok_free(t);
    return 0;
}
