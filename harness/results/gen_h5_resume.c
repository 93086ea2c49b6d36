/* gen_h5_resume.c: resuming an interrupted sweep from its results file
 * (gen_h5.h). The file must hold the same study: every configuration
 * attribute (gen_h5_config.h) is compared with this run's and the first
 * mismatch is named; then the runs the file measured are copied into the
 * results, so the sweep skips them. Schema in gen_h5.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../datasets/tasks.h"
#include "gen_h5.h"
#include "gen_h5_config.h"
#include "h5io.h"

/* One encoding's group in the file, and the seeds to take from it. */
typedef struct {
    hid_t g;
    const char *path;    /* the file, for messages */
    const char *where;   /* g's path in the file, for messages */
    int S;               /* seeds */
    const int *measured; /* [S]: the seeds whose rows are copied */
} RunSource;

/* ---- the configuration ---------------------------------------------------- */

/* The file's attribute `it->name` of g as text, formatted as ours is. */
static void attr_text(hid_t g, const ConfigItem *it, char *out, size_t cap) {
    long long v;
    double d;
    snprintf(out, cap, "(absent)");
    if (H5Aexists(g, it->name) <= 0) return;
    if (it->type == 's') {
        /* raw: compared byte for byte with ours (messages sanitize it) */
        if (h5_read_attr_raw(g, it->name, out, cap)) snprintf(out, cap, "(unreadable)");
        return;
    }
    if (it->type == 'i') {
        if (!h5_read_attr_int(g, it->name, &v)) snprintf(out, cap, "%lld", v);
        return;
    }
    if (!h5_read_attr_double(g, it->name, &d)) snprintf(out, cap, "%.9g", d);
}

/* This run's value of it, formatted as attr_text formats the file's. */
static void item_text(const ConfigItem *it, char *out, size_t cap) {
    if (it->type == 's') snprintf(out, cap, "%s", it->s);
    else if (it->type == 'i') snprintf(out, cap, "%lld", it->i);
    else snprintf(out, cap, "%.9g", it->d);
}

/* The refusal for a setting that differs; the data's identity gets its own
 * words, since the options cannot fix it. */
static PbStatus config_mismatch(const char *path, const char *data, const char *name, const char *theirs,
                                const char *ours, const char *command) {
    if (strcmp(name, "ids_sha256") != 0)
        return pb_fail(PB_USAGE,
                       "--resume %s: its setting '%s' is %s, this run's is %s; resume with the "
                       "options of the interrupted run (%s)",
                       path, name, theirs, ours, command);
    if (strcmp(theirs, "(absent)") == 0)
        return pb_fail(PB_USAGE,
                       "--resume %s: the file records no SHA-256 of its data (ids_sha256; written by "
                       "an older posbench), so nothing shows its runs were measured on the data of this run; "
                       "run the sweep again without --resume",
                       path);
    return pb_fail(PB_USAGE,
                   "--resume %s: the data %s are not those its runs were measured on: setting "
                   "'ids_sha256' (SHA-256 of the token ids) is %s, this run's is %s (changed in place?); "
                   "resume with the same data, or run the sweep again",
                   path, data, theirs, ours);
}

static PbStatus check_config(hid_t top, const char *path, const GenResults *r, const char *command) {
    ConfigTable t;
    gen_h5_config_table(&t, r);
    for (int i = 0; i < t.n; i++) {
        char theirs[4200], ours[4200];
        attr_text(top, &t.item[i], theirs, sizeof theirs);
        item_text(&t.item[i], ours, sizeof ours);
        if (strcmp(theirs, ours) != 0) return config_mismatch(path, r->cfg.data, t.item[i].name, theirs, ours, command);
    }
    return PB_OK;
}

/* Opens the study's group (*top) and names it in where: /generalization, or
 * /tasks/<task>. A file without it was made with other --data. */
static PbStatus open_study(hid_t file, const char *path, const GenResults *r, const char *command, char *where,
                           size_t cap, hid_t *top) {
    if (r->is_task) snprintf(where, cap, "/tasks/%s", task_name((TaskKind)r->task));
    else snprintf(where, cap, "/generalization");
    if (H5Lexists(file, r->is_task ? "tasks" : "generalization", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, where + 1, H5P_DEFAULT) <= 0)
        return pb_fail(PB_USAGE,
                       "--resume %s: the file holds no %s: it was made with other --data; resume with "
                       "the options of the interrupted run (%s)",
                       path, where, command);
    *top = H5Gopen2(file, where + 1, H5P_DEFAULT);
    if (*top < 0) return pb_fail(PB_DATA, "--resume %s: %s is not readable (damaged file?)", path, where);
    return PB_OK;
}

/* ---- the runs ------------------------------------------------------------- */

/* Copies rows [s] of a file dataset [S, ...] (rank 1..3, row length `row`)
 * into dst for the measured seeds; PB_DATA if the shape is not S x row. */
