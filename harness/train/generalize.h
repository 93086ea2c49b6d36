/* generalize.h: length generalization: train the probe transformer
 * (harness/train/train.h) with each encoding on windows of L tokens, evaluate it on
 * longer windows, and measure synthetic tasks (datasets/tasks.h).
 *
 * Corpus study, per encoding x seed:
 *   train   L tokens per window, the training split (train.h), seed s
 *   eval    at each T in eval_lens, on the validation split (the tail 10%):
 *           W = min(windows available, max(1, eval_tokens / T)) non-
 *           overlapping windows of T, each from position 0 (the ALiBi
 *           paper's default). loss = mean per-token cross-entropy (nats),
 *           ppl = exp(loss); loss_by_position[b] = mean loss of the positions
 *           p with p * bins / T == b. With a stride S (< T): sliding windows
 *           over the same tokens, S apart, each token scored once, by the
 *           first window that holds it at position >= T - S (the first
 *           window scores all its positions): loss_sliding, ppl_sliding.
 *   memory  eval_peak_bytes[T]: the most bytes held through pb_alloc_floats
 *           during evaluation at T, over what was held before (the eval
 *           workspace, linear in T: model.h)
 * An encoding that cannot place position T-1 (learned_absolute past its
 * table) gets NaN at that T and the encoding's own message as the reason. A
 * run whose loss or gradient turns non-finite is marked diverged (NaN
 * results for that seed) and the sweep goes on.
 *
 * Embedding scale: token embeddings are multiplied by sqrt(dim) before the
 * encoding adds its part (model.h, Vaswani et al. 2017) for every encoding
 * alike; with GPT-2's scale of 1, sinusoidal's fixed table (|pe| ~ 0.7)
 * drowns the N(0, 0.02) token embeddings and it barely trains in a short
 * run, which would make its length curve an artefact. Settable.
 *
 * Task study, per encoding x seed: train on a stream of examples, one per
 * window of L tokens (tasks.h), with the loss on answer tokens only
 * (task_mask_targets: the question is random, so scoring it only adds
 * noise); evaluate at each T with `task_examples` fresh examples of size
 * task_max_input(T): accuracy = fraction of examples whose every answer
 * token is the argmax of the model's prediction given the true prefix
 * (exactly greedy decoding's exact match), token_accuracy = fraction of
 * answer tokens right.
 *
 * Seeds: run k (0..seeds-1) uses seed base_seed + k for the parameters, the
 * window order, and (tasks) the training and test examples (separate PCG32
 * streams). Same config and thread count: the same numbers, bit for bit.
 */
#ifndef POSBENCH_GENERALIZE_H
#define POSBENCH_GENERALIZE_H

#include <stdint.h>
#include <stdio.h>

#include "../../core/status.h"
#include "../model/model.h"
#include "train.h"

#define GEN_MAX_ENCODINGS 32
#define GEN_MAX_LENS 16
#define GEN_NAME 64
/* 2: results keyed by canonical encoding spec, with encoding, variant and
 * settings attributes (1: by encoding name; still read). */
#define GEN_SCHEMA_VERSION 2
#define GEN_HOST 64

/* A study's key: an encoding spec's canonical form, or that followed by
 * GEN_RANDOMIZED ("rope+randpos"): the same encoding trained at randomized
 * positions (train.h) of [0, train.randomize_positions). */
#define GEN_RANDOMIZED "+randpos"

