/* main.c: the posbench command line: dispatch to a subcommand, print its
 * error (one line on stderr) and exit. The only place that exits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "../results/blas_kernel.h"
#include "../results/h5io.h"
#include "../sweep/mpi_sweep.h"
#include "version.h"

char *openblas_get_corename(void);

static const Subcommand subcommands[] = {
    {"run", "the main job: bench, length generalization, a synthetic task, plots, summary", cmd_run},
    {"tokenize", "text to token ids", cmd_tokenize},
    {"detokenize", "token ids back to text", cmd_detokenize},
    {"batches", "sliding-window batches of a text, as JSON lines", cmd_batches},
    {"embed", "the seed notebook walk-through: ids, batches, embeddings", cmd_embed},
    {"list", "the registered encodings: hooks, parameters, length policy", cmd_list},
    {"export", "an encoding's defining tensors to HDF5", cmd_export},
    {"bench", "throughput and memory of every encoding (Google Benchmark) to HDF5", cmd_bench},
    {"plot", "plots from a posbench HDF5 file (PNG and SVG, with gnuplot)", cmd_plot},
    {"show", "a readable summary of a posbench HDF5 file", cmd_show},
    {"compare", "what changed between two results files, with significance tests", cmd_compare},
    {"train", "train the probe transformer with one encoding; HDF5 checkpoint", cmd_train},
    {"generalize", "train short, evaluate long: loss, perplexity, task accuracy to HDF5", cmd_generalize},
    {NULL, NULL, NULL},
};

static void print_usage(FILE *f) {
    fprintf(f,
            "posbench %s: how do positional encodings for transformers compare?\n\n"
            "usage: posbench COMMAND [OPTIONS]   (posbench COMMAND --help for its options)\n\n"
            "commands:\n",
            POSBENCH_VERSION);
    for (const Subcommand *c = subcommands; c->name; c++) fprintf(f, "  %-12s %s\n", c->name, c->summary);
}

/* libgomp reads its waiting policy once, when it loads. Left alone, an idle
 * worker spins for 300000 pauses (milliseconds) after every parallel region,
 * stealing a core from any other thread that needs it (OpenBLAS's own pool,
 * another process): on machines with few cores that made training 4-6x
 * slower (measured on 2 cores). Sleeping at once costs a futex wake-up at
 * each of the ~100 regions of a step, since the OpenMP team runs the
 * products itself (model.c): a short spin is best (docs/performance.md,
 * "Threads": GOMP_SPINCOUNT=10000 beat passive waiting by about 9% at
 * T 128). So posbench re-executes itself once with that bound unless the
 * user chose a policy or a spin count. If exec fails it simply carries on. */
static int prefer_short_spin(void) {
    return !getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT") && setenv("GOMP_SPINCOUNT", "10000", 1) == 0;
}

/* OpenBLAS also chooses its kernel once, at load: a weaker one than the CPU
 * supports (blas_kernel.h) is replaced by re-executing with
 * OPENBLAS_CORETYPE set, unless the user set it. */
static int prefer_full_kernel(void) {
    if (getenv(BLAS_KERNEL_REPLACED_ENV)) return 0; /* done once already */
    const char *current = openblas_get_corename();
    const char *better = blas_kernel_replacement(current, cpu_features(), getenv("OPENBLAS_CORETYPE"));
    return better && setenv(BLAS_KERNEL_REPLACED_ENV, current, 1) == 0 && setenv("OPENBLAS_CORETYPE", better, 1) == 0;
}

/* One re-execution for both; if exec fails it simply carries on. */
static void reexec_if_needed(char **argv) {
    const int spin = prefer_short_spin(), kernel = prefer_full_kernel();
    if (!spin && !kernel) return;
    fflush(NULL);
    execv("/proc/self/exe", argv);
}

PbStatus finish_stdout(void) {
    if (fflush(stdout) != 0 || ferror(stdout)) return pb_fail(PB_IO, "cannot write to standard output");
    return PB_OK;
}

/* Runs one subcommand; its exit status. */
static int run_subcommand(const Subcommand *c, int argc, char **argv) {
    const char *name = c->name;
    if (pbmpi_active() && strcmp(name, "generalize") != 0 && strcmp(name, "run") != 0) {
        if (pbmpi_rank() == 0)
            fprintf(stderr,
                    "posbench %s: error: only generalize and run share their work across MPI ranks; "
                    "run %s as one process (without mpirun)\n",
                    name, name);
        pbmpi_finalize();
        return 2;
    }
    PbStatus st = c->run(argc - 2, argv + 2);
    const int code = st == PB_OK ? 0 : st == PB_INTERNAL || st == PB_CHECK ? 1 : 2;
    if (st != PB_OK) {
        char where[64] = "";
        if (pbmpi_active() && pbmpi_rank() > 0) snprintf(where, sizeof where, " (rank %d)", pbmpi_rank());
        fprintf(stderr, "posbench %s%s: error: %s\n", name, where, *pb_errmsg() ? pb_errmsg() : pb_status_name(st));
    }
    /* Rank 0 failing mid-sweep would leave the workers waiting. */
    if (st != PB_OK && pbmpi_workers_waiting()) pbmpi_abort(code);
    pbmpi_finalize();
    return code;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    reexec_if_needed(argv);
    /* After the re-execution, and only under mpirun or srun: a plain run
     * never touches MPI (harness/sweep/mpi_sweep.h). */
    if (pbmpi_init(&argc, &argv) != PB_OK) {
        fprintf(stderr, "posbench %s: error: %s\n", name, pb_errmsg());
        return 2;
    }
    h5_quiet();
    /* Past a file-size limit (ulimit -f) a write should fail with EFBIG and
     * be reported like a full disk, not kill the process mid-file. */
    signal(SIGXFSZ, SIG_IGN);
    h5_set_command_line(argc, argv);
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_usage(stdout);
        pbmpi_finalize();
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("posbench %s (commit %s, %s)\n", POSBENCH_VERSION, POSBENCH_GIT_COMMIT, POSBENCH_BUILD_TYPE);
        pbmpi_finalize();
        return 0;
    }
    for (const Subcommand *c = subcommands; c->name; c++)
        if (strcmp(c->name, name) == 0) return run_subcommand(c, argc, argv);
    fprintf(stderr, "posbench: error: unknown command '%s' (see posbench --help)\n", name);
    pbmpi_finalize();
    return 2;
}
