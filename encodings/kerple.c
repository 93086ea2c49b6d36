/* kerple.c: KERPLE, kernelized relative positional embedding (Chi, Fan,
 * Ramadge and Rudnicky 2022, "KERPLE: Kernelized Relative Positional
 * Embedding for Length Extrapolation"): a conditionally positive definite
 * kernel of the distance, log or power, as an attention bias.
 *
 *   log (default): logits[h,i,j] += -r1_h * log(1 + r2_h * d)
 *   power:         logits[h,i,j] += -r1_h * d^(r2_h)
 *   d = max(i - j, 0)
 *
 * Trainable r1, r2 > 0 per head (2H floats, one set shared by every layer),
 * kept in the set the paper allows by the project hook after every optimizer
 * step: r1, r2 >= 0.01 and, for power, r2 <= 2 (the authors' code clamps the
 * parameters' data the same way before each use). Initialisation as the
 * authors' code, then the same clamp: the kernel's outer scale p ~ U(0, 2) and
 * its rate a ~ U(0, 1) for log (r1 = p, r2 = a); for power (the authors'
 * "kerple_power_ap_", bias = -a |m-n|^p) r1 = a ~ U(0, 1) and the exponent
 * r2 = p ~ U(0, 2).
 * Checked: chijames/KERPLE megatron/mpu/layers.py (ParallelKerpleLog, ParallelKerplePower)
 *
 * Keys after the query take d = 0, hence a zero bias and zero gradient: the
 * authors' code builds d as tril(i - j), and the causal mask hides them. The
 * power kernel's 0^r2 is 0 for every r2 and its derivative in r2 is taken as
 * 0 there (as torch's pow backward does at a zero base), so every gradient is
 * finite, on the diagonal included.
 *
 * Shapes: H heads; attn_bias works on one row segment (head h, query i, keys
 * j0..j1-1): logits and dlogits are [j1 - j0]. Parameters: [2, H], r1 then r2.
 */
#include <math.h>

#include "encoding.h"

enum { KP_LOG, KP_POWER, KP_VARIANT_COUNT };
static const char *const kp_variants[] = {
    [KP_LOG] = "log",
    [KP_POWER] = "power",
    NULL,
};
_Static_assert(sizeof kp_variants / sizeof kp_variants[0] == KP_VARIANT_COUNT + 1,
               "kp_variants out of step with its enum");

/* The authors' clamp: self.eps = 1e-2, and the power exponent at most 2 (a
 * conditionally positive definite power kernel needs 0 < r2 <= 2). */
static const float KP_MIN = 1e-2f, KP_MAX_EXPONENT = 2.0f;

static size_t kp_num_params(const Encoding *e) { return 2 * (size_t)e->cfg.heads; }

static float *kp_r1(const Encoding *e) { return e->params; }
static float *kp_r2(const Encoding *e) { return e->params + e->cfg.heads; }

static void kp_project(Encoding *e) {
    const int H = e->cfg.heads, power = e->variant == KP_POWER;
    float *r1 = kp_r1(e), *r2 = kp_r2(e);
    for (int h = 0; h < H; h++) {
        if (r1[h] < KP_MIN) r1[h] = KP_MIN;
        if (r2[h] < KP_MIN) r2[h] = KP_MIN;
        if (power && r2[h] > KP_MAX_EXPONENT) r2[h] = KP_MAX_EXPONENT;
    }
}

/* The authors draw p = 2 U(0,1) first, then a = U(0,1); which of them is r1
 * depends on the variant (see the header). */
static void kp_init_params(Encoding *e, Rng *rng) {
    const int H = e->cfg.heads, power = e->variant == KP_POWER;
    float *p = power ? kp_r2(e) : kp_r1(e), *a = power ? kp_r1(e) : kp_r2(e);
    for (int h = 0; h < H; h++) p[h] = 2.0f * rng_uniform(rng);
    for (int h = 0; h < H; h++) a[h] = rng_uniform(rng);
    kp_project(e);
}

/* Keys after the query are at distance 0 (tril, as the authors' code). */
static int kp_distance(int i, int j) { return i > j ? i - j : 0; }

/* Float kernels: positions are exact in float up to 2^24, log1pf keeps small
 * r2 d accurate, and r2 <= 2 bounds the power bias by r1 2^40 at 2^20. */
static void kp_bias_forward(const Encoding *e, float *logits, int h, int i, int j0, int j1) {
    const float r1 = kp_r1(e)[h], r2 = kp_r2(e)[h];
    if (e->variant == KP_LOG) {
        for (int j = j0; j < j1; j++) logits[j - j0] -= r1 * log1pf(r2 * (float)kp_distance(i, j));
    } else {
        for (int j = j0; j < j1; j++) {
            const int d = kp_distance(i, j);
            if (d > 0) logits[j - j0] -= r1 * powf((float)d, r2);
        }
    }
}

/* d/dr1 = -log(1 + r2 d), d/dr2 = -r1 d / (1 + r2 d); double accumulators,
 * as a row holds up to T terms of either sign. */
static void kp_log_backward(Encoding *e, const float *dlogits, int h, int i, int j0, int j1) {
    const double r1 = kp_r1(e)[h], r2 = kp_r2(e)[h];
    double g1 = 0.0, g2 = 0.0;
    for (int j = j0; j < j1; j++) {
        const double g = dlogits[j - j0], d = kp_distance(i, j);
        g1 += g * log1p(r2 * d);
        g2 += g * d / (1.0 + r2 * d);
    }
    e->dparams[h] += (float)-g1;
    e->dparams[e->cfg.heads + h] += (float)(-r1 * g2);
}

/* d/dr1 = -d^r2, d/dr2 = -r1 d^r2 log d; both 0 at d = 0 (see the header). */
static void kp_power_backward(Encoding *e, const float *dlogits, int h, int i, int j0, int j1) {
    const double r1 = kp_r1(e)[h], r2 = kp_r2(e)[h];
    double g1 = 0.0, g2 = 0.0;
    for (int j = j0; j < j1; j++) {
        const int d = kp_distance(i, j);
        if (d == 0) continue;
        const double g = dlogits[j - j0], ld = log((double)d), t = exp(r2 * ld);
        g1 += g * t;
        g2 += g * t * ld;
    }
    e->dparams[h] += (float)-g1;
    e->dparams[e->cfg.heads + h] += (float)(-r1 * g2);
}

static void kp_bias_backward(Encoding *e, const float *dlogits, int h, int i, int j0, int j1) {
    if (e->variant == KP_LOG) kp_log_backward(e, dlogits, h, i, j0, j1);
    else kp_power_backward(e, dlogits, h, i, j0, j1);
}

/* The kernel's parameters by name, as the paper writes them. */
static PbStatus kp_inspect(const Encoding *e, int T, TensorSink *sink) {
    (void)T;
    const int H = e->cfg.heads;
    PbStatus st = sink->put_float(sink, "r1", kp_r1(e), 1, (int[]){H});
    if (!st) st = sink->put_float(sink, "r2", kp_r2(e), 1, (int[]){H});
    return st;
}

const EncodingModule encoding_kerple = {
    .name = "kerple",
    .summary = "learned log or power kernel of distance on attention (KERPLE, Chi et al. 2022)",
    .variants = kp_variants,
    .num_params = kp_num_params,
    .init_params = kp_init_params,
    .bias_forward = kp_bias_forward,
    .bias_backward = kp_bias_backward,
    .project = kp_project,
    .inspect = kp_inspect,
};
