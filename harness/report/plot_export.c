/* plot_export.c: every tensor of an encoding export (posbench export), drawn
 * from the file alone: the pictures people look at to understand an
 * encoding. Each dataset at the root, in name order (show_export.c lists
 * them), becomes one figure named after it:
 *   rank 1 [N]       a line, index vs value
 *   rank 2 [R,C]     a heat map, row x column (every kth row and column past
 *                    512; a single row or column is drawn as a line)
 *   rank 3 [H,T,T]   H the file's H: one heat-map panel per head (first 16)
 * Anything else gets a one-line note on stdout naming it and its shape, so a
 * tensor is never skipped silently. The tensors posbench's encodings write
 * keep labels that say what they are (hints[] below); any other name gets
 * generic ones ("index", "row", "column", "value"):
 *   pos_embedding [T,C]  position x channel
 *   bias [H,T,T]         query x key, per head
 *   bucket [T,T]         T5 bucket index, query x key
 *   angle [T,R/2]        RoPE: cos(angle), position x rotation pair
 *   slopes [H]           per-head slope, log y
 * File names come from tensor names: gnuplot_save_both maps unsafe
 * characters to '_', and names that then clash get -2, -3, ... here, so no
 * figure replaces another.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/text.h"
#include "../results/h5io.h"
#include "gnuplot.h"
#include "plots.h"
#include "show.h"

#define MAX_SIDE 512    /* matrices larger than this are decimated for drawing */
#define MAX_POINTS 8192 /* lines longer than this are decimated */
#define MAX_HEADS 16    /* panels of an [H,T,T] tensor */
#define MAX_TENSORS 256 /* figures per export; the rest are named in a note */
#define BASE_MAX 100    /* bytes of a figure's file name, before the suffix */
#define FILE_MAX (BASE_MAX + 16)

/* How one known tensor is presented. */
typedef struct {
    const char *name; /* dataset name */
    const char *what; /* what it is, for the title (NULL: its name alone) */
    const char *xlabel, *ylabel;
    int signed_values; /* heat map colours centred on zero: 1 yes, 0 no, -1 when values have both signs */
    int cosine;        /* draw cos(value) */
    int log_y;         /* line on a log y axis (when every value is positive) */
    int matrix;        /* drawn as a heat map (else a line); the hint holds only for that drawing */
} Hint;

