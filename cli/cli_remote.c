/* zembed embed|tokenize|similarity|info --endpoint E: the same JSON lines as the local commands,
 * computed by a running pipeline (docs/PROTOCOL.md). Lines are sent in batches (--batch); when a
 * batch fails because of one of its texts, its lines are sent again one by one so that only the
 * bad line gets an error object, as with the local commands. JSON is written with jansson. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "cli.h"
#include "cli_conn.h"
#include "svc.h"
#include "wire.h"
#include "zb_args.h"
#include "zb_input.h"
#include "zb_opt.h"
#include "zb_progress.h"

static const char usage_text[] =
    "usage: zembed embed|tokenize|similarity|info --endpoint E [options] [FILE...]\n"
    "\n"
    "Talks to a running pipeline (bin/gateway + workers; `make run`). E defaults to $ZEMBED_ENDPOINT,\n"
    "else tcp://127.0.0.1:5555. Reads the FILEs in order (\"-\" is stdin), else stdin; one JSON\n"
    "object per input line on stdout, as the local commands:\n"
    "  embed       {\"embedding\":[...]}  (--output tokens|input: {\"tokens\":[...],\"token_embeddings\":[[...]]})\n"
    "  tokenize    {\"input_ids\":[...],\"token_type_ids\":[...],\"attention_mask\":[...],\"tokens\":[...],\"offsets\":[...]}\n"
    "  similarity  lines \"text A<TAB>text B\" -> {\"similarity\":x}\n"
    "              (--tokens: {\"tokens_a\":[...],\"tokens_b\":[...],\"scores\":[[...]]})\n"
    "  info        the model and the pipeline, one object (no input)\n"
    "A line that fails gives {\"error\":{\"code\":...,\"message\":\"line 7: ...\"}} and the stream goes on\n"
    "(exit status 1); no answer or no connection is exit status 2.\n"
    "\n"
    "options:\n"
    "  --endpoint E            the gateway's client endpoint\n"
    "  --timeout-ms N          give up when a reply takes longer (default 30000)\n"
    "  --connect-timeout-ms N  give up when no gateway answers the connection in N ms (default 1000)\n"
    "  --quiet                 no progress bar (drawn on stderr only when that is a terminal)\n"
    "  --batch N               lines per request (default 32; at most the gateway's max_texts)\n"
    "  --max-length N          at most N tokens per line, [CLS]/[SEP] included (default: the model's)\n"
    "  --no-truncate           a line longer than max-length is an error (too_long)\n"
    "  --truncation-side D     right (default) or left\n"
    "embed:      --output sentence|tokens|input   --normalize | --no-normalize (default: the model's)\n"
    "            --dimensions N (Matryoshka)      --dtype float32|float16|int8|uint8|binary|ubinary\n"
    "tokenize:   --no-special-tokens\n"
    "similarity: --tokens   --space output|input (token-by-token, on contextual or input embeddings)\n";

typedef struct {
    const char *cmd;            /* embed, tokenize, similarity or info */
    const char *endpoint;
    int timeout_ms, connect_ms;
    int batch, truncate, left, normalize, dimensions, dtype, output, special, tokens, input_space;
    int max_length;
    char **files;               /* input files (argv's positional arguments); none: stdin */
    int n_files;
    int quiet;                  /* no progress bar */
    struct rstate *st;          /* what the replies so far said */
} ropts;

typedef struct rstate {
    uint64_t tokens;            /* tokens of the texts answered (the replies' "tokens" counts) */
    int demo, demo_said;        /* the pipeline serves a demo model; we said so on stderr */
} rstate;

enum { OUT_SENTENCE, OUT_TOKENS, OUT_INPUT };

/* ---- msgpack -> JSON ------------------------------------------------------------------------- */

static json_t *to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer(o->via.i64);
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64: return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR: return json_stringn_nocheck(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; i < o->via.array.size; i++)
            json_array_append_new(a, to_json(&o->via.array.ptr[i]));
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type == MSGPACK_OBJECT_STR) {
                char key[128];
                snprintf(key, sizeof key, "%.*s", (int)k->via.str.size, k->via.str.ptr);
                json_object_set_new(m, key, to_json(&o->via.map.ptr[i].val));
            }
        }
        return m;
    }
    default: return json_null();
    }
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(j);
}

