/* cmd_plot.c: `posbench plot FILE.h5 [-o DIR] [--force]`: draws the plots of
 * a posbench HDF5 file from that file alone (same file in, same plots out),
 * into a new directory (or an existing one with --force), all or nothing
 * (harness/report/plot_dir.h). */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "../results/h5io.h"
#include "../report/plot_dir.h"
#include "../report/plots.h"
#include "../report/kinds.h"

PbStatus cmd_plot(int argc, char **argv) {
    const char *dir = NULL;
    int force = 0;
    const ArgSpec options[] = {
        {"--output", "-o", ARG_STRING, &dir, 0, 0, NULL, "DIR",
         "directory for the plots (default: FILE without .h5, plus -plots)"},
        {"--force", NULL, ARG_FLAG, &force, 0, 0, NULL, NULL, "draw into an existing directory, replacing its plots"},
        {NULL},
    };
    const ArgCommand cmd = {"plot",
                            "FILE.h5 [-o DIR] [--force]",
                            "Draws the plots of a posbench HDF5 file (PNG and SVG) with gnuplot.",
                            options,
                            1,
                            1};
    const char *pos[1];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st || help) return st;

    char default_dir[4096];
    if (!dir) {
        size_t n = strlen(pos[0]);
        if (n > 3 && strcmp(pos[0] + n - 3, ".h5") == 0) n -= 3;
        snprintf(default_dir, sizeof default_dir, "%.*s-plots", (int)n, pos[0]);
        dir = default_dir;
    }

    hid_t file;
    const ResultKind *kind;
    if ((st = result_open(&file, &kind, pos[0]))) return st;
    PlotDir out;
    st = plot_dir_begin(&out, dir, force);
    if (!st) st = kind->plot(file, pos[0], out.stage);
    H5Fclose(file);
    if (!st) st = plot_dir_commit(&out);
    else plot_dir_abort(&out);
    if (!st) printf("plots in %s/\n", dir);
    return st ? st : finish_stdout();
}
