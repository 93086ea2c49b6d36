/* compare.c: opening the two files and putting a comparison together (see
 * compare.h). */
#include "compare.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../core/text.h"
#include "../results/h5io.h"
#include "kinds.h"

/* The same file named twice, by any path (hard links included). */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int has_results(hid_t f) { return h5_exists(f, "generalization") || h5_exists(f, "tasks"); }

/* The parts both files hold, compared; PB_DATA when nothing matched. */
static PbStatus compare_parts(hid_t a, const char *path_a, hid_t b, const char *path_b, Comparison *c) {
    PbStatus st = PB_OK;
    c->has_bench = h5_exists(a, "bench") && h5_exists(b, "bench");
    c->has_gen = has_results(a) && has_results(b);
    if (c->has_bench) st = compare_bench(a, path_a, b, path_b, c);
    if (!st && c->has_gen) st = compare_gen(a, b, c);
    if (st) return st;
    if (!c->n_bench && !c->n_gen)
        return pb_fail(PB_DATA, "'%s' and '%s' have no cell, study or length in common: nothing to compare", c->path_a,
                       c->path_b);
    return PB_OK;
}

PbStatus compare_files(const char *path_a, const char *path_b, Comparison *c) {
    memset(c, 0, sizeof *c);
    text_sanitize_copy(c->path_a, sizeof c->path_a, path_a);
    text_sanitize_copy(c->path_b, sizeof c->path_b, path_b);
    if (same_file(path_a, path_b))
        return pb_fail(PB_USAGE, "'%s' and '%s' are the same file: compare two different runs", c->path_a, c->path_b);
    hid_t a, b;
    const ResultKind *ka, *kb;
    PbStatus st = result_open(&a, &ka, path_a);
    if (st) return st;
    if ((st = result_open(&b, &kb, path_b))) {
        H5Fclose(a);
        return st;
    }
    if (ka != kb)
        st = pb_fail(PB_USAGE, "'%s' is a %s file and '%s' a %s file: compare files of one kind", c->path_a, ka->kind,
                     c->path_b, kb->kind);
    else if (strcmp(ka->kind, "encoding_export") == 0)
        st = pb_fail(PB_DATA,
                     "'%s': encoding exports hold no measurements to compare (compare bench, generalize or "
                     "run files)",
                     c->path_a);
    if (!st) {
        snprintf(c->kind, sizeof c->kind, "%s", ka->kind);
        compare_provenance(a, b, c);
        st = compare_parts(a, path_a, b, path_b, c);
    }
    H5Fclose(a), H5Fclose(b);
    if (st) comparison_free(c);
    return st;
}

void comparison_free(Comparison *c) {
    free(c->bench), free(c->only), free(c->gen);
    c->bench = NULL, c->only = NULL, c->gen = NULL;
    c->n_bench = c->n_only = c->n_gen = 0;
}

int bench_delta_beyond(const BenchDelta *d, double pct, int dir) {
    if (!(d->p < COMPARE_ALPHA)) return 0;
    double change = (d->time_ratio - 1) * 100;
    if (dir > 0) return change > pct;
    if (dir < 0) return -change > pct;
    return change > pct || -change > pct;
}
