/* test_encodings.c: checks every registered encoding with no per-encoding
 * code: a table run over the registry (as ggml's test-backend-ops). A case is
 * (encoding, setting, shape); a setting is each variant with default knobs,
 * each knob at 1/2 and 1/4 of its default, and all knobs at 1/4 (settings
 * and odd head dims that setup refuses must be refused with a message naming
 * the encoding). Every hook an encoding has is exercised:
 *   - gradients by central differences: every parameter (a dense random
 *     sample of big tables) and every input: x for embed, q and k for
 *     rotate_qk (rotate_backward of the upstream gradient), the logits for
 *     attn_bias (an additive input), and for score the queries, keys and
 *     logits it reads and adds to (score_backward's dq, dk); loss
 *     L = sum(w * output), w random
 *   - backward hooks add into dparams (twice the pass, twice the gradient)
 *   - determinism: two instances from one seed agree bit for bit
 *   - sentinels: nothing written outside output buffers; bias row segments
 *     written only inside [j0, j1); rotate_qk on a fused qkv buffer
 *     (ld = 3C + pad) touches q and k only, never v or the padding
 *   - chunks: embed and rotate_qk split at several k with pos0 = k, and
 *     attn_bias and score rows pieced from segments, computed in any order,
 *     equal one full pass bit for bit (score_backward over segments equals
 *     it over rows up to the order of float sums)
 *   - length policy: a table refuses past its size with PB_LENGTH naming the
 *     encoding and size, before any hook writes, and the clamp fallback
 *     reuses the last row; unbounded encodings accept positions up to 2^20
 *     in every hook (a pass at 2^20 equals the tail of one started earlier;
 *     bias and score rows with keys 2^20 away from the query are finite and
 *     piece together from segments)
 *   - encoding_export emits exactly what the hooks imply (pos_embedding iff
 *     embed, bias iff attn_bias) with the right dims and the hooks' values
 * Shapes: B batch, T positions, C channels, H heads, D = C/H head dim.
 *
 * Usage: test_encodings [--expect NAME]...
 *   --expect NAME fails unless NAME is registered and acts through a hook:
 *   the template build uses it to prove that one registry line makes a
 *   copied template a tested variant.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../encodings/encoding.h"
#include "buffers.h"
#include "capture_sink.h"
#include "check.h"

typedef struct {
    int B, T, C, H;
} Shape;

/* Odd T, heads 3 and 6, every even head dim 2..16; the last two have odd
 * head dims, which encodings that pair channels may refuse. */
static const Shape shapes[] = {
    {1, 1, 2, 1},   /* D 2, a single position */
    {2, 5, 8, 2},   /* D 4 */
    {1, 7, 18, 3},  /* D 6 */
    {2, 11, 12, 6}, /* D 2 */
    {3, 16, 12, 3}, /* D 4 */
    {1, 9, 60, 6},  /* D 10 */
    {2, 4, 24, 2},  /* D 12 */
    {1, 6, 42, 3},  /* D 14 */
    {2, 33, 32, 4}, /* D 8, distances past relative_bias's exact range */
    {1, 13, 48, 3}, /* D 16 */
    {2, 5, 6, 2},   /* D 3: may be refused */
    {1, 3, 15, 3},  /* D 5, odd C: may be refused */
};
/* The length-policy case: a table of T = 8 positions. */
static const Shape policy_shape = {1, 8, 12, 3};

static int shape_is_odd(const Shape *s) { return (s->C / s->H) % 2 || s->C % 2; }

/* Guarded buffers, fill_normal, all_finite, CHECK_SAME: buffers.h. */

/* ---- tolerant comparisons: keep the worst element ---------------------- */

static size_t elements_compared;

/* The worst of many comparisons, as |got - want| / tol (NaN: infinite). */
typedef struct {
    double ratio, got, want, tol;
    size_t at, n;
} Worst;

static void worst_add(Worst *w, size_t at, double got, double want, double tol) {
    double r = fabs(got - want) / tol;
    if (isnan(r)) r = INFINITY;
    elements_compared++;
    if (w->n++ == 0 || r > w->ratio) *w = (Worst){r, got, want, tol, at, w->n};
}

#define CHECK_WORST(w, fmt, ...) \
    CHECK((w).ratio <= 1.0, \
          fmt ": worst element %zu (of %zu compared): got %.9g, want %.9g, |diff| %.3g > " \
              "tol %.3g", \
          __VA_ARGS__, (w).at, (w).n, (w).got, (w).want, fabs((w).got - (w).want), (w).tol)

/* ---- cases ------------------------------------------------------------- */

/* One setting of a module: a variant (NULL: default) and knobs ("": defaults).
 * may_refuse: setup may reject it (a knob moved off its default can be
 * invalid for some shapes, e.g. a partial rotation rounding to no pairs). */
typedef struct {
    const char *variant;
    char knobs[200];
    int may_refuse;
} Setting;

typedef struct {
    const EncodingModule *m;
    const Setting *set;
    Shape s;
    char label[300];
} Case;

static Case make_case(const EncodingModule *m, const Setting *set, Shape s) {
    Case c = {.m = m, .set = set, .s = s};
    snprintf(c.label, sizeof c.label, "%s[%s%s%s] B%d T%d C%d H%d", m->name, set->variant ? set->variant : "default",
             set->knobs[0] ? "; " : "", set->knobs, s.B, s.T, s.C, s.H);
    return c;
}

/* A knob moved off its default: default/div; returns 0 when that is no
 * different or out of range. (A whole-number knob with an odd default would
 * get a fraction: its refusal is then checked like any other.) */
static int knob_alternative(const EncodingKnob *k, double div, double *out) {
    double v = k->default_value / div;
    *out = v;
    return v != k->default_value && v >= k->min && v <= k->max && v != 0.0;
}

/* Every variant with default knobs, with each knob at 1/2 and 1/4 of its
 * default, and with all knobs at 1/4 at once. */
static int settings_of(const EncodingModule *m, Setting *out, int cap) {
    int n = 0, n_variants = 0;
    while (m->variants && m->variants[n_variants]) n_variants++;
    for (int v = 0; v < (n_variants ? n_variants : 1); v++) {
        const char *variant = n_variants ? m->variants[v] : NULL;
        if (n < cap) out[n++] = (Setting){.variant = variant};
        char all[200] = "";
        int n_all = 0;
        for (int k = 0; m->knobs && m->knobs[k].name; k++) {
            static const double divs[] = {2, 4};
            for (int d = 0; d < 2; d++) {
                double val;
                if (!knob_alternative(&m->knobs[k], divs[d], &val) || n >= cap) continue;
                out[n] = (Setting){.variant = variant, .may_refuse = 1};
                snprintf(out[n].knobs, sizeof out[n].knobs, "%s=%.17g", m->knobs[k].name, val);
                n++;
                if (d == 1) {
                    size_t len = strlen(all);
                    snprintf(all + len, sizeof all - len, "%s%s=%.17g", n_all ? "," : "", m->knobs[k].name, val);
                    n_all++;
                }
            }
        }
        if (n_all > 1 && n < cap) {
            out[n] = (Setting){.variant = variant, .may_refuse = 1};
            memcpy(out[n].knobs, all, sizeof all);
            n++;
        }
    }
    return n;
}

/* ---- instances --------------------------------------------------------- */

/* An encoding with its own guarded parameter and gradient buffers. */
typedef struct {
    Encoding e;
    float *params, *dparams;
} Instance;

/* Made for max_len positions (tables of position-only values, such as
 * sinusoidal's rows and RoPE's cos/sin, are cached up to it). */
static PbStatus make_len(Instance *in, const Case *c, uint64_t seed, int max_len) {
    EncodingConfig cfg = {.variant = c->set->variant,
                          .dim = c->s.C,
                          .heads = c->s.H,
                          .max_len = max_len,
                          .knobs = c->set->knobs[0] ? c->set->knobs : NULL};
    pb_clear_error();
    PbStatus st = encoding_create(&in->e, c->m, &cfg);
    if (st) return st;                    /* nothing to destroy; LeakSanitizer sees what setup leaked */
    in->params = guarded(in->e.n_params); /* sentinels show unwritten parameters */
    in->dparams = guarded(in->e.n_params);
    memset(in->dparams, 0, in->e.n_params * sizeof(float));
    encoding_bind(&in->e, in->params, in->dparams);
    Rng rng;
    rng_seed(&rng, seed, 1);
    encoding_init_params(&in->e, &rng);
    return PB_OK;
}

static PbStatus make(Instance *in, const Case *c, uint64_t seed) { return make_len(in, c, seed, c->s.T); }

static void unmake(Instance *in, const char *label) {
    CHECK(guards_intact(in->params, in->e.n_params), "%s: parameter buffer overrun", label);
    CHECK(guards_intact(in->dparams, in->e.n_params), "%s: gradient buffer overrun", label);
    release(in->params);
    release(in->dparams);
    encoding_destroy(&in->e);
}

