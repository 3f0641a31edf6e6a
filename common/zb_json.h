/* zb_json: loading a JSON file we do not trust (a model folder's configs) with jansson: the size is
 * bounded before parsing, and a parse error names the file, line and column. */
#ifndef ZB_JSON_H
#define ZB_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "zb_err.h"

/* Parse path (at most max_bytes) into *out (json_decref it). flags are jansson's decoding flags
 * (e.g. JSON_REJECT_DUPLICATES). ZB_ENOTFOUND / ZB_EIO / ZB_ETOOLONG from reading, ZB_EFORMAT for
 * invalid JSON. */
int zb_json_load_file(const char *path, size_t max_bytes, size_t flags, json_t **out, zb_err *err);

#endif
