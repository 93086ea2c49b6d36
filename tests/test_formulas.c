/* test_formulas.c: the published formulas, computed here independently of
 * encodings/ (own double-precision code from the papers), against what
 * encoding_export emits and what the hooks compute:
 *   sinusoidal  Vaswani et al. 2017 sec 3.5 (interleaved) and fairseq /
 *               tensor2tensor (concat): PE[p, .] for p up to 4096 and 2^20
 *   rope        RoFormer (Su et al. 2021) angles theta[p,k] = p base^(-2k/R)
 *               and the rotation of random q, k in both pairings (RoFormer
 *               (2k, 2k+1); GPT-NeoX (k, k+R/2)), with partial rotation
 *   relative_bias  T5's bucket function (Mesh-TensorFlow / HF
 *               _relative_position_bucket) for rp in -300..300, causal and
 *               bidirectional, several num_buckets / max_distance
 *   alibi       slopes of Press et al. 2022 get_slopes(n) for 1..16 heads by
 *               the paper's recursion, the literal 12-head values, and the
 *               bias -m (i - j) (causal) and -m |i - j| (symmetric)
 * Shapes: T positions, C channels, H heads, D = C/H, R rotated dims.
 *
 * Tolerances (float32 results against double references):
 *   sin/cos    |a - b| <= 1e-6: the implementations form angles in double and
 *              round sin/cos once (error 2^-25 = 3e-8); 1e-6 is ~16 ulp at 1.0.
 *              A float32 angle at p = 4096 is off by ~p 2^-24 = 2.4e-4 rad,
 *              which this catches; so we test p up to 4096 and 2^20.
 *   angles     relative 1e-6 (one rounding to float is 6e-8).
 *   rotations  |a - b| <= 1e-6 (|x_a| + |x_b|) + 1e-6: a few float roundings
 *              of products of size |x|, plus the sin/cos rounding above.
 *   slopes, ALiBi bias  relative 1e-6 (float slope, one more rounding).
 *   buckets    exact.
 * Every comparison keeps its worst element and prints it on failure.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../encodings/encoding.h"
#include "capture_sink.h"
#include "check.h"

/* ---- worst-element comparison ----------------------------------------- */

typedef struct {
    double ratio, got, want, tol;
    int at[3];
    size_t n;
} Worst;

static void worst_add(Worst *w, double got, double want, double tol, int a, int b, int c) {
    double r = fabs(got - want) / tol;
    if (isnan(r)) r = INFINITY;
    if (w->n++ == 0 || r > w->ratio) *w = (Worst){r, got, want, tol, {a, b, c}, w->n};
}

#define CHECK_WORST(w, fmt, ...) \
    CHECK((w).n > 0 && (w).ratio <= 1.0, \
          fmt ": worst at [%d,%d,%d] (of %zu compared): got %.9g, want %.9g, |diff| %.3g " \
              "> tol %.3g", \
          __VA_ARGS__, (w).at[0], (w).at[1], (w).at[2], (w).n, (w).got, (w).want, fabs((w).got - (w).want), (w).tol)

/* ---- the capturing TensorSink (capture_sink.h) ------------------------ */

/* Exports e for positions 0..T-1 into cap (emptied first). */
static PbStatus capture_export(Capture *cap, const Encoding *e, int T) {
    capture_free(cap);
    capture_init(cap);
    return encoding_export(e, T, &cap->sink);
}

/* The tensor `name` if it has the given rank and dims (else a failed check). */
static const Captured *expect_tensor(const Capture *cap, const char *what, const char *name, int is_int, int rank,
                                     const int *dims) {
    for (int i = 0; i < cap->n; i++) {
        const Captured *t = &cap->t[i];
        if (strcmp(t->name, name)) continue;
        int ok = t->is_int == is_int && t->rank == rank;
        for (int d = 0; ok && d < rank; d++) ok = t->dims[d] == dims[d];
        CHECK(ok, "%s: exported '%s' is %s rank %d [%d,%d,...], want %s rank %d [%d,%d,...]", what, name,
              t->is_int ? "int" : "float", t->rank, t->dims[0], t->rank > 1 ? t->dims[1] : 0, is_int ? "int" : "float",
              rank, dims[0], rank > 1 ? dims[1] : 0);
        return ok ? t : NULL;
    }
    CHECK(0, "%s: export has no '%s'", what, name);
    return NULL;
}

