/* test_reference.c: every registered encoding and the probe transformer
 * against an independent PyTorch implementation written from the papers'
 * formulas (tests/reference/make_reference.py), through committed fixtures
 * (tests/reference/fixtures/<encoding>.h5; layout in the script's header).
 *
 * Table-driven over the registry: each registered encoding must have a
 * fixture file, whose hook cases must cover every variant of the module.
 *   hooks  for each case: the C module must act through exactly the hooks
 *          the formula does; then embed's output, rotate_qk's outputs and
 *          input gradients, attn_bias's rows (queries pos0..pos0+T-1, keys
 *          0..K-1), score's rows (the same positions, per batch row, with
 *          the fixture's queries and keys) and its gradients w.r.t. them,
 *          and the parameters' gradient of the scalar loss
 *          sum(out * dout) + ... against the reference.
 *   model  for each configuration (including the model's options: untied
 *          head, embed_scale, targets left unscored by the trainer's
 *          mask_targets): the initial weights loaded into the
 *          model's tensor table, one training forward (per-token losses,
 *          mean loss, logits) and backward (every parameter tensor's
 *          gradient), then 10 steps of the real trainer (harness/train/train.c:
 *          clipping, warmup + cosine schedule, AdamW with its decay groups),
 *          whose losses are compared step by step. The token stream holds
 *          exactly one batch of B windows, so every step sees the same
 *          batch whatever order the loader shuffles it into.
 *
 * Shapes: B batch, T positions (queries), K keys, C channels, H heads,
 * D = C / H, V vocabulary.
 *
 * Relative error, element by element: |C - ref| / max(|ref|, FLOOR * m),
 * m the tensor's largest |ref|: elements below 1% of the tensor's scale are
 * measured against that 1% (a near-zero element of a float32 sum carries
 * the rounding of its large terms, not of itself). Tolerances, per kind of
 * result (the observed worst is printed at the end; C computes in float32,
 * the reference in float64):
 *   hook outputs, hook gradients       1e-5   (a few float roundings)
 *   model forward (losses, logits)     2e-4   (two layers of float32 sums)
 *   model gradients                    1e-3   (longer float32 chains; a
 *                                              wrong formula is off by >1e-2)
 *   training losses (10 AdamW steps)   1e-5   (means: rounding averages out)
 * Logits are compared centered per row (C keeps only probabilities, and
 * softmax fixes logits up to a constant per row): log p - mean(log p)
 * against logits - mean(logits). NaN reference elements (bias entries a
 * causal formula leaves undefined: keys after the query, which the mask
 * hides; losses of unscored targets) are skipped. On failure the worst element is printed with its
 * index, both values and its relative error, and the process exits 1.
 *
 * Usage: test_reference [-v] FIXTURE_DIR     (-v: every comparison's worst element)
 */
#include <float.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../encodings/encoding.h"
#include "../../harness/results/h5io.h"
#include "../../harness/model/model.h"
#include "../../harness/train/train.h"
#include "../buffers.h"
#include "../capture_sink.h"
#include "../check.h"

#define FLOOR 1e-2

static int verbose; /* -v: every comparison's worst element */

typedef enum { HOOK_OUT, HOOK_GRAD, MODEL_FWD, MODEL_GRAD, TRAIN_LOSS, N_KINDS } Kind;

static struct {
    const char *name;
    double rtol;
    double worst; /* observed, over every comparison of this kind */
    size_t elements;
} kinds[N_KINDS] = {
    [HOOK_OUT] = {"hook outputs", 1e-5},      [HOOK_GRAD] = {"hook gradients", 1e-5},
    [MODEL_FWD] = {"model forward", 2e-4},    [MODEL_GRAD] = {"model gradients", 1e-3},
    [TRAIN_LOSS] = {"training losses", 1e-5},
};

/* ---- comparison ---------------------------------------------------------------- */

