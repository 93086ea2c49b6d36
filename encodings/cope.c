/* cope.c: contextual position encoding (Golovneva, Wang, Weston and
 * Sukhbaatar 2024, "Contextual Position Encoding: Learning to Count What's
 * Important", sec. 3; appendix B's code), causal:
 *
 *   g_ij = sigmoid(q_i . k_j / sqrt(D))                    gates, keys j <= i
 *   p_ij = min(sum_{t=j..i} g_it, P - 1)                   contextual position
 *   z_i[p] = q_i . e[p]                                    p = 0 .. P-1
 *   logits[b,h,i,j] += (1 - w) z_i[floor(p_ij)] + w z_i[ceil(p_ij)],
 *                      w = p_ij - floor(p_ij)
 *
 * Checked against lucidrains/x-transformers, x_transformers/x_transformers.py
 * (class CoPE, called as sim + cope(q, sim) in Attend.forward): the gates read
 * the scaled logits q.k * D^-0.5 (the paper's text writes sigmoid(q.k); the
 * authors' code scales too), z reads the unscaled query, and the term is
 * added as it is; e = pos_emb [P, D] is zero-initialised (so the term is 0
 * at init; EncodingConfig.init_std is not used), P = cope_max_pos = 16 by
 * default. The authors' code (facebookresearch/RAM,
 * projects/cope/src/cope/context_position.py) gates alike but by default
 * divides the term by sqrt(D) with q.k (unless --cope-nodiv) and takes
 * P = block size + 1: a rescaling of the trained e and a table size, not
 * followed here. The gates read q.k / sqrt(D) only: attn_bias terms of other
 * encodings do not reach them (x-transformers adds its attn_bias first;
 * posbench has one encoding per model).
 * Keys after the query get no term and no gate (the causal mask hides them,
 * and x-transformers' masked logits give sigmoid(-max) = 0).
 * One e serves every head and every layer (the paper shares one per layer
 * across heads; posbench's model owns one parameter slice per encoding).
 *
 * The positions of a row read the gates of keys j..i, so a row is computed
 * in one call, keys j0..min(j1, i+1)-1 of a segment being taken as the
 * visible keys (the attention calls each causal row whole). Segments of one
 * row that stop before the query do not piece together into the row.
 *
 * Knob positions: P, 2..64 (P-sized scratch lives on the stack). Cost per
 * row: one pass of dots from the query down, suffix sums kept in a running
 * double; once a suffix reaches P - 1 every earlier key is clamped and needs
 * no dot. Backward (ADDS into dq_i, dk, de) takes two such passes.
 *
 * Shapes: D = C / H; e [P, D]; score works on one row segment (head h,
 * query i, keys j0..j1-1) of one batch row. No state.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "../core/lanes_dot.h"
#include "encoding.h"

#define COPE_MAX_POSITIONS 64

enum { COPE_POSITIONS, COPE_KNOB_COUNT };
static const EncodingKnob cope_knobs[] = {
    [COPE_POSITIONS] = {"positions", 16, 2, COPE_MAX_POSITIONS,
                        "P: contextual positions clamped to P-1 (P learned embeddings e[p])"},
    {NULL},
};
_Static_assert(sizeof cope_knobs / sizeof cope_knobs[0] == COPE_KNOB_COUNT + 1, "cope_knobs out of step with its enum");

static int cope_p(const Encoding *e) { return (int)e->knob[COPE_POSITIONS]; }

static size_t cope_num_params(const Encoding *e) { return (size_t)cope_p(e) * (size_t)e->head_dim; }

static PbStatus cope_setup(Encoding *e) {
    const double p = e->knob[COPE_POSITIONS];
    if (p != floor(p))
        return pb_fail(PB_USAGE,
                       "encoding 'cope': positions=%g is not a whole number; give an integer such as positions=16", p);
    return PB_OK;
}

/* Zeros, as x-transformers' pos_emb: the term starts at 0. */
static void cope_init_params(Encoding *e, Rng *rng) {
    (void)rng;
    memset(e->params, 0, e->n_params * sizeof *e->params);
}

/* sigmoid without overflow for either sign. */
static double cope_sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    const double t = exp(x);
    return t / (1.0 + t);
}

/* z[p] = q . e[p] for the P positions. */
static void cope_z(const Encoding *e, const float *q_i, float *z) {
    const int P = cope_p(e), D = e->head_dim;
    for (int p = 0; p < P; p++) z[p] = lanes_dot(q_i, e->params + (size_t)p * D, D);
}

/* Where position s falls between integer positions: lo, hi = floor, ceil
 * (equal at an integer, so d/ds = z[hi] - z[lo] = 0 there, as torch's
 * autograd of x-transformers' formula), w the weight of hi; clamped past
 * P - 1 (no gradient through s). */
typedef struct {
    int lo, hi, clamped;
    float w;
} CopeSpot;

static CopeSpot cope_spot(double s, int P) {
    if (s >= P - 1) return (CopeSpot){P - 1, P - 1, 1, 0.0f};
    const int lo = (int)s; /* floor: s >= 0, a sum of gates */
    const double w = s - lo;
    return (CopeSpot){lo, w > 0 ? lo + 1 : lo, 0, (float)w};
}

