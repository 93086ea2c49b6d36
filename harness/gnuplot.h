/* gnuplot.h: driving gnuplot through a pipe. Data goes inline as datablocks
 * ($name << EOD), so a plot needs no temporary files; every figure is saved
 * as PNG (pngcairo) and SVG from the same plot command. */
#ifndef POSBENCH_GNUPLOT_H
#define POSBENCH_GNUPLOT_H

#include <stdio.h>

#include "../core/status.h"

typedef struct {
    FILE *pipe;
} Gnuplot;

/* Starts gnuplot; PB_SETUP naming the package if it is not installed. */
PbStatus gnuplot_open(Gnuplot *g);
/* Ends gnuplot; PB_INTERNAL if it reported an error. */
PbStatus gnuplot_close(Gnuplot *g);

/* Writes matrix m [rows, cols] as datablock $name in gnuplot's "matrix"
 * layout, keeping every k-th row and column so neither side exceeds
 * max_side (huge tables stay plottable); returns the stride k used. */
int gnuplot_matrix_block(Gnuplot *g, const char *name, const float *m, int rows, int cols,
                         int max_side);

/* Runs `plot_cmd` (a full "plot ..." line, after any "set" lines already
 * sent) once into DIR/BASE.png and once into DIR/BASE.svg. */
void gnuplot_save_both(Gnuplot *g, const char *dir, const char *base, const char *plot_cmd);

/* Creates directory dir (one level) if missing; PB_IO if impossible. */
PbStatus ensure_directory(const char *dir);

#endif
