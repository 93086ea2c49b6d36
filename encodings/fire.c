/* fire.c: FIRE, functional interpolation for relative positions (Li, You,
 * Guruganesh, Ainslie, Ontanon, Zaheer, Sanghai, Yang, Kumar and Bhojanapalli,
 * "Functional Interpolation for Relative Positions Improves Long Context
 * Transformers", arXiv 2310.04418, 2023; ICLR 2024), eq. 4 and appendix code.
 *
 *   logits[h,i,j] += f_h(x),   x = psi(|i - j|) / (psi(max(i, L)) + eps)
 *   psi(d) = log(|c| d + 1),   L = |mult| L0,   eps = 1e-6
 *   f(x) = w2 relu(w1 x + b1) + b2     an MLP 1 -> 32 -> H; output h is head h's bias
 *
 * The log amplifies differences between near keys; dividing by the query's
 * own (thresholded) position maps every distance into [0, 1], so a model
 * trained on short inputs sees the same range on long ones ("progressive
 * interpolation"); the threshold L keeps short prefixes from being stretched.
 * Checked against mcleish7/arithmetic cramming/architectures/embeddings.py
 * (class FIRE, the paper's appendix code).
 *
 * Parameters: n = 2*32 + 32 H + H + 2 floats, in this order (make_reference.py's
 * Fire reads the same layout):
 *   w1 [32]     first layer, nn.Linear(1, 32).weight      init U(-1, 1)
 *   b1 [32]     its bias                                   init U(-1, 1)
 *   w2 [H,32]   second layer, nn.Linear(32, H).weight      init U(-1/sqrt(32), 1/sqrt(32))
 *   b2 [H]      its bias                                   init U(-1/sqrt(32), 1/sqrt(32))
 *   c           the log's scale                            init 0.1
 *   mult        L's multiplier                             init 1
 * as the authors' code (torch's nn.Linear init; EncodingConfig.init_std is not
 * used). Knob L: L0, 0 (default) meaning max_len, the training length, as the
 * paper sets L0 = 512 for 512-token training. c and L stay positive as in the
 * authors' code, through |c| and |mult L0|, so there is no project hook; the
 * derivative of |.| is sign(.), 0 at 0 (torch's). On a tie i = L the
 * gradient of max(i, L) is split half and half (torch.maximum's). Keys after
 * the query take |i - j| as the authors' code does for every pair (the causal
 * mask hides them). eps keeps x finite at any position: no length limit.
 *
 * Cost: f_h is piecewise linear in x, with a kink per hidden unit at
 * t_k = -b1_k / w1_k. A call sorts the kinks its keys reach, tabulates head
 * h's pieces f_h = a_s + b_s x and, x growing with distance, the distance at
 * which each kink falls: keys then come in runs on one piece, and a key costs
 * a vectorised log1p and one multiply-add instead of a 32-wide hidden layer
 * per head; the normaliser is computed once per row. Plans live on the stack:
 * the hooks run on many threads at once and the parameters change every step.
 * The gradient is exact between kinks (tests/reference checks it against
 * torch); a central difference whose step crosses a kink sees the mean of two
 * slopes instead.
 *
 * Shapes: H heads; attn_bias works on one row segment (head h, query i, keys
 * j0..j1-1): logits and dlogits are [j1 - j0]. No state.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"

#define FIRE_WIDTH 32 /* hidden units, the authors' mlp_width */
#define FIRE_EPS 1e-6 /* added to the normaliser, as the authors' eps */

enum { FIRE_L, FIRE_KNOB_COUNT };
static const EncodingKnob fire_knobs[] = {
    [FIRE_L] = {"L", 0.0, 0.0, 1e9,
                "L0, the initial threshold of the normaliser psi(max(i, L)), L = |mult| L0 (0: the model's context)"},
    {NULL},
};
_Static_assert(sizeof fire_knobs / sizeof fire_knobs[0] == FIRE_KNOB_COUNT + 1, "fire_knobs out of step with its enum");

