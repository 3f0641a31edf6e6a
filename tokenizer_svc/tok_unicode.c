/* tok_unicode: where HF tokenizers' character classes differ from utf8proc's Unicode version.
 *
 * HF's BertNormalizer and BertPreTokenizer take "other" (Cc/Cf/Co), "nonspacing mark" (Mn) and
 * "punctuation" (P*) from the unicode_categories crate, whose tables are older than the Unicode
 * version of utf8proc (15.0 on Debian 12). Characters assigned since then are plain letters to
 * HF (e.g. U+061D ARABIC END OF TEXT MARK is not punctuation, U+08CA.. marks are not stripped),
 * and a few changed category (U+166D was Po, U+1734 was Mn). Exactness needs HF's view, so this
 * table lists every code point whose HF class differs from what utf8proc's category implies.
 *
 * Its NFD tables are old too: nfd_unknown lists code points HF's NFD does not know (it neither
 * reorders by their combining class nor decomposes them), e.g. U+16FF0 (ccc 6 since Unicode 13).
 *
 * Measured, not copied: tok_unicode_gen.sh runs HF's own normalizers and pre-tokenizer (Node
 * binding, tests/peers) on every code point and prints both tables.
 */
#include "tok_internal.h"

typedef struct {
    uint32_t lo, hi;
    int cls;
} urange;

