/* checkpoint.c: HDF5 checkpoints (layout in checkpoint.h). */
#include "checkpoint.h"

#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"

#define CHECKPOINT_KIND "posbench_checkpoint"
#define CHECKPOINT_FORMAT 1

void checkpoint_data_free(CheckpointData *d) { vocab_map_free(&d->vocab); }

/* ---- small HDF5 helpers ------------------------------------------------------ */

static hid_t group_create(hid_t loc, const char *name) {
    return H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

static PbStatus group_open(hid_t *g, hid_t loc, const char *name, const char *path) {
    *g = h5_exists(loc, name) ? H5Gopen2(loc, name, H5P_DEFAULT) : -1;
    if (*g < 0) return pb_fail(PB_DATA, "'%s' is not a posbench checkpoint: group '%s' is missing", path, name);
    return PB_OK;
}

static PbStatus read_int(hid_t loc, const char *name, int *out) {
    long long v;
    PbStatus st = h5_read_attr_int(loc, name, &v);
    if (!st && (v < -2147483647LL || v > 2147483647LL))
        return pb_fail(PB_DATA, "attribute '%s' = %lld is out of range", name, v);
    if (!st) *out = (int)v;
    return st;
}

static PbStatus read_long(hid_t loc, const char *name, long *out) {
    long long v;
    PbStatus st = h5_read_attr_int(loc, name, &v);
    if (!st) *out = (long)v;
    return st;
}

static PbStatus read_float(hid_t loc, const char *name, float *out) {
    double v;
    PbStatus st = h5_read_attr_double(loc, name, &v);
    if (!st) *out = (float)v;
    return st;
}

/* Checkpoints written before "" was stored as "" hold " " for it. The text
 * comes sanitized (h5io.h) unless raw: the corpus path is opened again on
 * resume, so it must come back byte for byte. */
static PbStatus read_text(hid_t loc, const char *name, char *out, size_t cap, int raw) {
    PbStatus st = raw ? h5_read_attr_raw(loc, name, out, cap) : h5_read_attr_string(loc, name, out, cap);
    if (!st && strcmp(out, " ") == 0) out[0] = 0;
    return st;
}

static PbStatus read_string(hid_t loc, const char *name, char *out, size_t cap) {
    return read_text(loc, name, out, cap, 0);
}

static PbStatus attr_u64(hid_t loc, const char *name, uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return h5_attr_string(loc, name, buf);
}

static PbStatus read_u64(hid_t loc, const char *name, uint64_t *out) {
    char buf[64];
    PbStatus st = read_string(loc, name, buf, sizeof buf);
    char *end;
    if (!st) {
        *out = strtoull(buf, &end, 16);
        if (!*buf || *end) st = pb_fail(PB_DATA, "attribute '%s' is not a hex number: '%s'", name, buf);
    }
    return st;
}

/* ---- tensors ---------------------------------------------------------------- */

static PbStatus write_tensors(hid_t loc, const char *group, const Model *m, const float *buf) {
    hid_t g = group_create(loc, group);
    if (g < 0) return pb_fail(PB_IO, "cannot create group '%s'", group);
    PbStatus st = PB_OK;
    for (int i = 0; i < MODEL_N_TENSORS && !st; i++) {
        const ModelTensor *t = &m->tensors[i];
        if (t->count) st = h5_write_floats(g, t->name, buf + t->offset, t->rank, t->dims);
    }
    H5Gclose(g);
    return st;
}

static PbStatus read_tensors(hid_t loc, const char *group, const Model *m, float *buf, const char *path) {
    hid_t g;
    PbStatus st = group_open(&g, loc, group, path);
    for (int i = 0; i < MODEL_N_TENSORS && !st; i++) {
        const ModelTensor *t = &m->tensors[i];
        if (!t->count) continue;
        float *data = NULL;
        int rank, dims[8];
        st = h5_read_floats(g, t->name, &data, &rank, dims);
        if (st) {
            st = pb_fail(PB_DATA, "'%s': tensor %s/%s is missing or unreadable", path, group, t->name);
            break;
        }
        int same = rank == t->rank;
        for (int k = 0; same && k < rank; k++) same = dims[k] == t->dims[k];
        if (!same)
            st = pb_fail(PB_DATA, "'%s': tensor %s/%s has another shape than its config gives", path, group, t->name);
        else memcpy(buf + t->offset, data, t->count * sizeof *data);
        free(data);
    }
    if (g >= 0) H5Gclose(g);
    return st;
}

/* ---- save --------------------------------------------------------------------- */

static PbStatus write_config(hid_t f, const ModelConfig *c) {
    hid_t g = group_create(f, "config");
    if (g < 0) return pb_fail(PB_IO, "cannot create group 'config'");
    PbStatus st = h5_attr_int(g, "vocab", c->vocab);
    if (!st) st = h5_attr_int(g, "context", c->context);
    if (!st) st = h5_attr_int(g, "layers", c->layers);
    if (!st) st = h5_attr_int(g, "dim", c->dim);
    if (!st) st = h5_attr_int(g, "heads", c->heads);
    if (!st) st = h5_attr_int(g, "tied", c->tied);
    if (!st) st = h5_attr_double(g, "init_std", c->init_std);
    if (!st) st = h5_attr_double(g, "embed_scale", c->embed_scale);
    if (!st) st = h5_attr_string(g, "fallback", c->fallback == LENGTH_FALLBACK_CLAMP ? "clamp" : "error");
    if (!st) st = h5_attr_string(g, "encoding", c->encoding);
    if (!st) st = h5_attr_string(g, "variant", c->variant);
    if (!st) st = h5_attr_string(g, "settings", c->settings);
    H5Gclose(g);
    return st;
}

static PbStatus write_train(hid_t f, const Trainer *t) {
    const TrainConfig *c = &t->cfg;
    hid_t g = group_create(f, "train");
    if (g < 0) return pb_fail(PB_IO, "cannot create group 'train'");
    PbStatus st = h5_attr_int(g, "steps", c->steps);
    if (!st) st = h5_attr_int(g, "batch", c->batch);
    if (!st) st = h5_attr_int(g, "stride", c->stride);
    if (!st) st = h5_attr_double(g, "lr", c->lr);
    if (!st) st = h5_attr_double(g, "min_lr_ratio", c->min_lr_ratio);
    if (!st) st = h5_attr_int(g, "warmup", c->warmup);
    if (!st) st = h5_attr_double(g, "weight_decay", c->weight_decay);
    if (!st) st = h5_attr_double(g, "beta1", c->beta1);
    if (!st) st = h5_attr_double(g, "beta2", c->beta2);
    if (!st) st = h5_attr_double(g, "eps", c->eps);
    if (!st) st = h5_attr_double(g, "grad_clip", c->grad_clip);
    if (!st) st = attr_u64(g, "seed", c->seed);
    if (!st) st = h5_attr_double(g, "val_fraction", c->val_fraction);
    if (!st) st = h5_attr_int(g, "step", t->step);
    if (!st) st = h5_attr_int(g, "epoch", t->epoch);
    if (!st) st = h5_attr_int(g, "loader_next", (long long)t->loader.next);
    if (!st) st = attr_u64(g, "loader_rng_state", t->loader.rng.state);
    if (!st) st = attr_u64(g, "loader_rng_inc", t->loader.rng.inc);
    if (!st && t->step > 0) st = h5_write_floats(g, "loss", t->loss_history, 1, (int[]){(int)t->step});
    H5Gclose(g);
    return st;
}

static PbStatus write_data(hid_t f, const CheckpointData *d) {
    hid_t g = group_create(f, "data");
    if (g < 0) return pb_fail(PB_IO, "cannot create group 'data'");
    PbStatus st = h5_attr_string(g, "data", d->data);
    if (!st) st = h5_attr_string(g, "tokenizer", d->tokenizer);
    if (!st) st = h5_attr_int(g, "tokenizer_vocab", d->vocab.tokenizer_vocab);
    if (!st) st = h5_attr_string(g, "vocab", d->vocab.compact ? "compact" : "full");
    if (!st) st = h5_attr_int(g, "n_tokens", (long long)d->n_tokens);
    if (!st) st = h5_attr_string(g, "ids_sha256", d->ids_sha256);
    if (!st && d->vocab.compact && d->vocab.n_known > 0)
        st = h5_write_ints(g, "known", d->vocab.known, 1, (int[]){d->vocab.n_known});
    H5Gclose(g);
    return st;
}

PbStatus checkpoint_save(const char *path, int force, const Trainer *t, const CheckpointData *d) {
    H5Out out;
    PbStatus st = h5out_create(&out, path, force);
    if (st) return st;
    hid_t f = out.file;
    st = h5_write_provenance(f);
    if (!st) st = h5_attr_string(f, "kind", CHECKPOINT_KIND);
    if (!st) st = h5_attr_int(f, "format", CHECKPOINT_FORMAT);
    if (!st) st = write_config(f, &t->model.cfg);
    if (!st) st = write_tensors(f, "params", &t->model, t->model.params);
    hid_t opt = st ? -1 : group_create(f, "optimizer");
    if (!st && opt < 0) st = pb_fail(PB_IO, "cannot create group 'optimizer'");
    if (!st) st = write_tensors(opt, "m", &t->model, t->opt_m);
    if (!st) st = write_tensors(opt, "v", &t->model, t->opt_v);
    if (opt >= 0) H5Gclose(opt);
    if (!st) st = write_train(f, t);
    if (!st) st = write_data(f, d);
    if (!st) return h5out_commit(&out);
    h5out_abort(&out);
    return st;
}

/* ---- read ---------------------------------------------------------------------- */

static PbStatus open_checkpoint(hid_t *f, const char *path) {
    PbStatus st = h5in_open(f, path);
    if (st) return st;
    char kind[64];
    if (h5_read_attr_string(*f, "kind", kind, sizeof kind) || strcmp(kind, CHECKPOINT_KIND)) {
        H5Fclose(*f);
        return pb_fail(PB_DATA,
                       "'%s' is not a posbench checkpoint (kind '%s'); write one with "
                       "posbench train -o FILE.h5",
                       path, kind);
    }
    long long format;
    if (h5_read_attr_int(*f, "format", &format) || format != CHECKPOINT_FORMAT) {
        H5Fclose(*f);
        return pb_fail(PB_DATA, "'%s': checkpoint format %lld, this posbench reads format %d", path, format,
                       CHECKPOINT_FORMAT);
    }
    return PB_OK;
}

static PbStatus read_model_config(hid_t f, const char *path, ModelConfig *c) {
    hid_t g;
    PbStatus st = group_open(&g, f, "config", path);
    if (st) return st;
    *c = model_config_default();
    char fb[16] = "";
    st = read_int(g, "vocab", &c->vocab);
    if (!st) st = read_int(g, "context", &c->context);
    if (!st) st = read_int(g, "layers", &c->layers);
    if (!st) st = read_int(g, "dim", &c->dim);
    if (!st) st = read_int(g, "heads", &c->heads);
    if (!st) st = read_int(g, "tied", &c->tied);
    if (!st) st = read_float(g, "init_std", &c->init_std);
    /* Checkpoints from before embed_scale existed were trained with 1. */
    if (!st && H5Aexists(g, "embed_scale") > 0) st = read_float(g, "embed_scale", &c->embed_scale);
    if (!st) st = read_string(g, "fallback", fb, sizeof fb);
    if (!st) c->fallback = strcmp(fb, "clamp") == 0 ? LENGTH_FALLBACK_CLAMP : LENGTH_FALLBACK_ERROR;
    if (!st) st = read_string(g, "encoding", c->encoding, sizeof c->encoding);
    if (!st) st = read_string(g, "variant", c->variant, sizeof c->variant);
    if (!st) st = read_string(g, "settings", c->settings, sizeof c->settings);
    H5Gclose(g);
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", pb_errmsg());
        return pb_fail(PB_DATA, "'%s': config: %s", path, why);
    }
    return PB_OK;
}

