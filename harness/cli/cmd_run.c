/* cmd_run.c: `posbench run`, the main job: the throughput and
 * memory bench, length generalization on the default corpus, one synthetic
 * task, all plots, and a summary table naming which encodings extrapolate;
 * one HDF5 file (kind "run") with the plots beside it.
 *
 * Profiles (every registered encoding, 3 seeds each; the corpus study also
 * trains learned_absolute, sinusoidal and rope at randomized positions of
 * [0, longest evaluation length), as NAME+randpos):
 *   quick  bench --quick; jargon (bytes), L 64, eval 64..1024, 2 layers,
 *          dim 64, 4 heads, 600 steps of 16 windows; task copy, L 16, eval
 *          16..64, 1500 steps. About 4 minutes on 2 quiet cores, 10 on
 *          busy ones.
 *   full   the full bench; jargon, L 128, eval 128..2048, 2 layers, dim 128,
 *          1500 steps; task copy, L 32, 4000 steps; rope's extensions
 *          also fine-tuned 150 steps at 4L. About an hour on 2 cores;
 *          what results/reference/ publishes.
 * Token embeddings are scaled by sqrt(dim) in both (generalize.h).
 *
 * Interrupt (SIGINT, SIGTERM; core/interrupt.h): what is measured so far
 * (bench cells, generalization and task runs) goes to the output file with
 * complete = 0, no plots; `--resume FILE` measures the rest and rewrites it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/safe_file.h"
#include "../../core/interrupt.h"
#include "../../datasets/token_stream.h"
#include "args.h"
#include "../results/blas_kernel.h"
#include "../bench/bench.h"
#include "../results/bench_h5.h"
#include "commands.h"
#include "../train/generalize.h"
#include "../report/gnuplot.h"
#include "../results/h5io.h"
#include "../sweep/mpi_sweep.h"
#include "../report/plot_dir.h"
#include "../report/plots.h"
#include "../results/gen_h5.h"
#include "../report/show.h"
#include "gen_options.h"
#include "../report/kinds.h"

static const char *const profile_names[] = {"quick", "full", NULL};

typedef struct {
    int L, steps, batch, dim, layers, heads, seeds, eval_tokens;
    float lr;
    int task_L, task_steps, task_examples;
    const char *task;
    int extend_finetune, extend_len; /* the rope studies' fine-tune (0: zero-shot only) */
} Profile;

/* The copy task needs short examples and many steps to be learnt at all by
 * these small models: with L 32 and 300 steps no encoding got one example
 * right; with L 16 and 1500 steps rope reached 0.36 exact match (0.87 of
 * answer tokens) at L. */
/* Quick corpus study: 600 steps. With 200, sinusoidal reached perplexity
 * 19.9 at L against 12.6 for rope (undertrained); with 600, 11.2 against 8.3. */
/* The full profile's fine-tune of each extension is YaRN's recipe scaled
 * down: a tenth of the training steps, at 4L, with the factor of the
 * longest length (16), so the tuned models are read past what they saw. */
static const Profile quick_profile = {64, 600, 16, 64, 2, 4, 3, 16384, 3e-3f, 16, 1500, 128, "task:copy", 0, 0};
static const Profile full_profile = {128, 1500, 16, 128, 2, 4, 3, 65536, 2e-3f, 32, 4000, 256, "task:copy", 150, 512};

static void apply_profile(GenConfig *c, const Profile *p, int task) {
    c->train_len = task ? p->task_L : p->L;
    c->train.steps = task ? p->task_steps : p->steps;
    c->train.batch = p->batch;
    c->train.lr = p->lr;
    c->model.dim = p->dim;
    c->model.embed_scale = sqrtf((float)p->dim); /* as generalize's default (generalize.h) */
    c->model.layers = p->layers;
    c->model.heads = p->heads;
    c->seeds = p->seeds;
    c->eval_tokens = p->eval_tokens;
    c->task_examples = p->task_examples;
    snprintf(c->data, sizeof c->data, "%s", task ? p->task : "jargon");
    gen_default_lens(c);
}

/* The fixed Google Benchmark flags of each profile's bench. */
static const char *const quick_flags[] = {"posbench", "--benchmark_repetitions=3", "--benchmark_min_time=0.02", NULL};
static const char *const full_flags[] = {"posbench", "--benchmark_repetitions=3", "--benchmark_min_time=0.1", NULL};

