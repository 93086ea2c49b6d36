/* test_attention.c: causal multi-head self-attention with every registered
 * encoding's hooks, as a table over (encoding, setting, shape), with no
 * per-encoding code:
 *   - forward equals a naive reference in double (plain loops here, the
 *     encoding's math reached only through its public hooks on copies: the
 *     rotation by rotate_forward on a copy of qkv, each bias row by
 *     bias_forward on a zero row, each score row by score_forward on a zero
 *     row with the rotated query and keys), for pos0 = 0 and pos0 > 0, and
 *     for a map giving each window a sorted random sample of positions
 *     (the reference then calls each hook at one position per call, so it
 *     does not share attention's cutting of a map into runs); att holds the
 *     reference probabilities and exact zeros above the diagonal
 *   - the rows path (attention_forward_rows) equals the training path bit
 *     for bit, as attention.h promises
 *   - gradients of every qkv input (all of them, or a dense sample of the
 *     large shapes) and every encoding parameter by central differences,
 *     loss L = sum(w * out) in double; backward adds into dqkv and dparams
 *     (for a score hook this covers its dq, dk and parameter gradients: the
 *     differences go through attention_forward, which calls it)
 *   - determinism: two passes, and passes with 1 and 3 OpenMP threads, agree
 *     bit for bit (forward, att, dqkv, dparams), with and without a map;
 *     the tiled training pair (recomputing probabilities from row
 *     statistics) gives the same bits for each thread count
 *     (out, dqkv, dparams)
 *   - causality: changing q, k, v at position t leaves earlier outputs
 *     unchanged bit for bit, and earlier losses give later positions no
 *     gradient
 *   - windows with an offset (see check_window for what is asserted)
 *   - length policy: positions past a table refused with PB_LENGTH before
 *     any buffer is touched (attention calls no embed hook, yet the check
 *     must run); shapes not matching the encoding refused with PB_RANGE
 *   - sentinels around every buffer, scratch included
 * A failing check fails the process, printing the worst element.
 * Shapes: B batch, T positions, C channels, H heads, D = C/H.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../core/threads.h"
#include "../encodings/encoding.h"
#include "../harness/model/attention.h"
#include "buffers.h"
#include "check.h"

typedef struct {
    int B, T, C, H;
    size_t grad_cap; /* qkv inputs checked by central differences (all if fewer) */
} Shape;

/* Odd T, 3 and 8 heads, a single position, an odd head dim (which rope
 * refuses), T past one, two and three tiles of 64 query rows, and batches
 * that attention splits into groups (bias rows shared, dS summed over a
 * group before bias_backward; see attention.h). */
static const Shape shapes[] = {
    {1, 1, 4, 1, 1 << 20},   /* D 4, one position */
    {2, 5, 8, 2, 1 << 20},   /* D 4 */
    {1, 7, 18, 3, 1 << 20},  /* H 3, D 6 */
    {2, 13, 12, 3, 1 << 20}, /* H 3, D 4, odd T */
    {1, 9, 15, 3, 1 << 20},  /* D 5: may be refused */
    {5, 9, 8, 4, 1 << 20},   /* D 2; batch rows in uneven groups (3 + 2) */
    {3, 20, 16, 8, 1000},    /* 8 heads: one group of all batch rows */
    {1, 70, 16, 2, 600},     /* two tiles: 64 + 6 rows */
    {2, 131, 12, 3, 200},    /* three tiles, H 3, odd T */
    {2, 201, 32, 4, 60},     /* four tiles, enough work to run on all threads */
};
/* The offset of windows that do not start at position 0. */
enum { POS0 = 37 };

static int shape_is_odd(const Shape *s) { return (s->C / s->H) % 2 || s->C % 2; }

static void set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

/* Guarded buffers, fill_normal, all_finite, CHECK_SAME: buffers.h. */

/* The worst of many comparisons, as |got - want| / tol (NaN: infinite). */
typedef struct {
    double ratio, got, want, tol;
    size_t at, n;
} Worst;

static void worst_add(Worst *w, size_t at, double got, double want, double tol) {
    double r = fabs(got - want) / tol;
    if (isnan(r)) r = INFINITY;
    if (w->n++ == 0 || r > w->ratio) *w = (Worst){r, got, want, tol, at, w->n};
}

#define CHECK_WORST(w, fmt, ...) \
    CHECK((w).ratio <= 1.0, \
          fmt ": worst element %zu (of %zu compared): got %.9g, want %.9g, |diff| %.3g > " \
              "tol %.3g", \
          __VA_ARGS__, (w).at, (w).n, (w).got, (w).want, fabs((w).got - (w).want), (w).tol)

/* ---- cases ------------------------------------------------------------- */

/* A variant with default knobs, or with every knob at 1/4 of its default
 * (setup may refuse that, e.g. a rotation fraction leaving no pair). */
typedef struct {
    const char *variant;
    char knobs[200];
    int may_refuse;
} Setting;

static int settings_of(const EncodingModule *m, Setting *out, int cap) {
    int n = 0, n_variants = 0;
    while (m->variants && m->variants[n_variants]) n_variants++;
    for (int v = 0; v < (n_variants ? n_variants : 1) && n < cap; v++) {
        const char *variant = n_variants ? m->variants[v] : NULL;
        out[n++] = (Setting){.variant = variant};
        char all[200] = "";
        for (int k = 0; m->knobs && m->knobs[k].name; k++) {
            const EncodingKnob *kb = &m->knobs[k];
            const double val = kb->default_value / 4;
            if (val == kb->default_value || val < kb->min || val > kb->max || val == 0) continue;
            size_t len = strlen(all);
            snprintf(all + len, sizeof all - len, "%s%s=%.17g", len ? "," : "", kb->name, val);
        }
        if (all[0] && n < cap) {
            out[n] = (Setting){.variant = variant, .may_refuse = 1};
            memcpy(out[n].knobs, all, sizeof all);
            n++;
        }
    }
    return n;
}

