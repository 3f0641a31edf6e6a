/* wire_check: a bounded walk over one msgpack object before msgpack-c unpacks it.
 *
 * msgpack-c allocates a container's items as soon as it reads the count in its header, so a frame of
 * six bytes can ask for 2^32 items. Every item takes at least one byte, so a count larger than the
 * bytes left is a lie: refusing it bounds what unpacking allocates to a small multiple of the frame
 * size. Depth is bounded too (msgpack-c's own limit is 32; the protocol needs 5).
 *
 * That alone still lets a frame of one-byte items unpack into 24 bytes (a msgpack_object) per byte:
 * requests and jobs, whose items carry text, ids or token strings of several bytes each, are
 * further held to WIRE_UNPACK_MAX_OBJECTS, which bounds what unpacking one costs to ~6x its size. */
#include <stdint.h>
#include <string.h>

#include "wire.h"

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Size of the header at p (type byte + length fields), the payload bytes that follow it and the
 * number of child objects. Returns 0 for the reserved byte 0xc1. */
static int header(const unsigned char *p, size_t avail, size_t *hdr, uint64_t *payload,
                  uint64_t *children)
{
    unsigned c = p[0];
    *payload = 0;
    *children = 0;
    *hdr = 1;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        return 1;
    if (c >= 0x80 && c <= 0x8f) { *children = 2ull * (c & 0x0f); return 1; }
    if (c >= 0x90 && c <= 0x9f) { *children = c & 0x0f; return 1; }
    if (c >= 0xa0 && c <= 0xbf) { *payload = c & 0x1f; return 1; }
    /* lengths follow the type byte: how many bytes they take */
    int lenb = 0, fixed = -1;
    switch (c) {
    case 0xc4: case 0xd9: lenb = 1; break;          /* bin8, str8 */
    case 0xc5: case 0xda: lenb = 2; break;          /* bin16, str16 */
    case 0xc6: case 0xdb: lenb = 4; break;          /* bin32, str32 */
    case 0xc7: lenb = 1; fixed = 1; break;          /* ext8: len, type */
    case 0xc8: lenb = 2; fixed = 1; break;
    case 0xc9: lenb = 4; fixed = 1; break;
    case 0xca: *payload = 4; return 1;
    case 0xcb: *payload = 8; return 1;
    case 0xcc: case 0xd0: *payload = 1; return 1;
    case 0xcd: case 0xd1: *payload = 2; return 1;
    case 0xce: case 0xd2: *payload = 4; return 1;
    case 0xcf: case 0xd3: *payload = 8; return 1;
    case 0xd4: *payload = 2; return 1;              /* fixext1: type + 1 */
    case 0xd5: *payload = 3; return 1;
    case 0xd6: *payload = 5; return 1;
    case 0xd7: *payload = 9; return 1;
    case 0xd8: *payload = 17; return 1;
    case 0xdc: case 0xde: lenb = 2; break;          /* array16, map16 */
    case 0xdd: case 0xdf: lenb = 4; break;          /* array32, map32 */
    default: return 0;                              /* 0xc1: never used */
    }
    if (avail < 1 + (size_t)lenb) {
        *hdr = 1 + lenb;                            /* caller reports truncation */
        return 1;
    }
    uint64_t n = be(p + 1, lenb);
    *hdr = 1 + lenb;
    if (c == 0xdc || c == 0xdd)
        *children = n;
    else if (c == 0xde || c == 0xdf)
        *children = 2 * n;
    else
        *payload = n + (fixed > 0 ? 1 : 0);
    return 1;
}

/* max_objects: how many objects (containers and scalars) the frame may hold in all. */
static int check(const void *buf, size_t len, int max_depth, uint64_t max_objects, zb_err *err)
{
    const unsigned char *p = buf;
    uint64_t left[WIRE_MAX_DEPTH + 2];
    if (max_depth > WIRE_MAX_DEPTH)
        max_depth = WIRE_MAX_DEPTH;
    size_t pos = 0;
    int depth = 0;
    uint64_t objects = 0;
    left[0] = 1;
    while (depth >= 0) {
        if (left[depth] == 0) {
            depth--;
            continue;
        }
        left[depth]--;
        if (++objects > max_objects)
            return zb_fail(err, ZB_EFORMAT, "msgpack: more than %llu objects in a %zu-byte message",
                           (unsigned long long)max_objects, len);
        if (pos >= len)
            return zb_fail(err, ZB_EFORMAT, "msgpack: message ends at byte %zu inside an object", pos);
        size_t hdr;
        uint64_t payload, children;
        if (!header(p + pos, len - pos, &hdr, &payload, &children))
            return zb_fail(err, ZB_EFORMAT, "msgpack: invalid type byte 0xc1 at byte %zu", pos);
        if (hdr > len - pos || payload > len - pos - hdr)
            return zb_fail(err, ZB_EFORMAT, "msgpack: object at byte %zu runs past the end (%zu bytes)",
                           pos, len);
        pos += hdr + payload;
        if (children) {
            if (children > len - pos)
                return zb_fail(err, ZB_EFORMAT,
                               "msgpack: container at byte %zu declares %llu items but only %zu bytes "
                               "follow", pos - hdr, (unsigned long long)children, len - pos);
            if (depth + 1 > max_depth)
                return zb_fail(err, ZB_EFORMAT, "msgpack: nesting deeper than %d at byte %zu",
                               max_depth, pos - hdr);
            left[++depth] = children;
        }
    }
    if (pos != len)
        return zb_fail(err, ZB_EFORMAT, "msgpack: %zu trailing bytes after the message", len - pos);
    return ZB_OK;
}

int wire_check(const void *buf, size_t len, int max_depth, zb_err *err)
{
    return check(buf, len, max_depth, UINT64_MAX, err);
}

int wire_unpack_checked(const void *buf, size_t len, msgpack_unpacked *up, const char *what,
                        zb_err *err)
{
    msgpack_unpacked_init(up);
    int rc = check(buf, len, WIRE_MAX_DEPTH, WIRE_UNPACK_MAX_OBJECTS(len), err);
    if (rc)
        return zb_wrap(err, "%s: ", what);
    size_t off = 0;
    if (msgpack_unpack_next(up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS)
        return zb_fail(err, ZB_EFORMAT, "%s: not a msgpack object", what);
    return ZB_OK;
}
