/* test_encodings.c: checks every registered encoding, with no per-encoding
 * code (a table run over the registry, as ggml's test-backend-ops):
 *   - gradients of every parameter by central differences
 *   - determinism: same seed, bit-identical output
 *   - sentinels: no write outside the output buffers
 *   - chunked passes with a position offset equal one full pass
 *   - the length policy: refusal past a table, with a clear message
 * Shapes: B batch, T positions, C channels, H heads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../encodings/encoding.h"
#include "check.h"

typedef struct {
    int B, T, C, H;
} Shape;

static const Shape shapes[] = {{1, 1, 2, 1}, {2, 5, 8, 2}, {3, 16, 12, 3}, {2, 33, 32, 4}};

#define GUARD 16
static const float SENTINEL = -12345.678f;

/* A buffer of n floats with GUARD sentinels on each side. */
static float *guarded(size_t n) {
    float *p = malloc((n + 2 * GUARD) * sizeof *p);
    for (size_t i = 0; i < n + 2 * GUARD; i++) p[i] = SENTINEL;
    return p + GUARD;
}

static int guards_intact(const float *p, size_t n) {
    for (int i = 1; i <= GUARD; i++)
        if (p[-i] != SENTINEL || p[n + i - 1] != SENTINEL) return 0;
    return 1;
}

static void release(float *p) { free(p - GUARD); }

static void fill_normal(float *p, size_t n, Rng *rng) {
    for (size_t i = 0; i < n; i++) p[i] = rng_normal(rng);
}

/* Instance with its own parameter/gradient buffers, guarded. */
typedef struct {
    Encoding e;
    float *params, *dparams;
} Instance;

static PbStatus make(Instance *in, const EncodingModule *m, const Shape *s, uint64_t seed) {
    EncodingConfig cfg = {.dim = s->C, .heads = s->H, .max_len = s->T};
    PbStatus st = encoding_create(&in->e, m, &cfg);
    if (st) return st;
    in->params = guarded(in->e.n_params);
    in->dparams = guarded(in->e.n_params);
    memset(in->dparams, 0, in->e.n_params * sizeof(float));
    encoding_bind(&in->e, in->params, in->dparams);
    Rng rng;
    rng_seed(&rng, seed, 1);
    encoding_init_params(&in->e, &rng);
    return PB_OK;
}

static void unmake(Instance *in) {
    CHECK(guards_intact(in->params, in->e.n_params), "%s: parameter buffer overrun", in->e.module->name);
    CHECK(guards_intact(in->dparams, in->e.n_params), "%s: gradient buffer overrun", in->e.module->name);
    release(in->params);
    release(in->dparams);
    encoding_destroy(&in->e);
}

/* L = sum(w * embed(x)); returns L in double. */
static double embed_loss(Instance *in, const Shape *s, const float *x, const float *w, float *scratch) {
    size_t n = (size_t)s->B * s->T * s->C;
    memcpy(scratch, x, n * sizeof *x);
    encoding_embed_forward(&in->e, scratch, s->B, s->T, 0);
    double L = 0;
    for (size_t i = 0; i < n; i++) L += (double)w[i] * scratch[i];
    return L;
}

static void check_embed(const EncodingModule *m, const Shape *s) {
    Instance a, b;
    if (make(&a, m, s, 11) || make(&b, m, s, 11)) {
        CHECK(0, "%s: create failed: %s", m->name, pb_errmsg());
        return;
    }
    const char *name = m->name;
    size_t n = (size_t)s->B * s->T * s->C;
    Rng rng;
    rng_seed(&rng, 99, 2);
    float *x = guarded(n), *w = guarded(n), *y1 = guarded(n), *y2 = guarded(n), *y3 = guarded(n);
    fill_normal(x, n, &rng);
    fill_normal(w, n, &rng);

    /* Determinism: two instances from the same seed agree bit for bit. */
    memcpy(y1, x, n * sizeof *x);
    memcpy(y2, x, n * sizeof *x);
    CHECK_OK(encoding_embed_forward(&a.e, y1, s->B, s->T, 0));
    CHECK_OK(encoding_embed_forward(&b.e, y2, s->B, s->T, 0));
    CHECK(memcmp(y1, y2, n * sizeof *y1) == 0, "%s: not deterministic", name);

    /* Chunked: positions [0,k) then [k,T) with pos0 = k equal one pass. */
    for (int k = 1; k < s->T; k += (s->T + 2) / 3) {
        for (int bb = 0; bb < s->B; bb++) {
            size_t row = (size_t)bb * s->T * s->C;
            memcpy(y3 + row, x + row, (size_t)s->T * s->C * sizeof *x);
            CHECK_OK(encoding_embed_forward(&a.e, y3 + row, 1, k, 0));
            CHECK_OK(encoding_embed_forward(&a.e, y3 + row + (size_t)k * s->C, 1, s->T - k, k));
        }
        CHECK(memcmp(y1, y3, n * sizeof *y1) == 0, "%s: chunked at %d differs from one pass", name, k);
    }

    /* Gradients: backward of dL/dy = w, against central differences. The
     * embed hook is additive, so dL/dx = w by the interface's contract. */
    memset(a.dparams, 0, a.e.n_params * sizeof(float));
    CHECK_OK(encoding_embed_backward(&a.e, w, s->B, s->T, 0));
    const float eps = 1e-2f;
    size_t step = a.e.n_params > 64 ? a.e.n_params / 61 : 1;
    for (size_t i = 0; i < a.e.n_params; i += step) {
        float saved = a.params[i];
        a.params[i] = saved + eps;
        double lp = embed_loss(&a, s, x, w, y3);
        a.params[i] = saved - eps;
        double lm = embed_loss(&a, s, x, w, y3);
        a.params[i] = saved;
        double numeric = (lp - lm) / (2.0 * eps);
        CHECK(fabs(numeric - a.dparams[i]) <= 1e-3 * (1 + fabs(numeric)),
              "%s B%d T%d C%d: dparam[%zu] = %g, central difference %g", name, s->B, s->T, s->C,
              i, a.dparams[i], numeric);
    }
    CHECK(guards_intact(x, n) && guards_intact(w, n) && guards_intact(y1, n) && guards_intact(y2, n) &&
          guards_intact(y3, n), "%s: activation buffer overrun", name);
    release(x), release(w), release(y1), release(y2), release(y3);
    unmake(&a);
    unmake(&b);
}