static void format_index(char *out, size_t cap, size_t i, int rank, const int *dims) {
    size_t idx[8];
    for (int d = rank - 1; d >= 0; d--) {
        idx[d] = dims[d] > 0 ? i % (size_t)dims[d] : 0;
        i = dims[d] > 0 ? i / (size_t)dims[d] : 0;
    }
    size_t n = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < rank && n < cap; d++) n += (size_t)snprintf(out + n, cap - n, d ? ",%zu" : "%zu", idx[d]);
    if (n < cap) snprintf(out + n, cap - n, "]");
}

/* got (C, as double) against want (reference) over n elements of shape dims. */
static void compare(Kind kind, const char *what, const char *tensor, const double *got, const double *want, size_t n,
                    int rank, const int *dims) {
    double scale = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(want[i])) scale = fmax(scale, fabs(want[i]));
    const double floor_abs = fmax(FLOOR * scale, DBL_MIN);
    double worst = -1;
    size_t at = 0, bad = 0, compared = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(want[i])) continue;
        compared++;
        double err = fabs(got[i] - want[i]) / fmax(fabs(want[i]), floor_abs);
        if (isnan(err)) err = INFINITY;
        if (err > kinds[kind].rtol) bad++;
        if (err > worst) worst = err, at = i;
    }
    kinds[kind].worst = fmax(kinds[kind].worst, worst);
    kinds[kind].elements += compared;
    char idx[96];
    format_index(idx, sizeof idx, at, rank, dims);
    if (verbose)
        printf("    %-44s %-26s worst %s%s %.3g (C %.9g, reference %.9g)\n", what, tensor, tensor, idx, worst, got[at],
               want[at]);
    CHECK(compared > 0 && bad == 0,
          "%s: %s: %zu of %zu elements differ from the PyTorch reference by more than %.0e "
          "(relative); worst %s%s: C %.9g, reference %.9g, relative error %.3g",
          what, tensor, bad, compared, kinds[kind].rtol, tensor, idx, got[at], want[at], worst);
}

static double *widen(const float *p, size_t n) {
    double *d = calloc(n ? n : 1, sizeof *d);
    if (!d) abort();
    for (size_t i = 0; i < n; i++) d[i] = p[i];
    return d;
}

static void compare_f(Kind kind, const char *what, const char *tensor, const float *got, const double *want, size_t n,
                      int rank, const int *dims) {
    double *g = widen(got, n);
    compare(kind, what, tensor, g, want, n, rank, dims);
    free(g);
}

/* ---- reading fixtures ------------------------------------------------------------ */

typedef struct {
    int rank, dims[8];
    size_t n;
} Shape;

static size_t count_of(int rank, const int *dims) {
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)dims[d];
    return n;
}

/* A float64 dataset (h5io reads float and int only). NULL and a failed check
 * when missing or when it does not hold `expect` elements (expect 0: any). */
static double *read_f64(hid_t loc, const char *what, const char *name, size_t expect, Shape *s) {
    Shape tmp;
    if (!s) s = &tmp;
    *s = (Shape){0};
    if (!h5_exists(loc, name)) {
        CHECK(0, "%s: the fixture has no dataset '%s'", what, name);
        return NULL;
    }
    hid_t set = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t space = H5Dget_space(set);
    s->rank = H5Sget_simple_extent_ndims(space);
    hsize_t hd[8] = {0};
    if (s->rank >= 1 && s->rank <= 8) H5Sget_simple_extent_dims(space, hd, NULL);
    for (int d = 0; d < s->rank && d < 8; d++) s->dims[d] = (int)hd[d];
    s->n = s->rank >= 1 && s->rank <= 8 ? count_of(s->rank, s->dims) : 0;
    double *out = malloc((s->n ? s->n : 1) * sizeof *out);
    int ok = out && s->n && H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0;
    H5Sclose(space);
    H5Dclose(set);
    if (ok && expect && s->n != expect) ok = 0;
    CHECK(ok, "%s: dataset '%s' unreadable or holds %zu elements, want %zu", what, name, s->n, expect);
    if (!ok) free(out), out = NULL;
    return out;
}

