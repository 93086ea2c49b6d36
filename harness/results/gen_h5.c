/* gen_h5.c: generalization results to and from HDF5 (schema:
 * results/README.md): writing, resuming, and the readers that show and plot
 * share (the tables themselves are harness/report/gen_show.c).
 *
 *   /generalization            attrs: the config (data, ids_sha256, tokenizer,
 *                              model, steps, ...), all compared on resume
 *   /generalization/<enc>/     eval_len [n], loss, ppl [seeds, n],
 *                              loss_by_position [seeds, n, bins],
 *                              eval_peak_bytes [n], ...; attr train_len
 *   /training/<enc>/loss       [seeds, steps]
 *   /tasks/<task>/<enc>/       eval_len [n], accuracy [seeds, n], ...
 * Group attribute `encodings` lists the encodings in sweep order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/text.h"
#include "../../datasets/tasks.h"
#include "gen_h5.h"
#include "h5io.h"

static hid_t group_open_or_create(hid_t loc, const char *name) {
    if (h5_exists(loc, name)) return H5Gopen2(loc, name, H5P_DEFAULT);
    return H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

static PbStatus write_doubles(hid_t loc, const char *name, const double *v, int n) {
    hsize_t d[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, d, NULL);
    hid_t set = H5Dcreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = set < 0 ? -1 : H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (set >= 0) H5Dclose(set);
    H5Sclose(space);
    return w < 0 ? pb_fail(PB_IO, "cannot write dataset '%s' (disk full?)", name) : PB_OK;
}

/* host [S]: fixed-length UTF-8 strings of GEN_HOST bytes. */
static PbStatus write_hosts(hid_t loc, const char (*host)[GEN_HOST], int S) {
    hsize_t d[1] = {(hsize_t)S};
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, GEN_HOST);
    H5Tset_cset(str, H5T_CSET_UTF8);
    hid_t space = H5Screate_simple(1, d, NULL);
    hid_t set = H5Dcreate2(loc, "host", str, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = set < 0 ? -1 : H5Dwrite(set, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, host);
    if (set >= 0) H5Dclose(set);
    H5Sclose(space);
    H5Tclose(str);
    return w < 0 ? pb_fail(PB_IO, "cannot write dataset 'host' (disk full?)") : PB_OK;
}

/* Reads host [S] into host for the measured seeds; absent (older files):
 * left as it is. */
static PbStatus read_hosts(hid_t g, const char *path, const char *where, char (*host)[GEN_HOST], int S,
                           const int *measured) {
    if (!h5_exists(g, "host")) return PB_OK;
    hid_t set = H5Dopen2(g, "host", H5P_DEFAULT);
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
        return pb_fail(PB_DATA, "--resume %s: cannot read %s/host (damaged file?)", path, where);
    }
    for (int s = 0; s < S; s++)
        if (measured[s]) memcpy(host[s], buf[s], GEN_HOST), host[s][GEN_HOST - 1] = 0;
    free(buf);
    return PB_OK;
}

/* The configuration attributes of a study group, as one table: written by
 * gen_h5_write and compared item by item by gen_h5_resume. */
typedef struct {
    const char *name;
    char type; /* 's' string, 'i' integer, 'd' double */
    const char *s;
    long long i;
    double d;
} ConfigItem;

/* The table's capacity; config_table fills at most 32 items. */
#define CONFIG_ITEMS 40

typedef struct {
    char list[GEN_MAX_ENCODINGS * (GEN_NAME + 1)], seeds[1024], lens[512];
    ConfigItem item[CONFIG_ITEMS];
    int n;
} ConfigTable;

static void item_s(ConfigTable *t, const char *name, const char *v) {
    t->item[t->n++] = (ConfigItem){name, 's', v, 0, 0};
}
static void item_i(ConfigTable *t, const char *name, long long v) {
    t->item[t->n++] = (ConfigItem){name, 'i', NULL, v, 0};
}
static void item_d(ConfigTable *t, const char *name, double v) {
    t->item[t->n++] = (ConfigItem){name, 'd', NULL, 0, v};
}