static const Hint hints[] = {
    {"pos_embedding", "position embedding", "channel", "position", 1, 0, 0, 1},
    {"bias", "attention bias b[h,i,j]", "key j", "query i", 1, 0, 0, 1},
    {"bucket", "bucket of (key - query)", "key j", "query i", 0, 0, 0, 1},
    {"angle", "cos(rotation angle)", "rotation pair k", "position p", 1, 1, 0, 1},
    {"slopes", "slope per head", "head", "slope", 0, 0, 1, 0},
    {NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
static const Hint generic_matrix = {NULL, NULL, "column", "row", -1, 0, 0, 1};
static const Hint generic_line = {NULL, NULL, "index", "value", 0, 0, 0, 0};

static const Hint *hint_of(const char *name, int matrix) {
    for (const Hint *h = hints; h->name; h++)
        if (strcmp(h->name, name) == 0 && h->matrix == matrix) return h;
    return matrix ? &generic_matrix : &generic_line;
}

/* What every figure of one export shares. */
typedef struct {
    Gnuplot g;
    hid_t file;
    char label[300]; /* "alibi (causal)" */
    long long heads; /* the file's H */
} Export;

/* The tensor's name made safe as gnuplot_save_both will make it; 1 if that
 * changed it. */
static int safe_name(const char *tensor, char out[BASE_MAX + 1]) {
    size_t n = 0;
    for (const char *c = tensor; *c && n < BASE_MAX; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                 *c == '_' || (*c == '.' && n > 0);
        out[n++] = ok ? *c : '_';
    }
    out[n] = 0;
    if (!n) snprintf(out, BASE_MAX + 1, "tensor");
    return strcmp(out, tensor) != 0;
}

static int name_taken(char (*names)[FILE_MAX], size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return 1;
    return 0;
}

/* One file name per tensor, none the same: a tensor whose name is already
 * safe keeps it; the others get theirs made safe, then -2, -3, ... past any
 * name given before. names[i] is "" until given. */
static void figure_names(const ExportTensor *t, size_t n, char (*names)[FILE_MAX]) {
    char base[BASE_MAX + 1];
    for (size_t i = 0; i < n; i++)
        if (!safe_name(t[i].name, base)) snprintf(names[i], FILE_MAX, "%s", base);
    for (size_t i = 0; i < n; i++) {
        if (!safe_name(t[i].name, base)) continue;
        snprintf(names[i], FILE_MAX, "%s", base);
        for (int k = 2; name_taken(names, i, names[i]) || name_taken(names + i + 1, n - i - 1, names[i]); k++)
            snprintf(names[i], FILE_MAX, "%s-%d", base, k);
    }
}

/* "alibi (causal): slope per head (slopes [8])" or "rope (half): mytensor [4, 5]",
 * plus a remark; the whole title is one gp_str literal. */
static void title_of(const Export *x, const Hint *h, const ExportTensor *t, const char *remark, char *out, size_t cap) {
    char shape[160];
    export_shape_text(t, shape, sizeof shape);
    if (h->what) snprintf(out, cap, "%s: %s (%s %s)%s", x->label, h->what, t->name, shape, remark);
    else snprintf(out, cap, "%s: %s %s%s", x->label, t->name, shape, remark);
}

/* square: keep cells square (query x key maps); otherwise fill the frame, so
 * a [T, 4] table of RoPE angles is not drawn as a thin strip. */
static void heatmap_settings(Gnuplot *g, const char *xlabel, const char *ylabel, int square) {
    fprintf(g->pipe,
            "reset\nset palette defined (0 '#2c7bb6', 0.5 '#ffffbf', 1 '#d7191c')\n"
            "set xlabel %s\nset ylabel %s\nset yrange [*:*] reverse\nset autoscale xfix\n"
            "set autoscale yfix\n%s\n",
            gp_str(g, xlabel), gp_str(g, ylabel), square ? "set size ratio -1" : "set size noratio");
}

/* Colours: centred on zero (white means 0) for signed maps, else fitted to
 * the finite values; NaN and infinities never reach a range. */
static void colour_range(Gnuplot *g, const Hint *h, ExportStats s) {
    int centred = h->signed_values == 1 || (h->signed_values == -1 && s.min < 0 && s.max > 0);
    double lo = s.min, hi = s.max, big = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
    if (centred) lo = big > 0 ? -big : -1, hi = big > 0 ? big : 1;
    else if (lo == hi) lo -= lo != 0 ? fabs(lo) / 10 : 1, hi += hi != 0 ? fabs(hi) / 10 : 1;
    fprintf(g->pipe, "set cbrange [%.9g:%.9g]\n", lo, hi);
}

static void plot_line(Export *x, const Hint *h, const ExportTensor *t, const float *v, size_t n, ExportStats s,
                      const char *file) {
    Gnuplot *g = &x->g;
    size_t k = (n + MAX_POINTS - 1) / MAX_POINTS;
    fprintf(g->pipe, "reset\n$S << EOD\n");
    for (size_t i = 0; i < n; i += k) fprintf(g->pipe, "%zu %.8g\n", i, v[i]);
    char title[1024];
    title_of(x, h, t, k > 1 ? " (every kth value shown)" : "", title, sizeof title);
    int log_y = h->log_y && s.min > 0 && s.nans + s.infs == 0;
    fprintf(g->pipe, "EOD\nset title %s\nset xlabel %s\nset ylabel %s\nset grid\n%s", gp_str(g, title),
            gp_str(g, h->xlabel), gp_str(g, h->ylabel), log_y ? "set logscale y 2\n" : "");
    /* One point or one value: a range around it, not gnuplot's warning. */
    if (n == 1) fprintf(g->pipe, "set xrange [-1:1]\n");
    double d = s.min != 0 ? fabs((double)s.min) / 10 : 1;
    if (s.min == s.max) fprintf(g->pipe, "set yrange [%.17g:%.17g]\n", s.min - (log_y ? 0 : d), s.max + d);
    const char *few = "plot $S using 1:2 with linespoints pt 7 notitle", *many = "plot $S using 1:2 with lines notitle";
    gnuplot_save_both(g, file, n <= 64 ? few : many);
}

static void plot_matrix(Export *x, const Hint *h, const ExportTensor *t, const float *m, int rows, int cols,
                        ExportStats s, const char *file) {
    Gnuplot *g = &x->g;
    int k = gnuplot_matrix_block(g, "M", m, rows, cols, MAX_SIDE);
    heatmap_settings(g, h->xlabel, h->ylabel, rows == cols);
    colour_range(g, h, s);
    char title[1024];
    title_of(x, h, t, k > 1 ? " (every kth row/column shown)" : "", title, sizeof title);
    fprintf(g->pipe, "set title %s\n", gp_str(g, title));
    char cmd[256];
    snprintf(cmd, sizeof cmd, "plot $M matrix using ($1*%d):($2*%d):3 with image notitle", k, k);
    gnuplot_save_both(g, file, cmd);
}

/* [H,T,T]: one panel per head, one colour range for all of them. */
static void plot_heads(Export *x, const Hint *h, const ExportTensor *t, const float *m, int H, int T,
                       const char *file) {
    Gnuplot *g = &x->g;
    int shown = H < MAX_HEADS ? H : MAX_HEADS;
    int cols = (int)ceil(sqrt((double)shown)), rows = (shown + cols - 1) / cols;
    int k = 1;
    for (int i = 0; i < shown; i++) {
        char name[16];
        snprintf(name, sizeof name, "B%d", i);
        k = gnuplot_matrix_block(g, name, m + (size_t)i * T * T, T, T, MAX_SIDE / cols + 1);
    }
    heatmap_settings(g, h->xlabel, h->ylabel, 1);
    colour_range(g, h, export_stats(m, (size_t)shown * T * T));
    char title[1024];
    title_of(x, h, t, H > shown ? ", first 16 heads" : "", title, sizeof title);
    GpScript cmd = {0};
    gp_script_add(&cmd, "set multiplot layout %d,%d title %s\n", rows, cols, gp_str(g, title));
    for (int i = 0; i < shown; i++)
        gp_script_add(&cmd, "set title 'head %d'\nplot $B%d matrix using ($1*%d):($2*%d):3 with image notitle\n", i, i,
                      k, k);
    gp_script_add(&cmd, "unset multiplot");
    gnuplot_save_both(g, file, cmd.text);
}

/* Why a tensor is not drawn, or NULL when it is. */
static const char *not_drawn(const Export *x, const ExportTensor *t) {
    if (!t->dataset) return "not a dataset";
    if (!t->numeric) return "not numeric";
    if (t->rank < 1) return "holds no array";
    if (export_tensor_count(t) < 1) return "holds no values";
    if (t->rank == 3 && (t->dims[0] != x->heads || t->dims[1] != t->dims[2]))
        return "rank 3 but not [H, T, T] with the file's H";
    if (t->rank > 3) return "plot draws rank 1 and 2 tensors and [H, T, T]";
    return NULL;
}

static void note(const ExportTensor *t, const char *why) {
    char name[256], shape[160];
    text_sanitize_copy(name, sizeof name, t->name);
    export_shape_text(t, shape, sizeof shape);
    printf("not drawn: %s %s %s (%s)\n", name, t->dtype, shape, why);
}

static PbStatus plot_tensor(Export *x, const ExportTensor *t, const char *file) {
    const char *why = not_drawn(x, t);
    if (why) return note(t, why), PB_OK;
    float *v;
    PbStatus st = export_tensor_read(x->file, t, &v);
    if (st) return st;
    size_t n = (size_t)export_tensor_count(t);
    int r = t->rank, matrix = r == 3 ? t->dims[1] > 1 : r == 2 && t->dims[0] > 1 && t->dims[1] > 1;
    const Hint *h = hint_of(t->name, matrix);
    if (h->cosine)
        for (size_t i = 0; i < n; i++) v[i] = cosf(v[i]);
    ExportStats s = export_stats(v, n);
    if (!s.finite) note(t, "no finite values");
    else {
        if (!matrix) plot_line(x, h, t, v, n, s, file);
        else if (r == 2) plot_matrix(x, h, t, v, (int)t->dims[0], (int)t->dims[1], s, file);
        else plot_heads(x, h, t, v, (int)t->dims[0], (int)t->dims[1], file);
    }
    free(v);
    return st;
}

PbStatus plot_export(hid_t file, const char *path, const char *dir) {
    Export x = {.file = file};
    char enc[128], variant[128];
    PbStatus st = h5_read_attr_string(file, "encoding", enc, sizeof enc);
    if (!st) st = h5_read_attr_string(file, "variant", variant, sizeof variant);
    if (!st) st = h5_read_attr_int(file, "H", &x.heads);
    if (st) return st;
    snprintf(x.label, sizeof x.label, "%s (%s)", enc, variant);
    ExportTensor *t;
    size_t n;
    if ((st = export_tensors(file, path, &t, &n))) return st;
    size_t drawn = n < MAX_TENSORS ? n : MAX_TENSORS;
    char(*files)[FILE_MAX] = pb_calloc(drawn ? drawn : 1, sizeof *files, "the names of an export's figures");
    if (!files || (st = gnuplot_open(&x.g, dir))) return export_tensors_free(t, n), free(files), files ? st : PB_NOMEM;
    figure_names(t, drawn, files);
    for (size_t i = 0; !st && i < drawn; i++) st = plot_tensor(&x, &t[i], files[i]);
    if (!st && n > drawn)
        printf("not drawn: %zu further tensors (plot draws at most %d per export)\n", n - drawn, MAX_TENSORS);
    PbStatus closed = gnuplot_close(&x.g);
    if (!st && !closed && n == 0) printf("%s defines no tensors (no hooks that act); nothing to draw\n", enc);
    export_tensors_free(t, n);
    free(files);
    return st ? st : closed;
}