typedef struct {
    const EncodingModule *m;
    const Setting *set;
    Shape s;
    char label[300];
} Case;

typedef struct {
    Encoding e;
    float *params, *dparams;
} Instance;

/* The table (if any) covers windows at pos0 = 0 and at POS0. */
static PbStatus make(Instance *in, const Case *c, int max_len, uint64_t seed) {
    EncodingConfig cfg = {.variant = c->set->variant,
                          .dim = c->s.C,
                          .heads = c->s.H,
                          .max_len = max_len,
                          .knobs = c->set->knobs[0] ? c->set->knobs : NULL};
    pb_clear_error();
    PbStatus st = encoding_create(&in->e, c->m, &cfg);
    if (st) {
        encoding_destroy(&in->e);
        return st;
    }
    in->params = guarded(in->e.n_params);
    in->dparams = guarded(in->e.n_params);
    memset(in->dparams, 0, in->e.n_params * sizeof(float));
    encoding_bind(&in->e, in->params, in->dparams);
    Rng rng;
    rng_seed(&rng, seed, 1);
    encoding_init_params(&in->e, &rng);
    /* Parameters the encoding leaves alone (none are expected) would be
     * sentinels, and the gradient checks would step through them. */
    for (size_t i = 0; i < in->e.n_params; i++)
        if (in->params[i] == SENTINEL) in->params[i] = 0.0f;
    return PB_OK;
}

static void unmake(Instance *in, const char *label) {
    CHECK(guards_intact(in->params, in->e.n_params), "%s: parameter buffer overrun", label);
    CHECK(guards_intact(in->dparams, in->e.n_params), "%s: gradient buffer overrun", label);
    release(in->params);
    release(in->dparams);
    encoding_destroy(&in->e);
}

/* ---- one pass: forward (training or rows) and backward ------------------ */

typedef struct {
    Shape s;
    size_t nqkv, nout, natt, nscr;
    float *qkv, *out, *att, *dqkv, *scratch;
} Pass;

static Pass pass_new(const Shape *s) {
    Pass p = {.s = *s};
    p.nqkv = (size_t)s->B * s->T * 3 * s->C;
    p.nout = (size_t)s->B * s->T * s->C;
    p.natt = (size_t)s->B * s->H * s->T * s->T;
    p.qkv = guarded(p.nqkv);
    p.out = guarded(p.nout);
    p.att = guarded(p.natt);
    p.dqkv = guarded(p.nqkv);
    return p;
}

static void pass_scratch(Pass *p, size_t n) {
    release(p->scratch);
    p->nscr = n;
    p->scratch = guarded(n);
}

static void pass_free(Pass *p, const char *label) {
    CHECK(guards_intact(p->qkv, p->nqkv) && guards_intact(p->out, p->nout) && guards_intact(p->att, p->natt) &&
              guards_intact(p->dqkv, p->nqkv),
          "%s: attention wrote outside qkv, out, att or dqkv", label);
    CHECK(!p->scratch || guards_intact(p->scratch, p->nscr), "%s: attention wrote past its scratch (%zu floats)", label,
          p->nscr);
    release(p->qkv), release(p->out), release(p->att), release(p->dqkv), release(p->scratch);
}

/* Training forward of qkv0 at pos0; backward too when dout is given (dqkv
 * and dparams zeroed first). Scratch sized for the current thread count. */
static PbStatus pass_run_at(Pass *p, Instance *in, const float *qkv0, const float *dout, Positions pos) {
    const Shape s = p->s;
    memcpy(p->qkv, qkv0, p->nqkv * sizeof(float));
    PbStatus st = attention_forward_at(p->out, p->att, p->qkv, &in->e, s.B, s.T, s.C, s.H, pos);
    if (st || !dout) return st;
    memset(p->dqkv, 0, p->nqkv * sizeof(float));
    memset(in->dparams, 0, in->e.n_params * sizeof(float));
    pass_scratch(p, attention_backward_scratch_floats(&in->e, s.B, s.T, s.C, s.H, pb_max_threads()));
    return attention_backward_at(p->dqkv, dout, p->qkv, p->att, &in->e, p->scratch, s.B, s.T, s.C, s.H, pos);
}

/* The tiled training pair (linear memory) on qkv0 at pos: out, dqkv and
 * dparams as pass_run_at leaves them (att untouched). stats and scratch are
 * guarded buffers of this call. */
static PbStatus pass_tiled_at(Pass *p, Instance *in, const float *qkv0, const float *dout, Positions pos) {
    const Shape s = p->s;
    const size_t nstats = (size_t)s.B * s.H * s.T * ATTENTION_STATS;
    float *stats = guarded(nstats);
    memcpy(p->qkv, qkv0, p->nqkv * sizeof(float));
    memset(p->dqkv, 0, p->nqkv * sizeof(float));
    memset(in->dparams, 0, in->e.n_params * sizeof(float));
    pass_scratch(p, attention_tiled_scratch_floats(&in->e, s.B, s.T, s.C, s.H, pb_max_threads()));
    PbStatus st = attention_forward_tiled_at(p->out, stats, p->qkv, &in->e, p->scratch, s.B, s.T, s.C, s.H, pos);
    if (!st)
        st = attention_backward_tiled_at(p->dqkv, dout, p->qkv, stats, &in->e, p->scratch, s.B, s.T, s.C, s.H, pos);
    CHECK(guards_intact(stats, nstats), "tiled attention wrote outside stats [B,H,T,%d]", ATTENTION_STATS);
    release(stats);
    return st;
}

static PbStatus pass_run(Pass *p, Instance *in, const float *qkv0, const float *dout, int pos0) {
    return pass_run_at(p, in, qkv0, dout, positions_from(pos0));
}

/* "pos0 N", or "a map" of each window's own positions, for messages. */
static const char *pos_label(Positions pos, char *buf, size_t cap) {
    if (pos.map) snprintf(buf, cap, "a map of positions");
    else snprintf(buf, cap, "pos0 %d", pos.pos0);
    return buf;
}

