/* cmd_train.c: `posbench train`: trains the probe transformer with one
 * encoding on a corpus, reports progress, final train and validation loss
 * and tokens/s, and writes an HDF5 checkpoint (harness/results/checkpoint.h) from
 * which training resumes exactly (--resume) and a saved model can be
 * evaluated (checkpoint_load_model). */
#define _DEFAULT_SOURCE /* setenv */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/safe_file.h"
#include "../../core/interrupt.h"
#include "../../datasets/corpus.h"
#include "../../datasets/token_stream.h"
#include "args.h"
#include "../results/checkpoint.h"
#include "commands.h"
#include "../bench/memstat.h"
#include "../train/train.h"

static const char *const tokenizer_names[] = {"gpt2", "bytes", NULL};
static const char *const vocab_names[] = {"compact", "full", NULL};
static const char *const fallback_names[] = {"error", "clamp", NULL};

static PbStatus parse_positive(const char *opt, const char *text, float *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (!*text || *end || errno || !isfinite(v) || v <= 0)
        return pb_fail(PB_USAGE, "%s: '%s' is not a positive number", opt, text);
    *out = (float)v;
    return PB_OK;
}

static PbStatus parse_nonneg(const char *opt, const char *text, float *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (!*text || *end || errno || !isfinite(v) || v < 0)
        return pb_fail(PB_USAGE, "%s: '%s' is not a number >= 0", opt, text);
    *out = (float)v;
    return PB_OK;
}

static void copy_str(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src ? src : ""); }

/* Loads the stream, checks it against a checkpoint's record if any, and
 * maps it to model ids. */
