/* train.c: the training loop (see train.h). */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/alloc.h"
#include "../../core/interrupt.h"
#include "../../datasets/token_stream.h"
#include "../model/adamw.h"

TrainConfig train_config_default(void) {
    return (TrainConfig){.steps = 1000,
                         .batch = 8,
                         .lr = 1e-3f,
                         .min_lr_ratio = 0.1f,
                         .warmup = -1,
                         .weight_decay = 0.1f,
                         .beta1 = 0.9f,
                         .beta2 = 0.95f,
                         .eps = 1e-8f,
                         .grad_clip = 1.0f,
                         .seed = 0,
                         .val_fraction = 0.1};
}

void train_split(size_t n, double val_fraction, size_t *n_train, size_t *n_val) {
    size_t v = (size_t)((double)n * val_fraction);
    if (v > n) v = n;
    *n_val = v;
    *n_train = n - v;
}

static long warmup_steps(const TrainConfig *c) {
    if (c->warmup >= 0) return c->warmup;
    long w = c->steps / 10;
    return w < 100 ? w : 100;
}

void train_sample_positions(uint64_t seed, long step, int b, int T, int LMAX, int *out) {
    /* One stream per (step, window): a resumed run needs no saved state. */
    const uint64_t mix = ((uint64_t)step * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)b * 0xC2B2AE3D27D4EB4FULL);
    Rng r;
    rng_seed(&r, seed ^ mix, TRAIN_POSITIONS_STREAM);
    rng_sorted_sample(&r, T, LMAX, out);
}

/* The model's config under cfg: learned tables of LMAX rows when positions
 * are randomized. */
static PbStatus model_config_for(const ModelConfig *mc, const TrainConfig *cfg, ModelConfig *out) {
    *out = *mc;
    const int lmax = cfg->randomize_positions;
    if (!lmax) return PB_OK;
    if (lmax < mc->context)
        return pb_fail(PB_RANGE,
                       "train: --randomize-positions %d is shorter than the context %d: a window of %d tokens "
                       "needs that many distinct positions",
                       lmax, mc->context, mc->context);
    if (mc->positions && mc->positions != lmax)
        return pb_fail(PB_USAGE, "train: the model reaches positions 0..%d, but --randomize-positions asks for %d",
                       mc->positions - 1, lmax);
    out->positions = lmax;
    return PB_OK;
}

PbStatus trainer_init(Trainer *t, const ModelConfig *mc_in, const TrainConfig *cfg, const int32_t *ids, size_t n) {
    *t = (Trainer){.cfg = *cfg, .ids = ids};
    if (cfg->steps < 1) return pb_fail(PB_RANGE, "train: --steps %ld must be positive", cfg->steps);
    if (cfg->randomize_positions < 0)
        return pb_fail(PB_RANGE, "train: --randomize-positions %d must be positive (or 0: off)",
                       cfg->randomize_positions);
    ModelConfig mc_local;
    PbStatus st = model_config_for(mc_in, cfg, &mc_local);
    if (st) return st;
    const ModelConfig *mc = &mc_local;
    if (!(cfg->lr > 0 && isfinite(cfg->lr)))
        return pb_fail(PB_RANGE, "train: learning rate %g must be positive", cfg->lr);
    if (!(cfg->val_fraction >= 0 && cfg->val_fraction < 1))
        return pb_fail(PB_RANGE, "train: validation fraction %g outside [0, 1)", cfg->val_fraction);
    train_split(n, cfg->val_fraction, &t->n_train, &t->n_val);
    const int T = mc->context, B = cfg->batch;
    LoaderConfig lc = {.batch = B,
                       .context = T,
                       .stride = cfg->stride > 0 ? cfg->stride : T,
                       .shuffle = 1,
                       .seed = cfg->seed,
                       .drop_last = 1};
    st = loader_init(&t->loader, ids, t->n_train, lc);
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", pb_errmsg());
        return pb_fail(st, "training split (%zu of %zu tokens): %s", t->n_train, n, why);
    }
    st = model_create(&t->model, mc);
    if (!st) st = model_alloc_train(&t->model, B, T);
    if (st) return trainer_free(t), st;
    model_init_params(&t->model, cfg->seed);
    const size_t np = t->model.n_params;
    t->opt_mem = pb_alloc_floats(2 * np, "the optimizer state");
    t->inputs = pb_calloc((size_t)B * T, sizeof *t->inputs, "a batch");
    t->targets = pb_calloc((size_t)B * T, sizeof *t->targets, "a batch");
    t->loss_history = pb_calloc((size_t)cfg->steps, sizeof *t->loss_history, "the loss history");
    if (cfg->randomize_positions) t->positions = pb_calloc((size_t)B * T, sizeof *t->positions, "the positions");
    if (!t->opt_mem || !t->inputs || !t->targets || !t->loss_history || (cfg->randomize_positions && !t->positions))
        return trainer_free(t), PB_NOMEM;
    t->opt_m = t->opt_mem;
    t->opt_v = t->opt_mem + np;
    return PB_OK;
}

