/* stats.c: mean and variance, Student's t, Welch and paired t intervals, the
 * Mann-Whitney U test. Methods and their sources are in stats.h; each one is
 * written here from its textbook formula. */
#include "stats.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>

/* M_SQRT2 is not in strict C11. */
#define STATS_SQRT2 1.41421356237309504880

const char *stats_status_name(StatsStatus s) {
    static const char *const names[] = {
#define STATS_STATUS_NAME(name, text) text,
        STATS_STATUS_MAP(STATS_STATUS_NAME)
#undef STATS_STATUS_NAME
    };
    return (unsigned)s < STATS_STATUS_COUNT ? names[s] : "unknown stats status";
}

/* ---- mean and variance ---------------------------------------------------- */

static bool all_finite(const double *x, int n) {
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i])) return false;
    return true;
}

/* x[i], or x[i] - minus[i] for paired samples, so one loop serves both. */
static double value_at(const double *x, const double *minus, int i) { return minus ? x[i] - minus[i] : x[i]; }

static bool all_equal(const double *x, const double *minus, int n) {
    for (int i = 1; i < n; i++)
        if (value_at(x, minus, i) != value_at(x, minus, 0)) return false;
    return true;
}

/* Mean and sample variance of value_at(x, minus, 0..n). The corrected
 * two-pass formula (Chan, Golub and LeVeque 1983, eq. 1.7):
 *   var = (sum (x - m)^2 - (sum (x - m))^2 / n) / (n - 1),
 * the second term cancelling most of the rounding error of m. A constant
 * sample gets exactly 0, which the t intervals test for. */
static StatsStatus moments(const double *x, const double *minus, int n, double *mean, double *var) {
    *mean = *var = NAN;
    if (n < 1) return STATS_TOO_FEW;
    if (all_equal(x, minus, n)) {
        *mean = value_at(x, minus, 0);
        *var = n > 1 ? 0 : NAN;
        return n > 1 ? STATS_OK : STATS_TOO_FEW;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) sum += value_at(x, minus, i);
    *mean = sum / n;
    double dev = 0, dev2 = 0;
    for (int i = 0; i < n; i++) {
        double d = value_at(x, minus, i) - *mean;
        dev += d;
        dev2 += d * d;
    }
    *var = fmax(0, (dev2 - dev * dev / n) / (n - 1));
    return STATS_OK;
}

StatsStatus stats_mean_var(const double *x, int n, double *mean, double *var) {
    if (!all_finite(x, n)) {
        *mean = *var = NAN;
        return STATS_NOT_FINITE;
    }
    return moments(x, NULL, n, mean, var);
}

/* ---- Student's t ------------------------------------------------------------ */

/* log B(a, 1/2) = log Gamma(1/2) + log Gamma(a) - log Gamma(a + 1/2). For
 * large a the two lgamma values are large and their difference would lose
 * lgamma(a) * 1e-16; there the series from DLMF 5.11.8 (Stirling with
 * Bernoulli polynomials, B_k(1/2) - B_k(0) = (2^(1-k) - 2) B_k) is used,
 *   log Gamma(a + 1/2) - log Gamma(a)
 *     = log(a)/2 - 1/(8a) + 1/(192a^3) - 1/(640a^5) + 17/(14336a^7) - ...,
 * whose first omitted term is below 2e-21 for a >= 100. */
static double log_beta_half(double a) {
    const double log_gamma_half = 0.57236494292470008707; /* log sqrt(pi) */
    if (a < 100) return log_gamma_half + lgamma(a) - lgamma(a + 0.5);
    double r = 1 / (a * a);
    return log_gamma_half - 0.5 * log(a) + (0.125 - r * (1.0 / 192 - r * (1.0 / 640 - r * 17.0 / 14336))) / a;
}

/* I_x(a, b) from its continued fraction (DLMF 8.17.22),
 *   I_x(a, b) = x^a y^b / (a B(a, b)) / (1 + d1 / (1 + d2 / (1 + ...))),  y = 1 - x,
 *   d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)),
 *   d_{2m}   = m (b - m) x / ((a + 2m - 1)(a + 2m)),
 * evaluated front to back by the modified Lentz method (Thompson and Barnett
 * 1986). It converges fast for x < (a + 1) / (a + b + 2); the caller uses
 * I_x(a, b) = 1 - I_y(b, a) beyond. log_front = log(x^a y^b / B(a, b)) comes
 * from the caller, which forms it without cancellation or underflow. */
