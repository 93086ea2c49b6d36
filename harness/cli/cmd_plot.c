/* cmd_plot.c: `posbench plot FILE.h5 [-o DIR] [--force]`: draws the plots of
 * a posbench HDF5 file from that file alone (same file in, same plots out),
 * into a new directory (or an existing one with --force), all or nothing
 * (harness/report/plot_dir.h). With two files, A.h5 B.h5, it draws their
 * comparison (harness/report/compare.h) instead. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "../results/h5io.h"
#include "../report/plot_dir.h"
#include "../report/plots.h"
#include "../report/compare.h"
#include "../report/kinds.h"

/* FILE.h5 -> FILE-plots; A.h5 B.h5 -> A-vs-B-plots (beside A). */
static void default_dir(char *out, size_t cap, const char *const *pos, int npos) {
    size_t n = strlen(pos[0]);
    if (n > 3 && strcmp(pos[0] + n - 3, ".h5") == 0) n -= 3;
    if (npos == 1) {
        snprintf(out, cap, "%.*s-plots", (int)n, pos[0]);
        return;
    }
    const char *b = strrchr(pos[1], '/') ? strrchr(pos[1], '/') + 1 : pos[1];
    size_t nb = strlen(b);
    if (nb > 3 && strcmp(b + nb - 3, ".h5") == 0) nb -= 3;
    snprintf(out, cap, "%.*s-vs-%.*s-plots", (int)n, pos[0], (int)nb, b);
}

/* The plots of one file into stage. */
static PbStatus plot_one(const char *path, const char *stage) {
    hid_t file;
    const ResultKind *kind;
    PbStatus st = result_open(&file, &kind, path);
    if (st) return st;
    st = kind->plot(file, path, stage);
    H5Fclose(file);
    return st;
}

/* The comparison of two files into stage. */
static PbStatus plot_two(const char *a, const char *b, const char *stage) {
    Comparison c;
    PbStatus st = compare_files(a, b, &c);
    if (st) return st;
    st = plot_compare(&c, stage);
    comparison_free(&c);
    return st;
}

PbStatus cmd_plot(int argc, char **argv) {
    const char *dir = NULL;
    int force = 0;
    const ArgSpec options[] = {
        {"--output", "-o", ARG_STRING, &dir, 0, 0, NULL, "DIR",
         "directory for the plots (default: FILE without .h5, plus -plots; A-vs-B-plots for two)"},
        {"--force", NULL, ARG_FLAG, &force, 0, 0, NULL, NULL, "draw into an existing directory, replacing its plots"},
        {NULL},
    };
    const ArgCommand cmd = {"plot",
                            "FILE.h5 [B.h5] [-o DIR] [--force]",
                            "Draws the plots of a posbench HDF5 file (PNG and SVG) with gnuplot; with two files of "
                            "one kind, one picture of their comparison (posbench compare).",
                            options,
                            1,
                            2};
    const char *pos[2];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st || help) return st;
    char fallback[4096];
    if (!dir) default_dir(fallback, sizeof fallback, pos, npos), dir = fallback;
    PlotDir out = {.stage = ""};
    st = plot_dir_begin(&out, dir, force);
    if (!st) st = npos == 1 ? plot_one(pos[0], out.stage) : plot_two(pos[0], pos[1], out.stage);
    if (!st) st = plot_dir_commit(&out);
    else if (*out.stage) plot_dir_abort(&out);
    if (!st) printf("plots in %s/\n", dir);
    return st ? st : finish_stdout();
}