void trainer_free(Trainer *t) {
    model_free(&t->model);
    pb_free_large(t->opt_mem);
    loader_free(&t->loader);
    free(t->inputs);
    free(t->targets);
    free(t->loss_history);
    free(t->positions);
    *t = (Trainer){0};
}

PbStatus trainer_step(Trainer *t, float *loss) {
    const TrainConfig *c = &t->cfg;
    Model *m = &t->model;
    if (t->step >= c->steps) return pb_fail(PB_USAGE, "train: all %ld steps are done", c->steps);
    double t0 = now_seconds();
    int rows = loader_next(&t->loader, t->inputs, t->targets);
    if (!rows) {
        loader_rewind(&t->loader);
        t->epoch++;
        rows = loader_next(&t->loader, t->inputs, t->targets);
    }
    if (t->mask_targets) t->mask_targets(t->inputs, t->targets, rows, m->cfg.context, MODEL_UNSCORED);
    const int T = m->cfg.context;
    Positions pos = positions_from(0);
    if (t->positions) {
        for (int b = 0; b < rows; b++)
            train_sample_positions(c->seed, t->step, b, T, c->randomize_positions, t->positions + (size_t)b * T);
        pos.map = t->positions;
    }
    PbStatus st = model_forward_at(m, t->inputs, t->targets, rows, T, pos);
    if (st) return st;
    model_zero_grad(m);
    if ((st = model_backward(m))) return st;
    float norm = adamw_clip_grad_norm(m->grads, m->n_params, c->grad_clip);
    if (!isfinite(norm))
        return pb_fail(PB_DATA,
                       "train: the gradient is not finite at step %ld (loss %g); "
                       "try a smaller --lr",
                       t->step + 1, m->loss);
    float lr = adamw_lr_cosine(t->step, warmup_steps(c), c->steps, c->lr, c->min_lr_ratio);
    AdamWConfig ac = {lr, c->beta1, c->beta2, c->eps, c->weight_decay};
    for (int i = 0; i < MODEL_N_TENSORS && !st; i++) {
        const ModelTensor *tt = &m->tensors[i];
        if (!tt->count) continue;
        st = adamw_update(m->params + tt->offset, t->opt_m + tt->offset, t->opt_v + tt->offset, m->grads + tt->offset,
                          tt->count, &ac, t->step + 1, tt->decay);
    }
    if (st) return st;
    encoding_project(&m->enc);
    t->loss_history[t->step] = (float)m->loss;
    t->step++;
    t->last_lr = lr;
    t->last_norm = norm;
    const double dt = now_seconds() - t0;
    t->train_seconds += dt;
    if (t->timed_steps++ < TRAIN_WARM_STEPS) t->warm_seconds += dt, t->warm_steps++;
    if (loss) *loss = (float)m->loss;
    return PB_OK;
}

PbStatus trainer_validate(Trainer *t, long max_windows, double *loss) {
    Model *m = &t->model;
    const int T = m->cfg.context, B = t->cfg.batch;
    const int32_t *val = t->ids + t->n_train;
    long windows = t->n_val > (size_t)T ? (long)((t->n_val - 1) / (size_t)T) : 0;
    if (max_windows > 0 && windows > max_windows) windows = max_windows;
    if (windows == 0)
        return pb_fail(PB_DATA,
                       "validation split has %zu tokens, fewer than one window of "
                       "%d + 1; use a longer text or a shorter --context",
                       t->n_val, T);
    double sum = 0.0;
    size_t scored = 0;
    for (long w0 = 0; w0 < windows; w0 += B) {
        if (interrupt_requested()) { /* a safe point: the caller sees the flag */
            *loss = NAN;
            return PB_OK;
        }
        int rows = windows - w0 < B ? (int)(windows - w0) : B;
        for (int r = 0; r < rows; r++) {
            const int32_t *src = val + (size_t)(w0 + r) * T;
            memcpy(t->inputs + (size_t)r * T, src, (size_t)T * sizeof *src);
            memcpy(t->targets + (size_t)r * T, src + 1, (size_t)T * sizeof *src);
        }
        if (t->mask_targets) t->mask_targets(t->inputs, t->targets, rows, T, MODEL_UNSCORED);
        PbStatus st = model_forward(m, t->inputs, t->targets, rows, T, 0);
        if (st) return st;
        for (size_t i = 0; i < (size_t)rows * T; i++)
            if (t->targets[i] != MODEL_UNSCORED) sum += m->a.losses[i];
        scored += m->n_scored;
    }
    *loss = scored ? sum / (double)scored : 0.0;
    return PB_OK;
}

