/* test_layers.c: the probe transformer's layers (harness/model/).
 *
 * One table lists every layer with its tensors, a forward and backward
 * wrapper, a direct double-precision reference of its forward, and several
 * shapes. For each layer and shape:
 *   - the forward matches the reference (for cross-entropy: log-sum-exp in
 *     double, computed here independently);
 *   - five-point central differences of L = sum(w * out) (in double, random
 *     w) match backward for every element of every input and parameter;
 *     gradients are pre-filled with noise, so backward must add, not store,
 *     except where a layer's GRAD_STORE form must store, not add
 *     (grad_write.h);
 *   - guard words around every buffer stay intact (no overrun);
 *   - at a large shape, the threaded forward matches the reference, two
 *     runs are bit-identical, and so are runs on one and two OpenMP threads
 *     (which catches a bad split of the work).
 * Then cross-entropy's edge cases (huge logits, confident wrong answers,
 * in-place softmax, out-of-range targets), AdamW against the torch formulas
 * in double, the learning-rate schedule, and gradient clipping.
 * Each failed check prints the worst element; any failure fails the process.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "../harness/model/adamw.h"
#include "../harness/model/crossentropy.h"
#include "../harness/model/gelu.h"
#include "../harness/model/layernorm.h"
#include "../harness/model/matmul.h"
#include "../harness/model/residual.h"
#include "check.h"

/* ---- guarded buffers ---------------------------------------------------- */

enum { GUARD = 16 };
static const uint32_t GUARD_BITS = 0x7fc0beefu; /* a NaN no layer computes */

static float *gnew(size_t len) {
    float *base = malloc((len + 2 * GUARD) * sizeof(float));
    if (!base) {
        fprintf(stderr, "out of memory (%zu floats)\n", len);
        exit(1);
    }
    for (int i = 0; i < GUARD; i++) {
        memcpy(base + i, &GUARD_BITS, sizeof GUARD_BITS);
        memcpy(base + GUARD + len + i, &GUARD_BITS, sizeof GUARD_BITS);
    }
    return base + GUARD;
}

static int gintact(const float *p, size_t len) {
    for (int i = 0; i < GUARD; i++) {
        uint32_t a, b;
        memcpy(&a, p - GUARD + i, sizeof a);
        memcpy(&b, p + len + i, sizeof b);
        if (a != GUARD_BITS || b != GUARD_BITS) return 0;
    }
    return 1;
}

static void gfree(float *p) {
    if (p) free(p - GUARD);
}

/* ---- the layer table ---------------------------------------------------- */

enum { MAXT = 3, MAXSHAPES = 6 };

/* Gradient tolerance: |num - ana| <= RTOL (|num| + |ana|) + ATOL. The worst
 * case seen is a tenth of it; an error of 1e-3 in one element fails. */
#define GRAD_RTOL 5e-4
#define GRAD_ATOL 5e-4

typedef struct {
    int N, C, OC, V;
} Shape;

typedef struct {
    Shape s;
    float *in[MAXT], *din[MAXT]; /* inputs and parameters, their gradients */
    size_t in_len[MAXT];
    float *out, *dout;
    size_t out_len;
    float *save[2]; /* state forward keeps for backward */
    size_t save_len[2];
    int32_t *targets; /* cross-entropy only, [N] */
} Bufs;

typedef struct {
    const char *name;
    int nin;
    const char *in_names[MAXT];
    void (*sizes)(Bufs *b); /* fills in_len, out_len, save_len from b->s */
    void (*forward)(Bufs *b);
    void (*backward)(Bufs *b);
    double (*ref)(const Bufs *b, size_t i); /* out[i] computed directly in double */
    float in_scale;                         /* inputs ~ N(0, in_scale^2) */
    float h;                                /* finite-difference step */
    int thread_invariant;                   /* same bits on 1 and 2 OpenMP threads (matmul too:
                              OpenBLAS's own thread count stays as it is) */
    Shape shapes[MAXSHAPES];                /* ends at N == 0 */
    Shape big;                              /* for the determinism runs */
    int stores;                             /* bit k: backward stores (GRAD_STORE) d in[k], not adds */
} Layer;

/* layernorm: in = inp [N,C], weight [C], bias [C]; out [N,C]; save mean, rstd [N] */
static void ln_sizes(Bufs *b) {
    size_t N = b->s.N, C = b->s.C;
    b->in_len[0] = N * C, b->in_len[1] = C, b->in_len[2] = C;
    b->out_len = N * C, b->save_len[0] = N, b->save_len[1] = N;
}
static void ln_fwd(Bufs *b) {
    layernorm_forward(b->out, b->save[0], b->save[1], b->in[0], b->in[1], b->in[2], b->s.N, b->s.C);
}
static void ln_bwd(Bufs *b) {
    layernorm_backward(b->din[0], b->din[1], b->din[2], b->dout, b->in[0], b->in[1], b->save[0], b->save[1], b->s.N,
                       b->s.C);
}
static double ln_ref(const Bufs *b, size_t i) {
    int C = b->s.C;
    size_t n = i / C, c = i % C;
    const float *x = b->in[0] + n * C;
    double mean = 0, var = 0;
    for (int k = 0; k < C; k++) mean += x[k];
    mean /= C;
    for (int k = 0; k < C; k++) var += (x[k] - mean) * (x[k] - mean);
    var /= C;
    return (x[c] - mean) / sqrt(var + 1e-5) * b->in[1][c] + b->in[2][c];
}

