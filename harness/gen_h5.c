/* gen_h5.c: generalization results to and from HDF5 (schema:
 * results/README.md), and the `posbench show` tables of them.
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

#include "../core/text.h"
#include "../datasets/tasks.h"
#include "bench_h5.h"
#include "generalize.h"
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
    char (*buf)[GEN_HOST] = n == S ? calloc((size_t)S, sizeof *buf) : NULL;
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

static void item_s(ConfigTable *t, const char *name, const char *v) { t->item[t->n++] = (ConfigItem){name, 's', v, 0, 0}; }
static void item_i(ConfigTable *t, const char *name, long long v) { t->item[t->n++] = (ConfigItem){name, 'i', NULL, v, 0}; }
static void item_d(ConfigTable *t, const char *name, double v) { t->item[t->n++] = (ConfigItem){name, 'd', NULL, 0, v}; }

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
    for (int i = 0; i < c->n_lens; i++) n += snprintf(t->lens + n, sizeof t->lens - n, "%s%d", i ? "," : "", c->eval_lens[i]);
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
        item_s(t, "format", "'^' input '=' answer '$', '.' padding; "
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
        st = it->type == 's' ? h5_attr_string(g, it->name, it->s)
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
        if (!st) st = write_hosts(g, (const char (*)[GEN_HOST])e->host, S);
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
static PbStatus copy_rows(hid_t g, const char *path, const char *where, const char *name, int is_int, void *dst,
                          int S, size_t row, const int *measured) {
    int rank, d[8];
    void *data = NULL;
    PbStatus st = is_int ? h5_read_ints(g, name, (int **)&data, &rank, d)
                         : h5_read_floats(g, name, (float **)&data, &rank, d);
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
static PbStatus copy_lengths(hid_t g, const char *path, const char *where, const char *name, int is_double,
                             void *dst, int n) {
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
        return pb_fail(PB_USAGE, "--resume %s: the file holds no %s: it was made with other --data; resume with "
                       "the options of the interrupted run (%s)", path, where, command);
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
            st = pb_fail(PB_USAGE, "--resume %s: its setting '%s' is %s, this run's is %s; resume with the "
                         "options of the interrupted run (%s)", path, it->name, theirs, ours, command);
        else if (strcmp(theirs, "(absent)") == 0)
            st = pb_fail(PB_USAGE, "--resume %s: the file records no SHA-256 of its data (ids_sha256; written by "
                         "an older posbench), so nothing shows its runs were measured on the data of this run; "
                         "run the sweep again without --resume", path);
        else
            st = pb_fail(PB_USAGE, "--resume %s: the data %s are not those its runs were measured on: setting "
                         "'ids_sha256' (SHA-256 of the token ids) is %s, this run's is %s (changed in place?); "
                         "resume with the same data, or run the sweep again", path, c->data, theirs, ours);
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
                if (!st) st = copy_rows(g, path, sub, "loss_by_position", 0, er->loss_by_pos, S,
                                        (size_t)n * c->bins, measured);
                if (!st && er->loss_slide) st = copy_rows(g, path, sub, "loss_sliding", 0, er->loss_slide, S, (size_t)n, measured);
                if (!st && er->ppl_slide) st = copy_rows(g, path, sub, "ppl_sliding", 0, er->ppl_slide, S, (size_t)n, measured);
                if (!st) st = copy_lengths(g, path, sub, "eval_peak_bytes", 1, er->peak_bytes, n);
                if (!st) st = copy_lengths(g, path, sub, "eval_windows", 0, er->windows, n);
                if (!st) {
                    char tl[300];
                    snprintf(tl, sizeof tl, "training/%s", er->name);
                    hid_t tg = H5Lexists(file, "training", H5P_DEFAULT) > 0 && H5Lexists(file, tl, H5P_DEFAULT) > 0
                                   ? H5Gopen2(file, tl, H5P_DEFAULT) : -1;
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

/* ---- show --------------------------------------------------------------- */

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

/* A name read raw from a file, as one printable line (core/text.h). */
static const char *shown(char buf[GEN_NAME], const char *name) { return text_sanitize_copy(buf, GEN_NAME, name); }

