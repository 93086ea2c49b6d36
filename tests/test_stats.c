/* test_stats.c: core/stats.h against references computed without it:
 * published t tables, closed forms of the t distribution for df 1 to 4
 * (Abramowitz and Stegun 26.7), hand-worked examples, a brute-force count of
 * the Mann-Whitney null distribution, and values from mpmath 1.3.0 at 50
 * digits (scipy was not installed). The mpmath values came from
 *   cdf(t, v) = betainc(v/2, 1/2, 0, v/(v+t^2), regularized=True) / 2 for
 *   t < 0 (1 minus it for t > 0), and quantiles by 400 bisection steps on it,
 * an independent implementation of the same definition, at p and t as the
 * doubles written here (0.5000000001 is 0.5 + 1.0000000083e-10). */
#include "core/stats.h"
#include "check.h"

#include <math.h>
#include <stddef.h>

#define PI 3.14159265358979323846

static int close_rel(double x, double ref, double tol) { return fabs(x - ref) <= tol * fabs(ref); }

/* ---- mean and variance ---------------------------------------------------- */

static void test_mean_var(void) {
    double mean, var;
    CHECK(stats_mean_var((double[]){1, 2, 3, 4}, 4, &mean, &var) == STATS_OK, "1..4");
    CHECK(mean == 2.5 && close_rel(var, 5.0 / 3, 1e-15), "1..4: mean %.17g var %.17g, want 2.5 and 5/3", mean, var);
    /* A large offset: the naive sum-of-squares formula loses every digit here. */
    CHECK(stats_mean_var((double[]){1e9 + 1, 1e9 + 2, 1e9 + 3}, 3, &mean, &var) == STATS_OK, "offset");
    CHECK(var == 1, "1e9 + 1..3: var %.17g, want 1", var);
    /* At the resolution of doubles (spacing 0.5 here) the rounded mean is
     * off by a quarter of the spread; the correction term of the two-pass
     * formula removes that. Exact: six values x, one x + 0.5, var = 1/28. */
    double fine[] = {3333333333333333.5, 3333333333333333.5, 3333333333333333.5, 3333333333333333.5,
                     3333333333333333.5, 3333333333333334.0, 3333333333333333.5};
    CHECK(stats_mean_var(fine, 7, &mean, &var) == STATS_OK && close_rel(var, 1.0 / 28, 1e-14),
          "values 0.5 apart near 3.3e15: var %.17g, want 1/28", var);
    CHECK(stats_mean_var((double[]){0.1, 0.1, 0.1}, 3, &mean, &var) == STATS_OK && var == 0 && mean == 0.1,
          "a constant sample: mean %.17g var %.17g", mean, var);
    CHECK(stats_mean_var((double[]){7}, 1, &mean, &var) == STATS_TOO_FEW && mean == 7 && isnan(var), "n = 1");
    CHECK(stats_mean_var(NULL, 0, &mean, &var) == STATS_TOO_FEW && isnan(mean) && isnan(var), "n = 0");
    CHECK(stats_mean_var((double[]){1, NAN}, 2, &mean, &var) == STATS_NOT_FINITE && isnan(mean), "NaN in");
    CHECK(stats_status_name(STATS_ZERO_VARIANCE)[0] != '\0' && stats_status_name(STATS_STATUS_COUNT)[0] != '\0',
          "status names");
}

/* ---- Student's t ------------------------------------------------------------ */

static void test_t_tables(void) {
    /* t_{0.975} to three decimals, the common printed table (e.g. NIST/SEMATECH
     * e-Handbook 1.3.6.7.2), df 1..30. */
    static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                   2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                   2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    for (int df = 1; df <= 30; df++) {
        double t = stats_t_quantile(0.975, df);
        CHECK(fabs(t - table[df - 1]) <= 5e-4, "t_0.975(%d) = %.6f, table %.3f", df, t, table[df - 1]);
    }
    /* Six-decimal tables. */
    static const struct {
        double df, t;
    } six[] = {{1, 12.706205}, {10, 2.228139}, {30, 2.042272}, {60, 2.000298}, {120, 1.979930}};
    for (size_t i = 0; i < sizeof six / sizeof six[0]; i++) {
        double t = stats_t_quantile(0.975, six[i].df);
        CHECK(fabs(t - six[i].t) <= 5e-7, "t_0.975(%g) = %.8f, table %.6f", six[i].df, t, six[i].t);
    }
}

