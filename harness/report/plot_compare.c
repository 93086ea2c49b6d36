/* plot_compare.c: one picture of a comparison, `compare.png` / `.svg`:
 *   bench          each matched cell's time ratio B/A on a log axis, a row
 *                  per cell, coloured by its U test (slower, faster, or no
 *                  significant change at COMPARE_ALPHA)
 *   generalization each (study, encoding, length)'s difference B - A with
 *                  its 95% interval, coloured the same way (worse, better)
 * A run file's comparison has both, side by side. Cell and encoding names
 * come from the files: they reach gnuplot only through gp_str. */
#include <math.h>
#include <string.h>

#include "compare.h"
#include "gnuplot.h"
#include "plots.h"

/* Okabe-Ito: vermillion (worse), blue (better), grey (no change). */
static const char *const series_colour[3] = {"#999999", "#D55E00", "#0072B2"};

/* Rows shown per panel; more get every k-th label. */
#define LABELS_MAX 40

/* One panel's points, three series by significance. */
typedef struct {
    const char *title, *xlabel, *names[3];
    int log_x, n, count[3];
} Panel;

/* Labels of the panel's rows as y tics, every k-th when there are many. */
static void add_labels(GpScript *cmd, Gnuplot *g, const Comparison *c, int bench, int n) {
    int k = n > LABELS_MAX ? (n + LABELS_MAX - 1) / LABELS_MAX : 1;
    gp_script_add(cmd, "set ytics (");
    for (int i = 0; i < n; i += k) {
        char label[COMPARE_CELL + 64];
        if (bench) snprintf(label, sizeof label, "%s", c->bench[i].cell);
        else snprintf(label, sizeof label, "%s %s T=%d", c->gen[i].study, c->gen[i].encoding, c->gen[i].T);
        gp_script_add(cmd, "%s%s %d", i ? ", " : "", gp_str(g, label), i);
    }
    gp_script_add(cmd, ")\n");
}

/* The x range of the data, padded (5% linear, 10% log); a log axis of
 * ratios gets tics at round ratios inside it (gnuplot's own would be powers
 * of ten: only 1 in a typical comparison). */
static void add_xrange(GpScript *cmd, GpRange x) {
    static const double ratios[] = {0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.67, 0.8, 0.9, 1,
                                    1.1,  1.25, 1.5,  2,   3,   4,    5,   10,   20,  50,  100};
    if (x.lo > x.hi) return;
    double lo = x.lo, hi = x.hi, pad = 0.05 * (hi - lo) + 1e-6;
    if (x.log) lo /= 1.1, hi *= 1.1;
    else lo -= pad, hi += pad;
    gp_script_add(cmd, "set xrange [%.10g:%.10g]\n", lo, hi);
    if (!x.log) {
        gp_script_add(cmd, "set xtics autofreq\n");
        return;
    }
    gp_script_add(cmd, "set xtics (");
    int first = 1;
    for (size_t i = 0; i < sizeof ratios / sizeof *ratios; i++)
        if (ratios[i] >= lo && ratios[i] <= hi) gp_script_add(cmd, "%s%g", first ? "" : ", ", ratios[i]), first = 0;
    gp_script_add(cmd, "%s)\n", first ? "1" : "");
}

static int bench_series(const BenchDelta *d) {
    return bench_delta_beyond(d, 0, 1) ? 1 : bench_delta_beyond(d, 0, -1) ? 2 : 0;
}

static int gen_series(const GenDelta *d) {
    if (!(d->p < COMPARE_ALPHA)) return 0;
    int higher = d->diff > 0, loss = strcmp(d->metric, "loss") == 0;
    return higher == loss ? 1 : 2;
}