static void print_error(const char *code, int line, const char *msg)
{
    char full[1024];
    snprintf(full, sizeof full, "line %d: %s", line, msg);
    print_json(json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", full));
}

/* A tensor row as a JSON array of numbers (floats for float32/float16, ints otherwise). */
static json_t *tensor_row(const char *dtype, const unsigned char *p, int cols)
{
    json_t *a = json_array();
    for (int k = 0; k < cols; k++) {
        if (!strcmp(dtype, "float32")) {
            float f;
            memcpy(&f, p + 4 * k, 4);
            json_array_append_new(a, json_real(f));
        } else if (!strcmp(dtype, "float16")) {
            uint16_t h;
            memcpy(&h, p + 2 * k, 2);
            json_array_append_new(a, json_real(zb_f16_to_f32(h)));
        } else if (!strcmp(dtype, "int8")) {
            json_array_append_new(a, json_integer((int8_t)p[k]));
        } else {
            json_array_append_new(a, json_integer(p[k]));
        }
    }
    return a;
}

/* ---- requests -------------------------------------------------------------------------------- */

/* The fields every request starts with (v, id, op, truncation); the caller adds the op's own and
 * closes the map with wire_map_end. */
static void build_head(wire_map *m, msgpack_packer *pk, msgpack_sbuffer *sb, long id, wire_op op, const ropts *o)
{
    wire_map_begin(m, pk, sb);
    wire_map_int(m, "v", WIRE_VERSION);
    wire_map_int(m, "id", id);
    wire_map_str(m, "op", wire_op_name(op));
    wire_map_bool(m, "truncate", o->truncate);
    wire_map_str(m, "truncation_direction", o->left ? "left" : "right");
    if (o->max_length > 0)
        wire_map_int(m, "max_length", o->max_length);
}

static void build(const ropts *o, long id, char **lines, int n, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    wire_op op = !strcmp(o->cmd, "tokenize") ? WIRE_OP_TOKENIZE
                 : !strcmp(o->cmd, "similarity") ? WIRE_OP_SIMILARITY
                 : o->output == OUT_TOKENS ? WIRE_OP_TOKEN_EMBEDDINGS
                 : o->output == OUT_INPUT ? WIRE_OP_INPUT_EMBEDDINGS : WIRE_OP_EMBED;
    wire_map m;
    build_head(&m, &pk, sb, id, op, o);
    if (op == WIRE_OP_SIMILARITY) {
        /* lines are "a<TAB>b"; the caller checked the TAB */
        for (int side = 0; side < 2; side++) {
            wire_map_key(&m, side ? "b" : "a");
            msgpack_pack_array(&pk, n);
            for (int i = 0; i < n; i++) {
                const char *tab = strchr(lines[i], '\t');
                const char *s = side ? tab + 1 : lines[i];
                size_t len = side ? strlen(tab + 1) : (size_t)(tab - lines[i]);
                msgpack_pack_str(&pk, len);
                msgpack_pack_str_body(&pk, s, len);
            }
        }
        if (o->tokens) {
            wire_map_str(&m, "mode", "tokens");
            wire_map_str(&m, "space", o->input_space ? "input" : "output");
        }
    } else {
        wire_map_key(&m, "texts");
        msgpack_pack_array(&pk, n);
        for (int i = 0; i < n; i++)
            wire_pack_str(&pk, lines[i]);
    }
    if (op == WIRE_OP_TOKENIZE)
        wire_map_bool(&m, "add_special_tokens", o->special);
    if (op == WIRE_OP_EMBED) {
        wire_map_str(&m, "dtype", zb_dtype_name((zb_dtype)o->dtype));
        if (o->normalize >= 0)
            wire_map_bool(&m, "normalize", o->normalize);
        if (o->dimensions > 0)
            wire_map_int(&m, "dimensions", o->dimensions);
    }
    wire_map_end(&m);
}

static const msgpack_object *arr_at(const msgpack_object *m, const char *key, int i)
{
    const msgpack_object *a = wire_map_get(m, key);
    if (!a || a->type != MSGPACK_OBJECT_ARRAY || (uint32_t)i >= a->via.array.size)
        return NULL;
    return &a->via.array.ptr[i];
}

/* One output line of a reply: with "demo_model": true when the pipeline serves a generated demo
 * model (the reply says so), as the local commands write it. */
static void emit(const ropts *o, json_t *line)
{
    if (o->st->demo && json_is_object(line))
        json_object_set_new(line, "demo_model", json_true());
    print_json(line);
}

/* Print the n lines of a successful reply. 0, or -1 when the reply does not have the right shape. */
static int print_ok(const ropts *o, const msgpack_object *r, int n)
{
    zb_err err;
    int shape[3], nd;
    const void *data;
    size_t bytes;
    if (!strcmp(o->cmd, "tokenize")) {
        for (int i = 0; i < n; i++) {
            const msgpack_object *res = arr_at(r, "results", i);
            if (!res)
                return -1;
            const msgpack_object *ids = wire_map_get(res, "ids");
            if (!ids || ids->type != MSGPACK_OBJECT_ARRAY)
                return -1;
            json_t *types = json_array(), *mask = json_array();
            for (uint32_t k = 0; k < ids->via.array.size; k++) {
                json_array_append_new(types, json_integer(0));
                json_array_append_new(mask, json_integer(1));
            }
            json_t *line = json_object();
            json_object_set_new(line, "input_ids", to_json(ids));
            json_object_set_new(line, "token_type_ids", types);
            json_object_set_new(line, "attention_mask", mask);
            const msgpack_object *t = wire_map_get(res, "tokens"), *of = wire_map_get(res, "offsets");
            json_object_set_new(line, "tokens", t ? to_json(t) : json_array());
            json_object_set_new(line, "offsets", of ? to_json(of) : json_array());
            emit(o, line);
        }
        return 0;
    }
    if (!strcmp(o->cmd, "similarity")) {
        const msgpack_object *sc = wire_map_get(r, "scores");
        if (!sc || wire_read_tensor(sc, "float32", 4, shape, 2, &nd, &data, &bytes, "scores", &err) ||
            nd != 2)
            return -1;
        const unsigned char *p = data;
        if (o->tokens) {        /* one line per request */
            json_t *rows = json_array();
            for (int a = 0; a < shape[0]; a++)
                json_array_append_new(rows, tensor_row("float32", p + 4 * (size_t)a * shape[1], shape[1]));
            const msgpack_object *pa = wire_map_get(r, "pieces_a"), *pb = wire_map_get(r, "pieces_b");
            emit(o, json_pack("{s:o,s:o,s:o}", "tokens_a", pa ? to_json(pa) : json_array(),
                                 "tokens_b", pb ? to_json(pb) : json_array(), "scores", rows));
            return 0;
        }
        if (shape[0] != n || shape[1] != n)
            return -1;
        for (int i = 0; i < n; i++) {
            float f;
            memcpy(&f, p + 4 * ((size_t)i * n + i), 4);     /* line i is a[i] against b[i] */
            emit(o, json_pack("{s:f}", "similarity", (double)f));
        }
        return 0;
    }
    if (o->output == OUT_SENTENCE) {
        const msgpack_object *e = wire_map_get(r, "embeddings");
        const msgpack_object *dt = e ? wire_map_get(e, "dtype") : NULL;
        char dtype[16];
        if (!dt || dt->type != MSGPACK_OBJECT_STR || dt->via.str.size >= sizeof dtype)
            return -1;
        snprintf(dtype, sizeof dtype, "%.*s", (int)dt->via.str.size, dt->via.str.ptr);
        size_t es = zb_tensor_elem_bytes(dtype);
        if (wire_read_tensor(e, dtype, es, shape, 2, &nd, &data, &bytes, "embeddings", &err) ||
            nd != 2 || shape[0] != n)
            return -1;
        for (int i = 0; i < n; i++)
            emit(o, json_pack("{s:o}", "embedding",
                                 tensor_row(dtype, (const unsigned char *)data + es * (size_t)i * shape[1],
                                            shape[1])));
        return 0;
    }
    for (int i = 0; i < n; i++) {
        const msgpack_object *e = arr_at(r, "embeddings", i), *pc = arr_at(r, "pieces", i);
        if (!e || !pc || wire_read_tensor(e, "float32", 4, shape, 2, &nd, &data, &bytes, "embeddings", &err) ||
            nd != 2)
            return -1;
        json_t *rows = json_array();
        for (int t = 0; t < shape[0]; t++)
            json_array_append_new(rows, tensor_row("float32", (const unsigned char *)data + 4 * (size_t)t * shape[1],
                                                   shape[1]));
        emit(o, json_pack("{s:o,s:o}", "tokens", to_json(pc), "token_embeddings", rows));
    }
    return 0;
}

/* What a successful reply tells beyond its lines: the demo flag (said once on stderr too) and
 * its texts' token counts (for the progress bar). */
static void note_reply(const ropts *o, const msgpack_object *r)
{
    const msgpack_object *demo = wire_map_get(r, "demo_model");
    o->st->demo = demo && demo->type == MSGPACK_OBJECT_BOOLEAN && demo->via.boolean;
    if (o->st->demo && !o->st->demo_said) {
        fprintf(stderr, "zembed %s: the pipeline serves a generated demo model (random weights): its "
                "numbers mean nothing; each line says \"demo_model\": true\n", o->cmd);
        o->st->demo_said = 1;
    }
    static const char *const keys[2][2] = {{"tokens", NULL}, {"tokens_a", "tokens_b"}};
    int sim = !strcmp(o->cmd, "similarity");
    for (int k = 0; k < 2 && keys[sim][k]; k++) {
        const msgpack_object *t = wire_map_get(r, keys[sim][k]);
        for (uint32_t i = 0; t && t->type == MSGPACK_OBJECT_ARRAY && i < t->via.array.size; i++)
            if (t->via.array.ptr[i].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                o->st->tokens += t->via.array.ptr[i].via.u64;
    }
}

/* One batch of lines (first_line is the 1-based number of lines[0]). Returns 0 all printed,
 * 1 some lines failed (printed as error objects), 2 nothing usable came back (stop). */
static int run_batch(cli_conn *c, const ropts *o, char **lines, int n, int first_line)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(o->cmd, "similarity") && !strchr(lines[i], '\t')) {
            if (n > 1)
                goto one_by_one;
            print_error("invalid_argument", first_line, "expected two texts separated by a TAB");
            return 1;
        }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    long id = ++c->next_id;
    build(o, id, lines, n, &sb);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    zmq_msg_t msg;
    int rc = cli_conn_call(c, &sb, id, &up, &msg);
    msgpack_sbuffer_destroy(&sb);
    if (rc) {
        msgpack_unpacked_destroy(&up);
        return 2;
    }
    const msgpack_object *ok = wire_map_get(&up.data, "ok");
    int status = 0;
    if (ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean) {
        note_reply(o, &up.data);
        if (print_ok(o, &up.data, n)) {
            fprintf(stderr, "zembed: %s sent a reply without the expected fields\n", c->endpoint);
            status = 2;
        }
    } else {
        const msgpack_object *e = wire_map_get(&up.data, "error");
        const msgpack_object *code = e ? wire_map_get(e, "code") : NULL, *m = e ? wire_map_get(e, "message") : NULL;
        char cs[40] = "internal", ms[600] = "error reply without a message";
        if (code && code->type == MSGPACK_OBJECT_STR)
            snprintf(cs, sizeof cs, "%.*s", (int)code->via.str.size, code->via.str.ptr);
        if (m && m->type == MSGPACK_OBJECT_STR)
            snprintf(ms, sizeof ms, "%.*s", (int)m->via.str.size, m->via.str.ptr);
        int per_text = !strcmp(cs, "too_long") || !strcmp(cs, "invalid_utf8") ||
                       !strcmp(cs, "invalid_argument") || !strcmp(cs, "out_of_range");
        if (per_text && n > 1) {
            status = -1;
        } else if (!strcmp(cs, "timeout") || !strcmp(cs, "unavailable") || !strcmp(cs, "overloaded")) {
            for (int i = 0; i < n; i++)
                print_error(cs, first_line + i, ms);
            fprintf(stderr, "zembed: %s: %s\n", cs, ms);
            status = 1;
        } else {
            for (int i = 0; i < n; i++)
                print_error(cs, first_line + i, ms);
            status = 1;
        }
    }
    zmq_msg_close(&msg);
    msgpack_unpacked_destroy(&up);
    if (status >= 0)
        return status;
one_by_one:
    status = 0;
    for (int i = 0; i < n; i++) {
        int r = run_batch(c, o, lines + i, 1, first_line + i);
        if (r > status)
            status = r;
        if (r == 2)
            break;
    }
    return status;
}