/* ---- instances --------------------------------------------------------- */

/* A created and bound instance (parameters zeroed, then initialised). */
typedef struct {
    Encoding e;
    float *params, *dparams;
    int ok;
} Inst;

static Inst inst_new(const char *name, const char *variant, int C, int H, const char *knobs) {
    Inst in = {0};
    const EncodingModule *m = encoding_find(name);
    CHECK(m != NULL, "encoding '%s' is not registered", name);
    if (!m) return in;
    EncodingConfig cfg = {.variant = variant, .dim = C, .heads = H, .max_len = 1, .knobs = knobs};
    PbStatus st = encoding_create(&in.e, m, &cfg);
    CHECK(st == PB_OK, "%s[%s, %s] C%d H%d: create failed: %s", name, variant, knobs ? knobs : "", C, H, pb_errmsg());
    if (st) return in;
    in.params = calloc(in.e.n_params + 1, sizeof(float));
    in.dparams = calloc(in.e.n_params + 1, sizeof(float));
    encoding_bind(&in.e, in.params, in.dparams);
    Rng rng;
    rng_seed(&rng, 5, 0);
    encoding_init_params(&in.e, &rng);
    in.ok = 1;
    return in;
}

static void inst_free(Inst *in) {
    if (in->ok) encoding_destroy(&in->e);
    free(in->params);
    free(in->dparams);
}

/* ---- sinusoidal -------------------------------------------------------- */

/* PE[p, c] of Vaswani et al. sec 3.5 (interleaved: sin at 2i, cos at 2i+1,
 * w_i = base^(-2i/C)) or of fairseq / tensor2tensor (concat: sin in the first
 * half, cos in the second, w_i = base^(-i/(C/2 - 1)), w_0 = 1 when C = 2). */
static double sinusoid_ref(int concat, double base, int C, double p, int c) {
    if (!concat) {
        const int i = c / 2;
        const double angle = p * pow(base, -2.0 * i / C);
        return c % 2 ? cos(angle) : sin(angle);
    }
    const int half = C / 2, i = c % half;
    const double w = half == 1 ? 1.0 : exp(-log(base) * i / (half - 1));
    return c < half ? sin(p * w) : cos(p * w);
}

static void test_sinusoidal(void) {
    static const char *const variants[] = {"interleaved", "concat"};
    static const int dims[] = {2, 4, 6, 16, 64};
    static const double bases[] = {10000, 500};
    enum { T = 4097 };
    int cases = 0;
    for (int v = 0; v < 2; v++)
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
            for (int bi = 0; bi < 2; bi++) {
                const int C = dims[di];
                char knobs[32], what[96];
                snprintf(knobs, sizeof knobs, "base=%g", bases[bi]);
                snprintf(what, sizeof what, "sinusoidal[%s, %s] C%d", variants[v], knobs, C);
                Inst in = inst_new("sinusoidal", variants[v], C, 1, knobs);
                if (!in.ok) continue;
                cases++;
                /* The exported table, positions 0..4096. */
                Capture cap = {0};
                CHECK_OK(capture_export(&cap, &in.e, T));
                const Captured *pe = expect_tensor(&cap, what, "pos_embedding", 0, 2, (int[]){T, C});
                if (pe) {
                    Worst w = {0};
                    for (int p = 0; p < T; p++)
                        for (int c = 0; c < C; c++)
                            worst_add(&w, pe->f[(size_t)p * C + c], sinusoid_ref(v, bases[bi], C, p, c), 1e-6, p, c, 0);
                    CHECK_WORST(w, "%s: exported pos_embedding vs the formula", what);
                }
                capture_free(&cap);

                /* The hook adds PE at absolute positions pos0.. to random x, B = 2. */
                static const int starts[] = {0, 4090, 1 << 20};
                for (int si = 0; si < 3; si++) {
                    enum { B = 2, TH = 7 };
                    const int pos0 = starts[si];
                    float *x = malloc(sizeof(float) * B * TH * C), *x0 = malloc(sizeof(float) * B * TH * C);
                    Rng rng;
                    rng_seed(&rng, 17, (uint64_t)si);
                    for (int i = 0; i < B * TH * C; i++) x0[i] = x[i] = rng_normal(&rng);
                    CHECK_OK(encoding_embed_forward(&in.e, x, B, TH, pos0));
                    Worst w = {0};
                    for (int b = 0; b < B; b++)
                        for (int t = 0; t < TH; t++)
                            for (int c = 0; c < C; c++) {
                                const size_t at = ((size_t)b * TH + t) * C + c;
                                worst_add(&w, x[at], x0[at] + sinusoid_ref(v, bases[bi], C, (double)pos0 + t, c),
                                          1e-6 + 1e-7 * fabs(x0[at]), b, pos0 + t, c);
                            }
                    CHECK_WORST(w, "%s: embed_forward at pos0 %d vs x + the formula", what, pos0);
                    free(x), free(x0);
                }
                inst_free(&in);
            }
    printf("sinusoidal: %d configurations against Vaswani / fairseq\n", cases);
}

