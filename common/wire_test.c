/* Unit tests of the wire format: the bounded pre-check, request validation (every message names
 * the field and the limit), tensor alignment and stage-job round trips. */
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "zb_test.h"

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} mp;

static void mp_init(mp *m)
{
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void kv_str(mp *m, const char *k, const char *v)
{
    wire_pack_str(&m->pk, k);
    wire_pack_str(&m->pk, v);
}

static void kv_int(mp *m, const char *k, long long v)
{
    wire_pack_str(&m->pk, k);
    msgpack_pack_long_long(&m->pk, v);
}

/* {v:1, id:"r1", op, texts:[...]} plus `extra` more pairs the caller packs after. */
static void req_head(mp *m, const char *op, const char *const *texts, int n, int extra)
{
    msgpack_pack_map(&m->pk, 3 + (texts ? 1 : 0) + extra);
    kv_int(m, "v", 1);
    kv_str(m, "id", "r1");
    kv_str(m, "op", op);
    if (texts) {
        wire_pack_str(&m->pk, "texts");
        msgpack_pack_array(&m->pk, n);
        for (int i = 0; i < n; i++)
            wire_pack_str(&m->pk, texts[i]);
    }
}

static const wire_limits lim = {4, 16, 5000};

static int parse(mp *m, wire_req *r, zb_err *err)
{
    int known;
    return wire_req_parse(m->sb.data, m->sb.size, &lim, r, &known, err);
}

static void test_check_rejects_lies_and_depth(void)
{
    zb_err err;
    /* array32 declaring 2^32-1 items in a 5-byte frame */
    const unsigned char huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    ZT_CHECK_EQ_INT(wire_check(huge, sizeof huge, 16, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "declares 4294967295 items") != NULL);
    const unsigned char bin[] = {0xc6, 0x7f, 0xff, 0xff, 0xff, 1, 2};
    ZT_CHECK_EQ_INT(wire_check(bin, sizeof bin, 16, &err), ZB_EFORMAT);
    const unsigned char c1[] = {0xc1};
    ZT_CHECK_EQ_INT(wire_check(c1, 1, 16, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "0xc1") != NULL);
    const unsigned char trailing[] = {0x01, 0x02};
    ZT_CHECK_EQ_INT(wire_check(trailing, 2, 16, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "trailing") != NULL);
    ZT_CHECK_EQ_INT(wire_check(trailing, 0, 16, &err), ZB_EFORMAT);
    unsigned char deep[40];
    for (int i = 0; i < 39; i++)
        deep[i] = 0x91;                    /* [[[[...]]]] */
    deep[39] = 0x00;
    ZT_CHECK_EQ_INT(wire_check(deep, 40, 16, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "nesting deeper than 16") != NULL);
    ZT_CHECK_EQ_INT(wire_check(deep + 30, 10, 16, &err), ZB_OK);
    /* every type of a valid message passes */
    mp m;
    mp_init(&m);
    msgpack_pack_array(&m.pk, 9);
    msgpack_pack_nil(&m.pk);
    msgpack_pack_true(&m.pk);
    msgpack_pack_int64(&m.pk, -5000000000LL);
    msgpack_pack_uint64(&m.pk, 5000000000ULL);
    msgpack_pack_double(&m.pk, 1.5);
    msgpack_pack_float(&m.pk, 1.5f);
    msgpack_pack_bin(&m.pk, 300);
    char zeros[300] = {0};
    msgpack_pack_bin_body(&m.pk, zeros, 300);
    msgpack_pack_ext(&m.pk, 4, 1);
    msgpack_pack_ext_body(&m.pk, "abcd", 4);
    msgpack_pack_map(&m.pk, 0);
    ZT_CHECK_EQ_INT(wire_check(m.sb.data, m.sb.size, 16, &err), ZB_OK);
    /* and every strict prefix of it is refused */
    for (size_t cut = 0; cut < m.sb.size; cut++)
        ZT_CHECK_EQ_INT(wire_check(m.sb.data, cut, 16, NULL), ZB_EFORMAT);
    msgpack_sbuffer_destroy(&m.sb);
}

static void test_embed_defaults_and_options(void)
{
    const char *texts[] = {"hello", "world"};
    mp m;
    mp_init(&m);
    req_head(&m, "embed", texts, 2, 4);
    wire_pack_str(&m.pk, "normalize");
    msgpack_pack_false(&m.pk);
    kv_int(&m, "dimensions", 8);
    kv_str(&m, "dtype", "ubinary");
    kv_str(&m, "truncation_direction", "left");
    wire_req r;
    zb_err err;
    ZT_CHECK_EQ_INT(parse(&m, &r, &err), ZB_OK);
    ZT_CHECK_EQ_INT(r.op, WIRE_OP_EMBED);
    ZT_CHECK_EQ_INT(r.n, 2);
    ZT_CHECK(r.text_lens[1] == 5 && !memcmp(r.texts[1], "world", 5));
    ZT_CHECK_EQ_INT(r.opt.truncate, 1);
    ZT_CHECK_EQ_INT(r.opt.left, 1);
    ZT_CHECK_EQ_INT(r.opt.normalize, 0);
    ZT_CHECK_EQ_INT(r.opt.dimensions, 8);
    ZT_CHECK_EQ_INT(r.opt.dtype, ZB_DT_UBINARY);
    /* the id is kept as its msgpack bytes: fixstr "r1" */
    ZT_CHECK_EQ_INT(r.id.len, 3);
    ZT_CHECK(r.id.raw[0] == 0xa2 && r.id.raw[1] == 'r');
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&m.sb);

    mp_init(&m);
    req_head(&m, "tokenize", texts, 1, 1);
    kv_int(&m, "max_length", 16);
    ZT_CHECK_EQ_INT(parse(&m, &r, &err), ZB_OK);
    ZT_CHECK_EQ_INT(r.opt.max_length, 16);
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&m.sb);

    mp_init(&m);
    req_head(&m, "tokenize", texts, 1, 0);
    ZT_CHECK_EQ_INT(parse(&m, &r, &err), ZB_OK);
    ZT_CHECK_EQ_INT(r.opt.truncate, 0);     /* tokenize counts long texts by default */
    ZT_CHECK_EQ_INT(r.opt.normalize, -1);
    ZT_CHECK_EQ_INT(r.opt.add_special, 1);
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&m.sb);
}