/* Sends info; prints the reply when print, else returns the model's max_length (or -1). */
static int run_info(cli_conn *c, int print)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    long id = ++c->next_id;
    wire_map m;
    wire_map_begin(&m, &pk, &sb);
    wire_map_int(&m, "v", WIRE_VERSION);
    wire_map_int(&m, "id", id);
    wire_map_str(&m, "op", wire_op_name(WIRE_OP_INFO));
    wire_map_end(&m);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    zmq_msg_t msg;
    int rc = cli_conn_call(c, &sb, id, &up, &msg);
    msgpack_sbuffer_destroy(&sb);
    if (!rc) {
        const msgpack_object *ok = wire_map_get(&up.data, "ok"), *ml = wire_map_get(&up.data, "max_length");
        rc = ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean ? 0 : 1;
        if (print) {
            print_json(to_json(&up.data));
        } else if (rc || !ml || ml->type != MSGPACK_OBJECT_POSITIVE_INTEGER || ml->via.u64 > INT_MAX) {
            fprintf(stderr, "zembed: %s did not say the model's max_length\n", c->endpoint);
            rc = -1;
        } else {
            rc = (int)ml->via.u64;
        }
        zmq_msg_close(&msg);
    } else {
        rc = print ? 2 : -1;
    }
    msgpack_unpacked_destroy(&up);
    return rc;
}

