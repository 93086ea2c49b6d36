/* show_bench.c: the `posbench show` table of a benchmark file: one row per
 * cell (scope, pass, encoding, shape; median time, spread, throughput,
 * memory), after the machine's reference figures. */
#include <stdio.h>
#include <string.h>

#include "../results/bench_h5.h"
#include "../results/h5io.h"
#include "show.h"

PbStatus show_bench(hid_t file, const char *path, FILE *out) {
    BenchResults r;
    PbStatus st = bench_h5_read(file, path, &r);
    if (st) return st;
    long long complete = 1;
    char kind[16] = "";
    h5_read_attr_string(file, "kind", kind, sizeof kind); /* a run file says INCOMPLETE in gen_show */
    if (!strcmp(kind, "bench") && !h5_read_attr_int(file, "complete", &complete) && !complete)
        fprintf(out, "INCOMPLETE: interrupted; the cells not measured are missing (continue with --resume %s)\n\n",
                path);
    fprintf(out, "references: copy %.1f GB/s, sgemm %.1f GFLOP/s\n\n", r.copy_gbytes_per_s, r.sgemm_gflops);
    fprintf(out, "%-9s %-8s %-24s %5s %4s %2s %11s %6s %10s %8s %8s %10s %10s\n", "scope", "pass", "encoding", "T", "C",
            "H", "median ms", "cv %", "ktok/s", "GB/s", "GFLOP/s", "act MiB", "heap MiB");
    for (size_t i = 0; i < r.n; i++) {
        const BenchRow *w = &r.rows[i];
        char spec[2 * BENCH_NAME];
        bench_row_spec(w, spec, sizeof spec);
        fprintf(out, "%-9s %-8s %-24s %5d %4d %2d %11.4f %6.1f %10.2f %8.2f %8.2f %10.1f %10.1f\n", w->scope, w->pass,
                spec, w->seq_len, w->dim, w->heads, w->ns_median / 1e6, 100 * w->cv, w->tokens_per_s / 1e3,
                w->gbytes_per_s, w->gflops_per_s, w->activation_bytes / 1048576.0, w->peak_heap_bytes / 1048576.0);
    }
    bench_results_free(&r);
    return PB_OK;
}
