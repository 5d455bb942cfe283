"""Reference values for lib/stats and stat-ttest, from scipy 1.10 and 50-digit mpmath.

Run from the repository root with Debian's Python (python3-scipy, python3-mpmath):

    /usr/bin/python3 tests/ref/gen_stats.py

It writes, deterministically (a rerun reproduces every byte):
  tests/data/ref/stats.cxs   one record per case (tests/unit/test_stats.c reads them):
     kind "betainc":  meta a, b, x, xc = 1 - x; lower, upper = I_x(a, b), 1 - I_x(a, b) (mpmath)
     kind "tdist":    meta t, df; cdf (mpmath), scipy_cdf (scipy.special.stdtr)
     kind "tquantile": meta p, df; t (mpmath root of the CDF), scipy_t (scipy.stats.t.ppf)
     kind "test":     tensors a, b (f64); meta test (paired|welch|student|wilcoxon), alternative,
                      confidence, and the expected statistic, df, p (scipy), mean_diff, ci_lo,
                      ci_hi (mpmath t quantile), d, exact (Wilcoxon)
  tests/data/ref/stats_metrics.tsv   a summary table (18 backbones x mdmt/stl/ft, cv and loco)
  tests/data/ref/stats_metrics.expect.tsv   scipy's answers to the paper's questions on it
     (tests/bats/stat-ttest.bats compares the tool's TSV output with them)

Wilcoxon: stat-ttest uses the exact null distribution when there are no zero and no tied
differences and n <= 50, the normal approximation with the tie correction otherwise. scipy
1.10's method='auto' agrees except for ties without zeros, where it keeps the exact path with
a truncated rank sum; those cases are generated with method='approx', the computation
stat-ttest does.
"""
import os
import sys
import warnings

import mpmath as mp
import numpy as np
import scipy
import scipy.special as sp
import scipy.stats as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cxstream  # noqa: E402

assert scipy.__version__.startswith("1.10"), scipy.__version__
mp.mp.dps = 50
# scipy's warnings about zero differences and constant data are the cases meant here
warnings.simplefilter("ignore")
OUT = "tests/data/ref"
ARGV = ["tests/ref/gen_stats.py"]
records = []


def put(rid, meta, tensors=None):
    records.append((rid, meta, tensors or {}))


# ---------------------------------------------------------------- distributions

def mp_tcdf(t, df):
    t, df = mp.mpf(t), mp.mpf(df)
    tail = mp.betainc(df / 2, mp.mpf(1) / 2, 0, df / (df + t * t), regularized=True) / 2
    return tail if t < 0 else 1 - tail


def mp_tquantile(p, df):
    """The t with CDF p, by Newton steps in 50 digits from scipy's value."""
    t = mp.mpf(st.t.ppf(p, df))
    df_m = mp.mpf(df)
    for _ in range(8):
        pdf = mp.gamma((df_m + 1) / 2) / (mp.sqrt(df_m * mp.pi) * mp.gamma(df_m / 2)) * (1 + t * t / df_m) ** (-(df_m + 1) / 2)
        t -= (mp_tcdf(t, df) - mp.mpf(p)) / pdf
    return t


for a, b, x in [(0.5, 0.5, 0.3), (2.0, 3.0, 0.4), (8.5, 0.5, 0.9), (0.5, 8.5, 0.1), (50.0, 0.5, 0.999),
                (5e5, 0.5, 0.99999), (1.5, 30.0, 0.002), (30.0, 1.5, 0.998), (200.0, 300.0, 0.41),
                (0.5, 0.5, 1e-12), (3.0, 0.5, 1e-20), (12.0, 15.0, 0.95), (1e-3, 2.0, 0.5)]:
    xm = mp.mpf(x)
    lower = mp.betainc(a, b, 0, xm, regularized=True)
    put("betainc-%g-%g-%g" % (a, b, x), {"kind": "betainc", "a": a, "b": b, "x": x, "xc": float(1 - xm),
                                           "lower": float(lower), "upper": float(1 - lower)})

