/* compare_print.c: a comparison as text for a reader, or as JSON. */
#include <math.h>
#include <string.h>

#include "compare.h"

#define RED "\033[31m"
#define GREEN "\033[32m"
#define PLAIN "\033[0m"

/* Cells in one file only listed by name; the rest counted. */
#define ONLY_SHOWN 20

/* A number, or "-" when it is not finite. */
static const char *num(char *buf, size_t cap, const char *fmt, double v) {
    if (isfinite(v)) snprintf(buf, cap, fmt, v);
    else snprintf(buf, cap, "-");
    return buf;
}

/* A p-value for reading: 4 decimals, "<0.0001" below. */
static const char *p_text(char *buf, size_t cap, double p) {
    if (!isfinite(p)) snprintf(buf, cap, "-");
    else if (p < 1e-4) snprintf(buf, cap, "<0.0001");
    else snprintf(buf, cap, "%.4f", p);
    return buf;
}

/* A time per pass with a unit that keeps 4 significant digits readable. */
static const char *time_text(char *buf, size_t cap, double ns) {
    if (!isfinite(ns)) snprintf(buf, cap, "-");
    else if (ns < 1e3) snprintf(buf, cap, "%.4g ns", ns);
    else if (ns < 1e6) snprintf(buf, cap, "%.4g us", ns * 1e-3);
    else if (ns < 1e9) snprintf(buf, cap, "%.4g ms", ns * 1e-6);
    else snprintf(buf, cap, "%.4g s", ns * 1e-9);
    return buf;
}

static void print_provenance(const Comparison *c, FILE *out) {
    if (!c->n_prov) {
        fprintf(out, "settings: the same build, machine and configuration\n\n");
        return;
    }
    fprintf(out, "settings that differ (A -> B):\n");
    for (int i = 0; i < c->n_prov; i++) fprintf(out, "  %-26s %s -> %s\n", c->prov[i].name, c->prov[i].a, c->prov[i].b);
    fprintf(out, "\n");
}

/* "slower" / "faster" for a significant change beyond the threshold. */
static const char *bench_mark(const BenchDelta *d, double threshold) {
    if (threshold < 0) threshold = 0;
    if (bench_delta_beyond(d, threshold, 1)) return "slower";
    if (bench_delta_beyond(d, threshold, -1)) return "faster";
    return "";
}

static void print_bench_row(const BenchDelta *d, int width, FILE *out, double threshold, int colour) {
    char a[32], b[32], r[32], t[32], p[32];
    const char *mark = bench_mark(d, threshold);
    const char *on = !colour || !*mark ? "" : *mark == 's' ? RED : GREEN, *off = *on ? PLAIN : "";
    if (isfinite(d->p)) p_text(p, sizeof p, d->p);
    else snprintf(p, sizeof p, "too few reps");
    fprintf(out, "%-*s %10s %10s %s%9s%s %9s %12s  %s\n", width, d->cell, time_text(a, sizeof a, d->a_ns),
            time_text(b, sizeof b, d->b_ns), on, num(r, sizeof r, "%.3fx", d->time_ratio), off,
            num(t, sizeof t, "%.3fx", d->tps_ratio), p, mark);
}

/* Repetition counts under the test's needs, said once. */
static void print_repetition_note(const Comparison *c, FILE *out) {
    int too_few = 0, weak = 0;
    for (size_t i = 0; i < c->n_bench; i++) {
        const BenchDelta *d = &c->bench[i];
        if (!stats_utest_possible(d->na, d->nb)) too_few++;
        else if (d->na < STATS_UTEST_OPTIMAL_REPETITIONS || d->nb < STATS_UTEST_OPTIMAL_REPETITIONS) weak++;
    }
    if (too_few)
        fprintf(out,
                "%d cell(s): too few repetitions for a U test (it needs %d per side; measure with "
                "--benchmark_repetitions=%d)\n",
                too_few, STATS_UTEST_MIN_REPETITIONS, STATS_UTEST_OPTIMAL_REPETITIONS);
    if (weak)
        fprintf(out, "%d cell(s): fewer than %d repetitions per side; their p-values can hardly fall below %.2f\n",
                weak, STATS_UTEST_OPTIMAL_REPETITIONS, COMPARE_ALPHA);
}

