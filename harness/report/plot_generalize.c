/* plot_generalize.c: the plots of a generalization file (posbench
 * generalize, posbench run), from the HDF5 alone. Every line is the mean
 * over seeds with a band for its 95% confidence interval (Student t):
 *   ppl-vs-length             perplexity vs evaluation length, log-log,
 *                             the training length marked; an encoding that
 *                             cannot go past its positions is keyed "n/a past X"
 *                             (X its longest length with a value)
 *   ppl-sliding-vs-length     the same with sliding windows (if measured)
 *   loss-by-position-T<T>     loss vs position within windows of T tokens:
 *                             where extrapolation breaks
 *   training-loss             training loss vs step (moving average)
 *   eval-memory               peak evaluation heap vs length (log-log)
 *   extend-ppl-vs-length      a context-extended model (SPEC+METHOD and
 *                             SPEC+METHOD+ft keys,
 *                             generalize --extend): the trained model and
 *                             each method; the other figures leave them out
 *   extend-loss-by-position   the same at the longest length
 *   extend-ramp               each method's share of every frequency pair
 *                             moved to theta / s (yarn's ramp)
 *                             (a second extended model: the same names, -2)
 *   task-<task>-accuracy      exact-match accuracy vs sequence length
 *   task-<task>-training-loss
 * Every title names the study the same way (data, training length, steps,
 * seeds, the interval), with only what the file records: a missing
 * attribute drops its words rather than printing 0. Each encoding keeps its
 * palette.h style; ranges fit the data; lines that coincide are named
 * under the title.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/text.h"
#include "../../datasets/tasks.h"
#include "../train/generalize.h"
#include "gnuplot.h"
#include "../results/h5io.h"
#include "palette.h"
#include "plots.h"
#include "../results/gen_h5.h"

typedef struct {
    char name[GEN_NAME];
    int na;         /* the encoding refused lengths past its table */
    const float *v; /* value of seed s, point j: v[s * row_stride + j] */
    int seeds, row_stride, n;
    const double *x; /* [n] */
} Series;

typedef struct {
    const char *xlabel, *ylabel;
    int logx, logy;
    double vline;      /* x of the training length; 0: none */
    double floor;      /* lower edge of bands clamped to this (NaN: none) */
    double ymin, ymax; /* NaN: fitted to the data */
    int x_is_length;   /* x is a sequence length: "n/a past X" means X */
    int bytes;         /* y in bytes: shown in KiB, MiB or GiB */
    double xlo, xhi;   /* always within the x range (a window's 0 and T); NaN: none */
} FigOpts;

/* Which keys a figure draws: family NULL, the trained ones; else the key
 * family and the extensions of it. */
static int in_family(const char *key, const char *family) {
    if (!family) return !gen_key_is_derived(key);
    return strcmp(key, family) == 0 || gen_key_derived_from(key, family);
}

/* Options with nothing fixed: linear axes, no marker, ranges from the data. */
static FigOpts fig_opts(const char *xlabel, const char *ylabel) {
    return (FigOpts){xlabel, ylabel, 0, 0, 0, NAN, NAN, NAN, 0, 0, NAN, NAN};
}

/* A length axis (log 2) with the training length L marked. */
static FigOpts length_opts(const char *ylabel, long long L) {
    FigOpts o = fig_opts("evaluation length (tokens)", ylabel);
    o.logx = 1, o.vline = (double)L, o.x_is_length = 1;
    return o;
}

/* What one series draws: mean and band per point, in y units. */
typedef struct {
    double *x, *m, *lo, *hi;
    int n;
} Drawn;

