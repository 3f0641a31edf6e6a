/* hub: resolve a model to a folder; fetch a hub repo into the cache once (layout in hub.h). */
#include "hub.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zb_file.h"

#define SMALL_MAX   (64LL << 20)  /* json / txt files: tokenizer.json of big vocabularies is ~20 MB */
#define WEIGHTS_MAX (64LL << 30)  /* one safetensors file or shard                               */
#define MAX_SHARDS  1000

typedef struct {
    const hub_opts *o;
    const char *repo, *revision, *endpoint, *pin;
    char url_rev[256];   /* the revision in URLs: the commit once the first answer named it */
    char commit[256];    /* snapshot folder name                                             */
    char repo_dir[HUB_PATH_MAX], snap[HUB_PATH_MAX];
    zb_err *err;         /* for fetch_shard, called back from index_shards */
} fetch_ctx;

static int mkdir_p(const char *path, zb_err *err)
{
    char buf[HUB_PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return zb_fail(err, ZB_ETOOLONG, "path too long: %s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return zb_fail(err, ZB_EIO, "cannot create folder %s: %s", buf, strerror(errno));
            *p = c;
            if (!c)
                return ZB_OK;
        }
    }
}

static int is_commit_hash(const char *s)
{
    if (strlen(s) != 40)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

/* Call fn(shard) for every distinct file named in a safetensors index's weight_map. */
static int index_shards(const char *index_path, int (*fn)(void *, const char *), void *ud, zb_err *err)
{
    json_error_t je;
    json_t *root = json_load_file(index_path, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return zb_fail(err, ZB_EFORMAT, "%s:%d: %s", index_path, je.line, je.text);
    json_t *map = json_object_get(root, "weight_map");
    int rc = ZB_OK, n = 0;
    const char *seen[MAX_SHARDS];
    if (!json_is_object(map) || json_object_size(map) == 0)
        rc = zb_fail(err, ZB_EFORMAT, "%s: no \"weight_map\" object", index_path);
    const char *key;
    json_t *v;
    json_object_foreach(map, key, v) {
        if (rc)
            break;
        const char *shard = json_string_value(v);
        if (!shard || hub_check_rel_path(shard, err)) {
            rc = zb_fail(err, ZB_EFORMAT, "%s: weight_map[\"%.64s\"] is not a safe file name",
                         index_path, key);
            break;
        }
        int dup = 0;
        for (int i = 0; i < n && !dup; i++)
            dup = !strcmp(seen[i], shard);
        if (dup)
            continue;
        if (n == MAX_SHARDS) {
            rc = zb_fail(err, ZB_ERANGE, "%s: more than %d shards", index_path, MAX_SHARDS);
            break;
        }
        seen[n++] = shard;
        rc = fn(ud, shard);
    }
    json_decref(root);
    return rc;
}

static int shard_exists(void *dir, const char *shard)
{
    char p[HUB_PATH_MAX];
    if (zb_path_join(p, sizeof p, dir, shard, NULL) || !zb_is_file(p))
        return ZB_ENOTFOUND;
    return ZB_OK;
}

int hub_snapshot_complete(const char *dir)
{
    char p[HUB_PATH_MAX];
    if (zb_path_join(p, sizeof p, dir, "config.json", NULL) || !zb_is_file(p))
        return 0;
    int tok = !zb_path_join(p, sizeof p, dir, "tokenizer.json", NULL) && zb_is_file(p);
    tok = tok || (!zb_path_join(p, sizeof p, dir, "vocab.txt", NULL) && zb_is_file(p));
    if (!tok)
        return 0;
    if (!zb_path_join(p, sizeof p, dir, "model.safetensors", NULL) && zb_is_file(p))
        return 1;
    if (zb_path_join(p, sizeof p, dir, "model.safetensors.index.json", NULL) || !zb_is_file(p))
        return 0;
    return index_shards(p, shard_exists, (void *)dir, NULL) == ZB_OK;
}

/* snap/file -> ../../blobs/name (one more ../ per folder in file), replaced atomically. */
static int link_into_snapshot(fetch_ctx *c, const char *file, const char *blob, zb_err *err)
{
    char link[HUB_PATH_MAX], dir[HUB_PATH_MAX], target[HUB_PATH_MAX] = "../../", tmp[HUB_PATH_MAX + 32];
    int rc = zb_path_join(link, sizeof link, c->snap, file, err);
    if (rc)
        return rc;
    snprintf(dir, sizeof dir, "%s", link);
    *strrchr(dir, '/') = '\0';
    if ((rc = mkdir_p(dir, err)))
        return rc;
    for (const char *s = strchr(file, '/'); s; s = strchr(s + 1, '/'))
        strcat(target, "../"); /* bounded: file is at most 1024 chars */
    strcat(target, "blobs/");
    strcat(target, blob);
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", link, (int)getpid());
    unlink(tmp);
    if (symlink(target, tmp) != 0 || rename(tmp, link) != 0) {
        rc = zb_fail(err, ZB_EIO, "cannot link %s -> %s: %s", link, target, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

/* Check the temp download against what the server and the pin file say; name the blob. */
static int verify(fetch_ctx *c, const char *file, const char *tmp, const hub_http_result *res,
                  char blob[65], const char **how, zb_err *err)
{
    char want[65], got[65], pin[65];
    hub_hash_kind kind = hub_etag_parse(res->linked_etag, want);
    if (kind == HUB_HASH_NONE)
        kind = hub_etag_parse(res->etag, want);
    int rc, pinned = 0;
    if (c->pin && (pinned = hub_pin_lookup(c->pin, file, pin, err)) < 0)
        return pinned;
    *how = "no hash from the server";
    if (kind != HUB_HASH_NONE) {
        if ((rc = hub_hash_file(tmp, kind, got, err)))
            return rc;
        if (strcmp(want, got))
            return zb_fail(err, ZB_EFORMAT,
                           "%s: %s mismatch: expected %s, got %s; the download was deleted", file,
                           kind == HUB_HASH_SHA256 ? "sha256" : "git blob sha1", want, got);
        *how = kind == HUB_HASH_SHA256 ? "sha256 verified" : "git blob sha1 verified";
        memcpy(blob, want, 65); /* as HF names blobs: by the etag */
    }
    if (pinned || kind == HUB_HASH_NONE) {
        if (kind != HUB_HASH_SHA256 && (rc = hub_hash_file(tmp, HUB_HASH_SHA256, got, err)))
            return rc;
        if (pinned && strcmp(pin, got))
            return zb_fail(err, ZB_EFORMAT,
                           "%s: sha256 mismatch with the pin file %s: expected %s, got %s; the "
                           "download was deleted", file, c->pin, pin, got);
        if (pinned)
            *how = kind == HUB_HASH_NONE ? "pinned sha256 verified" : "hub hash and pinned sha256 verified";
        if (kind == HUB_HASH_NONE)
            memcpy(blob, got, 65);
    }
    return ZB_OK;
}

static int http_answer(fetch_ctx *c, const char *file, const char *url, const hub_http_result *res,
                       int required, zb_err *err)
{
    if (res->status == 200)
        return 1;
    if (res->status == 401 || res->status == 403 || !strcmp(res->error_code, "RepositoryNotFound") ||
        !strcmp(res->error_code, "RevisionNotFound"))
        return zb_fail(err, ZB_ENOTFOUND,
                       "%s@%s: %s (HTTP %ld from %s); a private or gated repo needs HF_TOKEN",
                       c->repo, c->revision,
                       res->error_code[0] ? res->error_code : "repository or revision not accessible",
                       res->status, url);
    if (res->status == 404 && !required)
        return 0;
    if (res->status == 404)
        return zb_fail(err, ZB_ENOTFOUND, "%s@%s: required file %s not found (HTTP 404 from %s)",
                       c->repo, c->revision, file, url);
    return zb_fail(err, ZB_EIO, "%s: HTTP %ld from %s", file, res->status, url);
}

/* The first answer names the commit: the snapshot folder, and the revision of every later URL, so
 * all files come from one commit even if the branch moves meanwhile. */
static int pin_commit(fetch_ctx *c, const hub_http_result *res, zb_err *err)
{
    if (c->commit[0])
        return ZB_OK;
    if (res->commit[0] && is_commit_hash(res->commit))
        snprintf(c->commit, sizeof c->commit, "%s", res->commit);
    else /* a plain mirror sends no X-Repo-Commit: the snapshot is named by the revision */
        for (size_t i = 0; i <= strlen(c->revision); i++)
            c->commit[i] = c->revision[i] == '/' ? '_' : c->revision[i];
    if (res->commit[0] && is_commit_hash(res->commit))
        snprintf(c->url_rev, sizeof c->url_rev, "%s", res->commit);
    char sub[300];
    snprintf(sub, sizeof sub, "snapshots/%s", c->commit);
    int rc = zb_path_join(c->snap, sizeof c->snap, c->repo_dir, sub, err);
    return rc ? rc : mkdir_p(c->snap, err);
}

/* Download one file: 1 fetched, 0 absent (404, optional), <0 error. */
static int fetch_one(fetch_ctx *c, const char *file, int required, long long max_bytes, zb_err *err)
{
    char url[HUB_PATH_MAX], tmp[HUB_PATH_MAX + 32], blobs[HUB_PATH_MAX], blob[65], final[HUB_PATH_MAX];
    const char *how = "";
    int rc = hub_file_url(url, sizeof url, c->endpoint, c->repo, c->url_rev, file, err);
    if (!rc)
        rc = zb_path_join(blobs, sizeof blobs, c->repo_dir, "blobs", err);
    if (!rc)
        rc = mkdir_p(blobs, err);
    if (rc)
        return rc;
    snprintf(tmp, sizeof tmp, "%s/.incomplete-XXXXXX", blobs);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return zb_fail(err, ZB_EIO, "cannot create a temp file in %s: %s", blobs, strerror(errno));
    mode_t mask = umask(0); /* mkostemp makes 0600; a blob is as readable as any file we write */
    umask(mask);
    fchmod(fd, 0644 & ~mask);
    hub_http_result res;
    rc = hub_http_get(url, fd, max_bytes, c->o, &res, err);
    if (!rc && fsync(fd) != 0)
        rc = zb_fail(err, ZB_EIO, "%s: fsync: %s", tmp, strerror(errno));
    close(fd);
    if (!rc && (rc = http_answer(c, file, url, &res, required, err)) == 1)
        rc = pin_commit(c, &res, err);
    else if (rc == 0 && c->o->log)
        fprintf(c->o->log, "hub: %-32s absent (HTTP 404), optional\n", file);
    if (rc == 0 && res.status == 200) {
        rc = verify(c, file, tmp, &res, blob, &how, err);
        if (!rc)
            rc = zb_path_join(final, sizeof final, blobs, blob, err);
        if (!rc && rename(tmp, final) != 0)
            rc = zb_fail(err, ZB_EIO, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
        if (!rc)
            rc = link_into_snapshot(c, file, blob, err);
        if (!rc) {
            if (c->o->log)
                fprintf(c->o->log, "hub: %-32s %12lld bytes  %s\n", file, res.bytes, how);
            return 1;
        }
    }
    unlink(tmp);
    return rc;
}

static int fetch_shard(void *ud, const char *shard)
{
    fetch_ctx *c = ud;
    int rc = fetch_one(c, shard, 1, WEIGHTS_MAX, c->err);
    return rc < 0 ? rc : ZB_OK;
}

/* The sentence-transformers modules after the Transformer: Pooling has a config.json, Normalize is
 * an empty folder. Without modules.json, 1_Pooling/config.json if the repo has one. */
static int fetch_modules(fetch_ctx *c, int have_modules, zb_err *err)
{
    if (!have_modules) {
        int rc = fetch_one(c, "1_Pooling/config.json", 0, SMALL_MAX, err);
        return rc < 0 ? rc : ZB_OK;
    }
    char path[HUB_PATH_MAX];
    int rc = zb_path_join(path, sizeof path, c->snap, "modules.json", err);
    if (rc)
        return rc;
    json_error_t je;
    json_t *mods = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_array(mods) || json_array_size(mods) > 64) {
        json_decref(mods);
        return zb_fail(err, ZB_EFORMAT, "modules.json: expected an array of at most 64 modules%s%s",
                       mods ? "" : ": ", mods ? "" : je.text);
    }
    size_t i;
    json_t *m;
    json_array_foreach(mods, i, m) {
        const char *p = json_string_value(json_object_get(m, "path"));
        const char *type = json_string_value(json_object_get(m, "type"));
        if (!p || !*p)
            continue;
        if (hub_check_rel_path(p, err)) {
            rc = zb_wrap(err, "modules.json[%zu].path: ", i);
            break;
        }
        char file[1100], dir[HUB_PATH_MAX];
        if (type && strstr(type, "Normalize")) {
            rc = zb_path_join(dir, sizeof dir, c->snap, p, err);
            if (!rc)
                rc = mkdir_p(dir, err);
        } else {
            snprintf(file, sizeof file, "%s/config.json", p);
            rc = fetch_one(c, file, 0, SMALL_MAX, err);
            rc = rc < 0 ? rc : ZB_OK;
        }
        if (rc)
            break;
    }
    json_decref(mods);
    return rc;
}

static int download_all(fetch_ctx *c, zb_err *err)
{
    int rc = fetch_one(c, "config.json", 1, SMALL_MAX, err);
    if (rc < 0)
        return rc;
    static const char *const optional[] = {"tokenizer.json", "vocab.txt", "tokenizer_config.json",
                                           "special_tokens_map.json", "sentence_bert_config.json"};
    for (size_t i = 0; i < sizeof optional / sizeof *optional; i++)
        if ((rc = fetch_one(c, optional[i], 0, SMALL_MAX, err)) < 0)
            return rc;
    int have_modules = fetch_one(c, "modules.json", 0, SMALL_MAX, err);
    if (have_modules < 0 || (rc = fetch_modules(c, have_modules, err)))
        return have_modules < 0 ? have_modules : rc;

    if ((rc = fetch_one(c, "model.safetensors", 0, WEIGHTS_MAX, err)) < 0)
        return rc;
    if (rc == 0) {
        if ((rc = fetch_one(c, "model.safetensors.index.json", 0, SMALL_MAX, err)) < 0)
            return rc;
        if (rc == 0)
            return zb_fail(err, ZB_ENOTFOUND,
                           "%s@%s has neither model.safetensors nor model.safetensors.index.json "
                           "(only safetensors weights are supported)", c->repo, c->revision);
        char idx[HUB_PATH_MAX];
        zb_path_join(idx, sizeof idx, c->snap, "model.safetensors.index.json", NULL);
        c->err = err;
        if ((rc = index_shards(idx, fetch_shard, c, err)))
            return rc;
    }
    if (!hub_snapshot_complete(c->snap))
        return zb_fail(err, ZB_ENOTFOUND, "%s@%s has neither tokenizer.json nor vocab.txt", c->repo,
                       c->revision);
    return ZB_OK;
}

/* refs/{revision} -> commit; 1 found, 0 not. */
static int read_ref(const char *repo_dir, const char *rev, char *commit, size_t cap)
{
    char p[HUB_PATH_MAX], *text;
    size_t n;
    if (snprintf(p, sizeof p, "%s/refs/%s", repo_dir, rev) >= (int)sizeof p ||
        zb_read_file(p, 256, &text, &n, NULL))
        return 0;
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    int ok = n > 0 && n < cap && !strchr(text, '/') && strcmp(text, "..") && strcmp(text, ".");
    if (ok)
        memcpy(commit, text, n + 1);
    free(text);
    return ok;
}

static int write_ref(const fetch_ctx *c, zb_err *err)
{
    char p[HUB_PATH_MAX], dir[HUB_PATH_MAX], tmp[HUB_PATH_MAX + 32];
    if (snprintf(p, sizeof p, "%s/refs/%s", c->repo_dir, c->revision) >= (int)sizeof p)
        return zb_fail(err, ZB_ETOOLONG, "path too long: %s/refs/%s", c->repo_dir, c->revision);
    snprintf(dir, sizeof dir, "%s", p);
    *strrchr(dir, '/') = '\0';
    int rc = mkdir_p(dir, err);
    if (rc)
        return rc;
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", p, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(c->commit, f) < 0 || fclose(f) != 0 || rename(tmp, p) != 0) {
        rc = zb_fail(err, ZB_EIO, "cannot write %s: %s", p, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

static int copy_out(char *dir, size_t cap, const char *src, zb_err *err)
{
    if (snprintf(dir, cap, "%s", src) >= (int)cap)
        return zb_fail(err, ZB_ETOOLONG, "model folder path longer than %zu bytes: %s", cap, src);
    return ZB_OK;
}

static int env_true(const char *name)
{
    const char *v = getenv(name);
    return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"));
}

int hub_fetch(const hub_opts *o, char *dir, size_t cap, zb_err *err)
{
    fetch_ctx c = {.o = o};
    c.repo = o->repo ? o->repo : HUB_DEFAULT_REPO;
    c.revision = o->revision ? o->revision : HUB_DEFAULT_REVISION;
    c.endpoint = o->endpoint ? o->endpoint : getenv("HF_ENDPOINT");
    if (!c.endpoint || !*c.endpoint)
        c.endpoint = HUB_DEFAULT_ENDPOINT;
    c.pin = o->pin_file ? o->pin_file : getenv("ZEMBED_PIN");
    if (c.pin && !*c.pin)
        c.pin = NULL;
    int rc = hub_check_repo_id(c.repo, err);
    if (!rc)
        rc = hub_check_revision(c.revision, err);
    char cache[HUB_PATH_MAX];
    if (!rc && o->cache_dir)
        rc = copy_out(cache, sizeof cache, o->cache_dir, err);
    else if (!rc)
        rc = hub_cache_root(cache, sizeof cache, err);
    if (!rc)
        rc = hub_repo_dir(c.repo_dir, sizeof c.repo_dir, cache, c.repo, err);
    if (rc)
        return rc;

    /* The cache first: a complete snapshot of this revision is used without the network. */
    char commit[256], snap[HUB_PATH_MAX];
    int cached = is_commit_hash(c.revision) ? (snprintf(commit, sizeof commit, "%s", c.revision), 1)
                                            : read_ref(c.repo_dir, c.revision, commit, sizeof commit);
    cached = cached && snprintf(snap, sizeof snap, "%s/snapshots/%s", c.repo_dir, commit) < (int)sizeof snap &&
             hub_snapshot_complete(snap);
    if (cached && !o->refresh) {
        if (o->log)
            fprintf(o->log, "hub: %s@%s from the cache: %s\n", c.repo, c.revision, snap);
        return copy_out(dir, cap, snap, err);
    }
    const char *outs = "ways out: HF_ENDPOINT=URL of a reachable mirror, or ZEMBED_MODEL=DIR for a "
                       "local model folder";
    if (o->offline || env_true("HF_HUB_OFFLINE"))
        return zb_fail(err, ZB_EUNAVAILABLE, "offline (%s) and no complete copy of %s@%s in %s; %s",
                       o->offline ? "--offline" : "HF_HUB_OFFLINE=1", c.repo, c.revision, c.repo_dir, outs);

    snprintf(c.url_rev, sizeof c.url_rev, "%s", c.revision);
    if (o->log)
        fprintf(o->log, "hub: fetching %s@%s from %s into %s\n", c.repo, c.revision, c.endpoint, c.repo_dir);
    rc = download_all(&c, err);
    if (rc == ZB_EUNAVAILABLE && cached) { /* --refresh while offline: the cached copy still serves */
        if (o->log)
            fprintf(o->log, "hub: %s; using the cached copy %s\n", err ? err->msg : "hub unreachable", snap);
        return copy_out(dir, cap, snap, err);
    }
    if (rc == ZB_EUNAVAILABLE) {
        char why[ZB_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        return zb_fail(err, rc, "no complete copy of %s@%s in %s and the hub cannot be reached (%s); %s",
                       c.repo, c.revision, c.repo_dir, why, outs);
    }
    if (!rc)
        rc = write_ref(&c, err);
    return rc ? rc : copy_out(dir, cap, c.snap, err);
}

int hub_resolve(const hub_opts *o, char *dir, size_t cap, zb_err *err)
{
    const char *local = getenv("ZEMBED_MODEL");
    if (!local || !*local)
        return hub_fetch(o, dir, cap, err);
    char cfg[HUB_PATH_MAX];
    int rc = zb_path_join(cfg, sizeof cfg, local, "config.json", err);
    if (rc)
        return rc;
    if (!zb_is_file(cfg))
        return zb_fail(err, ZB_ENOTFOUND, "ZEMBED_MODEL=%s is not a model folder (no config.json)", local);
    if (o->log)
        fprintf(o->log, "hub: using the local folder ZEMBED_MODEL=%s\n", local);
    return copy_out(dir, cap, local, err);
}