static int model_max_length(cli_conn *c)
{
    return run_info(c, 0);
}

/* ---- flags ----------------------------------------------------------------------------------- */

/* Does argv name flag (exactly, or as "--flag=value")? The command table decides local vs remote
 * before getopt runs. */
static int has_flag(int argc, char **argv, const char *flag)
{
    size_t n = strlen(flag);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strncmp(argv[i], flag, n) && (argv[i][n] == 0 || argv[i][n] == '='))
            return 1;
    }
    return 0;
}

int cli_wants_remote(int argc, char **argv)
{
    if (has_flag(argc, argv, "--endpoint"))
        return 1;
    const char *env = getenv("ZEMBED_ENDPOINT");
    return !has_flag(argc, argv, "--model") && env && *env;
}

int cli_refuse_model(const char *cmd, const char *local_alt, int argc, char **argv)
{
    if (!has_flag(argc, argv, "--model"))
        return 0;
    if (local_alt)
        fprintf(stderr, "zembed %s: there is no local %s: `zembed %s --model DIR` does this work in this "
                "process; `zembed %s --endpoint E` asks a running pipeline\n", cmd, cmd, local_alt, cmd);
    else
        fprintf(stderr, "zembed %s: asks a running pipeline (--endpoint E or $ZEMBED_ENDPOINT) and has "
                "no --model; `make run` or deploy/zembed-up starts one\n", cmd);
    return 1;
}

