#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zb_input.h"
#include "zb_test.h"

static const char *dir;   /* zt_tmpdir() */

static char *write_file(const char *name, const char *text) { return (char *)zt_write(name, text, 0644); }

static void test_files_in_order(void)
{
    char *paths[] = {write_file("a.txt", "one\ntwo\r\n\n"), write_file("e.txt", ""),
                     write_file("b.txt", "three")};
    zb_err err;
    zb_input *in = zb_input_open(paths, 3, 0, &err);
    ZT_CHECK(in != NULL);
    if (!in)
        return;
    ZT_CHECK_EQ_INT(zb_input_bytes_total(in), 10 + 5);
    const char *want[] = {"one", "two", "", "three"};
    char *line;
    size_t len;
    int tl;
    for (int i = 0; i < 4; i++) {
        ZT_CHECK_EQ_INT(zb_input_line(in, &line, &len, &tl, &err), 1);
        ZT_CHECK(len == strlen(want[i]) && !strcmp(line, want[i]) && !tl);
    }
    ZT_CHECK(!strcmp(zb_input_name(in), paths[2]));
    ZT_CHECK_EQ_INT(zb_input_line(in, &line, &len, &tl, &err), 0);
    ZT_CHECK_EQ_INT(zb_input_line(in, &line, &len, &tl, &err), 0);
    ZT_CHECK_EQ_INT(zb_input_bytes_done(in), 15);
    zb_input_destroy(&in);
    ZT_CHECK(in == NULL);
}

static void test_long_lines_and_nul(void)
{
    char big[300];
    memset(big, 'x', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = 0;
    char *paths[] = {write_file("long.txt", big)};
    zb_err err;
    zb_input *in = zb_input_open(paths, 1, 100, &err);
    char *line;
    size_t len;
    int tl = 0;
    ZT_CHECK_EQ_INT(zb_input_line(in, &line, &len, &tl, &err), 1);
    ZT_CHECK(tl && len == 100);
    zb_input_destroy(&in);

    FILE *f = fopen(write_file("nul.txt", ""), "w");
    fwrite("a\0b\nc\n", 1, 6, f);
    fclose(f);
    char *p2[] = {paths[0]};
    snprintf(p2[0] = big, sizeof big, "%s/nul.txt", dir);
    in = zb_input_open(p2, 1, 0, &err);
    ZT_CHECK_EQ_INT(zb_input_line(in, &line, &len, &tl, &err), 1);
    ZT_CHECK(len == 3 && line[1] == 0 && line[2] == 'b');
    zb_input_destroy(&in);
}

static void test_refusals(void)
{
    zb_err err;
    char *folder[] = {(char *)dir};
    ZT_CHECK(zb_input_open(folder, 1, 0, &err) == NULL);
    ZT_CHECK(strstr(err.msg, "is a folder") != NULL);
    char missing[128];
    snprintf(missing, sizeof missing, "%s/nope.txt", dir);
    char *m[] = {write_file("ok.txt", "x\n"), missing};
    ZT_CHECK(zb_input_open(m, 2, 0, &err) == NULL);
    ZT_CHECK_EQ_INT(err.code, ZB_ENOTFOUND);
    ZT_CHECK(strstr(err.msg, "nope.txt") != NULL);
}

static void test_stop_flag(void)
{
    int fds[2];
    ZT_CHECK_EQ_INT(pipe(fds), 0);
    int saved = dup(0);
    dup2(fds[0], 0);
    zb_err err;
    zb_input *in = zb_input_open(NULL, 0, 0, &err);
    volatile sig_atomic_t stop = 0;
    zb_input_set_stop(in, &stop);
    ZT_CHECK_EQ_INT(zb_input_bytes_total(in), 0);   /* a pipe: unknown */
    ZT_CHECK(write(fds[1], "a\nb", 3) == 3);
    char *line;
    size_t len;
    int tl;
    ZT_CHECK_EQ_INT(zb_input_line(in, &line, &len, &tl, &err), 1);
    ZT_CHECK(!strcmp(line, "a"));
    stop = 1;       /* as a SIGINT handler would: the half line "b" is dropped */
    ZT_CHECK_EQ_INT(zb_input_line(in, &line, &len, &tl, &err), 0);
    zb_input_destroy(&in);
    dup2(saved, 0);
    close(saved), close(fds[0]), close(fds[1]);
}

int main(void)
{
    dir = zt_tmpdir("zb_input_test");
    ZT_RUN(test_files_in_order);
    ZT_RUN(test_long_lines_and_nul);
    ZT_RUN(test_refusals);
    ZT_RUN(test_stop_flag);
    return zt_done();
}