static double inc_beta_fraction(double a, double b, double x, double log_front) {
    const double tiny = 1e-300; /* stands in for a zero denominator */
    double f = 1, c = 1, d = 0;
    for (int j = 1; j <= 100000; j++) {
        int m = j / 2;
        double dj = j % 2 ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                          : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        d = 1 + dj * d;
        c = 1 + dj / c;
        if (fabs(d) < tiny) d = tiny;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        f *= c * d;
        if (fabs(c * d - 1) < 1e-15) return exp(log_front) / (a * f);
    }
    return NAN; /* did not converge */
}

/* P(|T| >= t) (outside) and P(|T| < t) (inside) for df degrees of freedom,
 * whichever is smaller computed directly and the other as 1 minus it, so
 * both tails and the centre keep their relative precision:
 *   P(|T| >= t) = I_x(df/2, 1/2),  x = df / (df + t^2),  y = t^2 / (df + t^2).
 * x, y and their logs are formed from r = t / sqrt(df) or its inverse,
 * whichever is at most 1, so no t^2 overflows. */
static void t_tails(double t, double df, double *outside, double *inside) {
    double r = fabs(t) / sqrt(df);
    if (r == 0 || isinf(r)) {
        *outside = r == 0 ? 1 : 0;
        *inside = 1 - *outside;
        return;
    }
    double s = r > 1 ? 1 / r : r, log1p_s2 = log1p(s * s);
    double small = s * s / (1 + s * s), log_small = 2 * log(s) - log1p_s2; /* s^2 / (1 + s^2) */
    double big = 1 / (1 + s * s), log_big = -log1p_s2;                     /* 1 / (1 + s^2) */
    double x = r > 1 ? small : big, log_x = r > 1 ? log_small : log_big;
    double y = r > 1 ? big : small, log_y = r > 1 ? log_big : log_small;
    double a = 0.5 * df, b = 0.5, log_front = a * log_x + b * log_y - log_beta_half(a);
    if (x < (a + 1) / (a + b + 2)) {
        *outside = inc_beta_fraction(a, b, x, log_front);
        *inside = 1 - *outside;
    } else {
        *inside = inc_beta_fraction(b, a, y, log_front);
        *outside = 1 - *inside;
    }
}

static bool bad_df(double df) { return !(df > 0 && df <= STATS_T_MAX_DF); }

double stats_t_cdf(double t, double df) {
    if (isnan(t) || bad_df(df)) return NAN;
    double outside, inside;
    t_tails(t, df, &outside, &inside);
    return t < 0 ? 0.5 * outside : 1 - 0.5 * outside;
}

/* The density, for Newton steps: (1 + t^2/df)^(-(df+1)/2) / (sqrt(df) B(df/2, 1/2)). */
static double t_density(double t, double df) {
    double log_norm = -log_beta_half(0.5 * df) - 0.5 * log(df);
    return exp(log_norm - 0.5 * (df + 1) * log1p(t / df * t));
}

/* A decreasing function of t >= 0 that is zero at the quantile: either
 * P(|T| >= t) - two_tail or centre - P(|T| < t), whichever target is
 * smaller, so the residual keeps the precision of the tail it solves for. */
typedef struct {
    double df, two_tail, centre;
} QuantileGoal;

static double quantile_residual(const QuantileGoal *g, double t) {
    double outside, inside;
    t_tails(t, g->df, &outside, &inside);
    return g->two_tail <= g->centre ? outside - g->two_tail : g->centre - inside;
}

/* Newton's method from the left of the root, where the residual is positive
 * and convex, so steps do not overshoot; a step leaving the bracket [lo, hi]
 * is replaced by bisection, which also bounds the number of steps. */
static double solve_quantile(const QuantileGoal *g, double lo, double hi) {
    double t = lo;
    for (int iter = 0; iter < 400; iter++) {
        double res = quantile_residual(g, t);
        if (res == 0) return t;
        if (res > 0) lo = t;
        else hi = t;
        double next = t + res / (2 * t_density(t, g->df)); /* d residual / dt = -2 f(t) */
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (fabs(next - t) <= 1e-14 * next) return next;
        t = next;
    }
    return t;
}

