/* The distributions behind stat-ttest: the regularised incomplete beta function, Student's t
 * (CDF, survival function, density, quantile), the standard normal tail, and the exact null
 * distribution of the Wilcoxon signed-rank statistic.
 *
 * Tails are computed directly, never as 1 - (something close to 1), so a p-value of 1e-30 keeps
 * its relative precision (about 1e-14 against 50-digit references; tests/unit/test_stats.c).
 */
#ifndef CX_STATS_DIST_H
#define CX_STATS_DIST_H

#include <stdint.h>

/* log B(a, b) for a, b > 0, accurate also when one or both are large (Stirling's series for the
 * large arguments, so the huge log-gammas never cancel each other). */
double cx_lbeta(double a, double b);

/* The regularised incomplete beta I_x(a, b) (*lower) and its complement 1 - I_x(a, b)
 * (*upper), a, b > 0, 0 <= x <= 1. xc must be 1 - x; pass it when it is known more precisely
 * than by subtraction (the t distribution knows both). By the continued fraction with the
 * symmetry I_x(a, b) = 1 - I_{1-x}(b, a), whichever side converges fast. Relative error about
 * 1e-15, growing as about 3e-17 max(a, b) for large parameters with x near the switch point. */
void cx_betainc(double a, double b, double x, double xc, double *lower, double *upper);

/* Student's t with df > 0 degrees of freedom (df need not be an integer). t may be infinite.
 * Through the incomplete beta up to df = 1e3, by quadrature of the density above (where the
 * continued fraction loses digits); about 1e-14 relative either way. */
double cx_t_cdf(double t, double df);     /* P(T <= t) */
double cx_t_sf(double t, double df);      /* P(T > t) */
double cx_t_pdf(double t, double df);
/* The t with P(T <= t) = p, 0 < p < 1, by safeguarded Newton steps on the CDF. */
double cx_t_quantile(double p, double df);

double cx_normal_sf(double z);            /* P(Z > z) */

/* The number of sign assignments of the ranks 1..n whose positive ranks sum to s, for
 * s = 0 .. n(n+1)/2, into counts (n(n+1)/2 + 1 doubles). Exact while n <= 50 (counts < 2^53);
 * divided by 2^n they are the null distribution of the signed-rank statistic. */
void cx_signed_rank_counts(int n, double *counts);

#endif
