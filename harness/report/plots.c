/* plots.c: which drawing functions a kind of results file gets (plots.h). */
#include <string.h>

#include "../results/h5io.h"
#include "plots.h"

PbStatus plot_results(hid_t file, const char *kind, const char *path, const char *dir) {
    if (strcmp(kind, "encoding_export") == 0) return plot_export(file, dir);
    if (strcmp(kind, "bench") == 0) return plot_bench(file, path, dir);
    if (strcmp(kind, "generalize") == 0) return plot_generalize(file, path, dir);
    if (strcmp(kind, "run") == 0) {
        PbStatus st = h5_exists(file, "bench") ? plot_bench(file, path, dir) : PB_OK;
        return st ? st : plot_generalize(file, path, dir);
    }
    return pb_fail(PB_DATA, "'%s': this posbench cannot plot files of kind '%s'", path, kind);
}
