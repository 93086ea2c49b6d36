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
 * The bias depends on the distance alone, so the hooks read per-head tables
 * over d = 0..n-1 (n = max_len, encoding_cache_rows), as PyTorch code builds
 * its [H,T,T] bias once per forward: the float bias and the two double
 * factors of each gradient, computed by the same expressions, so a table
 * gives the same bits as the formula. project (after every optimizer step)
 * and init_params rebuild them; a hook uses a head's table only while it
 * was built from that head's current r1 and r2 (a caller that writes the
 * parameters itself, such as a checkpoint load or a gradient check, gets the
 * formula until the next rebuild). Longer distances take the formula.
 *
 * Shapes: H heads; attn_bias works on one row segment (head h, query i, keys
 * j0..j1-1): logits and dlogits are [j1 - j0]. Parameters: [2, H], r1 then r2.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* e->state: per head h, over distances d < n,
 *   bias[h*n + d]: log r1 log1pf(r2 d); power r1 powf(d, r2) (0 at d = 0)
 *   f1, f2:        log log1p(r2 d), d / (1 + r2 d); power exp(r2 log d), log d
 * built from r[h] = r1, r[H + h] = r2 (bits compared before each use). */
typedef struct {
    int n;
    float *bias;
    double *f1, *f2;
    float r[]; /* [2H] */
} KpTables;

/* Keys after the query are at distance 0 (tril, as the authors' code). */
static int kp_distance(int i, int j) { return i > j ? i - j : 0; }

/* The formulas, shared by the tables and the hooks past them. */
static float kp_bias_at(int variant, float r1, float r2, int d) {
    if (variant == KP_LOG) return r1 * log1pf(r2 * (float)d);
    return d > 0 ? r1 * powf((float)d, r2) : 0.0f;
}
static void kp_factors_at(int variant, double r2, int d, double *f1, double *f2) {
    if (variant == KP_LOG) {
        *f1 = log1p(r2 * d);
        *f2 = d / (1.0 + r2 * d);
    } else if (d > 0) {
        *f2 = log((double)d);
        *f1 = exp(r2 * *f2);
    } else {
        *f1 = *f2 = 0.0; /* no gradient at d = 0 (see the header) */
    }
}

static PbStatus kp_setup(Encoding *e) {
    const int H = e->cfg.heads, n = encoding_cache_rows(e, 5 * (size_t)H); /* a float and two doubles */
    if (n <= 0) return PB_OK;
    KpTables *t = calloc(1, sizeof *t + 2 * (size_t)H * sizeof t->r[0]);
    if (!t) return pb_fail(PB_NOMEM, "encoding 'kerple': out of memory for its distance tables");
    e->state = t; /* teardown frees it on failure below */
    t->bias = malloc((size_t)H * n * sizeof *t->bias);
    t->f1 = malloc((size_t)H * n * sizeof *t->f1);
    t->f2 = malloc((size_t)H * n * sizeof *t->f2);
    if (!t->bias || !t->f1 || !t->f2)
        return pb_fail(PB_NOMEM, "encoding 'kerple': out of memory for its distance tables (%d distances)", n);
    for (int h = 0; h < 2 * H; h++) t->r[h] = NAN; /* built for no parameters yet */
    t->n = n;
    return PB_OK;
}

static void kp_teardown(Encoding *e) {
    KpTables *t = e->state;
    if (t) {
        free(t->bias);
        free(t->f1);
        free(t->f2);
    }
    free(t);
    e->state = NULL;
}

static void kp_rebuild(Encoding *e) {
    KpTables *t = e->state;
    if (!t) return;
    const int H = e->cfg.heads, n = t->n;
    const float *r1 = kp_r1(e), *r2 = kp_r2(e);
    for (int h = 0; h < H; h++) {
        for (int d = 0; d < n; d++) {
            t->bias[(size_t)h * n + d] = kp_bias_at(e->variant, r1[h], r2[h], d);
            kp_factors_at(e->variant, r2[h], d, &t->f1[(size_t)h * n + d], &t->f2[(size_t)h * n + d]);
        }
        t->r[h] = r1[h];
        t->r[H + h] = r2[h];
    }
}

