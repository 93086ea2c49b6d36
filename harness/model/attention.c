/* attention.c: causal multi-head self-attention with the encoding's hooks
 * (formula, shapes and contracts in attention.h).
 *
 * Work is cut into tiles of TILE query rows of one head. A tile [m rows,
 * keys 0..i1) of batch row b needs two sgemm calls forward:
 *   S = bias + scale * Q[i0:i1] K[0:i1]^T,  softmax per row,  O = P V[0:i1]
 * so the causal mask wastes at most one diagonal block of the products.
 * Backward, tiles in order (dK and dV accumulate over them):
 *   dV[0:i1] += P^T dO,   dP = dO V^T,   dS = P * (dP - rowsum(P * dP)),
 *   dQ[i0:i1] = scale * dS K,   dK[0:i1] += scale * dS^T Q
 * and dS, the gradient of the logits, is what bias_backward receives.
 *
 * A score hook (a logit term reading the query, e.g. Shaw's relative key
 * embeddings) depends on the batch row, so it is never shared: forward calls
 * score_forward per (b, h, i) once the product has landed in the row and
 * before its softmax; backward calls score_backward per (b, h, i) with the
 * row of dS, after the dQ product (which may write, not add: beta_q), so the
 * hook's dq adds onto it; its dk adds like the product's. Its parameter
 * gradients go to the task's private dparams copy, as the bias's do.
 *
 * The bias does not depend on the batch row, so, as PyTorch's T5 computes
 * position_bias once per forward and broadcasts it, a task covers a group of
 * batch rows: forward calls bias_forward once per (group, h, i) and reuses
 * the row; backward sums dS over the group's rows (in row order) and calls
 * bias_backward once per (group, h, i). For relative_bias at B8 T512 this
 * took its forward plus backward from 65 to 46 ms on one thread (no bias:
 * 42 ms); a benchmark of encodings should not charge an encoding for work
 * the model repeats.
 *
 * Determinism: forward groups are chosen for balance (they do not change a
 * bit of the result); backward groups depend on B and H only, since they fix
 * the order of the bias gradient's sums. No result depends on which thread
 * runs a task, so results are the same bits for any thread count.
 */
#include "attention.h"
#include "../../core/interrupt.h"
#include "../../core/lanes_dot.h"
#include "../../core/threads.h"
#include "vexp.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Query rows per tile. 64 rows keep sgemm efficient (m = 64, k = D) while the
 * diagonal block, computed and then masked, stays a small share at T >= 256. */
#define TILE 64
/* Below this much work (B*H*T*T*D, about the forward's multiply-adds times
 * two) a call runs on one thread: waking a team costs more than it saves,
 * and on a busy machine a barrier can wait a whole time slice. */
#define PARALLEL_MIN_WORK (1.0 * (1 << 20))
/* Backward tasks per call at least (when attn_bias has parameters): batch
 * rows are grouped, fewer groups meaning fewer bias_backward calls, but
 * enough tasks to keep the threads busy. A constant, not the thread count,
 * since the grouping fixes the order of the bias gradient's sums. */
#define BACKWARD_MIN_TASKS 8
/* Partial sums kept apart in row reductions: they vectorise, and the order of
 * additions is fixed (never the thread count's or the compiler's choice). */
#define LANES LANES_DOT

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Whole cache lines (16 floats), so per-thread tiles never share one. */
static size_t round_lines(size_t n) { return (n + 15) & ~(size_t)15; }

static size_t tile_floats(int T) { return round_lines((size_t)TILE * (size_t)(T > 0 ? T : 0)); }

/* OpenMP owns the cores here: each task's sgemm must run on the thread that
 * calls it. OpenBLAS's pthread pool, woken from inside an OpenMP region,
 * oversubscribes the cores (measured 3x slower on a 2-core machine). */
static int blas_single_begin(void) {
    int n = openblas_get_num_threads();
    if (n > 1) openblas_set_num_threads(1);
    return n;
}

static void blas_single_end(int n) {
    if (n > 1) openblas_set_num_threads(n);
}

/* ---- row kernels --------------------------------------------------------- */

/* Float order as signed-int order (negative floats get their magnitude bits
 * flipped), so the row maximum is an integer max, which vectorises where a
 * float compare does not (see vexp.h). A NaN with the sign bit
 * clear is the largest key, so it reaches the maximum and every output. */
static inline int32_t order_key(float x) {
    int32_t i;
    memcpy(&i, &x, sizeof i);
    return i ^ (int32_t)((uint32_t)(i >> 31) >> 1);
}

