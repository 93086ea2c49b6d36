/* gen_show.c: the `posbench show` tables of a generalization or run file:
 * per length, mean and 95% interval over seeds; then one summary row per
 * encoding with its verdict (extrapolates, degrades, undertrained, n/a). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/text.h"
#include "../../datasets/tasks.h"
#include "../results/bench_h5.h"
#include "../results/gen_h5.h"
#include "../results/h5io.h"
#include "show.h"

/* Width of the encoding column: 16, or the longest spec of the file being
 * shown (gen_show sets it; show runs on one thread). */
static int name_width = 16;

/* A name read raw from a file, as one printable line (core/text.h). */
static const char *shown(char buf[GEN_NAME], const char *name) { return text_sanitize_copy(buf, GEN_NAME, name); }

static void fmt_ci(char *buf, size_t cap, const float *x, int S, int stride, const char *f) {
    double m, h;
    int k;
    gen_mean_ci(x, S, stride, &m, &h, &k);
    if (!k) snprintf(buf, cap, "n/a");
    else {
        char a[32], b[32];
        snprintf(a, sizeof a, f, m);
        snprintf(b, sizeof b, f, h);
        snprintf(buf, cap, k > 1 ? "%s±%s" : "%s", a, b);
    }
}

/* What the summary says of one encoding; NaN: not measured. */
typedef struct {
    char name[GEN_NAME];
    double ppl_L, ppl_long, loss_L, loss_long, mem_ratio, train_tps, task_acc_L, task_acc_long;
    int diverged;
} SummaryRow;

/* The summary rows in the order tables first meet their encodings. */
typedef struct {
    SummaryRow rows[GEN_MAX_ENCODINGS];
    int n;
} Summary;

/* The row of encoding name, added with nothing measured if new; NULL when
 * the summary is full. */
static SummaryRow *summary_row(Summary *s, const char *name) {
    for (int k = 0; k < s->n; k++)
        if (strcmp(s->rows[k].name, name) == 0) return &s->rows[k];
    if (s->n == GEN_MAX_ENCODINGS) return NULL;
    SummaryRow *row = &s->rows[s->n++];
    memset(row, 0, sizeof *row);
    snprintf(row->name, GEN_NAME, "%.63s", name);
    row->ppl_L = row->ppl_long = row->loss_L = row->loss_long = NAN;
    row->mem_ratio = row->train_tps = row->task_acc_L = row->task_acc_long = NAN;
    return row;
}

/* How a table's values v [S seeds, cols lengths] of encoding group g feed
 * its summary row. */
typedef void (*Summarize)(SummaryRow *row, hid_t g, const float *v, int S, int cols);

/* A task: exact-match accuracy at its shortest and longest length. */
static void summarize_task(SummaryRow *row, hid_t g, const float *v, int S, int cols) {
    double h;
    int k;
    (void)g;
    gen_mean_ci(v, S, cols, &row->task_acc_L, &h, &k);
    gen_mean_ci(v + cols - 1, S, cols, &row->task_acc_long, &h, &k);
}

/* Runs of encoding group g that diverged. */
static int diverged_runs(hid_t g) {
    int *div = NULL, rank, d[8], n = 0;
    if (!h5_read_ints(g, "diverged", &div, &rank, d))
        for (int s = 0; s < d[0]; s++) n += div[s];
    free(div);
    return n;
}

/* The language model (v: perplexity): perplexity and loss at L and at the
 * longest length, training speed, evaluation memory growth, divergences. */
