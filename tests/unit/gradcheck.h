/* Finite-difference gradient checks for the engine's ops.
 *
 * The scalar under test is L = sum_k probe[k] * y[k] for a fixed random probe, so backward is
 * run with dy = probe. loss(ctx) recomputes L (in double) from the current inputs. For each
 * checked element x[i] the central difference (L(x+h) - L(x-h)) / 2h is compared with the
 * analytic gradient g[i]: |fd - g| <= atol + rtol * max(|fd|, |g|). The defaults (h = 1e-2
 * relative to |x|, rtol 1e-2, atol 1e-3 * scale) catch any missing term or wrong factor,
 * which errs by tens of percent. */
#ifndef CX_GRADCHECK_H
#define CX_GRADCHECK_H

#include <stdbool.h>
#include <stdint.h>

typedef double (*cx_loss_fn)(void *ctx);

/* Checks at most max_points elements (spread evenly) of x (length n). Prints the worst
 * mismatch on failure; returns true when all agree. */
bool cx_gradcheck(const char *what, cx_loss_fn loss, void *ctx, float *x, const float *grad, int64_t n,
                  int max_points, double rtol, double atol);

/* sum(probe .* y) in double. */
double cx_dot_f64(const float *probe, const float *y, int64_t n);
/* Fill with N(0, scale^2) from a seed (deterministic). */
void cx_fill_normal(float *x, int64_t n, uint64_t seed, float scale);

#endif