/* ---- the model: every hook of the encoding at once --------------------- */

/* Inputs u = [x | q | k | logits | sq | sk | slogits] and outputs Y share
 * one layout:
 *   Y = [x + pe (embed), R q, R k (rotate_qk, ld = C), logits + bias,
 *        sq, sk, slogits + score(sq, sk) (score, ld = C, per batch row)]
 * over positions 0..T-1; absent hooks have no part. L = w . Y, so dL/dY = w
 * and dL/du = [w_x, R^T w_q, R^T w_k, w_logits, w_sq + dq, w_sk + dk,
 * w_slogits] with dq, dk what score_backward adds for dlogits w_slogits. */
typedef struct {
    Shape s;
    int embed, rotate, bias, score;
    size_t nx, nq, nb, ns, ny; /* B*T*C, B*T*C (each of q, k, sq, sk), H*T*T, B*H*T*T, total */
    float *u, *w;              /* [ny] inputs, upstream weights */
} Model;

static float *part_x(const Model *md, float *v) { return (void)md, v; }
static float *part_q(const Model *md, float *v) { return v + md->nx; }
static float *part_k(const Model *md, float *v) { return v + md->nx + md->nq; }
static float *part_logits(const Model *md, float *v) { return v + md->nx + 2 * md->nq; }
static size_t score_at(const Model *md) { return md->nx + 2 * md->nq + md->nb; }
static size_t score_qn(const Model *md) { return md->score ? (size_t)md->s.B * md->s.T * md->s.C : 0; }
static float *part_sq(const Model *md, float *v) { return v + score_at(md); }
static float *part_sk(const Model *md, float *v) { return v + score_at(md) + score_qn(md); }
static float *part_slogits(const Model *md, float *v) { return v + score_at(md) + 2 * score_qn(md); }

static Model model_new(const Case *c, Rng *rng) {
    const Shape s = c->s;
    Model md = {.s = s,
                .embed = c->m->embed_forward != NULL,
                .rotate = c->m->rotate_forward != NULL,
                .bias = c->m->bias_forward != NULL,
                .score = c->m->score_forward != NULL};
    size_t btc = (size_t)s.B * s.T * s.C;
    md.nx = md.embed ? btc : 0;
    md.nq = md.rotate ? btc : 0;
    md.nb = md.bias ? (size_t)s.H * s.T * s.T : 0;
    md.ns = md.score ? (size_t)s.B * s.H * s.T * s.T : 0;
    md.ny = md.nx + 2 * md.nq + md.nb + 2 * score_qn(&md) + md.ns;
    md.u = guarded(md.ny);
    md.w = guarded(md.ny);
    fill_normal(md.u, md.ny, rng);
    fill_normal(md.w, md.ny, rng);
    return md;
}

static void model_free(Model *md) {
    release(md->u);
    release(md->w);
}

/* logits[h,i,:] += bias(h, i, 0..T-1) for rows taken in the given order
 * (rows numbered h*T + i; NULL: ascending). logits: [H,T,T]. */
static void bias_rows(const Encoding *e, float *logits, int H, int T, const int *order) {
    for (int r = 0; r < H * T; r++) {
        int row = order ? order[r] : r;
        e->module->bias_forward(e, logits + (size_t)row * T, row / T, row % T, 0, T);
    }
}

/* slogits[b,h,i,:] += score(sq, sk; h, i, keys 0..T-1) of every batch row,
 * rows in the given order (numbered (b*H + h)*T + i; NULL: ascending). */
static void score_rows(const Model *md, const Encoding *e, float *slogits, const float *sq, const float *sk,
                       const int *order) {
    const int B = md->s.B, T = md->s.T, C = md->s.C, H = md->s.H, D = C / H;
    for (int r = 0; r < B * H * T; r++) {
        const int row = order ? order[r] : r, b = row / (H * T), h = row / T % H, i = row % T;
        e->module->score_forward(e, slogits + (size_t)row * T, sq + ((size_t)b * T + i) * C + (size_t)h * D,
                                 sk + (size_t)b * T * C, C, h, i, 0, T);
    }
}

/* score_backward of every row for dlogits w_slogits, into d's sq, sk parts. */
static void score_rows_backward(const Model *md, Encoding *e, float *d) {
    const int B = md->s.B, T = md->s.T, C = md->s.C, H = md->s.H, D = C / H;
    const float *sq = part_sq(md, md->u), *sk = part_sk(md, md->u), *w = part_slogits(md, md->w);
    float *dq = part_sq(md, d), *dk = part_sk(md, d);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                const size_t qi = ((size_t)b * T + i) * C + (size_t)h * D;
                e->module->score_backward(e, w + (((size_t)b * H + h) * T + i) * T, sq + qi, sk + (size_t)b * T * C, C,
                                          dq + qi, dk + (size_t)b * T * C, C, h, i, 0, T);
            }
}

static void model_forward(const Model *md, const Encoding *e, float *y) {
    const Shape s = md->s;
    memcpy(y, md->u, md->ny * sizeof *y);
    if (md->embed) e->module->embed_forward(e, part_x(md, y), s.B, s.T, 0);
    if (md->rotate) e->module->rotate_forward(e, part_q(md, y), part_k(md, y), s.C, s.B, s.T, 0);
    if (md->bias) bias_rows(e, part_logits(md, y), s.H, s.T, NULL);
    if (md->score) score_rows(md, e, part_slogits(md, y), part_sq(md, y), part_sk(md, y), NULL);
}

/* d = dL/du; dL/dparams is added into e->dparams. */
static void model_backward(const Model *md, Encoding *e, float *d) {
    const Shape s = md->s;
    memcpy(d, md->w, md->ny * sizeof *d);
    if (md->embed) e->module->embed_backward(e, part_x(md, d), s.B, s.T, 0);
    if (md->rotate) e->module->rotate_backward(e, part_q(md, d), part_k(md, d), s.C, s.B, s.T, 0);
    if (md->bias) {
        const float *dl = part_logits(md, d);
        for (int h = 0; h < s.H; h++)
            for (int i = 0; i < s.T; i++) e->module->bias_backward(e, dl + ((size_t)h * s.T + i) * s.T, h, i, 0, s.T);
    }
    if (md->score) score_rows_backward(md, e, d);
}

/* ---- gradients --------------------------------------------------------- */

enum { MAX_GRAD_PARAMS = 256, MAX_GRAD_INPUTS = 96 };
static const float GRAD_EPS = 1e-2f;
/* Steps tried per element: GRAD_EPS, /4, /16. */
enum { GRAD_STEPS = 3 };

/* Central differences of L = w . Y in the n floats at var (parameters or a
 * part of the inputs), against the analytic gradient g[0..n).
 *
 * Tolerance. dL is summed in double as w . (Y+ - Y-) over the outputs that
 * changed, so untouched outputs cancel exactly and the step is the one the
 * floats really took (up - down). Every hook here is linear in what is
 * perturbed, so the difference quotient is exact but for float rounding of
 * the changed outputs: each is rounded a few times at the size of its
 * operands, giving |error| <= k u sum|w| (|Y+| + |Y-| + 2|u|) / step with
 * u = 2^-24; we allow k = 8. A further 1e-4 relative allows the O(eps^2)
 * curvature of a non-linear encoding. Where the curvature is large at the
 * parameters' own scale (KERPLE's d^r2 with r near its 0.01 bound), the
 * step shrinks by 4 up to twice: curvature falls as the step squared,
 * while a wrong gradient (a missed factor, bucket or sign) stays off by
 * O(|w|) at every step, far above the tolerance. */
static void check_gradient(const Model *md, Instance *in, const char *label, const char *what, float *var,
                           const float *g, size_t n, size_t cap, Rng *rng) {
    float *yp = guarded(md->ny), *ym = guarded(md->ny);
    const size_t picks = n <= cap ? n : cap;
    Worst worst = {0};
    for (size_t s = 0; s < picks; s++) {
        size_t at = n <= cap ? s : s == 0 ? 0 : s == 1 ? n - 1 : rng_below(rng, (uint32_t)n);
        const float saved = var[at];
        double numeric = 0, tol = 0;
        float eps = GRAD_EPS;
        for (int k = 0; k < GRAD_STEPS; k++, eps /= 4) {
            const float up = saved + eps, down = saved - eps;
            var[at] = up;
            model_forward(md, &in->e, yp);
            var[at] = down;
            model_forward(md, &in->e, ym);
            var[at] = saved;
            double dL = 0, size = 0;
            for (size_t j = 0; j < md->ny; j++) {
                if (yp[j] == ym[j]) continue;
                dL += (double)md->w[j] * ((double)yp[j] - (double)ym[j]);
                size += fabs(md->w[j]) * (fabs(yp[j]) + fabs(ym[j]) + 2 * fabs(md->u[j]));
            }
            const double step = (double)up - (double)down;
            numeric = dL / step;
            tol = 8 * 0x1p-24 * size / step + 1e-4 * fabs(numeric) + 1e-7;
            if (fabs(numeric - g[at]) <= tol) break;
        }
        worst_add(&worst, at, g[at], numeric, tol);
    }
    CHECK_WORST(worst, "%s: gradient of %s [%zu floats] vs central differences", label, what, n);
    CHECK(guards_intact(yp, md->ny) && guards_intact(ym, md->ny), "%s: output buffer overrun", label);
    release(yp);
    release(ym);
}

