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

typedef struct {
    char name[GEN_NAME];
    double ppl_L, ppl_long, loss_L, loss_long, mem_ratio, train_tps, task_acc_L, task_acc_long;
    int na, diverged;
} SummaryRow;

static void show_table(hid_t top, const char *title, const char *value, const char *fmt, FILE *out, SummaryRow *rows,
                       int *n_rows, int is_task) {
    char names[GEN_MAX_ENCODINGS][GEN_NAME];
    int n = gen_read_encodings(top, names, GEN_MAX_ENCODINGS);
    if (!n) return;
    long long L = 0;
    h5_read_attr_int(top, "train_len", &L);
    int *lens = NULL, rank, d[8];
    char path[256];
    snprintf(path, sizeof path, "%s/eval_len", names[0]);
    if (h5_read_ints(top, path, &lens, &rank, d)) return;
    const int nl = d[0];
    fprintf(out, "%s (trained at L = %lld; mean ± 95%% CI over seeds, t-distribution)\n", title, L);
    fprintf(out, "%-16s", "encoding");
    for (int i = 0; i < nl; i++) {
        char h[32];
        snprintf(h, sizeof h, "T=%d", lens[i]);
        fprintf(out, " %15s", h);
    }
    fprintf(out, "\n");
    char name[GEN_NAME];
    for (int e = 0; e < n; e++) {
        hid_t g = H5Gopen2(top, names[e], H5P_DEFAULT);
        float *v = NULL;
        int S, cols;
        if (g < 0 || gen_read_matrix(g, value, &v, &S, &cols)) {
            if (g >= 0) H5Gclose(g);
            continue;
        }
        fprintf(out, "%-16s", shown(name, names[e]));
        for (int i = 0; i < nl && i < cols; i++) {
            char b[64];
            fmt_ci(b, sizeof b, v + i, S, cols, fmt);
            fprintf(out, " %15s", b);
        }
        fprintf(out, "\n");
        /* Summary numbers. */
        SummaryRow *row = NULL;
        for (int k = 0; k < *n_rows; k++)
            if (strcmp(rows[k].name, names[e]) == 0) row = &rows[k];
        if (!row && *n_rows < GEN_MAX_ENCODINGS) {
            row = &rows[(*n_rows)++];
            memset(row, 0, sizeof *row);
            snprintf(row->name, GEN_NAME, "%.63s", names[e]);
            row->ppl_L = row->ppl_long = row->loss_L = row->loss_long = NAN;
            row->mem_ratio = row->train_tps = row->task_acc_L = row->task_acc_long = NAN;
        }
        double m, h;
        int k;
        if (row && is_task) {
            gen_mean_ci(v, S, cols, &row->task_acc_L, &h, &k);
            gen_mean_ci(v + cols - 1, S, cols, &row->task_acc_long, &h, &k);
        } else if (row) {
            float *loss = NULL, *tps = NULL, *peak = NULL;
            int r2, c2;
            if (!gen_read_matrix(g, "loss", &loss, &r2, &c2)) {
                gen_mean_ci(loss, r2, c2, &row->loss_L, &h, &k);
                gen_mean_ci(loss + c2 - 1, r2, c2, &row->loss_long, &h, &k);
                row->na = k == 0;
            }
            gen_mean_ci(v, S, cols, &row->ppl_L, &h, &k);
            gen_mean_ci(v + cols - 1, S, cols, &row->ppl_long, &h, &k);
            if (!gen_read_matrix(g, "train_tokens_per_s", &tps, &r2, &c2))
                gen_mean_ci(tps, c2, 1, &row->train_tps, &h, &k);
            if (!gen_read_matrix(g, "eval_peak_bytes", &peak, &r2, &c2) && c2 > 1 && peak[0] > 0)
                row->mem_ratio = peak[c2 - 1] / peak[0];
            int *div = NULL, rk, dd[8];
            if (!h5_read_ints(g, "diverged", &div, &rk, dd))
                for (int s = 0; s < dd[0]; s++) row->diverged += div[s];
            free(div), free(loss), free(tps), free(peak);
        }
        (void)m;
        char why[512];
        if (!h5_read_attr_string(g, "not_applicable", why, sizeof why)) fprintf(out, "%16s n/a: %s\n", "", why);
        if (!h5_read_attr_string(g, "diverged_reason", why, sizeof why)) fprintf(out, "%16s diverged: %s\n", "", why);
        free(v);
        H5Gclose(g);
    }
    fprintf(out, "\n");
    free(lens);
}

/* Bench attention-forward tokens/s at the longest T with the smallest C, per
 * encoding; NaN if the file has no /bench. Read once per process. */
