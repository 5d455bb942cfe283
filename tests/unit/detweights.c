#include "detweights.h"

#include <math.h>
#include <string.h>

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

void cx_det_tensor(const char *name, int ndim, const int64_t *shape, float *out) {
    int64_t n = 1, fan_in = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    for (int i = 1; i < ndim; i++) fan_in *= shape[i];
    double lo = -0.2, hi = 0.2;
    if (ndim >= 2) hi = sqrt(3.0 / (double)fan_in), lo = -hi;
    else if (ends_with(name, "running_mean")) lo = -0.1, hi = 0.1;
    else if (ends_with(name, "running_var") || ends_with(name, "weight")) lo = 0.5, hi = 1.5;
    uint64_t state = fnv1a64(name);
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(mix(state + (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL) >> 40) * (1.0 / (1 << 24));
        out[i] = (float)(lo + (hi - lo) * u);
    }
}

void cx_det_fill(cx_graph *g) {
    cx_graph_alloc_state(g);
    for (int i = 0; i < cx_graph_state_count(g); i++) {
        cx_var v = cx_graph_state_var(g, i);
        cx_det_tensor(cx_graph_name(g, v), cx_graph_ndim(g, v), cx_graph_shape(g, v), cx_graph_data(g, v));
    }
}