/* ---- rope -------------------------------------------------------------- */

/* Rotated dims per head: R = 2 floor(fraction D / 2). */
static int rope_rotated(int D, double fraction) { return 2 * (int)floor(fraction * D / 2); }

/* One head x[0..D) at position p turned by sign * theta[p,k], theta[p,k] =
 * p base^(-2k/R): pairs (2k, 2k+1) (RoFormer) or (k, k + R/2) (GPT-NeoX);
 * dims R..D-1 pass through. out in double. */
static void rope_ref(int half, double base, int R, int D, double p, double sign, const float *x, double *out) {
    for (int d = 0; d < D; d++) out[d] = x[d];
    for (int k = 0; k < R / 2; k++) {
        const double th = sign * p * pow(base, -2.0 * k / R);
        const int a = half ? k : 2 * k, b = half ? k + R / 2 : 2 * k + 1;
        out[a] = x[a] * cos(th) - x[b] * sin(th);
        out[b] = x[a] * sin(th) + x[b] * cos(th);
    }
}

/* Partner of dim d in its pair (for the tolerance), or d if unrotated. */
static int rope_partner(int half, int R, int d) {
    if (d >= R) return d;
    if (half) return d < R / 2 ? d + R / 2 : d - R / 2;
    return d ^ 1;
}

static void test_rope(void) {
    static const char *const variants[] = {"interleaved", "half"};
    static const struct {
        int D, H;
        double fraction, base;
    } cfgs[] = {
        {2, 1, 1.0, 10000}, {8, 2, 1.0, 10000}, {12, 3, 0.5, 10000},  {16, 2, 0.3, 10000},
        {6, 6, 1.0, 500},   {16, 3, 1.0, 1e6},  {10, 2, 0.75, 10000},
    };
    int cases = 0;
    for (int v = 0; v < 2; v++)
        for (size_t ci = 0; ci < sizeof cfgs / sizeof cfgs[0]; ci++) {
            const int D = cfgs[ci].D, H = cfgs[ci].H, C = D * H;
            const int R = rope_rotated(D, cfgs[ci].fraction);
            const double base = cfgs[ci].base;
            char knobs[64], what[128];
            snprintf(knobs, sizeof knobs, "base=%g,fraction=%g", base, cfgs[ci].fraction);
            snprintf(what, sizeof what, "rope[%s, %s] D%d H%d (R=%d)", variants[v], knobs, D, H, R);
            Inst in = inst_new("rope", variants[v], C, H, knobs);
            if (!in.ok) continue;
            cases++;

            /* Exported angles [T, R/2] = p base^(-2k/R), p up to 4096. */
            enum { T = 4097 };
            Capture cap = {0};
            CHECK_OK(capture_export(&cap, &in.e, T));
            const Captured *ang = expect_tensor(&cap, what, "angle", 0, 2, (int[]){T, R / 2});
            if (ang) {
                Worst w = {0};
                for (int p = 0; p < T; p++)
                    for (int k = 0; k < R / 2; k++) {
                        const double want = p * pow(base, -2.0 * k / R);
                        worst_add(&w, ang->f[(size_t)p * (R / 2) + k], want, 1e-6 * want + 1e-30, p, k, 0);
                    }
                CHECK_WORST(w, "%s: exported angle vs p*base^(-2k/R)", what);
            }
            capture_free(&cap);

            /* Random q, k in a fused [B,T,3C+2] buffer at positions pos0..:
             * forward turns by +theta, backward by -theta (the transpose). */
            static const int starts[] = {0, 4090, 1 << 20};
            enum { B = 2, TH = 5 };
            const int ld = 3 * C + 2;
            const size_t n = (size_t)B * TH * ld;
            float *buf = malloc(n * sizeof *buf), *orig = malloc(n * sizeof *orig);
            double *ref = malloc((size_t)D * sizeof *ref);
            for (int si = 0; si < 3; si++)
                for (int dir = 0; dir < 2; dir++) {
                    const int pos0 = starts[si];
                    Rng rng;
                    rng_seed(&rng, 23, (uint64_t)(si * 2 + dir));
                    for (size_t i = 0; i < n; i++) orig[i] = buf[i] = rng_normal(&rng);
                    if (dir == 0) in.e.module->rotate_forward(&in.e, buf, buf + C, ld, B, TH, pos0);
                    else in.e.module->rotate_backward(&in.e, buf, buf + C, ld, B, TH, pos0);
                    Worst w = {0};
                    size_t v_changed = 0;
                    for (int b = 0; b < B; b++)
                        for (int t = 0; t < TH; t++) {
                            const size_t row = ((size_t)b * TH + t) * ld;
                            for (int part = 0; part < 2; part++) /* q, k */
                                for (int h = 0; h < H; h++) {
                                    const size_t off = row + (size_t)part * C + (size_t)h * D;
                                    rope_ref(v, base, R, D, (double)pos0 + t, dir ? -1.0 : 1.0, orig + off, ref);
                                    for (int d = 0; d < D; d++) {
                                        const int e2 = rope_partner(v, R, d);
                                        const double tol = 1e-6 * (fabs(orig[off + d]) + fabs(orig[off + e2])) + 1e-6;
                                        worst_add(&w, buf[off + d], ref[d], d < R ? tol : 0x1p-60, pos0 + t, h,
                                                  part * D + d);
                                    }
                                }
                            for (int c = 2 * C; c < ld; c++) v_changed += buf[row + c] != orig[row + c];
                        }
                    CHECK_WORST(w, "%s: %s at pos0 %d vs the rotation [pos, head, q:d | k:D+d]", what,
                                dir ? "rotate_backward (-theta)" : "rotate_forward", pos0);
                    CHECK(v_changed == 0, "%s: rotate changed %zu v/padding floats", what, v_changed);
                }
            free(buf), free(orig), free(ref);
            inst_free(&in);
        }
    printf("rope: %d configurations against RoFormer / GPT-NeoX\n", cases);
}

