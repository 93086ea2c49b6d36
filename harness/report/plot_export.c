/* plot_export.c: heatmaps of an encoding export (posbench export), the
 * pictures people look at to understand an encoding:
 *   pos_embedding [T,C]  position x channel
 *   bias [H,T,T]         query x key, one panel per head (first 16 heads)
 *   bucket [T,T]         T5 bucket index, query x key
 *   angle [T,R/2]        RoPE: cos(angle), position x rotation pair
 *   slopes [H]           per-head slope
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gnuplot.h"
#include "../results/h5io.h"
#include "plots.h"

#define MAX_SIDE 512 /* matrices larger than this are decimated for drawing */

/* square: keep cells square (query x key maps); otherwise fill the frame, so
 * a [T, 4] table of RoPE angles is not drawn as a thin strip. */
static void heatmap_settings(Gnuplot *g, const char *xlabel, const char *ylabel, int square) {
    fprintf(g->pipe,
            "reset\nset palette defined (0 '#2c7bb6', 0.5 '#ffffbf', 1 '#d7191c')\n"
            "set xlabel %s\nset ylabel %s\nset yrange [*:*] reverse\nset autoscale xfix\n"
            "set autoscale yfix\n%s\n",
            gp_str(g, xlabel), gp_str(g, ylabel), square ? "set size ratio -1" : "set size noratio");
}

/* A colour range centred on zero, so white means 0 in every signed heatmap. */
static void symmetric_cbrange(Gnuplot *g, const float *m, size_t n) {
    float big = 0;
    for (size_t i = 0; i < n; i++) big = fabsf(m[i]) > big ? fabsf(m[i]) : big;
    fprintf(g->pipe, "set cbrange [%g:%g]\n", -(big > 0 ? big : 1), big > 0 ? big : 1);
}

static PbStatus plot_matrix(Gnuplot *g, const char *base, const char *title,
                            const float *m, int rows, int cols, const char *xlabel, const char *ylabel,
                            int signed_values) {
    int k = gnuplot_matrix_block(g, "M", m, rows, cols, MAX_SIDE);
    heatmap_settings(g, xlabel, ylabel, rows == cols);
    if (signed_values) symmetric_cbrange(g, m, (size_t)rows * cols);
    char full[400];
    snprintf(full, sizeof full, "%s%s", title, k > 1 ? " (every kth row/column shown)" : "");
    fprintf(g->pipe, "set title %s\n", gp_str(g, full));
    char cmd[256];
    snprintf(cmd, sizeof cmd, "plot $M matrix using ($1*%d):($2*%d):3 with image notitle", k, k);
    gnuplot_save_both(g, base, cmd);
    return PB_OK;
}

static PbStatus plot_bias(Gnuplot *g, const char *label, const float *bias, int H, int T) {
    int shown = H < 16 ? H : 16;
    int cols = (int)ceil(sqrt((double)shown)), rows = (shown + cols - 1) / cols;
    int k = 1;
    for (int h = 0; h < shown; h++) {
        char name[16];
        snprintf(name, sizeof name, "B%d", h);
        k = gnuplot_matrix_block(g, name, bias + (size_t)h * T * T, T, T, MAX_SIDE / cols + 1);
    }
    heatmap_settings(g, "key j", "query i", 1);
    symmetric_cbrange(g, bias, (size_t)shown * T * T);
    char title[400];
    snprintf(title, sizeof title, "%s: attention bias b[h,i,j]%s", label, H > shown ? " (first 16 heads)" : "");
    GpScript cmd = {0};
    gp_script_add(&cmd, "set multiplot layout %d,%d title %s\n", rows, cols, gp_str(g, title));
    for (int h = 0; h < shown; h++)
        gp_script_add(&cmd, "set title 'head %d'\nplot $B%d matrix using ($1*%d):($2*%d):3 with image notitle\n", h,
                      h, k, k);
    gp_script_add(&cmd, "unset multiplot");
    gnuplot_save_both(g, "bias", cmd.text);
    return PB_OK;
}

PbStatus plot_export(hid_t file, const char *path, const char *dir) {
    (void)path; /* messages name the tensors; h5_read_* name the file */
    static const char *const drawn[] = {"pos_embedding", "bias", "bucket", "angle", "slopes"};
    int any = 0;
    for (size_t i = 0; i < sizeof drawn / sizeof drawn[0]; i++) any |= h5_exists(file, drawn[i]);
    char enc[128], variant[128], label[300];
    PbStatus st = h5_read_attr_string(file, "encoding", enc, sizeof enc);
    if (!st) st = h5_read_attr_string(file, "variant", variant, sizeof variant);
    if (st) return st;
    snprintf(label, sizeof label, "%s (%s)", enc, variant);
    Gnuplot g;
    if ((st = gnuplot_open(&g, dir))) return st;
    float *data = NULL;
    int *ints = NULL, rank, dims[8];
    char title[400];
    if (!st && h5_exists(file, "pos_embedding") && !(st = h5_read_floats(file, "pos_embedding", &data, &rank, dims))) {
        snprintf(title, sizeof title, "%s: position embedding", label);
        st = plot_matrix(&g, "pos_embedding", title, data, dims[0], dims[1], "channel", "position", 1);
        free(data), data = NULL;
    }
    if (!st && h5_exists(file, "bias") && !(st = h5_read_floats(file, "bias", &data, &rank, dims))) {
        st = rank == 3 ? plot_bias(&g, label, data, dims[0], dims[1]) : pb_fail(PB_DATA, "bias must be [H,T,T]");
        free(data), data = NULL;
    }
    if (!st && h5_exists(file, "bucket") && !(st = h5_read_ints(file, "bucket", &ints, &rank, dims))) {
        size_t n = (size_t)dims[0] * dims[1];
        data = malloc(n * sizeof *data);
        if (!data) st = pb_fail(PB_NOMEM, "no memory for the bucket plot");
        for (size_t i = 0; data && i < n; i++) data[i] = (float)ints[i];
        snprintf(title, sizeof title, "%s: bucket of (key - query)", label);
        if (!st) st = plot_matrix(&g, "bucket", title, data, dims[0], dims[1], "key j", "query i", 0);
        free(ints), ints = NULL;
        free(data), data = NULL;
    }
    if (!st && h5_exists(file, "angle") && !(st = h5_read_floats(file, "angle", &data, &rank, dims))) {
        for (size_t i = 0; i < (size_t)dims[0] * dims[1]; i++) data[i] = cosf(data[i]);
        snprintf(title, sizeof title, "%s: cos(rotation angle)", label);
        st = plot_matrix(&g, "angle", title, data, dims[0], dims[1], "rotation pair k", "position p", 1);
        free(data), data = NULL;
    }
    if (!st && h5_exists(file, "slopes") && !(st = h5_read_floats(file, "slopes", &data, &rank, dims))) {
        fprintf(g.pipe, "reset\n$S << EOD\n");
        for (int h = 0; h < dims[0]; h++) fprintf(g.pipe, "%d %.8g\n", h, data[h]);
        snprintf(title, sizeof title, "%s: slope per head", label);
        fprintf(g.pipe, "EOD\nset title %s\nset xlabel 'head'\nset ylabel 'slope'\n"
                        "set logscale y 2\nset grid\n", gp_str(&g, title));
        gnuplot_save_both(&g, "slopes", "plot $S using 1:2 with linespoints pt 7 notitle");
        free(data), data = NULL;
    }
    PbStatus closed = gnuplot_close(&g);
    if (!st && !closed && !any) printf("%s defines no tensors (no hooks that act); nothing to draw\n", enc);
    return st ? st : closed;
}
