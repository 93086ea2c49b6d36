/* cmd_bench.c: `posbench bench`: throughput and memory of every encoding into
 * an HDF5 file. Google Benchmark's --benchmark_* flags pass through; posbench
 * supplies repetitions and min_time defaults only when they are not given.
 *
 * Interrupt (SIGINT, SIGTERM; core/interrupt.h): the cells measured so far
 * go to the output file with the root attribute complete = 0, and
 * `--resume FILE` later measures the rest and rewrites FILE complete. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/safe_file.h"
#include "../../core/interrupt.h"
#include "args.h"
#include "../results/blas_kernel.h"
#include "../bench/bench.h"
#include "../results/bench_h5.h"
#include "commands.h"
#include "gen_options.h"
#include "../results/h5io.h"
#include "../report/kinds.h"

static int has_flag(int argc, char **argv, const char *prefix) {
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], prefix, strlen(prefix)) == 0) return 1;
    return 0;
}

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The --benchmark_* flags in effect, sorted, space-separated (recorded in the
 * file; a resume must give the same). */
static void flags_text(char *out, size_t cap, char **gb, int n_gb) {
    char *sorted[64];
    int n = 0;
    for (int i = 1; i < n_gb && n < 64; i++) sorted[n++] = gb[i];
    qsort(sorted, (size_t)n, sizeof *sorted, by_text);
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < n && len < cap; i++) len += snprintf(out + len, cap - len, "%s%s", i ? " " : "", sorted[i]);
}

/* The file to resume: a bench file, incomplete, measured with this plan.
 * *done: it is complete already. */
static PbStatus read_prior(const char *path, const BenchPlan *plan, BenchResults *prior, int *done) {
    hid_t f;
    const ResultKind *kind;
    long long complete = 1;
    *done = 0;
    PbStatus st = result_open(&f, &kind, path);
    if (st) return st;
    if (strcmp(kind->kind, "bench") != 0)
        st = pb_fail(PB_USAGE, "--resume %s: it is a '%s' file, not a bench file", path, kind->kind);
    if (!st) st = bench_h5_check_resume(f, path, plan);
    if (!st) st = bench_h5_read(f, path, prior);
    if (!st && !h5_read_attr_int(f, "complete", &complete) && complete) *done = 1;
    if (!st && H5Aexists(f, "complete") <= 0) *done = 1; /* written before interrupts were kept */
    H5Fclose(f);
    return st;
}

typedef struct {
    char **ours, **gb; /* our words; Google Benchmark's (after "posbench") */
    int n_ours, n_gb;
    int quick, force, variants;
    const char *out, *resume;
} BenchArgs;

/* Split: --benchmark_* words go to Google Benchmark, the rest are ours. */
static PbStatus split_args(BenchArgs *a, int argc, char **argv) {
    a->ours = calloc((size_t)argc + 1, sizeof *a->ours);
    a->gb = calloc((size_t)argc + 4, sizeof *a->gb);
    if (!a->ours || !a->gb) return pb_fail(PB_NOMEM, "no memory for arguments");
    a->gb[a->n_gb++] = "posbench";
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "--benchmark_", 12) == 0) a->gb[a->n_gb++] = argv[i];
        else a->ours[a->n_ours++] = argv[i];
    return PB_OK;
}

static void bench_args_free(BenchArgs *a) {
    free(a->ours);
    free(a->gb);
}

static PbStatus parse_args(BenchArgs *a, int *help) {
    const ArgSpec options[] = {
        {"--quick", NULL, ARG_FLAG, &a->quick, 0, 0, NULL, NULL,
         "the quick profile (about a minute): T 64/256/1024, C 64"},
        {"--variants", NULL, ARG_FLAG, &a->variants, 0, 0, NULL, NULL,
         "every variant of each encoding (rope:half, alibi:symmetric, ...), not only the default"},
        {"--output", "-o", ARG_STRING, &a->out, 0, 0, NULL, "FILE.h5",
         "results file (default results/bench-<UTC time>.h5)"},
        {"--force", NULL, ARG_FLAG, &a->force, 0, 0, NULL, NULL, "replace an existing results file"},
        {"--resume", NULL, ARG_STRING, &a->resume, 0, 0, NULL, "FILE.h5",
         "finish an interrupted bench: measure the cells FILE lacks (same options), rewrite FILE (or -o)"},
        {NULL},
    };
    const ArgCommand cmd = {"bench",
                            "[--quick] [--variants] [-o FILE.h5] [--force] [--resume FILE.h5] [--benchmark_*=...]",
                            "Measures every registered encoding's throughput and memory (its own hooks, and one\n"
                            "causal attention layer with it in place), forward and backward, over sequence\n"
                            "lengths and widths, with Google Benchmark; writes HDF5. Google Benchmark's own\n"
                            "--benchmark_* flags (filter, repetitions, min_time, out, ...) pass through.",
                            options,
                            0,
                            0};
    const char *pos[1];
    int npos;
    PbStatus st = args_parse(&cmd, a->n_ours, a->ours, pos, &npos, help);
    return st;
}