static PbStatus read_data(hid_t f, const char *path, CheckpointData *d) {
    hid_t g;
    PbStatus st = group_open(&g, f, "data", path);
    if (st) return st;
    *d = (CheckpointData){0};
    int tok_vocab = 0;
    long long n_tokens = 0;
    char kind[16] = "";
    st = read_text(g, "data", d->data, sizeof d->data, 1);
    if (!st) st = read_string(g, "tokenizer", d->tokenizer, sizeof d->tokenizer);
    if (!st) st = read_int(g, "tokenizer_vocab", &tok_vocab);
    if (!st) st = read_string(g, "vocab", kind, sizeof kind);
    if (!st) st = h5_read_attr_int(g, "n_tokens", &n_tokens);
    if (!st) st = read_string(g, "ids_sha256", d->ids_sha256, sizeof d->ids_sha256);
    d->n_tokens = (size_t)n_tokens;
    if (!st && strcmp(kind, "compact") == 0) {
        int *known = NULL, rank = 0, dims[8] = {0};
        if (h5_exists(g, "known")) st = h5_read_ints(g, "known", &known, &rank, dims);
        if (!st) st = vocab_map_from_known(&d->vocab, tok_vocab, known, known ? dims[0] : 0);
        free(known);
    } else if (!st) {
        st = vocab_map_identity(&d->vocab, tok_vocab);
    }
    H5Gclose(g);
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", pb_errmsg());
        return pb_fail(PB_DATA, "'%s': data: %s", path, why);
    }
    return PB_OK;
}