/* Mean and interval of each point of s, as drawn (band clamped). */
static void draw_series(const Series *s, const FigOpts *o, double unit, Drawn *d) {
    d->n = 0;
    for (int j = 0; j < s->n; j++) {
        double m, h;
        int k;
        gen_mean_ci(s->v + j, s->seeds, s->row_stride, &m, &h, &k);
        if (!isfinite(m)) continue;
        m /= unit, h /= unit;
        double lo = m - h, hi = m + h;
        if (isfinite(o->floor) && lo < o->floor) lo = o->floor;
        /* Bands clipped to a fixed y range: gnuplot's own clipping of a
         * filled curve draws slanted edges (an accuracy band of 0.66 +- 1.43
         * with 3 seeds reaches far past 1). The data keep the full interval. */
        if (isfinite(o->ymin) && lo < o->ymin) lo = o->ymin;
        if (isfinite(o->ymax) && hi > o->ymax) hi = o->ymax;
        d->x[d->n] = s->x[j], d->m[d->n] = m, d->lo[d->n] = lo, d->hi[d->n] = hi;
        d->n++;
    }
}

/* The key's words after an encoding's name. */
static void key_note(char *out, size_t cap, const Series *s, const Drawn *d, const FigOpts *o) {
    out[0] = 0;
    if (s->na && d->n && o->x_is_length) snprintf(out, cap, " (n/a past %g)", d->x[d->n - 1]);
    else if (s->na && !d->n) snprintf(out, cap, " (n/a)");
    else if (!d->n) snprintf(out, cap, " (no data)");
}

/* Bytes in the unit that suits the largest value: the scale and its name. */
static double byte_unit(double largest, const char **name) {
    static const char *const names[] = {"bytes", "KiB", "MiB", "GiB"};
    int u = 0;
    while (u < 3 && largest >= 1024.0 * (double)(1ull << (10 * u))) u++;
    *name = names[u];
    return (double)(1ull << (10 * u));
}

/* The y axis unit: for a byte axis the one that suits the largest mean (its
 * name added to ylabel[cap]), else 1 and o->ylabel as it is. */
static double y_unit(const FigOpts *o, const Series *s, int n_series, char *ylabel, size_t cap) {
    snprintf(ylabel, cap, "%s", o->ylabel);
    if (!o->bytes) return 1;
    double largest = 0;
    for (int e = 0; e < n_series; e++)
        for (int j = 0; j < s[e].n; j++) {
            double m, h;
            gen_mean_ci(s[e].v + j, s[e].seeds, s[e].row_stride, &m, &h, NULL);
            if (isfinite(m) && m > largest) largest = m;
        }
    const char *name;
    double unit = byte_unit(largest, &name);
    snprintf(ylabel, cap, "%s (%s)", o->ylabel, name);
    return unit;
}

/* What a figure draws: each series' points, the lines among them, the
 * ranges they span, and every x (the tics of a length axis). */
typedef struct {
    Drawn d[GEN_MAX_ENCODINGS];
    PaletteSeries lines[GEN_MAX_ENCODINGS];
    int n_lines;
    GpRange xr, yr;
    double *buf;    /* x, mean, low and high of every point, then every x and the marker's */
    double *xs_all; /* [n_xs] */
    int n_xs;
} Plotted;

/* Draws every series of s into p and sends each as datablock $D<e>; 0 if
 * out of memory. */
static int send_series(Gnuplot *g, const FigOpts *o, double unit, const Series *s, int n_series, Plotted *p) {
    size_t total = 0;
    for (int e = 0; e < n_series; e++) total += (size_t)s[e].n;
    p->buf = malloc((5 * total + 1) * sizeof *p->buf);
    if (!p->buf) return 0;
    p->xr = gp_range(o->logx), p->yr = gp_range(o->logy);
    p->xs_all = p->buf + 4 * total, p->n_xs = 0, p->n_lines = 0;
    size_t at = 0;
    for (int e = 0; e < n_series; e++) {
        Drawn *d = &p->d[e];
        double *b = p->buf + at;
        *d = (Drawn){b, b + total, b + 2 * total, b + 3 * total, 0};
        at += s[e].n;
        draw_series(&s[e], o, unit, d);
        fprintf(g->pipe, "$D%d << EOD\n", e);
        for (int j = 0; j < d->n; j++) {
            fprintf(g->pipe, "%.8g %.6g %.6g %.6g\n", d->x[j], d->m[j], d->lo[j], d->hi[j]);
            gp_range_add(&p->xr, d->x[j]);
            gp_range_add(&p->yr, d->lo[j]), gp_range_add(&p->yr, d->hi[j]), gp_range_add(&p->yr, d->m[j]);
            p->xs_all[p->n_xs++] = d->x[j];
        }
        fprintf(g->pipe, "EOD\n");
        if (d->n) p->lines[p->n_lines++] = (PaletteSeries){s[e].name, d->x, d->m, d->n};
    }
    return 1;
}

