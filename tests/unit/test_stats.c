/* lib/stats: the incomplete beta, the t distribution and its quantile against 50-digit mpmath
 * values, every test against scipy 1.10 (p-values to 1e-10 relative; tests/data/ref/stats.cxs
 * from tests/ref/gen_stats.py), the exact signed-rank distribution against enumeration, and
 * the answers to degenerate data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "spatial_ref.h"
#include "stats/dist.h"
#include "stats/tests.h"
#include "test.h"

/* got within rtol of want, relative; infinities must match exactly. Names the case on failure. */
static bool near_rel(const char *id, const char *field, double got, double want, double rtol) {
    bool ok = isinf(want) ? got == want : CHECK_NEAR(got, want, rtol, 0);
    if (isinf(want)) CHECK(ok);
    if (!ok) printf("  case %s: %s = %.17g, want %.17g\n", id, field, got, want);
    return ok;
}

TEST(stats_betainc_against_mpmath) {
    ref_cases rc;
    if (!ref_open(&rc, "stats")) return;
    int seen = 0;
    while (ref_next(&rc)) {
        const cx_record *r = &rc.rec;
        if (!ref_is(r, "kind", "betainc")) continue;
        double lower, upper;
        cx_betainc(ref_num(r, "a"), ref_num(r, "b"), ref_num(r, "x"), ref_num(r, "xc"), &lower, &upper);
        /* the continued fraction loses about 3e-17 * max(a, b) relative (the case a = 5e5) */
        double rtol = fmax(1e-13, 3e-17 * fmax(ref_num(r, "a"), ref_num(r, "b")));
        near_rel(r->id, "lower", lower, ref_num(r, "lower"), rtol);
        near_rel(r->id, "upper", upper, ref_num(r, "upper"), rtol);
        seen++;
    }
    ref_close(&rc);
    CHECK(seen >= 10);
}

TEST(stats_t_distribution_against_mpmath_and_scipy) {
    ref_cases rc;
    if (!ref_open(&rc, "stats")) return;
    int seen = 0;
    while (ref_next(&rc)) {
        const cx_record *r = &rc.rec;
        if (ref_is(r, "kind", "tdist")) {
            double t = ref_num(r, "t"), df = ref_num(r, "df");
            double cdf = cx_t_cdf(t, df);
            near_rel(r->id, "cdf", cdf, ref_num(r, "cdf"), 1e-13);
            near_rel(r->id, "cdf (scipy)", cdf, ref_num(r, "scipy_cdf"), 1e-10);
            /* the two tails are computed apart and still add up to 1 */
            CHECK_NEAR(cx_t_sf(t, df) + cdf, 1.0, 1e-15, 0);
            seen++;
        } else if (ref_is(r, "kind", "tquantile")) {
            double t = cx_t_quantile(ref_num(r, "p"), ref_num(r, "df"));
            near_rel(r->id, "quantile", t, ref_num(r, "t"), 1e-12);
            seen++;
        }
    }
    ref_close(&rc);
    CHECK(seen >= 25);
}

/* The known closed forms, written without cancellation in the lower tail: df = 1 is the Cauchy
 * distribution, F(-s) = atan(1/s) / pi; df = 2 has F(-s) = 1 / (r (r + s)), r = sqrt(2 + s^2). */
TEST(stats_t_closed_forms) {
    for (double s = 0.3; s <= 1e4; s *= 1.9) {
        double r = sqrt(2 + s * s);
        CHECK_NEAR(cx_t_cdf(-s, 1), atan(1 / s) / M_PI, 1e-14, 0);
        CHECK_NEAR(cx_t_cdf(-s, 2), 1 / (r * (r + s)), 1e-14, 0);
        CHECK_NEAR(cx_t_cdf(s, 2), 1 - 1 / (r * (r + s)), 1e-15, 0);
        CHECK_NEAR(cx_t_pdf(s, 1), 1 / (M_PI * (1 + s * s)), 1e-14, 0);
    }
    CHECK_NEAR(cx_t_quantile(0.975, 1), tan(M_PI * 0.475), 1e-13, 0);
    CHECK(cx_t_cdf(INFINITY, 3) == 1 && cx_t_cdf(-INFINITY, 3) == 0 && cx_t_cdf(0, 3) == 0.5);
    /* tails beyond the smallest double, through the beta and through the quadrature */
    CHECK(cx_t_cdf(-1e200, 3) == 0 && cx_t_cdf(1e200, 3) == 1);
    CHECK(cx_t_cdf(-1e200, 1e5) == 0 && cx_t_cdf(1e200, 1e5) == 1 && cx_t_cdf(-300, 1e5) == 0);
}

