/* bench.c: the benchmark grid (see bench.h).
 *
 * Each cell owns its buffers, allocated (and touched) on the cell's first
 * call, outside the timed loop, and released when the next cell starts:
 * Google Benchmark runs one benchmark's repetitions before the next, so only
 * one cell's memory is alive at a time, and the heap and RSS peaks read when
 * its results arrive are its own.
 *
 * Work per pass, used for the rates (a model, stated here once; a pass with
 * no work, such as none's hooks or a parameterless backward, has rates NaN):
 *   op embed      flops B*T*C           bytes 2*B*T*C*4 (+ T*C*4 table)
 *   op rotate     flops 6*B*T*C         bytes 4*B*T*C*4 (q, k read and written)
 *   op bias       flops E               bytes 2*E*4, E = B*H*T*(T+1)/2
 *   attention     flops 2*B*T*(T+1)*C (+ E)  forward; twice that backward
 *                 bytes qkv read, att and out written (forward); the same
 *                 plus gradients (backward)
 *   tiled         the same work as attention (its backward's recomputation
 *                 of the logits is a cost, seen in its time, not work); bytes
 *                 with the row statistics [B,H,T,2] in place of att
 */
#include "bench.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "../../core/alloc.h"
#include "../../core/interrupt.h"
#include "../../core/threads.h"
#include "../../datasets/token_stream.h"
#include "../../encodings/encoding.h"
#include "memstat.h"
#include "../model/attention.h"

typedef enum { SCOPE_OP, SCOPE_ATTENTION, SCOPE_TILED, SCOPE_COUNT } Scope;
typedef enum { PASS_FORWARD, PASS_BACKWARD } Pass;
static const char *const scope_names[] = {"op", "attention", "tiled"};
/* Cells per encoding variant: every scope, both passes. */
#define CELLS_PER_VARIANT (2 * SCOPE_COUNT)
static const char *const pass_names[] = {"forward", "backward"};

typedef struct {
    const EncodingModule *module;
    int variant; /* index into module->variants */
    Scope scope;
    Pass pass;
    int B, T, C, H;
    char name[96];
    /* Alive between the cell's first call and the next cell's. */
    Encoding enc;
    float *params, *dparams;
    float *x, *dx;                     /* op: x / q,k [B,T,C] each; attention: qkv, dqkv [B,T,3C] */
    float *k, *dk;                     /* op rotate: k and its gradient */
    float *out, *dout, *att, *scratch; /* tiled: att holds the row statistics */
    int ready;
    /* Results, filled by the reporter. */
    BenchRow row;
    int have_row;
    int done;           /* its last report (cv, or the only run) arrived */
    int errored;        /* a run failed or was cut short by an interrupt */
    int prior;          /* row kept from an interrupted run; not run */
    int called;         /* the library ran it (it matched the filter) */
    double slow_factor; /* test knob: each pass takes this many times as long (bench.h) */
} Cell;

static Cell *current; /* the cell whose buffers are alive */

/* What an attention cell's forward keeps besides qkv: the probabilities
 * [B,H,T,T], or (tiled) the row statistics [B,H,T,ATTENTION_STATS]. */
static size_t saved_floats(const Cell *c) {
    const size_t bht = (size_t)c->B * c->H * c->T;
    return c->scope == SCOPE_TILED ? bht * ATTENTION_STATS : bht * c->T;
}

static size_t causal_elements(const Cell *c) { return (size_t)c->B * c->H * c->T * ((size_t)c->T + 1) / 2; }

/* Floats a cell's buffers need (also its activation figure's basis). */
static size_t cell_floats(const Cell *c, size_t *activation_floats) {
    size_t btc = (size_t)c->B * c->T * c->C, act = 0, total;
    if (c->scope == SCOPE_OP) {
        total = 4 * btc + (size_t)c->T; /* x, dx, k, dk, one bias row */
    } else {
        size_t att = saved_floats(c);
        act = 3 * btc + att; /* kept for backward: qkv (rotated) and probabilities or statistics */
        total = 2 * 3 * btc + 2 * btc + att;
    }
    if (activation_floats) *activation_floats = act;
    return total;
}

