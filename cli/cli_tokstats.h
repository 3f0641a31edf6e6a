/* cli_tokstats: the printing side of `zembed tokstats` (cli_tokstats_out.c): one JSON object
 * (built by cli_tokstats.c, described in its --help) rendered as a table, as JSON or as a
 * self-contained HTML page. */
#ifndef CLI_TOKSTATS_H
#define CLI_TOKSTATS_H

#include <jansson.h>

#include "zb_err.h"

enum { TS_FMT_TABLE, TS_FMT_JSON, TS_FMT_HTML };

/* Print root on stdout in format. ZB_EIO when stdout fails. */
int ts_print(const json_t *root, int format, zb_err *err);

#endif
