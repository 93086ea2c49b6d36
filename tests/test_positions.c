/* test_positions.c: randomized positions (Ruoss et al. 2023) and positions
 * given as a map (encoding.h, "positions as a map"), table-driven over the
 * registry:
 *   - the sampler (rng_sorted_sample, train_sample_positions): sorted,
 *     distinct, within [0, LMAX), reproducible from (seed, step, window),
 *     different across steps and windows, and uniform: each position's
 *     frequency over many draws within 5 standard deviations of T/LMAX
 *   - for every encoding, each hook at a map equals the same hook called at
 *     one position per call (so the cutting of a map into runs is checked
 *     against calls that involve no cutting): embed, rotate (forward and
 *     backward, parameter gradients too), bias and score rows (forward and
 *     backward); a score_keys_to_query hook (CoPE) takes the row at indices
 *   - encoding_check_map: a map that repeats or goes back, or a negative
 *     position, is PB_RANGE naming the window; past a table PB_LENGTH
 *   - a map of consecutive positions equals pos0, bit for bit
 * Attention and the model at a map are checked in test_attention and
 * test_model.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "../encodings/encoding.h"
#include "../harness/train/train.h"
#include "check.h"

enum { B = 2, T = 9, C = 12, H = 3, D = C / H, LMAX = 40 };

static int sorted_distinct_within(const int *w, int n, int lmax) {
    for (int t = 0; t < n; t++)
        if (w[t] < 0 || w[t] >= lmax || (t && w[t] <= w[t - 1])) return 0;
    return 1;
}

static void check_sampler(void) {
    int a[T], b[T];
    train_sample_positions(7, 3, 1, T, LMAX, a);
    train_sample_positions(7, 3, 1, T, LMAX, b);
    CHECK(sorted_distinct_within(a, T, LMAX), "sample not sorted, distinct and within [0, %d)", LMAX);
    CHECK(memcmp(a, b, sizeof a) == 0, "the same (seed, step, window) drew other positions");
    train_sample_positions(7, 4, 1, T, LMAX, b);
    int differ = memcmp(a, b, sizeof a) != 0;
    train_sample_positions(7, 3, 0, T, LMAX, b);
    differ &= memcmp(a, b, sizeof a) != 0;
    train_sample_positions(8, 3, 1, T, LMAX, b);
    differ &= memcmp(a, b, sizeof a) != 0;
    CHECK(differ, "another step, window or seed drew the same positions");
    /* n = N takes everything; n = 0 nothing. */
    int all[T];
    Rng r;
    rng_seed(&r, 1, 1);
    rng_sorted_sample(&r, T, T, all);
    for (int t = 0; t < T; t++) CHECK(all[t] == t, "a sample of %d of %d: position %d is %d", T, T, t, all[t]);
    /* Uniform: every position in a window with probability T / LMAX. */
    enum { DRAWS = 20000 };
    static int count[LMAX];
    int ok = 1;
    for (long k = 0; k < DRAWS; k++) {
        train_sample_positions(11, k, 0, T, LMAX, a);
        ok &= sorted_distinct_within(a, T, LMAX);
        for (int t = 0; t < T; t++) count[a[t]]++;
    }
    CHECK(ok, "a drawn window was not sorted, distinct and within range");
    const double p = (double)T / LMAX, mean = DRAWS * p, sd = sqrt(DRAWS * p * (1 - p));
    double worst = 0;
    for (int i = 0; i < LMAX; i++) worst = fmax(worst, fabs(count[i] - mean) / sd);
    CHECK(worst < 5, "position frequencies are not uniform: %.1f standard deviations off", worst);
}

/* ---- hooks at a map against one position per call ---------------------- */

typedef struct {
    Encoding e;
    float *params, *dparams;
} Instance;

static int make(Instance *in, const EncodingModule *m) {
    EncodingConfig cfg = {.dim = C, .heads = H, .max_len = LMAX};
    if (encoding_create(&in->e, m, &cfg)) {
        CHECK(0, "%s: create failed: %s", m->name, pb_errmsg());
        return 0;
    }
    in->params = calloc(in->e.n_params + 1, sizeof(float));
    in->dparams = calloc(in->e.n_params + 1, sizeof(float));
    encoding_bind(&in->e, in->params, in->dparams);
    Rng rng;
    rng_seed(&rng, 5, 5);
    encoding_init_params(&in->e, &rng);
    /* Zero-initialised parameters (CoPE's e) would hide their terms. */
    for (size_t i = 0; i < in->e.n_params; i++) in->params[i] += 0.1f * rng_normal(&rng);
    encoding_project(&in->e);
    return 1;
}

static void unmake(Instance *in) {
    encoding_destroy(&in->e);
    free(in->params), free(in->dparams);
}