static void cell_release(Cell *c) {
    pb_free_large(c->params), pb_free_large(c->dparams);
    pb_free_large(c->x), pb_free_large(c->dx), pb_free_large(c->k), pb_free_large(c->dk);
    pb_free_large(c->out), pb_free_large(c->dout), pb_free_large(c->att), pb_free_large(c->scratch);
    c->params = c->dparams = c->x = c->dx = c->k = c->dk = NULL;
    c->out = c->dout = c->att = c->scratch = NULL;
    encoding_destroy(&c->enc);
    c->ready = 0;
}

static void fill(float *p, size_t n, Rng *rng, float scale) {
    for (size_t i = 0; i < n; i++) p[i] = scale * rng_normal(rng);
}

/* The cell's variant name, "" for the default. */
static const char *cell_variant(const Cell *c) { return c->variant ? c->module->variants[c->variant] : ""; }

/* The cell's training forward, stored or tiled (what backward reads). */
static PbStatus attention_forward_pass(Cell *c) {
    if (c->scope == SCOPE_TILED)
        return attention_forward_tiled_at(c->out, c->att, c->x, &c->enc, c->scratch, c->B, c->T, c->C, c->H,
                                          positions_from(0));
    return attention_forward(c->out, c->att, c->x, &c->enc, c->B, c->T, c->C, c->H, 0);
}

/* Allocates and fills the cell's buffers; forward state for backward cells. */
static PbStatus cell_setup(Cell *c) {
    EncodingConfig cfg = {.dim = c->C, .heads = c->H, .max_len = c->T, .variant = cell_variant(c)};
    PbStatus st = encoding_create(&c->enc, c->module, &cfg);
    if (st) return st;
    size_t btc = (size_t)c->B * c->T * c->C, np = c->enc.n_params ? c->enc.n_params : 1;
    c->params = pb_alloc_floats(np, "encoding parameters");
    c->dparams = pb_alloc_floats(np, "encoding gradients");
    if (!c->params || !c->dparams) return PB_NOMEM;
    encoding_bind(&c->enc, c->params, c->dparams);
    Rng rng;
    rng_seed(&rng, 1234, 0);
    encoding_init_params(&c->enc, &rng);
    if (c->scope == SCOPE_OP) {
        c->x = pb_alloc_floats(btc, "q / x"), c->dx = pb_alloc_floats(btc, "dq / dx");
        c->k = pb_alloc_floats(btc, "k"), c->dk = pb_alloc_floats(btc, "dk");
        c->out = pb_alloc_floats((size_t)c->T, "a logits row");
        if (!c->x || !c->dx || !c->k || !c->dk || !c->out) return PB_NOMEM;
        fill(c->x, btc, &rng, 1), fill(c->dx, btc, &rng, 1);
        fill(c->k, btc, &rng, 1), fill(c->dk, btc, &rng, 1);
        return PB_OK;
    }
    const int tiled = c->scope == SCOPE_TILED, threads = pb_max_threads();
    size_t scratch = tiled ? attention_tiled_scratch_floats(&c->enc, c->B, c->T, c->C, c->H, threads)
                           : attention_backward_scratch_floats(&c->enc, c->B, c->T, c->C, c->H, threads);
    c->x = pb_alloc_floats(3 * btc, "qkv"), c->dx = pb_alloc_floats(3 * btc, "dqkv");
    c->out = pb_alloc_floats(btc, "attention output"), c->dout = pb_alloc_floats(btc, "output gradient");
    c->att = pb_alloc_floats(saved_floats(c), tiled ? "attention row statistics" : "attention probabilities");
    c->scratch = pb_alloc_floats(scratch, "attention scratch");
    if (!c->x || !c->dx || !c->out || !c->dout || !c->att || !c->scratch) return PB_NOMEM;
    fill(c->x, 3 * btc, &rng, 1), fill(c->dout, btc, &rng, 1);
    if (c->pass == PASS_BACKWARD) return attention_forward_pass(c);
    return PB_OK;
}

