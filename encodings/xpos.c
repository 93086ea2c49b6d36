/* xpos.c: xPos (Sun et al. 2022, "A Length-Extrapolatable Transformer"):
 * RoPE with queries and keys scaled apart by a per-pair exponential.
 * Checked against microsoft/torchscale, torchscale/component/xpos_relative_position.py
 *
 * Pair i = 0..D/2-1 of a head turns by theta[p,i] = p * 10000^(-2i/D) as in
 * RoPE (encodings/rope.c) and is scaled apart for queries and keys:
 *   q at position n:  q' = zeta_i^( n/B) R(theta[n,i]) q
 *   k at position m:  k' = zeta_i^(-m/B) R(theta[m,i]) k
 *   zeta_i = (2i + 0.4 D) / (1.4 D)   (torchscale; the paper's
 *            (i/(D/2) + gamma) / (1 + gamma) with gamma = 0.4)
 * so q'_n . k'_m = sum_i zeta_i^((n-m)/B) (rotated pair products): a decay
 * with n - m for the causal keys m <= n (zeta_i < 1). There is no
 * bidirectional form: for m > n the factor grows instead.
 *   interleaved (default; torchscale rotate_every_two): pair i = (2i, 2i+1)
 *   half (lucidrains' rotary-embedding-torch use_xpos):  pair i = (i, i+D/2)
 * Knob: scale_base B (default 512). The rotation base 10000 and gamma 0.4
 * are fixed in torchscale, and here too.
 *
 * Length: xPos has no table, but its scales leave the float range: zeta_0 =
 * 2/7 for every D, so zeta_0^(p/B) falls below 2^-64 past p = 64 B /
 * log2(3.5) (18131 positions for B = 512). Positions 0..P-1, every scale
 * within [2^-64, 2^64], are a formula bound: max_positions, PB_LENGTH past
 * it with a message that says "formula bound". 2^-64 rather than float's
 * 2^-126: attention's backward multiplies rotated queries (down to 2^-64 of
 * their size) into small softmax gradients, and those products must stay
 * normal floats. torchscale centres the exponent on the middle of each call
 * (n - ceil(L/2)), a factor that cancels in q.k; here it is n itself, so a
 * chunk equals the same slice of a full pass. With --length-fallback clamp,
 * positions past the bound act as position P-1, angle and scale alike, as a
 * table's last row (the fallback's contract: the same outputs as the last
 * known position; clamping the exponent alone would keep rotating). The
 * hooks always clamp, so no call makes an infinity.
 *
 * q, k: [B,T,H,D], element (b,t,h,d) at q[(b*T + t)*ld + h*D + d], in place.
 * No parameters. Backward: the transpose of s R is s R^T, so dq takes q's
 * scale and dk k's, turned by -theta. State: per pair 10000^(-2i/D) and
 * log zeta_i, and P.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "encoding.h"

enum { VARIANT_INTERLEAVED, VARIANT_HALF, VARIANT_COUNT };
static const char *const xpos_variants[] = {
    [VARIANT_INTERLEAVED] = "interleaved",
    [VARIANT_HALF] = "half",
    NULL,
};
_Static_assert(sizeof xpos_variants / sizeof xpos_variants[0] == VARIANT_COUNT + 1,
               "xpos_variants out of step with its enum");

enum { KNOB_SCALE_BASE, KNOB_COUNT };
static const EncodingKnob xpos_knobs[] = {
    [KNOB_SCALE_BASE] = {"scale_base", 512.0, 1.0, 1e6,
                         "B: pair i decays as zeta_i^(distance/B); the length bound grows with B"},
    {NULL},
};
_Static_assert(sizeof xpos_knobs / sizeof xpos_knobs[0] == KNOB_COUNT + 1, "xpos_knobs out of step with its enum");

#define ROTATION_BASE 10000.0 /* torchscale's fixed_pos_embedding */
#define GAMMA 0.4             /* torchscale: (arange(0, D, 2) + 0.4 D) / (1.4 D) */
#define SCALE_EXP_MAX 64.0    /* every scale within [2^-64, 2^64] */
/* As rope.c: cos/sin (times the scales) of this many pairs sit on the stack,
 * computed once per position and reused across batch and heads. */
