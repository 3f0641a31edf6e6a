/* pool_config_load on model folders written into a temp dir: every mode flag, ST's defaults, the
 * modules we refuse, and that each error names the file and the field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool.h"
#include "zb_test.h"

static const char *g_dir;   /* zt_tmpdir() */

static const char *ST_MODULES =
    "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
    " {\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"}";
static const char *NORMALIZE_MODULE =
    ", {\"idx\":2,\"name\":\"2\",\"path\":\"2_Normalize\",\"type\":\"sentence_transformers.models.Normalize\"}";

static void write_file(const char *rel, const char *text) { zt_write(rel, text, 0644); }

/* A fresh folder: modules (NULL: no modules.json) and the 1_Pooling config (NULL: none). */
static void make_model(const char *modules, const char *pooling)
{
    char path[256];
    static const char *const FILES[] = { "modules.json", "1_Pooling/config.json",
                                         "pool/config.json" };
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", g_dir, FILES[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/1_Pooling", g_dir);
    mkdir(path, 0700);
    if (modules)
        write_file("modules.json", modules);
    if (pooling)
        write_file("1_Pooling/config.json", pooling);
}

static char *modules_with(const char *extra)
{
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s%s]", ST_MODULES, extra);
    return buf;
}

/* Loads and expects an error whose code is `code` and whose message contains both needles. */
static void expect_error(int code, const char *needle1, const char *needle2)
{
    pool_config c;
    zb_err err;
    zb_clear(&err);
    int rc = pool_config_load(g_dir, 384, &c, &err);
    ZT_CHECK_EQ_INT(rc, code);
    ZT_CHECK(strstr(err.msg, needle1) != NULL);
    ZT_CHECK(strstr(err.msg, needle2) != NULL);
    if (rc != code || !strstr(err.msg, needle1) || !strstr(err.msg, needle2))
        fprintf(stderr, "    message: %s\n", err.msg);
}

static pool_config load_ok(void)
{
    pool_config c;
    memset(&c, 0, sizeof c);
    zb_err err;
    zb_clear(&err);
    int rc = pool_config_load(g_dir, 384, &c, &err);
    ZT_CHECK_EQ_INT(rc, ZB_OK);
    if (rc)
        fprintf(stderr, "    message: %s\n", err.msg);
    return c;
}

#define POOLING(flags) "{\"word_embedding_dimension\": 384" flags "}"
#define MEAN_ONLY POOLING(", \"pooling_mode_cls_token\": false, \"pooling_mode_mean_tokens\": true," \
                          " \"pooling_mode_max_tokens\": false, \"pooling_mode_mean_sqrt_len_tokens\": false")

static void test_no_files_is_mean_without_normalize(void)
{
    make_model(NULL, NULL);
    pool_config c = load_ok();
    ZT_CHECK_EQ_INT(c.mode, POOL_MEAN);
    ZT_CHECK_EQ_INT(c.n_modes, 1);
    ZT_CHECK_EQ_INT(c.normalize, 0);
    ZT_CHECK_EQ_INT(c.dim, 384);
    ZT_CHECK_EQ_INT(c.out_dim, 384);
}

static void test_st_folder_mean_and_normalize(void)
{
    make_model(modules_with(""), MEAN_ONLY);
    pool_config c = load_ok();
    ZT_CHECK_EQ_INT(c.mode, POOL_MEAN);
    ZT_CHECK_EQ_INT(c.normalize, 0);
    make_model(modules_with(NORMALIZE_MODULE), MEAN_ONLY);
    c = load_ok();
    ZT_CHECK_EQ_INT(c.normalize, 1);
    ZT_CHECK_EQ_INT(c.include_prompt, 1);
}

static void test_real_all_minilm_pooling_config(void)
{
    ZT_NEED_SHARED("models/all-MiniLM-L6-v2/1_Pooling/config.json");
    char src[4200];
    snprintf(src, sizeof src, "%s/models/all-MiniLM-L6-v2/1_Pooling/config.json", ZT_SHARED());
    FILE *f = fopen(src, "r");
    ZT_CHECK(f != NULL);
    if (!f)
        return;
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    make_model(modules_with(NORMALIZE_MODULE), text);
    pool_config c = load_ok();
    ZT_CHECK_EQ_INT(c.mode, POOL_MEAN);
    ZT_CHECK_EQ_INT(c.n_modes, 1);
    ZT_CHECK_EQ_INT(c.normalize, 1);
}

