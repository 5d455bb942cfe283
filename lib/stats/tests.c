#include "stats/tests.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "stats/dist.h"

/* Above this many pairs the signed-rank p-value is the normal approximation (scipy 1.10's
 * method='auto' rule; the counts also stop being exact in doubles past 50). */
#define WILCOXON_EXACT_MAX 50

static const char *const test_names[] = {"paired", "welch", "student", "wilcoxon"};
static const char *const alternative_names[] = {"two-sided", "greater", "less"};

const char *cx_test_name(cx_test_kind test) { return test_names[test]; }
const char *cx_alternative_name(cx_alternative alt) { return alternative_names[alt]; }

static int parse_name(const char *name, const char *const *names, int n) {
    for (int k = 0; k < n; k++)
        if (!strcmp(name, names[k])) return k;
    return -1;
}

int cx_test_parse(const char *name) { return parse_name(name, test_names, 4); }
int cx_alternative_parse(const char *name) { return parse_name(name, alternative_names, 3); }

const char *cx_stars(double p) {
    if (p < 0.001) return "***";
    if (p < 0.01) return "**";
    if (p < 0.05) return "*";
    return "";
}

static double mean_of(const double *v, int64_t n) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += v[i];
    return sum / n;
}

/* Sample variance (n - 1 in the denominator), two passes. */
static double variance_of(const double *v, int64_t n, double mean) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (v[i] - mean) * (v[i] - mean);
    return sum / (n - 1);
}

static double t_pvalue(double t, double df, cx_alternative alt) {
    if (alt == CX_ALT_LESS) return cx_t_cdf(t, df);
    if (alt == CX_ALT_GREATER) return cx_t_sf(t, df);
    return fmin(1, 2 * cx_t_cdf(-fabs(t), df));
}

/* The interval for mean_diff with standard error se on df degrees of freedom; one-sided for
 * one-sided alternatives (as scipy's confidence_interval()). */
static void set_interval(cx_test_result *r, double se, double df) {
    double alpha = 1 - r->confidence;
    double q = 0;
    if (se > 0) q = cx_t_quantile(r->alternative == CX_ALT_TWO_SIDED ? 1 - alpha / 2 : 1 - alpha, df);
    r->ci_lo = r->alternative == CX_ALT_LESS ? -INFINITY : r->mean_diff - q * se;
    r->ci_hi = r->alternative == CX_ALT_GREATER ? INFINITY : r->mean_diff + q * se;
}

/* t = mean_diff / se and its p-value; with se = 0, t is +-inf, or undefined when mean_diff is 0
 * too. spread (the sd behind d) is 0 exactly when se is. */
static void set_t(cx_test_result *r, double se, double spread, bool paired) {
    r->statistic = r->mean_diff / se;
    r->cohen_d = r->mean_diff / spread;
    if (se == 0 && r->mean_diff == 0) {
        r->statistic = r->cohen_d = r->p = NAN;
        r->note = paired ? "every difference is 0: t, p and d are undefined"
                                 : "both samples are constant and equal: t, p and d are undefined";
        return;
    }
    if (se == 0)
        r->note = paired ? "the differences have zero variance: t and d are infinite, p is its limit"
                                 : "both samples have zero variance: t and d are infinite, p is its limit";
    r->p = t_pvalue(r->statistic, r->df, r->alternative);
}

static void paired_t(const double *a, const double *b, int64_t n, double *diff, cx_test_result *r) {
    for (int64_t i = 0; i < n; i++) diff[i] = a[i] - b[i];
    r->mean_diff = mean_of(diff, n);
    double sd = sqrt(variance_of(diff, n, r->mean_diff));
    double se = sd / sqrt((double)n);
    r->df = (double)(n - 1);
    set_interval(r, se, r->df);
    set_t(r, se, sd, true);
}

static void independent_t(const double *a, int64_t n_a, const double *b, int64_t n_b, bool equal_var,
                          cx_test_result *r) {
    double var_a = variance_of(a, n_a, r->mean_a), var_b = variance_of(b, n_b, r->mean_b);
    r->mean_diff = r->mean_a - r->mean_b;
    double pooled = ((n_a - 1) * var_a + (n_b - 1) * var_b) / (double)(n_a + n_b - 2);
    double se;
    if (equal_var) {
        r->df = (double)(n_a + n_b - 2);
        se = sqrt(pooled * (1.0 / n_a + 1.0 / n_b));
    } else {
        /* Welch-Satterthwaite: NaN (0/0) when both samples are constant */
        double g_a = var_a / n_a, g_b = var_b / n_b;
        r->df = (g_a + g_b) * (g_a + g_b) / (g_a * g_a / (n_a - 1) + g_b * g_b / (n_b - 1));
        se = sqrt(g_a + g_b);
    }
    set_interval(r, se, r->df);
    set_t(r, se, sqrt(pooled), false);
}

typedef struct { double magnitude; bool positive; } signed_rank;

static int by_magnitude(const void *x, const void *y) {
    double a = ((const signed_rank *)x)->magnitude, b = ((const signed_rank *)y)->magnitude;
    return (a > b) - (a < b);
}

