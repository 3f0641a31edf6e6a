/* viz_npy: a 2-D float32 matrix from a NumPy .npy file (format 1.0/2.0/3.0, dtype '<f4', C order),
 * for `zembed map --input`: any embeddings to map, e.g. `zembed encode --format npy` output. */
#ifndef VIZ_NPY_H
#define VIZ_NPY_H

#include <stddef.h>
#include "zb_err.h"

/* Parses buf (len bytes) read from name: *data (malloc'd) gets rows x cols floats. Anything else
 * (another dtype, Fortran order, not 2-D, a short file, NaN/inf values) is ZB_EFORMAT or
 * ZB_EUNSUPPORTED naming name and the field. */
int viz_npy_parse(const unsigned char *buf, size_t len, const char *name, float **data, int *rows, int *cols,
                  zb_err *err);

/* viz_npy_parse on a file (at most 4 GiB). */
int viz_npy_load(const char *path, float **data, int *rows, int *cols, zb_err *err);

#endif
