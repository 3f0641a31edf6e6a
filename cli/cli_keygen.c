/* zembed keygen: a CURVE keypair for the gateway, a worker or a client (docs/PROTOCOL.md §7). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "zb_curve.h"
#include "zb_opt.h"

static const char usage_text[] =
    "usage: zembed keygen NAME [--force]\n"
    "\n"
    "Writes a fresh CURVE keypair as Z85 text: NAME.key (the secret key, mode 0600: keep it on the\n"
    "host that uses it) and NAME.pub (the public key: give it to the other side), and prints the\n"
    "public key. The gateway takes its NAME.key with --curve-key and the clients' and workers'\n"
    "NAME.pub lines in --allow-clients / --allow-workers files; workers and clients take the\n"
    "gateway's NAME.pub with --server-key and their own NAME.key with --curve-key\n"
    "(or $ZEMBED_SERVER_KEY / $ZEMBED_CURVE_KEY).\n"
    "  --force    replace an existing keypair (otherwise refused)\n"
    "exit status: 0 written, 2 usage error or nothing written\n";

typedef struct {
    const char *name;
    int force;
} keygen_opts;

enum { O_FORCE = 0x100 };

static int parse(int argc, char **argv, keygen_opts *o)
{
    static const struct option longopts[] = {{"force", no_argument, NULL, O_FORCE}, ZB_OPT_STD};
    zb_opt p = {.prog = "zembed keygen", .usage = usage_text, .longopts = longopts};
    int c, status;
    while ((c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        if (c == O_FORCE)
            o->force = 1;
        else
            return status;
    }
    if (argc - optind != 1) {
        fprintf(stderr, "zembed keygen: give one NAME (NAME.key and NAME.pub are written)%s\n",
                argc - optind > 1 ? ", not several" : "");
        return 2;
    }
    o->name = argv[optind];
    return ZB_OPT_RUN;
}

int cli_keygen(int argc, char **argv)
{
    keygen_opts o = {0};
    int status = parse(argc, argv, &o);
    if (status != ZB_OPT_RUN)
        return status;
    zb_curve_keypair kp;
    zb_err err;
    if (zb_curve_keygen(o.name, o.force, &kp, &err)) {
        fprintf(stderr, "zembed keygen: %s\n", err.msg);
        return 2;
    }
    printf("%s\n", kp.pub);
    memset(&kp, 0, sizeof kp);
    return 0;
}