/* Every causal row segment of the cell (B x H x T rows, keys 0..i) through
 * the encoding's row hooks: bias and score, forward or backward. For the
 * score backward, dlogits are any T floats of the inputs (k's). */
static void op_rows(Cell *c, int forward) {
    const EncodingModule *m = c->module;
    Encoding *e = &c->enc;
    const int B = c->B, T = c->T, C = c->C, H = c->H, D = C / H;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                const size_t qi = ((size_t)b * T + i) * C + (size_t)h * D, k0 = (size_t)b * T * C;
                if (forward && m->bias_forward) m->bias_forward(e, c->out, h, i, 0, i + 1);
                if (forward && m->score_forward) m->score_forward(e, c->out, c->x + qi, c->k + k0, C, h, i, 0, i + 1);
                if (!forward && m->bias_backward) m->bias_backward(e, c->dx, h, i, 0, i + 1);
                if (!forward && m->score_backward)
                    m->score_backward(e, c->k + k0, c->x + qi, c->k + k0, C, c->dx + qi, c->dk + k0, C, h, i, 0, i + 1);
            }
}

/* The encoding's own work for one pass over the cell's inputs. */
static void op_pass(Cell *c) {
    const EncodingModule *m = c->module;
    Encoding *e = &c->enc;
    const int B = c->B, T = c->T, C = c->C;
    if (c->pass == PASS_FORWARD) {
        if (m->embed_forward) m->embed_forward(e, c->x, B, T, 0);
        if (m->rotate_forward) m->rotate_forward(e, c->x, c->k, C, B, T, 0);
    } else {
        if (m->embed_backward) m->embed_backward(e, c->dx, B, T, 0);
        if (m->rotate_backward) m->rotate_backward(e, c->dx, c->dk, C, B, T, 0);
    }
    if (m->bias_forward || m->score_forward) op_rows(c, c->pass == PASS_FORWARD);
}

/* The test knob's delay after a pass that began at t0: a spin to t0 plus
 * factor times the pass's time, so the cell is that many times slower in any
 * build (a sanitizer build's passes take tens of times longer). */
static void spin_to_factor(double t0, double factor) {
    double end = t0 + (now_seconds() - t0) * factor;
    while (now_seconds() < end) {}
}

static PbStatus attention_pass(Cell *c) {
    if (c->pass == PASS_FORWARD) return attention_forward_pass(c);
    if (c->scope == SCOPE_TILED)
        return attention_backward_tiled_at(c->dx, c->dout, c->x, c->att, &c->enc, c->scratch, c->B, c->T, c->C, c->H,
                                           positions_from(0));
    return attention_backward(c->dx, c->dout, c->x, c->att, &c->enc, c->scratch, c->B, c->T, c->C, c->H, 0);
}

static void cell_kernel(GbState *state, void *ctx) {
    Cell *c = ctx;
    c->called = 1;
    /* The safe point: after an interrupt, this cell (if it was being measured)
     * is dropped and every later one is skipped at once. Skipped rather than
     * stopped: the library still calls each cell the filter selects, so the
     * count of cells planned stays right. */
    if (interrupt_requested()) {
        c->errored = 1;
        gb_skip_with_error(state, "interrupted");
        return;
    }
    if (current != c) {
        if (current) cell_release(current);
        current = c;
        pb_alloc_reset_peak();
        rss_reset_peak();
        if (cell_setup(c)) {
            gb_skip_with_error(state, pb_errmsg());
            return;
        }
        c->ready = 1;
    }
    if (!c->ready) {
        gb_skip_with_error(state, "setup failed earlier");
        return;
    }
    while (gb_keep_running(state)) {
        const double t0 = c->slow_factor > 1 ? now_seconds() : 0;
        if (c->scope == SCOPE_OP) {
            op_pass(c); /* nanoseconds: a poll here would be measured too */
        } else if (interrupt_requested()) {
            /* Large attention cells repeat for seconds: stop between passes. */
            c->errored = 1;
            gb_skip_with_error(state, "interrupted");
            return;
        } else if (attention_pass(c)) {
            gb_skip_with_error(state, pb_errmsg());
            return;
        }
        if (c->slow_factor > 1) spin_to_factor(t0, c->slow_factor);
    }
    gb_set_items_processed(state, gb_iterations(state) * (int64_t)c->B * c->T);
}

