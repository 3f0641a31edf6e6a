/* Unit tests of the worker registry and the heartbeat frame: who is alive, who holds what, death
 * after silence, stuck once per episode, forged heartbeats refused. */
#include <string.h>

#include "gw.h"
#include "zb_test.h"

/* A heartbeat frame as svc_hb sends it, with room for `extra` more entries the caller packs after. */
static void beat_frame_x(msgpack_sbuffer *sb, const char *w, int stage, const uint64_t *held, int n,
                         long long busy, int extra)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4 + extra);
    wire_pack_str(&pk, "w");
    wire_pack_str(&pk, w);
    wire_pack_str(&pk, "s");
    msgpack_pack_int(&pk, stage);
    wire_pack_str(&pk, "held");
    unsigned char b[64];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 8; k++)
            b[i * 8 + k] = (unsigned char)(held[i] >> (8 * k));
    msgpack_pack_bin(&pk, (size_t)n * 8);
    msgpack_pack_bin_body(&pk, b, (size_t)n * 8);
    wire_pack_str(&pk, "busy_ms");
    msgpack_pack_long_long(&pk, busy);
}

static void beat_frame(msgpack_sbuffer *sb, const char *w, int stage, const uint64_t *held, int n,
                       long long busy)
{
    beat_frame_x(sb, w, stage, held, n, busy, 0);
}

