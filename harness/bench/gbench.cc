/* gbench.cc: the extern "C" face of Google Benchmark 1.7 (see gbench.h).
 *
 * The project's only C++. Three jobs:
 *   1. registration: each GbSpec becomes one benchmark family whose lambda
 *      calls the C kernel with a GbState on its stack and the spec's ctx;
 *   2. the boundary: no C++ exception crosses into C (every entry point
 *      catches), and misuse the library would abort on (BM_CHECK) becomes an
 *      error run or a status;
 *   3. reporting: a BenchmarkReporter that forwards to the chosen display
 *      reporter and converts every Run into a GbRun for the C callback.
 *
 * Library behaviour this file leans on (1.7.1, as Debian ships it):
 *   - per-benchmark Repetitions()/MinTime() override the command-line flags,
 *     so they are set only when the spec asks;
 *   - Initialize() calls exit() (after printing usage) for a bad
 *     --benchmark_format/--benchmark_out_format/--benchmark_time_unit or an
 *     empty --benchmark_color, and RunSpecifiedBenchmarks() exit()s when
 *     --benchmark_out cannot be opened: both are checked here first;
 *   - flags take only "--benchmark_NAME=VALUE" (two dashes, '='); min_time is
 *     a plain number of seconds (1.8's "0.5s" / "100x" forms are rejected);
 *   - a ConsoleReporter built with default options prints colour even into a
 *     pipe, so the options are always spelled out;
 *   - CreateDefaultDisplayReporter() returns one static reporter made on
 *     first use, so each gb_run builds its own instead;
 *   - Debian builds the library with CMAKE_BUILD_TYPE=None: optimised, but
 *     without -DNDEBUG, so its context header (and the JSON context's
 *     "library_build_type") says "***WARNING*** Library was built as DEBUG.
 *     Timings may be affected." The timed loop (State::KeepRunning) is inline
 *     in the header and so compiled here, in our optimised build; only the
 *     library's bookkeeping between timed regions keeps its assertions.
 */
#include "gbench.h"

#include <benchmark/benchmark.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

/* One registered spec, owned here; the library's family points at it. */
struct Entry {
    std::string name;
    GbFn fn;
    void *ctx;
    int n_args;
};

/* Display settings read from the flags (and the library's environment
 * variables): the library keeps its copies private. */
struct Display {
    std::string format = "console";
    std::string color = "auto";
    std::string out;
    bool tabular = false;
};

std::vector<std::unique_ptr<Entry>> g_entries;
Display g_display;
bool g_display_read_env = false;
bool g_running = false;
bool g_abort = false; /* the report callback failed: skip the rest */

PbStatus fail_exception(const char *where) {
    try {
        throw;
    } catch (const std::bad_alloc &) {
        return pb_fail(PB_NOMEM, "%s: out of memory", where);
    } catch (const std::exception &e) {
        return pb_fail(PB_INTERNAL, "%s: %s", where, e.what());
    } catch (...) {
        return pb_fail(PB_INTERNAL, "%s: unknown C++ exception", where);
    }
}

/* The library's truthiness of a flag value (its IsTruthyFlagValue). */
bool truthy(const std::string &v) {
    if (v.size() == 1) return std::isalnum(static_cast<unsigned char>(v[0])) && std::strchr("0fFnN", v[0]) == nullptr;
    std::string l;
    for (char c : v) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return !(l == "false" || l == "no" || l == "off");
}

/* For "--benchmark_NAME=VALUE" returns VALUE; for "--benchmark_NAME" returns
 * "" if bare is allowed (boolean flags); otherwise NULL. */
const char *flag_value(const char *arg, const char *name, bool bare) {
    static const char prefix[] = "--benchmark_";
    if (std::strncmp(arg, prefix, sizeof prefix - 1) != 0) return nullptr;
    arg += sizeof prefix - 1;
    size_t n = std::strlen(name);
    if (std::strncmp(arg, name, n) != 0) return nullptr;
    if (arg[n] == '=') return arg + n + 1;
    return (arg[n] == '\0' && bare) ? "" : nullptr;
}

