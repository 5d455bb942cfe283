/* Two-sample tests: Student's t paired, Welch's and Student's (pooled) t for independent
 * samples, and the Wilcoxon signed-rank test, with the mean difference, its confidence
 * interval and Cohen's d. The conventions follow scipy 1.10 (ttest_rel, ttest_ind, wilcoxon):
 * the difference is a - b, "greater" means the alternative a > b, and the p-values agree
 * with scipy's to 1e-10 relative (tests/ref/gen_stats.py).
 *
 * Degenerate data: fewer than 2 values (pairs) per side, a non-finite value or pairs of unequal
 * length are errors (EX_DATAERR recorded). Zero variance is an answer, not an error: when the
 * differences (or both samples) have zero variance and the mean difference is not 0, t and d
 * are +-inf, p is 0 or 1 (its limit, as scipy reports it) and the interval has zero width; when
 * the mean difference is 0 too, t, p and d are undefined (NaN). Either way `note` says so in
 * words, and the tools print it beside the numbers.
 */
#ifndef CX_STATS_TESTS_H
#define CX_STATS_TESTS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { CX_ALT_TWO_SIDED, CX_ALT_GREATER, CX_ALT_LESS } cx_alternative;
typedef enum { CX_TEST_PAIRED, CX_TEST_WELCH, CX_TEST_STUDENT, CX_TEST_WILCOXON } cx_test_kind;

typedef struct {
    cx_test_kind test;
    cx_alternative alternative;
    int64_t n_a, n_b;          /* values per side (paired tests: both the number of pairs) */
    double mean_a, mean_b;
    double mean_diff;          /* mean(a) - mean(b) (paired: also the mean of the differences) */
    double confidence;         /* of the interval, e.g. 0.95 */
    double ci_lo, ci_hi;       /* interval for mean_diff; one-sided alternatives leave one end infinite */
    double statistic;          /* t; Wilcoxon: W (scipy's: the smaller rank sum when two-sided, else r+) */
    double df;                 /* NaN for Wilcoxon and for Welch when both samples are constant */
    double p;
    /* Cohen's d. Paired tests (Wilcoxon too): mean difference / sd of the differences (d_z).
     * Welch and Student: mean difference / pooled sd, sqrt(((n_a-1) s_a^2 + (n_b-1) s_b^2) / (n_a+n_b-2)). */
    double cohen_d;
    /* Wilcoxon: the number of non-zero differences ranked, whether p is exact (no zeros, no ties,
     * n <= 50) or the normal approximation with the tie correction, and then its z. */
    int64_t n_ranked;
    bool exact;
    double z;
    const char *note;          /* NULL, or why a value is infinite or undefined */
} cx_test_result;

/* Run one test. a has n_a values, b n_b; the paired tests need n_a == n_b (pair i = a[i], b[i]).
 * confidence in (0, 1). 0 or EX_DATAERR (recorded). */
int cx_test_run(cx_test_kind test, const double *a, int64_t n_a, const double *b, int64_t n_b,
                cx_alternative alternative, double confidence, cx_test_result *r);

/* "***" p < 0.001, "**" p < 0.01, "*" p < 0.05, else "" (also for an undefined p). */
const char *cx_stars(double p);

const char *cx_test_name(cx_test_kind test);            /* "paired", "welch", "student", "wilcoxon" */
const char *cx_alternative_name(cx_alternative alt);    /* "two-sided", "greater", "less" */
/* Parse those names; -1 when unknown. */
int cx_test_parse(const char *name);
int cx_alternative_parse(const char *name);

#endif