static PbStatus pass_rows(Pass *p, Instance *in, const float *qkv0, int pos0) {
    const Shape s = p->s;
    memcpy(p->qkv, qkv0, p->nqkv * sizeof(float));
    pass_scratch(p, attention_rows_scratch_floats(s.T, pb_max_threads()));
    return attention_forward_rows(p->out, p->qkv, &in->e, p->scratch, s.B, s.T, s.C, s.H, pos0);
}

/* ---- the naive reference ------------------------------------------------ */

/* The hooks at token positions, one position per call where a map gives
 * each window its own (independent of how attention cuts a map into runs):
 * rotate_forward per token, bias_forward and score_forward per key; a
 * score_keys_to_query hook reads no position and takes the row at indices. */
static void ref_rotate(const Encoding *e, float *rot, const Shape *s, Positions pos) {
    const int C = s->C, ld = 3 * C;
    if (!e->module->rotate_forward) return;
    if (!pos.map) {
        e->module->rotate_forward(e, rot, rot + C, ld, s->B, s->T, pos.pos0);
        return;
    }
    for (size_t t = 0; t < (size_t)s->B * s->T; t++)
        e->module->rotate_forward(e, rot + t * ld, rot + t * ld + C, ld, 1, 1, pos.map[t]);
}

static void ref_row(const Encoding *e, float *row, const float *q, const float *k, int ld, int h, Positions w, int i) {
    const EncodingModule *m = e->module;
    for (int j = 0; j <= i; j++) row[j] = 0.0f;
    if (!w.map) {
        if (m->bias_forward) m->bias_forward(e, row, h, w.pos0 + i, w.pos0, w.pos0 + i + 1);
        if (m->score_forward) m->score_forward(e, row, q, k, ld, h, w.pos0 + i, w.pos0, w.pos0 + i + 1);
        return;
    }
    for (int j = 0; j <= i; j++) {
        if (m->bias_forward) m->bias_forward(e, row + j, h, w.map[i], w.map[j], w.map[j] + 1);
        if (m->score_forward && !m->score_keys_to_query)
            m->score_forward(e, row + j, q, k + (size_t)j * ld, ld, h, w.map[i], w.map[j], w.map[j] + 1);
    }
    if (m->score_forward && m->score_keys_to_query) m->score_forward(e, row, q, k, ld, h, i, 0, i + 1);
}

/* out [B,T,C] and prob [B,H,T,T] in double by plain loops. The encoding is
 * reached only through its hooks, on copies: rotate_forward on a copy of
 * qkv, bias_forward and score_forward on a zero row per (b, h, i). */
static void reference(double *out, double *prob, const float *qkv, const Encoding *e, const Shape *s, Positions pos) {
    const int B = s->B, T = s->T, C = s->C, H = s->H, D = C / H, ld = 3 * C;
    const size_t n = (size_t)B * T * ld;
    float *rot = malloc(n * sizeof *rot), *row = malloc((size_t)T * sizeof *row);
    double *logit = malloc((size_t)T * sizeof *logit);
    memcpy(rot, qkv, n * sizeof *rot);
    ref_rotate(e, rot, s, pos);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                const float *q = rot + ((size_t)b * T + i) * ld + h * D;
                ref_row(e, row, q, rot + (size_t)b * T * ld + C, ld, h, positions_window(pos, b, T), i);
                double mx = -INFINITY;
                for (int j = 0; j <= i; j++) {
                    const float *k = rot + ((size_t)b * T + j) * ld + C + h * D;
                    double dot = 0;
                    for (int d = 0; d < D; d++) dot += (double)q[d] * k[d];
                    logit[j] = dot / sqrt((double)D) + row[j];
                    mx = fmax(mx, logit[j]);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) sum += logit[j] = exp(logit[j] - mx);
                double *p = prob + (((size_t)b * H + h) * T + i) * T;
                for (int j = 0; j < T; j++) p[j] = j <= i ? logit[j] / sum : 0.0;
                double *o = out + ((size_t)b * T + i) * C + h * D;
                for (int d = 0; d < D; d++) {
                    double acc = 0;
                    for (int j = 0; j <= i; j++) acc += p[j] * rot[((size_t)b * T + j) * ld + 2 * C + h * D + d];
                    o[d] = acc;
                }
            }
    free(rot), free(row), free(logit);
}

/* Forward at pos0 against the reference: out within 1e-5 (1 + |ref|),
 * probabilities within 1e-5 (1 + p) with exact zeros above the diagonal, and
 * qkv left rotated exactly as rotate_forward rotates a copy. */
static void check_reference(const Case *c, Instance *in, const float *qkv0, Positions pos) {
    const Shape s = c->s;
    char at[64];
    pos_label(pos, at, sizeof at);
    Pass p = pass_new(&s);
    CHECK_OK(pass_run_at(&p, in, qkv0, NULL, pos));
    double *out = malloc(p.nout * sizeof *out), *prob = malloc(p.natt * sizeof *prob);
    reference(out, prob, qkv0, &in->e, &s, pos);
    Worst wo = {0}, wp = {0};
    for (size_t i = 0; i < p.nout; i++) worst_add(&wo, i, p.out[i], out[i], 1e-5 * (1 + fabs(out[i])));
    size_t above = 0;
    for (size_t i = 0; i < p.natt; i++) {
        const size_t row = i / s.T, j = i % s.T, qi = row % s.T;
        if (j > qi) above += p.att[i] != 0.0f;
        else worst_add(&wp, i, p.att[i], prob[i], 1e-5 * (1 + prob[i]));
    }
    CHECK_WORST(wo, "%s %s: out vs the double reference", c->label, at);
    CHECK_WORST(wp, "%s %s: att vs the reference probabilities", c->label, at);
    CHECK(above == 0, "%s %s: %zu entries of att above the diagonal are not 0", c->label, at, above);
    float *rot = malloc(p.nqkv * sizeof *rot);
    memcpy(rot, qkv0, p.nqkv * sizeof *rot);
    ref_rotate(&in->e, rot, &s, pos);
    CHECK_SAME(p.qkv, rot, p.nqkv, "%s %s: qkv after forward is not rotate_forward(qkv)", c->label, at);

    /* The rows path (evaluation: no map): same arithmetic, so the same bits. */
    if (!pos.map) {
        Pass r = pass_new(&s);
        CHECK_OK(pass_rows(&r, in, qkv0, pos.pos0));
        CHECK_SAME(r.out, p.out, p.nout, "%s %s: attention_forward_rows vs attention_forward", c->label, at);
        CHECK_SAME(r.qkv, p.qkv, p.nqkv, "%s %s: qkv after the rows path", c->label, at);
        pass_free(&r, c->label);
    }
    free(rot), free(out), free(prob);
    pass_free(&p, c->label);
}

