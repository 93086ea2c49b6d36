/* h5schema.c: the schema checks of results files (see h5schema.h). */
#include "h5schema.h"

#include <stdio.h>
#include <string.h>

#include "../../datasets/tasks.h"
#include "../train/generalize.h"
#include "h5extent.h"
#include "h5io.h"

/* Readers (show, plot) index arrays by the shapes they find, so a file whose
 * shapes disagree (damaged, hand-edited, or from another writer) is refused
 * here, once, with the dataset named, instead of being read out of bounds. */

#define ANY (-1)

/* What a dataset declares: its type class and rank, dims (up to 8; zeros
 * past that or when the rank is 0). */
typedef struct {
    H5T_class_t cls;
    int rank; /* -1: unreadable */
    hsize_t dims[8];
} Declared;

/* Dataset where/name (full, for messages) as declared; PB_DATA if it is
 * missing or cannot be opened or queried. */
static PbStatus read_declared(hid_t loc, const char *path, const char *full, const char *name, Declared *out) {
    *out = (Declared){H5T_NO_CLASS, -1, {0}};
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return pb_fail(PB_DATA, "'%s' lacks %s (damaged or incomplete results file)", path, full);
    hid_t set = H5Dopen2(loc, name, H5P_DEFAULT);
    if (set < 0) return pb_fail(PB_DATA, "'%s': %s is not a readable dataset (damaged file?)", path, full);
    hid_t space = H5Dget_space(set);
    hid_t type = H5Dget_type(set);
    out->cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
    out->rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    if (out->rank >= 1 && out->rank <= 8) H5Sget_simple_extent_dims(space, out->dims, NULL);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Dclose(set);
    return out->rank < 0 ? pb_fail(PB_DATA, "'%s': cannot read %s (damaged file?)", path, full) : PB_OK;
}

/* 1 if d has the given rank, every dim in 1..2^30 and equal to want[i]
 * where want[i] != ANY; the dims go to got[], their product to *count
 * (UINT64_MAX past 2^64). */
static int shape_matches(const Declared *d, int rank, const long long *want, long long *got, uint64_t *count) {
    int ok = d->rank == rank;
    *count = 1;
    for (int i = 0; ok && i < rank; i++) {
        ok = d->dims[i] >= 1 && d->dims[i] <= (1u << 30) && (want[i] == ANY || (long long)d->dims[i] == want[i]);
        got[i] = (long long)d->dims[i];
        if (ok && !extent_mul_checked(*count, d->dims[i], count)) *count = UINT64_MAX;
    }
    return ok;
}