/* Offsets of the parameters in e->params and e->dparams. */
typedef struct {
    size_t w1, b1, w2, b2, c, mult, n;
} FireLayout;

static FireLayout fire_layout(int H) {
    const size_t W = FIRE_WIDTH, w2 = 2 * W, b2 = w2 + (size_t)H * W;
    return (FireLayout){0, W, w2, b2, b2 + (size_t)H, b2 + (size_t)H + 1, b2 + (size_t)H + 2};
}

static size_t fire_num_params(const Encoding *e) { return fire_layout(e->cfg.heads).n; }

static double fire_L0(const Encoding *e) { return e->knob[FIRE_L] > 0 ? e->knob[FIRE_L] : (double)e->cfg.max_len; }

static PbStatus fire_setup(Encoding *e) {
    if (!(fire_L0(e) > 0))
        return pb_fail(PB_RANGE,
                       "encoding 'fire': L=0 takes the threshold from max_len, which is %d; give a "
                       "training length (max_len > 0) or L > 0",
                       e->cfg.max_len);
    return PB_OK;
}

/* U(-bound, bound), as torch's nn.Linear draws weights and biases. */
static float fire_uniform(Rng *rng, double bound) { return (float)((2.0 * rng_uniform(rng) - 1.0) * bound); }

static void fire_init_params(Encoding *e, Rng *rng) {
    const FireLayout l = fire_layout(e->cfg.heads);
    const double bound2 = 1.0 / sqrt((double)FIRE_WIDTH);                       /* 1/sqrt(fan_in) */
    for (size_t k = l.w1; k < l.w2; k++) e->params[k] = fire_uniform(rng, 1.0); /* w1, b1: fan_in 1 */
    for (size_t k = l.w2; k < l.c; k++) e->params[k] = fire_uniform(rng, bound2);
    e->params[l.c] = 0.1f;
    e->params[l.mult] = 1.0f;
}

/* The kernels below get AVX2 and AVX-512 clones picked at load time (as
 * harness/model/vexp.h's ROW_KERNEL, which this layer cannot include); every
 * lane does the same operations in the same order and ISO C mode keeps GCC
 * from contracting to FMA, so the clones give the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FIRE_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FIRE_KERNEL
#endif

/* log(1 + u) for 0 <= u < 2^127, branch-free so that loops over keys
 * vectorise (libm's log1pf does not). Cephes' logf on y = 1 + u = 2^e m,
 * m in [sqrt(1/2), sqrt(2)), within 2 ulp; then (u - (y - 1)) / y restores
 * what rounding 1 + u lost, which matters for small |c| d. */
static inline float fire_log1p(float u) {
    const float y = 1.0f + u;
    uint32_t bits;
    memcpy(&bits, &y, sizeof bits);
    const uint32_t above = 0u - (uint32_t)((bits & 0x7fffffu) > 0x3504f3u); /* mantissa above sqrt(2) */
    const float e = (float)((int)(bits >> 23) - 127 + (int)(above & 1u));
    const uint32_t mbits = (bits & 0x7fffffu) | (0x3f800000u - (above & 0x800000u)); /* m, halved when above */
    float m;
    memcpy(&m, &mbits, sizeof m);
    const float x = m - 1.0f, z = x * x;
    float p = 7.0376836292e-2f;
    p = p * x - 1.1514610310e-1f;
    p = p * x + 1.1676998740e-1f;
    p = p * x - 1.2420140846e-1f;
    p = p * x + 1.4249322787e-1f;
    p = p * x - 1.6668057665e-1f;
    p = p * x + 2.0000714765e-1f;
    p = p * x - 2.4999993993e-1f;
    p = p * x + 3.3333331174e-1f;
    float r = p * x * z + e * -2.12194440e-4f - 0.5f * z;
    r = x + r + e * 0.693359375f; /* ln 2 in two parts, so r keeps its low bits */
    return r + (u - (y - 1.0f)) / y;
}