/* Reads g/name as floats; *rows x *cols (rank 1: rows 1). */
int gen_read_matrix(hid_t g, const char *name, float **data, int *rows, int *cols) {
    int rank, d[8];
    *data = NULL;
    if (!h5_exists(g, name) || h5_read_floats(g, name, data, &rank, d)) return -1;
    *rows = rank >= 2 ? d[0] : 1;
    *cols = rank >= 2 ? d[1] : d[0];
    return 0;
}

static void fmt_ci(char *buf, size_t cap, const float *x, int S, int stride, const char *f) {
    double m, h;
    int k;
    gen_mean_ci(x, S, stride, &m, &h, &k);
    if (!k) snprintf(buf, cap, "n/a");
    else {
        char a[32], b[32];
        snprintf(a, sizeof a, f, m);
        snprintf(b, sizeof b, f, h);
        snprintf(buf, cap, k > 1 ? "%s±%s" : "%s", a, b);
    }
}

typedef struct {
    char name[GEN_NAME];
    double ppl_L, ppl_long, loss_L, loss_long, mem_ratio, train_tps, task_acc_L, task_acc_long;
    int na, diverged;
} SummaryRow;

static void show_table(hid_t top, const char *title, const char *value, const char *fmt, FILE *out,
                       SummaryRow *rows, int *n_rows, int is_task) {
    char names[GEN_MAX_ENCODINGS][GEN_NAME];
    int n = gen_read_encodings(top, names, GEN_MAX_ENCODINGS);
    if (!n) return;
    long long L = 0;
    h5_read_attr_int(top, "train_len", &L);
    int *lens = NULL, rank, d[8];
    char path[256];
    snprintf(path, sizeof path, "%s/eval_len", names[0]);
    if (h5_read_ints(top, path, &lens, &rank, d)) return;
    const int nl = d[0];
    fprintf(out, "%s (trained at L = %lld; mean ± 95%% CI over seeds, t-distribution)\n", title, L);
    fprintf(out, "%-16s", "encoding");
    for (int i = 0; i < nl; i++) {
        char h[32];
        snprintf(h, sizeof h, "T=%d", lens[i]);
        fprintf(out, " %15s", h);
    }
    fprintf(out, "\n");
    char name[GEN_NAME];
    for (int e = 0; e < n; e++) {
        hid_t g = H5Gopen2(top, names[e], H5P_DEFAULT);
        float *v = NULL;
        int S, cols;
        if (g < 0 || gen_read_matrix(g, value, &v, &S, &cols)) {
            if (g >= 0) H5Gclose(g);
            continue;
        }
        fprintf(out, "%-16s", shown(name, names[e]));
        for (int i = 0; i < nl && i < cols; i++) {
            char b[64];
            fmt_ci(b, sizeof b, v + i, S, cols, fmt);
            fprintf(out, " %15s", b);
        }
        fprintf(out, "\n");
        /* Summary numbers. */
        SummaryRow *row = NULL;
        for (int k = 0; k < *n_rows; k++)
            if (strcmp(rows[k].name, names[e]) == 0) row = &rows[k];
        if (!row && *n_rows < GEN_MAX_ENCODINGS) {
            row = &rows[(*n_rows)++];
            memset(row, 0, sizeof *row);
            snprintf(row->name, GEN_NAME, "%.63s", names[e]);
            row->ppl_L = row->ppl_long = row->loss_L = row->loss_long = NAN;
            row->mem_ratio = row->train_tps = row->task_acc_L = row->task_acc_long = NAN;
        }
        double m, h;
        int k;
        if (row && is_task) {
            gen_mean_ci(v, S, cols, &row->task_acc_L, &h, &k);
            gen_mean_ci(v + cols - 1, S, cols, &row->task_acc_long, &h, &k);
        } else if (row) {
            float *loss = NULL, *tps = NULL, *peak = NULL;
            int r2, c2;
            if (!gen_read_matrix(g, "loss", &loss, &r2, &c2)) {
                gen_mean_ci(loss, r2, c2, &row->loss_L, &h, &k);
                gen_mean_ci(loss + c2 - 1, r2, c2, &row->loss_long, &h, &k);
                row->na = k == 0;
            }
            gen_mean_ci(v, S, cols, &row->ppl_L, &h, &k);
            gen_mean_ci(v + cols - 1, S, cols, &row->ppl_long, &h, &k);
            if (!gen_read_matrix(g, "train_tokens_per_s", &tps, &r2, &c2))
                gen_mean_ci(tps, c2, 1, &row->train_tps, &h, &k);
            if (!gen_read_matrix(g, "eval_peak_bytes", &peak, &r2, &c2) && c2 > 1 && peak[0] > 0)
                row->mem_ratio = peak[c2 - 1] / peak[0];
            int *div = NULL, rk, dd[8];
            if (!h5_read_ints(g, "diverged", &div, &rk, dd))
                for (int s = 0; s < dd[0]; s++) row->diverged += div[s];
            free(div), free(loss), free(tps), free(peak);
        }
        (void)m;
        char why[512];
        if (!h5_read_attr_string(g, "not_applicable", why, sizeof why))
            fprintf(out, "%16s n/a: %s\n", "", why);
        if (!h5_read_attr_string(g, "diverged_reason", why, sizeof why))
            fprintf(out, "%16s diverged: %s\n", "", why);
        free(v);
        H5Gclose(g);
    }
    fprintf(out, "\n");
    free(lens);
}