/* ---- windows with an offset --------------------------------------------- */

/* What the interface guarantees about a window starting at pos0:
 *  - its hooks see absolute positions pos0 + t (the reference check above
 *    runs at pos0 = POS0 and calls the hooks the same way);
 *  - the mask lives inside the window, so the first k rows of a window of T
 *    positions equal a window of k positions at the same pos0 (attention is
 *    causal and the hooks are pure functions of the absolute positions);
 *  - attention calls only rotate_qk, attn_bias and score: an encoding with
 *    none of them cannot make the output depend on pos0, bit for bit.
 * It does not guarantee that rotate_qk or attn_bias depend on positions only
 * through differences: ALiBi, RoPE and T5's bias do (so their windows agree
 * across offsets up to rounding), but an absolute rotation or bias would be
 * a valid encoding too. That is printed, not asserted. A table encoding's
 * embed hook (learned absolute) is never called here: the model adds it to
 * the token embedding before attention. */
static void check_window(const Case *c, Instance *in, const float *qkv0, int verbose) {
    const Shape s = c->s;
    const size_t per_pos = 3 * (size_t)s.C;
    Pass full = pass_new(&s), at0 = pass_new(&s);
    CHECK_OK(pass_run(&full, in, qkv0, NULL, POS0));
    CHECK_OK(pass_run(&at0, in, qkv0, NULL, 0));

    int ks[3] = {1, s.T / 2, s.T - 1};
    for (int ki = 0; ki < 3; ki++) {
        const int k = ks[ki];
        if (k < 1 || k >= s.T || (ki && k == ks[ki - 1])) continue;
        Shape sk = s;
        sk.T = k;
        Pass part = pass_new(&sk);
        float *prefix = malloc(part.nqkv * sizeof *prefix);
        for (int b = 0; b < s.B; b++)
            memcpy(prefix + (size_t)b * k * per_pos, qkv0 + (size_t)b * s.T * per_pos,
                   (size_t)k * per_pos * sizeof *prefix);
        CHECK_OK(pass_run(&part, in, prefix, NULL, POS0));
        Worst w = {0};
        for (int b = 0; b < s.B; b++)
            for (size_t i = 0; i < (size_t)k * s.C; i++) {
                const double want = full.out[(size_t)b * s.T * s.C + i];
                worst_add(&w, i, part.out[(size_t)b * k * s.C + i], want, 1e-6 * (1 + fabs(want)));
            }
        CHECK_WORST(w, "%s: window of %d positions at pos0 %d vs the first %d rows of %d", c->label, k, POS0, k, s.T);
        free(prefix);
        pass_free(&part, c->label);
    }

    const int positional = c->m->rotate_forward || c->m->bias_forward || c->m->score_forward;
    if (!positional) {
        CHECK_SAME(full.out, at0.out, full.nout,
                   "%s: no rotate_qk, attn_bias or score, yet the output "
                   "depends on pos0 (%d vs 0)",
                   c->label, POS0);
    } else if (verbose) {
        double worst = 0;
        for (size_t i = 0; i < full.nout; i++)
            worst = fmax(worst, fabs(full.out[i] - at0.out[i]) / (1 + fabs(at0.out[i])));
        printf("  %s: window at pos0 %d vs 0: max relative difference %.2g (%s)\n", c->label, POS0, worst,
               worst < 1e-5 ? "relative hooks" : "depends on absolute position");
    }
    pass_free(&full, c->label);
    pass_free(&at0, c->label);
}

/* ---- gradients ------------------------------------------------------------ */

static const float GRAD_EPS = 1e-2f;
/* Steps tried per element: GRAD_EPS, /4, /16 (see check_gradient). */
enum { GRAD_STEPS = 3 };

/* Training forward of qkv (as a step left it) at pos0 into p->out. */
static void forward_of(Pass *p, Instance *in, const float *qkv, Positions pos) {
    const Shape s = p->s;
    memcpy(p->qkv, qkv, p->nqkv * sizeof(float));
    CHECK_OK(attention_forward_at(p->out, p->att, p->qkv, &in->e, s.B, s.T, s.C, s.H, pos));
}

/* Central differences of L = sum(w * out) in n floats at var (qkv inputs or
 * parameters) against g.
 *
 * Tolerance. L's difference is summed in double over the outputs that
 * changed only: the others are bit-identical in both passes (the arithmetic
 * is deterministic), so they cancel exactly. Each changed output is off by a
 * few dozen ulp of the values it is made from (D-term dots, the softmax, a
 * sum over keys): at most 64 u sum|w| (|out+| + |out-| + vmax) / step with
 * u = 2^-24. Attention is not linear, so the step's O(eps^2) curvature is
 * allowed as 2e-3 of the gradient plus 1e-4 of the group's largest; where a
 * parameter's curvature is large at its own scale (KERPLE's r near 0.01
 * multiplies distances of 100^2), the step shrinks by 4 up to twice, since
 * curvature falls as its square. A wrong gradient (a missed factor, a
 * transposed head, a wrong bucket) is off by O(1) of it at every step. */
