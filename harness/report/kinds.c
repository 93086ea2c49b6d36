/* kinds.c: the table of result kinds (see kinds.h). */
#include "kinds.h"

#include <string.h>

#include "../results/bench_h5.h"
#include "../results/h5io.h"
#include "../results/h5schema.h"
#include "../train/generalize.h"
#include "plots.h"
#include "show.h"

/* A run file: the bench (if it has one), then the studies. */
static PbStatus show_run(hid_t file, const char *path, FILE *out) {
    PbStatus st = h5_exists(file, "bench") ? show_bench(file, path, out) : PB_OK;
    if (!st) fprintf(out, "\n"), st = gen_show(file, path, out);
    return st;
}

static PbStatus plot_run(hid_t file, const char *path, const char *dir) {
    PbStatus st = h5_exists(file, "bench") ? plot_bench(file, path, dir) : PB_OK;
    return st ? st : plot_generalize(file, path, dir);
}

static const ResultKind kinds[] = {
    {"encoding_export", 1, 0, h5_check_export, show_export, plot_export},
    {"bench", BENCH_SCHEMA_VERSION, 1, h5_check_bench, show_bench, plot_bench},
    {"generalize", GEN_SCHEMA_VERSION, 1, h5_check_generalize, gen_show, plot_generalize},
    {"run", GEN_SCHEMA_VERSION, 1, h5_check_run, show_run, plot_run},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const ResultKind *result_kind(const char *kind) {
    for (const ResultKind *k = kinds; k->kind; k++)
        if (strcmp(k->kind, kind) == 0) return k;
    return NULL;
}

PbStatus result_open(hid_t *file, const ResultKind **kind, const char *path) {
    PbStatus st = h5in_open(file, path);
    if (st) return st;
    char name[64];
    if (h5_read_attr_string(*file, "kind", name, sizeof name)) {
        H5Fclose(*file);
        return pb_fail(PB_DATA, "'%s' is not a posbench results file (no 'kind' attribute)", path);
    }
    *kind = result_kind(name);
    if (!*kind) st = pb_fail(PB_DATA, "'%s': this posbench cannot read files of kind '%s'", path, name);
    if (!st) st = h5_check_schema_version(*file, path, name, (*kind)->schema_version, (*kind)->version_required);
    if (!st) st = (*kind)->check(*file, path);
    if (st) H5Fclose(*file);
    return st;
}
