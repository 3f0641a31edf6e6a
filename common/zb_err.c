#include "zb_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int zb_fail(zb_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int zb_wrap(zb_err *err, const char *fmt, ...)
{
    if (!err)
        return ZB_EINTERNAL;
    char prefix[ZB_ERR_MSG_MAX], old[ZB_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* prefix + old, cut to fit (snprintf here trips -Wformat-truncation, an error under CI) */
    size_t pl = strnlen(prefix, sizeof prefix), ol = strnlen(old, sizeof old);
    if (pl > sizeof err->msg - 1)
        pl = sizeof err->msg - 1;
    if (ol > sizeof err->msg - 1 - pl)
        ol = sizeof err->msg - 1 - pl;
    memcpy(err->msg, prefix, pl);
    memcpy(err->msg + pl, old, ol);
    err->msg[pl + ol] = 0;
    return err->code;
}

const char *zb_code_name(int code)
{
    switch (code) {
    case ZB_OK:           return "ok";
    case ZB_EINVAL:       return "invalid_argument";
    case ZB_EUTF8:        return "invalid_utf8";
    case ZB_ETOOLONG:     return "too_long";
    case ZB_ENOMEM:       return "out_of_memory";
    case ZB_EIO:          return "io_error";
    case ZB_EFORMAT:      return "bad_format";
    case ZB_ENOTFOUND:    return "not_found";
    case ZB_EUNSUPPORTED: return "unsupported";
    case ZB_ERANGE:       return "out_of_range";
    case ZB_EOVERLOAD:    return "overloaded";
    case ZB_ETIMEOUT:     return "timeout";
    case ZB_EUNAVAILABLE: return "unavailable";
    case ZB_EINTERNAL:    return "internal";
    case ZB_EPOISON:      return "poisoned";
    default:              return "unknown";
    }
}

void zb_clear(zb_err *err)
{
    if (err) {
        err->code = ZB_OK;
        err->msg[0] = '\0';
    }
}