/* Closed forms (A&S 26.7.3, 26.7.4 with theta = atan(t / sqrt(df))):
 * df 1: 1/2 + theta/pi;  df 2: 1/2 + t / (2 sqrt(2 + t^2));
 * df 3: 1/2 + (theta + sin theta cos theta) / pi. Quantiles: df 1:
 * -1/tan(pi p); df 2: (2p - 1) / sqrt(2 p (1 - p)); df 4: with
 * a = 4p(1 - p), q = cos(acos(sqrt a) / 3) / sqrt a, t = sign(p - 1/2) 2 sqrt(q - 1). */
static double closed_cdf(double t, int df) {
    double theta = atan(t / sqrt(df));
    if (df == 1) return 0.5 + theta / PI;
    if (df == 2) return 0.5 + t / (2 * sqrt(2 + t * t));
    return 0.5 + (theta + sin(theta) * cos(theta)) / PI;
}

static double closed_quantile(double p, int df) {
    if (df == 1) return -1 / tan(PI * p);
    if (df == 2) return (2 * p - 1) / sqrt(2 * p * (1 - p));
    double a = 4 * p * (1 - p), q = cos(acos(sqrt(a)) / 3) / sqrt(a);
    return (p < 0.5 ? -2 : 2) * sqrt(q - 1);
}

static void test_t_closed_forms(void) {
    static const double ts[] = {-30, -4.5, -1, -0.2, 0.05, 0.7, 2, 12.5};
    for (int df = 1; df <= 3; df++)
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            double got = stats_t_cdf(ts[i], df), want = closed_cdf(ts[i], df);
            CHECK(fabs(got - want) <= 1e-14, "cdf(%g, %d) = %.17g, closed form %.17g", ts[i], df, got, want);
        }
    static const double ps[] = {1e-6, 0.025, 0.3, 0.6, 0.975, 0.999};
    static const int dfs[] = {1, 2, 4};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
            double got = stats_t_quantile(ps[i], dfs[k]), want = closed_quantile(ps[i], dfs[k]);
            CHECK(close_rel(got, want, 1e-11), "quantile(%g, %d) = %.17g, closed form %.17g", ps[i], dfs[k], got, want);
        }
}

static void test_t_reference(void) {
    static const struct {
        double p, df, t;
    } quantiles[] = {
        {0.975, 1, 12.706204736174705},
        {0.975, 3, 3.1824463052837096},
        {0.975, 4.5, 2.6589123472044038},
        {0.975, 10, 2.2281388519862747},
        {0.975, 30, 2.0422724563012383},
        {0.975, 0.5, 164.55767348048853},
        {0.975, 1000, 1.9623390808264085},
        {1e-10, 3, -2225.7692846830932},
        {0.5000000001, 5, 2.6343057421036888e-10},
        {0.9, 2.2, 1.8123849217763527},
        {0.001, 7.3, -4.6888659935383738},
        /* Next to the centre, 0.5 +- 2^-45, where 1 - P(|T| < t) keeps only
         * three digits of the tail. */
        {0x1.0000000000100p-1, 5, 7.4871466158022952e-14},
        {0x1.ffffffffffe00p-2, 0.8, -9.3526798943887897e-14},
    };
    for (size_t i = 0; i < sizeof quantiles / sizeof quantiles[0]; i++) {
        double t = stats_t_quantile(quantiles[i].p, quantiles[i].df);
        CHECK(close_rel(t, quantiles[i].t, 1e-11), "quantile(%.10g, %g) = %.17g, mpmath %.17g", quantiles[i].p,
              quantiles[i].df, t, quantiles[i].t);
    }
    static const struct {
        double t, df, p;
    } cdfs[] = {
        {2.5, 4.5, 0.97004715674889973},      {-3, 7.3, 0.0094902755115667532},   {0.1, 2.2, 0.53563893197940206},
        {-40, 1.5, 0.0014898121954656227},    {1.96, 1000, 0.97486340752212564},  {-8, 3, 0.0020382887938927341},
        {1e-6, 6, 0.50000038273277231},       {-1e5, 3, 1.1026577904466273e-15},  {-50, 30, 9.3577088296113563e-31},
        {-1e200, 1, 3.1830988618379068e-201}, {-1e3, 0.7, 0.0024690021703500874}, {-3, 1e4, 0.0013532240949988331},
        {2, 0.3, 0.71786515051960863},
    };
    for (size_t i = 0; i < sizeof cdfs / sizeof cdfs[0]; i++) {
        double p = stats_t_cdf(cdfs[i].t, cdfs[i].df);
        CHECK(close_rel(p, cdfs[i].p, 1e-11), "cdf(%g, %g) = %.17g, mpmath %.17g", cdfs[i].t, cdfs[i].df, p, cdfs[i].p);
    }
}

