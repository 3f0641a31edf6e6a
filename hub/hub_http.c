/* hub_http: one GET with libcurl into a file descriptor, keeping the hub's headers. */
#include "hub.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct {
    int fd;
    long long max_bytes, bytes;
    int too_big, write_failed, write_errno;
    hub_http_result *res;
} xfer;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (x->bytes + (long long)len > x->max_bytes) { /* no Content-Length, or it lied */
        x->too_big = 1;
        return 0;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(x->fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->write_failed = 1;
            x->write_errno = w < 0 ? errno : ENOSPC;
            return 0;
        }
        off += (size_t)w;
    }
    x->bytes += (long long)len;
    return len;
}

/* Copy a header's value (trimmed) into dst if the header is `name` and dst is still empty: the first
 * response that carries it wins, so the hub's X-Linked-Etag survives the redirect to a CDN. */
static void keep_header(const char *line, size_t len, const char *name, char *dst, size_t cap)
{
    size_t nl = strlen(name);
    if (dst[0] || len <= nl + 1 || strncasecmp(line, name, nl) || line[nl] != ':')
        return;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    size_t vl = (size_t)(end - v);
    if (vl >= cap) /* an oversized header is not a hash we could check: ignore it */
        return;
    memcpy(dst, v, vl);
    dst[vl] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    keep_header(p, len, "X-Repo-Commit", x->res->commit, sizeof x->res->commit);
    keep_header(p, len, "X-Linked-Etag", x->res->linked_etag, sizeof x->res->linked_etag);
    keep_header(p, len, "ETag", x->res->etag, sizeof x->res->etag);
    keep_header(p, len, "X-Error-Code", x->res->error_code, sizeof x->res->error_code);
    return len;
}

/* curl's transfer callback -> hub_opts.on_bytes */
static int on_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    const hub_opts *o = ud;
    (void)ultotal, (void)ulnow;
    o->on_bytes(o->on_bytes_ud, (long long)dlnow, (long long)dltotal);
    return 0;
}

int hub_http_get(const char *url, int fd, long long max_bytes, const hub_opts *o, hub_http_result *res,
                 zb_err *err)
{
    memset(res, 0, sizeof *res);
    pthread_once(&curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (!c)
        return zb_fail(err, ZB_ENOMEM, "%s: cannot create a libcurl handle", url);
    xfer x = {.fd = fd, .max_bytes = max_bytes, .res = res};
    char curl_msg[CURL_ERROR_SIZE] = "";
    const char *token = getenv("HF_TOKEN");

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_msg);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 8L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s > 0 ? o->connect_timeout_s : 10L);
    /* No total timeout (weights are big); a stalled transfer is what we abort. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->stall_timeout_s > 0 ? o->stall_timeout_s : 30L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_bytes);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "zembed/1 (hub file fetch; libcurl)");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    if (o->on_bytes) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xfer);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)o);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    if (token && *token) { /* libcurl's bearer auth is not replayed to another host on redirect */
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, token);
    }

    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
    curl_easy_cleanup(c);
    res->bytes = x.bytes;
    const char *why = curl_msg[0] ? curl_msg : curl_easy_strerror(rc);

    if (rc == CURLE_OK)
        return ZB_OK;
    if (x.too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return zb_fail(err, ZB_ETOOLONG, "%s: larger than the %lld bytes allowed for this file", url,
                       max_bytes);
    if (x.write_failed)
        return zb_fail(err, ZB_EIO, "%s: writing the download failed: %s", url, strerror(x.write_errno));
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return zb_fail(err, ZB_EUNAVAILABLE, "%s: cannot reach the server: %s", url, why);
    case CURLE_OPERATION_TIMEDOUT:
        return zb_fail(err, res->status ? ZB_ETIMEOUT : ZB_EUNAVAILABLE, "%s: %s", url,
                       res->status ? "transfer stalled" : why);
    default:
        return zb_fail(err, ZB_EIO, "%s: transfer broken after %lld bytes: %s", url, x.bytes, why);
    }
}