/* Builds a one-extra-field embed request and checks the error code and a piece of its message. */
static void expect_error(const char *op, const char *const *texts, int n, const char *key,
                         int kind, long long iv, const char *sv, int code, const char *needle)
{
    mp m;
    mp_init(&m);
    req_head(&m, op, texts, n, key ? 1 : 0);
    if (key && kind == 0)
        kv_int(&m, key, iv);
    else if (key && kind == 1)
        kv_str(&m, key, sv);
    else if (key) {
        wire_pack_str(&m.pk, key);
        msgpack_pack_array(&m.pk, 0);
    }
    wire_req r;
    zb_err err;
    int rc = parse(&m, &r, &err);
    ZT_CHECK_EQ_INT(rc, code);
    if (rc && !strstr(err.msg, needle))
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err.msg, needle);
    ZT_CHECK(rc == 0 || strstr(err.msg, needle) != NULL);
    ZT_CHECK(r.id.len == 3);                /* errors still echo the id */
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&m.sb);
}

static void test_request_errors_name_field_and_limit(void)
{
    const char *one[] = {"a"}, *five[] = {"a", "b", "c", "d", "e"}, *big[] = {"a", "0123456789abcdefX"};
    expect_error("embed", five, 5, NULL, 0, 0, NULL, ZB_ETOOLONG, "texts has 5 texts; max_texts is 4");
    expect_error("embed", big, 2, NULL, 0, 0, NULL, ZB_ETOOLONG, "texts[1] has 17 bytes; max_text_bytes is 16");
    expect_error("embed", NULL, 0, NULL, 0, 0, NULL, ZB_EINVAL, "texts: missing");
    expect_error("embed", one, 1, "dimensions", 0, 0, NULL, ZB_ERANGE, "dimensions: 0 is outside 1..");
    expect_error("embed", one, 1, "dtype", 1, 0, "int4", ZB_EINVAL, "dtype: \"int4\" is not one of");
    expect_error("embed", one, 1, "max_length", 0, 0, NULL, ZB_ERANGE, "max_length: 0 is outside 1..");
    expect_error("embed", one, 1, "colour", 1, 0, "red", ZB_EINVAL, "colour: not an argument of op \"embed\"");
    expect_error("tokenize", one, 1, "dimensions", 0, 3, NULL, ZB_EINVAL, "not an argument of op \"tokenize\"");
    expect_error("embed", one, 1, "truncate", 0, 1, NULL, ZB_EINVAL, "truncate: expected bool, got int");
    expect_error("embed", one, 1, "timeout_ms", 0, 999999, NULL, ZB_EINVAL, "timeout_ms: 999999 is outside 1..5000");
    expect_error("fly", one, 1, NULL, 0, 0, NULL, ZB_EUNSUPPORTED, "op: \"fly\" is not an operation");
    expect_error("similarity", NULL, 0, "a", 2, 0, NULL, ZB_EINVAL, "b: missing");

    /* texts[1] of the wrong type, v missing, v = 2 */
    mp m;
    mp_init(&m);
    msgpack_pack_map(&m.pk, 4);
    kv_int(&m, "v", 1);
    kv_str(&m, "op", "embed");
    kv_int(&m, "id", -7);
    wire_pack_str(&m.pk, "texts");
    msgpack_pack_array(&m.pk, 2);
    wire_pack_str(&m.pk, "x");
    msgpack_pack_int(&m.pk, 3);
    wire_req r;
    zb_err err;
    ZT_CHECK_EQ_INT(parse(&m, &r, &err), ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "texts[1]: expected str, got int") != NULL);
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&m.sb);

    mp_init(&m);
    msgpack_pack_map(&m.pk, 1);
    kv_str(&m, "op", "info");
    int known;
    ZT_CHECK_EQ_INT(wire_req_parse(m.sb.data, m.sb.size, &lim, &r, &known, &err), ZB_EINVAL);
    ZT_CHECK(known && strstr(err.msg, "v: missing") != NULL);
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&m.sb);

    mp_init(&m);
    msgpack_pack_map(&m.pk, 2);
    kv_int(&m, "v", 2);
    kv_str(&m, "op", "info");
    ZT_CHECK_EQ_INT(parse(&m, &r, &err), ZB_EUNSUPPORTED);
    ZT_CHECK(strstr(err.msg, "version 2 is not supported") != NULL);
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&m.sb);

    /* not a map at all */
    mp_init(&m);
    msgpack_pack_array(&m.pk, 0);
    ZT_CHECK_EQ_INT(parse(&m, &r, &err), ZB_EFORMAT);
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&m.sb);
}

