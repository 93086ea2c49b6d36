/* plot_bench.c: the plots of a benchmark file (posbench bench), per width C:
 *   throughput-<scope>-C<C>   tokens/s vs T, log-log, a line per encoding,
 *                             forward and backward side by side
 *   relative-attention-C<C>   attention layer time relative to `none`, vs T
 *   memory-attention-C<C>     attention: activation bytes kept for backward vs T
 *                             (log-log: slope 2 is quadratic)
 *   memory-heap-C<C>          attention: measured peak heap per pass vs T
 *   memory-tiled-C<C>, memory-heap-tiled-C<C>
 *                             the same for the tiled training path (slope 1:
 *                             linear in T)
 * Each encoding keeps its palette.h style in every figure. Both panels of a
 * figure share one y range fitted to the data, so forward and backward read
 * against each other; an encoding of the file missing from a panel is named
 * under the panel's title with the reason (no work in that pass, or not
 * measured). Shapes in titles (H, batch) come from the rows, never assumed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../results/bench_h5.h"
#include "gnuplot.h"
#include "palette.h"
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
        if (strcmp(o->encoding, "none") == 0 && strcmp(o->scope, r->scope) == 0 && strcmp(o->pass, r->pass) == 0 &&
            o->seq_len == r->seq_len && o->dim == r->dim)
            return o->ns_median > 0 ? r->ns_median / o->ns_median : NAN;
    }
    return NAN;
}

/* Distinct encoding specs (name, or name:variant) in file order. */
static int encodings_in(const BenchResults *r, char names[][BENCH_NAME], int cap) {
    int n = 0;
    for (size_t i = 0; i < r->n; i++) {
        int seen = 0;
        char spec[2 * BENCH_NAME];
        bench_row_spec(&r->rows[i], spec, sizeof spec);
        for (int k = 0; k < n; k++) seen |= strcmp(names[k], spec) == 0;
        if (!seen && n < cap) snprintf(names[n++], BENCH_NAME, "%.*s", BENCH_NAME - 1, spec);
    }
    return n;
}

/* The passes of a figure, a panel each, in this order. */
static const char *const passes[] = {"forward", "backward"};

/* One series: encoding enc's rows of a scope, pass and width. */
typedef struct {
    const char *enc, *scope, *pass;
    int dim;
} Select;

static int selected(const BenchRow *row, const Select *s) {
    char spec[2 * BENCH_NAME];
    bench_row_spec(row, spec, sizeof spec);
    return !strcmp(spec, s->enc) && !strcmp(row->scope, s->scope) && !strcmp(row->pass, s->pass) && row->dim == s->dim;
}

/* Why a series has no point: its rows report no work (rates NaN, as the
 * bench writes for a pass with nothing to do), hold no usable value, or do
 * not exist. */
enum { DRAWN, NO_WORK, NO_VALUE, NOT_MEASURED, N_WHY };

#define MAX_POINTS 64

/* One series' points (T, value) and, if it has none, why. */
typedef struct {
    double x[MAX_POINTS], y[MAX_POINTS];
    int n, why;
} Points;

static void collect(Points *p, const BenchResults *r, const Select *s, RowValue value) {
    int rows = 0, idle = 0;
    p->n = 0;
    for (size_t i = 0; i < r->n; i++) {
        const BenchRow *row = &r->rows[i];
        if (!selected(row, s)) continue;
        rows++;
        idle += isnan(row->tokens_per_s);
        double v = value(row, r);
        if (!isfinite(v) || v <= 0 || p->n == MAX_POINTS) continue;
        p->x[p->n] = row->seq_len, p->y[p->n] = v, p->n++;
    }
    p->why = p->n ? DRAWN : !rows ? NOT_MEASURED : idle == rows ? NO_WORK : NO_VALUE;
}

/* The note under a panel's title naming the encodings it lacks, e.g.
 * "not drawn, no backward work: sinusoidal, alibi, none". */
static void absent_note(char *out, size_t cap, const char *pass, const char *no_value, char names[][BENCH_NAME],
                        const int *why, int n) {
    size_t len = 0;
    out[0] = 0;
    for (int w = NO_WORK; w < N_WHY; w++) {
        int first = 1;
        for (int e = 0; e < n; e++) {
            if (why[e] != w) continue;
            if (first) {
                char reason[64];
                if (w == NO_WORK) snprintf(reason, sizeof reason, "no %s work", pass);
                else snprintf(reason, sizeof reason, "%s", w == NO_VALUE ? no_value : "not measured");
                len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%snot drawn, %s: ", len ? "; " : "",
                                        reason);
            }
            len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s", first ? "" : ", ", names[e]);
            first = 0;
        }
    }
}

/* "H 8, batch 8" from the rows of width dim, each part only if the rows
 * agree on it. */