double stats_t_quantile(double p, double df) {
    if (!(p >= 0 && p <= 1) || bad_df(df)) return NAN;
    if (p == 0 || p == 1) return p == 0 ? -INFINITY : INFINITY;
    if (p == 0.5) return 0;
    /* Both targets exact in binary: 2 min(p, 1 - p) and |2p - 1|. */
    QuantileGoal g = {df, 2 * (p < 0.5 ? p : 1 - p), fabs(2 * p - 1)};
    double lo = 0, hi = 1;
    while (quantile_residual(&g, hi) > 0) {
        if (hi > 1e300) return p < 0.5 ? -INFINITY : INFINITY;
        lo = hi;
        hi *= 2;
    }
    double t = solve_quantile(&g, lo, hi);
    return p < 0.5 ? -t : t;
}

/* ---- t intervals ------------------------------------------------------------ */

/* The 95% half-width and two-sided p-value of `diff` with standard error se
 * on df degrees of freedom; with se = 0 only p, at its limit. */
static StatsStatus t_interval(double diff, double se, double df, double *half95, double *df_out, double *p) {
    if (se == 0) {
        *p = diff == 0 ? 1 : 0;
        return STATS_ZERO_VARIANCE;
    }
    double outside, inside;
    t_tails(diff / se, df, &outside, &inside);
    *df_out = df;
    *half95 = stats_t_quantile(0.975, df) * se;
    *p = outside;
    return STATS_OK;
}

StatsStatus stats_welch(const double *a, int na, const double *b, int nb, double *diff, double *half95, double *df,
                        double *p) {
    *diff = *half95 = *df = *p = NAN;
    if (!all_finite(a, na) || !all_finite(b, nb)) return STATS_NOT_FINITE;
    double mean_a, var_a, mean_b, var_b;
    StatsStatus st_a = moments(a, NULL, na, &mean_a, &var_a);
    StatsStatus st_b = moments(b, NULL, nb, &mean_b, &var_b);
    *diff = mean_b - mean_a; /* NaN when a side is empty */
    if (st_a != STATS_OK || st_b != STATS_OK) return STATS_TOO_FEW;
    double wa = var_a / na, wb = var_b / nb, se2 = wa + wb;
    if (se2 == 0) return t_interval(*diff, 0, NAN, half95, df, p);
    /* Welch-Satterthwaite, with the weights scaled to sum to 1 so nothing
     * squared can overflow or underflow. */
    double fa = wa / se2, fb = wb / se2;
    return t_interval(*diff, sqrt(se2), 1 / (fa * fa / (na - 1) + fb * fb / (nb - 1)), half95, df, p);
}

StatsStatus stats_paired(const double *a, const double *b, int n, double *diff, double *half95, double *df, double *p) {
    *diff = *half95 = *df = *p = NAN;
    if (!all_finite(a, n) || !all_finite(b, n)) return STATS_NOT_FINITE;
    double var;
    StatsStatus st = moments(b, a, n, diff, &var);
    if (st != STATS_OK) return st;
    return t_interval(*diff, sqrt(var / n), n - 1, half95, df, p);
}

/* ---- Mann-Whitney U --------------------------------------------------------- */

bool stats_utest_possible(int na, int nb) {
    return na >= STATS_UTEST_MIN_REPETITIONS && nb >= STATS_UTEST_MIN_REPETITIONS;
}

typedef struct {
    double value;
    int from_a;
} Pooled;

static int compare_pooled(const void *l, const void *r) {
    double x = ((const Pooled *)l)->value, y = ((const Pooled *)r)->value;
    return (x > y) - (x < y);
}

/* Ranks the sorted pooled sample, each group of t equal values sharing the
 * midrank of its places: the rank sum of a, and the tie term sum(t^3 - t). */
static void rank_sums(const Pooled *v, int n, double *rank_sum_a, double *tie_term) {
    *rank_sum_a = *tie_term = 0;
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && v[j].value == v[i].value) j++;
        double midrank = 0.5 * ((i + 1) + j), t = j - i; /* places i + 1 .. j */
        for (int k = i; k < j; k++)
            if (v[k].from_a) *rank_sum_a += midrank;
        *tie_term += t * t * t - t;
        i = j;
    }
}

