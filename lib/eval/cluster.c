/* k-means (k-means++ seeding, Lloyd iterations, restarts) and the silhouette score (cluster.h). */
#include "eval/cluster.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"

void cx_kmeans_defaults(cx_kmeans_options *o, int k) {
    o->k = k;
    o->n_init = 10;
    o->max_iter = 300;
    o->seed = 0;
}

/* Squared euclidean distance between a point (float) and a center (double), both [dim]. */
static double dist2(const float *p, const double *c, int dim) {
    double s = 0;
    for (int d = 0; d < dim; d++) {
        double e = (double)p[d] - c[d];
        s += e * e;
    }
    return s;
}

static void set_center(double *center, const float *p, int dim) {
    for (int d = 0; d < dim; d++) center[d] = p[d];
}

/* The first index whose cumulative weight exceeds target (the last one if none does). */
static int64_t pick_weighted(const double *cumulative, int64_t n, double target) {
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (cumulative[mid] > target) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* k-means++ with greedy candidates: center[k, dim]. nearest[n] (each point's squared distance to
 * its nearest center so far) and cumulative[n] are scratch. */
static void seed_centers(const float *x, int64_t n, int dim, int k, cx_rng *rng, double *center,
                         double *nearest, double *cumulative) {
    int trials = 2 + (int)log((double)k);
    set_center(center, x + (int64_t)cx_rng_below(rng, (uint64_t)n) * dim, dim);
    for (int64_t i = 0; i < n; i++) nearest[i] = dist2(x + i * dim, center, dim);
    for (int c = 1; c < k; c++) {
        double total = 0;
        for (int64_t i = 0; i < n; i++) cumulative[i] = total += nearest[i];
        int64_t best = -1;
        double best_potential = INFINITY;
        for (int t = 0; t < trials; t++) {
            int64_t cand = pick_weighted(cumulative, n, cx_rng_uniform(rng) * total);
            double potential = 0;
            for (int64_t i = 0; i < n; i++) {
                double d = 0;
                for (int e = 0; e < dim; e++) {
                    double diff = (double)x[i * dim + e] - x[cand * dim + e];
                    d += diff * diff;
                }
                potential += d < nearest[i] ? d : nearest[i];
            }
            if (potential < best_potential) {
                best_potential = potential;
                best = cand;
            }
        }
        set_center(center + (int64_t)c * dim, x + best * dim, dim);
        for (int64_t i = 0; i < n; i++) {
            double d = dist2(x + i * dim, center + (int64_t)c * dim, dim);
            if (d < nearest[i]) nearest[i] = d;
        }
    }
}

/* Each point to its nearest center; d2[i] its squared distance. A tie keeps the point where it
 * is (so a cluster re-seeded on a duplicate point keeps it), otherwise goes to the lower index.
 * Returns how many assignments changed. */
static int64_t assign_points(const float *x, int64_t n, int dim, int k, const double *center, int32_t *assign,
                             double *d2) {
    int64_t changed = 0;
#pragma omp parallel for reduction(+ : changed) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        double best_d = dist2(x + i * dim, center, dim);
        for (int c = 1; c < k; c++) {
            double d = dist2(x + i * dim, center + (int64_t)c * dim, dim);
            if (d < best_d || (d == best_d && c == assign[i])) {
                best_d = d;
                best = c;
            }
        }
        changed += assign[i] != best;
        assign[i] = best;
        d2[i] = best_d;
    }
    return changed;
}

/* Centers as the means of their points. An empty cluster takes the point farthest from its
 * own center among clusters with more than one point (so none empties in turn). */
static void update_centers(const float *x, int64_t n, int dim, int k, int32_t *assign, double *d2, double *center,
                           int64_t *count) {
    memset(center, 0, sizeof *center * (size_t)k * (size_t)dim);
    memset(count, 0, sizeof *count * (size_t)k);
    for (int64_t i = 0; i < n; i++) {
        double *sum = center + (int64_t)assign[i] * dim;
        for (int d = 0; d < dim; d++) sum[d] += x[i * dim + d];
        count[assign[i]]++;
    }
    for (int c = 0; c < k; c++) {
        if (count[c] > 0) continue;
        int64_t far = -1;
        for (int64_t i = 0; i < n; i++)
            if (count[assign[i]] > 1 && (far < 0 || d2[i] > d2[far])) far = i;
        double *donor = center + (int64_t)assign[far] * dim;
        for (int d = 0; d < dim; d++) donor[d] -= x[far * dim + d];
        count[assign[far]]--;
        set_center(center + (int64_t)c * dim, x + far * dim, dim);
        count[c] = 1;
        assign[far] = c;
        d2[far] = 0;
    }
    for (int c = 0; c < k; c++)
        for (int d = 0; d < dim; d++) center[(int64_t)c * dim + d] /= (double)count[c];
}

