/* train.h: training the probe transformer (harness/model/model.h).
 *
 * One step: the loader's next batch (shuffled windows of the training split),
 * forward, backward, global gradient clipping, AdamW with linear warmup and
 * cosine decay to min_lr_ratio * lr (harness/model/adamw.h), weight decay on
 * the tensors the model marks (matrices only).
 *
 * Split (fixed, documented): the last val_fraction (default 10%) of the
 * token stream is validation, the rest training. Training windows lie
 * wholly in the training split (inputs and targets); validation takes
 * non-overlapping windows of the context from the validation split, in
 * order, and reports the mean per-token loss over all of them.
 *
 * Determinism: the same data, config, seed and thread count give the same
 * bits (model.h); a resumed run continues bit for bit (checkpoint.h).
 */
#ifndef POSBENCH_TRAIN_H
#define POSBENCH_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "../../datasets/loader.h"
#include "../model/model.h"

typedef struct {
    long steps;         /* schedule length: optimizer steps in all */
    int batch;          /* B */
    int stride;         /* tokens between training windows; 0: the context */
    float lr;           /* peak learning rate */
    float min_lr_ratio; /* cosine floor, as a fraction of lr */
    long warmup;        /* steps of linear warmup; -1: min(100, steps / 10) */
    float weight_decay; /* on matrices only */
    float beta1, beta2, eps;
    float grad_clip;     /* global L2 norm; 0: off */
    uint64_t seed;       /* parameters (stream MODEL_INIT_STREAM) and window order */
    double val_fraction; /* tail of the token stream held out */
    /* Randomized positions (Ruoss et al. 2023): LMAX > 0 places each training
     * window's T tokens at a sorted sample of T distinct positions of
     * [0, LMAX) (rng_sorted_sample), drawn at step s from PCG32 (seed mixed
     * with s, stream TRAIN_POSITIONS_STREAM), so a resumed run draws the same;
     * the model's learned tables then hold LMAX rows (ModelConfig.positions).
     * Validation and evaluation use 0..T-1. 0: off. */
    int randomize_positions;
} TrainConfig;

#define TRAIN_POSITIONS_STREAM 0x706f73ULL /* "pos" */

/* Window b's positions at step `step` (0-based) under randomize_positions
 * LMAX: T sorted distinct values of [0, LMAX) into out[T]. */
void train_sample_positions(uint64_t seed, long step, int b, int T, int LMAX, int *out);

/* steps 1000, batch 8, lr 1e-3, min ratio 0.1, warmup auto, weight decay 0.1,
 * betas 0.9 0.95, eps 1e-8, clip 1.0, seed 0, val 0.1. */
TrainConfig train_config_default(void);

/* Tokens of a stream of n held out as validation (the tail), and kept. */
void train_split(size_t n, double val_fraction, size_t *n_train, size_t *n_val);

typedef struct {
    TrainConfig cfg;
    Model model;
    float *opt_m, *opt_v; /* AdamW moments [n_params] each, one allocation */
    float *opt_mem;
    Loader loader;
    long epoch;         /* loader epochs completed (rewinds) */
    const int32_t *ids; /* borrowed, model ids [n_train + n_val] */
    size_t n_train, n_val;
    int32_t *inputs, *targets; /* [B,T] */
    int *positions;            /* [B,T] with randomize_positions, else NULL */
    /* Optional: called on each training batch before the forward, to mark
     * targets MODEL_UNSCORED (a task's answer-only loss: tasks.h). NULL: all
     * targets scored. Not saved in checkpoints. */
    void (*mask_targets)(const int32_t *inputs, int32_t *targets, int rows, int T, int32_t unscored);
    long step;           /* steps done */
    float *loss_history; /* [cfg.steps] training loss of each step */
    float last_lr, last_norm;
    double train_seconds; /* wall time inside trainer_step, this session */
    long timed_steps;     /* steps taken this session */
    double warm_seconds;  /* of train_seconds, in the first TRAIN_WARM_STEPS */
    long warm_steps;
} Trainer;

/* Builds the model (mc) and its training state for ids[0..n) (model ids;
 * mc->vocab bounds them) and initialises the parameters from cfg->seed.
 * The ids stay borrowed for the trainer's life. */
PbStatus trainer_init(Trainer *t, const ModelConfig *mc, const TrainConfig *cfg, const int32_t *ids, size_t n);
void trainer_free(Trainer *t);

/* One optimizer step; *loss (may be NULL) is the batch's mean loss before
 * the step. A non-finite gradient norm stops with PB_DATA. */
PbStatus trainer_step(Trainer *t, float *loss);

/* Mean per-token loss over the validation split (max_windows > 0: only the
 * first max_windows windows). PB_DATA if the split holds no window.
 * Interrupt (core/interrupt.h): checked before each batch of windows; once
 * one is requested it returns PB_OK with *loss NaN. */
PbStatus trainer_validate(Trainer *t, long max_windows, double *loss);

/* Progress reporting: on a terminal one line rewritten in place (step, loss,
 * tokens/s, ETA) a few times a second; in a pipe a quiet line every `every`
 * steps (0: about every tenth of the run). out NULL: silent. */
typedef struct {
    FILE *out;
    int tty;
    long every;
    double t_last; /* internal: last terminal update */
} TrainProgress;

/* Steps until t->step == until (at most cfg.steps), reporting progress.
 * Returns PB_OK early, with t->step < until, when an interrupt was requested
 * (core/interrupt.h); checked before each step. */
PbStatus trainer_run(Trainer *t, long until, TrainProgress *progress);

/* A whole training run: its progress lines, its saves, its validation.
 * Saving is the caller's (a checkpoint file): this layer writes no files. */
typedef struct {
    TrainProgress progress;
    long save_every;  /* also save every N steps short of the last; 0: not along the way */
    long val_windows; /* trainer_validate's max_windows (0: all) */
    /* Optional (NULL: nothing saved): stores the state after t->step steps;
     * called along the way, at an interrupt, and at the end. */
    PbStatus (*save)(void *ctx, const Trainer *t);
    void *save_ctx;
} TrainSchedule;

/* Trains from t->step to cfg.steps (saving every save_every steps on the
 * way), takes the validation loss (*val_loss), and saves the final state.
 * Interrupt (core/interrupt.h; installing the handlers is the caller's): it
 * stops before the next step or validation batch, saves the step reached,
 * and returns PB_OK with *interrupted set and *val_loss NaN. */
PbStatus trainer_train(Trainer *t, TrainSchedule *s, double *val_loss, int *interrupted);

/* Training tokens per second of this session (steps x B x T over the time
 * inside trainer_step). */
double trainer_tokens_per_second(const Trainer *t);
/* The same after the session's first TRAIN_WARM_STEPS steps, which pay for
 * first-touch page faults and the thread team's start: the steady rate.
 * NaN when the session took no step past them. */
#define TRAIN_WARM_STEPS 5
double trainer_steady_tokens_per_second(const Trainer *t);

#endif