static void test_each_single_mode(void)
{
    static const struct { const char *flag; pool_mode m; } CASES[] = {
        { "pooling_mode_cls_token", POOL_CLS },
        { "pooling_mode_max_tokens", POOL_MAX },
        { "pooling_mode_mean_sqrt_len_tokens", POOL_MEAN_SQRT_LEN },
        { "pooling_mode_lasttoken", POOL_LASTTOKEN },
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char json[512];
        snprintf(json, sizeof json, "{\"word_embedding_dimension\": 384, \"pooling_mode_mean_tokens\":"
                 " false, \"%s\": true}", CASES[i].flag);
        make_model(modules_with(""), json);
        pool_config c = load_ok();
        ZT_CHECK_EQ_INT(c.n_modes, 1);
        ZT_CHECK_EQ_INT(c.mode, CASES[i].m);
        ZT_CHECK_EQ_INT(c.out_dim, 384);
    }
}

/* Several flags: concatenated in ST's order; a missing mean flag defaults to true as in ST. */
static void test_modes_concatenate_in_st_order(void)
{
    make_model(modules_with(""), POOLING(", \"pooling_mode_lasttoken\": true, \"pooling_mode_cls_token\": "
                                         "true, \"pooling_mode_max_tokens\": 1"));
    pool_config c = load_ok();
    ZT_CHECK_EQ_INT(c.n_modes, 4);
    ZT_CHECK_EQ_INT(c.modes[0], POOL_CLS);
    ZT_CHECK_EQ_INT(c.modes[1], POOL_MAX);
    ZT_CHECK_EQ_INT(c.modes[2], POOL_MEAN);
    ZT_CHECK_EQ_INT(c.modes[3], POOL_LASTTOKEN);
    ZT_CHECK_EQ_INT(c.mode, POOL_CLS);
    ZT_CHECK_EQ_INT(c.out_dim, 4 * 384);
    char desc[64];
    pool_config_describe(&c, desc, sizeof desc);
    ZT_CHECK(strcmp(desc, "cls+max+mean+lasttoken") == 0);
    pool_config_describe(&c, desc, 6);          /* truncated, still terminated */
    ZT_CHECK(strlen(desc) < 6);
}

static void test_pooling_mode_string_overrides_flags(void)
{
    make_model(modules_with(""), POOLING(", \"pooling_mode\": \"max\", \"pooling_mode_cls_token\": true"));
    pool_config c = load_ok();
    ZT_CHECK_EQ_INT(c.n_modes, 1);
    ZT_CHECK_EQ_INT(c.mode, POOL_MAX);
    make_model(modules_with(""), POOLING(", \"pooling_mode\": \"median\""));
    expect_error(ZB_EFORMAT, "1_Pooling/config.json", "'median'");
}

static void test_custom_pooling_path_and_no_modules_json(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/pool", g_dir);
    mkdir(path, 0700);
    make_model("[{\"type\":\"sentence_transformers.models.Transformer\",\"path\":\"\"},"
               "{\"type\":\"sentence_transformers.models.Pooling\",\"path\":\"pool\"}]", NULL);
    write_file("pool/config.json", POOLING(", \"pooling_mode_mean_tokens\": false, "
                                           "\"pooling_mode_cls_token\": true"));
    pool_config c = load_ok();
    ZT_CHECK_EQ_INT(c.mode, POOL_CLS);
    /* No modules.json, but a 1_Pooling/config.json: honoured. */
    make_model(NULL, POOLING(", \"pooling_mode_mean_tokens\": false, \"pooling_mode_max_tokens\": true"));
    c = load_ok();
    ZT_CHECK_EQ_INT(c.mode, POOL_MAX);
    ZT_CHECK_EQ_INT(c.normalize, 0);
}