static inline float row_max(const float *x, int n) {
    int32_t m[LANES];
    for (int l = 0; l < LANES; l++) m[l] = INT32_MIN;
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) {
            const int32_t k = order_key(x[j + l]);
            m[l] = k > m[l] ? k : m[l];
        }
    for (int l = 0; j < n; j++, l++) {
        const int32_t k = order_key(x[j]);
        m[l] = k > m[l] ? k : m[l];
    }
    int32_t mx = m[0];
    for (int l = 1; l < LANES; l++) mx = m[l] > mx ? m[l] : mx;
    mx ^= (int32_t)((uint32_t)(mx >> 31) >> 1); /* the key's own inverse */
    float out;
    memcpy(&out, &mx, sizeof out);
    return out;
}

/* sum_j a[j] in LANES partial sums, then a fixed pairwise combination (as
 * lanes_dot, core/lanes_dot.h, for products). */
static inline float row_sum(const float *a, int n) {
    float s[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) s[l] += a[j + l];
    for (int l = 0; j < n; j++, l++) s[l] += a[j];
    for (int w = LANES / 2; w; w /= 2)
        for (int l = 0; l < w; l++) s[l] += s[l + w];
    return s[0];
}

/* x[0..n) = softmax(x[0..n)) in place. stat (may be NULL) receives the
 * row's statistics {max, 1/sum}: its log-sum-exp in the two floats that let
 * softmax_row_again repeat this arithmetic exactly. */
ROW_KERNEL static void softmax_row(float *x, int n, float *stat) {
    const float mx = row_max(x, n);
    for (int j = 0; j < n; j++) x[j] = exp_nonpositive(x[j] - mx, EXP_FLUSH_SOFTMAX);
    const float inv = 1.0f / row_sum(x, n);
    for (int j = 0; j < n; j++) x[j] *= inv;
    if (stat) stat[0] = mx, stat[1] = inv;
}

/* The probabilities softmax_row gave the same logits x[0..n), from its
 * statistics: the same rounded operations, so the same bits. */
ROW_KERNEL static void softmax_row_again(float *x, int n, const float *stat) {
    const float mx = stat[0], inv = stat[1];
    for (int j = 0; j < n; j++) x[j] = exp_nonpositive(x[j] - mx, EXP_FLUSH_SOFTMAX) * inv;
}

/* d[j] = dlogits of a softmax row: p[j] * (d[j] - sum_k p[k] d[k]), where d
 * holds dL/dp on entry. */
ROW_KERNEL static void softmax_backward_row(float *d, const float *p, int n) {
    const float dot = lanes_dot(p, d, n);
    for (int j = 0; j < n; j++) d[j] = p[j] * (d[j] - dot);
}

/* ---- shapes and checks ---------------------------------------------------- */

typedef struct {
    const Encoding *enc;
    int T, C, H, D;
    Positions pos; /* of the B windows; positions_window gives one's */
    int ld;        /* 3C: floats between consecutive positions of qkv */
    float scale;
} Attn;

static Attn attn_of(const Encoding *enc, int T, int C, int H, Positions pos) {
    const int D = C / H;
    return (Attn){
        .enc = enc, .T = T, .C = C, .H = H, .D = D, .pos = pos, .ld = 3 * C, .scale = (float)(1.0 / sqrt((double)D))};
}

static PbStatus check_call(const char *fn, const Encoding *enc, int B, int T, int C, int H, Positions pos) {
    if (!enc || !enc->module)
        return pb_fail(PB_USAGE,
                       "%s: no encoding given; pass the 'none' encoding for a model "
                       "without positional information",
                       fn);
    if (B < 0 || T < 0 || C <= 0 || H <= 0 || C % H)
        return pb_fail(PB_RANGE,
                       "%s: shape B %d, T %d, C %d, H %d is invalid: B and T must "
                       "be >= 0, C and H positive, and H must divide C",
                       fn, B, T, C, H);
    if (C > INT_MAX / 3) return pb_fail(PB_RANGE, "%s: C %d is too wide (3C must fit an int)", fn, C);
    if (enc->cfg.dim != C || enc->cfg.heads != H)
        return pb_fail(PB_RANGE,
                       "%s: encoding '%s' was created for dim %d with %d heads, but "
                       "attention runs with C %d and H %d; create the encoding with the "
                       "model's width and head count",
                       fn, enc->module->name, enc->cfg.dim, enc->cfg.heads, C, H);
    if (enc->n_params && !enc->params)
        return pb_fail(PB_USAGE,
                       "%s: encoding '%s' has %zu parameters but no buffer; call "
                       "encoding_bind first",
                       fn, enc->module->name, enc->n_params);
    if (!pos.map && pos.pos0 >= 0 && (long long)pos.pos0 + T > INT_MAX)
        return pb_fail(PB_RANGE, "%s: positions %d..%lld do not fit an int", fn, pos.pos0, (long long)pos.pos0 + T - 1);
    return encoding_check_map(enc, pos, B, T);
}

