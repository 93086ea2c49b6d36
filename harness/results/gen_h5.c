/* gen_h5.c: writing generalization results to HDF5 (schema:
 * results/README.md). Resuming from such a file is gen_h5_resume.c, the
 * readers that show and plot share are gen_h5_read.c (the tables themselves
 * are harness/report/gen_show.c), the config attributes gen_h5_config.c.
 *
 *   /generalization            attrs: the config (data, ids_sha256, tokenizer,
 *                              model, steps, ...), all compared on resume
 *   /generalization/<spec>/    eval_len [n], loss, ppl [seeds, n],
 *                              loss_by_position [seeds, n, bins],
 *                              eval_peak_bytes [n], ...; attrs train_len,
 *                              encoding, variant, settings (<spec> is the
 *                              canonical encoding spec, encodings/encoding.h)
 *   /training/<enc>/loss       [seeds, steps]
 *   /tasks/<task>/<enc>/       eval_len [n], accuracy [seeds, n], ...
 * Group attribute `encodings` lists the encodings in sweep order.
 */
#include <stdlib.h>
#include <string.h>

#include "../../datasets/tasks.h"
#include "gen_h5.h"
#include "gen_h5_config.h"
#include "h5io.h"

static hid_t group_open_or_create(hid_t loc, const char *name) {
    if (h5_exists(loc, name)) return H5Gopen2(loc, name, H5P_DEFAULT);
    return H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

static hid_t group_create(hid_t loc, const char *name) {
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

static PbStatus config_attrs(hid_t g, const GenResults *r) {
    ConfigTable t;
    gen_h5_config_table(&t, r);
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

/* The study's groups: /tasks/<task> for a task (*train stays -1), else
 * /generalization and /training. Either may be left open on an error. */
static PbStatus create_study_groups(hid_t file, const GenResults *r, hid_t *top, hid_t *train) {
    PbStatus st = PB_OK;
    *top = *train = -1;
    if (r->is_task) {
        hid_t tasks = group_open_or_create(file, "tasks");
        *top = tasks < 0 ? -1 : group_create(tasks, task_name((TaskKind)r->task));
        if (tasks >= 0) H5Gclose(tasks);
    } else {
        *top = group_create(file, "generalization");
        *train = group_create(file, "training");
        if (*train < 0) st = pb_fail(PB_IO, "cannot create /training (does it exist already?)");
    }
    if (!st && *top < 0) st = pb_fail(PB_IO, "cannot create the results group (does it exist already?)");
    return st;
}

/* The group's spec taken apart (schema 2): readers need not parse it. */
static PbStatus write_spec(hid_t g, const GenConfig *c, const char *name) {
    EncodingSpec spec;
    int randomized;
    PbStatus st = gen_key_parse(name, &spec, &randomized);
    if (!st) st = h5_attr_string(g, "encoding", spec.module->name);
    if (!st)
        st = h5_attr_string(g, "variant",
                            *spec.variant           ? spec.variant
                            : spec.module->variants ? spec.module->variants[0]
                                                    : "default");
    if (!st) st = h5_attr_string(g, "settings", spec.settings);
    /* LMAX of the positions it trained at; 0: 0..L-1 */
    if (!st) st = h5_attr_int(g, "randomize_positions", randomized ? c->train.randomize_positions : 0);
    GenDerived how;
    if (!st && gen_key_derived(name, &how)) { /* a context extension of parent's model */
        st = h5_attr_string(g, "extend", extend_method_name(how.method));
        if (!st) st = h5_attr_string(g, "parent", how.parent);
        /* fine-tuned: at the factor it was tuned at */
        const double tuned = c->extend_factor > 0 ? c->extend_factor : (double)c->extend_len / c->train_len;
        const double factor = how.method == EXTEND_DYNAMIC_NTK ? 1 : how.finetuned ? tuned : c->extend_factor;
        if (!st) st = h5_attr_double(g, "extend_factor", factor);
        if (!st && how.finetuned) st = h5_attr_int(g, "finetune_steps", c->extend_finetune);
        if (!st && how.finetuned) st = h5_attr_int(g, "finetune_len", c->extend_len);
        float ramp[4096];
        int pairs = 0;
        if (!st) st = gen_key_ramp(c, name, ramp, 4096, &pairs);
        if (!st && pairs) st = h5_write_floats(g, "ramp", ramp, 1, (int[]){pairs});
    }
    return st;
}

/* What every run records, task or corpus: lengths, state, provenance. */
static PbStatus write_run_state(hid_t g, const GenResults *r, const GenEncResult *e) {
    const GenConfig *c = &r->cfg;
    int d1[1] = {c->n_lens}, dseed[1] = {c->seeds};
    PbStatus st = h5_write_ints(g, "eval_len", c->eval_lens, 1, d1);
    if (!st) st = h5_attr_int(g, "train_len", c->train_len);
    if (!st) st = write_spec(g, c, e->name);
    if (!st) st = h5_write_ints(g, "diverged", e->diverged, 1, dseed);
    if (!st) st = h5_write_ints(g, "measured", e->measured, 1, dseed);
    if (!st) st = h5_write_ints(g, "rank", e->rank, 1, dseed);
    if (!st) st = write_hosts(g, (const char(*)[GEN_HOST])e->host, c->seeds);
    if (!st) st = h5_write_floats(g, "train_tokens_per_s", e->train_tps, 1, dseed);
    if (!st) st = h5_write_floats(g, "train_tokens_per_s_steady", e->train_tps_steady, 1, dseed);
    if (!st) st = write_na(g, e);
    return st;
}

static PbStatus write_task_run(hid_t g, const GenConfig *c, const GenEncResult *e) {
    int d1[1] = {c->n_lens}, d2[2] = {c->seeds, c->n_lens}, ds[2] = {c->seeds, (int)c->train.steps};
    PbStatus st = h5_write_ints(g, "input_len", e->input_len, 1, d1);
    if (!st) st = h5_write_floats(g, "accuracy", e->accuracy, 2, d2);
    if (!st) st = h5_write_floats(g, "token_accuracy", e->token_accuracy, 2, d2);
    if (!st) st = h5_write_floats(g, "train_loss", e->train_loss, 2, ds);
    if (!st) st = write_nan_reason(g, "accuracy", e);
    return st;
}

/* /training/<enc>/loss [seeds, steps]. */
static PbStatus write_training_loss(hid_t train, const GenConfig *c, const GenEncResult *e) {
    int ds[2] = {c->seeds, (int)c->train.steps};
    hid_t tg = group_create(train, e->name);
    PbStatus st = tg < 0 ? pb_fail(PB_IO, "cannot create /training/%s", e->name)
                         : h5_write_floats(tg, "loss", e->train_loss, 2, ds);
    if (tg >= 0) H5Gclose(tg);
    return st;
}

static PbStatus write_corpus_run(hid_t g, hid_t train, const GenConfig *c, const GenEncResult *e) {
    const int S = c->seeds, n = c->n_lens;
    int d1[1] = {n}, d2[2] = {S, n}, d3[3] = {S, n, c->bins};
    PbStatus st = h5_write_floats(g, "loss", e->loss, 2, d2);
    if (!st) st = h5_write_floats(g, "ppl", e->ppl, 2, d2);
    if (!st) st = h5_write_floats(g, "loss_by_position", e->loss_by_pos, 3, d3);
    if (!st) st = write_doubles(g, "eval_peak_bytes", e->peak_bytes, n);
    if (!st) st = h5_write_ints(g, "eval_windows", e->windows, 1, d1);
    if (!st && e->loss_slide) st = h5_write_floats(g, "loss_sliding", e->loss_slide, 2, d2);
    if (!st && e->ppl_slide) st = h5_write_floats(g, "ppl_sliding", e->ppl_slide, 2, d2);
    if (!st) st = write_nan_reason(g, "loss", e);
    if (!st) st = write_nan_reason(g, "ppl", e);
    if (!st) st = write_training_loss(train, c, e);
    return st;
}

/* The group top/<enc> of one encoding, all its seeds. */
static PbStatus write_encoding(hid_t top, hid_t train, const GenResults *r, const GenEncResult *e) {
    hid_t g = group_create(top, e->name);
    if (g < 0) return pb_fail(PB_IO, "cannot create group for %s", e->name);
    PbStatus st = write_run_state(g, r, e);
    if (!st) st = r->is_task ? write_task_run(g, &r->cfg, e) : write_corpus_run(g, train, &r->cfg, e);
    H5Gclose(g);
    return st;
}

PbStatus gen_h5_write(hid_t file, const GenResults *r) {
    hid_t top, train;
    PbStatus st = create_study_groups(file, r, &top, &train);
    if (!st) st = config_attrs(top, r);
    if (!st && train >= 0) st = config_attrs(train, r);
    for (int i = 0; !st && i < r->cfg.n_encodings; i++) st = write_encoding(top, train, r, &r->enc[i]);
    if (top >= 0) H5Gclose(top);
    if (train >= 0) H5Gclose(train);
    return st;
}