/* Bench attention-forward tokens/s at the longest T with the smallest C, per
 * encoding; NaN if the file has no /bench. Read once per process. */
static double bench_tps(hid_t file, const char *path, const char *enc, int *T_out) {
    static BenchResults cache;
    static int loaded = -1;
    if (loaded < 0) loaded = h5_exists(file, "bench") && !bench_h5_read(file, path, &cache);
    if (!loaded) return NAN;
    int best_T = 0, C = 1 << 30;
    for (size_t i = 0; i < cache.n; i++)
        if (cache.rows[i].dim < C) C = cache.rows[i].dim;
    double v = NAN;
    for (size_t i = 0; i < cache.n; i++) {
        const BenchRow *w = &cache.rows[i];
        if (w->dim != C || strcmp(w->scope, "attention") || strcmp(w->pass, "forward") ||
            strcmp(w->encoding, enc) || w->seq_len < best_T)
            continue;
        best_T = w->seq_len, v = w->tokens_per_s;
    }
    *T_out = best_T;
    return v;
}

#define GEN_UNDERTRAINED 1.5

/* A number, or "-" when it is not finite (not measured / not applicable). */
static void num(char *buf, size_t cap, const char *fmt, double v) {
    if (isfinite(v)) snprintf(buf, cap, fmt, v);
    else snprintf(buf, cap, "-");
}

