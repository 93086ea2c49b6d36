/* test_gbench.c: the C face of Google Benchmark (harness/bench/gbench.h), end to
 * end: flags through gb_initialize, C kernels registered with a context
 * pointer and arguments, every run and aggregate back through the C
 * reporter, and misuse reported as statuses or error runs instead of the
 * library's exit() or abort(). Prints every run's ns figures.
 * About one second: every benchmark runs with --benchmark_min_time=0.01.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/status.h"
#include "harness/bench/gbench.h"

/* ---- kernels ------------------------------------------------------------ */

enum {
    K_TINY,
    K_CALL,
    K_ARGS,
    K_COUNTERS,
    K_SLEEP,
    K_REPEATED,
    K_ERROR,
    K_EARLY,
    K_RANGE,
    K_BADCOUNTER,
    K_FIXED,
    K_PAUSE_OUTSIDE,
    K_PAUSED_END,
    K_COUNT
};

/* Each kernel's own context, and the pointer each kernel actually received
 * (stored without dereferencing it). */
static struct {
    int id;
    int calls;
    int64_t a0, a1;
} ctxs[K_COUNT];
static void *received[K_COUNT];
static volatile uint64_t sink;
static float data[1024];

static void note(GbState *s, void *ctx, int id) {
    (void)s;
    received[id] = ctx;
    ctxs[id].calls++;
}

static void sleep_ns(long ns) {
    struct timespec t = {ns / 1000000000L, ns % 1000000000L};
    while (nanosleep(&t, &t) != 0) {}
}

/* A few-ns body: needs the batched loop, or the call would dominate. */
static void k_tiny(GbState *s, void *ctx) {
    note(s, ctx, K_TINY);
    uint64_t acc = 1;
    while (gb_keep_running_batch(s, 256))
        for (int i = 0; i < 256; i++) acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
    sink = acc;
}

/* An empty unbatched loop: the per-iteration cost of gb_keep_running. */
static void k_call(GbState *s, void *ctx) {
    note(s, ctx, K_CALL);
    while (gb_keep_running(s)) {}
}

static void k_args(GbState *s, void *ctx) {
    note(s, ctx, K_ARGS);
    ctxs[K_ARGS].a0 = gb_range(s, 0);
    ctxs[K_ARGS].a1 = gb_range(s, 1);
    uint64_t acc = 0;
    while (gb_keep_running(s))
        for (int64_t i = 0; i < ctxs[K_ARGS].a0; i++) acc += (uint64_t)(i * ctxs[K_ARGS].a1);
    sink = acc;
}

static void k_counters(GbState *s, void *ctx) {
    note(s, ctx, K_COUNTERS);
    int64_t n = gb_range(s, 0);
    float acc = 0;
    while (gb_keep_running(s))
        for (int64_t i = 0; i < n; i++) acc += data[i];
    sink = (uint64_t)acc;
    int64_t it = gb_iterations(s);
    gb_set_items_processed(s, it * n);
    gb_set_bytes_processed(s, it * n * (int64_t)sizeof(float));
    gb_set_counter(s, "answer", 42.0, GB_COUNTER_PLAIN);
    gb_set_counter(s, "per_iter", 3.0 * (double)it, GB_COUNTER_AVG_ITERATIONS);
    gb_set_counter(s, "s_per_item", (double)(it * n), GB_COUNTER_RATE | GB_COUNTER_INVERT);
}

/* Sleeps 1 ms per iteration: real time ~1 ms, CPU time almost none. */
static void k_sleep(GbState *s, void *ctx) {
    note(s, ctx, K_SLEEP);
    while (gb_keep_running(s)) sleep_ns(1000000L);
}

static void k_repeated(GbState *s, void *ctx) {
    note(s, ctx, K_REPEATED);
    uint64_t acc = 3;
    while (gb_keep_running_batch(s, 64))
        for (int i = 0; i < 64; i++) acc ^= acc << 7, acc ^= acc >> 9;
    sink = acc;
}