enum {
    O_ENDPOINT = 0x100, O_TIMEOUT, O_CONNECT_TIMEOUT, O_QUIET, O_BATCH, O_NO_TRUNC, O_SIDE, O_MAXLEN, O_OUTPUT, O_NORM, O_NO_NORM,
    O_DIMS, O_DTYPE, O_NO_SPECIAL, O_TOKENS, O_SPACE,
};

/* Which commands take a flag: a bit per command. */
enum { C_EMBED = 1, C_TOK = 2, C_SIM = 4, C_INFO = 8, C_ALL = 15 };

static const struct { struct option o; int cmds; } remote_flags[] = {
    {{"endpoint", required_argument, NULL, O_ENDPOINT}, C_ALL},
    {{"timeout-ms", required_argument, NULL, O_TIMEOUT}, C_ALL},
    {{"connect-timeout-ms", required_argument, NULL, O_CONNECT_TIMEOUT}, C_ALL},
    {{"quiet", no_argument, NULL, O_QUIET}, C_EMBED | C_TOK | C_SIM},
    {{"batch", required_argument, NULL, O_BATCH}, C_EMBED | C_TOK | C_SIM},
    {{"no-truncate", no_argument, NULL, O_NO_TRUNC}, C_EMBED | C_TOK | C_SIM},
    {{"truncation-side", required_argument, NULL, O_SIDE}, C_EMBED | C_TOK | C_SIM},
    {{"max-length", required_argument, NULL, O_MAXLEN}, C_EMBED | C_TOK | C_SIM},
    {{"output", required_argument, NULL, O_OUTPUT}, C_EMBED},
    {{"normalize", no_argument, NULL, O_NORM}, C_EMBED},
    {{"no-normalize", no_argument, NULL, O_NO_NORM}, C_EMBED},
    {{"dimensions", required_argument, NULL, O_DIMS}, C_EMBED},
    {{"dtype", required_argument, NULL, O_DTYPE}, C_EMBED},
    {{"no-special-tokens", no_argument, NULL, O_NO_SPECIAL}, C_TOK},
    {{"tokens", no_argument, NULL, O_TOKENS}, C_SIM},
    {{"space", required_argument, NULL, O_SPACE}, C_SIM},
};
enum { N_REMOTE_FLAGS = sizeof remote_flags / sizeof remote_flags[0] };

