/* extension.h: the frequencies of a scaled rotary encoding (encoding.h,
 * "context extension"), shared by the rotary modules. Internal to
 * encodings/.
 *
 * R rotated dims per head, pairs k = 0..R/2-1, base b, theta_k = b^(-2k/R),
 * wavelength lambda_k = 2 pi / theta_k, factor s, trained length L:
 *   pi      theta_k / s
 *   ntk     (b s^(R/(R-2)))^(-2k/R)
 *   yarn    r_k = clamp((k - lo) / (hi - lo), 0, 1) with
 *           lo = floor(d(beta_fast)), hi = ceil(d(beta_slow)) clamped to
 *           [0, R-1], d(n) = R ln(L / (2 pi n)) / (2 ln b) (the pair whose
 *           wavelength fits n times into L); theta_k (1 - r_k) + theta_k / s
 *           r_k (hi == lo: hi + 0.001), mscale 0.1 ln s + 1 (1 for s <= 1)
 *           (jquesnelle/yarn, scaled_rope/patch.py; Hugging Face's
 *           _compute_yarn_parameters reads the same)
 *   llama3  lambda_k > L / low: theta_k / s; lambda_k < L / high: theta_k;
 *           else (1 - u) theta_k / s + u theta_k, u = (L / lambda_k - low) /
 *           (high - low) (Hugging Face's _compute_llama3_parameters)
 * dynamic-ntk is ntk at s' = max(1, s l / L - (s - 1)) for the current
 * length l, chosen per call by the module. */
#ifndef POSBENCH_EXTENSION_H
#define POSBENCH_EXTENSION_H

#include "encoding.h"

/* How a yarn pair is treated: kept (r = 0), ramped (0 < r < 1) or
 * interpolated (r = 1). */
typedef struct {
    int kept, ramped, interpolated;
} ExtendPairs;

/* theta[k], k < R/2, for x (its factor used as is; dynamic-ntk: pass the
 * factor s' of the call and it acts as ntk), and the q, k multiplier. ramp
 * (may be NULL): yarn's r_k (0 for other methods, 1 for pi). */
void extension_frequencies(const Extension *x, double base, int R, double *theta, double *ramp, double *mscale);
/* dynamic-ntk's factor for a pass ending at length l. */
double extension_dynamic_factor(const Extension *x, double l);
/* yarn's split of the R/2 pairs (all "kept" for other methods). */
ExtendPairs extension_pairs(const Extension *x, double base, int R);
/* PB_USAGE / PB_RANGE for a module that cannot rotate, s < 1, L < 1. */
PbStatus extension_check(const Encoding *e);

#endif
