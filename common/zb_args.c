#include "zb_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int zb_parse_ll(const char *who, const char *flag, const char *v, long long lo, long long hi,
                long long *out)
{
    char *end = NULL;
    errno = 0;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "%s: %s '%s': needs an integer in [%lld, %lld]\n", who, flag, v ? v : "",
                lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

int zb_parse_int(const char *who, const char *flag, const char *v, int lo, int hi, int *out)
{
    long long x;
    if (zb_parse_ll(who, flag, v, lo, hi, &x))
        return -1;
    *out = (int)x;
    return 0;
}