static void k_error(GbState *s, void *ctx) {
    note(s, ctx, K_ERROR);
    gb_skip_with_error(s, "no data for T=4096");
    while (gb_keep_running(s)) ctxs[K_ERROR].a0++; /* must not run */
}

static void k_early(GbState *s, void *ctx) { note(s, ctx, K_EARLY); }

static void k_range(GbState *s, void *ctx) {
    note(s, ctx, K_RANGE);
    ctxs[K_RANGE].a0 = gb_range(s, 3);
    while (gb_keep_running(s)) {}
}

static void k_badcounter(GbState *s, void *ctx) {
    note(s, ctx, K_BADCOUNTER);
    gb_set_counter(s, "x", 1.0, 1u << 20);
    while (gb_keep_running(s)) {}
}

/* Exactly 10 iterations, each with 5 ms of paused set-up that must not be
 * timed (the timed part is a few us: even a few preemptions under load keep
 * the mean below half the pause); also: registering or clearing from inside a run
 * is refused. */
static PbStatus inside_register, inside_clear;
static void k_fixed(GbState *s, void *ctx) {
    note(s, ctx, K_FIXED);
    GbSpec spec = {.name = "late", .fn = k_early};
    inside_register = gb_register(&spec);
    inside_clear = gb_clear();
    while (gb_keep_running(s)) {
        gb_pause_timing(s);
        sleep_ns(5000000L);
        gb_resume_timing(s);
        sink += 1;
    }
}

static void k_pause_outside(GbState *s, void *ctx) {
    note(s, ctx, K_PAUSE_OUTSIDE);
    gb_pause_timing(s);
    while (gb_keep_running(s)) {}
}

static void k_paused_end(GbState *s, void *ctx) {
    note(s, ctx, K_PAUSED_END);
    while (gb_keep_running(s)) gb_pause_timing(s);
}

/* ---- the reporter ------------------------------------------------------- */

typedef struct {
    char family[64], run_name[160], name[192], aggregate[16], error_message[256];
    int64_t args[GB_MAX_ARGS];
    int n_args, error, ratio, n_counters;
    int64_t repetition_index, repetitions, iterations;
    double real_ns, cpu_ns;
    char counter_names[8][32];
    double counter_values[8];
} Rec;

typedef struct {
    int fail_at; /* 1-based run at which to fail; 0 never */
    int n;
    Rec recs[128];
} Collector;

static Collector *report_ctx_seen;

static PbStatus collect(const GbRun *run, void *ctx) {
    Collector *c = ctx;
    report_ctx_seen = c;
    if (c->n >= (int)(sizeof c->recs / sizeof c->recs[0])) return pb_fail(PB_RANGE, "too many runs");
    Rec *r = &c->recs[c->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->family, sizeof r->family, "%s", run->family);
    snprintf(r->run_name, sizeof r->run_name, "%s", run->run_name);
    snprintf(r->name, sizeof r->name, "%s", run->name);
    snprintf(r->aggregate, sizeof r->aggregate, "%s", run->aggregate);
    snprintf(r->error_message, sizeof r->error_message, "%s", run->error_message);
    r->n_args = run->n_args;
    memcpy(r->args, run->args, sizeof r->args);
    r->error = run->error;
    r->ratio = run->time_is_ratio;
    r->repetition_index = run->repetition_index;
    r->repetitions = run->repetitions;
    r->iterations = run->iterations;
    r->real_ns = run->real_ns_per_iter;
    r->cpu_ns = run->cpu_ns_per_iter;
    for (int i = 0; i < run->n_counters && i < 8; i++) {
        snprintf(r->counter_names[i], sizeof r->counter_names[i], "%s", run->counters[i].name);
        r->counter_values[i] = run->counters[i].value;
        r->n_counters = i + 1;
    }
    if (run->n_counters > 0) {
        const double *v = gb_run_counter(run, run->counters[0].name);
        CHECK(v == &run->counters[0].value, "gb_run_counter finds %s", run->counters[0].name);
    }
    CHECK(gb_run_counter(run, "no_such_counter") == NULL, "gb_run_counter: absent is NULL");
    if (c->fail_at && c->n == c->fail_at) return pb_fail(PB_IO, "results disk full (test)");
    return PB_OK;
}