/* The quantile inverts the cdf across tails, centre and df. */
static void test_t_round_trip(void) {
    static const double ps[] = {1e-12, 1e-3, 0.1, 0.4999, 0.5, 0.75, 0.999999};
    static const double dfs[] = {0.3, 1, 2.5, 7, 40, 1e4};
    for (size_t k = 0; k < sizeof dfs / sizeof dfs[0]; k++)
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
            double p = stats_t_cdf(stats_t_quantile(ps[i], dfs[k]), dfs[k]);
            double q = ps[i] < 0.5 ? ps[i] : 1 - ps[i], back = ps[i] < 0.5 ? p : 1 - p;
            CHECK(close_rel(back, q, 1e-10), "cdf(quantile(%g, %g)) = %.17g", ps[i], dfs[k], p);
        }
}

static void test_t_edges(void) {
    CHECK(stats_t_quantile(0, 3) == -INFINITY && stats_t_quantile(1, 3) == INFINITY, "p = 0, 1");
    CHECK(stats_t_quantile(0.5, 3) == 0 && stats_t_cdf(0, 3) == 0.5, "the centre");
    CHECK(isnan(stats_t_quantile(-0.1, 3)) && isnan(stats_t_quantile(1.5, 3)) && isnan(stats_t_quantile(NAN, 3)),
          "p outside [0, 1]");
    CHECK(isnan(stats_t_quantile(0.9, 0)) && isnan(stats_t_cdf(1, -2)) && isnan(stats_t_cdf(1, NAN)) &&
              isnan(stats_t_cdf(1, INFINITY)) && isnan(stats_t_quantile(0.9, 2 * STATS_T_MAX_DF)),
          "df outside (0, STATS_T_MAX_DF]");
    CHECK(stats_t_cdf(INFINITY, 2) == 1 && stats_t_cdf(-INFINITY, 2) == 0 && isnan(stats_t_cdf(NAN, 2)), "t = inf");
}

/* ---- t intervals ------------------------------------------------------------ */