/* U of a: the rank sum of a less its least value na (na + 1) / 2. */
static StatsStatus u_statistic(const double *a, int na, const double *b, int nb, double *u, double *tie_term) {
    int n = na + nb;
    Pooled *v = pb_calloc((size_t)n, sizeof *v, "the pooled samples of a Mann-Whitney test");
    if (!v) return STATS_NOMEM;
    for (int i = 0; i < na; i++) v[i] = (Pooled){a[i], 1};
    for (int i = 0; i < nb; i++) v[na + i] = (Pooled){b[i], 0};
    qsort(v, (size_t)n, sizeof *v, compare_pooled);
    double rank_sum_a;
    rank_sums(v, n, &rank_sum_a, tie_term);
    free(v);
    *u = rank_sum_a - 0.5 * na * (na + 1.0);
    return STATS_OK;
}

/* P(U <= u) under the null hypothesis for m and n values without ties, by
 * counting orderings. With N(u; m, n) the number of orderings of m a's and
 * n b's in which u pairs have a > b, the largest value is either an a,
 * beating all n b's, or a b, beating none:
 *   N(u; m, n) = N(u - n; m - 1, n) + N(u; m, n - 1),  N(u; m, 0) = [u = 0].
 * The table holds N(0..u; 0..m, k) for k = 0, 1, ..., n in place; all
 * orderings number C(m + n, m). The null distribution is the same with the
 * samples' roles swapped, so m is the smaller. */
static StatsStatus exact_u_cdf(int m, int n, int u, double *cdf) {
    size_t width = (size_t)u + 1;
    double *count = pb_calloc((size_t)(m + 1) * width, sizeof *count, "the Mann-Whitney U distribution");
    if (!count) return STATS_NOMEM;
    for (int j = 0; j <= m; j++) count[j * width] = 1;
    for (int k = 1; k <= n; k++)
        for (int j = 1; j <= m; j++) {
            double *row = count + j * width, *fewer_a = row - width; /* fewer_a already holds k */
            for (int w = k; w <= u; w++) row[w] += fewer_a[w - k];
        }
    double at_most_u = 0, orderings = 1;
    for (int w = 0; w <= u; w++) at_most_u += count[m * width + w];
    for (int i = 1; i <= m; i++) orderings = orderings * (n + i) / i; /* C(n + i, i), exact */
    free(count);
    *cdf = at_most_u / orderings;
    return STATS_OK;
}

/* The normal approximation to U's null distribution, scipy's 'asymptotic':
 * mean na nb / 2, variance na nb / 12 ((n + 1) - sum(t^3 - t) / (n (n - 1)))
 * with n = na + nb (the tie correction), and the continuity correction 1/2
 * toward the mean; two-sided p = 2 P(Z > z) for the larger of U and its
 * mirror na nb - U. */
static double normal_approx_p(double u, int na, int nb, double tie_term) {
    double n = (double)na + nb, pairs = (double)na * nb;
    double var = pairs / 12 * ((n + 1) - tie_term / (n * (n - 1)));
    if (!(var > 0)) return 1; /* every value tied: no evidence of a difference */
    double z = (fmax(u, pairs - u) - 0.5 * pairs - 0.5) / sqrt(var);
    return fmin(1, erfc(z / STATS_SQRT2));
}

StatsStatus stats_mann_whitney(const double *a, int na, const double *b, int nb, double *u, double *p) {
    *u = *p = NAN;
    if (!all_finite(a, na) || !all_finite(b, nb)) return STATS_NOT_FINITE;
    if (na < 1 || nb < 1) return STATS_TOO_FEW;
    double tie_term;
    StatsStatus st = u_statistic(a, na, b, nb, u, &tie_term);
    if (st != STATS_OK) return st;
    if (!stats_utest_possible(na, nb)) return STATS_TOO_FEW;
    int smaller = na < nb ? na : nb, larger = na < nb ? nb : na;
    if (tie_term > 0 || smaller > STATS_UTEST_EXACT_MAX_SMALLER || larger > STATS_UTEST_EXACT_MAX_N) {
        *p = normal_approx_p(*u, na, nb, tie_term);
        return STATS_OK;
    }
    /* Two-sided: twice the smaller tail, P(U >= max) = P(U <= min) by symmetry. */
    double cdf;
    st = exact_u_cdf(smaller, larger, (int)fmin(*u, (double)na * nb - *u), &cdf);
    if (st == STATS_OK) *p = fmin(1, 2 * cdf);
    return st;
}