static void print_rec(const Rec *r) {
    if (r->error) {
        printf("  %-44s error: %s\n", r->name, r->error_message);
        return;
    }
    if (r->ratio)
        printf("  %-44s %10lld reps  real %8.3f%%   cpu %8.3f%%", r->name, (long long)r->iterations, 100 * r->real_ns,
               100 * r->cpu_ns);
    else
        printf("  %-44s %10lld its   real %12.2f ns  cpu %12.2f ns", r->name, (long long)r->iterations, r->real_ns,
               r->cpu_ns);
    for (int i = 0; i < r->n_counters; i++) printf("  %s=%.4g", r->counter_names[i], r->counter_values[i]);
    printf("\n");
}

static const Rec *find(const Collector *c, const char *name) {
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->recs[i].name, name)) return &c->recs[i];
    return NULL;
}

static const Rec *find_family(const Collector *c, const char *family, const char *aggregate, int64_t rep) {
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->recs[i].family, family) && !strcmp(c->recs[i].aggregate, aggregate) &&
            (aggregate[0] || c->recs[i].repetition_index == rep))
            return &c->recs[i];
    return NULL;
}

static double counter(const Rec *r, const char *name) {
    for (int i = 0; i < r->n_counters; i++)
        if (!strcmp(r->counter_names[i], name)) return r->counter_values[i];
    return NAN;
}

static int near(double a, double b, double rel) { return fabs(a - b) <= rel * fabs(b); }

/* ---- flags -------------------------------------------------------------- */

static PbStatus init(int n, const char **args) {
    char *argv[16];
    for (int i = 0; i < n; i++) argv[i] = (char *)args[i];
    argv[n] = NULL;
    int argc = n;
    pb_clear_error();
    return gb_initialize(&argc, argv);
}

static void test_flags(void) {
    /* Unknown flag: an error naming it, argv untouched. */
    char *argv[] = {"test_gbench", "--benchmark_foo=1", "keep", NULL};
    int argc = 3;
    PbStatus st = gb_initialize(&argc, argv);
    CHECK(st == PB_USAGE, "unknown --benchmark_foo gave '%s'", pb_status_name(st));
    CHECK(strstr(pb_errmsg(), "--benchmark_foo=1") != NULL, "message names the flag: %s", pb_errmsg());
    CHECK(argc == 3 && !strcmp(argv[1], "--benchmark_foo=1"), "argv untouched on error");
    printf("unknown flag: %s\n", pb_errmsg());

    /* Values the library would answer with usage + exit(): statuses here. */
    static const char *const bad[] = {
        "--benchmark_format=xml",     "--benchmark_out_format=yaml",  "--benchmark_color=", "--benchmark_time_unit=ps",
        "--benchmark_min_time=0.01s", "--benchmark_repetitions=many", "--benchmark_filter",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *a[] = {"test_gbench", bad[i]};
        st = init(2, a);
        CHECK(st == PB_USAGE, "%s gave '%s'", bad[i], pb_status_name(st));
        char flag[64];
        snprintf(flag, sizeof flag, "%.*s", (int)strcspn(bad[i], "="), bad[i]);
        CHECK(strstr(pb_errmsg(), flag) != NULL, "message names %s: %s", flag, pb_errmsg());
    }

    /* Good flags are taken out; the others keep their order. */
    char *good[] = {"test_gbench",
                    "--keep",
                    "--benchmark_min_time=0.01",
                    "--benchmark_repetitions=1",
                    "x",
                    "--benchmark_color=auto",
                    NULL};
    argc = 6;
    CHECK_OK(gb_initialize(&argc, good));
    CHECK(argc == 3, "argc after taking the flags out: %d", argc);
    CHECK(!strcmp(good[0], "test_gbench") && !strcmp(good[1], "--keep") && !strcmp(good[2], "x") && good[3] == NULL,
          "remaining argv: %s %s %s", good[0], good[1], good[2]);
}

