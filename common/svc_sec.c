/* svc_sec: CURVE and ipc permissions for svc_socket (svc_sec.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "svc_sec.h"
#include "zb_curve.h"

const char *const svc_sec_domain[2] = {"workers", "clients"};

/* Set once in main before any socket exists, read-only afterwards (no lock needed). */
static struct {
    int role;                   /* 0 off, 1 server, 2 client */
    zb_curve_keypair own;
    char server_pub[ZB_CURVE_Z85_LEN + 1];
    void (*on_bind)(void *ud, void *sock, const char *endpoint, int peers);
    void *on_bind_ud;
    int ipc_mode;
} sec = {.ipc_mode = 0600};

int svc_sec_server(const char *key_file, zb_err *err)
{
    int rc = zb_curve_load_secret(key_file, &sec.own, err);
    if (!rc)
        sec.role = 1;
    return rc;
}

int svc_sec_client(const char *server_key_file, const char *key_file, zb_err *err)
{
    if (!server_key_file || !key_file)
        return zb_fail(err, ZB_EINVAL, "CURVE needs both the server's public key (--server-key, "
                       "$ZEMBED_SERVER_KEY) and our secret key (--curve-key, $ZEMBED_CURVE_KEY)");
    int rc = zb_curve_load_public(server_key_file, sec.server_pub, err);
    if (!rc)
        rc = zb_curve_load_secret(key_file, &sec.own, err);
    if (!rc)
        sec.role = 2;
    return rc;
}

int svc_sec_client_env(zb_err *err)
{
    const char *s = getenv("ZEMBED_SERVER_KEY"), *k = getenv("ZEMBED_CURVE_KEY");
    if (s && !*s)
        s = NULL;
    if (k && !*k)
        k = NULL;
    if (!s && !k)
        return ZB_OK;
    return svc_sec_client(s, k, err);
}

int svc_sec_curve(void)
{
    return sec.role != 0;
}

void svc_sec_on_bind(void (*fn)(void *ud, void *sock, const char *endpoint, int peers), void *ud)
{
    sec.on_bind = fn;
    sec.on_bind_ud = ud;
}

void svc_sec_ipc_mode(int mode)
{
    sec.ipc_mode = mode;
}

int svc_sec_apply(void *s, const char *endpoint, int bind, int peers, zb_err *err)
{
    int rc = 0;
    if (sec.role == 1 && bind) {
        int on = 1;
        const char *dom = svc_sec_domain[peers == SVC_PEERS_CLIENTS];
        rc = zmq_setsockopt(s, ZMQ_CURVE_SERVER, &on, sizeof on) ||
             zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec.own.sec, ZB_CURVE_Z85_LEN) ||
             zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, dom, strlen(dom));
    } else if (sec.role == 2 && !bind) {
        rc = zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, sec.server_pub, ZB_CURVE_Z85_LEN) ||
             zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, sec.own.pub, ZB_CURVE_Z85_LEN) ||
             zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec.own.sec, ZB_CURVE_Z85_LEN);
    } else if (sec.role) {
        /* a CURVE server connecting out, or a client binding: not a topology zembed has */
        return zb_fail(err, ZB_EUNSUPPORTED, "%s: with CURVE on, the gateway only binds and workers and "
                       "clients only connect", endpoint);
    }
    if (rc)
        return zb_fail(err, ZB_EIO, "%s: CURVE options: %s", endpoint, zmq_strerror(errno));
    if (bind && sec.on_bind)
        sec.on_bind(sec.on_bind_ud, s, endpoint, peers);
    return ZB_OK;
}

int svc_sec_after_bind(void *s, const char *endpoint, zb_err *err)
{
    (void)s;
    if (strncmp(endpoint, "ipc://", 6) || endpoint[6] == '@')   /* '@': abstract, no file */
        return ZB_OK;
    if (chmod(endpoint + 6, (mode_t)sec.ipc_mode))
        return zb_fail(err, ZB_EIO, "%s: chmod %04o: %s", endpoint, sec.ipc_mode, strerror(errno));
    return ZB_OK;
}
