/* compare_gen.c: generalization and task results of two files, matched by
 * study, encoding and evaluation length: means over seeds, the difference
 * with its 95% interval, and the verdicts that changed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/text.h"
#include "../../datasets/tasks.h"
#include "../results/gen_h5.h"
#include "../results/h5io.h"
#include "compare.h"
#include "show.h"

/* Far above --seeds' limit; a file with more rows is not compared. */
#define COMPARE_MAX_SEEDS 1024

/* One encoding group's values of a metric at each length, read whole. */
typedef struct {
    float *v, *ppl; /* [S, cols]; ppl NULL for tasks */
    int *lens, S, cols, n_lens;
} Values;

static void values_free(Values *x) {
    free(x->v), free(x->ppl), free(x->lens);
    memset(x, 0, sizeof *x);
}

static int values_read(hid_t g, const char *metric, Values *x) {
    memset(x, 0, sizeof *x);
    int rank, d[8], r2, c2;
    if (gen_read_matrix(g, metric, &x->v, &x->S, &x->cols) || h5_read_ints(g, "eval_len", &x->lens, &rank, d)) {
        values_free(x);
        return -1;
    }
    if (x->S > COMPARE_MAX_SEEDS) {
        values_free(x);
        return -1;
    }
    x->n_lens = d[0] < x->cols ? d[0] : x->cols;
    if (strcmp(metric, "loss") == 0 && (gen_read_matrix(g, "ppl", &x->ppl, &r2, &c2) || r2 != x->S || c2 != x->cols))
        free(x->ppl), x->ppl = NULL;
    return 0;
}

/* Column col of m [S, cols]: its finite values into out; the count. */
static int column(const float *m, int S, int cols, int col, double *out) {
    int n = 0;
    for (int s = 0; s < S; s++)
        if (isfinite(m[(size_t)s * cols + col])) out[n++] = m[(size_t)s * cols + col];
    return n;
}

static double column_mean(const float *m, int S, int cols, int col) {
    double x[COMPARE_MAX_SEEDS], mean = NAN, var;
    int n = m ? column(m, S, cols, col, x) : 0;
    if (n) stats_mean_var(x, n, &mean, &var);
    return n ? mean : NAN;
}

/* Seeds both runs share, paired: the pairs with both values finite. */
static int paired_columns(const Values *a, int ca, const Values *b, int cb, double *xa, double *xb) {
    int n = 0;
    for (int s = 0; s < a->S && s < b->S; s++) {
        double va = a->v[(size_t)s * a->cols + ca], vb = b->v[(size_t)s * b->cols + cb];
        if (isfinite(va) && isfinite(vb)) xa[n] = va, xb[n] = vb, n++;
    }
    return n;
}

static GenDelta delta_at(const Values *a, int ca, const Values *b, int cb, int paired) {
    GenDelta d = {.a_ppl = NAN, .b_ppl = NAN, .diff = NAN, .half95 = NAN, .p = NAN, .paired = paired};
    double xa[COMPARE_MAX_SEEDS], xb[COMPARE_MAX_SEEDS], df;
    d.a = column_mean(a->v, a->S, a->cols, ca), d.b = column_mean(b->v, b->S, b->cols, cb);
    d.a_ppl = column_mean(a->ppl, a->S, a->cols, ca), d.b_ppl = column_mean(b->ppl, b->S, b->cols, cb);
    if (paired) {
        int n = paired_columns(a, ca, b, cb, xa, xb);
        d.na = d.nb = n;
        d.status = stats_paired(xa, xb, n, &d.diff, &d.half95, &df, &d.p);
    } else {
        d.na = column(a->v, a->S, a->cols, ca, xa), d.nb = column(b->v, b->S, b->cols, cb, xb);
        d.status = stats_welch(xa, d.na, xb, d.nb, &d.diff, &d.half95, &df, &d.p);
    }
    if (!isfinite(d.diff)) d.diff = d.b - d.a;
    return d;
}

/* Whether two study groups ran the same seeds on the same data. */
static int same_seeds_and_data(hid_t ga, hid_t gb) {
    char sa[1024], sb[1024], ia[128], ib[128];
    if (h5_read_attr_raw(ga, "seed_values", sa, sizeof sa) || h5_read_attr_raw(gb, "seed_values", sb, sizeof sb))
        return 0;
    if (h5_read_attr_raw(ga, "ids_sha256", ia, sizeof ia) || h5_read_attr_raw(gb, "ids_sha256", ib, sizeof ib))
        return 0;
    return strcmp(sa, sb) == 0 && strcmp(ia, ib) == 0;
}

static PbStatus push(Comparison *c, size_t *cap, const GenDelta *d) {
    if (c->n_gen == *cap) {
        size_t n = *cap ? 2 * *cap : 64;
        GenDelta *p = realloc(c->gen, n * sizeof *p);
        if (!p) return pb_fail(PB_NOMEM, "no memory for the comparison rows");
        c->gen = p, *cap = n;
    }
    c->gen[c->n_gen++] = *d;
    return PB_OK;
}