/* "2, 3" for the declared dims; "2, >=1" for the wanted ones. */
static void format_declared(const Declared *d, char *out, size_t cap) {
    out[0] = 0;
    for (int i = 0; i < d->rank && i < 8; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%llu", i ? ", " : "", (unsigned long long)d->dims[i]);
}

static void format_wanted(int rank, const long long *want, char *out, size_t cap) {
    out[0] = 0;
    for (int i = 0; i < rank; i++)
        if (want[i] == ANY) snprintf(out + strlen(out), cap - strlen(out), "%s>=1", i ? ", " : "");
        else snprintf(out + strlen(out), cap - strlen(out), "%s%lld", i ? ", " : "", want[i]);
}

/* Dataset where/name must exist, be numeric, have the given rank, and match
 * want[i] where want[i] != ANY; its dims go to got[]. */
static PbStatus need_dataset(hid_t loc, const char *path, const char *where, const char *name, int rank,
                             const long long *want, long long *got) {
    char full[640];
    snprintf(full, sizeof full, "%s/%s", where, name);
    Declared d;
    PbStatus st = read_declared(loc, path, full, name, &d);
    if (st) return st;
    if (d.cls != H5T_INTEGER && d.cls != H5T_FLOAT) return pb_fail(PB_DATA, "'%s': %s is not numeric", path, full);
    uint64_t count;
    int ok = shape_matches(&d, rank, want, got, &count);
    char have[128], need[128];
    format_declared(&d, have, sizeof have);
    /* Attributes in range can still multiply past what a reader indexes
     * (an export's H x T x T with H and T at 2^24 is 2^72). */
    if (ok && count > H5IN_MAX_ELEMENTS)
        return pb_fail(PB_DATA,
                       "'%s': %s has shape [%s], %s or more values, more than posbench reads (damaged "
                       "or crafted file)",
                       path, full, have, count == UINT64_MAX ? "2^64" : "2^31");
    if (ok) return PB_OK;
    format_wanted(rank, want, need, sizeof need);
    return pb_fail(PB_DATA, "'%s': %s has shape [%s], expected [%s] (damaged file?)", path, full, have, need);
}

/* One expected dataset of a group. Its dims name sizes the group's datasets
 * share (an index into the caller's sizes[]) or are ANY; a size still ANY
 * is learnt from the first dataset that has it. */
typedef struct {
    const char *name;
    int rank;
    int dim[3];
    unsigned flags;
} Expected;

enum { ONLY_GEN = 1, ONLY_TASK = 2, OPTIONAL = 4 /* checked only if present */ };

/* Each dataset of the table not flagged `skip`, in order; the first refused
 * stops. */
static PbStatus need_datasets(hid_t loc, const char *path, const char *where, const Expected *table, size_t n,
                              unsigned skip, long long *sizes) {
    PbStatus st = PB_OK;
    for (const Expected *e = table; !st && e < table + n; e++) {
        if ((e->flags & skip) || ((e->flags & OPTIONAL) && H5Lexists(loc, e->name, H5P_DEFAULT) <= 0)) continue;
        long long want[3], got[3];
        for (int i = 0; i < e->rank; i++) want[i] = e->dim[i] == ANY ? ANY : sizes[e->dim[i]];
        st = need_dataset(loc, path, where, e->name, e->rank, want, got);
        for (int i = 0; !st && i < e->rank; i++)
            if (e->dim[i] != ANY && sizes[e->dim[i]] == ANY) sizes[e->dim[i]] = got[i];
    }
    return st;
}

/* An encoding's group under /generalization or /tasks/<task>: S runs
 * (seeds) by n evaluation lengths (results/README.md). */
enum { RUNS, LENGTHS };
static const Expected encoding_datasets[] = {
    {"eval_len", 1, {LENGTHS}},
    {"loss", 2, {RUNS, LENGTHS}, ONLY_GEN},
    {"ppl", 2, {RUNS, LENGTHS}, ONLY_GEN},
    {"accuracy", 2, {RUNS, LENGTHS}, ONLY_TASK},
    {"token_accuracy", 2, {RUNS, LENGTHS}, ONLY_TASK},
    {"loss_by_position", 3, {RUNS, LENGTHS, ANY}, ONLY_GEN},
    {"eval_peak_bytes", 1, {LENGTHS}, ONLY_GEN},
    {"input_len", 1, {LENGTHS}, ONLY_TASK},
    {"train_loss", 2, {RUNS, ANY}, ONLY_TASK},
    {"loss_sliding", 2, {RUNS, LENGTHS}, ONLY_GEN | OPTIONAL},
    {"ppl_sliding", 2, {RUNS, LENGTHS}, ONLY_GEN | OPTIONAL},
    {"diverged", 1, {RUNS}, OPTIONAL},
    {"train_tokens_per_s", 1, {RUNS}, OPTIONAL},
    {"train_tokens_per_s_steady", 1, {RUNS}, OPTIONAL},
};

static PbStatus check_gen_encoding(hid_t g, const char *path, const char *where, int is_task) {
    long long sizes[2] = {ANY, ANY};
    return need_datasets(g, path, where, encoding_datasets, sizeof encoding_datasets / sizeof *encoding_datasets,
                         is_task ? ONLY_GEN : ONLY_TASK, sizes);
}

/* A study group being checked, and /training if its encodings' training
 * losses are to be checked too. */
typedef struct {
    hid_t top, train; /* train: -1 if none */
    const char *path, *where;
    int is_task;
} Study;

/* /training/<name>'s loss, if the study has /training and it that group. */
static PbStatus check_training_loss(const Study *s, const char *name) {
    if (s->train < 0 || H5Lexists(s->train, name, H5P_DEFAULT) <= 0) return PB_OK;
    char sub[512];
    snprintf(sub, sizeof sub, "/training/%s", name);
    hid_t tg = H5Gopen2(s->train, name, H5P_DEFAULT);
    if (tg < 0) return pb_fail(PB_DATA, "'%s': %s is not a group (damaged file?)", s->path, sub);
    long long d[2];
    PbStatus st = need_dataset(tg, s->path, sub, "loss", 2, (long long[]){ANY, ANY}, d);
    H5Gclose(tg);
    return st;
}

/* The count-th name of the study's `encodings` list: a plain name, with a
 * well-formed group (and training loss). */
static PbStatus check_listed_encoding(const Study *s, const char *name, int count) {
    char sub[512];
    snprintf(sub, sizeof sub, "%s/%s", s->where, name);
    if (count > GEN_MAX_ENCODINGS || strlen(name) >= GEN_NAME || strchr(name, '/') || name[0] == '.')
        return pb_fail(PB_DATA, "'%s': %s lists a bad encoding name or too many (damaged file?)", s->path, s->where);
    if (H5Lexists(s->top, name, H5P_DEFAULT) <= 0)
        return pb_fail(PB_DATA, "'%s': %s lists encoding '%s' but has no group %s (damaged file?)", s->path, s->where,
                       name, sub);
    hid_t g = H5Gopen2(s->top, name, H5P_DEFAULT);
    if (g < 0) return pb_fail(PB_DATA, "'%s': %s is not a group (damaged file?)", s->path, sub);
    PbStatus st = check_gen_encoding(g, s->path, sub, s->is_task);
    H5Gclose(g);
    return st ? st : check_training_loss(s, name);
}

/* A study group (/generalization or /tasks/<task>): its `encodings` list and
 * a well-formed group per listed encoding; training: the matching /training. */
static PbStatus check_study(hid_t file, const char *path, const char *where, int is_task) {
    Study s = {
        .top = H5Gopen2(file, where, H5P_DEFAULT), .train = -1, .path = path, .where = where, .is_task = is_task};
    if (s.top < 0) return pb_fail(PB_DATA, "'%s': %s is not a group (damaged file?)", path, where);
    char list[GEN_MAX_ENCODINGS * (GEN_NAME + 1)];
    PbStatus st = PB_OK;
    /* Raw: the names are group names to look up, not text to print. */
    if (h5_read_attr_raw(s.top, "encodings", list, sizeof list) || !*list)
        st = pb_fail(PB_DATA, "'%s': %s lacks its 'encodings' attribute (damaged file?)", path, where);
    if (!st && !is_task && H5Lexists(file, "training", H5P_DEFAULT) > 0)
        s.train = H5Gopen2(file, "training", H5P_DEFAULT);
    int count = 0;
    char *save = NULL;
    for (char *name = st ? NULL : strtok_r(list, ",", &save); !st && name; name = strtok_r(NULL, ",", &save))
        st = check_listed_encoding(&s, name, ++count);
    if (s.train >= 0) H5Gclose(s.train);
    H5Gclose(s.top);
    return st;
}

PbStatus h5_check_generalize(hid_t file, const char *path) {
    int has_gen = H5Lexists(file, "generalization", H5P_DEFAULT) > 0;
    int has_tasks = H5Lexists(file, "tasks", H5P_DEFAULT) > 0;
    long long complete = 1;
    if (!has_gen && !has_tasks && H5Aexists(file, "complete") > 0 && !h5_read_attr_int(file, "complete", &complete) &&
        !complete)
        return PB_OK; /* interrupted before its first run: show says so */
    if (!has_gen && !has_tasks) return pb_fail(PB_DATA, "'%s' holds neither /generalization nor /tasks", path);
    PbStatus st = has_gen ? check_study(file, path, "/generalization", 0) : PB_OK;
    if (st || !has_tasks) return st;
    hid_t tg = H5Gopen2(file, "tasks", H5P_DEFAULT);
    if (tg < 0) return pb_fail(PB_DATA, "'%s': /tasks is not a group (damaged file?)", path);
    for (int k = 0; !st && k < TASK_COUNT; k++) {
        char where[64];
        snprintf(where, sizeof where, "/tasks/%s", task_name((TaskKind)k));
        if (H5Lexists(tg, task_name((TaskKind)k), H5P_DEFAULT) > 0) st = check_study(file, path, where, 1);
    }
    H5Gclose(tg);
    return st;
}

/* An export's tensors, each present only for the encodings that have it;
 * T, C, H index the root attributes that give those sizes. */
enum { T, C, H };
static const Expected export_datasets[] = {
    {"pos_embedding", 2, {T, C}, OPTIONAL}, {"bias", 3, {H, T, T}, OPTIONAL}, {"bucket", 2, {T, T}, OPTIONAL},
    {"slopes", 1, {H}, OPTIONAL},           {"angle", 2, {T, ANY}, OPTIONAL},
};

PbStatus h5_check_export(hid_t file, const char *path) {
    static const char *const need[] = {[T] = "T", [C] = "C", [H] = "H"};
    long long v[3];
    char text[256];
    if (h5_read_attr_string(file, "encoding", text, sizeof text))
        return pb_fail(PB_DATA, "'%s': the 'encoding' attribute is missing (damaged file?)", path);
    for (int i = 0; i < 3; i++)
        if (h5_read_attr_int(file, need[i], &v[i]) || v[i] < 1 || v[i] > (1 << 24))
            return pb_fail(PB_DATA, "'%s': the attribute '%s' is missing or out of range (damaged file?)", path,
                           need[i]);
    return need_datasets(file, path, "", export_datasets, sizeof export_datasets / sizeof *export_datasets, 0, v);
}

/* bench_h5_read checks its tables; the reference numbers it reads into one
 * double each must hold exactly one value. */
PbStatus h5_check_bench(hid_t file, const char *path) {
    static const char *const scalars[] = {"reference/copy_gbytes_per_s", "reference/sgemm_gflops"};
    if (H5Lexists(file, "reference", H5P_DEFAULT) <= 0) return PB_OK;
    for (int i = 0; i < 2; i++) {
        if (H5Lexists(file, scalars[i], H5P_DEFAULT) <= 0) continue;
        hid_t set = H5Dopen2(file, scalars[i], H5P_DEFAULT);
        hid_t space = set < 0 ? -1 : H5Dget_space(set);
        hid_t type = set < 0 ? -1 : H5Dget_type(set);
        hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
        H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
        if (type >= 0) H5Tclose(type);
        if (space >= 0) H5Sclose(space);
        if (set >= 0) H5Dclose(set);
        if (n != 1 || (cls != H5T_FLOAT && cls != H5T_INTEGER))
            return pb_fail(PB_DATA, "'%s': /%s is not a single number (damaged file?)", path, scalars[i]);
    }
    return PB_OK;
}

PbStatus h5_check_schema_version(hid_t file, const char *path, const char *kind, long long newest, int required) {
    long long version = 1;
    if (H5Aexists(file, "schema_version") > 0) {
        if (h5_read_attr_int(file, "schema_version", &version))
            return pb_fail(PB_DATA, "'%s': the schema_version attribute is not a number", path);
    } else if (required) {
        return pb_fail(PB_DATA, "'%s' has no schema_version attribute (damaged, or not written by posbench)", path);
    }
    if (version > newest)
        return pb_fail(PB_DATA,
                       "'%s' has %s schema version %lld, newer than this posbench reads (%lld); "
                       "update posbench",
                       path, kind, version, newest);
    if (version < 1) return pb_fail(PB_DATA, "'%s': schema version %lld is not valid", path, version);
    return PB_OK;
}

PbStatus h5_check_run(hid_t file, const char *path) {
    PbStatus st = h5_check_bench(file, path);
    if (!st && (H5Lexists(file, "generalization", H5P_DEFAULT) > 0 || H5Lexists(file, "tasks", H5P_DEFAULT) > 0))
        st = h5_check_generalize(file, path);
    return st;
}