bool is_one_of(const std::string &v, const char *const *choices) {
    for (; *choices; choices++)
        if (v == *choices) return true;
    return false;
}

/* Values that make Initialize() print usage and exit(): refused here. */
PbStatus check_exit_values(const char *what, const char *name, const std::string &v) {
    static const char *const formats[] = {"console", "json", "csv", nullptr};
    static const char *const units[] = {"ns", "us", "ms", "s", nullptr};
    if ((!std::strcmp(name, "format") || !std::strcmp(name, "out_format")) && !is_one_of(v, formats))
        return pb_fail(PB_USAGE, "%s: format '%s' is not one of console, json, csv", what, v.c_str());
    if (!std::strcmp(name, "time_unit") && !v.empty() && !is_one_of(v, units))
        return pb_fail(PB_USAGE, "%s: time unit '%s' is not one of ns, us, ms, s", what, v.c_str());
    if (!std::strcmp(name, "color") && v.empty())
        return pb_fail(PB_USAGE, "%s: give a value: auto, true or false", what);
    return PB_OK;
}

const char *const k_checked_flags[] = {"format", "out_format", "time_unit", "color", nullptr};

/* The library reads BENCHMARK_<FLAG> environment variables as defaults. */
PbStatus check_environment(void) {
    for (const char *const *f = k_checked_flags; *f; f++) {
        std::string var = "BENCHMARK_";
        for (const char *c = *f; *c; c++) var += static_cast<char>(std::toupper(static_cast<unsigned char>(*c)));
        const char *v = std::getenv(var.c_str());
        if (v) {
            std::string what = "environment variable " + var;
            PbStatus st = check_exit_values(what.c_str(), *f, v);
            if (st != PB_OK) return st;
        }
    }
    return PB_OK;
}

void read_display_env(void) {
    if (g_display_read_env) return;
    g_display_read_env = true;
    if (const char *v = std::getenv("BENCHMARK_FORMAT")) g_display.format = v;
    if (const char *v = std::getenv("BENCHMARK_COLOR")) g_display.color = v;
    if (const char *v = std::getenv("BENCHMARK_OUT")) g_display.out = v;
    if (const char *v = std::getenv("BENCHMARK_COUNTERS_TABULAR")) g_display.tabular = truthy(v);
}

const char k_known_flags[] = "filter, min_time, min_warmup_time, repetitions, "
                             "enable_random_interleaving, report_aggregates_only, "
                             "display_aggregates_only, format, out, out_format, color, "
                             "counters_tabular, perf_counters, context, time_unit, list_tests";

bool colour_wanted(GbConsole mode) {
    if (mode != GB_CONSOLE_AUTO) return false;
    if (g_display.color != "auto") return truthy(g_display.color);
    const char *term = std::getenv("TERM");
    return isatty(STDOUT_FILENO) && term && *term && std::strcmp(term, "dumb") != 0;
}