static void test_register_errors(void) {
    GbSpec s = {.name = "x", .fn = k_early};
    s.n_args = GB_MAX_ARGS + 1;
    CHECK(gb_register(&s) == PB_RANGE, "too many args refused");
    s.n_args = 0;
    s.min_time = 0.1;
    s.iterations = 10;
    CHECK(gb_register(&s) == PB_USAGE, "iterations with min_time refused: %s", pb_errmsg());
    GbSpec nofn = {.name = "y"};
    CHECK(gb_register(&nofn) == PB_USAGE, "no function refused");
    CHECK(gb_register(NULL) == PB_USAGE, "NULL spec refused");
    Collector *c = calloc(1, sizeof *c);
    CHECK(gb_run(collect, c, GB_CONSOLE_QUIET) == PB_USAGE, "gb_run with nothing registered");
    free(c);
}

/* ---- registration and the main run ---------------------------------------- */

static void register_all(void) {
    GbSpec specs[] = {
        {.name = "tiny", .fn = k_tiny},
        {.name = "call", .fn = k_call},
        {.name = "args", .fn = k_args, .args = {16, 3}, .n_args = 2},
        {.name = "counters", .fn = k_counters, .args = {1024}, .n_args = 1},
        {.name = "sleep", .fn = k_sleep, .use_real_time = 1, .min_time = 0.005},
        {.name = "repeated", .fn = k_repeated, .repetitions = 3},
        {.name = "error", .fn = k_error},
        {.name = "early", .fn = k_early},
        {.name = "range", .fn = k_range, .args = {5}, .n_args = 1},
        {.name = "badcounter", .fn = k_badcounter},
        {.name = "fixed", .fn = k_fixed, .iterations = 10},
        {.name = "pause_outside", .fn = k_pause_outside, .iterations = 3},
        {.name = "paused_end", .fn = k_paused_end, .iterations = 3},
    };
    _Static_assert(sizeof specs / sizeof specs[0] == K_COUNT, "one spec per kernel");
    for (int i = 0; i < K_COUNT; i++) {
        ctxs[i].id = i;
        specs[i].ctx = &ctxs[i];
        CHECK_OK(gb_register(&specs[i]));
    }
}