static const urange table[] = {
    {0x0061D, 0x0061D, TOK_U_PLAIN},
    {0x007FD, 0x007FD, TOK_U_PLAIN},
    {0x00890, 0x00891, TOK_U_PLAIN},
    {0x00898, 0x0089F, TOK_U_PLAIN},
    {0x008CA, 0x008E2, TOK_U_PLAIN},
    {0x009FD, 0x009FE, TOK_U_PLAIN},
    {0x00A76, 0x00A76, TOK_U_PLAIN},
    {0x00AFA, 0x00AFF, TOK_U_PLAIN},
    {0x00B55, 0x00B55, TOK_U_PLAIN},
    {0x00C04, 0x00C04, TOK_U_PLAIN},
    {0x00C3C, 0x00C3C, TOK_U_PLAIN},
    {0x00C77, 0x00C77, TOK_U_PLAIN},
    {0x00C84, 0x00C84, TOK_U_PLAIN},
    {0x00D00, 0x00D00, TOK_U_PLAIN},
    {0x00D3B, 0x00D3C, TOK_U_PLAIN},
    {0x00D81, 0x00D81, TOK_U_PLAIN},
    {0x00EBA, 0x00EBA, TOK_U_PLAIN},
    {0x00ECE, 0x00ECE, TOK_U_PLAIN},
    {0x0166D, 0x0166D, TOK_U_PUNCT},
    {0x01734, 0x01734, TOK_U_MN},
    {0x0180F, 0x0180F, TOK_U_PLAIN},
    {0x01885, 0x01886, TOK_U_PLAIN},
    {0x01ABF, 0x01ACE, TOK_U_PLAIN},
    {0x01B7D, 0x01B7E, TOK_U_PLAIN},
    {0x01DF6, 0x01DFB, TOK_U_PLAIN},
    {0x02E43, 0x02E4F, TOK_U_PLAIN},
    {0x02E52, 0x02E5D, TOK_U_PLAIN},
    {0x0A82C, 0x0A82C, TOK_U_PLAIN},
    {0x0A8C5, 0x0A8C5, TOK_U_PLAIN},
    {0x0A8FF, 0x0A8FF, TOK_U_PLAIN},
    {0x0A9BD, 0x0A9BD, TOK_U_PLAIN},
    {0x10D24, 0x10D27, TOK_U_PLAIN},
    {0x10EAB, 0x10EAD, TOK_U_PLAIN},
    {0x10EFD, 0x10EFF, TOK_U_PLAIN},
    {0x10F46, 0x10F50, TOK_U_PLAIN},
    {0x10F55, 0x10F59, TOK_U_PLAIN},
    {0x10F82, 0x10F89, TOK_U_PLAIN},
    {0x11070, 0x11070, TOK_U_PLAIN},
    {0x11073, 0x11074, TOK_U_PLAIN},
    {0x110C2, 0x110C2, TOK_U_PLAIN},
    {0x110CD, 0x110CD, TOK_U_PLAIN},
    {0x111C9, 0x111C9, TOK_U_PUNCT},
    {0x111CF, 0x111CF, TOK_U_PLAIN},
    {0x1123E, 0x1123E, TOK_U_PLAIN},
    {0x11241, 0x11241, TOK_U_PLAIN},
    {0x1133B, 0x1133B, TOK_U_PLAIN},
    {0x11438, 0x1143F, TOK_U_PLAIN},
    {0x11442, 0x11444, TOK_U_PLAIN},
    {0x11446, 0x11446, TOK_U_PLAIN},
    {0x1144B, 0x1144F, TOK_U_PLAIN},
    {0x1145A, 0x1145B, TOK_U_PLAIN},
    {0x1145D, 0x1145E, TOK_U_PLAIN},
    {0x11660, 0x1166C, TOK_U_PLAIN},
    {0x116B9, 0x116B9, TOK_U_PLAIN},
    {0x1182F, 0x11837, TOK_U_PLAIN},
    {0x11839, 0x1183B, TOK_U_PLAIN},
    {0x1193B, 0x1193C, TOK_U_PLAIN},
    {0x1193E, 0x1193E, TOK_U_PLAIN},
    {0x11943, 0x11946, TOK_U_PLAIN},
    {0x119D4, 0x119D7, TOK_U_PLAIN},
    {0x119DA, 0x119DB, TOK_U_PLAIN},
    {0x119E0, 0x119E0, TOK_U_PLAIN},
    {0x119E2, 0x119E2, TOK_U_PLAIN},
    {0x11A01, 0x11A0A, TOK_U_PLAIN},
    {0x11A33, 0x11A38, TOK_U_PLAIN},
    {0x11A3B, 0x11A47, TOK_U_PLAIN},
    {0x11A51, 0x11A56, TOK_U_PLAIN},
    {0x11A59, 0x11A5B, TOK_U_PLAIN},
    {0x11A8A, 0x11A96, TOK_U_PLAIN},
    {0x11A98, 0x11A9C, TOK_U_PLAIN},
    {0x11A9E, 0x11AA2, TOK_U_PLAIN},
    {0x11B00, 0x11B09, TOK_U_PLAIN},
    {0x11C30, 0x11C36, TOK_U_PLAIN},
    {0x11C38, 0x11C3D, TOK_U_PLAIN},
    {0x11C3F, 0x11C3F, TOK_U_PLAIN},
    {0x11C41, 0x11C45, TOK_U_PLAIN},
    {0x11C70, 0x11C71, TOK_U_PLAIN},
    {0x11C92, 0x11CA7, TOK_U_PLAIN},
    {0x11CAA, 0x11CB0, TOK_U_PLAIN},
    {0x11CB2, 0x11CB3, TOK_U_PLAIN},
    {0x11CB5, 0x11CB6, TOK_U_PLAIN},
    {0x11D31, 0x11D36, TOK_U_PLAIN},
    {0x11D3A, 0x11D3A, TOK_U_PLAIN},
    {0x11D3C, 0x11D3D, TOK_U_PLAIN},
    {0x11D3F, 0x11D45, TOK_U_PLAIN},
    {0x11D47, 0x11D47, TOK_U_PLAIN},
    {0x11D90, 0x11D91, TOK_U_PLAIN},
    {0x11D95, 0x11D95, TOK_U_PLAIN},
    {0x11D97, 0x11D97, TOK_U_PLAIN},
    {0x11EF3, 0x11EF4, TOK_U_PLAIN},
    {0x11EF7, 0x11EF8, TOK_U_PLAIN},
    {0x11F00, 0x11F01, TOK_U_PLAIN},
    {0x11F36, 0x11F3A, TOK_U_PLAIN},
    {0x11F40, 0x11F40, TOK_U_PLAIN},
    {0x11F42, 0x11F4F, TOK_U_PLAIN},
    {0x11FFF, 0x11FFF, TOK_U_PLAIN},
    {0x12FF1, 0x12FF2, TOK_U_PLAIN},
    {0x13430, 0x13440, TOK_U_PLAIN},
    {0x13447, 0x13455, TOK_U_PLAIN},
    {0x16E97, 0x16E9A, TOK_U_PLAIN},
    {0x16F4F, 0x16F4F, TOK_U_PLAIN},
    {0x16FE2, 0x16FE2, TOK_U_PLAIN},
    {0x16FE4, 0x16FE4, TOK_U_PLAIN},
    {0x1CF00, 0x1CF2D, TOK_U_PLAIN},
    {0x1CF30, 0x1CF46, TOK_U_PLAIN},
    {0x1E000, 0x1E006, TOK_U_PLAIN},
    {0x1E008, 0x1E018, TOK_U_PLAIN},
    {0x1E01B, 0x1E021, TOK_U_PLAIN},
    {0x1E023, 0x1E024, TOK_U_PLAIN},
    {0x1E026, 0x1E02A, TOK_U_PLAIN},
    {0x1E08F, 0x1E08F, TOK_U_PLAIN},
    {0x1E130, 0x1E136, TOK_U_PLAIN},
    {0x1E2AE, 0x1E2AE, TOK_U_PLAIN},
    {0x1E2EC, 0x1E2EF, TOK_U_PLAIN},
    {0x1E4EC, 0x1E4EF, TOK_U_PLAIN},
    {0x1E944, 0x1E94A, TOK_U_PLAIN},
    {0x1E95E, 0x1E95F, TOK_U_PLAIN},
};

