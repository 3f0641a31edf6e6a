/* zembed fetch-model: resolve or download a Hugging Face model folder and print where it is. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hub.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: zembed fetch-model [REPO] [--revision R] [--cache DIR] [--pin FILE] [--offline]\n"
            "                          [--refresh] [--quiet]\n"
            "\n"
            "Prints the local folder of a model, downloading it once into the cache if needed.\n"
            "  REPO            hub repo id (default " HUB_DEFAULT_REPO ");\n"
            "                  without REPO, ZEMBED_MODEL=DIR (a local folder) wins if set\n"
            "  --revision R    branch, tag or commit (default " HUB_DEFAULT_REVISION ")\n"
            "  --cache DIR     cache folder (default $ZEMBED_CACHE, $XDG_CACHE_HOME/zembed or\n"
            "                  ~/.cache/zembed), laid out as Hugging Face's models--org--name/\n"
            "  --pin FILE      sha256sum-format list of hashes to enforce (default $ZEMBED_PIN)\n"
            "  --offline       use the cache only (also HF_HUB_OFFLINE=1)\n"
            "  --refresh       ask the server again even if the revision is cached\n"
            "  --quiet         no progress lines on stderr\n"
            "environment: HF_ENDPOINT (a mirror, default " HUB_DEFAULT_ENDPOINT "), HF_TOKEN\n"
            "exit status: 0 ok, 2 usage error or the model could not be resolved\n");
}

int cli_fetch_model(int argc, char **argv)
{
    hub_opts o = {.log = stderr};
    const char *repo = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--revision") && has_val) {
            o.revision = argv[++i];
        } else if (!strcmp(a, "--cache") && has_val) {
            o.cache_dir = argv[++i];
        } else if (!strcmp(a, "--pin") && has_val) {
            o.pin_file = argv[++i];
        } else if (!strcmp(a, "--offline")) {
            o.offline = 1;
        } else if (!strcmp(a, "--refresh")) {
            o.refresh = 1;
        } else if (!strcmp(a, "--quiet")) {
            o.log = NULL;
        } else if (a[0] != '-' && !repo) {
            repo = a;
        } else {
            fprintf(stderr, "zembed fetch-model: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    o.repo = repo;
    char dir[HUB_PATH_MAX];
    zb_err err = {0};
    int rc = repo ? hub_fetch(&o, dir, sizeof dir, &err) : hub_resolve(&o, dir, sizeof dir, &err);
    if (rc) {
        fprintf(stderr, "zembed fetch-model: %s: %s\n", zb_code_name(rc), err.msg);
        return 2;
    }
    printf("%s\n", dir);
    return 0;
}