static void check_main_run(const Collector *c) {
    CHECK(report_ctx_seen == c, "report callback got its context pointer");
    for (int i = 0; i < K_COUNT; i++) {
        CHECK(received[i] == &ctxs[i], "kernel %d received ctx %p, expected %p", i, received[i], (void *)&ctxs[i]);
        CHECK(ctxs[i].id == i && ctxs[i].calls > 0, "kernel %d ran (%d calls)", i, ctxs[i].calls);
    }

    /* Plain runs: names, args, iterations and plausible times. */
    static const char *const plain[] = {"tiny", "call", "args/16/3", "counters/1024"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        const Rec *r = find(c, plain[i]);
        CHECK(r != NULL, "run %s reported", plain[i]);
        if (!r) continue;
        CHECK(!r->error && r->aggregate[0] == '\0' && r->repetition_index == 0 && r->repetitions == 1,
              "%s: a plain single repetition", plain[i]);
        CHECK(r->iterations > 0, "%s: %lld iterations", plain[i], (long long)r->iterations);
        CHECK(r->real_ns > 0 && r->cpu_ns > 0 && r->real_ns < 1e6 && r->cpu_ns < 1e6, "%s: real %g ns, cpu %g ns",
              plain[i], r->real_ns, r->cpu_ns);
    }
    const Rec *tiny = find(c, "tiny");
    if (tiny) {
        CHECK(tiny->iterations % 256 == 0, "tiny: batches of 256 (%lld)", (long long)tiny->iterations);
        CHECK(tiny->cpu_ns < 100, "tiny: an LCG step in %g ns", tiny->cpu_ns);
    }
    const Rec *call = find(c, "call");
    if (call) CHECK(call->cpu_ns < 100, "gb_keep_running costs %g ns per call", call->cpu_ns);

    const Rec *args = find(c, "args/16/3");
    if (args) {
        CHECK(!strcmp(args->family, "args") && !strcmp(args->run_name, "args/16/3"), "args: family '%s', run name '%s'",
              args->family, args->run_name);
        CHECK(args->n_args == 2 && args->args[0] == 16 && args->args[1] == 3, "args: %d args %lld %lld", args->n_args,
              (long long)args->args[0], (long long)args->args[1]);
    }
    CHECK(ctxs[K_ARGS].a0 == 16 && ctxs[K_ARGS].a1 == 3, "gb_range gave %lld %lld", (long long)ctxs[K_ARGS].a0,
          (long long)ctxs[K_ARGS].a1);

    const Rec *cn = find(c, "counters/1024");
    if (cn) {
        double ips = counter(cn, "items_per_second"), bps = counter(cn, "bytes_per_second");
        /* Rates use CPU time unless use_real_time: items = 1024 per iteration. */
        CHECK(near(ips, 1024 * 1e9 / cn->cpu_ns, 1e-6), "items/s %g vs %g", ips, 1024 * 1e9 / cn->cpu_ns);
        CHECK(near(bps, 4 * ips, 1e-9), "bytes/s %g = 4 x items/s %g", bps, ips);
        CHECK(counter(cn, "answer") == 42.0, "plain counter %g", counter(cn, "answer"));
        CHECK(near(counter(cn, "per_iter"), 3.0, 1e-12), "avg-iterations counter %g", counter(cn, "per_iter"));
        CHECK(near(counter(cn, "s_per_item"), 1 / ips, 1e-6), "rate|invert counter %g vs %g", counter(cn, "s_per_item"),
              1 / ips);
    }

    /* Real time for a sleeping kernel; its CPU time is tiny. */
    const Rec *sl = find_family(c, "sleep", "", 0);
    CHECK(sl != NULL, "sleep reported");
    if (sl) {
        CHECK(strstr(sl->run_name, "real_time") && strstr(sl->run_name, "min_time:0.005"),
              "sleep: run name '%s' shows real_time and its own min_time", sl->run_name);
        /* The upper bound only catches a broken clock: a loaded machine (or a
         * sanitizer build) can oversleep a 1 ms sleep by tens of ms. */
        CHECK(sl->real_ns > 0.9e6 && sl->real_ns < 500e6, "sleep: real %g ns per 1 ms sleep", sl->real_ns);
        CHECK(sl->cpu_ns < sl->real_ns / 4, "sleep: cpu %g ns << real %g ns", sl->cpu_ns, sl->real_ns);
        /* Its own min_time (5 ms of real time) overrides the flag's 10 ms. */
        CHECK(sl->iterations * sl->real_ns >= 5e6, "sleep: %lld iterations, %g ms in all", (long long)sl->iterations,
              sl->iterations * sl->real_ns / 1e6);
    }

    /* Three repetitions, then mean/median/stddev/cv over them. */
    double lo = INFINITY, hi = 0, sum = 0;
    for (int rep = 0; rep < 3; rep++) {
        const Rec *r = find_family(c, "repeated", "", rep);
        CHECK(r != NULL, "repeated: repetition %d reported", rep);
        if (!r) continue;
        CHECK(r->repetitions == 3 && r->iterations > 0 && r->real_ns > 0, "repeated rep %d", rep);
        CHECK(strstr(r->run_name, "repeats:3") != NULL, "run name '%s'", r->run_name);
        lo = fmin(lo, r->real_ns), hi = fmax(hi, r->real_ns), sum += r->real_ns;
    }
    static const char *const aggs[] = {"mean", "median", "stddev", "cv"};
    for (size_t i = 0; i < 4; i++) {
        const Rec *a = find_family(c, "repeated", aggs[i], -1);
        CHECK(a != NULL, "repeated: aggregate %s reported", aggs[i]);
        if (!a) continue;
        char want[64];
        snprintf(want, sizeof want, "repeated/repeats:3_%s", aggs[i]);
        CHECK(!strcmp(a->name, want), "aggregate name '%s', expected '%s'", a->name, want);
        CHECK(a->repetition_index == -1 && a->iterations == 3, "%s: over 3 repetitions (%lld)", aggs[i],
              (long long)a->iterations);
        CHECK(a->ratio == !strcmp(aggs[i], "cv"), "%s: ratio flag %d", aggs[i], a->ratio);
        CHECK(a->real_ns >= 0 && a->cpu_ns >= 0, "%s: non-negative", aggs[i]);
        if (!strcmp(aggs[i], "mean"))
            CHECK(near(a->real_ns, sum / 3, 1e-6), "mean %g vs mean of reps %g", a->real_ns, sum / 3);
        if (!strcmp(aggs[i], "median"))
            CHECK(a->real_ns >= lo && a->real_ns <= hi, "median %g within [%g, %g]", a->real_ns, lo, hi);
        if (!strcmp(aggs[i], "cv")) {
            const Rec *m = find_family(c, "repeated", "mean", -1);
            const Rec *sd = find_family(c, "repeated", "stddev", -1);
            if (m && sd)
                CHECK(near(a->real_ns, sd->real_ns / m->real_ns, 1e-6) && near(a->cpu_ns, sd->cpu_ns / m->cpu_ns, 1e-6),
                      "cv %g, %g is stddev/mean %g, %g", a->real_ns, a->cpu_ns, sd->real_ns / m->real_ns,
                      sd->cpu_ns / m->cpu_ns);
        }
    }

    /* Error runs: flagged, with their messages; no iterations timed. */
    static const struct {
        const char *name, *msg;
    } errs[] = {
        {"error", "no data for T=4096"},
        {"early", "returned before gb_keep_running"},
        {"range/5", "gb_range(3): benchmark 'range' has 1 argument"},
        {"badcounter", "unknown flag bits"},
        {"pause_outside/iterations:3", "inside the gb_keep_running loop"},
        {"paused_end/iterations:3", "paused"},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        const Rec *r = find(c, errs[i].name);
        CHECK(r != NULL, "error run %s reported", errs[i].name);
        if (r)
            CHECK(r->error && strstr(r->error_message, errs[i].msg) != NULL, "%s: error %d, message '%s'", errs[i].name,
                  r->error, r->error_message);
    }
    CHECK(ctxs[K_ERROR].a0 == 0, "the loop after gb_skip_with_error ran %lld times", (long long)ctxs[K_ERROR].a0);

    const Rec *fx = find(c, "fixed/iterations:10");
    CHECK(fx != NULL, "fixed/iterations:10 reported");
    if (fx) {
        CHECK(!fx->error && fx->iterations == 10, "fixed: %lld iterations", (long long)fx->iterations);
        CHECK(fx->real_ns < 2.5e6, "fixed: paused 5 ms set-up excluded (real %g ns)", fx->real_ns);
    }
    CHECK(inside_register == PB_USAGE && inside_clear == PB_USAGE, "register/clear inside a run refused (%d, %d)",
          inside_register, inside_clear);
}