/* Datablocks $S0..$S2 (prefix P): x y [xerr] rows per series. */
static void send_points(Gnuplot *g, const Comparison *c, int bench, Panel *p, GpRange *x) {
    for (int s = 0; s < 3; s++) {
        fprintf(g->pipe, "$%c%d << EOD\n", bench ? 'B' : 'G', s);
        for (int i = 0; i < p->n; i++) {
            if (bench && bench_series(&c->bench[i]) == s) {
                fprintf(g->pipe, "%.10g %d\n", c->bench[i].time_ratio, i);
                gp_range_add(x, c->bench[i].time_ratio);
            } else if (!bench && gen_series(&c->gen[i]) == s) {
                const GenDelta *d = &c->gen[i];
                double h = isfinite(d->half95) ? d->half95 : 0;
                fprintf(g->pipe, "%.10g %d %.10g\n", d->diff, i, h);
                gp_range_add(x, d->diff - h), gp_range_add(x, d->diff + h);
            } else continue;
            p->count[s]++;
        }
        fprintf(g->pipe, "EOD\n");
    }
}

/* The plot command of one panel: the series that have points. */
static void panel_command(GpScript *cmd, Gnuplot *g, int bench, const Panel *p) {
    gp_script_add(cmd, "plot ");
    int any = 0;
    for (int s = 0; s < 3; s++) {
        if (!p->count[s]) continue;
        if (bench)
            gp_script_add(cmd, "%s$B%d using 1:2 with points pt 7 ps 1.2 lc rgb '%s' title %s", any ? ", " : "", s,
                          series_colour[s], gp_str(g, p->names[s]));
        else
            gp_script_add(cmd, "%s$G%d using 1:2:3 with xerrorbars pt 7 ps 1.2 lc rgb '%s' title %s", any ? ", " : "",
                          s, series_colour[s], gp_str(g, p->names[s]));
        any = 1;
    }
    if (!any) gp_script_add(cmd, "NaN notitle");
    gp_script_add(cmd, "\n");
}

/* Sends a panel's data and settings and adds its plot to cmd. */
static void panel(Gnuplot *g, GpScript *cmd, const Comparison *c, int bench) {
    Panel p = {.n = bench ? (int)c->n_bench : (int)c->n_gen, .log_x = bench};
    p.title = bench ? "bench: time B/A per cell (U test)" : "generalization: B - A, 95% interval";
    p.xlabel = bench ? "time B / time A (below 1: B faster)" : "B - A (loss in nats, or accuracy)";
    const char *bn[3] = {"no significant change", "slower (p < 0.05)", "faster (p < 0.05)"};
    const char *gn[3] = {"no significant change", "worse (p < 0.05)", "better (p < 0.05)"};
    memcpy(p.names, bench ? bn : gn, sizeof p.names);
    GpRange x = gp_range(p.log_x);
    send_points(g, c, bench, &p, &x);
    gp_range_add(&x, bench ? 1 : 0); /* "no change" always in view */
    gp_script_add(cmd, "%s\nset title %s\nset xlabel %s\n", p.log_x ? "set logscale x" : "unset logscale x",
                  gp_str(g, p.title), gp_str(g, p.xlabel));
    gp_script_add(cmd, "set yrange [-1:%d]\nset arrow 1 from %d, graph 0 to %d, graph 1 nohead dt 2 lc rgb '#000000'\n",
                  p.n, bench, bench);
    add_xrange(cmd, x);
    add_labels(cmd, g, c, bench, p.n);
    panel_command(cmd, g, bench, &p);
}

PbStatus plot_compare(const Comparison *c, const char *dir) {
    Gnuplot g;
    PbStatus st = gnuplot_open(&g, dir);
    if (st) return st;
    int both = c->n_bench && c->n_gen;
    fprintf(g.pipe, "reset\nset grid x\nset key below horizontal font ',8'\nset bmargin 6\nset ytics font ',7'\n"
                    "set lmargin 38\nset format x '%%g'\n");
    GpScript cmd = {0};
    if (both) gp_script_add(&cmd, "set multiplot layout 1,2 title %s\n", gp_str(&g, "compare: B against A"));
    if (c->n_bench) panel(&g, &cmd, c, 1);
    if (c->n_gen) panel(&g, &cmd, c, 0);
    if (both) gp_script_add(&cmd, "unset multiplot\n");
    gnuplot_save_both(&g, "compare", cmd.text);
    return gnuplot_close(&g);
}
