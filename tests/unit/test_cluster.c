/* k-means against scikit-learn 1.2's KMeans on planted blobs (tests/data/ref/metrics.cxs from
 * tests/ref/gen_metrics.py): the same partition up to relabelling, the same inertia, recovery of
 * the planted clusters; the inertia against a direct recomputation; determinism in the seed;
 * the silhouette on points given by hand; errors. (The fixture's silhouette cases are checked
 * in test_metrics.c.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "eval/cluster.h"
#include "io/stream.h"
#include "test.h"

#define REF "tests/data/ref/metrics.cxs"

static bool load_case(const char *id, cx_record *rec) {
    cx_reader *in = cx_reader_open(REF);
    if (!CHECK(in != NULL)) return false;
    bool found = false;
    while (!found && cx_reader_next(in, rec) == 1) found = !strcmp(rec->id, id);
    cx_reader_close(in);
    return CHECK(found);
}

/* Whether a and b[n] (labels 0..k-1) are the same partition: a one-to-one relabelling. */
static bool same_partition(const int32_t *a, const int32_t *b, int64_t n, int k) {
    int *a_to_b = malloc(sizeof *a_to_b * k), *b_to_a = malloc(sizeof *b_to_a * k);
    for (int c = 0; c < k; c++) a_to_b[c] = b_to_a[c] = -1;
    bool same = true;
    for (int64_t i = 0; i < n && same; i++) {
        if (a_to_b[a[i]] < 0 && b_to_a[b[i]] < 0) {
            a_to_b[a[i]] = b[i];
            b_to_a[b[i]] = a[i];
        }
        same = a_to_b[a[i]] == b[i] && b_to_a[b[i]] == a[i];
    }
    free(a_to_b);
    free(b_to_a);
    return same;
}

/* Sum of squared distances of the points to the means of their clusters, computed afresh. */
static double inertia_direct(const float *x, int64_t n, int dim, const int32_t *assign, int k) {
    double *mean = calloc((size_t)k * dim, sizeof *mean);
    int64_t *count = calloc((size_t)k, sizeof *count);
    for (int64_t i = 0; i < n; i++) {
        count[assign[i]]++;
        for (int d = 0; d < dim; d++) mean[assign[i] * dim + d] += x[i * dim + d];
    }
    for (int c = 0; c < k; c++)
        for (int d = 0; d < dim; d++) mean[c * dim + d] /= (double)count[c];
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        for (int d = 0; d < dim; d++) {
            double e = x[i * dim + d] - mean[assign[i] * dim + d];
            s += e * e;
        }
    free(count);
    free(mean);
    return s;
}

static void check_blobs(const char *id) {
    cx_record rec;
    cx_record_init(&rec);
    if (!load_case(id, &rec)) return;
    const cx_tensor *x = cx_record_tensor(&rec, "x");
    const int32_t *planted = cx_record_tensor(&rec, "planted")->data;
    const int32_t *sklearn = cx_record_tensor(&rec, "sklearn")->data;
    double k_value, want_inertia;
    cx_value_number(cx_map_get(&rec.meta, "k"), &k_value);
    cx_value_number(cx_map_get(&rec.meta, "inertia"), &want_inertia);
    int64_t n = x->shape[0];
    int dim = (int)x->shape[1], k = (int)k_value;
    cx_kmeans_options o;
    cx_kmeans_defaults(&o, k);
    o.seed = 11;
    int32_t *assign = malloc(sizeof *assign * n), *again = malloc(sizeof *again * n);
    float *center = malloc(sizeof *center * k * dim), *center_again = malloc(sizeof *center_again * k * dim);
    cx_kmeans_result r, r_again;
    CHECK(cx_kmeans(x->data, n, dim, &o, center, assign, &r) == 0);
    if (!CHECK(same_partition(assign, sklearn, n, k))) printf("  %s: partition differs from sklearn's\n", id);
    CHECK(same_partition(assign, planted, n, k));
    CHECK_NEAR(r.inertia, want_inertia, 1e-6, 0);
    CHECK_NEAR(r.inertia, inertia_direct(x->data, n, dim, assign, k), 1e-9, 0);
    CHECK(r.iterations >= 1 && r.iterations < o.max_iter);
    /* the centers are the cluster means */
    for (int c = 0; c < k; c++) {
        double sum = 0;
        int64_t count = 0;
        for (int64_t i = 0; i < n; i++)
            if (assign[i] == c) {
                sum += ((const float *)x->data)[i * dim];
                count++;
            }
        CHECK_NEAR(center[c * dim], sum / count, 1e-5, 1e-5);
    }
    /* the same seed gives the same result, bit for bit */
    CHECK(cx_kmeans(x->data, n, dim, &o, center_again, again, &r_again) == 0);
    CHECK(memcmp(assign, again, sizeof *assign * n) == 0);
    CHECK(memcmp(center, center_again, sizeof *center * k * dim) == 0);
    CHECK(r.inertia == r_again.inertia);
    free(center_again);
    free(center);
    free(again);
    free(assign);
    cx_record_free(&rec);
}