/* matmul: in = inp [N,C], weight [OC,C], bias [OC]; out [N,OC] */
static void mm_sizes(Bufs *b) {
    size_t N = b->s.N, C = b->s.C, OC = b->s.OC;
    b->in_len[0] = N * C, b->in_len[1] = OC * C, b->in_len[2] = OC;
    b->out_len = N * OC;
}
static void mm_fwd(Bufs *b) { matmul_forward(b->out, b->in[0], b->in[1], b->in[2], b->s.N, b->s.C, b->s.OC); }
static void mm_bwd(Bufs *b) {
    matmul_backward(b->din[0], b->din[1], b->din[2], b->dout, b->in[0], b->in[1], b->s.N, b->s.C, b->s.OC, GRAD_ADD);
}
static void mms_bwd(Bufs *b) {
    matmul_backward(b->din[0], b->din[1], b->din[2], b->dout, b->in[0], b->in[1], b->s.N, b->s.C, b->s.OC, GRAD_STORE);
}
static double mm_ref(const Bufs *b, size_t i) {
    int C = b->s.C, OC = b->s.OC;
    size_t n = i / OC, o = i % OC;
    double sum = b->in[2] ? b->in[2][o] : 0.0;
    for (int c = 0; c < C; c++) sum += (double)b->in[0][n * C + c] * b->in[1][o * C + c];
    return sum;
}

/* matmul without bias: in = inp, weight (bias NULL both ways) */
static void mmnb_sizes(Bufs *b) {
    mm_sizes(b);
    b->in_len[2] = 0;
}
static void mmnb_fwd(Bufs *b) { matmul_forward(b->out, b->in[0], b->in[1], NULL, b->s.N, b->s.C, b->s.OC); }
static void mmnb_bwd(Bufs *b) {
    matmul_backward(b->din[0], b->din[1], NULL, b->dout, b->in[0], b->in[1], b->s.N, b->s.C, b->s.OC, GRAD_ADD);
}

/* gelu and residual: elementwise over N*C; gelu saves its slope */
static void ew_sizes(Bufs *b) { b->in_len[0] = b->in_len[1] = b->out_len = (size_t)b->s.N * b->s.C; }
static void gelu_sizes(Bufs *b) {
    ew_sizes(b);
    b->save_len[0] = b->out_len;
}
static void gelu_fwd(Bufs *b) { gelu_forward(b->out, b->save[0], b->in[0], b->out_len); }
static void gelu_bwd(Bufs *b) { gelu_backward(b->din[0], b->dout, b->save[0], b->out_len, GRAD_ADD); }
static void gelus_bwd(Bufs *b) { gelu_backward(b->din[0], b->dout, b->save[0], b->out_len, GRAD_STORE); }
static double gelu_ref(const Bufs *b, size_t i) {
    double x = b->in[0][i];
    return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
}
static void res_fwd(Bufs *b) { residual_forward(b->out, b->in[0], b->in[1], b->out_len); }
static void res_bwd(Bufs *b) { residual_backward(b->din[0], b->din[1], b->dout, b->out_len); }
static double res_ref(const Bufs *b, size_t i) { return (double)b->in[0][i] + b->in[1][i]; }

/* crossentropy: in = logits [N,V]; out = losses [N]; save probs [N,V] */
static void ce_sizes(Bufs *b) {
    b->in_len[0] = (size_t)b->s.N * b->s.V;
    b->out_len = b->s.N, b->save_len[0] = b->in_len[0];
}
static void ce_fwd(Bufs *b) { crossentropy_forward(b->out, b->save[0], b->in[0], b->targets, b->s.N, b->s.V); }
static void ce_bwd(Bufs *b) {
    crossentropy_backward(b->din[0], b->dout, b->save[0], b->targets, b->s.N, b->s.V, GRAD_ADD);
}
static void ces_bwd(Bufs *b) {
    crossentropy_backward(b->din[0], b->dout, b->save[0], b->targets, b->s.N, b->s.V, GRAD_STORE);
}
/* In place: the logits are copied into the probs buffer, which forward overwrites. */
static void cei_fwd(Bufs *b) {
    memcpy(b->save[0], b->in[0], b->in_len[0] * sizeof(float));
    crossentropy_forward(b->out, b->save[0], b->save[0], b->targets, b->s.N, b->s.V);
}
static double ce_ref(const Bufs *b, size_t n) {
    int V = b->s.V;
    const float *z = b->in[0] + n * V;
    double max = z[0], sum = 0;
    for (int v = 1; v < V; v++) max = z[v] > max ? z[v] : max;
    for (int v = 0; v < V; v++) sum += exp((double)z[v] - max);
    return log(sum) + max - z[b->targets[n]];
}

