/* rope.c: rotary position embedding; queries and keys are rotated by position.
 *
 * The first R dims of each head form R/2 pairs; pair i at absolute position p
 * turns by theta[p,i] = p * base^(-2i/R) (Su et al. 2021, RoFormer):
 *   x'_a = x_a cos(theta) - x_b sin(theta)
 *   x'_b = x_a sin(theta) + x_b cos(theta)
 * Rotations compose, so q_m . k_n depends on the positions only through m - n.
 *   interleaved (default; RoFormer):   pair i = dims (2i, 2i+1)
 *   half        (GPT-NeoX, Llama):     pair i = dims (i, i + R/2)
 * Knobs: base (default 10000); fraction (default 1): R = 2 floor(fraction D/2)
 * and dims R..D-1 pass through unchanged (partial rotary, GPT-NeoX rotary_pct).
 *
 * q, k: [B,T,H,D], element (b,t,h,d) at q[(b*T + t)*ld + h*D + d], in place.
 * No parameters; backward turns dq, dk by -theta, since a rotation's
 * transpose is its inverse. Unbounded length: angles are formed in double so
 * large positions keep their phase. Setup caches cos and sin for positions
 * 0..max_len-1 (encoding_cache_rows; not for dynamic-ntk, whose angles
 * depend on the call), as PyTorch implementations keep them in buffers;
 * positions past the cache are computed as the cache was, to the same bits.
 *
 * Extendable (encoding.h, "context extension"; formulas in extension.h): a
 * scaling method replaces base^(-2i/R) by its frequencies, and yarn scales
 * the rotated q and k by mscale (cos and sin times mscale, so backward is
 * still the transpose). dynamic-ntk picks its factor per call from l =
 * pos0 + T, the length of the text so far; every other method is fixed, so
 * a pass in chunks equals a full pass.
 */
#include <math.h>
#include <stdlib.h>

#include "encoding.h"
#include "extension.h"

enum { VARIANT_INTERLEAVED, VARIANT_HALF };
static const char *const rope_variants[] = {"interleaved", "half", NULL};

enum { KNOB_BASE, KNOB_FRACTION };
static const EncodingKnob rope_knobs[] = {
    {"base", 10000.0, 2.0, 1e9, "wavelengths run from 2*pi up to about 2*pi*base"},
    {"fraction", 1.0, 0.0, 1.0, "(0, 1]: share of each head's dims rotated; the rest pass through"},
    {NULL},
};

/* Pairs whose cos/sin sit on the stack at once: each pair's cos/sin is then
 * computed once per position and reused across batch and heads, without a
 * heap buffer in a hook that cannot report failure. */
#define PAIR_CHUNK 64

/* e->state, built once in setup so the hooks never call pow(). */
typedef struct {
    int rot;           /* R: rotated dims per head, even, 2..D */
    int rows;          /* positions cached */
    float *cs;         /* [rows, 2, R/2]: mscale cos(theta), then mscale sin(theta) */
    double base;       /* b */
    double mscale;     /* q, k multiplier (yarn), else 1 */
    Extension ext;     /* the scaling, if any */
    double inv_freq[]; /* [R/2]: base^(-2i/R), or the scaled frequencies */
} RopeState;

/* Frequency of pair i in a call whose text so far has length l: fixed, or
 * dynamic-ntk's for l (log of its base in *lnb, computed once per call). */
static double dynamic_log_base(const RopeState *st, double l) {
    const double s = extension_dynamic_factor(&st->ext, l);
    return log(st->base) + (double)st->rot / (st->rot - 2) * log(s);
}

static double freq(const RopeState *st, int i, double lnb) {
    return st->ext.method == EXTEND_DYNAMIC_NTK ? exp(-2.0 * i / st->rot * lnb) : st->inv_freq[i];
}

/* The one place an angle is formed: the hooks and inspect must agree. */
static double theta(const RopeState *st, double p, int i, double lnb) { return p * freq(st, i, lnb); }

/* c, s [n] = mscale cos and sin of the angles of pairs i0..i0+n-1 at
 * position p (lnb: as freq). The one place they are rounded: the cache and
 * the computed path must agree. */
static void cos_sin(const RopeState *st, double p, int i0, int n, double lnb, float *c, float *s) {
    for (int i = 0; i < n; i++) {
        const double angle = theta(st, p, i0 + i, lnb);
        s[i] = (float)(st->mscale * sin(angle));
        c[i] = (float)(st->mscale * cos(angle));
    }
}

