/* enc_wcache: the prepared bf16 / int8 weights of a model in one file, mmap'd read-only by every
 * encoder process, so N encoders on a host hold one copy in the page cache instead of N private
 * ones, and a restart skips the conversion.
 *
 * Where: {cache}/prepared/{sha256 of the weight files}-{precision}-{cpu isa}-dnnl{version}.zbw,
 * {cache} as hub.h says ($ZEMBED_CACHE, $XDG_CACHE_HOME/zembed, ~/.cache/zembed); ZEMBED_WEIGHT_CACHE=0
 * turns it off. The name carries the key, and the header repeats it with the whole kernel
 * description (oneDNN version, kernel, ISA): a file made for other weights or another CPU is never
 * used. Written to a temp file in the same folder and renamed, so readers see a whole file or none.
 *
 * The file is untrusted input like a model: every size, offset and count is checked against the
 * model and this CPU's layouts before use (enc_wcache_parse, fuzzed by fuzz/enc_wcache_fuzz.c); a
 * file that fails is replaced, never trusted. Host byte order (the records are oneDNN's in-memory
 * layouts anyway). */
#include "enc_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"

#define WC_MAGIC "ZBWCACHE"
#define WC_VERSION 1

typedef struct {
    char magic[8];
    uint32_t version, prec, layers, hidden, inter, pad;
    uint64_t bytes;        /* the whole file */
    char key[72];          /* sha256 hex of the model's weight files */
    char kernel[160];      /* enc_mm_init's description */
    char zero[48];
} wc_head;                 /* 320 bytes: records start 64-aligned */

_Static_assert(sizeof(wc_head) % 64 == 0, "records must start 64-byte aligned");

/* sha256 over the sha256 of each weight file (one, or the shards in index order). */
int enc_wcache_key(const enc_model *m, char hex[65], zb_err *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        return zb_fail(err, ZB_ENOMEM, "cannot start a hash");
    }
    int rc = ZB_OK;
    for (int i = 0; i < m->n_files && !rc; i++) {
        char one[65];
        if (!(rc = hub_hash_file(st_path(m->files[i]), HUB_HASH_SHA256, one, err)))
            EVP_DigestUpdate(ctx, one, 64);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    for (unsigned int i = 0; i < n && !rc; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return rc;
}

/* The file name: key, precision and the kernel's ISA and oneDNN version ("... (cpu isa X)"). */
static int wc_path(const char *key, enc_precision p, const char *kernel, char *out, size_t cap, zb_err *err)
{
    char root[HUB_PATH_MAX], isa[48] = "unknown", ver[16] = "0";
    int rc = hub_cache_root(root, sizeof root, err);
    if (rc)
        return rc;
    const char *i = strstr(kernel, "cpu isa ");
    if (i)
        sscanf(i + 8, "%47[a-z0-9_]", isa);
    sscanf(kernel, "oneDNN %15[0-9.]", ver);
    if ((size_t)snprintf(out, cap, "%s/prepared/%.64s-%s-%s-dnnl%s.zbw", root, key, enc_precision_name(p), isa,
                         ver) >= cap)
        return zb_fail(err, ZB_ERANGE, "%s: cache path too long", root);
    return ZB_OK;
}

int enc_wcache_parse(const enc_config *c, enc_precision p, const char *key, const char *kernel,
                     const unsigned char *buf, size_t len, enc_mm_w **mm, zb_err *err)
{
    wc_head h;
    if (len < sizeof h)
        return zb_fail(err, ZB_EFORMAT, "%zu bytes: shorter than the header", len);
    memcpy(&h, buf, sizeof h);
    if (memcmp(h.magic, WC_MAGIC, 8) || h.version != WC_VERSION)
        return zb_fail(err, ZB_EFORMAT, "not a version %d zembed weight cache", WC_VERSION);
    if (h.bytes != len)
        return zb_fail(err, ZB_EFORMAT, "the header says %llu bytes, the file has %zu",
                       (unsigned long long)h.bytes, len);
    if (h.prec != (uint32_t)p || h.layers != (uint32_t)c->layers || h.hidden != (uint32_t)c->hidden ||
        h.inter != (uint32_t)c->intermediate || h.pad || memchr(h.key, 0, sizeof h.key) == NULL ||
        memchr(h.kernel, 0, sizeof h.kernel) == NULL || strcmp(h.key, key) || strcmp(h.kernel, kernel))
        return zb_fail(err, ZB_EFORMAT, "made for other weights, precision, shapes or CPU kernel");
    int H = c->hidden, I = c->intermediate, L = c->layers;
    const int N[ENC_MM_PER_LAYER] = {3 * H, H, I, H}, K[ENC_MM_PER_LAYER] = {H, H, H, I};
    size_t off = sizeof h;
    for (int l = 0; l < L; l++)
        for (int i = 0; i < ENC_MM_PER_LAYER; i++) {
            size_t used = 0;
            enc_mm_w *w = enc_mm_from_blob(p, N[i], K[i], buf + off, len - off, &used, err);
            if (!w)
                return zb_wrap(err, "layer %d, weight %d (at byte %zu): ", l, i, off);
            mm[(size_t)l * ENC_MM_PER_LAYER + i] = w;
            off += used;
        }
    if (off != len)
        return zb_fail(err, ZB_EFORMAT, "%zu bytes after the last weight", len - off);
    return ZB_OK;
}

static void free_all(enc_mm_w **mm, int n)
{
    for (int i = 0; i < n; i++) {
        enc_mm_free(mm[i]);
        mm[i] = NULL;
    }
}

/* Map path and parse it into mm (the model's layers x 4); the mapping goes to *map, *map_len. */
static int wc_load(const enc_model *m, enc_precision p, const char *path, const char *key, const char *kernel,
                   enc_mm_w **mm, void **map, size_t *map_len, zb_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ZB_ENOTFOUND : zb_fail(err, ZB_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) ? zb_fail(err, ZB_EIO, "%s: %s", path, strerror(errno)) : ZB_OK;
    if (!rc && (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(wc_head)))
        rc = zb_fail(err, ZB_EFORMAT, "%s: not a weight cache file", path);
    void *p_map = MAP_FAILED;
    if (!rc && (p_map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED)
        rc = zb_fail(err, ZB_EIO, "%s: mmap: %s", path, strerror(errno));
    close(fd);
    if (rc)
        return rc;
    if ((rc = enc_wcache_parse(&m->cfg, p, key, kernel, p_map, (size_t)st.st_size, mm, err))) {
        free_all(mm, m->cfg.layers * ENC_MM_PER_LAYER);
        munmap(p_map, (size_t)st.st_size);
        return zb_wrap(err, "%s: ", path);
    }
    *map = p_map;
    *map_len = (size_t)st.st_size;
    return ZB_OK;
}

/* Write mm to path atomically: a temp file beside it, fsync, rename. */
static int wc_write(const enc_model *m, enc_precision p, const char *path, const char *key, const char *kernel,
                    enc_mm_w *const *mm, zb_err *err)
{
    char dir[HUB_PATH_MAX + 128], tmp[HUB_PATH_MAX + 160];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    /* mkdir -p of {cache}/prepared */
    for (char *s = dir + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(dir, 0755);
            *s = '/';
        }
    if (mkdir(dir, 0755) && errno != EEXIST)
        return zb_fail(err, ZB_EIO, "%s: %s", dir, strerror(errno));
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return zb_fail(err, ZB_EIO, "%s: %s", tmp, strerror(errno));
    }
    int n = m->cfg.layers * ENC_MM_PER_LAYER;
    wc_head h = {.magic = WC_MAGIC, .version = WC_VERSION, .prec = (uint32_t)p, .layers = (uint32_t)m->cfg.layers,
                 .hidden = (uint32_t)m->cfg.hidden, .inter = (uint32_t)m->cfg.intermediate};
    h.bytes = sizeof h;
    for (int i = 0; i < n; i++)
        h.bytes += enc_mm_blob_size(mm[i]);
    snprintf(h.key, sizeof h.key, "%s", key);
    snprintf(h.kernel, sizeof h.kernel, "%s", kernel);
    int bad = fwrite(&h, sizeof h, 1, f) != 1;
    for (int i = 0; i < n && !bad; i++)
        bad = enc_mm_blob_write(mm[i], f) != ZB_OK;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return zb_fail(err, ZB_EIO, "%s: %s", bad ? tmp : path, strerror(e));
    }
    return ZB_OK;
}

