/* zembed fetch-model: resolve or download a Hugging Face model folder and print where it is. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hub.h"
#include "zb_opt.h"
#include "zb_progress.h"

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
            "  --quiet         no progress lines on stderr (a progress bar is drawn there when it is a\n"
            "                  terminal)\n"
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

/* The bar across files: bytes of the files done plus the one in flight. */
typedef struct {
    zb_progress *bar;
    long long files_done, last_done, last_total;
} fetch_bar;

static void on_bytes(void *ud, long long done, long long total)
{
    fetch_bar *f = ud;
    if (done < f->last_done)            /* a new file began */
        f->files_done += f->last_total > f->last_done ? f->last_total : f->last_done;
    f->last_done = done;
    f->last_total = total;
    zb_progress_set_total(f->bar, (uint64_t)(f->files_done + (total > done ? total : done)));
    zb_progress_update(f->bar, (uint64_t)(f->files_done + done), 0, 0);
    if (total > 0 && done == total)
        zb_progress_clear(f->bar);      /* the hub's line for this file comes next */
}

int cli_fetch_model(int argc, char **argv)
{
    hub_opts o = {.log = stderr};
    int status = parse(argc, argv, &o);
    if (status != ZB_OPT_RUN)
        return status;
    fetch_bar fb = {.bar = zb_progress_new(&(zb_progress_opts){.label = "zembed fetch-model", .fd = 2,
                                                               .quiet = !o.log, .bytes = 1})};
    if (fb.bar) {
        o.on_bytes = on_bytes;
        o.on_bytes_ud = &fb;
    }
    char dir[HUB_PATH_MAX];
    zb_err err = {0};
    int rc = o.repo ? hub_fetch(&o, dir, sizeof dir, &err) : hub_resolve(&o, dir, sizeof dir, &err);
    zb_progress_clear(fb.bar);          /* the hub printed the files; the summary is its last line */
    zb_progress_end(&fb.bar);
    if (rc) {
        fprintf(stderr, "zembed fetch-model: %s: %s\n", zb_code_name(rc), err.msg);
        return 2;
    }
    printf("%s\n", dir);
    return 0;
}
