/* plot_generalize.c: the plots of a generalization file (posbench
 * generalize, posbench run), from the HDF5 alone. Every line is the mean
 * over seeds with a band for its 95% confidence interval (Student t):
 *   ppl-vs-length             perplexity vs evaluation length, log-log,
 *                             the training length marked; an encoding that
 *                             cannot go past its table is keyed "n/a past L"
 *   ppl-sliding-vs-length     the same with sliding windows (if measured)
 *   loss-by-position-T<T>     loss vs position within windows of T tokens:
 *                             where extrapolation breaks
 *   training-loss             training loss vs step (moving average)
 *   eval-memory               peak evaluation heap vs length (log-log)
 *   task-<task>-accuracy      exact-match accuracy vs sequence length
 *   task-<task>-training-loss
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../datasets/tasks.h"
#include "../train/generalize.h"
#include "gnuplot.h"
#include "../results/h5io.h"
#include "plots.h"
#include "../results/gen_h5.h"

typedef struct {
    char name[GEN_NAME], note[96];
    const float *v;    /* value of seed s, point j: v[s * row_stride + j] */
    int seeds, row_stride, n;
    const double *x;   /* [n] */
} Series;

typedef struct {
    const char *xlabel, *ylabel;
    int logx, logy;
    double vline;      /* x of the training length; 0: none */
    double floor;      /* lower edge of bands clamped to this (NaN: none) */
    double ymin, ymax; /* NaN: auto */
} FigOpts;

static void figure(Gnuplot *g, const char *base, const char *title, const FigOpts *o, const Series *s,
                   int n_series) {
    GpScript cmd = {0};
    gp_script_add(&cmd, "plot ");
    int first = 1;
    for (int e = 0; e < n_series; e++) {
        int points = 0;
        fprintf(g->pipe, "$D%d << EOD\n", e);
        for (int j = 0; j < s[e].n; j++) {
            double m, h;
            int k;
            gen_mean_ci(s[e].v + j, s[e].seeds, s[e].row_stride, &m, &h, &k);
            if (!isfinite(m)) continue;
            double lo = m - h, hi = m + h;
            if (isfinite(o->floor) && lo < o->floor) lo = o->floor;
            /* Bands clipped to a fixed y range: gnuplot's own clipping of a
             * filled curve draws slanted edges (an accuracy band of 0.66 +- 1.43
             * with 3 seeds reaches far past 1). The data keep the full interval. */
            if (isfinite(o->ymin) && lo < o->ymin) lo = o->ymin;
            if (isfinite(o->ymax) && hi > o->ymax) hi = o->ymax;
            fprintf(g->pipe, "%.8g %.6g %.6g %.6g\n", s[e].x[j], m, lo, hi);
            points++;
        }
        fprintf(g->pipe, "EOD\n");
        char key[200];
        snprintf(key, sizeof key, "%s%s%s", s[e].name, *s[e].note ? " " : "", s[e].note);
        const size_t before = cmd.len;
        if (!points) {
            gp_script_add(&cmd, "%sNaN with lines lw 2 lc %d dt 3 title %s", first ? "" : ", ", e + 1,
                          gp_str(g, key));
        } else {
            gp_script_add(&cmd,
                          "%s$D%d using 1:3:4 with filledcurves lc %d fs transparent solid 0.18 noborder notitle, "
                          "$D%d using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc %d title %s",
                          first ? "" : ", ", e, e + 1, e, e + 1, gp_str(g, key));
        }
        if (cmd.len > before) first = 0;
    }
    if (first) gp_script_add(&cmd, "NaN notitle");
    fprintf(g->pipe, "reset\nset title %s\nset xlabel %s\nset ylabel %s\nset grid\n"
                     "set key outside right top font ',8'\nset format x '%%g'\n",
            gp_str(g, title), gp_str(g, o->xlabel), gp_str(g, o->ylabel));
    fprintf(g->pipe, o->logx ? "set logscale x 2\n" : "unset logscale x\n");
    fprintf(g->pipe, o->logy ? "set logscale y\n" : "unset logscale y\n");
    if (o->vline > 0)
        fprintf(g->pipe, "set arrow from %g, graph 0 to %g, graph 1 nohead dt 2 lc rgb 'gray40'\n"
                         "set label 'train length' at %g, graph 0.97 offset 0.5,0 font ',8' tc rgb 'gray40'\n",
                o->vline, o->vline, o->vline);
    if (isfinite(o->ymin) || isfinite(o->ymax)) {
        char a[32] = "", b[32] = "";
        if (isfinite(o->ymin)) snprintf(a, sizeof a, "%g", o->ymin);
        if (isfinite(o->ymax)) snprintf(b, sizeof b, "%g", o->ymax);
        fprintf(g->pipe, "set yrange [%s:%s]\n", a, b);
    }
    gnuplot_save_both(g, base, cmd.text);
}

