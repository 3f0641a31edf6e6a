/* Deadlines in stage frames (wire.h, "deadlines"): the arithmetic, the ttl a job carries between
 * stages and in the gateway's {j, ttl, req} job, and how an untrusted ttl is validated. */
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "zb_test.h"

static void test_arithmetic(void)
{
    ZT_CHECK(wire_deadline_at(1000, 0) == 1000);        /* ttl 0: expired at receipt */
    ZT_CHECK(wire_deadline_at(1000, 250) == 1250);
    ZT_CHECK(wire_deadline_at(1000, -1) == 0);          /* none */
    ZT_CHECK(wire_deadline_at(0, 0) == 1);              /* never 0, which means none */
    ZT_CHECK(wire_deadline_at(5, (int64_t)1 << 40) == 5 + WIRE_TTL_MAX_MS);
    ZT_CHECK(wire_ttl_left(0, 1000) == -1);             /* no deadline: no ttl */
    ZT_CHECK(wire_ttl_left(1500, 1000) == 500);
    ZT_CHECK(wire_ttl_left(900, 1000) == 0);            /* past: 0, never negative */
    ZT_CHECK(wire_ttl_left((int64_t)1 << 40, 0) == WIRE_TTL_MAX_MS);
    ZT_CHECK(!wire_expired(0, INT64_MAX));
    ZT_CHECK(!wire_expired(1000, 999));
    ZT_CHECK(wire_expired(1000, 1000) && wire_expired(1000, 1001));
    /* a hop: what the sender has left is what the receiver starts from, on its own clock */
    int64_t d = wire_deadline_at(77, wire_ttl_left(5000, 4000));
    ZT_CHECK(d == 1077);
}

/* A valid embed job of two texts, packed (deadline_ms: 0 none). */
static void pack_job(int64_t deadline_ms, msgpack_sbuffer *sb)
{
    static int32_t lens[2] = {3, 2}, ids[5] = {100, 101, 102, 103, 104};
    wire_job a;
    wire_job_init(&a);
    a.j = 77;
    a.deadline_ms = deadline_ms;
    a.op = WIRE_OP_EMBED;
    a.n = 2;
    a.lens = lens;
    a.ids = ids;
    a.n_ids = 5;
    msgpack_sbuffer_init(sb);
    wire_job_pack(&a, sb);
}

/* in's map again with its "ttl" entry (added when absent) holding what put packs. */
static void repack_ttl(const msgpack_sbuffer *in, msgpack_sbuffer *out, void (*put)(msgpack_packer *))
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ZT_CHECK(msgpack_unpack_next(&up, in->data, in->size, &off) == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object_map *m = &up.data.via.map;
    int has = wire_map_get(&up.data, "ttl") != NULL;
    msgpack_sbuffer_init(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, m->size + !has);
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        int is_ttl = k->type == MSGPACK_OBJECT_STR && k->via.str.size == 3 && !memcmp(k->via.str.ptr, "ttl", 3);
        msgpack_pack_object(&pk, *k);
        if (is_ttl)
            put(&pk);
        else
            msgpack_pack_object(&pk, m->ptr[i].val);
        if (i == 0 && !has) {       /* after j, which stays first */
            wire_pack_str(&pk, "ttl");
            put(&pk);
        }
    }
    msgpack_unpacked_destroy(&up);
}

static void test_job_carries_time_left(void)
{
    msgpack_sbuffer sb;
    wire_job b;
    zb_err err;
    int64_t d = wire_now_ms() + 5000;
    pack_job(d, &sb);
    ZT_CHECK(wire_peek_j(sb.data, sb.size) == 77);     /* j is still the first key */
    ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_OK);
    /* counted again from receipt: never earlier than the sender's (generous upper bound) */
    ZT_CHECK(b.deadline_ms >= d && b.deadline_ms <= d + 10000);
    ZT_CHECK(!wire_expired(b.deadline_ms, wire_now_ms()));
    wire_job_free(&b);
    msgpack_sbuffer_destroy(&sb);

    pack_job(0, &sb);                                   /* no deadline: no key, none received */
    ZT_CHECK(memmem(sb.data, sb.size, "ttl", 3) == NULL);
    ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_OK);
    ZT_CHECK(b.deadline_ms == 0);
    wire_job_free(&b);
    msgpack_sbuffer_destroy(&sb);

    pack_job(wire_now_ms() - 50, &sb);                 /* sent after its deadline: expired there */
    ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_OK);
    ZT_CHECK(b.deadline_ms != 0 && wire_expired(b.deadline_ms, wire_now_ms()));
    wire_job_free(&b);
    msgpack_sbuffer_destroy(&sb);
}