static const Layer LAYERS[] = {
    {"layernorm",
     3,
     {"inp", "weight", "bias"},
     ln_sizes,
     ln_fwd,
     ln_bwd,
     ln_ref,
     1.0f,
     5e-2f,
     1,
     {{1, 8}, {3, 7}, {5, 33}, {16, 64}, {4, 130}},
     {4096, 128}},
    {"matmul",
     3,
     {"inp", "weight", "bias"},
     mm_sizes,
     mm_fwd,
     mm_bwd,
     mm_ref,
     1.0f,
     1e-1f,
     1,
     {{1, 1, 1}, {3, 5, 7}, {16, 24, 20}, {7, 33, 130}},
     {4096, 128, 384}},
    {"matmul_store",
     3,
     {"inp", "weight", "bias"},
     mm_sizes,
     mm_fwd,
     mms_bwd,
     mm_ref,
     1.0f,
     1e-1f,
     1,
     {{1, 1, 1}, {3, 5, 7}, {7, 33, 130}},
     {4096, 128, 384},
     1},
    {"matmul_nobias",
     2,
     {"inp", "weight"},
     mmnb_sizes,
     mmnb_fwd,
     mmnb_bwd,
     mm_ref,
     1.0f,
     1e-1f,
     1,
     {{2, 3, 4}, {9, 16, 12}},
     {512, 128, 128}},
    {"gelu",
     1,
     {"inp"},
     gelu_sizes,
     gelu_fwd,
     gelu_bwd,
     gelu_ref,
     2.5f,
     5e-2f,
     1,
     {{1, 1}, {3, 7}, {10, 40}},
     {4096, 512}},
    {"gelu_store",
     1,
     {"inp"},
     gelu_sizes,
     gelu_fwd,
     gelus_bwd,
     gelu_ref,
     2.5f,
     5e-2f,
     1,
     {{3, 7}, {10, 40}},
     {4096, 512},
     1},
    {"residual",
     2,
     {"inp1", "inp2"},
     ew_sizes,
     res_fwd,
     res_bwd,
     res_ref,
     1.0f,
     1e-1f,
     1,
     {{1, 1}, {3, 7}, {10, 40}},
     {4096, 128}},
    {"crossentropy",
     1,
     {"logits"},
     ce_sizes,
     ce_fwd,
     ce_bwd,
     ce_ref,
     2.0f,
     5e-2f,
     1,
     {{1, 0, 0, 2}, {4, 0, 0, 7}, {8, 0, 0, 50}, {3, 0, 0, 300}},
     {512, 0, 0, 2048}},
    {"crossentropy_inplace",
     1,
     {"logits"},
     ce_sizes,
     cei_fwd,
     ce_bwd,
     ce_ref,
     2.0f,
     5e-2f,
     1,
     {{4, 0, 0, 7}, {8, 0, 0, 50}},
     {512, 0, 0, 2048}},
    {"crossentropy_store",
     1,
     {"logits"},
     ce_sizes,
     ce_fwd,
     ces_bwd,
     ce_ref,
     2.0f,
     5e-2f,
     1,
     {{4, 0, 0, 7}, {3, 0, 0, 300}},
     {512, 0, 0, 2048},
     1},
};
enum { NLAYERS = sizeof LAYERS / sizeof LAYERS[0] };

/* ---- buffers for one layer and shape ------------------------------------ */

/* Allocates and fills with seeded noise; gradients pre-filled with noise
 * unless zero_grads. */
static void bufs_make(Bufs *b, const Layer *L, Shape s, uint64_t seed, int zero_grads) {
    memset(b, 0, sizeof *b);
    b->s = s;
    L->sizes(b);
    Rng rng;
    rng_seed(&rng, seed, 1);
    for (int k = 0; k < L->nin; k++) {
        b->in[k] = gnew(b->in_len[k]);
        b->din[k] = gnew(b->in_len[k]);
        for (size_t i = 0; i < b->in_len[k]; i++) {
            b->in[k][i] = L->in_scale * rng_normal(&rng);
            b->din[k][i] = zero_grads ? 0.0f : rng_normal(&rng);
        }
    }
    b->out = gnew(b->out_len);
    b->dout = gnew(b->out_len);
    for (size_t i = 0; i < b->out_len; i++) b->out[i] = NAN, b->dout[i] = rng_normal(&rng);
    for (int k = 0; k < 2; k++)
        if (b->save_len[k]) b->save[k] = gnew(b->save_len[k]);
    if (s.V) {
        b->targets = malloc(s.N * sizeof(int32_t));
        for (int n = 0; n < s.N; n++) b->targets[n] = (int32_t)rng_below(&rng, s.V);
    }
}

static int bufs_intact(const Bufs *b, const Layer *L) {
    int ok = gintact(b->out, b->out_len) && gintact(b->dout, b->out_len);
    for (int k = 0; k < L->nin; k++) ok = ok && gintact(b->in[k], b->in_len[k]) && gintact(b->din[k], b->in_len[k]);
    for (int k = 0; k < 2; k++)
        if (b->save[k]) ok = ok && gintact(b->save[k], b->save_len[k]);
    return ok;
}

static void bufs_free(Bufs *b) {
    for (int k = 0; k < MAXT; k++) gfree(b->in[k]), gfree(b->din[k]);
    gfree(b->out), gfree(b->dout), gfree(b->save[0]), gfree(b->save[1]);
    free(b->targets);
}

static double weighted_loss(const Bufs *b) {
    double L = 0;
    for (size_t i = 0; i < b->out_len; i++) L += (double)b->dout[i] * b->out[i];
    return L;
}

/* ---- forward reference and gradient checks ------------------------------ */

/* dL/dx by the five-point central difference, whose error is O(h^4): a
 * large step then keeps float rounding of the outputs (the noise floor,
 * about 1e-5 / h here) far below the tolerance. */
static double numeric_grad(const Layer *L, Bufs *b, float *x) {
    static const double coef[4] = {1, -8, 8, -1}, mult[4] = {-2, -1, 1, 2};
    float saved = *x;
    double sum = 0;
    for (int j = 0; j < 4; j++) {
        *x = saved + (float)(mult[j] * L->h);
        L->forward(b);
        sum += coef[j] * weighted_loss(b);
    }
    *x = saved;
    return sum / (12.0 * L->h);
}

/* Forward against the layer's direct double computation: each error within
 * 1e-5 of max(|ref|, rms of all refs), the scale of float rounding here. */
static void check_forward(const Layer *L, const Bufs *b, const char *where) {
    double *ref = malloc(b->out_len * sizeof *ref), rms = 0;
    for (size_t i = 0; i < b->out_len; i++) ref[i] = L->ref(b, i), rms += ref[i] * ref[i];
    rms = sqrt(rms / (double)b->out_len);
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < b->out_len; i++) {
        double scale = fabs(ref[i]) > rms ? fabs(ref[i]) : rms;
        double err = fabs(b->out[i] - ref[i]) / (1e-5 * scale + 1e-30);
        if (!(err <= worst)) worst = err, wi = i;
    }
    CHECK(worst <= 1, "%s: forward out[%zu] = %.9g, direct double computation %.9g", where, wi, b->out[wi], ref[wi]);
    free(ref);
}