static void check_gradient(const Case *c, Instance *in, const float *qkv0, const float *w, Positions pos,
                           const char *what, float *var, const float *g, size_t n, size_t cap, float vmax, Rng *rng) {
    const Shape s = c->s;
    Pass up = pass_new(&s), down = pass_new(&s);
    double gmax = 0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g[i]));
    const size_t picks = n <= cap ? n : cap;
    Worst worst = {0};
    for (size_t k = 0; k < picks; k++) {
        const size_t at = n <= cap ? k : k == 0 ? 0 : k == 1 ? n - 1 : rng_below(rng, (uint32_t)n);
        const float saved = var[at];
        double numeric = 0, tol = 0;
        float eps = GRAD_EPS;
        for (int step_k = 0; step_k < GRAD_STEPS; step_k++, eps /= 4) {
            const float hi = saved + eps, lo = saved - eps;
            var[at] = hi;
            forward_of(&up, in, qkv0, pos);
            var[at] = lo;
            forward_of(&down, in, qkv0, pos);
            var[at] = saved;
            double dL = 0, size = 0;
            for (size_t j = 0; j < up.nout; j++) {
                if (up.out[j] == down.out[j]) continue;
                dL += (double)w[j] * ((double)up.out[j] - (double)down.out[j]);
                size += fabs(w[j]) * (fabs(up.out[j]) + fabs(down.out[j]) + vmax);
            }
            const double step = (double)hi - (double)lo;
            numeric = dL / step;
            tol = 64 * 0x1p-24 * size / step + 2e-3 * fabs(numeric) + 1e-4 * gmax + 1e-7;
            if (fabs(numeric - g[at]) <= tol) break;
        }
        worst_add(&worst, at, g[at], numeric, tol);
    }
    char at_label[64];
    CHECK_WORST(worst, "%s %s: gradient of %s [%zu floats] vs central differences", c->label,
                pos_label(pos, at_label, sizeof at_label), what, n);
    pass_free(&up, c->label);
    pass_free(&down, c->label);
}

static void check_gradients(const Case *c, Instance *in, float *qkv0, const float *w, Positions pos, Rng *rng) {
    const Shape s = c->s;
    Pass p = pass_new(&s);
    CHECK_OK(pass_run_at(&p, in, qkv0, w, pos));
    const size_t np = in->e.n_params;
    float *g = malloc(p.nqkv * sizeof *g), *gp = malloc((np + 1) * sizeof *gp);
    memcpy(g, p.dqkv, p.nqkv * sizeof *g);
    memcpy(gp, in->dparams, np * sizeof *gp);
    CHECK(all_finite(g, p.nqkv) && all_finite(gp, np), "%s: non-finite gradients", c->label);
    float vmax = 0;
    for (size_t i = 0; i < p.nqkv; i++) vmax = fmaxf(vmax, fabsf(qkv0[i]));

    check_gradient(c, in, qkv0, w, pos, "qkv", qkv0, g, p.nqkv, s.grad_cap, vmax, rng);
    if (np) check_gradient(c, in, qkv0, w, pos, "the encoding's parameters", in->params, gp, np, 200, vmax, rng);

    /* Backward adds: onto dqkv and dparams holding G, it leaves G + the
     * gradient (with a rotation too, which must map this call's gradient
     * only). Up to the order of float sums: partial sums may be larger than
     * the gradient, hence the group's largest in the tolerance. */
    Rng r2;
    rng_seed(&r2, 5, 5);
    float *G = malloc(p.nqkv * sizeof *G), *Gp = malloc((np + 1) * sizeof *Gp);
    fill_normal(G, p.nqkv, &r2);
    fill_normal(Gp, np, &r2);
    memcpy(p.dqkv, G, p.nqkv * sizeof *G);
    memcpy(in->dparams, Gp, np * sizeof *Gp);
    CHECK_OK(attention_backward_at(p.dqkv, w, p.qkv, p.att, &in->e, p.scratch, s.B, s.T, s.C, s.H, pos));
    Worst wq = {0}, wp = {0};
    double gmax = 0, gpmax = 0;
    for (size_t i = 0; i < p.nqkv; i++) gmax = fmax(gmax, fabs(g[i]));
    for (size_t i = 0; i < np; i++) gpmax = fmax(gpmax, fabs(gp[i]));
    for (size_t i = 0; i < p.nqkv; i++)
        worst_add(&wq, i, p.dqkv[i], (double)G[i] + g[i], 1e-6 * (fabs(G[i]) + fabs(g[i]) + gmax) + 1e-30);
    for (size_t i = 0; i < np; i++)
        worst_add(&wp, i, in->dparams[i], (double)Gp[i] + gp[i], 1e-6 * (fabs(Gp[i]) + fabs(gp[i]) + gpmax) + 1e-30);
    CHECK_WORST(wq, "%s: backward must add into dqkv", c->label);
    if (np) CHECK_WORST(wp, "%s: backward must add into dparams", c->label);
    free(G), free(Gp), free(g), free(gp);
    pass_free(&p, c->label);
}

/* ---- determinism and causality ------------------------------------------ */

typedef struct {
    float *out, *att, *dqkv, *dparams;
} Snapshot;

static Snapshot snapshot(const Pass *p, const Instance *in) {
    Snapshot sn = {malloc(p->nout * sizeof(float)), malloc(p->natt * sizeof(float)), malloc(p->nqkv * sizeof(float)),
                   malloc((in->e.n_params + 1) * sizeof(float))};
    memcpy(sn.out, p->out, p->nout * sizeof(float));
    memcpy(sn.att, p->att, p->natt * sizeof(float));
    memcpy(sn.dqkv, p->dqkv, p->nqkv * sizeof(float));
    memcpy(sn.dparams, in->dparams, in->e.n_params * sizeof(float));
    return sn;
}

static void snapshot_free(Snapshot *sn) { free(sn->out), free(sn->att), free(sn->dqkv), free(sn->dparams); }