/* Head h's tables if they hold its current parameters, else NULL. */
static const KpTables *kp_tables(const Encoding *e, int h) {
    const KpTables *t = e->state;
    const int H = e->cfg.heads;
    if (!t || memcmp(&t->r[h], &kp_r1(e)[h], sizeof(float)) || memcmp(&t->r[H + h], &kp_r2(e)[h], sizeof(float)))
        return NULL;
    return t;
}

static void kp_project(Encoding *e) {
    const int H = e->cfg.heads, power = e->variant == KP_POWER;
    float *r1 = kp_r1(e), *r2 = kp_r2(e);
    for (int h = 0; h < H; h++) {
        if (r1[h] < KP_MIN) r1[h] = KP_MIN;
        if (r2[h] < KP_MIN) r2[h] = KP_MIN;
        if (power && r2[h] > KP_MAX_EXPONENT) r2[h] = KP_MAX_EXPONENT;
    }
    kp_rebuild(e);
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

/* Keys j0 <= j < j1 of query i split where the distance i - j reaches the
 * table's n: keys from *split on read the table. */
static int kp_table_from(const KpTables *t, int i, int j0, int j1) {
    if (!t) return j1;
    const int first = i - t->n + 1; /* the first key at a distance below n */
    return first > j1 ? j1 : first > j0 ? first : j0;
}

/* Float kernels: positions are exact in float up to 2^24, log1pf keeps small
 * r2 d accurate, and r2 <= 2 bounds the power bias by r1 2^40 at 2^20. */
static void kp_bias_forward(const Encoding *e, float *logits, int h, int i, int j0, int j1) {
    const KpTables *t = kp_tables(e, h);
    const int split = kp_table_from(t, i, j0, j1);
    const float r1 = kp_r1(e)[h], r2 = kp_r2(e)[h];
    for (int j = j0; j < split; j++) logits[j - j0] -= kp_bias_at(e->variant, r1, r2, kp_distance(i, j));
    if (split == j1) return;
    const float *bias = t->bias + (size_t)h * t->n;
    for (int j = split; j < j1; j++) logits[j - j0] -= bias[kp_distance(i, j)];
}

/* log: d/dr1 = -log(1 + r2 d), d/dr2 = -r1 d / (1 + r2 d); power: d/dr1 =
 * -d^r2, d/dr2 = -r1 d^r2 log d, both 0 at d = 0 (see the header). Double
 * accumulators, as a row holds up to T terms of either sign. */
static void kp_bias_backward(Encoding *e, const float *dlogits, int h, int i, int j0, int j1) {
    const KpTables *t = kp_tables(e, h);
    const int split = kp_table_from(t, i, j0, j1);
    const double r1 = kp_r1(e)[h], r2 = kp_r2(e)[h];
    double g1 = 0.0, g2 = 0.0;
    for (int j = j0; j < split; j++) {
        double f1, f2;
        kp_factors_at(e->variant, r2, kp_distance(i, j), &f1, &f2);
        const double g = dlogits[j - j0];
        g1 += g * f1;
        g2 += e->variant == KP_LOG ? g * f2 : g * f1 * f2;
    }
    if (split < j1) {
        const double *f1 = t->f1 + (size_t)h * t->n, *f2 = t->f2 + (size_t)h * t->n;
        if (e->variant == KP_LOG)
            for (int j = split; j < j1; j++) {
                const double g = dlogits[j - j0];
                const int d = kp_distance(i, j);
                g1 += g * f1[d];
                g2 += g * f2[d];
            }
        else
            for (int j = split; j < j1; j++) {
                const double g = dlogits[j - j0];
                const int d = kp_distance(i, j);
                g1 += g * f1[d];
                g2 += g * f1[d] * f2[d];
            }
    }
    e->dparams[h] += (float)-g1;
    e->dparams[e->cfg.heads + h] += (float)(-r1 * g2);
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
    .setup = kp_setup,
    .teardown = kp_teardown,
    .init_params = kp_init_params,
    .bias_forward = kp_bias_forward,
    .bias_backward = kp_bias_backward,
    .project = kp_project,
    .inspect = kp_inspect,
};