for t, df in [(-40.0, 3.0), (-3.3, 17.37), (-1.5, 2.5), (-0.3, 1e6), (-30.0, 10.5), (-12.0, 17.0),
              (-5.0, 1e5), (-1.7, 1e6), (2.1, 1.0), (-2.1, 1.0), (0.5, 2.0), (1e-8, 5.0),
              (-1e6, 1.0), (-60.0, 9.0), (-45.0, 26.4), (4.0, 30.0), (-8.0, 1e6), (7.5, 4.0),
              (-5.0, 999.0), (-5.0, 1001.0), (-5.0, 9999.0), (-8.0, 1e9), (-1.75, 1e9), (3.0, 1e7), (-38.0, 1e4)]:
    put("tdist-%g-%g" % (t, df), {"kind": "tdist", "t": t, "df": df, "cdf": float(mp_tcdf(t, df)),
                                  "scipy_cdf": float(sp.stdtr(df, t))})

for p, df in [(0.975, 1.0), (0.975, 17.0), (0.95, 17.0), (0.995, 2.0), (0.025, 5.5), (0.9995, 3.0),
              (0.95, 1e5), (0.6, 40.0), (0.999, 1.0)]:
    put("tquantile-%g-%g" % (p, df), {"kind": "tquantile", "p": p, "df": df, "t": float(mp_tquantile(p, df)),
                                      "scipy_t": float(st.t.ppf(p, df))})


# ---------------------------------------------------------------- tests

def interval(md, se, df, alt, conf):
    if se == 0:
        q = 0.0
    else:
        q = float(mp_tquantile(1 - (1 - conf) / 2 if alt == "two-sided" else conf, df))
    lo = -np.inf if alt == "less" else md - q * se
    hi = np.inf if alt == "greater" else md + q * se
    return lo, hi


def test_case(rid, test, a, b, alt, conf=0.95):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    meta = {"kind": "test", "test": test, "alternative": alt, "confidence": conf}
    if test in ("paired", "wilcoxon"):
        d = a - b
        md, sd = d.mean(), d.std(ddof=1)
        se, df = sd / np.sqrt(len(d)), len(d) - 1.0
        cohen = md / sd
        res = st.ttest_rel(a, b, alternative=alt)
        if test == "paired":
            lo_s, hi_s = res.confidence_interval(conf)
            if not (np.isnan(lo_s) or np.isnan(hi_s)):   # scipy: NaN for zero variance
                meta.update(scipy_ci_lo=float(lo_s), scipy_ci_hi=float(hi_s))
    else:
        na, nb = len(a), len(b)
        va, vb = a.var(ddof=1), b.var(ddof=1)
        md = a.mean() - b.mean()
        pooled = ((na - 1) * va + (nb - 1) * vb) / (na + nb - 2)
        cohen = md / np.sqrt(pooled)
        if test == "student":
            df, se = na + nb - 2.0, np.sqrt(pooled * (1 / na + 1 / nb))
        else:
            ga, gb = va / na, vb / nb
            df, se = (ga + gb) ** 2 / (ga * ga / (na - 1) + gb * gb / (nb - 1)), np.sqrt(ga + gb)
        res = st.ttest_ind(a, b, equal_var=test == "student", alternative=alt)
    lo, hi = interval(md, se, df, alt, conf)
    meta.update(mean_diff=float(md), ci_lo=float(lo), ci_hi=float(hi), d=float(cohen))
    if test == "wilcoxon":
        w, exact, n_ranked = wilcoxon_ref(a, b, alt)
        meta.update(statistic=float(w.statistic), p=float(w.pvalue), exact=int(exact), n_ranked=n_ranked)
    else:
        meta.update(statistic=float(res.statistic), df=float(df), p=float(res.pvalue))
        # the p-value once more from 50 digits, to show where scipy itself stands
        meta["p_mpmath"] = float(pvalue_mp(float(res.statistic), df, alt))
    put(rid, meta, {"a": a, "b": b})