static float *read_f32(hid_t loc, const char *what, const char *name, size_t expect, Shape *s) {
    Shape tmp;
    if (!s) s = &tmp;
    *s = (Shape){0};
    float *out = NULL;
    PbStatus st = h5_read_floats(loc, name, &out, &s->rank, s->dims);
    if (!st) s->n = count_of(s->rank, s->dims);
    CHECK(!st && (!expect || s->n == expect), "%s: dataset '%s': %s (holds %zu elements, want %zu)", what, name,
          st ? pb_errmsg() : "wrong size", s->n, expect);
    if (st || (expect && s->n != expect)) free(out), out = NULL;
    return out;
}

static long long attr_int(hid_t loc, const char *what, const char *name) {
    long long v = 0;
    PbStatus st = h5_read_attr_int(loc, name, &v);
    CHECK(!st, "%s: %s", what, pb_errmsg());
    return v;
}

static double attr_double(hid_t loc, const char *what, const char *name) {
    double v = NAN;
    hid_t a = H5Aexists(loc, name) > 0 ? H5Aopen(loc, name, H5P_DEFAULT) : -1;
    int ok = a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0;
    if (a >= 0) H5Aclose(a);
    CHECK(ok, "%s: attribute '%s' missing or not a number", what, name);
    return v;
}

static void attr_string(hid_t loc, const char *what, const char *name, char *out, size_t cap) {
    PbStatus st = h5_read_attr_string(loc, name, out, cap);
    CHECK(!st, "%s: %s", what, pb_errmsg());
}

/* Names of the members of group `name` (at most cap), sorted by name. */
static int members(hid_t loc, const char *name, char (*out)[64], int cap) {
    if (!h5_exists(loc, name)) return 0;
    hid_t g = H5Gopen2(loc, name, H5P_DEFAULT);
    H5G_info_t info;
    int n = 0;
    if (g >= 0 && H5Gget_info(g, &info) >= 0)
        for (hsize_t i = 0; i < info.nlinks && n < cap; i++)
            if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, out[n], 64, H5P_DEFAULT) > 0) n++;
    if (g >= 0) H5Gclose(g);
    return n;
}

/* ---- hooks ----------------------------------------------------------------------- */

