#include <string.h>

#include "zb_err.h"
#include "zb_file.h"
#include "zb_test.h"

static void test_fail_formats_and_returns_code(void)
{
    zb_err e;
    zb_clear(&e);
    ZT_CHECK_EQ_INT(zb_fail(&e, ZB_ETOOLONG, "texts[%d] has %d tokens", 3, 1203), ZB_ETOOLONG);
    ZT_CHECK_EQ_INT(e.code, ZB_ETOOLONG);
    ZT_CHECK(!strcmp(e.msg, "texts[3] has 1203 tokens"));
    zb_wrap(&e, "request 7: ");
    ZT_CHECK(!strcmp(e.msg, "request 7: texts[3] has 1203 tokens"));
    ZT_CHECK_EQ_INT(zb_fail(NULL, ZB_EIO, "ignored"), ZB_EIO);
}

static void test_code_names_are_stable(void)
{
    ZT_CHECK(!strcmp(zb_code_name(ZB_EUTF8), "invalid_utf8"));
    ZT_CHECK(!strcmp(zb_code_name(ZB_ETOOLONG), "too_long"));
    ZT_CHECK(!strcmp(zb_code_name(ZB_EOVERLOAD), "overloaded"));
    ZT_CHECK(!strcmp(zb_code_name(12345), "unknown"));
}

static void test_read_file_limits(void)
{
    zb_err e;
    char *buf;
    size_t n;
    ZT_CHECK_EQ_INT(zb_read_file("/nonexistent/zembed", 10, &buf, &n, &e), ZB_ENOTFOUND);
    ZT_CHECK(strstr(e.msg, "/nonexistent/zembed") != NULL);
    ZT_CHECK_EQ_INT(zb_read_file("/etc/os-release", 4, &buf, &n, &e), ZB_ETOOLONG);
    ZT_CHECK_EQ_INT(zb_read_file("/etc/os-release", 1 << 20, &buf, &n, &e), ZB_OK);
    ZT_CHECK(n > 0 && buf[n] == '\0');
    free(buf);
}

int main(void)
{
    ZT_RUN(test_fail_formats_and_returns_code);
    ZT_RUN(test_code_names_are_stable);
    ZT_RUN(test_read_file_limits);
    return zt_done();
}
