/* gbench.h: Google Benchmark (1.7) for C callers.
 *
 * The rest of posbench is C; Google Benchmark is C++. gbench.cc is the one
 * C++ translation unit between them: C kernels register here, run under the
 * library's timing loop, and every result comes back as a plain C struct.
 * Google Benchmark's own --benchmark_* flags (filter, repetitions, min_time,
 * out, format, ...) pass through gb_initialize unchanged.
 *
 *   static void sum_kernel(GbState *s, void *ctx) {
 *       const float *x = ctx; int64_t n = gb_range(s, 0);
 *       while (gb_keep_running(s)) sink(sum(x, n));
 *       gb_set_items_processed(s, gb_iterations(s) * n);
 *   }
 *   GbSpec spec = {.name = "sum", .fn = sum_kernel, .ctx = x,
 *                  .args = {4096}, .n_args = 1};
 *   gb_register(&spec);
 *   gb_run(on_result, results, GB_CONSOLE_AUTO);
 *
 * Rules a kernel follows (the library's, checked here so that breaking one
 * gives an error run rather than an abort):
 *   - loop until gb_keep_running / gb_keep_running_batch returns 0, then
 *     return; do not call it again after it returned 0;
 *   - gb_pause_timing / gb_resume_timing only inside that loop, in pairs;
 *   - after gb_skip_with_error, leave the loop (it ends at the next check).
 *
 * Timing: "real" is wall-clock time, "cpu" the CPU time of the calling thread
 * only. A kernel that runs on OpenMP or OpenBLAS threads therefore shows a
 * CPU time far below its real time; such kernels set use_real_time, so that
 * iteration counts and items/s come from wall-clock time.
 *
 * Not thread-safe: register, run and clear from one thread.
 */
#ifndef POSBENCH_GBENCH_H
#define POSBENCH_GBENCH_H