double trainer_tokens_per_second(const Trainer *t) {
    if (t->train_seconds <= 0) return 0;
    return (double)t->timed_steps * t->cfg.batch * t->model.cfg.context / t->train_seconds;
}

double trainer_steady_tokens_per_second(const Trainer *t) {
    const double seconds = t->train_seconds - t->warm_seconds;
    const long steps = t->timed_steps - t->warm_steps;
    if (steps < 1 || seconds <= 0) return NAN;
    return (double)steps * t->cfg.batch * t->model.cfg.context / seconds;
}

static void format_duration(char *buf, size_t cap, double s) {
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, cap, "?");
        return;
    }
    long x = (long)(s + 0.5);
    if (x >= 3600) snprintf(buf, cap, "%ldh%02ldm", x / 3600, x / 60 % 60);
    else if (x >= 60) snprintf(buf, cap, "%ldm%02lds", x / 60, x % 60);
    else snprintf(buf, cap, "%lds", x);
}

static void report(Trainer *t, TrainProgress *p, float loss, int final) {
    if (!p || !p->out) return;
    const long steps = t->cfg.steps;
    const double tps = trainer_tokens_per_second(t);
    const double per_step = t->timed_steps ? t->train_seconds / (double)t->timed_steps : 0;
    char eta[32];
    format_duration(eta, sizeof eta, per_step * (double)(steps - t->step));
    if (p->tty) {
        double now = now_seconds();
        if (!final && now - p->t_last < 0.25) return;
        p->t_last = now;
        fprintf(p->out, "\r\033[Kstep %ld/%ld  loss %.4f  %.0f tok/s  lr %.2e  ETA %s", t->step, steps, loss, tps,
                t->last_lr, eta);
        if (final) fputc('\n', p->out);
        fflush(p->out);
        return;
    }
    long every = p->every > 0 ? p->every : (steps >= 10 ? steps / 10 : 1);
    if (!final && t->step % every) return;
    fprintf(p->out, "step %ld/%ld loss %.4f tokens/s %.0f lr %.3e grad_norm %.3f eta %s\n", t->step, steps, loss, tps,
            t->last_lr, t->last_norm, eta);
    fflush(p->out);
}

PbStatus trainer_run(Trainer *t, long until, TrainProgress *progress) {
    if (until > t->cfg.steps) until = t->cfg.steps;
    float loss = 0;
    while (t->step < until) {
        /* A safe point: the caller sees t->step < until and decides. */
        if (interrupt_requested()) {
            if (progress && progress->out && progress->tty) fputc('\n', progress->out);
            return PB_OK;
        }
        PbStatus st = trainer_step(t, &loss);
        if (st) {
            if (progress && progress->out && progress->tty) fputc('\n', progress->out);
            return st;
        }
        report(t, progress, loss, t->step == until);
    }
    return PB_OK;
}

PbStatus trainer_train(Trainer *t, TrainSchedule *s, double *val_loss, int *interrupted) {
    const long steps = t->cfg.steps, every = s->save_every;
    PbStatus st = PB_OK;
    *val_loss = NAN;
    *interrupted = 0;
    while (!st && t->step < steps && !interrupt_requested()) {
        st = trainer_run(t, every ? (t->step / every + 1) * every : steps, &s->progress);
        if (!st && s->save && every && t->step < steps) st = s->save(s->save_ctx, t);
    }
    /* The validation polls too (a large corpus's tail is many windows); cut
     * there, the saved state holds every step and a resume validates. */
    if (!st && !interrupt_requested()) st = trainer_validate(t, s->val_windows, val_loss);
    if (st) return st;
    *interrupted = interrupt_requested() != 0;
    if (*interrupted) *val_loss = NAN;
    return s->save ? s->save(s->save_ctx, t) : PB_OK;
}
