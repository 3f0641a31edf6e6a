/* zb_err: the one error policy of zembed.
 *
 * - Faults of the environment and of anything from outside (a file, a model folder, a socket
 *   message, a CLI flag, a text) are *returned*: functions return 0 (ZB_OK) or a negative ZB_E*
 *   code and fill a zb_err whose message names what was wrong and where
 *   ("model.safetensors: tensor 'encoder.layer.3.attention.self.query.weight' has shape [384,380],
 *   expected [384,384]"). Constructors (x_new, x_load) return NULL and fill the zb_err.
 * - Our own bugs (a broken invariant, a caller inside zembed misusing an API) are assert()s, kept on
 *   in every build: the program stops at the line that is wrong.
 *
 * A zb_err pointer may be NULL where the caller does not want the text. Codes have stable names
 * (zb_code_name) that travel over the wire and into JSON error objects; never renumber them.
 */
#ifndef ZB_ERR_H
#define ZB_ERR_H

#include <stddef.h>

typedef enum {
    ZB_OK           = 0,
    ZB_EINVAL       = -1,   /* "invalid_argument": a field, flag or option has a bad value   */
    ZB_EUTF8        = -2,   /* "invalid_utf8": text is not valid UTF-8                        */
    ZB_ETOOLONG     = -3,   /* "too_long": input exceeds a limit and truncation is off         */
    ZB_ENOMEM       = -4,   /* "out_of_memory"                                                 */
    ZB_EIO          = -5,   /* "io_error": a file or socket operation failed                   */
    ZB_EFORMAT      = -6,   /* "bad_format": a file or message is malformed                    */
    ZB_ENOTFOUND    = -7,   /* "not_found": a file, tensor, token or model is missing          */
    ZB_EUNSUPPORTED = -8,   /* "unsupported": well-formed but not something we implement       */
    ZB_ERANGE       = -9,   /* "out_of_range": an id, index or size outside its valid range    */
    ZB_EOVERLOAD    = -10,  /* "overloaded": too much queued; retry later                      */
    ZB_ETIMEOUT     = -11,  /* "timeout"                                                       */
    ZB_EUNAVAILABLE = -12,  /* "unavailable": no worker or service can take the request        */
    ZB_EINTERNAL    = -13,  /* "internal": a bug on our side reported to a remote peer         */
    ZB_EPOISON      = -14,  /* "poisoned": workers died repeatedly while working on a request;
                               it is not dispatched again                                      */
} zb_code;

#define ZB_ERR_MSG_MAX 512

typedef struct {
    int  code;                  /* a zb_code */
    char msg[ZB_ERR_MSG_MAX];   /* human-readable, names the thing and the place */
} zb_err;

/* Record an error and return its code, so callers can write `return zb_fail(err, ZB_EINVAL, ...)`.
 * err may be NULL. */
int zb_fail(zb_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with context ("loading /m/config.json: " + old message). */
int zb_wrap(zb_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Stable machine-readable name of a code ("invalid_utf8"); "unknown" for anything else. */
const char *zb_code_name(int code);

/* Reset to ZB_OK with an empty message. */
void zb_clear(zb_err *err);

#endif
