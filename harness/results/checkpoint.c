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

/* ---- config fields ---------------------------------------------------------- */

/* A numeric setting of a config struct, stored as the attribute of its name.
 * Saving and loading walk the same table, so the two cannot drift apart; the
 * type is taken from the field itself (_Generic), so an entry cannot misread
 * it. */
typedef enum { FIELD_INT, FIELD_LONG, FIELD_FLOAT, FIELD_DOUBLE, FIELD_U64 } FieldType;

typedef struct {
    const char *name;
    FieldType type;
    size_t offset;
    int optional; /* absent in older checkpoints: the default stays */
} ConfigField;

// clang-format off
#define FIELD_TYPE(x) \
    _Generic((x), int: FIELD_INT, long: FIELD_LONG, float: FIELD_FLOAT, double: FIELD_DOUBLE, uint64_t: FIELD_U64)
#define CONFIG_FIELD(T, f, is_optional) {#f, FIELD_TYPE(((T *)0)->f), offsetof(T, f), is_optional}
// clang-format on

static const ConfigField MODEL_FIELDS[] = {
    CONFIG_FIELD(ModelConfig, vocab, 0),
    CONFIG_FIELD(ModelConfig, context, 0),
    CONFIG_FIELD(ModelConfig, layers, 0),
    CONFIG_FIELD(ModelConfig, dim, 0),
    CONFIG_FIELD(ModelConfig, heads, 0),
    CONFIG_FIELD(ModelConfig, tied, 0),
    CONFIG_FIELD(ModelConfig, init_std, 0),
    /* Checkpoints from before embed_scale existed were trained with 1. */
    CONFIG_FIELD(ModelConfig, embed_scale, 1),
    /* Checkpoints from before randomized positions: the context. */
    CONFIG_FIELD(ModelConfig, positions, 1),
};

static const ConfigField TRAIN_FIELDS[] = {
    CONFIG_FIELD(TrainConfig, steps, 0),        CONFIG_FIELD(TrainConfig, batch, 0),
    CONFIG_FIELD(TrainConfig, stride, 0),       CONFIG_FIELD(TrainConfig, lr, 0),
    CONFIG_FIELD(TrainConfig, min_lr_ratio, 0), CONFIG_FIELD(TrainConfig, warmup, 0),
    CONFIG_FIELD(TrainConfig, weight_decay, 0), CONFIG_FIELD(TrainConfig, beta1, 0),
    CONFIG_FIELD(TrainConfig, beta2, 0),        CONFIG_FIELD(TrainConfig, eps, 0),
    CONFIG_FIELD(TrainConfig, grad_clip, 0),    CONFIG_FIELD(TrainConfig, seed, 0),
    CONFIG_FIELD(TrainConfig, val_fraction, 0), CONFIG_FIELD(TrainConfig, randomize_positions, 1),
};

#define N_FIELDS(table) (sizeof(table) / sizeof(table)[0])

static PbStatus write_field(hid_t g, const ConfigField *fd, const void *config) {
    const char *p = (const char *)config + fd->offset;
    switch (fd->type) {
    case FIELD_INT: return h5_attr_int(g, fd->name, *(const int *)p);
    case FIELD_LONG: return h5_attr_int(g, fd->name, *(const long *)p);
    case FIELD_FLOAT: return h5_attr_double(g, fd->name, *(const float *)p);
    case FIELD_DOUBLE: return h5_attr_double(g, fd->name, *(const double *)p);
    case FIELD_U64: return attr_u64(g, fd->name, *(const uint64_t *)p);
    }
    return pb_fail(PB_IO, "attribute '%s' has no type", fd->name);
}

static PbStatus read_field(hid_t g, const ConfigField *fd, void *config) {
    char *p = (char *)config + fd->offset;
    if (fd->optional && H5Aexists(g, fd->name) <= 0) return PB_OK;
    switch (fd->type) {
    case FIELD_INT: return read_int(g, fd->name, (int *)p);
    case FIELD_LONG: return read_long(g, fd->name, (long *)p);
    case FIELD_FLOAT: return read_float(g, fd->name, (float *)p);
    case FIELD_DOUBLE: return h5_read_attr_double(g, fd->name, (double *)p);
    case FIELD_U64: return read_u64(g, fd->name, (uint64_t *)p);
    }
    return pb_fail(PB_DATA, "attribute '%s' has no type", fd->name);
}

static PbStatus write_fields(hid_t g, const ConfigField *fields, size_t n, const void *config) {
    PbStatus st = PB_OK;
    for (size_t i = 0; !st && i < n; i++) st = write_field(g, &fields[i], config);
    return st;
}

static PbStatus read_fields(hid_t g, const ConfigField *fields, size_t n, void *config) {
    PbStatus st = PB_OK;
    for (size_t i = 0; !st && i < n; i++) st = read_field(g, &fields[i], config);
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
    PbStatus st = write_fields(g, MODEL_FIELDS, N_FIELDS(MODEL_FIELDS), c);
    if (!st) st = h5_attr_string(g, "fallback", c->fallback == LENGTH_FALLBACK_CLAMP ? "clamp" : "error");
    if (!st) st = h5_attr_string(g, "encoding", c->encoding);
    if (!st) st = h5_attr_string(g, "variant", c->variant);
    if (!st) st = h5_attr_string(g, "settings", c->settings);
    H5Gclose(g);
    return st;
}

