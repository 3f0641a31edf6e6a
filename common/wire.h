/* wire: the msgpack messages of the zembed protocol (docs/PROTOCOL.md, version 1).
 *
 * Three kinds of message:
 * - requests from clients (wire_req): parsed and validated here, by the gateway and again by the
 *   tokenizer worker, with the same code;
 * - replies to clients: a head (v, id, op, ok [, demo_model]) written by wire_reply_begin, then the
 *   op's fields, in a map that counts its own entries (wire_map_*); errors by wire_reply_error;
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
#include "zb_dtype.h"
#include "zb_err.h"

#define WIRE_VERSION   1
#define WIRE_ID_MAX    264      /* packed id: a str of at most 256 bytes plus its header, or an int */
#define WIRE_MAX_DEPTH 16

/* ---- the op table ----------------------------------------------------------------------------
 * One row per protocol op (docs/PROTOCOL.md §2), as redis's command table: its name, the argument
 * keys it takes, how its texts come, which stages do work on it (the last of them writes the reply),
 * whether its job carries token strings and what the encoder puts under hidden. Adding an op is a
 * row here plus a handler in each stage that does work on it; every stage keeps its handlers in an
 * array indexed by op and checks it against this table when it starts (wire_stage_check), so a
 * missing or stray handler is an assert at start-up, not a request that hangs. The handlers stay in
 * their stages because wire (common/) must not depend on a stage's library. */
typedef enum {
    WIRE_OP_EMBED, WIRE_OP_TOKENIZE, WIRE_OP_TOKEN_EMBEDDINGS, WIRE_OP_INPUT_EMBEDDINGS,
    WIRE_OP_SIMILARITY, WIRE_OP_INFO, WIRE_OP_HEALTH, WIRE_OP_COUNT_
} wire_op;

/* The argument keys of requests, besides v, id, op and timeout_ms (which every op takes). */
typedef enum {
    WIRE_K_TEXTS, WIRE_K_A, WIRE_K_B, WIRE_K_TRUNCATE, WIRE_K_TRUNCATION_DIRECTION, WIRE_K_MAX_LENGTH,
    WIRE_K_NORMALIZE, WIRE_K_DIMENSIONS, WIRE_K_DTYPE, WIRE_K_ADD_SPECIAL_TOKENS, WIRE_K_COUNT_ONLY,
    WIRE_K_MODE, WIRE_K_SPACE, WIRE_K_COUNT_
} wire_key;
#define WIRE_KEY(k) (1u << (k))

/* The processes a request passes through, in pipeline order. */
typedef enum {
    WIRE_STAGE_GATEWAY, WIRE_STAGE_TOKENIZER, WIRE_STAGE_ENCODER, WIRE_STAGE_POOLER, WIRE_STAGE_COUNT_
} wire_stage;
#define WIRE_AT(s) (1u << (s))

typedef enum {
    WIRE_TEXTS_NONE,        /* no texts */
    WIRE_TEXTS_LIST,        /* texts */
    WIRE_TEXTS_PAIR,        /* a, then b (req->na of them are a) */
} wire_texts;

typedef enum {
    WIRE_PIECES_NEVER, WIRE_PIECES_ALWAYS,
    WIRE_PIECES_TOKENS_MODE,    /* when opt.tokens_mode (similarity "mode": "tokens") */
} wire_pieces;

/* What the encoder puts under a job's hidden. */
typedef enum {
    WIRE_HIDDEN_NONE,       /* nothing (info: the encoder only adds its info entries) */
    WIRE_HIDDEN_OUTPUT,     /* the last hidden state: a forward pass */
    WIRE_HIDDEN_INPUT,      /* the word-embedding rows of the ids: no forward pass */
    WIRE_HIDDEN_BY_SPACE,   /* similarity: INPUT when opt.input_space, else OUTPUT */
} wire_hidden;