static void check_same_pass(const Case *c, const Pass *p, const Instance *in, const Snapshot *ref, const char *how) {
    CHECK_SAME(p->out, ref->out, p->nout, "%s: out differs %s", c->label, how);
    CHECK_SAME(p->att, ref->att, p->natt, "%s: att differs %s", c->label, how);
    CHECK_SAME(p->dqkv, ref->dqkv, p->nqkv, "%s: dqkv differs %s", c->label, how);
    CHECK_SAME(in->dparams, ref->dparams, in->e.n_params, "%s: dparams differ %s", c->label, how);
}

static void check_determinism(const Case *c, Instance *in, const float *qkv0, const float *w, Positions pos) {
    const Shape s = c->s;
    Pass p = pass_new(&s);
    CHECK_OK(pass_run_at(&p, in, qkv0, w, pos));
    Snapshot first = snapshot(&p, in);
    CHECK_OK(pass_run_at(&p, in, qkv0, w, pos));
    check_same_pass(c, &p, in, &first, "between two identical passes");
    const int saved = pb_max_threads();
    static const int counts[] = {1, 3};
    for (int k = 0; k < 2; k++) {
        set_threads(counts[k]);
        CHECK_OK(pass_run_at(&p, in, qkv0, w, pos));
        char how[64];
        snprintf(how, sizeof how, "with %d OpenMP threads (vs %d)", counts[k], saved);
        check_same_pass(c, &p, in, &first, how);
        /* The tiled pair recomputes what the stored pair keeps: same bits. */
        Pass t = pass_new(&s);
        CHECK_OK(pass_tiled_at(&t, in, qkv0, w, pos));
        CHECK_SAME(t.out, first.out, t.nout, "%s: tiled forward's out %s", c->label, how);
        CHECK_SAME(t.dqkv, first.dqkv, t.nqkv, "%s: tiled backward's dqkv %s", c->label, how);
        CHECK_SAME(in->dparams, first.dparams, in->e.n_params, "%s: tiled backward's dparams %s", c->label, how);
        pass_free(&t, c->label);
        if (pos.map) continue; /* the rows path (evaluation) takes no map */
        Pass r = pass_new(&s);
        CHECK_OK(pass_rows(&r, in, qkv0, pos.pos0));
        CHECK_SAME(r.out, first.out, r.nout, "%s: rows path %s", c->label, how);
        pass_free(&r, c->label);
    }
    set_threads(saved);
    snapshot_free(&first);
    pass_free(&p, c->label);
}

/* Changing q, k and v at position t (every batch row) leaves rows < t of out
 * as they were, bit for bit; a loss on rows < t only gives positions >= t
 * exactly zero gradient. */
static void check_causality(const Case *c, Instance *in, const float *qkv0, const float *w, Rng *rng) {
    const Shape s = c->s;
    if (s.T < 2) return;
    const size_t per_pos = 3 * (size_t)s.C;
    const int t = s.T / 2;
    Pass a = pass_new(&s), b = pass_new(&s);
    float *changed = malloc(a.nqkv * sizeof *changed), *w_early = calloc(a.nout, sizeof *w_early);
    memcpy(changed, qkv0, a.nqkv * sizeof *changed);
    for (int bb = 0; bb < s.B; bb++) fill_normal(changed + ((size_t)bb * s.T + t) * per_pos, per_pos, rng);
    for (int bb = 0; bb < s.B; bb++)
        memcpy(w_early + (size_t)bb * s.T * s.C, w + (size_t)bb * s.T * s.C, (size_t)t * s.C * sizeof(float));
    CHECK_OK(pass_run(&a, in, qkv0, w_early, POS0));
    CHECK_OK(pass_run(&b, in, changed, NULL, POS0));
    for (int bb = 0; bb < s.B; bb++) {
        const size_t row = (size_t)bb * s.T * s.C;
        CHECK_SAME(b.out + row, a.out + row, (size_t)t * s.C,
                   "%s: changing position %d changed an earlier output (batch row %d)", c->label, t, bb);
        const float *late = a.dqkv + ((size_t)bb * s.T + t) * per_pos;
        size_t nonzero = 0;
        for (size_t i = 0; i < (size_t)(s.T - t) * per_pos; i++) nonzero += late[i] != 0.0f;
        CHECK(nonzero == 0, "%s: a loss on rows < %d gave %zu gradients at positions >= %d", c->label, t, nonzero, t);
    }
    free(changed), free(w_early);
    pass_free(&a, c->label);
    pass_free(&b, c->label);
}

/* ---- one case ------------------------------------------------------------- */

typedef struct {
    int cases, refused;
} Tally;

static void run_case(const Case *c, Tally *tally, int verbose) {
    Instance in;
    PbStatus st = make(&in, c, c->s.T + POS0, 11);
    if (st) {
        CHECK(c->set->may_refuse || shape_is_odd(&c->s), "%s: create failed: %s", c->label, pb_errmsg());
        tally->refused++;
        return;
    }
    tally->cases++;
    const Shape s = c->s;
    Rng rng;
    rng_seed(&rng, 99, 2);
    const size_t nqkv = (size_t)s.B * s.T * 3 * s.C, nout = (size_t)s.B * s.T * s.C;
    float *qkv0 = guarded(nqkv), *w = guarded(nout);
    fill_normal(qkv0, nqkv, &rng);
    fill_normal(w, nout, &rng);

    /* Randomized positions (training): each window its own sorted sample
     * of [0, T + POS0), as train.h draws them. */
    int *map = malloc((size_t)s.B * s.T * sizeof *map);
    for (int b = 0; b < s.B; b++) rng_sorted_sample(&rng, s.T, s.T + POS0, map + (size_t)b * s.T);
    const Positions mapped = {0, map};
    check_reference(c, &in, qkv0, positions_from(0));
    check_reference(c, &in, qkv0, positions_from(POS0));
    check_reference(c, &in, qkv0, mapped);
    check_window(c, &in, qkv0, verbose);
    /* Backward and determinism at pos0 = 0, POS0 and a map in turn over
     * the shapes. */
    const int turn = (s.T + s.C) % 3;
    const Positions pos = turn == 0 ? mapped : positions_from(turn == 1 ? POS0 : 0);
    check_gradients(c, &in, qkv0, w, pos, &rng);
    check_determinism(c, &in, qkv0, w, turn == 2 ? positions_from(POS0) : pos);
    check_causality(c, &in, qkv0, w, &rng);
    free(map);

    CHECK(guards_intact(qkv0, nqkv) && guards_intact(w, nout), "%s: input buffer overrun", c->label);
    release(qkv0), release(w);
    unmake(&in, c->label);
}