static void test_similarity_modes(void)
{
    mp m;
    mp_init(&m);
    msgpack_pack_map(&m.pk, 6);
    kv_int(&m, "v", 1);
    kv_str(&m, "op", "similarity");
    wire_pack_str(&m.pk, "a");
    msgpack_pack_array(&m.pk, 1);
    wire_pack_str(&m.pk, "x");
    wire_pack_str(&m.pk, "b");
    msgpack_pack_array(&m.pk, 2);
    wire_pack_str(&m.pk, "y");
    wire_pack_str(&m.pk, "z");
    kv_str(&m, "mode", "tokens");
    kv_str(&m, "space", "input");
    wire_req r;
    zb_err err;
    ZT_CHECK_EQ_INT(parse(&m, &r, &err), ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "exactly one text in a and one in b, got 2") != NULL);
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&m.sb);

    mp_init(&m);
    msgpack_pack_map(&m.pk, 4);
    kv_int(&m, "v", 1);
    kv_str(&m, "op", "similarity");
    wire_pack_str(&m.pk, "a");
    msgpack_pack_array(&m.pk, 1);
    wire_pack_str(&m.pk, "x");
    wire_pack_str(&m.pk, "b");
    msgpack_pack_array(&m.pk, 2);
    wire_pack_str(&m.pk, "y");
    wire_pack_str(&m.pk, "z");
    ZT_CHECK_EQ_INT(parse(&m, &r, &err), ZB_OK);
    ZT_CHECK_EQ_INT(r.n, 3);
    ZT_CHECK_EQ_INT(r.na, 1);
    ZT_CHECK(r.text_lens[2] == 1 && r.texts[2][0] == 'z');
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&m.sb);
}

