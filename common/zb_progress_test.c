#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zb_progress.h"
#include "zb_test.h"

static int64_t fake_now;
static int64_t fake_clock(void)
{
    return fake_now;
}

/* Everything the pty's master side has to read now. */
static size_t drain(int master, char *buf, size_t cap)
{
    size_t n = 0;
    struct pollfd p = {.fd = master, .events = POLLIN};
    while (n + 1 < cap && poll(&p, 1, 50) > 0) {
        ssize_t got = read(master, buf + n, cap - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    buf[n] = 0;
    return n;
}

/* A terminal for the bar to draw on: its slave side is the bar's fd, the master reads what it drew.
 * -1 (a failed check) when the system has no pty. */
static int open_pty(int *master, int *slave)
{
    *master = posix_openpt(O_RDWR | O_NOCTTY);
    ZT_CHECK(*master >= 0 && grantpt(*master) == 0 && unlockpt(*master) == 0);
    *slave = *master >= 0 ? open(ptsname(*master), O_RDWR | O_NOCTTY) : -1;
    ZT_CHECK(*slave >= 0);
    if (*slave >= 0)
        return 0;
    if (*master >= 0)
        close(*master);
    return -1;
}

static int count(const char *s, char c)
{
    int n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static void test_format(void)
{
    char b[256];
    /* 5000 texts and 60000 tokens in 2 s, a quarter of the input read */
    zb_progress_format(b, sizeof b, "encode", 0, 4000, 1000, 5000, 60000, 2000);
    ZT_CHECK(!strcmp(b, "encode: 5000 texts, 2500 texts/s, 30.0k tokens/s, 25%, ETA 0:06"));
    /* no total: no percent, no ETA */
    zb_progress_format(b, sizeof b, "encode", 0, 0, 1000, 12, 0, 1000);
    ZT_CHECK(!strcmp(b, "encode: 12 texts, 12 texts/s"));
    /* a download: MiB and MiB/s; an hour and more */
    zb_progress_format(b, sizeof b, "fetch-model", 1, 100u << 20, 1u << 20, 0, 0, 40000);
    ZT_CHECK(strstr(b, "fetch-model: 1.0 MiB of 100.0 MiB, 26 KiB/s, 1%, ETA 1:06:00") == b);
    /* only a total (iterations): the percent follows the label without a comma */
    zb_progress_format(b, sizeof b, "t-SNE", 0, 1000, 250, 0, 0, 5000);
    ZT_CHECK(!strcmp(b, "t-SNE: 25%, ETA 0:15"));
    /* a tiny buffer is cut, not overrun */
    char tiny[8];
    zb_progress_format(tiny, sizeof tiny, "encode", 0, 0, 0, 5, 0, 1000);
    ZT_CHECK(strlen(tiny) == 7);
}

static void test_silent_unless_terminal(void)
{
    int fds[2];
    ZT_CHECK_EQ_INT(pipe(fds), 0);
    zb_progress *p = zb_progress_new(&(zb_progress_opts){.label = "x", .fd = fds[1]});
    ZT_CHECK(p == NULL);        /* a pipe is not a terminal */
    zb_progress_update(p, 1, 1, 1);
    zb_progress_end(&p);
    close(fds[0]), close(fds[1]);

    int master, slave;
    if (open_pty(&master, &slave))
        return;
    p = zb_progress_new(&(zb_progress_opts){.label = "x", .fd = slave, .quiet = 1});
    ZT_CHECK(p == NULL);        /* --quiet */
    close(slave), close(master);
}

static void test_draws_on_a_terminal_rate_limited(void)
{
    int master, slave;
    if (open_pty(&master, &slave))
        return;
    fake_now = 1000;
    zb_progress *p = zb_progress_new(&(zb_progress_opts){.label = "encode", .fd = slave,
                                                         .total = 100, .clock_ms = fake_clock});
    ZT_CHECK(p != NULL);
    char buf[4096];
    /* many updates inside one redraw interval: nothing drawn yet */
    for (int i = 0; i < 50; i++) {
        fake_now += 1;
        zb_progress_update(p, (uint64_t)i, (uint64_t)i, (uint64_t)i * 10);
    }
    ZT_CHECK_EQ_INT(drain(master, buf, sizeof buf), 0);
    fake_now = 1000 + ZB_PROGRESS_REDRAW_MS;
    zb_progress_update(p, 50, 500, 5000);
    fake_now += 10;
    zb_progress_update(p, 51, 510, 5100);     /* too soon again */
    drain(master, buf, sizeof buf);
    ZT_CHECK_EQ_INT(count(buf, '\r'), 1);
    ZT_CHECK(strstr(buf, "encode: 500 texts, 2500 texts/s, 25.0k tokens/s, 50%, ETA 0:00") != NULL);
    ZT_CHECK(strstr(buf, "\x1b[K") != NULL);
    fake_now += ZB_PROGRESS_REDRAW_MS;
    zb_progress_update(p, 60, 600, 6000);
    drain(master, buf, sizeof buf);
    ZT_CHECK_EQ_INT(count(buf, '\r'), 1);
    zb_progress_end(&p);
    ZT_CHECK(p == NULL);
    drain(master, buf, sizeof buf);
    ZT_CHECK(strstr(buf, "600 texts") != NULL && count(buf, '\n') == 1);
    close(slave), close(master);
}

static void test_short_work_draws_nothing(void)
{
    int master, slave;
    if (open_pty(&master, &slave))
        return;
    fake_now = 0;
    zb_progress *p = zb_progress_new(&(zb_progress_opts){.label = "e", .fd = slave, .clock_ms = fake_clock});
    zb_progress_update(p, 1, 1, 1);
    fake_now = ZB_PROGRESS_REDRAW_MS - 1;
    zb_progress_end(&p);
    char buf[256];
    ZT_CHECK_EQ_INT(drain(master, buf, sizeof buf), 0);
    close(slave), close(master);
}

/* The extra figure rides at the line's end, is replaced by the next note, removed by NULL, cut
 * rather than overrun, and a NULL bar takes it silently. */
static void test_note(void)
{
    zb_progress_note(NULL, "KL %.3f", 1.0);
    int master, slave;
    if (open_pty(&master, &slave))
        return;
    fake_now = 0;
    zb_progress *p = zb_progress_new(&(zb_progress_opts){.label = "map", .fd = slave, .total = 1000,
                                                         .clock_ms = fake_clock});
    char buf[4096];
    zb_progress_note(p, "KL divergence %.3f", 2.71828);
    fake_now = 1000;
    zb_progress_update(p, 100, 0, 0);
    drain(master, buf, sizeof buf);
    ZT_CHECK(strstr(buf, "map: 10%, ETA 0:09, KL divergence 2.718\x1b[K") != NULL);
    zb_progress_note(p, "KL %.1f", 1.25);
    fake_now += ZB_PROGRESS_REDRAW_MS;
    zb_progress_update(p, 200, 0, 0);
    drain(master, buf, sizeof buf);
    ZT_CHECK(strstr(buf, ", KL 1.2\x1b[K") != NULL && !strstr(buf, "divergence"));
    /* the bar only: the note follows the label directly */
    zb_progress *q = zb_progress_new(&(zb_progress_opts){.label = "x", .fd = slave, .clock_ms = fake_clock});
    zb_progress_note(q, "step %d", 3);
    fake_now += ZB_PROGRESS_REDRAW_MS;
    zb_progress_update(q, 0, 0, 0);
    drain(master, buf, sizeof buf);
    ZT_CHECK(strstr(buf, "\rx: step 3\x1b[K") != NULL);
    zb_progress_note(q, "%s", "a note far longer than the sixty-four bytes a bar keeps for its extra figure");
    zb_progress_note(p, NULL);
    fake_now += ZB_PROGRESS_REDRAW_MS;
    zb_progress_update(p, 300, 0, 0);
    zb_progress_update(q, 0, 0, 0);
    drain(master, buf, sizeof buf);
    ZT_CHECK(strstr(buf, "map: 30%, ETA 0:") != NULL && !strstr(buf, "KL"));
    ZT_CHECK(strstr(buf, "x: a note far longer than the sixty-four bytes a bar keeps for its\x1b[K") != NULL);
    zb_progress_end(&q);
    zb_progress_end(&p);
    close(slave), close(master);
}

int main(void)
{
    ZT_RUN(test_format);
    ZT_RUN(test_silent_unless_terminal);
    ZT_RUN(test_draws_on_a_terminal_rate_limited);
    ZT_RUN(test_short_work_draws_nothing);
    ZT_RUN(test_note);
    return zt_done();
}