typedef struct {
    const char *name;       /* on the wire */
    uint32_t keys;          /* WIRE_KEY(k) for each argument key the op takes */
    wire_texts texts;
    unsigned stages;        /* WIRE_AT(s) for each stage that does work; the last one replies */
    int truncate;           /* the default of "truncate" */
    wire_pieces pieces;
    wire_hidden hidden;
} wire_op_def;

extern const wire_op_def wire_ops[WIRE_OP_COUNT_];

const char *wire_op_name(wire_op op);           /* "unknown" outside the table */
const char *wire_key_name(wire_key k);
/* The op named s[0, len), or -1. */
int wire_op_find(const char *s, size_t len);
/* The stage that writes op's reply (the last stage that does work on it). */
wire_stage wire_op_replier(wire_op op);
/* Whether stage s does work on op. */
int wire_op_at(wire_op op, wire_stage s);

/* Start-up check of a stage's handler array: has[op] must be non-zero exactly for the ops that
 * stage s does work on (does[op] = handler != NULL). Asserts, naming the op, otherwise. */
void wire_stage_check(wire_stage s, const int has[WIRE_OP_COUNT_]);
/* The same on an array of handler pointers indexed by op (any pointer type). */
#define WIRE_STAGE_CHECK(s, handlers)                                                            \
    do {                                                                                         \
        _Static_assert(sizeof(handlers) / sizeof(handlers)[0] == WIRE_OP_COUNT_,                 \
                       "one handler slot per op");                                               \
        int has_[WIRE_OP_COUNT_];                                                                \
        for (int op_ = 0; op_ < WIRE_OP_COUNT_; op_++)                                           \
            has_[op_] = (handlers)[op_] != NULL;                                                 \
        wire_stage_check((s), has_);                                                             \
    } while (0)

/* The options of a request, defaults applied (see PROTOCOL.md §2). */
typedef struct {
    int truncate;           /* 1 cut to max_length; 0 too_long (tokenize: no limit) */
    int left;               /* truncation_direction: 1 left, 0 right */
    int normalize;          /* -1: the model's own setting */
    int dimensions;         /* 0: the model's dimension */
    int dtype;              /* zb_dtype (common/zb_dtype.h) */
    int add_special;        /* tokenize: add [CLS]/[SEP] */
    int count_only;         /* tokenize: only counts */
    int tokens_mode;        /* similarity: 1 token-by-token */
    int input_space;        /* similarity tokens mode: 1 word embeddings, 0 contextual */
    int max_length;         /* tokens incl. specials; 0: the model's (tokenize without truncate:
                               no limit) */
} wire_opts;

/* The op's row, resolved against a request's options. */
wire_hidden wire_op_hidden(wire_op op, const wire_opts *o);     /* never BY_SPACE */
int wire_op_pieces(wire_op op, const wire_opts *o);             /* 1: the job carries token strings */

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

/* ---- maps that count their own entries ------------------------------------------------------
 * wire_map_begin packs a map16 header with a zero count, each wire_map_key (or the wire_map_* value
 * helpers) counts one entry, wire_map_end writes the count into the header. Nobody counts entries
 * by hand, so a conditional field cannot make a malformed frame. The header stays where it is (a
 * tensor's alignment depends on the bytes before it), hence map16 even for small maps: 2 bytes more
 * than a fixmap, and every msgpack reader takes either. pk must write into sb
 * (msgpack_sbuffer_write); maps nest, one wire_map each. */
typedef struct {
    msgpack_packer *pk;
    msgpack_sbuffer *sb;
    size_t at;              /* the header's offset in sb */
    unsigned n;             /* entries so far */
} wire_map;

void wire_map_begin(wire_map *m, msgpack_packer *pk, msgpack_sbuffer *sb);
void wire_map_key(wire_map *m, const char *key);      /* the caller packs the value next */
void wire_map_str(wire_map *m, const char *key, const char *s);
void wire_map_int(wire_map *m, const char *key, long long v);
void wire_map_bool(wire_map *m, const char *key, int v);
void wire_map_end(wire_map *m);