static void print_bench(const Comparison *c, FILE *out, double threshold, int colour) {
    fprintf(out,
            "bench: %zu cells in both files (median wall time per pass; p: two-sided Mann-Whitney U over the "
            "repetitions; marked: p < %.2f",
            c->n_bench, COMPARE_ALPHA);
    if (threshold > 0) fprintf(out, " and a change over %g%%", threshold);
    int width = 4;
    for (size_t i = 0; i < c->n_bench; i++)
        if ((int)strlen(c->bench[i].cell) > width) width = (int)strlen(c->bench[i].cell);
    fprintf(out, ")\n%-*s %10s %10s %9s %9s %12s\n", width, "cell", "A", "B", "time B/A", "tok/s B/A", "p");
    for (size_t i = 0; i < c->n_bench; i++) print_bench_row(&c->bench[i], width, out, threshold, colour);
    fprintf(out, "geometric mean of time B/A:");
    for (int k = 0; k < c->n_geo; k++)
        fprintf(out, "%s %s %.3fx (%d cells)", k ? "," : "", c->geo[k].group, c->geo[k].time_ratio, c->geo[k].n);
    fprintf(out, "\n");
    for (size_t i = 0; i < c->n_only && i < ONLY_SHOWN; i++)
        fprintf(out, "only in %c: %s\n", c->only[i].in, c->only[i].cell);
    if (c->n_only > ONLY_SHOWN)
        fprintf(out, "... and %zu more cells in one file only (--json lists them all)\n", c->n_only - ONLY_SHOWN);
    print_repetition_note(c, out);
    fprintf(out, "\n");
}

/* "worse" / "better" when the interval excludes 0 and the change is over
 * the threshold (loss: lower is better; accuracy: higher). */
static const char *gen_mark(const GenDelta *d, double threshold) {
    if (!(d->p < COMPARE_ALPHA)) return "";
    double rel = d->a != 0 ? fabs(d->diff / d->a) * 100 : INFINITY;
    if (threshold > 0 && !(rel > threshold)) return "";
    int higher = d->diff > 0, loss = strcmp(d->metric, "loss") == 0;
    return higher == loss ? "worse" : "better";
}

static void print_gen_row(const GenDelta *d, FILE *out, double threshold, int colour) {
    char a[32], b[32], pa[32], pb[32], ci[64], p[32];
    const char *mark = gen_mark(d, threshold);
    const char *on = !colour || !*mark ? "" : *mark == 'w' ? RED : GREEN, *off = *on ? PLAIN : "";
    if (d->status == STATS_OK) snprintf(ci, sizeof ci, "%+.4f ± %.4f", d->diff, d->half95);
    else if (d->status == STATS_ZERO_VARIANCE) snprintf(ci, sizeof ci, "%+.4f ± 0", d->diff);
    else if (isfinite(d->diff)) snprintf(ci, sizeof ci, "%+.4f (%s)", d->diff, stats_status_name(d->status));
    else snprintf(ci, sizeof ci, "- (%s)", stats_status_name(d->status));
    fprintf(out, "%-16s %-14s %6d %9s %9s %9s %9s  %s%-22s%s %8s  %s\n", d->study, d->encoding, d->T,
            num(a, sizeof a, "%.4f", d->a), num(b, sizeof b, "%.4f", d->b), num(pa, sizeof pa, "%.2f", d->a_ppl),
            num(pb, sizeof pb, "%.2f", d->b_ppl), on, ci, off, p_text(p, sizeof p, d->p), mark);
}

static void print_gen(const Comparison *c, FILE *out, double threshold, int colour) {
    int paired = 0;
    for (size_t i = 0; i < c->n_gen; i++) paired += c->gen[i].paired;
    fprintf(out,
            "generalization and tasks: %zu (study, encoding, length) in both files; mean over seeds; B - A with "
            "its 95%% interval, %s\n",
            c->n_gen,
            paired == (int)c->n_gen ? "paired by seed (same seeds, same data)"
            : paired                ? "paired by seed where a study ran the same seeds on the same data, else Welch's t"
                                    : "Welch's t (the files' seeds or data differ)");
    fprintf(out, "%-16s %-14s %6s %9s %9s %9s %9s  %-22s %8s\n", "study", "encoding", "T", "A", "B", "A ppl", "B ppl",
            "B - A", "p");
    for (size_t i = 0; i < c->n_gen; i++) print_gen_row(&c->gen[i], out, threshold, colour);
    if (c->n_gen_only) fprintf(out, "%zu encoding(s) or length(s) in one file only, not compared\n", c->n_gen_only);
    fprintf(out, "(loss in nats per token, lower is better; accuracy: exact match, higher is better)\n");
    if (!c->n_verdicts) fprintf(out, "verdicts: none changed\n");
    else fprintf(out, "verdicts that changed:\n");
    for (int i = 0; i < c->n_verdicts; i++)
        fprintf(out, "  %-16s %s -> %s\n", c->verdicts[i].encoding, c->verdicts[i].a, c->verdicts[i].b);
}

void compare_print(const Comparison *c, FILE *out, double threshold_pct, int colour) {
    fprintf(out, "compare (%s files)\n  A: %s\n  B: %s\n\n", c->kind, c->path_a, c->path_b);
    print_provenance(c, out);
    if (c->has_bench) print_bench(c, out, threshold_pct, colour);
    if (c->has_gen) print_gen(c, out, threshold_pct, colour);
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_str(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(out, "\\%c", ch);
        else if (ch < 0x20) fprintf(out, "\\u%04x", ch);
        else fputc(ch, out);
    }
    fputc('"', out);
}

