/* bench_h5.c: benchmark results to and from HDF5 (schema: results/README.md).
 *
 *   /bench/throughput  compound table, one row per cell
 *   /bench/memory      compound table, one row per cell
 *   /bench/repetitions_ns  [rows, R] doubles: each row's repetitions, NaN
 *                      past its own count (schema 2; absent in schema 1)
 *   /reference         copy_gbytes_per_s, sgemm_gflops (scalar datasets)
 * The compound types are described once, field by field, from BenchRow; a
 * reader matches fields by name, so columns can be added later.
 */
#include "bench_h5.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/text.h"
#include "h5io.h"

/* Far past any grid posbench measures (a few hundred cells). */
#define BENCH_MAX_ROWS 100000

typedef struct {
    const char *name;
    size_t offset;
    int is_string, is_int;
    size_t size; /* strings: bytes */
} Field;

#define STR(f) \
    { #f, offsetof(BenchRow, f), 1, 0, sizeof(((BenchRow *)0)->f) }
#define INT(f) \
    { #f, offsetof(BenchRow, f), 0, 1, 0 }
#define DBL(f) \
    { #f, offsetof(BenchRow, f), 0, 0, 0 }

static const Field throughput_fields[] = {
    STR(encoding), STR(variant),      STR(scope),        STR(pass),         INT(batch),   INT(seq_len),
    INT(dim),      INT(heads),        INT(repetitions),  DBL(ns_median),    DBL(ns_mean), DBL(ns_stddev),
    DBL(cv),       DBL(tokens_per_s), DBL(gbytes_per_s), DBL(gflops_per_s), STR(host),    {NULL},
};
static const Field memory_fields[] = {
    STR(encoding),
    STR(scope),
    STR(pass),
    INT(seq_len),
    INT(dim),
    INT(heads),
    DBL(param_bytes),
    DBL(activation_bytes),
    DBL(peak_heap_bytes),
    DBL(peak_rss_bytes),
    {NULL},
};

/* The in-memory type: the BenchRow struct itself, restricted to fields. */
static hid_t row_type(const Field *fields) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(BenchRow));
    for (const Field *f = fields; f->name; f++) {
        hid_t str = H5Tcopy(H5T_C_S1);
        H5Tset_size(str, f->is_string ? f->size : 1);
        H5Tinsert(t, f->name, f->offset, f->is_string ? str : f->is_int ? H5T_NATIVE_INT : H5T_NATIVE_DOUBLE);
        H5Tclose(str);
    }
    return t;
}

static PbStatus write_table(hid_t group, const char *name, const Field *fields, const BenchRow *rows, size_t n) {
    hid_t mem = row_type(fields);
    hid_t file_type = H5Tcopy(mem);
    H5Tpack(file_type); /* the file holds only the listed fields, packed */
    hsize_t dims[1] = {n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t set = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = set < 0 ? -1 : (n ? H5Dwrite(set, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) : 0);
    if (set >= 0) H5Dclose(set);
    H5Sclose(space), H5Tclose(file_type), H5Tclose(mem);
    return w < 0 ? pb_fail(PB_IO, "cannot write table /bench/%s (disk full?)", name) : PB_OK;
}

static PbStatus write_scalar(hid_t loc, const char *name, double v, const char *unit) {
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t set = H5Dcreate2(loc, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = set < 0 ? -1 : H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
    PbStatus st = w < 0 ? pb_fail(PB_IO, "cannot write /reference/%s", name) : PB_OK;
    if (!st) st = h5_attr_string(set, "unit", unit);
    if (set >= 0) H5Dclose(set);
    H5Sclose(space);
    return st;
}

/* /bench/repetitions_ns: [n, R] with R the most repetitions of a row (at
 * least 1, so the dataset has a shape), NaN-padded. */
static PbStatus write_repetitions(hid_t group, const BenchRow *rows, size_t n) {
    int R = 1;
    for (size_t i = 0; i < n; i++) R = rows[i].n_rep_ns > R ? rows[i].n_rep_ns : R;
    double *m = malloc((n ? n : 1) * R * sizeof *m);
    if (!m) return pb_fail(PB_NOMEM, "no memory for the repetitions table");
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < R; k++) m[i * R + k] = k < rows[i].n_rep_ns ? rows[i].rep_ns[k] : NAN;
    hsize_t dims[2] = {n, (hsize_t)R};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t set = H5Dcreate2(group, "repetitions_ns", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = set < 0 ? -1 : (n ? H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, m) : 0);
    PbStatus st = w < 0 ? pb_fail(PB_IO, "cannot write /bench/repetitions_ns (disk full?)") : PB_OK;
    if (!st) st = h5_attr_string(set, "unit", "wall-clock ns per pass, one column per repetition, NaN past a row's");
    if (set >= 0) H5Dclose(set);
    H5Sclose(space);
    free(m);
    return st;
}

/* /bench: the run's settings as attributes, then its tables. */
static PbStatus write_bench_group(hid_t file, const BenchPlan *plan, const BenchResults *r) {
    hid_t bench = H5Gcreate2(file, "bench", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (bench < 0) return pb_fail(PB_IO, "cannot create group /bench");
    PbStatus st = h5_attr_string(bench, "profile", plan->profile);
    if (!st) st = h5_attr_int(bench, "batch", plan->batch);
    if (!st) st = h5_attr_int(bench, "cells_skipped_over_memory_budget", r->n_skipped);
    if (!st) st = h5_attr_double(bench, "memory_budget_bytes", (double)plan->max_cell_bytes);
    if (!st && plan->benchmark_flags) st = h5_attr_string(bench, "benchmark_flags", plan->benchmark_flags);
    if (!st) st = h5_attr_int(bench, "cells_planned", (long long)r->n_cells);
    if (!st) st = h5_attr_int(bench, "variants", plan->all_variants);
    if (!st) st = write_table(bench, "throughput", throughput_fields, r->rows, r->n);
    if (!st) st = write_table(bench, "memory", memory_fields, r->rows, r->n);
    if (!st) st = write_repetitions(bench, r->rows, r->n);
    H5Gclose(bench);
    return st;
}

/* /reference: the machine's copy bandwidth and sgemm rate, with units. */
static PbStatus write_reference_group(hid_t file, const BenchResults *r) {
    hid_t ref = H5Gcreate2(file, "reference", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ref < 0) return pb_fail(PB_IO, "cannot create group /reference");
    PbStatus st = write_scalar(ref, "copy_gbytes_per_s", r->copy_gbytes_per_s,
                               "GB/s, bytes read + written by one-core memcpy of 256 MiB");
    if (!st)
        st = write_scalar(ref, "sgemm_gflops", r->sgemm_gflops,
                          "GFLOP/s, OpenBLAS sgemm 1024x1024x1024, its default threads");
    H5Gclose(ref);
    return st;
}

PbStatus bench_h5_write(hid_t file, const BenchPlan *plan, const BenchResults *r) {
    PbStatus st = write_bench_group(file, plan, r);
    if (!st) st = write_reference_group(file, r);
    return st;
}

static PbStatus read_scalar(hid_t file, const char *path, double *v) {
    *v = 0;
    if (!h5_exists(file, "reference") || H5Lexists(file, path, H5P_DEFAULT) <= 0)
        return pb_fail(PB_DATA, "%s is missing", path);
    hid_t set = H5Dopen2(file, path, H5P_DEFAULT);
    hid_t space = set < 0 ? -1 : H5Dget_space(set);
    /* One value only: H5S_ALL would write them all into v. */
    herr_t r = space < 0 || H5Sget_simple_extent_npoints(space) != 1
                   ? -1
                   : H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (space >= 0) H5Sclose(space);
    if (set >= 0) H5Dclose(set);
    return r < 0 ? pb_fail(PB_DATA, "cannot read %s as one number", path) : PB_OK;
}

/* The string fields of rows read from a file: NUL-terminated whatever the
 * file's string padding, and one printable line each (core/text.h). */
static void sanitize_rows(BenchRow *rows, size_t n, const Field *fields) {
    for (size_t i = 0; i < n; i++)
        for (const Field *f = fields; f->name; f++)
            if (f->is_string) {
                char *text = (char *)&rows[i] + f->offset;
                text[f->size - 1] = 0;
                text_sanitize(text);
            }
}

/* Refuses a file without a schema version or with one newer than ours,
 * and one without both tables. */
static PbStatus check_bench_file(hid_t file, const char *path) {
    long long version = 0;
    char kind[16] = "";
    if (h5_read_attr_int(file, "schema_version", &version))
        return pb_fail(PB_DATA, "'%s' has no schema_version attribute: not a posbench bench file", path);
    /* A run file's version is the run schema's (kinds.c checks it). */
    h5_read_attr_string(file, "kind", kind, sizeof kind);
    if (strcmp(kind, "bench") == 0 && version > BENCH_SCHEMA_VERSION)
        return pb_fail(PB_DATA,
                       "'%s' has bench schema version %lld, newer than this posbench reads (%d); "
                       "update posbench",
                       path, version, BENCH_SCHEMA_VERSION);
    if (H5Lexists(file, "bench", H5P_DEFAULT) <= 0 || H5Lexists(file, "bench/throughput", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, "bench/memory", H5P_DEFAULT) <= 0)
        return pb_fail(PB_DATA, "'%s' lacks /bench/throughput or /bench/memory", path);
    return PB_OK;
}

/* r->rows for the n rows /bench/throughput declares (n < 0: unreadable). */
static PbStatus alloc_rows(const char *path, hssize_t n, BenchResults *r) {
    if (n < 0) return pb_fail(PB_DATA, "'%s': /bench/throughput is unreadable", path);
    /* A row in memory is larger than a crafted file's row can be. */
    if (n > BENCH_MAX_ROWS)
        return pb_fail(PB_DATA,
                       "'%s': /bench/throughput declares %lld rows, more than posbench writes (%d; damaged "
                       "or crafted file)",
                       path, (long long)n, BENCH_MAX_ROWS);
    r->rows = calloc(n ? (size_t)n : 1, sizeof *r->rows);
    r->n = r->cap = (size_t)n;
    return r->rows ? PB_OK : pb_fail(PB_NOMEM, "no memory for %lld rows", (long long)n);
}

/* /bench/throughput: one row per cell, into r->rows (allocated here). */
static PbStatus read_throughput(hid_t file, const char *path, BenchResults *r) {
    hid_t set = H5Dopen2(file, "bench/throughput", H5P_DEFAULT);
    hid_t space = set < 0 ? -1 : H5Dget_space(set);
    hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    PbStatus st = alloc_rows(path, n, r);
    hid_t mem = row_type(throughput_fields);
    if (!st && n && H5Dread(set, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->rows) < 0)
        st = pb_fail(PB_DATA, "'%s': /bench/throughput has unexpected columns or is damaged", path);
    H5Tclose(mem);
    if (space >= 0) H5Sclose(space);
    if (set >= 0) H5Dclose(set);
    if (!st) sanitize_rows(r->rows, r->n, throughput_fields);
    return st;
}

/* /bench/memory: the same rows in the same order; its columns join r's. */
static PbStatus read_memory(hid_t file, const char *path, BenchResults *r) {
    hid_t set = H5Dopen2(file, "bench/memory", H5P_DEFAULT);
    hid_t mem = row_type(memory_fields);
    BenchRow *tmp = calloc(r->n ? r->n : 1, sizeof *tmp);
    hid_t space = set < 0 ? -1 : H5Dget_space(set);
    PbStatus st = PB_OK;
    if (!tmp || space < 0 || H5Sget_simple_extent_npoints(space) != (hssize_t)r->n ||
        (r->n && H5Dread(set, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) < 0))
        st = pb_fail(PB_DATA, "'%s': /bench/memory does not match /bench/throughput", path);
    for (size_t i = 0; !st && i < r->n; i++) {
        r->rows[i].param_bytes = tmp[i].param_bytes;
        r->rows[i].activation_bytes = tmp[i].activation_bytes;
        r->rows[i].peak_heap_bytes = tmp[i].peak_heap_bytes;
        r->rows[i].peak_rss_bytes = tmp[i].peak_rss_bytes;
    }
    free(tmp);
    H5Tclose(mem);
    if (space >= 0) H5Sclose(space);
    if (set >= 0) H5Dclose(set);
    return st;
}

/* Columns of /bench/repetitions_ns if it is [n, 1..BENCH_MAX_REPS], else 0. */
static hsize_t repetitions_columns(hid_t set, size_t n) {
    hid_t space = H5Dget_space(set);
    hsize_t d[2] = {0, 0};
    int ok = space >= 0 && H5Sget_simple_extent_ndims(space) == 2 && H5Sget_simple_extent_dims(space, d, NULL) == 2;
    if (space >= 0) H5Sclose(space);
    return ok && d[0] == n && d[1] >= 1 && d[1] <= BENCH_MAX_REPS ? d[1] : 0;
}

/* Row i's repetitions: the leading finite values of m[i][0..R). */
static void take_repetitions(BenchRow *row, const double *m, hsize_t R) {
    row->n_rep_ns = 0;
    while (row->n_rep_ns < (int)R && isfinite(m[row->n_rep_ns]))
        row->rep_ns[row->n_rep_ns] = m[row->n_rep_ns], row->n_rep_ns++;
}

/* /bench/repetitions_ns, when the file has it, into the rows. */
static PbStatus read_repetitions(hid_t file, const char *path, BenchResults *r) {
    if (H5Lexists(file, "bench/repetitions_ns", H5P_DEFAULT) <= 0) return PB_OK;
    hid_t set = H5Dopen2(file, "bench/repetitions_ns", H5P_DEFAULT);
    hsize_t R = set < 0 ? 0 : repetitions_columns(set, r->n);
    double *m = R ? malloc((r->n ? r->n : 1) * R * sizeof *m) : NULL;
    int ok = m && (!r->n || H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, m) >= 0);
    for (size_t i = 0; ok && i < r->n; i++) take_repetitions(&r->rows[i], m + i * R, R);
    free(m);
    if (set >= 0) H5Dclose(set);
    return ok ? PB_OK
              : pb_fail(PB_DATA, "'%s': /bench/repetitions_ns is not [%zu rows, 1..%d] numbers (damaged file?)", path,
                        r->n, BENCH_MAX_REPS);
}

PbStatus bench_h5_read(hid_t file, const char *path, BenchResults *r) {
    *r = (BenchResults){0};
    PbStatus st = check_bench_file(file, path);
    if (st) return st;
    st = read_throughput(file, path, r);
    if (!st) st = read_memory(file, path, r);
    if (!st) st = read_repetitions(file, path, r);
    if (!st) st = read_scalar(file, "reference/copy_gbytes_per_s", &r->copy_gbytes_per_s);
    if (!st) st = read_scalar(file, "reference/sgemm_gflops", &r->sgemm_gflops);
    if (st) bench_results_free(r);
    return st;
}

/* One setting of the file against this run's; PB_USAGE naming it. */
static PbStatus same(const char *path, const char *setting, const char *file_value, const char *ours,
                     const char *command) {
    if (strcmp(file_value, ours) == 0) return PB_OK;
    return pb_fail(PB_USAGE,
                   "--resume %s: it was measured with %s '%s', this run has '%s'; resume with the "
                   "options of the interrupted run (%s)",
                   path, setting, file_value, ours, command);
}

PbStatus bench_h5_check_resume(hid_t file, const char *path, const BenchPlan *plan) {
    char command[2048] = "", text[2048], ours[64];
    if (h5_read_attr_string(file, "command_line", command, sizeof command)) snprintf(command, sizeof command, "?");
    if (!h5_exists(file, "bench")) return pb_fail(PB_DATA, "--resume %s: the file holds no /bench", path);
    hid_t g = H5Gopen2(file, "bench", H5P_DEFAULT);
    if (g < 0) return pb_fail(PB_DATA, "--resume %s: /bench is not readable (damaged file?)", path);
    long long batch = 0;
    double budget = 0;
    PbStatus st = h5_read_attr_string(g, "profile", text, sizeof text);
    if (!st) st = same(path, "profile", text, plan->profile, command);
    if (!st && !(st = h5_read_attr_int(g, "batch", &batch))) {
        char fb[32];
        snprintf(fb, sizeof fb, "%lld", batch), snprintf(ours, sizeof ours, "%d", plan->batch);
        st = same(path, "batch", fb, ours, command);
    }
    if (!st) {
        if (h5_read_attr_double(g, "memory_budget_bytes", &budget))
            st = pb_fail(PB_DATA, "--resume %s: /bench lacks memory_budget_bytes (damaged file?)", path);
        char fb[64];
        snprintf(fb, sizeof fb, "%.0f", budget), snprintf(ours, sizeof ours, "%.0f", (double)plan->max_cell_bytes);
        if (!st) st = same(path, "memory budget (bytes)", fb, ours, command);
    }
    if (!st) {
        long long variants = 0; /* absent in files written before --variants */
        h5_read_attr_int(g, "variants", &variants);
        st = same(path, "--variants", variants ? "on" : "off", plan->all_variants ? "on" : "off", command);
    }
    if (!st) {
        /* The file's flags come back sanitized (h5_read_attr_string): ours too. */
        char flags[2048];
        if (h5_read_attr_string(g, "benchmark_flags", text, sizeof text)) text[0] = 0;
        text_sanitize_copy(flags, sizeof flags, plan->benchmark_flags ? plan->benchmark_flags : "");
        st = same(path, "Google Benchmark flags", text, flags, command);
    }
    if (st && st != PB_USAGE) st = pb_fail(PB_DATA, "--resume %s: /bench lacks its settings (damaged file?)", path);
    H5Gclose(g);
    return st;
}