static void config_table(ConfigTable *t, const GenResults *r) {
    const GenConfig *c = &r->cfg;
    size_t n = 0;
    t->n = 0;
    t->list[0] = t->seeds[0] = t->lens[0] = 0;
    for (int i = 0; i < c->n_encodings; i++)
        n += snprintf(t->list + n, sizeof t->list - n, "%s%s", i ? "," : "", c->encodings[i]);
    n = 0;
    for (int s = 0; s < c->seeds && n < sizeof t->seeds - 24; s++)
        n += snprintf(t->seeds + n, sizeof t->seeds - n, "%s%llu", s ? "," : "",
                      (unsigned long long)(c->base_seed + (uint64_t)s));
    n = 0;
    for (int i = 0; i < c->n_lens; i++)
        n += snprintf(t->lens + n, sizeof t->lens - n, "%s%d", i ? "," : "", c->eval_lens[i]);
    item_s(t, "encodings", t->list);
    item_s(t, "data", c->data);
    item_s(t, "tokenizer", r->is_task ? "bytes" : c->tokenizer);
    item_s(t, "ids_sha256", r->ids_sha256);
    item_i(t, "vocab", r->vocab);
    item_i(t, "n_tokens", (long long)r->n_tokens);
    item_i(t, "train_len", c->train_len);
    item_s(t, "eval_lens", t->lens);
    item_i(t, "layers", c->model.layers);
    item_i(t, "dim", c->model.dim);
    item_i(t, "heads", c->model.heads);
    item_i(t, "tied", c->model.tied);
    item_d(t, "init_std", c->model.init_std);
    item_d(t, "embed_scale", c->model.embed_scale);
    item_i(t, "steps", c->train.steps);
    item_i(t, "batch", c->train.batch);
    item_d(t, "lr", c->train.lr);
    item_d(t, "min_lr_ratio", c->train.min_lr_ratio);
    item_i(t, "warmup", c->train.warmup);
    item_d(t, "weight_decay", c->train.weight_decay);
    item_d(t, "beta1", c->train.beta1);
    item_d(t, "beta2", c->train.beta2);
    item_d(t, "eps", c->train.eps);
    item_d(t, "grad_clip", c->train.grad_clip);
    item_i(t, "eval_batch", c->eval_batch);
    item_i(t, "seeds", c->seeds);
    item_s(t, "seed_values", t->seeds);
    if (r->is_task) {
        item_s(t, "task", task_name((TaskKind)r->task));
        item_i(t, "examples_per_length", c->task_examples);
        item_i(t, "training_examples", c->task_blocks);
        item_s(t, "format",
               "'^' input '=' answer '$', '.' padding; "
               "loss on answer tokens only (the question is random); accuracy: exact match "
               "of all answer tokens (argmax given the true prefix)");
    } else {
        item_d(t, "val_fraction", c->train.val_fraction);
        item_i(t, "bins", c->bins);
        item_i(t, "eval_tokens", c->eval_tokens);
        item_i(t, "stride", c->stride);
        item_s(t, "eval_mode", c->stride > 0 ? "non-overlapping; sliding (stride) in *_sliding" : "non-overlapping");
    }
}

static PbStatus config_attrs(hid_t g, const GenResults *r) {
    ConfigTable t;
    config_table(&t, r);
    PbStatus st = PB_OK;
    for (int i = 0; !st && i < t.n; i++) {
        const ConfigItem *it = &t.item[i];
        st = it->type == 's'   ? h5_attr_string(g, it->name, it->s)
             : it->type == 'i' ? h5_attr_int(g, it->name, it->i)
                               : h5_attr_double(g, it->name, it->d);
    }
    return st;
}

static PbStatus write_na(hid_t g, const GenEncResult *e) {
    PbStatus st = PB_OK;
    if (*e->not_applicable) st = h5_attr_string(g, "not_applicable", e->not_applicable);
    if (!st && *e->diverged_reason) st = h5_attr_string(g, "diverged_reason", e->diverged_reason);
    return st;
}

static PbStatus write_nan_reason(hid_t g, const char *dataset, const GenEncResult *e) {
    if (!*e->not_applicable) return PB_OK;
    hid_t d = H5Dopen2(g, dataset, H5P_DEFAULT);
    if (d < 0) return pb_fail(PB_IO, "cannot reopen %s", dataset);
    PbStatus st = h5_attr_string(d, "reason", e->not_applicable);
    H5Dclose(d);
    return st;
}