/* Replies: wire_reply_begin opens the reply map with its head (v, id, op, ok [, demo_model: true]);
 * the caller adds the op's fields with wire_map_* and closes it with wire_map_end. op < 0 packs op
 * as nil. */
void wire_reply_begin(wire_map *m, msgpack_packer *pk, msgpack_sbuffer *sb, const wire_id *id,
                      int op, int ok, int demo);
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
    int64_t deadline_ms;    /* wire_now_ms() after which the job is not worth starting; 0: none. On
                             * the wire as "ttl", the ms left when it was sent (see below) */
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

/* ---- deadlines ------------------------------------------------------------------------------
 * Stage frames carry their request's remaining time budget, "ttl" (ms, 0..WIRE_TTL_MAX_MS), set by
 * the gateway when it dispatches a job and by each worker when it sends one on. The receiver's
 * deadline is its own clock at receipt plus ttl: times are relative, so hosts' clocks need not
 * agree, and the transit time only makes a worker's deadline later than the gateway's, never
 * earlier (the gateway has always answered `timeout` before a worker gives the work up). A job
 * without ttl has no deadline. */
#define WIRE_TTL_MAX_MS ((int64_t)INT32_MAX)    /* ~24.8 days: a uint32 in the tok job */
/* CLOCK_MONOTONIC in ms: the clock of every deadline in a process. */
int64_t wire_now_ms(void);
/* The deadline ttl_ms after now_ms (never 0, which means none); ttl_ms < 0: 0 (none). */
int64_t wire_deadline_at(int64_t now_ms, int64_t ttl_ms);
/* The ttl to send at now_ms: ms left to deadline_ms, clamped to 0..WIRE_TTL_MAX_MS; -1 when
 * deadline_ms is 0 (none: no ttl is sent). */
int64_t wire_ttl_left(int64_t deadline_ms, int64_t now_ms);
/* Whether deadline_ms (0: none) has passed at now_ms. */
int wire_expired(int64_t deadline_ms, int64_t now_ms);

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
typedef struct {
    int hidden;             /* the model's hidden size: the columns of hidden states */
    int max_position;       /* tokens per text the model takes */
    int64_t max_job_tokens; /* tokens per job this worker accepts (bounds its memory per job) */
} wire_stage_limits;
/* ZB_EFORMAT naming the field, or ZB_OK. stage: WIRE_STAGE_ENCODER or WIRE_STAGE_POOLER; the op
 * must be one that stage does work on (wire_ops). The encoder takes jobs without hidden states (the
 * ones it would compute); the pooler needs them where the op has any (wire_op_hidden), of the
 * model's width, with 1..max_position tokens per text. */
int wire_job_accept(const wire_job *job, wire_stage stage, const wire_stage_limits *lim, zb_err *err);

/* The job number of a stage frame without decoding it: jobs (and {j, req}) are maps whose first key
 * is "j". 0 when the frame does not start that way. For routing only: nothing else is checked. */
uint64_t wire_peek_j(const void *buf, size_t len);

/* Gateway -> tokenizer: {j, ttl, req: <the client's request bytes, unchanged>}. Packed once when
 * the request is admitted and kept to be dispatched (again); ttl is written into each copy sent by
 * wire_tok_job_set_ttl, in place (fixed-width fields). */
void wire_pack_tok_job(msgpack_sbuffer *sb, uint64_t j, const void *req, size_t req_len);
void wire_tok_job_set_ttl(void *frame, size_t len, int64_t ttl_ms);
/* Unpacks the outer map; the request is parsed from it (req->texts point into buf); *deadline_ms
 * from its ttl (0: none). */
int  wire_unpack_tok_job(const void *buf, size_t len, uint64_t *j, int64_t *deadline_ms, wire_req *req,
                         int *op_known, zb_err *err);

#endif