static void check_length_policy(const EncodingModule *m) {
    Shape s = {1, 8, 4, 1};
    Instance a;
    if (make(&a, m, &s, 3)) {
        CHECK(0, "%s: create failed: %s", m->name, pb_errmsg());
        return;
    }
    int known = encoding_max_positions(&a.e);
    float x[4 * 4 * 2] = {0};
    if (known == 0) {
        CHECK_OK(encoding_check_positions(&a.e, 1 << 20, 1 << 10));
    } else {
        CHECK(known == s.T, "%s: table of %d positions, asked for %d", m->name, known, s.T);
        PbStatus st = encoding_embed_forward(&a.e, x, 1, 4, known - 2);
        CHECK(st == PB_LENGTH, "%s: positions past the table accepted", m->name);
        char want[64];
        snprintf(want, sizeof want, "table size %d", known);
        CHECK(strstr(pb_errmsg(), m->name) && strstr(pb_errmsg(), want), "%s: message '%s'", m->name, pb_errmsg());
        /* The documented fallback: positions past the table reuse its last row. */
        a.e.cfg.fallback = LENGTH_FALLBACK_CLAMP;
        float far[4] = {0}, last[4] = {0};
        CHECK_OK(encoding_embed_forward(&a.e, far, 1, 1, known + 100));
        CHECK_OK(encoding_embed_forward(&a.e, last, 1, 1, known - 1));
        CHECK(memcmp(far, last, sizeof far) == 0, "%s: clamp fallback differs from the last row", m->name);
    }
    unmake(&a);
}

static void check_bad_configs(const EncodingModule *m) {
    Encoding e;
    EncodingConfig cfg = {.dim = 6, .heads = 4, .max_len = 4};
    CHECK(encoding_create(&e, m, &cfg) == PB_RANGE, "%s: heads not dividing dim accepted", m->name);
    cfg = (EncodingConfig){.dim = 8, .heads = 2, .max_len = 4, .variant = "no-such-variant"};
    CHECK(encoding_create(&e, m, &cfg) == PB_USAGE, "%s: unknown variant accepted", m->name);
    cfg = (EncodingConfig){.dim = 8, .heads = 2, .max_len = 4, .knobs = "no_such_knob=1"};
    CHECK(encoding_create(&e, m, &cfg) == PB_USAGE, "%s: unknown setting accepted", m->name);
}

int main(void) {
    CHECK(encoding_count() >= 2, "registry holds %zu encodings", encoding_count());
    for (size_t i = 0; encoding_registry[i]; i++) {
        const EncodingModule *m = encoding_registry[i];
        CHECK(m->name && m->summary, "encoding %zu lacks a name or summary", i);
        CHECK((m->embed_forward == NULL) == (m->embed_backward == NULL), "%s: embed hook without its twin", m->name);
        CHECK((m->rotate_forward == NULL) == (m->rotate_backward == NULL), "%s: rotate hook without its twin", m->name);
        CHECK((m->bias_forward == NULL) == (m->bias_backward == NULL), "%s: bias hook without its twin", m->name);
        CHECK(encoding_find(m->name) == m, "%s: not found by name", m->name);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) check_embed(m, &shapes[s]);
        check_length_policy(m);
        check_bad_configs(m);
        printf("checked %s\n", m->name);
    }
    return check_exit_code("encodings");
}