PbStatus gen_h5_write(hid_t file, const GenResults *r) {
    const GenConfig *c = &r->cfg;
    const int S = c->seeds, n = c->n_lens, steps = (int)c->train.steps;
    PbStatus st = PB_OK;
    hid_t top = -1, train = -1;
    if (r->is_task) {
        hid_t tasks = group_open_or_create(file, "tasks");
        top = tasks < 0 ? -1 : H5Gcreate2(tasks, task_name((TaskKind)r->task), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (tasks >= 0) H5Gclose(tasks);
    } else {
        top = H5Gcreate2(file, "generalization", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        train = H5Gcreate2(file, "training", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (train < 0) st = pb_fail(PB_IO, "cannot create /training (does it exist already?)");
    }
    if (!st && top < 0) st = pb_fail(PB_IO, "cannot create the results group (does it exist already?)");
    if (!st) st = config_attrs(top, r);
    if (!st && train >= 0) st = config_attrs(train, r);
    for (int i = 0; !st && i < c->n_encodings; i++) {
        const GenEncResult *e = &r->enc[i];
        hid_t g = H5Gcreate2(top, e->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) {
            st = pb_fail(PB_IO, "cannot create group for %s", e->name);
            break;
        }
        int d1[1] = {n}, d2[2] = {S, n}, d3[3] = {S, n, c->bins}, ds[2] = {S, steps}, dseed[1] = {S};
        st = h5_write_ints(g, "eval_len", c->eval_lens, 1, d1);
        if (!st) st = h5_attr_int(g, "train_len", c->train_len);
        if (!st) st = h5_write_ints(g, "diverged", e->diverged, 1, dseed);
        if (!st) st = h5_write_ints(g, "measured", e->measured, 1, dseed);
        if (!st) st = h5_write_ints(g, "rank", e->rank, 1, dseed);
        if (!st) st = write_hosts(g, (const char(*)[GEN_HOST])e->host, S);
        if (!st) st = h5_write_floats(g, "train_tokens_per_s", e->train_tps, 1, dseed);
        if (!st) st = write_na(g, e);
        if (r->is_task) {
            if (!st) st = h5_write_ints(g, "input_len", e->input_len, 1, d1);
            if (!st) st = h5_write_floats(g, "accuracy", e->accuracy, 2, d2);
            if (!st) st = h5_write_floats(g, "token_accuracy", e->token_accuracy, 2, d2);
            if (!st) st = h5_write_floats(g, "train_loss", e->train_loss, 2, ds);
            if (!st) st = write_nan_reason(g, "accuracy", e);
        } else {
            if (!st) st = h5_write_floats(g, "loss", e->loss, 2, d2);
            if (!st) st = h5_write_floats(g, "ppl", e->ppl, 2, d2);
            if (!st) st = h5_write_floats(g, "loss_by_position", e->loss_by_pos, 3, d3);
            if (!st) st = write_doubles(g, "eval_peak_bytes", e->peak_bytes, n);
            if (!st) st = h5_write_ints(g, "eval_windows", e->windows, 1, d1);
            if (!st && e->loss_slide) st = h5_write_floats(g, "loss_sliding", e->loss_slide, 2, d2);
            if (!st && e->ppl_slide) st = h5_write_floats(g, "ppl_sliding", e->ppl_slide, 2, d2);
            if (!st) st = write_nan_reason(g, "loss", e);
            if (!st) st = write_nan_reason(g, "ppl", e);
            if (!st) {
                hid_t tg = H5Gcreate2(train, e->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
                st = tg < 0 ? pb_fail(PB_IO, "cannot create /training/%s", e->name)
                            : h5_write_floats(tg, "loss", e->train_loss, 2, ds);
                if (tg >= 0) H5Gclose(tg);
            }
        }
        H5Gclose(g);
    }
    if (top >= 0) H5Gclose(top);
    if (train >= 0) H5Gclose(train);
    return st;
}

/* ---- resume ------------------------------------------------------------- */

/* Copies rows [s] of a file dataset [S, ...] (rank 1..3, row length `row`)
 * into dst; PB_DATA if the shape is not S x row. */
static PbStatus copy_rows(hid_t g, const char *path, const char *where, const char *name, int is_int, void *dst, int S,
                          size_t row, const int *measured) {
    int rank, d[8];
    void *data = NULL;
    PbStatus st =
        is_int ? h5_read_ints(g, name, (int **)&data, &rank, d) : h5_read_floats(g, name, (float **)&data, &rank, d);
    if (st) return pb_fail(PB_DATA, "--resume %s: cannot read %s/%s (damaged file?)", path, where, name);
    size_t count = 1;
    for (int i = 1; i < rank; i++) count *= (size_t)d[i];
    if (d[0] != S || count != row) {
        free(data);
        return pb_fail(PB_DATA, "--resume %s: %s/%s has the wrong shape (damaged file?)", path, where, name);
    }
    const size_t elem = is_int ? sizeof(int) : sizeof(float);
    for (int s = 0; s < S; s++)
        if (measured[s]) memcpy((char *)dst + s * row * elem, (char *)data + s * row * elem, row * elem);
    free(data);
    return PB_OK;
}

/* Per-length rows [n] of the file (shared by all seeds): taken as they are. */
static PbStatus copy_lengths(hid_t g, const char *path, const char *where, const char *name, int is_double, void *dst,
                             int n) {
    int rank, d[8];
    if (is_double) {
        /* eval_peak_bytes is float64 in the file; read through HDF5 directly. */
        hid_t set = H5Dopen2(g, name, H5P_DEFAULT);
        herr_t rd = set < 0 ? -1 : H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst);
        if (set >= 0) H5Dclose(set);
        return rd < 0 ? pb_fail(PB_DATA, "--resume %s: cannot read %s/%s", path, where, name) : PB_OK;
    }
    int *data = NULL;
    if (h5_read_ints(g, name, &data, &rank, d) || rank != 1 || d[0] != n) {
        free(data);
        return pb_fail(PB_DATA, "--resume %s: cannot read %s/%s (damaged file?)", path, where, name);
    }
    memcpy(dst, data, (size_t)n * sizeof(int));
    free(data);
    return PB_OK;
}

/* The file's attribute `name` of g as text, formatted as ours is. */
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

PbStatus gen_h5_resume(hid_t file, const char *path, GenResults *r) {
    const GenConfig *c = &r->cfg;
    char where[128], command[2048] = "?";
    h5_read_attr_string(file, "command_line", command, sizeof command);
    if (r->is_task) snprintf(where, sizeof where, "/tasks/%s", task_name((TaskKind)r->task));
    else snprintf(where, sizeof where, "/generalization");
    if (H5Lexists(file, r->is_task ? "tasks" : "generalization", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, where + 1, H5P_DEFAULT) <= 0)
        return pb_fail(PB_USAGE,
                       "--resume %s: the file holds no %s: it was made with other --data; resume with "
                       "the options of the interrupted run (%s)",
                       path, where, command);
    hid_t top = H5Gopen2(file, where + 1, H5P_DEFAULT);
    if (top < 0) return pb_fail(PB_DATA, "--resume %s: %s is not readable (damaged file?)", path, where);
    ConfigTable t;
    config_table(&t, r);
    PbStatus st = PB_OK;
    for (int i = 0; !st && i < t.n; i++) {
        const ConfigItem *it = &t.item[i];
        char theirs[4200], ours[4200];
        attr_text(top, it, theirs, sizeof theirs);
        if (it->type == 's') snprintf(ours, sizeof ours, "%s", it->s);
        else if (it->type == 'i') snprintf(ours, sizeof ours, "%lld", it->i);
        else snprintf(ours, sizeof ours, "%.9g", it->d);
        if (strcmp(theirs, ours) == 0) continue;
        if (strcmp(it->name, "ids_sha256") != 0)
            st = pb_fail(PB_USAGE,
                         "--resume %s: its setting '%s' is %s, this run's is %s; resume with the "
                         "options of the interrupted run (%s)",
                         path, it->name, theirs, ours, command);
        else if (strcmp(theirs, "(absent)") == 0)
            st = pb_fail(PB_USAGE,
                         "--resume %s: the file records no SHA-256 of its data (ids_sha256; written by "
                         "an older posbench), so nothing shows its runs were measured on the data of this run; "
                         "run the sweep again without --resume",
                         path);
        else
            st = pb_fail(PB_USAGE,
                         "--resume %s: the data %s are not those its runs were measured on: setting "
                         "'ids_sha256' (SHA-256 of the token ids) is %s, this run's is %s (changed in place?); "
                         "resume with the same data, or run the sweep again",
                         path, c->data, theirs, ours);
    }
    const int S = c->seeds, n = c->n_lens;
    const size_t steps = (size_t)c->train.steps;
    for (int e = 0; !st && e < c->n_encodings; e++) {
        GenEncResult *er = &r->enc[e];
        char sub[256];
        snprintf(sub, sizeof sub, "%s/%s", where, er->name);
        hid_t g = H5Lexists(top, er->name, H5P_DEFAULT) > 0 ? H5Gopen2(top, er->name, H5P_DEFAULT) : -1;
        if (g < 0) {
            st = pb_fail(PB_DATA, "--resume %s: %s is missing (damaged file?)", path, sub);
            break;
        }
        int *measured = NULL, rank, d[8];
        if (h5_exists(g, "measured")) {
            if (h5_read_ints(g, "measured", &measured, &rank, d) || rank != 1 || d[0] != S)
                st = pb_fail(PB_DATA, "--resume %s: %s/measured is damaged", path, sub);
        } else { /* written before interrupts were kept: every run finished */
            measured = malloc((size_t)S * sizeof *measured);
            if (!measured) st = pb_fail(PB_NOMEM, "no memory");
            for (int s = 0; !st && s < S; s++) measured[s] = 1;
        }
        int any = 0;
        for (int s = 0; !st && s < S; s++) any |= measured[s] != 0;
        if (!st && any) {
            st = copy_rows(g, path, sub, "diverged", 1, er->diverged, S, 1, measured);
            if (!st && h5_exists(g, "rank")) st = copy_rows(g, path, sub, "rank", 1, er->rank, S, 1, measured);
            if (!st) st = read_hosts(g, path, sub, er->host, S, measured);
            if (!st) st = copy_rows(g, path, sub, "train_tokens_per_s", 0, er->train_tps, S, 1, measured);
            if (r->is_task) {
                if (!st) st = copy_rows(g, path, sub, "accuracy", 0, er->accuracy, S, (size_t)n, measured);
                if (!st) st = copy_rows(g, path, sub, "token_accuracy", 0, er->token_accuracy, S, (size_t)n, measured);
                if (!st) st = copy_rows(g, path, sub, "train_loss", 0, er->train_loss, S, steps, measured);
                if (!st) st = copy_lengths(g, path, sub, "input_len", 0, er->input_len, n);
            } else {
                if (!st) st = copy_rows(g, path, sub, "loss", 0, er->loss, S, (size_t)n, measured);
                if (!st) st = copy_rows(g, path, sub, "ppl", 0, er->ppl, S, (size_t)n, measured);
                if (!st)
                    st = copy_rows(g, path, sub, "loss_by_position", 0, er->loss_by_pos, S, (size_t)n * c->bins,
                                   measured);
                if (!st && er->loss_slide)
                    st = copy_rows(g, path, sub, "loss_sliding", 0, er->loss_slide, S, (size_t)n, measured);
                if (!st && er->ppl_slide)
                    st = copy_rows(g, path, sub, "ppl_sliding", 0, er->ppl_slide, S, (size_t)n, measured);
                if (!st) st = copy_lengths(g, path, sub, "eval_peak_bytes", 1, er->peak_bytes, n);
                if (!st) st = copy_lengths(g, path, sub, "eval_windows", 0, er->windows, n);
                if (!st) {
                    char tl[300];
                    snprintf(tl, sizeof tl, "training/%s", er->name);
                    hid_t tg = H5Lexists(file, "training", H5P_DEFAULT) > 0 && H5Lexists(file, tl, H5P_DEFAULT) > 0
                                   ? H5Gopen2(file, tl, H5P_DEFAULT)
                                   : -1;
                    st = tg < 0 ? pb_fail(PB_DATA, "--resume %s: /%s is missing (damaged file?)", path, tl)
                                : copy_rows(tg, path, tl, "loss", 0, er->train_loss, S, steps, measured);
                    if (tg >= 0) H5Gclose(tg);
                }
            }
            if (!st) h5_read_attr_string(g, "not_applicable", er->not_applicable, sizeof er->not_applicable);
            if (!st) h5_read_attr_string(g, "diverged_reason", er->diverged_reason, sizeof er->diverged_reason);
            for (int s = 0; !st && s < S; s++) er->measured[s] = measured[s] != 0;
        }
        free(measured);
        H5Gclose(g);
    }
    H5Gclose(top);
    return st;
}

/* ---- reading (show, plot, run) ------------------------------------------ */

/* Splits the `encodings` attribute of g into names; returns the count. The
 * names are group keys, so they are read raw: print them through shown(). */
int gen_read_encodings(hid_t g, char names[][GEN_NAME], int cap) {
    char list[GEN_MAX_ENCODINGS * (GEN_NAME + 1)];
    if (h5_read_attr_raw(g, "encodings", list, sizeof list)) return 0;
    int n = 0;
    for (char *tok = strtok(list, ","); tok && n < cap; tok = strtok(NULL, ","))
        if (h5_exists(g, tok)) snprintf(names[n++], GEN_NAME, "%s", tok);
    return n;
}

/* Reads g/name as floats; *rows x *cols (rank 1: rows 1). */
int gen_read_matrix(hid_t g, const char *name, float **data, int *rows, int *cols) {
    int rank, d[8];
    *data = NULL;
    if (!h5_exists(g, name) || h5_read_floats(g, name, data, &rank, d)) return -1;
    *rows = rank >= 2 ? d[0] : 1;
    *cols = rank >= 2 ? d[1] : d[0];
    return 0;
}