static void check_layer_shape(const Layer *L, Shape s) {
    char where[96];
    snprintf(where, sizeof where, "%s N=%d C=%d OC=%d V=%d", L->name, s.N, s.C, s.OC, s.V);
    Bufs b;
    bufs_make(&b, L, s, 1000 + s.N * 31 + s.C * 7 + s.OC * 3 + s.V, 0);

    L->forward(&b);
    check_forward(L, &b, where);

    /* Analytic gradients: backward adds onto the noise in din (or, where
     * the layer stores, must leave none of it). */
    float *base[MAXT];
    for (int k = 0; k < L->nin; k++) {
        base[k] = malloc(b.in_len[k] * sizeof(float));
        memcpy(base[k], b.din[k], b.in_len[k] * sizeof(float));
    }
    L->backward(&b);

    for (int k = 0; k < L->nin; k++) {
        double worst_ratio = 0, w_ana = 0, w_num = 0;
        size_t w_i = 0;
        for (size_t i = 0; i < b.in_len[k]; i++) {
            double num = numeric_grad(L, &b, b.in[k] + i);
            double ana = (double)b.din[k][i] - (L->stores >> k & 1 ? 0.0 : base[k][i]);
            double tol = GRAD_RTOL * (fabs(num) + fabs(ana)) + GRAD_ATOL;
            double ratio = fabs(num - ana) / tol;
            if (!(ratio <= worst_ratio)) worst_ratio = ratio, w_i = i, w_ana = ana, w_num = num;
        }
        printf("%-44s d%-7s worst |ana - num| is %.3f of tolerance\n", where, L->in_names[k], worst_ratio);
        CHECK(worst_ratio <= 1, "%s: d%s[%zu] = %.7g by backward, %.7g by central differences (%.2f of tolerance)",
              where, L->in_names[k], w_i, w_ana, w_num, worst_ratio);
        free(base[k]);
    }
    CHECK(bufs_intact(&b, L), "%s: a guard word around a buffer was overwritten", where);
    bufs_free(&b);
}

/* ---- determinism -------------------------------------------------------- */

static int same_bits(const float *a, const float *b, size_t n, size_t *at) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof(float)) != 0) {
            *at = i;
            return 0;
        }
    return 1;
}

static void compare_runs(const Layer *L, const Bufs *a, const Bufs *b, const char *what) {
    size_t at = 0;
    CHECK(same_bits(a->out, b->out, a->out_len, &at), "%s %s: out[%zu] %.9g vs %.9g", L->name, what, at, a->out[at],
          b->out[at]);
    for (int k = 0; k < 2; k++)
        if (a->save[k])
            CHECK(same_bits(a->save[k], b->save[k], a->save_len[k], &at), "%s %s: saved state %d [%zu]", L->name, what,
                  k, at);
    for (int k = 0; k < L->nin; k++)
        CHECK(same_bits(a->din[k], b->din[k], a->in_len[k], &at), "%s %s: d%s[%zu] %.9g vs %.9g", L->name, what,
              L->in_names[k], at, a->din[k][at], b->din[k][at]);
}

static void run_big(Bufs *b, const Layer *L, int threads) {
    bufs_make(b, L, L->big, 77, 1);
    omp_set_num_threads(threads);
    L->forward(b);
    L->backward(b);
    omp_set_num_threads(2);
    CHECK(bufs_intact(b, L), "%s (large shape, %d threads): a guard word was overwritten", L->name, threads);
}

static void check_determinism(const Layer *L) {
    Bufs r1, r2;
    run_big(&r1, L, 2);
    char where[96];
    snprintf(where, sizeof where, "%s (large shape, 2 threads)", L->name);
    check_forward(L, &r1, where);
    run_big(&r2, L, 2);
    compare_runs(L, &r1, &r2, "two runs on 2 threads");
    bufs_free(&r2);
    if (L->thread_invariant) {
        run_big(&r2, L, 1);
        compare_runs(L, &r1, &r2, "1 thread vs 2 threads");
        bufs_free(&r2);
    }
    bufs_free(&r1);
}

/* Optional gradients: matmul_backward with dinp = NULL gives the same dweight
 * and dbias as with it, and dbias = NULL the same dinp and dweight. */
static void check_matmul_nulls(void) {
    const Layer *L = &LAYERS[1];
    Shape s = {37, 20, 70};
    Bufs a, b;
    bufs_make(&a, L, s, 5, 1);
    bufs_make(&b, L, s, 5, 1);
    mm_fwd(&a);
    mm_bwd(&a);
    matmul_backward(NULL, b.din[1], b.din[2], b.dout, b.in[0], b.in[1], s.N, s.C, s.OC, GRAD_ADD);
    size_t at = 0;
    CHECK(same_bits(a.din[1], b.din[1], a.in_len[1], &at), "matmul dinp=NULL: dweight[%zu] differs", at);
    CHECK(same_bits(a.din[2], b.din[2], a.in_len[2], &at), "matmul dinp=NULL: dbias[%zu] differs", at);
    for (size_t i = 0; i < b.in_len[0]; i++) CHECK(b.din[0][i] == 0.0f, "dinp[%zu] written though NULL", i);
    memset(b.din[1], 0, b.in_len[1] * sizeof(float));
    memset(b.din[2], 0, b.in_len[2] * sizeof(float));
    matmul_backward(b.din[0], b.din[1], NULL, b.dout, b.in[0], b.in[1], s.N, s.C, s.OC, GRAD_ADD);
    CHECK(same_bits(a.din[0], b.din[0], a.in_len[0], &at), "matmul dbias=NULL: dinp[%zu] differs", at);
    CHECK(same_bits(a.din[1], b.din[1], a.in_len[1], &at), "matmul dbias=NULL: dweight[%zu] differs", at);
    CHECK(bufs_intact(&a, L) && bufs_intact(&b, L), "matmul NULL gradients: guard overwritten");
    bufs_free(&a);
    bufs_free(&b);
}