/* Resume: the parts of an interrupted run file. */
typedef struct {
    hid_t file;
    BenchResults bench;
    int done; /* the file is complete already */
} Prior;

static PbStatus open_prior(const char *path, const char *profile, int no_bench, const BenchPlan *plan, Prior *p) {
    char theirs[64] = "", command[2048] = "?";
    const ResultKind *kind;
    long long complete = 1;
    *p = (Prior){.file = H5I_INVALID_HID};
    PbStatus st = result_open(&p->file, &kind, path);
    if (st) return p->file = H5I_INVALID_HID, st;
    h5_read_attr_string(p->file, "command_line", command, sizeof command);
    if (strcmp(kind->kind, "run") != 0)
        st = pb_fail(PB_USAGE, "--resume %s: it is a '%s' file, not a run file", path, kind->kind);
    if (!st && (h5_read_attr_string(p->file, "profile", theirs, sizeof theirs) || strcmp(theirs, profile) != 0))
        st = pb_fail(PB_USAGE,
                     "--resume %s: its profile is '%s', this run's is '%s'; resume with the options of "
                     "the interrupted run (%s)",
                     path, theirs, profile, command);
    if (!st && no_bench != !h5_exists(p->file, "bench"))
        st = pb_fail(PB_USAGE,
                     "--resume %s: it was made %s --no-bench; resume with the options of the "
                     "interrupted run (%s)",
                     path, no_bench ? "without" : "with", command);
    if (!st && !no_bench) st = bench_h5_check_resume(p->file, path, plan);
    if (!st && !no_bench) st = bench_h5_read(p->file, path, &p->bench);
    if (!st && (H5Aexists(p->file, "complete") <= 0 || (!h5_read_attr_int(p->file, "complete", &complete) && complete)))
        p->done = 1;
    if (st) H5Fclose(p->file), p->file = H5I_INVALID_HID;
    return st;
}

/* gen_prepare, the runs the prior file kept, then the sweep. */
static PbStatus study(const GenConfig *c, GenResults *r, const Prior *p, const char *path, const char *group,
                      int *have) {
    PbStatus st = gen_prepare(c, r);
    *have = !st;
    if (!st && !*r->ids_sha256) { /* an interrupt cut the task's stream: leave the study out */
        gen_results_free(r);
        *have = 0;
        return PB_OK;
    }
    if (!st && p && p->file >= 0 && h5_exists(p->file, group)) st = gen_h5_resume(p->file, path, r);
    if (!st && !interrupt_requested()) st = gen_sweep(r);
    if (st && *have) gen_results_free(r), *have = 0;
    return st;
}

/* The run file: provenance, the bench, both studies (NULL: absent). */
typedef struct {
    const char *out;
    int force;
    const char *profile;
    int no_bench;
    const BenchPlan *plan;
    const BenchResults *bench;
    const GenResults *gr, *tr;
    double t_bench, t_gen, t_task;
} RunFile;

static PbStatus write_run(const RunFile *w, int complete) {
    H5Out file;
    PbStatus st = h5out_create(&file, w->out, w->force);
    if (st) return st;
    st = h5_write_provenance(file.file);
    if (!st) st = h5_attr_int(file.file, "complete", complete);
    if (!st && !w->no_bench) st = bench_h5_write(file.file, w->plan, w->bench);
    if (!st) st = h5_attr_string(file.file, "kind", "run");
    if (!st) st = h5_attr_int(file.file, "schema_version", GEN_SCHEMA_VERSION);
    if (!st) st = h5_attr_string(file.file, "profile", w->profile);
    if (!st) st = h5_attr_double(file.file, "seconds_bench", w->t_bench);
    if (!st) st = h5_attr_double(file.file, "seconds_generalization", w->t_gen);
    if (!st) st = h5_attr_double(file.file, "seconds_task", w->t_task);
    if (!st && w->gr) st = gen_h5_write(file.file, w->gr);
    if (!st && w->tr) st = gen_h5_write(file.file, w->tr);
    if (!st) st = h5out_commit(&file);
    else h5out_abort(&file);
    return st;
}

