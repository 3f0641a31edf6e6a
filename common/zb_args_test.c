#include <limits.h>

#include "zb_args.h"
#include "zb_test.h"

static void test_accepts_range(void)
{
    int x = -7;
    ZT_CHECK_EQ_INT(zb_parse_int("t", "--n", "42", 0, 100, &x), 0);
    ZT_CHECK_EQ_INT(x, 42);
    ZT_CHECK_EQ_INT(zb_parse_int("t", "--n", "0", 0, 100, &x), 0);
    ZT_CHECK_EQ_INT(zb_parse_int("t", "--n", "100", 0, 100, &x), 0);
    ZT_CHECK_EQ_INT(x, 100);
    long long y;
    ZT_CHECK_EQ_INT(zb_parse_ll("t", "--seed", "9007199254740993", 0, LLONG_MAX, &y), 0);
    ZT_CHECK(y == 9007199254740993LL);
}

static void test_refuses_bad_values(void)
{
    int x = 5;
    ZT_CHECK_EQ_INT(zb_parse_int("t", "--n", "101", 0, 100, &x), -1);
    ZT_CHECK_EQ_INT(zb_parse_int("t", "--n", "-1", 0, 100, &x), -1);
    ZT_CHECK_EQ_INT(zb_parse_int("t", "--n", "", 0, 100, &x), -1);
    ZT_CHECK_EQ_INT(zb_parse_int("t", "--n", "12abc", 0, 100, &x), -1);
    ZT_CHECK_EQ_INT(zb_parse_int("t", "--n", NULL, 0, 100, &x), -1);
    ZT_CHECK_EQ_INT(zb_parse_int("t", "--n", "99999999999999999999", 0, INT_MAX, &x), -1);
    ZT_CHECK_EQ_INT(x, 5);   /* untouched on failure */
}

int main(void)
{
    ZT_RUN(test_accepts_range);
    ZT_RUN(test_refuses_bad_values);
    return zt_done();
}