static void test_refused_modules_and_modes(void)
{
    make_model(modules_with(", {\"idx\":2,\"name\":\"2\",\"path\":\"2_Dense\",\"type\":"
                            "\"sentence_transformers.models.Dense\"}"), MEAN_ONLY);
    expect_error(ZB_EUNSUPPORTED, "modules.json", "2_Dense");
    make_model(modules_with(", {\"path\":\"x\",\"type\":\"sentence_transformers.models.LayerNorm\"}"),
               MEAN_ONLY);
    expect_error(ZB_EUNSUPPORTED, "modules[2]", "LayerNorm");
    make_model(modules_with(""), POOLING(", \"pooling_mode_weightedmean_tokens\": true"));
    expect_error(ZB_EUNSUPPORTED, "1_Pooling/config.json", "pooling_mode_weightedmean_tokens");
    make_model("[{\"type\":\"sentence_transformers.models.Transformer\",\"path\":\"\"},"
               "{\"type\":\"sentence_transformers.models.Normalize\",\"path\":\"2_Normalize\"},"
               "{\"type\":\"sentence_transformers.models.Pooling\",\"path\":\"1_Pooling\"}]", MEAN_ONLY);
    expect_error(ZB_EUNSUPPORTED, "modules[1]", "Normalize");
    make_model("[{\"type\":\"sentence_transformers.models.Transformer\",\"path\":\"\"}]", MEAN_ONLY);
    expect_error(ZB_EUNSUPPORTED, "modules.json", "Pooling");
}

static void test_bad_files_name_file_and_field(void)
{
    make_model(modules_with(""), "{\"word_embedding_dimension\": 768}");
    expect_error(ZB_EFORMAT, "word_embedding_dimension", "768");
    make_model(modules_with(""), "{\"pooling_mode_mean_tokens\": true}");
    expect_error(ZB_EFORMAT, "1_Pooling/config.json", "word_embedding_dimension");
    make_model(modules_with(""), POOLING(", \"pooling_mode_max_tokens\": \"yes\""));
    expect_error(ZB_EFORMAT, "1_Pooling/config.json", "'pooling_mode_max_tokens'");
    make_model(modules_with(""), POOLING(", \"pooling_mode_mean_tokens\": false"));
    expect_error(ZB_EFORMAT, "1_Pooling/config.json", "no pooling mode");
    make_model(modules_with(""), "{\"word_embedding_dimension\": 384,");
    expect_error(ZB_EFORMAT, "1_Pooling/config.json", "line 1");
    make_model("{\"modules\": []}", MEAN_ONLY);
    expect_error(ZB_EFORMAT, "modules.json", "array");
    make_model("[{\"path\": \"\"}]", MEAN_ONLY);
    expect_error(ZB_EFORMAT, "modules[0]", "'type'");
    make_model("[{\"type\":\"sentence_transformers.models.Pooling\",\"path\":\"../1_Pooling\"}]", MEAN_ONLY);
    expect_error(ZB_EFORMAT, "modules[0]", "'path'");
    make_model(modules_with(""), NULL);
    expect_error(ZB_ENOTFOUND, "modules.json", "1_Pooling/config.json");
}

static void test_mode_names(void)
{
    for (int m = 0; m < POOL_N_MODES; m++) {
        pool_mode back;
        ZT_CHECK_EQ_INT(pool_mode_parse(pool_mode_name((pool_mode)m), &back), ZB_OK);
        ZT_CHECK_EQ_INT(back, m);
    }
    pool_mode m;
    ZT_CHECK_EQ_INT(pool_mode_parse("weightedmean", &m), ZB_EINVAL);
    ZT_CHECK_EQ_INT(pool_mode_parse(NULL, &m), ZB_EINVAL);
}

int main(void)
{
    g_dir = zt_tmpdir("pool_config_test");
    ZT_RUN(test_no_files_is_mean_without_normalize);
    ZT_RUN(test_st_folder_mean_and_normalize);
    ZT_RUN(test_real_all_minilm_pooling_config);
    ZT_RUN(test_each_single_mode);
    ZT_RUN(test_modes_concatenate_in_st_order);
    ZT_RUN(test_pooling_mode_string_overrides_flags);
    ZT_RUN(test_custom_pooling_path_and_no_modules_json);
    ZT_RUN(test_refused_modules_and_modes);
    ZT_RUN(test_bad_files_name_file_and_field);
    ZT_RUN(test_mode_names);
    return zt_done();
}