/* Work model of a pass (see the header comment). */
static void work_model(const Cell *c, double *flops, double *bytes) {
    double btc = (double)c->B * c->T * c->C, E = (double)causal_elements(c);
    const EncodingModule *m = c->module;
    *flops = *bytes = 0;
    if (c->scope == SCOPE_OP) {
        /* Backward of a hook without parameters has nothing to add up, except
         * rotation, whose backward rotates the gradients back. */
        int fwd = c->pass == PASS_FORWARD, learned = c->enc.n_params > 0;
        if (m->embed_forward && (fwd || learned)) *flops += btc, *bytes += 2 * btc * 4 + (double)c->T * c->C * 4;
        if (m->rotate_forward) *flops += 6 * btc, *bytes += 4 * btc * 4;
        if (m->bias_forward && (fwd || learned)) *flops += E, *bytes += 2 * E * 4;
        if (m->score_forward) *flops += E, *bytes += 2 * E * 4; /* its adds; the dots depend on the module */
        return;
    }
    double att = (double)saved_floats(c);
    *flops = 2.0 * c->B * c->T * ((double)c->T + 1) * c->C + (m->bias_forward ? E : 0) + (m->score_forward ? E : 0);
    *bytes = (3 * btc + att + btc) * 4;
    if (c->pass == PASS_BACKWARD) *flops *= 2, *bytes = (3 * btc + att + btc + 3 * btc) * 4;
}

typedef struct {
    Cell *cells;
    size_t n;
    size_t n_done; /* cells finished, kept ones included (progress) */
    FILE *log;
} Grid;

static Cell *find_cell(Grid *g, const char *family) {
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->cells[i].name, family) == 0) return &g->cells[i];
    return NULL;
}

/* Fills the cell's row from its runs: aggregates when repeated, else the run. */
static PbStatus report(const GbRun *run, void *ctx) {
    Grid *g = ctx;
    Cell *c = find_cell(g, run->family);
    if (!c) return PB_OK;
    BenchRow *r = &c->row;
    if (run->error) {
        c->errored = 1;
        if (!interrupt_requested()) fprintf(stderr, "posbench bench: %s skipped: %s\n", c->name, run->error_message);
        return PB_OK;
    }
    if (!c->have_row) {
        size_t act = 0;
        cell_floats(c, &act);
        double flops, bytes;
        work_model(c, &flops, &bytes);
        snprintf(r->encoding, sizeof r->encoding, "%s", c->module->name);
        snprintf(r->variant, sizeof r->variant, "%s", encoding_variant_name(&c->enc));
        snprintf(r->scope, sizeof r->scope, "%s", scope_names[c->scope]);
        snprintf(r->pass, sizeof r->pass, "%s", pass_names[c->pass]);
        r->batch = c->B, r->seq_len = c->T, r->dim = c->C, r->heads = c->H;
        r->param_bytes = (double)c->enc.n_params * sizeof(float);
        r->activation_bytes = (double)act * sizeof(float);
        r->gflops_per_s = flops; /* work per pass; turned into rates below */
        r->gbytes_per_s = bytes;
        c->have_row = 1;
    }
    r->peak_heap_bytes = (double)pb_alloc_peak_bytes();
    r->peak_rss_bytes = (double)rss_peak_bytes();
    const char *agg = run->aggregate;
    if (!*agg) {
        r->repetitions = (int)run->repetitions;
        if (run->repetitions == 1) r->ns_median = r->ns_mean = run->real_ns_per_iter;
        if (r->n_rep_ns < BENCH_MAX_REPS) r->rep_ns[r->n_rep_ns++] = run->real_ns_per_iter;
    } else if (strcmp(agg, "median") == 0) {
        r->ns_median = run->real_ns_per_iter;
    } else if (strcmp(agg, "mean") == 0) {
        r->ns_mean = run->real_ns_per_iter;
    } else if (strcmp(agg, "stddev") == 0) {
        r->ns_stddev = run->real_ns_per_iter;
    } else if (strcmp(agg, "cv") == 0) {
        r->cv = run->real_ns_per_iter;
    }
    if ((!*agg && run->repetitions == 1) || strcmp(agg, "cv") == 0) {
        c->done = 1;
        g->n_done++;
        if (g->log && !c->errored) {
            fprintf(g->log, "[%zu] %s  median %.4g ms\n", g->n_done, c->name, r->ns_median * 1e-6);
            fflush(g->log);
        }
    }
    return PB_OK;
}