static void shape_of(char *out, size_t cap, const BenchResults *r, int dim) {
    int heads = -1, batch = -1;
    for (size_t i = 0; i < r->n; i++) {
        const BenchRow *row = &r->rows[i];
        if (row->dim != dim) continue;
        heads = heads == -1 || heads == row->heads ? row->heads : -2;
        batch = batch == -1 || batch == row->batch ? row->batch : -2;
    }
    size_t len = (size_t)snprintf(out, cap, "C %d", dim);
    if (heads > 0 && len < cap) len += (size_t)snprintf(out + len, cap - len, ", H %d", heads);
    if (batch > 0 && len < cap) snprintf(out + len, cap - len, ", batch %d", batch);
}

/* The key sits under each panel; both panels get the margin of the taller
 * key, so their axes line up. */
#define KEY_COLUMNS 3
#define PANEL_CHARS 80 /* characters of a note line that fit a panel */

/* What one figure shows: the rows of a scope and width, valued by value. */
typedef struct {
    const BenchResults *r;
    const char *scope;
    int dim;
    RowValue value;
    int log_y;
    const char *no_value; /* why rows that did work can have no value here */
} BenchFigure;

#define MAX_SERIES 32

/* One panel (a pass): each encoding's points and why it has none, and the
 * note under the panel's title. */
typedef struct {
    Points pts[MAX_SERIES];
    int why[MAX_SERIES], n_drawn, n_lines;
    char lines[GP_NOTE_LINES][GP_TEXT_MAX];
} Panel;

/* Collects the n encodings' points of pass p into panel, sends them as
 * datablocks $D<p * n + e>, and words the panel's note. */
static void send_panel(Gnuplot *g, const BenchFigure *f, int p, char names[][BENCH_NAME], int n, Panel *panel,
                       GpRange *x, GpRange *y) {
    PaletteSeries drawn[MAX_SERIES];
    panel->n_drawn = 0;
    for (int e = 0; e < n; e++) {
        Points *q = &panel->pts[e];
        Select s = {names[e], f->scope, passes[p], f->dim};
        collect(q, f->r, &s, f->value);
        panel->why[e] = q->why;
        fprintf(g->pipe, "$D%d << EOD\n", p * n + e);
        for (int i = 0; i < q->n; i++) {
            fprintf(g->pipe, "%.10g %.6g\n", q->x[i], q->y[i]);
            gp_range_add(x, q->x[i]), gp_range_add(y, q->y[i]);
        }
        fprintf(g->pipe, "EOD\n");
        if (q->why == DRAWN) drawn[panel->n_drawn++] = (PaletteSeries){names[e], q->x, q->y, q->n};
    }
    char note[512];
    absent_note(note, sizeof note, passes[p], f->no_value, names, panel->why, n);
    palette_coincide_note(note, sizeof note, drawn, panel->n_drawn);
    panel->n_lines = gp_wrap(note, PANEL_CHARS, panel->lines);
}

/* Panel p's part of the multiplot: title and note, lines in palette order
 * (coinciding ones stay visible), then the key in the file's order. */
static void panel_command(Gnuplot *g, GpScript *cmd, int p, Panel *panel, char names[][BENCH_NAME], const int *order,
                          int n, int most_lines) {
    char style[64];
    gp_script_add(cmd, "set title %s offset 0,%d\n", gp_str(g, passes[p]), most_lines);
    gp_add_note(g, cmd, panel->lines, panel->n_lines, most_lines);
    gp_script_add(cmd, "plot NaN notitle");
    for (int k = 0; k < n; k++) {
        int e = order[k];
        if (panel->why[e] != DRAWN) continue;
        palette_gnuplot(style, sizeof style, names[e]);
        gp_script_add(cmd, ", $D%d using 1:2 with linespoints lw 1.5 %s notitle", p * n + e, style);
    }
    for (int e = 0; e < n; e++) {
        if (panel->why[e] != DRAWN) continue;
        palette_gnuplot(style, sizeof style, names[e]);
        gp_script_add(cmd, ", keyentry with linespoints lw 1.5 %s title %s", style, gp_str(g, names[e]));
    }
    gp_script_add(cmd, "\nunset label\n");
}

/* The distinct lengths T of the figure's rows, in file order, into
 * lens[BENCH_MAX_LENS]; returns how many. */
static int figure_lengths(const BenchFigure *f, double *lens) {
    int n_lens = 0;
    for (size_t i = 0; i < f->r->n; i++) {
        const BenchRow *row = &f->r->rows[i];
        int seen = row->dim != f->dim || strcmp(row->scope, f->scope) != 0;
        for (int k = 0; k < n_lens && !seen; k++) seen = lens[k] == row->seq_len;
        if (!seen && n_lens < BENCH_MAX_LENS) lens[n_lens++] = row->seq_len;
    }
    return n_lens;
}

/* Axes fitted to the data of both panels, x tics at the measured lengths.
 * Nothing drawn in either panel (a file without `none` has no relative
 * times): fixed ranges, which gnuplot needs to draw the notes at all. */
