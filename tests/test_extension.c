/* test_extension.c: context extension of a rotary encoding (encoding.h,
 * "context extension"; the formulas are checked against the PyTorch
 * reference in tests/reference): the rules that make a pass in chunks
 * equal (or, for dynamic-ntk, differ from) one full pass, yarn's q and k
 * multiplier, and refusals. Over every extendable module in the registry,
 * both layouts where it has variants, with partial rotation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "../encodings/encoding.h"
#include "../encodings/extension.h"
#include "check.h"

enum { C = 64, H = 2, D = C / H, LD = 3 * C, N = 96, L = 16 };

static int make(Encoding *e, const EncodingModule *m, const char *variant, const char *knobs, Extension x) {
    EncodingConfig cfg = {.variant = variant, .dim = C, .heads = H, .max_len = N, .knobs = knobs, .extend = x};
    PbStatus st = encoding_create(e, m, &cfg);
    CHECK(!st, "%s[%s %s] %s: %s", m->name, variant, knobs, extend_method_name(x.method), pb_errmsg());
    return !st;
}

/* q and k of N positions at row stride LD, rotated over positions p0.. in one
 * call of n rows starting at row r0 of buf. */
static void rotate_rows(const Encoding *e, float *buf, int r0, int n, int p0) {
    e->module->rotate_forward(e, buf + (size_t)r0 * LD, buf + (size_t)r0 * LD + C, LD, 1, n, p0);
}

static void check_method(const EncodingModule *m, const char *variant, const char *knobs, ExtendMethod method) {
    const Extension x = extension_default(method, 4.0, L);
    Encoding e;
    if (!make(&e, m, variant, knobs, x)) return;
    const char *name = extend_method_name(method);
    Rng r;
    rng_seed(&r, 9, 9);
    const size_t n = (size_t)N * LD;
    float *x0 = malloc(n * sizeof *x0), *full = malloc(n * sizeof *full), *part = malloc(n * sizeof *part);
    for (size_t i = 0; i < n; i++) x0[i] = rng_normal(&r);
    memcpy(full, x0, n * sizeof *x0);
    rotate_rows(&e, full, 0, N, 0);
    /* Chunks of 40, 40 and 16 positions, each rotated as its own call. */
    memcpy(part, x0, n * sizeof *x0);
    rotate_rows(&e, part, 0, 40, 0), rotate_rows(&e, part, 40, 40, 40), rotate_rows(&e, part, 80, 16, 80);
    if (method != EXTEND_DYNAMIC_NTK) {
        CHECK(memcmp(part, full, n * sizeof *full) == 0, "%s[%s %s] %s: a pass in chunks differs from a full pass",
              m->name, variant, knobs, name);
    } else {
        /* The call's length l = pos0 + T picks the factor: the chunk ending
         * at 80 equals rows 40..79 of a pass over 0..79 (cached keys kept
         * unrotated and turned again), and differs from the full pass of
         * 96, whose factor is larger. */
        float *upto = malloc(n * sizeof *upto);
        memcpy(upto, x0, n * sizeof *x0);
        rotate_rows(&e, upto, 0, 80, 0);
        CHECK(memcmp(part + 40 * LD, upto + 40 * LD, 40 * LD * sizeof *part) == 0,
              "%s[%s %s] dynamic-ntk: the chunk 40..79 is not the pass over 0..79 there", m->name, variant, knobs);
        CHECK(memcmp(part + 40 * LD, full + 40 * LD, 40 * LD * sizeof *part) != 0,
              "%s[%s %s] dynamic-ntk: the chunk 40..79 equals the pass of 96 (no dynamic factor)", m->name, variant,
              knobs);
        /* Within the trained length s' = max(1, 4 l / 16 - 3) = 1: plain RoPE. */
        Encoding plain;
        if (make(&plain, m, variant, knobs, (Extension){0})) {
            float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
            memcpy(a, x0, n * sizeof *x0), memcpy(b, x0, n * sizeof *x0);
            rotate_rows(&e, a, 0, L, 0), rotate_rows(&plain, b, 0, L, 0);
            CHECK(memcmp(a, b, (size_t)L * LD * sizeof *a) == 0,
                  "%s[%s %s] dynamic-ntk: a pass within L is not plain RoPE", m->name, variant, knobs);
            free(a), free(b);
            encoding_destroy(&plain);
        }
        free(upto);
    }
    /* Rotations keep norms; yarn multiplies q and k by mscale. */
    double mscale = 1, ratio = 0;
    if (method == EXTEND_YARN) mscale = 0.1 * log(4.0) + 1;
    double nx = 0, nf = 0;
    for (size_t i = 0; i < n; i++) /* q and k: the first 2C of each row (v stays) */
        if (i % LD < 2 * C) nx += (double)x0[i] * x0[i], nf += (double)full[i] * full[i];
    ratio = sqrt(nf / nx);
    /* Dims past R pass through unscaled: compare a fully rotated layout only. */
    if (!knobs[0])
        CHECK(fabs(ratio - mscale) < 1e-5 * mscale, "%s[%s] %s: |rotated| / |x| = %.7f, expected %.7f", m->name,
              variant, name, ratio, mscale);
    free(x0), free(full), free(part);
    encoding_destroy(&e);
}

