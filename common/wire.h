/* wire: the msgpack messages of the zembed protocol (docs/PROTOCOL.md, version 1).
 *
 * Three kinds of message:
 * - requests from clients (wire_req): parsed and validated here, by the gateway and again by the
 *   tokenizer worker, with the same code;
 * - replies to clients: a head (v, id, op, ok [, demo_model]) written by wire_reply_head, then the
 *   op's fields; errors by wire_reply_error;
 * - jobs between stages (wire_job): what later stages need, packed and unpacked here only.
 *
 * Everything received is untrusted: wire_check walks a frame before msgpack-c unpacks it, so a
 * 6-byte frame declaring 2^32 array items cannot make us allocate gigabytes, and nesting is bounded.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "zb_err.h"

#define WIRE_VERSION   1
#define WIRE_ID_MAX    264      /* packed id: a str of at most 256 bytes plus its header, or an int */
#define WIRE_MAX_DEPTH 16

typedef enum {
    WIRE_OP_EMBED, WIRE_OP_TOKENIZE, WIRE_OP_TOKEN_EMBEDDINGS, WIRE_OP_INPUT_EMBEDDINGS,
    WIRE_OP_SIMILARITY, WIRE_OP_INFO, WIRE_OP_HEALTH, WIRE_OP_COUNT_
} wire_op;

/* The order is pool_dtype's (pooler_svc/pool.h), which does the quantization. */
typedef enum {
    WIRE_DT_FLOAT32, WIRE_DT_FLOAT16, WIRE_DT_INT8, WIRE_DT_UINT8, WIRE_DT_BINARY, WIRE_DT_UBINARY,
    WIRE_DT_COUNT_
} wire_out_dtype;

const char *wire_op_name(wire_op op);
const char *wire_out_dtype_name(wire_out_dtype d);

/* The options of a request, defaults applied (see PROTOCOL.md §2). */
typedef struct {
    int truncate;           /* 1 cut to max_length; 0 too_long (tokenize: no limit) */
    int left;               /* truncation_direction: 1 left, 0 right */
    int normalize;          /* -1: the model's own setting */
    int dimensions;         /* 0: the model's dimension */
    int dtype;              /* wire_out_dtype */
    int add_special;        /* tokenize: add [CLS]/[SEP] */
    int count_only;         /* tokenize: only counts */
    int tokens_mode;        /* similarity: 1 token-by-token */
    int input_space;        /* similarity tokens mode: 1 word embeddings, 0 contextual */
    int max_length;         /* tokens incl. specials; 0: the model's (tokenize without truncate:
                               no limit) */
} wire_opts;

/* A raw msgpack-packed request id (nil when len is 0), echoed in replies byte for byte. */
typedef struct {
    unsigned char raw[WIRE_ID_MAX];
    size_t len;
} wire_id;

typedef struct {
    int max_texts;          /* per request (similarity: a and b together) */
    size_t max_text_bytes;  /* per text */
    int max_timeout_ms;     /* the largest timeout_ms a request may ask for */
} wire_limits;

typedef struct {
    wire_op op;
    wire_id id;
    wire_opts opt;
    int timeout_ms;         /* 0: none asked */
    int n;                  /* texts (similarity: a then b) */
    int na;                 /* similarity: how many of the texts are list a */
    const char **texts;     /* point into the parsed buffer, which must outlive the wire_req */
    size_t *text_lens;
    msgpack_unpacked up_;   /* internal */
} wire_req;

/* Walk one msgpack object in buf[0, len): ZB_EFORMAT (message says what and at which byte) when it
 * is truncated, nests deeper than max_depth, declares more items than bytes remain, or is followed
 * by trailing bytes. Allocates nothing. */
int wire_check(const void *buf, size_t len, int max_depth, zb_err *err);

/* Objects a request or a job frame of len bytes may hold: legitimate ones carry at least 4 bytes per
 * item beyond a few thousand (texts, int32 ids beside each token string), so unpacking one costs at
 * most ~6x its size in msgpack_objects (24 bytes each) instead of 24x. */
#define WIRE_UNPACK_MAX_OBJECTS(len) ((uint64_t)(len) / 4 + 4096)

/* wire_check (plus WIRE_UNPACK_MAX_OBJECTS), then unpack the one object into up (initialized here;
 * destroy it in every case). what names the frame in errors ("request", "job"). */
int wire_unpack_checked(const void *buf, size_t len, msgpack_unpacked *up, const char *what,
                        zb_err *err);

/* Parse and validate a client request frame. Even on failure, req->id and req->op are filled when
 * they could be read (so the error reply can echo them); *op_known says whether req->op is valid.
 * limits NULL: structure only, no size limits. Free with wire_req_free in every case. */
