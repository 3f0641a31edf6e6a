/* zb_curve: key files and allow-lists (zb_curve.h). ZeroMQ makes and checks the keys (Z85,
 * Curve25519); this file only reads and writes them carefully. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "zb_curve.h"
#include "zb_file.h"

#define KEY_FILE_MAX   4096
#define ALLOW_FILE_MAX (4 << 20)

struct zb_curve_allow {
    char name[256];             /* file, for errors */
    int n, cap;
    uint8_t (*keys)[32];
    int *lines;                 /* where each key was, for errors */
};

/* One line's first word -> 32-byte key. 0, or ZB_EFORMAT naming name:line. */
static int decode_word(const char *name, int line, const char *w, size_t wl, uint8_t key[32], zb_err *err)
{
    char z[ZB_CURVE_Z85_LEN + 1];
    if (wl != ZB_CURVE_Z85_LEN)
        return zb_fail(err, ZB_EFORMAT, "%s:%d: expected a %d-character Z85 CURVE key, found %zu "
                       "characters ('%.*s%s')", name, line, ZB_CURVE_Z85_LEN, wl, (int)(wl > 48 ? 48 : wl),
                       w, wl > 48 ? "..." : "");
    memcpy(z, w, wl);
    z[wl] = 0;
    if (!zmq_z85_decode(key, z))
        return zb_fail(err, ZB_EFORMAT, "%s:%d: '%s' is not a Z85 key (characters outside ZeroMQ's "
                       "Z85 alphabet)", name, line, z);
    return ZB_OK;
}

/* Calls fn(ud, line, word, word_len, rest, rest_len) for every line that is not blank or a comment. */
typedef int (*line_fn)(void *ud, int line, const char *w, size_t wl, const char *rest, size_t rl, zb_err *err);

static int each_line(const char *text, size_t len, line_fn fn, void *ud, zb_err *err)
{
    const char *p = text, *end = text + len;
    for (int line = 1; p < end; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *s = p, *e = eol;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (s < e && *s != '#') {
            const char *w = s;
            while (s < e && *s != ' ' && *s != '\t')
                s++;
            size_t wl = (size_t)(s - w);
            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            int rc = fn(ud, line, w, wl, s, (size_t)(e - s), err);
            if (rc)
                return rc;
        }
        p = eol + 1;
    }
    return ZB_OK;
}

/* ---- single keys ------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    uint8_t key[32];
    int found;
} one_key;

static int on_key_line(void *ud, int line, const char *w, size_t wl, const char *rest, size_t rl, zb_err *err)
{
    one_key *k = ud;
    (void)rest;
    if (k->found)
        return zb_fail(err, ZB_EFORMAT, "%s:%d: a key file holds one key; this is a second one",
                       k->name, line);
    if (rl)
        return zb_fail(err, ZB_EFORMAT, "%s:%d: unexpected text after the key", k->name, line);
    int rc = decode_word(k->name, line, w, wl, k->key, err);
    k->found = !rc;
    return rc;
}

static int load_one(const char *path, uint8_t key[32], zb_err *err)
{
    char *text;
    size_t len;
    int rc = zb_read_file(path, KEY_FILE_MAX, &text, &len, err);
    if (rc)
        return rc;
    one_key k = {.name = path};
    rc = each_line(text, len, on_key_line, &k, err);
    free(text);
    if (!rc && !k.found)
        rc = zb_fail(err, ZB_EFORMAT, "%s: no key in the file (expected one %d-character Z85 line)",
                     path, ZB_CURVE_Z85_LEN);
    if (!rc)
        memcpy(key, k.key, 32);
    return rc;
}

int zb_curve_load_public(const char *path, char out[ZB_CURVE_Z85_LEN + 1], zb_err *err)
{
    uint8_t key[32];
    int rc = load_one(path, key, err);
    if (!rc)
        zmq_z85_encode(out, key, 32);
    return rc;
}

int zb_curve_load_secret(const char *path, zb_curve_keypair *out, zb_err *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
        return zb_fail(err, ZB_EINVAL, "%s: a secret key readable by group or others (mode %04o) is "
                       "refused; chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
    uint8_t key[32];
    int rc = load_one(path, key, err);
    if (rc)
        return rc;
    zmq_z85_encode(out->sec, key, 32);
    if (zmq_curve_public(out->pub, out->sec))
        return zb_fail(err, ZB_EUNSUPPORTED, "%s: this libzmq has no CURVE (zmq_curve_public: %s)", path,
                       zmq_strerror(errno));
    return ZB_OK;
}

/* Write text to path whole: a temporary file then link (no force: fails if path exists) or rename. */
static int write_whole(const char *path, const char *text, mode_t mode, int force, zb_err *err)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return zb_fail(err, ZB_ETOOLONG, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0)
        return zb_fail(err, ZB_EIO, "%s: %s", tmp, strerror(errno));
    size_t n = strlen(text);
    int ok = fchmod(fd, mode) == 0 && write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    if (ok && !force && link(tmp, path) != 0) {
        e = errno;
        ok = 0;
    } else if (ok && force && rename(tmp, path) != 0) {
        e = errno;
        ok = 0;
    }
    unlink(tmp);            /* after link, or on failure; after rename it is gone already */
    if (!ok)
        return zb_fail(err, ZB_EIO, "%s: %s%s", path, strerror(e),
                       e == EEXIST ? " (--force replaces it)" : "");
    return ZB_OK;
}