/* x(d) = psi(d) / N, the MLP's input, for distance d. */
static inline float fire_x(float d, float cabs, float inv_norm) { return fire_log1p(cabs * d) * inv_norm; }

/* What a row (query i) shares: the normaliser and its derivatives. */
typedef struct {
    float cabs, inv_norm; /* |c|, 1 / N */
    double norm;          /* N = psi(max(i, L)) + eps */
    double dnorm_dc;      /* dN / d|c| = max(i, L) / (1 + |c| max(i, L)) */
    double dnorm_dL;      /* dN / dL, times L's share of max(i, L): 1 above i, 1/2 on a tie */
    double dL_dmult;      /* sign(mult) L0 */
    double sign_c;        /* d|c| / dc */
} FireRow;

static double fire_sign(double v) { return v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0; }

static FireRow fire_row(const Encoding *e, int i) {
    const FireLayout l = fire_layout(e->cfg.heads);
    const double c = e->params[l.c], mult = e->params[l.mult], L0 = fire_L0(e);
    const double cabs = fabs(c), L = fabs(mult * L0), q = (double)i, m = L > q ? L : q;
    const double share = L > q ? 1.0 : L == q ? 0.5 : 0.0;
    FireRow r = {.cabs = (float)cabs, .sign_c = fire_sign(c), .dL_dmult = fire_sign(mult) * L0};
    r.norm = log1p(cabs * m) + FIRE_EPS;
    r.inv_norm = (float)(1.0 / r.norm);
    r.dnorm_dc = m / (1.0 + cabs * m);
    r.dnorm_dL = share * cabs / (1.0 + cabs * m);
    return r;
}

/* The hidden units over the x a row reaches, 0 <= x < reach; the same for
 * every head. A unit with its kink t_k = -b1_k / w1_k in (0, reach) is on
 * above it (w1 > 0) or below it (w1 < 0); any other unit is on or off
 * throughout. Piece s (0..n) lies between kinks s-1 and s. Leaving out the
 * kinks past reach changes no piece below it (their switches come last), so
 * rows and their segments agree bit for bit. */
enum { FIRE_OFF, FIRE_ON, FIRE_ABOVE, FIRE_BELOW };
typedef struct {
    int n;                /* kinks in (0, reach) */
    double t[FIRE_WIDTH]; /* ascending */
    int unit[FIRE_WIDTH]; /* unit of kink r */
    int rank[FIRE_WIDTH]; /* kink of unit k (ABOVE, BELOW) */
    unsigned char mode[FIRE_WIDTH];
} FireKinks;

static void fire_kinks(const Encoding *e, double reach, FireKinks *kn) {
    const FireLayout l = fire_layout(e->cfg.heads);
    const float *w1 = e->params + l.w1, *b1 = e->params + l.b1;
    kn->n = 0;
    for (int k = 0; k < FIRE_WIDTH; k++) {
        const double w = w1[k], b = b1[k], t = w != 0 ? -b / w : 0;
        if (w == 0 || !(t > 0)) { /* one state over x >= 0 (a unit with t = 0 is 0 at x = 0 either way) */
            kn->mode[k] = w > 0 || (w == 0 && b > 0) ? FIRE_ON : FIRE_OFF;
            continue;
        }
        if (!(t < reach)) { /* below its kink everywhere in this row */
            kn->mode[k] = w > 0 ? FIRE_OFF : FIRE_ON;
            continue;
        }
        kn->mode[k] = w > 0 ? FIRE_ABOVE : FIRE_BELOW;
        int r = kn->n++;
        for (; r > 0 && kn->t[r - 1] > t; r--) { /* insertion sort: ties keep unit order */
            kn->t[r] = kn->t[r - 1];
            kn->unit[r] = kn->unit[r - 1];
        }
        kn->t[r] = t;
        kn->unit[r] = k;
    }
    for (int r = 0; r < kn->n; r++) kn->rank[kn->unit[r]] = r;
}

/* Head h's pieces: f_h(x) = a[s] + b[s] x on piece s. Piece 0 has the units
 * that are on, or on below their kink; each kink then switches one unit. */
