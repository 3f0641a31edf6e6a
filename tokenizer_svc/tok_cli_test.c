/* Tests of `zembed tokenize` (cli/cli_tokenize.c) through the built binary ($ZEMBED_ROOT/bin):
 * the JSON it writes is parsed back with jansson, so every line must be valid JSON. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zb_test.h"

static char bin[4096], model[4096];
static const char *dir;   /* zt_tmpdir() */
static char out[1 << 16];

/* Run zembed tokenize ARGS with stdin = input[0..len); fills out (stdout), returns exit status. */
static int run(const char *args, const char *input, size_t len)
{
    char in_path[4200], out_path[4200], cmd[32768];
    snprintf(in_path, sizeof in_path, "%s/in", dir);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    FILE *f = fopen(in_path, "wb");
    if (!f)
        return -1;
    fwrite(input, 1, len, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' tokenize %s <'%s' >'%s' 2>'%s/err'", bin, args, in_path, out_path, dir);
    int st = system(cmd);
    f = fopen(out_path, "rb");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Line i (0-based) of the output, parsed. */
static json_t *line_json(int i)
{
    const char *p = out;
    while (i-- > 0 && p) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !*p)
        return NULL;
    const char *e = strchr(p, '\n');
    json_error_t je;
    json_t *j = json_loadb(p, e ? (size_t)(e - p) : strlen(p), 0, &je);
    if (!j)
        fprintf(stderr, "  invalid JSON on line: %.*s (%s)\n", (int)(e ? e - p : 80), p, je.text);
    return j;
}

static int count_lines(void)
{
    int n = 0;
    for (const char *p = out; *p; p++)
        n += *p == '\n';
    return n;
}

static const char *sv(json_t *j)
{
    const char *s = json_string_value(j);
    return s ? s : "";
}

#define RUN(args, lit) run(args, lit, sizeof(lit) - 1)

static void test_help_and_setup_errors(void)
{
    ZT_CHECK_EQ_INT(RUN("--help", ""), 0);
    static const char *const flags[] = {"--model", "--max-length", "--no-truncate", "--pairs", "--truncation",
                                        "--truncation-side", "--no-special-tokens", "--lossy", "--pad-to"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        ZT_CHECK(strstr(out, flags[i]) != NULL);
    ZT_CHECK_EQ_INT(RUN("", "x\n"), 2);                               /* no --model */
    ZT_CHECK_EQ_INT(RUN("--model /nonexistent/m", "x\n"), 2);
    char args[4200];
    snprintf(args, sizeof args, "--model '%s' --max-length 0", model);
    ZT_CHECK_EQ_INT(RUN(args, "x\n"), 2);
    snprintf(args, sizeof args, "--model '%s' --truncation sideways", model);
    ZT_CHECK_EQ_INT(RUN(args, "x\n"), 2);
}

static void test_lines_json_and_errors(void)
{
    char args[4200];
    snprintf(args, sizeof args, "--model '%s'", model);
    /* quotes and backslashes become tokens that need escaping; CRLF; a bad line; a last line
     * without a newline */
    int rc = RUN(args, "say \"hi\" \\ ok\r\nab\xff" "cd\n\nlast");
    ZT_CHECK_EQ_INT(rc, 1);
    ZT_CHECK_EQ_INT(count_lines(), 4);
    json_t *j = line_json(0);
    ZT_CHECK(j != NULL);
    json_t *toks = json_object_get(j, "tokens");
    ZT_CHECK_EQ_INT(json_array_size(toks), 8);                        /* [CLS] say " hi " \ ok [SEP] */
    ZT_CHECK(!strcmp(sv(json_array_get(toks, 2)), "\""));
    ZT_CHECK(!strcmp(sv(json_array_get(toks, 5)), "\\"));
    ZT_CHECK(!strcmp(sv(json_array_get(toks, 6)), "ok"));   /* \r dropped */
    json_t *off = json_array_get(json_object_get(j, "offsets"), 6);
    ZT_CHECK_EQ_INT(json_integer_value(json_array_get(off, 0)), 11);
    ZT_CHECK_EQ_INT(json_integer_value(json_array_get(off, 1)), 13);
    ZT_CHECK_EQ_INT(json_array_size(json_object_get(j, "attention_mask")), 8);
    json_decref(j);
    j = line_json(1);
    json_t *e = json_object_get(j, "error");
    ZT_CHECK(!strcmp(sv(json_object_get(e, "code")), "invalid_utf8"));
    ZT_CHECK(!strcmp(sv(json_object_get(e, "message")), "line 2: invalid UTF-8 at byte 2"));
    json_decref(j);
    j = line_json(2);                                                  /* empty line: [CLS] [SEP] */
    ZT_CHECK_EQ_INT(json_array_size(json_object_get(j, "input_ids")), 2);
    json_decref(j);
    j = line_json(3);
    ZT_CHECK_EQ_INT(json_array_size(json_object_get(j, "input_ids")), 3);
    json_decref(j);
}

static void test_flags(void)
{
    char args[4200];
    snprintf(args, sizeof args, "--model '%s' --pairs --max-length 6 --pad-to 8", model);
    ZT_CHECK_EQ_INT(RUN(args, "a b c d\te f\nno tab here\n"), 1);
    json_t *j = line_json(0);
    json_t *ids = json_object_get(j, "input_ids"), *mask = json_object_get(j, "attention_mask");
    json_t *types = json_object_get(j, "token_type_ids");
    ZT_CHECK_EQ_INT(json_array_size(ids), 8);
    ZT_CHECK_EQ_INT(json_integer_value(json_array_get(mask, 5)), 1);
    ZT_CHECK_EQ_INT(json_integer_value(json_array_get(mask, 6)), 0);
    ZT_CHECK_EQ_INT(json_integer_value(json_array_get(ids, 7)), 0);    /* [PAD] */
    ZT_CHECK_EQ_INT(json_integer_value(json_array_get(types, 4)), 1);
    json_decref(j);
    j = line_json(1);
    ZT_CHECK(!strcmp(sv(json_object_get(json_object_get(j, "error"), "code")),
                     "invalid_argument"));
    json_decref(j);

    snprintf(args, sizeof args, "--model '%s' --no-truncate --max-length 4", model);
    ZT_CHECK_EQ_INT(RUN(args, "one two three\nok\n"), 1);
    j = line_json(0);
    ZT_CHECK(!strcmp(sv(json_object_get(json_object_get(j, "error"), "code")), "too_long"));
    json_decref(j);
    j = line_json(1);
    ZT_CHECK_EQ_INT(json_array_size(json_object_get(j, "input_ids")), 3);
    json_decref(j);

    snprintf(args, sizeof args, "--model '%s' --no-special-tokens --lossy --truncation-side left --max-length 2", model);
    ZT_CHECK_EQ_INT(RUN(args, "x\xff y z\n"), 0);
    j = line_json(0);
    json_t *toks = json_object_get(j, "tokens");
    ZT_CHECK_EQ_INT(json_array_size(toks), 2);
    ZT_CHECK(!strcmp(sv(json_array_get(toks, 0)), "y"));
    json_decref(j);
}

int main(void)
{
    const char *root = getenv("ZEMBED_ROOT");
    snprintf(bin, sizeof bin, "%s/bin/zembed", root && *root ? root : ".");
    zt_repo_path(model, sizeof model, ZT_DEMO_VOCAB_DIR);   /* a vocab.txt folder: BERT uncased */
    if (access(bin, X_OK)) {
        fprintf(stderr, "setup: %s is not built\n", bin);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    dir = zt_tmpdir("tok_cli_test");
    ZT_RUN(test_help_and_setup_errors);
    ZT_RUN(test_lines_json_and_errors);
    ZT_RUN(test_flags);
    return zt_done();
}
