/* viz_stats against scipy / scikit-learn goldens (viz_stats_golden.py writes viz_stats_golden.h). */
#include <math.h>

#include "viz_stats.h"
#include "viz_stats_golden.h"
#include "zb_test.h"

static void test_pearson_matches_scipy(void)
{
    ZT_CHECK_NEAR(viz_pearson(gold_x, gold_y, GOLD_N), gold_pearson, 1e-12);
}

static void test_ranks_average_ties(void)
{
    double r[GOLD_N];
    ZT_CHECK_EQ_INT(viz_rank_average(gold_x, GOLD_N, r, NULL), 0);
    for (int i = 0; i < GOLD_N; i++)
        ZT_CHECK_NEAR(r[i], gold_rank_x[i], 0);
    const double three[] = {2, 1, 2, 2};
    ZT_CHECK_EQ_INT(viz_rank_average(three, 4, r, NULL), 0);
    ZT_CHECK_NEAR(r[1], 1, 0);
    ZT_CHECK_NEAR(r[0], 3, 0);
    ZT_CHECK_NEAR(r[3], 3, 0);
}

static void test_spearman_matches_scipy(void)
{
    double s = 0;
    ZT_CHECK_EQ_INT(viz_spearman(gold_x, gold_y, GOLD_N, &s, NULL), 0);
    ZT_CHECK_NEAR(s, gold_spearman, 1e-12);
}

static void test_constant_side_is_nan(void)
{
    const double c[] = {1, 1, 1}, v[] = {1, 2, 3};
    double s = 0;
    ZT_CHECK(isnan(viz_pearson(c, v, 3)));
    ZT_CHECK_EQ_INT(viz_spearman(v, c, 3, &s, NULL), 0);
    ZT_CHECK(isnan(s));
}

static void test_pair_scores_match_sklearn(void)
{
    const double *want[VIZ_N_SCORES] = {gold_cosine, gold_dot, gold_euclidean, gold_manhattan};
    for (int s = 0; s < VIZ_N_SCORES; s++)
        for (int i = 0; i < GOLD_PAIRS; i++) {
            double got = viz_pair_score((viz_score)s, gold_a + i * GOLD_DIM, gold_b + i * GOLD_DIM, GOLD_DIM);
            ZT_CHECK_NEAR(got, want[s][i], 1e-5 * (1 + fabs(want[s][i])));
        }
    ZT_CHECK_NEAR(viz_pair_score(VIZ_SCORE_COSINE, gold_a + 3 * GOLD_DIM, gold_b + 3 * GOLD_DIM, GOLD_DIM), 1, 1e-15);
}

int main(void)
{
    ZT_RUN(test_pearson_matches_scipy);
    ZT_RUN(test_ranks_average_ties);
    ZT_RUN(test_spearman_matches_scipy);
    ZT_RUN(test_constant_side_is_nan);
    ZT_RUN(test_pair_scores_match_sklearn);
    return zt_done();
}
