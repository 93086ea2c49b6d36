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

/* Dataset where/name must exist, be numeric, have the given rank, and match
 * want[i] where want[i] != ANY; its dims go to got[]. */
static PbStatus need_dataset(hid_t loc, const char *path, const char *where, const char *name, int rank,
                             const long long *want, long long *got) {
    char full[640];
    snprintf(full, sizeof full, "%s/%s", where, name);
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return pb_fail(PB_DATA, "'%s' lacks %s (damaged or incomplete results file)", path, full);
    hid_t set = H5Dopen2(loc, name, H5P_DEFAULT);
    if (set < 0) return pb_fail(PB_DATA, "'%s': %s is not a readable dataset (damaged file?)", path, full);
    hid_t space = set < 0 ? -1 : H5Dget_space(set);
    hid_t type = set < 0 ? -1 : H5Dget_type(set);
    H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
    int r = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    hsize_t d[8] = {0};
    if (r >= 1 && r <= 8) H5Sget_simple_extent_dims(space, d, NULL);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    if (set >= 0) H5Dclose(set);
    if (set < 0 || r < 0) return pb_fail(PB_DATA, "'%s': cannot read %s (damaged file?)", path, full);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) return pb_fail(PB_DATA, "'%s': %s is not numeric", path, full);
    int ok = r == rank;
    uint64_t count = 1;
    for (int i = 0; ok && i < rank; i++) {
        ok = d[i] >= 1 && d[i] <= (1u << 30) && (want[i] == ANY || (long long)d[i] == want[i]);
        got[i] = (long long)d[i];
        if (ok && !extent_mul_checked(count, d[i], &count)) count = UINT64_MAX;
    }
    char have[128] = "", need[128] = "";
    for (int i = 0; i < r && i < 8; i++)
        snprintf(have + strlen(have), sizeof have - strlen(have), "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
    /* Attributes in range can still multiply past what a reader indexes
     * (an export's H x T x T with H and T at 2^24 is 2^72). */
    if (ok && count > H5IN_MAX_ELEMENTS)
        return pb_fail(PB_DATA,
                       "'%s': %s has shape [%s], %s or more values, more than posbench reads (damaged "
                       "or crafted file)",
                       path, full, have, count == UINT64_MAX ? "2^64" : "2^31");
    if (ok) return PB_OK;
    for (int i = 0; i < rank; i++)
        if (want[i] == ANY) snprintf(need + strlen(need), sizeof need - strlen(need), "%s>=1", i ? ", " : "");
        else snprintf(need + strlen(need), sizeof need - strlen(need), "%s%lld", i ? ", " : "", want[i]);
    return pb_fail(PB_DATA, "'%s': %s has shape [%s], expected [%s] (damaged file?)", path, full, have, need);
}

/* One encoding's group under /generalization or /tasks/<task>. */
static PbStatus check_gen_encoding(hid_t g, const char *path, const char *where, int is_task) {
    long long n[1], sn[2], snb[3], s1[1], any2[2];
    PbStatus st = need_dataset(g, path, where, "eval_len", 1, (long long[]){ANY}, n);
    long long want_sn[2] = {ANY, 0};
    if (!st) want_sn[1] = n[0];
    const char *const per_len[] = {"loss", "ppl", "accuracy", "token_accuracy"};
    for (int i = is_task ? 2 : 0; !st && i < (is_task ? 4 : 2); i++) {
        st = need_dataset(g, path, where, per_len[i], 2, want_sn, sn);
        if (!st) want_sn[0] = sn[0];
    }
    const long long S = want_sn[0];
    if (!st && !is_task) st = need_dataset(g, path, where, "loss_by_position", 3, (long long[]){S, n[0], ANY}, snb);
    if (!st && !is_task) st = need_dataset(g, path, where, "eval_peak_bytes", 1, n, s1);
    if (!st && is_task) st = need_dataset(g, path, where, "input_len", 1, n, s1);
    if (!st && is_task) st = need_dataset(g, path, where, "train_loss", 2, (long long[]){S, ANY}, any2);
    for (int i = 0; !st && !is_task && i < 2; i++) {
        const char *opt = i ? "ppl_sliding" : "loss_sliding";
        if (H5Lexists(g, opt, H5P_DEFAULT) > 0) st = need_dataset(g, path, where, opt, 2, want_sn, sn);
    }
    if (!st && H5Lexists(g, "diverged", H5P_DEFAULT) > 0)
        st = need_dataset(g, path, where, "diverged", 1, (long long[]){S}, s1);
    if (!st && H5Lexists(g, "train_tokens_per_s", H5P_DEFAULT) > 0)
        st = need_dataset(g, path, where, "train_tokens_per_s", 1, (long long[]){S}, s1);
    return st;
}