static int lists(const char *csv, const char *word) {
    size_t n = strlen(word);
    for (const char *p = csv; (p = strstr(p, word)); p += n)
        if ((p == csv || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
    return 0;
}

/* The score hook of a case: rows of every batch row b, head h, query
 * pos0+r over keys 0..K-1 (the fixture's queries [B,T,H,D] and keys
 * [B,K,H,D], ld = C), with score_backward of dscore into dq, dk and
 * e->dparams. */
static void run_score(const EncodingModule *m, Encoding *e, hid_t g, const char *what, int B, int T, int K, int pos0) {
    const int C = e->cfg.dim, H = e->cfg.heads, D = C / H;
    const size_t nq = (size_t)B * T * C, nk = (size_t)B * K * C, n = (size_t)B * H * T * K;
    Shape s, sq, sk;
    float *q = read_f32(g, what, "score_q", nq, &sq), *k = read_f32(g, what, "score_k", nk, &sk);
    float *dscore = read_f32(g, what, "dscore", n, NULL);
    double *ref = read_f64(g, what, "score", n, &s);
    double *dq_ref = read_f64(g, what, "score_dq", nq, NULL), *dk_ref = read_f64(g, what, "score_dk", nk, NULL);
    float *row = guarded((size_t)K), *score = malloc(n * sizeof *score);
    float *dq = guarded(nq), *dk = guarded(nk);
    if (q && k && dscore && ref && dq_ref && dk_ref && score) {
        memset(dq, 0, nq * sizeof *dq), memset(dk, 0, nk * sizeof *dk);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int r = 0; r < T; r++) {
                    const size_t at = (((size_t)b * H + h) * T + r) * K, qi = ((size_t)b * T + r) * C + (size_t)h * D;
                    memset(row, 0, (size_t)K * sizeof *row);
                    m->score_forward(e, row, q + qi, k + (size_t)b * K * C, C, h, pos0 + r, 0, K);
                    memcpy(score + at, row, (size_t)K * sizeof *row);
                    m->score_backward(e, dscore + at, q + qi, k + (size_t)b * K * C, C, dq + qi, dk + (size_t)b * K * C,
                                      C, h, pos0 + r, 0, K);
                }
        compare_f(HOOK_OUT, what, "score", score, ref, n, s.rank, s.dims);
        compare_f(HOOK_GRAD, what, "score dq", dq, dq_ref, nq, sq.rank, sq.dims);
        compare_f(HOOK_GRAD, what, "score dk", dk, dk_ref, nk, sk.rank, sk.dims);
    }
    CHECK(guards_intact(row, (size_t)K), "%s: score wrote outside its row", what);
    CHECK(guards_intact(dq, nq) && guards_intact(dk, nk), "%s: score_backward wrote outside dq or dk", what);
    release(row), release(dq), release(dk), free(score);
    free(q), free(k), free(dscore), free(ref), free(dq_ref), free(dk_ref);
}

/* A case's context extension (attribute extend, absent: none). */
static void read_extension(hid_t g, const char *what, Extension *x) {
    char method[32] = "none";
    *x = (Extension){0};
    if (H5Aexists(g, "extend") <= 0) return;
    attr_string(g, what, "extend", method, sizeof method);
    ExtendMethod m = EXTEND_NONE;
    CHECK_OK(extend_method_parse(method, &m));
    *x = extension_default(m, attr_double(g, what, "factor"), (int)attr_int(g, what, "original"));
    if (H5Aexists(g, "beta_fast") > 0) x->beta_fast = attr_double(g, what, "beta_fast");
    if (H5Aexists(g, "beta_slow") > 0) x->beta_slow = attr_double(g, what, "beta_slow");
    if (H5Aexists(g, "low_freq_factor") > 0) x->low_freq_factor = attr_double(g, what, "low_freq_factor");
    if (H5Aexists(g, "high_freq_factor") > 0) x->high_freq_factor = attr_double(g, what, "high_freq_factor");
}

/* What `posbench export --len N` writes for an extension (angle [N, R/2],
 * mscale [1], ramp [R/2]) against the reference's float64 values. */
static void run_export(Encoding *e, hid_t g, const char *what) {
    const int N = (int)attr_int(g, what, "export_len");
    Capture cap;
    capture_init(&cap);
    CHECK_OK(encoding_export(e, N, &cap.sink));
    static const char *const names[] = {"angle", "mscale", "ramp"};
    for (int k = 0; k < 3; k++) {
        const Captured *t = capture_get(&cap, names[k]);
        Shape s;
        double *ref = read_f64(g, what, names[k], t ? t->count : 0, &s);
        CHECK(t && ref, "%s: export has no %s of the reference's shape", what, names[k]);
        if (t && ref) compare_f(HOOK_OUT, what, names[k], t->f, ref, t->count, s.rank, s.dims);
        free(ref);
    }
    capture_free(&cap);
}

/* Runs one hook case; returns the variant index it covered (-1 if none). */
static int run_hook_case(const EncodingModule *m, hid_t g, const char *what) {
    char variant[64], knobs[256], hooks[64];
    attr_string(g, what, "variant", variant, sizeof variant);
    attr_string(g, what, "knobs", knobs, sizeof knobs);
    attr_string(g, what, "hooks", hooks, sizeof hooks);
    const int C = (int)attr_int(g, what, "dim"), H = (int)attr_int(g, what, "heads");
    const int B = (int)attr_int(g, what, "B"), T = (int)attr_int(g, what, "T");
    const int pos0 = (int)attr_int(g, what, "pos0"), K = (int)attr_int(g, what, "K");
    const size_t n_params = (size_t)attr_int(g, what, "n_params");
    EncodingConfig cfg = {
        .variant = variant, .dim = C, .heads = H, .max_len = (int)attr_int(g, what, "max_len"), .knobs = knobs};
    read_extension(g, what, &cfg.extend);
    Encoding e;
    PbStatus st = encoding_create(&e, m, &cfg);
    CHECK(!st, "%s: encoding_create: %s", what, pb_errmsg());
    if (st) return -1;
    const int want[4] = {lists(hooks, "embed"), lists(hooks, "rotate"), lists(hooks, "bias"), lists(hooks, "score")};
    const int have[4] = {m->embed_forward != NULL, m->rotate_forward != NULL, m->bias_forward != NULL,
                         m->score_forward != NULL};
    static const char *const hook_name[4] = {"embed", "rotate_qk", "attn_bias", "score"};
    for (int k = 0; k < 4; k++)
        CHECK(want[k] == have[k], "%s: the C module %s the %s hook, but the reference formula %s", what,
              have[k] ? "has" : "lacks", hook_name[k], want[k] ? "acts there" : "does not");
    CHECK(e.n_params == n_params, "%s: %zu parameters in C, %zu in the reference", what, e.n_params, n_params);
    const size_t np = e.n_params == n_params ? n_params : 0;
    float *params = guarded(np), *dparams = guarded(np);
    if (np) memset(dparams, 0, np * sizeof *dparams); /* the owner zeroes gradients */
    if (np) {
        float *p = read_f32(g, what, "params", np, NULL);
        if (p) memcpy(params, p, np * sizeof *p);
        free(p);
    }
    encoding_bind(&e, params, dparams);
    const size_t BTC = (size_t)B * T * C;
    Shape s;

    if (want[0] && have[0]) {
        float *x = read_f32(g, what, "x", BTC, &s), *dout = read_f32(g, what, "dout", BTC, NULL);
        double *out_ref = read_f64(g, what, "out", BTC, NULL);
        float *out = guarded(BTC);
        if (x && dout && out_ref) {
            memcpy(out, x, BTC * sizeof *out);
            CHECK_OK(encoding_embed_forward(&e, out, B, T, pos0));
            compare_f(HOOK_OUT, what, "embed out", out, out_ref, BTC, s.rank, s.dims);
            CHECK_OK(encoding_embed_backward(&e, dout, B, T, pos0));
        }
        CHECK(guards_intact(out, BTC), "%s: embed wrote outside its buffer", what);
        release(out), free(x), free(dout), free(out_ref);
    }
    if (want[1] && have[1]) {
        float *q = read_f32(g, what, "q", BTC, &s), *k = read_f32(g, what, "k", BTC, NULL);
        float *gq = read_f32(g, what, "dq_out", BTC, NULL), *gk = read_f32(g, what, "dk_out", BTC, NULL);
        double *q_ref = read_f64(g, what, "q_out", BTC, NULL), *k_ref = read_f64(g, what, "k_out", BTC, NULL);
        double *dq_ref = read_f64(g, what, "dq", BTC, NULL), *dk_ref = read_f64(g, what, "dk", BTC, NULL);
        float *bq = guarded(BTC), *bk = guarded(BTC);
        if (q && k && gq && gk && q_ref && k_ref && dq_ref && dk_ref) {
            memcpy(bq, q, BTC * sizeof *bq), memcpy(bk, k, BTC * sizeof *bk);
            m->rotate_forward(&e, bq, bk, C, B, T, pos0);
            compare_f(HOOK_OUT, what, "rotated q", bq, q_ref, BTC, s.rank, s.dims);
            compare_f(HOOK_OUT, what, "rotated k", bk, k_ref, BTC, s.rank, s.dims);
            memcpy(bq, gq, BTC * sizeof *bq), memcpy(bk, gk, BTC * sizeof *bk);
            m->rotate_backward(&e, bq, bk, C, B, T, pos0);
            compare_f(HOOK_GRAD, what, "dq", bq, dq_ref, BTC, s.rank, s.dims);
            compare_f(HOOK_GRAD, what, "dk", bk, dk_ref, BTC, s.rank, s.dims);
        }
        CHECK(guards_intact(bq, BTC) && guards_intact(bk, BTC), "%s: rotate_qk wrote outside q or k", what);
        release(bq), release(bk);
        free(q), free(k), free(gq), free(gk), free(q_ref), free(k_ref), free(dq_ref), free(dk_ref);
    }
    if (want[2] && have[2]) {
        const size_t n = (size_t)H * T * K;
        float *dbias = read_f32(g, what, "dbias", n, NULL);
        double *bias_ref = read_f64(g, what, "bias", n, &s);
        float *row = guarded((size_t)K), *bias = malloc(n * sizeof *bias);
        if (dbias && bias_ref && bias) {
            for (int h = 0; h < H; h++)
                for (int r = 0; r < T; r++) {
                    memset(row, 0, (size_t)K * sizeof *row);
                    m->bias_forward(&e, row, h, pos0 + r, 0, K);
                    memcpy(bias + ((size_t)h * T + r) * K, row, (size_t)K * sizeof *row);
                    m->bias_backward(&e, dbias + ((size_t)h * T + r) * K, h, pos0 + r, 0, K);
                }
            compare_f(HOOK_OUT, what, "bias", bias, bias_ref, n, s.rank, s.dims);
        }
        CHECK(guards_intact(row, (size_t)K), "%s: attn_bias wrote outside its row", what);
        release(row), free(bias), free(dbias), free(bias_ref);
    }
    if (want[3] && have[3]) run_score(m, &e, g, what, B, T, K, pos0);
    if (cfg.extend.method != EXTEND_NONE) run_export(&e, g, what);
    if (np) {
        double *dref = read_f64(g, what, "dparams", np, NULL);
        if (dref) compare_f(HOOK_GRAD, what, "dparams", dparams, dref, np, 1, (int[]){(int)np});
        free(dref);
    }
    CHECK(guards_intact(params, np) && guards_intact(dparams, np), "%s: a hook wrote outside the parameter slices",
          what);
    const int covered = e.variant;
    encoding_destroy(&e);
    release(params), release(dparams);
    return covered;
}

/* ---- the probe model -------------------------------------------------------------- */

/* Targets at positions t < unscored_prefix are not scored (a task's question
 * tokens, as datasets/tasks.h marks them); a function of t alone, so the
 * loader's row order does not matter. The trainer's hook has no context. */
static int unscored_prefix;

static void mask_prefix(const int32_t *inputs, int32_t *targets, int rows, int T, int32_t unscored) {
    (void)inputs;
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < T && t < unscored_prefix; t++) targets[r * T + t] = unscored;
}