static void fill(float *x, size_t n, Rng *r) {
    for (size_t i = 0; i < n; i++) x[i] = rng_normal(r);
}

/* Floats equal within a few ulp of their size (a hook may vectorise a run
 * differently from a single position). */
static void check_close(const float *got, const float *want, size_t n, const char *what, const char *name) {
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const double err = fabs((double)got[i] - want[i]) / (1e-6 * (1 + fabs(want[i])));
        if (!(err <= worst)) worst = err, at = i;
    }
    CHECK(worst <= 1, "%s: %s at a map: [%zu] %.9g, one position per call %.9g", name, what, at, got[at], want[at]);
}

static void check_embed(Instance *in, const int *map, Rng *r) {
    const EncodingModule *m = in->e.module;
    if (!m->embed_forward) return;
    const size_t n = (size_t)B * T * C, np = in->e.n_params;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *dx = malloc(n * sizeof *dx);
    fill(x, n, r), fill(dx, n, r);
    memcpy(y, x, n * sizeof *x);
    CHECK_OK(encoding_embed_forward_at(&in->e, x, B, T, (Positions){0, map}));
    for (int t = 0; t < B * T; t++) m->embed_forward(&in->e, y + (size_t)t * C, 1, 1, map[t]);
    check_close(x, y, n, "embed_forward", m->name);
    if (m->embed_backward && np) {
        float *g = calloc(np, sizeof *g);
        memset(in->dparams, 0, np * sizeof(float));
        CHECK_OK(encoding_embed_backward_at(&in->e, dx, B, T, (Positions){0, map}));
        memcpy(g, in->dparams, np * sizeof *g);
        memset(in->dparams, 0, np * sizeof(float));
        for (int t = 0; t < B * T; t++) m->embed_backward(&in->e, dx + (size_t)t * C, 1, 1, map[t]);
        check_close(g, in->dparams, np, "embed_backward", m->name);
        free(g);
    }
    free(x), free(y), free(dx);
}

static void check_rotate(Instance *in, const int *map, Rng *r) {
    const EncodingModule *m = in->e.module;
    if (!m->rotate_forward) return;
    const int ld = 3 * C;
    const size_t n = (size_t)B * T * ld;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    fill(a, n, r);
    memcpy(b, a, n * sizeof *a);
    CHECK_OK(encoding_rotate_forward_at(&in->e, a, a + C, ld, B, T, (Positions){0, map}));
    for (int t = 0; t < B * T; t++)
        m->rotate_forward(&in->e, b + (size_t)t * ld, b + (size_t)t * ld + C, ld, 1, 1, map[t]);
    check_close(a, b, n, "rotate_forward", m->name);
    fill(a, n, r);
    memcpy(b, a, n * sizeof *a);
    CHECK_OK(encoding_rotate_backward_at(&in->e, a, a + C, ld, B, T, (Positions){0, map}));
    for (int t = 0; t < B * T; t++)
        m->rotate_backward(&in->e, b + (size_t)t * ld, b + (size_t)t * ld + C, ld, 1, 1, map[t]);
    check_close(a, b, n, "rotate_backward", m->name);
    free(a), free(b);
}

/* Row i of window w over keys j0..i: the map's calls against one key per
 * call (score: keys at stride ld, dk at stride ld too). */