typedef struct {
    double a[FIRE_WIDTH + 1], b[FIRE_WIDTH + 1];
} FirePieces;

static void fire_pieces(const Encoding *e, const FireKinks *kn, int h, FirePieces *p) {
    const FireLayout l = fire_layout(e->cfg.heads);
    const float *w1 = e->params + l.w1, *b1 = e->params + l.b1, *w2 = e->params + l.w2 + (size_t)h * FIRE_WIDTH;
    double a = e->params[l.b2 + (size_t)h], b = 0;
    for (int k = 0; k < FIRE_WIDTH; k++)
        if (kn->mode[k] == FIRE_ON || kn->mode[k] == FIRE_BELOW) a += (double)w2[k] * b1[k], b += (double)w2[k] * w1[k];
    p->a[0] = a, p->b[0] = b;
    for (int r = 0; r < kn->n; r++) {
        const int k = kn->unit[r];
        const double sign = kn->mode[k] == FIRE_ABOVE ? 1.0 : -1.0;
        a += sign * w2[k] * b1[k], b += sign * w2[k] * w1[k];
        p->a[r + 1] = a, p->b[r + 1] = b;
    }
}

/* One row segment: the row's normaliser, the kinks it reaches and, for each,
 * the last distance below it, last[r] = floor(psi^-1(t_r N)) (x grows with
 * d). Keys then fall into runs on one piece. The runs depend on (i,
 * parameters) only, never on the segment; off by one key at a kink they
 * would change nothing, f being continuous there. */
typedef struct {
    FireRow r;
    FireKinks kn;
    double last[FIRE_WIDTH + 1]; /* [n] = +inf: piece n runs on */
} FireRowPlan;

static void fire_plan(const Encoding *e, int i, int j0, int j1, FireRowPlan *pl) {
    pl->r = fire_row(e, i);
    const double cabs = pl->r.cabs, dmax = fmax(fabs((double)i - j0), fabs((double)i - (j1 - 1)));
    /* With a margin far above rounding: every kink left out is past every
     * key of the segment, whatever the float x of those keys. */
    fire_kinks(e, log1p(cabs * dmax) / pl->r.norm * (1 + 1e-6) + 1e-12, &pl->kn);
    for (int r = 0; r < pl->kn.n; r++) {
        const double d = cabs > 0 ? expm1(pl->kn.t[r] * pl->r.norm) / cabs : INFINITY;
        pl->last[r] = d < 0x1p31 ? floor(d) : 0x1p31; /* past any distance of int positions */
    }
    pl->last[pl->kn.n] = INFINITY;
}

/* The first piece holding distance d: last[s] >= d. */
static int fire_piece_at(const FireRowPlan *pl, int d) {
    int s = 0;
    while (pl->last[s] < d) s++;
    return s;
}

/* The run from key j (before j1) on one piece: its end and piece. Keys
 * before the query run down in distance to the previous kink's last
 * distance + 1 (or to 0 at the query), keys after it up to last[s]. */
static int fire_run_end(const FireRowPlan *pl, int i, int j, int j1, int *piece) {
    const int before = j <= i, d = before ? i - j : j - i;
    const int s = fire_piece_at(pl, d);
    double end; /* one past the run's last key */
    if (before) end = (double)i - (s > 0 ? pl->last[s - 1] + 1 : 0) + 1;
    else end = (double)j + (pl->last[s] - d) + 1;
    *piece = s;
    return end < (double)j1 ? (int)end : j1;
}

/* Keys are taken in blocks: first x for the whole block (the log is most of
 * the cost, and short runs would leave it in scalar tails), then each run. */
#define FIRE_BLOCK 256

/* xs[k] = x(|i - j|) of keys j = j0 + k, k < n. */
FIRE_KERNEL static void fire_block_x(float *xs, int n, int i, int j0, float cabs, float inv_norm) {
    for (int k = 0; k < n; k++) xs[k] = fire_x((float)abs(i - j0 - k), cabs, inv_norm);
}