int cx_kmeans(const float *x, int64_t n, int dim, const cx_kmeans_options *o, float *center_out, int32_t *assign_out,
              cx_kmeans_result *result) {
    int k = o->k;
    if (k < 1 || k > n) return cx_err(EX_USAGE, "k-means: %d clusters for %lld points", k, (long long)n);
    if (o->n_init < 1 || o->max_iter < 1)
        return cx_err(EX_USAGE, "k-means: n_init %d and max_iter %d must be at least 1", o->n_init, o->max_iter);
    double *center = cx_malloc(sizeof *center * (size_t)k * (size_t)dim);
    double *scratch = cx_malloc(sizeof *scratch * (size_t)n * 2);   /* d2, cumulative */
    int64_t *count = cx_malloc(sizeof *count * (size_t)k);
    int32_t *assign = cx_malloc(sizeof *assign * (size_t)n);
    double best_inertia = INFINITY;
    for (int r = 0; r < o->n_init; r++) {
        cx_rng rng = cx_rng_split(o->seed, (uint64_t)r);
        double *d2 = scratch;
        seed_centers(x, n, dim, k, &rng, center, d2, scratch + n);
        for (int64_t i = 0; i < n; i++) assign[i] = -1;
        assign_points(x, n, dim, k, center, assign, d2);
        int it = 0;
        while (it < o->max_iter) {
            update_centers(x, n, dim, k, assign, d2, center, count);
            it++;
            if (assign_points(x, n, dim, k, center, assign, d2) == 0) break;
        }
        double inertia = 0;
        for (int64_t i = 0; i < n; i++) inertia += d2[i];
        if (inertia < best_inertia) {
            best_inertia = inertia;
            memcpy(assign_out, assign, sizeof *assign * (size_t)n);
            if (center_out)
                for (int64_t i = 0; i < (int64_t)k * dim; i++) center_out[i] = (float)center[i];
            if (result) {
                result->inertia = inertia;
                result->iterations = it;
            }
        }
    }
    free(assign);
    free(count);
    free(scratch);
    free(center);
    return 0;
}

/* ---- silhouette ---- */

static int by_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static inline int64_t sample(const int64_t *idx, int64_t j) { return idx ? idx[j] : j; }

double cx_silhouette(const float *x, int dim, const int32_t *cluster, const int64_t *idx, int64_t m) {
    if (m < 2) return NAN;
    /* clusters present, as compact indices 0..nc-1 */
    int32_t *present = cx_malloc(sizeof *present * (size_t)m);
    for (int64_t j = 0; j < m; j++) present[j] = cluster[sample(idx, j)];
    qsort(present, (size_t)m, sizeof *present, by_int32);
    int nc = 0;
    for (int64_t j = 0; j < m; j++)
        if (j == 0 || present[j] != present[j - 1]) present[nc++] = present[j];
    if (nc < 2 || nc > m - 1) {
        free(present);
        return NAN;
    }
    int *member_of = cx_malloc(sizeof *member_of * (size_t)m);
    int64_t *size = cx_calloc((size_t)nc, sizeof *size);
    for (int64_t j = 0; j < m; j++) {
        int32_t label = cluster[sample(idx, j)];
        member_of[j] = (int)((const int32_t *)bsearch(&label, present, (size_t)nc, sizeof *present, by_int32) - present);
        size[member_of[j]]++;
    }
    double *score = cx_calloc((size_t)m, sizeof *score);   /* per point; summed in order below */
#pragma omp parallel
    {
        double *dist_sum = cx_malloc(sizeof *dist_sum * (size_t)nc);   /* per cluster, from point j */
#pragma omp for schedule(dynamic, 16)
        for (int64_t j = 0; j < m; j++) {
            const float *p = x + sample(idx, j) * dim;
            memset(dist_sum, 0, sizeof *dist_sum * (size_t)nc);
            for (int64_t l = 0; l < m; l++) {
                if (l == j) continue;
                const float *q = x + sample(idx, l) * dim;
                double s = 0;
                for (int d = 0; d < dim; d++) {
                    double e = (double)p[d] - q[d];
                    s += e * e;
                }
                dist_sum[member_of[l]] += sqrt(s);
            }
            int own = member_of[j];
            if (size[own] == 1) continue;   /* a point alone in its cluster scores 0 */
            double a = dist_sum[own] / (double)(size[own] - 1), b = INFINITY;
            for (int c = 0; c < nc; c++)
                if (c != own && dist_sum[c] / (double)size[c] < b) b = dist_sum[c] / (double)size[c];
            double larger = a > b ? a : b;
            if (larger > 0) score[j] = (b - a) / larger;
        }
        free(dist_sum);
    }
    double total = 0;
    for (int64_t j = 0; j < m; j++) total += score[j];
    free(score);
    free(size);
    free(member_of);
    free(present);
    return total / (double)m;
}