static PbStatus rope_setup(Encoding *e) {
    const int C = e->cfg.dim, H = e->cfg.heads, D = e->head_dim;
    if (D % 2)
        return pb_fail(PB_RANGE,
                       "encoding 'rope': head dim D = dim/heads = %d/%d = %d must be even, "
                       "since rotations act on pairs of dims; choose dim and heads whose "
                       "quotient is even",
                       C, H, D);
    const double fraction = e->knob[KNOB_FRACTION];
    const int R = 2 * (int)floor(fraction * D / 2);
    if (R < 2)
        return pb_fail(PB_RANGE,
                       "encoding 'rope': fraction=%g rotates %d of the %d dims per head, "
                       "but at least one pair is needed; raise fraction so that "
                       "fraction*D/2 >= 1 (D=%d)",
                       fraction, R, D, D);
    const int pairs = R / 2;
    RopeState *st = pb_calloc(1, sizeof *st + (size_t)pairs * sizeof st->inv_freq[0], "RoPE's inverse frequencies");
    if (!st) return PB_NOMEM;
    st->rot = R;
    st->base = e->knob[KNOB_BASE];
    st->ext = e->cfg.extend;
    st->mscale = 1;
    if (st->ext.method == EXTEND_NONE || st->ext.method == EXTEND_DYNAMIC_NTK)
        for (int i = 0; i < pairs; i++) st->inv_freq[i] = pow(st->base, -2.0 * i / R);
    else extension_frequencies(&st->ext, st->base, R, st->inv_freq, NULL, &st->mscale);
    e->state = st;
    const int rows = st->ext.method == EXTEND_DYNAMIC_NTK ? 0 : encoding_cache_rows(e, (size_t)R);
    if (rows > 0) {
        st->cs = pb_calloc((size_t)rows * R, sizeof *st->cs, "RoPE's cos and sin table");
        if (!st->cs) return PB_NOMEM; /* teardown frees st */
        for (int p = 0; p < rows; p++)
            for (int i0 = 0; i0 < pairs; i0 += PAIR_CHUNK) {
                const int n = pairs - i0 < PAIR_CHUNK ? pairs - i0 : PAIR_CHUNK;
                float *row = st->cs + (size_t)p * R;
                cos_sin(st, p, i0, n, 0, row + i0, row + pairs + i0);
            }
        st->rows = rows;
    }
    return PB_OK;
}

static void rope_teardown(Encoding *e) {
    RopeState *st = e->state;
    if (st) free(st->cs);
    free(st);
}

/* Turns pairs i0..i0+n-1 of one head x[0..D) by the angles whose cos/sin
 * are c, s. */
static void rotate_head(float *x, int variant, int R, int i0, int n, const float *c, const float *s) {
    if (variant == VARIANT_HALF) {
        float *a = x + i0, *b = x + R / 2 + i0;
        for (int i = 0; i < n; i++) {
            const float xa = a[i], xb = b[i];
            a[i] = xa * c[i] - xb * s[i];
            b[i] = xa * s[i] + xb * c[i];
        }
    } else {
        float *pair = x + 2 * i0;
        for (int i = 0; i < n; i++) {
            const float xa = pair[2 * i], xb = pair[2 * i + 1];
            pair[2 * i] = xa * c[i] - xb * s[i];
            pair[2 * i + 1] = xa * s[i] + xb * c[i];
        }
    }
}

/* Forward (direction +1) and backward (-1) differ only in the sign of sin.
 * Negating the rounded float keeps backward the exact transpose of forward. */
