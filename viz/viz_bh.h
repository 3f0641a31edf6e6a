/* viz_bh: the Barnes-Hut quadtree of a 2-D embedding and the t-SNE repulsion computed on it (used
 * by viz_tsne.c).
 *
 * Nodes are stored in depth-first pre-order with a skip index (the node after the subtree), so a
 * traversal is a forward walk without a stack. The repulsion is computed per GROUP of nearby
 * points (a subtree of at most VIZ_BH_GROUP points): one traversal per group collects the cells
 * far enough from the group's bounding box (width^2 < theta^2 * d_min^2, the Barnes-Hut test with
 * the group's nearest possible point, so every point of the group meets at least sklearn's
 * accuracy), then every point of the group sums that list in a straight, vectorised loop; points
 * within the group interact exactly. */
#ifndef VIZ_BH_H
#define VIZ_BH_H

#include <stdint.h>

#define VIZ_BH_GROUP 32

typedef struct viz_bh viz_bh;
typedef struct viz_bh_scratch viz_bh_scratch;   /* one per thread */

viz_bh *viz_bh_new(int n);
void viz_bh_free(viz_bh **b);

/* Rebuild on Y (n x 2; the n of viz_bh_new). 0, or -1 out of memory. */
int viz_bh_build(viz_bh *b, const float *Y);

/* The groups, in tree order: group g holds the points order[start(g) .. start(g + 1)). */
int viz_bh_groups(const viz_bh *b);
int viz_bh_group_start(const viz_bh *b, int g);      /* g in [0, groups]; start(groups) = n */
const int32_t *viz_bh_order(const viz_bh *b);       /* point ids in tree order */

viz_bh_scratch *viz_bh_scratch_new(void);
void viz_bh_scratch_free(viz_bh_scratch **s);

/* For every point i of groups [g0, g1): neg[2i..2i+1] = sum_j q~_ij^2 (y_i - y_j) and
 * z[i] = sum_j q~_ij (j != i), q~ = 1 / (1 + |y_i - y_j|^2), far cells summarised. 0, or -1 when the
 * scratch cannot grow. */
int viz_bh_repulse(const viz_bh *b, int g0, int g1, float theta2, viz_bh_scratch *s, float *neg, double *z);

#endif