static void summarize_lm(SummaryRow *row, hid_t g, const float *v, int S, int cols) {
    double h;
    int k, r, c;
    float *loss = NULL, *tps = NULL, *peak = NULL;
    if (!gen_read_matrix(g, "loss", &loss, &r, &c)) {
        gen_mean_ci(loss, r, c, &row->loss_L, &h, &k);
        gen_mean_ci(loss + c - 1, r, c, &row->loss_long, &h, &k);
    }
    gen_mean_ci(v, S, cols, &row->ppl_L, &h, &k);
    gen_mean_ci(v + cols - 1, S, cols, &row->ppl_long, &h, &k);
    /* the steady rate (after the warm-up steps), else (older files) the whole run's */
    if (!gen_read_matrix(g, "train_tokens_per_s_steady", &tps, &r, &c)) gen_mean_ci(tps, c, 1, &row->train_tps, &h, &k);
    free(tps), tps = NULL;
    if (!isfinite(row->train_tps) && !gen_read_matrix(g, "train_tokens_per_s", &tps, &r, &c))
        gen_mean_ci(tps, c, 1, &row->train_tps, &h, &k);
    if (!gen_read_matrix(g, "eval_peak_bytes", &peak, &r, &c) && c > 1 && peak[0] > 0)
        row->mem_ratio = peak[c - 1] / peak[0];
    row->diverged += diverged_runs(g);
    free(loss), free(tps), free(peak);
}

/* A table's title and column heads, one per evaluation length of the first
 * encoding (*lens[*nl], to free()); nonzero, with nothing printed, if it has
 * none. */
static int table_header(hid_t top, const char *first, const char *title, FILE *out, int **lens, int *nl) {
    long long L = 0;
    h5_read_attr_int(top, "train_len", &L);
    int rank, d[8];
    char path[256];
    snprintf(path, sizeof path, "%s/eval_len", first);
    if (h5_read_ints(top, path, lens, &rank, d)) return 1;
    *nl = d[0];
    fprintf(out, "%s (trained at L = %lld; mean ± 95%% CI over seeds, t-distribution)\n", title, L);
    fprintf(out, "%-*s", name_width, "encoding");
    for (int i = 0; i < *nl; i++) {
        char h[32];
        snprintf(h, sizeof h, "T=%d", (*lens)[i]);
        fprintf(out, " %15s", h);
    }
    fprintf(out, "\n");
    return 0;
}

/* Why an encoding lacks values or diverged, as its group records it. */
static void print_group_notes(hid_t g, FILE *out) {
    char why[512];
    if (!h5_read_attr_string(g, "not_applicable", why, sizeof why)) fprintf(out, "%*s n/a: %s\n", name_width, "", why);
    if (!h5_read_attr_string(g, "diverged_reason", why, sizeof why))
        fprintf(out, "%*s diverged: %s\n", name_width, "", why);
}

/* A table: what the rows show and, for a table the summary reads (sum and
 * feed both set), how they feed it. */
typedef struct {
    const char *title, *value, *fmt;
    Summary *sum;
    Summarize feed;
} Table;

/* One encoding's line of a table (nothing if it lacks the dataset). */
static void show_encoding(hid_t g, const char *enc, const Table *t, int nl, FILE *out) {
    float *v = NULL;
    int S, cols;
    if (gen_read_matrix(g, t->value, &v, &S, &cols)) return;
    char name[GEN_NAME];
    fprintf(out, "%-*s", name_width, shown(name, enc));
    for (int i = 0; i < nl && i < cols; i++) {
        char b[64];
        fmt_ci(b, sizeof b, v + i, S, cols, t->fmt);
        fprintf(out, " %15s", b);
    }
    fprintf(out, "\n");
    SummaryRow *row = t->sum && t->feed ? summary_row(t->sum, enc) : NULL;
    if (row) t->feed(row, g, v, S, cols);
    print_group_notes(g, out);
    free(v);
}

/* Dataset t->value of every encoding of group top, a line per encoding. */
static void show_table(hid_t top, const Table *t, FILE *out) {
    char names[GEN_MAX_ENCODINGS][GEN_NAME];
    int n = gen_read_encodings(top, names, GEN_MAX_ENCODINGS), *lens = NULL, nl = 0;
    if (!n || table_header(top, names[0], t->title, out, &lens, &nl)) return;
    for (int e = 0; e < n; e++) {
        hid_t g = H5Gopen2(top, names[e], H5P_DEFAULT);
        if (g < 0) continue;
        show_encoding(g, names[e], t, nl, out);
        H5Gclose(g);
    }
    fprintf(out, "\n");
    free(lens);
}

