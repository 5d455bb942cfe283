#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void cx_rng_seed(cx_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

cx_rng cx_rng_split(uint64_t seed, uint64_t stream) {
    /* Mix the stream index through splitmix first so neighbouring streams share no state. */
    uint64_t x = stream ^ 0x5851f42d4c957f2dULL;
    cx_rng r;
    cx_rng_seed(&r, seed ^ splitmix64(&x));
    return r;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t cx_rng_u64(cx_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double cx_rng_uniform(cx_rng *r) { return (double)(cx_rng_u64(r) >> 11) * 0x1.0p-53; }

double cx_rng_range(cx_rng *r, double lo, double hi) { return lo + (hi - lo) * cx_rng_uniform(r); }

uint64_t cx_rng_below(cx_rng *r, uint64_t n) {
    if (n <= 1) return 0;
    uint64_t limit = -n % n;   /* 2^64 mod n: reject the short last block */
    for (;;) {
        uint64_t x = cx_rng_u64(r);
        if (x >= limit) return x % n;
    }
}

double cx_rng_normal(cx_rng *r) {
    double u1 = 1.0 - cx_rng_uniform(r);   /* (0, 1]: log is finite */
    double u2 = cx_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void cx_rng_shuffle_i64(cx_rng *r, int64_t *a, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)cx_rng_below(r, (uint64_t)i + 1);
        int64_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