typedef struct {
    char encodings[GEN_MAX_ENCODINGS][GEN_NAME]; /* study keys */
    int n_encodings;
    char data[4096];    /* corpus name or path, or "task:<name>" */
    char tokenizer[16]; /* corpus: "bytes" | "gpt2" (compact vocabulary) */
    int train_len;      /* L */
    int n_lens, eval_lens[GEN_MAX_LENS];
    int stride; /* sliding-window stride; 0: non-overlapping only */
    int seeds;  /* runs per encoding */
    uint64_t base_seed;
    ModelConfig model; /* layers, dim, heads, tied, init_std (context := L) */
    int n_extend;      /* context extension (encoding.h): methods evaluated */
    ExtendMethod extend[EXTEND_COUNT];
    double extend_factor;        /* s; 0: T / L at each evaluation length */
    double beta_fast, beta_slow; /* yarn's (0: the paper's 32 and 1) */
    /* Fine-tune under each method (the PI and YaRN recipe, scaled down):
     * extend_finetune more steps at length extend_len, from the trained
     * weights; studies SPEC+METHOD+ft, and SPEC+none+ft (plain fine-tuning,
     * PI's control). 0: zero-shot only. */
    long extend_finetune;
    int extend_len;    /* T of the fine-tune (0: the longest evaluation length) */
    float extend_lr;   /* its peak learning rate (0: train.lr) */
    TrainConfig train; /* steps, batch, lr, ... (seed set per run);
                          randomize_positions: LMAX of the GEN_RANDOMIZED
                          keys (the others train at 0..L-1) */
    int bins;          /* loss_by_position bins */
    long eval_tokens;  /* corpus: tokens scored per eval length */
    int eval_batch;    /* windows per evaluation call */
    int task_examples; /* tasks: test examples per length */
    int task_blocks;   /* tasks: training examples in the stream */
    FILE *log;         /* progress (NULL: silent) */
    int tty;           /* log is a terminal: one line rewritten */
    const char *label; /* prefix of progress lines ("" ok) */
} GenConfig;

/* Defaults: all registered encodings, jargon, bytes, L 64, eval L..16L,
 * 3 seeds, layers 2, dim 64, heads 4, embed_scale sqrt(64), steps 300, batch 16, lr 3e-3, bins 32,
 * eval_tokens 32768, eval_batch 4, task_examples 128, task_blocks 4096. */
void gen_config_default(GenConfig *c);
/* A study key taken apart: its spec (checked against the registry) and
 * whether it trains at randomized positions. A derived key's spec is its
 * parent's. */
PbStatus gen_key_parse(const char *key, EncodingSpec *spec, int *randomized);
/* A derived key: "<parent>+<method>", the parent's trained model evaluated
 * under a context extension (not trained again), or "<parent>+<method>+ft",
 * that model fine-tuned under it (method may be none: plain fine-tuning). */
#define GEN_FINETUNED "+ft"
typedef struct {
    ExtendMethod method;
    int finetuned;
    char parent[GEN_NAME];
} GenDerived;
/* 1 and *d filled (d may be NULL) if key is derived, else 0. */
int gen_key_derived(const char *key, GenDerived *d);
int gen_key_is_derived(const char *key);
/* 1 if key is "<parent_key>+<method>". */
int gen_key_derived_from(const char *key, const char *parent_key);
/* A derived key's ramp [*pairs] (share of each frequency pair moved to
 * theta / s, encodings/extension.h) for the model of c at the longest
 * evaluation length (fine-tuned: at extend_len), into ramp[cap]. */
PbStatus gen_key_ramp(const GenConfig *c, const char *key, float *ramp, int cap, int *pairs);
/* Appends "<key>+<method>" for every extendable, trained key (not
 * +randpos) and each of c->extend[], and with extend_finetune also
 * "<key>+<method>+ft" and "<key>+none+ft"; PB_USAGE when no key can take
 * them. */
PbStatus gen_add_extensions(GenConfig *c);

/* 1 if c->data names a task ("task:<name>"); *task set. */
int gen_is_task(const GenConfig *c, int *task);

