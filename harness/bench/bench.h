/* bench.h: throughput and memory of every registered encoding, measured with
 * Google Benchmark (harness/bench/gbench.h) over a grid of shapes.
 *
 * Cells: encoding (default variant, or every variant) x scope x pass x
 * sequence length T x width C, batch B, heads H = 4 for C = 64 and 8
 * otherwise. A cell is named scope/pass/SPEC/T:T/C:C, SPEC the canonical
 * encoding spec ("rope", "rope:half").
 *   scope "op"         the encoding's own work alone: embed on x [B,T,C],
 *                      rotate_qk on q, k [B,T,C], attn_bias and score on
 *                      every causal row segment of B x H x T rows (none: an
 *                      empty pass)
 *   scope "attention"  one causal self-attention layer with the encoding in
 *                      place (harness/model/attention.h), training path,
 *                      keeping [B,H,T,T] probabilities for backward
 *   scope "tiled"      the same layer trained in linear memory: row
 *                      statistics kept, probabilities recomputed in
 *                      backward (attention.h, "training in linear memory");
 *                      what an encoding costs in a fused kernel
 * A cell whose buffers would exceed the plan's memory budget is not run
 * (attention keeps [B,H,T,T] probabilities for backward) and is listed as
 * skipped. Every cell is timed in wall-clock time (attention is threaded).
 */
#ifndef POSBENCH_BENCH_H
#define POSBENCH_BENCH_H

#include <stddef.h>
#include <stdio.h>

#include "../../core/status.h"
#include "gbench.h"

#define BENCH_MAX_LENS 16
#define BENCH_MAX_DIMS 4
#define BENCH_NAME 32
#define BENCH_HOST 64
/* Repetitions kept per cell, each one's time (more are measured, not kept). */
#define BENCH_MAX_REPS 100

typedef struct {
    int batch;
    int n_lens, lens[BENCH_MAX_LENS];
    int n_dims, dims[BENCH_MAX_DIMS];
    size_t max_cell_bytes;       /* memory budget of one cell's buffers */
    const char *profile;         /* "quick" or "full" */
    int all_variants;            /* 1: every variant of each encoding; 0: the default */
    const char *benchmark_flags; /* the --benchmark_* flags in effect, as one
                                    string (recorded; a resume must match) */
} BenchPlan;

/* The full grid (T 64..4096, C 64/256/768) or the quick one (about a minute
 * on 2 cores: T 64/256/1024, C 64). */
void bench_plan_init(BenchPlan *plan, int quick);

/* Heads used with width C. */
int bench_heads_for(int C);

/* One measured cell: a row of /bench/throughput and of /bench/memory. */
typedef struct {
    char encoding[BENCH_NAME], variant[BENCH_NAME], scope[BENCH_NAME], pass[BENCH_NAME];
    int batch, seq_len, dim, heads, repetitions;
    double ns_median, ns_mean, ns_stddev, cv; /* per iteration (one pass) */
    double tokens_per_s, gbytes_per_s, gflops_per_s;
    double param_bytes, activation_bytes, peak_heap_bytes, peak_rss_bytes;
    char host[BENCH_HOST];         /* the machine that measured it (uname) */
    int n_rep_ns;                  /* repetitions kept below: 0 in files that predate them */
    double rep_ns[BENCH_MAX_REPS]; /* each repetition's ns per pass, in the order run
                                      (what a significance test compares) */
} BenchRow;

typedef struct {
    BenchRow *rows;
    size_t n, cap;
    int n_skipped;            /* cells over the memory budget */
    double copy_gbytes_per_s; /* reference: memcpy, bytes read + written */
    double sgemm_gflops;      /* reference: OpenBLAS sgemm 1024^3 */
    size_t n_cells;           /* cells the --benchmark_filter selects within the
                                 budget (M): measured now, kept, or skipped
                                 after an interrupt */
    int complete;             /* 0: interrupted (core/interrupt.h); rows holds
                                 the cells measured before, references NaN */
} BenchResults;

/* Registers every cell of the plan and runs them (honouring the
 * --benchmark_* flags given to gb_initialize), then the two references.
 * prior (may be NULL): rows of an interrupted run; those cells are not run
 * again and their rows are kept as they are (resume). Rows come out in
 * grid order either way.
 * Interrupt: stops between cells (a cell being measured is dropped), skips
 * the references, returns PB_OK with complete = 0.
 * Progress: Google Benchmark's table on a terminal per `console`; log (may be
 * NULL): one line per finished cell, "[k] NAME  median ..." (k counts kept
 * cells too).
 * Testing: POSBENCH_TEST_SLOW_CELL=NAME=FACTOR in the environment makes
 * every pass of the cell named NAME ("attention/forward/rope/T:64/C:64")
 * take FACTOR times as long (it spins the difference), so tests can check
 * that a comparison flags a slowed cell in any build. */
PbStatus bench_run(const BenchPlan *plan, const BenchResults *prior, BenchResults *out, GbConsole console, FILE *log);
void bench_results_free(BenchResults *r);

/* Row r's encoding as a spec (encodings/encoding.h): its name, with
 * ":variant" when the variant is not the module's default. */
void bench_row_spec(const BenchRow *r, char *out, size_t cap);

/* Measures the physical references (also used by bench_run). */
void bench_reference(double *copy_gbytes_per_s, double *sgemm_gflops);

#endif
