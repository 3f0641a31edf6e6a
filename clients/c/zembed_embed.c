/* zembed_embed: a stand-alone C client of a running zembed pipeline (docs/PROTOCOL.md, v1), using
 * only libzmq and msgpack-c, as any C program would (no zembed library needed).
 *
 *   cc -O2 -o zembed_embed clients/c/zembed_embed.c -lzmq -lmsgpackc
 *   printf 'a cat\na dog\n' | ./zembed_embed [tcp://127.0.0.1:5555]
 *
 * Reads text lines from stdin, sends them in `embed` requests of up to 32 lines, prints one JSON line
 * per text: {"embedding":[...]} (or {"error":{"code":...,"message":...}} for a failed batch), with
 * floats printed with 9 significant digits (enough to round-trip a float32).
 *
 * Retries: a batch without a reply after RETRY_MS (the gateway restarted, the connection dropped) is
 * sent again with the same id, until $ZEMBED_TIMEOUT_MS (default TIMEOUT_MS). Ids are a random session prefix plus a counter, so
 * the gateway recognizes a retry: it attaches it to the running request or answers it again from a
 * copy. The REQ socket is relaxed (it may send again before a reply) and correlating (a reply to an
 * earlier send is dropped).
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <errno.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define BATCH 32
#define MAX_LINE (64 * 1024)
#define RETRY_MS 3000
#define TIMEOUT_MS 30000

static char session[17];    /* random hex: this run's id prefix */
static long timeout_total_ms = TIMEOUT_MS;   /* $ZEMBED_TIMEOUT_MS: how long a batch may go unanswered */

/* The value of key in a msgpack map, or NULL. */
static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl && !memcmp(k->via.str.ptr, key, kl))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Print the reply to one batch of n texts; 0 if it was a valid success reply. */
static int print_reply(const msgpack_object *r, int n)
{
    const msgpack_object *ok = get(r, "ok"), *err = get(r, "error");
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN || !ok->via.boolean) {
        const msgpack_object *code = err ? get(err, "code") : NULL, *msg = err ? get(err, "message") : NULL;
        for (int i = 0; i < n; i++) /* messages are ours (protocol text): printed as JSON strings */
            printf("{\"error\":{\"code\":\"%.*s\",\"message\":\"%.*s\"}}\n",
                   code && code->type == MSGPACK_OBJECT_STR ? (int)code->via.str.size : 7,
                   code && code->type == MSGPACK_OBJECT_STR ? code->via.str.ptr : "unknown",
                   msg && msg->type == MSGPACK_OBJECT_STR ? (int)msg->via.str.size : 0,
                   msg && msg->type == MSGPACK_OBJECT_STR ? msg->via.str.ptr : "");
        return 1;
    }
    const msgpack_object *t = get(r, "embeddings");
    const msgpack_object *dt = t ? get(t, "dtype") : NULL, *shape = t ? get(t, "shape") : NULL;
    const msgpack_object *data = t ? get(t, "data") : NULL;
    if (!dt || dt->type != MSGPACK_OBJECT_STR || dt->via.str.size != 7 || memcmp(dt->via.str.ptr, "float32", 7) ||
        !shape || shape->type != MSGPACK_OBJECT_ARRAY || shape->via.array.size != 2 ||
        !data || data->type != MSGPACK_OBJECT_BIN) {
        fprintf(stderr, "zembed_embed: reply has no float32 [n, dim] embeddings tensor\n");
        return 1;
    }
    uint64_t rows = shape->via.array.ptr[0].via.u64, dim = shape->via.array.ptr[1].via.u64;
    if (rows != (uint64_t)n || dim == 0 || dim > (1u << 20) || data->via.bin.size != rows * dim * 4) {
        fprintf(stderr, "zembed_embed: tensor shape and data size disagree\n");
        return 1;
    }
    const unsigned char *p = (const unsigned char *)data->via.bin.ptr;
    for (uint64_t i = 0; i < rows; i++) {
        fputs("{\"embedding\":[", stdout);
        for (uint64_t j = 0; j < dim; j++, p += 4) {
            uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            float f;
            memcpy(&f, &u, 4); /* little-endian on the wire, whatever this host is */
            printf(j ? ",%.9g" : "%.9g", (double)f);
        }
        fputs("]}\n", stdout);
    }
    return 0;
}

