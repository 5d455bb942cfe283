/* Clustering: k-means (Lloyd's algorithm, k-means++ seeding, n_init restarts keeping the
 * lowest inertia) and the silhouette score.
 *
 * Points are float rows x[n, dim]; arithmetic is in double. k-means is deterministic in its
 * seed (restart r draws from cx_rng_split(seed, r)). Seeding follows Arthur & Vassilvitskii's
 * k-means++ with sklearn's greedy variant: each new center is the best (lowest resulting
 * inertia) of 2 + floor(ln k) candidates drawn with probability proportional to D(x)^2.
 * Lloyd iterations stop when no assignment changes or after max_iter. A point goes to its
 * nearest center; on a tie it stays where it is, else it takes the lower index. An empty
 * cluster is re-seeded with the point farthest from its center (among clusters of two or
 * more), so no cluster ends empty, even when there are fewer distinct points than k.
 *
 * The silhouette is sklearn.metrics.silhouette_score with the euclidean metric: per point
 * s = (b - a) / max(a, b) with a = mean distance to the other members of its cluster, b = the
 * lowest mean distance to another cluster's members, s = 0 for a point alone in its cluster;
 * the mean of s over all points. Every pairwise distance is computed (O(n^2 dim) time, spread
 * over the OpenMP threads; O(n) memory, no distance matrix): a few thousand points take well
 * under a second, tens of thousands minutes.
 */
#ifndef CX_EVAL_CLUSTER_H
#define CX_EVAL_CLUSTER_H

#include <stdint.h>

typedef struct {
    int k;              /* clusters */
    int n_init;         /* restarts with different seeds (>= 1) */
    int max_iter;       /* Lloyd iterations per restart (>= 1) */
    uint64_t seed;
} cx_kmeans_options;

/* Defaults: n_init 10, max_iter 300, seed 0 (k is left as given). */
void cx_kmeans_defaults(cx_kmeans_options *o, int k);

typedef struct {
    int iterations;     /* Lloyd iterations of the restart kept */
    double inertia;     /* sum of squared distances of the points to their centers */
} cx_kmeans_result;

/* Cluster x[n, dim] into o->k groups. Writes center[k, dim] (may be NULL) and assign[n]
 * (cluster index 0..k-1). Returns 0, or EX_USAGE when k < 1, k > n, n_init < 1 or
 * max_iter < 1 (recorded). */
int cx_kmeans(const float *x, int64_t n, int dim, const cx_kmeans_options *o,
              float *center, int32_t *assign, cx_kmeans_result *result);

/* Silhouette of the points x[idx[0..m)] (idx NULL: all n) under cluster[] (indexed like x,
 * values any int32; clusters are those present among the chosen points). NaN unless
 * 2 <= clusters present <= m - 1. */
double cx_silhouette(const float *x, int dim, const int32_t *cluster, const int64_t *idx, int64_t m);

#endif
