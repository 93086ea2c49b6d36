/* plot_bench.c: the plots of a benchmark file (posbench bench), per width C:
 *   throughput-<scope>-C<C>   tokens/s vs T, log-log, a line per encoding,
 *                             forward and backward side by side
 *   relative-attention-C<C>   attention layer time relative to `none`, vs T
 *   memory-C<C>               attention: activation bytes kept for backward and
 *                             measured peak heap vs T (log-log: slope 2 is
 *                             quadratic); op: peak heap
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../encodings/encoding.h"
#include "../results/bench_h5.h"
#include "gnuplot.h"
#include "plots.h"

typedef double (*RowValue)(const BenchRow *r, const BenchResults *all);

static double tokens_per_s(const BenchRow *r, const BenchResults *all) {
    (void)all;
    return r->tokens_per_s;
}

static double activation_mib(const BenchRow *r, const BenchResults *all) {
    (void)all;
    return r->activation_bytes / 1048576.0;
}

static double heap_mib(const BenchRow *r, const BenchResults *all) {
    (void)all;
    return r->peak_heap_bytes / 1048576.0;
}

/* Time of this cell over the `none` cell of the same shape and pass. */
static double relative_to_none(const BenchRow *r, const BenchResults *all) {
    for (size_t i = 0; i < all->n; i++) {
        const BenchRow *o = &all->rows[i];
        if (strcmp(o->encoding, "none") == 0 && strcmp(o->scope, r->scope) == 0 &&
            strcmp(o->pass, r->pass) == 0 && o->seq_len == r->seq_len && o->dim == r->dim)
            return o->ns_median > 0 ? r->ns_median / o->ns_median : NAN;
    }
    return NAN;
}

/* Distinct encoding names in file order. */
static int encodings_in(const BenchResults *r, char names[][BENCH_NAME], int cap) {
    int n = 0;
    for (size_t i = 0; i < r->n; i++) {
        int seen = 0;
        for (int k = 0; k < n; k++) seen |= strcmp(names[k], r->rows[i].encoding) == 0;
        if (!seen && n < cap) snprintf(names[n++], BENCH_NAME, "%s", r->rows[i].encoding);
    }
    return n;
}

/* Writes datablock $D<index> of (T, value) for one series; returns points. */
static int series_block(Gnuplot *g, int index, const BenchResults *r, const char *enc,
                        const char *scope, const char *pass, int dim, RowValue value) {
    int points = 0;
    fprintf(g->pipe, "$D%d << EOD\n", index);
    for (size_t i = 0; i < r->n; i++) {
        const BenchRow *row = &r->rows[i];
        if (strcmp(row->encoding, enc) || strcmp(row->scope, scope) || strcmp(row->pass, pass) ||
            row->dim != dim)
            continue;
        double v = value(row, r);
        if (isfinite(v) && v > 0) fprintf(g->pipe, "%d %.6g\n", row->seq_len, v), points++;
    }
    fprintf(g->pipe, "EOD\n");
    return points;
}

/* One figure: a panel per pass (forward, backward), a line per encoding. */
static void figure(Gnuplot *g, const char *base, const char *title, const char *ylabel,
                   const BenchResults *r, const char *scope, int dim, RowValue value, int log_y) {
    static const char *const passes[] = {"forward", "backward"};
    char names[32][BENCH_NAME];
    int n = encodings_in(r, names, 32);
    GpScript cmd = {0};
    gp_script_add(&cmd, "set multiplot layout 1,2 title %s\n", gp_str(g, title));
    int block = 0;
    for (int p = 0; p < 2; p++) {
        gp_script_add(&cmd, "set title %s\nplot ", gp_str(g, passes[p]));
        int first = 1;
        for (int e = 0; e < n; e++) {
            if (!series_block(g, block, r, names[e], scope, passes[p], dim, value)) {
                block++;
                continue;
            }
            gp_script_add(&cmd, "%s$D%d using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc %d title %s",
                          first ? "" : ", ", block, e + 1, gp_str(g, names[e]));
            first = 0;
            block++;
        }
        if (first) gp_script_add(&cmd, "NaN notitle");
        gp_script_add(&cmd, "\n");
    }
    gp_script_add(&cmd, "unset multiplot");
    fprintf(g->pipe,
            "reset\nset logscale x 2\n%s\nset xlabel 'sequence length T'\nset ylabel %s\n"
            "set grid\nset key top right font ',8'\nset format x '%%g'\n",
            log_y ? "set logscale y" : "unset logscale y", gp_str(g, ylabel));
    gnuplot_save_both(g, base, cmd.text);
}

PbStatus plot_bench(hid_t file, const char *path, const char *dir) {
    BenchResults r;
    PbStatus st = bench_h5_read(file, path, &r);
    if (st) return st;
    int dims[8], n_dims = 0;
    for (size_t i = 0; i < r.n; i++) {
        int seen = 0;
        for (int k = 0; k < n_dims; k++) seen |= dims[k] == r.rows[i].dim;
        if (!seen && n_dims < 8) dims[n_dims++] = r.rows[i].dim;
    }
    Gnuplot g;
    if ((st = gnuplot_open(&g, dir))) return bench_results_free(&r), st;
    static const char *const scopes[] = {"op", "attention"};
    for (int d = 0; d < n_dims; d++) {
        int C = dims[d], H = bench_heads_for(C);
        char base[64], title[256];
        for (int s = 0; s < 2; s++) {
            snprintf(base, sizeof base, "throughput-%s-C%d", scopes[s], C);
            snprintf(title, sizeof title, "%s throughput, C %d, H %d, batch 8", scopes[s], C, H);
            figure(&g, base, title, "tokens / s", &r, scopes[s], C, tokens_per_s, 1);
        }
        /* Only attention has a `none` baseline that does work. */
        snprintf(base, sizeof base, "relative-attention-C%d", C);
        snprintf(title, sizeof title, "attention layer time relative to none, C %d, H %d", C, H);
        figure(&g, base, title, "time / time of none", &r, "attention", C, relative_to_none, 0);
        snprintf(base, sizeof base, "memory-attention-C%d", C);
        snprintf(title, sizeof title, "attention: activations kept for backward, C %d, H %d (slope 2 = quadratic)", C, H);
        figure(&g, base, title, "MiB", &r, "attention", C, activation_mib, 1);
        snprintf(base, sizeof base, "memory-heap-C%d", C);
        snprintf(title, sizeof title, "attention: measured peak heap per pass, C %d, H %d", C, H);
        figure(&g, base, title, "MiB", &r, "attention", C, heap_mib, 1);
    }
    PbStatus closed = gnuplot_close(&g);
    bench_results_free(&r);
    return closed;
}
