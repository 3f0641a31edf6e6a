/* Unit tests of the gateway's table of requests in flight. */
#include <string.h>

#include "gw.h"
#include "zb_test.h"

static void test_bounded_and_numbers_not_reused(void)
{
    gw_table *t = gw_table_new(3);
    gw_slot *a = gw_table_add(t), *b = gw_table_add(t), *c = gw_table_add(t);
    ZT_CHECK(a && b && c);
    ZT_CHECK(gw_table_add(t) == NULL);              /* full: the caller answers "overloaded" */
    ZT_CHECK_EQ_INT(gw_table_count(t), 3);
    ZT_CHECK_EQ_INT(gw_table_waiting(t), 3);
    ZT_CHECK(a->j && a->j != b->j && b->j != c->j);
    uint64_t old = b->j;
    ZT_CHECK(gw_table_find(t, old) == b);
    gw_table_remove(t, b);
    ZT_CHECK(gw_table_find(t, old) == NULL);
    gw_slot *d = gw_table_add(t);                   /* reuses b's slot with a new number */
    ZT_CHECK(d == b && d->j != old);
    ZT_CHECK(gw_table_find(t, old) == NULL);        /* a late reply to the old job is not routed */
    ZT_CHECK(gw_table_find(t, 0) == NULL);
    ZT_CHECK(gw_table_find(t, d->j ^ 1) == NULL);
    gw_table_free(t);
}

static void test_fifo_order_and_dispatch(void)
{
    gw_table *t = gw_table_new(4);
    gw_slot *s[4];
    for (int i = 0; i < 4; i++)
        s[i] = gw_table_add(t);
    ZT_CHECK(gw_table_next_waiting(t) == s[0]);
    gw_table_dispatched(t, s[0]);
    gw_table_remove(t, s[2]);                       /* timed out while waiting */
    ZT_CHECK(gw_table_next_waiting(t) == s[1]);
    gw_table_dispatched(t, s[1]);
    ZT_CHECK(gw_table_next_waiting(t) == s[3]);     /* the removed one is skipped */
    ZT_CHECK_EQ_INT(gw_table_waiting(t), 1);
    gw_table_dispatched(t, s[3]);
    ZT_CHECK(gw_table_next_waiting(t) == NULL);
    ZT_CHECK_EQ_INT(gw_table_waiting(t), 0);
    /* refill many times: the ring never overflows with stale entries */
    for (int round = 0; round < 50; round++) {
        gw_slot *x = gw_table_add(t);
        ZT_CHECK(x != NULL);
        if (round % 2)
            gw_table_dispatched(t, x);
        gw_table_remove(t, x);
    }
    ZT_CHECK_EQ_INT(gw_table_waiting(t), 0);
    ZT_CHECK_EQ_INT(gw_table_count(t), 3);
    gw_table_free(t);
}

static void test_deadlines(void)
{
    gw_table *t = gw_table_new(8);
    gw_slot *a = gw_table_add(t), *b = gw_table_add(t);
    a->deadline_ms = 100;
    b->deadline_ms = 50;
    ZT_CHECK(gw_table_expired(t, 10) == NULL);
    ZT_CHECK(gw_table_expired(t, 50) == b);
    gw_table_remove(t, b);
    ZT_CHECK(gw_table_expired(t, 99) == NULL);
    ZT_CHECK(gw_table_expired(t, 100) == a);
    gw_table_remove(t, a);
    ZT_CHECK(gw_table_expired(t, 1000000) == NULL);
    gw_table_free(t);
}

int main(void)
{
    ZT_RUN(test_bounded_and_numbers_not_reused);
    ZT_RUN(test_fifo_order_and_dispatch);
    ZT_RUN(test_deadlines);
    return zt_done();
}
