/* shaw.c: relative position representations (Shaw, Uszkoreit and Vaswani
 * 2018, "Self-Attention with Relative Position Representations", NAACL,
 * eq. 4 to 6), the key-side embeddings a^K:
 *
 *   logits[b,h,i,j] += q_i . a[clip(j - i, -K, K) + K] / sqrt(D)
 *
 * q_i is head h's query (D floats) of batch row b; a: [2K+1, D], learned,
 * row K + (j - i) for relative position j - i (key minus query, as the
 * paper's clip(j - i, k)), every distance beyond K sharing the edge rows, so
 * any length is accepted. The term is the paper's e_ij = q_i (k_j +
 * a_ij)^T / sqrt(d) less the content part attention already computes; it
 * reads the query, so it is a score hook, not an attn_bias. Causal
 * attention reads rows 0..K (j <= i); the formula stays general.
 * The paper's value-side embeddings a^V (eq. 3) are not implemented: this
 * encoding acts on the logits only (the paper's ablation trains each side
 * alone too).
 *
 * The paper shares a across heads and learns one per layer; here one table
 * serves every head and, as every encoding of posbench, every layer (the
 * model owns one parameter slice per encoding).
 *
 * Init as tensor2tensor (tensorflow/tensor2tensor layers/common_attention.py,
 * _generate_relative_positions_embeddings: tf.get_variable under the
 * model's default initializer, "uniform_unit_scaling" with gain 1 in
 * common_hparams, i.e. variance_scaling fan_avg uniform, utils/optimize.py):
 * U(-l, l), l = sqrt(6 / (2K+1 + D)) (Glorot uniform). EncodingConfig.init_std
 * is not used. Knob max_distance: K = 16 by default (the paper's table 4
 * sweeps k and finds little change for k >= 2; tensor2tensor's
 * transformer_relative hparams use max_relative_position 20).
 *
 * Shapes: D = C / H; score works on one row segment (head h, query i, keys
 * j0..j1-1) of one batch row: logits and dlogits are [j1 - j0]. No state.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "../core/lanes_dot.h"
#include "encoding.h"

enum { SHAW_MAX_DISTANCE, SHAW_KNOB_COUNT };
static const EncodingKnob shaw_knobs[] = {
    [SHAW_MAX_DISTANCE] = {"max_distance", 16, 1, 65536,
                           "K: relative positions clipped to [-K, K] (2K+1 learned key embeddings)"},
    {NULL},
};
_Static_assert(sizeof shaw_knobs / sizeof shaw_knobs[0] == SHAW_KNOB_COUNT + 1, "shaw_knobs out of step with its enum");

static int shaw_k(const Encoding *e) { return (int)e->knob[SHAW_MAX_DISTANCE]; }

static size_t shaw_num_params(const Encoding *e) { return (size_t)(2 * shaw_k(e) + 1) * (size_t)e->head_dim; }

static PbStatus shaw_setup(Encoding *e) {
    const double k = e->knob[SHAW_MAX_DISTANCE];
    if (k != floor(k))
        return pb_fail(PB_USAGE,
                       "encoding 'shaw': max_distance=%g is not a whole number; give an integer such as "
                       "max_distance=16",
                       k);
    return PB_OK;
}

/* Glorot uniform, tensor2tensor's default initializer for the table. */
static void shaw_init_params(Encoding *e, Rng *rng) {
    const double fan_avg = 0.5 * ((double)(2 * shaw_k(e) + 1) + e->head_dim);
    const float limit = (float)sqrt(3.0 / fan_avg);
    for (size_t p = 0; p < e->n_params; p++) e->params[p] = (2.0f * rng_uniform(rng) - 1.0f) * limit;
}

/* The next run of keys [*j, *end) of query i sharing one table row *r: all
 * keys at distance <= -K (row 0), each key strictly within K of the query
 * (row j - i + K), all keys at distance >= K (row 2K). 0 when done. */
static int shaw_next_run(int K, int i, int j, int j1, int *end, int *r) {
    if (j >= j1) return 0;
    const long long rp = (long long)j - i;
    if (rp <= -K) {
        const long long stop = (long long)i - K + 1;
        *end = stop < j1 ? (int)stop : j1;
        *r = 0;
    } else if (rp >= K) {
        *end = j1;
        *r = 2 * K;
    } else {
        *end = j + 1;
        *r = (int)rp + K;
    }
    return 1;
}

/* One dot per run, so a long causal row costs K + 2 dots, not one per key. */
static void shaw_score_forward(const Encoding *e, float *logits, const float *q_i, const float *k, int ld, int h, int i,
                               int j0, int j1) {
    (void)k, (void)ld, (void)h;
    const int K = shaw_k(e), D = e->head_dim;
    const float scale = (float)(1.0 / sqrt((double)D));
    int j = j0, end, r;
    while (shaw_next_run(K, i, j, j1, &end, &r)) {
        const float v = scale * lanes_dot(q_i, e->params + (size_t)r * D, D);
        for (; j < end; j++) logits[j - j0] += v;
    }
}

/* Per run, s = the sum of dlogits; dq_i += s a[r] / sqrt(D) and
 * da[r] += s q_i / sqrt(D). The keys get no gradient (a does not read them). */
static void shaw_score_backward(Encoding *e, const float *dlogits, const float *q_i, const float *k, int ld,
                                float *dq_i, float *dk, int ldk, int h, int i, int j0, int j1) {
    (void)k, (void)ld, (void)dk, (void)ldk, (void)h;
    const int K = shaw_k(e), D = e->head_dim;
    const float scale = (float)(1.0 / sqrt((double)D));
    int j = j0, end, r;
    while (shaw_next_run(K, i, j, j1, &end, &r)) {
        float s = 0.0f;
        for (; j < end; j++) s += dlogits[j - j0];
        const float c = scale * s;
        const float *a = e->params + (size_t)r * D;
        float *da = e->dparams + (size_t)r * D;
        for (int d = 0; d < D; d++) {
            dq_i[d] += c * a[d];
            da[d] += c * q_i[d];
        }
    }
}

/* The table row of each (query, key) pair of positions 0..T-1. */
static PbStatus shaw_inspect(const Encoding *e, int T, TensorSink *sink) {
    const int K = shaw_k(e);
    int *row = pb_calloc((size_t)T * T + 1, sizeof *row, "shaw's exported table rows");
    if (!row) return PB_NOMEM;
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) row[(size_t)i * T + j] = (j - i < -K ? -K : j - i > K ? K : j - i) + K;
    PbStatus st = sink->put_int(sink, "relative_row", row, 2, (int[]){T, T});
    if (!st) st = sink->put_float(sink, "key_embeddings", e->params, 2, (int[]){2 * K + 1, e->head_dim});
    free(row);
    return st;
}

const EncodingModule encoding_shaw = {
    .name = "shaw",
    .summary = "learned key embeddings of clipped relative position, q . a_(j-i) (Shaw et al. 2018)",
    .knobs = shaw_knobs,
    .num_params = shaw_num_params,
    .setup = shaw_setup,
    .init_params = shaw_init_params,
    .score_forward = shaw_score_forward,
    .score_backward = shaw_score_backward,
    .inspect = shaw_inspect,
};