static void check_gradients(const Case *c, const Model *md, Instance *in, Rng *rng) {
    const char *L = c->label;
    float *d = guarded(md->ny);
    memset(in->dparams, 0, in->e.n_params * sizeof(float));
    model_backward(md, &in->e, d);
    CHECK(guards_intact(d, md->ny), "%s: backward wrote outside the gradient buffers", L);
    CHECK(all_finite(d, md->ny), "%s: non-finite input gradient", L);

    if (in->e.n_params)
        check_gradient(md, in, L, "the parameters", in->params, in->dparams, in->e.n_params, MAX_GRAD_PARAMS, rng);
    if (md->embed)
        check_gradient(md, in, L, "x (embed input)", part_x(md, md->u), part_x(md, d), md->nx, MAX_GRAD_INPUTS, rng);
    if (md->rotate) {
        check_gradient(md, in, L, "q (rotate_backward of w_q)", part_q(md, md->u), part_q(md, d), md->nq,
                       MAX_GRAD_INPUTS, rng);
        check_gradient(md, in, L, "k (rotate_backward of w_k)", part_k(md, md->u), part_k(md, d), md->nq,
                       MAX_GRAD_INPUTS, rng);
    }
    if (md->bias)
        check_gradient(md, in, L, "the logits (attn_bias input)", part_logits(md, md->u), part_logits(md, d), md->nb,
                       MAX_GRAD_INPUTS, rng);
    if (md->score) {
        const size_t n = score_qn(md);
        check_gradient(md, in, L, "the queries (score_backward's dq)", part_sq(md, md->u), part_sq(md, d), n,
                       MAX_GRAD_INPUTS, rng);
        check_gradient(md, in, L, "the keys (score_backward's dk)", part_sk(md, md->u), part_sk(md, d), n,
                       MAX_GRAD_INPUTS, rng);
        check_gradient(md, in, L, "the logits (score input)", part_slogits(md, md->u), part_slogits(md, d), md->ns,
                       MAX_GRAD_INPUTS, rng);
    }

    /* Backward hooks add into dparams: a second pass doubles the gradient
     * (up to the order of float sums, hence the tolerance). */
    if (in->e.n_params) {
        const size_t n = in->e.n_params;
        float *once = malloc(n * sizeof *once);
        memcpy(once, in->dparams, n * sizeof *once);
        double gmax = 0;
        for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(once[i]));
        model_backward(md, &in->e, d);
        Worst worst = {0};
        for (size_t i = 0; i < n; i++)
            worst_add(&worst, i, in->dparams[i], 2.0 * once[i], 1e-5 * (2 * fabs(once[i]) + gmax) + 1e-30);
        CHECK_WORST(worst, "%s: a second backward pass must add to dparams", L);
        free(once);
    }
    release(d);
}

/* ---- determinism, initialisation --------------------------------------- */

static void check_init_and_determinism(const Case *c, const Model *md, Instance *a, Instance *b) {
    const char *L = c->label;
    const size_t n = a->e.n_params;
    CHECK(n == 0 || c->m->init_params, "%s: %zu parameters but no init_params hook", L, n);
    size_t unwritten = 0;
    for (size_t i = 0; i < n; i++) unwritten += a->params[i] == SENTINEL;
    CHECK(unwritten == 0, "%s: init_params left %zu of %zu parameters unwritten", L, unwritten, n);
    CHECK(all_finite(a->params, n), "%s: non-finite initial parameters", L);
    CHECK_SAME(a->params, b->params, n, "%s: two instances from one seed: parameters differ", L);

    float *ya = guarded(md->ny), *yb = guarded(md->ny);
    model_forward(md, &a->e, ya);
    model_forward(md, &b->e, yb);
    CHECK(all_finite(ya, md->ny), "%s: non-finite output", L);
    CHECK_SAME(ya, yb, md->ny, "%s: two instances from one seed: outputs differ", L);
    memset(a->dparams, 0, n * sizeof(float));
    memset(b->dparams, 0, n * sizeof(float));
    model_backward(md, &a->e, ya);
    model_backward(md, &b->e, yb);
    CHECK_SAME(ya, yb, md->ny, "%s: two instances from one seed: input gradients differ", L);
    CHECK_SAME(a->dparams, b->dparams, n, "%s: two instances from one seed: parameter gradients differ", L);
    CHECK(guards_intact(ya, md->ny) && guards_intact(yb, md->ny), "%s: output buffer overrun", L);
    release(ya);
    release(yb);
}

/* ---- chunks with a position offset ------------------------------------- */

/* Split points 0 < k < T: 1, about T/3, T/2, T-1. */
static int split_points(int T, int *ks) {
    int cand[] = {1, T / 3, T / 2, T - 1}, n = 0;
    for (int i = 0; i < 4; i++) {
        int dup = 0;
        for (int j = 0; j < n; j++) dup |= ks[j] == cand[i];
        if (cand[i] > 0 && cand[i] < T && !dup) ks[n++] = cand[i];
    }
    return n;
}

/* Same-batch-row pointer arithmetic for a [B,T,...] buffer with ld floats
 * per position: row b, position t. */
static float *at_bt(float *p, int T, int ld, int b, int t) { return p + ((size_t)b * T + t) * ld; }

static void check_embed_chunks(const Case *c, const Model *md, Instance *in) {
    const Shape s = c->s;
    const size_t n = md->nx, np = in->e.n_params;
    float *full = guarded(n), *chunked = guarded(n);
    float *g_full = malloc((np + 1) * sizeof(float)), *x = part_x(md, md->u);
    const float *w = part_x(md, md->w);
    memcpy(full, x, n * sizeof *x);
    CHECK_OK(encoding_embed_forward(&in->e, full, s.B, s.T, 0));
    memset(in->dparams, 0, np * sizeof(float));
    CHECK_OK(encoding_embed_backward(&in->e, w, s.B, s.T, 0));
    memcpy(g_full, in->dparams, np * sizeof(float));

    int ks[4], nk = split_points(s.T, ks);
    for (int ki = 0; ki < nk; ki++) {
        const int k = ks[ki];
        memcpy(chunked, x, n * sizeof *x);
        memset(in->dparams, 0, np * sizeof(float));
        for (int b = 0; b < s.B; b++) {
            CHECK_OK(encoding_embed_forward(&in->e, at_bt(chunked, s.T, s.C, b, 0), 1, k, 0));
            CHECK_OK(encoding_embed_forward(&in->e, at_bt(chunked, s.T, s.C, b, k), 1, s.T - k, k));
            CHECK_OK(encoding_embed_backward(&in->e, at_bt((float *)w, s.T, s.C, b, 0), 1, k, 0));
            CHECK_OK(encoding_embed_backward(&in->e, at_bt((float *)w, s.T, s.C, b, k), 1, s.T - k, k));
        }
        CHECK_SAME(full, chunked, n, "%s: embed split at %d (pos0 = %d) differs from one pass", c->label, k, k);
        Worst worst = {0};
        for (size_t i = 0; i < np; i++) worst_add(&worst, i, in->dparams[i], g_full[i], 1e-5 * (1 + fabs(g_full[i])));
        CHECK_WORST(worst, "%s: embed backward split at %d differs from one pass", c->label, k);
    }
    CHECK(guards_intact(full, n) && guards_intact(chunked, n), "%s: embed wrote outside x", c->label);
    release(full);
    release(chunked);
    free(g_full);
}

typedef void (*RotateFn)(Encoding *e, float *q, float *k, int ld, int B, int T, int pos0);

static void rotate_fwd(Encoding *e, float *q, float *k, int ld, int B, int T, int pos0) {
    e->module->rotate_forward(e, q, k, ld, B, T, pos0);
}

static void rotate_bwd(Encoding *e, float *q, float *k, int ld, int B, int T, int pos0) {
    e->module->rotate_backward(e, q, k, ld, B, T, pos0);
}

/* rotate_qk on a fused [B,T,3C+pad] qkv buffer: q at 0, k at C, v at 2C;
 * the q and k parts must equal the packed (ld = C) results, v and the
 * padding must stay as they were. */