/* ---- relative_bias (T5) ------------------------------------------------ */

/* T5's bucket of rp = key - query, written from Hugging Face's
 * _relative_position_bucket (Mesh-TensorFlow's): exact for short distances,
 * log-spaced to max_distance, float32 arithmetic as torch evaluates it. */
static int t5_bucket(int rp, int bidirectional, int num_buckets, int max_distance) {
    int nb = num_buckets, ret = 0, n;
    if (bidirectional) {
        nb /= 2;
        if (rp > 0) ret += nb;
        n = abs(rp);
    } else {
        n = rp < 0 ? -rp : 0;
    }
    const int max_exact = nb / 2;
    if (n < max_exact) return ret + n;
    const float scaled =
        logf((float)n / (float)max_exact) / (float)log((double)max_distance / max_exact) * (float)(nb - max_exact);
    const int large = max_exact + (int)scaled;
    return ret + (large < nb - 1 ? large : nb - 1);
}

/* Spot values of HF T5's defaults (32 buckets, max_distance 128), worked by
 * hand from the definition, so the reference above is itself checked. */
static void test_t5_reference(void) {
    static const struct {
        int rp, bidirectional, bucket;
    } spots[] = {
        {0, 1, 0},     {-1, 1, 1},     {1, 1, 17},   {-7, 1, 7},   {7, 1, 23},   {-8, 1, 8},
        {-128, 1, 15}, {500, 1, 31},   {5, 0, 0},    {-15, 0, 15}, {-16, 0, 16}, {-127, 0, 31},
        {-128, 0, 31}, {-1000, 0, 31}, {-32, 0, 21}, {-12, 1, 9},
    };
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        int got = t5_bucket(spots[i].rp, spots[i].bidirectional, 32, 128);
        CHECK(got == spots[i].bucket, "reference T5 bucket(rp=%d, %s) = %d, hand-worked %d", spots[i].rp,
              spots[i].bidirectional ? "bidirectional" : "causal", got, spots[i].bucket);
    }
}