/* 1. The bench (timing: in this process alone). */
static PbStatus run_bench(const BenchPlan *plan, const char *const *gb_flags, int quick, const BenchResults *prior,
                          BenchResults *bench, double *seconds) {
    fprintf(stderr, "[1/4] throughput and memory bench (%s)...\n", quick ? "--quick" : "full grid");
    char *gb[4] = {(char *)gb_flags[0], (char *)gb_flags[1], (char *)gb_flags[2], NULL};
    int n_gb = 3;
    double t0 = now_seconds();
    PbStatus st = gb_initialize(&n_gb, gb);
    if (!st) st = bench_run(plan, prior, bench, GB_CONSOLE_QUIET, NULL);
    *seconds = now_seconds() - t0;
    if (!st) fprintf(stderr, "      %zu cells in %.0f s\n", bench->n, *seconds);
    return st;
}

/* The encodings the corpus study also trains at randomized positions
 * (Ruoss et al. 2023), of [0, longest evaluation length): a table, a fixed
 * formula and a rotation, the three the paper's claim is about. */
static const char *const randomized_extra[] = {"learned_absolute", "sinusoidal", "rope"};

static int has_key(const GenConfig *gc, const char *key) {
    for (int i = 0; i < gc->n_encodings; i++)
        if (strcmp(gc->encodings[i], key) == 0) return 1;
    return 0;
}

static void add_randomized(GenConfig *gc, int lmax) {
    for (size_t k = 0; k < sizeof randomized_extra / sizeof *randomized_extra; k++) {
        char key[GEN_NAME];
        snprintf(key, sizeof key, "%s%s", randomized_extra[k], GEN_RANDOMIZED);
        if (has_key(gc, randomized_extra[k]) && !has_key(gc, key) && gc->n_encodings < GEN_MAX_ENCODINGS)
            snprintf(gc->encodings[gc->n_encodings++], GEN_NAME, "%s", key);
    }
    gc->train.randomize_positions = lmax ? lmax : gc->eval_lens[gc->n_lens - 1];
}

/* The context extension of each rope study (encoding.h): every method at
 * the factor of the longest length, so the table also shows what scaling
 * costs at L (dynamic-ntk: l / L per pass), zero-shot and, in the full
 * profile, fine-tuned. In one process only (the MPI sweep does not carry
 * them yet). */
static PbStatus add_extensions(GenConfig *gc, const Profile *p) {
    for (int m = EXTEND_PI; m < EXTEND_COUNT; m++) gc->extend[gc->n_extend++] = (ExtendMethod)m;
    gc->extend_factor = (double)gc->eval_lens[gc->n_lens - 1] / gc->train_len;
    gc->extend_finetune = p->extend_finetune, gc->extend_len = p->extend_len;
    const int before = gc->n_encodings;
    PbStatus st = gen_add_extensions(gc);
    if (st && gc->n_encodings == before) { /* no rope study: nothing to extend */
        gc->n_extend = 0;
        gc->extend_factor = 0;
        gc->extend_finetune = 0, gc->extend_len = 0;
        return PB_OK;
    }
    return st;
}

/* The two studies' configurations from the profile. */
static PbStatus configure(PbStatus st, const char *encodings, const Profile *p, int seeds, int lmax, int tty,
                          GenConfig *gc, GenConfig *tc) {
    gen_config_default(gc);
    if (!st && encodings) st = gen_parse_encodings(encodings, gc);
    apply_profile(gc, p, 0);
    if (seeds) gc->seeds = seeds;
    gc->log = stderr, gc->tty = tty, gc->label = "      ";
    *tc = *gc;
    apply_profile(tc, p, 1);
    if (seeds) tc->seeds = seeds;
    if (!st) add_randomized(gc, lmax);
    if (!st && !pbmpi_active()) st = add_extensions(gc, p);
    return st;
}

