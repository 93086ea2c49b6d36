/* cmd_show.c: `posbench show FILE.h5`: a readable summary of a results file.
 *
 * Everything it prints is one printable line per field: strings from the file
 * come sanitized from the readers (h5io.h, bench_h5.h), and the file name
 * from the command line is sanitized here (core/text.h), so a file cannot
 * send escape sequences to the terminal or forge lines of the summary. */
#include <stdio.h>
#include <string.h>

#include "../../core/text.h"
#include "args.h"
#include "../results/bench_h5.h"
#include "commands.h"
#include "../train/generalize.h"
#include "../results/h5io.h"
#include "../report/show.h"

static void show_provenance(hid_t file) {
    static const char *const keys[] = {"posbench_version", "git_commit", "created_utc", "host",
                                       "cpu_model", "command_line"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char v[512];
        if (!h5_read_attr_string(file, keys[i], v, sizeof v)) printf("%-17s %s\n", keys[i], v);
    }
}

static PbStatus show_bench(hid_t file, const char *path) {
    BenchResults r;
    PbStatus st = bench_h5_read(file, path, &r);
    if (st) return st;
    printf("references: copy %.1f GB/s, sgemm %.1f GFLOP/s\n\n", r.copy_gbytes_per_s, r.sgemm_gflops);
    printf("%-9s %-8s %-17s %5s %4s %2s %11s %6s %10s %8s %8s %10s %10s\n", "scope", "pass", "encoding",
           "T", "C", "H", "median ms", "cv %", "ktok/s", "GB/s", "GFLOP/s", "act MiB", "heap MiB");
    for (size_t i = 0; i < r.n; i++) {
        const BenchRow *w = &r.rows[i];
        printf("%-9s %-8s %-17s %5d %4d %2d %11.4f %6.1f %10.2f %8.2f %8.2f %10.1f %10.1f\n", w->scope,
               w->pass, w->encoding, w->seq_len, w->dim, w->heads, w->ns_median / 1e6, 100 * w->cv,
               w->tokens_per_s / 1e3, w->gbytes_per_s, w->gflops_per_s, w->activation_bytes / 1048576.0,
               w->peak_heap_bytes / 1048576.0);
    }
    bench_results_free(&r);
    return PB_OK;
}

PbStatus cmd_show(int argc, char **argv) {
    const ArgCommand cmd = {"show", "FILE.h5", "Prints a readable summary of a posbench HDF5 file.", NULL, 1, 1};
    const char *pos[1];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st) return st;
    if (help) return args_print_help(&cmd, stdout), PB_OK;
    hid_t file;
    char kind[64], name[4096];
    if ((st = h5in_open_results(&file, kind, sizeof kind, pos[0]))) return st;
    text_sanitize_copy(name, sizeof name, pos[0]); /* printed, never opened */
    printf("%s: %s\n", name, kind);
    show_provenance(file);
    printf("\n");
    long long complete = 1;
    if (strcmp(kind, "bench") == 0 && !h5_read_attr_int(file, "complete", &complete) && !complete)
        printf("INCOMPLETE: interrupted; the cells not measured are missing (continue with --resume %s)\n\n",
               name);
    if (strcmp(kind, "bench") == 0) st = show_bench(file, name);
    else if (strcmp(kind, "generalize") == 0) st = gen_show(file, name, stdout);
    else if (strcmp(kind, "run") == 0) {
        st = h5_exists(file, "bench") ? show_bench(file, name) : PB_OK;
        if (!st) printf("\n"), st = gen_show(file, name, stdout);
    }
    else if (strcmp(kind, "encoding_export") != 0)
        st = pb_fail(PB_DATA, "'%s': this posbench cannot show files of kind '%s'", name, kind);
    H5Fclose(file);
    return st ? st : finish_stdout();
}
