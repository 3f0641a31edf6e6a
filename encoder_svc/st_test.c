/* st_test: the safetensors parser on crafted good and bad files. */
#include "st.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zb_test.h"

static char dir[] = "/tmp/st_test_XXXXXX";
static char path[256];

/* Write header (padded with spaces to a multiple of 8, as the format's writers do) + data. With
 * hlen_override != 0 the length field says that instead. */
static void write_st(const char *header, const void *data, size_t data_len, uint64_t hlen_override)
{
    size_t h = strlen(header), padded = (h + 7) / 8 * 8;
    FILE *f = fopen(path, "wb");
    uint64_t hl = hlen_override ? hlen_override : padded;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(hl >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(header, 1, h, f);
    for (size_t i = h; i < padded; i++)
        fputc(' ', f);
    if (data_len)
        fwrite(data, 1, data_len, f);
    fclose(f);
}

/* Opening must fail with code and a message containing want (and the file path). */
static void expect_fail(const char *header, size_t data_len, uint64_t hlen, int code, const char *want)
{
    static unsigned char zeros[4096];
    write_st(header, zeros, data_len, hlen);
    zb_err e;
    zb_clear(&e);
    st_file *f = st_open(path, &e);
    ZT_CHECK(f == NULL);
    st_close(f);
    ZT_CHECK_EQ_INT(e.code, code);
    if (!strstr(e.msg, want) || !strstr(e.msg, path)) {
        fprintf(stderr, "  message '%s' lacks '%s' or the path\n", e.msg, want);
        ZT_CHECK(0);
    }
}

static void test_good_file(void)
{
    float a[6] = {1, 2, 3, 4, 5, 6};
    unsigned char buf[24 + 4 + 8];
    memcpy(buf, a, 24);
    uint16_t h[2] = {0x3c00, 0x4000};   /* F16 1.0, 2.0 */
    memcpy(buf + 24, h, 4);
    int64_t ids[1] = {7};
    memcpy(buf + 28, ids, 8);
    write_st("{\"__metadata__\":{\"format\":\"pt\"},"
             "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]},"
             "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
             "\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[28,36]}}",
             buf, sizeof buf, 0);
    zb_err e;
    st_file *f = st_open(path, &e);
    ZT_CHECK(f != NULL);
    if (!f)
        return;
    ZT_CHECK_EQ_INT(st_count(f), 3);
    const st_tensor *t = st_find(f, "a");
    ZT_CHECK(t && t->dtype == ST_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
    ZT_CHECK(t && t->numel == 6 && t->nbytes == 24);
    ZT_CHECK(t && !memcmp(t->data, a, 24));
    t = st_find(f, "b");
    ZT_CHECK(t && t->dtype == ST_F16 && t->numel == 2 && !memcmp(t->data, h, 4));
    t = st_find(f, "ids");
    ZT_CHECK(t && t->dtype == ST_I64);
    ZT_CHECK(st_find(f, "__metadata__") == NULL);
    ZT_CHECK(st_find(f, "c") == NULL);
    st_close(f);
}

static void test_scalar_and_empty_tensor(void)
{
    float one = 1;
    write_st("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
             "\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[4,4]}}", &one, 4, 0);
    zb_err e;
    st_file *f = st_open(path, &e);
    ZT_CHECK(f != NULL);
    if (f) {
        ZT_CHECK(st_find(f, "s")->numel == 1);
        ZT_CHECK(st_find(f, "z")->numel == 0);
    }
    st_close(f);
}

static void test_header_length(void)
{
    const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    expect_fail(hdr, 4, 1000, ZB_EFORMAT, "does not fit");            /* truncated header */
    expect_fail(hdr, 4, UINT64_C(1) << 40, ZB_EFORMAT, "over the");   /* huge length */
    expect_fail(hdr, 4, UINT64_MAX, ZB_EFORMAT, "over the");

    FILE *f = fopen(path, "wb");   /* shorter than the length field */
    fwrite("\x10\x00\x00", 1, 3, f);
    fclose(f);
    zb_err e;
    ZT_CHECK(st_open(path, &e) == NULL);
    ZT_CHECK_EQ_INT(e.code, ZB_EFORMAT);
    f = fopen(path, "wb");         /* empty */
    fclose(f);
    ZT_CHECK(st_open(path, &e) == NULL);
    ZT_CHECK_EQ_INT(e.code, ZB_EFORMAT);
}

static void test_bad_json(void)
{
    expect_fail("{\"a\":{\"dtype\":\"F32\",", 0, 0, ZB_EFORMAT, "header JSON");
    expect_fail("[1,2]", 0, 0, ZB_EFORMAT, "does not start with '{'");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                8, 0, ZB_EFORMAT, "duplicate");
    expect_fail("{\"a\":5}", 0, 0, ZB_EFORMAT, "'a'");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, 0, ZB_EFORMAT, "'a'");
    expect_fail("{\"__metadata__\":{\"format\":1}}", 0, 0, ZB_EFORMAT, "__metadata__");
    expect_fail("{\"__metadata__\":[]}", 0, 0, ZB_EFORMAT, "__metadata__");
}

static void test_bad_shapes_and_dtypes(void)
{
    expect_fail("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, 0, ZB_EUNSUPPORTED,
                "unknown dtype 'Q4'");
    expect_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, 0, ZB_EFORMAT, "'w'");
    expect_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, 0, ZB_EFORMAT, "'w'");
    expect_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, 0,
                ZB_EUNSUPPORTED, "dimensions");
    /* product overflows 64 bits */
    expect_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", 4, 0,
                ZB_EFORMAT, "overflows");
    /* 2^61 elements x 8 bytes wraps to 0 in 64 bits: must not pass as an empty tensor */
    expect_fail("{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}", 0, 0,
                ZB_EFORMAT, "'w'");
}

static void test_bad_offsets(void)
{
    expect_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", 8, 0, ZB_EFORMAT,
                "run past the data buffer");
    expect_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, 0, ZB_EFORMAT,
                "needs 8 bytes");   /* wrong byte count */
    expect_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, 0, ZB_EFORMAT,
                "begin <= end");
    expect_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, 0, ZB_EFORMAT,
                "data_offsets");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, 0, ZB_EFORMAT,
                "overlaps");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, 0, ZB_EFORMAT,
                "hole");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12, 0, ZB_EFORMAT,
                "trailing bytes");
}

static void test_missing_file(void)
{
    zb_err e;
    ZT_CHECK(st_open("/nonexistent/model.safetensors", &e) == NULL);
    ZT_CHECK_EQ_INT(e.code, ZB_ENOTFOUND);
    ZT_CHECK(strstr(e.msg, "/nonexistent/model.safetensors") != NULL);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ZT_RUN(test_good_file);
    ZT_RUN(test_scalar_and_empty_tensor);
    ZT_RUN(test_header_length);
    ZT_RUN(test_bad_json);
    ZT_RUN(test_bad_shapes_and_dtypes);
    ZT_RUN(test_bad_offsets);
    ZT_RUN(test_missing_file);
    unlink(path);
    rmdir(dir);
    return zt_done();
}