/* 4. The plots and the summary, from the file alone. */
static PbStatus finish_run(const char *out, const char *dir, int force, double t_start, double t_bench, double t_gen,
                           double t_task) {
    fprintf(stderr, "[4/4] plots into %s/\n", dir);
    hid_t f;
    PbStatus st = h5in_open(&f, out);
    if (st) return st;
    PlotDir plots;
    PbStatus plot_st = plot_dir_begin(&plots, dir, force);
    if (!plot_st) plot_st = result_kind("run")->plot(f, out, plots.stage);
    if (!plot_st) plot_st = plot_dir_commit(&plots);
    else plot_dir_abort(&plots);
    char plot_msg[1024] = "";
    if (plot_st) snprintf(plot_msg, sizeof plot_msg, "%s", pb_errmsg());
    printf("\n");
    st = gen_show(f, out, stdout);
    H5Fclose(f);
    printf("\nwrote %s and its plots in %s/ in %.0f s (bench %.0f s, generalization %.0f s, task %.0f s)\n", out, dir,
           now_seconds() - t_start, t_bench, t_gen, t_task);
    if (!st && plot_st) st = pb_fail(plot_st, "the results are in %s, but the plots failed: %s", out, plot_msg);
    return st ? st : finish_stdout();
}

typedef struct {
    const char *profile;
    int quick;
    const Profile *p;
    const char *out, *dir;
    int force;
    const char *encodings;
    int seeds, no_bench;
    int randomize; /* LMAX of the +randpos studies; 0: the longest length */
    const char *resume;
    const char *const *gb_flags;
} RunOptions;

static PbStatus run_checkpoint(void *ctx) {
    RunFile *w = ctx;
    PbStatus st = write_run(w, 0);
    if (!st) w->force = 1; /* our own file from now on */
    return st;
}

/* Both studies and what they hold. */
typedef struct {
    GenConfig gc, tc;
    GenResults gr, tr;
    int have_gr, have_tr;
} Studies;

static void studies_free(Studies *s) {
    if (s->have_gr) gen_results_free(&s->gr);
    if (s->have_tr) gen_results_free(&s->tr);
    s->have_gr = s->have_tr = 0;
}

/* The task study's group in the run file. */
static void task_group_name(char *buf, size_t cap, const GenConfig *tc) {
    snprintf(buf, cap, "tasks/%.50s", tc->data + 5);
}

static void prior_close(Prior *p) {
    bench_results_free(&p->bench);
    if (p->file >= 0) H5Fclose(p->file);
    p->file = H5I_INVALID_HID;
}

/* What a run measured, for the messages after it. */
typedef struct {
    size_t cells, planned; /* bench cells */
    int ng, mg, nt, mt;    /* runs measured and planned: generalization, task */
} Tally;

static Tally tally(const BenchResults *bench, const Studies *s) {
    Tally n = {bench->n, bench->n_cells, 0, 0, 0, 0};
    if (s->have_gr) n.ng = gen_count_measured(&s->gr, &n.mg);
    if (s->have_tr) n.nt = gen_count_measured(&s->tr, &n.mt);
    if (!n.mg) n.mg = s->gc.n_encodings * s->gc.seeds;
    if (!n.mt) n.mt = s->tc.n_encodings * s->tc.seeds;
    return n;
}

static void print_interrupted(const RunOptions *o, const Tally *n, const char *in_flight) {
    char cells_text[96] = "";
    if (!o->no_bench) snprintf(cells_text, sizeof cells_text, "%zu of %zu bench cells, ", n->cells, n->planned);
    fprintf(stderr,
            "posbench run: interrupted: %s%d of %d generalization runs and %d of %d task runs kept in %s%s%s; "
            "continue with --resume %s\n",
            cells_text, n->ng, n->mg, n->nt, n->mt, o->out, *in_flight ? "; not finished: " : "", in_flight, o->out);
}

/* MPI: both studies, with the runs the prior file kept, on every rank. */
static PbStatus mpi_prepare(const RunOptions *o, PbStatus st, int worker, const Prior *prior, Studies *s) {
    st = configure(st, o->encodings, o->p, o->seeds, o->randomize, !worker && isatty(STDERR_FILENO), &s->gc, &s->tc);
    if (worker) s->gc.log = s->tc.log = NULL;
    if (!st) st = gen_prepare(&s->gc, &s->gr), s->have_gr = !st;
    if (!st) st = gen_prepare(&s->tc, &s->tr), s->have_tr = !st;
    char task_group[64];
    task_group_name(task_group, sizeof task_group, &s->tc);
    if (!st && prior->file >= 0 && h5_exists(prior->file, "generalization"))
        st = gen_h5_resume(prior->file, o->resume, &s->gr);
    if (!st && prior->file >= 0 && h5_exists(prior->file, task_group))
        st = gen_h5_resume(prior->file, o->resume, &s->tr);
    return st;
}