/* The ranges the axes must hold beyond the data: the marker, the fixed
 * ends. With nothing to fit (no values), fixed ranges, which gnuplot needs
 * to draw the key and the note at all. */
static void extend_ranges(const FigOpts *o, Plotted *p) {
    if (o->vline > 0) gp_range_add(&p->xr, o->vline);
    gp_range_add(&p->xr, o->xlo), gp_range_add(&p->xr, o->xhi);
    if (isfinite(o->ymin)) gp_range_add(&p->yr, o->ymin);
    if (isfinite(o->ymax)) gp_range_add(&p->yr, o->ymax);
    if (p->xr.lo > p->xr.hi) gp_range_add(&p->xr, 1), gp_range_add(&p->xr, 2);
    if (p->yr.lo > p->yr.hi) gp_range_add(&p->yr, 1), gp_range_add(&p->yr, 2);
}

/* The note under the title (lines that coincide, or nothing drawn), wrapped
 * into lines; returns how many. */
static int figure_note(const Plotted *p, char lines[][GP_TEXT_MAX]) {
    char note[512] = "";
    palette_coincide_note(note, sizeof note, p->lines, p->n_lines);
    if (!p->n_lines) snprintf(note, sizeof note, "no values to draw in this file");
    return gp_wrap(note, 95, lines);
}

/* The plot command: bands under every line, lines in palette order
 * (coinciding ones stay visible), then the key in the file's order. */
static void plot_command(Gnuplot *g, GpScript *cmd, const Series *s, int n_series, const Plotted *p, const FigOpts *o) {
    const char *names[GEN_MAX_ENCODINGS];
    int order[GEN_MAX_ENCODINGS];
    char style[64], color[32], key[GEN_NAME + 64];
    for (int e = 0; e < n_series; e++) names[e] = s[e].name;
    palette_draw_order(names, n_series, order);
    gp_script_add(cmd, "plot NaN notitle");
    for (int k = 0; k < n_series; k++) {
        int e = order[k];
        palette_color(color, sizeof color, s[e].name);
        if (p->d[e].n)
            gp_script_add(cmd, ", $D%d using 1:3:4 with filledcurves %s fs transparent solid 0.15 noborder notitle", e,
                          color);
    }
    for (int k = 0; k < n_series; k++) {
        int e = order[k];
        palette_gnuplot(style, sizeof style, s[e].name);
        if (p->d[e].n) gp_script_add(cmd, ", $D%d using 1:2 with linespoints lw 1.5 %s notitle", e, style);
    }
    for (int e = 0; e < n_series; e++) {
        char words[48];
        key_note(words, sizeof words, &s[e], &p->d[e], o);
        snprintf(key, sizeof key, "%s%s", s[e].name, words);
        palette_gnuplot(style, sizeof style, s[e].name);
        gp_script_add(cmd, ", keyentry with linespoints lw 1.5 %s title %s", style, gp_str(g, key));
    }
}

