#include "zb_json.h"

#include <stdlib.h>

#include "zb_file.h"

int zb_json_load_file(const char *path, size_t max_bytes, size_t flags, json_t **out, zb_err *err)
{
    *out = NULL;
    char *text;
    size_t len;
    int rc = zb_read_file(path, max_bytes, &text, &len, err);
    if (rc)
        return rc;
    json_error_t je;
    *out = json_loadb(text, len, flags, &je);
    free(text);
    if (!*out)
        return zb_fail(err, ZB_EFORMAT, "%s: invalid JSON at line %d column %d: %s", path, je.line,
                       je.column, je.text);
    return ZB_OK;
}