/* MPI, rank 0: both studies shared out at once, the file rewritten after
 * each merged run. */
static PbStatus mpi_share(Studies *s, RunFile *w, PbmpiReport *rep) {
    fprintf(stderr,
            "[2/4] generalization: jargon (bytes), train at %d, evaluate at %d..%d, %d encodings x %d seeds\n"
            "[3/4] task %s: train on lengths up to %d, test up to %d; both shared across %d workers\n",
            s->gc.train_len, s->gc.eval_lens[0], s->gc.eval_lens[s->gc.n_lens - 1], s->gc.n_encodings, s->gc.seeds,
            s->tc.data + 5, s->tc.train_len, s->tc.eval_lens[s->tc.n_lens - 1], pbmpi_size() - 1);
    double t0 = now_seconds();
    PbStatus st = run_checkpoint(w); /* a job that dies early still leaves a resumable file */
    GenResults *studies[2] = {&s->gr, &s->tr};
    if (!st) st = pbmpi_sweep(studies, 2, run_checkpoint, w, rep);
    w->t_gen = now_seconds() - t0; /* both studies at once; seconds_task 0 */
    return st;
}

/* MPI, rank 0: the bench alone, then the shared studies, the file and the
 * report. */
static PbStatus mpi_root(const RunOptions *o, const BenchPlan *plan, Prior *prior, Studies *s) {
    double t_start = now_seconds(), t_bench = 0;
    fprintf(stderr, "posbench run, %s profile -> %s (MPI: %d ranks, the bench on rank 0 alone)\n", o->profile, o->out,
            pbmpi_size());
    BenchResults bench = {.complete = 1};
    PbStatus st = PB_OK;
    if (!o->no_bench) st = run_bench(plan, o->gb_flags, o->quick, o->resume ? &prior->bench : NULL, &bench, &t_bench);
    prior_close(prior);
    RunFile w = {o->out, o->force, o->profile, o->no_bench, plan, &bench, &s->gr, &s->tr, t_bench, 0, 0};
    PbmpiReport rep = {0};
    if (!st) st = mpi_share(s, &w, &rep);
    const int complete = !interrupt_requested() && bench.complete && s->gr.complete && s->tr.complete;
    /* Cut short, the file written before the sweep and after each merged run
     * holds everything; report before mpirun's SIGKILL (see cmd_generalize.c). */
    if (!st && !interrupt_requested()) st = write_run(&w, complete);
    const Tally n = tally(&bench, s);
    bench_results_free(&bench);
    studies_free(s);
    if (st) return st;
    if (rep.failed)
        return pb_fail(rep.first_status,
                       "%d run(s) failed: %s; the other runs (%d of %d generalization, %d of %d "
                       "task) are in %s (complete = 0); continue with --resume %s",
                       rep.failed, rep.failures, n.ng, n.mg, n.nt, n.mt, o->out, o->out);
    if (!complete) {
        print_interrupted(o, &n, rep.in_flight);
        interrupt_exit();
    }
    return finish_run(o->out, o->dir, o->force, t_start, t_bench, w.t_gen, 0);
}

/* The main job across MPI ranks: rank 0 runs the bench alone while the
 * workers wait (sleeping, so its timings have the host's cores: one bench
 * per job, on rank 0's host, recorded per row), then the corpus and task
 * runs are shared out together, longest first (harness/sweep/mpi_sweep.h). */
static PbStatus run_mpi(const RunOptions *o, PbStatus st, const BenchPlan *plan, Prior *prior) {
    const int worker = pbmpi_rank() > 0;
    Studies s = {0};
    st = mpi_prepare(o, st, worker, prior, &s);
    const int done = !st && !worker && o->resume && prior->done;
    int other = 0;
    if (pbmpi_agree(st, done, &other, s.gc.log)) {
        prior_close(prior);
        studies_free(&s);
        if (done) {
            printf("%s is complete; nothing to resume\n", o->resume);
            return finish_stdout();
        }
        if (other && !worker) return pb_fail(PB_USAGE, "another rank could not start the run (its message is above)");
        return st;
    }
    interrupt_install();
    if (!worker) return mpi_root(o, plan, prior, &s);
    GenResults *studies[2] = {&s.gr, &s.tr};
    PbmpiReport rep = {0};
    st = pbmpi_sweep(studies, 2, NULL, NULL, &rep);
    studies_free(&s);
    return st;
}

