/* gen_h5_config.c: the configuration table of a study group (gen_h5_config.h). */
#include "gen_h5_config.h"

#include <stdio.h>

#include "../../datasets/tasks.h"

static void item_s(ConfigTable *t, const char *name, const char *v) {
    t->item[t->n++] = (ConfigItem){name, 's', v, 0, 0};
}
static void item_i(ConfigTable *t, const char *name, long long v) {
    t->item[t->n++] = (ConfigItem){name, 'i', NULL, v, 0};
}
static void item_d(ConfigTable *t, const char *name, double v) {
    t->item[t->n++] = (ConfigItem){name, 'd', NULL, 0, v};
}

/* The encodings, seed values and evaluation lengths as comma-separated text. */
static void join_lists(ConfigTable *t, const GenConfig *c) {
    size_t n = 0;
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
}

static void model_and_training_items(ConfigTable *t, const GenConfig *c) {
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
}

static void task_items(ConfigTable *t, const GenResults *r) {
    item_s(t, "task", task_name((TaskKind)r->task));
    item_i(t, "examples_per_length", r->cfg.task_examples);
    item_i(t, "training_examples", r->cfg.task_blocks);
    item_s(t, "format",
           "'^' input '=' answer '$', '.' padding; "
           "loss on answer tokens only (the question is random); accuracy: exact match "
           "of all answer tokens (argmax given the true prefix)");
}

/* The context extensions: written only when used, as randomize_positions. */
static void extend_items(ConfigTable *t, const GenConfig *c) {
    size_t n = 0;
    t->methods[0] = 0;
    for (int k = 0; k < c->n_extend; k++)
        n += snprintf(t->methods + n, sizeof t->methods - n, "%s%s", k ? "," : "", extend_method_name(c->extend[k]));
    item_s(t, "extend", t->methods);
    item_d(t, "extend_factor", c->extend_factor);
    item_d(t, "beta_fast", c->beta_fast > 0 ? c->beta_fast : 32);
    item_d(t, "beta_slow", c->beta_slow > 0 ? c->beta_slow : 1);
    if (c->extend_finetune <= 0) return;
    item_i(t, "extend_finetune", c->extend_finetune);
    item_i(t, "extend_len", c->extend_len);
    item_d(t, "extend_lr", c->extend_lr > 0 ? c->extend_lr : c->train.lr);
}

static void corpus_items(ConfigTable *t, const GenConfig *c) {
    item_d(t, "val_fraction", c->train.val_fraction);
    item_i(t, "bins", c->bins);
    item_i(t, "eval_tokens", c->eval_tokens);
    item_i(t, "stride", c->stride);
    item_s(t, "eval_mode", c->stride > 0 ? "non-overlapping; sliding (stride) in *_sliding" : "non-overlapping");
}

void gen_h5_config_table(ConfigTable *t, const GenResults *r) {
    const GenConfig *c = &r->cfg;
    t->n = 0;
    join_lists(t, c);
    item_s(t, "encodings", t->list);
    item_s(t, "data", c->data);
    item_s(t, "tokenizer", r->is_task ? "bytes" : c->tokenizer);
    item_s(t, "ids_sha256", r->ids_sha256);
    item_i(t, "vocab", r->vocab);
    item_i(t, "n_tokens", (long long)r->n_tokens);
    item_i(t, "train_len", c->train_len);
    item_s(t, "eval_lens", t->lens);
    model_and_training_items(t, c);
    item_i(t, "eval_batch", c->eval_batch);
    /* Written only when used: files from before it resume as they were. */
    if (c->train.randomize_positions) item_i(t, "randomize_positions", c->train.randomize_positions);
    if (c->n_extend) extend_items(t, c);
    item_i(t, "seeds", c->seeds);
    item_s(t, "seed_values", t->seeds);
    if (r->is_task) task_items(t, r);
    else corpus_items(t, c);
}
