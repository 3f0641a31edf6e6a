#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zb_opt.h"
#include "zb_test.h"

static const struct option longopts[] = {
    {"model", required_argument, NULL, 'm'}, {"max-length", required_argument, NULL, 'L'},
    {"normalize", no_argument, NULL, 'n'}, {"no-truncate", no_argument, NULL, 'T'},
    {"threads", required_argument, NULL, 't'}, ZB_OPT_STD};

/* Runs the parser over argv with stderr (and stdout) captured into err/out. Returns the last
 * zb_opt_next value (-1 or ZB_OPT_EXIT) and counts the options seen. */
typedef struct {
    const char *model;
    int normalize, no_trunc, n_opts, status;
    char err[1024], out[256];
} parsed;

static void slurp(FILE *f, char *buf, size_t cap)
{
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
}

static int parse(parsed *r, int argc, char **argv)
{
    memset(r, 0, sizeof *r);
    FILE *ef = tmpfile(), *of = tmpfile();
    fflush(stderr), fflush(stdout);
    int e0 = dup(2), o0 = dup(1);
    dup2(fileno(ef), 2);
    dup2(fileno(of), 1);
    zb_opt p = {.prog = "zembed t", .usage = "usage: zembed t --model DIR\n", .longopts = longopts};
    int c;
    while ((c = zb_opt_next(&p, argc, argv, &r->status)) >= 0 || c == ZB_OPT_EXIT) {
        if (c == ZB_OPT_EXIT)
            break;
        r->n_opts++;
        if (c == 'm') r->model = optarg;
        if (c == 'n') r->normalize = 1;
        if (c == 'T') r->no_trunc = 1;
    }
    fflush(stderr), fflush(stdout);
    dup2(e0, 2), dup2(o0, 1);
    close(e0), close(o0);
    slurp(ef, r->err, sizeof r->err);
    slurp(of, r->out, sizeof r->out);
    fclose(ef), fclose(of);
    return c;
}

static void test_edit_distance(void)
{
    ZT_CHECK_EQ_INT(zb_opt_edit_distance("model", "model"), 0);
    ZT_CHECK_EQ_INT(zb_opt_edit_distance("modle", "model"), 2);
    ZT_CHECK_EQ_INT(zb_opt_edit_distance("mode", "model"), 1);
    ZT_CHECK_EQ_INT(zb_opt_edit_distance("", "abc"), 3);
    ZT_CHECK_EQ_INT(zb_opt_edit_distance("kitten", "sitting"), 3);
    const char *const names[] = {"encode", "embed", "tokenize", "info", NULL};
    ZT_CHECK(!strcmp(zb_opt_closest("encdoe", names, -1), "encode"));
    ZT_CHECK(!strcmp(zb_opt_closest("embd", names, -1), "embed"));
    ZT_CHECK(zb_opt_closest("frobnicate", names, -1) == NULL);
    ZT_CHECK(!strcmp(zb_opt_closest_long("--max-lenght=5", longopts), "max-length"));
}

static void test_parses_flags_and_positionals(void)
{
    char *argv[] = {"t", "a.txt", "--model", "/m", "--normalize", "b.txt", "--threads=2", NULL};
    parsed r;
    ZT_CHECK_EQ_INT(parse(&r, 7, argv), -1);
    ZT_CHECK_EQ_INT(r.n_opts, 3);
    ZT_CHECK(r.model && !strcmp(r.model, "/m"));
    ZT_CHECK(r.normalize);
    /* getopt_long moved the positional arguments behind the flags */
    ZT_CHECK_EQ_INT(optind, 5);
    ZT_CHECK(!strcmp(argv[optind], "a.txt") && !strcmp(argv[optind + 1], "b.txt"));
    /* a second parse in the same process starts afresh */
    char *argv2[] = {"t", "--no-truncate", NULL};
    ZT_CHECK_EQ_INT(parse(&r, 2, argv2), -1);
    ZT_CHECK(r.no_trunc && !r.normalize && r.n_opts == 1);
}