static void check_rows(Instance *in, const int *w, Rng *r) {
    const EncodingModule *m = in->e.module;
    const int ld = 3 * C;
    const size_t np = in->e.n_params;
    float q[D], k[T * 3 * C], dl[T], got[T], want[T];
    float dq[2][D], dk[2][T * 3 * C], *gp = calloc(np + 1, sizeof *gp);
    fill(q, D, r), fill(k, sizeof k / sizeof *k, r), fill(dl, T, r);
    const Positions win = {0, w};
    for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++) {
            const int j0 = i / 3;
            memset(got, 0, sizeof got), memset(want, 0, sizeof want);
            encoding_bias_keys(&in->e, got, h, win, i, j0, i + 1);
            encoding_score_keys(&in->e, got, q, k + (size_t)j0 * ld, ld, h, win, i, j0, i + 1);
            for (int j = j0; j <= i; j++) {
                if (m->bias_forward) m->bias_forward(&in->e, want + j - j0, h, w[i], w[j], w[j] + 1);
                if (m->score_forward && !m->score_keys_to_query)
                    m->score_forward(&in->e, want + j - j0, q, k + (size_t)j * ld, ld, h, w[i], w[j], w[j] + 1);
            }
            if (m->score_forward && m->score_keys_to_query)
                m->score_forward(&in->e, want, q, k + (size_t)j0 * ld, ld, h, i, j0, i + 1);
            check_close(got, want, (size_t)(i + 1 - j0), "a bias and score row", m->name);

            memset(dq, 0, sizeof dq), memset(dk, 0, sizeof dk), memset(in->dparams, 0, np * sizeof(float));
            encoding_bias_keys_backward(&in->e, dl, h, win, i, j0, i + 1);
            encoding_score_keys_backward(&in->e, dl, q, k + (size_t)j0 * ld, ld, dq[0], dk[0] + (size_t)j0 * ld, ld, h,
                                         win, i, j0, i + 1);
            memcpy(gp, in->dparams, np * sizeof *gp);
            memset(in->dparams, 0, np * sizeof(float));
            for (int j = j0; j <= i; j++) {
                if (m->bias_backward) m->bias_backward(&in->e, dl + j - j0, h, w[i], w[j], w[j] + 1);
                if (m->score_backward && !m->score_keys_to_query)
                    m->score_backward(&in->e, dl + j - j0, q, k + (size_t)j * ld, ld, dq[1], dk[1] + (size_t)j * ld, ld,
                                      h, w[i], w[j], w[j] + 1);
            }
            if (m->score_backward && m->score_keys_to_query)
                m->score_backward(&in->e, dl, q, k + (size_t)j0 * ld, ld, dq[1], dk[1] + (size_t)j0 * ld, ld, h, i, j0,
                                  i + 1);
            check_close(gp, in->dparams, np, "parameter gradients of a row", m->name);
            check_close(dq[0], dq[1], D, "a score row's dq", m->name);
            check_close(dk[0], dk[1], sizeof dk[0] / sizeof(float), "a score row's dk", m->name);
        }
    free(gp);
}

static void check_errors(Instance *in) {
    const char *name = in->e.module->name;
    int back[T], neg[T], past[T];
    for (int t = 0; t < T; t++) back[t] = neg[t] = past[t] = 2 * t;
    back[5] = back[4];
    neg[0] = -1;
    past[T - 1] = 1 << 21;
    PbStatus st = encoding_check_map(&in->e, (Positions){0, back}, 1, T);
    CHECK(st == PB_RANGE && strstr(pb_errmsg(), "increase") && strstr(pb_errmsg(), "window 0"),
          "%s: a repeated position gave %s: %s", name, pb_status_name(st), pb_errmsg());
    st = encoding_check_map(&in->e, (Positions){0, neg}, 1, T);
    CHECK(st == PB_RANGE && strstr(pb_errmsg(), "negative"), "%s: a negative position gave %s: %s", name,
          pb_status_name(st), pb_errmsg());
    st = encoding_check_map(&in->e, (Positions){0, past}, 1, T);
    const int known = encoding_max_positions(&in->e);
    CHECK(known ? st == PB_LENGTH : st == PB_OK, "%s: a map reaching 2^21 gave %s (positions known: %d)", name,
          pb_status_name(st), known);
}

/* A map of pos0, pos0+1, ...: one run, so the very calls of pos0. */
static void check_consecutive(Instance *in, Rng *r) {
    const EncodingModule *m = in->e.module;
    if (!m->embed_forward && !m->rotate_forward) return;
    const int pos0 = 5, ld = 3 * C;
    int map[B * T];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) map[b * T + t] = pos0 + t;
    const size_t n = (size_t)B * T * ld;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    fill(a, n, r);
    memcpy(b, a, n * sizeof *a);
    CHECK_OK(encoding_embed_forward_at(&in->e, a, B, T, (Positions){0, map}));
    CHECK_OK(encoding_embed_forward(&in->e, b, B, T, pos0));
    CHECK_OK(encoding_rotate_forward_at(&in->e, a, a + C, ld, B, T, (Positions){0, map}));
    CHECK_OK(encoding_rotate_forward_at(&in->e, b, b + C, ld, B, T, positions_from(pos0)));
    CHECK(memcmp(a, b, n * sizeof *a) == 0, "%s: a map of consecutive positions differs from pos0", m->name);
    free(a), free(b);
}

int main(void) {
    check_sampler();
    Rng r;
    rng_seed(&r, 3, 3);
    for (size_t i = 0; encoding_registry[i]; i++) {
        Instance in;
        if (!make(&in, encoding_registry[i])) continue;
        int map[B * T];
        for (int b = 0; b < B; b++) rng_sorted_sample(&r, T, LMAX - T, map + b * T); /* room for the run */
        map[2] = map[1] + 1, map[3] = map[1] + 2; /* a run of three within the sample */
        for (int t = 4; t < T; t++)
            if (map[t] <= map[t - 1]) map[t] = map[t - 1] + 1;
        check_embed(&in, map, &r);
        check_rotate(&in, map, &r);
        check_rows(&in, map, &r);
        check_rows(&in, map + T, &r);
        check_errors(&in);
        check_consecutive(&in, &r);
        unmake(&in);
    }
    return check_exit_code("positions");
}