/* Whether row r measured cell c's variant (a row names its variant; the
 * default's name for the default). */
static int variant_matches(const BenchRow *r, const Cell *c) {
    const char *name = c->module->variants ? c->module->variants[c->variant] : "default";
    return strcmp(r->variant, name) == 0;
}

/* The row of prior measuring the same cell, or NULL. */
static const BenchRow *prior_row(const BenchResults *prior, const Cell *c) {
    for (size_t i = 0; prior && i < prior->n; i++) {
        const BenchRow *r = &prior->rows[i];
        if (r->batch == c->B && r->seq_len == c->T && r->dim == c->C && r->heads == c->H &&
            strcmp(r->encoding, c->module->name) == 0 && variant_matches(r, c) &&
            strcmp(r->scope, scope_names[c->scope]) == 0 && strcmp(r->pass, pass_names[c->pass]) == 0)
            return r;
    }
    return NULL;
}

int bench_heads_for(int C) { return C <= 64 ? 4 : 8; }

void bench_plan_init(BenchPlan *plan, int quick) {
    static const int full_lens[] = {64, 128, 256, 512, 1024, 2048, 4096};
    static const int quick_lens[] = {64, 256, 1024};
    static const int full_dims[] = {64, 256, 768};
    *plan = (BenchPlan){.batch = 8, .max_cell_bytes = (size_t)2 << 30, .profile = quick ? "quick" : "full"};
    const int *lens = quick ? quick_lens : full_lens;
    plan->n_lens = quick ? 3 : 7;
    memcpy(plan->lens, lens, sizeof(int) * plan->n_lens);
    plan->n_dims = quick ? 1 : 3;
    memcpy(plan->dims, full_dims, sizeof(int) * plan->n_dims);
}