/* A study group (/generalization or /tasks/<task>): its `encodings` list and
 * a well-formed group per listed encoding; training: the matching /training. */
static PbStatus check_study(hid_t file, const char *path, const char *where, int is_task) {
    hid_t top = H5Gopen2(file, where, H5P_DEFAULT);
    if (top < 0) return pb_fail(PB_DATA, "'%s': %s is not a group (damaged file?)", path, where);
    char list[GEN_MAX_ENCODINGS * (GEN_NAME + 1)];
    PbStatus st = PB_OK;
    /* Raw: the names are group names to look up, not text to print. */
    if (h5_read_attr_raw(top, "encodings", list, sizeof list) || !*list)
        st = pb_fail(PB_DATA, "'%s': %s lacks its 'encodings' attribute (damaged file?)", path, where);
    hid_t train = -1;
    if (!st && !is_task && H5Lexists(file, "training", H5P_DEFAULT) > 0)
        train = H5Gopen2(file, "training", H5P_DEFAULT);
    int count = 0;
    char *save = NULL;
    for (char *name = st ? NULL : strtok_r(list, ",", &save); !st && name; name = strtok_r(NULL, ",", &save)) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s", where, name);
        if (++count > GEN_MAX_ENCODINGS || strlen(name) >= GEN_NAME || strchr(name, '/') || name[0] == '.')
            st = pb_fail(PB_DATA, "'%s': %s lists a bad encoding name or too many (damaged file?)", path, where);
        else if (H5Lexists(top, name, H5P_DEFAULT) <= 0)
            st = pb_fail(PB_DATA, "'%s': %s lists encoding '%s' but has no group %s (damaged file?)", path, where, name,
                         sub);
        hid_t g = st ? -1 : H5Gopen2(top, name, H5P_DEFAULT);
        if (!st && g < 0) st = pb_fail(PB_DATA, "'%s': %s is not a group (damaged file?)", path, sub);
        if (!st) st = check_gen_encoding(g, path, sub, is_task);
        if (g >= 0) H5Gclose(g);
        if (!st && train >= 0 && H5Lexists(train, name, H5P_DEFAULT) > 0) {
            hid_t tg = H5Gopen2(train, name, H5P_DEFAULT);
            long long d[2];
            snprintf(sub, sizeof sub, "/training/%s", name);
            st = tg < 0 ? pb_fail(PB_DATA, "'%s': %s is not a group (damaged file?)", path, sub)
                        : need_dataset(tg, path, sub, "loss", 2, (long long[]){ANY, ANY}, d);
            if (tg >= 0) H5Gclose(tg);
        }
    }
    if (train >= 0) H5Gclose(train);
    H5Gclose(top);
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

PbStatus h5_check_export(hid_t file, const char *path) {
    static const char *const need[] = {"T", "C", "H"};
    long long v[3];
    char text[256];
    if (h5_read_attr_string(file, "encoding", text, sizeof text))
        return pb_fail(PB_DATA, "'%s': the 'encoding' attribute is missing (damaged file?)", path);
    for (int i = 0; i < 3; i++)
        if (h5_read_attr_int(file, need[i], &v[i]) || v[i] < 1 || v[i] > (1 << 24))
            return pb_fail(PB_DATA, "'%s': the attribute '%s' is missing or out of range (damaged file?)", path,
                           need[i]);
    const long long T = v[0], C = v[1], H = v[2];
    long long d[3];
    PbStatus st = PB_OK;
    if (H5Lexists(file, "pos_embedding", H5P_DEFAULT) > 0)
        st = need_dataset(file, path, "", "pos_embedding", 2, (long long[]){T, C}, d);
    if (!st && H5Lexists(file, "bias", H5P_DEFAULT) > 0)
        st = need_dataset(file, path, "", "bias", 3, (long long[]){H, T, T}, d);
    if (!st && H5Lexists(file, "bucket", H5P_DEFAULT) > 0)
        st = need_dataset(file, path, "", "bucket", 2, (long long[]){T, T}, d);
    if (!st && H5Lexists(file, "slopes", H5P_DEFAULT) > 0)
        st = need_dataset(file, path, "", "slopes", 1, (long long[]){H}, d);
    if (!st && H5Lexists(file, "angle", H5P_DEFAULT) > 0)
        st = need_dataset(file, path, "", "angle", 2, (long long[]){T, ANY}, d);
    return st;
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