static void test_tensor_data_is_aligned(void)
{
    for (int lead = 0; lead < 24; lead++) {
        for (int n = 0; n < 70; n += 7) {
            mp m;
            mp_init(&m);
            msgpack_pack_array(&m.pk, 2);
            msgpack_pack_str(&m.pk, lead);        /* shifts where the tensor starts */
            msgpack_pack_str_body(&m.pk, "........................", lead);
            float v[70];
            for (int i = 0; i < n; i++)
                v[i] = (float)i * 0.5f;
            int shape[2] = {n, 1};
            wire_pack_tensor(&m.pk, &m.sb, "float32", shape, 2, v, sizeof(float) * n);
            msgpack_unpacked up;
            msgpack_unpacked_init(&up);
            size_t off = 0;
            ZT_CHECK(msgpack_unpack_next(&up, m.sb.data, m.sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
            const void *data;
            size_t bytes;
            int sh[2], nd;
            zb_err err;
            ZT_CHECK_EQ_INT(wire_read_tensor(&up.data.via.array.ptr[1], "float32", 4, sh, 2, &nd,
                                             &data, &bytes, "t", &err), ZB_OK);
            if (n)      /* an empty bin's pointer means nothing */
                ZT_CHECK_EQ_INT((const char *)data - m.sb.data, ((const char *)data - m.sb.data) / 8 * 8);
            ZT_CHECK(nd == 2 && sh[0] == n && bytes == sizeof(float) * n);
            ZT_CHECK(n == 0 || !memcmp(data, v, bytes));
            ZT_CHECK_EQ_INT(wire_read_tensor(&up.data.via.array.ptr[1], "int32", 4, sh, 2, &nd,
                                             &data, &bytes, "t", &err), ZB_EFORMAT);
            msgpack_unpacked_destroy(&up);
            msgpack_sbuffer_destroy(&m.sb);
        }
    }
}

static void test_job_round_trip_and_lies(void)
{
    wire_job a, b;
    wire_job_init(&a);
    a.j = 0x123456789ULL;
    a.op = WIRE_OP_SIMILARITY;
    a.opt.tokens_mode = 1;
    a.opt.dimensions = 7;
    a.opt.max_length = 300;
    a.n = 2;
    a.na = 1;
    a.id.raw[0] = 0x2a;                     /* positive fixint 42 */
    a.id.len = 1;
    int32_t lens[2] = {2, 3}, ids[5] = {101, 7, 102, 101, 102};
    float hid[10];
    for (int i = 0; i < 10; i++)
        hid[i] = (float)i - 3.25f;
    a.lens = lens;
    a.ids = ids;
    a.n_ids = 5;
    a.hidden = hid;
    a.hidden_dim = 2;
    char *pieces[5] = {"[CLS]", "x", "[SEP]", "[CLS]", "[SEP]"};
    a.pieces = pieces;
    wire_job_info_str(&a, "w_encoder", "1@h");
    wire_job_info_int(&a, "hidden", 2);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    wire_job_pack(&a, &sb);
    zb_err err;
    ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_OK);
    ZT_CHECK(b.j == a.j && b.op == a.op && b.n == 2 && b.na == 1 && b.n_ids == 5);
    ZT_CHECK(b.opt.tokens_mode == 1 && b.opt.dimensions == 7 && b.opt.normalize == -1);
    ZT_CHECK(b.opt.max_length == 300);
    ZT_CHECK(b.id.len == 1 && b.id.raw[0] == 0x2a);
    ZT_CHECK(!memcmp(b.lens, lens, sizeof lens) && !memcmp(b.ids, ids, sizeof ids));
    ZT_CHECK(b.hidden_dim == 2 && !memcmp(b.hidden, hid, sizeof hid));
    ZT_CHECK(b.pieces && !strcmp(b.pieces[1], "x") && !strcmp(b.pieces[4], "[SEP]"));
    ZT_CHECK(b.n_info == 2 && !strcmp(b.info[0].s, "1@h") && b.info[1].i == 2);
    wire_job_free(&b);
    /* every strict prefix is refused without a leak or a crash */
    for (size_t cut = 0; cut < sb.size; cut += 3)
        ZT_CHECK(wire_job_unpack(sb.data, cut, &b, NULL) != ZB_OK);
    msgpack_sbuffer_destroy(&sb);

    /* lens that do not add up to the ids: refused, naming both */
    lens[1] = 4;
    a.hidden = NULL;
    a.pieces = NULL;
    msgpack_sbuffer_init(&sb);
    wire_job_pack(&a, &sb);
    ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "5 ids but lens add up to 6") != NULL);
    ZT_CHECK(b.j == a.j);                   /* still known, for the error reply */
    msgpack_sbuffer_destroy(&sb);
}