static PbStatus read_train_config(hid_t g, TrainConfig *c) {
    *c = train_config_default();
    PbStatus st = read_long(g, "steps", &c->steps);
    if (!st) st = read_int(g, "batch", &c->batch);
    if (!st) st = read_int(g, "stride", &c->stride);
    if (!st) st = read_float(g, "lr", &c->lr);
    if (!st) st = read_float(g, "min_lr_ratio", &c->min_lr_ratio);
    if (!st) st = read_long(g, "warmup", &c->warmup);
    if (!st) st = read_float(g, "weight_decay", &c->weight_decay);
    if (!st) st = read_float(g, "beta1", &c->beta1);
    if (!st) st = read_float(g, "beta2", &c->beta2);
    if (!st) st = read_float(g, "eps", &c->eps);
    if (!st) st = read_float(g, "grad_clip", &c->grad_clip);
    if (!st) st = read_u64(g, "seed", &c->seed);
    if (!st) st = h5_read_attr_double(g, "val_fraction", &c->val_fraction);
    return st;
}

PbStatus checkpoint_read_config(const char *path, ModelConfig *mc, TrainConfig *tc, CheckpointData *d, long *step) {
    *d = (CheckpointData){0};
    hid_t f;
    PbStatus st = open_checkpoint(&f, path);
    if (st) return st;
    st = read_model_config(f, path, mc);
    if (!st) st = read_data(f, path, d);
    hid_t g = -1;
    if (!st) st = group_open(&g, f, "train", path);
    if (!st) st = read_train_config(g, tc);
    if (!st && step) st = read_long(g, "step", step);
    if (g >= 0) H5Gclose(g);
    H5Fclose(f);
    if (st) checkpoint_data_free(d);
    return st;
}