static void run_model_case(const EncodingModule *m, hid_t g, const char *what) {
    const int failures_before = check_failures;
    ModelConfig mc = model_config_default();
    snprintf(mc.encoding, sizeof mc.encoding, "%s", m->name);
    attr_string(g, what, "variant", mc.variant, sizeof mc.variant);
    attr_string(g, what, "knobs", mc.settings, sizeof mc.settings);
    mc.vocab = (int)attr_int(g, what, "vocab");
    mc.context = (int)attr_int(g, what, "context");
    mc.layers = (int)attr_int(g, what, "layers");
    mc.dim = (int)attr_int(g, what, "dim");
    mc.heads = (int)attr_int(g, what, "heads");
    mc.tied = (int)attr_int(g, what, "tied");
    mc.embed_scale = (float)attr_double(g, what, "embed_scale");
    unscored_prefix = (int)attr_int(g, what, "unscored_prefix");
    TrainConfig tc = train_config_default();
    tc.steps = attr_int(g, what, "steps");
    tc.batch = (int)attr_int(g, what, "batch");
    tc.warmup = attr_int(g, what, "warmup");
    tc.lr = (float)attr_double(g, what, "lr");
    tc.min_lr_ratio = (float)attr_double(g, what, "min_lr_ratio");
    tc.weight_decay = (float)attr_double(g, what, "weight_decay");
    tc.beta1 = (float)attr_double(g, what, "beta1");
    tc.beta2 = (float)attr_double(g, what, "beta2");
    tc.eps = (float)attr_double(g, what, "eps");
    tc.grad_clip = (float)attr_double(g, what, "grad_clip");
    tc.stride = 0; /* windows of T, T apart */
    tc.val_fraction = 0;
    tc.seed = 1;
    const int B = tc.batch, T = mc.context, V = mc.vocab;
    const size_t BT = (size_t)B * T;
    if (check_failures > failures_before) return; /* an attribute is missing */

    int *ids = NULL, rank, dims[8];
    PbStatus st = h5_read_ints(g, "ids", &ids, &rank, dims);
    CHECK(!st && rank == 1 && (size_t)dims[0] == BT + 1, "%s: ids: want %zu tokens (%s)", what, BT + 1,
          st ? pb_errmsg() : "wrong size");
    if (st || (size_t)dims[0] != BT + 1) {
        free(ids);
        return;
    }
    int32_t *stream = malloc((BT + 1) * sizeof *stream), *in = malloc(BT * sizeof *in), *tg = malloc(BT * sizeof *tg);
    for (size_t i = 0; i <= BT; i++) stream[i] = ids[i];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            in[b * T + t] = stream[b * T + t];
            tg[b * T + t] = stream[b * T + t + 1];
        }
    mask_prefix(in, tg, B, T, MODEL_UNSCORED);
    Trainer tr;
    st = trainer_init(&tr, &mc, &tc, stream, BT + 1);
    CHECK(!st, "%s: trainer_init: %s", what, pb_errmsg());
    if (st) goto out;
    Model *md = &tr.model;
    if (unscored_prefix) tr.mask_targets = mask_prefix;

    /* The initial weights: every tensor of the model's table, and no other. */
    char names[32][64], path[96], label[160];
    const int n_fixture = members(g, "params", names, 32);
    int n_model = 0;
    for (int id = 0; id < MODEL_N_TENSORS; id++) {
        const ModelTensor *t = &md->tensors[id];
        if (!t->count) continue;
        n_model++;
        snprintf(path, sizeof path, "params/%s", t->name);
        float *p = read_f32(g, what, path, t->count, NULL);
        if (p) memcpy(model_param(md, id), p, t->count * sizeof *p);
        free(p);
    }
    CHECK(n_fixture == n_model, "%s: the fixture has %d parameter tensors, the model %d", what, n_fixture, n_model);

    /* Forward: per-token losses, mean loss, logits (centered per row). */
    st = model_forward(md, in, tg, B, T, 0);
    CHECK(!st, "%s: model_forward: %s", what, pb_errmsg());
    if (st) goto out;
    Shape s;
    double *ref = read_f64(g, what, "losses", BT, &s);
    if (ref) compare_f(MODEL_FWD, what, "per-token losses", md->a.losses, ref, BT, s.rank, s.dims);
    free(ref);
    ref = read_f64(g, what, "loss", 1, &s);
    if (ref) compare(MODEL_FWD, what, "mean loss", &md->loss, ref, 1, s.rank, s.dims);
    free(ref);
    ref = read_f64(g, what, "logits", BT * V, &s);
    if (ref) {
        double *got = malloc(BT * V * sizeof *got);
        for (size_t r = 0; r < BT; r++) {
            double mc_ = 0, mr = 0;
            for (int v = 0; v < V; v++) {
                got[r * V + v] = log((double)md->a.probs[r * V + v]);
                mc_ += got[r * V + v] / V;
                mr += ref[r * V + v] / V;
            }
            for (int v = 0; v < V; v++) got[r * V + v] -= mc_, ref[r * V + v] -= mr;
        }
        compare(MODEL_FWD, what, "logits (centered)", got, ref, BT * V, s.rank, s.dims);
        free(got);
    }
    free(ref);

    /* Backward: the gradient of every parameter tensor. */
    model_zero_grad(md);
    st = model_backward(md);
    CHECK(!st, "%s: model_backward: %s", what, pb_errmsg());
    for (int id = 0; !st && id < MODEL_N_TENSORS; id++) {
        const ModelTensor *t = &md->tensors[id];
        if (!t->count) continue;
        snprintf(path, sizeof path, "grads/%s", t->name);
        ref = read_f64(g, what, path, t->count, &s);
        snprintf(label, sizeof label, "gradient of %s", t->name);
        if (ref) compare_f(MODEL_GRAD, what, label, model_grad(md, id), ref, t->count, s.rank, s.dims);
        free(ref);
    }

    /* Ten steps of the real trainer from the same weights. */
    st = trainer_run(&tr, tc.steps, NULL);
    CHECK(!st, "%s: trainer_run: %s", what, pb_errmsg());
    ref = read_f64(g, what, "train_losses", (size_t)tc.steps, &s);
    if (!st && ref)
        compare_f(TRAIN_LOSS, what, "training loss by step", tr.loss_history, ref, (size_t)tc.steps, s.rank, s.dims);
    free(ref);