/* One request/reply round trip for n texts. */
static int embed_batch(void *sock, char **texts, int n, int id)
{
    char rid[48];
    int rid_len = snprintf(rid, sizeof rid, "%s:%d", session, id);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pack_str(&pk, "v", 1);
    msgpack_pack_int(&pk, 1);
    pack_str(&pk, "id", 2);
    pack_str(&pk, rid, (size_t)rid_len);
    pack_str(&pk, "op", 2);
    pack_str(&pk, "embed", 5);
    pack_str(&pk, "texts", 5);
    msgpack_pack_array(&pk, (size_t)n);
    for (int i = 0; i < n; i++)
        pack_str(&pk, texts[i], strlen(texts[i]));
    /* REQ socket: it adds the empty delimiter frame the gateway's ROUTER expects */
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int rc = 1;
    for (long waited = 0; rc && waited < timeout_total_ms; waited += RETRY_MS) {
        /* SNDTIMEO = RETRY_MS too: with no connection to send on (libzmq drops it for good when the
         * gateway refuses the handshake: plaintext to a CURVE gateway, an unknown key) a send
         * would wait forever; EAGAIN counts as a round without a reply */
        if (zmq_send(sock, sb.data, sb.size, 0) < 0) {
            if (zmq_errno() == EAGAIN)
                continue;
            fprintf(stderr, "zembed_embed: send: %s\n", zmq_strerror(zmq_errno()));
            break;
        }
        rc = zmq_msg_recv(&msg, sock, 0) < 0;       /* RCVTIMEO = RETRY_MS: then the same id again */
    }
    msgpack_sbuffer_destroy(&sb);
    if (rc) {
        fprintf(stderr, "zembed_embed: no reply within %ld ms: %s (is the pipeline up?)\n", timeout_total_ms,
                zmq_strerror(zmq_errno()));
        zmq_msg_close(&msg);
        return 1;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    if (msgpack_unpack_next(&up, zmq_msg_data(&msg), zmq_msg_size(&msg), &off) != MSGPACK_UNPACK_SUCCESS) {
        fprintf(stderr, "zembed_embed: reply is not msgpack\n");
        rc = 1;
    } else {
        rc = print_reply(&up.data, n);
    }
    msgpack_unpacked_destroy(&up);
    zmq_msg_close(&msg);
    return rc;
}

/* The one 40-character Z85 key of a zembed key file ('#' comment lines skipped). */
static int read_key(const char *path, char out[41])
{
    FILE *f = fopen(path, "r");
    char line[256];
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || !*p)
            continue;
        size_t n = strcspn(p, " \t\r\n");
        if (n != 40 || found++) {
            found = 2;
            break;
        }
        memcpy(out, p, 40);
        out[40] = '\0';
    }
    if (f)
        fclose(f);
    if (found != 1)
        fprintf(stderr, "zembed_embed: %s: expected one 40-character Z85 CURVE key\n", path);
    return found == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *env = getenv("ZEMBED_ENDPOINT");
    const char *ep = argc > 1 ? argv[1] : env && *env ? env : "tcp://127.0.0.1:5555";
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_REQ);
    int linger = 0, timeout_ms = RETRY_MS, on = 1;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(sock, ZMQ_REQ_RELAXED, &on, sizeof on);
    zmq_setsockopt(sock, ZMQ_REQ_CORRELATE, &on, sizeof on);
    FILE *ur = fopen("/dev/urandom", "rb");
    unsigned char rnd[8] = {0};
    if (!ur || fread(rnd, 1, sizeof rnd, ur) != sizeof rnd)
        snprintf((char *)rnd, sizeof rnd, "%07d", (int)getpid());
    if (ur)
        fclose(ur);
    for (int i = 0; i < 8; i++)
        snprintf(session + 2 * i, 3, "%02x", rnd[i]);
    const char *tmo = getenv("ZEMBED_TIMEOUT_MS");
    if (tmo && *tmo) {
        char *end;
        timeout_total_ms = strtol(tmo, &end, 10);
        if (*end || timeout_total_ms < 1 || timeout_total_ms > 86400000L) {
            fprintf(stderr, "zembed_embed: ZEMBED_TIMEOUT_MS '%s': expected milliseconds, 1 to 86400000\n", tmo);
            return 2;
        }
    }
    /* CURVE (docs/PROTOCOL.md §7): the gateway's NAME.pub and our NAME.key, from zembed keygen */
    const char *server_key = getenv("ZEMBED_SERVER_KEY"), *client_key = getenv("ZEMBED_CURVE_KEY");
    if ((server_key && *server_key) || (client_key && *client_key)) {
        char server[41], secret[41], public[41];
        if (!server_key || !*server_key || !client_key || !*client_key) {
            fprintf(stderr, "zembed_embed: CURVE needs both ZEMBED_SERVER_KEY and ZEMBED_CURVE_KEY\n");
            return 2;
        }
        if (read_key(server_key, server) || read_key(client_key, secret) || zmq_curve_public(public, secret) ||
            zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, 40) ||
            zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public, 40) ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, 40)) {
            fprintf(stderr, "zembed_embed: CURVE keys not usable (%s, %s)\n", server_key, client_key);
            return 2;
        }
    }
    if (zmq_connect(sock, ep) != 0) {
        fprintf(stderr, "zembed_embed: cannot connect to %s: %s\n", ep, zmq_strerror(zmq_errno()));
        return 2;
    }
    char *texts[BATCH], line[MAX_LINE];
    int n = 0, id = 1, failed = 0;
    while (fgets(line, sizeof line, stdin)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = '\0';
        texts[n++] = strdup(line);
        if (n == BATCH) {
            failed |= embed_batch(sock, texts, n, id++);
            while (n)
                free(texts[--n]);
        }
    }
    if (n)
        failed |= embed_batch(sock, texts, n, id++);
    while (n)
        free(texts[--n]);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return failed ? 1 : 0;
}
