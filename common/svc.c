/* svc: shared process plumbing (see svc.h). */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "svc.h"
#include "svc_sec.h"
#include "zb_args.h"
#include "zb_opt.h"

static char log_stage[32] = "zembed";
static svc_counters counters;           /* updated with __atomic builtins: workers have threads */

/* A log line at most once a second about events that may come in floods (forged frames, expired
 * jobs): the thread that finds a second passed since the last line writes one. */
typedef struct {
    int64_t logged_ms;      /* CLOCK_MONOTONIC ms of the last line; 0: none yet */
    long unlogged;          /* events since */
} rate_log;
static rate_log refused_log, expired_log;
static volatile sig_atomic_t stop_flag;

void svc_log_init(const char *stage)
{
    snprintf(log_stage, sizeof log_stage, "%s", stage);
}

/* "ts=... stage=... pid=..." : the head of every log line (logfmt, one line per record). */
static int log_head(char *line, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    return snprintf(line, cap, "ts=%s.%03ldZ stage=%s pid=%d ", when, ts.tv_nsec / 1000000, log_stage,
                    (int)getpid());
}

static void log_line(char *line, size_t n, size_t cap)
{
    if (n > cap - 2)
        n = cap - 2;
    line[n++] = '\n';
    line[n] = 0;
    fputs(line, stderr);            /* one write per line: lines of several threads do not mix */
}