/* Whether the first encoding of group g has dataset name. */
static int first_encoding_has(hid_t g, const char *name) {
    char first[1][GEN_NAME];
    if (gen_read_encodings(g, first, 1) != 1) return 0;
    hid_t probe = H5Gopen2(g, first[0], H5P_DEFAULT);
    int has = probe >= 0 && h5_exists(probe, name);
    if (probe >= 0) H5Gclose(probe);
    return has;
}

/* The study's settings line. */
static void print_study(hid_t g, FILE *out) {
    char data[512] = "", tok[32] = "";
    long long steps = 0, seeds = 0, dim = 0, layers = 0, heads = 0;
    h5_read_attr_string(g, "data", data, sizeof data);
    h5_read_attr_string(g, "tokenizer", tok, sizeof tok);
    h5_read_attr_int(g, "steps", &steps), h5_read_attr_int(g, "seeds", &seeds);
    h5_read_attr_int(g, "dim", &dim), h5_read_attr_int(g, "layers", &layers);
    h5_read_attr_int(g, "heads", &heads);
    fprintf(out, "generalization: data %s (%s), %lld layers, dim %lld, %lld heads, %lld steps, %lld seeds\n", data, tok,
            layers, dim, heads, steps, seeds);
    long long lmax = 0;
    if (H5Aexists(g, "randomize_positions") > 0 && !h5_read_attr_int(g, "randomize_positions", &lmax) && lmax > 0)
        fprintf(out,
                "NAME%s: trained at randomized positions (Ruoss et al. 2023), each window a sorted sample of "
                "[0, %lld); evaluated at 0..T-1\n",
                GEN_RANDOMIZED, lmax);
    fprintf(out, "\n");
}

/* The perplexity tables of /generalization; 0 if the file has none. */
static int show_generalization(hid_t file, FILE *out, Summary *sum) {
    if (!h5_exists(file, "generalization")) return 0;
    hid_t g = H5Gopen2(file, "generalization", H5P_DEFAULT);
    print_study(g, out);
    show_table(g, &(Table){"perplexity, non-overlapping windows", "ppl", "%.2f", sum, summarize_lm}, out);
    if (first_encoding_has(g, "ppl_sliding"))
        show_table(g, &(Table){"perplexity, sliding windows", "ppl_sliding", "%.2f", NULL, NULL}, out);
    H5Gclose(g);
    return 1;
}

/* The two accuracy tables of task group tg/name; sum (NULL: none) gets the
 * exact-match accuracy. */
static void show_task(hid_t tg, const char *name, FILE *out, Summary *sum) {
    hid_t g = H5Gopen2(tg, name, H5P_DEFAULT);
    char title[128];
    long long steps = 0;
    h5_read_attr_int(g, "steps", &steps);
    snprintf(title, sizeof title, "task %s: exact-match accuracy (%lld steps)", name, steps);
    show_table(g, &(Table){title, "accuracy", "%.2f", sum, summarize_task}, out);
    snprintf(title, sizeof title, "task %s: answer-token accuracy", name);
    show_table(g, &(Table){title, "token_accuracy", "%.2f", NULL, NULL}, out);
    H5Gclose(g);
}

/* The tables of every task in /tasks; only the first task feeds the
 * summary's accuracy columns. 0 if the file has no task. */
static int show_tasks(hid_t file, FILE *out, Summary *sum) {
    if (!h5_exists(file, "tasks")) return 0;
    hid_t tg = H5Gopen2(file, "tasks", H5P_DEFAULT);
    int n_tasks = 0;
    for (int k = 0; k < TASK_COUNT; k++) {
        const char *name = task_name((TaskKind)k);
        if (!h5_exists(tg, name)) continue;
        show_task(tg, name, out, n_tasks++ ? NULL : sum);
    }
    H5Gclose(tg);
    return n_tasks > 0;
}

/* Bench attention-forward tokens/s of encoding enc at its longest T (*T)
 * with the file's smallest C; NaN if the bench has no such row. */
