/* cmd_train.c: `posbench train`: trains the probe transformer with one
 * encoding on a corpus, reports progress, final train and validation loss
 * and tokens/s, and writes an HDF5 checkpoint (harness/results/checkpoint.h) from
 * which training resumes exactly (--resume) and a saved model can be
 * evaluated (checkpoint_load_model). The loop itself (steps, progress,
 * saves along the way, interrupt, validation) is trainer_train
 * (harness/train/train.h); this file gives it the checkpoint as its save
 * callback. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/safe_file.h"
#include "../../core/interrupt.h"
#include "../../datasets/corpus.h"
#include "../../datasets/token_stream.h"
#include "args.h"
#include "../results/blas_kernel.h"
#include "../results/checkpoint.h"
#include "commands.h"
#include "../bench/memstat.h"
#include "../train/train.h"

static const char *const tokenizer_names[] = {"gpt2", "bytes", NULL};
static const char *const vocab_names[] = {"compact", "full", NULL};
static const char *const fallback_names[] = {"error", "clamp", NULL};
static const char *const attention_names[] = {"auto", "stored", "tiled", NULL};

static void copy_str(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src ? src : ""); }

/* Loads the stream, checks it against a checkpoint's record if any, and
 * maps it to model ids. */
static PbStatus load_data(CheckpointData *d, IdBuf *ids, int32_t **model_ids, int vocab_full, double val_fraction,
                          int resuming) {
    TokenStreamInfo info;
    PbStatus st = token_stream_load(ids, d->data, d->tokenizer, &info);
    if (st) return st;
    char sha[65];
    token_stream_sha256(sha, ids->data, ids->len);
    if (resuming) {
        if (strcmp(sha, d->ids_sha256) || ids->len != d->n_tokens)
            return pb_fail(PB_DATA,
                           "the data '%s' (%zu tokens) is not the text the checkpoint was "
                           "trained on (%zu tokens, another SHA-256); resume needs the same data",
                           d->data, ids->len, d->n_tokens);
    } else {
        copy_str(d->ids_sha256, sizeof d->ids_sha256, sha);
        d->n_tokens = ids->len;
        size_t n_train, n_val;
        train_split(ids->len, val_fraction, &n_train, &n_val);
        st = vocab_full || strcmp(d->tokenizer, "gpt2")
                 ? vocab_map_identity(&d->vocab, info.vocab_size)
                 : vocab_map_build(&d->vocab, info.vocab_size, ids->data, n_train);
        if (st) return st;
    }
    *model_ids = pb_calloc(ids->len ? ids->len : 1, sizeof **model_ids, "the model's token ids");
    if (!*model_ids) return PB_NOMEM;
    return vocab_map_apply(&d->vocab, *model_ids, ids->data, ids->len, NULL);
}

/* The options; mc and tc hold the defaults until the options or a
 * checkpoint replace them. */
typedef struct {
    ModelConfig mc;
    TrainConfig tc;
    const char *encoding, *variant, *knobs, *data, *tok, *vocab, *fallback, *escale, *out, *resume, *attention;
    double lr, wd;
    int steps, warmup, untied, force, every, log_every, val_windows, g_steps, g_vocab;
    uint64_t seed;
} TrainArgs;

/* Settings --resume takes from the checkpoint: refused with it. */
#define FROM_CHECKPOINT .flags = ARG_NOT_WITH_RESUME