/* Title, labels, scales, ranges and tics; returns the x range set. */
static GpRange set_axes(Gnuplot *g, const char *title, const FigOpts *o, const char *ylabel, int n_note, Plotted *p) {
    fprintf(g->pipe,
            "reset\nset title %s offset 0,%d\nset xlabel %s\nset ylabel %s\nset grid\n"
            "set key outside right top font ',8' samplen 4\nset format x '%%g'\nset tmargin %d\n",
            gp_str(g, title), n_note, gp_str(g, o->xlabel), gp_str(g, ylabel), 3 + n_note);
    fprintf(g->pipe, o->logx ? "set logscale x 2\n" : "unset logscale x\n");
    fprintf(g->pipe, o->logy ? "set logscale y\n" : "unset logscale y\n");
    GpRange xs = gnuplot_fit_axis(g, 'x', p->xr);
    if (isfinite(o->ymin) && isfinite(o->ymax)) fprintf(g->pipe, "set yrange [%g:%g]\n", o->ymin, o->ymax);
    else gnuplot_fit_axis(g, 'y', p->yr);
    if (o->logx && p->n_xs) {
        if (o->vline > 0) p->xs_all[p->n_xs++] = o->vline;
        gnuplot_tics_at(g, 'x', p->xs_all, p->n_xs);
    }
    return xs;
}

/* The training length's dashed line and its label inside the plot: right of
 * the line, or left of it near the right edge. */
static void mark_training_length(Gnuplot *g, const FigOpts *o, GpRange xs) {
    if (!(o->vline > 0 && xs.lo < xs.hi)) return;
    double at = o->logx ? log(o->vline / xs.lo) / log(xs.hi / xs.lo) : (o->vline - xs.lo) / (xs.hi - xs.lo);
    char label[64];
    snprintf(label, sizeof label, "train length %g", o->vline);
    fprintf(g->pipe,
            "set arrow from %.10g, graph 0 to %.10g, graph 1 nohead dt 2 lw 1.5 lc rgb 'gray40' front\n"
            "set label %s at %.10g, graph 0.97 %s offset %s font ',8' tc rgb 'gray30' front\n",
            o->vline, o->vline, gp_str(g, label), o->vline, at > 0.7 ? "right" : "left", at > 0.7 ? "-0.6,0" : "0.6,0");
}

/* One figure BASE.png/.svg: a line with its band per series. */
static void figure(Gnuplot *g, const char *base, const char *title, const FigOpts *o, const Series *s, int n_series) {
    Plotted p;
    char ylabel[160], note_lines[GP_NOTE_LINES][GP_TEXT_MAX];
    double unit = y_unit(o, s, n_series, ylabel, sizeof ylabel);
    if (!send_series(g, o, unit, s, n_series, &p)) return;
    extend_ranges(o, &p);
    int n_note = figure_note(&p, note_lines);
    GpScript cmd = {0};
    gp_add_note(g, &cmd, note_lines, n_note, n_note);
    plot_command(g, &cmd, s, n_series, &p, o);
    GpRange xs = set_axes(g, title, o, ylabel, n_note, &p);
    mark_training_length(g, o, xs);
    gnuplot_save_both(g, base, cmd.text);
    free(p.buf);
}

typedef struct {
    char names[GEN_MAX_ENCODINGS][GEN_NAME];
    int n;
    float *data[GEN_MAX_ENCODINGS];
    int rows[GEN_MAX_ENCODINGS], cols[GEN_MAX_ENCODINGS];
    int na[GEN_MAX_ENCODINGS];
} Loaded;

/* Reads dataset `name` of every encoding of group top. */
static int load_all(hid_t top, const char *name, Loaded *l) {
    memset(l, 0, sizeof *l);
    l->n = gen_read_encodings(top, l->names, GEN_MAX_ENCODINGS);
    int any = 0;
    for (int e = 0; e < l->n; e++) {
        hid_t g = H5Gopen2(top, l->names[e], H5P_DEFAULT);
        if (g < 0) continue;
        if (!gen_read_matrix(g, name, &l->data[e], &l->rows[e], &l->cols[e])) any = 1;
        char why[512];
        l->na[e] = !h5_read_attr_string(g, "not_applicable", why, sizeof why);
        H5Gclose(g);
    }
    return any;
}

static void free_loaded(Loaded *l) {
    for (int e = 0; e < l->n; e++) free(l->data[e]);
}