typedef struct {
    const char *study, *metric, *enc;
    int paired;
    size_t *cap;
} StudyCtx;

/* The lengths both encoding groups measured; those of A only are counted. */
static PbStatus compare_lengths(const Values *a, const Values *b, const StudyCtx *s, Comparison *c) {
    PbStatus st = PB_OK;
    int matched = 0;
    for (int i = 0; !st && i < a->n_lens; i++) {
        int j = 0;
        while (j < b->n_lens && b->lens[j] != a->lens[i]) j++;
        if (j == b->n_lens) continue;
        matched++;
        GenDelta d = delta_at(a, i, b, j, s->paired);
        snprintf(d.study, sizeof d.study, "%s", s->study);
        text_sanitize_copy(d.encoding, sizeof d.encoding, s->enc);
        d.T = a->lens[i], d.metric = s->metric;
        st = push(c, s->cap, &d);
    }
    c->n_gen_only += (size_t)(a->n_lens - matched) + (size_t)(b->n_lens - matched);
    return st;
}

static PbStatus compare_encoding(hid_t ga, hid_t gb, StudyCtx *s, Comparison *c) {
    if (!h5_exists(gb, s->enc)) {
        c->n_gen_only++;
        return PB_OK;
    }
    hid_t ea = H5Gopen2(ga, s->enc, H5P_DEFAULT), eb = H5Gopen2(gb, s->enc, H5P_DEFAULT);
    Values va, vb;
    PbStatus st = PB_OK;
    if (ea >= 0 && eb >= 0 && !values_read(ea, s->metric, &va)) {
        if (!values_read(eb, s->metric, &vb)) {
            st = compare_lengths(&va, &vb, s, c);
            values_free(&vb);
        }
        values_free(&va);
    }
    if (ea >= 0) H5Gclose(ea);
    if (eb >= 0) H5Gclose(eb);
    return st;
}

/* Group `group` of both files (a study), every encoding A holds. */
static PbStatus compare_study(hid_t a, hid_t b, const char *group, const char *label, const char *metric, size_t *cap,
                              Comparison *c) {
    if (!h5_exists(a, group) || !h5_exists(b, group)) return PB_OK;
    hid_t ga = H5Gopen2(a, group, H5P_DEFAULT), gb = H5Gopen2(b, group, H5P_DEFAULT);
    char names[GEN_MAX_ENCODINGS][GEN_NAME];
    int n = ga >= 0 && gb >= 0 ? gen_read_encodings(ga, names, GEN_MAX_ENCODINGS) : 0;
    StudyCtx s = {label, metric, NULL, n ? same_seeds_and_data(ga, gb) : 0, cap};
    PbStatus st = PB_OK;
    for (int e = 0; !st && e < n; e++) {
        s.enc = names[e];
        st = compare_encoding(ga, gb, &s, c);
    }
    int nb = ga >= 0 && gb >= 0 ? gen_read_encodings(gb, names, GEN_MAX_ENCODINGS) : 0;
    for (int e = 0; e < nb; e++) c->n_gen_only += !h5_exists(ga, names[e]);
    if (ga >= 0) H5Gclose(ga);
    if (gb >= 0) H5Gclose(gb);
    return st;
}

/* The verdicts of A's encodings that B words differently (another list). */
static void verdict_changes(hid_t a, hid_t b, Comparison *c) {
    GenVerdict va[GEN_MAX_ENCODINGS], vb[GEN_MAX_ENCODINGS];
    int na = gen_verdicts(a, va, GEN_MAX_ENCODINGS), nb = gen_verdicts(b, vb, GEN_MAX_ENCODINGS);
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) {
            if (strcmp(va[i].name, vb[j].name) != 0 || va[i].list == vb[j].list) continue;
            VerdictChange *v = &c->verdicts[c->n_verdicts++];
            text_sanitize_copy(v->encoding, sizeof v->encoding, va[i].name);
            snprintf(v->a, sizeof v->a, "%s", va[i].verdict);
            snprintf(v->b, sizeof v->b, "%s", vb[j].verdict);
        }
}

PbStatus compare_gen(hid_t a, hid_t b, Comparison *c) {
    size_t cap = 0;
    PbStatus st = compare_study(a, b, "generalization", "generalization", "loss", &cap, c);
    for (int k = 0; !st && k < TASK_COUNT; k++) {
        char group[64], label[64];
        snprintf(group, sizeof group, "tasks/%s", task_name((TaskKind)k));
        snprintf(label, sizeof label, "task:%s", task_name((TaskKind)k));
        st = compare_study(a, b, group, label, "accuracy", &cap, c);
    }
    if (!st) verdict_changes(a, b, c);
    return st;
}
