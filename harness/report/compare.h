/* compare.h: what changed between two results files of one kind, and whether
 * it is real (`posbench compare A B`, `posbench plot A B`).
 *
 * Bench cells (a bench file, or a run's /bench) are matched by encoding and
 * variant, scope, pass, T, C and H. Each matched cell gets the ratio of its
 * median times B/A and a two-sided Mann-Whitney U p-value over the two
 * files' repetitions (core/stats.h), as Google Benchmark's tools/compare.py
 * does; with fewer repetitions than the test needs, no p-value.
 * Generalization and task results (a generalize or run file) are matched by
 * study, encoding and evaluation length. Each gets the two means over seeds
 * and the difference B - A with its 95% interval: paired by seed when both
 * files ran the same seeds on the same data (same seed_values and
 * ids_sha256), Welch's t otherwise. Then the verdicts that changed.
 * Everything is computed from the files alone; nothing is written. */
#ifndef POSBENCH_COMPARE_H
#define POSBENCH_COMPARE_H

#include <hdf5.h>
#include <stdio.h>

#include "../../core/stats.h"
#include "../../core/status.h"
#include "../train/generalize.h"

/* A change is called significant below this p-value (compare.py's alpha). */
#define COMPARE_ALPHA 0.05

#define COMPARE_CELL 192

/* One bench cell measured in both files. */
typedef struct {
    char cell[COMPARE_CELL]; /* "attention/forward/rope/T:64/C:64/H:4" */
    char group[72];          /* "attention/forward": its geometric mean's group */
    double a_ns, b_ns;       /* median ns per pass */
    double time_ratio;       /* b_ns / a_ns: above 1 is slower */
    double tps_ratio;        /* tokens/s B / A (a_ns / b_ns) */
    int na, nb;              /* repetitions kept in each file */
    double p;                /* two-sided U test; NaN: too few repetitions */
} BenchDelta;

/* A cell found in one file only. */
typedef struct {
    char cell[COMPARE_CELL];
    char in; /* 'A' or 'B' */
} OnlyCell;

/* The geometric mean of the time ratios of one group of cells. */
typedef struct {
    char group[72];
    double time_ratio;
    int n;
} GeoMean;

/* One (study, encoding, evaluation length) measured in both files. */
typedef struct {
    char study[48];          /* "generalization" or "task:copy" */
    char encoding[GEN_NAME]; /* printable */
    int T;
    const char *metric;     /* "loss" (nats per token) or "accuracy" */
    double a, b;            /* means over seeds */
    double a_ppl, b_ppl;    /* mean perplexity over seeds; NaN for tasks */
    double diff, half95, p; /* b - a, its 95% interval's half-width, two-sided p */
    int na, nb;             /* seeds with a finite value */
    int paired;             /* 1: paired by seed; 0: Welch */
    StatsStatus status;     /* STATS_OK, or why there is no interval */
} GenDelta;

typedef struct {
    char encoding[GEN_NAME];
    char a[128], b[128]; /* the verdicts as `show` words them */
} VerdictChange;

/* A setting that differs between the two files. */
typedef struct {
    char name[48];
    char a[256], b[256]; /* printable; "(absent)" when a file lacks it */
} ProvDiff;

#define COMPARE_MAX_PROV 48
#define COMPARE_MAX_GEO 8

typedef struct {
    char kind[16];
    char path_a[1024], path_b[1024]; /* printable */
    ProvDiff prov[COMPARE_MAX_PROV];
    int n_prov;
    int has_bench; /* both files hold a bench */
    BenchDelta *bench;
    size_t n_bench;
    OnlyCell *only;
    size_t n_only;
    GeoMean geo[COMPARE_MAX_GEO];
    int n_geo;
    int has_gen; /* both files hold generalization or task results */
    GenDelta *gen;
    size_t n_gen, n_gen_only; /* matched; in one file only */
    VerdictChange verdicts[GEN_MAX_ENCODINGS];
    int n_verdicts;
} Comparison;

/* Opens both files (as untrusted, harness/report/kinds.h) and compares them.
 * PB_USAGE for the same file twice or files of different kinds; PB_DATA
 * for a file that cannot be read, for export files (nothing to compare) and
 * for files with no cell, study or length in common. */
PbStatus compare_files(const char *path_a, const char *path_b, Comparison *c);
void comparison_free(Comparison *c);

/* Parts of compare_files, one per file kind's content (compare_bench.c,
 * compare_gen.c, compare_prov.c). */
PbStatus compare_bench(hid_t a, const char *path_a, hid_t b, const char *path_b, Comparison *c);
PbStatus compare_gen(hid_t a, hid_t b, Comparison *c);
void compare_provenance(hid_t a, hid_t b, Comparison *c);

/* Whether a bench cell changed significantly (p below COMPARE_ALPHA) by more
 * than pct percent of its time, in either direction (dir 0), slower (dir
 * 1) or faster (dir -1). */
int bench_delta_beyond(const BenchDelta *d, double pct, int dir);

/* The comparison as text. threshold_pct >= 0: changes beyond it are marked
 * (in colour when colour is set, with a sign otherwise). */
void compare_print(const Comparison *c, FILE *out, double threshold_pct, int colour);

/* The same as one JSON object. */
void compare_json(const Comparison *c, FILE *out);

/* One picture: each matched bench cell's time ratio with its significance,
 * or each generalization difference with its interval, into dir. */
PbStatus plot_compare(const Comparison *c, const char *dir);

#endif
