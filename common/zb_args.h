/* zb_args: command-line values we do not trust. */
#ifndef ZB_ARGS_H
#define ZB_ARGS_H

/* A whole decimal number in [lo, hi] from flag's value v (NULL: missing). On anything else it
 * prints "<who>: <flag> '<v>': needs an integer in [lo, hi]" to stderr and returns -1. */
int zb_parse_ll(const char *who, const char *flag, const char *v, long long lo, long long hi,
                long long *out);
int zb_parse_int(const char *who, const char *flag, const char *v, int lo, int hi, int *out);

#endif
