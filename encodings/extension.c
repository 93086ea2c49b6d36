/* extension.c: context extension of rotary encodings (extension.h). */
#include "extension.h"

#include <math.h>
#include <string.h>

/* pi, spelt out: M_PI is not in C11. */
static const double PI = 3.14159265358979323846;

static const char *const method_names[EXTEND_COUNT] = {"none", "pi", "ntk", "dynamic-ntk", "yarn", "llama3"};

const char *extend_method_name(ExtendMethod m) { return m >= 0 && m < EXTEND_COUNT ? method_names[m] : "?"; }

PbStatus extend_method_parse(const char *name, ExtendMethod *out) {
    for (int m = 0; m < EXTEND_COUNT; m++)
        if (strcmp(name, method_names[m]) == 0) return *out = (ExtendMethod)m, PB_OK;
    return pb_fail(PB_USAGE, "unknown extension method '%s' (methods: pi, ntk, dynamic-ntk, yarn, llama3, none)", name);
}

Extension extension_default(ExtendMethod m, double factor, int original) {
    return (Extension){.method = m,
                       .factor = factor,
                       .original = original,
                       .beta_fast = 32,
                       .beta_slow = 1,
                       .low_freq_factor = 1,
                       .high_freq_factor = 4};
}

PbStatus extension_check(const Encoding *e) {
    const Extension *x = &e->cfg.extend;
    const char *name = e->module->name;
    if (x->method == EXTEND_NONE) return PB_OK;
    if (x->method < 0 || x->method >= EXTEND_COUNT)
        return pb_fail(PB_USAGE, "encoding '%s': unknown extension method %d", name, (int)x->method);
    if (!e->module->extendable)
        return pb_fail(PB_USAGE, "encoding '%s' has no rotation to scale: extension methods (%s) apply to rope", name,
                       extend_method_name(x->method));
    if (!(x->factor >= 1 && isfinite(x->factor)))
        return pb_fail(PB_RANGE, "encoding '%s': extension factor %g must be at least 1", name, x->factor);
    if (x->original < 1)
        return pb_fail(PB_RANGE, "encoding '%s': extension needs the trained length (got %d)", name, x->original);
    if (x->method == EXTEND_YARN && !(x->beta_fast > x->beta_slow && x->beta_slow > 0))
        return pb_fail(PB_RANGE, "encoding '%s': yarn needs beta_fast > beta_slow > 0 (got %g, %g)", name, x->beta_fast,
                       x->beta_slow);
    if (x->method == EXTEND_LLAMA3 && !(x->high_freq_factor > x->low_freq_factor && x->low_freq_factor > 0))
        return pb_fail(PB_RANGE, "encoding '%s': llama3 needs high_freq_factor > low_freq_factor > 0 (got %g, %g)",
                       name, x->high_freq_factor, x->low_freq_factor);
    return PB_OK;
}

double extension_dynamic_factor(const Extension *x, double l) {
    const double s = x->factor * l / x->original - (x->factor - 1);
    return s > 1 ? s : 1;
}

/* d(n): the pair index whose wavelength fits n times into L. */
static double correction_dim(double n, int R, double base, int L) {
    return R * log(L / (n * 2 * PI)) / (2 * log(base));
}

static void yarn_bounds(const Extension *x, double base, int R, double *lo, double *hi) {
    *lo = floor(correction_dim(x->beta_fast, R, base, x->original));
    *hi = ceil(correction_dim(x->beta_slow, R, base, x->original));
    if (*lo < 0) *lo = 0;
    if (*hi > R - 1) *hi = R - 1;
    if (*hi == *lo) *hi += 0.001;
}

void extension_frequencies(const Extension *x, double base, int R, double *theta, double *ramp, double *mscale) {
    const int pairs = R / 2;
    const double s = x->factor;
    double b = base, lo = 0, hi = 0;
    if (x->method == EXTEND_NTK || x->method == EXTEND_DYNAMIC_NTK) b = base * pow(s, (double)R / (R - 2));
    if (x->method == EXTEND_YARN) yarn_bounds(x, base, R, &lo, &hi);
    *mscale = x->method == EXTEND_YARN && s > 1 ? 0.1 * log(s) + 1 : 1;
    for (int k = 0; k < pairs; k++) {
        const double t = pow(b, -2.0 * k / R);
        double r = 0; /* share interpolated: theta (1 - r) + theta / s r */
        if (x->method == EXTEND_PI) r = 1;
        if (x->method == EXTEND_YARN) r = fmin(1, fmax(0, (k - lo) / (hi - lo)));
        if (x->method == EXTEND_LLAMA3) {
            const double wavelen = 2 * PI / t, L = x->original;
            if (wavelen > L / x->low_freq_factor) r = 1;
            else if (wavelen < L / x->high_freq_factor) r = 0;
            else r = 1 - (L / wavelen - x->low_freq_factor) / (x->high_freq_factor - x->low_freq_factor);
        }
        theta[k] = r == 0 ? t : r == 1 ? t / s : t * (1 - r) + t / s * r;
        if (ramp) ramp[k] = r;
    }
}

ExtendPairs extension_pairs(const Extension *x, double base, int R) {
    ExtendPairs n = {0, 0, 0};
    const int pairs = R / 2;
    if (x->method != EXTEND_YARN) return n.kept = pairs, n;
    double lo, hi;
    yarn_bounds(x, base, R, &lo, &hi);
    for (int k = 0; k < pairs; k++) {
        const double r = fmin(1, fmax(0, (k - lo) / (hi - lo)));
        if (r <= 0) n.kept++;
        else if (r >= 1) n.interpolated++;
        else n.ramped++;
    }
    return n;
}