void bench_reference(double *copy_gbytes_per_s, double *sgemm_gflops) {
    /* Copy: 256 MiB each way, touched first; the best of 5. */
    size_t n = (size_t)64 << 20;
    float *a = pb_alloc_floats(n, "copy source"), *b = pb_alloc_floats(n, "copy target");
    *copy_gbytes_per_s = *sgemm_gflops = 0;
    if (a && b) {
        double best = 1e30;
        for (int r = 0; r < 5; r++) {
            double t0 = now_seconds();
            memcpy(b, a, n * sizeof(float));
            double dt = now_seconds() - t0;
            best = dt < best ? dt : best;
            a[r] = b[n - 1 - r]; /* keep the copies observable */
        }
        *copy_gbytes_per_s = 2.0 * n * sizeof(float) / best / 1e9;
    }
    pb_free_large(a), pb_free_large(b);
    /* sgemm: 1024^3 with OpenBLAS's own threads; the best of 5. */
    int m = 1024;
    float *A = pb_alloc_floats((size_t)m * m, "sgemm A"), *B = pb_alloc_floats((size_t)m * m, "sgemm B"),
          *C = pb_alloc_floats((size_t)m * m, "sgemm C");
    if (A && B && C) {
        for (size_t i = 0; i < (size_t)m * m; i++) A[i] = 1e-3f * (float)(i % 97), B[i] = 1e-3f * (float)(i % 89);
        double best = 1e30;
        for (int r = 0; r < 5; r++) {
            double t0 = now_seconds();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0f, A, m, B, m, 0.0f, C, m);
            double dt = now_seconds() - t0;
            best = dt < best ? dt : best;
        }
        *sgemm_gflops = 2.0 * m * m * m / best / 1e9;
    }
    pb_free_large(A), pb_free_large(B), pb_free_large(C);
}

static PbStatus push_row(BenchResults *r, const BenchRow *row) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        BenchRow *p = realloc(r->rows, cap * sizeof *p);
        if (!p) return pb_fail(PB_NOMEM, "no memory for benchmark rows");
        r->rows = p, r->cap = cap;
    }
    r->rows[r->n++] = *row;
    return PB_OK;
}

/* The test knob (bench.h): the cell it names and its delay, if set. */
static void slow_cell_knob(char *name, size_t cap, double *factor) {
    const char *v = getenv("POSBENCH_TEST_SLOW_CELL"), *eq = v ? strrchr(v, '=') : NULL;
    *factor = eq ? atof(eq + 1) : 0;
    snprintf(name, cap, "%.*s", eq ? (int)(eq - v) : 0, eq ? v : "");
}

/* Adds cell c (already filled in) to the grid: skipped over the memory
 * budget, kept from prior, or registered with the library. */
static PbStatus grid_add(Grid *g, Cell *c, const BenchPlan *plan, const BenchResults *prior, BenchResults *out,
                         size_t *registered) {
    if (cell_floats(c, NULL) * sizeof(float) > plan->max_cell_bytes) {
        out->n_skipped++;
        return PB_OK;
    }
    snprintf(c->name, sizeof c->name, "%s/%s/%s%s%s/T:%d/C:%d", scope_names[c->scope], pass_names[c->pass],
             c->module->name, c->variant ? ":" : "", cell_variant(c), c->T, c->C);
    g->n++;
    const BenchRow *kept = prior_row(prior, c);
    if (kept) {
        c->row = *kept, c->prior = c->have_row = c->done = 1;
        g->n_done++;
        return PB_OK;
    }
    char slow[96];
    double factor;
    slow_cell_knob(slow, sizeof slow, &factor);
    if (strcmp(slow, c->name) == 0) c->slow_factor = factor;
    GbSpec spec = {.name = c->name, .fn = cell_kernel, .ctx = c, .use_real_time = 1};
    (*registered)++;
    return gb_register(&spec);
}

/* Variants measured of module m: all with plan->all_variants, else one. */
static int variants_of(const EncodingModule *m, const BenchPlan *plan) {
    int n = 1;
    if (plan->all_variants && m->variants)
        while (m->variants[n]) n++;
    return n;
}

/* Every cell of the plan, in grid order: width, length, encoding, variant,
 * scope, pass. */
