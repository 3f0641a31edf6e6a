/* libFuzzer target: tok_encode on arbitrary bytes with the real paraphrase-MiniLM-L6-v2 tokenizer:
 * single texts and pairs, every truncation strategy and direction, lossy and strict UTF-8, with and
 * without special tokens, small max_length values.
 *
 * Input: byte 0 = flags (bits 0-1 strategy, 2 left, 3 lossy, 4 pair, 5 no specials, 6 no truncation),
 * byte 1 = max_length (0: the model's 128), byte 2 = where a pair splits the rest, then the text.
 * The tokenizer comes from $ZEMBED_FUZZ_MODEL, else $ZEMBED_SHARED/models/paraphrase-MiniLM-L6-v2,
 * else ../shared/models/..., else the vocabulary shipped in deploy/demo. */
#include <stdint.h>
#include <string.h>

#include "fuzz_tok.h"

static tok_tokenizer *g_tok;
static tok_encoding g_enc;     /* reused across inputs, as a worker reuses it across requests */

static tok_tokenizer *load_tokenizer(void)
{
    char shared[512];
    const char *env = getenv("ZEMBED_SHARED");
    snprintf(shared, sizeof shared, "%s/models/paraphrase-MiniLM-L6-v2", env && *env ? env : "../shared");
    const char *dirs[] = { getenv("ZEMBED_FUZZ_MODEL"), shared, "deploy/demo" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        zb_err err;
        tok_tokenizer *t = tok_load(dirs[i], &err);
        if (t) {
            fprintf(stderr, "tok_text_fuzz: tokenizer from %s\n", dirs[i]);
            return t;
        }
        fprintf(stderr, "tok_text_fuzz: %s\n", err.msg);
    }
    fprintf(stderr, "tok_text_fuzz: no tokenizer; set ZEMBED_FUZZ_MODEL\n");
    abort();
}

static void cleanup(void)
{
    tok_encoding_free(&g_enc);
    tok_free(g_tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_tok) {
        g_tok = load_tokenizer();
        tok_encoding_init(&g_enc);
        atexit(cleanup);
    }
    if (size < 3)
        return 0;
    uint8_t flags = data[0];
    tok_options opt;
    tok_options_default(g_tok, &opt);
    opt.strategy = (flags & 3) == 1 ? TOK_ONLY_FIRST : (flags & 3) == 2 ? TOK_ONLY_SECOND
                                                                         : TOK_LONGEST_FIRST;
    opt.direction = flags & 4 ? TOK_LEFT : TOK_RIGHT;
    opt.lossy_utf8 = !!(flags & 8);
    opt.add_special_tokens = !(flags & 32);
    opt.truncate = !(flags & 64);
    if (data[1])
        opt.max_length = data[1];
    const char *text = (const char *)data + 3;
    size_t len = size - 3;
    const char *a = text, *b = NULL;
    size_t a_len = len, b_len = 0;
    if (flags & 16) {
        a_len = len * data[2] / 255;
        b = text + a_len;
        b_len = len - a_len;
    }

    zb_err err;
    zb_clear(&err);
    int rc = tok_encode(g_tok, a, a_len, b, b_len, &opt, &g_enc, &err);
    fuzz_check_err(rc, &err);
    if (rc != ZB_OK) {
        FUZZ_ASSERT(rc == ZB_EUTF8 || rc == ZB_ETOOLONG || rc == ZB_EINVAL);
        FUZZ_ASSERT(rc != ZB_EUTF8 || !opt.lossy_utf8);
        return 0;
    }
    fuzz_check_encoding(g_tok, &g_enc, &opt, a, a_len, b, b_len, 1);

    /* A fresh encoding gives the same result: no state leaks from one text into the next. */
    tok_encoding fresh;
    tok_encoding_init(&fresh);
    FUZZ_ASSERT(tok_encode(g_tok, a, a_len, b, b_len, &opt, &fresh, &err) == ZB_OK);
    FUZZ_ASSERT(fresh.n == g_enc.n && fresh.n_before_truncation == g_enc.n_before_truncation);
    for (int i = 0; i < fresh.n; i++)
        FUZZ_ASSERT(fresh.ids[i] == g_enc.ids[i] && fresh.type_ids[i] == g_enc.type_ids[i] &&
                    fresh.special[i] == g_enc.special[i] &&
                    fresh.offsets[i].start == g_enc.offsets[i].start &&
                    fresh.offsets[i].end == g_enc.offsets[i].end);
    tok_encoding_free(&fresh);

    /* Without truncation and with a limit that fits, the untruncated count is reproduced. */
    if (opt.truncate && g_enc.n_before_truncation > g_enc.n) {
        tok_options all = opt;
        all.truncate = 0;
        all.max_length = g_enc.n_before_truncation;
        FUZZ_ASSERT(tok_encode(g_tok, a, a_len, b, b_len, &all, &g_enc, &err) == ZB_OK);
        FUZZ_ASSERT(g_enc.n == all.max_length);
    }
    return 0;
}