/* The weight half over ranges of output channels (as the model's threads
 * split it) matches one call over all of them and writes nothing outside its
 * range (within rounding only: OpenBLAS's order of additions can depend on
 * the rows it is given); the input half with GRAD_STORE ignores what dinp
 * held, giving the bits of adding into zeros. */
static void check_matmul_halves(void) {
    const Layer *L = &LAYERS[1];
    Shape s = {1024, 128, 384};
    Bufs a, b;
    bufs_make(&a, L, s, 9, 1);
    bufs_make(&b, L, s, 9, 1);
    matmul_backward_weight(a.din[1], a.din[2], a.dout, s.OC, a.in[0], s.N, s.C, s.OC);
    const int cut[] = {0, 16, 176, 384};
    for (int r = 0; r < 3; r++)
        matmul_backward_weight(b.din[1] + (size_t)cut[r] * s.C, b.din[2] + cut[r], b.dout + cut[r], s.OC, b.in[0], s.N,
                               s.C, cut[r + 1] - cut[r]);
    for (int k = 1; k <= 2; k++) {
        double rms = 0, worst = 0;
        size_t wi = 0;
        for (size_t i = 0; i < a.in_len[k]; i++) rms += (double)a.din[k][i] * a.din[k][i];
        rms = sqrt(rms / (double)a.in_len[k]);
        for (size_t i = 0; i < a.in_len[k]; i++) {
            const double e = fabs((double)b.din[k][i] - a.din[k][i]) / rms;
            if (!(e <= worst)) worst = e, wi = i;
        }
        CHECK(worst <= 1e-5, "matmul weight half by channel ranges: d%s[%zu] %.9g, one call %.9g",
              k == 1 ? "weight" : "bias", wi, b.din[k][wi], a.din[k][wi]);
    }
    for (size_t i = 0; i < b.in_len[0]; i++) b.din[0][i] = NAN;
    matmul_backward_input(a.din[0], a.dout, a.in[1], s.N, s.C, s.OC, GRAD_ADD);
    matmul_backward_input(b.din[0], b.dout, b.in[1], s.N, s.C, s.OC, GRAD_STORE);
    for (size_t i = 0; i < a.in_len[0]; i++)
        if (a.din[0][i] != b.din[0][i]) {
            CHECK(0, "matmul input half, GRAD_STORE over NaN: dinp[%zu] %.9g, adding into zeros %.9g", i, b.din[0][i],
                  a.din[0][i]);
            break;
        }
    CHECK(bufs_intact(&a, L) && bufs_intact(&b, L), "matmul halves: guard overwritten");
    bufs_free(&a);
    bufs_free(&b);
}

/* GELU keeps its relative precision in the negative tail, where a
 * 0.5 x (1 + tanhf(u)) evaluation cancels (see gelu.h), and its derivative
 * stays finite for any finite input. */