/* 2. Generalization on the corpus; 3. the task; each skipped once an
 * interrupt was requested. */
static PbStatus local_studies(PbStatus st, Studies *s, const Prior *prior, const char *resume, double *t_gen,
                              double *t_task) {
    char task_group[64];
    task_group_name(task_group, sizeof task_group, &s->tc);
    if (!st && !interrupt_requested()) {
        fprintf(stderr,
                "[2/4] generalization: jargon (bytes), train at %d, evaluate at %d..%d, %d encodings x %d seeds\n",
                s->gc.train_len, s->gc.eval_lens[0], s->gc.eval_lens[s->gc.n_lens - 1], s->gc.n_encodings, s->gc.seeds);
        double t0 = now_seconds();
        st = study(&s->gc, &s->gr, prior, resume, "generalization", &s->have_gr);
        *t_gen = now_seconds() - t0;
    }
    if (!st && !interrupt_requested()) {
        fprintf(stderr, "[3/4] task %s: train on lengths up to %d, test up to %d\n", s->tc.data + 5, s->tc.train_len,
                s->tc.eval_lens[s->tc.n_lens - 1]);
        double t0 = now_seconds();
        st = study(&s->tc, &s->tr, prior, resume, task_group, &s->have_tr);
        *t_task = now_seconds() - t0;
    }
    return st;
}

/* The main job in this process: the bench, the studies, one file, then the
 * plots and the summary from it. */
static PbStatus run_local(const RunOptions *o, const BenchPlan *plan, Prior *prior) {
    double t_start = now_seconds(), t_bench = 0, t_gen = 0, t_task = 0;
    fprintf(stderr, "posbench run, %s profile -> %s\n", o->profile, o->out);
    char kernel[256];
    blas_kernel_describe(kernel, sizeof kernel);
    fprintf(stderr, "OpenBLAS kernel %s\n", kernel);
    /* 1. The bench. */
    BenchResults bench = {.complete = 1};
    PbStatus st = PB_OK;
    if (!o->no_bench) st = run_bench(plan, o->gb_flags, o->quick, o->resume ? &prior->bench : NULL, &bench, &t_bench);
    bench_results_free(&prior->bench);
    Studies s = {0};
    st = configure(st, o->encodings, o->p, o->seeds, o->randomize, isatty(STDERR_FILENO), &s.gc, &s.tc);
    st = local_studies(st, &s, prior, o->resume, &t_gen, &t_task);
    prior_close(prior);
    const int complete =
        !interrupt_requested() && bench.complete && s.have_gr && s.gr.complete && s.have_tr && s.tr.complete;
    /* 4. One file, then the plots and the summary from it. */
    RunFile w = {
        o->out,  o->force, o->profile, o->no_bench, plan, &bench, s.have_gr ? &s.gr : NULL, s.have_tr ? &s.tr : NULL,
        t_bench, t_gen,    t_task};
    if (!st) st = write_run(&w, complete);
    const Tally n = tally(&bench, &s);
    bench_results_free(&bench);
    studies_free(&s);
    if (st) return st;
    if (!complete) {
        print_interrupted(o, &n, "");
        interrupt_exit();
    }
    return finish_run(o->out, o->dir, o->force, t_start, t_bench, t_gen, t_task);
}