PbStatus checkpoint_restore(const char *path, Trainer *t) {
    hid_t f, g = -1, opt = -1;
    PbStatus st = open_checkpoint(&f, path);
    if (st) return st;
    Model *m = &t->model;
    ModelConfig mc;
    st = read_model_config(f, path, &mc);
    if (!st && (mc.vocab != m->cfg.vocab || mc.layers != m->cfg.layers || mc.dim != m->cfg.dim ||
                mc.heads != m->cfg.heads || mc.context != m->cfg.context || mc.tied != m->cfg.tied ||
                mc.embed_scale != m->cfg.embed_scale || strcmp(mc.encoding, m->cfg.encoding)))
        st = pb_fail(PB_DATA, "'%s' holds another model than the one being resumed", path);
    if (!st) st = read_tensors(f, "params", m, m->params, path);
    if (!st) st = group_open(&opt, f, "optimizer", path);
    if (!st) st = read_tensors(opt, "m", m, t->opt_m, path);
    if (!st) st = read_tensors(opt, "v", m, t->opt_v, path);
    if (!st) st = group_open(&g, f, "train", path);
    long step = 0, epoch = 0, next = 0;
    uint64_t rng_state = 0, rng_inc = 0;
    if (!st) st = read_long(g, "step", &step);
    if (!st) st = read_long(g, "epoch", &epoch);
    if (!st) st = read_long(g, "loader_next", &next);
    if (!st) st = read_u64(g, "loader_rng_state", &rng_state);
    if (!st) st = read_u64(g, "loader_rng_inc", &rng_inc);
    if (!st && (step < 0 || step > t->cfg.steps))
        st = pb_fail(PB_DATA, "'%s': %ld steps done, more than the %ld of the schedule", path, step, t->cfg.steps);
    if (!st && step > 0) {
        float *loss = NULL;
        int rank, dims[8];
        st = h5_read_floats(g, "loss", &loss, &rank, dims);
        if (!st && (rank != 1 || dims[0] != step))
            st = pb_fail(PB_DATA, "'%s': train/loss has %d entries for %ld steps", path, dims[0], step);
        if (!st) memcpy(t->loss_history, loss, (size_t)step * sizeof *loss);
        free(loss);
    }
    if (!st) {
        /* Replays the loader's permutations: its state is (seed, epochs, next). */
        for (long e = 0; e < epoch; e++) loader_rewind(&t->loader);
        if (next < 0 || (size_t)next > t->loader.n_windows)
            st = pb_fail(PB_DATA, "'%s': loader position %ld outside its %zu windows", path, next, t->loader.n_windows);
        else if (t->loader.rng.state != rng_state || t->loader.rng.inc != rng_inc)
            st = pb_fail(PB_DATA,
                         "'%s': the loader's random state does not replay (was the "
                         "data or --batch changed?)",
                         path);
        t->loader.next = (size_t)next;
        t->epoch = epoch;
        t->step = step;
    }
    if (g >= 0) H5Gclose(g);
    if (opt >= 0) H5Gclose(opt);
    H5Fclose(f);
    return st;
}

PbStatus checkpoint_load_model(const char *path, Model *m, CheckpointData *d) {
    *m = (Model){0};
    if (d) *d = (CheckpointData){0};
    hid_t f;
    PbStatus st = open_checkpoint(&f, path);
    if (st) return st;
    ModelConfig mc;
    CheckpointData local = {0};
    st = read_model_config(f, path, &mc);
    if (!st) st = read_data(f, path, d ? d : &local);
    if (!st && !d) checkpoint_data_free(&local);
    if (!st) st = model_create(m, &mc);
    if (!st) st = read_tensors(f, "params", m, m->params, path);
    if (st && m->params) model_free(m);
    if (st && d) checkpoint_data_free(d);
    H5Fclose(f);
    return st;
}