/* parse: argv -> o. ZB_OPT_RUN to go on, else the exit status (--help, --version: 0). */
static int parse_remote(int argc, char **argv, ropts *o)
{
    static const char *const outputs[] = {"sentence", "tokens", "input", NULL};
    static const char *const sides[] = {"right", "left", NULL};
    static const char *const spaces[] = {"output", "input", NULL};
    const char *cmd = o->cmd;
    int bit = !strcmp(cmd, "embed") ? C_EMBED : !strcmp(cmd, "tokenize") ? C_TOK
              : !strcmp(cmd, "similarity") ? C_SIM : C_INFO;
    struct option longopts[N_REMOTE_FLAGS + 3];
    const struct option std[] = {ZB_OPT_STD};
    int n = 0;
    for (int i = 0; i < N_REMOTE_FLAGS; i++)
        if (remote_flags[i].cmds & bit)
            longopts[n++] = remote_flags[i].o;
    memcpy(longopts + n, std, sizeof std);
    char prog[64];
    snprintf(prog, sizeof prog, "zembed %s", cmd);
    zb_opt p = {.prog = prog, .usage = usage_text, .longopts = longopts};
    int c, status, bad = 0;
    while (!bad && (c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        switch (c) {
        case O_ENDPOINT: o->endpoint = optarg; break;
        case O_TIMEOUT: bad = zb_parse_int(prog, "--timeout-ms", optarg, 1, 86400000, &o->timeout_ms); break;
        case O_CONNECT_TIMEOUT:
            bad = zb_parse_int(prog, "--connect-timeout-ms", optarg, 1, 86400000, &o->connect_ms);
            break;
        case O_BATCH: bad = zb_parse_int(prog, "--batch", optarg, 1, 1 << 20, &o->batch); break;
        case O_NO_TRUNC: o->truncate = 0; break;
        case O_QUIET: o->quiet = 1; break;
        case O_SIDE: bad = zb_opt_choice(prog, "--truncation-side", optarg, sides, &o->left); break;
        case O_MAXLEN: bad = zb_parse_int(prog, "--max-length", optarg, 1, 1 << 20, &o->max_length); break;
        case O_OUTPUT: bad = zb_opt_choice(prog, "--output", optarg, outputs, &o->output); break;
        case O_NORM: o->normalize = 1; break;
        case O_NO_NORM: o->normalize = 0; break;
        case O_DIMS: bad = zb_parse_int(prog, "--dimensions", optarg, 1, 1 << 20, &o->dimensions); break;
        case O_DTYPE: bad = zb_opt_choice(prog, "--dtype", optarg, zb_dtype_names, &o->dtype); break;
        case O_NO_SPECIAL: o->special = 0; break;
        case O_TOKENS: o->tokens = 1; break;
        case O_SPACE: bad = zb_opt_choice(prog, "--space", optarg, spaces, &o->input_space); break;
        default: return status;
        }
    }
    if (bad)
        return 2;
    o->files = argv + optind;
    o->n_files = argc - optind;
    if (bit == C_INFO && o->n_files) {
        fprintf(stderr, "zembed info: takes no input, not '%s'\n", o->files[0]);
        return 2;
    }
    if ((o->dimensions || o->dtype) && o->output != OUT_SENTENCE) {
        fprintf(stderr, "zembed %s: --dimensions and --dtype apply to sentence embeddings only\n", cmd);
        return 2;
    }
    if (o->input_space && !o->tokens) {
        fprintf(stderr, "zembed similarity: --space needs --tokens\n");
        return 2;
    }
    return ZB_OPT_RUN;
}

/* run: the lines of the input files (or stdin), batch by batch. */
static int run_lines(cli_conn *c, ropts *o)
{
    zb_err err;
    zb_input *in = zb_input_open(o->files, o->n_files, 0, &err);
    if (!in) {
        fprintf(stderr, "zembed %s: %s\n", o->cmd, err.msg);
        return 2;
    }
    int batch = o->tokens ? 1 : o->batch;      /* token-by-token similarity: one pair per request */
    char **lines = calloc(batch, sizeof *lines);
    char label[48];
    snprintf(label, sizeof label, "zembed %s", o->cmd);
    zb_progress *bar = zb_progress_new(&(zb_progress_opts){.label = label, .fd = 2, .quiet = o->quiet,
                                                           .total = zb_input_bytes_total(in)});
    int n = 0, line_no = 0, status = 0, nul = 0, more = 1;
    char *buf;
    size_t len;
    while (lines && status < 2 && more) {
        if (ferror(stdout)) {           /* the output is gone: asking for more is wasted work */
            status = 2;
            break;
        }
        more = zb_input_line(in, &buf, &len, NULL, &err);
        if (more < 0) {
            fprintf(stderr, "zembed %s: %s\n", o->cmd, err.msg);
            status = 2;
            break;
        }
        if (more) {
            while (len > 0 && buf[len - 1] == '\r')
                buf[--len] = 0;
            nul = memchr(buf, 0, len) != NULL;  /* C strings cannot carry it: the line is bad */
            if (!nul && !(lines[n] = strdup(buf))) {
                fprintf(stderr, "zembed %s: out of memory\n", o->cmd);
                status = 2;
                break;
            }
            n += !nul;
        }
        if (n && (n == batch || !more || nul)) {
            int r = run_batch(c, o, lines, n, line_no + 1);
            status = r > status ? r : status;
            line_no += n;
            zb_progress_update(bar, zb_input_bytes_done(in), (uint64_t)line_no, o->st->tokens);
            for (int i = 0; i < n; i++)
                free(lines[i]);
            n = 0;
        }
        if (nul) {
            print_error("invalid_argument", ++line_no, "the line contains a NUL byte");
            status = status > 1 ? status : 1;
            nul = 0;
        }
    }
    zb_progress_end(&bar);
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    zb_input_destroy(&in);
    return status;
}

int cli_remote(int argc, char **argv)
{
    rstate st = {0};
    ropts o = {.cmd = argv[0], .batch = 32, .truncate = 1, .normalize = -1, .special = 1, .st = &st,
               .timeout_ms = 30000, .connect_ms = CLI_CONNECT_MS, .endpoint = getenv("ZEMBED_ENDPOINT")};
    if (!o.endpoint || !*o.endpoint)
        o.endpoint = SVC_DEFAULT_ENDPOINT;
    int rc = parse_remote(argc, argv, &o);
    if (rc != ZB_OPT_RUN)
        return rc;
    cli_conn c = {0};
    if (cli_conn_open(&c, o.endpoint, o.timeout_ms, o.connect_ms)) {
        cli_conn_close(&c);
        return 2;
    }
    if (!strcmp(o.cmd, "tokenize") && !o.truncate && !o.max_length) {
        /* the protocol's tokenize without truncation has no limit; the local command's limit is
         * the model's max length, so ask for it */
        if ((o.max_length = model_max_length(&c)) < 0) {
            cli_conn_close(&c);
            return 2;
        }
    }
    rc = !strcmp(o.cmd, "info") ? run_info(&c, 1) : run_lines(&c, &o);
    cli_conn_close(&c);
    int werr = cli_flush_stdout(o.cmd);    /* exit 2 into a full disk, as the local commands */
    return werr > rc ? werr : rc;
}

/* ---- numbers for other commands (similarity --level, eval sts) ------------------------------- */

/* One request already packed in sb; the reply's map in *up (0), or 2 after saying why on stderr
 * (an error reply is printed with its code and message). */
static int call_ok(cli_conn *c, msgpack_sbuffer *sb, long id, msgpack_unpacked *up, zmq_msg_t *msg)
{
    if (cli_conn_call(c, sb, id, up, msg))
        return 2;
    const msgpack_object *ok = wire_map_get(&up->data, "ok");
    if (ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean)
        return 0;
    const msgpack_object *e = wire_map_get(&up->data, "error");
    const msgpack_object *code = e ? wire_map_get(e, "code") : NULL, *m = e ? wire_map_get(e, "message") : NULL;
    fprintf(stderr, "zembed: %s answered %.*s: %.*s\n", c->endpoint,
            code && code->type == MSGPACK_OBJECT_STR ? (int)code->via.str.size : 8,
            code && code->type == MSGPACK_OBJECT_STR ? code->via.str.ptr : "an error",
            m && m->type == MSGPACK_OBJECT_STR ? (int)m->via.str.size : 0,
            m && m->type == MSGPACK_OBJECT_STR ? m->via.str.ptr : "");
    zmq_msg_close(msg);
    return 2;
}

static void pack_texts(wire_map *m, msgpack_packer *pk, const char *key, const char *const *s, int n)
{
    wire_map_key(m, key);
    msgpack_pack_array(pk, n);
    for (int i = 0; i < n; i++)
        wire_pack_str(pk, s[i]);
}

/* A str array of the reply as malloc'd C strings (n of them), or NULL. */
static char **str_list(const msgpack_object *a, int n)
{
    if (!a || a->type != MSGPACK_OBJECT_ARRAY || (int)a->via.array.size != n)
        return NULL;
    char **out = calloc((size_t)n + 1, sizeof *out);
    for (int i = 0; out && i < n; i++) {
        const msgpack_object *s = &a->via.array.ptr[i];
        if (s->type != MSGPACK_OBJECT_STR || !(out[i] = strndup(s->via.str.ptr, s->via.str.size))) {
            cli_free_strings(out, n);
            return NULL;
        }
    }
    return out;
}

void cli_free_strings(char **s, int n)
{
    for (int i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

int cli_remote_embed(const char *endpoint, int timeout_ms, const char *const *texts, int n, int batch,
                     float **vecs, int *dim)
{
    rstate st = {0};
    ropts o = {.cmd = "embed", .truncate = 1, .normalize = -1, .st = &st};
    cli_conn c = {0};
    int status = 0;
    *vecs = NULL;
    *dim = 0;
    if (cli_conn_open(&c, endpoint, timeout_ms, CLI_CONNECT_MS)) {
        cli_conn_close(&c);
        return 2;
    }
    for (int i0 = 0; i0 < n && !status; i0 += batch) {
        int m = n - i0 < batch ? n - i0 : batch;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        long id = ++c.next_id;
        build(&o, id, (char **)texts + i0, m, &sb);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        zmq_msg_t msg;
        status = call_ok(&c, &sb, id, &up, &msg);
        msgpack_sbuffer_destroy(&sb);
        if (!status) {
            const msgpack_object *e = wire_map_get(&up.data, "embeddings");
            int shape[2], nd;
            const void *data;
            size_t bytes;
            zb_err err;
            if (!e || wire_read_tensor(e, "float32", 4, shape, 2, &nd, &data, &bytes, "embeddings", &err) ||
                nd != 2 || shape[0] != m || (*dim && shape[1] != *dim)) {
                fprintf(stderr, "zembed: %s sent embeddings of an unexpected shape\n", endpoint);
                status = 2;
            } else {
                if (!*vecs) {
                    *dim = shape[1];
                    *vecs = malloc((size_t)n * (size_t)*dim * sizeof **vecs);
                }
                if (!*vecs) {
                    fprintf(stderr, "zembed: out of memory for %d embeddings\n", n);
                    status = 2;
                } else {
                    memcpy(*vecs + (size_t)i0 * *dim, data, (size_t)m * *dim * sizeof **vecs);
                }
            }
            zmq_msg_close(&msg);
        }
        msgpack_unpacked_destroy(&up);
    }
    cli_conn_close(&c);
    if (status) {
        free(*vecs);
        *vecs = NULL;
    }
    return status;
}

int cli_remote_similarity(const char *endpoint, int timeout_ms, const char *const *a, int na,
                          const char *const *b, int nb, int tokens, int input_space, cli_matrix *out)
{
    rstate st = {0};
    ropts o = {.truncate = 1, .st = &st};
    cli_conn c = {0};
    memset(out, 0, sizeof *out);
    if (cli_conn_open(&c, endpoint, timeout_ms, CLI_CONNECT_MS)) {
        cli_conn_close(&c);
        return 2;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    long id = ++c.next_id;
    wire_map m;
    build_head(&m, &pk, &sb, id, WIRE_OP_SIMILARITY, &o);
    pack_texts(&m, &pk, "a", a, na);
    pack_texts(&m, &pk, "b", b, nb);
    if (tokens) {
        wire_map_str(&m, "mode", "tokens");
        wire_map_str(&m, "space", input_space ? "input" : "output");
    }
    wire_map_end(&m);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    zmq_msg_t msg;
    int status = call_ok(&c, &sb, id, &up, &msg);
    msgpack_sbuffer_destroy(&sb);
    if (!status) {
        const msgpack_object *sc = wire_map_get(&up.data, "scores");
        int shape[2], nd;
        const void *data;
        size_t bytes;
        zb_err err;
        if (!sc || wire_read_tensor(sc, "float32", 4, shape, 2, &nd, &data, &bytes, "scores", &err) || nd != 2 ||
            (!tokens && (shape[0] != na || shape[1] != nb)) ||
            !(out->v = malloc((size_t)shape[0] * shape[1] * sizeof *out->v + 1))) {
            fprintf(stderr, "zembed: %s sent scores of an unexpected shape\n", endpoint);
            status = 2;
        } else {
            out->rows = shape[0];
            out->cols = shape[1];
            const msgpack_object *demo = wire_map_get(&up.data, "demo_model");
            out->demo = demo && demo->type == MSGPACK_OBJECT_BOOLEAN && demo->via.boolean;
            memcpy(out->v, data, (size_t)shape[0] * shape[1] * sizeof *out->v);
            if (tokens && (!(out->row_labels = str_list(wire_map_get(&up.data, "pieces_a"), out->rows)) ||
                           !(out->col_labels = str_list(wire_map_get(&up.data, "pieces_b"), out->cols)))) {
                fprintf(stderr, "zembed: %s sent token similarity without the token strings\n", endpoint);
                status = 2;
            }
        }
        zmq_msg_close(&msg);
    }
    msgpack_unpacked_destroy(&up);
    cli_conn_close(&c);
    if (status)
        cli_matrix_free(out);
    return status;
}

void cli_matrix_free(cli_matrix *m)
{
    free(m->v);
    cli_free_strings(m->row_labels, m->rows);
    cli_free_strings(m->col_labels, m->cols);
    memset(m, 0, sizeof *m);
}