static void test_welch(void) {
    /* a: mean 3, variance 10/4 = 2.5; b: mean 8, variance 70/5 = 14.
     * se^2 = 2.5/5 + 14/6 = 17/6, t = 5 / sqrt(17/6) = 2.9704426289300229,
     * df = (17/6)^2 / ((1/2)^2/4 + (7/3)^2/5) = (289/36) / (829/720) = 5780/829.
     * p = 2 P(T > t) and the half-width t_0.975(df) sqrt(17/6) from mpmath. */
    double a[] = {1, 2, 3, 4, 5}, b[] = {3, 5, 7, 9, 11, 13};
    double diff, half, df, p;
    CHECK(stats_welch(a, 5, b, 6, &diff, &half, &df, &p) == STATS_OK, "welch");
    CHECK(diff == 5, "diff %.17g, want 5", diff);
    CHECK(close_rel(df, 5780.0 / 829, 1e-14), "df %.17g, want 5780/829", df);
    CHECK(close_rel(p, 0.020890722943256892, 1e-11), "p %.17g, mpmath 0.020890722943256892", p);
    CHECK(close_rel(half, 3.9834686956288321, 1e-11), "half %.17g, mpmath 3.9834686956288321", half);
    double diff2, half2, df2, p2;
    CHECK(stats_welch(b, 6, a, 5, &diff2, &half2, &df2, &p2) == STATS_OK && diff2 == -5 && close_rel(p2, p, 1e-15) &&
              close_rel(half2, half, 1e-15),
          "swapped: diff %g p %.17g", diff2, p2);
}

static void test_welch_edges(void) {
    double a[] = {1, 2, 3, 4, 5};
    double diff, half, df, p;
    /* b constant: df = (va/na)^2 / ((va/na)^2 / (na - 1)) = na - 1 = 4. */
    CHECK(stats_welch(a, 5, (double[]){6, 6, 6}, 3, &diff, &half, &df, &p) == STATS_OK && close_rel(df, 4, 1e-15),
          "one constant sample: df %.17g, want 4", df);
    CHECK(stats_welch((double[]){2, 2, 2}, 3, (double[]){2, 2}, 2, &diff, &half, &df, &p) == STATS_ZERO_VARIANCE &&
              diff == 0 && p == 1 && isnan(half) && isnan(df),
          "constant, equal: diff %g p %g half %g", diff, p, half);
    CHECK(stats_welch((double[]){1, 1}, 2, (double[]){2, 2}, 2, &diff, &half, &df, &p) == STATS_ZERO_VARIANCE &&
              diff == 1 && p == 0 && isnan(half),
          "constant, unequal: diff %g p %g", diff, p);
    CHECK(stats_welch(a, 5, (double[]){9}, 1, &diff, &half, &df, &p) == STATS_TOO_FEW && diff == 6 && isnan(half) &&
              isnan(p),
          "one value: diff %g half %g", diff, half);
    CHECK(stats_welch(a, 5, NULL, 0, &diff, &half, &df, &p) == STATS_TOO_FEW && isnan(diff), "empty");
    CHECK(stats_welch(a, 5, (double[]){1, INFINITY}, 2, &diff, &half, &df, &p) == STATS_NOT_FINITE && isnan(diff),
          "inf in");
}

static void test_paired(void) {
    /* d = b - a = [1, 2, 1, 3]: mean 1.75, variance 2.75/3 = 11/12, se = sqrt(11/48),
     * t = 1.75 / se = 3.6556307750696546 on 3 df; p = 1 - A(t|3) with
     * A(t|3) = (2/pi)(theta + sin theta cos theta), theta = atan(t / sqrt 3)
     * (A&S 26.7.3); the half-width t_0.975(3) se = 3.1824463052837096 se. */
    double a[] = {10, 12, 14, 16}, b[] = {11, 14, 15, 19};
    double diff, half, df, p;
    CHECK(stats_paired(a, b, 4, &diff, &half, &df, &p) == STATS_OK, "paired");
    double se = sqrt(11.0 / 48), theta = atan(1.75 / se / sqrt(3));
    double p_closed = 1 - 2 / PI * (theta + sin(theta) * cos(theta));
    CHECK(diff == 1.75 && df == 3, "diff %.17g df %g", diff, df);
    CHECK(close_rel(p, p_closed, 1e-12) && close_rel(p, 0.035352847002517387, 1e-11), "p %.17g, closed form %.17g", p,
          p_closed);
    CHECK(close_rel(half, 3.1824463052837096 * se, 1e-12), "half %.17g", half);
    CHECK(stats_paired(a, a, 4, &diff, &half, &df, &p) == STATS_ZERO_VARIANCE && diff == 0 && p == 1 && isnan(half),
          "identical pairs: p %g", p);
    CHECK(stats_paired((double[]){1, 2}, (double[]){3, 4}, 2, &diff, &half, &df, &p) == STATS_ZERO_VARIANCE &&
              diff == 2 && p == 0,
          "a constant shift: p %g", p);
    CHECK(stats_paired(a, b, 1, &diff, &half, &df, &p) == STATS_TOO_FEW && diff == 1 && isnan(half) && isnan(p),
          "one pair");
}