static PbStatus load_data(CheckpointData *d, IdBuf *ids, int32_t **model_ids, int vocab_full,
                          double val_fraction, int resuming) {
    TokenStreamInfo info;
    PbStatus st = token_stream_load(ids, d->data, d->tokenizer, &info);
    if (st) return st;
    char sha[65];
    token_stream_sha256(sha, ids->data, ids->len);
    if (resuming) {
        if (strcmp(sha, d->ids_sha256) || ids->len != d->n_tokens)
            return pb_fail(PB_DATA, "the data '%s' (%zu tokens) is not the text the checkpoint was "
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

static PbStatus save(const char *path, int force, const Trainer *t, const CheckpointData *d) {
    return checkpoint_save(path, force, t, d);
}

PbStatus cmd_train(int argc, char **argv) {
    ModelConfig mc = model_config_default();
    TrainConfig tc = train_config_default();
    const char *encoding = NULL, *variant = NULL, *knobs = NULL, *data = CORPUS_DEFAULT;
    const char *tok = "bytes", *vocab = "compact", *fallback = "error", *lr = NULL;
    const char *wd = NULL, *out = NULL, *resume = NULL, *escale = NULL;
    int steps = (int)tc.steps, warmup = -1, untied = 0, force = 0, every = 0, log_every = 0;
    int val_windows = 0;
    uint64_t seed = 0;
    int g_enc = 0, g_var = 0, g_set = 0, g_data = 0, g_tok = 0, g_ctx = 0, g_lay = 0, g_dim = 0,
        g_heads = 0, g_steps = 0, g_batch = 0, g_lr = 0, g_seed = 0, g_vocab = 0, g_untied = 0,
        g_warm = 0, g_wd = 0, g_fb = 0, g_escale = 0;
    const ArgSpec options[] = {
        {"--encoding", NULL, ARG_STRING, &encoding, 0, 0, NULL, "E", "positional encoding (see posbench list); required", &g_enc},
        {"--variant", NULL, ARG_STRING, &variant, 0, 0, NULL, "V", "the encoding's variant", &g_var},
        {"--set", NULL, ARG_STRING, &knobs, 0, 0, NULL, "K=V,...", "the encoding's settings", &g_set},
        {"--length-fallback", NULL, ARG_CHOICE, &fallback, 0, 0, fallback_names, "F", "past a position table: error (default) or clamp", &g_fb},
        {"--data", NULL, ARG_STRING, &data, 0, 0, NULL, "jargon|devil|FILE", "training text (default jargon)", &g_data},
        {"--tokenizer", NULL, ARG_CHOICE, &tok, 0, 0, tokenizer_names, "NAME", "bytes (default) or gpt2", &g_tok},
        {"--vocab", NULL, ARG_CHOICE, &vocab, 0, 0, vocab_names, "KIND", "gpt2 ids: compact (default: ids seen in training + unknown) or full", &g_vocab},
        {"--context", NULL, ARG_INT, &mc.context, 1, 1 << 16, NULL, "T", "training length (default 128)", &g_ctx},
        {"--layers", NULL, ARG_INT, &mc.layers, 1, 64, NULL, "N", "transformer blocks (default 2)", &g_lay},
        {"--dim", NULL, ARG_INT, &mc.dim, 1, 1 << 14, NULL, "C", "model width (default 128)", &g_dim},
        {"--heads", NULL, ARG_INT, &mc.heads, 1, 256, NULL, "H", "attention heads, divide C (default 4)", &g_heads},
        {"--untied", NULL, ARG_FLAG, &untied, 0, 0, NULL, NULL, "an LM head of its own (default: tied to wte)", &g_untied},
        {"--embed-scale", NULL, ARG_STRING, &escale, 0, 0, NULL, "1|sqrt|X", "token embeddings times this before the encoding (default 1; sqrt: sqrt(C), Vaswani)", &g_escale},
        {"--steps", NULL, ARG_INT, &steps, 1, 1 << 30, NULL, "N", "optimizer steps in all (default 1000)", &g_steps},
        {"--batch", NULL, ARG_INT, &tc.batch, 1, 1 << 16, NULL, "B", "windows per step (default 8)", &g_batch},
        {"--lr", NULL, ARG_STRING, &lr, 0, 0, NULL, "X", "peak learning rate (default 1e-3)", &g_lr},
        {"--warmup", NULL, ARG_INT, &warmup, 0, 1 << 30, NULL, "N", "warmup steps (default min(100, steps/10))", &g_warm},
        {"--weight-decay", NULL, ARG_STRING, &wd, 0, 0, NULL, "X", "AdamW decay of matrices (default 0.1)", &g_wd},
        {"--seed", NULL, ARG_U64, &seed, 0, 0, NULL, "K", "parameters and window order (default 0)", &g_seed},
        {"--output", "-o", ARG_STRING, &out, 0, 0, NULL, "FILE.h5", "checkpoint to write"},
        {"--force", NULL, ARG_FLAG, &force, 0, 0, NULL, NULL, "replace an existing checkpoint"},
        {"--resume", NULL, ARG_STRING, &resume, 0, 0, NULL, "FILE.h5", "continue a checkpoint exactly (in place unless -o)"},
        {"--checkpoint-every", NULL, ARG_INT, &every, 1, 1 << 30, NULL, "N", "also save every N steps"},
        {"--val-windows", NULL, ARG_INT, &val_windows, 1, 1 << 30, NULL, "N", "validate on the first N windows only (default all)"},
        {"--log-every", NULL, ARG_INT, &log_every, 1, 1 << 30, NULL, "N", "progress line every N steps when not on a terminal"},
        {NULL},
    };
    const ArgCommand cmd = {
        "train",
        "--encoding E [--variant V] [--set K=V] [--data jargon|devil|FILE] [--tokenizer gpt2|bytes] "
        "[--context T] [--layers N --dim C --heads H] [--steps N] [--batch B] [--lr X] [--seed K] "
        "[-o CHECKPOINT.h5] [--force] [--resume CHECKPOINT.h5]",
        "Trains the probe transformer with one positional encoding; prints the final train and\n"
        "validation loss and tokens/s. The last 10% of the token stream is validation.",
        options, 0, 0};
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, NULL, &npos, &help);
    if (st) return st;
    if (help) return args_print_help(&cmd, stdout), PB_OK;

    CheckpointData d = {0};
    long done = 0;
    if (resume) {
        if (g_enc || g_var || g_set || g_data || g_tok || g_ctx || g_lay || g_dim || g_heads ||
            g_batch || g_lr || g_seed || g_vocab || g_untied || g_warm || g_wd || g_fb || g_escale)
            return pb_fail(PB_USAGE, "--resume takes the model, data and optimizer settings from "
                           "the checkpoint; give only --steps, -o, --force, --checkpoint-every");
        if ((st = checkpoint_read_config(resume, &mc, &tc, &d, &done))) return st;
        if (g_steps) {
            if (steps < done)
                return checkpoint_data_free(&d),
                       pb_fail(PB_USAGE, "--steps %d: the checkpoint has done %ld steps already",
                               steps, done);
            tc.steps = steps; /* a longer schedule: no longer the uninterrupted run's */
        }
        /* In place (no -o, or -o naming the checkpoint itself): replaced
         * through a temporary file and a rename, as generalize --resume does. */
        if (!out) out = resume;
        if (strcmp(out, resume) == 0) force = 1;
    } else {
        if (!encoding) return pb_fail(PB_USAGE, "train: choose an encoding with --encoding E (see posbench list)");
        if (!encoding_find(encoding))
            return pb_fail(PB_USAGE, "unknown encoding '%s' (see posbench list)", encoding);
        if (mc.dim % mc.heads)
            return pb_fail(PB_USAGE, "--heads %d must divide --dim %d", mc.heads, mc.dim);
        if (lr && (st = parse_positive("--lr", lr, &tc.lr))) return st;
        if (wd && (st = parse_nonneg("--weight-decay", wd, &tc.weight_decay))) return st;
        if (escale && (st = model_parse_embed_scale(escale, mc.dim, &mc.embed_scale))) return st;
        if (g_vocab && strcmp(tok, "gpt2"))
            return pb_fail(PB_USAGE, "--vocab applies to --tokenizer gpt2 only (bytes is 256 ids)");
        tc.steps = steps;
        tc.warmup = warmup;
        tc.seed = seed;
        mc.tied = !untied;
        mc.fallback = strcmp(fallback, "clamp") == 0 ? LENGTH_FALLBACK_CLAMP : LENGTH_FALLBACK_ERROR;
        copy_str(mc.encoding, sizeof mc.encoding, encoding);
        copy_str(mc.variant, sizeof mc.variant, variant);
        copy_str(mc.settings, sizeof mc.settings, knobs);
        copy_str(d.data, sizeof d.data, data);
        copy_str(d.tokenizer, sizeof d.tokenizer, tok);
    }
    if (out && (st = safe_target_check(out, force))) return checkpoint_data_free(&d), st;

    IdBuf ids = {0};
    int32_t *model_ids = NULL;
    Trainer t = {0};
    st = load_data(&d, &ids, &model_ids, strcmp(vocab, "full") == 0, tc.val_fraction, resume != NULL);
    if (!st) {
        mc.vocab = vocab_map_size(&d.vocab);
        st = trainer_init(&t, &mc, &tc, model_ids, ids.len);
    }
    if (!st && resume) st = checkpoint_restore(resume, &t);
    /* The final validation needs one window: say so before training, not after. */
    if (!st && t.n_val <= (size_t)mc.context)
        st = pb_fail(PB_DATA, "validation split has %zu tokens, fewer than one window of %d + 1; "
                     "use a longer text or a shorter --context", t.n_val, mc.context);
    if (!st) {
        fprintf(stderr, "training %s%s%s: %d layers, dim %d, %d heads, context %d, vocab %d, "
                "%zu parameters; batch %d, %ld steps; %zu training and %zu validation tokens%s\n",
                mc.encoding, *mc.variant ? "/" : "", mc.variant, mc.layers, mc.dim, mc.heads,
                mc.context, mc.vocab, model_num_params(&t.model), tc.batch, tc.steps, t.n_train,
                t.n_val, resume ? " (resumed)" : "");
        if (resume) fprintf(stderr, "resuming at step %ld\n", t.step);
    }
    TrainProgress progress = {.out = stderr, .tty = isatty(STDERR_FILENO), .every = log_every};
    /* Ctrl-C (SIGINT/SIGTERM) stops at the next step (or the next batch of
     * the final validation); with -o the checkpoint of that step is saved,
     * so --resume continues exactly. */
    interrupt_install();
    while (!st && t.step < tc.steps && !interrupt_requested()) {
        long until = every ? (t.step / every + 1) * every : tc.steps;
        st = trainer_run(&t, until, &progress);
        if (!st && out && every && t.step < tc.steps) st = save(out, 1, &t, &d), force = 1;
    }
    /* The final validation polls too (a large corpus's tail is many windows);
     * cut there, the checkpoint holds every step and a resume validates. */
    double val = NAN;
    if (!st && !interrupt_requested()) st = trainer_validate(&t, val_windows, &val);
    if (!st && interrupt_requested()) {
        if (out) st = save(out, force, &t, &d);
        if (!st && out)
            fprintf(stderr, "posbench train: interrupted at step %ld of %ld; checkpoint in %s; continue "
                    "with posbench train --resume %s\n", t.step, tc.steps, out, out);
        else if (!st)
            fprintf(stderr, "posbench train: interrupted at step %ld of %ld; nothing saved (no -o)\n",
                    t.step, tc.steps);
        trainer_free(&t);
        free(model_ids);
        idbuf_free(&ids);
        checkpoint_data_free(&d);
        if (!st) interrupt_exit();
        return st;
    }
    if (!st && out) st = save(out, force, &t, &d);
    if (!st) {
        long n_tail = t.step >= 10 ? t.step / 10 : t.step;
        double tail = 0;
        for (long i = t.step - n_tail; i < t.step; i++) tail += t.loss_history[i];
        tail = n_tail ? tail / (double)n_tail : NAN;
        printf("encoding %s  steps %ld  train loss %.4f (last step; mean of last %ld: %.4f)  "
               "validation loss %.4f (perplexity %.2f)\n",
               mc.encoding, t.step, t.step ? t.loss_history[t.step - 1] : NAN, n_tail, tail, val,
               exp(val));
        printf("tokens/s %.0f  (%ld steps x %d x %d tokens in %.2f s)  peak RSS %.1f MiB\n",
               trainer_tokens_per_second(&t), t.timed_steps, tc.batch, mc.context, t.train_seconds,
               (double)rss_peak_bytes() / (1 << 20));
        if (out) printf("wrote %s\n", out);
        st = finish_stdout();
    }
    trainer_free(&t);
    free(model_ids);
    idbuf_free(&ids);
    checkpoint_data_free(&d);
    return st;
}