static PbStatus copy_rows(const RunSource *src, const char *name, int is_int, void *dst, size_t row) {
    int rank, d[8];
    void *data = NULL;
    PbStatus st = is_int ? h5_read_ints(src->g, name, (int **)&data, &rank, d)
                         : h5_read_floats(src->g, name, (float **)&data, &rank, d);
    if (st) return pb_fail(PB_DATA, "--resume %s: cannot read %s/%s (damaged file?)", src->path, src->where, name);
    size_t count = 1;
    for (int i = 1; i < rank; i++) count *= (size_t)d[i];
    if (d[0] != src->S || count != row) {
        free(data);
        return pb_fail(PB_DATA, "--resume %s: %s/%s has the wrong shape (damaged file?)", src->path, src->where, name);
    }
    const size_t elem = is_int ? sizeof(int) : sizeof(float);
    for (int s = 0; s < src->S; s++)
        if (src->measured[s]) memcpy((char *)dst + s * row * elem, (char *)data + s * row * elem, row * elem);
    free(data);
    return PB_OK;
}

/* Per-length rows [n] of the file (shared by all seeds): taken as they are. */
static PbStatus copy_lengths(const RunSource *src, const char *name, int is_double, void *dst, int n) {
    int rank, d[8];
    if (is_double) {
        /* eval_peak_bytes is float64 in the file; read through HDF5 directly. */
        hid_t set = H5Dopen2(src->g, name, H5P_DEFAULT);
        herr_t rd = set < 0 ? -1 : H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst);
        if (set >= 0) H5Dclose(set);
        return rd < 0 ? pb_fail(PB_DATA, "--resume %s: cannot read %s/%s", src->path, src->where, name) : PB_OK;
    }
    int *data = NULL;
    if (h5_read_ints(src->g, name, &data, &rank, d) || rank != 1 || d[0] != n) {
        free(data);
        return pb_fail(PB_DATA, "--resume %s: cannot read %s/%s (damaged file?)", src->path, src->where, name);
    }
    memcpy(dst, data, (size_t)n * sizeof(int));
    free(data);
    return PB_OK;
}

/* Reads host [S] into host for the measured seeds; absent (older files):
 * left as it is. */
static PbStatus read_hosts(const RunSource *src, char (*host)[GEN_HOST]) {
    const int S = src->S;
    if (!h5_exists(src->g, "host")) return PB_OK;
    hid_t set = H5Dopen2(src->g, "host", H5P_DEFAULT);
    hid_t space = set < 0 ? -1 : H5Dget_space(set);
    hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    char(*buf)[GEN_HOST] = n == S ? calloc((size_t)S, sizeof *buf) : NULL;
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, GEN_HOST);
    H5Tset_cset(str, H5T_CSET_UTF8);
    herr_t rd = buf ? H5Dread(set, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : -1;
    H5Tclose(str);
    if (space >= 0) H5Sclose(space);
    if (set >= 0) H5Dclose(set);
    if (rd < 0) {
        free(buf);
        return pb_fail(PB_DATA, "--resume %s: cannot read %s/host (damaged file?)", src->path, src->where);
    }
    for (int s = 0; s < S; s++)
        if (src->measured[s]) memcpy(host[s], buf[s], GEN_HOST), host[s][GEN_HOST - 1] = 0;
    free(buf);
    return PB_OK;
}

/* measured [S] of g (*measured: malloc'ed, also on an error). */
static PbStatus read_measured(hid_t g, const char *path, const char *where, int S, int **measured) {
    int rank, d[8];
    *measured = NULL;
    if (h5_exists(g, "measured")) {
        if (h5_read_ints(g, "measured", measured, &rank, d) || rank != 1 || d[0] != S)
            return pb_fail(PB_DATA, "--resume %s: %s/measured is damaged", path, where);
        return PB_OK;
    }
    /* written before interrupts were kept: every run finished */
    *measured = malloc((size_t)S * sizeof **measured);
    if (!*measured) return pb_fail(PB_NOMEM, "no memory");
    for (int s = 0; s < S; s++) (*measured)[s] = 1;
    return PB_OK;
}

static int any_measured(const int *measured, int S) {
    int any = 0;
    for (int s = 0; s < S; s++) any |= measured[s] != 0;
    return any;
}

/* What every run records, task or corpus (rank: absent in older files). */
static PbStatus copy_run_state(const RunSource *src, GenEncResult *er) {
    PbStatus st = copy_rows(src, "diverged", 1, er->diverged, 1);
    if (!st && h5_exists(src->g, "rank")) st = copy_rows(src, "rank", 1, er->rank, 1);
    if (!st) st = read_hosts(src, er->host);
    if (!st) st = copy_rows(src, "train_tokens_per_s", 0, er->train_tps, 1);
    if (!st && h5_exists(src->g, "train_tokens_per_s_steady")) /* absent in older files: NaN */
        st = copy_rows(src, "train_tokens_per_s_steady", 0, er->train_tps_steady, 1);
    return st;
}