/* Runs with stdout redirected to a file: the console output of AUTO mode
 * must carry no colour when stdout is not a terminal. */
static void test_no_colour_in_files(void) {
    const char *a[] = {"test_gbench", "--benchmark_filter=^args/"};
    CHECK_OK(init(2, a));
    char path[] = "/tmp/test_gbench_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);
    Collector *c = calloc(1, sizeof *c);
    PbStatus st = gb_run(collect, c, GB_CONSOLE_AUTO);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    CHECK(st == PB_OK, "filtered run: %s", pb_errmsg());
    CHECK(c->n == 1 && !strcmp(c->recs[0].name, "args/16/3"), "the filter kept only args (%d runs)", c->n);
    char buf[4096] = {0};
    lseek(fd, 0, SEEK_SET);
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    unlink(path);
    CHECK(got > 0 && strstr(buf, "args/16/3") != NULL, "console table written: %s", buf);
    CHECK(strchr(buf, '\033') == NULL, "no escape sequences in a non-terminal stdout");
    free(c);
}

static void test_out_file(void) {
    char path[] = "/tmp/test_gbench_out_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    close(fd);
    char flag[128];
    snprintf(flag, sizeof flag, "--benchmark_out=%s", path);
    const char *a[] = {"test_gbench", "--benchmark_filter=^args/", flag, "--benchmark_out_format=json"};
    CHECK_OK(init(4, a));
    Collector *c = calloc(1, sizeof *c);
    CHECK_OK(gb_run(collect, c, GB_CONSOLE_QUIET));
    FILE *f = fopen(path, "r");
    char buf[8192] = {0};
    size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    unlink(path);
    CHECK(got > 0 && strstr(buf, "\"name\": \"args/16/3\"") != NULL, "JSON file has the run");

    /* A file that cannot be opened: a status, not the library's exit(1). */
    const char *b[] = {"test_gbench", "--benchmark_out=/nonexistent-dir/x.json"};
    CHECK_OK(init(2, b));
    PbStatus st = gb_run(collect, c, GB_CONSOLE_QUIET);
    CHECK(st == PB_IO && strstr(pb_errmsg(), "/nonexistent-dir/x.json"), "unopenable out: %s: %s", pb_status_name(st),
          pb_errmsg());
    const char *d[] = {"test_gbench", "--benchmark_out="};
    CHECK_OK(init(2, d));
    free(c);
}