TEST(stats_signed_rank_counts_against_enumeration) {
    for (int n = 1; n <= 12; n++) {
        int total = n * (n + 1) / 2;
        double *counts = malloc((size_t)(total + 1) * sizeof *counts);
        int *brute = calloc((size_t)total + 1, sizeof *brute);
        cx_signed_rank_counts(n, counts);
        for (int mask = 0; mask < (1 << n); mask++) {
            int s = 0;
            for (int k = 0; k < n; k++)
                if (mask >> k & 1) s += k + 1;
            brute[s]++;
        }
        bool same = true;
        for (int s = 0; s <= total; s++) same &= counts[s] == brute[s];
        CHECK(same);
        free(counts);
        free(brute);
    }
}

TEST(stats_tests_against_scipy) {
    ref_cases rc;
    if (!ref_open(&rc, "stats")) return;
    int seen = 0;
    while (ref_next(&rc)) {
        const cx_record *r = &rc.rec;
        if (!ref_is(r, "kind", "test")) continue;
        const cx_tensor *ta = cx_record_tensor(r, "a"), *tb = cx_record_tensor(r, "b");
        if (!CHECK(ta && tb && ta->dtype == CX_F64 && tb->dtype == CX_F64)) continue;
        int test = cx_test_parse(cx_map_str(&r->meta, "test", ""));
        int alt = cx_alternative_parse(cx_map_str(&r->meta, "alternative", ""));
        if (!CHECK(test >= 0 && alt >= 0)) continue;
        cx_test_result res;
        int rc_run = cx_test_run(test, ta->data, cx_tensor_numel(ta), tb->data, cx_tensor_numel(tb), alt,
                                 ref_num(r, "confidence"), &res);
        if (!CHECK(rc_run == 0)) {
            printf("  case %s: %s\n", r->id, cx_errmsg());
            continue;
        }
        /* the bar: p-values agree with scipy's to 1e-10 relative */
        near_rel(r->id, "p", res.p, ref_num(r, "p"), 1e-10);
        near_rel(r->id, "statistic", res.statistic, ref_num(r, "statistic"), 1e-12);
        near_rel(r->id, "mean_diff", res.mean_diff, ref_num(r, "mean_diff"), 1e-12);
        near_rel(r->id, "ci_lo", res.ci_lo, ref_num(r, "ci_lo"), 1e-11);
        near_rel(r->id, "ci_hi", res.ci_hi, ref_num(r, "ci_hi"), 1e-11);
        near_rel(r->id, "d", res.cohen_d, ref_num(r, "d"), 1e-12);
        if (test == CX_TEST_WILCOXON) {
            CHECK(res.exact == ref_flag(r, "exact"));
            CHECK(res.n_ranked == ref_int(r, "n_ranked"));
            CHECK(isnan(res.df));
        } else {
            near_rel(r->id, "df", res.df, ref_num(r, "df"), 1e-12);
            if (cx_map_get(&r->meta, "p_mpmath")) near_rel(r->id, "p (mpmath)", res.p, ref_num(r, "p_mpmath"), 1e-11);
        }
        if (cx_map_get(&r->meta, "scipy_ci_lo")) {
            near_rel(r->id, "ci_lo (scipy)", res.ci_lo, ref_num(r, "scipy_ci_lo"), 1e-9);
            near_rel(r->id, "ci_hi (scipy)", res.ci_hi, ref_num(r, "scipy_ci_hi"), 1e-9);
        }
        seen++;
    }
    ref_close(&rc);
    CHECK(seen >= 50);
}

