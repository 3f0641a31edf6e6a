#include "zb_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* An open descriptor of the regular file at path (its stat in *st), or a negative ZB_E* code. */
static int open_regular(const char *path, struct stat *st, zb_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return zb_fail(err, errno == ENOENT ? ZB_ENOTFOUND : ZB_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return zb_fail(err, ZB_EIO, "%s: not a regular file", path);
    }
    return fd;
}

int zb_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len, zb_err *err)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    struct stat st;
    int fd = open_regular(path, &st, err);
    if (fd < 0)
        return fd;
    if ((size_t)st.st_size > max_bytes) {
        close(fd);
        return zb_fail(err, ZB_ETOOLONG, "%s: %lld bytes, more than the %zu allowed", path,
                       (long long)st.st_size, max_bytes);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return zb_fail(err, ZB_ENOMEM, "%s: cannot allocate %zu bytes", path, size + 1);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            free(buf);
            close(fd);
            return zb_fail(err, ZB_EIO, "%s: read failed after %zu of %zu bytes%s%s", path, got,
                           size, e ? ": " : "", e ? strerror(e) : "");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[size] = '\0';
    *out = buf;
    if (out_len)
        *out_len = size;
    return ZB_OK;
}

int zb_map_file(const char *path, zb_map *out, zb_err *err)
{
    out->data = NULL;
    out->size = 0;
    struct stat st;
    int fd = open_regular(path, &st, err);
    if (fd < 0)
        return fd;
    if (st.st_size == 0) {
        close(fd);
        return zb_fail(err, ZB_EFORMAT, "%s: file is empty", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return zb_fail(err, ZB_EIO, "%s: mmap failed: %s", path, strerror(e));
    out->data = p;
    out->size = (size_t)st.st_size;
    return ZB_OK;
}

void zb_unmap(zb_map *m)
{
    if (m && m->data) {
        munmap((void *)m->data, m->size);
        m->data = NULL;
        m->size = 0;
    }
}

int zb_path_join(char *buf, size_t cap, const char *dir, const char *name, zb_err *err)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return zb_fail(err, ZB_ETOOLONG, "path too long: %s/%s", dir, name);
    return ZB_OK;
}

int zb_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int zb_require_dir(const char *path, const char *what, zb_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return zb_fail(err, errno == ENOENT ? ZB_ENOTFOUND : ZB_EIO, "%s %s: %s", what, path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return ZB_OK;
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(parent, sizeof parent, ".");
    return zb_fail(err, ZB_EINVAL, "%s %s is a %s; it takes a folder (the one holding it: %s)", what, path,
                   S_ISREG(st.st_mode) ? "file" : "special file", parent);
}