int wire_req_parse(const void *buf, size_t len, const wire_limits *limits, wire_req *req,
                   int *op_known, zb_err *err);
/* The same from an already unpacked object (whose memory must outlive req). */
int wire_req_from_object(const msgpack_object *o, const wire_limits *limits, wire_req *req,
                         int *op_known, zb_err *err);
void wire_req_free(wire_req *req);

/* Pack an id object (already validated: nil, int or short str) into a wire_id. */
int wire_id_set(wire_id *id, const msgpack_object *o, zb_err *err);

/* Replies. The head packs a map of (4 + demo + n_fields) entries: v, id, op, ok [, demo_model]; the
 * caller then packs exactly n_fields key/value pairs. op < 0 packs op as nil. */
void wire_reply_head(msgpack_packer *pk, const wire_id *id, int op, int ok, int demo, int n_fields);
void wire_reply_error(msgpack_sbuffer *sb, const wire_id *id, int op, int code, const char *msg);

void wire_pack_str(msgpack_packer *pk, const char *s);
/* A tensor {dtype, shape, pad, data} with data 8-byte aligned from the start of sb (see PROTOCOL.md). */
void wire_pack_tensor(msgpack_packer *pk, msgpack_sbuffer *sb, const char *dtype, const int *shape,
                      int ndim, const void *data, size_t bytes);

/* Read a tensor map: checks dtype and that data has exactly product(shape) * elem_size bytes.
 * shape gets up to max_ndim dims; *data points into the message (it may be unaligned). */
int wire_read_tensor(const msgpack_object *o, const char *want_dtype, size_t elem_size,
                     int *shape, int max_ndim, int *ndim, const void **data, size_t *bytes,
                     const char *what, zb_err *err);

/* Lookup in a map object with str keys; NULL when absent. */
const msgpack_object *wire_map_get(const msgpack_object *map, const char *key);

/* ---- stage messages ---------------------------------------------------------------------- */

#define WIRE_INFO_MAX 24

typedef struct {
    char key[24];
    int  is_str;
    long long i;
    char s[96];
} wire_info_kv;

typedef struct {
    uint64_t j;             /* the gateway's job number */
    wire_id id;
    wire_op op;
    wire_opts opt;
    int n, na;              /* texts, texts in list a (similarity) */
    int32_t *lens;          /* n: tokens per text */
    int64_t n_ids;          /* sum of lens */
    int32_t *ids;           /* n_ids */
    char **pieces;          /* n_ids token strings, or NULL (similarity tokens mode only) */
    int hidden_dim;         /* 0 until the encoder filled hidden */
    float *hidden;          /* n_ids x hidden_dim */
    int n_info;
    wire_info_kv info[WIRE_INFO_MAX];
} wire_job;

/* All pointers of a job are malloc'd and owned by it. */
void wire_job_init(wire_job *job);
void wire_job_free(wire_job *job);
int  wire_job_info_int(wire_job *job, const char *key, long long v);
int  wire_job_info_str(wire_job *job, const char *key, const char *s);
void wire_job_pack(const wire_job *job, msgpack_sbuffer *sb);
int  wire_job_unpack(const void *buf, size_t len, wire_job *job, zb_err *err);

/* What a stage may take from a decoded job, beyond what wire_job_unpack checks for every job
 * (wire_accept.c). Stage ports are reachable by any process that can connect, so each consumer
 * checks what its own code relies on before touching the job. */
typedef enum { WIRE_STAGE_ENCODER, WIRE_STAGE_POOLER } wire_stage;
typedef struct {
    int hidden;             /* the model's hidden size: the columns of hidden states */
    int max_position;       /* tokens per text the model takes */
    int64_t max_job_tokens; /* tokens per job this worker accepts (bounds its memory per job) */
} wire_stage_limits;
/* ZB_EFORMAT naming the field, or ZB_OK. The encoder takes jobs without hidden states (the ones it
 * would compute); the pooler needs them, hidden-sized, with at least one token per text. */
int wire_job_accept(const wire_job *job, wire_stage stage, const wire_stage_limits *lim, zb_err *err);

/* Gateway -> tokenizer: {j, req: <the client's request bytes, unchanged>}. */
void wire_pack_tok_job(msgpack_sbuffer *sb, uint64_t j, const void *req, size_t req_len);
/* Unpacks the outer map; the request is parsed from it (req->texts point into buf). */
int  wire_unpack_tok_job(const void *buf, size_t len, uint64_t *j, wire_req *req, int *op_known,
                         zb_err *err);

#endif
