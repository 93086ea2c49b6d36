/* cmd_generalize.c: `posbench generalize`: train each encoding at one length
 * and evaluate it at longer ones (harness/train/generalize.h), into HDF5 (kind
 * "generalize"), then print the tables.
 *
 * Interrupt (SIGINT, SIGTERM; core/interrupt.h): the runs (encoding x seed)
 * finished so far go to the output file with the root attribute
 * complete = 0; `--resume FILE` (same options) runs the others and rewrites
 * FILE complete, with the numbers an uninterrupted sweep gives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/safe_file.h"
#include "../../core/interrupt.h"
#include "../../datasets/tasks.h"
#include "args.h"
#include "commands.h"
#include "../train/generalize.h"
#include "../results/h5io.h"
#include "../sweep/mpi_sweep.h"
#include "../results/gen_h5.h"
#include "../report/show.h"
#include "gen_options.h"
#include "../report/kinds.h"

static const char *const tokenizer_names[] = {"bytes", "gpt2", NULL};

PbStatus gen_parse_int_list(const char *opt, const char *text, int *out, int cap, int *n) {
    *n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > (1 << 20) || (*end && *end != ','))
            return pb_fail(PB_USAGE, "%s: '%s' is not a list of positive whole numbers (e.g. 64,128,256)", opt, text);
        if (*n >= cap) return pb_fail(PB_USAGE, "%s: at most %d values", opt, cap);
        out[(*n)++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (!*n) return pb_fail(PB_USAGE, "%s: give at least one value", opt);
    return PB_OK;
}

PbStatus gen_parse_encodings(const char *text, GenConfig *c) {
    c->n_encodings = 0;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (c->n_encodings >= GEN_MAX_ENCODINGS) return pb_fail(PB_USAGE, "--encodings: at most %d", GEN_MAX_ENCODINGS);
        EncodingSpec spec;
        int randomized;
        if (gen_key_is_derived(tok))
            return pb_fail(PB_USAGE, "--encodings: '%s' is a context extension of a trained model; give --extend %s",
                           tok, strrchr(tok, '+') + 1);
        PbStatus st = gen_key_parse(tok, &spec, &randomized);
        if (st) return st;
        char key[GEN_NAME + 16];
        snprintf(key, sizeof key, "%s%s", spec.canonical, randomized ? GEN_RANDOMIZED : "");
        if (strlen(key) >= GEN_NAME) return pb_fail(PB_USAGE, "--encodings: '%s' is too long a key", tok);
        /* Each key is one group in the results file: a repeat (in any
         * spelling) would train twice and then fail to write. */
        for (int i = 0; i < c->n_encodings; i++)
            if (strcmp(c->encodings[i], key) == 0)
                return pb_fail(PB_USAGE, "--encodings: '%s'%s%s%s is named twice (use --seeds for more runs)", tok,
                               strcmp(tok, key) ? " (that is '" : "", strcmp(tok, key) ? key : "",
                               strcmp(tok, key) ? "')" : "");
        snprintf(c->encodings[c->n_encodings++], GEN_NAME, "%s", key);
    }
    if (!c->n_encodings) return pb_fail(PB_USAGE, "--encodings: name at least one encoding (see posbench list)");
    return PB_OK;
}

PbStatus gen_parse_extend(const char *text, GenConfig *c) {
    c->n_extend = 0;
    if (strcmp(text, "all") == 0) text = "pi,ntk,dynamic-ntk,yarn,llama3";
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        ExtendMethod m;
        PbStatus st = extend_method_parse(tok, &m);
        if (st) return st;
        if (m == EXTEND_NONE) continue; /* the trained model is the baseline already */
        for (int k = 0; k < c->n_extend; k++)
            if (c->extend[k] == m) return pb_fail(PB_USAGE, "--extend: '%s' is named twice", tok);
        c->extend[c->n_extend++] = m;
    }
    if (!c->n_extend) return pb_fail(PB_USAGE, "--extend: name a method (pi, ntk, dynamic-ntk, yarn, llama3 or all)");
    return PB_OK;
}

PbStatus gen_randomize_all(GenConfig *c) {
    for (int i = 0; i < c->n_encodings; i++)
        if (strstr(c->encodings[i], GEN_RANDOMIZED)) return PB_OK; /* the keys say which */
    for (int i = 0; i < c->n_encodings; i++) {
        EncodingSpec spec;
        int randomized;
        if (gen_key_parse(c->encodings[i], &spec, &randomized) || !encoding_reads_positions(spec.module)) continue;
        if (strlen(c->encodings[i]) + strlen(GEN_RANDOMIZED) >= GEN_NAME)
            return pb_fail(PB_USAGE, "--encodings: '%s' is too long a key", c->encodings[i]);
        strcat(c->encodings[i], GEN_RANDOMIZED);
    }
    return PB_OK;
}