static double bench_tps(const BenchResults *b, const char *enc, int *T) {
    int best_T = 0, C = 1 << 30;
    for (size_t i = 0; i < b->n; i++)
        if (b->rows[i].dim < C) C = b->rows[i].dim;
    double v = NAN;
    for (size_t i = 0; i < b->n; i++) {
        const BenchRow *w = &b->rows[i];
        if (w->dim != C || strcmp(w->scope, "attention") || strcmp(w->pass, "forward") || strcmp(w->encoding, enc) ||
            w->seq_len < best_T)
            continue;
        best_T = w->seq_len, v = w->tokens_per_s;
    }
    *T = best_T;
    return v;
}

/* The lengths the bench column was measured at: T of every value shown
 * (0: none shown), or mixed when encodings differ. */
typedef struct {
    int T, mixed;
} BenchLength;

static void bench_length_add(BenchLength *b, double tps, int T) {
    if (!isfinite(tps)) return;
    if (!b->T) b->T = T;
    else if (b->T != T) b->mixed = 1;
}

/* The footnote's words on the bench column: never a length that was not
 * measured. */
static void bench_words(char *out, size_t cap, int has_bench, BenchLength b) {
    if (!has_bench) snprintf(out, cap, "bench tok/s: not measured (no readable /bench in this file)");
    else if (!b.T) snprintf(out, cap, "bench tok/s: not measured (/bench has no attention forward of these encodings)");
    else if (b.mixed)
        snprintf(out, cap,
                 "bench tok/s: one attention layer's forward at each encoding's longest T in /bench (- without one)");
    else snprintf(out, cap, "bench tok/s: one attention layer's forward at T=%d from /bench (- without one)", b.T);
}

#define GEN_UNDERTRAINED 1.5

/* The lists under the summary; NO_LIST: an encoding without a verdict. */
enum { NO_LIST = -1, EXTRAPOLATE, DEGRADE, NOT_APPLICABLE, UNDERTRAINED, N_LISTS };
#define LIST_CHARS 1024

/* The training length L and the longest evaluation length of the study (0
 * without /generalization). */
static void study_lengths(hid_t file, long long *L, int *longest) {
    if (!h5_exists(file, "generalization")) return;
    hid_t g = H5Gopen2(file, "generalization", H5P_DEFAULT);
    h5_read_attr_int(g, "train_len", L);
    char lens[512] = "";
    h5_read_attr_string(g, "eval_lens", lens, sizeof lens);
    const char *last = strrchr(lens, ',');
    *longest = atoi(last ? last + 1 : lens);
    H5Gclose(g);
}

/* The verdict on one encoding into out[cap] and the list it joins. A run
 * that did not learn has a flat curve for the wrong reason: an encoding
 * whose perplexity at L is over GEN_UNDERTRAINED times the best one's
 * (best_L) is named undertrained, not extrapolating. */
static int verdict_of(char *out, size_t cap, const SummaryRow *w, double best_L, long long L, int longest,
                      double model_L) {
    /* a context extension is judged against its trained model at L */
    const int extension = !isnan(model_L);
    double ratio = w->ppl_long / (extension ? model_L : w->ppl_L);
    int times = L ? (int)(longest / L) : 0, list;
    if (!isfinite(w->ppl_L)) snprintf(out, cap, "-"), list = NO_LIST;
    else if (!extension && w->ppl_L > GEN_UNDERTRAINED * best_L)
        snprintf(out, cap, "undertrained (ppl at L x%.2f the best)", w->ppl_L / best_L), list = UNDERTRAINED;
    else if (!isfinite(w->ppl_long)) snprintf(out, cap, "cannot go past its positions (n/a)"), list = NOT_APPLICABLE;
    else if (ratio <= 1.10) snprintf(out, cap, "extrapolates (ppl x%.2f at %dL)", ratio, times), list = EXTRAPOLATE;
    else snprintf(out, cap, "degrades (ppl x%.2f at %dL)", ratio, times), list = DEGRADE;
    if (extension) { /* and what scaling costs at L */
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "; x%.2f at L; of its model's ppl at L", w->ppl_L / model_L);
    }
    if (w->diverged) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "; %d run(s) diverged", w->diverged);
    }
    return list;
}

