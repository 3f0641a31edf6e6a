/* st: safetensors files (https://huggingface.co/docs/safetensors), parsed and validated.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON header
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}},
 * then the data buffer; offsets are relative to the buffer. Everything in the header is checked
 * before a tensor is handed out: header length against the file size, JSON well-formed with no
 * duplicate names, known dtype, byte count = product(shape) x dtype size without overflow, offsets
 * inside the buffer, tensors contiguous without overlap or holes (as the format requires). Every
 * fault names the file and the tensor.
 *
 * The file is mmap'd read-only (MAP_SHARED): tensor data points into the mapping, so N processes
 * share one copy in the page cache.
 */
#ifndef ST_H
#define ST_H

#include <stddef.h>
#include <stdint.h>
#include "zb_err.h"

typedef enum {
    ST_BOOL, ST_U8, ST_I8, ST_F8_E5M2, ST_F8_E4M3, ST_I16, ST_U16, ST_F16, ST_BF16,
    ST_I32, ST_U32, ST_F32, ST_F64, ST_I64, ST_U64, ST_DTYPE_COUNT
} st_dtype;

#define ST_MAX_DIMS 8

typedef struct {
    const char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;                 /* product of shape (1 for a scalar) */
    const unsigned char *data;     /* inside the mapping; alignment is whatever the file gives */
    size_t nbytes;
} st_tensor;

typedef struct st_file st_file;

/* Largest header we accept (the reference implementation's limit is 100 MB as well). */
#define ST_MAX_HEADER (100u << 20)

st_file *st_open(const char *path, zb_err *err);
void st_close(st_file *f);

const char      *st_path(const st_file *f);
int              st_count(const st_file *f);
const st_tensor *st_tensor_at(const st_file *f, int i);
const st_tensor *st_find(const st_file *f, const char *name);   /* NULL when absent */

const char *st_dtype_name(st_dtype t);   /* "F32" ... */
size_t      st_dtype_size(st_dtype t);   /* bytes per element */

/* "[384,384]" into buf (for messages). */
const char *st_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap);

#endif