static void check_gelu_range(void) {
    enum { NX = 2401 };
    float *x = gnew(NX), *y = gnew(NX), *d = gnew(NX), *one = gnew(NX);
    for (int i = 0; i < NX; i++) x[i] = -12.0f + 0.01f * i, one[i] = 1.0f, d[i] = 0.0f;
    float *slope = gnew(NX), *y2 = gnew(NX), *s2 = gnew(NX);
    gelu_forward(y, slope, x, NX);
    gelu_backward(d, one, slope, NX, GRAD_ADD);
    /* In place (the model's use: slope over the input, and backward over
     * dout), and without the slope (evaluation): the same bits. */
    memcpy(s2, x, NX * sizeof(float));
    gelu_forward(y2, s2, s2, NX);
    size_t at = 0;
    CHECK(same_bits(slope, s2, NX, &at), "gelu slope stored over its input: [%zu] %.9g vs %.9g", at, s2[at], slope[at]);
    CHECK(same_bits(y, y2, NX, &at), "gelu with the slope over its input: out[%zu] differs", at);
    memcpy(y2, x, NX * sizeof(float));
    gelu_forward(y2, NULL, y2, NX);
    CHECK(same_bits(y, y2, NX, &at), "gelu in place without slope: out[%zu] %.9g vs %.9g", at, y2[at], y[at]);
    for (int i = 0; i < NX; i++) s2[i] = 0.5f * x[i];
    memcpy(y2, s2, NX * sizeof(float));
    gelu_backward(y2, y2, slope, NX, GRAD_STORE);
    for (int i = 0; i < NX; i++)
        CHECK(y2[i] == slope[i] * s2[i], "gelu backward in place: [%d] %.9g, want %.9g", i, y2[i], slope[i] * s2[i]);
    /* The slope against the derivative of the reference, in double. */
    double worst_slope = 0;
    int si = 0;
    for (int i = 0; i < NX; i++) {
        double xd = x[i], s = sqrt(2 / 3.14159265358979323846), u = s * (xd + 0.044715 * xd * xd * xd);
        double th = tanh(u), ref = 0.5 * (1 + th) + 0.5 * xd * (1 - th * th) * s * (1 + 3 * 0.044715 * xd * xd);
        double e = fabs(d[i] - ref) / (fabs(ref) > 1e-3 ? fabs(ref) : 1e-3);
        if (!(e <= worst_slope)) worst_slope = e, si = i;
    }
    CHECK(worst_slope <= 1e-5, "gelu'(%g) = %.9g, relative error %.3g", x[si], d[si], worst_slope);
    CHECK(gintact(slope, NX) && gintact(y2, NX) && gintact(s2, NX), "gelu in place: guard overwritten");
    gfree(slope), gfree(y2), gfree(s2);
    double worst = 0;
    int wi = 0;
    for (int i = 0; i < NX; i++) {
        double xd = x[i], u = sqrt(2 / 3.14159265358979323846) * (xd + 0.044715 * xd * xd * xd);
        double ref = xd / (1 + exp(-2 * u)); /* = 0.5 x (1 + tanh u), without cancellation */
        if (fabs(ref) < 1e-30) continue;     /* float's subnormal range */
        double e = fabs(y[i] - ref) / fabs(ref);
        if (!(e <= worst)) worst = e, wi = i;
    }
    CHECK(worst <= 1e-5, "gelu(%g) = %.9g, reference %.9g (relative error %.3g)", x[wi], y[wi],
          (double)x[wi] / (1 + exp(-2 * sqrt(2 / 3.14159265358979323846) * (x[wi] + 0.044715 * x[wi] * x[wi] * x[wi]))),
          worst);
    float extreme[6] = {-1e30f, -1e4f, -50.0f, 50.0f, 1e4f, 1e15f}, ey[6], es[6], ed[6] = {0},
          e1[6] = {1, 1, 1, 1, 1, 1};
    gelu_forward(ey, es, extreme, 6);
    gelu_backward(ed, e1, es, 6, GRAD_ADD);
    for (int i = 0; i < 6; i++)
        CHECK(isfinite(ey[i]) && isfinite(ed[i]), "gelu(%g) = %g, gelu' = %g: not finite", extreme[i], ey[i], ed[i]);
    CHECK(ey[3] == 50.0f && ed[3] == 1.0f && ey[2] == 0.0f && ed[2] == 0.0f, "gelu saturation: %g %g %g %g", ey[3],
          ed[3], ey[2], ed[2]);
    CHECK(gintact(x, NX) && gintact(y, NX) && gintact(d, NX), "gelu range: guard overwritten");
    gfree(x), gfree(y), gfree(d), gfree(one);
}

/* ---- cross-entropy edge cases ------------------------------------------- */

static void check_crossentropy_edges(void) {
    enum { N = 4, V = 6 };
    /* The logits are allocated exactly, without guard words, so that under
     * AddressSanitizer a read just before or after them is reported. */
    float *z = malloc(N * V * sizeof(float)), *zi = malloc(N * V * sizeof(float));
    float *p = gnew(N * V), *d = gnew(N * V), *loss = gnew(N), *dl = gnew(N);
    int32_t *t = malloc(N * sizeof *t);
    /* Row 0: huge logits (exp would overflow without the max shift).
     * Row 1: a confident wrong answer, probs[target] underflows to 0.
     * Row 2: all equal, loss log V.  Row 3: very negative logits. */
    const float rows[N][V] = {{1e4f, 1e4f - 1, 1e4f + 2, 1e4f, 1e4f - 5, 1e4f + 1},
                              {200, -200, 0, 0, 0, 0},
                              {3, 3, 3, 3, 3, 3},
                              {-1e4f, -1e4f - 3, -1e4f + 1, -1e4f, -1e4f, -1e4f}};
    const int32_t tg[N] = {4, 1, 2, 0};
    memcpy(z, rows, sizeof rows);
    memcpy(t, tg, sizeof tg);
    crossentropy_forward(loss, p, z, t, N, V);
    Bufs view = {.s = {N, 0, 0, V}, .in = {z}, .targets = t};
    for (int n = 0; n < N; n++) {
        double ref = ce_ref(&view, n);
        CHECK(isfinite(loss[n]) && fabs(loss[n] - ref) <= 1e-5 * (1 + fabs(ref)),
              "crossentropy edge row %d: loss %.9g, log-sum-exp in double %.9g", n, loss[n], ref);
        double psum = 0;
        for (int v = 0; v < V; v++) psum += p[n * V + v];
        CHECK(fabs(psum - 1) < 1e-6, "crossentropy edge row %d: probs sum to %.9g", n, psum);
    }
    CHECK(fabs(loss[1] - 400) < 1e-3, "confident wrong answer: loss %g, want 400", loss[1]);
    CHECK(fabs(loss[2] - log(6.0)) < 1e-6, "uniform row: loss %g, want log 6", loss[2]);

    /* In place gives the same bits as a separate probs buffer. */
    float *lossi = gnew(N);
    memcpy(zi, z, N * V * sizeof(float));
    crossentropy_forward(lossi, zi, zi, t, N, V);
    size_t at = 0;
    CHECK(same_bits(p, zi, N * V, &at), "in-place probs[%zu] %.9g vs %.9g", at, zi[at], p[at]);
    CHECK(same_bits(loss, lossi, N, &at), "in-place loss[%zu] %.9g vs %.9g", at, lossi[at], loss[at]);

    /* Out-of-range targets: first and last rows, so a read past either end of
     * the logits is caught by AddressSanitizer (POSBENCH_SANITIZE=ON). */
    t[0] = -1, t[N - 1] = V;
    for (int i = 0; i < N * V; i++) d[i] = 0.5f;
    for (int n = 0; n < N; n++) dl[n] = 1.0f;
    crossentropy_forward(loss, p, z, t, N, V);
    CHECK(isnan(loss[0]) && isnan(loss[N - 1]), "out-of-range target: losses %g %g, want NaN", loss[0], loss[N - 1]);
    CHECK(isfinite(loss[1]) && isfinite(loss[2]), "valid rows beside bad ones: %g %g", loss[1], loss[2]);
    crossentropy_backward(d, dl, p, t, N, V, GRAD_ADD);
    for (int v = 0; v < V; v++)
        CHECK(d[v] == 0.5f && d[(N - 1) * V + v] == 0.5f, "out-of-range target: dlogits row written at v=%d", v);
    crossentropy_backward(d, dl, p, t, N, V, GRAD_STORE);
    for (int v = 0; v < V; v++)
        CHECK(d[v] == 0.0f && d[(N - 1) * V + v] == 0.0f,
              "out-of-range target, GRAD_STORE: dlogits row not zeroed at v=%d", v);
    memcpy(zi, z, N * V * sizeof(float));
    crossentropy_forward(lossi, zi, zi, t, N, V);
    CHECK(isnan(lossi[0]) && isnan(lossi[N - 1]), "in-place out-of-range target: not NaN");
    CHECK(gintact(p, N * V) && gintact(d, N * V) && gintact(loss, N) && gintact(lossi, N) && gintact(dl, N),
          "crossentropy edges: guard word overwritten");
    free(z), free(zi);
    gfree(p), gfree(d), gfree(loss), gfree(dl), gfree(lossi);
    free(t);
}

