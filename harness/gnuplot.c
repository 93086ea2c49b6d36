/* gnuplot.c: the gnuplot pipe (see gnuplot.h). */
#include "gnuplot.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

PbStatus gnuplot_open(Gnuplot *g) {
    fflush(NULL);
    /* gnuplot's own diagnostics go to our stderr; its stdout is discarded. */
    g->pipe = popen("gnuplot >/dev/null", "w");
    if (!g->pipe) return pb_fail(PB_SETUP, "cannot start gnuplot: apt-get install gnuplot-nox (or run tools/setup)");
    return PB_OK;
}

PbStatus gnuplot_close(Gnuplot *g) {
    if (!g->pipe) return PB_OK;
    fprintf(g->pipe, "exit\n");
    int status = pclose(g->pipe);
    g->pipe = NULL;
    if (status == -1) return pb_fail(PB_INTERNAL, "gnuplot did not finish: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return pb_fail(PB_SETUP, "gnuplot not found: apt-get install gnuplot-nox (or run tools/setup)");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return pb_fail(PB_INTERNAL, "gnuplot failed (status %d); see its message above", status);
    return PB_OK;
}

int gnuplot_matrix_block(Gnuplot *g, const char *name, const float *m, int rows, int cols,
                         int max_side) {
    int big = rows > cols ? rows : cols;
    int k = (big + max_side - 1) / max_side;
    if (k < 1) k = 1;
    fprintf(g->pipe, "$%s << EOD\n", name);
    for (int r = 0; r < rows; r += k) {
        for (int c = 0; c < cols; c += k) fprintf(g->pipe, c ? " %.6g" : "%.6g", m[(size_t)r * cols + c]);
        fputc('\n', g->pipe);
    }
    fprintf(g->pipe, "EOD\n");
    return k;
}

void gnuplot_save_both(Gnuplot *g, const char *dir, const char *base, const char *plot_cmd) {
    fprintf(g->pipe,
            "set terminal pngcairo size 900,700 noenhanced font 'sans,10'\n"
            "set output '%s/%s.png'\n%s\nset output\n"
            "set terminal svg size 900,700 noenhanced font 'sans,10'\n"
            "set output '%s/%s.svg'\n%s\nset output\n",
            dir, base, plot_cmd, dir, base, plot_cmd);
}

PbStatus ensure_directory(const char *dir) {
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) return PB_OK;
        return pb_fail(PB_IO, "'%s' exists and is not a directory", dir);
    }
    if (mkdir(dir, 0777) != 0) return pb_fail(PB_IO, "cannot create directory '%s': %s", dir, strerror(errno));
    return PB_OK;
}