/* Default eval lengths: L, 2L, 4L, 8L, 16L (corpus) or L, 2L, 3L, 4L (tasks). */
void gen_default_lens(GenConfig *c) {
    int task = gen_is_task(c, NULL);
    c->n_lens = task ? 4 : 5;
    for (int i = 0; i < c->n_lens; i++) c->eval_lens[i] = task ? c->train_len * (i + 1) : c->train_len << i;
}

PbStatus gen_default_extend_len(GenConfig *c) {
    if (c->extend_finetune <= 0) return PB_OK;
    if (gen_is_task(c, NULL))
        return pb_fail(PB_USAGE, "--extend-finetune: corpus studies only (a task's examples are fixed to L)");
    if (!c->extend_len) c->extend_len = c->eval_lens[c->n_lens - 1];
    if (c->extend_len <= c->train_len)
        return pb_fail(PB_USAGE, "--extend-len %d: the fine-tune's length must exceed the training length %d",
                       c->extend_len, c->train_len);
    return PB_OK;
}

void gen_default_output(char *buf, size_t cap, const char *prefix) {
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime(&now));
    snprintf(buf, cap, "results/%s-%s.h5", prefix, stamp);
}

/* The results file through the usual temporary-file-and-rename path. */
static PbStatus write_results(const char *out, int force, const GenResults *r) {
    H5Out file;
    PbStatus st = h5out_create(&file, out, force);
    if (st) return st;
    st = h5_write_provenance(file.file);
    if (!st) st = h5_attr_string(file.file, "kind", "generalize");
    if (!st) st = h5_attr_int(file.file, "schema_version", GEN_SCHEMA_VERSION);
    if (!st) st = h5_attr_int(file.file, "complete", r->complete);
    if (!st) st = gen_h5_write(file.file, r);
    if (!st) st = h5out_commit(&file);
    else h5out_abort(&file);
    return st;
}

static PbStatus show_results(const char *out) {
    hid_t f;
    PbStatus st = h5in_open(&f, out);
    if (st) return st;
    st = gen_show(f, out, stdout);
    H5Fclose(f);
    if (!st) printf("wrote %s (plots: posbench plot %s)\n", out, out);
    return st ? st : finish_stdout();
}

/* MPI: rank 0 rewrites the file (complete = 0) after every merged run. */
typedef struct {
    const char *out;
    int force;
    GenResults *r;
} Checkpoint;

static PbStatus checkpoint(void *ctx) {
    Checkpoint *k = ctx;
    const int complete = k->r->complete;
    k->r->complete = 0;
    PbStatus st = write_results(k->out, k->force, k->r);
    k->r->complete = complete;
    if (!st) k->force = 1; /* our own file from now on */
    return st;
}

/* The sweep across MPI ranks; rank 0 writes the file and reports. */
static PbStatus sweep_mpi(GenResults *r, const char *out, int force) {
    const int worker = pbmpi_rank() > 0;
    Checkpoint k = {out, force, r};
    PbmpiReport rep;
    PbStatus st = worker ? PB_OK : checkpoint(&k); /* a job that dies early still leaves a resumable file */
    GenResults *studies[1] = {r};
    if (!st) st = pbmpi_sweep(studies, 1, worker ? NULL : checkpoint, &k, &rep);
    /* Cut short (Ctrl-C, or mpirun ending the job after a rank died): every
     * merged run is on disk already, and mpirun sends SIGKILL one second
     * after SIGTERM (odls_base_sigkill_timeout), so report at once rather
     * than rewrite the file first. */
    const int cut = !st && !worker && !r->complete && interrupt_requested();
    if (!st && !worker && !cut) st = write_results(out, k.force, r);
    int total, kept = gen_count_measured(r, &total);
    const int complete = r->complete;
    gen_results_free(r);
    if (st || worker) return st;
    if (rep.failed)
        return pb_fail(rep.first_status,
                       "%d run(s) failed: %s; the other %d of %d runs are in %s (complete = 0); "
                       "continue with --resume %s",
                       rep.failed, rep.failures, kept, total, out, out);
    if (!complete) {
        fprintf(stderr, "posbench generalize: interrupted: %d of %d runs kept in %s%s%s; continue with --resume %s\n",
                kept, total, out, *rep.in_flight ? "; not finished: " : "", rep.in_flight, out);
        interrupt_exit();
    }
    return show_results(out);
}