/* A number, or null when it is not finite (JSON has no NaN). */
static void json_num(FILE *out, double v) {
    if (isfinite(v)) fprintf(out, "%.17g", v);
    else fprintf(out, "null");
}

static void json_bench(const Comparison *c, FILE *out) {
    fprintf(out, ",\n\"bench\": [");
    for (size_t i = 0; i < c->n_bench; i++) {
        const BenchDelta *d = &c->bench[i];
        fprintf(out, "%s\n  {\"cell\": ", i ? "," : "");
        json_str(out, d->cell);
        fprintf(out, ", \"a_ns\": "), json_num(out, d->a_ns);
        fprintf(out, ", \"b_ns\": "), json_num(out, d->b_ns);
        fprintf(out, ", \"time_ratio\": "), json_num(out, d->time_ratio);
        fprintf(out, ", \"tokens_per_s_ratio\": "), json_num(out, d->tps_ratio);
        fprintf(out, ", \"repetitions_a\": %d, \"repetitions_b\": %d, \"p\": ", d->na, d->nb);
        json_num(out, d->p);
        fprintf(out, ", \"significant\": %s}", d->p < COMPARE_ALPHA ? "true" : "false");
    }
    fprintf(out, "\n],\n\"only\": [");
    for (size_t i = 0; i < c->n_only; i++) {
        fprintf(out, "%s{\"in\": \"%c\", \"cell\": ", i ? ", " : "", c->only[i].in);
        json_str(out, c->only[i].cell);
        fprintf(out, "}");
    }
    fprintf(out, "],\n\"geomean_time_ratio\": {");
    for (int k = 0; k < c->n_geo; k++) {
        fprintf(out, "%s", k ? ", " : "");
        json_str(out, c->geo[k].group);
        fprintf(out, ": "), json_num(out, c->geo[k].time_ratio);
    }
    fprintf(out, "}");
}

static void json_gen_row(const GenDelta *d, FILE *out) {
    fprintf(out, "{\"study\": "), json_str(out, d->study);
    fprintf(out, ", \"encoding\": "), json_str(out, d->encoding);
    fprintf(out, ", \"T\": %d, \"metric\": \"%s\", \"a\": ", d->T, d->metric), json_num(out, d->a);
    fprintf(out, ", \"b\": "), json_num(out, d->b);
    fprintf(out, ", \"a_ppl\": "), json_num(out, d->a_ppl);
    fprintf(out, ", \"b_ppl\": "), json_num(out, d->b_ppl);
    fprintf(out, ", \"diff\": "), json_num(out, d->diff);
    fprintf(out, ", \"ci95_half_width\": "), json_num(out, d->half95);
    fprintf(out, ", \"p\": "), json_num(out, d->p);
    fprintf(out, ", \"seeds_a\": %d, \"seeds_b\": %d, \"test\": \"%s\", \"status\": \"%s\"}", d->na, d->nb,
            d->paired ? "paired" : "welch", stats_status_name(d->status));
}

static void json_gen(const Comparison *c, FILE *out) {
    fprintf(out, ",\n\"generalization\": [");
    for (size_t i = 0; i < c->n_gen; i++) {
        fprintf(out, "%s\n  ", i ? "," : "");
        json_gen_row(&c->gen[i], out);
    }
    fprintf(out, "\n],\n\"verdicts_changed\": [");
    for (int i = 0; i < c->n_verdicts; i++) {
        fprintf(out, "%s{\"encoding\": ", i ? ", " : "");
        json_str(out, c->verdicts[i].encoding);
        fprintf(out, ", \"a\": "), json_str(out, c->verdicts[i].a);
        fprintf(out, ", \"b\": "), json_str(out, c->verdicts[i].b);
        fprintf(out, "}");
    }
    fprintf(out, "]");
}

void compare_json(const Comparison *c, FILE *out) {
    fprintf(out, "{\"kind\": \"%s\", \"a\": ", c->kind);
    json_str(out, c->path_a);
    fprintf(out, ", \"b\": ");
    json_str(out, c->path_b);
    fprintf(out, ", \"alpha\": %g,\n\"settings_differ\": [", COMPARE_ALPHA);
    for (int i = 0; i < c->n_prov; i++) {
        fprintf(out, "%s{\"name\": ", i ? ", " : "");
        json_str(out, c->prov[i].name);
        fprintf(out, ", \"a\": "), json_str(out, c->prov[i].a);
        fprintf(out, ", \"b\": "), json_str(out, c->prov[i].b);
        fprintf(out, "}");
    }
    fprintf(out, "]");
    if (c->has_bench) json_bench(c, out);
    if (c->has_gen) json_gen(c, out);
    fprintf(out, "}\n");
}