/* A valid embed job of two texts (5 ids), packed. */
static void pack_small_job(wire_job *a, int32_t *lens, int32_t *ids, msgpack_sbuffer *sb)
{
    wire_job_init(a);
    a->j = 77;
    a->op = WIRE_OP_EMBED;
    a->n = 2;
    lens[0] = 3;
    lens[1] = 2;
    for (int i = 0; i < 5; i++)
        ids[i] = 100 + i;
    a->lens = lens;
    a->ids = ids;
    a->n_ids = 5;
    msgpack_sbuffer_init(sb);
    wire_job_pack(a, sb);
}

/* The reported aborts: options a stage would assert on are refused when the job is decoded. */
static void test_job_options_validated(void)
{
    static const struct { int idx, val; const char *name; } bad[] = {
        {3, -1, "dimensions"}, {4, -1, "dtype"}, {4, ZB_DT_COUNT, "dtype"}, {2, 2, "normalize"},
        {0, -1, "truncate"}, {9, -1, "max_length"}, {7, 2, "tokens_mode"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        wire_job a, b;
        int32_t lens[2], ids[5];
        msgpack_sbuffer sb;
        pack_small_job(&a, lens, ids, &sb);
        int ov[10] = {1, 0, -1, 0, 0, 1, 0, 0, 0, 0};
        ov[bad[k].idx] = bad[k].val;
        /* re-pack "o" by hand: wire_job_pack only writes what a wire_opts holds */
        a.opt = (wire_opts){ov[0], ov[1], ov[2], ov[3], ov[4], ov[5], ov[6], ov[7], ov[8], ov[9]};
        msgpack_sbuffer_clear(&sb);
        wire_job_pack(&a, &sb);
        zb_err err;
        ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_EFORMAT);
        ZT_CHECK(strstr(err.msg, bad[k].name) != NULL);
        ZT_CHECK(b.j == 77);                /* known, so the stage can answer with an error */
        wire_job_free(&b);
        msgpack_sbuffer_destroy(&sb);
    }
    /* ops that never travel between stages, and na that does not fit the op */
    wire_job a, b;
    int32_t lens[2], ids[5];
    msgpack_sbuffer sb;
    pack_small_job(&a, lens, ids, &sb);
    const struct { int op, na, tokens_mode; } lie[] = {
        {WIRE_OP_TOKENIZE, 0, 0}, {WIRE_OP_HEALTH, 0, 0}, {WIRE_OP_EMBED, 1, 0},
        {WIRE_OP_SIMILARITY, 0, 0}, {WIRE_OP_SIMILARITY, 2, 0},
    };
    for (size_t k = 0; k < sizeof lie / sizeof lie[0]; k++) {
        a.op = lie[k].op;
        a.na = lie[k].na;
        msgpack_sbuffer_clear(&sb);
        wire_job_pack(&a, &sb);
        ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, NULL), ZB_EFORMAT);
        wire_job_free(&b);
    }
    a.op = WIRE_OP_SIMILARITY;          /* the valid case still passes */
    a.na = 1;
    msgpack_sbuffer_clear(&sb);
    wire_job_pack(&a, &sb);
    ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, NULL), ZB_OK);
    wire_job_free(&b);
    msgpack_sbuffer_destroy(&sb);
}

/* Which stage takes what: the encoder refuses hidden states it would overwrite (they leaked), the
 * pooler needs them at the model's width, with tokens in every text. */