#define PAIR_CHUNK 64

typedef struct {
    double inv_freq; /* 10000^(-2i/D) */
    double log_zeta; /* ln zeta_i < 0 */
} XposPair;

/* e->state, built in setup so the hooks never call pow(). */
typedef struct {
    int positions;         /* P: the formula bound */
    double inv_scale_base; /* 1/B */
    XposPair pair[];       /* [D/2] */
} XposState;

/* The largest P with zeta_0^(+-p/B) within [2^-64, 2^64] for p < P; zeta_0
 * is the smallest zeta, so every pair stays within too. */
static int formula_bound(double log_zeta0, double scale_base) {
    const double last = floor(SCALE_EXP_MAX * log(2.0) * scale_base / -log_zeta0);
    return last >= INT_MAX - 1 ? INT_MAX : (int)last + 1;
}

static PbStatus xpos_setup(Encoding *e) {
    const int C = e->cfg.dim, H = e->cfg.heads, D = e->head_dim;
    if (D % 2)
        return pb_fail(PB_RANGE,
                       "encoding 'xpos': head dim D = dim/heads = %d/%d = %d must be even, "
                       "since rotations act on pairs of dims; choose dim and heads whose "
                       "quotient is even",
                       C, H, D);
    const int pairs = D / 2;
    XposState *st = pb_calloc(1, sizeof *st + (size_t)pairs * sizeof st->pair[0], "xPos's frequencies and scales");
    if (!st) return PB_NOMEM;
    for (int i = 0; i < pairs; i++) {
        st->pair[i].inv_freq = pow(ROTATION_BASE, -2.0 * i / D);
        st->pair[i].log_zeta = log((2.0 * i + GAMMA * D) / ((1.0 + GAMMA) * D));
    }
    st->inv_scale_base = 1.0 / e->knob[KNOB_SCALE_BASE];
    st->positions = formula_bound(st->pair[0].log_zeta, e->knob[KNOB_SCALE_BASE]);
    e->state = st;
    return PB_OK;
}

static void xpos_teardown(Encoding *e) { free(e->state); }

static int xpos_max_positions(const Encoding *e) { return ((const XposState *)e->state)->positions; }

/* The position whose angle and scale apply: past the bound (the clamp
 * fallback) the last one, as a table's last row. */
static double effective_position(const XposState *st, long long p) {
    return (double)(p < st->positions ? p : st->positions - 1);
}

/* The one place angles and scales are formed: hooks and inspect agree. */
static double theta(const XposState *st, double p, int i) { return p * st->pair[i].inv_freq; }
static double q_scale(const XposState *st, double p, int i) {
    return exp(p * st->inv_scale_base * st->pair[i].log_zeta);
}

/* Turns and scales pairs i0..i0+n-1 of one head x[0..D) by the
 * coefficients c = s cos, sn = s sin. */
static void rotate_head(float *x, int variant, int D, int i0, int n, const float *c, const float *sn) {
    if (variant == VARIANT_HALF) {
        float *a = x + i0, *b = x + D / 2 + i0;
        for (int i = 0; i < n; i++) {
            const float xa = a[i], xb = b[i];
            a[i] = xa * c[i] - xb * sn[i];
            b[i] = xa * sn[i] + xb * c[i];
        }
    } else {
        float *pair = x + 2 * i0;
        for (int i = 0; i < n; i++) {
            const float xa = pair[2 * i], xb = pair[2 * i + 1];
            pair[2 * i] = xa * c[i] - xb * sn[i];
            pair[2 * i + 1] = xa * sn[i] + xb * c[i];
        }
    }
}

/* Coefficients of q and k for pairs i0..i0+n-1 at position p. The scale
 * multiplies cos and sin before rounding (as torchscale's t * scale), and
 * backward negates the rounded sin, so it is the exact transpose. */
typedef struct {
    float cq[PAIR_CHUNK], sq[PAIR_CHUNK], ck[PAIR_CHUNK], sk[PAIR_CHUNK];
} Coefficients;