static PbStatus copy_task_runs(const RunSource *src, const GenConfig *c, GenEncResult *er) {
    const size_t n = (size_t)c->n_lens, steps = (size_t)c->train.steps;
    PbStatus st = copy_rows(src, "accuracy", 0, er->accuracy, n);
    if (!st) st = copy_rows(src, "token_accuracy", 0, er->token_accuracy, n);
    if (!st) st = copy_rows(src, "train_loss", 0, er->train_loss, steps);
    if (!st) st = copy_lengths(src, "input_len", 0, er->input_len, c->n_lens);
    return st;
}

/* /training/<enc>/loss [S, steps], kept apart from the encoding's group. */
static PbStatus copy_training_loss(hid_t file, const RunSource *src, const GenConfig *c, GenEncResult *er) {
    char tl[300];
    snprintf(tl, sizeof tl, "training/%s", er->name);
    hid_t tg = H5Lexists(file, "training", H5P_DEFAULT) > 0 && H5Lexists(file, tl, H5P_DEFAULT) > 0
                   ? H5Gopen2(file, tl, H5P_DEFAULT)
                   : -1;
    if (tg < 0) return pb_fail(PB_DATA, "--resume %s: /%s is missing (damaged file?)", src->path, tl);
    RunSource training = *src;
    training.g = tg;
    training.where = tl;
    PbStatus st = copy_rows(&training, "loss", 0, er->train_loss, (size_t)c->train.steps);
    H5Gclose(tg);
    return st;
}

static PbStatus copy_corpus_runs(hid_t file, const RunSource *src, const GenConfig *c, GenEncResult *er) {
    const size_t n = (size_t)c->n_lens;
    PbStatus st = copy_rows(src, "loss", 0, er->loss, n);
    if (!st) st = copy_rows(src, "ppl", 0, er->ppl, n);
    if (!st) st = copy_rows(src, "loss_by_position", 0, er->loss_by_pos, n * c->bins);
    if (!st && er->loss_slide) st = copy_rows(src, "loss_sliding", 0, er->loss_slide, n);
    if (!st && er->ppl_slide) st = copy_rows(src, "ppl_sliding", 0, er->ppl_slide, n);
    if (!st) st = copy_lengths(src, "eval_peak_bytes", 1, er->peak_bytes, c->n_lens);
    if (!st) st = copy_lengths(src, "eval_windows", 0, er->windows, c->n_lens);
    if (!st) st = copy_training_loss(file, src, c, er);
    return st;
}

/* Copies the measured seeds' results of src into er and marks them measured. */
static PbStatus copy_measured_runs(hid_t file, const RunSource *src, const GenResults *r, GenEncResult *er) {
    PbStatus st = copy_run_state(src, er);
    if (!st) st = r->is_task ? copy_task_runs(src, &r->cfg, er) : copy_corpus_runs(file, src, &r->cfg, er);
    if (st) return st;
    h5_read_attr_string(src->g, "not_applicable", er->not_applicable, sizeof er->not_applicable);
    h5_read_attr_string(src->g, "diverged_reason", er->diverged_reason, sizeof er->diverged_reason);
    for (int s = 0; s < src->S; s++) er->measured[s] = src->measured[s] != 0;
    return PB_OK;
}

static PbStatus resume_encoding(hid_t file, hid_t top, const char *path, const char *where, const GenResults *r,
                                GenEncResult *er) {
    char sub[256];
    snprintf(sub, sizeof sub, "%s/%s", where, er->name);
    hid_t g = H5Lexists(top, er->name, H5P_DEFAULT) > 0 ? H5Gopen2(top, er->name, H5P_DEFAULT) : -1;
    if (g < 0) return pb_fail(PB_DATA, "--resume %s: %s is missing (damaged file?)", path, sub);
    int *measured;
    PbStatus st = read_measured(g, path, sub, r->cfg.seeds, &measured);
    RunSource src = {g, path, sub, r->cfg.seeds, measured};
    if (!st && any_measured(measured, src.S)) st = copy_measured_runs(file, &src, r, er);
    free(measured);
    H5Gclose(g);
    return st;
}

PbStatus gen_h5_resume(hid_t file, const char *path, GenResults *r) {
    char where[128], command[2048] = "?";
    h5_read_attr_string(file, "command_line", command, sizeof command);
    hid_t top = -1;
    PbStatus st = open_study(file, path, r, command, where, sizeof where, &top);
    if (st) return st;
    st = check_config(top, path, r, command);
    for (int e = 0; !st && e < r->cfg.n_encodings; e++) st = resume_encoding(file, top, path, where, r, &r->enc[e]);
    H5Gclose(top);
    return st;
}