static void check_rotate_layout(const Case *c, const Model *md, Instance *in, Rng *rng) {
    static const struct {
        const char *name;
        RotateFn fn;
    } dirs[] = {{"rotate_forward", rotate_fwd}, {"rotate_backward", rotate_bwd}};
    const Shape s = c->s;
    const int ld = 3 * s.C + 5;
    const size_t rows = (size_t)s.B * s.T, nf = rows * ld, n = md->nq;
    float *fused = guarded(nf), *before = malloc(nf * sizeof(float));
    float *q = guarded(n), *k = guarded(n);
    for (int d = 0; d < 2; d++) {
        fill_normal(fused, nf, rng);
        memcpy(before, fused, nf * sizeof(float));
        for (size_t r = 0; r < rows; r++) {
            memcpy(q + r * s.C, fused + r * ld, s.C * sizeof(float));
            memcpy(k + r * s.C, fused + r * ld + s.C, s.C * sizeof(float));
        }
        dirs[d].fn(&in->e, q, k, s.C, s.B, s.T, 0);
        dirs[d].fn(&in->e, fused, fused + s.C, ld, s.B, s.T, 0);
        size_t bad_q = 0, bad_k = 0, touched = 0;
        for (size_t r = 0; r < rows; r++) {
            const float *fr = fused + r * ld, *br = before + r * ld;
            bad_q += first_diff(fr, q + r * s.C, s.C) >= 0;
            bad_k += first_diff(fr + s.C, k + r * s.C, s.C) >= 0;
            touched += first_diff(fr + 2 * s.C, br + 2 * s.C, ld - 2 * s.C) >= 0;
        }
        CHECK(bad_q == 0 && bad_k == 0, "%s: %s with ld = 3C+5 differs from ld = C in %zu q rows, %zu k rows", c->label,
              dirs[d].name, bad_q, bad_k);
        CHECK(touched == 0, "%s: %s with ld = 3C+5 wrote into v or padding in %zu of %zu rows", c->label, dirs[d].name,
              touched, rows);
        CHECK(guards_intact(fused, nf) && guards_intact(q, n) && guards_intact(k, n),
              "%s: %s wrote outside its buffers", c->label, dirs[d].name);
    }
    release(fused);
    release(q);
    release(k);
    free(before);
}

/* rotate_qk split at k per batch row (B = 1, pos0 = k) equals one pass. */
static void check_rotate_chunks(const Case *c, const Model *md, Instance *in) {
    static const struct {
        const char *name;
        RotateFn fn;
    } dirs[] = {{"rotate_forward", rotate_fwd}, {"rotate_backward", rotate_bwd}};
    const Shape s = c->s;
    const size_t n = md->nq;
    float *q = guarded(n), *k = guarded(n), *q2 = guarded(n), *k2 = guarded(n);
    int ks[4], nk = split_points(s.T, ks);
    for (int d = 0; d < 2; d++) {
        memcpy(q, part_q(md, md->u), n * sizeof(float));
        memcpy(k, part_k(md, md->u), n * sizeof(float));
        dirs[d].fn(&in->e, q, k, s.C, s.B, s.T, 0);
        for (int ki = 0; ki < nk; ki++) {
            const int split = ks[ki];
            memcpy(q2, part_q(md, md->u), n * sizeof(float));
            memcpy(k2, part_k(md, md->u), n * sizeof(float));
            for (int b = 0; b < s.B; b++) {
                float *qb = at_bt(q2, s.T, s.C, b, 0), *kb = at_bt(k2, s.T, s.C, b, 0);
                dirs[d].fn(&in->e, qb, kb, s.C, 1, split, 0);
                dirs[d].fn(&in->e, qb + (size_t)split * s.C, kb + (size_t)split * s.C, s.C, 1, s.T - split, split);
            }
            CHECK_SAME(q, q2, n, "%s: %s of q split at %d (pos0 = %d) differs from one pass", c->label, dirs[d].name,
                       split, split);
            CHECK_SAME(k, k2, n, "%s: %s of k split at %d (pos0 = %d) differs from one pass", c->label, dirs[d].name,
                       split, split);
        }
    }
    CHECK(guards_intact(q, n) && guards_intact(k, n) && guards_intact(q2, n) && guards_intact(k2, n),
          "%s: rotate wrote outside q or k", c->label);
    release(q), release(k), release(q2), release(k2);
}

/* attn_bias rows: segments [j0, j1) written only inside, pieced together
 * equal the full row; rows in any order give the same matrix; the logits
 * are added to, and backward over segments equals backward over rows. */
static void check_bias_segments(const Case *c, const Model *md, Instance *in, Rng *rng) {
    const Shape s = c->s;
    const int T = s.T, H = s.H;
    const size_t nb = md->nb, np = in->e.n_params;
    const char *L = c->label;
    float *zero_rows = guarded(nb), *lg = guarded(nb);
    memset(zero_rows, 0, nb * sizeof(float));
    bias_rows(&in->e, zero_rows, H, T, NULL);

    /* The logits are an additive input: logits + b, bit for bit. */
    const float *u = part_logits(md, md->u);
    memcpy(lg, u, nb * sizeof(float));
    bias_rows(&in->e, lg, H, T, NULL);
    size_t not_added = 0;
    for (size_t i = 0; i < nb; i++) not_added += lg[i] != u[i] + zero_rows[i];
    CHECK(not_added == 0, "%s: bias_forward did not add to the logits (%zu of %zu elements)", L, not_added, nb);

    /* Segments cut at 0, the diagonal, past it, a random key and T, plus an
     * empty one; each into its own guarded buffer. */
    size_t mismatched = 0, overruns = 0;
    for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++) {
            int cuts[6] = {0, i, i + 1 < T ? i + 1 : T, (int)rng_below(rng, (uint32_t)T + 1), T};
            int nc = 5;
            for (int a = 1; a < nc; a++) /* insertion sort */
                for (int b = a; b > 0 && cuts[b - 1] > cuts[b]; b--) {
                    int t = cuts[b];
                    cuts[b] = cuts[b - 1];
                    cuts[b - 1] = t;
                }
            const float *row = zero_rows + ((size_t)h * T + i) * T;
            for (int sgm = 0; sgm + 1 < nc; sgm++) {
                const int j0 = cuts[sgm], j1 = cuts[sgm + 1];
                const size_t len = j1 > j0 ? (size_t)(j1 - j0) : 0; /* sorted: j1 >= j0 */
                float *seg = guarded(len);
                memset(seg, 0, len * sizeof *seg);
                in->e.module->bias_forward(&in->e, seg, h, i, j0, j1);
                mismatched += first_diff(seg, row + j0, len) >= 0;
                overruns += !guards_intact(seg, len);
                release(seg);
            }
        }
    CHECK(mismatched == 0, "%s: %zu row segments [j0,j1) differ from the full row", L, mismatched);
    CHECK(overruns == 0, "%s: %zu row segments written outside [j0,j1)", L, overruns);

    /* Rows in descending and in random order. */
    const int R = H * T;
    int *order = malloc((size_t)R * sizeof *order);
    for (int pass = 0; pass < 2; pass++) {
        for (int r = 0; r < R; r++) order[r] = R - 1 - r;
        if (pass == 1)
            for (int r = R - 1; r > 0; r--) { /* Fisher-Yates */
                int o = (int)rng_below(rng, (uint32_t)r + 1), t = order[r];
                order[r] = order[o];
                order[o] = t;
            }
        memset(lg, 0, nb * sizeof(float));
        bias_rows(&in->e, lg, H, T, order);
        CHECK_SAME(lg, zero_rows, nb, "%s: bias rows in %s order differ", L, pass ? "random" : "descending");
    }

    /* Backward: segments split at a random key per row, rows in random order. */
    if (np) {
        const float *w = part_logits(md, md->w);
        float *g_rows = malloc(np * sizeof(float));
        memset(in->dparams, 0, np * sizeof(float));
        for (int r = 0; r < R; r++) in->e.module->bias_backward(&in->e, w + (size_t)r * T, r / T, r % T, 0, T);
        memcpy(g_rows, in->dparams, np * sizeof(float));
        memset(in->dparams, 0, np * sizeof(float));
        for (int r = 0; r < R; r++) {
            const int row = order[r], split = (int)rng_below(rng, (uint32_t)T + 1);
            const float *wr = w + (size_t)row * T;
            in->e.module->bias_backward(&in->e, wr + split, row / T, row % T, split, T);
            in->e.module->bias_backward(&in->e, wr, row / T, row % T, 0, split);
        }
        double gmax = 0;
        for (size_t i = 0; i < np; i++) gmax = fmax(gmax, fabs(g_rows[i]));
        Worst worst = {0};
        for (size_t i = 0; i < np; i++)
            worst_add(&worst, i, in->dparams[i], g_rows[i], 1e-5 * (fabs(g_rows[i]) + gmax) + 1e-30);
        CHECK_WORST(worst, "%s: bias_backward over segments in random row order differs", L);
        free(g_rows);
    }
    CHECK(guards_intact(zero_rows, nb) && guards_intact(lg, nb), "%s: bias rows overran", L);
    release(zero_rows);
    release(lg);
    free(order);
}

