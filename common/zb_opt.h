/* zb_opt: the one way every zembed executable parses its flags (getopt_long underneath).
 *
 * Each command keeps an options struct and splits into parse -> load -> run:
 *
 *   static const struct option longopts[] = {
 *       {"model", required_argument, NULL, 'm'}, {"threads", required_argument, NULL, 't'},
 *       ZB_OPT_STD};                       // --help, --version, the terminator
 *   zb_opt p = {.prog = "zembed encode", .usage = usage_text, .longopts = longopts};
 *   int c, status;
 *   while ((c = zb_opt_next(&p, argc, argv, &status)) != -1)
 *       switch (c) {
 *       case 'm': o->model = optarg; break;
 *       case 't': if (zb_parse_int(p.prog, "--threads", optarg, 1, 256, &o->threads)) return 2; break;
 *       default: return status;            // ZB_OPT_EXIT: --help/--version done (0) or a usage error (2)
 *       }
 *   // positional arguments: argv[optind .. argc-1] (getopt_long moves them to the end)
 *   return ZB_OPT_RUN;                     // parse's "go on"; any other value is the exit status
 *
 * zb_opt_next answers --help (the usage text on stdout), --version, an unknown flag ("unknown flag
 * --modle; did you mean --model?", the closest long option by edit distance) and a missing value
 * itself, so every command words them alike. Long options may be abbreviated to a unique prefix
 * and take "--flag=value" as getopt_long allows. */
#ifndef ZB_OPT_H
#define ZB_OPT_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "zb_version.h"

enum {
    ZB_OPT_RUN = -1,            /* a command's parse(): flags fine, go on to load and run */
    ZB_OPT_EXIT = -2,           /* zb_opt_next: stop, the command returns *status */
    ZB_OPT_HELP = 'h',
    ZB_OPT_VERSION = 0x10000,   /* above every char, so commands keep their own letters */
};

/* The entries every command ends its longopts with. */
#define ZB_OPT_STD                                                                           \
    {"help", no_argument, NULL, ZB_OPT_HELP}, {"version", no_argument, NULL, ZB_OPT_VERSION}, \
    {NULL, 0, NULL, 0}

typedef struct {
    const char *prog;               /* "zembed encode": names the command in every message */
    const char *usage;              /* --help text (on a usage error, a pointer to --help is printed) */
    const struct option *longopts;  /* ends with ZB_OPT_STD */
    const char *shortopts;          /* extra short options ("hm:" style); NULL: just -h */
    int started_;                   /* private: getopt state reset on the first call */
} zb_opt;

/* The next option (its val, optarg set as getopt_long does), -1 when the flags are done, or
 * ZB_OPT_EXIT with *status = 0 after --help / --version, 2 after a usage error (printed). */
int zb_opt_next(zb_opt *p, int argc, char **argv, int *status);

/* "PROG ZB_VERSION" on stdout: what every executable's --version prints. */
void zb_opt_print_version(const char *prog);

/* Levenshtein distance between a and b, at most 255 bytes of each compared. */
int zb_opt_edit_distance(const char *a, const char *b);

/* Of names[0..n), the one closest to s, or NULL when none is close enough to be a likely typo
 * (edit distance at most a third of the longer name, at least 2, at most 3). names may be NULL-terminated
 * instead (n = -1). */
const char *zb_opt_closest(const char *s, const char *const *names, int n);

/* The closest long option of longopts to the flag as typed ("--modle" or "--modle=x"). */
const char *zb_opt_closest_long(const char *typed, const struct option *longopts);

/* v must be one of names (NULL-terminated): *out = its index, 0. Otherwise prints
 * "PROG: FLAG is a, b or c, not 'v'" (and the closest name) and returns -1. */
int zb_opt_choice(const char *prog, const char *flag, const char *v, const char *const *names, int *out);

/* A flag that takes a folder: 0 when path is one; otherwise prints "PROG: FLAG PATH is a file; it
 * takes a folder (the one holding it: ...)" (or that it is missing) and returns -1. */
int zb_opt_require_dir(const char *prog, const char *flag, const char *path);

#endif