/* x values of an encoding's eval_len. */
static double *eval_x(hid_t top, const char *enc, int *n) {
    char path[256];
    snprintf(path, sizeof path, "%s/eval_len", enc);
    int *lens = NULL, rank, d[8];
    if (h5_read_ints(top, path, &lens, &rank, d)) return NULL;
    double *x = malloc((size_t)d[0] * sizeof *x);
    for (int i = 0; x && i < d[0]; i++) x[i] = lens[i];
    *n = d[0];
    free(lens);
    return x;
}

static void length_figure(Gnuplot *g, hid_t top, const char *base, const char *title, const char *dataset,
                          const FigOpts *o, const char *family) {
    Loaded l;
    if (!load_all(top, dataset, &l)) return free_loaded(&l);
    Series s[GEN_MAX_ENCODINGS];
    double *xs[GEN_MAX_ENCODINGS] = {0};
    int n = 0;
    for (int e = 0; e < l.n; e++) {
        if (!l.data[e] || !in_family(l.names[e], family)) continue;
        int nx;
        xs[e] = eval_x(top, l.names[e], &nx);
        if (!xs[e]) continue;
        s[n] = (Series){.na = l.na[e],
                        .v = l.data[e],
                        .seeds = l.rows[e],
                        .row_stride = l.cols[e],
                        .n = nx < l.cols[e] ? nx : l.cols[e],
                        .x = xs[e]};
        snprintf(s[n].name, GEN_NAME, "%s", l.names[e]);
        n++;
    }
    figure(g, base, title, o, s, n);
    for (int e = 0; e < l.n; e++) free(xs[e]);
    free_loaded(&l);
}

/* Moving average over the trailing w steps, per seed; subsampled to about
 * 400 points. Writes the smoothed [S, npts] into *out and x into *x. */
static int smooth(const float *v, int S, int steps, float **out, double **x) {
    int w = steps / 50 > 1 ? steps / 50 : 1, every = steps / 400 > 1 ? steps / 400 : 1;
    int npts = (steps + every - 1) / every;
    *out = malloc((size_t)S * npts * sizeof **out);
    *x = malloc((size_t)npts * sizeof **x);
    if (!*out || !*x) return 0;
    for (int s = 0; s < S; s++)
        for (int j = 0; j < npts; j++) {
            int i = j * every, lo = i - w + 1 > 0 ? i - w + 1 : 0;
            double sum = 0;
            int k = 0;
            for (int q = lo; q <= i; q++)
                if (isfinite(v[(size_t)s * steps + q])) sum += v[(size_t)s * steps + q], k++;
            (*out)[(size_t)s * npts + j] = k ? (float)(sum / k) : NAN;
            (*x)[j] = i + 1;
        }
    return npts;
}

static void training_figure(Gnuplot *g, hid_t top, const char *dataset, const char *base, const char *title) {
    Loaded l;
    if (!load_all(top, dataset, &l)) return free_loaded(&l);
    Series s[GEN_MAX_ENCODINGS];
    float *sm[GEN_MAX_ENCODINGS] = {0};
    double *xs[GEN_MAX_ENCODINGS] = {0};
    int n = 0;
    for (int e = 0; e < l.n; e++) {
        if (!l.data[e] || !in_family(l.names[e], NULL)) continue; /* an extension trained as its model */
        int npts = smooth(l.data[e], l.rows[e], l.cols[e], &sm[e], &xs[e]);
        if (!npts) continue;
        s[n] = (Series){.v = sm[e], .seeds = l.rows[e], .row_stride = npts, .n = npts, .x = xs[e]};
        snprintf(s[n].name, GEN_NAME, "%s", l.names[e]);
        n++;
    }
    FigOpts o = fig_opts("optimizer step", "training loss (nats, moving average)");
    figure(g, base, title, &o, s, n);
    for (int e = 0; e < l.n; e++) free(sm[e]), free(xs[e]);
    free_loaded(&l);
}

/* Index of length T in an encoding's eval_len, or -1. */
static int length_index(hid_t top, const char *enc, int T) {
    int n = 0, at = -1;
    double *x = eval_x(top, enc, &n);
    for (int i = 0; x && i < n && at < 0; i++)
        if ((int)x[i] == T) at = i;
    free(x);
    return at;
}

