/* cmd_compare.c: `posbench compare A.h5 B.h5`: what changed between two
 * results files of one kind, and whether it is real (harness/report/
 * compare.h). Reads only; `posbench plot A.h5 B.h5` draws the same
 * comparison. Exit 0, or 1 when --fail-if-slower finds a cell significantly
 * slower than allowed, or 2 for an error. */
#include <stdio.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "../report/compare.h"

/* Cells significantly slower than pct percent; says which, and how many
 * could not be tested. */
static PbStatus slower_gate(const Comparison *c, double pct) {
    size_t slower = 0, untested = 0;
    for (size_t i = 0; i < c->n_bench; i++) {
        const BenchDelta *d = &c->bench[i];
        if (!stats_utest_possible(d->na, d->nb)) untested++;
        else if (bench_delta_beyond(d, pct, 1)) {
            if (!slower) fprintf(stderr, "significantly slower than %g%% (p < %.2f):\n", pct, COMPARE_ALPHA);
            fprintf(stderr, "  %s  time x%.3f, p %.4f\n", d->cell, d->time_ratio, d->p);
            slower++;
        }
    }
    if (untested)
        fprintf(stderr, "--fail-if-slower: %zu cell(s) not tested (too few repetitions in a file)\n", untested);
    if (!c->n_bench)
        return pb_fail(PB_USAGE, "--fail-if-slower needs bench cells in both files; these have none in common");
    if (slower) return pb_fail(PB_CHECK, "%zu of %zu cells significantly slower than %g%%", slower, c->n_bench, pct);
    return PB_OK;
}

PbStatus cmd_compare(int argc, char **argv) {
    double threshold = 0, fail_pct = 0;
    int json = 0, gate = 0;
    const ArgSpec options[] = {
        {"--threshold", NULL, ARG_DOUBLE, &threshold, 0, 0, NULL, "X",
         "mark only significant changes over X percent (default 0: every significant change); in colour on a "
         "terminal",
         .lo = 0, .hi = ARG_UNBOUNDED},
        {"--fail-if-slower", NULL, ARG_DOUBLE, &fail_pct, 0, 0, NULL, "X",
         "exit 1 when a bench cell got significantly slower (p < 0.05) by more than X percent (a CI gate)",
         .given = &gate, .lo = 0, .hi = ARG_UNBOUNDED},
        {"--json", NULL, ARG_FLAG, &json, 0, 0, NULL, NULL, "print the comparison as one JSON object instead"},
        {NULL},
    };
    const ArgCommand cmd = {"compare",
                            "A.h5 B.h5 [--threshold X] [--fail-if-slower X] [--json]",
                            "Compares two results files of one kind (bench, generalize or run): the settings that "
                            "differ, then per bench cell the time ratio B/A with a Mann-Whitney U test over the "
                            "repetitions, and per study, encoding and length the difference B - A over seeds with its "
                            "95% interval and the verdicts that changed. Writes nothing; posbench plot A.h5 B.h5 draws "
                            "it.",
                            options,
                            2,
                            2};
    const char *pos[2];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st || help) return st;
    Comparison c;
    if ((st = compare_files(pos[0], pos[1], &c))) return st;
    if (json) compare_json(&c, stdout);
    else compare_print(&c, stdout, threshold, isatty(STDOUT_FILENO));
    st = finish_stdout();
    if (!st && gate) st = slower_gate(&c, fail_pct);
    comparison_free(&c);
    return st;
}