/* ---- AdamW, schedule, clipping ------------------------------------------ */

/* The torch formulas, in double (the textbook EMA form, not torch's lerp). */
static void adamw_ref(double *p, double *m, double *v, const float *g, size_t n, double lr, double b1, double b2,
                      double eps, double wd, long t, int decay) {
    for (size_t i = 0; i < n; i++) {
        if (decay) p[i] *= 1 - lr * wd;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * (double)g[i] * g[i];
        double mhat_scale = lr / (1 - pow(b1, t));
        double denom = sqrt(v[i]) / sqrt(1 - pow(b2, t)) + eps;
        p[i] -= mhat_scale * m[i] / denom;
    }
}

/* Worst |a - ref| relative to max(|ref|, rms(ref)); prints on failure. */
static void check_close(const float *a, const double *ref, size_t n, double rtol, const char *what) {
    double rms = 0;
    for (size_t i = 0; i < n; i++) rms += ref[i] * ref[i];
    rms = sqrt(rms / n);
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double scale = fabs(ref[i]) > rms ? fabs(ref[i]) : rms;
        double e = fabs(a[i] - ref[i]) / (scale > 0 ? scale : 1);
        if (!(e <= worst)) worst = e, wi = i;
    }
    CHECK(worst <= rtol, "%s[%zu] = %.9g, reference %.9g (relative error %.3g)", what, wi, a[wi], ref[wi], worst);
}

static void check_adamw(void) {
    enum { NP = 300, NDECAY = 180, STEPS = 6 };
    float p[NP], m[NP] = {0}, v[NP] = {0}, g[NP];
    double rp[NP], rm[NP] = {0}, rv[NP] = {0};
    Rng rng;
    rng_seed(&rng, 11, 2);
    for (int i = 0; i < NP; i++) p[i] = rng_normal(&rng), rp[i] = p[i];
    AdamWConfig cfg = ADAMW_DEFAULTS(0);
    cfg.beta2 = 0.95f, cfg.weight_decay = 0.1f;
    for (long t = 1; t <= STEPS; t++) {
        cfg.lr = adamw_lr_cosine(t - 1, 2, STEPS, 1e-2f, 0.1f);
        for (int i = 0; i < NP; i++) {
            float scale = i % 7 == 0 ? 1e-9f : i % 11 == 0 ? 1e3f : 1.0f; /* eps matters; large grads */
            g[i] = i % 13 == 0 ? 0.0f : scale * rng_normal(&rng);
        }
        /* Two parameter groups: decayed, then not. */
        CHECK_OK(adamw_update(p, m, v, g, NDECAY, &cfg, t, 1));
        CHECK_OK(adamw_update(p + NDECAY, m + NDECAY, v + NDECAY, g + NDECAY, NP - NDECAY, &cfg, t, 0));
        adamw_ref(rp, rm, rv, g, NDECAY, cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay, t, 1);
        adamw_ref(rp + NDECAY, rm + NDECAY, rv + NDECAY, g + NDECAY, NP - NDECAY, cfg.lr, cfg.beta1, cfg.beta2, cfg.eps,
                  cfg.weight_decay, t, 0);
    }
    check_close(p, rp, NP, 1e-6, "adamw params");
    check_close(m, rm, NP, 1e-6, "adamw m");
    check_close(v, rv, NP, 1e-6, "adamw v");

    /* Without decay and with zero gradients nothing moves; with decay only
     * the decoupled shrink p *= 1 - lr * wd happens (m = v = 0). */
    float q[3] = {1, -2, 3}, zm[3] = {0}, zv[3] = {0}, zg[3] = {0};
    cfg.lr = 0.5f, cfg.weight_decay = 0.1f;
    CHECK_OK(adamw_update(q, zm, zv, zg, 3, &cfg, 1, 0));
    CHECK(q[0] == 1 && q[1] == -2 && q[2] == 3, "no decay, zero grads: params moved: %g %g %g", q[0], q[1], q[2]);
    CHECK_OK(adamw_update(q, zm, zv, zg, 3, &cfg, 1, 1));
    CHECK(q[0] == 0.95f && q[1] == -1.9f && fabsf(q[2] - 2.85f) < 1e-6f, "decay only: %g %g %g", q[0], q[1], q[2]);

    /* Refusals leave everything untouched. */
    CHECK(adamw_update(q, zm, zv, zg, 3, &cfg, 0, 1) == PB_USAGE, "t = 0 accepted");
    CHECK(strstr(pb_errmsg(), "t = 0") != NULL, "message should name t: %s", pb_errmsg());
    AdamWConfig bad = cfg;
    bad.beta1 = 1.0f;
    CHECK(adamw_update(q, zm, zv, zg, 3, &bad, 1, 1) == PB_USAGE, "beta1 = 1 accepted");
    bad = cfg, bad.eps = 0;
    CHECK(adamw_update(q, zm, zv, zg, 3, &bad, 1, 1) == PB_USAGE, "eps = 0 accepted");
    bad = cfg, bad.lr = NAN;
    CHECK(adamw_update(q, zm, zv, zg, 3, &bad, 1, 1) == PB_USAGE, "lr = NaN accepted");
    CHECK(q[0] == 0.95f, "a refused update changed params");
}