static int beat(gw_workers *ws, const char *w, int stage, const uint64_t *held, int n, long long busy,
                int64_t now)
{
    msgpack_sbuffer sb;
    beat_frame(&sb, w, stage, held, n, busy);
    svc_hb_msg m;
    zb_err err;
    int rc = svc_hb_parse(sb.data, sb.size, &m, &err);
    ZT_CHECK_EQ_INT(rc, ZB_OK);
    if (!rc)
        rc = gw_workers_beat(ws, &m, now);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static int n_lost, n_stuck;
static char last_lost[128];

static void on_lost(void *ud, const gw_worker *w, int stuck)
{
    (void)ud;
    n_lost++;
    n_stuck += stuck;
    snprintf(last_lost, sizeof last_lost, "%s", w->name);
}

static void test_alive_holds_dead_stuck(void)
{
    gw_workers *ws = gw_workers_new();
    uint64_t h1[2] = {0x100000001ULL, 7}, h2[1] = {9};
    ZT_CHECK_EQ_INT(beat(ws, "1@a#1", WIRE_STAGE_ENCODER, h1, 2, 0, 1000), 1);     /* new */
    ZT_CHECK_EQ_INT(beat(ws, "1@a#1", WIRE_STAGE_ENCODER, h1, 2, 0, 1100), 0);     /* known */
    ZT_CHECK_EQ_INT(beat(ws, "2@a#1", WIRE_STAGE_ENCODER, h2, 1, 0, 1100), 1);
    ZT_CHECK_EQ_INT(beat(ws, "3@a#1", WIRE_STAGE_POOLER, NULL, 0, 0, 1100), 1);
    ZT_CHECK_EQ_INT(gw_workers_alive(ws, WIRE_STAGE_ENCODER), 2);
    ZT_CHECK_EQ_INT(gw_workers_alive(ws, WIRE_STAGE_TOKENIZER), 0);
    ZT_CHECK(gw_workers_holds(ws, WIRE_STAGE_ENCODER, 0x100000001ULL));
    ZT_CHECK(!gw_workers_holds(ws, WIRE_STAGE_POOLER, 7));
    ZT_CHECK(!gw_workers_holds(ws, WIRE_STAGE_ENCODER, 8));

    /* 2@a stays silent: dead after 600 ms; the others beat on */
    ZT_CHECK_EQ_INT(beat(ws, "1@a#1", WIRE_STAGE_ENCODER, h1, 1, 0, 1650), 0);     /* now holds one */
    ZT_CHECK_EQ_INT(beat(ws, "3@a#1", WIRE_STAGE_POOLER, NULL, 0, 0, 1650), 0);
    ZT_CHECK_EQ_INT(gw_workers_reap(ws, 1650, 600, 5000, on_lost, NULL), 0);
    ZT_CHECK_EQ_INT(gw_workers_reap(ws, 1700, 600, 5000, on_lost, NULL), 0);     /* 600 ms: not yet */
    ZT_CHECK_EQ_INT(gw_workers_reap(ws, 1701, 600, 5000, on_lost, NULL), 1);
    ZT_CHECK(n_lost == 1 && n_stuck == 0 && !strcmp(last_lost, "2@a#1"));
    ZT_CHECK_EQ_INT(gw_workers_alive(ws, WIRE_STAGE_ENCODER), 1);
    ZT_CHECK(!gw_workers_holds(ws, WIRE_STAGE_ENCODER, 9));
    ZT_CHECK(!gw_workers_holds(ws, WIRE_STAGE_ENCODER, 7));     /* no longer listed */

    /* 1@a holds work without progress past stuck_ms: reported once, not alive until it moves */
    ZT_CHECK_EQ_INT(beat(ws, "1@a#1", WIRE_STAGE_ENCODER, h1, 1, 6000, 1800), 0);
    ZT_CHECK_EQ_INT(gw_workers_reap(ws, 1800, 600, 5000, on_lost, NULL), 1);
    ZT_CHECK(n_stuck == 1);
    ZT_CHECK_EQ_INT(gw_workers_alive(ws, WIRE_STAGE_ENCODER), 0);
    ZT_CHECK(!gw_workers_holds(ws, WIRE_STAGE_ENCODER, 0x100000001ULL));
    ZT_CHECK_EQ_INT(beat(ws, "1@a#1", WIRE_STAGE_ENCODER, h1, 1, 6100, 1900), 0);
    ZT_CHECK_EQ_INT(gw_workers_reap(ws, 1900, 600, 5000, on_lost, NULL), 0);      /* same episode */
    ZT_CHECK_EQ_INT(beat(ws, "1@a#1", WIRE_STAGE_ENCODER, NULL, 0, 0, 2000), 0);  /* it moved */
    ZT_CHECK_EQ_INT(gw_workers_reap(ws, 2000, 600, 5000, on_lost, NULL), 0);
    ZT_CHECK_EQ_INT(gw_workers_alive(ws, WIRE_STAGE_ENCODER), 1);
    gw_workers_free(&ws);
    ZT_CHECK(ws == NULL);
}

static void test_forged_heartbeats_refused(void)
{
    msgpack_sbuffer sb;
    svc_hb_msg m;
    zb_err err;
    static const struct { const char *w; int stage; } bad[] = {
        {"", WIRE_STAGE_ENCODER}, {"x", WIRE_STAGE_GATEWAY}, {"x", WIRE_STAGE_COUNT_}, {"x", 99},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        beat_frame(&sb, bad[i].w, bad[i].stage, NULL, 0, 0);
        ZT_CHECK_EQ_INT(svc_hb_parse(sb.data, sb.size, &m, &err), ZB_EFORMAT);
        msgpack_sbuffer_destroy(&sb);
    }
    beat_frame(&sb, "x", WIRE_STAGE_POOLER, NULL, 0, -5);          /* negative busy */
    ZT_CHECK_EQ_INT(svc_hb_parse(sb.data, sb.size, &m, &err), ZB_EFORMAT);
    for (size_t cut = 0; cut < sb.size; cut++)
        ZT_CHECK(svc_hb_parse(sb.data, cut, &m, NULL) != ZB_OK);
    msgpack_sbuffer_destroy(&sb);
    ZT_CHECK_EQ_INT(svc_hb_parse("\xc1", 1, &m, &err), ZB_EFORMAT);
}

/* Jobs given up at their deadline travel as xd (dropped unstarted) and xa (abandoned part-way),
 * both or neither, in 0..SVC_HB_MAX_EXPIRED (the gateway adds them up). */
static void test_expired_counts(void)
{
    static const struct { long long xd, xa; int both, rc; } cases[] = {
        {3, 1, 1, ZB_OK}, {0, 0, 1, ZB_OK}, {3, 0, 0, ZB_EFORMAT}, {-1, 0, 1, ZB_EFORMAT},
        {0, -2, 1, ZB_EFORMAT}, {SVC_HB_MAX_EXPIRED, 0, 1, ZB_OK}, {SVC_HB_MAX_EXPIRED + 1LL, 0, 1, ZB_EFORMAT},
        {0, 1LL << 62, 1, ZB_EFORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgpack_sbuffer sb;
        beat_frame_x(&sb, "e", WIRE_STAGE_ENCODER, NULL, 0, 0, cases[i].both ? 2 : 1);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        wire_pack_str(&pk, "xd");
        msgpack_pack_long_long(&pk, cases[i].xd);
        if (cases[i].both) {
            wire_pack_str(&pk, "xa");
            msgpack_pack_long_long(&pk, cases[i].xa);
        }
        svc_hb_msg m;
        zb_err err;
        ZT_CHECK_EQ_INT(svc_hb_parse(sb.data, sb.size, &m, &err), cases[i].rc);
        if (cases[i].rc == ZB_OK)
            ZT_CHECK(m.expired == (uint64_t)cases[i].xd && m.abandoned == (uint64_t)cases[i].xa);
        msgpack_sbuffer_destroy(&sb);
    }
    msgpack_sbuffer sb;                     /* without them: nothing given up */
    beat_frame(&sb, "e", WIRE_STAGE_ENCODER, NULL, 0, 0);
    svc_hb_msg m;
    ZT_CHECK_EQ_INT(svc_hb_parse(sb.data, sb.size, &m, NULL), ZB_OK);
    ZT_CHECK(m.expired == 0 && m.abandoned == 0);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    ZT_RUN(test_expired_counts);
    ZT_RUN(test_alive_holds_dead_stuck);
    ZT_RUN(test_forged_heartbeats_refused);
    return zt_done();
}