/* The best perplexity at L of the models trained (extensions left out). */
static double best_trained_L(const Summary *sum) {
    double best = INFINITY;
    for (int i = 0; i < sum->n; i++)
        if (isfinite(sum->rows[i].ppl_L) && sum->rows[i].ppl_L < best && !gen_key_is_derived(sum->rows[i].name))
            best = sum->rows[i].ppl_L;
    return best;
}

/* A context extension's trained model's perplexity at L (NaN for a key
 * that trains; infinite when the model is not in the file). */
static double extension_model_L(const Summary *sum, const SummaryRow *w) {
    GenDerived how;
    if (!gen_key_derived(w->name, &how)) return NAN;
    for (int i = 0; i < sum->n; i++)
        if (strcmp(sum->rows[i].name, how.parent) == 0) return sum->rows[i].ppl_L;
    return INFINITY;
}

/* A number, or "-" when it is not finite (not measured / not applicable). */
static void num(char *buf, size_t cap, const char *fmt, double v) {
    if (isfinite(v)) snprintf(buf, cap, fmt, v);
    else snprintf(buf, cap, "-");
}

static void print_summary_row(FILE *out, const SummaryRow *w, double bench, const char *verdict) {
    char name[GEN_NAME], mem[32];
    if (isfinite(w->mem_ratio)) snprintf(mem, sizeof mem, "x%.1f", w->mem_ratio);
    else snprintf(mem, sizeof mem, "n/a");
    char c1[32], c2[32], c3[32], c4[32], c5[32], c6[32];
    num(c1, sizeof c1, "%.0f", w->train_tps), num(c2, sizeof c2, "%.0f", bench);
    num(c3, sizeof c3, "%.3f", w->loss_L), num(c4, sizeof c4, "%.3f", w->loss_long);
    num(c5, sizeof c5, "%.2f", w->task_acc_L), num(c6, sizeof c6, "%.2f", w->task_acc_long);
    fprintf(out, "%-*s %12s %12s %9s %10s %10s %9s %9s  %s\n", name_width, shown(name, w->name), c1, c2, mem, c3, c4,
            c5, c6, verdict);
}

/* The encodings of each verdict, one line per list. */
static void print_lists(FILE *out, char lists[N_LISTS][LIST_CHARS], long long L, int longest) {
    fprintf(out, "extrapolate (perplexity at %d within 10%% of that at L = %lld): %s\n", longest, L,
            *lists[EXTRAPOLATE] ? lists[EXTRAPOLATE] : "none");
    fprintf(out, "degrade past L: %s\n", *lists[DEGRADE] ? lists[DEGRADE] : "none");
    if (*lists[NOT_APPLICABLE])
        fprintf(out, "cannot evaluate past their positions (a table or a formula bound): %s\n", lists[NOT_APPLICABLE]);
    if (*lists[UNDERTRAINED])
        fprintf(out,
                "undertrained (perplexity at L over %.1fx the best; their length curve says "
                "little): %s\n",
                GEN_UNDERTRAINED, lists[UNDERTRAINED]);
}

/* The per-encoding summary: a row each, a footnote, the verdicts' lists. */
static void show_summary(hid_t file, const char *path, FILE *out, const Summary *sum) {
    long long L = 0;
    int longest = 0;
    study_lengths(file, &L, &longest);
    BenchResults bench = {0};
    int has_bench = h5_exists(file, "bench") && !bench_h5_read(file, path, &bench);
    BenchLength bench_T = {0, 0};
    fprintf(out, "summary per encoding\n");
    fprintf(out, "%-*s %12s %12s %9s %10s %10s %9s %9s  %s\n", name_width, "encoding", "train tok/s", "bench tok/s",
            "eval mem", "loss@L", "loss@long", "task@min", "task@max", "verdict");
    char lists[N_LISTS][LIST_CHARS] = {""}, name[GEN_NAME], verdict[128];
    const double best_L = best_trained_L(sum);
    for (int i = 0; i < sum->n; i++) {
        const SummaryRow *w = &sum->rows[i];
        int T = 0;
        double tps = has_bench ? bench_tps(&bench, w->name, &T) : NAN;
        bench_length_add(&bench_T, tps, T);
        int list = verdict_of(verdict, sizeof verdict, w, best_L, L, longest, extension_model_L(sum, w));
        if (list != NO_LIST) {
            size_t n = strlen(lists[list]);
            snprintf(lists[list] + n, LIST_CHARS - n, "%s%.63s", n ? ", " : "", shown(name, w->name));
        }
        print_summary_row(out, w, tps, verdict);
    }
    bench_results_free(&bench);
    char words[160];
    bench_words(words, sizeof words, has_bench, bench_T);
    fprintf(out,
            "\n(train tok/s: the whole probe model's training, steady (after the first 5 steps); %s; eval mem: peak "
            "evaluation heap at the longest "
            "length over that at L; loss in nats; task: the first task's exact-match accuracy at its shortest "
            "and longest length)\n",
            words);
    if (L) print_lists(out, lists, L, longest);
}

