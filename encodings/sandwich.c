/* sandwich.c: Sandwich, the sinusoidal embedding's cross term as a bias (Chi,
 * Fan, Rudnicky and Ramadge 2023, "Dissecting Transformer Length
 * Extrapolation via the Lens of Receptive Field Analysis", ACL 2023).
 *
 *   logits[h,i,j] += ( sum_{k=1..D/2} cos((i - j) / 10000^(2k/D)) - D/2 ) / c_h
 *   c_h = 8 (h+1) / H                      h = 0..H-1 (the paper's h = 1..H)
 *
 * No parameters. The sum is p_i . p_j of two sinusoidal embeddings of width D
 * (the head dim), which depends on i - j only; subtracting D/2 makes it 0 on
 * the diagonal and <= 0 elsewhere, a decay with distance, and the per-head
 * compression c_h gives heads different ranges as ALiBi's slopes do. The
 * exponent 2k/D with k from 1 (not 2(k-1)/D), D/2 subtracted and c_h with h
 * from 1 follow the public code we could read (the paper's own release was not
 * found; NeMo's module cites the paper), with D NeMo's per-head hidden size.
 * Checked: NVIDIA/NeMo nemo/collections/nlp/modules/common/megatron/position_embedding/sandwich_relative_position_embedding.py
 *
 * Keys after the query: cos is even, so the formula itself is symmetric and
 * j > i gets the mirror value of i - j; the causal mask hides it (NeMo zeroes
 * it with tril in causal mode), and bidirectional attention gets the paper's
 * symmetric bias with no variant needed.
 *
 * Accuracy: the angle d * w_k is formed in double, and cos(x) - 1 is summed as
 * -2 sin^2(x / 2), without the cancellation of summing cosines near 1 and
 * subtracting D/2; finite and accurate at 2^20 positions and beyond.
 *
 * Shapes: H heads, D = C/H head dim (even); attn_bias works on one row segment
 * (head h, query i, keys j0..j1-1): logits is [j1 - j0]. State: w [D/2], 1/c_h [H],
 * the head-independent sum s(d) over distances 0..n_table-1 (built in setup, so the
 * per-element loop is a lookup), farther distances computed directly.
 */
#include <math.h>
#include <stdlib.h>

#include "encoding.h"

/* Distances tabulated: the training context and at least this many, so
 * moderate extrapolation stays a lookup; capped so setup stays milliseconds. */
#define SW_TABLE_MIN 16384
#define SW_TABLE_MAX (1 << 18)

typedef struct {
    int pairs;     /* D/2 */
    int n_table;   /* distances 0..n_table-1 in s[] */
    double *w;     /* [pairs]: 10000^(-2k/D), k = 1..D/2 */
    double *scale; /* [H]: 1 / c_h = H / (8 (h+1)) */
    double *s;     /* [n_table]: the sum at distance d, before compression */
    double data[]; /* w, scale and s, in this one allocation */
} SwState;

/* sum_k (cos(d w_k) - 1) at distance d >= 0; the same function fills the
 * table and serves distances past it, so a distance has one value. */
static double sw_sum(const SwState *st, double d) {
    double acc = 0.0;
    for (int k = 0; k < st->pairs; k++) {
        const double half = sin(0.5 * d * st->w[k]);
        acc -= 2.0 * half * half;
    }
    return acc;
}

static double sw_at(const SwState *st, int d) { return d < st->n_table ? st->s[d] : sw_sum(st, (double)d); }

static int sw_table_size(int max_len) {
    int n = max_len > SW_TABLE_MIN ? max_len : SW_TABLE_MIN;
    return n < SW_TABLE_MAX ? n : SW_TABLE_MAX;
}

static PbStatus sw_setup(Encoding *e) {
    const int C = e->cfg.dim, H = e->cfg.heads, D = e->head_dim;
    if (D % 2)
        return pb_fail(PB_RANGE,
                       "encoding 'sandwich': head dim D = dim/heads = %d/%d = %d must be even, "
                       "since the sinusoids come in sin/cos pairs; choose dim and heads whose "
                       "quotient is even",
                       C, H, D);
    const int pairs = D / 2, n = sw_table_size(e->cfg.max_len);
    SwState *st = pb_calloc(1, sizeof *st + ((size_t)pairs + H + n) * sizeof(double), "Sandwich's bias table");
    if (!st) return PB_NOMEM;
    st->pairs = pairs;
    st->n_table = n;
    st->w = st->data;
    st->scale = st->w + pairs;
    st->s = st->scale + H;
    for (int k = 0; k < pairs; k++) st->w[k] = pow(10000.0, -2.0 * (k + 1) / D);
    for (int h = 0; h < H; h++) st->scale[h] = (double)H / (8.0 * (h + 1));
    for (int d = 0; d < n; d++) st->s[d] = sw_sum(st, (double)d);
    e->state = st;
    return PB_OK;
}

static void sw_teardown(Encoding *e) { free(e->state); }

/* Distance |i - j|: the bias is even in i - j (see the header). */
static void sw_bias_forward(const Encoding *e, float *logits, int h, int i, int j0, int j1) {
    const SwState *st = e->state;
    const double scale = st->scale[h];
    for (int j = j0; j < j1; j++) logits[j - j0] += (float)(sw_at(st, abs(i - j)) * scale);
}

/* No parameters and no input gradient to pass on (the bias does not depend
 * on q or k): the twin exists because every forward hook has one. */
static void sw_bias_backward(Encoding *e, const float *dlogits, int h, int i, int j0, int j1) {
    (void)e, (void)dlogits, (void)h, (void)i, (void)j0, (void)j1;
}

/* The per-head compression c_h [H] and the frequencies w_k [D/2]. */
static PbStatus sw_inspect(const Encoding *e, int T, TensorSink *sink) {
    (void)T;
    const SwState *st = e->state;
    const int H = e->cfg.heads, n = H > st->pairs ? H : st->pairs;
    float *buf = pb_calloc((size_t)n, sizeof *buf, "Sandwich's exported compression");
    if (!buf) return PB_NOMEM;
    for (int h = 0; h < H; h++) buf[h] = (float)(1.0 / st->scale[h]);
    PbStatus s = sink->put_float(sink, "compression", buf, 1, (int[]){H});
    for (int k = 0; k < st->pairs && !s; k++) buf[k] = (float)st->w[k];
    if (!s) s = sink->put_float(sink, "inv_freq", buf, 1, (int[]){st->pairs});
    free(buf);
    return s;
}

const EncodingModule encoding_sandwich = {
    .name = "sandwich",
    .summary = "parameter-free sinusoidal cross-term bias with per-head compression (Sandwich, Chi et al. 2023)",
    .setup = sw_setup,
    .teardown = sw_teardown,
    .bias_forward = sw_bias_forward,
    .bias_backward = sw_bias_backward,
    .inspect = sw_inspect,
};