static void put_neg(msgpack_packer *pk) { msgpack_pack_int(pk, -1); }
static void put_str(msgpack_packer *pk) { wire_pack_str(pk, "100"); }
static void put_float(msgpack_packer *pk) { msgpack_pack_double(pk, 1.5); }
static void put_nil(msgpack_packer *pk) { msgpack_pack_nil(pk); }
static void put_over(msgpack_packer *pk) { msgpack_pack_int64(pk, (int64_t)WIRE_TTL_MAX_MS + 1); }
static void put_huge(msgpack_packer *pk) { msgpack_pack_uint64(pk, UINT64_MAX); }
static void put_zero(msgpack_packer *pk) { msgpack_pack_int(pk, 0); }
static void put_max(msgpack_packer *pk) { msgpack_pack_int64(pk, WIRE_TTL_MAX_MS); }

/* An untrusted ttl is validated like every other field: an int in 0..WIRE_TTL_MAX_MS, or refused
 * naming it, with the job number still known (the refusal is answered). */
static void test_ttl_validated(void)
{
    void (*const bad[])(msgpack_packer *) = {put_neg, put_str, put_float, put_nil, put_over, put_huge};
    msgpack_sbuffer good;
    pack_job(0, &good);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        msgpack_sbuffer sb;
        repack_ttl(&good, &sb, bad[k]);
        wire_job b;
        zb_err err;
        ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_EFORMAT);
        ZT_CHECK(strstr(err.msg, "ttl") != NULL);
        ZT_CHECK(b.j == 77);
        wire_job_free(&b);
        msgpack_sbuffer_destroy(&sb);
    }
    msgpack_sbuffer sb;
    wire_job b;
    zb_err err;
    repack_ttl(&good, &sb, put_zero);                   /* 0: valid, and already expired */
    ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_OK);
    ZT_CHECK(wire_expired(b.deadline_ms, wire_now_ms()));
    wire_job_free(&b);
    msgpack_sbuffer_destroy(&sb);
    repack_ttl(&good, &sb, put_max);                    /* the largest: valid, far away */
    int64_t before = wire_now_ms();
    ZT_CHECK_EQ_INT(wire_job_unpack(sb.data, sb.size, &b, &err), ZB_OK);
    ZT_CHECK(b.deadline_ms >= before + WIRE_TTL_MAX_MS);
    wire_job_free(&b);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&good);
}

/* The gateway packs {j, ttl, req} once and writes the time left into each copy it dispatches. */
static void test_tok_job_ttl(void)
{
    const unsigned char req[] = {0x83, 0xa1, 'v', 0x01, 0xa2, 'o', 'p', 0xa4, 'i', 'n', 'f', 'o',
                                 0xa2, 'i', 'd', 0x07};     /* {v: 1, op: "info", id: 7} */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    wire_pack_tok_job(&sb, 1234567, req, sizeof req);
    ZT_CHECK(wire_peek_j(sb.data, sb.size) == 1234567);
    uint64_t j;
    int64_t d;
    wire_req r;
    int known;
    zb_err err;
    const struct { int64_t set, want; } cases[] = {
        {1500, 1500}, {0, 0}, {-20, 0}, {(int64_t)1 << 40, WIRE_TTL_MAX_MS},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        wire_tok_job_set_ttl(sb.data, sb.size, cases[k].set);
        int64_t before = wire_now_ms();
        ZT_CHECK_EQ_INT(wire_unpack_tok_job(sb.data, sb.size, &j, &d, &r, &known, &err), ZB_OK);
        int64_t after = wire_now_ms();
        ZT_CHECK(j == 1234567 && known && r.op == WIRE_OP_INFO);
        ZT_CHECK(d >= before + cases[k].want && d <= after + cases[k].want);
        ZT_CHECK(wire_expired(d, after) == (cases[k].want == 0));
        wire_req_free(&r);
    }
    msgpack_sbuffer_destroy(&sb);

    /* a forged tok job: a negative ttl is refused naming it, j kept for the error reply; none: no
     * deadline */
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    wire_pack_str(&pk, "j");
    msgpack_pack_int(&pk, 9);
    wire_pack_str(&pk, "ttl");
    msgpack_pack_int(&pk, -3);
    wire_pack_str(&pk, "req");
    msgpack_sbuffer_write(&sb, (const char *)req, sizeof req);
    ZT_CHECK_EQ_INT(wire_unpack_tok_job(sb.data, sb.size, &j, &d, &r, &known, &err), ZB_EFORMAT);
    ZT_CHECK(j == 9 && strstr(err.msg, "ttl") != NULL);
    wire_req_free(&r);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 2);
    wire_pack_str(&pk, "j");
    msgpack_pack_int(&pk, 9);
    wire_pack_str(&pk, "req");
    msgpack_sbuffer_write(&sb, (const char *)req, sizeof req);
    ZT_CHECK_EQ_INT(wire_unpack_tok_job(sb.data, sb.size, &j, &d, &r, &known, &err), ZB_OK);
    ZT_CHECK(j == 9 && d == 0);
    wire_req_free(&r);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    ZT_RUN(test_arithmetic);
    ZT_RUN(test_job_carries_time_left);
    ZT_RUN(test_ttl_validated);
    ZT_RUN(test_tok_job_ttl);
    return zt_done();
}