static void test_unknown_flag_names_closest(void)
{
    char *argv[] = {"t", "--modle", "/m", NULL};
    parsed r;
    ZT_CHECK_EQ_INT(parse(&r, 3, argv), ZB_OPT_EXIT);
    ZT_CHECK_EQ_INT(r.status, 2);
    ZT_CHECK(strstr(r.err, "unknown flag --modle; did you mean --model?") != NULL);
    ZT_CHECK(strstr(r.err, "zembed t --help") != NULL);
    char *far[] = {"t", "--frobnicate", NULL};
    ZT_CHECK_EQ_INT(parse(&r, 2, far), ZB_OPT_EXIT);
    ZT_CHECK(strstr(r.err, "unknown flag --frobnicate\n") != NULL);
    char *amb[] = {"t", "--n", NULL};
    ZT_CHECK_EQ_INT(parse(&r, 2, amb), ZB_OPT_EXIT);
    ZT_CHECK(strstr(r.err, "ambiguous") && strstr(r.err, "--normalize") && strstr(r.err, "--no-truncate"));
    char *val[] = {"t", "--normalize=yes", NULL};
    ZT_CHECK_EQ_INT(parse(&r, 2, val), ZB_OPT_EXIT);
    ZT_CHECK(strstr(r.err, "--normalize takes no value") != NULL);
    char *shrt[] = {"t", "-q", NULL};
    ZT_CHECK_EQ_INT(parse(&r, 2, shrt), ZB_OPT_EXIT);
    ZT_CHECK(strstr(r.err, "unknown flag -q") != NULL);
}

static void test_missing_value(void)
{
    char *argv[] = {"t", "--normalize", "--model", NULL};
    parsed r;
    ZT_CHECK_EQ_INT(parse(&r, 3, argv), ZB_OPT_EXIT);
    ZT_CHECK_EQ_INT(r.status, 2);
    ZT_CHECK(strstr(r.err, "--model needs a value") != NULL);
}

static void test_help_and_version(void)
{
    char *argv[] = {"t", "--help", NULL};
    parsed r;
    ZT_CHECK_EQ_INT(parse(&r, 2, argv), ZB_OPT_EXIT);
    ZT_CHECK_EQ_INT(r.status, 0);
    ZT_CHECK(!strcmp(r.out, "usage: zembed t --model DIR\n"));
    char *h[] = {"t", "-h", NULL};
    ZT_CHECK_EQ_INT(parse(&r, 2, h), ZB_OPT_EXIT);
    ZT_CHECK(!strcmp(r.out, "usage: zembed t --model DIR\n"));
    char *v[] = {"t", "--version", NULL};
    ZT_CHECK_EQ_INT(parse(&r, 2, v), ZB_OPT_EXIT);
    ZT_CHECK_EQ_INT(r.status, 0);
    ZT_CHECK(!strcmp(r.out, "zembed t " ZB_VERSION "\n"));
}

static void test_choice(void)
{
    static const char *const modes[] = {"sentence", "tokens", "input", NULL};
    int k = -1;
    ZT_CHECK_EQ_INT(zb_opt_choice("t", "--output", "tokens", modes, &k), 0);
    ZT_CHECK_EQ_INT(k, 1);
    FILE *ef = tmpfile();
    fflush(stderr);
    int e0 = dup(2);
    dup2(fileno(ef), 2);
    ZT_CHECK_EQ_INT(zb_opt_choice("t", "--output", "token", modes, &k), -1);
    ZT_CHECK_EQ_INT(zb_opt_choice("t", "--output", NULL, modes, &k), -1);
    fflush(stderr);
    dup2(e0, 2);
    close(e0);
    char err[512];
    slurp(ef, err, sizeof err);
    fclose(ef);
    ZT_CHECK(strstr(err, "t: --output is sentence, tokens or input, not 'token' (did you mean tokens?)"));
    ZT_CHECK_EQ_INT(k, 1);
}

int main(void)
{
    ZT_RUN(test_edit_distance);
    ZT_RUN(test_parses_flags_and_positionals);
    ZT_RUN(test_unknown_flag_names_closest);
    ZT_RUN(test_missing_value);
    ZT_RUN(test_help_and_version);
    ZT_RUN(test_choice);
    return zt_done();
}