def wilcoxon_ref(a, b, alt):
    """scipy's signed-rank test with stat-ttest's choice of method (see the top of this file)."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    nz = d[d != 0]
    ties = len(np.unique(np.abs(nz))) < len(nz)
    exact = len(nz) == len(d) and not ties and len(d) <= 50
    w = st.wilcoxon(a, b, alternative=alt, method="exact" if exact else "approx")
    if exact:
        auto = st.wilcoxon(a, b, alternative=alt)
        assert auto.pvalue == w.pvalue and auto.statistic == w.statistic
    return w, exact, len(nz)


def pvalue_mp(t, df, alt):
    if alt == "less":
        return mp_tcdf(t, df)
    if alt == "greater":
        return mp_tcdf(-t, df)
    return 2 * mp_tcdf(-abs(t), df)


rng = np.random.RandomState(20240508)
ALTS = ("greater", "less", "two-sided")

# the paper's shape: 18 backbones, MDMT a little better than STL
stl = rng.uniform(0.6, 0.72, 18)
mdmt = stl + rng.normal(0.025, 0.02, 18)
for alt in ALTS:
    for test in ("paired", "welch", "student", "wilcoxon"):
        test_case("%s-18-%s" % (test, alt), test, mdmt, stl, alt)
test_case("paired-18-conf99", "paired", mdmt, stl, "two-sided", 0.99)

# p near 0 (about 1e-30) and near 1
base = rng.normal(0, 1, 12)
strong = base + 1 + rng.normal(0, 1e-3, 12)
test_case("paired-tiny-p", "paired", strong, base, "greater")
test_case("paired-p-near-1", "paired", strong, base, "less")
test_case("welch-tiny-p", "welch", rng.normal(10, 0.01, 15), rng.normal(0, 0.01, 11), "greater")
test_case("student-p-near-1", "student", rng.normal(0, 1, 9), rng.normal(3, 1, 9), "greater")

# n = 2 (df = 1), non-integer Welch df, unequal sizes, large df
test_case("paired-n2", "paired", [0.71, 0.69], [0.66, 0.68], "greater")
test_case("paired-n2-two-sided", "paired", [0.71, 0.69], [0.66, 0.68], "two-sided")
test_case("student-n2", "student", [1.0, 2.0], [2.5, 4.0], "two-sided")
test_case("welch-df1ish", "welch", [1.0, 1.1], [2.0, 5.0, 9.0, 3.0, 7.0, 4.0], "less")
test_case("welch-unequal", "welch", rng.normal(0.3, 0.5, 5), rng.normal(0, 2, 13), "two-sided")
test_case("student-unequal", "student", rng.normal(0.3, 0.5, 5), rng.normal(0, 2, 13), "greater")
test_case("welch-large-df", "welch", rng.normal(0.05, 1, 3000), rng.normal(0, 1.3, 2000), "greater")
test_case("paired-large-df", "paired", rng.normal(0.02, 1, 5000), rng.normal(0, 1, 5000), "two-sided")

# Wilcoxon: exact small and at the limit, normal approximation above it, zeros, ties, n = 2
w_a = rng.normal(0, 1, 60)
w_b = w_a - rng.normal(0.3, 1, 60)
for n in (2, 5, 18, 50, 51, 60):
    for alt in ALTS:
        test_case("wilcoxon-%d-%s" % (n, alt), "wilcoxon", w_a[:n], w_b[:n], alt)
zeros_a = np.array([0.70, 0.65, 0.66, 0.72, 0.60, 0.68, 0.71, 0.64, 0.69, 0.62, 0.67, 0.66])
zeros_b = zeros_a - np.array([0.02, 0.0, 0.01, 0.03, -0.01, 0.0, 0.04, 0.02, 0.05, 0.01, -0.02, 0.03])
for alt in ALTS:
    test_case("wilcoxon-zeros-%s" % alt, "wilcoxon", zeros_a, zeros_b, alt)
ties_b = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0])
ties_a = ties_b + np.array([1, -1, 2, 2, 3, -2, 1, 4, 4, 4, -3, 5, 1, 2], np.float64)
for alt in ALTS:
    test_case("wilcoxon-ties-%s" % alt, "wilcoxon", ties_a, ties_b, alt)
test_case("wilcoxon-all-positive", "wilcoxon", np.arange(10.0) + 0.5 * np.arange(1, 11), np.arange(10.0), "greater")
# degenerate but answered: constant non-zero differences (t = +-inf)
test_case("paired-constant-diff", "paired", [1.5, 2.5, 3.5, 4.5], [1.0, 2.0, 3.0, 4.0], "greater")


def write_stream(path):
    with open(path, "wb") as f:
        w = cxstream.Writer(f, cxstream.header("stats-reference", tool="gen_stats.py", argv=ARGV))
        for rid, meta, tensors in records:
            w.put(rid, meta, tensors)
        w.close()


# ---------------------------------------------------------------- the tool's table

BACKBONES = ["densenet121", "densenet161", "densenet169", "densenet201", "efficientnet_b0",
             "efficientnet_b1_pruned", "efficientnet_es", "efficientnet_es_pruned", "efficientnet_lite0",
             "googlenet", "mobilenet_v2", "resnet18", "resnet34", "resnet50", "resnet101",
             "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "wide_resnet50_2"]
COLUMNS = ["acc_mean", "f1_mean", "gmean_mean", "acc_std", "f1_std", "gmean_std"]


def write_table():
    trng = np.random.RandomState(7)
    rows = []
    for protocol in ("cv", "loco"):
        base = trng.uniform(0.58, 0.7, (18, 3))
        spread = trng.uniform(0.02, 0.08, (18, 3))
        shift = {"stl": (0.0, 0.0), "ft": (0.02, -0.004), "mdmt": (0.03, -0.008)}
        for experiment in ("stl", "ft", "mdmt"):
            up, down = shift[experiment]
            means = base + up + trng.normal(0, 0.012, (18, 3))
            stds = spread + down + trng.normal(0, 0.006, (18, 3))
            for k, bb in enumerate(BACKBONES):
                vals = ["%.4f" % v for v in list(means[k]) + list(stds[k])]
                rows.append([bb, experiment, protocol, "prognosis"] + vals)
    with open(os.path.join(OUT, "stats_metrics.tsv"), "w") as f:
        f.write("\t".join(["backbone", "experiment", "protocol", "task"] + COLUMNS) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    # the answers: paired by backbone, a = mdmt, greater for means, less for stds
    with open(os.path.join(OUT, "stats_metrics.expect.tsv"), "w") as f:
        f.write("protocol\tcolumn\tb\ttest\talternative\tn\tstatistic\tdf\tp\n")
        for protocol in ("cv", "loco"):
            for other in ("stl", "ft"):
                for col in COLUMNS:
                    alt = "greater" if col.endswith("_mean") else "less"
                    ci = COLUMNS.index(col)
                    a = [float(r[4 + ci]) for r in rows if r[1] == "mdmt" and r[2] == protocol]
                    b = [float(r[4 + ci]) for r in rows if r[1] == other and r[2] == protocol]
                    for test in ("paired", "welch", "student", "wilcoxon"):
                        if test == "paired":
                            res, df = st.ttest_rel(a, b, alternative=alt), 17
                        elif test == "wilcoxon":
                            res, df = wilcoxon_ref(a, b, alt)[0], ""
                        else:
                            res = st.ttest_ind(a, b, equal_var=test == "student", alternative=alt)
                            va, vb = np.var(a, ddof=1) / 18, np.var(b, ddof=1) / 18
                            df = 34 if test == "student" else (va + vb) ** 2 / (va * va / 17 + vb * vb / 17)
                        f.write("%s\t%s\t%s\t%s\t%s\t18\t%r\t%s\t%r\n" % (protocol, col, other, test, alt,
                                                                      float(res.statistic),
                                                                      df if df == "" else repr(float(df)),
                                                                      float(res.pvalue)))


write_stream(os.path.join(OUT, "stats.cxs"))
write_table()