/* score rows: segments [j0, j1) written only inside and pieced together
 * equal the full row, bit for bit; rows in random order give the same
 * logits; score_backward over two segments per row, rows in random order,
 * equals it over whole rows (dq, dk and dparams, up to the order of sums).
 * A module whose hooks need every key up to the query in one call
 * (score_keys_to_query) gets segments that run on past the query: [j0, T)
 * forward, and one whole row per call backward, rows in random order. */
static void check_score_segments(const Case *c, const Model *md, Instance *in, Rng *rng) {
    const Shape s = c->s;
    const int T = s.T, H = s.H, C = s.C, D = C / H, R = s.B * H * T;
    const size_t ns = md->ns, nq = score_qn(md), np = in->e.n_params;
    const char *L = c->label;
    const float *sq = part_sq(md, md->u), *sk = part_sk(md, md->u), *w = part_slogits(md, md->w);
    float *rows = guarded(ns), *lg = guarded(ns);
    memset(rows, 0, ns * sizeof(float));
    score_rows(md, &in->e, rows, sq, sk, NULL);
    size_t mismatched = 0, overruns = 0;
    for (int row = 0; row < R; row++) {
        const int b = row / (H * T), h = row / T % H, i = row % T;
        const int split = (int)rng_below(rng, (uint32_t)T + 1);
        int cuts[4] = {0, split < i ? split : i, split < i ? i : split, T};
        const int to_query = in->e.module->score_keys_to_query;
        if (to_query) cuts[2] = T; /* [0, j0) would stop short of the query: skipped */
        for (int sgm = to_query; sgm < (to_query ? 2 : 3); sgm++) {
            const int j0 = cuts[sgm], j1 = cuts[sgm + 1];
            const size_t len = j1 > j0 ? (size_t)(j1 - j0) : 0; /* sorted: j1 >= j0 */
            float *seg = guarded(len);
            memset(seg, 0, len * sizeof *seg);
            in->e.module->score_forward(&in->e, seg, sq + ((size_t)b * T + i) * C + (size_t)h * D,
                                        sk + ((size_t)b * T + j0) * C, C, h, i, j0, j1);
            mismatched += first_diff(seg, rows + (size_t)row * T + j0, len) >= 0;
            overruns += !guards_intact(seg, len);
            release(seg);
        }
    }
    CHECK(mismatched == 0, "%s: %zu score row segments [j0,j1) differ from the full row", L, mismatched);
    CHECK(overruns == 0, "%s: %zu score row segments written outside [j0,j1)", L, overruns);

    int *order = malloc((size_t)R * sizeof *order);
    for (int r = 0; r < R; r++) order[r] = r;
    for (int r = R - 1; r > 0; r--) { /* Fisher-Yates */
        int o = (int)rng_below(rng, (uint32_t)r + 1), t = order[r];
        order[r] = order[o];
        order[o] = t;
    }
    memset(lg, 0, ns * sizeof(float));
    score_rows(md, &in->e, lg, sq, sk, order);
    CHECK_SAME(lg, rows, ns, "%s: score rows in random order differ", L);

    /* Backward: whole rows in order, then two segments per row in random order. */
    const size_t ng = 2 * nq + np;
    float *g_rows = calloc(ng + 1, sizeof *g_rows), *g_segs = calloc(ng + 1, sizeof *g_segs);
    for (int pass = 0; pass < 2; pass++) {
        float *g = pass ? g_segs : g_rows;
        memset(in->dparams, 0, np * sizeof(float));
        for (int r = 0; r < R; r++) {
            const int row = pass ? order[r] : r, b = row / (H * T), h = row / T % H, i = row % T;
            const int split = pass && !in->e.module->score_keys_to_query ? (int)rng_below(rng, (uint32_t)T + 1) : T;
            const float *q_i = sq + ((size_t)b * T + i) * C + (size_t)h * D, *kb = sk + (size_t)b * T * C;
            float *dq_i = g + ((size_t)b * T + i) * C + (size_t)h * D, *dkb = g + nq + (size_t)b * T * C;
            const float *wr = w + (size_t)row * T;
            in->e.module->score_backward(&in->e, wr + split, q_i, kb + (size_t)split * C, C, dq_i,
                                         dkb + (size_t)split * C, C, h, i, split, T);
            in->e.module->score_backward(&in->e, wr, q_i, kb, C, dq_i, dkb, C, h, i, 0, split);
        }
        memcpy(g + 2 * nq, in->dparams, np * sizeof(float));
    }
    double gmax = 0;
    for (size_t k = 0; k < ng; k++) gmax = fmax(gmax, fabs(g_rows[k]));
    Worst worst = {0};
    for (size_t k = 0; k < ng; k++) worst_add(&worst, k, g_segs[k], g_rows[k], 1e-5 * (fabs(g_rows[k]) + gmax) + 1e-30);
    CHECK_WORST(worst, "%s: score_backward over segments in random row order differs (dq, dk, dparams)", L);
    CHECK(guards_intact(rows, ns) && guards_intact(lg, ns), "%s: score rows overran", L);
    release(rows), release(lg);
    free(order), free(g_rows), free(g_segs);
}

/* ---- export ------------------------------------------------------------ */

/* The capturing TensorSink: capture_sink.h. */

static int dims_are(const Captured *t, int rank, const int *dims) {
    if (t->rank != rank) return 0;
    for (int d = 0; d < rank; d++)
        if (t->dims[d] != dims[d]) return 0;
    return 1;
}

/* Exactly the tensors the hooks imply, with their dims and the hooks'
 * values; inspect's additions well-formed; the same from twin instances. */
static void check_export(const Case *c, const Model *md, Instance *a, Instance *b) {
    const Shape s = c->s;
    const char *L = c->label;
    Capture ca, cb;
    capture_init(&ca);
    capture_init(&cb);
    CHECK_OK(encoding_export(&a->e, s.T, &ca.sink));
    CHECK_OK(encoding_export(&b->e, s.T, &cb.sink));

    const Captured *pe = capture_get(&ca, "pos_embedding");
    CHECK((pe != NULL) == md->embed, "%s: export has %s pos_embedding, embed hook %s", L, pe ? "a" : "no",
          md->embed ? "present" : "absent");
    if (pe && md->embed) {
        CHECK(!pe->is_int && dims_are(pe, 2, (int[]){s.T, s.C}),
              "%s: pos_embedding is rank %d [%d,%d], want float [T=%d, C=%d]", L, pe->rank, pe->dims[0], pe->dims[1],
              s.T, s.C);
        if (pe->count == (size_t)s.T * s.C) {
            float *want = calloc((size_t)s.T * s.C, sizeof *want);
            CHECK_OK(encoding_embed_forward(&a->e, want, 1, s.T, 0));
            CHECK_SAME(pe->f, want, pe->count, "%s: pos_embedding differs from embed on zeros", L);
            free(want);
        }
    }
    const Captured *bias = capture_get(&ca, "bias");
    CHECK((bias != NULL) == md->bias, "%s: export has %s bias, attn_bias hook %s", L, bias ? "a" : "no",
          md->bias ? "present" : "absent");
    if (bias && md->bias) {
        CHECK(!bias->is_int && dims_are(bias, 3, (int[]){s.H, s.T, s.T}),
              "%s: bias is rank %d [%d,%d,%d], want float [H=%d, T=%d, T]", L, bias->rank, bias->dims[0], bias->dims[1],
              bias->dims[2], s.H, s.T);
        if (bias->count == md->nb) {
            float *want = calloc(md->nb, sizeof *want);
            bias_rows(&a->e, want, s.H, s.T, NULL);
            CHECK_SAME(bias->f, want, md->nb, "%s: exported bias differs from bias_forward", L);
            free(want);
        }
    }
    CHECK(ca.rejected == 0, "%s: export emitted a tensor of rank outside 1..4", L);
    for (int t = 0; t < ca.n; t++) {
        const Captured *x = &ca.t[t];
        for (int u = 0; u < t; u++) CHECK(strcmp(ca.t[u].name, x->name), "%s: export emitted '%s' twice", L, x->name);
        CHECK(x->count > 0, "%s: exported '%s' has an empty or negative dim", L, x->name);
        CHECK(x->is_int || all_finite(x->f, x->count), "%s: exported '%s' is not finite", L, x->name);
    }
    CHECK(ca.n == cb.n, "%s: twin instances export %d and %d tensors", L, ca.n, cb.n);
    for (int t = 0; t < ca.n && t < cb.n; t++) {
        const Captured *x = &ca.t[t], *y = &cb.t[t];
        CHECK(strcmp(x->name, y->name) == 0 && x->count == y->count &&
                  memcmp(x->is_int ? (void *)x->i : (void *)x->f, y->is_int ? (void *)y->i : (void *)y->f,
                         x->count * 4) == 0,
              "%s: twin instances export different '%s'", L, x->name);
    }
    capture_free(&ca);
    capture_free(&cb);
}

/* ---- one case ---------------------------------------------------------- */

typedef struct {
    int cases, refused;
} Tally;

