/* viz_sts: the three layouts, splits, tabs-only splitting, and errors naming file and line. */
#include <string.h>

#include "viz_sts.h"
#include "zb_test.h"

static int parse(const char *text, const char *split, viz_sts *s, zb_err *e)
{
    zb_clear(e);
    return viz_sts_parse(text, strlen(text), "t.tsv", split, s, e);
}

static void test_stsbenchmark_raw(void)
{
    viz_sts s;
    zb_err e;
    const char *t = "main-captions\tMSRvid\t2012test\t0024\t2.500\tA girl is \"styling\" her hair.\tA girl, brushing.\r\n"
                    "main-news\theadlines\t2013\t0001\t0\tx\ty\tsource1\tsource2\n\n";
    ZT_CHECK_EQ_INT(parse(t, NULL, &s, &e), 0);
    ZT_CHECK_EQ_INT(s.n, 2);
    ZT_CHECK(!strcmp(s.a[0], "A girl is \"styling\" her hair."));   /* quotes are text, not CSV quoting */
    ZT_CHECK(!strcmp(s.b[0], "A girl, brushing."));                 /* commas too; \r dropped */
    ZT_CHECK_NEAR(s.gold[0], 2.5, 0);
    ZT_CHECK(!strcmp(s.b[1], "y"));                                 /* extra source fields ignored */
    ZT_CHECK(!strcmp(s.layout, "stsbenchmark"));
    viz_sts_free(&s);
    ZT_CHECK_EQ_INT(parse(t, "TEST", &s, &e), ZB_EINVAL);          /* one split per file */
}

static void test_sick_splits(void)
{
    viz_sts s;
    zb_err e;
    const char *t = "pair_ID\tsentence_A\tsentence_B\tentailment_label\trelatedness_score\tSemEval_set\n"
                    "1\tA b\tC d\tNEUTRAL\t4.5\tTRAIN\n2\tE f\tG h\tNEUTRAL\t3.2\tTEST\n"
                    "3\tI j\tK l\tNEUTRAL\t1\tTEST\n4\tM\tN\tNEUTRAL\t2\tTRIAL\n";
    ZT_CHECK_EQ_INT(parse(t, NULL, &s, &e), 0);                     /* default: TEST */
    ZT_CHECK_EQ_INT(s.n, 2);
    ZT_CHECK(!strcmp(s.a[0], "E f") && !strcmp(s.split, "TEST") && !strcmp(s.layout, "sick"));
    ZT_CHECK_NEAR(s.gold[1], 1, 0);
    viz_sts_free(&s);
    ZT_CHECK_EQ_INT(parse(t, "all", &s, &e), 0);
    ZT_CHECK_EQ_INT(s.n, 4);
    viz_sts_free(&s);
    ZT_CHECK_EQ_INT(parse(t, "trial", &s, &e), ZB_EFORMAT);         /* one pair is not enough */
    ZT_CHECK(strstr(e.msg, "t.tsv") && strstr(e.msg, "1 sentence pairs"));
}

static void test_sentence_transformers_tsv(void)
{
    viz_sts s;
    zb_err e;
    const char *t = "split\tgenre\tdataset\tyear\tsid\tscore\tsentence1\tsentence2\n"
                    "test\tg\td\t2012\t1\t5.0\ta\tb\ntrain\tg\td\t2012\t2\t1.0\tc\td\ntest\tg\td\t2012\t3\t0.4\te\tf\n";
    ZT_CHECK_EQ_INT(parse(t, NULL, &s, &e), 0);
    ZT_CHECK_EQ_INT(s.n, 2);
    ZT_CHECK(!strcmp(s.a[1], "e") && !strcmp(s.layout, "stsbenchmark-tsv"));
    viz_sts_free(&s);
}

static void test_errors_name_the_line(void)
{
    viz_sts s;
    zb_err e;
    ZT_CHECK_EQ_INT(parse("g\tf\ty\ti\t1\ta\tb\ng\tf\ty\ti\tfive\ta\tb\n", NULL, &s, &e), ZB_EFORMAT);
    ZT_CHECK(strstr(e.msg, "t.tsv:2") && strstr(e.msg, "five"));
    ZT_CHECK_EQ_INT(parse("g\tf\ty\ti\t1\ta\tb\ng\tf\ty\ti\t1\ta\n", NULL, &s, &e), ZB_EFORMAT);
    ZT_CHECK(strstr(e.msg, "t.tsv:2") && strstr(e.msg, "6 tab-separated fields"));
    ZT_CHECK_EQ_INT(parse("g\tf\ty\ti\tnan\ta\tb\n", NULL, &s, &e), ZB_EFORMAT);
    ZT_CHECK_EQ_INT(parse("", NULL, &s, &e), ZB_EFORMAT);
    ZT_CHECK(s.n == 0 && s.a == NULL);
}

int main(void)
{
    ZT_RUN(test_stsbenchmark_raw);
    ZT_RUN(test_sick_splits);
    ZT_RUN(test_sentence_transformers_tsv);
    ZT_RUN(test_errors_name_the_line);
    return zt_done();
}