int enc_wcache_get(enc_model *m, enc_precision p, const char *kernel, int (*prepare)(enc_model *, enc_precision,
                   enc_mm_w **, zb_err *), enc_mm_w **mm, char *note, size_t cap, zb_err *err)
{
    const char *off = getenv("ZEMBED_WEIGHT_CACHE");
    char key[65], path[HUB_PATH_MAX + 128];
    zb_err why;
    zb_clear(&why);
    if (off && !strcmp(off, "0")) {
        snprintf(note, cap, "in memory (ZEMBED_WEIGHT_CACHE=0)");
        return prepare(m, p, mm, err);
    }
    if (enc_wcache_key(m, key, &why) || wc_path(key, p, kernel, path, sizeof path, &why)) {
        snprintf(note, cap, "in memory (no cache: %.200s)", why.msg);
        return prepare(m, p, mm, err);
    }
    int rc = wc_load(m, p, path, key, kernel, mm, &m->wc_map, &m->wc_len, &why);
    if (rc == ZB_OK) {
        snprintf(note, cap, "mmap'd from %.400s", path);
        return ZB_OK;
    }
    char stale[300] = "";
    if (rc != ZB_ENOTFOUND)   /* damaged or foreign: say so, then replace it */
        snprintf(stale, sizeof stale, "; replaced a bad cache file: %.240s", why.msg);
    if ((rc = prepare(m, p, mm, err)))
        return rc;
    int n = m->cfg.layers * ENC_MM_PER_LAYER;
    enc_mm_w **again = calloc((size_t)n, sizeof *again);
    if (!again || wc_write(m, p, path, key, kernel, mm, &why) ||
        wc_load(m, p, path, key, kernel, again, &m->wc_map, &m->wc_len, &why)) {
        snprintf(note, cap, "in memory (cache %.300s not usable: %.200s)%s", path, why.msg, stale);
        free(again);
        return ZB_OK;
    }
    free_all(mm, n);   /* this process too reads the shared copy */
    memcpy(mm, again, sizeof *mm * (size_t)n);
    free(again);
    snprintf(note, cap, "written to and mmap'd from %.400s%s", path, stale);
    return ZB_OK;
}

void enc_wcache_unmap(enc_model *m)
{
    if (m->wc_map)
        munmap(m->wc_map, m->wc_len);
    m->wc_map = NULL;
    m->wc_len = 0;
}
