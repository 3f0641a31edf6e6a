/* cli_local: a model folder opened in-process (see cli_local.h). */
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli_local.h"
#include "enc_embed.h"
#include "pool.h"
#include "zm.h"

/* The model handle (model/zm.h) settles max_length, pooling and the runner's budget. */
struct cli_local {
    zm_model *zm;
    const enc_model *model;
    enc_runner *runner;
    const tok_tokenizer *tok;
    tok_options topt;       /* truncation at the model's length */
    const zm_info *info;    /* name, demo flag, dim */
};

cli_local *cli_local_open(const char *model_dir, int threads, zb_err *err)
{
    cli_local *h = calloc(1, sizeof *h);
    if (!h) {
        zb_fail(err, ZB_ENOMEM, "opening %s: out of memory", model_dir);
        return NULL;
    }
    enc_set_threads(threads);
    if (!(h->zm = zm_open(model_dir, NULL, err))) {
        free(h);
        return NULL;
    }
    h->model = zm_weights(h->zm);
    h->runner = zm_runner(h->zm);
    h->tok = zm_tokenizer(h->zm);
    h->info = zm_info_get(h->zm);
    zm_tok_options(h->zm, &h->topt);
    return h;
}

void cli_local_close(cli_local **hp)
{
    cli_local *h = *hp;
    if (!h)
        return;
    zm_close(&h->zm);
    free(h);
    *hp = NULL;
}

const tok_tokenizer *cli_local_tokenizer(const cli_local *h) { return h->tok; }
const enc_model *cli_local_model(const cli_local *h) { return h->model; }
int cli_local_is_demo(const cli_local *h) { return h->info->demo; }
const char *cli_local_name(const cli_local *h) { return h->info->name; }

/* Tokenize n texts end to end: ids/types (malloc'd) and lens. */
static int tokenize_all(cli_local *h, const char *const *texts, int n, int32_t **ids, int32_t **types,
                        int *lens, size_t *total, zb_err *err)
{
    tok_encoding enc;
    tok_encoding_init(&enc);
    size_t cap = 0, used = 0;
    int rc = ZB_OK;
    *ids = *types = NULL;
    for (int i = 0; i < n && !rc; i++) {
        if ((rc = tok_encode(h->tok, texts[i], strlen(texts[i]), NULL, 0, &h->topt, &enc, err))) {
            zb_wrap(err, "text %d: ", i + 1);
            break;
        }
        if (used + (size_t)enc.n > cap) {
            size_t nc = (cap ? cap * 2 : 4096) + (size_t)enc.n;
            int32_t *a = realloc(*ids, nc * sizeof *a);
            if (a)
                *ids = a;
            int32_t *b = a ? realloc(*types, nc * sizeof *b) : NULL;
            if (!b) {
                rc = zb_fail(err, ZB_ENOMEM, "tokenizing %d texts: out of memory", n);
                break;
            }
            *types = b;
            cap = nc;
        }
        memcpy(*ids + used, enc.ids, (size_t)enc.n * sizeof **ids);
        memcpy(*types + used, enc.type_ids, (size_t)enc.n * sizeof **types);
        lens[i] = enc.n;
        used += (size_t)enc.n;
    }
    tok_encoding_free(&enc);
    *total = used;
    if (rc) {
        free(*ids), free(*types);
        *ids = *types = NULL;
    }
    return rc;
}

int cli_local_embed(cli_local *h, const char *const *texts, int n, float **vecs, int *dim, zb_err *err)
{
    *dim = h->info->dim;
    *vecs = malloc(((size_t)n + 1) * (size_t)h->info->dim * sizeof **vecs);
    int rc = *vecs ? zm_encode(h->zm, texts, NULL, n, *vecs, err)
                   : zb_fail(err, ZB_ENOMEM, "embedding %d texts: out of memory", n);
    if (rc) {
        free(*vecs);
        *vecs = NULL;
    }
    return rc;
}

static char **labels_of(const tok_tokenizer *t, const int32_t *ids, int n)
{
    char **s = calloc((size_t)n + 1, sizeof *s);
    for (int i = 0; s && i < n; i++) {
        const char *p = tok_id_to_token(t, ids[i]);
        if (!(s[i] = strdup(p ? p : "?"))) {
            cli_free_strings(s, n);
            return NULL;
        }
    }
    return s;
}

int cli_local_token_similarity(cli_local *h, const char *a, const char *b, int input_space,
                               cli_matrix *out, zb_err *err)
{
    const char *texts[2] = {a, b};
    int32_t *ids = NULL, *types = NULL;
    int lens[2];
    size_t total = 0;
    int hidden = h->info->hidden;
    memset(out, 0, sizeof *out);
    int rc = tokenize_all(h, texts, 2, &ids, &types, lens, &total, err);
    float *states = rc ? NULL : malloc(total * (size_t)hidden * sizeof *states);
    if (!rc && !states)
        rc = zb_fail(err, ZB_ENOMEM, "token similarity: out of memory");
    /* the pipeline encodes both texts in one padding-free batch; each text's states depend on
     * its own tokens only, so this is the same computation */
    if (!rc)
        rc = input_space ? enc_input_embeddings(h->model, ids, (int)total, states, err)
                         : enc_embed_tokens(h->runner, ids, types, lens, 2, states, err);
    if (!rc && !(out->v = malloc((size_t)lens[0] * lens[1] * sizeof *out->v + 1)))
        rc = zb_fail(err, ZB_ENOMEM, "token similarity: out of memory");
    if (!rc)
        rc = pool_cosine_matrix(states, lens[0], states + (size_t)lens[0] * hidden, lens[1], hidden, out->v, err);
    if (!rc) {
        out->demo = h->info->demo;
        out->rows = lens[0];
        out->cols = lens[1];
        if (!(out->row_labels = labels_of(h->tok, ids, lens[0])) ||
            !(out->col_labels = labels_of(h->tok, ids + lens[0], lens[1])))
            rc = zb_fail(err, ZB_ENOMEM, "token similarity: out of memory");
    }
    free(ids), free(types), free(states);
    if (rc)
        cli_matrix_free(out);
    return rc;
}

int cli_local_similarity(cli_local *h, const char *const *a, int na, const char *const *b, int nb,
                         cli_matrix *out, zb_err *err)
{
    float *va = NULL, *vb = NULL;
    int dim = 0;
    memset(out, 0, sizeof *out);
    int rc = cli_local_embed(h, a, na, &va, &dim, err);
    if (!rc)
        rc = cli_local_embed(h, b, nb, &vb, &dim, err);
    if (!rc && !(out->v = malloc((size_t)na * nb * sizeof *out->v + 1)))
        rc = zb_fail(err, ZB_ENOMEM, "similarity: out of memory");
    if (!rc)
        rc = pool_cosine_matrix(va, na, vb, nb, dim, out->v, err);
    if (!rc)
        out->rows = na, out->cols = nb, out->demo = h->info->demo;
    free(va), free(vb);
    if (rc)
        cli_matrix_free(out);
    return rc;
}
