/* viz_page: writes one self-contained HTML page (see viz_page.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "viz_page.h"

extern const char viz_asset_css[], viz_asset_page_js[], viz_asset_heatmap_js[], viz_asset_map_js[],
    viz_asset_tokstats_js[]; /* viz_assets.c */

static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return fwrite(buffer, 1, size, data) == size ? 0 : -1;
}

/* The page into f; nonzero when the data cannot be encoded (stream errors: ferror). */
static int put_page(FILE *f, viz_page_kind kind, const char *title, const json_t *data)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
    put_escaped(f, title);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head><body>\n<div id=\"app\"></div>\n"
               "<script type=\"application/json\" id=\"zembed-data\">", viz_asset_css);
    /* JSON_ESCAPE_SLASH: a "</script>" inside a token or a sentence cannot end the element */
    int rc = json_dump_callback(data, dump_cb, f, JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_REAL_PRECISION(7));
    fprintf(f, "</script>\n<script>\n%s%s</script>\n</body></html>\n", viz_asset_page_js,
            kind == VIZ_PAGE_HEATMAP ? viz_asset_heatmap_js
            : kind == VIZ_PAGE_MAP   ? viz_asset_map_js
                                     : viz_asset_tokstats_js);
    return rc;
}

int viz_page_print(FILE *f, viz_page_kind kind, const char *title, const json_t *data, zb_err *err)
{
    int rc = put_page(f, kind, title, data);
    if (rc || fflush(f) || ferror(f))
        return zb_fail(err, ZB_EIO, "writing the page failed: %s", rc ? "cannot encode the data" : strerror(errno));
    return ZB_OK;
}

int viz_page_write(const char *path, viz_page_kind kind, const char *title, const json_t *data, zb_err *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return zb_fail(err, ZB_EINVAL, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return zb_fail(err, ZB_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    int rc = put_page(f, kind, title, data);
    int bad = ferror(f);
    bad |= fclose(f);
    if (rc || bad) {
        unlink(tmp);
        return zb_fail(err, ZB_EIO, "%s: writing failed: %s", path, rc ? "cannot encode the data" : strerror(errno));
    }
    if (rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return zb_fail(err, ZB_EIO, "%s: cannot rename %s into place: %s", path, tmp, strerror(e));
    }
    return ZB_OK;
}
