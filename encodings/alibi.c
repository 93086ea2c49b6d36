/* alibi.c: Attention with Linear Biases (Press, Smith and Lewis 2022, "Train
 * Short, Test Long: Attention with Linear Biases Enables Input Length
 * Extrapolation").
 *
 *   causal:    logits[h,i,j] += -m_h * (i - j)
 *   symmetric: logits[h,i,j] += -m_h * |i - j|     (for bidirectional attention)
 *
 * No parameters: the penalty grows linearly with distance at a fixed slope per
 * head, which is what lets a model trained short read longer inputs. The
 * slopes follow the paper's code, get_slopes(H):
 *
 *   H a power of 2: m_h = r^(h+1), r = 2^(-8/H)         h = 0..H-1
 *   otherwise, c = 2^floor(log2 H): the c slopes of get_slopes(c), then the
 *   even-indexed slopes of get_slopes(2c), first H - c of them
 *
 * e.g. 8 heads: 1/2, 1/4, ..., 1/256; 12 heads: 1/2 .. 1/256 then 2^-0.5,
 * 2^-1.5, 2^-2.5, 2^-3.5. The causal variant applies -m_h * (i - j) to every
 * key, those after the query too (a positive bias there): the causal mask
 * hides them, and one formula keeps the row loop branch-free.
 *
 * Shapes: H heads; attn_bias works on one row segment (head h, query i, keys
 * j0..j1-1): logits is [j1 - j0]. State: slopes [H].
 */
#include <math.h>
#include <stdlib.h>

#include "encoding.h"

enum { ALIBI_CAUSAL, ALIBI_SYMMETRIC, ALIBI_VARIANT_COUNT };
static const char *const alibi_variants[] = {
    [ALIBI_CAUSAL] = "causal",
    [ALIBI_SYMMETRIC] = "symmetric",
    NULL,
};
_Static_assert(sizeof alibi_variants / sizeof alibi_variants[0] == ALIBI_VARIANT_COUNT + 1,
               "alibi_variants out of step with its enum");

/* Slope k (0-based) of the geometric sequence for a power-of-two head count
 * p, written as the paper's get_slopes_power_of_2: start * ratio^k with
 * start = ratio = 2^(-2^-(log2 p - 3)) = 2^(-8/p). */
static double alibi_pow2_slope(int p, int k) {
    const double start = pow(2.0, -pow(2.0, -(log2((double)p) - 3.0)));
    return start * pow(start, (double)k);
}

/* m_h of get_slopes(H). Setup-time only: pow and log2 stay out of the
 * per-element loop. */
static double alibi_slope(int H, int h) {
    int c = 1;
    while (c * 2 <= H) c *= 2;
    /* Heads past c interleave between the existing slopes: the paper takes
     * every other slope of the sequence for 2c heads. */
    return h < c ? alibi_pow2_slope(c, h) : alibi_pow2_slope(2 * c, 2 * (h - c));
}

static PbStatus alibi_setup(Encoding *e) {
    const int H = e->cfg.heads;
    float *slope = pb_calloc((size_t)H, sizeof *slope, "ALiBi's slopes");
    if (!slope) return PB_NOMEM;
    for (int h = 0; h < H; h++) slope[h] = (float)alibi_slope(H, h);
    e->state = slope;
    return PB_OK;
}

static void alibi_teardown(Encoding *e) { free(e->state); }

/* The bias is the float nearest to -m_h * d, d = i - j (or |i - j|), as the
 * spec's (float)(-(double)m_h * d) defines it. While |d| < 2^24, d is exact in
 * float and the float product of two exact operands is that same correctly
 * rounded value, at twice the SIMD width of doubles; rows reaching farther
 * (16M positions) take the double route, exact for |d| < 2^29. Positions are
 * non-negative ints, so i - j cannot overflow. */
static void alibi_bias_forward(const Encoding *e, float *logits, int h, int i, int j0, int j1) {
    const float m = ((const float *)e->state)[h];
    const int causal = e->variant == ALIBI_CAUSAL;
    if (j0 >= j1) return;
    const int d_first = abs(i - j0), d_last = abs(i - (j1 - 1)); /* |d| peaks at an end */
    if ((d_first > d_last ? d_first : d_last) < 1 << 24) {
        if (causal)
            for (int j = j0; j < j1; j++) logits[j - j0] += -m * (float)(i - j);
        else
            for (int j = j0; j < j1; j++) logits[j - j0] += -m * (float)abs(i - j);
    } else {
        if (causal)
            for (int j = j0; j < j1; j++) logits[j - j0] += (float)(-(double)m * (double)(i - j));
        else
            for (int j = j0; j < j1; j++) logits[j - j0] += (float)(-(double)m * (double)abs(i - j));
    }
}

/* No parameters and no input gradient to pass on (the bias does not depend
 * on q or k): the twin exists because every forward hook has one. */
static void alibi_bias_backward(Encoding *e, const float *dlogits, int h, int i, int j0, int j1) {
    (void)e, (void)dlogits, (void)h, (void)i, (void)j0, (void)j1;
}

static PbStatus alibi_inspect(const Encoding *e, int T, TensorSink *sink) {
    (void)T;
    return sink->put_float(sink, "slopes", e->state, 1, (int[]){e->cfg.heads});
}

const EncodingModule encoding_alibi = {
    .name = "alibi",
    .summary = "fixed per-head linear distance penalty on attention (ALiBi, Press et al. 2022)",
    .variants = alibi_variants,
    .setup = alibi_setup,
    .teardown = alibi_teardown,
    .bias_forward = alibi_bias_forward,
    .bias_backward = alibi_bias_backward,
    .inspect = alibi_inspect,
};