/* ---- length policy and misuse ------------------------------------------ */

/* Positions past a table: PB_LENGTH from all three entry points, naming the
 * encoding and the table size, with every buffer as it was. The clamp
 * fallback then accepts them. Unbounded encodings take positions near 2^20. */
static void check_length_policy(const EncodingModule *m) {
    static const Setting dflt = {0};
    Case c = {.m = m, .set = &dflt, .s = {1, 8, 12, 3, 0}};
    snprintf(c.label, sizeof c.label, "%s (length policy)", m->name);
    const Shape s = c.s;
    Instance in;
    if (make(&in, &c, s.T, 3)) {
        CHECK(0, "%s: create failed: %s", c.label, pb_errmsg());
        return;
    }
    const int known = encoding_max_positions(&in.e);
    Pass p = pass_new(&s);
    Rng rng;
    rng_seed(&rng, 4, 4);
    float *qkv0 = malloc(p.nqkv * sizeof *qkv0), *dout = malloc(p.nout * sizeof *dout);
    fill_normal(qkv0, p.nqkv, &rng);
    fill_normal(dout, p.nout, &rng);
    if (known > 0) {
        const int pos0 = known - s.T / 2; /* the window runs past the table */
        char want[64];
        snprintf(want, sizeof want, "%s %d", m->length_bound ? "formula bound" : "table size", known);
        memcpy(p.qkv, qkv0, p.nqkv * sizeof *qkv0);
        PbStatus st = attention_forward(p.out, p.att, p.qkv, &in.e, s.B, s.T, s.C, s.H, pos0);
        CHECK(st == PB_LENGTH, "%s: forward past the table gave %s", c.label, pb_status_name(st));
        CHECK(strstr(pb_errmsg(), m->name) && strstr(pb_errmsg(), want),
              "%s: refusal must name the encoding and '%s': '%s'", c.label, want, pb_errmsg());
        pass_scratch(&p, attention_rows_scratch_floats(s.T, pb_max_threads()));
        st = attention_forward_rows(p.out, p.qkv, &in.e, p.scratch, s.B, s.T, s.C, s.H, pos0);
        CHECK(st == PB_LENGTH, "%s: rows path past the table gave %s", c.label, pb_status_name(st));
        pass_scratch(&p, attention_backward_scratch_floats(&in.e, s.B, s.T, s.C, s.H, pb_max_threads()));
        st = attention_backward(p.dqkv, dout, p.qkv, p.att, &in.e, p.scratch, s.B, s.T, s.C, s.H, pos0);
        CHECK(st == PB_LENGTH, "%s: backward past the table gave %s", c.label, pb_status_name(st));
        pass_scratch(&p, attention_tiled_scratch_floats(&in.e, s.B, s.T, s.C, s.H, pb_max_threads()));
        float *stats = guarded((size_t)s.B * s.H * s.T * ATTENTION_STATS);
        st =
            attention_forward_tiled_at(p.out, stats, p.qkv, &in.e, p.scratch, s.B, s.T, s.C, s.H, positions_from(pos0));
        CHECK(st == PB_LENGTH, "%s: tiled forward past the table gave %s", c.label, pb_status_name(st));
        CHECK(guards_intact(stats, (size_t)s.B * s.H * s.T * ATTENTION_STATS), "%s: tiled stats overrun", c.label);
        for (size_t i = 0; i < (size_t)s.B * s.H * s.T * ATTENTION_STATS; i++)
            CHECK(stats[i] == SENTINEL, "%s: a refused tiled forward wrote stats", c.label);
        release(stats);
        size_t touched = 0;
        for (size_t i = 0; i < p.nout; i++) touched += p.out[i] != SENTINEL;
        for (size_t i = 0; i < p.natt; i++) touched += p.att[i] != SENTINEL;
        for (size_t i = 0; i < p.nqkv; i++) touched += p.dqkv[i] != SENTINEL;
        for (size_t i = 0; i < p.nscr; i++) touched += p.scratch[i] != SENTINEL;
        for (size_t i = 0; i < in.e.n_params; i++) touched += in.dparams[i] != 0.0f;
        CHECK(touched == 0, "%s: a refused call wrote %zu floats", c.label, touched);
        CHECK_SAME(p.qkv, qkv0, p.nqkv, "%s: a refused call rotated qkv", c.label);

        in.e.cfg.fallback = LENGTH_FALLBACK_CLAMP;
        CHECK_OK(pass_run(&p, &in, qkv0, dout, pos0));
        CHECK(all_finite(p.out, p.nout) && all_finite(p.dqkv, p.nqkv), "%s: non-finite results with the clamp fallback",
              c.label);
    } else {
        CHECK_OK(pass_run(&p, &in, qkv0, dout, 1 << 20));
        CHECK(all_finite(p.out, p.nout) && all_finite(p.dqkv, p.nqkv), "%s: non-finite results at positions near 2^20",
              c.label);
    }
    free(qkv0), free(dout);
    pass_free(&p, c.label);
    unmake(&in, c.label);
}

/* Shapes the encoding was not made for, and missing buffers: refused before
 * anything is written. */