/* ---- forward -------------------------------------------------------------- */

/* Batch rows [b0, b1) of group g of G-row groups. */
static int group_begin(int g, int G) { return g * G; }
static int group_end(int g, int G, int B) { return (g + 1) * G < B ? (g + 1) * G : B; }

/* Bias rows of a tile of batch row b: bias [m, T], row r = bias(h, p(i0+r),
 * p(j)) for keys j <= i0+r (bias_forward on a zero row), zero on to column
 * i1. */
static void bias_tile(const Attn *a, float *bias, int b, int h, int i0, int m) {
    const int i1 = i0 + m;
    const Positions w = positions_window(a->pos, b, a->T);
    for (int r = 0; r < m; r++) {
        float *row = bias + (size_t)r * a->T;
        const int i = i0 + r;
        memset(row, 0, (size_t)i1 * sizeof *row);
        encoding_bias_keys(a->enc, row, h, w, i, 0, i + 1);
    }
}

/* Logits of the tile of query rows i0..i0+m-1 of head h, batch row b: p
 * [m, T], row r over keys 0..i1-1 (keys past i0+r are not yet masked).
 * bias: the tile's bias rows (may be p itself) or NULL; with a bias the
 * product lands on it (beta = 1), saving a pass, and a score hook then adds
 * its term to each row. Forward and the tiled backward's recomputation both
 * come here, so both see the same bits. */
static void tile_logits(const Attn *a, float *p, const float *bias, const float *qkv, int b, int h, int i0, int m) {
    const int i1 = i0 + m, D = a->D, ld = a->ld, T = a->T;
    const float *base = qkv + (size_t)b * T * ld + (size_t)h * D;
    const float *q = base + (size_t)i0 * ld, *k = base + a->C;
    if (bias && bias != p)
        for (int r = 0; r < m; r++) memcpy(p + (size_t)r * T, bias + (size_t)r * T, (size_t)i1 * sizeof *p);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, i1, D, a->scale, q, ld, k, ld, bias ? 1.0f : 0.0f, p, T);
    if (!a->enc->module->score_forward) return;
    const Positions w = positions_window(a->pos, b, T);
    for (int r = 0; r < m; r++)
        encoding_score_keys(a->enc, p + (size_t)r * T, q + (size_t)r * ld, k - (size_t)h * D, ld, h, w, i0 + r, 0,
                            i0 + r + 1);
}

/* Rows of the row statistics of batch row b, head h, from query i0:
 * stats [B,H,T,ATTENTION_STATS], or NULL. */
static float *stats_at(float *stats, const Attn *a, int b, int h, int i0) {
    return stats ? stats + (((size_t)b * a->H + h) * a->T + i0) * ATTENTION_STATS : NULL;
}

/* Tile of query rows i0..i0+m-1 of head h, batch row b. p [m, T]: logits,
 * then probabilities over keys 0..i, zero from i+1 to column zero_to. bias:
 * as tile_logits. stat: where the rows' statistics go (tiled training), or
 * NULL. Writes the tile's rows of out. */
static void tile_forward(const Attn *a, float *out, float *p, const float *bias, int zero_to, float *stat,
                         const float *qkv, int b, int h, int i0, int m) {
    const int i1 = i0 + m, D = a->D, ld = a->ld, T = a->T;
    tile_logits(a, p, bias, qkv, b, h, i0, m);
    for (int r = 0; r < m; r++) {
        float *row = p + (size_t)r * T;
        const int i = i0 + r;
        softmax_row(row, i + 1, stat ? stat + (size_t)r * ATTENTION_STATS : NULL);
        memset(row + i + 1, 0, (size_t)(zero_to - i - 1) * sizeof *row);
    }
    const float *v = qkv + (size_t)b * T * ld + (size_t)h * D + 2 * (size_t)a->C;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, D, i1, 1.0f, p, T, v, ld, 0.0f,
                out + ((size_t)b * T + i0) * a->C + (size_t)h * D, a->C);
}

