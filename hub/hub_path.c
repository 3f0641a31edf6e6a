/* hub_path: names the hub and the cache accept (repo ids, revisions, file paths), URLs, cache folders. */
#include "hub.h"

#include <ctype.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int name_char(int c) { return isalnum(c) || c == '.' || c == '_' || c == '-'; }

/* Every '/'-separated part non-empty, made of name_char, not "." or "..". */
static int check_parts(const char *s, size_t max_part)
{
    const char *p = s;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || n > max_part || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!name_char((unsigned char)p[i]))
                return 0;
        if (!e)
            return 1;
        p = e + 1;
    }
}

int hub_check_repo_id(const char *repo, zb_err *err)
{
    const char *slash = repo ? strchr(repo, '/') : NULL;
    if (!slash || strchr(slash + 1, '/') || !check_parts(repo, 96) || strstr(repo, "--") ||
        repo[0] == '-' || repo[0] == '.' || slash[1] == '-' || slash[1] == '.')
        return zb_fail(err, ZB_EINVAL,
                       "repo id '%s': expected \"org/name\" with letters, digits, '.', '_', '-' "
                       "(no \"--\", at most 96 characters each)", repo ? repo : "(null)");
    return ZB_OK;
}

int hub_check_revision(const char *rev, zb_err *err)
{
    if (!rev || strlen(rev) > 255 || !check_parts(rev, 255))
        return zb_fail(err, ZB_EINVAL,
                       "revision '%s': expected a branch, tag or commit made of letters, digits, "
                       "'.', '_', '-', '/' (no \"..\")", rev ? rev : "(null)");
    return ZB_OK;
}

int hub_check_rel_path(const char *path, zb_err *err)
{
    if (!path || strlen(path) > 1024 || !check_parts(path, 255))
        return zb_fail(err, ZB_EINVAL,
                       "file path '%s': expected a relative path of letters, digits, '.', '_', '-', "
                       "'/' (no \"..\", no leading '/')", path ? path : "(null)");
    return ZB_OK;
}

int hub_file_url(char *buf, size_t cap, const char *endpoint, const char *repo, const char *rev,
                 const char *file, zb_err *err)
{
    size_t el = strlen(endpoint);
    while (el && endpoint[el - 1] == '/')
        el--;
    char enc[3 * 256 + 1]; /* the hub takes the revision as one path segment */
    size_t k = 0;
    for (const char *p = rev; *p && k + 4 < sizeof enc; p++) {
        if (*p == '/') {
            memcpy(enc + k, "%2F", 3);
            k += 3;
        } else {
            enc[k++] = *p;
        }
    }
    enc[k] = '\0';
    int n = snprintf(buf, cap, "%.*s/%s/resolve/%s/%s", (int)el, endpoint, repo, enc, file);
    if (n < 0 || (size_t)n >= cap)
        return zb_fail(err, ZB_ETOOLONG, "URL for %s/%s longer than %zu bytes", repo, file, cap);
    return ZB_OK;
}

int hub_cache_root(char *buf, size_t cap, zb_err *err)
{
    const char *z = getenv("ZEMBED_CACHE"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    int n;
    if (z && *z) {
        n = snprintf(buf, cap, "%s", z);
    } else if (x && *x) {
        n = snprintf(buf, cap, "%s/zembed", x);
    } else {
        if (!h || !*h) {
            struct passwd *pw = getpwuid(getuid());
            h = pw ? pw->pw_dir : NULL;
        }
        if (!h || !*h)
            return zb_fail(err, ZB_ENOTFOUND,
                           "no cache folder: set ZEMBED_CACHE (or XDG_CACHE_HOME, or HOME)");
        n = snprintf(buf, cap, "%s/.cache/zembed", h);
    }
    if (n < 0 || (size_t)n >= cap)
        return zb_fail(err, ZB_ETOOLONG, "cache folder path longer than %zu bytes", cap);
    return ZB_OK;
}

int hub_repo_dir(char *buf, size_t cap, const char *cache, const char *repo, zb_err *err)
{
    const char *slash = strchr(repo, '/');
    if (!slash)
        return zb_fail(err, ZB_EINVAL, "repo id '%s': expected \"org/name\"", repo);
    int n = snprintf(buf, cap, "%s/models--%.*s--%s", cache, (int)(slash - repo), repo, slash + 1);
    if (n < 0 || (size_t)n >= cap)
        return zb_fail(err, ZB_ETOOLONG, "cache path for %s longer than %zu bytes", repo, cap);
    return ZB_OK;
}
