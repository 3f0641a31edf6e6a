/* hub: a model name -> a local Hugging Face model folder.
 *
 * hub_resolve: $ZEMBED_MODEL (a local folder) wins; otherwise hub_fetch.
 * hub_fetch: a hub repo id (default sentence-transformers/paraphrase-MiniLM-L6-v2 @ main) is fetched
 * once, file by file, from {endpoint}/{repo}/resolve/{revision}/{file} (endpoint $HF_ENDPOINT or
 * https://huggingface.co) into a cache laid out as Hugging Face's own:
 *
 *   {cache}/models--org--name/blobs/{etag or sha256}      the bytes, written once, atomically
 *   {cache}/models--org--name/snapshots/{commit}/{file}   relative symlinks to the blobs
 *   {cache}/models--org--name/refs/{revision}             the commit the revision resolved to
 *
 * {cache} is $ZEMBED_CACHE, else $XDG_CACHE_HOME/zembed, else ~/.cache/zembed. refs/{revision} is
 * written last, so a snapshot it names is complete: later calls use it without the network.
 *
 * Integrity: the server's hash is checked where it is known. HF sends the LFS sha256 in X-Linked-Etag
 * (or ETag) and the git blob sha1 as the ETag of small files; a pin file (sha256sum format, lines
 * "HEX  FILE") adds sha256 hashes of our own. A mismatch deletes the download and names the file,
 * the expected and the actual hash. Downloads go to a temp file in blobs/, verified, then renamed.
 */
#ifndef HUB_H
#define HUB_H

#include <stdio.h>
#include "zb_err.h"

#define HUB_DEFAULT_REPO     "sentence-transformers/paraphrase-MiniLM-L6-v2"
#define HUB_DEFAULT_REVISION "main"
#define HUB_DEFAULT_ENDPOINT "https://huggingface.co"
#define HUB_PATH_MAX         4096

typedef struct {
    const char *repo;      /* "org/name"; NULL: HUB_DEFAULT_REPO                              */
    const char *revision;  /* branch, tag or commit; NULL: "main"                             */
    const char *endpoint;  /* NULL: $HF_ENDPOINT, else HUB_DEFAULT_ENDPOINT                   */
    const char *cache_dir; /* NULL: hub_cache_root()                                          */
    const char *pin_file;  /* NULL: $ZEMBED_PIN, may be unset: extra sha256 hashes to enforce */
    int offline;           /* never use the network (also $HF_HUB_OFFLINE=1)                  */
    int refresh;           /* ask the server again even if the cache has the revision         */
    long connect_timeout_s;/* 0: 10 s                                                         */
    long stall_timeout_s;  /* abort a transfer slower than 1 KB/s for this long; 0: 30 s      */
    FILE *log;             /* one progress line per file, or NULL                             */
    /* the file being downloaded: bytes so far and in all (0: not known yet); NULL: not told */
    void (*on_bytes)(void *ud, long long done, long long total);
    void *on_bytes_ud;
} hub_opts;

/* $ZEMBED_MODEL if set (must be a folder with config.json), else hub_fetch(o). */
int hub_resolve(const hub_opts *o, char *dir, size_t cap, zb_err *err);

/* The snapshot folder of o->repo @ o->revision, downloading what the cache lacks. Offline with no
 * cached copy: ZB_EUNAVAILABLE, and the message names both ways out (HF_ENDPOINT, ZEMBED_MODEL). */
int hub_fetch(const hub_opts *o, char *dir, size_t cap, zb_err *err);

/* ---- the pieces, exposed for unit tests and for the CLI ---- */

/* "org/name": one '/', [A-Za-z0-9._-], no "..", no leading/trailing '-' or '.'; max 96 chars per part. */
int hub_check_repo_id(const char *repo, zb_err *err);
/* Branch, tag, "refs/pr/N" or commit: [A-Za-z0-9._/-], no "..", no leading '/'. */
int hub_check_revision(const char *rev, zb_err *err);
/* A file path inside a repo, from a server or a JSON file: relative, [A-Za-z0-9._/-], no ".." part. */
int hub_check_rel_path(const char *path, zb_err *err);

/* {endpoint}/{repo}/resolve/{revision}/{file}; the revision is percent-encoded ('/' -> %2F) as the
 * hub expects; a trailing '/' on the endpoint is dropped. */
int hub_file_url(char *buf, size_t cap, const char *endpoint, const char *repo, const char *rev,
                 const char *file, zb_err *err);

/* $ZEMBED_CACHE, else $XDG_CACHE_HOME/zembed, else $HOME/.cache/zembed. */
int hub_cache_root(char *buf, size_t cap, zb_err *err);
/* {cache}/models--org--name */
int hub_repo_dir(char *buf, size_t cap, const char *cache, const char *repo, zb_err *err);

typedef enum { HUB_HASH_NONE = 0, HUB_HASH_SHA256 = 1, HUB_HASH_GITSHA1 = 2 } hub_hash_kind;

/* An ETag / X-Linked-Etag value (W/ prefix and quotes dropped, lowercased) into hex: 64 hex digits
 * are a sha256 of the content, 40 a git blob sha1; anything else is not a hash we can check. */
hub_hash_kind hub_etag_parse(const char *value, char hex[65]);

/* sha256 of a file's bytes, or git's blob sha1 ("blob <size>\0" + bytes), as lowercase hex. */
int hub_hash_file(const char *path, hub_hash_kind kind, char hex[65], zb_err *err);

/* The sha256 a pin file (sha256sum format) gives for file; 1 found, 0 not listed, <0 error. */
int hub_pin_lookup(const char *pin_file, const char *file, char hex[65], zb_err *err);

/* 1 if snapshot folder dir holds a model we can load: config.json, safetensors weights (single file
 * or index with every shard) and tokenizer.json or vocab.txt. */
int hub_snapshot_complete(const char *dir);

/* ---- internal: one file over HTTP (hub_http.c) ---- */
typedef struct {
    long status;            /* final HTTP status, 0 if no response                    */
    char commit[48];        /* X-Repo-Commit of the first response that had one       */
    char linked_etag[160];  /* X-Linked-Etag (LFS sha256)                              */
    char etag[160];         /* ETag of the first response that had one                */
    char error_code[64];    /* X-Error-Code (RepositoryNotFound, EntryNotFound, ...)  */
    long long bytes;        /* body bytes written                                      */
} hub_http_result;

/* GET url into the open file descriptor fd (redirects followed, at most max_bytes). Returns ZB_OK
 * with res->status set for any HTTP answer (the caller judges 404 etc.), ZB_EUNAVAILABLE when the
 * server cannot be reached, ZB_ETOOLONG over max_bytes, ZB_EIO for a broken transfer. */
int hub_http_get(const char *url, int fd, long long max_bytes, const hub_opts *o, hub_http_result *res,
                 zb_err *err);

#endif