static void test_job_accept_per_stage(void)
{
    wire_job a, b;
    int32_t lens[2], ids[5];
    msgpack_sbuffer sb;
    pack_small_job(&a, lens, ids, &sb);
    const wire_stage_limits slim = {.hidden = 4, .max_position = 8, .max_job_tokens = 100};
    zb_err err;
    ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_OK);
    ZT_CHECK_EQ_INT(wire_job_accept(&b, WIRE_STAGE_ENCODER, &slim, &err), ZB_OK);
    ZT_CHECK_EQ_INT(wire_job_accept(&b, WIRE_STAGE_POOLER, &slim, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "hidden states missing") != NULL);
    const wire_stage_limits tiny = {.hidden = 4, .max_position = 8, .max_job_tokens = 4};
    ZT_CHECK_EQ_INT(wire_job_accept(&b, WIRE_STAGE_ENCODER, &tiny, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "at most 4") != NULL);
    wire_job_free(&b);

    float hid[5 * 4] = {0};
    a.hidden = hid;
    for (int width = 3; width <= 4; width++) {
        a.hidden_dim = width;
        msgpack_sbuffer_clear(&sb);
        wire_job_pack(&a, &sb);
        ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_OK);
        ZT_CHECK_EQ_INT(wire_job_accept(&b, WIRE_STAGE_ENCODER, &slim, &err), ZB_EFORMAT);
        ZT_CHECK(strstr(err.msg, "already present") != NULL);
        ZT_CHECK_EQ_INT(wire_job_accept(&b, WIRE_STAGE_POOLER, &slim, &err), width == 4 ? ZB_OK : ZB_EFORMAT);
        wire_job_free(&b);
    }
    lens[0] = 0;                        /* a text without tokens: the pooler would divide by 0 */
    lens[1] = 5;
    msgpack_sbuffer_clear(&sb);
    wire_job_pack(&a, &sb);
    ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_OK);
    ZT_CHECK_EQ_INT(wire_job_accept(&b, WIRE_STAGE_POOLER, &slim, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "lens[0] = 0") != NULL);
    wire_job_free(&b);
    msgpack_sbuffer_destroy(&sb);
}

/* A frame of one-byte items is refused before msgpack-c turns each into a 24-byte object. */
static void test_unpack_bounds_objects(void)
{
    size_t n = 1 << 20;
    unsigned char *buf = calloc(n + 5, 1);
    ZT_CHECK(buf != NULL);
    if (!buf)
        return;
    buf[0] = 0xdd;                      /* array32 of n zeros */
    buf[1] = (unsigned char)(n >> 24);
    buf[2] = (unsigned char)(n >> 16);
    buf[3] = (unsigned char)(n >> 8);
    buf[4] = (unsigned char)n;
    zb_err err;
    ZT_CHECK_EQ_INT(wire_check(buf, n + 5, WIRE_MAX_DEPTH, &err), ZB_OK);  /* well-formed */
    msgpack_unpacked up;
    ZT_CHECK_EQ_INT(wire_unpack_checked(buf, n + 5, &up, "job", &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "objects") != NULL);
    msgpack_unpacked_destroy(&up);
    wire_job job;
    ZT_CHECK_EQ_INT(wire_job_unpack(buf, n + 5, &job, &err), ZB_EFORMAT);
    wire_job_free(&job);
    free(buf);
}

