/* sinusoidal.c: fixed sine/cosine position vectors added to token embeddings.
 *
 * Pairs i = 0..C/2-1 oscillate at inverse frequencies w_i; position p gives
 *   interleaved (default; Vaswani et al. 2017, "Attention Is All You Need",
 *               sec. 3.5):   PE[p,2i] = sin(p w_i),  PE[p,2i+1]    = cos(p w_i),
 *                            w_i = base^(-2i/C)
 *   concat      (fairseq SinusoidalPositionalEmbedding, tensor2tensor
 *               get_timing_signal_1d):
 *                            PE[p,i]  = sin(p w_i),  PE[p,C/2+i]   = cos(p w_i),
 *                            w_i = base^(-i/(C/2-1))   (w_0 = 1 when C = 2)
 *   x[b,t,:] += PE[pos0 + t, :]      x: [B,T,C]; knob base (default 10000)
 *
 * No parameters and no length bound: every position is known. Angles are
 * formed in double and only sin/cos are rounded to float: at p ~ 1e4 a float
 * angle would already be off by up to 5e-4 rad. Setup caches PE for
 * positions 0..max_len-1 (encoding_cache_rows), so embed is a table add like
 * learned_absolute's (before, sin and cos per call made it about 7x slower);
 * positions past the cache are computed as the cache was, to the same bits.
 */
#include <math.h>
#include <stdlib.h>

#include "encoding.h"

enum { VARIANT_INTERLEAVED, VARIANT_CONCAT };
static const char *const sin_variants[] = {"interleaved", "concat", NULL};

enum { KNOB_BASE };
static const EncodingKnob sin_knobs[] = {
    {"base", 10000.0, 2.0, 1e9, "wavelengths run from 2*pi up to about 2*pi*base"},
    {NULL},
};

/* Pairs whose sin/cos sit on the stack at once: each pair's sin/cos is then
 * computed once per position and reused across the whole batch, without a
 * heap buffer in a hook that cannot report failure. */
#define PAIR_CHUNK 64

/* e->state, built once in setup so the hooks never call pow(). */
typedef struct {
    int rows;     /* positions cached */
    float *table; /* [rows, C]: PE in channel order */
    double w[];   /* [C/2]: inverse frequencies */
} SinState;

static void pe_rows(const SinState *st, int variant, int C, float *out, int p0, int n);
static PbStatus sin_setup(Encoding *e) {
    const int C = e->cfg.dim;
    if (C % 2)
        return pb_fail(PB_RANGE,
                       "encoding 'sinusoidal': dim (C=%d) must be even, since channels come "
                       "in sin/cos pairs; use an even dim",
                       C);
    const int half = C / 2;
    const double base = e->knob[KNOB_BASE];
    SinState *st = pb_calloc(1, sizeof *st + (size_t)half * sizeof st->w[0], "the sinusoidal inverse frequencies");
    if (!st) return PB_NOMEM;
    e->state = st;
    for (int i = 0; i < half; i++) {
        double exponent = e->variant == VARIANT_CONCAT ? (half > 1 ? -(double)i / (half - 1) : 0.0) : -2.0 * i / C;
        st->w[i] = pow(base, exponent);
    }
    const int rows = encoding_cache_rows(e, (size_t)C);
    if (rows > 0) {
        st->table = pb_calloc((size_t)rows * C, sizeof *st->table, "the sinusoidal table");
        if (!st->table) return PB_NOMEM; /* teardown frees st */
        pe_rows(st, e->variant, C, st->table, 0, rows);
        st->rows = rows;
    }
    return PB_OK;
}

static void sin_teardown(Encoding *e) {
    SinState *st = e->state;
    if (st) free(st->table);
    free(st);
}

/* Adds one chunk of PE[p] (pairs i0..i0+n-1, whose sin/cos are s, c) to one
 * row x[b,t,:]. Only where the pair's two channels sit differs by variant. */
static void add_pairs(float *row, int variant, int half, int i0, int n, const float *s, const float *c) {
    if (variant == VARIANT_CONCAT) {
        float *lo = row + i0, *hi = row + half + i0;
        for (int i = 0; i < n; i++) {
            lo[i] += s[i];
            hi[i] += c[i];
        }
    } else {
        float *pair = row + 2 * i0;
        for (int i = 0; i < n; i++) {
            pair[2 * i] += s[i];
            pair[2 * i + 1] += c[i];
        }
    }
}

/* The sin and cos of pairs i0..i0+n-1 at position p. */
static void pair_values(const SinState *st, double p, int i0, int n, float *s, float *c) {
    for (int i = 0; i < n; i++) {
        const double angle = p * st->w[i0 + i];
        s[i] = (float)sin(angle);
        c[i] = (float)cos(angle);
    }
}

/* x[b,t,:] += PE[pos0 + t, :] for t in [t0, T), computed: each chunk of
 * pairs once per position, added to every batch row. */
static void add_computed(const SinState *st, int variant, int C, float *x, int B, int T, int pos0, int t0) {
    const int half = C / 2;
    float s[PAIR_CHUNK], c[PAIR_CHUNK];
    for (int t = t0; t < T; t++) {
        const double p = (double)pos0 + t; /* pos0 + t may not fit an int */
        for (int i0 = 0; i0 < half; i0 += PAIR_CHUNK) {
            const int n = half - i0 < PAIR_CHUNK ? half - i0 : PAIR_CHUNK;
            pair_values(st, p, i0, n, s, c);
            for (int b = 0; b < B; b++) add_pairs(x + ((size_t)b * T + t) * C, variant, half, i0, n, s, c);
        }
    }
}

/* The cache: PE added to zero rows, so each entry is the float that
 * add_computed adds. */
static void pe_rows(const SinState *st, int variant, int C, float *out, int p0, int n) {
    add_computed(st, variant, C, out, 1, n, p0, 0);
}

static void sin_embed_forward(const Encoding *e, float *x, int B, int T, int pos0) {
    const SinState *st = e->state;
    const int C = e->cfg.dim;
    const int cached = pos0 >= st->rows ? 0 : st->rows - pos0 < T ? st->rows - pos0 : T;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < cached; t++) {
            const float *pe = st->table + (size_t)(pos0 + t) * C;
            float *xt = x + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) xt[c] += pe[c];
        }
    add_computed(st, e->variant, C, x, B, T, pos0, cached);
}

/* The position vectors are constants: nothing to accumulate. The twin exists
 * because every forward hook is paired with a backward one. */
static void sin_embed_backward(Encoding *e, const float *dx, int B, int T, int pos0) {
    (void)e, (void)dx, (void)B, (void)T, (void)pos0;
}

const EncodingModule encoding_sinusoidal = {
    .name = "sinusoidal",
    .summary = "fixed sin/cos vectors added to embeddings (Vaswani et al. 2017)",
    .variants = sin_variants,
    .knobs = sin_knobs,
    .setup = sin_setup,
    .teardown = sin_teardown,
    .embed_forward = sin_embed_forward,
    .embed_backward = sin_embed_backward,
};