static PbStatus grid_build(Grid *g, const BenchPlan *plan, const BenchResults *prior, BenchResults *out,
                           size_t *registered) {
    PbStatus st = PB_OK;
    for (int d = 0; !st && d < plan->n_dims; d++)
        for (int l = 0; !st && l < plan->n_lens; l++)
            for (size_t e = 0; !st && encoding_registry[e]; e++)
                for (int cell = 0; !st && cell < CELLS_PER_VARIANT * variants_of(encoding_registry[e], plan); cell++) {
                    Cell *c = &g->cells[g->n];
                    *c = (Cell){.module = encoding_registry[e],
                                .variant = cell / CELLS_PER_VARIANT,
                                .scope = cell % CELLS_PER_VARIANT / 2,
                                .pass = cell % 2,
                                .B = plan->batch,
                                .T = plan->lens[l],
                                .C = plan->dims[d],
                                .H = bench_heads_for(plan->dims[d])};
                    st = grid_add(g, c, plan, prior, out, registered);
                }
    return st;
}

/* A measured row's rates from its median time and the work model. */
static void row_rates(BenchRow *row) {
    double seconds = row->ns_median * 1e-9;
    int no_work = row->gflops_per_s == 0 && row->gbytes_per_s == 0;
    row->tokens_per_s = no_work ? NAN : (double)row->batch * row->seq_len / seconds;
    row->gflops_per_s = no_work ? NAN : row->gflops_per_s / seconds / 1e9;
    row->gbytes_per_s = no_work ? NAN : row->gbytes_per_s / seconds / 1e9;
    struct utsname un;
    snprintf(row->host, sizeof row->host, "%.*s", (int)sizeof row->host - 1, uname(&un) == 0 ? un.nodename : "?");
}

/* The rows of the grid's finished cells (kept ones as they were) into out. */
static PbStatus collect_rows(const Grid *g, BenchResults *out) {
    out->n_cells = 0; /* the cells the filter selects: run now or kept */
    for (size_t i = 0; i < g->n; i++) out->n_cells += g->cells[i].called || g->cells[i].prior;
    PbStatus st = PB_OK;
    for (size_t i = 0; !st && i < g->n; i++) {
        const Cell *c = &g->cells[i];
        BenchRow row = c->row;
        if (c->prior) {
            st = push_row(out, &row);
            continue;
        }
        if (!c->have_row || !c->done || c->errored || row.ns_median <= 0) continue;
        row_rates(&row);
        st = push_row(out, &row);
    }
    return st;
}

PbStatus bench_run(const BenchPlan *plan, const BenchResults *prior, BenchResults *out, GbConsole console, FILE *log) {
    *out = (BenchResults){.copy_gbytes_per_s = NAN, .sgemm_gflops = NAN};
    size_t max_cells = 0;
    for (size_t e = 0; encoding_registry[e]; e++)
        max_cells += CELLS_PER_VARIANT * (size_t)variants_of(encoding_registry[e], plan);
    max_cells *= (size_t)plan->n_lens * plan->n_dims;
    Grid grid = {calloc(max_cells, sizeof(Cell)), 0, 0, log};
    if (!grid.cells) return pb_fail(PB_NOMEM, "no memory for the benchmark grid");
    PbStatus st = gb_clear();
    size_t registered = 0;
    if (!st) st = grid_build(&grid, plan, prior, out, &registered);
    if (!st && registered) st = gb_run(report, &grid, console);
    if (current) cell_release(current);
    current = NULL;
    if (!st) st = collect_rows(&grid, out);
    gb_clear();
    free(grid.cells);
    if (!st && !interrupt_requested()) bench_reference(&out->copy_gbytes_per_s, &out->sgemm_gflops);
    out->complete = !interrupt_requested();
    if (!out->complete) out->copy_gbytes_per_s = out->sgemm_gflops = NAN;
    return st;
}

void bench_row_spec(const BenchRow *r, char *out, size_t cap) {
    const EncodingModule *m = encoding_find(r->encoding);
    int is_default = !m || !m->variants || strcmp(r->variant, m->variants[0]) == 0 || !*r->variant;
    snprintf(out, cap, "%s%s%s", r->encoding, is_default ? "" : ":", is_default ? "" : r->variant);
}

void bench_results_free(BenchResults *r) {
    free(r->rows);
    *r = (BenchResults){0};
}