static void test_relative_bias(void) {
    static const char *const variants[] = {"causal", "bidirectional"};
    static const struct {
        int buckets, max_distance;
    } cfgs[] = {{32, 128}, {8, 20}, {16, 16}, {33, 100}, {64, 300}, {4, 3}, {128, 1000}, {2, 2}};
    enum { T = 301 }; /* rp = j - i covers -300..300 */
    int cases = 0;
    for (int v = 0; v < 2; v++)
        for (size_t ci = 0; ci < sizeof cfgs / sizeof cfgs[0]; ci++) {
            const int nb = cfgs[ci].buckets, md = cfgs[ci].max_distance, H = 3;
            if (v == 1 && nb < 4) continue; /* degenerate: checked below */
            char knobs[64], what[128];
            snprintf(knobs, sizeof knobs, "buckets=%d,max_distance=%d", nb, md);
            snprintf(what, sizeof what, "relative_bias[%s, %s]", variants[v], knobs);
            Inst in = inst_new("relative_bias", variants[v], 2 * H, H, knobs);
            if (!in.ok) continue;
            cases++;
            CHECK(in.e.n_params == (size_t)nb * H, "%s: %zu parameters, want buckets*H = %d", what, in.e.n_params,
                  nb * H);

            /* Exported buckets [T, T] (query i, key j) = bucket(j - i). */
            Capture cap = {0};
            CHECK_OK(capture_export(&cap, &in.e, T));
            const Captured *bk = expect_tensor(&cap, what, "bucket", 1, 2, (int[]){T, T});
            if (bk) {
                size_t wrong = 0;
                int wi = 0, wj = 0;
                for (int i = 0; i < T; i++)
                    for (int j = 0; j < T; j++)
                        if (bk->i[(size_t)i * T + j] != t5_bucket(j - i, v, nb, md) && !wrong++) wi = i, wj = j;
                CHECK(wrong == 0,
                      "%s: %zu of %d buckets differ; first at query %d key %d (rp %d): got %d, "
                      "want %d",
                      what, wrong, T * T, wi, wj, wj - wi, bk->i[(size_t)wi * T + wj], t5_bucket(wj - wi, v, nb, md));
            }
            capture_free(&cap);

            /* The hooks: table W [buckets, H] (HF's nn.Embedding layout) set to
             * distinct exact values; bias(h, i, j) = W[bucket(j - i), h], for
             * queries near 5000 and 2^20; backward adds dlogits into W's row. */
            for (size_t k = 0; k < in.e.n_params; k++) in.params[k] = (float)(k + 1);
            static const int queries[] = {5000, 1 << 20};
            enum { SPAN = 300 };
            float row[2 * SPAN + 1];
            for (int qi = 0; qi < 2; qi++)
                for (int h = 0; h < H; h++) {
                    const int i = queries[qi], j0 = i - SPAN, j1 = i + SPAN + 1;
                    memset(row, 0, sizeof row);
                    in.e.module->bias_forward(&in.e, row, h, i, j0, j1);
                    size_t wrong = 0;
                    int wj = 0;
                    for (int j = j0; j < j1; j++) {
                        const float want = (float)(t5_bucket(j - i, v, nb, md) * H + h + 1);
                        if (row[j - j0] != want && !wrong++) wj = j;
                    }
                    CHECK(wrong == 0,
                          "%s: bias_forward(h %d, i %d): %zu keys differ, first j %d: "
                          "got %g, want W[bucket %d, h] = %g",
                          what, h, i, wrong, wj, row[wj - j0], t5_bucket(wj - i, v, nb, md),
                          (double)(t5_bucket(wj - i, v, nb, md) * H + h + 1));

                    for (int j = 0; j < 2 * SPAN + 1; j++) row[j] = 1.0f;
                    memset(in.dparams, 0, in.e.n_params * sizeof(float));
                    in.e.module->bias_backward(&in.e, row, h, i, j0, j1);
                    float *want = calloc(in.e.n_params, sizeof *want);
                    for (int j = j0; j < j1; j++) want[(size_t)t5_bucket(j - i, v, nb, md) * H + h] += 1.0f;
                    CHECK(memcmp(want, in.dparams, in.e.n_params * sizeof(float)) == 0,
                          "%s: bias_backward(h %d, i %d) does not add each key's dlogit into "
                          "W[bucket(j - i), h]",
                          what, h, i);
                    free(want);

                    /* Random segments [j0, j1) of the same row: keys all before,
                     * all after, or across the query; some empty. Each into a
                     * buffer with a sentinel on both sides. */
                    Rng rng;
                    rng_seed(&rng, 41, (uint64_t)(qi * H + h));
                    size_t seg_wrong = 0, seg_overrun = 0;
                    for (int r = 0; r < 60; r++) {
                        int a = i - SPAN + (int)rng_below(&rng, 2 * SPAN + 2);
                        int b = i - SPAN + (int)rng_below(&rng, 2 * SPAN + 2);
                        const int s0 = a < b ? a : b, s1 = a < b ? b : a;
                        float seg[2 * SPAN + 4];
                        for (int j = 0; j < 2 * SPAN + 4; j++) seg[j] = -777.0f;
                        for (int j = s0; j < s1; j++) seg[1 + j - s0] = 0.0f;
                        in.e.module->bias_forward(&in.e, seg + 1, h, i, s0, s1);
                        seg_overrun += seg[0] != -777.0f || seg[1 + s1 - s0] != -777.0f;
                        for (int j = s0; j < s1; j++)
                            seg_wrong += seg[1 + j - s0] != (float)(t5_bucket(j - i, v, nb, md) * H + h + 1);
                    }
                    CHECK(seg_wrong == 0 && seg_overrun == 0,
                          "%s: random row segments of (h %d, i %d): %zu keys wrong, %zu overruns", what, h, i,
                          seg_wrong, seg_overrun);
                }
            inst_free(&in);
        }
    printf("relative_bias: %d configurations against HF T5's bucket function\n", cases);

    /* Configurations the definition cannot evaluate or that the spec forbids. */
    static const struct {
        const char *variant, *knobs, *why;
    } bad[] = {
        {"bidirectional", "buckets=2,max_distance=10", "max_exact = 0 divides by zero"},
        {"bidirectional", "buckets=3,max_distance=10", "max_exact = 0 divides by zero"},
        {"causal", "buckets=32,max_distance=16", "max_distance <= max_exact (16)"},
        {"bidirectional", "buckets=32,max_distance=8", "max_distance <= max_exact (8)"},
        {"causal", "buckets=8.5", "buckets is not a whole number"},
        {"causal", "max_distance=20.5", "max_distance is not a whole number"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        Encoding e;
        EncodingConfig cfg = {.variant = bad[k].variant, .dim = 4, .heads = 2, .knobs = bad[k].knobs};
        pb_clear_error();
        PbStatus st = encoding_create(&e, encoding_find("relative_bias"), &cfg);
        CHECK(st != PB_OK && strstr(pb_errmsg(), "relative_bias"),
              "relative_bias[%s, %s] must be refused (%s) with a message naming the encoding; "
              "got %s: '%s'",
              bad[k].variant, bad[k].knobs, bad[k].why, pb_status_name(st), pb_errmsg());
        if (!st) encoding_destroy(&e);
    }
    static const struct {
        const char *variant, *knobs;
    } good[] = {{"causal", "buckets=32,max_distance=17"}, {"bidirectional", "buckets=32,max_distance=9"}};
    for (size_t k = 0; k < 2; k++) {
        Inst in = inst_new("relative_bias", good[k].variant, 4, 2, good[k].knobs);
        inst_free(&in);
    }
}

/* ---- alibi ------------------------------------------------------------- */

/* get_slopes(n) of Press et al. (the paper's code), by its recursion. */
static void alibi_slopes_ref(int n, double *out) {
    const double l = log2((double)n);
    if (l == floor(l)) {
        const double start = pow(2.0, -pow(2.0, -(l - 3)));
        for (int i = 0; i < n; i++) out[i] = start * pow(start, i);
        return;
    }
    const int c = 1 << (int)floor(l);
    double *twice = malloc(sizeof(double) * 2 * c);
    alibi_slopes_ref(c, out);
    alibi_slopes_ref(2 * c, twice);
    for (int i = 0; i < n - c; i++) out[c + i] = twice[2 * i]; /* [0::2][:n-c] */
    free(twice);
}

static void test_alibi(void) {
    /* The reference itself against the paper's 12-head values. */
    static const double twelve[12] = {0.5,       0.25,       0.125,  0.0625, 0.03125, 0.015625,
                                      0.0078125, 0.00390625, 0.7071, 0.3536, 0.1768,  0.0884};
    double ref[16];
    alibi_slopes_ref(12, ref);
    Worst w12 = {0};
    for (int h = 0; h < 12; h++) worst_add(&w12, ref[h], twelve[h], 1e-4, h, 0, 0);
    CHECK_WORST(w12, "%s", "reference get_slopes(12) vs the paper's values");

    static const char *const variants[] = {"causal", "symmetric"};
    enum { T = 64 };
    int cases = 0;
    for (int v = 0; v < 2; v++)
        for (int H = 1; H <= 16; H++) {
            char what[64];
            snprintf(what, sizeof what, "alibi[%s] H%d", variants[v], H);
            Inst in = inst_new("alibi", variants[v], 2 * H, H, NULL);
            if (!in.ok) continue;
            cases++;
            CHECK(in.e.n_params == 0, "%s: %zu parameters, want none", what, in.e.n_params);
            alibi_slopes_ref(H, ref);
            Capture cap = {0};
            CHECK_OK(capture_export(&cap, &in.e, T));
            const Captured *sl = expect_tensor(&cap, what, "slopes", 0, 1, (int[]){H});
            if (sl) {
                Worst w = {0};
                for (int h = 0; h < H; h++) worst_add(&w, sl->f[h], ref[h], 1e-6 * ref[h], h, 0, 0);
                CHECK_WORST(w, "%s: exported slopes vs get_slopes(%d)", what, H);
                if (H == 12) {
                    Worst wl = {0};
                    for (int h = 0; h < H; h++) worst_add(&wl, sl->f[h], twelve[h], 1e-4, h, 0, 0);
                    CHECK_WORST(wl, "%s: exported slopes vs the paper's 12-head values", what);
                }
            }
            /* bias [H, T, T] = -m_h (i - j) (causal, also j > i) or -m_h |i - j|. */
            const Captured *bias = expect_tensor(&cap, what, "bias", 0, 3, (int[]){H, T, T});
            if (bias) {
                Worst w = {0};
                for (int h = 0; h < H; h++)
                    for (int i = 0; i < T; i++)
                        for (int j = 0; j < T; j++) {
                            const double d = v ? fabs((double)(i - j)) : (double)(i - j);
                            const double want = -ref[h] * d;
                            worst_add(&w, bias->f[((size_t)h * T + i) * T + j], want, 1e-6 * fabs(want) + 1e-30, h, i,
                                      j);
                        }
                CHECK_WORST(w, "%s: exported bias vs -m (i - j) [h, i, j]", what);
            }
            capture_free(&cap);

            /* The hook at queries near 4096, 2^20 and 2^24 (keys on both sides,
             * and keys 2^24 away), added to random logits. */
            static const struct {
                int i, j0;
            } rows[] = {{4096, 4096 - 62},
                        {1 << 20, (1 << 20) - 62},
                        {(1 << 24) + 100, (1 << 24) + 38},
                        {(1 << 24) + 100, 0},
                        {(1 << 24) + 100, 1 << 24}};
            enum { SPAN = 70 };
            float row[2 * SPAN], lg[2 * SPAN];
            Rng rng;
            rng_seed(&rng, 31, (uint64_t)H);
            for (size_t qi = 0; qi < sizeof rows / sizeof rows[0]; qi++)
                for (int h = 0; h < H; h++) {
                    const int i = rows[qi].i, j0 = rows[qi].j0, j1 = j0 + 2 * SPAN;
                    for (int j = 0; j < 2 * SPAN; j++) row[j] = lg[j] = rng_normal(&rng);
                    in.e.module->bias_forward(&in.e, row, h, i, j0, j1);
                    Worst w = {0};
                    for (int j = j0; j < j1; j++) {
                        const double d = v ? fabs((double)(i - j)) : (double)(i - j);
                        const double want = lg[j - j0] + -ref[h] * d;
                        worst_add(&w, row[j - j0], want, 1e-6 * fabs(ref[h] * d) + 0x1p-23 * fabs(want) + 1e-30, h, i,
                                  j);
                    }
                    CHECK_WORST(w, "%s: bias_forward at query %d, keys %d.. vs logits - m (i - j) [h, i, j]", what, i,
                                j0);
                }
            inst_free(&in);
        }
    printf("alibi: %d configurations against get_slopes of Press et al.\n", cases);
}

int main(void) {
    test_t5_reference();
    test_sinusoidal();
    test_rope();
    test_relative_bias();
    test_alibi();
    return check_exit_code("formulas");
}