/* The options; c holds the defaults until configure applies the rest. */
typedef struct {
    GenConfig c;
    const char *encodings, *data, *tok, *lens, *out, *escale, *resume, *extend;
    double lr, extend_lr;
    int steps, force, quiet, finetune;
    uint64_t seed;
} GenArgs;

static PbStatus parse_args(GenArgs *a, int argc, char **argv, int *help) {
    GenConfig *c = &a->c;
    const ArgSpec options[] = {
        {"--encodings", NULL, ARG_STRING, &a->encodings, 0, 0, NULL, "A,B,...",
         "encoding specs to compare, NAME[:VARIANT][@KNOB=V]... (rope:half@base=500000; default: every "
         "registered encoding)"},
        {"--data", NULL, ARG_STRING, &a->data, 0, 0, NULL, "jargon|devil|FILE|task:T",
         "corpus, or a synthetic task: task:copy, task:reverse, task:sort, task:add (default jargon)"},
        {"--tokenizer", NULL, ARG_CHOICE, &a->tok, 0, 0, tokenizer_names, "NAME",
         "corpus tokenizer: bytes (default) or gpt2"},
        {"--train-len", NULL, ARG_INT, &c->train_len, 4, 1 << 16, NULL, "L", "training length (default 64)"},
        {"--eval-lens", NULL, ARG_STRING, &a->lens, 0, 0, NULL, "T,T,...",
         "evaluation lengths (default L,2L,4L,8L,16L; tasks L,2L,3L,4L)"},
        {"--stride", NULL, ARG_INT, &c->stride, 1, 1 << 20, NULL, "S",
         "also evaluate with sliding windows S apart (default: non-overlapping only)"},
        {"--steps", NULL, ARG_INT, &a->steps, 1, 1 << 30, NULL, "N", "optimizer steps per run (default 300)"},
        {"--seeds", NULL, ARG_INT, &c->seeds, 1, 100, NULL, "K", "runs per encoding (default 3)"},
        {"--seed", NULL, ARG_U64, &a->seed, 0, 0, NULL, "S", "first seed (runs use S, S+1, ...; default 0)"},
        {"--extend", NULL, ARG_STRING, &a->extend, 0, 0, NULL, "M,M,...",
         "evaluate each rope study's trained model also under these context extensions: pi, ntk, "
         "dynamic-ntk, yarn, llama3 (or all); studies SPEC+METHOD"},
        {"--extend-factor", NULL, ARG_DOUBLE, &c->extend_factor, 0, 0, NULL, "S",
         "the static extensions' scale factor (default T/L at each length; dynamic-ntk: l/L per pass)", .lo = 1,
         .hi = ARG_UNBOUNDED},
        {"--extend-finetune", NULL, ARG_INT, &a->finetune, 1, 1 << 30, NULL, "N",
         "also fine-tune each extended model N steps at --extend-len under its method (studies "
         "SPEC+METHOD+ft; SPEC+none+ft: plain fine-tuning)"},
        {"--extend-len", NULL, ARG_INT, &c->extend_len, 4, 1 << 16, NULL, "T",
         "the fine-tune's length (default the longest evaluation length)"},
        {"--extend-lr", NULL, ARG_DOUBLE, &a->extend_lr, 0, 0, NULL, "X",
         "the fine-tune's peak learning rate (default --lr)", .flags = ARG_ABOVE_LO, .lo = 0, .hi = ARG_UNBOUNDED},
        {"--beta-fast", NULL, ARG_DOUBLE, &c->beta_fast, 0, 0, NULL, "X", "yarn: rotations over L kept (default 32)",
         .flags = ARG_ABOVE_LO, .lo = 0, .hi = ARG_UNBOUNDED},
        {"--beta-slow", NULL, ARG_DOUBLE, &c->beta_slow, 0, 0, NULL, "X",
         "yarn: rotations over L interpolated (default 1)", .flags = ARG_ABOVE_LO, .lo = 0, .hi = ARG_UNBOUNDED},
        {"--randomize-positions", NULL, ARG_INT, &c->train.randomize_positions, 1, 1 << 24, NULL, "LMAX",
         "train at sorted random positions of [0, LMAX) (Ruoss et al. 2023): keys NAME+randpos, or every "
         "encoding that reads positions"},
        {"--layers", NULL, ARG_INT, &c->model.layers, 1, 64, NULL, "N", "transformer blocks (default 2)"},
        {"--dim", NULL, ARG_INT, &c->model.dim, 1, 1 << 14, NULL, "C", "model width (default 64)"},
        {"--heads", NULL, ARG_INT, &c->model.heads, 1, 256, NULL, "H", "attention heads, divide C (default 4)"},
        {"--embed-scale", NULL, ARG_STRING, &a->escale, 0, 0, NULL, "1|sqrt|X",
         "token embeddings times this before the encoding (default sqrt: sqrt(C), Vaswani; 1: GPT-2)"},
        {"--batch", NULL, ARG_INT, &c->train.batch, 1, 1 << 16, NULL, "B", "windows per step (default 16)"},
        {"--lr", NULL, ARG_DOUBLE, &a->lr, 0, 0, NULL, "X", "peak learning rate (default 3e-3)", .flags = ARG_ABOVE_LO,
         .lo = 0, .hi = ARG_UNBOUNDED},
        {"--bins", NULL, ARG_INT, &c->bins, 1, 4096, NULL, "N", "loss-by-position bins per window (default 32)"},
        {"--eval-tokens", NULL, ARG_INT, &c->eval_tokens, 1, 1 << 30, NULL, "N",
         "tokens scored per evaluation length (default 32768)"},
        {"--examples", NULL, ARG_INT, &c->task_examples, 1, 1 << 20, NULL, "N",
         "tasks: test examples per length (default 128)"},
        {"--output", "-o", ARG_STRING, &a->out, 0, 0, NULL, "FILE.h5",
         "results file (default results/generalize-<UTC time>.h5)"},
        {"--force", NULL, ARG_FLAG, &a->force, 0, 0, NULL, NULL, "replace an existing results file"},
        {"--quiet", NULL, ARG_FLAG, &a->quiet, 0, 0, NULL, NULL, "no progress lines"},
        {"--resume", NULL, ARG_STRING, &a->resume, 0, 0, NULL, "FILE.h5",
         "finish an interrupted sweep (same options): run what FILE lacks, rewrite FILE (or -o)"},
        {NULL},
    };
    const ArgCommand cmd = {
        "generalize",
        "[--encodings A,B] [--data jargon|devil|FILE|task:copy|task:reverse|task:sort|task:add] "
        "[--train-len L] [--eval-lens T,...] [--stride S] [--steps N] [--seeds K] [--layers N --dim C --heads H] "
        "[--randomize-positions LMAX] [--extend METHODS [--extend-factor S] [--extend-finetune N [--extend-len T]]] "
        "[-o FILE.h5] [--force] "
        "[--resume FILE.h5]",
        "Trains the probe transformer with each encoding on windows of L tokens and evaluates it on\n"
        "longer ones (per-token loss, perplexity, loss by position, evaluation memory), or measures\n"
        "exact-match accuracy on a synthetic task; several seeds each; writes HDF5 and prints the\n"
        "mean and 95% confidence interval per length.",
        options,
        0,
        0};
    int npos;
    PbStatus st = args_parse(&cmd, argc, argv, NULL, &npos, help);
    return st;
}