static void coefficients(const XposState *st, double p, int i0, int n, int direction, Coefficients *co) {
    for (int i = 0; i < n; i++) {
        const double angle = theta(st, p, i0 + i), up = q_scale(st, p, i0 + i), down = 1.0 / up;
        const double c = cos(angle), s = direction > 0 ? sin(angle) : -sin(angle);
        co->cq[i] = (float)(up * c), co->sq[i] = (float)(up * s);
        co->ck[i] = (float)(down * c), co->sk[i] = (float)(down * s);
    }
}

/* Forward (direction +1) and backward (-1): the same scales, sin negated. */
static void xpos_apply(const Encoding *e, float *q, float *k, int ld, int B, int T, int pos0, int direction) {
    const XposState *st = e->state;
    const int H = e->cfg.heads, D = e->head_dim, pairs = D / 2;
    Coefficients co;
    for (int t = 0; t < T; t++) {
        const double p = effective_position(st, (long long)pos0 + t);
        for (int i0 = 0; i0 < pairs; i0 += PAIR_CHUNK) {
            const int n = pairs - i0 < PAIR_CHUNK ? pairs - i0 : PAIR_CHUNK;
            coefficients(st, p, i0, n, direction, &co);
            for (int b = 0; b < B; b++) {
                const size_t row = ((size_t)b * T + t) * (size_t)ld;
                for (int h = 0; h < H; h++) {
                    rotate_head(q + row + (size_t)h * D, e->variant, D, i0, n, co.cq, co.sq);
                    rotate_head(k + row + (size_t)h * D, e->variant, D, i0, n, co.ck, co.sk);
                }
            }
        }
    }
}

static void xpos_rotate_forward(const Encoding *e, float *q, float *k, int ld, int B, int T, int pos0) {
    xpos_apply(e, q, k, ld, B, T, pos0, +1);
}

static void xpos_rotate_backward(Encoding *e, float *dq, float *dk, int ld, int B, int T, int pos0) {
    xpos_apply(e, dq, dk, ld, B, T, pos0, -1);
}

/* angle [T, D/2]: theta[p,i]; scale [T, D/2]: the queries' zeta_i^(p/B)
 * (the keys' is its reciprocal); positions 0..T-1, clamped as the hooks do. */
static PbStatus xpos_inspect(const Encoding *e, int T, TensorSink *sink) {
    if (T < 0) return pb_fail(PB_RANGE, "encoding 'xpos': cannot export angles for %d positions", T);
    const XposState *st = e->state;
    const int pairs = e->head_dim / 2;
    float *angle = pb_calloc((size_t)T * pairs, sizeof *angle, "xPos's exported angles");
    float *scale = angle ? pb_calloc((size_t)T * pairs, sizeof *scale, "xPos's exported scales") : NULL;
    if (!scale) {
        free(angle);
        return PB_NOMEM;
    }
    for (int t = 0; t < T; t++) {
        const double p = effective_position(st, t);
        for (int i = 0; i < pairs; i++) {
            angle[(size_t)t * pairs + i] = (float)theta(st, p, i);
            scale[(size_t)t * pairs + i] = (float)q_scale(st, p, i);
        }
    }
    PbStatus status = sink->put_float(sink, "angle", angle, 2, (int[]){T, pairs});
    if (!status) status = sink->put_float(sink, "scale", scale, 2, (int[]){T, pairs});
    free(angle);
    free(scale);
    return status;
}

const EncodingModule encoding_xpos = {
    .name = "xpos",
    .summary = "RoPE with queries and keys scaled apart by zeta^(+-p/B) (xPos, Sun et al. 2022)",
    .variants = xpos_variants,
    .knobs = xpos_knobs,
    .setup = xpos_setup,
    .teardown = xpos_teardown,
    .max_positions = xpos_max_positions,
    .length_bound = "its scales zeta^(+-p/scale_base) would leave [2^-64, 2^64] past it; a larger scale_base "
                    "moves it",
    .rotate_forward = xpos_rotate_forward,
    .rotate_backward = xpos_rotate_backward,
    .inspect = xpos_inspect,
};