/* ---- rotations (RoPE, xPos) ------------------------------------------------- */

/* One window per task: a window alone is the same call the hook makes for
 * each window of the batch, so the bits do not change; a team slice (batch 8
 * on 16 threads) no longer rotates on one thread. Backward runs in parallel
 * only for an encoding without parameters: one with them would add into
 * enc->dparams from every task. */
static void rotate_forward_windows(const Encoding *enc, float *qkv, int B, int T, int C, Positions pos, int parallel) {
    if (!enc->module->rotate_forward) return;
    const size_t ld = 3 * (size_t)C;
#pragma omp parallel for schedule(static) if (parallel && B > 1)
    for (int b = 0; b < B; b++) {
        float *q = qkv + (size_t)b * T * ld;
        (void)encoding_rotate_forward_at(enc, q, q + C, (int)ld, 1, T, positions_window(pos, b, T));
    }
}

static void rotate_backward_windows(Encoding *enc, float *dqk, int B, int T, int C, Positions pos, int parallel) {
    if (!enc->module->rotate_backward) return;
    const size_t ld = 2 * (size_t)C;
#pragma omp parallel for schedule(static) if (parallel && B > 1 && enc->n_params == 0)
    for (int b = 0; b < B; b++) {
        float *dq = dqk + (size_t)b * T * ld;
        (void)encoding_rotate_backward_at(enc, dq, dq + C, (int)ld, 1, T, positions_window(pos, b, T));
    }
}

/* att non-NULL: probabilities kept there (training), the bias rows parked
 * in the group's first row's tile until its turn comes last; else logits
 * and bias in two per-thread tiles of scratch (evaluation, and tiled
 * training, which keeps each row's statistics in stats). */
static PbStatus forward(const char *fn, float *out, float *att, float *stats, float *qkv, const Encoding *enc,
                        float *scratch, int B, int T, int C, int H, Positions pos) {
    PbStatus st = check_call(fn, enc, B, T, C, H, pos);
    if (st) return st;
    if (!att && !scratch)
        return pb_fail(PB_USAGE, "%s: scratch is NULL; allocate %s floats once", fn,
                       stats ? "attention_tiled_scratch_floats(enc, B, T, C, H, threads)"
                             : "attention_rows_scratch_floats(T, threads)");
    if (B == 0 || T == 0) return PB_OK;
    const Attn a = attn_of(enc, T, C, H, pos);
    const int parallel = (double)B * H * T * T * a.D >= PARALLEL_MIN_WORK;
    rotate_forward_windows(enc, qkv, B, T, C, pos, parallel);

    const int biased = enc->module->bias_forward != NULL, threads = pb_max_threads();
    const int tiles = (T + TILE - 1) / TILE;
    /* Without a bias every batch row is its own task; with one, as few
     * groups as keep 4 tasks per thread (any grouping gives the same bits);
     * windows of their own positions (a map) have their own bias rows. */
    int groups = B;
    if (biased && !pos.map) {
        const long want = ((long)4 * threads + (long)H * tiles - 1) / ((long)H * tiles);
        groups = want < B ? (int)want : B;
    }
    const int G = (B + groups - 1) / groups;
    groups = (B + G - 1) / G;
    const long per_tile = (long)H * groups, tasks = per_tile * tiles;
    const size_t per_thread = tile_floats(T);
    /* evaluation: lengths where one call takes minutes; training is not cut */
    const int poll = att == NULL && stats == NULL;
    const int blas = blas_single_begin();
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (long task = 0; task < tasks; task++) {
        if (poll && interrupt_requested()) continue; /* the caller drops the output */
        /* The last tiles (most keys) first: the dynamic schedule then ends
         * with small tasks and the threads finish together. */
        const int tile = (int)(tiles - 1 - task / per_tile);
        const int h = (int)(task % per_tile / groups), g = (int)(task % per_tile % groups);
        const int b0 = group_begin(g, G), b1 = group_end(g, G, B), i0 = tile * TILE;
        const int m = T - i0 < TILE ? T - i0 : TILE;
        float *mine = scratch ? scratch + (size_t)thread_id() * 2 * per_thread : NULL;
#define ATT_TILE(b) (att + (((size_t)(b)*H + h) * T + i0) * T)
        float *bias = !biased ? NULL : att ? ATT_TILE(b0) : mine + per_thread;
        if (bias) bias_tile(&a, bias, b0, h, i0, m);
        for (int b = b1 - 1; b >= b0; b--) /* b0 last: its tile may hold the bias */
            tile_forward(&a, out, att ? ATT_TILE(b) : mine, bias, att ? T : i0 + m, stats_at(stats, &a, b, h, i0), qkv,
                         b, h, i0, m);
#undef ATT_TILE
    }
    blas_single_end(blas);
    return PB_OK;
}

