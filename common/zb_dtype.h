/* zb_dtype: number formats, one home for their facts.
 *
 * 1. The output dtypes of embeddings: what a request's "dtype" names (PROTOCOL.md §2), what
 *    `zembed ... --dtype` accepts, what the pooler quantizes to (pooler_svc/pool.h says how) and
 *    how a reply carries it: the table below is the only list of their names and sizes.
 * 2. The 16-bit floats of model files and replies: IEEE binary16 ("f16", "float16") and bfloat16,
 *    to and from float32, exactly (to: round to nearest even, as numpy's astype and torch's .to).
 */
#ifndef ZB_DTYPE_H
#define ZB_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include "zb_err.h"

typedef enum {
    ZB_DT_FLOAT32, ZB_DT_FLOAT16, ZB_DT_INT8, ZB_DT_UINT8, ZB_DT_BINARY, ZB_DT_UBINARY, ZB_DT_COUNT
} zb_dtype;

typedef struct {
    const char *name;     /* as requests and flags spell it: "float32" ... "ubinary" */
    const char *tensor;   /* the dtype of the reply tensor that carries it (binary: packed int8) */
    int bits;             /* per vector component: 32, 16, 8 or 1 (packed 8 to a byte) */
} zb_dtype_info;

extern const zb_dtype_info zb_dtypes[ZB_DT_COUNT];

/* The names in order, NULL-terminated (for enum parsers: the index is the zb_dtype). */
extern const char *const zb_dtype_names[ZB_DT_COUNT + 1];

/* name -> dtype: ZB_OK, or ZB_EINVAL for a name that is none of them (the caller names it). */
int         zb_dtype_parse(const char *name, zb_dtype *out);
const char *zb_dtype_name(zb_dtype d);   /* "unknown" out of range */

/* Bytes of one vector of dim components (binary: ceil(dim / 8)). */
size_t zb_dtype_row_bytes(zb_dtype d, int dim);

/* Bytes of one element of a reply tensor of dtype name tensor ("float32", "float16", "int8",
 * "uint8"), 0 for any other name. */
size_t zb_tensor_elem_bytes(const char *tensor);

uint16_t zb_f32_to_f16(float x);    /* overflow -> inf, NaN stays NaN (top payload bits kept) */
float    zb_f16_to_f32(uint16_t h); /* exact, subnormals included */
uint16_t zb_f32_to_bf16(float x);   /* NaN stays NaN */
float    zb_bf16_to_f32(uint16_t h);

#endif
