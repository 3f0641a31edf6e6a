/* viz_page: self-contained HTML pages (data and code inline, nothing fetched at view time).
 *
 * A page is <style> + the data as one JSON object in <script type="application/json"
 * id="zembed-data"> + the page's script, which draws everything from that object. The scripts
 * and the stylesheet live in viz/ as real .js/.css files and are compiled in (viz_assets.c), so
 * the program needs no files at run time. Each script publishes what it drew on window.zembed
 * (counts, labels, a hover hook) for the browser tests. */
#ifndef VIZ_PAGE_H
#define VIZ_PAGE_H

#include <jansson.h>
#include <stdio.h>
#include "zb_err.h"

typedef enum {
    VIZ_PAGE_HEATMAP,   /* data: {title, subtitle, demo, panels:[{title, rows, cols, v}]} (viz_heatmap.js) */
    VIZ_PAGE_MAP,       /* data: see viz_map.js's header comment */
    VIZ_PAGE_TOKSTATS,  /* data: `zembed tokstats --format json`'s object (viz_tokstats.js) */
} viz_page_kind;

/* Writes the page to path (atomically: a temp file renamed into place). ZB_OK or ZB_EIO naming
 * the path. data is not consumed. */
int viz_page_write(const char *path, viz_page_kind kind, const char *title, const json_t *data, zb_err *err);

/* The same page written to an open stream (stdout). ZB_OK or ZB_EIO. */
int viz_page_print(FILE *f, viz_page_kind kind, const char *title, const json_t *data, zb_err *err);

#endif