/* ---- Mann-Whitney U --------------------------------------------------------- */

/* Counts the placements of m a's among m + n places whose U (the number of
 * b's before each a, summed) is at most u, over all C(m + n, m) of them. */
static void count_placements(int m, int n, int first_free, int placed, int u_so_far, int u, double *hits, double *all) {
    if (placed == m) {
        *all += 1;
        *hits += u_so_far <= u;
        return;
    }
    for (int pos = first_free; pos <= n + placed; pos++) /* pos - placed b's lie before this a */
        count_placements(m, n, pos + 1, placed + 1, u_so_far + pos - placed, u, hits, all);
}

static double brute_force_p(int m, int n, int u_min) {
    double hits = 0, all = 0;
    count_placements(m, n, 0, 0, 0, u_min, &hits, &all);
    return fmin(1, 2 * hits / all);
}

static void check_u(const double *a, int na, const double *b, int nb, double u_want, double p_want, double tol,
                    const char *what) {
    double u, p, u_swapped, p_swapped;
    StatsStatus st = stats_mann_whitney(a, na, b, nb, &u, &p);
    CHECK(st == STATS_OK, "%s: %s", what, stats_status_name(st));
    CHECK(u == u_want, "%s: U %.17g, want %g", what, u, u_want);
    CHECK(close_rel(p, p_want, tol), "%s: p %.17g, want %.17g", what, p, p_want);
    CHECK(stats_mann_whitney(b, nb, a, na, &u_swapped, &p_swapped) == STATS_OK && u_swapped == (double)na * nb - u &&
              close_rel(p_swapped, p, 1e-15),
          "%s swapped: U %g p %.17g", what, u_swapped, p_swapped);
}

static void test_mann_whitney_exact(void) {
    /* No overlap: U = 0; only 1 of the C(6, 3) = 20 orderings is as extreme
     * on each side, p = 2/20. */
    check_u((double[]){1, 2, 3}, 3, (double[]){4, 5, 6}, 3, 0, 0.1, 1e-15, "1,2,3 vs 4,5,6");
    /* Interleaved: U = #{3 > 2, 5 > 2, 5 > 4} = 3; U <= 3 in 1 + 1 + 2 + 3 = 7
     * orderings (partitions of 0..3 into at most 3 parts of at most 3), p = 14/20. */
    check_u((double[]){1, 3, 5}, 3, (double[]){2, 4, 6}, 3, 3, 0.7, 1e-15, "1,3,5 vs 2,4,6");
    /* U = nanb/2: P(U <= 2) = (1 + 1 + 2)/6 for 2 and 2 values, twice that clipped to 1. */
    check_u((double[]){1, 4}, 2, (double[]){2, 3}, 2, 2, 1, 0, "1,4 vs 2,3");
    /* 8 against 9 values is still exact (scipy: exact when either sample has
     * at most 8): p = 2 / C(17, 8) = 2/24310. */
    double lo[9], hi[9];
    for (int i = 0; i < 9; i++) lo[i] = i, hi[i] = 100 + i;
    check_u(lo, 8, hi, 9, 0, 2.0 / 24310, 1e-14, "8 vs 9 apart");
    /* Against a brute-force count. b = 0, 1, ..., n - 1; each a at k + 0.5
     * has k + 1 b's below it. */
    double b[1000];
    for (int i = 0; i < 1000; i++) b[i] = i;
    /* U = 1 + 3 + 3 + 7 + 7 = 21 of 35, the smaller side 14. */
    check_u((double[]){0.5, 2.5, 2.6, 6.5, 6.6}, 5, b, 7, 21, brute_force_p(5, 7, 14), 1e-13, "5 vs 7");
    /* U = 2 + 4 + 4 + 6 + 9 + 9 + 11 + 12 = 57 of 96, the smaller side 39. */
    check_u((double[]){1.5, 3.5, 3.7, 5.5, 8.5, 8.7, 10.5, 11.5}, 8, b, 12, 57, brute_force_p(8, 12, 39), 1e-13,
            "8 vs 12");
    /* U = 300 + 701 = 1001 of 2000, the smaller side 999. */
    check_u((double[]){299.5, 700.5}, 2, b, 1000, 1001, brute_force_p(2, 1000, 999), 1e-13, "2 vs 1000");
}