/* A fine-tune (generalize --extend-finetune) trains through the extended
 * rotation: backward must be forward's transpose, mscale included, so
 * <F x, y> = <x, B y> for every method (double sums of float products). */
static void check_adjoint(const EncodingModule *m, const char *variant, const char *knobs, ExtendMethod method) {
    Encoding e;
    if (!make(&e, m, variant, knobs, extension_default(method, 4.0, L))) return;
    Rng r;
    rng_seed(&r, 11, 3);
    const size_t n = (size_t)N * LD;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *fx = malloc(n * sizeof *fx),
          *by = malloc(n * sizeof *by);
    for (size_t i = 0; i < n; i++) x[i] = rng_normal(&r), y[i] = rng_normal(&r);
    memcpy(fx, x, n * sizeof *x), memcpy(by, y, n * sizeof *y);
    rotate_rows(&e, fx, 0, N, 0);
    e.module->rotate_backward(&e, by, by + C, LD, 1, N, 0);
    double fxy = 0, xby = 0, scale = 0;
    for (size_t i = 0; i < n; i++)
        if (i % LD < 2 * C)
            fxy += (double)fx[i] * y[i], xby += (double)x[i] * by[i], scale += fabs((double)fx[i] * y[i]);
    CHECK(fabs(fxy - xby) < 1e-5 * scale,
          "%s[%s %s] %s: <F x, y> = %.9g but <x, B y> = %.9g: backward is not the "
          "transpose",
          m->name, variant, knobs, extend_method_name(method), fxy, xby);
    free(x), free(y), free(fx), free(by);
    encoding_destroy(&e);
}

static void check_pairs(void) {
    /* yarn's split covers every pair, and at small D and L most pairs are
     * interpolated or ramped; other methods keep all. */
    for (int R = 4; R <= 128; R *= 2) {
        Extension x = extension_default(EXTEND_YARN, 8, 64);
        ExtendPairs p = extension_pairs(&x, 10000, R);
        CHECK(p.kept + p.ramped + p.interpolated == R / 2, "yarn R %d: %d + %d + %d pairs", R, p.kept, p.ramped,
              p.interpolated);
        CHECK(p.kept >= 1, "yarn R %d: the fastest pair (wavelength 2 pi, 10 turns over 64) is not kept", R);
        x.method = EXTEND_PI;
        p = extension_pairs(&x, 10000, R);
        CHECK(p.kept == R / 2, "pi R %d: extension_pairs gives %d kept", R, p.kept);
    }
}

static void check_refusals(void) {
    const EncodingModule *rope = encoding_find("rope");
    Encoding e;
    for (size_t i = 0; encoding_registry[i]; i++) {
        const EncodingModule *m = encoding_registry[i];
        if (m->extendable) continue;
        EncodingConfig cfg = {.dim = C, .heads = H, .max_len = N, .extend = extension_default(EXTEND_PI, 2, L)};
        PbStatus st = encoding_create(&e, m, &cfg);
        CHECK(st == PB_USAGE && strstr(pb_errmsg(), "no rotation"), "%s: an extension gave %s: %s", m->name,
              pb_status_name(st), pb_errmsg());
        if (!st) encoding_destroy(&e);
    }
    if (!rope) return;
    EncodingConfig cfg = {.dim = C, .heads = H, .max_len = N, .extend = extension_default(EXTEND_NTK, 0.5, L)};
    PbStatus st = encoding_create(&e, rope, &cfg);
    CHECK(st == PB_RANGE && strstr(pb_errmsg(), "at least 1"), "rope: factor 0.5 gave %s: %s", pb_status_name(st),
          pb_errmsg());
    cfg.extend = extension_default(EXTEND_YARN, 2, 0);
    st = encoding_create(&e, rope, &cfg);
    CHECK(st == PB_RANGE, "rope: trained length 0 gave %s", pb_status_name(st));
    ExtendMethod m;
    CHECK(extend_method_parse("yarn2", &m) == PB_USAGE, "an unknown method name was accepted");
}

int main(void) {
    int extendable = 0;
    for (size_t i = 0; encoding_registry[i]; i++) {
        const EncodingModule *m = encoding_registry[i];
        if (!m->extendable) continue;
        extendable++;
        for (int v = 0; v < 2; v++) {
            const char *variant = m->variants && m->variants[v] ? m->variants[v] : NULL;
            if (v && !variant) break;
            for (int method = EXTEND_PI; method < EXTEND_COUNT; method++) {
                check_method(m, variant ? variant : "", "", (ExtendMethod)method);
                check_method(m, variant ? variant : "", "fraction=0.5", (ExtendMethod)method);
                check_adjoint(m, variant ? variant : "", "fraction=0.5", (ExtendMethod)method);
            }
        }
    }
    CHECK(extendable >= 1, "no extendable encoding in the registry");
    check_pairs();
    check_refusals();
    return check_exit_code("extension");
}
