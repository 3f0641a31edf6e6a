/* viz_sts: STS Benchmark / SICK readers (see viz_sts.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "viz_sts.h"
#include "zb_file.h"

#define MAX_FIELDS 32
#define MAX_FILE (256u << 20)

typedef struct {
    const char *p[MAX_FIELDS];
    size_t len[MAX_FIELDS];
    int n;
} fields;

/* Split one line (no '\n') on TABs; a trailing '\r' is dropped. More than MAX_FIELDS: the rest
 * stays in the last field. */
static void split_tabs(const char *s, size_t len, fields *f)
{
    if (len && s[len - 1] == '\r')
        len--;
    f->n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || (s[i] == '\t' && f->n < MAX_FIELDS - 1)) {
            f->p[f->n] = s + start;
            f->len[f->n++] = i - start;
            start = i + 1;
        }
    }
}

static int field_is(const fields *f, int k, const char *name)
{
    return k < f->n && f->len[k] == strlen(name) && !strncasecmp(f->p[k], name, f->len[k]);
}

static int column(const fields *f, const char *name)
{
    for (int k = 0; k < f->n; k++)
        if (field_is(f, k, name))
            return k;
    return -1;
}

static int push(viz_sts *s, int *cap, const fields *f, int ka, int kb, double gold)
{
    if (s->n == *cap) {
        int nc = *cap ? *cap * 2 : 1024;
        char **a = realloc(s->a, (size_t)nc * sizeof *a);
        if (a) s->a = a;
        char **b = a ? realloc(s->b, (size_t)nc * sizeof *b) : NULL;
        if (b) s->b = b;
        double *g = b ? realloc(s->gold, (size_t)nc * sizeof *g) : NULL;
        if (!g)
            return -1;
        s->gold = g;
        *cap = nc;
    }
    s->a[s->n] = strndup(f->p[ka], f->len[ka]);
    s->b[s->n] = strndup(f->p[kb], f->len[kb]);
    s->gold[s->n] = gold;
    s->n++;
    return s->a[s->n - 1] && s->b[s->n - 1] ? 0 : -1;
}

int viz_sts_parse(const char *text, size_t len, const char *name, const char *split, viz_sts *out, zb_err *err)
{
    memset(out, 0, sizeof *out);
    int cap = 0, rc = ZB_OK;
    int k_split = -1, k_score = 4, k_a = 5, k_b = 6, header = 0;
    const char *want = split;
    fields f;
    size_t pos = 0;
    long line = 0;
    if (memchr(text, 0, len))
        return zb_fail(err, ZB_EFORMAT, "%s: holds a NUL byte: not an STS text file", name);
    while (pos < len && !rc) {
        const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - s) : len - pos;
        pos += l + 1;
        line++;
        split_tabs(s, l, &f);
        if (f.n == 1 && f.len[0] == 0)
            continue;                                   /* empty line */
        if (line == 1 && (column(&f, "sentence_A") >= 0 || column(&f, "sentence1") >= 0)) {
            header = 1;
            int sick = column(&f, "sentence_A") >= 0;
            k_a = column(&f, sick ? "sentence_A" : "sentence1");
            k_b = column(&f, sick ? "sentence_B" : "sentence2");
            k_score = column(&f, sick ? "relatedness_score" : "score");
            k_split = column(&f, sick ? "SemEval_set" : "split");
            snprintf(out->layout, sizeof out->layout, "%s", sick ? "sick" : "stsbenchmark-tsv");
            if (k_a < 0 || k_b < 0 || k_score < 0)
                rc = zb_fail(err, ZB_EFORMAT, "%s:1: the header lacks %s", name,
                             sick ? "sentence_B or relatedness_score" : "sentence2 or score");
            else if (!want && k_split >= 0)
                want = sick ? "TEST" : "test";
            continue;
        }
        if (line == 1) {
            snprintf(out->layout, sizeof out->layout, "stsbenchmark");
            if (want && strcasecmp(want, "all")) {
                rc = zb_fail(err, ZB_EINVAL, "%s: an STS Benchmark file is one split (sts-train/dev/test.csv); "
                             "--split applies to SICK and stsbenchmark.tsv", name);
                break;
            }
        }
        int need = k_a > k_b ? k_a : k_b;
        need = need > k_score ? need : k_score;
        need = need > k_split ? need : k_split;
        if (f.n <= need) {
            rc = zb_fail(err, ZB_EFORMAT, "%s:%ld: %d tab-separated fields, expected at least %d", name, line, f.n,
                         need + 1);
            break;
        }
        if (want && strcasecmp(want, "all") && k_split >= 0 && !field_is(&f, k_split, want))
            continue;
        char num[64];
        char *end;
        snprintf(num, sizeof num, "%.*s", (int)(f.len[k_score] < 63 ? f.len[k_score] : 63), f.p[k_score]);
        errno = 0;
        double g = strtod(num, &end);
        if (!f.len[k_score] || f.len[k_score] > 63 || *end || errno || !isfinite(g)) {
            rc = zb_fail(err, ZB_EFORMAT, "%s:%ld: score '%s' is not a number", name, line, num);
            break;
        }
        if (push(out, &cap, &f, k_a, k_b, g))
            rc = zb_fail(err, ZB_ENOMEM, "%s: out of memory at line %ld", name, line);
    }
    if (!rc && want && strcasecmp(want, "all") && k_split >= 0)
        snprintf(out->split, sizeof out->split, "%s", want);
    (void)header;
    if (!rc && out->n < 2)
        rc = zb_fail(err, ZB_EFORMAT, "%s: %d sentence pairs%s%s; correlations need at least 2", name, out->n,
                     out->split[0] || (want && k_split >= 0) ? " in split " : "", want && k_split >= 0 ? want : "");
    if (rc)
        viz_sts_free(out);
    return rc;
}

int viz_sts_load(const char *path, const char *split, viz_sts *out, zb_err *err)
{
    char *text = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    int rc = zb_read_file(path, MAX_FILE, &text, &len, err);
    if (rc)
        return rc;
    rc = viz_sts_parse(text, len, path, split, out, err);
    free(text);
    return rc;
}

void viz_sts_free(viz_sts *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->a[i]), free(s->b[i]);
    free(s->a), free(s->b), free(s->gold);
    memset(s, 0, sizeof *s);
}