PbStatus attention_forward_at(float *out, float *att, float *qkv, const Encoding *enc, int B, int T, int C, int H,
                              Positions pos) {
    if (!att)
        return pb_fail(PB_USAGE, "attention_forward: att is NULL; training keeps the "
                                 "probabilities for backward (use attention_forward_rows to evaluate)");
    return forward("attention_forward", out, att, NULL, qkv, enc, NULL, B, T, C, H, pos);
}

PbStatus attention_forward(float *out, float *att, float *qkv, const Encoding *enc, int B, int T, int C, int H,
                           int pos0) {
    return attention_forward_at(out, att, qkv, enc, B, T, C, H, positions_from(pos0));
}

size_t attention_rows_scratch_floats(int T, int threads) {
    return (size_t)(threads > 0 ? threads : 1) * 2 * tile_floats(T);
}

PbStatus attention_forward_rows(float *out, float *qkv, const Encoding *enc, float *scratch, int B, int T, int C, int H,
                                int pos0) {
    return forward("attention_forward_rows", out, NULL, NULL, qkv, enc, scratch, B, T, C, H, positions_from(pos0));
}

/* ---- backward ------------------------------------------------------------- */

/* How backward splits its work: `groups` groups of G batch rows per head
 * (the last may be short), summing dS over a group before bias_backward
 * when attn_bias has parameters. Depends on the shape and encoding only.
 * Per-thread [TILE, T] tiles: dS; its sum over the group (sum); and, tiled
 * (recomputing probabilities), P and the group's shared bias rows
 * (own_bias: a group of several rows sharing one set). */
typedef struct {
    int groups, G, sum, own_bias, tiles_per_thread;
    size_t tiles, dqk, priv; /* scratch: per-thread tiles, dq/dk, dparams copies */
} BackwardPlan;

static BackwardPlan backward_plan(const Encoding *enc, int B, int T, int C, int H, int threads, int mapped, int tiled) {
    const EncodingModule *m = enc->module;
    BackwardPlan p = {.groups = B > 0 ? B : 1};
    /* Windows with a map of their own positions have their own bias rows. */
    const int bias_params = m->bias_backward && enc->n_params && !mapped;
    const int hook_params = enc->n_params && (m->bias_backward || m->score_backward);
    /* Tiled, a group's recomputed bias rows are computed once and shared;
     * without parameters the grouping fixes no sum, so group for that too. */
    const int share_bias = tiled && m->bias_forward && !mapped;
    if (bias_params || share_bias) {
        const int want = (BACKWARD_MIN_TASKS + H - 1) / H;
        p.groups = want < B ? want : (B > 0 ? B : 1);
    }
    p.G = B > 0 ? (B + p.groups - 1) / p.groups : 1;
    p.groups = B > 0 ? (B + p.G - 1) / p.G : 1;
    p.sum = bias_params && p.G > 1;
    p.own_bias = tiled && m->bias_forward && p.G > 1 && !mapped;
    p.tiles_per_thread = 1 + p.sum + (tiled ? 1 + p.own_bias : 0);
    p.tiles = (size_t)(threads > 0 ? threads : 1) * p.tiles_per_thread * tile_floats(T);
    if (m->rotate_backward) p.dqk = round_lines((size_t)B * T * 2 * (size_t)C);
    if (hook_params) p.priv = (size_t)H * p.groups * enc->n_params;
    return p;
}

static size_t backward_scratch_floats(const Encoding *enc, int B, int T, int C, int H, int threads, int tiled) {
    if (!enc || !enc->module || B < 0 || T < 0 || H <= 0) return 0;
    /* Enough for either plan: with or without a map of positions. */
    BackwardPlan p = backward_plan(enc, B, T, C, H, threads, 0, tiled);
    BackwardPlan q = backward_plan(enc, B, T, C, H, threads, 1, tiled);
    const size_t np = p.tiles + p.dqk + p.priv, nq = q.tiles + q.dqk + q.priv;
    return np > nq ? np : nq;
}

size_t attention_backward_scratch_floats(const Encoding *enc, int B, int T, int C, int H, int threads) {
    return backward_scratch_floats(enc, B, T, C, H, threads, 0);
}