/* The distinct evaluation lengths of the encodings with data, in the order
 * met, into lens[cap]; returns how many. */
static int all_lengths(hid_t top, const Loaded *l, int *lens, int cap) {
    int n_lens = 0;
    for (int e = 0; e < l->n; e++) {
        int nx = 0;
        double *x = l->data[e] ? eval_x(top, l->names[e], &nx) : NULL;
        for (int i = 0; x && i < nx; i++) {
            int seen = 0;
            for (int k = 0; k < n_lens; k++) seen |= lens[k] == (int)x[i];
            if (!seen && n_lens < cap) lens[n_lens++] = (int)x[i];
        }
        free(x);
    }
    return n_lens;
}

/* Bins of an encoding's loss_by_position [S, n, bins] (0 if not of rank 3). */
static int position_bins(hid_t top, const char *enc) {
    hid_t g = H5Gopen2(top, enc, H5P_DEFAULT);
    int rank, d[8], bins = 0;
    float *tmp = NULL;
    if (g >= 0 && !h5_read_floats(g, "loss_by_position", &tmp, &rank, d) && rank == 3) bins = d[2];
    free(tmp);
    if (g >= 0) H5Gclose(g);
    return bins;
}

/* Encoding e's loss by position in windows of T tokens, at the bin centres
 * (*x, to free); no points if it has no slice of length T. The slice is
 * found by its own eval_len, its bins by its own shape; l->data[e] is read
 * as rows S, cols n. */
static Series position_series(hid_t top, const Loaded *l, int e, int T, double **x) {
    int bins = position_bins(top, l->names[e]), j = length_index(top, l->names[e], T);
    Series s = {.na = l->na[e], .seeds = l->rows[e], .n = 0};
    snprintf(s.name, GEN_NAME, "%s", l->names[e]);
    *x = NULL;
    if (bins > 0 && j >= 0 && j < l->cols[e] && (*x = malloc((size_t)bins * sizeof **x))) {
        for (int b = 0; b < bins; b++) (*x)[b] = ((double)b + 0.5) * T / bins;
        s.v = l->data[e] + (size_t)j * bins;
        s.row_stride = l->cols[e] * bins;
        s.n = bins;
        s.x = *x;
    }
    return s;
}

/* loss-by-position-T<T>: a series per encoding with data; the training
 * length L marked when T is past it. */
static void position_figure(Gnuplot *g, hid_t top, const Loaded *l, int T, long long L, const char *study,
                            const char *family, const char *base_in) {
    Series s[GEN_MAX_ENCODINGS];
    double *x[GEN_MAX_ENCODINGS] = {0};
    int n = 0;
    for (int e = 0; e < l->n; e++)
        if (l->data[e] && in_family(l->names[e], family)) s[n] = position_series(top, l, e, T, &x[n]), n++;
    char base[64], title[512];
    if (base_in) snprintf(base, sizeof base, "%s", base_in);
    else snprintf(base, sizeof base, "loss-by-position-T%d", T);
    snprintf(title, sizeof title, "loss by position in windows of %d tokens%s", T, study);
    FigOpts o = fig_opts("position in the window (bin centre)", "loss (nats)");
    o.vline = L > 0 && T > L ? (double)L : 0, o.xlo = 0, o.xhi = T;
    figure(g, base, title, &o, s, n);
    for (int e = 0; e < n; e++) free(x[e]);
}

/* One figure per evaluation length T of any encoding. */
static void position_figures(Gnuplot *g, hid_t top, const char *study) {
    Loaded l;
    if (!load_all(top, "loss_by_position", &l)) return free_loaded(&l);
    long long L = 0;
    h5_read_attr_int(top, "train_len", &L);
    int lens[64], n_lens = all_lengths(top, &l, lens, 64);
    for (int i = 0; i < n_lens; i++) position_figure(g, top, &l, lens[i], L, study, NULL, NULL);
    free_loaded(&l);
}