TEST(stats_stars) {
    CHECK(!strcmp(cx_stars(0.0004), "***") && !strcmp(cx_stars(0.001), "**") && !strcmp(cx_stars(0.0099), "**"));
    CHECK(!strcmp(cx_stars(0.01), "*") && !strcmp(cx_stars(0.049), "*") && !strcmp(cx_stars(0.05), ""));
    CHECK(!strcmp(cx_stars(NAN), ""));
}

TEST(stats_degenerate_input_is_refused) {
    cx_test_result r;
    double one[1] = {1}, two[2] = {1, 2}, three[3] = {1, 2, 3}, bad[3] = {1, NAN, 3};
    CHECK(cx_test_run(CX_TEST_PAIRED, one, 1, one, 1, CX_ALT_GREATER, 0.95, &r) == EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "at least 2") != NULL);
    CHECK(cx_test_run(CX_TEST_WELCH, three, 3, one, 1, CX_ALT_GREATER, 0.95, &r) == EX_DATAERR);
    CHECK(cx_test_run(CX_TEST_PAIRED, two, 2, three, 3, CX_ALT_LESS, 0.95, &r) == EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "mismatched pairs") != NULL);
    CHECK(cx_test_run(CX_TEST_WILCOXON, bad, 3, three, 3, CX_ALT_LESS, 0.95, &r) == EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "value 2 is not a finite number") != NULL);
    CHECK(cx_test_run(CX_TEST_STUDENT, three, 3, three, 3, CX_ALT_LESS, 1.0, &r) == EX_USAGE);
    cx_err_clear();
}

TEST(stats_zero_variance_is_answered) {
    cx_test_result r;
    double a[4] = {1.5, 2.5, 3.5, 4.5}, b[4] = {1, 2, 3, 4}, same[4] = {2, 2, 2, 2}, other[4] = {3, 3, 3, 3};
    /* constant non-zero differences: t = +inf, p its limit */
    CHECK(cx_test_run(CX_TEST_PAIRED, a, 4, b, 4, CX_ALT_GREATER, 0.95, &r) == 0);
    CHECK(isinf(r.statistic) && r.statistic > 0 && r.p == 0 && isinf(r.cohen_d) && r.note);
    CHECK(r.ci_lo == 0.5 && isinf(r.ci_hi));
    CHECK(cx_test_run(CX_TEST_PAIRED, a, 4, b, 4, CX_ALT_LESS, 0.95, &r) == 0 && r.p == 1);
    /* every difference 0: undefined, and said so */
    CHECK(cx_test_run(CX_TEST_PAIRED, b, 4, b, 4, CX_ALT_TWO_SIDED, 0.95, &r) == 0);
    CHECK(isnan(r.statistic) && isnan(r.p) && isnan(r.cohen_d) && r.note && strstr(r.note, "undefined"));
    CHECK(cx_test_run(CX_TEST_WILCOXON, b, 4, b, 4, CX_ALT_GREATER, 0.95, &r) == 0);
    CHECK(r.n_ranked == 0 && isnan(r.p) && r.note && strstr(r.note, "undefined"));
    /* constant samples: Student has df, Welch's df is undefined but t = -inf still decides p */
    CHECK(cx_test_run(CX_TEST_STUDENT, same, 4, other, 4, CX_ALT_LESS, 0.95, &r) == 0);
    CHECK(isinf(r.statistic) && r.statistic < 0 && r.p == 0 && r.df == 6 && r.note);
    CHECK(cx_test_run(CX_TEST_WELCH, same, 4, other, 4, CX_ALT_TWO_SIDED, 0.95, &r) == 0);
    CHECK(isnan(r.df) && r.p == 0 && r.ci_lo == -1 && r.ci_hi == -1 && r.note);
    CHECK(cx_test_run(CX_TEST_WELCH, same, 4, same, 4, CX_ALT_TWO_SIDED, 0.95, &r) == 0);
    CHECK(isnan(r.p) && r.note && strstr(r.note, "undefined"));
}