/* Google Benchmark's flags, with posbench's defaults where not given;
 * recorded, sorted, in flags. */
static PbStatus init_gbench(BenchArgs *a, char *flags, size_t cap) {
    if (!has_flag(a->n_gb, a->gb, "--benchmark_repetitions")) a->gb[a->n_gb++] = "--benchmark_repetitions=3";
    if (!has_flag(a->n_gb, a->gb, "--benchmark_min_time"))
        a->gb[a->n_gb++] = a->quick ? "--benchmark_min_time=0.02" : "--benchmark_min_time=0.1";
    flags_text(flags, cap, a->gb, a->n_gb);
    PbStatus st = gb_initialize(&a->n_gb, a->gb);
    if (!st && a->n_gb > 1) st = pb_fail(PB_USAGE, "bench: unexpected argument '%s'", a->gb[1]);
    return st;
}

/* The cells (with --resume, those its file lacks). *done: that file is
 * complete already (said on stdout; nothing measured). */
static PbStatus measure(const BenchArgs *a, const BenchPlan *plan, BenchResults *results, int *done) {
    BenchResults prior = {0};
    PbStatus st = a->resume ? read_prior(a->resume, plan, &prior, done) : PB_OK;
    if (!st && *done) {
        printf("%s is complete (%zu cells); nothing to resume\n", a->resume, prior.n);
        bench_results_free(&prior);
        return finish_stdout();
    }
    const int tty = isatty(STDOUT_FILENO);
    if (!st) {
        interrupt_install();
        st = bench_run(plan, a->resume ? &prior : NULL, results, tty ? GB_CONSOLE_AUTO : GB_CONSOLE_QUIET,
                       tty ? NULL : stderr);
    }
    bench_results_free(&prior);
    if (!st && results->complete && results->n == 0)
        st = pb_fail(PB_USAGE, "bench: no cell was measured (check --benchmark_filter)");
    return st;
}

static PbStatus write_bench(const char *out, int force, const BenchPlan *plan, const BenchResults *results) {
    H5Out file;
    PbStatus st = h5out_create(&file, out, force);
    if (st) return st;
    st = h5_write_provenance(file.file);
    if (!st) st = h5_attr_int(file.file, "complete", results->complete);
    if (!st) st = h5_attr_string(file.file, "kind", "bench");
    if (!st) st = h5_attr_int(file.file, "schema_version", BENCH_SCHEMA_VERSION);
    if (!st) st = bench_h5_write(file.file, plan, results);
    if (!st) st = h5out_commit(&file);
    else h5out_abort(&file);
    return st;
}

static PbStatus bench(BenchArgs *a) {
    char default_out[128];
    if (!a->out && a->resume) a->out = a->resume; /* --resume replaces FILE: what it asks for */
    if (a->resume && strcmp(a->out, a->resume) == 0) a->force = 1;
    if (!a->out) gen_default_output(default_out, sizeof default_out, "bench"), a->out = default_out;
    /* Refuse an existing file before spending minutes measuring. */
    PbStatus st = safe_target_check(a->out, a->force);
    char flags[2048] = "";
    if (!st) st = init_gbench(a, flags, sizeof flags);
    if (st) return st;
    BenchPlan plan;
    BenchResults results = {0};
    bench_plan_init(&plan, a->quick);
    plan.benchmark_flags = flags;
    plan.all_variants = a->variants;
    int done = 0;
    st = measure(a, &plan, &results, &done);
    if (!st && !done) st = write_bench(a->out, a->force, &plan, &results);
    if (st || done) return bench_results_free(&results), st;
    if (!results.complete) {
        fprintf(stderr, "posbench bench: interrupted: %zu of %zu cells kept in %s; continue with --resume %s\n",
                results.n, results.n_cells, a->out, a->out);
        bench_results_free(&results);
        bench_args_free(a);
        interrupt_exit();
    }
    printf("wrote %s: %zu cells (%d over the memory budget, skipped); copy %.1f GB/s, sgemm %.1f GFLOP/s\n", a->out,
           results.n, results.n_skipped, results.copy_gbytes_per_s, results.sgemm_gflops);
    char warning[768];
    blas_peak_warning(warning, sizeof warning, results.sgemm_gflops, openblas_get_num_threads());
    if (*warning) fprintf(stderr, "posbench bench: %s\n", warning);
    bench_results_free(&results);
    return finish_stdout();
}

PbStatus cmd_bench(int argc, char **argv) {
    BenchArgs a = {0};
    int help = 0;
    PbStatus st = split_args(&a, argc, argv);
    if (!st) st = parse_args(&a, &help);
    if (!st && !help) st = bench(&a);
    bench_args_free(&a);
    return st;
}