/* An acceptable refusal is PB_RANGE or PB_USAGE with a message naming the
 * encoding. Returns 1 if the case was refused. */
static int refused(const Case *c, PbStatus st, int may_refuse, Tally *tally) {
    if (!st) return 0;
    const char *msg = pb_errmsg();
    CHECK(may_refuse, "%s: create failed: %s: %s", c->label, pb_status_name(st), msg);
    CHECK(st == PB_RANGE || st == PB_USAGE, "%s: refused with %s: %s", c->label, pb_status_name(st), msg);
    CHECK(strstr(msg, c->m->name) != NULL, "%s: refusal does not name the encoding: '%s'", c->label, msg);
    tally->refused++;
    return 1;
}

/* ---- cached tables ------------------------------------------------------ */

/* An encoding whose numbers depend on positions alone (no parameters, no
 * table bound) may cache them up to max_len and compute the rest: made for
 * half the positions, its embed and rotations (from pos0 0 and from the
 * middle, across the table's end) give the full-table instance's bits. */
static void check_cached_tables(const Case *c, const Model *md, Instance *full) {
    if (full->e.n_params || encoding_max_positions(&full->e) || (!md->embed && !md->rotate)) return;
    Instance half;
    if (make_len(&half, c, 11, (c->s.T + 1) / 2)) {
        CHECK(0, "%s: made for %d positions: %s", c->label, (c->s.T + 1) / 2, pb_errmsg());
        return;
    }
    const Shape s = c->s;
    const size_t nx = md->nx, nq = md->nq;
    float *a = guarded(nx), *b = guarded(nx), *qa = guarded(nq), *qb = guarded(nq), *ka = guarded(nq),
          *kb = guarded(nq);
    const int starts[] = {0, s.T / 2};
    for (int i = 0; i < 2; i++) {
        const int pos0 = starts[i];
        if (md->embed) {
            memcpy(a, part_x(md, md->u), nx * sizeof(float));
            memcpy(b, a, nx * sizeof(float));
            CHECK_OK(encoding_embed_forward(&full->e, a, s.B, s.T, pos0));
            CHECK_OK(encoding_embed_forward(&half.e, b, s.B, s.T, pos0));
            CHECK_SAME(b, a, nx, "%s: embed at pos0 %d with a table of %d positions", c->label, pos0,
                       half.e.cfg.max_len);
        }
        for (int dir = 0; md->rotate && dir < 2; dir++) {
            RotateFn fn = dir ? rotate_bwd : rotate_fwd;
            memcpy(qa, part_q(md, md->u), nq * sizeof(float));
            memcpy(ka, part_k(md, md->u), nq * sizeof(float));
            memcpy(qb, qa, nq * sizeof(float));
            memcpy(kb, ka, nq * sizeof(float));
            fn(&full->e, qa, ka, s.C, s.B, s.T, pos0);
            fn(&half.e, qb, kb, s.C, s.B, s.T, pos0);
            CHECK_SAME(qb, qa, nq, "%s: rotate %s of q at pos0 %d with a table of %d positions", c->label,
                       dir ? "backward" : "forward", pos0, half.e.cfg.max_len);
            CHECK_SAME(kb, ka, nq, "%s: rotate %s of k at pos0 %d with a table of %d positions", c->label,
                       dir ? "backward" : "forward", pos0, half.e.cfg.max_len);
        }
    }
    release(a), release(b), release(qa), release(qb), release(ka), release(kb);
    unmake(&half, c->label);
}

/* bias_rows into zeroed rows [H,T,T], then every row's backward for the
 * dlogits g (T floats per row) into a zeroed e->dparams. */
static void bias_pass(Encoding *e, int T, const float *g, float *rows) {
    const int H = e->cfg.heads;
    memset(rows, 0, (size_t)H * T * T * sizeof *rows);
    bias_rows(e, rows, H, T, NULL);
    if (!e->module->bias_backward) return;
    if (e->n_params) memset(e->dparams, 0, e->n_params * sizeof *e->dparams);
    for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++) e->module->bias_backward(e, g, h, i, 0, T);
}

/* Bias tables keyed by the parameters (KERPLE's, over distance): on an
 * instance made for half the T positions, so that rows run past its tables,
 * parameters written directly (as a checkpoint load does) give the bits that
 * they give once project has rebuilt the tables: a table built for other
 * parameters is never read, and table and formula agree on both sides of
 * the table's end, forward and backward. */
static void check_bias_tables(const Case *c, const Model *md, const Instance *full) {
    if (!md->bias || !full->e.n_params || encoding_max_positions(&full->e)) return;
    const int T = c->s.T;
    Instance half;
    if (make_len(&half, c, 11, (T + 1) / 2)) {
        CHECK(0, "%s: made for %d positions: %s", c->label, (T + 1) / 2, pb_errmsg());
        return;
    }
    const size_t np = half.e.n_params, n = (size_t)c->s.H * T * T;
    const float *g = part_x(md, md->u); /* T values serve as every row's dlogits */
    float *a = guarded(n), *b = guarded(n), *dp = guarded(np);
    /* Halfway to 1 stays inside every constraint (KERPLE: 0.01 <= r <= 2). */
    for (size_t p = 0; p < np; p++) half.e.params[p] = 0.5f * (half.e.params[p] + 1.0f);
    bias_pass(&half.e, T, g, a);
    memcpy(dp, half.e.dparams, np * sizeof(float));
    encoding_project(&half.e);
    bias_pass(&half.e, T, g, b);
    CHECK_SAME(b, a, n, "%s: bias rows (table of %d positions) after parameters were written without project", c->label,
               half.e.cfg.max_len);
    CHECK_SAME(half.e.dparams, dp, np, "%s: bias gradient after parameters were written without project", c->label);
    release(a), release(b), release(dp);
    unmake(&half, c->label);
}

static void run_case(const Case *c, Tally *tally) {
    Instance a, b;
    const int may_refuse = c->set->may_refuse || shape_is_odd(&c->s);
    if (refused(c, make(&a, c, 11), may_refuse, tally)) return;
    if (make(&b, c, 11)) {
        CHECK(0, "%s: a second instance failed: %s", c->label, pb_errmsg());
        unmake(&a, c->label);
        return;
    }
    tally->cases++;
    Rng rng;
    rng_seed(&rng, 99, 2);
    Model md = model_new(c, &rng);
    check_init_and_determinism(c, &md, &a, &b);
    check_gradients(c, &md, &a, &rng);
    if (md.embed) check_embed_chunks(c, &md, &a);
    if (md.rotate) {
        check_rotate_layout(c, &md, &a, &rng);
        check_rotate_chunks(c, &md, &a);
    }
    if (md.bias) check_bias_segments(c, &md, &a, &rng);
    if (md.score) check_score_segments(c, &md, &a, &rng);
    check_cached_tables(c, &md, &a);
    check_bias_tables(c, &md, &a);
    check_export(c, &md, &a, &b);
    CHECK(guards_intact(md.u, md.ny) && guards_intact(md.w, md.ny), "%s: input buffer overrun", c->label);
    model_free(&md);
    unmake(&a, c->label);
    unmake(&b, c->label);
}

/* ---- length policy ----------------------------------------------------- */

/* Every hook the encoding has, on positions pos0..pos0+T-1 (B = 1), into
 * out: x [T,C] (embed), q [T,C] and k [T,C] (rotate_qk), then bias rows of
 * head H-1 for queries pos0..pos0+T-1 over keys pos0-2..pos0+T+1 ([T, T+4]),
 * then score rows of the same head, queries and keys ([T, T+4]).
 * Inputs are those of positions in0.., so passes over overlapping ranges
 * (in0 = pos0) or at clamped positions (same in0) can be compared. */
static size_t hook_outputs_len(const Encoding *e, int T) {
    const EncodingModule *m = e->module;
    const size_t tc = (size_t)T * e->cfg.dim;
    return (m->embed_forward ? tc : 0) + (m->rotate_forward ? 2 * tc : 0) +
           (m->bias_forward ? (size_t)T * (T + 4) : 0) + (m->score_forward ? (size_t)T * (T + 4) : 0);
}

static float input_at(long long p, int c) { return (float)((p * 7 + c * 3) % 13) * 0.25f - 1.5f; }