/* extend-ramp: per method of family, the share of each pair interpolated. */
static void ramp_figure(Gnuplot *g, hid_t top, const char *family, const char *base, const char *study) {
    Loaded l;
    if (!load_all(top, "ramp", &l)) return free_loaded(&l);
    Series s[GEN_MAX_ENCODINGS];
    double *x[GEN_MAX_ENCODINGS] = {0};
    int n = 0;
    for (int e = 0; e < l.n; e++) {
        GenDerived how;
        /* ntk's change is to the base, not a share of each pair; a
         * fine-tuned model's ramp is its zero-shot one at extend_len */
        if (!gen_key_derived(l.names[e], &how) || how.finetuned || how.method == EXTEND_NTK ||
            how.method == EXTEND_DYNAMIC_NTK || !l.data[e] || strcmp(how.parent, family))
            continue;
        x[n] = malloc((size_t)l.cols[e] * sizeof *x[n]);
        if (!x[n]) continue;
        for (int k = 0; k < l.cols[e]; k++) x[n][k] = k;
        s[n] = (Series){.v = l.data[e], .seeds = 1, .row_stride = l.cols[e], .n = l.cols[e], .x = x[n]};
        snprintf(s[n].name, GEN_NAME, "%s", l.names[e]);
        n++;
    }
    char title[512];
    snprintf(title, sizeof title, "share of each frequency pair interpolated (theta/s), fastest first%s", study);
    FigOpts o = fig_opts("frequency pair k (theta_k = base^(-2k/R))", "share moved to theta_k / s");
    o.ymin = -0.02, o.ymax = 1.02;
    figure(g, base, title, &o, s, n);
    for (int e = 0; e < n; e++) free(x[e]);
    free_loaded(&l);
}

/* The figures of each extended model (a key with SPEC+METHOD keys). */
static void extension_figures(Gnuplot *g, hid_t top, const char *study, const FigOpts *ppl_opts) {
    char names[GEN_MAX_ENCODINGS][GEN_NAME];
    const int n = gen_read_encodings(top, names, GEN_MAX_ENCODINGS);
    int k = 0;
    for (int e = 0; e < n; e++) {
        int has = 0;
        for (int d = 0; d < n && !has; d++) has = gen_key_derived_from(names[d], names[e]);
        if (!has) continue;
        char suffix[16] = "", base[64], title[640], shown[GEN_NAME];
        if (k++) snprintf(suffix, sizeof suffix, "-%d", k);
        snprintf(base, sizeof base, "extend-ppl-vs-length%s", suffix);
        snprintf(title, sizeof title, "%s extended past L: perplexity vs length%s",
                 text_sanitize_copy(shown, sizeof shown, names[e]), study);
        length_figure(g, top, base, title, "ppl", ppl_opts, names[e]);
        Loaded l;
        if (load_all(top, "loss_by_position", &l)) {
            long long L = 0;
            h5_read_attr_int(top, "train_len", &L);
            int lens[64], n_lens = all_lengths(top, &l, lens, 64);
            snprintf(base, sizeof base, "extend-loss-by-position%s", suffix);
            if (n_lens) position_figure(g, top, &l, lens[n_lens - 1], L, study, names[e], base);
        }
        free_loaded(&l);
        snprintf(base, sizeof base, "extend-ramp%s", suffix);
        ramp_figure(g, top, names[e], base, study);
    }
}

/* The words every title of a study ends with, from what the file records:
 * ": jargon, trained at L=16, 30 steps, 2 seeds (95% CI)" (without a corpus,
 * ", trained ..."); a corpus by its file name (a long title is cut at both
 * edges). */
static void study_words(char *out, size_t cap, const char *data, const char *trained, long long L, long long steps,
                        long long seeds) {
    size_t len = 0;
#define ADD(...) (len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, __VA_ARGS__))
    out[0] = 0;
    const char *slash = data ? strrchr(data, '/') : NULL;
    const char *name = slash ? slash + 1 : data ? data : "";
    if (strlen(name) > 40) ADD(": %.37s...", name); /* the title must fit the figure */
    else if (*name) ADD(": %s", name);
    if (L > 0) ADD(", %s%lld", trained, L);
    if (steps > 0) ADD(", %lld steps", steps);
    if (seeds > 1) ADD(", %lld seeds (95%% CI)", seeds);
    else if (seeds == 1) ADD(", 1 seed (no CI)");
    else ADD(" (95%% CI)");
#undef ADD
}

