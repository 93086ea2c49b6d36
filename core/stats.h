/* stats.h: small, exact statistics for comparing two sets of measurements
 * (`posbench compare`, after Google Benchmark's tools/compare.py).
 *
 * - Sample mean and variance (n - 1), corrected two-pass (Chan, Golub and
 *   LeVeque 1983).
 * - Student's t distribution for real df: the cdf through the regularized
 *   incomplete beta function, P(|T| >= t) = I_{df/(df+t^2)}(df/2, 1/2)
 *   (Abramowitz and Stegun 26.7.1 with 26.5.27), the beta function's continued
 *   fraction (DLMF 8.17.22) evaluated by the modified Lentz method (Thompson
 *   and Barnett 1986); the quantile by safeguarded Newton on the cdf.
 * - Welch's t interval (Welch-Satterthwaite df) and the paired t interval for
 *   the difference of means b - a, with two-sided p-values.
 * - The Mann-Whitney U test, two-sided, as scipy.stats.mannwhitneyu(a, b,
 *   method='auto', use_continuity=True, alternative='two-sided').
 *
 * Samples are read as given: the caller drops what it does not want tested.
 * Accuracy of the t cdf against mpmath at 50 digits, relative, worst over
 * t in [-1000, 5]: 2e-15 for df <= 3, 5e-14 to df 1e3, 1e-11 to 1e6 and
 * 6e-10 to 1e8 (the continued fraction's first term cancels as df grows);
 * the quantile the same.
 * Uses lgamma, which writes the global signgam: call from one thread at a time.
 */
#ifndef POSBENCH_STATS_H
#define POSBENCH_STATS_H

#include <stdbool.h>

/* Outcomes rather than failures: a comparison report shows each one per row
 * and goes on, so these are not PbStatus errors (NOMEM also records a
 * PB_NOMEM message, read with pb_errmsg). Every output is NaN unless stated. */
#define STATS_STATUS_MAP(X) \
    X(OK, "ok") \
    X(TOO_FEW, "too few values")                   /* n < 2 (any n < 1 for U) */ \
    X(ZERO_VARIANCE, "no variation in the values") /* the standard error is 0 */ \
    X(NOT_FINITE, "a value is NaN or infinite")    /* filter before testing */ \
    X(NOMEM, "out of memory")

typedef enum {
#define STATS_STATUS_ENUM(name, text) STATS_##name,
    STATS_STATUS_MAP(STATS_STATUS_ENUM)
#undef STATS_STATUS_ENUM
        STATS_STATUS_COUNT
} StatsStatus;

const char *stats_status_name(StatsStatus s);

/* Mean and sample variance (divisor n - 1) of x[0..n). TOO_FEW for n < 2,
 * with the mean still given when n == 1. */
StatsStatus stats_mean_var(const double *x, int n, double *mean, double *var);

/* Past this df the cdf would lose more than 1e-8; no comparison of real
 * samples gets near it (Welch's df is at most na + nb - 2). */
#define STATS_T_MAX_DF 1e8

/* P(T <= t) for Student's t with df degrees of freedom, any real df in
 * (0, STATS_T_MAX_DF]; NaN for NaN arguments or another df. */
double stats_t_cdf(double t, double df);

/* The t with P(T <= t) = p, to 1e-13 relative (see Accuracy above); -inf
 * at p = 0, +inf at p = 1, NaN outside [0, 1] or for a df stats_t_cdf refuses. */
double stats_t_quantile(double p, double df);

/* Difference of means b - a, the half-width of its 95% confidence interval
 * and the two-sided p-value of "no difference", by Welch's t test:
 *   se^2 = va/na + vb/nb,  df = se^4 / ((va/na)^2/(na-1) + (vb/nb)^2/(nb-1)).
 * TOO_FEW when na or nb < 2 (diff given when both >= 1). ZERO_VARIANCE when
 * both samples are constant: diff given, half95 and df NaN, p = 1 if the
 * means are equal and 0 if not (the limit as the variance goes to 0). */
StatsStatus stats_welch(const double *a, int na, const double *b, int nb, double *diff, double *half95, double *df,
                        double *p);

/* The same for paired samples: the one-sample t interval of d = b[i] - a[i],
 * df = n - 1. TOO_FEW for n < 2 (diff given at n == 1); ZERO_VARIANCE when
 * every difference is the same, as for stats_welch. */
StatsStatus stats_paired(const double *a, const double *b, int n, double *diff, double *half95, double *df, double *p);

/* Google Benchmark's compare.py runs its U test only with at least 2 values
 * per side (UTEST_MIN_REPETITIONS) and calls fewer than 9 per side too few
 * for a reliable answer (UTEST_OPTIMAL_REPETITIONS: "lowest reasonable
 * number, more is better"); a report should say so below 9. */
#define STATS_UTEST_MIN_REPETITIONS 2
#define STATS_UTEST_OPTIMAL_REPETITIONS 9

/* Whether stats_mann_whitney gives a p-value for these sample sizes. */
bool stats_utest_possible(int na, int nb);

/* Exact p-values need the smaller sample at most this large (scipy's 'auto'
 * rule) and, a bound of ours that scipy does not have, the larger at most
 * STATS_UTEST_EXACT_MAX_N: the count takes about 32 * n^2 additions and
 * 36 n doubles there (7 ms at n = 1000). */
#define STATS_UTEST_EXACT_MAX_SMALLER 8
#define STATS_UTEST_EXACT_MAX_N 1000

/* Two-sided Mann-Whitney U test of a against b. u is U of the first sample,
 * R_a - na (na + 1) / 2 with midranks for ties (the number of pairs with
 * a > b, ties counting 1/2). p is exact (the null distribution counted by
 * the recursion over (na, nb, u)) when there are no ties, min(na, nb) <= 8
 * and max(na, nb) <= STATS_UTEST_EXACT_MAX_N; otherwise the normal
 * approximation with tie and continuity corrections. TOO_FEW when
 * !stats_utest_possible(na, nb): u given when both are >= 1, p NaN. */
StatsStatus stats_mann_whitney(const double *a, int na, const double *b, int nb, double *u, double *p);

#endif