PbStatus gen_show(hid_t file, const char *path, FILE *out) {
    SummaryRow rows[GEN_MAX_ENCODINGS];
    int n_rows = 0, any = 0;
    long long complete = 1;
    if (!h5_read_attr_int(file, "complete", &complete) && !complete)
        fprintf(out, "INCOMPLETE: interrupted; runs not measured are NaN (continue with --resume %s)\n\n", path);
    if (h5_exists(file, "generalization")) {
        hid_t g = H5Gopen2(file, "generalization", H5P_DEFAULT);
        char data[512] = "", tok[32] = "";
        long long steps = 0, seeds = 0, dim = 0, layers = 0, heads = 0;
        h5_read_attr_string(g, "data", data, sizeof data);
        h5_read_attr_string(g, "tokenizer", tok, sizeof tok);
        h5_read_attr_int(g, "steps", &steps), h5_read_attr_int(g, "seeds", &seeds);
        h5_read_attr_int(g, "dim", &dim), h5_read_attr_int(g, "layers", &layers);
        h5_read_attr_int(g, "heads", &heads);
        fprintf(out, "generalization: data %s (%s), %lld layers, dim %lld, %lld heads, %lld steps, %lld seeds\n\n",
                data, tok, layers, dim, heads, steps, seeds);
        show_table(g, "perplexity, non-overlapping windows", "ppl", "%.2f", out, rows, &n_rows, 0);
        hid_t probe = -1;
        char first[GEN_MAX_ENCODINGS][GEN_NAME];
        if (gen_read_encodings(g, first, 1) == 1) {
            probe = H5Gopen2(g, first[0], H5P_DEFAULT);
            if (probe >= 0 && h5_exists(probe, "ppl_sliding")) {
                SummaryRow scratch[GEN_MAX_ENCODINGS];
                int ns = 0;
                show_table(g, "perplexity, sliding windows", "ppl_sliding", "%.2f", out, scratch, &ns, 1);
            }
            if (probe >= 0) H5Gclose(probe);
        }
        H5Gclose(g);
        any = 1;
    }
    char task_names[TASK_COUNT][GEN_NAME];
    int n_tasks = 0;
    if (h5_exists(file, "tasks")) {
        hid_t tg = H5Gopen2(file, "tasks", H5P_DEFAULT);
        for (int k = 0; k < TASK_COUNT; k++) {
            if (!h5_exists(tg, task_name((TaskKind)k))) continue;
            hid_t g = H5Gopen2(tg, task_name((TaskKind)k), H5P_DEFAULT);
            char title[128];
            long long steps = 0;
            h5_read_attr_int(g, "steps", &steps);
            snprintf(title, sizeof title, "task %s: exact-match accuracy (%lld steps)", task_name((TaskKind)k), steps);
            /* only the first task feeds the summary's accuracy columns */
            SummaryRow scratch[GEN_MAX_ENCODINGS];
            int ns = 0;
            if (n_tasks == 0) {
                /* merge: task rows into rows by name */
                show_table(g, title, "accuracy", "%.2f", out, scratch, &ns, 1);
                for (int i = 0; i < ns; i++) {
                    int found = 0;
                    for (int j = 0; j < n_rows; j++)
                        if (strcmp(rows[j].name, scratch[i].name) == 0) {
                            rows[j].task_acc_L = scratch[i].task_acc_L;
                            rows[j].task_acc_long = scratch[i].task_acc_long;
                            found = 1;
                        }
                    if (!found && n_rows < GEN_MAX_ENCODINGS) {
                        rows[n_rows] = scratch[i];
                        rows[n_rows].ppl_L = rows[n_rows].ppl_long = rows[n_rows].loss_L = NAN;
                        rows[n_rows].loss_long = rows[n_rows].mem_ratio = rows[n_rows].train_tps = NAN;
                        n_rows++;
                    }
                }
            } else {
                show_table(g, title, "accuracy", "%.2f", out, scratch, &ns, 1);
            }
            {
                SummaryRow tok_rows[GEN_MAX_ENCODINGS];
                int nt = 0;
                snprintf(title, sizeof title, "task %s: answer-token accuracy", task_name((TaskKind)k));
                show_table(g, title, "token_accuracy", "%.2f", out, tok_rows, &nt, 1);
            }
            snprintf(task_names[n_tasks++], GEN_NAME, "%s", task_name((TaskKind)k));
            H5Gclose(g);
            any = 1;
        }
        H5Gclose(tg);
    }
    if (!any && !complete) return PB_OK; /* interrupted before the first run */
    if (!any) return pb_fail(PB_DATA, "'%s' holds neither /generalization nor /tasks", path);
    if (!n_rows) return PB_OK;

    /* The per-encoding summary. */
    long long L = 0;
    int longest = 0;
    if (h5_exists(file, "generalization")) {
        hid_t g = H5Gopen2(file, "generalization", H5P_DEFAULT);
        h5_read_attr_int(g, "train_len", &L);
        char lens[512] = "";
        h5_read_attr_string(g, "eval_lens", lens, sizeof lens);
        const char *last = strrchr(lens, ',');
        longest = atoi(last ? last + 1 : lens);
        H5Gclose(g);
    }
    int bench_T = 0;
    fprintf(out, "summary per encoding%s\n", n_tasks ? "" : "");
    fprintf(out, "%-16s %12s %12s %9s %10s %10s %9s %9s  %s\n", "encoding", "train tok/s", "bench tok/s",
            "eval mem", "loss@L", "loss@long", "task@min", "task@max", "verdict");
    char extrap[1024] = "", not_extrap[1024] = "", na[1024] = "", weak[1024] = "";
    char name[GEN_NAME];
    /* A run that did not learn has a flat curve for the wrong reason: an
     * encoding whose perplexity at L is over GEN_UNDERTRAINED times the best
     * one's is named undertrained, not extrapolating. */
    double best_L = INFINITY;
    for (int i = 0; i < n_rows; i++)
        if (isfinite(rows[i].ppl_L) && rows[i].ppl_L < best_L) best_L = rows[i].ppl_L;
    for (int i = 0; i < n_rows; i++) {
        SummaryRow *w = &rows[i];
        double btps = bench_tps(file, path, w->name, &bench_T);
        char verdict[128];
        double ratio = w->ppl_long / w->ppl_L;
        char *list;
        if (!isfinite(w->ppl_L)) snprintf(verdict, sizeof verdict, "-"), list = NULL;
        else if (w->ppl_L > GEN_UNDERTRAINED * best_L)
            snprintf(verdict, sizeof verdict, "undertrained (ppl at L x%.2f the best)", w->ppl_L / best_L),
                list = weak;
        else if (!isfinite(w->ppl_long))
            snprintf(verdict, sizeof verdict, "cannot go past its table (n/a)"), list = na;
        else if (ratio <= 1.10)
            snprintf(verdict, sizeof verdict, "extrapolates (ppl x%.2f at %dL)", ratio, L ? (int)(longest / L) : 0), list = extrap;
        else
            snprintf(verdict, sizeof verdict, "degrades (ppl x%.2f at %dL)", ratio, L ? (int)(longest / L) : 0), list = not_extrap;
        if (w->diverged) {
            size_t n = strlen(verdict);
            snprintf(verdict + n, sizeof verdict - n, "; %d run(s) diverged", w->diverged);
        }
        if (list) {
            size_t n = strlen(list);
            snprintf(list + n, 1024 - n, "%s%.63s", n ? ", " : "", shown(name, w->name));
        }
        char mem[32];
        if (isfinite(w->mem_ratio)) snprintf(mem, sizeof mem, "x%.1f", w->mem_ratio);
        else snprintf(mem, sizeof mem, "n/a");
        char c1[32], c2[32], c3[32], c4[32], c5[32], c6[32];
        num(c1, sizeof c1, "%.0f", w->train_tps), num(c2, sizeof c2, "%.0f", btps);
        num(c3, sizeof c3, "%.3f", w->loss_L), num(c4, sizeof c4, "%.3f", w->loss_long);
        num(c5, sizeof c5, "%.2f", w->task_acc_L), num(c6, sizeof c6, "%.2f", w->task_acc_long);
        fprintf(out, "%-16s %12s %12s %9s %10s %10s %9s %9s  %s\n", shown(name, w->name), c1, c2, mem, c3, c4, c5, c6, verdict);
    }
    fprintf(out, "\n(train tok/s: the whole probe model's training; bench tok/s: one attention layer's "
                 "forward at T=%d from /bench (- without one); eval mem: peak evaluation heap at the longest length over "
                 "that at L; loss in nats; task: the first task's exact-match accuracy at its shortest "
                 "and longest length)\n", bench_T);
    if (L) {
        fprintf(out, "extrapolate (perplexity at %d within 10%% of that at L = %lld): %s\n", longest, L,
                *extrap ? extrap : "none");
        fprintf(out, "degrade past L: %s\n", *not_extrap ? not_extrap : "none");
        if (*na) fprintf(out, "cannot evaluate past their table: %s\n", na);
        if (*weak)
            fprintf(out, "undertrained (perplexity at L over %.1fx the best; their length curve says "
                         "little): %s\n", GEN_UNDERTRAINED, weak);
    }
    return PB_OK;
}