static void hook_outputs(const Encoding *e, int T, int pos0, int in0, float *out) {
    const EncodingModule *m = e->module;
    const int C = e->cfg.dim;
    const size_t tc = (size_t)T * C;
    memset(out, 0, hook_outputs_len(e, T) * sizeof *out);
    if (m->embed_forward) {
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) out[(size_t)t * C + c] = input_at(in0 + t, c);
        m->embed_forward(e, out, 1, T, pos0);
        out += tc;
    }
    if (m->rotate_forward) {
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) {
                out[(size_t)t * C + c] = input_at(in0 + t, c);
                out[tc + (size_t)t * C + c] = input_at(in0 + t, c + 1);
            }
        m->rotate_forward(e, out, out + tc, C, 1, T, pos0);
        out += 2 * tc;
    }
    if (m->bias_forward) {
        for (int i = 0; i < T; i++)
            m->bias_forward(e, out + (size_t)i * (T + 4), e->cfg.heads - 1, pos0 + i, pos0 - 2, pos0 + T + 2);
        out += (size_t)T * (T + 4);
    }
    if (m->score_forward) {
        const int h = e->cfg.heads - 1, D = e->head_dim;
        float *q = malloc(tc * sizeof *q), *k = malloc((size_t)(T + 4) * C * sizeof *k);
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) q[(size_t)t * C + c] = input_at(in0 + t, c);
        for (int t = 0; t < T + 4; t++)
            for (int c = 0; c < C; c++) k[(size_t)t * C + c] = input_at((long long)in0 - 2 + t, c + 1);
        for (int i = 0; i < T; i++)
            m->score_forward(e, out + (size_t)i * (T + 4), q + (size_t)i * C + (size_t)h * D, k, C, h, pos0 + i,
                             pos0 - 2, pos0 + T + 2);
        free(q), free(k);
    }
}

static void check_length_policy(const Case *c, Tally *tally) {
    Instance a;
    if (refused(c, make(&a, c, 3), c->set->may_refuse, tally)) return;
    const char *L = c->label;
    const int known = encoding_max_positions(&a.e);
    Capture cap;
    capture_init(&cap);
    if (known > 0) {
        /* A table: positions up to known-1, then PB_LENGTH naming the encoding
         * and the table size, before any hook sees an unknown position. */
        char want[64];
        snprintf(want, sizeof want, "%s %d", c->m->length_bound ? "formula bound" : "table size", known);
        CHECK_OK(encoding_check_positions(&a.e, 0, known));
        PbStatus st = encoding_check_positions(&a.e, known - 2, 4);
        CHECK(st == PB_LENGTH, "%s: positions %d..%d past a table of %d accepted (%s)", L, known - 2, known + 1, known,
              pb_status_name(st));
        CHECK(strstr(pb_errmsg(), c->m->name) && strstr(pb_errmsg(), want),
              "%s: refusal must name the encoding and '%s': '%s'", L, want, pb_errmsg());
        if (c->m->embed_forward) {
            float x[4 * 64] = {0}, zero[4 * 64] = {0};
            CHECK(encoding_embed_forward(&a.e, x, 1, 4, known - 2) == PB_LENGTH, "%s: embed past the table accepted",
                  L);
            CHECK(memcmp(x, zero, sizeof x) == 0, "%s: a refused embed wrote into x", L);
        }
        CHECK(encoding_export(&a.e, known + 1, &cap.sink) == PB_LENGTH && cap.n == 0,
              "%s: export past the table not refused before emitting (%d tensors)", L, cap.n);

        /* The documented fallback: positions past the table reuse its last row. */
        a.e.cfg.fallback = LENGTH_FALLBACK_CLAMP;
        CHECK_OK(encoding_check_positions(&a.e, known + 100, 1 << 10));
        const size_t n = hook_outputs_len(&a.e, 1);
        float *far = guarded(n), *last = guarded(n);
        hook_outputs(&a.e, 1, known + 100, 0, far);
        hook_outputs(&a.e, 1, known - 1, 0, last);
        /* Same inputs for both, so embed and rotate_qk outputs must agree; a
         * bias row (last 5 floats) has no single "last row": finite only. */
        const size_t nrow = n - (c->m->bias_forward ? 5 : 0) - (c->m->score_forward ? 5 : 0);
        CHECK_SAME(far, last, nrow, "%s: clamp fallback differs from the table's last row", L);
        CHECK(all_finite(far, n), "%s: non-finite output past the table with clamp", L);
        CHECK(guards_intact(far, n) && guards_intact(last, n), "%s: overrun", L);
        release(far);
        release(last);
        capture_free(&cap);
        CHECK_OK(encoding_export(&a.e, known + 2, &cap.sink));
        const Captured *pe = capture_get(&cap, "pos_embedding");
        if (pe && pe->count == (size_t)(known + 2) * c->s.C) {
            const size_t C = (size_t)c->s.C, lastrow = (size_t)(known - 1) * C;
            CHECK_SAME(pe->f + lastrow + C, pe->f + lastrow, C, "%s: clamped export row %d", L, known);
            CHECK_SAME(pe->f + lastrow + 2 * C, pe->f + lastrow, C, "%s: clamped export row %d", L, known + 1);
        }
    } else {
        /* Unbounded: positions up to 2^20 in every hook, finite, and a pass
         * starting at 2^20 equals the tail of one starting 3 earlier. */
        enum { P = 1 << 20, T = 5 };
        CHECK_OK(encoding_check_positions(&a.e, P, 1 << 10));
        if (c->m->embed_forward) {
            float *x = calloc((size_t)T * c->s.C, sizeof *x);
            CHECK_OK(encoding_embed_forward(&a.e, x, 1, T, P));
            free(x);
        }
        const size_t n = hook_outputs_len(&a.e, T), n3 = hook_outputs_len(&a.e, T + 3);
        float *tail = guarded(n), *longer = guarded(n3);
        hook_outputs(&a.e, T, P, P, tail);
        hook_outputs(&a.e, T + 3, P - 3, P - 3, longer);
        CHECK(all_finite(tail, n), "%s: non-finite output at positions near 2^20", L);
        const size_t tc = (size_t)T * c->s.C, t3c = (size_t)(T + 3) * c->s.C, skip = 3 * c->s.C;
        const float *pt = tail, *pl = longer;
        if (c->m->embed_forward) {
            CHECK_SAME(pt, pl + skip, tc, "%s: embed at pos0 2^20 vs pos0 2^20-3", L);
            pt += tc, pl += t3c;
        }
        if (c->m->rotate_forward) {
            CHECK_SAME(pt, pl + skip, tc, "%s: rotate q at pos0 2^20 vs pos0 2^20-3", L);
            CHECK_SAME(pt + tc, pl + t3c + skip, tc, "%s: rotate k at pos0 2^20 vs 2^20-3", L);
            pt += 2 * tc, pl += 2 * t3c;
        }
        if (c->m->bias_forward) { /* query P + i, keys P-2.. : row i of tail is row i+3 of longer,
                                     from key P-2 on */
            for (int i = 0; i < T; i++)
                CHECK_SAME(pt + (size_t)i * (T + 4), pl + (size_t)(i + 3) * (T + 7) + 3, (size_t)T + 4,
                           "%s: bias row of query 2^20+%d differs between passes", L, i);
            pt += (size_t)T * (T + 4), pl += (size_t)(T + 3) * (T + 7);
        }
        if (c->m->score_forward) /* as bias rows; the inputs follow the positions */
            for (int i = 0; i < T; i++)
                CHECK_SAME(pt + (size_t)i * (T + 4), pl + (size_t)(i + 3) * (T + 7) + 3, (size_t)T + 4,
                           "%s: score row of query 2^20+%d differs between passes", L, i);
        CHECK(guards_intact(tail, n) && guards_intact(longer, n3), "%s: overrun near 2^20", L);
        release(tail);
        release(longer);

        /* Keys about 2^20 away from the query, before and after it: finite,
         * and two segments pieced together equal the row. */
        static const struct { int i, j0; } far[] = {{P, 0}, {0, P}, {P, P / 2}};
        enum { KEYS = 16, CUT = 7 };
        for (size_t f = 0; c->m->bias_forward && f < sizeof far / sizeof far[0]; f++) {
            float *row = guarded(KEYS), *pieces = guarded(KEYS);
            memset(row, 0, KEYS * sizeof *row);
            memset(pieces, 0, KEYS * sizeof *pieces);
            const int h = c->s.H - 1, i = far[f].i, j0 = far[f].j0;
            c->m->bias_forward(&a.e, row, h, i, j0, j0 + KEYS);
            c->m->bias_forward(&a.e, pieces, h, i, j0, j0 + CUT);
            c->m->bias_forward(&a.e, pieces + CUT, h, i, j0 + CUT, j0 + KEYS);
            CHECK(all_finite(row, KEYS), "%s: non-finite bias for query %d, keys %d..", L, i, j0);
            CHECK_SAME(row, pieces, KEYS, "%s: bias for query %d, keys %d.. in two segments", L, i, j0);
            CHECK(guards_intact(row, KEYS) && guards_intact(pieces, KEYS),
                  "%s: bias for query %d, keys %d.. written outside its segment", L, i, j0);
            release(row);
            release(pieces);
        }
        for (size_t f = 0; c->m->score_forward && f < sizeof far / sizeof far[0]; f++) {
            const int C = c->s.C, h = c->s.H - 1, D = C / c->s.H, i = far[f].i, j0 = far[f].j0;
            float *row = guarded(KEYS), *pieces = guarded(KEYS), *q = malloc((size_t)C * sizeof *q);
            float *k = malloc((size_t)KEYS * C * sizeof *k);
            for (int ch = 0; ch < C; ch++) q[ch] = input_at(i, ch);
            for (int t = 0; t < KEYS; t++)
                for (int ch = 0; ch < C; ch++) k[(size_t)t * C + ch] = input_at((long long)j0 + t, ch + 1);
            memset(row, 0, KEYS * sizeof *row);
            memset(pieces, 0, KEYS * sizeof *pieces);
            c->m->score_forward(&a.e, row, q + (size_t)h * D, k, C, h, i, j0, j0 + KEYS);
            if (c->m->score_keys_to_query) { /* no pieces: the same call again, bit for bit */
                c->m->score_forward(&a.e, pieces, q + (size_t)h * D, k, C, h, i, j0, j0 + KEYS);
            } else {
                c->m->score_forward(&a.e, pieces, q + (size_t)h * D, k, C, h, i, j0, j0 + CUT);
                c->m->score_forward(&a.e, pieces + CUT, q + (size_t)h * D, k + (size_t)CUT * C, C, h, i, j0 + CUT,
                                    j0 + KEYS);
            }
            CHECK(all_finite(row, KEYS), "%s: non-finite score for query %d, keys %d..", L, i, j0);
            CHECK_SAME(row, pieces, KEYS, "%s: score for query %d, keys %d.. in two segments", L, i, j0);
            CHECK(guards_intact(row, KEYS) && guards_intact(pieces, KEYS),
                  "%s: score for query %d, keys %d.. written outside its segment", L, i, j0);
            release(row), release(pieces), free(q), free(k);
        }
    }
    capture_free(&cap);
    unmake(&a, L);
}