/* The options into the sweep's configuration. */
static PbStatus configure(GenArgs *a) {
    GenConfig *c = &a->c;
    PbStatus st;
    if (a->encodings && (st = gen_parse_encodings(a->encodings, c))) return st;
    if (c->train.randomize_positions && (st = gen_randomize_all(c))) return st;
    c->extend_finetune = a->finetune;
    c->extend_lr = (float)a->extend_lr;
    if ((a->finetune || c->extend_len || a->extend_lr > 0) && !a->extend)
        return pb_fail(PB_USAGE, "--extend-finetune, --extend-len and --extend-lr go with --extend METHODS");
    if (c->extend_len && !a->finetune)
        return pb_fail(PB_USAGE, "--extend-len is the fine-tune's length: give --extend-finetune N too");
    if (a->extend && ((st = gen_parse_extend(a->extend, c)) || (st = gen_add_extensions(c)))) return st;
    if ((st = model_parse_embed_scale(a->escale, c->model.dim, &c->model.embed_scale))) return st;
    if (a->data) snprintf(c->data, sizeof c->data, "%s", a->data);
    snprintf(c->tokenizer, sizeof c->tokenizer, "%s", a->tok);
    int task;
    if (gen_is_task(c, &task) && task < 0)
        return pb_fail(PB_USAGE, "--data %s: unknown task (tasks: %s)", c->data, task_names_list());
    if (a->lens && (st = gen_parse_int_list("--eval-lens", a->lens, c->eval_lens, GEN_MAX_LENS, &c->n_lens))) return st;
    if (!a->lens) gen_default_lens(c);
    if ((st = gen_default_extend_len(c))) return st;
    c->train.lr = (float)a->lr;
    c->train.steps = a->steps;
    c->base_seed = a->seed;
    return PB_OK;
}