size_t attention_tiled_scratch_floats(const Encoding *enc, int B, int T, int C, int H, int threads) {
    /* Backward's tiles (two at least per thread) hold forward's two. */
    return backward_scratch_floats(enc, B, T, C, H, threads, 1);
}

/* Where one task's gradients go: dq, dk of batch row 0 at row stride ldq
 * (in dqkv, or in the rotation scratch); beta_q 1 adds dq into dqkv, 0
 * writes the scratch. */
typedef struct {
    float *dq, *dv;
    int ldq;
    float beta_q;
    int zero_dk; /* dk lives in scratch: zero it before accumulating */
} Grads;

/* score_backward for the tile's rows of batch row b: dS rows in tile, dq and
 * dk (head h's slices of batch row b's rows, dk from key 0) at stride ldq. */
static void score_tile_backward(const Attn *a, Encoding *enc, const float *tile, const float *q, const float *k,
                                float *dq, float *dk, int ldq, int b, int h, int i0, int m) {
    const Positions w = positions_window(a->pos, b, a->T);
    for (int r = 0; r < m; r++) {
        const int i = i0 + r;
        encoding_score_keys_backward(enc, tile + (size_t)r * a->T, q + (size_t)i * a->ld, k - (size_t)h * a->D, a->ld,
                                     dq + (size_t)i * ldq, dk - (size_t)h * a->D, ldq, h, w, i, 0, i + 1);
    }
}

/* What forward saved: the probabilities att [B,H,T,T], or (tiled) the row
 * statistics stats [B,H,T,ATTENTION_STATS] from which a task recomputes
 * them, tile by tile, into its own p. */
typedef struct {
    const float *att, *stats;
    int tiled; /* 1: stats, 0: att */
} Saved;

/* One thread's [TILE, T] tiles (BackwardPlan): ds always; sum, p and bias
 * where the plan has them, else NULL. */
typedef struct {
    float *ds, *sum, *p, *bias;
} Tiles;

static Tiles tiles_of(const BackwardPlan *plan, float *scratch, int T, int thread) {
    const size_t n = tile_floats(T);
    float *t = scratch + (size_t)thread * plan->tiles_per_thread * n;
    Tiles out = {.ds = t};
    t += n;
    if (plan->sum) out.sum = t, t += n;
    if (plan->tiles_per_thread > 1 + plan->sum) out.p = t, t += n;
    if (plan->own_bias) out.bias = t;
    return out;
}

/* The probabilities of the tile (b, h, rows i0..i0+m-1) over keys 0..i1-1:
 * att's, or recomputed into t->p from the logits and the saved statistics
 * (zero past the diagonal, as att). The bias rows: computed once per tile
 * into t->bias when the group shares them (first_row: the group's first
 * row, which computes them), else straight into p. */
static const float *tile_probs(const Attn *a, const Saved *sv, const Tiles *t, const float *qkv, int b, int h, int i0,
                               int m, int first_row) {
    const int T = a->T, i1 = i0 + m;
    if (!sv->tiled) return sv->att + (((size_t)b * a->H + h) * T + i0) * T;
    const float *bias = NULL;
    if (a->enc->module->bias_forward) {
        if (!t->bias) bias_tile(a, t->p, b, h, i0, m);
        else if (first_row) bias_tile(a, t->bias, b, h, i0, m);
        bias = t->bias ? t->bias : t->p;
    }
    tile_logits(a, t->p, bias, qkv, b, h, i0, m);
    const float *stat = sv->stats + (((size_t)b * a->H + h) * T + i0) * ATTENTION_STATS;
    for (int r = 0; r < m; r++) {
        float *row = t->p + (size_t)r * T;
        const int i = i0 + r;
        softmax_row_again(row, i + 1, stat + (size_t)r * ATTENTION_STATS);
        memset(row + i + 1, 0, (size_t)(i1 - i - 1) * sizeof *row);
    }
    return t->p;
}

/* One task: head h, batch rows [b0, b1), with its thread's tiles.
 * enc_bias: where bias_backward and score_backward add (the task's private
 * dparams copy, if any). */
