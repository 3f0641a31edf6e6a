/* hub_hash: what the hub tells us about a file's bytes (ETag forms, pin files) and checking it. */
#include "hub.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zb_file.h"

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

hub_hash_kind hub_etag_parse(const char *value, char hex[65])
{
    hex[0] = '\0';
    if (!value)
        return HUB_HASH_NONE;
    if (!strncmp(value, "W/", 2))
        value += 2;
    size_t n = strlen(value);
    if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
        value++;
        n -= 2;
    }
    if ((n != 64 && n != 40) || !all_hex(value, n))
        return HUB_HASH_NONE;
    for (size_t i = 0; i < n; i++)
        hex[i] = (char)tolower((unsigned char)value[i]);
    hex[n] = '\0';
    return n == 64 ? HUB_HASH_SHA256 : HUB_HASH_GITSHA1;
}

int hub_hash_file(const char *path, hub_hash_kind kind, char hex[65], zb_err *err)
{
    assert(kind == HUB_HASH_SHA256 || kind == HUB_HASH_GITSHA1);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return zb_fail(err, ZB_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return zb_fail(err, ZB_EIO, "%s: %s", path, strerror(errno));
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, kind == HUB_HASH_SHA256 ? EVP_sha256() : EVP_sha1(), NULL)) {
        EVP_MD_CTX_free(ctx);
        close(fd);
        return zb_fail(err, ZB_ENOMEM, "%s: cannot start a hash", path);
    }
    if (kind == HUB_HASH_GITSHA1) { /* git hashes "blob <size>\0" + content */
        char head[48];
        int hn = snprintf(head, sizeof head, "blob %lld", (long long)st.st_size);
        EVP_DigestUpdate(ctx, head, (size_t)hn + 1);
    }
    static __thread unsigned char buf[1 << 16];
    int rc = ZB_OK;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = zb_fail(err, ZB_EIO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)r);
    }
    close(fd);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (rc)
        return rc;
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return ZB_OK;
}

int hub_pin_lookup(const char *pin_file, const char *file, char hex[65], zb_err *err)
{
    hex[0] = '\0';
    char *text;
    int rc = zb_read_file(pin_file, 1 << 20, &text, NULL, err);
    if (rc)
        return zb_wrap(err, "pin file: ");
    int found = 0, line_no = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line_no++;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        if (!n || line[0] == '#')
            continue;
        /* sha256sum: 64 hex, a space, ' ' (text) or '*' (binary), the name */
        if (n < 67 || !all_hex(line, 64) || line[64] != ' ' || (line[65] != ' ' && line[65] != '*')) {
            rc = zb_fail(err, ZB_EFORMAT, "%s:%d: expected \"<64 hex sha256>  <file>\" as sha256sum writes",
                         pin_file, line_no);
            break;
        }
        if (!strcmp(line + 66, file)) {
            for (int i = 0; i < 64; i++)
                hex[i] = (char)tolower((unsigned char)line[i]);
            hex[64] = '\0';
            found = 1;
            break;
        }
    }
    free(text);
    return rc ? rc : found;
}