static PbStatus parse_args(TrainArgs *a, int argc, char **argv, int *help) {
    const ArgSpec options[] = {
        {"--encoding", NULL, ARG_STRING, &a->encoding, 0, 0, NULL, "E",
         "positional encoding (see posbench list); required", FROM_CHECKPOINT},
        {"--variant", NULL, ARG_STRING, &a->variant, 0, 0, NULL, "V", "the encoding's variant", FROM_CHECKPOINT},
        {"--set", NULL, ARG_STRING, &a->knobs, 0, 0, NULL, "K=V,...", "the encoding's settings", FROM_CHECKPOINT},
        {"--length-fallback", NULL, ARG_CHOICE, &a->fallback, 0, 0, fallback_names, "F",
         "past a position table: error (default) or clamp", FROM_CHECKPOINT},
        {"--data", NULL, ARG_STRING, &a->data, 0, 0, NULL, "jargon|devil|FILE", "training text (default jargon)",
         FROM_CHECKPOINT},
        {"--tokenizer", NULL, ARG_CHOICE, &a->tok, 0, 0, tokenizer_names, "NAME", "bytes (default) or gpt2",
         FROM_CHECKPOINT},
        {"--vocab", NULL, ARG_CHOICE, &a->vocab, 0, 0, vocab_names, "KIND",
         "gpt2 ids: compact (default: ids seen in training + unknown) or full", &a->g_vocab, FROM_CHECKPOINT},
        {"--context", NULL, ARG_INT, &a->mc.context, 1, 1 << 16, NULL, "T", "training length (default 128)",
         FROM_CHECKPOINT},
        {"--layers", NULL, ARG_INT, &a->mc.layers, 1, 64, NULL, "N", "transformer blocks (default 2)", FROM_CHECKPOINT},
        {"--dim", NULL, ARG_INT, &a->mc.dim, 1, 1 << 14, NULL, "C", "model width (default 128)", FROM_CHECKPOINT},
        {"--heads", NULL, ARG_INT, &a->mc.heads, 1, 256, NULL, "H", "attention heads, divide C (default 4)",
         FROM_CHECKPOINT},
        {"--untied", NULL, ARG_FLAG, &a->untied, 0, 0, NULL, NULL, "an LM head of its own (default: tied to wte)",
         FROM_CHECKPOINT},
        {"--embed-scale", NULL, ARG_STRING, &a->escale, 0, 0, NULL, "1|sqrt|X",
         "token embeddings times this before the encoding (default 1; sqrt: sqrt(C), Vaswani)", FROM_CHECKPOINT},
        {"--steps", NULL, ARG_INT, &a->steps, 1, 1 << 30, NULL, "N", "optimizer steps in all (default 1000)",
         &a->g_steps},
        {"--batch", NULL, ARG_INT, &a->tc.batch, 1, 1 << 16, NULL, "B", "windows per step (default 8)",
         FROM_CHECKPOINT},
        {"--lr", NULL, ARG_DOUBLE, &a->lr, 0, 0, NULL, "X", "peak learning rate (default 1e-3)",
         .flags = ARG_NOT_WITH_RESUME | ARG_ABOVE_LO, .lo = 0, .hi = ARG_UNBOUNDED},
        {"--warmup", NULL, ARG_INT, &a->warmup, 0, 1 << 30, NULL, "N", "warmup steps (default min(100, steps/10))",
         FROM_CHECKPOINT},
        {"--weight-decay", NULL, ARG_DOUBLE, &a->wd, 0, 0, NULL, "X", "AdamW decay of matrices (default 0.1)",
         FROM_CHECKPOINT, .lo = 0, .hi = ARG_UNBOUNDED},
        {"--seed", NULL, ARG_U64, &a->seed, 0, 0, NULL, "K", "parameters and window order (default 0)",
         FROM_CHECKPOINT},
        {"--randomize-positions", NULL, ARG_INT, &a->tc.randomize_positions, 1, 1 << 24, NULL, "LMAX",
         "each window at sorted random positions of [0, LMAX), Ruoss et al. 2023 (default: 0..T-1)", FROM_CHECKPOINT},
        {"--attention", NULL, ARG_CHOICE, &a->attention, 0, 0, attention_names, "PATH",
         "what training keeps for attention's backward: stored probabilities, or tiled (row statistics, "
         "memory linear in T); the same bits either way (default auto: by length)"},
        {"--output", "-o", ARG_STRING, &a->out, 0, 0, NULL, "FILE.h5", "checkpoint to write"},
        {"--force", NULL, ARG_FLAG, &a->force, 0, 0, NULL, NULL, "replace an existing checkpoint"},
        {"--resume", NULL, ARG_STRING, &a->resume, 0, 0, NULL, "FILE.h5",
         "continue a checkpoint exactly (in place unless -o)", .flags = ARG_RESUME},
        {"--checkpoint-every", NULL, ARG_INT, &a->every, 1, 1 << 30, NULL, "N", "also save every N steps"},
        {"--val-windows", NULL, ARG_INT, &a->val_windows, 1, 1 << 30, NULL, "N",
         "validate on the first N windows only (default all)"},
        {"--log-every", NULL, ARG_INT, &a->log_every, 1, 1 << 30, NULL, "N",
         "progress line every N steps when not on a terminal"},
        {NULL},
    };
    const ArgCommand cmd = {
        "train",
        "--encoding E [--variant V] [--set K=V] [--data jargon|devil|FILE] [--tokenizer gpt2|bytes] "
        "[--context T] [--layers N --dim C --heads H] [--steps N] [--batch B] [--lr X] [--seed K] "
        "[--randomize-positions LMAX] [-o CHECKPOINT.h5] [--force] [--resume CHECKPOINT.h5]",
        "Trains the probe transformer with one positional encoding; prints the final train and\n"
        "validation loss and tokens/s. The last 10% of the token stream is validation.",
        options,
        0,
        0,
        .resume_refusal = "--resume takes the model, data and optimizer settings from the checkpoint; "
                          "give only --steps, -o, --force, --checkpoint-every, --val-windows, --log-every, "
                          "--attention"};
    int npos;
    PbStatus st = args_parse(&cmd, argc, argv, NULL, &npos, help);
    if (!st && !*help) st = model_attention_parse(a->attention, &a->mc.attention);
    return st;
}