static void task_backward(const Attn *a, const Grads *gr, const float *dout, const float *qkv, const Saved *sv,
                          const Tiles *t, Encoding *enc_bias, int h, int b0, int b1) {
    const int T = a->T, C = a->C, D = a->D, ld = a->ld;
    const EncodingModule *mod = a->enc->module;
    float *tile = t->ds, *sum = t->sum;
    if (gr->zero_dk)
        for (int b = b0; b < b1; b++)
            for (int r = 0; r < T; r++)
                memset(gr->dq + ((size_t)b * T + r) * gr->ldq + C + (size_t)h * D, 0, (size_t)D * sizeof(float));
    for (int i0 = 0; i0 < T; i0 += TILE) {
        const int m = T - i0 < TILE ? T - i0 : TILE, i1 = i0 + m;
        if (sum)
            for (int r = 0; r < m; r++) memset(sum + (size_t)r * T, 0, (size_t)i1 * sizeof *sum);
        for (int b = b0; b < b1; b++) {
            const float *q = qkv + (size_t)b * T * ld + (size_t)h * D, *k = q + C, *v = q + 2 * C;
            const float *Pt = tile_probs(a, sv, t, qkv, b, h, i0, m, b == b0);
            const float *dOt = dout + ((size_t)b * T + i0) * C + (size_t)h * D;
            float *dq = gr->dq + (size_t)b * T * gr->ldq + (size_t)h * D, *dk = dq + C;
            float *dv = gr->dv + (size_t)b * T * ld + (size_t)h * D;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1, D, m, 1.0f, Pt, T, dOt, C, 1.0f, dv, ld);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, i1, D, 1.0f, dOt, C, v, ld, 0.0f, tile, T);
            for (int r = 0; r < m; r++) {
                const int i = i0 + r;
                float *ds = tile + (size_t)r * T;
                softmax_backward_row(ds, Pt + (size_t)r * T, i + 1);
                memset(ds + i + 1, 0, (size_t)(i1 - i - 1) * sizeof *ds);
                if (sum) {
                    float *acc = sum + (size_t)r * T;
                    for (int j = 0; j <= i; j++) acc[j] += ds[j];
                } else if (mod->bias_backward) {
                    encoding_bias_keys_backward(enc_bias, ds, h, positions_window(a->pos, b, T), i, 0, i + 1);
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, D, i1, a->scale, tile, T, k, ld, gr->beta_q,
                        dq + (size_t)i0 * gr->ldq, gr->ldq);
            if (mod->score_backward) score_tile_backward(a, enc_bias, tile, q, k, dq, dk, gr->ldq, b, h, i0, m);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1, D, m, a->scale, tile, T, q + (size_t)i0 * ld, ld,
                        1.0f, dk, gr->ldq);
        }
        if (sum)
            for (int r = 0; r < m; r++)
                encoding_bias_keys_backward(enc_bias, sum + (size_t)r * T, h, a->pos, i0 + r, 0, i0 + r + 1);
    }
}

static PbStatus check_backward_call(const char *fn, const Encoding *enc, const Saved *sv, const float *scratch, int B,
                                    int T, int C, int H, Positions pos) {
    PbStatus st = check_call(fn, enc, B, T, C, H, pos);
    if (st) return st;
    if (!(sv->tiled ? sv->stats : sv->att))
        return pb_fail(PB_USAGE, "%s: %s is NULL; pass what the forward pass saved", fn, sv->tiled ? "stats" : "att");
    if (!scratch)
        return pb_fail(PB_USAGE, "%s: scratch is NULL; allocate %s(enc, B, T, C, H, threads) floats once", fn,
                       sv->tiled ? "attention_tiled_scratch_floats" : "attention_backward_scratch_floats");
    if (enc->n_params && !enc->dparams)
        return pb_fail(PB_USAGE,
                       "%s: encoding '%s' has %zu parameters but no "
                       "gradient buffer; call encoding_bind first",
                       fn, enc->module->name, enc->n_params);
    return PB_OK;
}

/* With a rotation (dqk non-NULL), dq and dk go to scratch first:
 * rotate_backward then maps this call's gradient alone, and dqkv still only
 * accumulates. */
static Grads grads_of(float *dqkv, float *dqk, int C) {
    return (Grads){.dq = dqk ? dqk : dqkv,
                   .dv = dqkv + 2 * (size_t)C,
                   .ldq = dqk ? 2 * C : 3 * C,
                   .beta_q = dqk ? 0.0f : 1.0f,
                   .zero_dk = dqk != NULL};
}

/* The encoding task `task`'s bias_backward and score_backward add into: enc
 * itself, or (np > 0) a copy in *local with its own zeroed gradient slice of
 * priv, so that no two tasks add into one float and the sum over tasks is
 * ordered. */
static inline Encoding *task_encoding(Encoding *enc, Encoding *local, float *priv, size_t np, long task) {
    if (!np) return enc;
    *local = *enc;
    local->dparams = priv + (size_t)task * np;
    memset(local->dparams, 0, np * sizeof(float));
    return local;
}