static void test_mann_whitney_normal(void) {
    /* Ties, so the normal approximation (worked by hand):
     * pooled 1a 2a 2a 2b 3a 3b 4b 5b, midranks 1, 3, 3, 3, 5.5, 5.5, 7, 8;
     * R_a = 1 + 3 + 3 + 5.5 = 12.5, U = 12.5 - 10 = 2.5, mirror 16 - 2.5 = 13.5;
     * ties t = 3 and 2: sum(t^3 - t) = 24 + 6 = 30; n = 8;
     * var = 16/12 (9 - 30/56) = 79/7; z = (13.5 - 8 - 0.5) / sqrt(79/7) = sqrt(175/79);
     * p = erfc(z / sqrt 2) = 0.13665824773814751 (mpmath). */
    check_u((double[]){1, 2, 2, 3}, 4, (double[]){2, 3, 4, 5}, 4, 2.5, 0.13665824773814751, 1e-13, "ties");
    /* Both samples over 8, no ties: U = 0, z = (81 - 40.5 - 0.5) / sqrt(81 * 19 / 12)
     * = 40 / sqrt(128.25), p = erfc(z / sqrt 2) = 0.00041229480206169144 (mpmath). */
    double a[9], b[9];
    for (int i = 0; i < 9; i++) a[i] = i, b[i] = 10 + i;
    check_u(a, 9, b, 9, 0, 0.00041229480206169144, 1e-12, "9 vs 9 apart");
    /* Every value tied: no evidence of a difference. */
    check_u((double[]){4, 4}, 2, (double[]){4, 4, 4}, 3, 3, 1, 0, "all tied");
}

static void test_mann_whitney_edges(void) {
    double u, p;
    CHECK(!stats_utest_possible(1, 9) && !stats_utest_possible(9, 1) && stats_utest_possible(2, 2),
          "at least %d values per side", STATS_UTEST_MIN_REPETITIONS);
    CHECK(STATS_UTEST_MIN_REPETITIONS == 2 && STATS_UTEST_OPTIMAL_REPETITIONS == 9, "compare.py's constants");
    CHECK(stats_mann_whitney((double[]){5}, 1, (double[]){1, 2, 3}, 3, &u, &p) == STATS_TOO_FEW && u == 3 && isnan(p),
          "one value: U %g p %g", u, p);
    CHECK(stats_mann_whitney(NULL, 0, (double[]){1, 2}, 2, &u, &p) == STATS_TOO_FEW && isnan(u), "empty");
    CHECK(stats_mann_whitney((double[]){1, NAN}, 2, (double[]){1, 2}, 2, &u, &p) == STATS_NOT_FINITE && isnan(u) &&
              isnan(p),
          "NaN in");
}

int main(void) {
    test_mean_var();
    test_t_tables();
    test_t_closed_forms();
    test_t_reference();
    test_t_round_trip();
    test_t_edges();
    test_welch();
    test_welch_edges();
    test_paired();
    test_mann_whitney_exact();
    test_mann_whitney_normal();
    test_mann_whitney_edges();
    return check_exit_code("stats");
}