#undef FROM_CHECKPOINT

/* --resume: the configs and data from the checkpoint; only the schedule's
 * length may grow. */
static PbStatus configure_resume(TrainArgs *a, CheckpointData *d) {
    long done = 0;
    const ModelAttention attention = a->mc.attention; /* not the checkpoint's: it changes no bit */
    PbStatus st = checkpoint_read_config(a->resume, &a->mc, &a->tc, d, &done);
    if (st) return st;
    a->mc.attention = attention;
    if (a->g_steps) {
        if (a->steps < done)
            return pb_fail(PB_USAGE, "--steps %d: the checkpoint has done %ld steps already", a->steps, done);
        a->tc.steps = a->steps; /* a longer schedule: no longer the uninterrupted run's */
    }
    /* In place (no -o, or -o naming the checkpoint itself): replaced
     * through a temporary file and a rename, as generalize --resume does. */
    if (!a->out) a->out = a->resume;
    if (strcmp(a->out, a->resume) == 0) a->force = 1;
    return PB_OK;
}

/* A new run: the configs from the options. */
static PbStatus configure_new(TrainArgs *a, CheckpointData *d) {
    ModelConfig *mc = &a->mc;
    TrainConfig *tc = &a->tc;
    if (!a->encoding) return pb_fail(PB_USAGE, "train: choose an encoding with --encoding E (see posbench list)");
    if (!encoding_find(a->encoding)) return pb_fail(PB_USAGE, "unknown encoding '%s' (see posbench list)", a->encoding);
    if (mc->dim % mc->heads) return pb_fail(PB_USAGE, "--heads %d must divide --dim %d", mc->heads, mc->dim);
    PbStatus st;
    if (a->escale && (st = model_parse_embed_scale(a->escale, mc->dim, &mc->embed_scale))) return st;
    if (a->g_vocab && strcmp(a->tok, "gpt2"))
        return pb_fail(PB_USAGE, "--vocab applies to --tokenizer gpt2 only (bytes is 256 ids)");
    tc->lr = (float)a->lr;
    tc->weight_decay = (float)a->wd;
    tc->steps = a->steps;
    tc->warmup = a->warmup;
    tc->seed = a->seed;
    mc->tied = !a->untied;
    mc->fallback = strcmp(a->fallback, "clamp") == 0 ? LENGTH_FALLBACK_CLAMP : LENGTH_FALLBACK_ERROR;
    copy_str(mc->encoding, sizeof mc->encoding, a->encoding);
    copy_str(mc->variant, sizeof mc->variant, a->variant);
    copy_str(mc->settings, sizeof mc->settings, a->knobs);
    copy_str(d->data, sizeof d->data, a->data);
    copy_str(d->tokenizer, sizeof d->tokenizer, a->tok);
    return PB_OK;
}

/* What a run holds, freed together. */
typedef struct {
    CheckpointData d;
    IdBuf ids;
    int32_t *model_ids;
    Trainer t;
} TrainRun;

static void train_run_free(TrainRun *r) {
    trainer_free(&r->t);
    free(r->model_ids);
    idbuf_free(&r->ids);
    checkpoint_data_free(&r->d);
}

/* The data, the trainer (restored with --resume), and the opening line. */
static PbStatus prepare(TrainArgs *a, TrainRun *r) {
    const ModelConfig *mc = &a->mc;
    PbStatus st =
        load_data(&r->d, &r->ids, &r->model_ids, strcmp(a->vocab, "full") == 0, a->tc.val_fraction, a->resume != NULL);
    if (!st) {
        a->mc.vocab = vocab_map_size(&r->d.vocab);
        st = trainer_init(&r->t, mc, &a->tc, r->model_ids, r->ids.len);
    }
    if (!st && a->resume) st = checkpoint_restore(a->resume, &r->t);
    /* The final validation needs one window: say so before training, not after. */
    if (!st && r->t.n_val <= (size_t)mc->context)
        st = pb_fail(PB_DATA,
                     "validation split has %zu tokens, fewer than one window of %d + 1; "
                     "use a longer text or a shorter --context",
                     r->t.n_val, mc->context);
    if (st) return st;
    fprintf(stderr,
            "training %s%s%s: %d layers, dim %d, %d heads, context %d, vocab %d, "
            "%zu parameters; batch %d, %ld steps; %zu training and %zu validation tokens%s\n",
            mc->encoding, *mc->variant ? "/" : "", mc->variant, mc->layers, mc->dim, mc->heads, mc->context, mc->vocab,
            model_num_params(&r->t.model), a->tc.batch, a->tc.steps, r->t.n_train, r->t.n_val,
            a->resume ? " (resumed)" : "");
    char kernel[256];
    blas_kernel_describe(kernel, sizeof kernel);
    fprintf(stderr, "OpenBLAS kernel %s\n", kernel);
    fprintf(stderr, "attention: %s (--attention %s)\n",
            r->t.model.tiled ? "tiled, row statistics kept and probabilities recomputed in backward"
                             : "stored probabilities",
            model_attention_name(mc->attention));
    if (r->t.cfg.randomize_positions)
        fprintf(stderr, "randomized positions: each training window at sorted random positions of [0, %d)\n",
                r->t.cfg.randomize_positions);
    if (a->resume) fprintf(stderr, "resuming at step %ld\n", r->t.step);
    return PB_OK;
}