/* The last key with a term: the query itself, or j1 - 1 if earlier. */
static int cope_last(int i, int j1) { return j1 - 1 < i ? j1 - 1 : i; }

/* One step of the descending pass: the suffix sum *s through key j (gate
 * *g; 0 once clamped, where no dot is needed). Forward and backward share it,
 * so both see the very same positions. */
static CopeSpot cope_step(const float *q_i, const float *k_j, int D, float scale, int P, double *s, double *g) {
    *g = 0.0;
    if (*s < P - 1) {
        *g = cope_sigmoid((double)(scale * lanes_dot(q_i, k_j, D)));
        *s += *g;
    }
    return cope_spot(*s, P);
}

static void cope_score_forward(const Encoding *e, float *logits, const float *q_i, const float *k, int ld, int h, int i,
                               int j0, int j1) {
    const int P = cope_p(e), D = e->head_dim, last = cope_last(i, j1);
    if (last < j0) return;
    const float scale = (float)(1.0 / sqrt((double)D));
    float z[COPE_MAX_POSITIONS];
    cope_z(e, q_i, z);
    double s = 0.0, g;
    int j = last;
    for (; j >= j0; j--) {
        const CopeSpot at = cope_step(q_i, k + (size_t)(j - j0) * ld + (size_t)h * D, D, scale, P, &s, &g);
        logits[j - j0] += (1.0f - at.w) * z[at.lo] + at.w * z[at.hi];
        if (at.clamped) break;
    }
    /* Every earlier key is clamped too: the last position's term (w = 0). */
    for (j--; j >= j0; j--) logits[j - j0] += z[P - 1];
}

/* Pass 1 (keys descending): dz[p] (the interpolation weights times dlogits)
 * and the total of dp_j = dlogits_j (z[hi] - z[lo]) over unclamped keys.
 * Pass 2: dL/dg_t = sum_{j <= t} dp_j = total - sum_{j > t} dp_j, through
 * the gate's sigmoid into dq_i and dk_t; clamped keys have none (every
 * position reading their gate is clamped). Then dq_i += sum dz[p] e[p] and
 * de[p] += dz[p] q_i. */
static void cope_score_backward(Encoding *e, const float *dlogits, const float *q_i, const float *k, int ld,
                                float *dq_i, float *dk, int ldk, int h, int i, int j0, int j1) {
    const int P = cope_p(e), D = e->head_dim, last = cope_last(i, j1);
    if (last < j0) return;
    const float scale = (float)(1.0 / sqrt((double)D));
    float z[COPE_MAX_POSITIONS];
    double dz[COPE_MAX_POSITIONS] = {0};
    cope_z(e, q_i, z);

    double s = 0.0, g, total = 0.0;
    int first_free = last + 1; /* lowest unclamped key */
    for (int j = last; j >= j0; j--) {
        const CopeSpot at = cope_step(q_i, k + (size_t)(j - j0) * ld + (size_t)h * D, D, scale, P, &s, &g);
        const double dl = dlogits[j - j0];
        dz[at.lo] += dl * (1.0 - at.w);
        dz[at.hi] += dl * at.w;
        if (at.clamped) {
            for (int t = j - 1; t >= j0; t--) dz[P - 1] += dlogits[t - j0];
            break;
        }
        total += dl * ((double)z[at.hi] - z[at.lo]);
        first_free = j;
    }

    s = 0.0;
    double later = 0.0; /* sum of dp_j over keys after t */
    for (int t = last; t >= first_free; t--) {
        const float *k_t = k + (size_t)(t - j0) * ld + (size_t)h * D;
        const CopeSpot at = cope_step(q_i, k_t, D, scale, P, &s, &g);
        const double dp = (double)dlogits[t - j0] * ((double)z[at.hi] - z[at.lo]);
        const float ds = (float)((total - later) * g * (1.0 - g)) * scale;
        later += dp;
        float *dk_t = dk + (size_t)(t - j0) * ldk + (size_t)h * D;
        for (int d = 0; d < D; d++) {
            dq_i[d] += ds * k_t[d];
            dk_t[d] += ds * q_i[d];
        }
    }

    for (int p = 0; p < P; p++) {
        if (dz[p] == 0.0) continue;
        const float c = (float)dz[p];
        const float *ep = e->params + (size_t)p * D;
        float *dep = e->dparams + (size_t)p * D;
        for (int d = 0; d < D; d++) {
            dq_i[d] += c * ep[d];
            dep[d] += c * q_i[d];
        }
    }
}

/* The learned position embeddings e [P, D]. */
static PbStatus cope_inspect(const Encoding *e, int T, TensorSink *sink) {
    (void)T;
    return sink->put_float(sink, "position_embeddings", e->params, 2, (int[]){cope_p(e), e->head_dim});
}

const EncodingModule encoding_cope = {
    .name = "cope",
    .summary = "contextual positions p = sum of sigmoid(q.k) gates, q . e[p] interpolated (Golovneva et al. 2024)",
    .knobs = cope_knobs,
    .num_params = cope_num_params,
    .setup = cope_setup,
    .init_params = cope_init_params,
    .score_forward = cope_score_forward,
    .score_backward = cope_score_backward,
    .score_keys_to_query = 1,
    .inspect = cope_inspect,
};