/* The signed-rank test on the differences diff[n] (zero_method "wilcox": zeros are dropped
 * before ranking). The paired t fields (mean difference, interval, d) are already set. */
static void wilcoxon(const double *diff, int64_t n, cx_test_result *r) {
    signed_rank *ranked = cx_malloc((size_t)n * sizeof *ranked);
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++)
        if (diff[i] != 0) ranked[count++] = (signed_rank){fabs(diff[i]), diff[i] > 0};
    r->n_ranked = count;
    r->df = NAN;
    r->z = NAN;
    r->exact = false;
    if (count == 0) {
        r->statistic = r->p = NAN;
        r->note = "every difference is 0: W, p and d are undefined";
        free(ranked);
        return;
    }
    qsort(ranked, (size_t)count, sizeof *ranked, by_magnitude);
    /* ranks 1..count, tied magnitudes sharing their average rank; tie_term = sum (t^3 - t) */
    double r_plus = 0, r_minus = 0, tie_term = 0;
    for (int64_t i = 0; i < count;) {
        int64_t j = i;
        while (j < count && ranked[j].magnitude == ranked[i].magnitude) j++;
        double rank = 0.5 * (double)(i + 1 + j), run = (double)(j - i);
        tie_term += run * run * run - run;
        for (int64_t k = i; k < j; k++) *(ranked[k].positive ? &r_plus : &r_minus) += rank;
        i = j;
    }
    free(ranked);
    r->statistic = r->alternative == CX_ALT_TWO_SIDED ? fmin(r_plus, r_minus) : r_plus;
    r->exact = count == n && tie_term == 0 && n <= WILCOXON_EXACT_MAX;
    if (r->exact) {
        int64_t total = count * (count + 1) / 2, at = (int64_t)r_plus;
        double *counts = cx_malloc((size_t)(total + 1) * sizeof *counts);
        cx_signed_rank_counts((int)count, counts);
        /* sums of whole counts below 2^53 are exact; so are their scalings by 2^-count */
        double up = 0, down = 0;
        for (int64_t s = at; s <= total; s++) up += counts[s];
        for (int64_t s = 0; s <= at; s++) down += counts[s];
        free(counts);
        double p_greater = ldexp(up, -(int)count), p_less = ldexp(down, -(int)count);
        if (r->alternative == CX_ALT_GREATER) r->p = p_greater;
        else if (r->alternative == CX_ALT_LESS) r->p = p_less;
        else r->p = at == total / 2 ? 1 : fmin(1, 2 * fmin(p_greater, p_less));
        return;
    }
    double c = (double)count;
    double mean = c * (c + 1) / 4;
    double sd = sqrt((c * (c + 1) * (2 * c + 1) - 0.5 * tie_term) / 24);
    r->z = (r->statistic - mean) / sd;
    if (r->alternative == CX_ALT_GREATER) r->p = cx_normal_sf(r->z);
    else if (r->alternative == CX_ALT_LESS) r->p = cx_normal_sf(-r->z);
    else r->p = fmin(1, 2 * cx_normal_sf(fabs(r->z)));
    if (count < 10) r->note = "normal approximation (zeros or ties) on fewer than 10 non-zero differences";
}

static int check_values(const double *v, int64_t n, const char *side) {
    if (n < 2) return cx_err(EX_DATAERR, "%s has %lld value%s: a test needs at least 2", side, (long long)n, n == 1 ? "" : "s");
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return cx_err(EX_DATAERR, "%s: value %lld is not a finite number", side, (long long)i + 1);
    return 0;
}

int cx_test_run(cx_test_kind test, const double *a, int64_t n_a, const double *b, int64_t n_b,
                cx_alternative alternative, double confidence, cx_test_result *r) {
    memset(r, 0, sizeof *r);
    r->test = test;
    r->alternative = alternative;
    r->confidence = confidence;
    r->n_a = n_a;
    r->n_b = n_b;
    r->n_ranked = -1;
    r->z = NAN;
    if (!(confidence > 0 && confidence < 1)) return cx_err(EX_USAGE, "confidence %g is not between 0 and 1", confidence);
    bool paired = test == CX_TEST_PAIRED || test == CX_TEST_WILCOXON;
    if (paired && n_a != n_b)
        return cx_err(EX_DATAERR, "mismatched pairs: %lld values against %lld", (long long)n_a, (long long)n_b);
    if (check_values(a, n_a, "a") || check_values(b, n_b, "b")) return EX_DATAERR;
    r->mean_a = mean_of(a, n_a);
    r->mean_b = mean_of(b, n_b);
    if (!paired) {
        independent_t(a, n_a, b, n_b, test == CX_TEST_STUDENT, r);
        return 0;
    }
    double *diff = cx_malloc((size_t)n_a * sizeof *diff);
    paired_t(a, b, n_a, diff, r);
    if (test == CX_TEST_WILCOXON) {
        const char *t_note = r->note;
        r->note = NULL;
        wilcoxon(diff, n_a, r);
        if (!r->note && t_note) r->note = "the differences have zero variance: d is infinite";
    }
    free(diff);
    return 0;
}