#ifdef __cplusplus
#include <cstddef>
#include <cstdint>
extern "C" {
#else
#include <stdint.h>
#endif

#include "../../core/status.h"

/* Most arguments one benchmark takes (GbSpec.args, GbRun.args). */
#define GB_MAX_ARGS 8

/* The running benchmark, handed to a kernel; valid only during that call. */
typedef struct GbState GbState;

/* A kernel: receives the ctx pointer of its GbSpec, unchanged. */
typedef void (*GbFn)(GbState *state, void *ctx);

/* One benchmark to register. Zero fields mean "the default": a zero-
 * initialised spec with name and fn set is a valid registration. */
typedef struct {
    const char *name; /* run names start with it; copied */
    GbFn fn;
    void *ctx;                 /* passed to fn as is; may be NULL */
    int64_t args[GB_MAX_ARGS]; /* read with gb_range; appear in the run
                                    name as name/a0/a1/... */
    int n_args;                /* 0..GB_MAX_ARGS */
    int use_real_time;         /* 1: wall-clock time drives the iteration
                                    count and rates (threaded kernels) */
    int repetitions;           /* 0: --benchmark_repetitions decides */
    double min_time;           /* seconds; 0: --benchmark_min_time decides */
    int64_t iterations;        /* exact count; 0: automatic (the library
                                    grows it until min_time is reached) */
} GbSpec;

/* Registers a copy of *spec (name and args are copied; ctx is not).
 * PB_USAGE for a missing name or fn, or iterations together with min_time;
 * PB_RANGE for out-of-range counts; PB_USAGE during gb_run. */
PbStatus gb_register(const GbSpec *spec);

/* Forgets every registered benchmark. PB_USAGE if called during gb_run. */
PbStatus gb_clear(void);

/* ---- inside a kernel ---------------------------------------------------- */

/* 1 while the kernel should run one more iteration, then 0 (timing stops).
 * Costs a function call per iteration (about 2 ns here, and it is timed):
 * kernels shorter than about 100 ns use gb_keep_running_batch. */
int gb_keep_running(GbState *state);
/* 1 while the kernel should run n more iterations (n >= 1); may overshoot
 * the iteration count by up to n - 1, which gb_iterations includes. */
int gb_keep_running_batch(GbState *state, int64_t n);

/* Argument i of the spec. An i out of range makes the run an error run
 * (with a message naming the benchmark) and returns 0. */
int64_t gb_range(GbState *state, int i);
/* Iterations completed so far (after the loop: all of them). */
int64_t gb_iterations(GbState *state);

/* Totals over all iterations, set after the loop; reported as the counters
 * "items_per_second" and "bytes_per_second". */
void gb_set_items_processed(GbState *state, int64_t items);
void gb_set_bytes_processed(GbState *state, int64_t bytes);

/* How a counter's value is turned into the reported one (flags combine). */
typedef enum {
    GB_COUNTER_PLAIN = 0,                    /* reported as set */
    GB_COUNTER_RATE = 1 << 0,                /* divided by the run's seconds */
    GB_COUNTER_ITERATION_INVARIANT = 1 << 1, /* multiplied by iterations */
    GB_COUNTER_AVG_ITERATIONS = 1 << 2,      /* divided by iterations */
    GB_COUNTER_INVERT = 1 << 3,              /* 1/x, applied last */
    GB_COUNTER_KIBI = 1 << 4,                /* console shows k = 1024 */
} GbCounterFlags;

/* Sets (or replaces) the user counter `name`; flags are GbCounterFlags.
 * Unknown flag bits or a NULL name make the run an error run. */
void gb_set_counter(GbState *state, const char *name, double value, unsigned flags);

/* Excludes set-up inside the loop from the timing; pairs, inside the loop.
 * A pause/resume pair reads the wall and thread-CPU clocks and adds about
 * 1 us to the timed iteration here: use it only for set-up far above that. */
void gb_pause_timing(GbState *state);
void gb_resume_timing(GbState *state);

/* Marks this run as failed with `message` (copied); the loop ends at its
 * next gb_keep_running. The run is reported with error set, no timing. */
void gb_skip_with_error(GbState *state, const char *message);

/* ---- flags, running, results -------------------------------------------- */

/* Takes every "--benchmark_*" argument out of argv (argc shrinks, argv stays
 * NULL-terminated, the order of the others is kept) and hands them to Google
 * Benchmark. PB_USAGE, naming the argument, for one the library does not
 * know or cannot parse, and for values that would make the library print its
 * usage and exit (--benchmark_format=xml, an unknown --benchmark_time_unit,
 * an empty --benchmark_color), including the BENCHMARK_FORMAT-style
 * environment variables the library reads. On error argv is left unchanged,
 * though flags before the bad one may already be in effect.
 * May be called again; each flag keeps its last value. */
PbStatus gb_initialize(int *argc, char **argv);

/* A user counter of a run. */
typedef struct {
    const char *name;
    double value; /* after its flags (rates per second) */
} GbCounter;

/* One result: a repetition of a benchmark, or an aggregate over them. All
 * pointers are valid only during the report callback. */
typedef struct {
    const char *family;        /* the registered GbSpec.name */
    const char *run_name;      /* name/args plus modifiers the library
                                    adds: "attn/512/min_time:0.050/repeats:3/
                                    real_time" */
    const char *name;          /* run_name, plus "_mean" etc. for an
                                    aggregate (as in the library's JSON) */
    int64_t args[GB_MAX_ARGS]; /* the spec's args */
    int n_args;
    const char *aggregate;     /* "" for a repetition; "mean", "median",
                                    "stddev" or "cv" for an aggregate */
    int64_t repetition_index;  /* 0-based; -1 for an aggregate */
    int64_t repetitions;       /* of this benchmark */
    int64_t iterations;        /* of this repetition; for an aggregate,
                                    the number of repetitions it summarises */
    double real_ns_per_iter;   /* wall-clock ns per iteration */
    double cpu_ns_per_iter;    /* calling thread's CPU ns per iteration */
    int time_is_ratio;         /* 1 for "cv": the two fields above hold
                                    stddev/mean (0.02 = 2%), not ns, and so
                                    do the counters */
    const GbCounter *counters; /* sorted by name; for an aggregate, that
                                    statistic of each counter */
    int n_counters;
    int error;                 /* 1: skipped with an error; no timing */
    const char *error_message; /* "" unless error */
} GbRun;

/* Receives each result. A status other than PB_OK (with pb_fail's message)
 * stops the reporting: the remaining benchmarks are skipped, and gb_run
 * returns that status. */
typedef PbStatus (*GbReportFn)(const GbRun *run, void *ctx);

/* What gb_run prints on stdout (results reach the callback in every mode). */
typedef enum {
    GB_CONSOLE_AUTO,  /* per --benchmark_format (console, json, csv); the
                          console table in colour only when stdout is a
                          terminal, unless --benchmark_color says otherwise */
    GB_CONSOLE_PLAIN, /* the same, never in colour */
    GB_CONSOLE_QUIET, /* nothing (--benchmark_out still writes its file) */
} GbConsole;

/* Runs every registered benchmark that matches --benchmark_filter, in
 * registration order, calling report (may be NULL) for every repetition and
 * aggregate, in the order the library reports them (with
 * --benchmark_display_aggregates_only, only the aggregates).
 * PB_USAGE if nothing is registered or nothing matches the filter (the
 * message includes the library's, e.g. for a bad regex); PB_IO if the
 * --benchmark_out file cannot be opened; the callback's status if it fails;
 * PB_NOMEM / PB_INTERNAL for a C++ exception. Unless quiet, the library
 * prints its machine-context header to stderr; with Debian's build it ends in
 * "***WARNING*** Library was built as DEBUG. Timings may be affected.", which
 * is harmless here (see gbench.cc). */
PbStatus gb_run(GbReportFn report, void *ctx, GbConsole console);

/* The value of counter `name` of a run, or NULL if it has none. */
const double *gb_run_counter(const GbRun *run, const char *name);

#ifdef __cplusplus
}
#endif

#endif