typedef struct {
    char names[GEN_MAX_ENCODINGS][GEN_NAME];
    int n;
    float *data[GEN_MAX_ENCODINGS];
    int rows[GEN_MAX_ENCODINGS], cols[GEN_MAX_ENCODINGS];
    char na[GEN_MAX_ENCODINGS][96];
} Loaded;

/* Reads dataset `name` of every encoding of group top. */
static int load_all(hid_t top, const char *name, Loaded *l) {
    memset(l, 0, sizeof *l);
    l->n = gen_read_encodings(top, l->names, GEN_MAX_ENCODINGS);
    int any = 0;
    long long L = 0;
    h5_read_attr_int(top, "train_len", &L);
    for (int e = 0; e < l->n; e++) {
        hid_t g = H5Gopen2(top, l->names[e], H5P_DEFAULT);
        if (g < 0) continue;
        if (!gen_read_matrix(g, name, &l->data[e], &l->rows[e], &l->cols[e])) any = 1;
        char why[512];
        if (!h5_read_attr_string(g, "not_applicable", why, sizeof why))
            snprintf(l->na[e], sizeof l->na[e], "(n/a past %lld)", L);
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

static void length_figure(Gnuplot *g, hid_t top, const char *base, const char *title,
                          const char *dataset, const FigOpts *o) {
    Loaded l;
    if (!load_all(top, dataset, &l)) return free_loaded(&l);
    Series s[GEN_MAX_ENCODINGS];
    double *xs[GEN_MAX_ENCODINGS] = {0};
    int n = 0;
    for (int e = 0; e < l.n; e++) {
        if (!l.data[e]) continue;
        int nx;
        xs[e] = eval_x(top, l.names[e], &nx);
        if (!xs[e]) continue;
        s[n] = (Series){.v = l.data[e], .seeds = l.rows[e], .row_stride = l.cols[e], .n = nx < l.cols[e] ? nx : l.cols[e], .x = xs[e]};
        snprintf(s[n].name, GEN_NAME, "%s", l.names[e]);
        snprintf(s[n].note, sizeof s[n].note, "%s", l.na[e]);
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

static void training_figure(Gnuplot *g, hid_t top, const char *dataset, const char *base,
                            const char *title) {
    Loaded l;
    if (!load_all(top, dataset, &l)) return free_loaded(&l);
    Series s[GEN_MAX_ENCODINGS];
    float *sm[GEN_MAX_ENCODINGS] = {0};
    double *xs[GEN_MAX_ENCODINGS] = {0};
    int n = 0;
    for (int e = 0; e < l.n; e++) {
        if (!l.data[e]) continue;
        int npts = smooth(l.data[e], l.rows[e], l.cols[e], &sm[e], &xs[e]);
        if (!npts) continue;
        s[n] = (Series){.v = sm[e], .seeds = l.rows[e], .row_stride = npts, .n = npts, .x = xs[e]};
        snprintf(s[n].name, GEN_NAME, "%s", l.names[e]);
        n++;
    }
    FigOpts o = {"optimizer step", "training loss (nats, moving average)", 0, 0, 0, NAN, NAN, NAN};
    figure(g, base, title, &o, s, n);
    for (int e = 0; e < l.n; e++) free(sm[e]), free(xs[e]);
    free_loaded(&l);
}

static void position_figures(Gnuplot *g, hid_t top) {
    Loaded l;
    if (!load_all(top, "loss_by_position", &l)) return free_loaded(&l);
    long long L = 0;
    h5_read_attr_int(top, "train_len", &L);
    int nx = 0;
    double *lens = l.n ? eval_x(top, l.names[0], &nx) : NULL;
    for (int i = 0; lens && i < nx; i++) {
        const int T = (int)lens[i];
        Series s[GEN_MAX_ENCODINGS];
        int n = 0, bins = 0;
        double *x = NULL;
        for (int e = 0; e < l.n; e++) {
            if (!l.data[e]) continue;
            /* [S, n, bins]: read as rows S, cols n; bins from the size */
            hid_t gg = H5Gopen2(top, l.names[e], H5P_DEFAULT);
            int rank, d[8];
            float *tmp = NULL;
            if (gg >= 0 && !h5_read_floats(gg, "loss_by_position", &tmp, &rank, d) && rank == 3) bins = d[2];
            free(tmp);
            if (gg >= 0) H5Gclose(gg);
            if (!bins) continue;
            if (!x) {
                x = malloc((size_t)bins * sizeof *x);
                for (int b = 0; b < bins; b++) x[b] = ((double)b + 0.5) * T / bins;
            }
            s[n] = (Series){.v = l.data[e] + (size_t)i * bins, .seeds = l.rows[e],
                            .row_stride = l.cols[e] * bins, .n = bins, .x = x};
            snprintf(s[n].name, GEN_NAME, "%s", l.names[e]);
            snprintf(s[n].note, sizeof s[n].note, "%s", l.na[e]);
            n++;
        }
        if (n && x) {
            char base[64], title[256];
            snprintf(base, sizeof base, "loss-by-position-T%d", T);
            snprintf(title, sizeof title, "loss by position within windows of %d tokens (trained at %lld)", T, L);
            FigOpts o = {"position in the window (bin centre)", "loss (nats)", 0, 0, T > L ? (double)L : 0, NAN, NAN, NAN};
            figure(g, base, title, &o, s, n);
        }
        free(x);
    }
    free(lens);
    free_loaded(&l);
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
        char title[512];
        /* Short enough for the figure's width: a long title is cut at both edges. */
        const char *slash = strrchr(data, '/');
        const char *dname = slash ? slash + 1 : data;
        snprintf(title, sizeof title, "perplexity vs length: %s, trained at L=%lld, %lld steps, %lld seeds (95%% CI)",
                 dname, L, steps, seeds);
        FigOpts o = {"evaluation length (tokens)", "perplexity", 1, 1, (double)L, 1.0, NAN, NAN};
        length_figure(&g, top, "ppl-vs-length", title, "ppl", &o);
        snprintf(title, sizeof title, "perplexity vs length, sliding windows: %s, trained at L=%lld", dname, L);
        length_figure(&g, top, "ppl-sliding-vs-length", title, "ppl_sliding", &o);
        FigOpts m = {"evaluation length (tokens)", "peak evaluation heap (bytes)", 1, 1, (double)L, NAN, NAN, NAN};
        length_figure(&g, top, "eval-memory", "evaluation memory vs length (log-log: slope 1 = linear)",
                      "eval_peak_bytes", &m);
        position_figures(&g, top);
        H5Gclose(top);
        if (h5_exists(file, "training")) {
            hid_t tr = H5Gopen2(file, "training", H5P_DEFAULT);
            snprintf(title, sizeof title, "training loss: %s, context %lld, mean of %lld seeds (95%% CI)", data, L, seeds);
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
            char base[64], title[512];
            snprintf(base, sizeof base, "task-%s-accuracy", name);
            snprintf(title, sizeof title, "task %s: exact-match accuracy vs length (trained on lengths up to %lld, "
                     "%lld steps, %lld seeds, 95%% CI)", name, L, steps, seeds);
            FigOpts o = {"sequence length (tokens)", "exact-match accuracy", 1, 0, (double)L, 0.0, -0.02, 1.02};
            length_figure(&g, top, base, title, "accuracy", &o);
            snprintf(base, sizeof base, "task-%s-training-loss", name);
            snprintf(title, sizeof title, "task %s: training loss (answer tokens), mean of %lld seeds", name, seeds);
            training_figure(&g, top, "train_loss", base, title);
            H5Gclose(top);
        }
        H5Gclose(tg);
    }
    return gnuplot_close(&g);
}
