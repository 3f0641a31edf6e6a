/* libFuzzer target: the parts of the model download that read what a server or a user hands us
 * (hub/hub.h): ETag values, repo ids, revisions and file paths (from a mirror or a JSON index)
 * and pin files. Input: a string, a NUL byte, then the pin file's contents.
 * Invariants: an accepted path or revision is relative without a ".." part; an accepted repo id has exactly
 * one '/'; a parsed hash is 64 (sha256) or 40 (git sha1) lowercase hex digits; URLs and paths are
 * built within their buffers or refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "hub.h"

static int is_lower_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Relative and without a ".." component ("....." is a harmless name). */
static int stays_inside(const char *s)
{
    if (s[0] == '/' || s[0] == '\0')
        return 0;
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        p += n + (p[n] == '/');
    }
    return 1;
}

static void check_string(const char *s)
{
    zb_err err;
    char hex[65];
    hub_hash_kind k = hub_etag_parse(s, hex);
    if (k == HUB_HASH_SHA256)
        FUZZ_ASSERT(is_lower_hex(hex, 64));
    else if (k == HUB_HASH_GITSHA1)
        FUZZ_ASSERT(is_lower_hex(hex, 40));
    else
        FUZZ_ASSERT(k == HUB_HASH_NONE);

    int path_ok = hub_check_rel_path(s, &err) == ZB_OK;
    if (path_ok)
        FUZZ_ASSERT(stays_inside(s));
    else
        fuzz_check_err(err.code, &err);
    int repo_ok = hub_check_repo_id(s, &err) == ZB_OK;
    if (repo_ok) {
        const char *slash = strchr(s, '/');
        FUZZ_ASSERT(slash && !strchr(slash + 1, '/'));
    }
    int rev_ok = hub_check_revision(s, &err) == ZB_OK;
    if (rev_ok)
        FUZZ_ASSERT(stays_inside(s));

    char buf[300];   /* small on purpose: long inputs must be refused, not overflow */
    if (repo_ok) {
        int rc = hub_repo_dir(buf, sizeof buf, "/cache", s, &err);
        fuzz_check_err(rc, &err);
        if (rc == ZB_OK)
            FUZZ_ASSERT(strlen(buf) < sizeof buf);
    }
    if (path_ok || rev_ok) {
        int rc = hub_file_url(buf, sizeof buf, "http://127.0.0.1:1/", "org/name",
                              rev_ok ? s : "main", path_ok ? s : "config.json", &err);
        fuzz_check_err(rc, &err);
        if (rc == ZB_OK)
            FUZZ_ASSERT(strlen(buf) < sizeof buf && strstr(buf, "/resolve/"));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t slen = nul ? (size_t)(nul - data) : size;
    char *s = malloc(slen + 1);
    FUZZ_ASSERT(s != NULL);
    memcpy(s, data, slen);
    s[slen] = '\0';
    check_string(s);

    if (nul) {
        fuzz_put("pins.sha256", nul + 1, size - slen - 1);
        char pin[256], hex[65];
        snprintf(pin, sizeof pin, "%s/pins.sha256", fuzz_dir());
        zb_err err;
        zb_clear(&err);
        const char *files[] = { s, "model.safetensors", "config.json" };
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            int rc = hub_pin_lookup(pin, files[i], hex, &err);
            fuzz_check_err(rc, &err);
            if (rc == 1)
                FUZZ_ASSERT(is_lower_hex(hex, 64));
            else
                FUZZ_ASSERT(rc <= 0);
        }
    }
    free(s);
    return 0;
}