static PbStatus parse_args(RunOptions *o, int argc, char **argv, int *help) {
    const ArgSpec options[] = {
        {"--profile", NULL, ARG_CHOICE, &o->profile, 0, 0, profile_names, "P",
         "quick (default, about 10 minutes on 2 cores) or full (what results/ publishes)"},
        {"--output", "-o", ARG_STRING, &o->out, 0, 0, NULL, "FILE.h5",
         "results file (default results/run-<UTC time>.h5; plots beside it)"},
        {"--force", NULL, ARG_FLAG, &o->force, 0, 0, NULL, NULL, "replace an existing results file and its plots"},
        {"--encodings", NULL, ARG_STRING, &o->encodings, 0, 0, NULL, "A,B,...",
         "only these encoding specs (NAME[:VARIANT][@KNOB=V]...) in the generalization part (default all)"},
        {"--seeds", NULL, ARG_INT, &o->seeds, 1, 100, NULL, "K", "runs per encoding (default 3)"},
        {"--no-bench", NULL, ARG_FLAG, &o->no_bench, 0, 0, NULL, NULL, "skip the throughput bench (for a quick look)"},
        {"--randomize-positions", NULL, ARG_INT, &o->randomize, 1, 1 << 24, NULL, "LMAX",
         "positions of the NAME+randpos studies (learned_absolute, sinusoidal, rope), [0, LMAX) (default: "
         "the longest evaluation length)"},
        {"--resume", NULL, ARG_STRING, &o->resume, 0, 0, NULL, "FILE.h5",
         "finish an interrupted run (same options): measure what FILE lacks, rewrite FILE (or -o)"},
        {NULL},
    };
    const ArgCommand cmd = {
        "run",
        "[--profile quick|full] [--encodings SPECS] [--randomize-positions LMAX] [-o FILE.h5] [--force] "
        "[--resume FILE.h5]",
        "The main job: the throughput and memory bench of every encoding, length generalization\n"
        "on the default corpus (trained short, evaluated up to 16x longer), a synthetic copy task,\n"
        "all plots, and a summary per encoding naming which encodings extrapolate.",
        options,
        0,
        0};
    int npos;
    PbStatus st = args_parse(&cmd, argc, argv, NULL, &npos, help);
    o->quick = strcmp(o->profile, "quick") == 0;
    o->p = o->quick ? &quick_profile : &full_profile;
    o->gb_flags = o->quick ? quick_flags : full_flags;
    return st;
}

/* The results file (-o, else --resume's file, else results/run-<UTC
 * time>.h5, making results/) and its plot folder beside it. Only rank 0
 * touches the disk. */
static PbStatus choose_output(RunOptions *o, int worker, char *out, size_t out_cap, char *dir, size_t dir_cap) {
    PbStatus st = PB_OK;
    if (!o->out && o->resume) o->out = o->resume; /* --resume replaces FILE: what it asks for */
    if (o->resume && strcmp(o->out, o->resume) == 0) o->force = 1;
    if (!o->out) {
        struct stat sb;
        if (!worker && stat("results", &sb) != 0) st = ensure_directory("results");
        gen_default_output(out, out_cap, "run");
        o->out = out;
    }
    size_t n = strlen(o->out);
    if (n > 3 && strcmp(o->out + n - 3, ".h5") == 0) n -= 3;
    snprintf(dir, dir_cap, "%.*s-plots", (int)n, o->out);
    o->dir = dir;
    return st;
}

PbStatus cmd_run(int argc, char **argv) {
    RunOptions o = {.profile = "quick"};
    int help;
    PbStatus st = parse_args(&o, argc, argv, &help);
    if (st || help) return st;
    char default_out[128], dir[4096];
    /* Under MPI (harness/sweep/mpi_sweep.h) only rank 0 checks, reads --resume and
     * writes; every rank reaches pbmpi_agree whatever happened before. */
    const int mpi = pbmpi_active(), worker = pbmpi_rank() > 0;
    st = choose_output(&o, worker, default_out, sizeof default_out, dir, sizeof dir);
    if (!st && !worker) st = safe_target_check(o.out, o.force);
    if (!st && !worker) st = plot_dir_check(dir, o.force);
    if (st && !mpi) return st;

    BenchPlan plan;
    bench_plan_init(&plan, o.quick);
    char flags[256];
    snprintf(flags, sizeof flags, "%s %s", o.gb_flags[1], o.gb_flags[2]);
    plan.benchmark_flags = flags;
    Prior prior = {.file = H5I_INVALID_HID};
    if (!st && o.resume && !worker) st = open_prior(o.resume, o.profile, o.no_bench, &plan, &prior);
    if (mpi) return run_mpi(&o, st, &plan, &prior);
    if (st) return st;
    if (o.resume && prior.done) {
        prior_close(&prior);
        printf("%s is complete; nothing to resume\n", o.resume);
        return finish_stdout();
    }
    interrupt_install();
    return run_local(&o, &plan, &prior);
}