out:
    trainer_free(&tr);
    free(ids), free(stream), free(in), free(tg);
}

/* ---- per encoding -------------------------------------------------------------------- */

static void run_encoding(const EncodingModule *m, const char *dir) {
    char path[4096], group[96], what[160];
    snprintf(path, sizeof path, "%s/%s.h5", dir, m->name);
    hid_t f;
    PbStatus st = h5in_open(&f, path);
    CHECK(!st,
          "encoding '%s' has no reference fixture (%s); add it to ENCODINGS in "
          "tests/reference/make_reference.py and regenerate (README: Reference fixtures)",
          m->name, pb_errmsg());
    if (st) return;
    char kind[64], name[64], version[32], torch_version[64];
    attr_string(f, path, "kind", kind, sizeof kind);
    attr_string(f, path, "encoding", name, sizeof name);
    attr_string(f, path, "script_version", version, sizeof version);
    attr_string(f, path, "torch_version", torch_version, sizeof torch_version);
    CHECK(!strcmp(kind, "posbench-reference") && !strcmp(name, m->name),
          "%s: not a reference fixture for '%s' (kind '%s', encoding '%s')", path, m->name, kind, name);

    static char cases[64][64];
    int covered[32] = {0}, n_variants = 0;
    while (m->variants && m->variants[n_variants]) n_variants++;
    if (!n_variants) n_variants = 1;
    const int n_cases = members(f, "hooks", cases, 64);
    for (int i = 0; i < n_cases; i++) {
        snprintf(group, sizeof group, "hooks/%.63s", cases[i]);
        snprintf(what, sizeof what, "%.40s %s", m->name, group);
        hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
        int v = run_hook_case(m, g, what);
        H5Gclose(g);
        if (v >= 0 && v < 32) covered[v] = 1;
    }
    for (int v = 0; v < n_variants && v < 32; v++)
        CHECK(covered[v],
              "%s: no reference hook case covers variant '%s'; add one to "
              "make_reference.py",
              m->name, m->variants ? m->variants[v] : "default");
    const int n_models = members(f, "model", cases, 64);
    CHECK(n_models > 0, "%s: the fixture has no probe-model configuration", m->name);
    for (int i = 0; i < n_models; i++) {
        snprintf(group, sizeof group, "model/%.63s", cases[i]);
        snprintf(what, sizeof what, "%.40s %s", m->name, group);
        hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
        run_model_case(m, g, what);
        H5Gclose(g);
    }
    printf("  %-18s %2d hook cases, %d model configurations (script %s, torch %s)\n", m->name, n_cases, n_models,
           version, torch_version);
    H5Fclose(f);
}

int main(int argc, char **argv) {
    verbose = argc == 3 && !strcmp(argv[1], "-v");
    if (argc != 2 + verbose) {
        fprintf(stderr, "usage: test_reference [-v] FIXTURE_DIR (tests/reference/fixtures)\n");
        return 2;
    }
    const char *dir = argv[1 + verbose];
    h5_quiet();
    for (size_t i = 0; encoding_registry[i]; i++) run_encoding(encoding_registry[i], dir);
    printf("  worst relative error against the reference, by kind (tolerance):\n");
    for (int k = 0; k < N_KINDS; k++)
        printf("    %-16s %9.2e  (%.0e, %zu elements)\n", kinds[k].name, kinds[k].worst, kinds[k].rtol,
               kinds[k].elements);
    return check_exit_code("reference");
}