static PbStatus write_train(hid_t f, const Trainer *t) {
    hid_t g = group_create(f, "train");
    if (g < 0) return pb_fail(PB_IO, "cannot create group 'train'");
    PbStatus st = write_fields(g, TRAIN_FIELDS, N_FIELDS(TRAIN_FIELDS), &t->cfg);
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
    st = read_fields(g, MODEL_FIELDS, N_FIELDS(MODEL_FIELDS), c);
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
    return read_fields(g, TRAIN_FIELDS, N_FIELDS(TRAIN_FIELDS), c);
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

/* ---- restore ------------------------------------------------------------------- */

/* Where training stopped: steps done and the loader's position. */
typedef struct {
    long step, epoch, next;
    uint64_t rng_state, rng_inc;
} TrainState;

/* The saved model is the one being resumed: same shape and encoding. */
static int same_model(const ModelConfig *a, const ModelConfig *b) {
    return a->vocab == b->vocab && a->layers == b->layers && a->dim == b->dim && a->heads == b->heads &&
           a->context == b->context && a->tied == b->tied && a->embed_scale == b->embed_scale &&
           strcmp(a->encoding, b->encoding) == 0;
}

static PbStatus check_model(hid_t f, const char *path, const ModelConfig *resumed) {
    ModelConfig mc;
    PbStatus st = read_model_config(f, path, &mc);
    if (!st && !same_model(&mc, resumed))
        st = pb_fail(PB_DATA, "'%s' holds another model than the one being resumed", path);
    return st;
}

/* Parameters and AdamW moments. */
static PbStatus read_weights(hid_t f, const char *path, Trainer *t) {
    Model *m = &t->model;
    hid_t opt = -1;
    PbStatus st = read_tensors(f, "params", m, m->params, path);
    if (!st) st = group_open(&opt, f, "optimizer", path);
    if (!st) st = read_tensors(opt, "m", m, t->opt_m, path);
    if (!st) st = read_tensors(opt, "v", m, t->opt_v, path);
    if (opt >= 0) H5Gclose(opt);
    return st;
}

static PbStatus read_train_state(hid_t g, TrainState *s) {
    PbStatus st = read_long(g, "step", &s->step);
    if (!st) st = read_long(g, "epoch", &s->epoch);
    if (!st) st = read_long(g, "loader_next", &s->next);
    if (!st) st = read_u64(g, "loader_rng_state", &s->rng_state);
    if (!st) st = read_u64(g, "loader_rng_inc", &s->rng_inc);
    return st;
}

/* train/loss [step] into t->loss_history. */
static PbStatus read_loss_history(hid_t g, const char *path, Trainer *t, long step) {
    if (step <= 0) return PB_OK;
    float *loss = NULL;
    int rank, dims[8];
    PbStatus st = h5_read_floats(g, "loss", &loss, &rank, dims);
    if (!st && (rank != 1 || dims[0] != step))
        st = pb_fail(PB_DATA, "'%s': train/loss has %d entries for %ld steps", path, dims[0], step);
    if (!st) memcpy(t->loss_history, loss, (size_t)step * sizeof *loss);
    free(loss);
    return st;
}

/* Replays the loader's permutations: its state is (seed, epochs, next). */
static PbStatus restore_loader(const char *path, Trainer *t, const TrainState *s) {
    PbStatus st = PB_OK;
    for (long e = 0; e < s->epoch; e++) loader_rewind(&t->loader);
    if (s->next < 0 || (size_t)s->next > t->loader.n_windows)
        st = pb_fail(PB_DATA, "'%s': loader position %ld outside its %zu windows", path, s->next, t->loader.n_windows);
    else if (t->loader.rng.state != s->rng_state || t->loader.rng.inc != s->rng_inc)
        st = pb_fail(PB_DATA,
                     "'%s': the loader's random state does not replay (was the "
                     "data or --batch changed?)",
                     path);
    t->loader.next = (size_t)s->next;
    t->epoch = s->epoch;
    t->step = s->step;
    return st;
}

/* The step, loss history and loader position from /train. */
static PbStatus restore_progress(hid_t f, const char *path, Trainer *t) {
    hid_t g = -1;
    TrainState s = {0};
    PbStatus st = group_open(&g, f, "train", path);
    if (!st) st = read_train_state(g, &s);
    if (!st && (s.step < 0 || s.step > t->cfg.steps))
        st = pb_fail(PB_DATA, "'%s': %ld steps done, more than the %ld of the schedule", path, s.step, t->cfg.steps);
    if (!st) st = read_loss_history(g, path, t, s.step);
    if (!st) st = restore_loader(path, t, &s);
    if (g >= 0) H5Gclose(g);
    return st;
}

PbStatus checkpoint_restore(const char *path, Trainer *t) {
    hid_t f;
    PbStatus st = open_checkpoint(&f, path);
    if (st) return st;
    st = check_model(f, path, &t->model.cfg);
    if (!st) st = read_weights(f, path, t);
    if (!st) st = restore_progress(f, path, t);
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