/* ws[k] = d / (1 + |c| d), d = |i - j|, the distance's part of dx/d|c|. */
FIRE_KERNEL static void fire_block_w(float *ws, int n, int i, int j0, float cabs) {
    for (int k = 0; k < n; k++) {
        const float d = (float)abs(i - j0 - k);
        ws[k] = d / (1.0f + cabs * d);
    }
}

static void fire_bias_forward(const Encoding *e, float *logits, int h, int i, int j0, int j1) {
    if (j0 >= j1) return;
    FireRowPlan pl;
    FirePieces p;
    float xs[FIRE_BLOCK];
    fire_plan(e, i, j0, j1, &pl);
    fire_pieces(e, &pl.kn, h, &p);
    for (int jb = j0; jb < j1; jb += FIRE_BLOCK) {
        const int n = j1 - jb < FIRE_BLOCK ? j1 - jb : FIRE_BLOCK;
        fire_block_x(xs, n, i, jb, pl.r.cabs, pl.r.inv_norm);
        for (int j = jb, s; j < jb + n;) {
            const int end = fire_run_end(&pl, i, j, jb + n, &s);
            const float a = (float)p.a[s], b = (float)p.b[s];
            float *out = logits + (j - j0);
            for (int k = 0; k < end - j; k++) out[k] += a + b * xs[j - jb + k];
            j = end;
        }
    }
}

/* What a piece's keys sum, in double (a row holds up to T terms of either
 * sign): sum g, sum g x and sum g d / (1 + |c| d). */
typedef struct {
    double g, gx, gd;
} FireSums;

/* Sums over one run, in FIRE_LANES partial sums that vectorise. */
#define FIRE_LANES 8
FIRE_KERNEL static FireSums fire_run_sums(const float *g, const float *xs, const float *ws, int n) {
    double sg[FIRE_LANES] = {0}, sx[FIRE_LANES] = {0}, sd[FIRE_LANES] = {0};
    int k = 0;
    for (; k + FIRE_LANES <= n; k += FIRE_LANES)
        for (int l = 0; l < FIRE_LANES; l++) {
            const double gl = g[k + l];
            sg[l] += gl, sx[l] += gl * xs[k + l], sd[l] += gl * ws[k + l];
        }
    for (; k < n; k++) sg[0] += g[k], sx[0] += (double)g[k] * xs[k], sd[0] += (double)g[k] * ws[k];
    FireSums s = {0};
    for (int l = 0; l < FIRE_LANES; l++) s.g += sg[l], s.gx += sx[l], s.gd += sd[l];
    return s;
}

/* Sums of pieces s > r (above = 1) or s <= r (above = 0), r a kink. */
static FireSums fire_unit_sums(const FireSums *piece, int n, int r, int above) {
    FireSums t = {0};
    for (int s = above ? r + 1 : 0; s <= (above ? n : r); s++) t.g += piece[s].g, t.gx += piece[s].gx;
    return t;
}

/* d/dw2[h,k] = sum over keys where unit k is on of g relu(w1 x + b1) =
 * w1 sum(g x) + b1 sum(g); d/dw1[k] and d/db1[k] take w2[h,k] times the same. */
static void fire_add_weights(Encoding *e, const FireKinks *kn, const FireSums *piece, int h) {
    const FireLayout l = fire_layout(e->cfg.heads);
    const float *w1 = e->params + l.w1, *b1 = e->params + l.b1, *w2 = e->params + l.w2 + (size_t)h * FIRE_WIDTH;
    float *dw1 = e->dparams + l.w1, *db1 = e->dparams + l.b1, *dw2 = e->dparams + l.w2 + (size_t)h * FIRE_WIDTH;
    const FireSums all = fire_unit_sums(piece, kn->n, -1, 1);
    for (int k = 0; k < FIRE_WIDTH; k++) {
        if (kn->mode[k] == FIRE_OFF) continue;
        const FireSums on =
            kn->mode[k] == FIRE_ON ? all : fire_unit_sums(piece, kn->n, kn->rank[k], kn->mode[k] == FIRE_ABOVE);
        dw2[k] += (float)(w1[k] * on.gx + b1[k] * on.g);
        dw1[k] += (float)(w2[k] * on.gx);
        db1[k] += (float)(w2[k] * on.g);
    }
    e->dparams[l.b2 + (size_t)h] += (float)all.g;
}

