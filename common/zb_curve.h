/* zb_curve: CURVE key files and allow-lists (docs/PROTOCOL.md §7), read as untrusted input.
 *
 * Files, all text, '#' starts a comment line, blank lines are ignored:
 *   NAME.pub    the 40-character Z85 public key on one line (share it)
 *   NAME.key    the 40-character Z85 secret key on one line; mode 0600, refused when group or
 *               others can read it (as ssh does: a leaked secret key lets anyone be you)
 *   allow-list  one public key per line, optionally followed by whitespace and a name
 *               ("<key> laptop-of-ana"); `cat a.pub b.pub > clients.allow` makes one.
 * Errors name the file and the line. */
#ifndef ZB_CURVE_H
#define ZB_CURVE_H

#include <stdint.h>
#include "zb_err.h"

#define ZB_CURVE_Z85_LEN 40         /* a 32-byte key in Z85 */

typedef struct {
    char pub[ZB_CURVE_Z85_LEN + 1], sec[ZB_CURVE_Z85_LEN + 1];   /* Z85, NUL-terminated */
} zb_curve_keypair;

/* A fresh keypair written to PREFIX.key (0600) and PREFIX.pub (0644), each created whole or not at
 * all. Without force an existing file of either name is ZB_EINVAL and nothing is written. */
int zb_curve_keygen(const char *prefix, int force, zb_curve_keypair *out, zb_err *err);

/* A secret key file (NAME.key) -> the keypair (the public half derived from it). */
int zb_curve_load_secret(const char *path, zb_curve_keypair *out, zb_err *err);

/* A public key file (NAME.pub) -> its Z85 text. */
int zb_curve_load_public(const char *path, char out[ZB_CURVE_Z85_LEN + 1], zb_err *err);

/* The keys allowed on one side (clients or workers). */
typedef struct zb_curve_allow zb_curve_allow;

zb_curve_allow *zb_curve_allow_load(const char *path, zb_err *err);
/* Parse allow-list text (name: the file name used in errors); len bytes, need not end in NUL. */
zb_curve_allow *zb_curve_allow_parse(const char *name, const char *text, size_t len, zb_err *err);
void zb_curve_allow_destroy(zb_curve_allow **a);
int  zb_curve_allow_count(const zb_curve_allow *a);
/* 1 when the 32-byte binary key (as ZAP hands it over) is on the list. */
int  zb_curve_allow_has(const zb_curve_allow *a, const uint8_t key[32]);
/* ZB_EINVAL naming both places when a key is on both lists (a client key must never pass as a
 * worker's, nor a worker's as a client's). */
int  zb_curve_allow_disjoint(const zb_curve_allow *a, const zb_curve_allow *b, zb_err *err);

#endif