/* The output: -o, else --resume's file (replaced: what it asks for), else a
 * time-stamped name in buf. */
static void choose_output(GenArgs *a, char *buf, size_t cap) {
    if (!a->out && a->resume) a->out = a->resume;
    if (a->resume && strcmp(a->out, a->resume) == 0) a->force = 1;
    if (!a->out) gen_default_output(buf, cap, "generalize"), a->out = buf;
}

/* --resume: the runs the file kept go into r. *done: the file is complete
 * already (said on stdout; nothing to run). */
static PbStatus read_resume(const char *path, FILE *log, GenResults *r, int *done) {
    hid_t f;
    const ResultKind *kind;
    long long complete = 1;
    PbStatus st = result_open(&f, &kind, path);
    if (st) return st;
    if (strcmp(kind->kind, "generalize") != 0)
        st = pb_fail(PB_USAGE, "--resume %s: it is a '%s' file, not a generalize file", path, kind->kind);
    if (!st) st = gen_h5_resume(f, path, r);
    *done = H5Aexists(f, "complete") <= 0 || (!h5_read_attr_int(f, "complete", &complete) && complete);
    H5Fclose(f);
    if (st) return st;
    int total, n = gen_count_measured(r, &total);
    if (*done) {
        printf("%s is complete (%d of %d runs); nothing to resume\n", path, n, total);
        return finish_stdout();
    }
    if (log) fprintf(log, "resuming %s: %d of %d runs kept, %d to go\n", path, n, total, total - n);
    return PB_OK;
}

/* Whether to stop before the sweep (an error, or nothing to resume), with
 * *st to return. Under MPI every rank reaches pbmpi_agree, whatever happened
 * before, so none waits forever. */
static int stop_before_sweep(PbStatus *st, int done, int mpi, int worker, FILE *log) {
    if (!mpi) return *st || done;
    int other = 0;
    if (!pbmpi_agree(*st, done, &other, log)) return 0;
    if (other && !worker) *st = pb_fail(PB_USAGE, "another rank could not start the sweep (its message is above)");
    return 1;
}

/* The sweep in this process alone, then the file and the tables. */
static PbStatus sweep_local(GenResults *r, const char *out, int force) {
    PbStatus st = gen_sweep(r);
    if (st) return gen_results_free(r), st;
    st = write_results(out, force, r);
    int total, kept = gen_count_measured(r, &total);
    const int complete = r->complete;
    gen_results_free(r);
    if (st) return st;
    if (!complete) {
        fprintf(stderr, "posbench generalize: interrupted: %d of %d runs kept in %s; continue with --resume %s\n", kept,
                total, out, out);
        interrupt_exit();
    }
    return show_results(out);
}

PbStatus cmd_generalize(int argc, char **argv) {
    GenArgs a = {.tok = "bytes", .escale = "sqrt"};
    gen_config_default(&a.c);
    a.steps = (int)a.c.train.steps;
    a.lr = a.c.train.lr;
    int help;
    PbStatus st = parse_args(&a, argc, argv, &help);
    if (st || help) return st;
    if ((st = configure(&a))) return st;
    char default_out[128];
    choose_output(&a, default_out, sizeof default_out);
    /* Under MPI (harness/sweep/mpi_sweep.h) every rank parses the same options and
     * loads the data; only rank 0 reads --resume and writes. */
    const int mpi = pbmpi_active(), worker = pbmpi_rank() > 0;
    /* An extension is measured inside its model's run, which MPI's cell
     * messages do not carry yet. */
    if (mpi && a.c.n_extend)
        st = pb_fail(PB_USAGE, "--extend runs in one process: start it without mpirun (the other studies share out)");
    if (!st && !worker) st = safe_target_check(a.out, a.force);
    if (!mpi && st) return st;
    GenConfig *c = &a.c;
    c->log = a.quiet || worker ? NULL : stderr;
    c->tty = !a.quiet && !worker && isatty(STDERR_FILENO);

    GenResults r = {0};
    int have = 0, done = 0;
    if (!st) st = gen_prepare(c, &r), have = !st;
    if (!st && a.resume && !worker) st = read_resume(a.resume, c->log, &r, &done);
    if (stop_before_sweep(&st, done, mpi, worker, c->log)) {
        if (have) gen_results_free(&r);
        return st;
    }
    interrupt_install();
    return mpi ? sweep_mpi(&r, a.out, a.force) : sweep_local(&r, a.out, a.force);
}
