/* zembed fetch-model: resolve or download a Hugging Face model folder and print where it is. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hub.h"
#include "zb_opt.h"

static const char usage_text[] =
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
            "exit status: 0 ok, 2 usage error or the model could not be resolved\n";

enum { O_REVISION = 0x100, O_CACHE, O_PIN, O_OFFLINE, O_REFRESH, O_QUIET };

/* parse: argv -> o (hub options; o->repo NULL: resolve the default). ZB_OPT_RUN to go on, else
 * the exit status (--help, --version: 0). */
static int parse(int argc, char **argv, hub_opts *o)
{
    static const struct option longopts[] = {
        {"revision", required_argument, NULL, O_REVISION}, {"cache", required_argument, NULL, O_CACHE},
        {"pin", required_argument, NULL, O_PIN}, {"offline", no_argument, NULL, O_OFFLINE},
        {"refresh", no_argument, NULL, O_REFRESH}, {"quiet", no_argument, NULL, O_QUIET}, ZB_OPT_STD};
    zb_opt p = {.prog = "zembed fetch-model", .usage = usage_text, .longopts = longopts};
    int c, status;
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        switch (c) {
        case O_REVISION: o->revision = optarg; break;
        case O_CACHE: o->cache_dir = optarg; break;
        case O_PIN: o->pin_file = optarg; break;
        case O_OFFLINE: o->offline = 1; break;
        case O_REFRESH: o->refresh = 1; break;
        case O_QUIET: o->log = NULL; break;
        default: return status;
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "zembed fetch-model: one REPO at a time, not '%s' too\n", argv[optind + 1]);
        return 2;
    }
    o->repo = optind < argc ? argv[optind] : NULL;
    return ZB_OPT_RUN;
}

int cli_fetch_model(int argc, char **argv)
{
    hub_opts o = {.log = stderr};
    int status = parse(argc, argv, &o);
    if (status != ZB_OPT_RUN)
        return status;
    char dir[HUB_PATH_MAX];
    zb_err err = {0};
    int rc = o.repo ? hub_fetch(&o, dir, sizeof dir, &err) : hub_resolve(&o, dir, sizeof dir, &err);
    if (rc) {
        fprintf(stderr, "zembed fetch-model: %s: %s\n", zb_code_name(rc), err.msg);
        return 2;
    }
    printf("%s\n", dir);
    return 0;
}
