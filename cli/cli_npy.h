/* cli_npy: a float32 [rows, cols] NumPy .npy array written to a stream as rows come.
 *
 * The header must hold the row count, known only at the end. On a seekable output (a file, not
 * opened for appending) rows are written at once behind a fixed-size header that cli_npy_finish
 * rewrites in place, so memory stays bounded and an interrupted run still leaves a valid file of
 * the rows done. On a pipe the rows are held in memory and written, header first, by
 * cli_npy_finish. */
#ifndef CLI_NPY_H
#define CLI_NPY_H

#include <stddef.h>
#include <stdio.h>

typedef struct cli_npy cli_npy;

/* NULL when out of memory or the header cannot be written (errno set). */
cli_npy *cli_npy_new(FILE *out, size_t cols);

/* Appends n_rows rows of cols floats. 0, or a ZB_E* code (memory, a write that failed). */
int cli_npy_append(cli_npy *n, const float *rows, size_t n_rows);

size_t cli_npy_rows(const cli_npy *n);

/* Writes (or rewrites) the header with the rows appended and flushes: 0 or ZB_EIO. */
int cli_npy_finish(cli_npy *n);

void cli_npy_free(cli_npy **n);

#endif