/* dqkv's dq and dk += rotate_backward of the scratch gradients dqk [B, T, 2C]. */
static void add_rotated_dqk(float *dqkv, float *dqk, Encoding *enc, int B, int T, int C, Positions pos, int parallel) {
    rotate_backward_windows(enc, dqk, B, T, C, pos, parallel);
    const long rows = (long)B * T;
#pragma omp parallel for schedule(static) if (parallel)
    for (long r = 0; r < rows; r++) {
        float *dst = dqkv + (size_t)r * 3 * C;
        const float *src = dqk + (size_t)r * 2 * C;
        for (int c = 0; c < 2 * C; c++) dst[c] += src[c];
    }
}

/* enc->dparams += the tasks' private gradients priv [tasks, np], summed in
 * task order. */
static void add_task_dparams(Encoding *enc, const float *priv, size_t np, long tasks, int parallel) {
#pragma omp parallel for schedule(static) if (parallel && np >= 4096)
    for (size_t p = 0; p < np; p++) {
        float s = 0.0f;
        for (long t = 0; t < tasks; t++) s += priv[(size_t)t * np + p];
        enc->dparams[p] += s;
    }
}

static PbStatus backward(const char *fn, float *dqkv, const float *dout, const float *qkv, const Saved *sv,
                         Encoding *enc, float *scratch, int B, int T, int C, int H, Positions pos) {
    PbStatus st = check_backward_call(fn, enc, sv, scratch, B, T, C, H, pos);
    if (st) return st;
    if (B == 0 || T == 0) return PB_OK;

    const Attn a = attn_of(enc, T, C, H, pos);
    const BackwardPlan plan = backward_plan(enc, B, T, C, H, pb_max_threads(), pos.map != NULL, sv->tiled);
    const size_t np = plan.priv ? enc->n_params : 0;
    float *dqk = plan.dqk ? scratch + plan.tiles : NULL;
    float *priv = np ? scratch + plan.tiles + plan.dqk : NULL;
    const Grads gr = grads_of(dqkv, dqk, C);
    const long tasks = (long)H * plan.groups;

    const int parallel = (double)B * H * T * T * a.D >= PARALLEL_MIN_WORK;
    const int blas = blas_single_begin();
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (long task = 0; task < tasks; task++) {
        const int h = (int)(task / plan.groups), g = (int)(task % plan.groups);
        Encoding local;
        Encoding *enc_bias = task_encoding(enc, &local, priv, np, task);
        const Tiles t = tiles_of(&plan, scratch, T, thread_id());
        task_backward(&a, &gr, dout, qkv, sv, &t, enc_bias, h, group_begin(g, plan.G), group_end(g, plan.G, B));
    }
    blas_single_end(blas);

    if (dqk) add_rotated_dqk(dqkv, dqk, enc, B, T, C, pos, parallel);
    if (np) add_task_dparams(enc, priv, np, tasks, parallel);
    return PB_OK;
}

PbStatus attention_backward_at(float *dqkv, const float *dout, const float *qkv, const float *att, Encoding *enc,
                               float *scratch, int B, int T, int C, int H, Positions pos) {
    return backward("attention_backward", dqkv, dout, qkv, &(Saved){.att = att}, enc, scratch, B, T, C, H, pos);
}

PbStatus attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, Encoding *enc,
                            float *scratch, int B, int T, int C, int H, int pos0) {
    return attention_backward_at(dqkv, dout, qkv, att, enc, scratch, B, T, C, H, positions_from(pos0));
}

/* ---- tiled training --------------------------------------------------------- */

PbStatus attention_forward_tiled_at(float *out, float *stats, float *qkv, const Encoding *enc, float *scratch, int B,
                                    int T, int C, int H, Positions pos) {
    if (!stats)
        return pb_fail(PB_USAGE, "attention_forward_tiled: stats is NULL; tiled training keeps each "
                                 "row's statistics for backward");
    return forward("attention_forward_tiled", out, NULL, stats, qkv, enc, scratch, B, T, C, H, pos);
}

PbStatus attention_backward_tiled_at(float *dqkv, const float *dout, const float *qkv, const float *stats,
                                     Encoding *enc, float *scratch, int B, int T, int C, int H, Positions pos) {
    return backward("attention_backward_tiled", dqkv, dout, qkv, &(Saved){.stats = stats, .tiled = 1}, enc, scratch, B,
                    T, C, H, pos);
}
