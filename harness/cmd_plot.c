/* cmd_plot.c: `posbench plot FILE.h5 [-o DIR]`: draws the plots of a posbench
 * HDF5 file from that file alone (same file in, same plots out). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "gnuplot.h"
#include "h5io.h"
#include "plots.h"

/* After a failed plot: the directory this run created goes again, with the
 * plots (flat files) it had drawn so far, so a failure leaves nothing behind. */
static void remove_plots_directory(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        char path[8192];
        for (struct dirent *e; (e = readdir(d));) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

PbStatus cmd_plot(int argc, char **argv) {
    const char *dir = NULL;
    const ArgSpec options[] = {
        {"--output", "-o", ARG_STRING, &dir, 0, 0, NULL, "DIR", "directory for the plots (default: FILE without .h5, plus -plots)"},
        {NULL},
    };
    const ArgCommand cmd = {"plot", "FILE.h5 [-o DIR]",
                            "Draws the plots of a posbench HDF5 file (PNG and SVG) with gnuplot.", options, 1, 1};
    const char *pos[1];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st) return st;
    if (help) return args_print_help(&cmd, stdout), PB_OK;

    char default_dir[4096];
    if (!dir) {
        size_t n = strlen(pos[0]);
        if (n > 3 && strcmp(pos[0] + n - 3, ".h5") == 0) n -= 3;
        snprintf(default_dir, sizeof default_dir, "%.*s-plots", (int)n, pos[0]);
        dir = default_dir;
    }
    if (strpbrk(dir, "'\"\n"))
        return pb_fail(PB_USAGE, "plot: the output directory name may not contain quotes or newlines");

    hid_t file;
    char kind[64];
    if ((st = h5in_open_results(&file, kind, sizeof kind, pos[0]))) return st;
    static const char *const kinds[] = {"encoding_export", "bench", "generalize", "run"};
    int known = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) known |= strcmp(kind, kinds[i]) == 0;
    if (!known) {
        H5Fclose(file);
        return pb_fail(PB_DATA, "'%s': this posbench cannot plot files of kind '%s'", pos[0], kind);
    }
    struct stat sb;
    const int created = stat(dir, &sb) != 0;
    st = ensure_directory(dir);
    if (!st) {
        if (strcmp(kind, "encoding_export") == 0) st = plot_export(file, dir);
        else if (strcmp(kind, "bench") == 0) st = plot_bench(file, pos[0], dir);
        else if (strcmp(kind, "generalize") == 0) st = plot_generalize(file, pos[0], dir);
        else if (strcmp(kind, "run") == 0) {
            st = h5_exists(file, "bench") ? plot_bench(file, pos[0], dir) : PB_OK;
            if (!st) st = plot_generalize(file, pos[0], dir);
        }
        else st = pb_fail(PB_DATA, "'%s': this posbench cannot plot files of kind '%s'", pos[0], kind);
    }
    H5Fclose(file);
    if (st && created) remove_plots_directory(dir);
    if (!st) printf("plots in %s/\n", dir);
    return st ? st : finish_stdout();
}
