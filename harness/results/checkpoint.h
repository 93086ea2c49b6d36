/* checkpoint.h: training checkpoints in HDF5, for exact resumption and for
 * evaluating a saved model later (checkpoint_load_model).
 *
 * Layout (format 1; h5py: f["params/wte"][:], f["config"].attrs["dim"]):
 *   /                 kind "posbench_checkpoint", format 1, provenance
 *   /config           attrs vocab context layers dim heads tied init_std
 *                     fallback ("error"|"clamp") encoding variant settings
 *   /params/<tensor>  every tensor of model.h with count > 0, shaped
 *   /optimizer/m/<tensor>, /optimizer/v/<tensor>   AdamW moments, shaped
 *   /train            attrs steps batch stride lr min_lr_ratio warmup
 *                     weight_decay beta1 beta2 eps grad_clip seed
 *                     val_fraction, step (done), epoch, loader_next,
 *                     loader_rng_state, loader_rng_inc (hex); dataset loss
 *                     [step] (each step's training loss)
 *   /data             attrs data (built-in name or path), tokenizer,
 *                     tokenizer_vocab, vocab ("compact"|"full"), n_tokens,
 *                     ids_sha256 (of the tokenizer ids, little-endian
 *                     int32); dataset known [n_known] (compact only: the
 *                     tokenizer id of each model id; the unknown id is last)
 *
 * Exact resume: parameters, moments and the step restore the optimizer; the
 * loader's order is rebuilt by replaying its permutations (seed, epochs) and
 * checked against the saved PCG32 state; the next window comes from
 * loader_next. The data are reloaded and checked against ids_sha256.
 * Written atomically (h5io.h): an interrupted save leaves the old file.
 */
#ifndef POSBENCH_CHECKPOINT_H
#define POSBENCH_CHECKPOINT_H

#include <stddef.h>

#include "../model/vocab_map.h"
#include "../train/train.h"

typedef struct {
    char data[4096];     /* built-in corpus name or file path */
    char tokenizer[16];  /* "gpt2" | "bytes" */
    char ids_sha256[65]; /* of the whole stream's tokenizer ids */
    size_t n_tokens;
    VocabMap vocab; /* owned */
} CheckpointData;

void checkpoint_data_free(CheckpointData *d);

/* Writes t (after t->step steps) and d to path; PB_EXISTS unless force. */
PbStatus checkpoint_save(const char *path, int force, const Trainer *t, const CheckpointData *d);

/* Reads the configs and the data description (d->vocab allocated). *step
 * (may be NULL): steps done. */
PbStatus checkpoint_read_config(const char *path, ModelConfig *mc, TrainConfig *tc, CheckpointData *d, long *step);

/* Restores parameters, moments, step, loss history and loader state into t,
 * built by trainer_init from checkpoint_read_config's configs on the same
 * data. */
PbStatus checkpoint_restore(const char *path, Trainer *t);

/* For evaluation: creates *m from the checkpoint's config and loads its
 * parameters (no training state). d may be NULL. */
PbStatus checkpoint_load_model(const char *path, Model *m, CheckpointData *d);

#endif
