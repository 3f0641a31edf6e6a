/* zb_input: the text lines a command reads: its FILE arguments in order ("-" is stdin), or stdin
 * when there are none.
 *
 * Each file ends its last line (a file without a final newline does not run into the next one).
 * A line is returned without its "\n" and one trailing "\r". Reads wait in poll(), so a signal
 * handler that sets the stop flag (zb_input_set_stop) ends a read blocked on a terminal or a pipe
 * even when the handler was installed with SA_RESTART. The byte counts feed progress bars (ETA). */
#ifndef ZB_INPUT_H
#define ZB_INPUT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "zb_err.h"

typedef struct zb_input zb_input;

/* paths[0..n) ("-": stdin); n == 0: stdin. Every path is checked first (it exists, is readable
 * and is not a folder), so a typo fails before any work. max_line: longer lines are cut there and
 * flagged (zb_input_line's *too_long); 0: no limit. NULL + err on failure. */
zb_input *zb_input_open(char *const *paths, int n, size_t max_line, zb_err *err);
void zb_input_destroy(zb_input **in);

/* The next line: *line (owned by in, valid until the next call, NUL-terminated; it may hold NUL
 * bytes, *len says its length). Returns 1 for a line, 0 at the end of the input or when the stop
 * flag is set, ZB_EIO (err names the file) when a read fails. */
int zb_input_line(zb_input *in, char **line, size_t *len, int *too_long, zb_err *err);

/* 1 when zb_input_line would not wait: a line is buffered, the input is readable now, or at its
 * end. 0 when the next read would block (a terminal, a slow pipe): the moment to show results. */
int zb_input_ready(zb_input *in);

/* A flag a signal handler sets: reads waiting for input give up (zb_input_line returns 0). */
void zb_input_set_stop(zb_input *in, volatile sig_atomic_t *stop);

/* Bytes of the lines handed out so far, and in all (0 when unknown: a pipe or terminal is among the inputs). */
uint64_t zb_input_bytes_done(const zb_input *in);
uint64_t zb_input_bytes_total(const zb_input *in);

/* The file being read ("stdin" for stdin), for messages. */
const char *zb_input_name(const zb_input *in);

#endif