TEST(kmeans_blobs_2d_match_sklearn) { check_blobs("kmeans_blobs_2d"); }
TEST(kmeans_blobs_8d_match_sklearn) { check_blobs("kmeans_blobs_8d"); }

/* One restart of k-means++ on touching clusters lands in different local optima for different
 * seeds; more restarts never end worse than the best single one among their seeds. */
TEST(kmeans_restarts_keep_the_lowest_inertia) {
    enum { N = 400, DIM = 2, K = 8 };
    float *x = malloc(sizeof *x * N * DIM);
    int32_t *assign = malloc(sizeof *assign * N);
    cx_rng rng;
    cx_rng_seed(&rng, 17);
    for (int i = 0; i < N * DIM; i++) x[i] = (float)cx_rng_normal(&rng);
    cx_kmeans_options o;
    cx_kmeans_defaults(&o, K);
    o.n_init = 1;
    o.seed = 5;
    double best_single = INFINITY, first = 0;
    bool differ = false;
    cx_kmeans_result r;
    for (int s = 0; s < 6; s++) {
        o.n_init = s + 1;   /* restarts 0..s: the best of them can only improve with s */
        CHECK(cx_kmeans(x, N, DIM, &o, NULL, assign, &r) == 0);
        CHECK(r.inertia <= best_single);
        best_single = r.inertia;
        if (s == 0) first = r.inertia;
        differ |= r.inertia != first;
        CHECK_NEAR(r.inertia, inertia_direct(x, N, DIM, assign, K), 1e-9, 0);
    }
    CHECK(differ);   /* some restart found a better optimum than the first */
    free(assign);
    free(x);
}

TEST(kmeans_edge_cases) {
    float x[12] = {0, 0, 0, 0, 0, 0, 5, 5, 5, 5, 9, 9};   /* 6 points, 3 distinct, dim 2 */
    int32_t assign[6];
    cx_kmeans_options o;
    cx_kmeans_result r;
    cx_kmeans_defaults(&o, 3);
    CHECK(cx_kmeans(x, 6, 2, &o, NULL, assign, &r) == 0);
    CHECK(r.inertia == 0);
    CHECK(assign[0] == assign[1] && assign[1] == assign[2] && assign[3] == assign[4]);
    CHECK(assign[0] != assign[3] && assign[3] != assign[5] && assign[0] != assign[5]);
    /* k = n with 3 distinct points: every point alone, so empty clusters had to be re-seeded */
    o.k = 6;
    CHECK(cx_kmeans(x, 6, 2, &o, NULL, assign, &r) == 0);
    CHECK(r.inertia == 0);
    for (int c = 0; c < 6; c++) {
        int members = 0;
        for (int i = 0; i < 6; i++) members += assign[i] == c;
        CHECK(members == 1);   /* no empty cluster */
    }
    o.k = 7;
    CHECK(cx_kmeans(x, 6, 2, &o, NULL, assign, &r) == EX_USAGE);
    o.k = 2;
    o.n_init = 0;
    CHECK(cx_kmeans(x, 6, 2, &o, NULL, assign, &r) == EX_USAGE);
    cx_err_clear();
}

/* Points on a line worked out by hand: clusters {0, 1} and {4, 6}.
 * point 0: a = 1, b = (4 + 6)/2 = 5, s = 4/5;  point 1: a = 1, b = (3 + 5)/2 = 4, s = 3/4;
 * point 4: a = 2, b = (4 + 3)/2 = 3.5, s = 1.5/3.5;  point 6: a = 2, b = (6 + 5)/2 = 5.5, s = 3.5/5.5. */
TEST(silhouette_by_hand) {
    float x[4] = {0, 1, 4, 6};
    int32_t cluster[4] = {7, 7, -2, -2};
    double want = (0.8 + 0.75 + 1.5 / 3.5 + 3.5 / 5.5) / 4;
    CHECK_NEAR(cx_silhouette(x, 1, cluster, NULL, 4), want, 1e-15, 0);
    /* a subset: {0, 1, 6}; point 6 is alone in its cluster and scores 0 */
    int64_t idx[3] = {0, 1, 3};
    CHECK_NEAR(cx_silhouette(x, 1, cluster, idx, 3), (5.0 / 6 + (5.0 - 1) / 5 + 0) / 3, 1e-15, 0);
    /* undefined: one cluster, or every point alone */
    int32_t same[4] = {1, 1, 1, 1}, apart[4] = {0, 1, 2, 3};
    CHECK(isnan(cx_silhouette(x, 1, same, NULL, 4)));
    CHECK(isnan(cx_silhouette(x, 1, apart, NULL, 4)));
    CHECK(isnan(cx_silhouette(x, 1, cluster, NULL, 1)));
}