int gen_verdicts(hid_t file, GenVerdict *v, int cap) {
    if (!h5_exists(file, "generalization")) return 0;
    Summary sum = {.n = 0};
    char names[GEN_MAX_ENCODINGS][GEN_NAME];
    hid_t top = H5Gopen2(file, "generalization", H5P_DEFAULT);
    int n = top < 0 ? 0 : gen_read_encodings(top, names, GEN_MAX_ENCODINGS);
    for (int e = 0; e < n; e++) {
        hid_t g = H5Gopen2(top, names[e], H5P_DEFAULT);
        float *ppl = NULL;
        int S, cols;
        SummaryRow *row = g >= 0 && !gen_read_matrix(g, "ppl", &ppl, &S, &cols) ? summary_row(&sum, names[e]) : NULL;
        if (row) summarize_lm(row, g, ppl, S, cols);
        free(ppl);
        if (g >= 0) H5Gclose(g);
    }
    if (top >= 0) H5Gclose(top);
    long long L = 0;
    int longest = 0, k = 0;
    study_lengths(file, &L, &longest);
    const double best_L = best_trained_L(&sum);
    for (int i = 0; i < sum.n && k < cap; i++, k++) {
        snprintf(v[k].name, sizeof v[k].name, "%s", sum.rows[i].name);
        v[k].list = verdict_of(v[k].verdict, sizeof v[k].verdict, &sum.rows[i], best_L, L, longest,
                               extension_model_L(&sum, &sum.rows[i]));
    }
    return k;
}

/* The longest encoding spec of group `group` of file, or 16. */
static int widest_name(hid_t file, const char *group, int width) {
    if (!h5_exists(file, group)) return width;
    hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
    char names[GEN_MAX_ENCODINGS][GEN_NAME], shown_name[GEN_NAME];
    int n = g < 0 ? 0 : gen_read_encodings(g, names, GEN_MAX_ENCODINGS);
    for (int i = 0; i < n; i++) {
        int len = (int)strlen(shown(shown_name, names[i]));
        if (len > width) width = len;
    }
    if (g >= 0) H5Gclose(g);
    return width;
}

PbStatus gen_show(hid_t file, const char *path, FILE *out) {
    Summary sum = {.n = 0};
    name_width = widest_name(file, "generalization", 16);
    for (int k = 0; k < TASK_COUNT; k++) {
        char group[64];
        snprintf(group, sizeof group, "tasks/%s", task_name((TaskKind)k));
        name_width = widest_name(file, group, name_width);
    }
    long long complete = 1;
    if (!h5_read_attr_int(file, "complete", &complete) && !complete)
        fprintf(out, "INCOMPLETE: interrupted; runs not measured are NaN (continue with --resume %s)\n\n", path);
    int any = show_generalization(file, out, &sum);
    any |= show_tasks(file, out, &sum);
    if (!any && !complete) return PB_OK; /* interrupted before the first run */
    if (!any) return pb_fail(PB_DATA, "'%s' holds neither /generalization nor /tasks", path);
    if (sum.n) show_summary(file, path, out, &sum);
    return PB_OK;
}