PbStatus plot_generalize(hid_t file, const char *path, const char *dir) {
    int has_gen = h5_exists(file, "generalization"), has_tasks = h5_exists(file, "tasks");
    if (!has_gen && !has_tasks) return pb_fail(PB_DATA, "'%s' holds neither /generalization nor /tasks", path);
    Gnuplot g;
    PbStatus st = gnuplot_open(&g, dir);
    if (st) return st;
    if (has_gen) {
        hid_t top = H5Gopen2(file, "generalization", H5P_DEFAULT);
        long long L = 0, steps = 0, seeds = 0;
        char data[256] = "";
        h5_read_attr_int(top, "train_len", &L), h5_read_attr_int(top, "steps", &steps);
        h5_read_attr_int(top, "seeds", &seeds);
        h5_read_attr_string(top, "data", data, sizeof data);
        char study[320], title[512];
        study_words(study, sizeof study, data, "trained at L=", L, steps, seeds);
        snprintf(title, sizeof title, "perplexity vs length%s", study);
        FigOpts o = length_opts("perplexity", L);
        o.logy = 1, o.floor = 1.0;
        length_figure(&g, top, "ppl-vs-length", title, "ppl", &o, NULL);
        extension_figures(&g, top, study, &o);
        snprintf(title, sizeof title, "perplexity vs length, sliding windows%s", study);
        length_figure(&g, top, "ppl-sliding-vs-length", title, "ppl_sliding", &o, NULL);
        FigOpts m = length_opts("peak evaluation heap", L);
        m.xlabel = "evaluation length (tokens; log-log, slope 1 = linear)", m.logy = 1, m.bytes = 1;
        snprintf(title, sizeof title, "evaluation memory vs length%s", study);
        length_figure(&g, top, "eval-memory", title, "eval_peak_bytes", &m, NULL);
        position_figures(&g, top, study);
        H5Gclose(top);
        if (h5_exists(file, "training")) {
            hid_t tr = H5Gopen2(file, "training", H5P_DEFAULT);
            snprintf(title, sizeof title, "training loss%s", study);
            training_figure(&g, tr, "loss", "training-loss", title);
            H5Gclose(tr);
        }
    }
    if (has_tasks) {
        hid_t tg = H5Gopen2(file, "tasks", H5P_DEFAULT);
        for (int k = 0; k < TASK_COUNT; k++) {
            const char *name = task_name((TaskKind)k);
            if (!h5_exists(tg, name)) continue;
            hid_t top = H5Gopen2(tg, name, H5P_DEFAULT);
            long long L = 0, steps = 0, seeds = 0;
            h5_read_attr_int(top, "train_len", &L), h5_read_attr_int(top, "steps", &steps);
            h5_read_attr_int(top, "seeds", &seeds);
            char base[64], study[320], title[512];
            study_words(study, sizeof study, NULL, "trained on lengths up to ", L, steps, seeds);
            snprintf(base, sizeof base, "task-%s-accuracy", name);
            snprintf(title, sizeof title, "task %s: exact-match accuracy vs length%s", name, study);
            FigOpts o = length_opts("exact-match accuracy", L);
            o.xlabel = "sequence length (tokens)", o.floor = 0.0, o.ymin = -0.02, o.ymax = 1.02;
            length_figure(&g, top, base, title, "accuracy", &o, NULL);
            snprintf(base, sizeof base, "task-%s-training-loss", name);
            snprintf(title, sizeof title, "task %s: training loss on answer tokens%s", name, study);
            training_figure(&g, top, "train_loss", base, title);
            H5Gclose(top);
        }
        H5Gclose(tg);
    }
    return gnuplot_close(&g);
}
