/* zb_file: reading files we do not trust (model folders, corpora) with bounded memory. */
#ifndef ZB_FILE_H
#define ZB_FILE_H

#include <stddef.h>
#include "zb_err.h"

/* Read a whole file into a NUL-terminated heap buffer (free() it). Files larger than max_bytes are
 * refused with ZB_ETOOLONG, so a hostile folder cannot make us allocate without limit. */
int zb_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len, zb_err *err);

/* A read-only shared mapping of a whole file: N processes mapping the same weights share one copy
 * in the page cache. */
typedef struct {
    const unsigned char *data;
    size_t size;
} zb_map;

int  zb_map_file(const char *path, zb_map *out, zb_err *err);
void zb_unmap(zb_map *m);

/* dir + "/" + name into buf; ZB_ETOOLONG if it does not fit. */
int zb_path_join(char *buf, size_t cap, const char *dir, const char *name, zb_err *err);

/* 1 if path exists and is a regular file. */
int zb_is_file(const char *path);

/* A flag that takes a folder (what: "--model"): ZB_OK when path is one; otherwise a message that
 * says what path is instead, naming the folder that holds a file given in its place
 * ("--model /m/config.json is a file; it takes the model folder: /m"). */
int zb_require_dir(const char *path, const char *what, zb_err *err);

#endif