static void check_misuse(const EncodingModule *m) {
    static const Setting dflt = {0};
    Case c = {.m = m, .set = &dflt, .s = {1, 4, 12, 3, 0}};
    snprintf(c.label, sizeof c.label, "%s (misuse)", m->name);
    Instance in;
    if (make(&in, &c, 64, 3)) {
        CHECK(0, "%s: create failed: %s", c.label, pb_errmsg());
        return;
    }
    const Shape s = c.s;
    Pass p = pass_new(&s);
    pass_scratch(&p, attention_backward_scratch_floats(&in.e, s.B, s.T, s.C, s.H, pb_max_threads()) +
                         attention_rows_scratch_floats(s.T, pb_max_threads()));
    PbStatus st = attention_forward(p.out, p.att, p.qkv, &in.e, s.B, s.T, s.C, 2, 0);
    CHECK(st == PB_RANGE && strstr(pb_errmsg(), m->name), "%s: H 2 with an encoding made for 3 heads gave %s: %s",
          c.label, pb_status_name(st), pb_errmsg());
    st = attention_forward_rows(p.out, p.qkv, &in.e, p.scratch, s.B, s.T, 6, s.H, 0);
    CHECK(st == PB_RANGE, "%s: C 6 with an encoding made for 12 gave %s", c.label, pb_status_name(st));
    st = attention_backward(p.dqkv, p.out, p.qkv, p.att, &in.e, p.scratch, s.B, s.T, s.C, 5, 0);
    CHECK(st == PB_RANGE, "%s: H 5 not dividing C gave %s", c.label, pb_status_name(st));
    st = attention_forward_rows(p.out, p.qkv, &in.e, NULL, s.B, s.T, s.C, s.H, 0);
    CHECK(st == PB_USAGE, "%s: NULL scratch gave %s", c.label, pb_status_name(st));
    st = attention_forward(p.out, NULL, p.qkv, &in.e, s.B, s.T, s.C, s.H, 0);
    CHECK(st == PB_USAGE, "%s: NULL att gave %s", c.label, pb_status_name(st));
    st = attention_forward(p.out, p.att, p.qkv, &in.e, s.B, s.T, s.C, s.H, -1);
    CHECK(st == PB_RANGE, "%s: pos0 -1 gave %s", c.label, pb_status_name(st));
    /* The tiled pair: its stats, its scratch, and the shape checks. */
    float stats[4 * 3 * 2 * ATTENTION_STATS];
    st = attention_forward_tiled_at(p.out, NULL, p.qkv, &in.e, p.scratch, s.B, s.T, s.C, s.H, positions_from(0));
    CHECK(st == PB_USAGE && strstr(pb_errmsg(), "stats"), "%s: tiled forward without stats gave %s", c.label,
          pb_status_name(st));
    st = attention_forward_tiled_at(p.out, stats, p.qkv, &in.e, NULL, s.B, s.T, s.C, s.H, positions_from(0));
    CHECK(st == PB_USAGE && strstr(pb_errmsg(), "attention_tiled_scratch_floats"),
          "%s: tiled forward without scratch gave %s: %s", c.label, pb_status_name(st), pb_errmsg());
    st = attention_backward_tiled_at(p.dqkv, p.out, p.qkv, NULL, &in.e, p.scratch, s.B, s.T, s.C, s.H,
                                     positions_from(0));
    CHECK(st == PB_USAGE && strstr(pb_errmsg(), "stats"), "%s: tiled backward without stats gave %s", c.label,
          pb_status_name(st));
    st =
        attention_backward_tiled_at(p.dqkv, p.out, p.qkv, stats, &in.e, p.scratch, s.B, s.T, s.C, 2, positions_from(0));
    CHECK(st == PB_RANGE, "%s: tiled backward with H 2 gave %s", c.label, pb_status_name(st));
    int bad_map[4] = {0, 5, 5, 9}; /* a window's positions must increase */
    st = attention_forward_at(p.out, p.att, p.qkv, &in.e, s.B, s.T, s.C, s.H, (Positions){0, bad_map});
    CHECK(st == PB_RANGE && strstr(pb_errmsg(), "increase"), "%s: a map repeating a position gave %s: %s", c.label,
          pb_status_name(st), pb_errmsg());
    size_t touched = 0;
    for (size_t i = 0; i < p.nout; i++) touched += p.out[i] != SENTINEL;
    for (size_t i = 0; i < p.nqkv; i++) touched += (p.qkv[i] != SENTINEL) + (p.dqkv[i] != SENTINEL);
    for (size_t i = 0; i < p.natt; i++) touched += p.att[i] != SENTINEL;
    CHECK(touched == 0, "%s: refused calls wrote %zu floats", c.label, touched);
    /* T = 0 and B = 0 are empty, not errors. */
    CHECK_OK(attention_forward(p.out, p.att, p.qkv, &in.e, 0, s.T, s.C, s.H, 0));
    CHECK_OK(attention_forward(p.out, p.att, p.qkv, &in.e, s.B, 0, s.C, s.H, 0));
    pass_free(&p, c.label);
    unmake(&in, c.label);
}

int main(void) {
    Tally tally = {0};
    for (size_t i = 0; encoding_registry[i]; i++) {
        const EncodingModule *m = encoding_registry[i];
        Setting sets[16];
        const int ns = settings_of(m, sets, 16);
        for (int k = 0; k < ns; k++)
            for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
                Case c = {.m = m, .set = &sets[k], .s = shapes[si]};
                snprintf(c.label, sizeof c.label, "%s[%s%s%s] B%d T%d C%d H%d", m->name,
                         sets[k].variant ? sets[k].variant : "default", sets[k].knobs[0] ? "; " : "", sets[k].knobs,
                         c.s.B, c.s.T, c.s.C, c.s.H);
                run_case(&c, &tally, si == sizeof shapes / sizeof shapes[0] - 1);
            }
        check_length_policy(m);
        check_misuse(m);
        printf("checked %s\n", m->name);
    }
    printf("%d cases run, %d refused at setup (odd head dims or knobs an encoding rejects), "
           "%d OpenMP threads\n",
           tally.cases, tally.refused, pb_max_threads());
    return check_exit_code("attention");
}
