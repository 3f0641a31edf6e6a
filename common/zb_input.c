#include "zb_input.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1 << 16)

struct zb_input {
    char *const *paths;     /* the caller's; NULL: stdin only */
    int n, next;            /* paths; the next one to open */
    int fd;                 /* the file being read, -1 between files */
    int owned;              /* fd is ours to close (not stdin) */
    const char *name;
    size_t max_line;
    volatile sig_atomic_t *stop;
    uint64_t done, total;
    char buf[CHUNK];        /* read buffer: [pos, end) not yet consumed */
    size_t pos, end;
    int eof;                /* the current file gave 0 bytes */
    char *line;             /* the line handed out */
    size_t line_cap;
};

static int is_stdin(const char *p)
{
    return !strcmp(p, "-");
}

zb_input *zb_input_open(char *const *paths, int n, size_t max_line, zb_err *err)
{
    uint64_t total = 0;
    int total_known = 1;
    for (int i = 0; i < (n ? n : 1); i++) {
        struct stat st;
        const char *p = n ? paths[i] : "-";
        int ok = is_stdin(p) ? fstat(0, &st) == 0 : stat(p, &st) == 0;
        if (!ok || (!is_stdin(p) && access(p, R_OK))) {
            zb_fail(err, errno == ENOENT ? ZB_ENOTFOUND : ZB_EIO, "%s: %s", p, strerror(errno));
            return NULL;
        }
        if (S_ISDIR(st.st_mode)) {
            zb_fail(err, ZB_EINVAL, "%s is a folder; give text files (one input per line)", p);
            return NULL;
        }
        if (S_ISREG(st.st_mode)) {
            off_t at = is_stdin(p) ? lseek(0, 0, SEEK_CUR) : 0;
            total += (uint64_t)(st.st_size - (at > 0 ? at : 0));
        } else {
            total_known = 0;
        }
    }
    zb_input *in = calloc(1, sizeof *in);
    if (!in) {
        zb_fail(err, ZB_ENOMEM, "out of memory");
        return NULL;
    }
    in->paths = n ? paths : NULL;
    in->n = n;
    in->fd = -1;
    in->name = "stdin";
    in->max_line = max_line;
    in->total = total_known ? total : 0;
    return in;
}

void zb_input_destroy(zb_input **pin)
{
    zb_input *in = *pin;
    if (!in)
        return;
    if (in->owned)
        close(in->fd);
    free(in->line);
    free(in);
    *pin = NULL;
}

int zb_input_ready(zb_input *in)
{
    if (in->pos < in->end || in->fd < 0)
        return 1;       /* buffered, or between files (opening one does not wait) */
    struct pollfd p = {.fd = in->fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0;     /* readable, at EOF or hung up; errors: let the read say */
}

void zb_input_set_stop(zb_input *in, volatile sig_atomic_t *stop)
{
    in->stop = stop;
}

uint64_t zb_input_bytes_done(const zb_input *in)
{
    return in->done - (in->end - in->pos);     /* the lines handed out, not the read-ahead */
}

uint64_t zb_input_bytes_total(const zb_input *in)
{
    return in->total;
}

const char *zb_input_name(const zb_input *in)
{
    return in->name;
}

/* Opens the next input: 1 opened, 0 none left, ZB_EIO. */
static int open_next(zb_input *in, zb_err *err)
{
    if (in->next >= (in->n ? in->n : 1))
        return 0;
    const char *p = in->n ? in->paths[in->next] : "-";
    in->next++;
    in->eof = 0;
    if (is_stdin(p)) {
        in->fd = 0;
        in->name = "stdin";
        return 1;
    }
    in->name = p;
    if ((in->fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
        return zb_fail(err, ZB_EIO, "%s: %s", p, strerror(errno));
    in->owned = 1;
    return 1;
}

/* Refills buf from the current file: >0 bytes, 0 end of this file (or stop), ZB_EIO. */
static int fill(zb_input *in, zb_err *err)
{
    for (;;) {
        if (in->stop && *in->stop)
            return 0;
        struct pollfd p = {.fd = in->fd, .events = POLLIN};
        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR)
                continue;               /* the stop flag is looked at again */
            return zb_fail(err, ZB_EIO, "reading %s: %s", in->name, strerror(errno));
        }
        ssize_t got = read(in->fd, in->buf, CHUNK);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0)
            return zb_fail(err, ZB_EIO, "reading %s: %s", in->name, strerror(errno));
        in->pos = 0;
        in->end = (size_t)got;
        in->done += (uint64_t)got;
        return (int)(got > 0);
    }
}

static int put(zb_input *in, size_t *n, const char *s, size_t k, int *too_long)
{
    if (in->max_line && *n + k > in->max_line) {
        *too_long = 1;
        k = *n < in->max_line ? in->max_line - *n : 0;
    }
    if (*n + k + 1 > in->line_cap) {
        size_t nc = in->line_cap ? in->line_cap : 256;
        while (nc < *n + k + 1)
            nc *= 2;
        char *q = realloc(in->line, nc);
        if (!q)
            return ZB_ENOMEM;
        in->line = q;
        in->line_cap = nc;
    }
    memcpy(in->line + *n, s, k);
    *n += k;
    return 0;
}

int zb_input_line(zb_input *in, char **line, size_t *len, int *too_long, zb_err *err)
{
    size_t n = 0;
    int have = 0, tl = 0;
    if (in->stop && *in->stop)
        return 0;
    for (;;) {
        if (in->fd < 0) {
            int rc = open_next(in, err);
            if (rc <= 0)
                return rc;
        }
        if (in->pos == in->end) {
            int rc = in->eof ? 0 : fill(in, err);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                if (in->stop && *in->stop)
                    return 0;
                /* the end of this file ends its last line */
                if (in->owned)
                    close(in->fd);
                in->fd = -1;
                in->owned = 0;
                in->eof = 1;
                if (have)
                    break;
                continue;
            }
        }
        char *nl = memchr(in->buf + in->pos, '\n', in->end - in->pos);
        size_t k = nl ? (size_t)(nl - (in->buf + in->pos)) : in->end - in->pos;
        if (put(in, &n, in->buf + in->pos, k, &tl))
            return zb_fail(err, ZB_ENOMEM, "%s: out of memory for a line", in->name);
        have = 1;
        in->pos += k + (nl != NULL);
        if (nl)
            break;
    }
    if (!tl && n && in->line[n - 1] == '\r')
        n--;
    if (put(in, &n, "", 0, &tl))
        return zb_fail(err, ZB_ENOMEM, "%s: out of memory for a line", in->name);
    in->line[n] = 0;
    *line = in->line;
    *len = n;
    if (too_long)
        *too_long = tl;
    return 1;
}