/* The checkpoint, through trainer_train's save callback. */
typedef struct {
    const char *path;
    int force;
    const CheckpointData *d;
} CheckpointSink;

static PbStatus save_checkpoint(void *ctx, const Trainer *t) {
    CheckpointSink *k = ctx;
    PbStatus st = checkpoint_save(k->path, k->force, t, k->d);
    if (!st) k->force = 1; /* our own file from now on */
    return st;
}

static void print_interrupted(const Trainer *t, const char *out) {
    if (out)
        fprintf(stderr,
                "posbench train: interrupted at step %ld of %ld; checkpoint in %s; continue "
                "with posbench train --resume %s\n",
                t->step, t->cfg.steps, out, out);
    else
        fprintf(stderr, "posbench train: interrupted at step %ld of %ld; nothing saved (no -o)\n", t->step,
                t->cfg.steps);
}

static PbStatus print_summary(const Trainer *t, double val, const char *out) {
    const ModelConfig *mc = &t->model.cfg;
    long n_tail = t->step >= 10 ? t->step / 10 : t->step;
    double tail = 0;
    for (long i = t->step - n_tail; i < t->step; i++) tail += t->loss_history[i];
    tail = n_tail ? tail / (double)n_tail : NAN;
    printf("encoding %s  steps %ld  train loss %.4f (last step; mean of last %ld: %.4f)  "
           "validation loss %.4f (perplexity %.2f)\n",
           mc->encoding, t->step, t->step ? t->loss_history[t->step - 1] : NAN, n_tail, tail, val, exp(val));
    printf("tokens/s %.0f  (%ld steps x %d x %d tokens in %.2f s)  peak RSS %.1f MiB\n", trainer_tokens_per_second(t),
           t->timed_steps, t->cfg.batch, mc->context, t->train_seconds, (double)rss_peak_bytes() / (1 << 20));
    const double steady = trainer_steady_tokens_per_second(t);
    if (isfinite(steady))
        printf("steady tokens/s %.0f  (steps %ld-%ld, after %ld warm-up steps taking %.2f s)\n", steady,
               t->warm_steps + 1, t->timed_steps, t->warm_steps, t->warm_seconds);
    else printf("steady tokens/s n/a  (no step past the first %d warm-up steps)\n", TRAIN_WARM_STEPS);
    if (out) printf("wrote %s\n", out);
    return finish_stdout();
}

PbStatus cmd_train(int argc, char **argv) {
    TrainArgs a = {.mc = model_config_default(),
                   .tc = train_config_default(),
                   .data = CORPUS_DEFAULT,
                   .tok = "bytes",
                   .vocab = "compact",
                   .fallback = "error",
                   .attention = "auto",
                   .warmup = -1};
    a.steps = (int)a.tc.steps;
    a.lr = a.tc.lr;
    a.wd = a.tc.weight_decay;
    int help;
    PbStatus st = parse_args(&a, argc, argv, &help);
    if (st || help) return st;

    TrainRun r = {0};
    st = a.resume ? configure_resume(&a, &r.d) : configure_new(&a, &r.d);
    if (!st && a.out) st = safe_target_check(a.out, a.force);
    if (!st) st = prepare(&a, &r);
    CheckpointSink sink = {a.out, a.force, &r.d};
    TrainSchedule schedule = {.progress = {.out = stderr, .tty = isatty(STDERR_FILENO), .every = a.log_every},
                              .save_every = a.every,
                              .val_windows = a.val_windows,
                              .save = a.out ? save_checkpoint : NULL,
                              .save_ctx = &sink};
    /* Ctrl-C (SIGINT/SIGTERM) stops at the next step (or the next batch of
     * the final validation); with -o the checkpoint of that step is saved,
     * so --resume continues exactly. */
    interrupt_install();
    double val = NAN;
    int interrupted = 0;
    if (!st) st = trainer_train(&r.t, &schedule, &val, &interrupted);
    if (!st && interrupted) {
        print_interrupted(&r.t, a.out);
        train_run_free(&r);
        interrupt_exit();
    }
    if (!st) st = print_summary(&r.t, val, a.out);
    train_run_free(&r);
    return st;
}
