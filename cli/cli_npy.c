#include "cli_npy.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zb_err.h"

/* Header bytes in all: magic, version, length, the dict padded with spaces and a newline. 128
 * holds any shape two size_t can spell, so the final header is as long as the placeholder. */
#define HEADER_BYTES 128

struct cli_npy {
    FILE *out;
    size_t cols, rows;
    int seekable;
    off_t start;                /* seekable: where the header begins */
    float *held;                /* not seekable: the rows so far */
    size_t cap;                 /* rows held room for */
};

/* NumPy .npy v1.0 header for a float32 (rows, cols) C-order array. */
static void header(char out[HEADER_BYTES], size_t rows, size_t cols)
{
    memset(out, ' ', HEADER_BYTES);
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)((HEADER_BYTES - 10) & 0xff);
    out[9] = (char)((HEADER_BYTES - 10) >> 8);
    char dict[HEADER_BYTES];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                     rows, cols);
    memcpy(out + 10, dict, (size_t)n);
    out[HEADER_BYTES - 1] = '\n';
}

cli_npy *cli_npy_new(FILE *out, size_t cols)
{
    cli_npy *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->out = out;
    n->cols = cols;
    int fd = fileno(out);
    struct stat st;
    fflush(out);
    int flags = fcntl(fd, F_GETFL);
    n->start = lseek(fd, 0, SEEK_CUR);
    /* O_APPEND would send the rewritten header to the end */
    n->seekable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && n->start >= 0 && flags >= 0 &&
                  !(flags & O_APPEND);
    if (n->seekable) {
        char h[HEADER_BYTES];
        header(h, 0, cols);
        if (fwrite(h, 1, HEADER_BYTES, out) != HEADER_BYTES) {
            free(n);
            return NULL;
        }
    }
    return n;
}

int cli_npy_append(cli_npy *n, const float *rows, size_t n_rows)
{
    if (n->seekable) {
        if (fwrite(rows, sizeof *rows * n->cols, n_rows, n->out) != n_rows)
            return ZB_EIO;
    } else {
        if (n->rows + n_rows > n->cap) {
            size_t nc = n->cap ? n->cap * 2 : 1024;
            while (nc < n->rows + n_rows)
                nc *= 2;
            float *p = realloc(n->held, nc * n->cols * sizeof *p);
            if (!p)
                return ZB_ENOMEM;
            n->held = p;
            n->cap = nc;
        }
        memcpy(n->held + n->rows * n->cols, rows, n_rows * n->cols * sizeof *rows);
    }
    n->rows += n_rows;
    return ZB_OK;
}

size_t cli_npy_rows(const cli_npy *n)
{
    return n->rows;
}

int cli_npy_finish(cli_npy *n)
{
    char h[HEADER_BYTES];
    header(h, n->rows, n->cols);
    if (n->seekable) {
        if (fflush(n->out) != 0 || pwrite(fileno(n->out), h, HEADER_BYTES, n->start) != HEADER_BYTES)
            return ZB_EIO;
        return ZB_OK;
    }
    if (fwrite(h, 1, HEADER_BYTES, n->out) != HEADER_BYTES ||
        fwrite(n->held, sizeof *n->held * n->cols, n->rows, n->out) != n->rows || fflush(n->out) != 0)
        return ZB_EIO;
    return ZB_OK;
}

void cli_npy_free(cli_npy **pn)
{
    cli_npy *n = *pn;
    if (!n)
        return;
    free(n->held);
    free(n);
    *pn = NULL;
}