static void fit_axes(Gnuplot *g, const BenchFigure *f, GpRange x, GpRange y) {
    double lens[BENCH_MAX_LENS];
    int n_lens = figure_lengths(f, lens);
    if (x.lo > x.hi)
        for (int k = 0; k < n_lens; k++) gp_range_add(&x, lens[k]);
    if (x.lo > x.hi) gp_range_add(&x, 64);
    if (y.lo > y.hi) gp_range_add(&y, 1), gp_range_add(&y, 2);
    gnuplot_fit_axis(g, 'x', x);
    gnuplot_fit_axis(g, 'y', y);
    gnuplot_tics_at(g, 'x', lens, n_lens);
}

/* One figure: a panel per pass (forward, backward), a line per encoding. */
static void figure(Gnuplot *g, const char *base, const char *title, const char *ylabel, const BenchFigure *f) {
    static Panel panels[2]; /* 66 KiB: off the stack */
    char names[MAX_SERIES][BENCH_NAME];
    const char *name_of[MAX_SERIES];
    int n = encodings_in(f->r, names, MAX_SERIES), order[MAX_SERIES], most_lines = 0, key_rows = 1;
    GpRange x = gp_range(1), y = gp_range(f->log_y);
    for (int e = 0; e < n; e++) name_of[e] = names[e];
    palette_draw_order(name_of, n, order);
    for (int p = 0; p < 2; p++) {
        send_panel(g, f, p, names, n, &panels[p], &x, &y);
        if (panels[p].n_lines > most_lines) most_lines = panels[p].n_lines;
        int rows = (panels[p].n_drawn + KEY_COLUMNS - 1) / KEY_COLUMNS;
        if (rows > key_rows) key_rows = rows;
    }
    GpScript cmd = {0};
    gp_script_add(&cmd, "set multiplot layout 1,2 title %s\n", gp_str(g, title));
    for (int p = 0; p < 2; p++) panel_command(g, &cmd, p, &panels[p], names, order, n, most_lines);
    gp_script_add(&cmd, "unset multiplot");
    fprintf(g->pipe,
            "reset\nset logscale x 2\n%s\nset xlabel 'sequence length T'\nset ylabel %s\n"
            "set grid\nset key below horizontal maxcols %d font ',8' samplen 4\nset format x '%%g'\n"
            "set bmargin %d\nset tmargin %d\n",
            f->log_y ? "set logscale y" : "unset logscale y", gp_str(g, ylabel), KEY_COLUMNS, 4 + key_rows,
            3 + most_lines);
    fit_axes(g, f, x, y);
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
    static const char *const scopes[] = {"op", "attention", "tiled"};
    for (int d = 0; d < n_dims; d++) {
        int C = dims[d];
        char base[64], title[256], shape[64];
        shape_of(shape, sizeof shape, &r, C);
        for (int s = 0; s < 3; s++) {
            snprintf(base, sizeof base, "throughput-%s-C%d", scopes[s], C);
            snprintf(title, sizeof title, "%s throughput, %s", scopes[s], shape);
            figure(&g, base, title, "tokens / s", &(BenchFigure){&r, scopes[s], C, tokens_per_s, 1, "no rate"});
        }
        /* Only attention has a `none` baseline that does work. */
        snprintf(base, sizeof base, "relative-attention-C%d", C);
        snprintf(title, sizeof title, "attention layer time relative to none, %s", shape);
        figure(&g, base, title, "time / time of none",
               &(BenchFigure){&r, "attention", C, relative_to_none, 0, "no none row of the same shape"});
        snprintf(base, sizeof base, "memory-attention-C%d", C);
        snprintf(title, sizeof title, "attention: activations kept for backward, %s (slope 2 = quadratic)", shape);
        figure(&g, base, title, "MiB", &(BenchFigure){&r, "attention", C, activation_mib, 1, "no bytes recorded"});
        snprintf(base, sizeof base, "memory-heap-C%d", C);
        snprintf(title, sizeof title, "attention: measured peak heap per pass, %s", shape);
        figure(&g, base, title, "MiB", &(BenchFigure){&r, "attention", C, heap_mib, 1, "no bytes recorded"});
        snprintf(base, sizeof base, "memory-tiled-C%d", C);
        snprintf(title, sizeof title, "tiled attention: activations kept for backward, %s (slope 1 = linear)", shape);
        figure(&g, base, title, "MiB", &(BenchFigure){&r, "tiled", C, activation_mib, 1, "no bytes recorded"});
        snprintf(base, sizeof base, "memory-heap-tiled-C%d", C);
        snprintf(title, sizeof title, "tiled attention: measured peak heap per pass, %s", shape);
        figure(&g, base, title, "MiB", &(BenchFigure){&r, "tiled", C, heap_mib, 1, "no bytes recorded"});
    }
    PbStatus closed = gnuplot_close(&g);
    bench_results_free(&r);
    return closed;
}