static void rope_apply(const Encoding *e, float *q, float *k, int ld, int B, int T, int pos0, int direction) {
    const RopeState *st = e->state;
    const int H = e->cfg.heads, D = e->head_dim, pairs = st->rot / 2;
    float cbuf[PAIR_CHUNK], sbuf[PAIR_CHUNK];
    const double lnb = st->ext.method == EXTEND_DYNAMIC_NTK ? dynamic_log_base(st, (double)pos0 + T) : 0;
    for (int t = 0; t < T; t++) {
        const double p = (double)pos0 + t; /* pos0 + t may not fit an int */
        const float *cached = p < st->rows ? st->cs + (size_t)(pos0 + t) * st->rot : NULL;
        for (int i0 = 0; i0 < pairs; i0 += PAIR_CHUNK) {
            const int n = pairs - i0 < PAIR_CHUNK ? pairs - i0 : PAIR_CHUNK;
            const float *c = cbuf, *s = sbuf;
            if (cached && direction > 0) {
                c = cached + i0, s = cached + pairs + i0;
            } else if (cached) {
                c = cached + i0;
                for (int i = 0; i < n; i++) sbuf[i] = -cached[pairs + i0 + i];
            } else {
                cos_sin(st, p, i0, n, lnb, cbuf, sbuf);
                if (direction < 0)
                    for (int i = 0; i < n; i++) sbuf[i] = -sbuf[i];
            }
            for (int b = 0; b < B; b++) {
                const size_t row = ((size_t)b * T + t) * (size_t)ld;
                for (int h = 0; h < H; h++) {
                    rotate_head(q + row + (size_t)h * D, e->variant, st->rot, i0, n, c, s);
                    rotate_head(k + row + (size_t)h * D, e->variant, st->rot, i0, n, c, s);
                }
            }
        }
    }
}

static void rope_rotate_forward(const Encoding *e, float *q, float *k, int ld, int B, int T, int pos0) {
    rope_apply(e, q, k, ld, B, T, pos0, +1);
}

static void rope_rotate_backward(Encoding *e, float *dq, float *dk, int ld, int B, int T, int pos0) {
    rope_apply(e, dq, dk, ld, B, T, pos0, -1);
}

/* With a scaling: mscale [1], and the share of each pair interpolated
 * (ramp [R/2]: yarn's r_k; 1 for pi; 0 kept). */
static PbStatus inspect_extension(const RopeState *st, int T, TensorSink *sink) {
    const int pairs = st->rot / 2;
    double *theta_k = pb_calloc((size_t)pairs * 2, sizeof *theta_k, "RoPE's exported ramp");
    float *ramp = pb_calloc((size_t)pairs, sizeof *ramp, "RoPE's exported ramp");
    PbStatus status = theta_k && ramp ? PB_OK : PB_NOMEM;
    double mscale = 1;
    if (!status) {
        Extension x = st->ext;
        if (x.method == EXTEND_DYNAMIC_NTK) x.factor = extension_dynamic_factor(&x, T);
        extension_frequencies(&x, st->base, st->rot, theta_k, theta_k + pairs, &mscale);
        for (int i = 0; i < pairs; i++) ramp[i] = (float)theta_k[pairs + i];
        const float m = (float)mscale;
        status = sink->put_float(sink, "mscale", &m, 1, (int[]){1});
    }
    if (!status) status = sink->put_float(sink, "ramp", ramp, 1, (int[]){pairs});
    free(theta_k), free(ramp);
    return status;
}

/* angle [T, R/2]: theta[p,i] for positions 0..T-1 (dynamic-ntk: in one pass
 * of length T), as float. */
static PbStatus rope_inspect(const Encoding *e, int T, TensorSink *sink) {
    if (T < 0) return pb_fail(PB_RANGE, "encoding 'rope': cannot export angles for %d positions", T);
    const RopeState *st = e->state;
    const int pairs = st->rot / 2;
    float *angle = pb_calloc((size_t)T * pairs, sizeof *angle, "RoPE's exported angles");
    if (!angle) return PB_NOMEM;
    const double lnb = st->ext.method == EXTEND_DYNAMIC_NTK ? dynamic_log_base(st, T) : 0;
    for (int p = 0; p < T; p++)
        for (int i = 0; i < pairs; i++) angle[(size_t)p * pairs + i] = (float)theta(st, p, i, lnb);
    PbStatus status = sink->put_float(sink, "angle", angle, 2, (int[]){T, pairs});
    free(angle);
    if (!status && st->ext.method != EXTEND_NONE) status = inspect_extension(st, T, sink);
    return status;
}

const EncodingModule encoding_rope = {
    .name = "rope",
    .summary = "queries and keys rotated by position (RoFormer, Su et al. 2021)",
    .variants = rope_variants,
    .knobs = rope_knobs,
    .setup = rope_setup,
    .teardown = rope_teardown,
    .rotate_forward = rope_rotate_forward,
    .rotate_backward = rope_rotate_backward,
    .extendable = 1,
    .inspect = rope_inspect,
};
