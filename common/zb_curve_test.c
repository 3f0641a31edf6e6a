/* zb_curve_test: key files and allow-lists as untrusted input; keygen's file modes and --force. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "zb_curve.h"
#include "zb_test.h"

static void path(char *buf, const char *name)
{
    zt_tmp_path(buf, 256, name);
}

static void test_keygen_writes_modes_and_refuses_overwrite(void)
{
    char prefix[256], key[256], pub[256];
    path(prefix, "gw");
    path(key, "gw.key");
    path(pub, "gw.pub");
    zb_curve_keypair kp, again, loaded;
    zb_err err;
    ZT_CHECK_EQ_INT(zb_curve_keygen(prefix, 0, &kp, &err), ZB_OK);
    struct stat st;
    ZT_CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
    ZT_CHECK(stat(pub, &st) == 0 && (st.st_mode & 0777) == 0644);
    ZT_CHECK_EQ_INT(zb_curve_load_secret(key, &loaded, &err), ZB_OK);
    ZT_CHECK(!strcmp(loaded.pub, kp.pub) && !strcmp(loaded.sec, kp.sec));
    char p[ZB_CURVE_Z85_LEN + 1];
    ZT_CHECK_EQ_INT(zb_curve_load_public(pub, p, &err), ZB_OK);
    ZT_CHECK(!strcmp(p, kp.pub));
    /* no --force: refused, nothing changed */
    ZT_CHECK_EQ_INT(zb_curve_keygen(prefix, 0, &again, &err), ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "gw.key exists") && strstr(err.msg, "--force"));
    ZT_CHECK_EQ_INT(zb_curve_load_secret(key, &loaded, &err), ZB_OK);
    ZT_CHECK(!strcmp(loaded.sec, kp.sec));
    /* only the .pub left: still refused (no half-replaced pair) */
    unlink(key);
    ZT_CHECK_EQ_INT(zb_curve_keygen(prefix, 0, &again, &err), ZB_EINVAL);
    ZT_CHECK_EQ_INT(zb_curve_keygen(prefix, 1, &again, &err), ZB_OK);
    ZT_CHECK(strcmp(again.pub, kp.pub) != 0);
    ZT_CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
}

static void test_secret_readable_by_others_is_refused(void)
{
    char pub[41], sec[41], text[128], p[256];
    zmq_curve_keypair(pub, sec);
    snprintf(text, sizeof text, "%s\n", sec);
    zt_write("open.key", text, 0644);
    path(p, "open.key");
    zb_curve_keypair kp;
    zb_err err;
    ZT_CHECK_EQ_INT(zb_curve_load_secret(p, &kp, &err), ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "open.key") && strstr(err.msg, "chmod 600"));
}

static void test_key_file_errors_name_file_and_line(void)
{
    char p[256], z[41];
    zb_err err;
    zt_write("short.pub", "# comment\n\nabc\n", 0644);
    path(p, "short.pub");
    ZT_CHECK_EQ_INT(zb_curve_load_public(p, z, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "short.pub:3:") && strstr(err.msg, "found 3 characters"));
    /* 40 characters, but '"' and ',' are not Z85 */
    zt_write("bad.pub", "\"123456789012345678901234567890123456,,,\n", 0644);
    path(p, "bad.pub");
    ZT_CHECK_EQ_INT(zb_curve_load_public(p, z, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "bad.pub:1:") && strstr(err.msg, "Z85"));
    zt_write("empty.pub", "# nothing\n", 0644);
    path(p, "empty.pub");
    ZT_CHECK_EQ_INT(zb_curve_load_public(p, z, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "no key"));
    char pub[41], sec[41], text[200];
    zmq_curve_keypair(pub, sec);
    snprintf(text, sizeof text, "%s\n%s\n", pub, pub);
    zt_write("two.pub", text, 0644);
    path(p, "two.pub");
    ZT_CHECK_EQ_INT(zb_curve_load_public(p, z, &err), ZB_EFORMAT);
    ZT_CHECK(strstr(err.msg, "two.pub:2:"));
    path(p, "missing.pub");
    ZT_CHECK(zb_curve_load_public(p, z, &err) < 0 && strstr(err.msg, "missing.pub"));
}

static void test_allow_list(void)
{
    char a[41], b[41], c[41], sec[41], text[400];
    zmq_curve_keypair(a, sec);
    zmq_curve_keypair(b, sec);
    zmq_curve_keypair(c, sec);
    snprintf(text, sizeof text, "# clients\n%s  laptop of ana\r\n\n   %s\tci\n", a, b);
    zb_err err;
    zb_curve_allow *l = zb_curve_allow_parse("clients.allow", text, strlen(text), &err);
    ZT_CHECK(l != NULL);
    ZT_CHECK_EQ_INT(zb_curve_allow_count(l), 2);
    uint8_t ka[32], kc[32];
    zmq_z85_decode(ka, a);
    zmq_z85_decode(kc, c);
    ZT_CHECK(zb_curve_allow_has(l, ka));
    ZT_CHECK(!zb_curve_allow_has(l, kc));
    /* a worker list sharing key b: refused, naming both places */
    snprintf(text, sizeof text, "%s\n%s\n", c, b);
    zb_curve_allow *w = zb_curve_allow_parse("workers.allow", text, strlen(text), &err);
    ZT_CHECK(w != NULL);
    ZT_CHECK_EQ_INT(zb_curve_allow_disjoint(l, w, &err), ZB_EINVAL);
    ZT_CHECK(strstr(err.msg, "clients.allow:4") && strstr(err.msg, "workers.allow:2"));
    zb_curve_allow_destroy(&w);
    ZT_CHECK(w == NULL);
    /* a broken line */
    snprintf(text, sizeof text, "%s\n%.39s\n", a, c);
    ZT_CHECK(zb_curve_allow_parse("x.allow", text, strlen(text), &err) == NULL);
    ZT_CHECK(strstr(err.msg, "x.allow:2:") && strstr(err.msg, "found 39"));
    /* an empty list is a list that allows nobody */
    zb_curve_allow *e = zb_curve_allow_parse("e.allow", "", 0, &err);
    ZT_CHECK(e && zb_curve_allow_count(e) == 0 && !zb_curve_allow_has(e, ka));
    zb_curve_allow_destroy(&e);
    zb_curve_allow_destroy(&l);
}

int main(void)
{
    zt_tmpdir("zb_curve_test");
    ZT_RUN(test_keygen_writes_modes_and_refuses_overwrite);
    ZT_RUN(test_secret_readable_by_others_is_refused);
    ZT_RUN(test_key_file_errors_name_file_and_line);
    ZT_RUN(test_allow_list);
    return zt_done();
}