void svc_log(const char *fmt, ...)
{
    char text[900], line[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    size_t n = (size_t)log_head(line, sizeof line);
    n += (size_t)snprintf(line + n, sizeof line - n, "msg=");
    n += svc_log_quote(line + n, sizeof line - n, text, strlen(text));
    log_line(line, n, sizeof line);
}

void svc_event(const char *event, const char *fmt, ...)
{
    char line[1100];
    size_t n = (size_t)log_head(line, sizeof line);
    n += (size_t)snprintf(line + n, sizeof line - n, "event=%s ", event);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    n += k > 0 ? (size_t)k : 0;
    log_line(line, n < sizeof line ? n : sizeof line - 1, sizeof line);
}

size_t svc_log_quote(char *out, size_t cap, const char *s, size_t len)
{
    size_t n = 0;
    if (cap < 3)
        return 0;
    out[n++] = '"';
    for (size_t i = 0; i < len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            out[n++] = ' ';           /* no control bytes (newlines) in a one-line record */
        } else {
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    out[n] = 0;
    return n;
}

svc_counters svc_counters_get(void)
{
    svc_counters c;
    c.refused_answered = __atomic_load_n(&counters.refused_answered, __ATOMIC_RELAXED);
    c.refused_dropped = __atomic_load_n(&counters.refused_dropped, __ATOMIC_RELAXED);
    c.expired_dropped = __atomic_load_n(&counters.expired_dropped, __ATOMIC_RELAXED);
    c.expired_abandoned = __atomic_load_n(&counters.expired_abandoned, __ATOMIC_RELAXED);
    return c;
}

/* Count one event in *counter and r: the number of events to report now (this one included), with
 * *c a snapshot of the counters, or 0 when a line was written less than a second ago (or another
 * thread writes it). */
static long count_event(long *counter, rate_log *r, svc_counters *c)
{
    __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
    int64_t now = wire_now_ms();
    long n = __atomic_add_fetch(&r->unlogged, 1, __ATOMIC_RELAXED);
    int64_t last = __atomic_load_n(&r->logged_ms, __ATOMIC_RELAXED);
    if ((last && now - last < 1000) ||
        !__atomic_compare_exchange_n(&r->logged_ms, &last, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return 0;
    __atomic_sub_fetch(&r->unlogged, n, __ATOMIC_RELAXED);
    *c = svc_counters_get();
    return n;
}

void svc_refused(uint64_t j, const char *err_msg)
{
    svc_counters c;
    long n = count_event(j ? &counters.refused_answered : &counters.refused_dropped, &refused_log, &c);
    if (n)
        svc_log("refused %ld stage frame(s) since the last report (%ld answered with an error, %ld "
                "dropped in all); latest: %s%s", n, c.refused_answered, c.refused_dropped,
                j ? "" : "(no job number, dropped) ", err_msg);
}

void svc_expired(uint64_t j, int started)
{
    svc_counters c;
    long n = count_event(started ? &counters.expired_abandoned : &counters.expired_dropped, &expired_log, &c);
    if (n)
        svc_log("gave up %ld job(s) past their deadline since the last report (%ld dropped before "
                "starting, %ld abandoned part-way in all); latest: job %llu, %s", n, c.expired_dropped,
                c.expired_abandoned, (unsigned long long)j, started ? "abandoned part-way" : "dropped");
}

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

void svc_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;          /* no SA_RESTART: blocking calls return EINTR */
    sigemptyset(&sa.sa_mask);
    /* SIGINT ignored on entry (nohup, `cmd &` from a script) stays ignored, as shells do: a launcher
     * in that state cannot trap it either, and workers that stopped on it would be restarted by a
     * zembed-up that never heard the Ctrl-C meant for something else. SIGTERM always stops. */
    struct sigaction old;
    if (sigaction(SIGINT, NULL, &old) != 0 || old.sa_handler != SIG_IGN)
        sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int svc_stopping(void)
{
    return stop_flag != 0;
}

void *svc_socket(void *ctx, int type, const char *endpoint, int bind, const svc_sockopt *o,
                 zb_err *err)
{
    void *s = zmq_socket(ctx, type);
    if (!s) {
        zb_fail(err, ZB_EIO, "zmq_socket: %s", zmq_strerror(errno));
        return NULL;
    }
    int linger = SVC_LINGER_MS;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (strchr(endpoint, '[')) {            /* tcp://[::1]:5555: IPv6 is off unless asked for */
        int on = 1;
        zmq_setsockopt(s, ZMQ_IPV6, &on, sizeof on);
    }
    int64_t max_msg = o && o->max_msg ? o->max_msg
                    : type == ZMQ_PUSH ? SVC_MAX_CONTROL_MSG : SVC_MAX_STAGE_MSG;
    if (max_msg > 0)
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
    if (o) {
        if (o->sndhwm)
            zmq_setsockopt(s, ZMQ_SNDHWM, &o->sndhwm, sizeof o->sndhwm);
        if (o->rcvhwm)
            zmq_setsockopt(s, ZMQ_RCVHWM, &o->rcvhwm, sizeof o->rcvhwm);
        if (o->immediate)
            zmq_setsockopt(s, ZMQ_IMMEDIATE, &o->immediate, sizeof o->immediate);
        if (o->monitor && zmq_socket_monitor(s, o->monitor, ZMQ_EVENT_ALL) != 0) {
            zb_fail(err, ZB_EIO, "monitoring %s: %s", endpoint, zmq_strerror(errno));
            zmq_close(s);
            return NULL;
        }
    }
    if (svc_sec_apply(s, endpoint, bind, o ? o->peers : SVC_PEERS_WORKERS, err)) {
        zmq_close(s);
        return NULL;
    }
    if ((bind ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint)) != 0) {
        zb_fail(err, ZB_EIO, "%s %s: %s", bind ? "bind" : "connect", endpoint, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (bind && svc_sec_after_bind(s, endpoint, err)) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

int svc_endpoint(char *out, size_t cap, const char *base, int offset, const char *host, zb_err *err)
{
    if (!strncmp(base, "ipc://", 6)) {     /* ipc://PATH -> ipc://PATH.OFFSET, beside it */
        if (host)
            return zb_fail(err, ZB_EINVAL, "%s: a stage host applies to tcp endpoints only", base);
        int n = offset ? snprintf(out, cap, "%s.%d", base, offset) : snprintf(out, cap, "%s", base);
        if (n < 0 || (size_t)n >= cap)
            return zb_fail(err, ZB_ETOOLONG, "%s: endpoint too long", base);
        return ZB_OK;
    }
    const char *colon = strrchr(base, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (strncmp(base, "tcp://", 6) || !colon || colon < base + 6 || *end || port <= 0 ||
        port + offset > 65535)
        return zb_fail(err, ZB_EINVAL, "%s: cannot derive stage endpoints (need tcp://HOST:PORT with "
                       "PORT <= %d, or ipc://PATH); give each endpoint explicitly", base, 65535 - offset);
    int n = host ? snprintf(out, cap, "tcp://%s:%ld", host, port + offset)
                 : snprintf(out, cap, "%.*s:%ld", (int)(colon - base), base, port + offset);
    if (n < 0 || (size_t)n >= cap)
        return zb_fail(err, ZB_ETOOLONG, "%s: endpoint too long", base);
    return ZB_OK;
}

int svc_wait_in(void *sock, int timeout_ms)
{
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&it, 1, timeout_ms);
    if (rc < 0)
        return errno == ETERM ? -1 : 0;
    return rc > 0 && !stop_flag;
}

static void free_sbuf(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Send without blocking forever: a peer that went away must not keep SIGTERM from stopping us. */
static int send_msg(void *sock, zmq_msg_t *m, int flags)
{
    for (;;) {
        if (zmq_msg_send(m, sock, flags | ZMQ_DONTWAIT) >= 0)
            return 0;
        if ((errno != EAGAIN && errno != EINTR) || (flags & ZMQ_DONTWAIT) || stop_flag)
            return -1;
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLOUT, 0};
        if (zmq_poll(&it, 1, 200) < 0 && errno == ETERM)
            return -1;
    }
}

long svc_serve(void *in, void (*handle)(void *ud, zmq_msg_t *msg), void *ud)
{
    long served = 0;
    while (!svc_stopping()) {
        int r = svc_wait_in(in, 250);
        if (r < 0)
            break;
        if (r == 0)
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, in, ZMQ_DONTWAIT) >= 0) {
            handle(ud, &m);
            served++;
        }
        zmq_msg_close(&m);
    }
    return served;
}

void svc_whoami(char *buf, size_t cap)
{
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(buf, cap, "%d@%s", (int)getpid(), host);
}

int svc_send_sbuf(void *sock, msgpack_sbuffer *sb, int flags)
{
    zmq_msg_t m;
    size_t size = sb->size;
    char *data = msgpack_sbuffer_release(sb);
    if (!data) {
        zmq_msg_init(&m);   /* an empty frame */
    } else if (zmq_msg_init_data(&m, data, size, free_sbuf, NULL)) {
        free(data);
        return -1;
    }
    if (send_msg(sock, &m, flags) < 0) {
        int e = errno;
        zmq_msg_close(&m);
        errno = e;
        return -1;
    }
    return 0;
}

int svc_send_result(void *sink, uint64_t j, msgpack_sbuffer *reply)
{
    unsigned char jb[8];
    for (int i = 0; i < 8; i++)
        jb[i] = (unsigned char)(j >> (8 * i));
    zmq_msg_t m;
    zmq_msg_init_size(&m, 8);
    memcpy(zmq_msg_data(&m), jb, 8);
    if (send_msg(sink, &m, ZMQ_SNDMORE) < 0) {
        zmq_msg_close(&m);
        return -1;
    }
    return svc_send_sbuf(sink, reply, 0);
}

int svc_send_error(void *sink, uint64_t j, const wire_id *id, int op, int code, const char *msg)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    wire_reply_error(&sb, id, op, code, msg);
    int rc = svc_send_result(sink, j, &sb);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* One extra flag's value into its destination: an int in [lo, hi], a string, or a choice. */
static int extra_flag(const char *prog, const svc_int_flag *f, const char *v)
{
    if (f->choices)
        return zb_opt_choice(prog, f->name, v, f->choices, f->val) ? 2 : 0;
    if (f->str) {
        *f->str = v;
        return 0;
    }
    return zb_parse_int(prog, f->name, v, f->lo, f->hi, f->val) ? 2 : 0;
}

enum { W_MODEL = 0x100, W_GATEWAY, W_IN, W_OUT, W_SINK, W_CONTROL, W_THREADS, W_SERVER_KEY, W_CURVE_KEY,
       W_EXTRA = 0x200 };
#define MAX_EXTRA 16

int svc_worker_args_parse(int argc, char **argv, const char *usage, int in_off, int out_off,
                          svc_worker_args *a, const svc_int_flag *extra)
{
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    memset(a, 0, sizeof *a);
    a->gateway = getenv("ZEMBED_GATEWAY");
    if (!a->gateway || !*a->gateway)
        a->gateway = SVC_DEFAULT_ENDPOINT;
    a->threads = -1;        /* the stage's default */
    const char *server_key = getenv("ZEMBED_SERVER_KEY"), *curve_key = getenv("ZEMBED_CURVE_KEY");
    struct option longopts[7 + 2 + MAX_EXTRA + 3] = {
        {"server-key", required_argument, NULL, W_SERVER_KEY}, {"curve-key", required_argument, NULL, W_CURVE_KEY},
        {"model", required_argument, NULL, W_MODEL}, {"gateway", required_argument, NULL, W_GATEWAY},
        {"in", required_argument, NULL, W_IN}, {"sink", required_argument, NULL, W_SINK},
        {"threads", required_argument, NULL, W_THREADS}, {"control", required_argument, NULL, W_CONTROL}};
    int n = 8;
    if (out_off >= 0)
        longopts[n++] = (struct option){"out", required_argument, NULL, W_OUT};
    for (int k = 0; extra && extra[k].name; k++) {
        assert(k < MAX_EXTRA && !strncmp(extra[k].name, "--", 2));
        longopts[n++] = (struct option){extra[k].name + 2, required_argument, NULL, W_EXTRA + k};
    }
    const struct option std[] = {ZB_OPT_STD};
    memcpy(longopts + n, std, sizeof std);
    zb_opt p = {.prog = prog, .usage = usage, .longopts = longopts};
    int c, status, bad = 0;
    while (!bad && (c = zb_opt_next(&p, argc, argv, &status)) != -1) {
        switch (c) {
        case W_MODEL: a->model = optarg; break;
        case W_GATEWAY: a->gateway = optarg; break;
        case W_IN: a->in = optarg; break;
        case W_OUT: a->out = optarg; break;
        case W_SINK: a->sink = optarg; break;
        case W_SERVER_KEY: server_key = optarg; break;
        case W_CURVE_KEY: curve_key = optarg; break;
        case W_CONTROL: a->control = optarg; break;
        case W_THREADS: bad = zb_parse_int(prog, "--threads", optarg, 0, 256, &a->threads) ? 2 : 0; break;
        case ZB_OPT_EXIT: return status == 0 ? 1 : 2;
        default: bad = extra_flag(prog, &extra[c - W_EXTRA], optarg); break;
        }
    }
    if (bad)
        return 2;
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (%s --help lists the flags)\n", prog, argv[optind], prog);
        return 2;
    }
    if (!a->model) {
        fprintf(stderr, "%s: --model DIR is required (%s --help lists the flags)\n", prog, prog);
        return 2;
    }
    if (zb_opt_require_dir(prog, "--model", a->model))
        return 2;
    zb_err err;
    if (((server_key && *server_key) || (curve_key && *curve_key)) &&
        svc_sec_client(server_key && *server_key ? server_key : NULL, curve_key && *curve_key ? curve_key : NULL, &err)) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return 2;
    }
    struct { const char **ep; char *buf; int off; } d[] = {
        {&a->in, a->in_buf, in_off}, {&a->out, a->out_buf, out_off}, {&a->sink, a->sink_buf, SVC_OFF_SINK},
        {&a->control, a->control_buf, SVC_OFF_CONTROL}};
    for (int k = 0; k < 4; k++) {
        if (*d[k].ep || d[k].off < 0)
            continue;
        if (svc_endpoint(d[k].buf, 256, a->gateway, d[k].off, NULL, &err)) {
            fprintf(stderr, "%s: --gateway %s\n", prog, err.msg);
            return 2;
        }
        *d[k].ep = d[k].buf;
    }
    return 0;
}

int svc_run_threads(int n, void *(*fn)(void *), void *arg)
{
    if (n <= 1) {
        fn(arg);
        return 0;
    }
    pthread_t *t = calloc(n, sizeof *t);
    if (!t)
        return ZB_ENOMEM;
    int started = 0;
    for (; started < n; started++)
        if (pthread_create(&t[started], NULL, fn, arg))
            break;
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    return started == n ? 0 : ZB_ENOMEM;
}
