/* compare_bench.c: bench cells of two files, matched, with time ratios, U
 * tests over their repetitions and geometric means per scope and pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../results/bench_h5.h"
#include "compare.h"

/* "attention/forward/rope:half/T:64/C:64/H:4": the encoding as a spec. */
static void cell_name(char *out, size_t cap, const BenchRow *r) {
    char enc[2 * BENCH_NAME + 4];
    bench_row_spec(r, enc, sizeof enc);
    snprintf(out, cap, "%s/%s/%s/T:%d/C:%d/H:%d", r->scope, r->pass, enc, r->seq_len, r->dim, r->heads);
}

static const BenchRow *find_row(const BenchResults *r, const char *cell) {
    char name[COMPARE_CELL];
    for (size_t i = 0; i < r->n; i++) {
        cell_name(name, sizeof name, &r->rows[i]);
        if (strcmp(name, cell) == 0) return &r->rows[i];
    }
    return NULL;
}

static BenchDelta delta_of(const BenchRow *a, const BenchRow *b, const char *cell) {
    BenchDelta d = {.a_ns = a->ns_median, .b_ns = b->ns_median, .na = a->n_rep_ns, .nb = b->n_rep_ns, .p = NAN};
    snprintf(d.cell, sizeof d.cell, "%s", cell);
    snprintf(d.group, sizeof d.group, "%s/%s", a->scope, a->pass);
    d.time_ratio = b->ns_median / a->ns_median;
    d.tps_ratio = a->ns_median / b->ns_median;
    double u;
    if (stats_utest_possible(d.na, d.nb) && stats_mann_whitney(a->rep_ns, d.na, b->rep_ns, d.nb, &u, &d.p) != STATS_OK)
        d.p = NAN;
    return d;
}

/* The cells of `from` that `other` lacks, as OnlyCell entries marked in. */
static void add_only(Comparison *c, const BenchResults *from, const BenchResults *other, char in) {
    for (size_t i = 0; i < from->n; i++) {
        OnlyCell *o = &c->only[c->n_only];
        cell_name(o->cell, sizeof o->cell, &from->rows[i]);
        if (find_row(other, o->cell)) continue;
        o->in = in;
        c->n_only++;
    }
}

/* Geometric mean of the time ratios per scope/pass, in the order met. */
static void geo_means(Comparison *c) {
    double sum_log[COMPARE_MAX_GEO] = {0};
    for (size_t i = 0; i < c->n_bench; i++) {
        const BenchDelta *d = &c->bench[i];
        if (!(d->time_ratio > 0) || !isfinite(d->time_ratio)) continue;
        int k = 0;
        while (k < c->n_geo && strcmp(c->geo[k].group, d->group) != 0) k++;
        if (k == COMPARE_MAX_GEO) continue;
        if (k == c->n_geo) snprintf(c->geo[c->n_geo++].group, sizeof c->geo[k].group, "%s", d->group);
        sum_log[k] += log(d->time_ratio);
        c->geo[k].n++;
    }
    for (int k = 0; k < c->n_geo; k++) c->geo[k].time_ratio = exp(sum_log[k] / c->geo[k].n);
}

static PbStatus match(const BenchResults *ra, const BenchResults *rb, Comparison *c) {
    c->bench = calloc(ra->n + 1, sizeof *c->bench);
    c->only = calloc(ra->n + rb->n + 1, sizeof *c->only);
    if (!c->bench || !c->only) return pb_fail(PB_NOMEM, "no memory to compare %zu and %zu cells", ra->n, rb->n);
    char name[COMPARE_CELL];
    for (size_t i = 0; i < ra->n; i++) {
        cell_name(name, sizeof name, &ra->rows[i]);
        const BenchRow *b = find_row(rb, name);
        if (b && ra->rows[i].ns_median > 0 && b->ns_median > 0)
            c->bench[c->n_bench++] = delta_of(&ra->rows[i], b, name);
    }
    add_only(c, ra, rb, 'A');
    add_only(c, rb, ra, 'B');
    geo_means(c);
    return PB_OK;
}

PbStatus compare_bench(hid_t a, const char *path_a, hid_t b, const char *path_b, Comparison *c) {
    BenchResults ra, rb;
    PbStatus st = bench_h5_read(a, path_a, &ra);
    if (st) return st;
    if ((st = bench_h5_read(b, path_b, &rb))) {
        bench_results_free(&ra);
        return st;
    }
    st = match(&ra, &rb, c);
    bench_results_free(&ra), bench_results_free(&rb);
    return st;
}
