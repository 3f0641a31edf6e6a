/* hub unit tests: names, URLs, cache layout, hashes, pin files, offline resolution (no server:
 * the download code itself is tested against a loopback mirror in tests/deploy/test_hub). */
#include "hub.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zb_test.h"

static const char *tmpdir;   /* zt_tmpdir() */

static void write_text(const char *dir, const char *name, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ZT_CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_repo_ids(void)
{
    zb_err e = {0};
    ZT_CHECK_EQ_INT(hub_check_repo_id("sentence-transformers/paraphrase-MiniLM-L6-v2", &e), ZB_OK);
    ZT_CHECK_EQ_INT(hub_check_repo_id("BAAI/bge-small-en-v1.5", &e), ZB_OK);
    const char *bad[] = {"noslash", "a/b/c", "../etc", "a/..", "/abc", "a/", "org/na me", "a--b/c",
                         "org/-x", ".org/x", "org/na%2Fme"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ZT_CHECK_EQ_INT(hub_check_repo_id(bad[i], &e), ZB_EINVAL);
        ZT_CHECK(strstr(e.msg, bad[i]) != NULL); /* the message names the input */
    }
    ZT_CHECK_EQ_INT(hub_check_repo_id(NULL, &e), ZB_EINVAL);
}

static void test_revisions_and_paths(void)
{
    ZT_CHECK_EQ_INT(hub_check_revision("main", NULL), ZB_OK);
    ZT_CHECK_EQ_INT(hub_check_revision("refs/pr/1", NULL), ZB_OK);
    ZT_CHECK_EQ_INT(hub_check_revision("v1.0", NULL), ZB_OK);
    ZT_CHECK_EQ_INT(hub_check_revision("../../x", NULL), ZB_EINVAL);
    ZT_CHECK_EQ_INT(hub_check_revision("/abs", NULL), ZB_EINVAL);
    ZT_CHECK_EQ_INT(hub_check_revision("", NULL), ZB_EINVAL);
    ZT_CHECK_EQ_INT(hub_check_rel_path("1_Pooling/config.json", NULL), ZB_OK);
    ZT_CHECK_EQ_INT(hub_check_rel_path("model-00001-of-00002.safetensors", NULL), ZB_OK);
    ZT_CHECK_EQ_INT(hub_check_rel_path("../model.safetensors", NULL), ZB_EINVAL);
    ZT_CHECK_EQ_INT(hub_check_rel_path("a/../../b", NULL), ZB_EINVAL);
    ZT_CHECK_EQ_INT(hub_check_rel_path("/etc/passwd", NULL), ZB_EINVAL);
    ZT_CHECK_EQ_INT(hub_check_rel_path("a//b", NULL), ZB_EINVAL);
    ZT_CHECK_EQ_INT(hub_check_rel_path("a\\b", NULL), ZB_EINVAL);
}

static void test_urls(void)
{
    char u[512];
    ZT_CHECK_EQ_INT(hub_file_url(u, sizeof u, "https://huggingface.co", "org/m", "main", "config.json", NULL), 0);
    ZT_CHECK(!strcmp(u, "https://huggingface.co/org/m/resolve/main/config.json"));
    ZT_CHECK_EQ_INT(hub_file_url(u, sizeof u, "http://127.0.0.1:8080//", "org/m", "refs/pr/3",
                                 "1_Pooling/config.json", NULL), 0);
    ZT_CHECK(!strcmp(u, "http://127.0.0.1:8080/org/m/resolve/refs%2Fpr%2F3/1_Pooling/config.json"));
    zb_err e = {0};
    ZT_CHECK_EQ_INT(hub_file_url(u, 20, "https://huggingface.co", "org/m", "main", "config.json", &e),
                    ZB_ETOOLONG);
}

static void test_cache_root_precedence(void)
{
    char b[512];
    setenv("ZEMBED_CACHE", "/z/cache", 1);
    setenv("XDG_CACHE_HOME", "/x", 1);
    setenv("HOME", "/home/u", 1);
    ZT_CHECK_EQ_INT(hub_cache_root(b, sizeof b, NULL), 0);
    ZT_CHECK(!strcmp(b, "/z/cache"));
    unsetenv("ZEMBED_CACHE");
    ZT_CHECK_EQ_INT(hub_cache_root(b, sizeof b, NULL), 0);
    ZT_CHECK(!strcmp(b, "/x/zembed"));
    setenv("XDG_CACHE_HOME", "", 1);
    ZT_CHECK_EQ_INT(hub_cache_root(b, sizeof b, NULL), 0);
    ZT_CHECK(!strcmp(b, "/home/u/.cache/zembed"));
    ZT_CHECK_EQ_INT(hub_repo_dir(b, sizeof b, "/c", "sentence-transformers/all-MiniLM-L6-v2", NULL), 0);
    ZT_CHECK(!strcmp(b, "/c/models--sentence-transformers--all-MiniLM-L6-v2"));
}

static void test_etags(void)
{
    char h[65];
    const char *sha = "1278d43f2e3e5eb66551c7e2bbc93032b7be842fdcdff24c0770029e3f40a6c7";
    ZT_CHECK_EQ_INT(hub_etag_parse("\"1278D43F2E3E5EB66551C7E2BBC93032B7BE842FDCDFF24C0770029E3F40A6C7\"", h),
                    HUB_HASH_SHA256);
    ZT_CHECK(!strcmp(h, sha));
    ZT_CHECK_EQ_INT(hub_etag_parse("W/\"ce013625030ba8dba906f756967f9e9ca394464a\"", h), HUB_HASH_GITSHA1);
    ZT_CHECK(!strcmp(h, "ce013625030ba8dba906f756967f9e9ca394464a"));
    ZT_CHECK_EQ_INT(hub_etag_parse("\"64a5f-5f2a8c\"", h), HUB_HASH_NONE);     /* nginx-style */
    ZT_CHECK_EQ_INT(hub_etag_parse("\"d41d8cd98f00b204e9800998ecf8427e\"", h), HUB_HASH_NONE); /* md5 */
    ZT_CHECK_EQ_INT(hub_etag_parse("\"zz13625030ba8dba906f756967f9e9ca394464a\"", h), HUB_HASH_NONE);
    ZT_CHECK_EQ_INT(hub_etag_parse("", h), HUB_HASH_NONE);
    ZT_CHECK_EQ_INT(hub_etag_parse(NULL, h), HUB_HASH_NONE);
}

static void test_hash_file(void)
{
    write_text(tmpdir, "hello.txt", "hello\n");
    char p[512], h[65];
    snprintf(p, sizeof p, "%s/hello.txt", tmpdir);
    ZT_CHECK_EQ_INT(hub_hash_file(p, HUB_HASH_SHA256, h, NULL), 0);
    ZT_CHECK(!strcmp(h, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"));
    ZT_CHECK_EQ_INT(hub_hash_file(p, HUB_HASH_GITSHA1, h, NULL), 0); /* git hash-object */
    ZT_CHECK(!strcmp(h, "ce013625030ba8dba906f756967f9e9ca394464a"));
    write_text(tmpdir, "empty", "");
    snprintf(p, sizeof p, "%s/empty", tmpdir);
    ZT_CHECK_EQ_INT(hub_hash_file(p, HUB_HASH_SHA256, h, NULL), 0);
    ZT_CHECK(!strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    zb_err e = {0};
    snprintf(p, sizeof p, "%s/missing", tmpdir);
    ZT_CHECK_EQ_INT(hub_hash_file(p, HUB_HASH_SHA256, h, &e), ZB_EIO);
    ZT_CHECK(strstr(e.msg, "missing") != NULL);
}

static void test_pin_file(void)
{
    write_text(tmpdir, "pins",
               "# pinned\n"
               "5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03  config.json\r\n"
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 *1_Pooling/config.json\n");
    char p[512], h[65];
    snprintf(p, sizeof p, "%s/pins", tmpdir);
    ZT_CHECK_EQ_INT(hub_pin_lookup(p, "config.json", h, NULL), 1);
    ZT_CHECK(!strcmp(h, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"));
    ZT_CHECK_EQ_INT(hub_pin_lookup(p, "1_Pooling/config.json", h, NULL), 1);
    ZT_CHECK_EQ_INT(hub_pin_lookup(p, "vocab.txt", h, NULL), 0);
    write_text(tmpdir, "badpins", "1234  config.json\n");
    snprintf(p, sizeof p, "%s/badpins", tmpdir);
    zb_err e = {0};
    ZT_CHECK_EQ_INT(hub_pin_lookup(p, "config.json", h, &e), ZB_EFORMAT);
    ZT_CHECK(strstr(e.msg, "badpins:1") != NULL);
}

/* A cache laid out by hand: a complete snapshot is found offline; an incomplete one is not, and the
 * message names both ways out. */
static void test_offline_cache(void)
{
    char root[300], snap[600], d[1400];
    snprintf(root, sizeof root, "%s/cache", tmpdir);
    snprintf(snap, sizeof snap, "%s/models--org--m/snapshots/0123456789abcdef0123456789abcdef01234567", root);
    snprintf(d, sizeof d, "mkdir -p %s/1_Pooling %s/../../refs", snap, snap);
    ZT_CHECK_EQ_INT(system(d), 0);
    write_text(snap, "../../refs/main", "0123456789abcdef0123456789abcdef01234567");
    write_text(snap, "config.json", "{}");
    write_text(snap, "vocab.txt", "[PAD]\n");

    hub_opts o = {.repo = "org/m", .cache_dir = root, .offline = 1};
    char out[HUB_PATH_MAX];
    zb_err e = {0};
    ZT_CHECK_EQ_INT(hub_fetch(&o, out, sizeof out, &e), ZB_EUNAVAILABLE); /* no weights yet */
    ZT_CHECK(strstr(e.msg, "HF_ENDPOINT") && strstr(e.msg, "ZEMBED_MODEL") && strstr(e.msg, "org/m@main"));

    /* sharded weights: complete only once every shard named by the index is there */
    write_text(snap, "model.safetensors.index.json",
               "{\"metadata\":{},\"weight_map\":{\"a\":\"s-1.safetensors\",\"b\":\"s-2.safetensors\","
               "\"c\":\"s-1.safetensors\"}}");
    write_text(snap, "s-1.safetensors", "x");
    ZT_CHECK_EQ_INT(hub_snapshot_complete(snap), 0);
    write_text(snap, "s-2.safetensors", "x");
    ZT_CHECK_EQ_INT(hub_snapshot_complete(snap), 1);
    ZT_CHECK_EQ_INT(hub_fetch(&o, out, sizeof out, &e), ZB_OK);
    ZT_CHECK(!strcmp(out, snap));

    /* the commit itself as revision, without a ref */
    o.revision = "0123456789abcdef0123456789abcdef01234567";
    ZT_CHECK_EQ_INT(hub_fetch(&o, out, sizeof out, &e), ZB_OK);
    o.revision = "v2";
    ZT_CHECK_EQ_INT(hub_fetch(&o, out, sizeof out, &e), ZB_EUNAVAILABLE);

    /* an index with an unsafe shard name never counts as complete */
    write_text(snap, "model.safetensors.index.json", "{\"weight_map\":{\"a\":\"../../x\"}}");
    ZT_CHECK_EQ_INT(hub_snapshot_complete(snap), 0);
}

static void test_resolve_local_folder(void)
{
    char dir[512], out[HUB_PATH_MAX];
    zb_err e = {0};
    hub_opts o = {.offline = 1};
    snprintf(dir, sizeof dir, "%s/local", tmpdir);
    mkdir(dir, 0755);
    setenv("ZEMBED_MODEL", dir, 1);
    ZT_CHECK_EQ_INT(hub_resolve(&o, out, sizeof out, &e), ZB_ENOTFOUND); /* no config.json */
    ZT_CHECK(strstr(e.msg, "ZEMBED_MODEL") && strstr(e.msg, "config.json"));
    write_text(dir, "config.json", "{}");
    ZT_CHECK_EQ_INT(hub_resolve(&o, out, sizeof out, &e), ZB_OK);
    ZT_CHECK(!strcmp(out, dir));
    unsetenv("ZEMBED_MODEL");
}

int main(void)
{
    tmpdir = zt_tmpdir("hub_test");
    ZT_RUN(test_repo_ids);
    ZT_RUN(test_revisions_and_paths);
    ZT_RUN(test_urls);
    ZT_RUN(test_cache_root_precedence);
    ZT_RUN(test_etags);
    ZT_RUN(test_hash_file);
    ZT_RUN(test_pin_file);
    ZT_RUN(test_offline_cache);
    ZT_RUN(test_resolve_local_folder);
    return zt_done();
}