/* ---- module-level checks ----------------------------------------------- */

static void check_module_table(const EncodingModule *m, size_t index) {
    CHECK(m->name && *m->name && m->summary && *m->summary, "encoding %zu lacks a name or summary", index);
    CHECK((m->embed_forward == NULL) == (m->embed_backward == NULL), "%s: embed hook without its twin", m->name);
    CHECK((m->rotate_forward == NULL) == (m->rotate_backward == NULL), "%s: rotate hook without its twin", m->name);
    CHECK((m->bias_forward == NULL) == (m->bias_backward == NULL), "%s: bias hook without its twin", m->name);
    CHECK((m->score_forward == NULL) == (m->score_backward == NULL), "%s: score hook without its twin", m->name);
    CHECK(encoding_find(m->name) == m, "%s: not found by name (registered twice?)", m->name);
    for (int v = 0; m->variants && m->variants[v]; v++)
        for (int u = 0; u < v; u++)
            CHECK(strcmp(m->variants[u], m->variants[v]), "%s: variant '%s' listed twice", m->name, m->variants[v]);
    CHECK(!m->variants || m->variants[0], "%s: empty variants list (use NULL)", m->name);
    int nk = 0;
    for (; m->knobs && m->knobs[nk].name; nk++) {
        const EncodingKnob *k = &m->knobs[nk];
        CHECK(k->min <= k->default_value && k->default_value <= k->max, "%s: knob %s default %g outside [%g, %g]",
              m->name, k->name, k->default_value, k->min, k->max);
        CHECK(k->help && *k->help, "%s: knob %s has no help text", m->name, k->name);
    }
    CHECK(nk <= ENCODING_MAX_KNOBS, "%s: %d knobs, at most %d", m->name, nk, ENCODING_MAX_KNOBS);
}

/* The project hook, for every variant: from wild parameters (normal draws
 * of scale 10: negative, huge) it leaves finite values, touches nothing
 * past the encoding's slice, and is idempotent (a projection: a second call
 * changes nothing), and parameters it was given in range stay as they are
 * (the module's own init is in range). */
static void check_projection(const EncodingModule *m) {
    if (!m->project) return;
    for (int v = 0; !m->variants ? v < 1 : m->variants[v] != NULL; v++) {
        Encoding e;
        EncodingConfig cfg = {.dim = 8, .heads = 2, .max_len = 16, .variant = m->variants ? m->variants[v] : NULL};
        if (encoding_create(&e, m, &cfg) != PB_OK || !e.n_params) {
            encoding_destroy(&e);
            continue;
        }
        float *p = guarded(e.n_params), *g = guarded(e.n_params), *once = guarded(e.n_params);
        encoding_bind(&e, p, g);
        Rng rng;
        rng_seed(&rng, 7, (uint64_t)v);
        encoding_init_params(&e, &rng);
        memcpy(once, p, e.n_params * sizeof *p);
        encoding_project(&e);
        CHECK(memcmp(once, p, e.n_params * sizeof *p) == 0, "%s:%s: project changed the module's own init", m->name,
              encoding_variant_name(&e));
        for (size_t i = 0; i < e.n_params; i++) p[i] = 10.0f * rng_normal(&rng);
        encoding_project(&e);
        int finite = 1;
        for (size_t i = 0; i < e.n_params; i++) finite &= isfinite(p[i]) != 0;
        CHECK(finite, "%s:%s: project left a non-finite parameter", m->name, encoding_variant_name(&e));
        memcpy(once, p, e.n_params * sizeof *p);
        encoding_project(&e);
        CHECK(memcmp(once, p, e.n_params * sizeof *p) == 0, "%s:%s: project is not idempotent", m->name,
              encoding_variant_name(&e));
        CHECK(guards_intact(p, e.n_params), "%s: project wrote outside its parameters", m->name);
        release(p), release(g), release(once);
        encoding_destroy(&e);
    }
}

static void check_bad_configs(const EncodingModule *m) {
    Encoding e;
    EncodingConfig cfg = {.dim = 6, .heads = 4, .max_len = 4};
    CHECK(encoding_create(&e, m, &cfg) == PB_RANGE, "%s: heads not dividing dim accepted", m->name);
    cfg = (EncodingConfig){.dim = 8, .heads = 2, .max_len = 4, .variant = "no-such-variant"};
    CHECK(encoding_create(&e, m, &cfg) == PB_USAGE, "%s: unknown variant accepted", m->name);
    cfg = (EncodingConfig){.dim = 8, .heads = 2, .max_len = 4, .knobs = "no_such_knob=1"};
    CHECK(encoding_create(&e, m, &cfg) == PB_USAGE, "%s: unknown setting accepted", m->name);
    for (int k = 0; m->knobs && m->knobs[k].name; k++) {
        char knobs[128];
        snprintf(knobs, sizeof knobs, "%s=%.17g", m->knobs[k].name, m->knobs[k].max + fabs(m->knobs[k].max) + 1);
        cfg = (EncodingConfig){.dim = 8, .heads = 2, .max_len = 4, .knobs = knobs};
        CHECK(encoding_create(&e, m, &cfg) == PB_RANGE, "%s: %s accepted", m->name, knobs);
    }
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv) {
    const char *expect[16];
    int n_expect = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc && n_expect < 16) {
            expect[n_expect++] = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--expect NAME]...\n", argv[0]);
            return 2;
        }
    }

    CHECK(encoding_count() >= 2, "registry holds %zu encodings", encoding_count());
    enum { MAX_SETTINGS = 128 };
    static Setting settings[MAX_SETTINGS];
    for (size_t r = 0; encoding_registry[r]; r++) {
        const EncodingModule *m = encoding_registry[r];
        const int checks_before = check_count, failures_before = check_failures;
        check_module_table(m, r);
        Tally tally = {0};
        const int ns = settings_of(m, settings, MAX_SETTINGS);
        for (int si = 0; si < ns; si++) {
            for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
                Case c = make_case(m, &settings[si], shapes[k]);
                run_case(&c, &tally);
            }
            Case c = make_case(m, &settings[si], policy_shape);
            check_length_policy(&c, &tally);
        }
        check_bad_configs(m);
        check_projection(m);
        printf("checked %-17s hooks:%s%s%s%s%s  %d settings, %d cases (%d refused), %d checks, %d "
               "failed\n",
               m->name, m->embed_forward ? " embed" : "", m->rotate_forward ? " rotate_qk" : "",
               m->bias_forward ? " attn_bias" : "", m->score_forward ? " score" : "",
               m->embed_forward || m->rotate_forward || m->bias_forward || m->score_forward ? "" : " none", ns,
               tally.cases, tally.refused, check_count - checks_before, check_failures - failures_before);
    }
    for (int i = 0; i < n_expect; i++) {
        const EncodingModule *m = encoding_find(expect[i]);
        CHECK(m != NULL,
              "expected encoding '%s' is not registered (the template test builds "
              "encodings/registry.c with -DPOSBENCH_REGISTER_TEMPLATE)",
              expect[i]);
        CHECK(!m || m->embed_forward || m->rotate_forward || m->bias_forward || m->score_forward,
              "expected encoding '%s' has no hooks: nothing of it was tested", expect[i]);
    }
    printf("%zu elements compared against tolerances\n", elements_compared);
    return check_exit_code("encodings");
}