/* Through x = psi(d) / N, with f' = b[s] on piece s:
 *   dx/d|c| = (d / (1 + |c| d)) / N - x dN/d|c| / N,   dx/dL = -x dN/dL / N. */
static void fire_add_scalars(Encoding *e, const FireRow *r, const FirePieces *p, const FireSums *piece, int n) {
    const FireLayout l = fire_layout(e->cfg.heads);
    double u = 0, v = 0; /* sum g f'(x) d / (1 + |c| d), sum g f'(x) x */
    for (int s = 0; s <= n; s++) u += p->b[s] * piece[s].gd, v += p->b[s] * piece[s].gx;
    const double dcabs = (u - v * r->dnorm_dc) / r->norm, dL = -v * r->dnorm_dL / r->norm;
    e->dparams[l.c] += (float)(r->sign_c * dcabs);
    e->dparams[l.mult] += (float)(r->dL_dmult * dL);
}

static void fire_bias_backward(Encoding *e, const float *dlogits, int h, int i, int j0, int j1) {
    if (j0 >= j1) return;
    FireRowPlan pl;
    FirePieces p;
    FireSums piece[FIRE_WIDTH + 1] = {{0}};
    float xs[FIRE_BLOCK], ws[FIRE_BLOCK];
    fire_plan(e, i, j0, j1, &pl);
    fire_pieces(e, &pl.kn, h, &p);
    for (int jb = j0; jb < j1; jb += FIRE_BLOCK) {
        const int n = j1 - jb < FIRE_BLOCK ? j1 - jb : FIRE_BLOCK;
        fire_block_x(xs, n, i, jb, pl.r.cabs, pl.r.inv_norm);
        fire_block_w(ws, n, i, jb, pl.r.cabs);
        for (int j = jb, s; j < jb + n;) {
            const int end = fire_run_end(&pl, i, j, jb + n, &s), k = j - jb;
            const FireSums t = fire_run_sums(dlogits + (j - j0), xs + k, ws + k, end - j);
            piece[s].g += t.g, piece[s].gx += t.gx, piece[s].gd += t.gd;
            j = end;
        }
    }
    fire_add_weights(e, &pl.kn, piece, h);
    fire_add_scalars(e, &pl.r, &p, piece, pl.kn.n);
}

/* What the MLP sees: x [T,T] (query x key) and the normaliser N [T]. */
static PbStatus fire_inspect(const Encoding *e, int T, TensorSink *sink) {
    float *x = pb_calloc((size_t)T * T + (size_t)T, sizeof *x, "FIRE's exported normalised distances");
    if (!x) return PB_NOMEM;
    float *norm = x + (size_t)T * T;
    for (int i = 0; i < T; i++) {
        const FireRow r = fire_row(e, i);
        norm[i] = (float)r.norm;
        for (int j = 0; j < T; j++) x[(size_t)i * T + j] = fire_x((float)abs(i - j), r.cabs, r.inv_norm);
    }
    PbStatus st = sink->put_float(sink, "normalized_distance", x, 2, (int[]){T, T});
    if (!st) st = sink->put_float(sink, "normalizer", norm, 1, (int[]){T});
    free(x);
    return st;
}

const EncodingModule encoding_fire = {
    .name = "fire",
    .summary = "learned MLP of log distance over log query position (FIRE, Li et al. 2023)",
    .knobs = fire_knobs,
    .num_params = fire_num_params,
    .setup = fire_setup,
    .init_params = fire_init_params,
    .bias_forward = fire_bias_forward,
    .bias_backward = fire_bias_backward,
    .inspect = fire_inspect,
};