std::unique_ptr<benchmark::BenchmarkReporter> make_display(GbConsole mode) {
    using benchmark::ConsoleReporter;
    if (mode == GB_CONSOLE_QUIET) return nullptr;
    if (g_display.format == "json") return std::unique_ptr<benchmark::BenchmarkReporter>(new benchmark::JSONReporter);
    if (g_display.format == "csv") {
        /* Deprecated in 1.7 but still what --benchmark_format=csv means. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        return std::unique_ptr<benchmark::BenchmarkReporter>(new benchmark::CSVReporter);
#pragma GCC diagnostic pop
    }
    int opts = ConsoleReporter::OO_None;
    if (colour_wanted(mode)) opts |= ConsoleReporter::OO_Color;
    if (g_display.tabular) opts |= ConsoleReporter::OO_Tabular;
    return std::unique_ptr<benchmark::BenchmarkReporter>(
        new ConsoleReporter(static_cast<ConsoleReporter::OutputOptions>(opts)));
}

/* The run's args from its name ("16/3", or "T:16/C:3" with arg names). */
int parse_args(const std::string &s, int64_t *args) {
    int n = 0;
    size_t pos = 0;
    while (pos < s.size() && n < GB_MAX_ARGS) {
        size_t end = s.find('/', pos);
        if (end == std::string::npos) end = s.size();
        std::string part = s.substr(pos, end - pos);
        size_t colon = part.rfind(':');
        if (colon != std::string::npos) part = part.substr(colon + 1);
        args[n++] = std::strtoll(part.c_str(), nullptr, 10);
        pos = end + 1;
    }
    return n;
}

/* Forwards to the display reporter and hands each run to the C callback. */
class CReporter : public benchmark::BenchmarkReporter {
  public:
    CReporter(benchmark::BenchmarkReporter *display, GbReportFn fn, void *ctx)
        : display_(display), fn_(fn), ctx_(ctx) {}

    bool ReportContext(const Context &context) override { return display_ ? display_->ReportContext(context) : true; }

    void ReportRuns(const std::vector<Run> &runs) override {
        if (display_) display_->ReportRuns(runs);
        for (const Run &r : runs) {
            if (status_ != PB_OK || !fn_) return;
            report_one(r);
        }
    }

    void Finalize() override {
        if (display_) display_->Finalize();
    }

    PbStatus status() const { return status_; }

  private:
    void report_one(const Run &r) {
        std::string run_name = r.run_name.str();
        std::string name = r.benchmark_name();
        std::vector<GbCounter> counters;
        counters.reserve(r.counters.size());
        for (const auto &kv : r.counters) counters.push_back(GbCounter{kv.first.c_str(), kv.second.value});

        GbRun g;
        std::memset(&g, 0, sizeof g);
        g.family = r.run_name.function_name.c_str();
        g.run_name = run_name.c_str();
        g.name = name.c_str();
        g.n_args = parse_args(r.run_name.args, g.args);
        bool aggregate = r.run_type == Run::RT_Aggregate;
        g.aggregate = aggregate ? r.aggregate_name.c_str() : "";
        g.repetition_index = aggregate ? -1 : r.repetition_index;
        g.repetitions = r.repetitions;
        g.iterations = r.iterations;
        g.time_is_ratio = aggregate && r.aggregate_unit == benchmark::kPercentage;
        if (g.time_is_ratio) {
            g.real_ns_per_iter = r.real_accumulated_time;
            g.cpu_ns_per_iter = r.cpu_accumulated_time;
        } else if (r.iterations > 0 && !r.error_occurred) {
            /* Accumulated seconds; for aggregates already rescaled so that
             * dividing by iterations (= repetitions) gives per-iteration. */
            g.real_ns_per_iter = r.real_accumulated_time * 1e9 / (double)r.iterations;
            g.cpu_ns_per_iter = r.cpu_accumulated_time * 1e9 / (double)r.iterations;
        }
        g.counters = counters.data();
        g.n_counters = (int)counters.size();
        g.error = r.error_occurred;
        g.error_message = r.error_occurred ? r.error_message.c_str() : "";

        PbStatus st = fn_(&g, ctx_);
        if (st != PB_OK) {
            status_ = st;
            g_abort = true;
        }
    }

    benchmark::BenchmarkReporter *display_;
    GbReportFn fn_;
    void *ctx_;
    PbStatus status_ = PB_OK;
};

} // namespace

/* The state a kernel sees: the library's State plus what the guards need. */
struct GbState {
    benchmark::State *st;
    const Entry *entry;
    bool started; /* keep_running returned 1: the timer runs */
    bool paused;
    bool finished; /* keep_running returned 0: calling again would abort */
};

namespace {

void run_kernel(const Entry *e, benchmark::State &st) {
    GbState s{&st, e, false, false, false};
    if (g_abort) {
        st.SkipWithError("not run: the report callback failed earlier");
        return;
    }
    e->fn(&s, e->ctx);
    /* The library aborts (BM_CHECK) when a kernel returns before its loop
     * ended; an error run is the kinder answer. SkipWithError also stops a
     * timer left running. */
    if (!st.error_occurred() && st.iterations() < st.max_iterations)
        st.SkipWithError("kernel returned before gb_keep_running returned 0 "
                         "(loop until it does)");
}

void skip(GbState *s, const char *msg) {
    if (!s->st->error_occurred()) s->st->SkipWithError(msg);
}

} // namespace

/* ---- registration -------------------------------------------------------- */

extern "C" PbStatus gb_register(const GbSpec *spec) {
    if (g_running) return pb_fail(PB_USAGE, "gb_register: not allowed while gb_run is running");
    if (!spec || !spec->name || !*spec->name || !spec->fn)
        return pb_fail(PB_USAGE, "gb_register: a benchmark needs a name and a function");
    const char *nm = spec->name;
    if (spec->n_args < 0 || spec->n_args > GB_MAX_ARGS)
        return pb_fail(PB_RANGE, "gb_register(%s): %d arguments; 0 to %d allowed", nm, spec->n_args, GB_MAX_ARGS);
    if (spec->repetitions < 0 || spec->min_time < 0 || spec->iterations < 0)
        return pb_fail(PB_RANGE,
                       "gb_register(%s): repetitions %d, min_time %g, iterations %lld: "
                       "none may be negative (0 means the default)",
                       nm, spec->repetitions, spec->min_time, (long long)spec->iterations);
    if (spec->iterations > 0 && spec->min_time > 0)
        return pb_fail(PB_USAGE, "gb_register(%s): set iterations or min_time, not both", nm);
    try {
        std::unique_ptr<Entry> e(new Entry{nm, spec->fn, spec->ctx, spec->n_args});
        const Entry *ep = e.get();
        benchmark::internal::Benchmark *b =
            benchmark::RegisterBenchmark(ep->name.c_str(), [ep](benchmark::State &st) { run_kernel(ep, st); });
        if (spec->n_args > 0) b->Args(std::vector<int64_t>(spec->args, spec->args + spec->n_args));
        if (spec->use_real_time) b->UseRealTime();
        /* Only when asked: these override --benchmark_repetitions/min_time. */
        if (spec->repetitions > 0) b->Repetitions(spec->repetitions);
        if (spec->min_time > 0) b->MinTime(spec->min_time);
        if (spec->iterations > 0) b->Iterations(spec->iterations);
        g_entries.push_back(std::move(e));
    } catch (...) {
        return fail_exception("gb_register");
    }
    return PB_OK;
}

extern "C" PbStatus gb_clear(void) {
    if (g_running) return pb_fail(PB_USAGE, "gb_clear: not allowed while gb_run is running");
    try {
        benchmark::ClearRegisteredBenchmarks();
        g_entries.clear();
    } catch (...) {
        return fail_exception("gb_clear");
    }
    return PB_OK;
}

/* ---- inside a kernel ------------------------------------------------------ */

extern "C" int gb_keep_running(GbState *s) {
    if (s->finished) return 0;
    if (s->paused) {
        skip(s, "gb_keep_running called while timing is paused "
                "(call gb_resume_timing first)");
        s->finished = true;
        return 0;
    }
    if (s->st->KeepRunning()) {
        s->started = true;
        return 1;
    }
    s->finished = true;
    return 0;
}

extern "C" int gb_keep_running_batch(GbState *s, int64_t n) {
    if (s->finished) return 0;
    if (n < 1 || s->paused) {
        skip(s, n < 1 ? "gb_keep_running_batch: the batch size must be at least 1"
                      : "gb_keep_running_batch called while timing is paused "
                        "(call gb_resume_timing first)");
        s->finished = true;
        return 0;
    }
    if (s->st->KeepRunningBatch(n)) {
        s->started = true;
        return 1;
    }
    s->finished = true;
    return 0;
}

extern "C" int64_t gb_range(GbState *s, int i) {
    if (i < 0 || i >= s->entry->n_args) {
        char msg[320];
        std::snprintf(msg, sizeof msg, "gb_range(%d): benchmark '%s' has %d argument%s", i, s->entry->name.c_str(),
                      s->entry->n_args, s->entry->n_args == 1 ? "" : "s");
        skip(s, msg);
        return 0;
    }
    return s->st->range((size_t)i);
}

extern "C" int64_t gb_iterations(GbState *s) { return s->st->iterations(); }

extern "C" void gb_set_items_processed(GbState *s, int64_t items) {
    try {
        s->st->SetItemsProcessed(items);
    } catch (...) {
        skip(s, "gb_set_items_processed: out of memory");
    }
}

extern "C" void gb_set_bytes_processed(GbState *s, int64_t bytes) {
    try {
        s->st->SetBytesProcessed(bytes);
    } catch (...) {
        skip(s, "gb_set_bytes_processed: out of memory");
    }
}

extern "C" void gb_set_counter(GbState *s, const char *name, double value, unsigned flags) {
    using benchmark::Counter;
    const unsigned known = GB_COUNTER_RATE | GB_COUNTER_ITERATION_INVARIANT | GB_COUNTER_AVG_ITERATIONS |
                           GB_COUNTER_INVERT | GB_COUNTER_KIBI;
    if (!name || (flags & ~known)) {
        char msg[200];
        std::snprintf(msg, sizeof msg, "gb_set_counter(%s): %s", name ? name : "NULL",
                      name ? "unknown flag bits (use GbCounterFlags)" : "a counter needs a name");
        skip(s, msg);
        return;
    }
    int f = Counter::kDefaults;
    if (flags & GB_COUNTER_RATE) f |= Counter::kIsRate;
    if (flags & GB_COUNTER_ITERATION_INVARIANT) f |= Counter::kIsIterationInvariant;
    if (flags & GB_COUNTER_AVG_ITERATIONS) f |= Counter::kAvgIterations;
    if (flags & GB_COUNTER_INVERT) f |= Counter::kInvert;
    Counter::OneK k = (flags & GB_COUNTER_KIBI) ? Counter::kIs1024 : Counter::kIs1000;
    try {
        s->st->counters[name] = Counter(value, static_cast<Counter::Flags>(f), k);
    } catch (...) {
        skip(s, "gb_set_counter: out of memory");
    }
}

/* The library aborts on a pause outside the loop, a double pause, or any
 * pause/resume after an error: those become error runs (or no-ops). */
extern "C" void gb_pause_timing(GbState *s) {
    if (s->st->error_occurred()) return;
    if (s->paused || !s->started || s->finished) {
        skip(s, s->paused ? "gb_pause_timing: timing is already paused"
                          : "gb_pause_timing: call it inside the gb_keep_running loop");
        return;
    }
    s->st->PauseTiming();
    s->paused = true;
}

extern "C" void gb_resume_timing(GbState *s) {
    if (s->st->error_occurred()) return;
    if (!s->paused) {
        skip(s, "gb_resume_timing: timing is not paused");
        return;
    }
    s->st->ResumeTiming();
    s->paused = false;
}

extern "C" void gb_skip_with_error(GbState *s, const char *message) {
    skip(s, message && *message ? message : "skipped with an error (no message)");
}

/* ---- flags, running ------------------------------------------------------- */

extern "C" PbStatus gb_initialize(int *argc, char **argv) {
    if (g_running) return pb_fail(PB_USAGE, "gb_initialize: not allowed while gb_run is running");
    if (!argc || *argc < 1 || !argv)
        return pb_fail(PB_USAGE, "gb_initialize: needs argc >= 1 and argv (argv[0] is the program)");
    try {
        read_display_env();
        PbStatus st = check_environment();
        if (st != PB_OK) return st;

        std::vector<char *> ours{argv[0]};
        Display display = g_display;
        for (int i = 1; i < *argc; i++) {
            const char *a = argv[i];
            if (std::strncmp(a, "--benchmark_", 12) != 0) continue;
            for (const char *const *f = k_checked_flags; *f; f++)
                if (const char *v = flag_value(a, *f, false)) {
                    st = check_exit_values(a, *f, v);
                    if (st != PB_OK) return st;
                }
            if (const char *v = flag_value(a, "format", false)) display.format = v;
            if (const char *v = flag_value(a, "color", false)) display.color = v;
            if (const char *v = flag_value(a, "out", false)) display.out = v;
            if (const char *v = flag_value(a, "counters_tabular", true)) display.tabular = truthy(v);
            ours.push_back(argv[i]);
        }
        ours.push_back(nullptr);

        int n = (int)ours.size() - 1;
        benchmark::Initialize(&n, ours.data());
        /* What the library left behind, it did not recognise or parse. */
        if (n > 1)
            return pb_fail(PB_USAGE,
                           "unrecognized or malformed Google Benchmark flag '%s' "
                           "(write --benchmark_NAME=VALUE; min_time is in seconds, "
                           "e.g. 0.5; known names: %s)",
                           ours[1], k_known_flags);
        g_display = display;

        int w = 1;
        for (int i = 1; i < *argc; i++)
            if (std::strncmp(argv[i], "--benchmark_", 12) != 0) argv[w++] = argv[i];
        for (int i = w; i < *argc; i++) argv[i] = nullptr;
        *argc = w;
    } catch (...) {
        return fail_exception("gb_initialize");
    }
    return PB_OK;
}

extern "C" PbStatus gb_run(GbReportFn report, void *ctx, GbConsole console) {
    if (g_running) return pb_fail(PB_USAGE, "gb_run: already running (called from a kernel or callback?)");
    if (g_entries.empty()) return pb_fail(PB_USAGE, "gb_run: no benchmarks registered");
    if (console != GB_CONSOLE_AUTO && console != GB_CONSOLE_PLAIN && console != GB_CONSOLE_QUIET)
        return pb_fail(PB_USAGE, "gb_run: unknown console mode %d", (int)console);
    try {
        read_display_env();
        if (!g_display.out.empty()) {
            /* The library exit()s on a file it cannot open. "a" neither
             * truncates nor leaves anything new behind beyond an empty file
             * the library is about to write anyway. */
            FILE *f = std::fopen(g_display.out.c_str(), "a");
            if (!f)
                return pb_fail(PB_IO, "--benchmark_out=%s: cannot open for writing: %s", g_display.out.c_str(),
                               std::strerror(errno));
            std::fclose(f);
        }
        std::unique_ptr<benchmark::BenchmarkReporter> display = make_display(console);
        CReporter reporter(display.get(), report, ctx);
        /* The library writes "no match" and regex errors, and the
         * --benchmark_list_tests listing, to the reporter's streams. */
        std::ostringstream errors, discard;
        reporter.SetErrorStream(&errors);
        if (console == GB_CONSOLE_QUIET) reporter.SetOutputStream(&discard);

        g_running = true;
        g_abort = false;
        size_t matched = benchmark::RunSpecifiedBenchmarks(&reporter);
        g_running = false;
        g_abort = false;

        if (reporter.status() != PB_OK) return reporter.status();
        if (matched == 0) {
            std::string why = errors.str();
            while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
            return pb_fail(PB_USAGE, "no registered benchmark (of %zu) matches --benchmark_filter%s%s",
                           g_entries.size(), why.empty() ? "" : ": ", why.c_str());
        }
    } catch (...) {
        g_running = false;
        g_abort = false;
        return fail_exception("gb_run");
    }
    return PB_OK;
}

extern "C" const double *gb_run_counter(const GbRun *run, const char *name) {
    for (int i = 0; i < run->n_counters; i++)
        if (!std::strcmp(run->counters[i].name, name)) return &run->counters[i].value;
    return nullptr;
}
