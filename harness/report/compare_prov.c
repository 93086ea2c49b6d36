/* compare_prov.c: the settings two results files differ in: the build and
 * machine first (they explain most changes in speed), then each common
 * study's configuration (they explain changes in loss). The time of
 * creation and the command line always differ and are left out. */
#include <stdio.h>
#include <string.h>

#include "../../core/text.h"
#include "../results/h5io.h"
#include "compare.h"

static const char *const root_settings[] = {
    "git_commit",        "posbench_version",
    "build_type",        "compiler",
    "c_flags",           "host",
    "cpu_model",         "cpu_count",
    "openblas_config",   "openmp_threads",
    "benchmark_version", "hdf5_version",
    "schema_version",    "complete",
    "profile",           NULL,
};
static const char *const bench_settings[] = {"profile", "batch", "memory_budget_bytes", "benchmark_flags", NULL};
static const char *const study_settings[] = {
    "data", "tokenizer", "ids_sha256", "train_len", "eval_lens", "steps",       "seeds",       "seed_values",
    "dim",  "layers",    "heads",      "batch",     "lr",        "embed_scale", "eval_tokens", NULL,
};

/* Attribute name of loc as printable text, whatever its type; "(absent)". */
static void attr_text(hid_t loc, const char *name, char *out, size_t cap) {
    double d;
    if (loc < 0 || H5Aexists(loc, name) <= 0) snprintf(out, cap, "(absent)");
    else if (!h5_read_attr_string(loc, name, out, cap)) {
        if (!*out) snprintf(out, cap, "(empty)");
    } else if (h5_read_attr_double(loc, name, &d)) snprintf(out, cap, "(unreadable)");
    else snprintf(out, cap, "%.10g", d);
}

static void add_diff(Comparison *c, const char *prefix, const char *name, const char *a, const char *b) {
    if (strcmp(a, b) == 0 || c->n_prov == COMPARE_MAX_PROV) return;
    ProvDiff *d = &c->prov[c->n_prov++];
    snprintf(d->name, sizeof d->name, "%s%s", prefix, name);
    snprintf(d->a, sizeof d->a, "%s", a);
    snprintf(d->b, sizeof d->b, "%s", b);
}

/* The listed attributes of group `group` (NULL: the root) in both files. */
static void diff_group(hid_t fa, hid_t fb, const char *group, const char *const *names, Comparison *c) {
    hid_t ga = group ? (h5_exists(fa, group) ? H5Gopen2(fa, group, H5P_DEFAULT) : -1) : fa;
    hid_t gb = group ? (h5_exists(fb, group) ? H5Gopen2(fb, group, H5P_DEFAULT) : -1) : fb;
    char prefix[64] = "", shown[48], a[256], b[256];
    if (group) snprintf(prefix, sizeof prefix, "%s/", text_sanitize_copy(shown, sizeof shown, group));
    if (ga >= 0 || gb >= 0)
        for (const char *const *n = names; *n; n++) {
            attr_text(ga, *n, a, sizeof a);
            attr_text(gb, *n, b, sizeof b);
            add_diff(c, prefix, *n, a, b);
        }
    if (group && ga >= 0) H5Gclose(ga);
    if (group && gb >= 0) H5Gclose(gb);
}

/* Each task group either file holds. */
static void diff_tasks(hid_t fa, hid_t fb, Comparison *c) {
    for (int side = 0; side < 2; side++) {
        hid_t f = side ? fb : fa;
        if (!h5_exists(f, "tasks")) continue;
        hid_t t = H5Gopen2(f, "tasks", H5P_DEFAULT);
        hsize_t n = 0;
        if (t >= 0 && H5Gget_num_objs(t, &n) < 0) n = 0;
        for (hsize_t i = 0; i < n && i < 64; i++) {
            char name[64], path[80];
            if (H5Gget_objname_by_idx(t, i, name, sizeof name) <= 0) continue;
            snprintf(path, sizeof path, "tasks/%s", name);
            /* A task both files hold is listed once, from A's side. */
            if (side && h5_exists(fa, path)) continue;
            diff_group(fa, fb, path, study_settings, c);
        }
        if (t >= 0) H5Gclose(t);
    }
}

void compare_provenance(hid_t a, hid_t b, Comparison *c) {
    diff_group(a, b, NULL, root_settings, c);
    diff_group(a, b, "bench", bench_settings, c);
    diff_group(a, b, "generalization", study_settings, c);
    diff_tasks(a, b, c);
}
