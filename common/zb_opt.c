#include "zb_opt.h"

#include <string.h>

#include "zb_file.h"

#define NAME_MAX_CMP 255

int zb_opt_edit_distance(const char *a, const char *b)
{
    size_t la = strnlen(a, NAME_MAX_CMP), lb = strnlen(b, NAME_MAX_CMP);
    unsigned char row[NAME_MAX_CMP + 1];   /* distances fit: both sides are at most 255 */
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned char)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned char diag = row[0];
        row[0] = (unsigned char)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned char up = row[j];
            unsigned char best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *zb_opt_closest(const char *s, const char *const *names, int n)
{
    const char *best = NULL;
    int best_d = 1 << 30;
    for (int i = 0; n < 0 ? names[i] != NULL : i < n; i++) {
        int d = zb_opt_edit_distance(s, names[i]);
        size_t longer = strlen(s) > strlen(names[i]) ? strlen(s) : strlen(names[i]);
        int limit = (int)(longer / 3);
        limit = limit < 2 ? 2 : limit > 3 ? 3 : limit;   /* a swap of two letters is 2 */
        if (d <= limit && d < best_d) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}

const char *zb_opt_closest_long(const char *typed, const struct option *longopts)
{
    char name[NAME_MAX_CMP + 1];
    while (*typed == '-')
        typed++;
    size_t len = strcspn(typed, "=");
    if (len > NAME_MAX_CMP)
        len = NAME_MAX_CMP;
    memcpy(name, typed, len);
    name[len] = 0;
    const char *names[64];
    int n = 0;
    for (const struct option *o = longopts; o->name && n < 64; o++)
        names[n++] = o->name;
    return zb_opt_closest(name, names, n);
}

void zb_opt_print_version(const char *prog)
{
    printf("%s %s\n", prog, ZB_VERSION);
}

/* The long options typed starts (before any '='), when there are several: an ambiguous prefix. */
static int ambiguous(const char *typed, const struct option *longopts, char *list, size_t cap)
{
    size_t len = strcspn(typed, "="), at = 0;
    int n = 0;
    list[0] = 0;
    for (const struct option *o = longopts; o->name; o++)
        if (!strncmp(o->name, typed, len)) {
            int w = snprintf(list + at, cap - at, "%s--%s", n ? ", " : "", o->name);
            if (w > 0 && (size_t)w < cap - at)
                at += (size_t)w;
            n++;
        }
    return n > 1;
}

static int usage_error(const zb_opt *p, int *status)
{
    fprintf(stderr, "(%s --help lists the flags)\n", p->prog);
    *status = 2;
    return ZB_OPT_EXIT;
}

int zb_opt_next(zb_opt *p, int argc, char **argv, int *status)
{
    char shortopts[64] = ":";      /* leading ':': a missing value returns ':', not '?' */
    strncat(shortopts, p->shortopts ? p->shortopts : "h", sizeof shortopts - 2);
    if (!p->started_) {
        p->started_ = 1;
        optind = 0;                /* glibc: 0 re-initialises getopt for a new argv */
        opterr = 0;                /* we word the errors ourselves */
    }
    int c = getopt_long(argc, argv, shortopts, p->longopts, NULL);
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    switch (c) {
    case ZB_OPT_HELP:
        fputs(p->usage, stdout);
        *status = 0;
        return ZB_OPT_EXIT;
    case ZB_OPT_VERSION:
        zb_opt_print_version(p->prog);
        *status = 0;
        return ZB_OPT_EXIT;
    case ':':
        if (optopt && optopt < 0x100 && arg[0] == '-' && arg[1] != '-')
            fprintf(stderr, "%s: -%c needs a value\n", p->prog, optopt);
        else
            fprintf(stderr, "%s: %s needs a value\n", p->prog, arg);
        return usage_error(p, status);
    case '?': {
        if (arg[0] == '-' && arg[1] == '-' && optopt) {       /* --flag=value on a flag without one */
            fprintf(stderr, "%s: %.*s takes no value\n", p->prog, (int)strcspn(arg, "="), arg);
            return usage_error(p, status);
        }
        if (optopt) {
            fprintf(stderr, "%s: unknown flag -%c\n", p->prog, optopt);
            return usage_error(p, status);
        }
        char list[512];
        const char *name = strncmp(arg, "--", 2) ? arg : arg + 2;
        if (ambiguous(name, p->longopts, list, sizeof list)) {
            fprintf(stderr, "%s: %s is ambiguous: %s?\n", p->prog, arg, list);
            return usage_error(p, status);
        }
        const char *near = zb_opt_closest_long(arg, p->longopts);
        if (near)
            fprintf(stderr, "%s: unknown flag %.*s; did you mean --%s?\n", p->prog,
                    (int)strcspn(arg, "="), arg, near);
        else
            fprintf(stderr, "%s: unknown flag %.*s\n", p->prog, (int)strcspn(arg, "="), arg);
        return usage_error(p, status);
    }
    default:
        return c;
    }
}

int zb_opt_choice(const char *prog, const char *flag, const char *v, const char *const *names, int *out)
{
    int n = 0;
    for (; names[n]; n++)
        if (v && !strcmp(v, names[n])) {
            *out = n;
            return 0;
        }
    char list[512];
    size_t at = 0;
    for (int i = 0; i < n && at < sizeof list; i++) {
        int w = snprintf(list + at, sizeof list - at, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
                         names[i]);
        if (w > 0)
            at += (size_t)w;
    }
    const char *near = v ? zb_opt_closest(v, names, n) : NULL;
    fprintf(stderr, "%s: %s is %s, not '%s'%s%s%s\n", prog, flag, list, v ? v : "",
            near ? " (did you mean " : "", near ? near : "", near ? "?)" : "");
    return -1;
}

int zb_opt_require_dir(const char *prog, const char *flag, const char *path)
{
    zb_err err;
    if (zb_require_dir(path, flag, &err) == ZB_OK)
        return 0;
    fprintf(stderr, "%s: %s\n", prog, err.msg);
    return -1;
}
