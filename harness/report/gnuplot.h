/* gnuplot.h: driving gnuplot through a pipe, with no text as code.
 *
 * Data goes inline as datablocks ($name << EOD), so a plot needs no input
 * files; every figure is saved as PNG (pngcairo) and SVG from the same plot
 * command. Text that reaches gnuplot comes from results files, file names
 * and options, which other people write, so it enters a script only through
 * gp_str(): one single-quoted gnuplot string literal, on one line. Inside
 * single quotes gnuplot expands nothing (no `command`, no @macro, no
 * backslash escape); a quote is written as two (a leading one, which gnuplot
 * would read as an empty string '', as U+2019), control characters and
 * invalid UTF-8 become '?' (core/text.h), and the text is capped in length.
 * Enhanced-text markup is off on both terminals. Output paths never come
 * from text: gnuplot runs inside a private directory (plot_dir.h) and writes
 * only the plain names posbench gives it ("ppl-vs-length.png").
 */
#ifndef POSBENCH_GNUPLOT_H
#define POSBENCH_GNUPLOT_H

#include <stdio.h>
#include <sys/types.h>

#include "../../core/status.h"

#define GP_TEXT_MAX 200 /* bytes of text kept in one literal (longer: cut, "...") */
#define GP_LITERALS 8   /* gp_str results alive at once */

typedef struct {
    FILE *pipe;
    pid_t pid;
    char literal[GP_LITERALS][2 * GP_TEXT_MAX + 8];
    int next_literal;
} Gnuplot;

/* Starts gnuplot working in directory dir (its plots land there); PB_SETUP
 * naming the package if it is not installed. */
PbStatus gnuplot_open(Gnuplot *g, const char *dir);
/* Ends gnuplot; PB_INTERNAL if it reported an error. */
PbStatus gnuplot_close(Gnuplot *g);

/* Any text as a safe gnuplot string literal, quotes included: "bob's" ->
 * 'bob''s'. The result lives in g until GP_LITERALS further calls. */
const char *gp_str(Gnuplot *g, const char *text);

/* The same rule into out[cap] (cap >= 2 * GP_TEXT_MAX + 8); tests call it. */
void gp_quote(char *out, size_t cap, const char *text);

/* A gnuplot command being built: additions that would not fit are dropped
 * whole (never cut inside a literal) and `dropped` counts them. */
typedef struct {
    char text[32768];
    size_t len;
    int dropped;
} GpScript;
void gp_script_add(GpScript *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes matrix m [rows, cols] as datablock $name in gnuplot's "matrix"
 * layout, keeping every k-th row and column so neither side exceeds
 * max_side (huge tables stay plottable); returns the stride k used. */
int gnuplot_matrix_block(Gnuplot *g, const char *name, const float *m, int rows, int cols, int max_side);

/* Runs `plot_cmd` (a full "plot ..." line, after any "set" lines already
 * sent) once into BASE.png and once into BASE.svg in gnuplot's directory.
 * BASE is posbench's own name; characters outside [A-Za-z0-9_.-] become '_'. */
void gnuplot_save_both(Gnuplot *g, const char *base, const char *plot_cmd);

/* The extent of a figure's data along one axis: gp_range_add each plotted
 * value (non-finite ones, and on a log axis those <= 0, are skipped). */
typedef struct {
    double lo, hi; /* lo > hi: nothing added */
    int log;
} GpRange;
GpRange gp_range(int log);
void gp_range_add(GpRange *r, double v);

/* Sets axis ('x' or 'y') to the data's range and returns what it set (the
 * data's own range if it holds nothing), where gnuplot would widen it to the
 * next tic (a log axis of 1-100 for data between 8 and 21). Linear: 5% of
 * the span each side, not below 0 for data that are not; tics left to
 * gnuplot. Log: widened by 5% of the span in log terms, each end moved out
 * to a nearby round value (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k) unless
 * that would add more than a quarter of the span; tics labelled at round
 * values, 1-2-5 under four and a half decades and finer under one (gnuplot
 * labels only powers of ten, which a short range may not hold). Tic labels
 * are numbers: 150000 is "150k", 2500000 "2.5M". */
GpRange gnuplot_fit_axis(Gnuplot *g, char axis, GpRange data);

/* Tics of axis at the n values v (sorted or not, duplicates allowed): the
 * evaluation lengths of a study rather than every power of two. */
void gnuplot_tics_at(Gnuplot *g, char axis, const double *v, int n);

/* A note under a figure's title (what is absent, which lines coincide):
 * note wrapped after a space into lines of at most width (< GP_TEXT_MAX - 4)
 * bytes, at most GP_NOTE_LINES (the rest cut, "..."), into
 * lines[][GP_TEXT_MAX]; returns how many. */
#define GP_NOTE_LINES 4
int gp_wrap(const char *note, int width, char lines[][GP_TEXT_MAX]);
/* Adds to cmd one label per line, each through gp_str, centred above the
 * plot area's top edge in `rows` >= n rows from the top, under a title
 * raised by `rows` lines (the top margin must be at least 3 + rows; panels
 * side by side share rows so their titles line up). `unset label` removes
 * them. */
void gp_add_note(Gnuplot *g, GpScript *cmd, char lines[][GP_TEXT_MAX], int n, int rows);

/* Creates directory dir (one level) if missing; PB_IO if impossible. */
PbStatus ensure_directory(const char *dir);

#endif
