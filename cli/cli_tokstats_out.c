/* cli_tokstats_out: `zembed tokstats` results as a table, JSON or an HTML page (see
 * cli_tokstats.h); everything is read from the one JSON object the command builds. */
#include <stdio.h>
#include <string.h>

#include "cli_tokstats.h"
#include "viz_page.h"

/* A model folder's last component: the table's first column stays narrow. */
static const char *short_name(const char *s)
{
    const char *e = s + strlen(s);
    while (e > s && e[-1] == '/')
        e--;
    const char *b = e;
    while (b > s && b[-1] != '/')
        b--;
    return b == e ? s : b;
}

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static long long inum(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void print_table(const json_t *root)
{
    const json_t *list = json_object_get(root, "tokenizers"), *t;
    size_t i;
    printf("%s: %lld lines, %lld for training, %lld evaluated%s\n\n", json_string_value(json_object_get(root, "corpus")),
           inum(root, "lines"), inum(root, "train_lines"), inum(root, "eval_lines"),
           inum(root, "eval_lines") == inum(root, "lines") ? " (no holdout: the training lines)" : " (held out)");
    printf("%-22s %8s %9s %5s %5s %5s %9s %8s %9s %9s\n", "tokenizer", "vocab", "tok/line", "p50", "p95", "max",
           "bytes/tok", "unknown", "vocab use", "train s");
    json_array_foreach(list, i, t) {
        const json_t *tpl = json_object_get(t, "tokens_per_line");
        const json_t *ts = json_object_get(t, "train_seconds");
        printf("%-22.*s %8lld %9.2f %5lld %5lld %5lld %9.2f %7.2f%% %8.1f%% ",
               (int)strcspn(short_name(json_string_value(json_object_get(t, "name"))), "/"),
               short_name(json_string_value(json_object_get(t, "name"))),
               inum(t, "vocab_size"), num(tpl, "mean"), inum(tpl, "p50"), inum(tpl, "p95"), inum(tpl, "max"),
               num(t, "bytes_per_token"), 100 * num(t, "unk_rate"), 100 * num(t, "vocab_used_share"));
        if (json_is_number(ts))
            printf("%9.2f\n", json_number_value(ts));
        else
            printf("%9s\n", "-");
    }
    const json_t *oov = json_object_get(root, "oov_words"), *w;
    printf("\n%lld held-out words, %lld of them (%.2f%%) never seen in training (%lld distinct)%s\n",
           inum(root, "heldout_words"), inum(root, "unseen_word_occurrences"), 100 * num(root, "unseen_word_rate"),
           inum(root, "unseen_words"), json_array_size(oov) ? "; the most frequent:" : "");
    json_array_foreach(oov, i, w) {
        printf("  %s (%lld)\n", json_string_value(json_object_get(w, "word")), inum(w, "count"));
        const char *name;
        json_t *toks;
        json_object_foreach(json_object_get(w, "splits"), name, toks) {
            printf("      %-22s", short_name(name));
            size_t k;
            json_t *x;
            json_array_foreach(toks, k, x)
                printf(" %s", json_string_value(x));
            putchar('\n');
        }
    }
}

int ts_print(const json_t *root, int format, zb_err *err)
{
    if (format == TS_FMT_HTML)
        return viz_page_print(stdout, VIZ_PAGE_TOKSTATS, "zembed tokstats", root, err);
    if (format == TS_FMT_JSON) {
        if (json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6)) || putchar('\n') == EOF)
            return zb_fail(err, ZB_EIO, "writing stdout failed");
    } else {
        print_table(root);
    }
    if (fflush(stdout) || ferror(stdout))
        return zb_fail(err, ZB_EIO, "writing stdout failed");
    return 0;
}
