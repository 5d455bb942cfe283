/* Deterministic random numbers: xoshiro256** seeded through splitmix64. The whole state is
 * four words, saved in checkpoints so a resumed run draws the same numbers. Independent
 * streams for parallel work come from cx_rng_split (seed mixed with a stream index), never
 * from sharing one generator between threads. */
#ifndef CX_CORE_RNG_H
#define CX_CORE_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } cx_rng;

void cx_rng_seed(cx_rng *r, uint64_t seed);
cx_rng cx_rng_split(uint64_t seed, uint64_t stream);
uint64_t cx_rng_u64(cx_rng *r);
double cx_rng_uniform(cx_rng *r);                  /* [0, 1), 53 random bits */
double cx_rng_range(cx_rng *r, double lo, double hi);
uint64_t cx_rng_below(cx_rng *r, uint64_t n);      /* uniform in [0, n), no modulo bias */
double cx_rng_normal(cx_rng *r);                   /* standard normal (Box-Muller, no cached pair) */
void cx_rng_shuffle_i64(cx_rng *r, int64_t *a, int64_t n);  /* Fisher-Yates */

#endif