static void test_tok_job_and_error_reply(void)
{
    const char *texts[] = {"hi"};
    mp m;
    mp_init(&m);
    req_head(&m, "embed", texts, 1, 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    wire_pack_tok_job(&sb, 99, m.sb.data, m.sb.size);
    uint64_t j;
    int64_t deadline_ms;
    wire_req r;
    int known;
    zb_err err;
    ZT_CHECK_EQ_INT(wire_unpack_tok_job(sb.data, sb.size, &j, &deadline_ms, &r, &known, &err), ZB_OK);
    ZT_CHECK(j == 99 && r.n == 1 && r.text_lens[0] == 2 && r.op == WIRE_OP_EMBED);
    wire_id id = r.id;
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&m.sb);

    msgpack_sbuffer_init(&sb);
    wire_reply_error(&sb, &id, WIRE_OP_EMBED, ZB_ETOOLONG, "texts[0] has 300 tokens");
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ZT_CHECK(msgpack_unpack_next(&up, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *e = wire_map_get(&up.data, "error"), *ok = wire_map_get(&up.data, "ok"),
                         *rid = wire_map_get(&up.data, "id");
    ZT_CHECK(ok && ok->type == MSGPACK_OBJECT_BOOLEAN && !ok->via.boolean);
    ZT_CHECK(rid && rid->type == MSGPACK_OBJECT_STR && rid->via.str.size == 2);
    const msgpack_object *code = e ? wire_map_get(e, "code") : NULL;
    ZT_CHECK(code && code->type == MSGPACK_OBJECT_STR && code->via.str.size == 8 &&
             !memcmp(code->via.str.ptr, "too_long", 8));
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

/* The op table's rows agree with each other and with the parser. */
static void test_op_table(void)
{
    for (int op = 0; op < WIRE_OP_COUNT_; op++) {
        const wire_op_def *d = &wire_ops[op];
        ZT_CHECK(d->name && d->stages);
        ZT_CHECK_EQ_INT(wire_op_find(d->name, strlen(d->name)), op);
        ZT_CHECK(!strcmp(wire_op_name(op), d->name));
        wire_stage r = wire_op_replier(op);
        ZT_CHECK(wire_op_at(op, r));
        for (int st = r + 1; st < WIRE_STAGE_COUNT_; st++)
            ZT_CHECK(!wire_op_at(op, st));
        /* texts are tokenized; hidden states come from the encoder and go to the pooler */
        if (d->texts != WIRE_TEXTS_NONE)
            ZT_CHECK(wire_op_at(op, WIRE_STAGE_TOKENIZER));
        /* the gateway answers its own ops and hands every other one to the tokenizers */
        ZT_CHECK((r == WIRE_STAGE_GATEWAY) != wire_op_at(op, WIRE_STAGE_TOKENIZER));
        if (d->hidden != WIRE_HIDDEN_NONE)
            ZT_CHECK(wire_op_at(op, WIRE_STAGE_ENCODER) && r == WIRE_STAGE_POOLER);
        ZT_CHECK(!(d->keys & (WIRE_KEY(WIRE_K_TEXTS))) == (d->texts != WIRE_TEXTS_LIST));
        ZT_CHECK(!(d->keys & (WIRE_KEY(WIRE_K_A) | WIRE_KEY(WIRE_K_B))) == (d->texts != WIRE_TEXTS_PAIR));
        int has[WIRE_OP_COUNT_] = {0};
        for (int o = 0; o < WIRE_OP_COUNT_; o++)
            has[o] = wire_op_at(o, r);
        wire_stage_check(r, has);           /* asserts on a mismatch */
    }
    ZT_CHECK_EQ_INT(wire_op_find("embe", 4), -1);
    ZT_CHECK_EQ_INT(wire_op_find("embedx", 6), -1);
    ZT_CHECK(!strcmp(wire_op_name(WIRE_OP_COUNT_), "unknown"));
    ZT_CHECK(!strcmp(wire_key_name(WIRE_K_TRUNCATION_DIRECTION), "truncation_direction"));
    ZT_CHECK_EQ_INT(wire_op_replier(WIRE_OP_TOKENIZE), WIRE_STAGE_TOKENIZER);
    ZT_CHECK_EQ_INT(wire_op_replier(WIRE_OP_HEALTH), WIRE_STAGE_GATEWAY);
    wire_opts o = {0};
    ZT_CHECK_EQ_INT(wire_op_hidden(WIRE_OP_SIMILARITY, &o), WIRE_HIDDEN_OUTPUT);
    ZT_CHECK(!wire_op_pieces(WIRE_OP_SIMILARITY, &o) && wire_op_pieces(WIRE_OP_TOKEN_EMBEDDINGS, &o));
    o.tokens_mode = o.input_space = 1;
    ZT_CHECK_EQ_INT(wire_op_hidden(WIRE_OP_SIMILARITY, &o), WIRE_HIDDEN_INPUT);
    ZT_CHECK(wire_op_pieces(WIRE_OP_SIMILARITY, &o));

    /* every key the table allows an op parses; the same key on another op is refused by name */
    const char *one[] = {"x"};
    for (int op = 0; op < WIRE_OP_COUNT_; op++) {
        if (wire_ops[op].texts != WIRE_TEXTS_LIST)
            continue;
        for (int k = WIRE_K_TRUNCATE; k < WIRE_K_COUNT_; k++) {
            mp m;
            mp_init(&m);
            req_head(&m, wire_ops[op].name, one, 1, 1);
            wire_pack_str(&m.pk, wire_key_name(k));
            msgpack_pack_true(&m.pk);        /* right type or not: which error says enough */
            wire_req r;
            zb_err err;
            int rc = parse(&m, &r, &err);
            int allowed = (wire_ops[op].keys & WIRE_KEY(k)) != 0;
            if (!allowed) {
                ZT_CHECK_EQ_INT(rc, ZB_EINVAL);
                ZT_CHECK(strstr(err.msg, "not an argument of op") != NULL);
            } else {
                ZT_CHECK(rc == ZB_OK || strstr(err.msg, "not an argument") == NULL);
            }
            wire_req_free(&r);
            msgpack_sbuffer_destroy(&m.sb);
        }
    }
}

/* Unpacks sb as one map and returns its entry count (-1: not one map). */
static long map_size(const msgpack_sbuffer *sb, msgpack_unpacked *up)
{
    size_t off = 0;
    if (msgpack_unpack_next(up, sb->data, sb->size, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != sb->size || up->data.type != MSGPACK_OBJECT_MAP)
        return -1;
    return up->data.via.map.size;
}

static void test_map_counts_itself(void)
{
    for (int extra = 0; extra < 40; extra += 13) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        wire_id id = {{0x07}, 1};
        wire_map r, inner;
        wire_reply_begin(&r, &pk, &sb, &id, WIRE_OP_EMBED, 1, extra & 1);
        wire_map_key(&r, "nested");
        wire_map_begin(&inner, &pk, &sb);
        for (int i = 0; i < extra; i++) {
            char k[16];
            snprintf(k, sizeof k, "k%d", i);
            wire_map_int(&inner, k, i);
        }
        wire_map_end(&inner);
        float v[3] = {1, 2, 3};
        int shape[1] = {3};
        wire_map_key(&r, "t");
        wire_pack_tensor(&pk, &sb, "float32", shape, 1, v, sizeof v);
        wire_map_end(&r);
        ZT_CHECK_EQ_INT(wire_check(sb.data, sb.size, WIRE_MAX_DEPTH, NULL), ZB_OK);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        ZT_CHECK_EQ_INT(map_size(&sb, &up), 4 + (extra & 1) + 2);
        const msgpack_object *n = wire_map_get(&up.data, "nested"), *t = wire_map_get(&up.data, "t"),
                             *rid = wire_map_get(&up.data, "id");
        ZT_CHECK(n && n->type == MSGPACK_OBJECT_MAP && n->via.map.size == (uint32_t)extra);
        ZT_CHECK(rid && rid->type == MSGPACK_OBJECT_POSITIVE_INTEGER && rid->via.u64 == 7);
        ZT_CHECK(!(extra & 1) || wire_map_get(&up.data, "demo_model"));
        int sh[1], nd;
        const void *data;
        size_t bytes;
        ZT_CHECK(t && wire_read_tensor(t, "float32", 4, sh, 1, &nd, &data, &bytes, "t", NULL) == ZB_OK);
        ZT_CHECK_EQ_INT(((const char *)data - sb.data) % 8, 0);   /* the header was not moved */
        msgpack_unpacked_destroy(&up);
        msgpack_sbuffer_destroy(&sb);
    }
}

int main(void)
{
    ZT_RUN(test_op_table);
    ZT_RUN(test_map_counts_itself);
    ZT_RUN(test_check_rejects_lies_and_depth);
    ZT_RUN(test_embed_defaults_and_options);
    ZT_RUN(test_request_errors_name_field_and_limit);
    ZT_RUN(test_similarity_modes);
    ZT_RUN(test_tensor_data_is_aligned);
    ZT_RUN(test_job_round_trip_and_lies);
    ZT_RUN(test_tok_job_and_error_reply);
    ZT_RUN(test_job_options_validated);
    ZT_RUN(test_job_accept_per_stage);
    ZT_RUN(test_unpack_bounds_objects);
    return zt_done();
}
