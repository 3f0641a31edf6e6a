/* viz_npy: the .npy reader (see viz_npy.h). The header is a Python dict literal; we accept the
 * three keys NumPy writes and nothing fancier. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "viz_npy.h"
#include "zb_file.h"

/* The value text after 'key': in the header, or NULL. */
static const char *value_of(const char *h, const char *key)
{
    const char *p = strstr(h, key);
    if (!p)
        return NULL;
    p += strlen(key);
    while (*p == ' ')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

int viz_npy_parse(const unsigned char *buf, size_t len, const char *name, float **data, int *rows, int *cols,
                  zb_err *err)
{
    *data = NULL;
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6))
        return zb_fail(err, ZB_EFORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", name);
    int major = buf[6];
    size_t hlen, off;
    if (major == 1) {
        hlen = buf[8] | (size_t)buf[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return zb_fail(err, ZB_EFORMAT, "%s: truncated .npy header", name);
        hlen = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        off = 12;
    } else {
        return zb_fail(err, ZB_EUNSUPPORTED, "%s: .npy format version %d", name, major);
    }
    if (hlen > 65536 || off + hlen > len)
        return zb_fail(err, ZB_EFORMAT, "%s: .npy header of %zu bytes does not fit the file", name, hlen);
    char h[65537];
    memcpy(h, buf + off, hlen);
    h[hlen] = 0;
    if (strlen(h) != hlen)
        return zb_fail(err, ZB_EFORMAT, "%s: NUL byte in the .npy header", name);
    const char *d = value_of(h, "'descr'"), *f = value_of(h, "'fortran_order'"), *s = value_of(h, "'shape'");
    if (!d || !f || !s)
        return zb_fail(err, ZB_EFORMAT, "%s: .npy header lacks descr, fortran_order or shape", name);
    if (strncmp(d, "'<f4'", 5))
        return zb_fail(err, ZB_EUNSUPPORTED, "%s: dtype %.8s; expected '<f4' (float32, little-endian)", name, d);
    if (strncmp(f, "False", 5))
        return zb_fail(err, ZB_EUNSUPPORTED, "%s: fortran_order is not False", name);
    long long dim[2];
    const char *p = s;
    if (*p++ != '(')
        return zb_fail(err, ZB_EFORMAT, "%s: shape is not a tuple", name);
    for (int k = 0; k < 2; k++) {
        char *end;
        errno = 0;
        while (*p == ' ')
            p++;
        if (*p < '0' || *p > '9')
            return zb_fail(err, ZB_EUNSUPPORTED, "%s: shape must be 2-D (rows, cols)", name);
        dim[k] = strtoll(p, &end, 10);
        if (errno || dim[k] < 1 || dim[k] > INT_MAX / 4)
            return zb_fail(err, ZB_EFORMAT, "%s: shape entry %d out of range", name, k);
        p = end;
        while (*p == ' ')
            p++;
        if (*p++ != (k ? ')' : ','))
            return zb_fail(err, ZB_EUNSUPPORTED, "%s: shape must be 2-D (rows, cols)", name);
    }
    off += hlen;
    uint64_t want = (uint64_t)dim[0] * (uint64_t)dim[1] * 4;
    if (len - off != want)
        return zb_fail(err, ZB_EFORMAT, "%s: %zu data bytes for shape (%lld, %lld); expected %llu", name, len - off,
                       dim[0], dim[1], (unsigned long long)want);
    float *m = malloc(want ? want : 1);
    if (!m)
        return zb_fail(err, ZB_ENOMEM, "%s: out of memory for %llu bytes", name, (unsigned long long)want);
    memcpy(m, buf + off, want);
    for (uint64_t i = 0; i < want / 4; i++)
        if (!isfinite(m[i])) {
            free(m);
            return zb_fail(err, ZB_EFORMAT, "%s: row %llu holds NaN or inf", name, (unsigned long long)(i / dim[1]));
        }
    *data = m;
    *rows = (int)dim[0];
    *cols = (int)dim[1];
    return ZB_OK;
}

int viz_npy_load(const char *path, float **data, int *rows, int *cols, zb_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    *data = NULL;
    int rc = zb_read_file(path, (size_t)4 << 30, &buf, &len, err);
    if (!rc)
        rc = viz_npy_parse((const unsigned char *)buf, len, path, data, rows, cols, err);
    free(buf);
    return rc;
}