int zb_curve_keygen(const char *prefix, int force, zb_curve_keypair *out, zb_err *err)
{
    char pub_path[4096], key_path[4096];
    if (snprintf(pub_path, sizeof pub_path, "%s.pub", prefix) >= (int)sizeof pub_path ||
        snprintf(key_path, sizeof key_path, "%s.key", prefix) >= (int)sizeof key_path)
        return zb_fail(err, ZB_ETOOLONG, "%s: path too long", prefix);
    struct stat st;
    if (!force)
        for (int k = 0; k < 2; k++)
            if (lstat(k ? pub_path : key_path, &st) == 0)
                return zb_fail(err, ZB_EINVAL, "%s exists; --force replaces the keypair",
                               k ? pub_path : key_path);
    zb_curve_keypair kp;
    if (zmq_curve_keypair(kp.pub, kp.sec))
        return zb_fail(err, ZB_EUNSUPPORTED, "zmq_curve_keypair: %s (libzmq built without CURVE?)",
                       zmq_strerror(errno));
    char text[256];
    snprintf(text, sizeof text, "# zembed CURVE secret key (zembed keygen); never share it\n%s\n", kp.sec);
    int rc = write_whole(key_path, text, 0600, force, err);
    snprintf(text, sizeof text, "%s\n", kp.pub);
    if (!rc && (rc = write_whole(pub_path, text, 0644, force, err)))
        unlink(key_path);           /* no half keypair */
    memset(text, 0, sizeof text);
    if (!rc && out)
        *out = kp;
    memset(&kp, 0, sizeof kp);
    return rc;
}

/* ---- allow-lists ------------------------------------------------------------------------------ */

static int on_allow_line(void *ud, int line, const char *w, size_t wl, const char *rest, size_t rl, zb_err *err)
{
    zb_curve_allow *a = ud;
    (void)rest, (void)rl;
    uint8_t key[32];
    int rc = decode_word(a->name, line, w, wl, key, err);
    if (rc)
        return rc;
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 16;
        void *k = realloc(a->keys, (size_t)cap * 32), *l = k ? realloc(a->lines, (size_t)cap * sizeof(int)) : NULL;
        if (k)
            a->keys = k;
        if (!l)
            return zb_fail(err, ZB_ENOMEM, "%s: out of memory", a->name);
        a->lines = l;
        a->cap = cap;
    }
    memcpy(a->keys[a->n], key, 32);
    a->lines[a->n++] = line;
    return ZB_OK;
}

zb_curve_allow *zb_curve_allow_parse(const char *name, const char *text, size_t len, zb_err *err)
{
    zb_curve_allow *a = calloc(1, sizeof *a);
    if (!a) {
        zb_fail(err, ZB_ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    snprintf(a->name, sizeof a->name, "%s", name);
    if (each_line(text, len, on_allow_line, a, err))
        zb_curve_allow_destroy(&a);
    return a;
}

zb_curve_allow *zb_curve_allow_load(const char *path, zb_err *err)
{
    char *text;
    size_t len;
    if (zb_read_file(path, ALLOW_FILE_MAX, &text, &len, err))
        return NULL;
    zb_curve_allow *a = zb_curve_allow_parse(path, text, len, err);
    free(text);
    return a;
}

void zb_curve_allow_destroy(zb_curve_allow **a)
{
    if (!a || !*a)
        return;
    free((*a)->keys);
    free((*a)->lines);
    free(*a);
    *a = NULL;
}

int zb_curve_allow_count(const zb_curve_allow *a)
{
    return a ? a->n : 0;
}

static int find(const zb_curve_allow *a, const uint8_t key[32])
{
    for (int i = 0; a && i < a->n; i++)     /* lists are short (dozens): a scan is enough */
        if (!memcmp(a->keys[i], key, 32))
            return i;
    return -1;
}

int zb_curve_allow_has(const zb_curve_allow *a, const uint8_t key[32])
{
    return find(a, key) >= 0;
}

int zb_curve_allow_disjoint(const zb_curve_allow *a, const zb_curve_allow *b, zb_err *err)
{
    for (int i = 0; a && i < a->n; i++) {
        int j = find(b, a->keys[i]);
        if (j >= 0) {
            char z[ZB_CURVE_Z85_LEN + 1];
            zmq_z85_encode(z, a->keys[i], 32);
            return zb_fail(err, ZB_EINVAL, "key %s is on both %s:%d and %s:%d: a client key must not "
                           "pass as a worker's (use separate keypairs)", z, a->name, a->lines[i], b->name,
                           b->lines[j]);
        }
    }
    return ZB_OK;
}