static double bench_tps(hid_t file, const char *path, const char *enc, int *T_out) {
    static BenchResults cache;
    static int loaded = -1;
    if (loaded < 0) loaded = h5_exists(file, "bench") && !bench_h5_read(file, path, &cache);
    if (!loaded) return NAN;
    int best_T = 0, C = 1 << 30;
    for (size_t i = 0; i < cache.n; i++)
        if (cache.rows[i].dim < C) C = cache.rows[i].dim;
    double v = NAN;
    for (size_t i = 0; i < cache.n; i++) {
        const BenchRow *w = &cache.rows[i];
        if (w->dim != C || strcmp(w->scope, "attention") || strcmp(w->pass, "forward") || strcmp(w->encoding, enc) ||
            w->seq_len < best_T)
            continue;
        best_T = w->seq_len, v = w->tokens_per_s;
    }
    *T_out = best_T;
    return v;
}

#define GEN_UNDERTRAINED 1.5

/* A number, or "-" when it is not finite (not measured / not applicable). */
static void num(char *buf, size_t cap, const char *fmt, double v) {
    if (isfinite(v)) snprintf(buf, cap, fmt, v);
    else snprintf(buf, cap, "-");
}

PbStatus gen_show(hid_t file, const char *path, FILE *out) {
    SummaryRow rows[GEN_MAX_ENCODINGS];
    int n_rows = 0, any = 0;
    long long complete = 1;
    if (!h5_read_attr_int(file, "complete", &complete) && !complete)
        fprintf(out, "INCOMPLETE: interrupted; runs not measured are NaN (continue with --resume %s)\n\n", path);
    if (h5_exists(file, "generalization")) {
        hid_t g = H5Gopen2(file, "generalization", H5P_DEFAULT);
        char data[512] = "", tok[32] = "";
        long long steps = 0, seeds = 0, dim = 0, layers = 0, heads = 0;
        h5_read_attr_string(g, "data", data, sizeof data);
        h5_read_attr_string(g, "tokenizer", tok, sizeof tok);
        h5_read_attr_int(g, "steps", &steps), h5_read_attr_int(g, "seeds", &seeds);
        h5_read_attr_int(g, "dim", &dim), h5_read_attr_int(g, "layers", &layers);
        h5_read_attr_int(g, "heads", &heads);
        fprintf(out, "generalization: data %s (%s), %lld layers, dim %lld, %lld heads, %lld steps, %lld seeds\n\n",
                data, tok, layers, dim, heads, steps, seeds);
        show_table(g, "perplexity, non-overlapping windows", "ppl", "%.2f", out, rows, &n_rows, 0);
        hid_t probe = -1;
        char first[GEN_MAX_ENCODINGS][GEN_NAME];
        if (gen_read_encodings(g, first, 1) == 1) {
            probe = H5Gopen2(g, first[0], H5P_DEFAULT);
            if (probe >= 0 && h5_exists(probe, "ppl_sliding")) {
                SummaryRow scratch[GEN_MAX_ENCODINGS];
                int ns = 0;
                show_table(g, "perplexity, sliding windows", "ppl_sliding", "%.2f", out, scratch, &ns, 1);
            }
            if (probe >= 0) H5Gclose(probe);
        }
        H5Gclose(g);
        any = 1;
    }
    char task_names[TASK_COUNT][GEN_NAME];
    int n_tasks = 0;
    if (h5_exists(file, "tasks")) {
        hid_t tg = H5Gopen2(file, "tasks", H5P_DEFAULT);
        for (int k = 0; k < TASK_COUNT; k++) {
            if (!h5_exists(tg, task_name((TaskKind)k))) continue;
            hid_t g = H5Gopen2(tg, task_name((TaskKind)k), H5P_DEFAULT);
            char title[128];
            long long steps = 0;
            h5_read_attr_int(g, "steps", &steps);
            snprintf(title, sizeof title, "task %s: exact-match accuracy (%lld steps)", task_name((TaskKind)k), steps);
            /* only the first task feeds the summary's accuracy columns */
            SummaryRow scratch[GEN_MAX_ENCODINGS];
            int ns = 0;
            if (n_tasks == 0) {
                /* merge: task rows into rows by name */
                show_table(g, title, "accuracy", "%.2f", out, scratch, &ns, 1);
                for (int i = 0; i < ns; i++) {
                    int found = 0;
                    for (int j = 0; j < n_rows; j++)
                        if (strcmp(rows[j].name, scratch[i].name) == 0) {
                            rows[j].task_acc_L = scratch[i].task_acc_L;
                            rows[j].task_acc_long = scratch[i].task_acc_long;
                            found = 1;
                        }
                    if (!found && n_rows < GEN_MAX_ENCODINGS) {
                        rows[n_rows] = scratch[i];
                        rows[n_rows].ppl_L = rows[n_rows].ppl_long = rows[n_rows].loss_L = NAN;
                        rows[n_rows].loss_long = rows[n_rows].mem_ratio = rows[n_rows].train_tps = NAN;
                        n_rows++;
                    }
                }
            } else {
                show_table(g, title, "accuracy", "%.2f", out, scratch, &ns, 1);
            }
            {
                SummaryRow tok_rows[GEN_MAX_ENCODINGS];
                int nt = 0;
                snprintf(title, sizeof title, "task %s: answer-token accuracy", task_name((TaskKind)k));
                show_table(g, title, "token_accuracy", "%.2f", out, tok_rows, &nt, 1);
            }
            snprintf(task_names[n_tasks++], GEN_NAME, "%s", task_name((TaskKind)k));
            H5Gclose(g);
            any = 1;
        }
        H5Gclose(tg);
    }
    if (!any && !complete) return PB_OK; /* interrupted before the first run */
    if (!any) return pb_fail(PB_DATA, "'%s' holds neither /generalization nor /tasks", path);
    if (!n_rows) return PB_OK;

    /* The per-encoding summary. */
    long long L = 0;
    int longest = 0;
    if (h5_exists(file, "generalization")) {
        hid_t g = H5Gopen2(file, "generalization", H5P_DEFAULT);
        h5_read_attr_int(g, "train_len", &L);
        char lens[512] = "";
        h5_read_attr_string(g, "eval_lens", lens, sizeof lens);
        const char *last = strrchr(lens, ',');
        longest = atoi(last ? last + 1 : lens);
        H5Gclose(g);
    }
    int bench_T = 0;
    fprintf(out, "summary per encoding%s\n", n_tasks ? "" : "");
    fprintf(out, "%-16s %12s %12s %9s %10s %10s %9s %9s  %s\n", "encoding", "train tok/s", "bench tok/s", "eval mem",
            "loss@L", "loss@long", "task@min", "task@max", "verdict");
    char extrap[1024] = "", not_extrap[1024] = "", na[1024] = "", weak[1024] = "";
    char name[GEN_NAME];
    /* A run that did not learn has a flat curve for the wrong reason: an
     * encoding whose perplexity at L is over GEN_UNDERTRAINED times the best
     * one's is named undertrained, not extrapolating. */
    double best_L = INFINITY;
    for (int i = 0; i < n_rows; i++)
        if (isfinite(rows[i].ppl_L) && rows[i].ppl_L < best_L) best_L = rows[i].ppl_L;
    for (int i = 0; i < n_rows; i++) {
        SummaryRow *w = &rows[i];
        double btps = bench_tps(file, path, w->name, &bench_T);
        char verdict[128];
        double ratio = w->ppl_long / w->ppl_L;
        char *list;
        if (!isfinite(w->ppl_L)) snprintf(verdict, sizeof verdict, "-"), list = NULL;
        else if (w->ppl_L > GEN_UNDERTRAINED * best_L)
            snprintf(verdict, sizeof verdict, "undertrained (ppl at L x%.2f the best)", w->ppl_L / best_L), list = weak;
        else if (!isfinite(w->ppl_long)) snprintf(verdict, sizeof verdict, "cannot go past its table (n/a)"), list = na;
        else if (ratio <= 1.10)
            snprintf(verdict, sizeof verdict, "extrapolates (ppl x%.2f at %dL)", ratio, L ? (int)(longest / L) : 0),
                list = extrap;
        else
            snprintf(verdict, sizeof verdict, "degrades (ppl x%.2f at %dL)", ratio, L ? (int)(longest / L) : 0),
                list = not_extrap;
        if (w->diverged) {
            size_t n = strlen(verdict);
            snprintf(verdict + n, sizeof verdict - n, "; %d run(s) diverged", w->diverged);
        }
        if (list) {
            size_t n = strlen(list);
            snprintf(list + n, 1024 - n, "%s%.63s", n ? ", " : "", shown(name, w->name));
        }
        char mem[32];
        if (isfinite(w->mem_ratio)) snprintf(mem, sizeof mem, "x%.1f", w->mem_ratio);
        else snprintf(mem, sizeof mem, "n/a");
        char c1[32], c2[32], c3[32], c4[32], c5[32], c6[32];
        num(c1, sizeof c1, "%.0f", w->train_tps), num(c2, sizeof c2, "%.0f", btps);
        num(c3, sizeof c3, "%.3f", w->loss_L), num(c4, sizeof c4, "%.3f", w->loss_long);
        num(c5, sizeof c5, "%.2f", w->task_acc_L), num(c6, sizeof c6, "%.2f", w->task_acc_long);
        fprintf(out, "%-16s %12s %12s %9s %10s %10s %9s %9s  %s\n", shown(name, w->name), c1, c2, mem, c3, c4, c5, c6,
                verdict);
    }
    fprintf(out,
            "\n(train tok/s: the whole probe model's training; bench tok/s: one attention layer's "
            "forward at T=%d from /bench (- without one); eval mem: peak evaluation heap at the longest length over "
            "that at L; loss in nats; task: the first task's exact-match accuracy at its shortest "
            "and longest length)\n",
            bench_T);
    if (L) {
        fprintf(out, "extrapolate (perplexity at %d within 10%% of that at L = %lld): %s\n", longest, L,
                *extrap ? extrap : "none");
        fprintf(out, "degrade past L: %s\n", *not_extrap ? not_extrap : "none");
        if (*na) fprintf(out, "cannot evaluate past their table: %s\n", na);
        if (*weak)
            fprintf(out,
                    "undertrained (perplexity at L over %.1fx the best; their length curve says "
                    "little): %s\n",
                    GEN_UNDERTRAINED, weak);
    }
    return PB_OK;
}
