/* libFuzzer target: the trainers (tok_train.h) on arbitrary words and options, and the written
 * tokenizer.json read back by the tokenizer library.
 *
 * Input: byte 0 = type (bits 0-1: bpe, wordpiece, wordlevel, char) and flags (bit 2 prefix "##"
 * on bpe, bit 3 suffix "</w>", bit 4 byte-level alphabet, bit 5 special tokens "[UNK]","<s>","[UNK]"),
 * byte 1 = vocab size / 2, byte 2 = limit_alphabet (255: none), byte 3 = min_frequency, then the
 * corpus: words are the runs between ' ' and '\n' bytes, each counted once per occurrence (UTF-8
 * as the counting step guarantees; without U+0000, which the trainers take but our tokenizer.json
 * loader, jansson, refuses in object keys).
 *
 * Invariants: training succeeds; the special tokens hold ids 0.. in order (duplicates skipped;
 * the word level keeps HF's hole);
 * every id has a distinct token (WordLevel: or is a hole); every merge joins two existing ids
 * into an existing token equal to a + b (b without the prefix); the vocabulary grows past
 * max(vocab_size, specials + alphabet) never; the written folder loads with tok_load and lists
 * the same tokens at the same ids. */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "tok.h"
#include "tok_train.h"

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "tok_train_fuzz: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    const char *text = (const char *)data + 4;
    size_t n = size - 4;
    if (tok_utf8_check(text, n, NULL) || memchr(text, 0, n))
        return 0;
    static const char *const SPECIALS[] = {"[UNK]", "<s>", "[UNK]"};
    tokt_options o;
    tokt_options_default(&o, (tokt_type)(data[0] & 3));
    if (data[0] & 4 && o.type == TOKT_BPE)
        o.prefix = "##";
    if (data[0] & 8)
        o.suffix = "</w>";
    o.byte_level_alphabet = (data[0] >> 4) & 1;
    if (data[0] & 32) {
        o.special = SPECIALS;
        o.n_special = 3;
    }
    o.vocab_size = 2 * data[1];
    o.limit_alphabet = data[2] == 255 ? -1 : data[2];
    o.min_frequency = data[3];

    tokt_words *w = tokt_words_new(NULL);
    check(w != NULL, "word table");
    for (size_t i = 0, j; i < n; i = j + 1) {
        for (j = i; j < n && text[j] != ' ' && text[j] != '\n'; j++)
            ;
        if (j > i)
            check(!tokt_words_add(w, text + i, j - i, 1), "add a word");
    }
    tokt_result r;
    zb_err err;
    check(!tokt_train(w, &o, NULL, NULL, &r, &err), "training succeeds");
    int specials = o.n_special ? 2 : 0;
    if (o.type == TOKT_WORDLEVEL) {
        /* HF's word level does not skip the repeated [UNK]: it moves to id 2, id 0 is a hole */
        if (o.n_special && r.n_ids >= 3)
            check(!r.tokens[0] && !strcmp(r.tokens[1], "<s>") && !strcmp(r.tokens[2], "[UNK]"),
                  "word level: specials first, a repeat leaves a hole");
    } else {
        check(r.n_special == specials, "duplicate specials skipped");
        for (int i = 0; i < specials; i++)
            check(!strcmp(r.tokens[i], SPECIALS[i]), "specials first, in order");
    }
    if (o.type != TOKT_WORDLEVEL)
        check(r.n_ids <= (o.vocab_size > specials + r.n_alphabet ? o.vocab_size : specials + r.n_alphabet) +
                             (o.prefix || o.suffix ? r.n_alphabet * 3 : 0),
              "vocabulary size bounded");
    else
        check(r.n_ids <= o.vocab_size, "word level cut at vocab_size");
    for (int i = 0; i < r.n_ids; i++)
        for (int j = i + 1; j < r.n_ids && j < i + 64; j++)
            check(!r.tokens[i] || !r.tokens[j] || strcmp(r.tokens[i], r.tokens[j]), "tokens distinct");
    for (int k = 0; k < r.n_merges; k++) {
        int32_t a = r.merges[k][0], b = r.merges[k][1];
        check(a >= 0 && a < r.n_ids && b >= 0 && b < r.n_ids, "merge ids exist");
        char joined[1024];
        const char *sb = r.tokens[b];
        if (o.prefix && !strncmp(sb, o.prefix, strlen(o.prefix)))
            sb += strlen(o.prefix);
        if (strlen(r.tokens[a]) + strlen(sb) >= sizeof joined)
            continue;
        snprintf(joined, sizeof joined, "%s%s", r.tokens[a], sb);
        int found = 0;
        for (int i = 0; i < r.n_ids && !found; i++)
            found = r.tokens[i] && !strcmp(r.tokens[i], joined);
        check(found, "merge result is a token");
    }
    /* the written folder loads and lists the same tokens (a WordPiece needs its unk token) */
    int loadable = r.n_ids > 0 && (o.type != TOKT_WORDPIECE || o.n_special);
    if (loadable && !tokt_write(fuzz_dir(), &r, &o, "none", "whitespace", &err)) {
        tok_tokenizer *t = tok_load(fuzz_dir(), &err);
        if (!t)
            fprintf(stderr, "tok_train_fuzz: reload: %s\n", err.msg);
        check(t != NULL, "the written tokenizer.json loads");
        for (int i = 0; i < r.n_ids; i++) {
            const char *s = tok_id_to_token(t, i);
            check(!r.tokens[i] || (s && !strcmp(s, r.tokens[i])), "same token at the same id after reload");
        }
        tok_free(t);
    }
    tokt_result_free(&r);
    tokt_words_destroy(&w);
    return 0;
}