static const urange nfd_unknown[] = {
    {0x007FD, 0x007FD},
    {0x00898, 0x0089F},
    {0x008CA, 0x008D3},
    {0x009FE, 0x009FE},
    {0x00C3C, 0x00C3C},
    {0x00D3B, 0x00D3C},
    {0x00EBA, 0x00EBA},
    {0x01715, 0x01715},
    {0x01ABF, 0x01ACE},
    {0x01DF6, 0x01DFA},
    {0x0A82C, 0x0A82C},
    {0x10D24, 0x10D27},
    {0x10EAB, 0x10EAC},
    {0x10EFD, 0x10EFF},
    {0x10F46, 0x10F50},
    {0x10F82, 0x10F85},
    {0x11070, 0x11070},
    {0x1133B, 0x1133B},
    {0x1145E, 0x1145E},
    {0x11839, 0x1183A},
    {0x11938, 0x11938},
    {0x1193D, 0x1193E},
    {0x11943, 0x11943},
    {0x119E0, 0x119E0},
    {0x11A34, 0x11A34},
    {0x11A47, 0x11A47},
    {0x11A99, 0x11A99},
    {0x11D42, 0x11D42},
    {0x11D44, 0x11D45},
    {0x11D97, 0x11D97},
    {0x11F41, 0x11F42},
    {0x16FF0, 0x16FF1},
    {0x1E08F, 0x1E08F},
    {0x1E130, 0x1E136},
    {0x1E2AE, 0x1E2AE},
    {0x1E2EC, 0x1E2EF},
    {0x1E4EC, 0x1E4EF},
};

/* First range of t[0..n) with hi >= c, if it holds c. */
static const urange *find(const urange *t, size_t n, uint32_t c)
{
    if (c < t[0].lo || c > t[n - 1].hi)
        return NULL;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t[mid].hi < c) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && t[lo].lo <= c ? &t[lo] : NULL;
}

int tok_unicode_nfd_unknown(uint32_t c)
{
    return find(nfd_unknown, sizeof nfd_unknown / sizeof *nfd_unknown, c) != NULL;
}

int tok_unicode_override(uint32_t c)
{
    const urange *r = find(table, sizeof table / sizeof *table, c);
    return r ? r->cls : -1;
}
