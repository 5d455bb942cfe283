#include "stats/dist.h"

#include <float.h>
#include <math.h>

#define LN_SQRT_2PI 0.918938533204672741780329736406

/* Stirling's correction: lgamma(x) = (x - 1/2) log x - x + log sqrt(2 pi) + stirling_tail(x).
 * For x >= 10 the eight terms of the asymptotic series leave an error below 1e-17. */
static double stirling_tail(double x) {
    /* B_2k / (2k (2k - 1)), k = 1..8 */
    static const double coef[8] = {1.0 / 12,   -1.0 / 360,    1.0 / 1260, -1.0 / 1680,
                                   1.0 / 1188, -691.0 / 360360, 1.0 / 156, -3617.0 / 122400};
    double y = 1 / (x * x), sum = 0;
    for (int k = 7; k >= 0; k--) sum = coef[k] + y * sum;
    return sum / x;
}

double cx_lbeta(double a, double b) {
    double p = fmin(a, b), q = fmax(a, b);
    double ratio = p / (p + q);
    if (p >= 10) {
        double corr = stirling_tail(p) + stirling_tail(q) - stirling_tail(p + q);
        return -0.5 * log(q) + LN_SQRT_2PI + corr + (p - 0.5) * log(ratio) + q * log1p(-ratio);
    }
    if (q >= 10) {
        /* lgamma(q) - lgamma(p + q) by Stirling, with the large terms cancelled by hand */
        double corr = stirling_tail(q) - stirling_tail(p + q);
        return lgamma(p) + corr + p - p * log(p + q) + (q - 0.5) * log1p(-ratio);
    }
    return lgamma(p) + lgamma(q) - lgamma(p + q);
}

/* One step of the modified Lentz evaluation of a continued fraction 1 / (1 + n1 / (1 + n2 / ...)):
 * returns the factor by which this term changes the value. */
static double lentz_step(double num, double *c, double *d) {
    const double tiny = 1e-300;
    *d = 1 + num * *d;
    if (fabs(*d) < tiny) *d = tiny;
    *c = 1 + num / *c;
    if (fabs(*c) < tiny) *c = tiny;
    *d = 1 / *d;
    return *d * *c;
}

/* I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * beta_fraction(a, b, x, 1 - x), the continued fraction
 * 1 / (1 + d_1 / (1 + d_2 / ...)) with d_2m = m (b - m) x / ((a + 2m - 1)(a + 2m)) and
 * d_2m+1 = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)). It converges fast for
 * x < (a + 1) / (a + b + 2). */
static double beta_fraction(double a, double b, double x, double xc) {
    const int max_terms = 1000000;
    /* 1 + d_1 = ((a + 1) - (a + b) x) / (a + 1): for x near 1 and large a its two terms nearly
     * cancel, so it is formed from 1 - x there */
    double first = x < 0.5 ? 1 - (a + b) * x / (a + 1) : (1 - b + (a + b) * xc) / (a + 1);
    double c = 1, d = 1 / first;   /* the Lentz state after d_1 */
    double f = d;
    for (int m = 1; m <= max_terms; m++) {
        f *= lentz_step(m * (b - m) * x / ((a + 2.0 * m - 1) * (a + 2.0 * m)), &c, &d);
        double delta = lentz_step(-(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1)), &c, &d);
        f *= delta;
        if (fabs(delta - 1) < 2 * DBL_EPSILON) break;
    }
    return f;
}

void cx_betainc(double a, double b, double x, double xc, double *lower, double *upper) {
    if (x <= 0) {
        *lower = 0, *upper = 1;
        return;
    }
    if (xc <= 0) {
        *lower = 1, *upper = 0;
        return;
    }
    /* log x and log(1 - x) from whichever of x, xc is small, so neither loses digits */
    double log_x = x < 0.5 ? log(x) : log1p(-xc);
    double log_xc = xc < 0.5 ? log(xc) : log1p(-x);
    double front = exp(a * log_x + b * log_xc - cx_lbeta(a, b));
    if (x < (a + 1) / (a + b + 2)) {
        *lower = fmin(1, front / a * beta_fraction(a, b, x, xc));
        *upper = 1 - *lower;
    } else {
        *upper = fmin(1, front / b * beta_fraction(b, a, xc, x));
        *lower = 1 - *upper;
    }
}

/* Above this many degrees of freedom the continued fraction, whose terms nearly cancel when
 * a = df/2 is large and x is near 1, loses digits (1e-14 relative at df = 1e3, 1e-13 at 1e4,
 * 7e-13 at 1e5, 3e-9 at 1e9): the tail is integrated instead. */
