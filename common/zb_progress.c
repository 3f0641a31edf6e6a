#include "zb_progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

struct zb_progress {
    zb_progress_opts o;
    int64_t start, last;        /* ms: when it began, when it last drew (start: not yet) */
    int drawn;                  /* the bar is on the terminal now */
    int cleared;                /* it was, and was erased (zb_progress_end draws it again) */
    uint64_t done, texts, tokens;
    char note[ZB_PROGRESS_NOTE_MAX];    /* zb_progress_note's figure; "" when none */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1234567 -> "1.23M"; below 10000 as is. */
static void human(char *buf, size_t cap, double v)
{
    static const char unit[] = " kMGT";
    int u = 0;
    if (v < 10000) {
        snprintf(buf, cap, "%.0f", v);
        return;
    }
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    snprintf(buf, cap, v < 10 ? "%.2f%c" : v < 100 ? "%.1f%c" : "%.0f%c", v, unit[u]);
}

static void mib(char *buf, size_t cap, double bytes)
{
    snprintf(buf, cap, bytes < 1024 * 1024 ? "%.0f KiB" : "%.1f MiB",
             bytes < 1024 * 1024 ? bytes / 1024 : bytes / (1024 * 1024));
}

void zb_progress_format(char *buf, size_t cap, const char *label, int bytes, uint64_t total,
                        uint64_t done, uint64_t texts, uint64_t tokens, int64_t elapsed_ms)
{
    double s = elapsed_ms > 0 ? elapsed_ms / 1000.0 : 0.001;
    char a[32], b[32];
    size_t at = 0;
#define ADD(...) do { int w_ = snprintf(buf + at, at < cap ? cap - at : 0, __VA_ARGS__); \
                      if (w_ > 0) at += (size_t)w_; } while (0)
    if (!cap)
        return;
    buf[0] = 0;
    ADD("%s:", label);
    size_t head = at;           /* nothing after the label yet: the first figure takes no comma */
    if (texts) {
        human(a, sizeof a, (double)texts);
        human(b, sizeof b, texts / s);
        ADD(" %s texts, %s texts/s", a, b);
    }
    if (tokens) {
        human(a, sizeof a, tokens / s);
        ADD(", %s tokens/s", a);
    }
    if (bytes) {
        mib(a, sizeof a, (double)done);
        mib(b, sizeof b, done / s);
        ADD(" %s", a);
        if (total) {
            char t[32];
            mib(t, sizeof t, (double)total);
            ADD(" of %s", t);
        }
        ADD(", %s/s", b);
    }
    if (total && done <= total) {
        ADD("%s %.0f%%", at == head ? "" : ",", 100.0 * (double)done / (double)total);
        if (done > 0) {
            long eta = (long)(s * (double)(total - done) / (double)done + 0.5);
            if (eta >= 3600)
                ADD(", ETA %ld:%02ld:%02ld", eta / 3600, eta / 60 % 60, eta % 60);
            else
                ADD(", ETA %ld:%02ld", eta / 60, eta % 60);
        }
    }
#undef ADD
}

zb_progress *zb_progress_new(const zb_progress_opts *o)
{
    if (o->quiet || !isatty(o->fd))
        return NULL;
    zb_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->o = *o;
    if (!p->o.clock_ms)
        p->o.clock_ms = mono_ms;
    if (!p->o.label)
        p->o.label = "";
    p->start = p->last = p->o.clock_ms();
    return p;
}

static void draw(zb_progress *p, int64_t now, const char *end)
{
    char line[256], out[300];
    zb_progress_format(line, sizeof line, p->o.label, p->o.bytes, p->o.total, p->done, p->texts,
                       p->tokens, now - p->start);
    if (p->note[0]) {
        size_t at = strlen(line);
        snprintf(line + at, sizeof line - at, "%s %s", line[at - 1] == ':' ? "" : ",", p->note);
    }
    struct winsize ws;
    size_t width = ioctl(p->o.fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col - 1u : 79u;
    if (strlen(line) > width)       /* a wrapped line could not be redrawn in place */
        line[width] = 0;
    /* \r: back to the line's start; ESC[K: clear what a longer previous line left */
    int n = snprintf(out, sizeof out, "\r%s\x1b[K%s", line, end);
    if (n > 0 && write(p->o.fd, out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1) > 0)
        p->drawn = 1;
    p->last = now;
}

void zb_progress_update(zb_progress *p, uint64_t done, uint64_t texts, uint64_t tokens)
{
    if (!p)
        return;
    p->done = done;
    p->texts = texts;
    p->tokens = tokens;
    int64_t now = p->o.clock_ms();
    if (now - p->last >= ZB_PROGRESS_REDRAW_MS)
        draw(p, now, "");
}

void zb_progress_clear(zb_progress *p)
{
    if (!p || !p->drawn)
        return;
    if (write(p->o.fd, "\r\x1b[K", 4) < 0) {}
    p->drawn = 0;
    p->cleared = 1;
}

void zb_progress_note(zb_progress *p, const char *fmt, ...)
{
    if (!p)
        return;
    p->note[0] = 0;
    if (!fmt)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->note, sizeof p->note, fmt, ap);
    va_end(ap);
}

void zb_progress_set_total(zb_progress *p, uint64_t total)
{
    if (p)
        p->o.total = total;
}

void zb_progress_end(zb_progress **pp)
{
    zb_progress *p = *pp;
    if (!p)
        return;
    if (p->drawn || p->cleared)
        draw(p, p->o.clock_ms(), "\n");
    free(p);
    *pp = NULL;
}
