/* libFuzzer target: the regex path of the general tokenizer pipeline (Oniguruma Split patterns,
 * ByteLevel, byte-level BPE) and its tokenizer.json loader.
 * Input: a flags byte, then PATTERN NUL TEXT (no NUL: the whole rest is TEXT and the pattern is
 * Llama-3's). flags & 7: Split behaviour (Removed, Isolated, MergedWithPrevious, MergedWithNext,
 * Contiguous, then Isolated again); & 8: invert; & 16: pattern is a literal {"String"}; & 32: the
 * ByteLevel pre-tokenizer also runs GPT-2's regex; & 64: add_prefix_space.
 * Invariants: a pattern Oniguruma refuses is a clean ZB_EFORMAT; otherwise every valid UTF-8 text
 * encodes, ids inside the vocabulary, offsets inside the text; unless the behaviour removes text,
 * decoding gives the text back byte for byte (the vocabulary holds all 256 byte chars), and
 * tok_pretokenize's words cover the text the same way. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_tok.h"

#define LLAMA3 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

static const char *const BEHAVIORS[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                        "Contiguous", "Isolated", "Isolated", "Isolated"};

static json_t *byte_vocab(void)
{
    /* GPT-2 byte chars as tokens: id = byte */
    json_t *v = json_object();
    for (int b = 0; b < 256; b++) {
        unsigned c = b;
        if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE))) {
            int k = 0;
            for (int x = 0; x < b; x++)
                if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE))) k++;
            c = 0x100 + (unsigned)k;
        }
        char u[4];
        size_t l = c < 0x80 ? (u[0] = (char)c, 1) : (u[0] = (char)(0xC0 | (c >> 6)), u[1] = (char)(0x80 | (c & 0x3F)), 2);
        json_object_setn_new_nocheck(v, u, l, json_integer(b));
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    const char *rest = (const char *)data + 1;
    size_t rl = size - 1;
    const char *nul = memchr(rest, 0, rl);
    const char *pat = nul ? rest : LLAMA3, *text = nul ? nul + 1 : rest;
    size_t pl = nul ? (size_t)(nul - rest) : strlen(LLAMA3), tl = nul ? rl - pl - 1 : rl;
    if (pl > 256 || tok_utf8_check(pat, pl, NULL))
        return 0;                            /* jansson needs valid UTF-8; long patterns only slow */
    json_t *pattern = json_object();
    json_object_set_new(pattern, flags & 16 ? "String" : "Regex", json_stringn(pat, pl));
    json_t *split = json_pack("{s:s, s:o, s:s, s:b}", "type", "Split", "pattern", pattern, "behavior",
                              BEHAVIORS[flags & 7], "invert", (int)(flags & 8));
    json_t *j = json_pack("{s:s, s:[], s:n, s:{s:s, s:[o, {s:s, s:b, s:b, s:b}]}, s:n, s:{s:s}, "
                          "s:{s:s, s:o, s:[]}}",
                          "version", "1.0", "added_tokens", "normalizer", "pre_tokenizer", "type", "Sequence",
                          "pretokenizers", split, "type", "ByteLevel", "add_prefix_space", (int)(flags & 64),
                          "trim_offsets", 1, "use_regex", (int)(flags & 32), "post_processor", "decoder",
                          "type", "ByteLevel", "model", "type", "BPE", "vocab", byte_vocab(), "merges");
    FUZZ_ASSERT(j != NULL);
    char *js = json_dumps(j, 0);
    json_decref(j);
    zb_err err;
    zb_clear(&err);
    tok_tokenizer *t = tok_load_json(js, strlen(js), "fuzz", &err);
    free(js);
    if (!t) {
        FUZZ_ASSERT(err.code == ZB_EFORMAT || err.code == ZB_ENOMEM);
        fuzz_check_err(err.code, &err);
        return 0;
    }
    tok_options opt;
    tok_options_default(t, &opt);
    opt.truncate = 0;
    opt.max_length = 1 << 30;
    opt.add_special_tokens = 0;
    tok_encoding e;
    tok_encoding_init(&e);
    int rc = tok_encode(t, text, tl, NULL, 0, &opt, &e, &err);
    int valid = !tok_utf8_check(text, tl, NULL);
    FUZZ_ASSERT(rc == ZB_OK || (rc == ZB_EUTF8 && !valid));
    if (rc == ZB_OK) {
        fuzz_check_encoding(t, &e, &opt, text, tl, NULL, 0, 0);
        char *back = NULL;
        FUZZ_ASSERT(tok_decode(t, e.ids, e.n, 0, &back, &err) == ZB_OK);
        /* no prefix space, nothing removed: the bytes come back (as a C string: no NUL inside) */
        if (!(flags & 64) && (flags & 7) != 0 && !memchr(text, 0, tl))
            FUZZ_ASSERT(strlen(back) == tl && !memcmp(back, text, tl));
        free(back);
        tok_words ws;
        tok_words_init(&ws);
        FUZZ_ASSERT(tok_pretokenize(t, text, tl, 0, &ws, &err) == ZB_OK);
        size_t total = 0;
        for (int i = 0; i < ws.n; i++) {
            FUZZ_ASSERT(ws.words[i].len > 0 && ws.words[i].span.start <= ws.words[i].span.end);
            total += ws.words[i].len;
        }
        FUZZ_ASSERT((size_t)e.n * 2 >= total / 2);   /* each byte char is 1-2 bytes, one token each */
        tok_words_free(&ws);
    }
    tok_encoding_free(&e);
    tok_free(t);
    return 0;
}