#define T_QUADRATURE_DF 1e3

/* log of the t density's kernel (1 + s^2/df)^(-(df+1)/2) */
static double log_kernel(double s, double df) { return -(df + 1) / 2 * log1p(s * s / df); }

/* P(T > t) for t >= 0: the density integrated from t to infinity by the exp-sinh rule
 * (s = t + w, w = exp(pi/2 sinh tau) / max(1, t), trapezoids in tau on |tau| <= 6, the step
 * halved until two estimates agree). Doubly exponential convergence: about 1e-15 relative. */
static double t_tail_by_quadrature(double t, double df) {
    double scale = 1 / fmax(1, t), at_t = log_kernel(t, df);
    if (at_t < -800) return 0;   /* below the smallest double, and log_kernel may be -inf */
    double h = 0.5, sum = 0, estimate = 0;
    for (int level = 0; level < 10; level++, h /= 2) {
        int kmax = (int)(6 / h);
        for (int k = -kmax; k <= kmax; k++) {
            if (level && k % 2 == 0) continue;   /* the even points are in sum already */
            double tau = k * h, w = exp(M_PI_2 * sinh(tau)) * scale;
            sum += exp(log_kernel(t + w, df) - at_t) * w * M_PI_2 * cosh(tau);
        }
        double previous = estimate;
        estimate = sum * h;
        if (level && fabs(estimate - previous) <= 1e-15 * estimate) break;
    }
    return estimate * exp(at_t - cx_lbeta(df / 2, 0.5) - 0.5 * log(df));
}

double cx_t_cdf(double t, double df) {
    if (isnan(t)) return NAN;
    if (isinf(t)) return t > 0 ? 1 : 0;   /* whatever df is, even an undefined one */
    if (isnan(df)) return NAN;
    if (t == 0) return 0.5;
    if (df > T_QUADRATURE_DF) {
        double tail = t_tail_by_quadrature(fabs(t), df);
        return t < 0 ? tail : 1 - tail;
    }
    /* P(T <= -|t|) = I_x(df/2, 1/2) / 2 with x = df / (df + t^2) */
    double t2 = t * t;
    double x = df / (df + t2), xc = t2 / (df + t2);
    if (isinf(t2)) x = 0, xc = 1;
    double lower, upper;
    cx_betainc(df / 2, 0.5, x, xc, &lower, &upper);
    return t < 0 ? 0.5 * lower : 0.5 + 0.5 * upper;
}

double cx_t_sf(double t, double df) { return cx_t_cdf(-t, df); }

double cx_t_pdf(double t, double df) { return exp(log_kernel(t, df) - cx_lbeta(df / 2, 0.5) - 0.5 * log(df)); }

/* The t > 0 with P(T > t) = tail, 0 < tail < 1/2: a bracket by doubling, then Newton steps
 * that fall back to bisection when they would leave it. */
static double t_upper_point(double tail, double df) {
    double lo = 0, hi = 1;
    while (cx_t_sf(hi, df) > tail) {
        lo = hi;
        hi *= 2;
        if (isinf(hi)) return hi;
    }
    double t = hi;
    for (int it = 0; it < 400; it++) {
        double excess = cx_t_sf(t, df) - tail;   /* the survival function falls as t grows */
        if (excess == 0) return t;
        if (excess > 0) lo = t;
        else hi = t;
        double next = t + excess / cx_t_pdf(t, df);
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (fabs(next - t) <= 4 * DBL_EPSILON * next) return next;
        t = next;
    }
    return t;
}

double cx_t_quantile(double p, double df) {
    if (!(p > 0 && p < 1) || !(df > 0)) return NAN;
    if (p == 0.5) return 0;
    return p < 0.5 ? -t_upper_point(p, df) : t_upper_point(1 - p, df);
}

double cx_normal_sf(double z) { return 0.5 * erfc(z * M_SQRT1_2); }

void cx_signed_rank_counts(int n, double *counts) {
    int64_t total = (int64_t)n * (n + 1) / 2;
    counts[0] = 1;
    for (int64_t s = 1; s <= total; s++) counts[s] = 0;
    /* add rank k: a sum s either leaves it out or comes from s - k */
    int64_t top = 0;
    for (int k = 1; k <= n; k++) {
        top += k;
        for (int64_t s = top; s >= k; s--) counts[s] += counts[s - k];
    }
}