typedef struct {
    char name[GEN_NAME];
    float *train_loss;                /* [seeds, steps] (NaN past a divergence) */
    int *diverged;                    /* [seeds] */
    float *train_tps;                 /* [seeds] training tokens/s */
    float *train_tps_steady;          /* [seeds] the same after TRAIN_WARM_STEPS */
    float *loss, *ppl;                /* corpus [seeds, n] */
    float *loss_slide, *ppl_slide;    /* corpus, stride given: [seeds, n] */
    float *loss_by_pos;               /* corpus [seeds, n, bins] */
    double *peak_bytes;               /* corpus [n] (NaN where not applicable) */
    int *windows;                     /* corpus [n] windows evaluated */
    float *accuracy, *token_accuracy; /* task [seeds, n] */
    int *input_len;                   /* task [n] n of the test examples */
    char not_applicable[512];         /* why some lengths are NaN ("" if none) */
    char diverged_reason[512];
    int *measured;          /* [seeds] 1: that run finished (0 only when
                                 interrupted before it did) */
    int *rank;              /* [seeds] MPI rank that ran it (0 without MPI;
                                 -1 not measured) */
    char (*host)[GEN_HOST]; /* [seeds] host that ran it ("" not measured) */
} GenEncResult;

typedef struct {
    GenConfig cfg;
    int is_task, task;
    int vocab;
    size_t n_tokens;     /* corpus tokens (tasks: training stream) */
    char ids_sha256[65]; /* the data's identity, compared on resume:
                                 SHA-256 of the corpus's tokenizer ids
                                 (token_stream_sha256, as train's
                                 checkpoints); tasks: of the first run's
                                 training stream (seed base_seed) */
    GenEncResult *enc;   /* [n_encodings] */
    int complete;        /* every run measured (not interrupted) */
    int rank;            /* MPI rank of this process (0 without MPI):
                                 recorded with each run it measures */
    int32_t *ids;        /* internal: the token stream of the sweep */
} GenResults;

/* Runs the whole sweep: gen_prepare, then gen_sweep. Errors other than a
 * divergence or a length past an encoding's table stop it. */
PbStatus gen_run(const GenConfig *c, GenResults *r);

/* Loads the data and allocates the results (every run unmeasured, NaN).
 * Interrupt: a task's stream generation stops at once; r is then prepared
 * but its ids_sha256 is "", and the caller frees it rather than sweep. */
PbStatus gen_prepare(const GenConfig *c, GenResults *r);
/* Trains and evaluates every run (encoding x seed) not yet measured, in
 * sweep order. Interrupt (core/interrupt.h): stops at the next safe point
 * (between runs, training steps, task streams of 4096 examples, evaluation
 * batches of windows or examples, attention tiles and LM-head chunks of one
 * long window); the run in progress is dropped; returns PB_OK with
 * r->complete = 0. */
PbStatus gen_sweep(GenResults *r);
/* One run (cell): trains and evaluates encoding e with seed index s into r,
 * marks it measured with r->rank and this host, and logs its line. A
 * divergence is recorded, not an error. Interrupt: *cut = 1, the run is
 * dropped (left unmeasured), PB_OK. The unit of work of gen_sweep and of the
 * MPI sweep (harness/sweep/mpi_sweep.h). */
PbStatus gen_run_cell(GenResults *r, int e, int s, int *cut);
/* The progress line of a finished run: "NAME seed K: final train loss ...
 * (SECONDS s[, WHERE])" to r->cfg.log. */
void gen_log_cell(const GenResults *r, int e, int s, double seconds, const char *where);
/* This machine's host name (uname), truncated to cap. */
void gen_hostname(char *buf, size_t cap);
/* Runs measured, and in all (encodings x seeds). */
int gen_count_measured(const GenResults *r, int *total);
void gen_results_free(GenResults *r);

/* ---- statistics over seeds --------------------------------------------- */

/* mean and 95% confidence half-width (Student t, n-1 degrees of freedom)
 * of the finite values among x[0], x[stride], ... (n of them); *k: how many
 * were finite. half = 0 for k == 1, mean = NaN for k == 0. */
void gen_mean_ci(const float *x, int n, int stride, double *mean, double *half, int *k);
/* Two-sided 95% Student t quantile for df degrees of freedom. */
double gen_t975(int df);

#endif