static void check_schedule(void) {
    const float max = 6e-4f, ratio = 0.1f, min = max * ratio;
    struct {
        long step, warmup, total;
        double want;
        const char *what;
    } cases[] = {
        {0, 10, 110, max / 10.0, "warmup start"},
        {4, 10, 110, max * 5 / 10.0, "warmup middle"},
        {9, 10, 110, max, "warmup end"},
        {10, 10, 110, max, "decay start"},
        {60, 10, 110, (max + (double)min) / 2, "decay midpoint"},
        {110, 10, 110, min, "end"},
        {1000, 10, 110, min, "past the end"},
        {0, 0, 100, max, "no warmup, start"},
        {50, 0, 100, (max + (double)min) / 2, "no warmup, midpoint"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float got = adamw_lr_cosine(cases[i].step, cases[i].warmup, cases[i].total, max, ratio);
        CHECK(fabs(got - cases[i].want) <= 1e-6 * cases[i].want, "schedule %s (step %ld): %.9g, want %.9g",
              cases[i].what, cases[i].step, got, cases[i].want);
    }
    float prev = adamw_lr_cosine(10, 10, 110, max, ratio);
    for (long s = 11; s <= 110; s++) {
        float lr = adamw_lr_cosine(s, 10, 110, max, ratio);
        CHECK(lr <= prev && lr >= min * (1 - 1e-6f), "schedule not decreasing to min at step %ld: %g after %g", s, lr,
              prev);
        prev = lr;
    }
}

static double norm_double(const float *g, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

static void check_clipping(void) {
    Rng rng;
    rng_seed(&rng, 3, 4);
    size_t sizes[] = {1, 5, 1000, (size_t)1 << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        float *g = gnew(n), *orig = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) g[i] = orig[i] = 3.0f * rng_normal(&rng);
        double ref = norm_double(g, n);
        /* Measuring only, and a limit above the norm: nothing changes. */
        float norm0 = adamw_clip_grad_norm(g, n, 0.0f);
        float norm1 = adamw_clip_grad_norm(g, n, (float)(2 * ref));
        CHECK(fabs(norm0 - ref) <= 1e-6 * ref && norm1 == norm0, "n=%zu: norm %.9g / %.9g, reference %.9g", n, norm0,
              norm1, ref);
        size_t at = 0;
        CHECK(same_bits(g, orig, n, &at), "n=%zu: gradients changed below the limit at %zu", n, at);
        /* Clipping: norm becomes exactly max_norm (to float rounding), the
         * direction is kept, and the thread count does not matter. */
        float max_norm = (float)(ref / 4);
        omp_set_num_threads(1);
        float *g1 = gnew(n);
        memcpy(g1, g, n * sizeof(float));
        float pre1 = adamw_clip_grad_norm(g1, n, max_norm);
        omp_set_num_threads(2);
        float pre = adamw_clip_grad_norm(g, n, max_norm);
        CHECK(pre == norm0 && pre1 == pre, "n=%zu: norm before clipping %.9g (1 thread %.9g), measured %.9g", n, pre,
              pre1, norm0);
        CHECK(same_bits(g, g1, n, &at), "n=%zu: clipped gradients differ between 1 and 2 threads at %zu", n, at);
        double after = norm_double(g, n);
        CHECK(fabs(after - max_norm) <= 1e-6 * max_norm, "n=%zu: norm after clipping %.9g, want %.9g", n, after,
              max_norm);
        float scale = max_norm / pre;
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double e = fabs(g[i] - (double)orig[i] * scale) / (fabs(orig[i] * scale) + 1e-30);
            if (e > worst) worst = e;
        }
        CHECK(worst <= 1e-6, "n=%zu: clipping changed the direction (relative %g)", n, worst);
        CHECK(gintact(g, n) && gintact(g1, n), "n=%zu: clipping overran", n);
        gfree(g), gfree(g1), free(orig);
    }
    /* Non-finite gradients: the norm says so and nothing is scaled. */
    float bad[4] = {1, INFINITY, 2, 3};
    float norm = adamw_clip_grad_norm(bad, 4, 1.0f);
    CHECK(isinf(norm) && bad[0] == 1 && bad[2] == 2, "inf gradient: norm %g, grads %g %g", norm, bad[0], bad[2]);
}

int main(void) {
    omp_set_num_threads(2);
    for (int l = 0; l < NLAYERS; l++) {
        for (int k = 0; k < MAXSHAPES && LAYERS[l].shapes[k].N; k++) check_layer_shape(&LAYERS[l], LAYERS[l].shapes[k]);
        check_determinism(&LAYERS[l]);
    }
    check_matmul_nulls();
    check_matmul_halves();
    check_gelu_range();
    check_crossentropy_edges();
    check_adamw();
    check_schedule();
    check_clipping();
    return check_exit_code("layers");
}