static void test_no_match_and_callback_failure(void) {
    const char *a[] = {"test_gbench", "--benchmark_filter=^nothing_here$"};
    CHECK_OK(init(2, a));
    Collector *c = calloc(1, sizeof *c);
    PbStatus st = gb_run(collect, c, GB_CONSOLE_QUIET);
    CHECK(st == PB_USAGE && strstr(pb_errmsg(), "filter"), "no match: %s: %s", pb_status_name(st), pb_errmsg());

    /* The callback fails on the first result: the status comes back and the
     * remaining kernels are not run. */
    const char *b[] = {"test_gbench", "--benchmark_filter=^(tiny|args/)"};
    CHECK_OK(init(2, b));
    int args_calls = ctxs[K_ARGS].calls;
    memset(c, 0, sizeof *c);
    c->fail_at = 1;
    st = gb_run(collect, c, GB_CONSOLE_QUIET);
    CHECK(st == PB_IO && strstr(pb_errmsg(), "disk full"), "callback failure: %s: %s", pb_status_name(st), pb_errmsg());
    CHECK(ctxs[K_ARGS].calls == args_calls, "kernel after the failure not run");
    CHECK(c->n == 1, "callback not called after failing (%d calls)", c->n);
    free(c);
}

int main(void) {
    for (int i = 0; i < 1024; i++) data[i] = (float)(i % 7);
    test_flags();
    test_register_errors();
    register_all();
    test_no_match_and_callback_failure();
    test_no_colour_in_files();
    test_out_file();

    const char *a[] = {"test_gbench", "--benchmark_filter=.", "--benchmark_min_time=0.01"};
    CHECK_OK(init(3, a));
    memset(received, 0, sizeof received);
    for (int i = 0; i < K_COUNT; i++) ctxs[i].calls = 0;
    Collector *c = calloc(1, sizeof *c);
    CHECK_OK(gb_run(collect, c, GB_CONSOLE_AUTO));
    printf("\nruns as the C reporter received them:\n");
    for (int i = 0; i < c->n; i++) print_rec(&c->recs[i]);
    check_main_run(c);
    free(c);

    CHECK_OK(gb_clear());
    CHECK(gb_run(collect, NULL, GB_CONSOLE_QUIET) == PB_USAGE, "nothing registered after gb_clear");
    return check_exit_code("gbench");
}
