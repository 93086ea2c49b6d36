/* generalize.c: the length-generalization sweep (see generalize.h). */
#include "generalize.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "../../core/alloc.h"
#include "../../core/interrupt.h"
#include "../../datasets/corpus.h"
#include "../../datasets/tasks.h"
#include "../../datasets/token_stream.h"
#include "../../encodings/encoding.h"
#include "../model/vocab_map.h"

#define TASK_TRAIN_STREAM 0x7461736b74ULL /* "taskt" */
#define TASK_TEST_STREAM 0x7461736b65ULL  /* "taske", + T */

void gen_config_default(GenConfig *c) {
    memset(c, 0, sizeof *c);
    for (const EncodingModule *const *m = encoding_registry; *m && c->n_encodings < GEN_MAX_ENCODINGS; m++)
        snprintf(c->encodings[c->n_encodings++], GEN_NAME, "%s", (*m)->name);
    snprintf(c->data, sizeof c->data, "%s", CORPUS_DEFAULT);
    snprintf(c->tokenizer, sizeof c->tokenizer, "bytes");
    c->train_len = 64;
    c->n_lens = 5;
    for (int i = 0; i < 5; i++) c->eval_lens[i] = 64 << i;
    c->seeds = 3;
    c->model = model_config_default();
    c->model.dim = 64;
    c->model.heads = 4;
    c->model.layers = 2;
    c->model.embed_scale = 8.0f; /* sqrt(dim): see generalize.h */
    c->train = train_config_default();
    c->train.steps = 300;
    c->train.batch = 16;
    c->train.lr = 3e-3f;
    c->bins = 32;
    c->eval_tokens = 32768;
    c->eval_batch = 4;
    c->task_examples = 128;
    c->task_blocks = 0;
    c->label = "";
}

int gen_is_task(const GenConfig *c, int *task) {
    if (strncmp(c->data, "task:", 5) != 0) return 0;
    if (task) *task = task_find(c->data + 5);
    return 1;
}

void gen_hostname(char *buf, size_t cap) {
    struct utsname un;
    const char *name = uname(&un) == 0 ? un.nodename : "?";
    size_t n = strlen(name) < cap - 1 ? strlen(name) : cap - 1;
    memcpy(buf, name, n);
    buf[n] = 0;
}

/* ---- statistics --------------------------------------------------------- */

double gen_t975(int df) {
    static const double t[] = {NAN,   12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201, 2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
                               2.074, 2.069,  2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    if (df < 1) return NAN;
    if (df <= 30) return t[df];
    return 1.959964 + 2.37 / df; /* within 0.1% of the quantile past 30 */
}

void gen_mean_ci(const float *x, int n, int stride, double *mean, double *half, int *k_out) {
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        double v = x[(size_t)i * stride];
        if (isfinite(v)) s += v, k++;
    }
    *mean = k ? s / k : NAN;
    double ss = 0;
    for (int i = 0; i < n; i++) {
        double v = x[(size_t)i * stride];
        if (isfinite(v)) ss += (v - *mean) * (v - *mean);
    }
    *half = k > 1 ? gen_t975(k - 1) * sqrt(ss / (k - 1)) / sqrt((double)k) : 0;
    if (k_out) *k_out = k;
}

/* ---- progress ----------------------------------------------------------- */

static void say(const GenConfig *c, const char *fmt, const char *enc, int seed, const char *tail) {
    if (!c->log) return;
    fprintf(c->log, fmt, c->label, enc, seed, tail);
    fflush(c->log);
}

static void eval_progress(const GenConfig *c, const char *what, int T) {
    if (!c->log || !c->tty) return;
    fprintf(c->log, "\r\033[K  evaluating %s at T = %d", what, T);
    fflush(c->log);
}

/* ---- corpus evaluation -------------------------------------------------- */

typedef struct {
    double loss, loss_slide, peak;
    int windows;
    double *bin_sum;
    long *bin_n;
} LenEval;

/* Scoring windows of T tokens of val: the model, its evaluation workspace,
 * and buffers for a batch of B windows. */
typedef struct {
    ModelEval ev;
    const Model *m;
    const int32_t *val;
    int T, B;
    int32_t *in, *tg;
    float *losses;
    size_t *starts; /* the first token of each window */
    int *from;      /* sliding: the first position each window scores */
} Scorer;

static PbStatus scorer_alloc(Scorer *sc, size_t n_starts, size_t n_from) {
    const int T = sc->T, B = sc->B;
    sc->in = malloc((size_t)B * T * sizeof *sc->in);
    sc->tg = malloc((size_t)B * T * sizeof *sc->tg);
    sc->losses = malloc((size_t)B * T * sizeof *sc->losses);
    sc->starts = malloc(n_starts * sizeof *sc->starts);
    sc->from = malloc(n_from * sizeof *sc->from);
    return !sc->in || !sc->tg || !sc->losses || !sc->starts || !sc->from
               ? pb_fail(PB_NOMEM, "no memory for evaluation at length %d", T)
               : PB_OK;
}

static void scorer_free(Scorer *sc) {
    model_eval_free(&sc->ev);
    free(sc->in), free(sc->tg), free(sc->losses), free(sc->starts), free(sc->from);
}

/* Scores windows starts[0..n), positions p >= from[i] (all without from). */
static PbStatus score_windows(Scorer *sc, const int *from, size_t n, double *sum, long *count, double *bin_sum,
                              long *bin_n, int bins) {
    const int T = sc->T, B = sc->B;
    for (size_t w0 = 0; w0 < n; w0 += (size_t)B) {
        int rows = n - w0 < (size_t)B ? (int)(n - w0) : B;
        for (int r = 0; r < rows; r++) {
            memcpy(sc->in + (size_t)r * T, sc->val + sc->starts[w0 + r], (size_t)T * sizeof *sc->in);
            memcpy(sc->tg + (size_t)r * T, sc->val + sc->starts[w0 + r] + 1, (size_t)T * sizeof *sc->tg);
        }
        PbStatus st = model_eval_losses(&sc->ev, sc->m, sc->losses, sc->in, sc->tg, rows, T, 0);
        if (st) return st;
        if (interrupt_requested()) return PB_OK; /* the caller drops this length */
        for (int r = 0; r < rows; r++)
            for (int p = from ? from[w0 + r] : 0; p < T; p++) {
                double l = sc->losses[(size_t)r * T + p];
                *sum += l, (*count)++;
                if (bin_sum) {
                    int b = (int)((long)p * bins / T);
                    bin_sum[b] += l, bin_n[b]++;
                }
            }
    }
    return PB_OK;
}

/* W non-overlapping windows, each scored from position 0: out->loss and the
 * loss by position bin. */
static PbStatus score_non_overlapping(Scorer *sc, size_t W, LenEval *out, int bins) {
    double sum = 0;
    long count = 0;
    for (size_t w = 0; w < W; w++) sc->starts[w] = w * (size_t)sc->T;
    PbStatus st = score_windows(sc, NULL, W, &sum, &count, out->bin_sum, out->bin_n, bins);
    out->loss = count ? sum / count : NAN;
    return st;
}

/* Sliding windows `stride` apart over the same W*T targets, each scored
 * once: out->loss_slide. */
static PbStatus score_sliding(Scorer *sc, size_t W, int stride, LenEval *out) {
    const int T = sc->T;
    const size_t end = W * (size_t)T; /* targets 1..end */
    size_t n = 0, covered = 0;
    for (size_t s = 0; s + T <= end; s += (size_t)stride) {
        sc->starts[n] = s, sc->from[n] = covered > s ? (int)(covered - s) : 0;
        covered = s + T, n++;
    }
    if (covered < end) sc->starts[n] = end - T, sc->from[n] = (int)(covered - (end - T)), n++;
    double ssum = 0;
    long scount = 0;
    PbStatus st = score_windows(sc, sc->from, n, &ssum, &scount, NULL, NULL, 0);
    out->loss_slide = scount ? ssum / scount : NAN;
    return st;
}

/* Windows of T in n_val validation tokens: as many as fit, at most
 * max(1, eval_tokens / T). */
static size_t corpus_windows(const GenConfig *c, size_t n_val, int T) {
    size_t avail = n_val > (size_t)T ? (n_val - 1) / (size_t)T : 0;
    size_t cap = c->eval_tokens / T > 0 ? (size_t)(c->eval_tokens / T) : 1;
    return avail < cap ? avail : cap;
}

static int slides_at(const GenConfig *c, int T) { return c->stride > 0 && c->stride < T; }

static PbStatus eval_corpus_len(const GenConfig *c, const Model *m, const int32_t *val, size_t n_val, int T,
                                LenEval *out) {
    size_t W = corpus_windows(c, n_val, T);
    if (W == 0)
        return pb_fail(PB_DATA,
                       "the validation split (%zu tokens) holds no window of %d + 1 tokens; "
                       "use a longer text or shorter --eval-lens",
                       n_val, T);
    out->windows = (int)W;
    Scorer sc = {.m = m, .val = val, .T = T, .B = c->eval_batch};
    size_t n_slide = slides_at(c, T) ? (W * T - T) / c->stride + 2 : 1;
    PbStatus st = scorer_alloc(&sc, W > n_slide ? W : n_slide, n_slide);
    size_t live = pb_alloc_live_bytes();
    pb_alloc_reset_peak();
    if (!st) st = model_eval_alloc(&sc.ev, m, sc.B, T);
    if (!st) st = score_non_overlapping(&sc, W, out, c->bins);
    out->loss_slide = out->loss;
    if (!st && slides_at(c, T) && !interrupt_requested()) st = score_sliding(&sc, W, c->stride, out);
    out->peak = (double)(pb_alloc_peak_bytes() - live);
    scorer_free(&sc);
    return st;
}

/* ---- task evaluation ---------------------------------------------------- */

/* A batch of B test examples of T + 1 tokens, as inputs and targets of T,
 * with where each one's answer starts and how long it is. */
typedef struct {
    int32_t *tok, *in, *tg;
    int *a0, *al;
} TaskBatch;

static PbStatus task_batch_alloc(TaskBatch *b, int B, int T) {
    b->tok = malloc((size_t)B * (T + 1) * sizeof *b->tok);
    b->in = malloc((size_t)B * T * sizeof *b->in);
    b->tg = malloc((size_t)B * T * sizeof *b->tg);
    b->a0 = malloc((size_t)B * sizeof *b->a0);
    b->al = malloc((size_t)B * sizeof *b->al);
    if (!b->tok || !b->in || !b->tg || !b->a0 || !b->al) return pb_fail(PB_NOMEM, "no memory for task evaluation");
    return PB_OK;
}

static void task_batch_free(TaskBatch *b) { free(b->tok), free(b->in), free(b->tg), free(b->a0), free(b->al); }

/* rows fresh examples of input size n from rng, padded to T + 1 tokens. */
static void task_batch_fill(TaskBatch *b, TaskKind k, int n, Rng *rng, int rows, int T) {
    for (int r = 0; r < rows; r++) {
        int32_t *x = b->tok + (size_t)r * (T + 1);
        int len = task_generate(k, n, rng, x, &b->a0[r], &b->al[r]);
        for (int i = len; i <= T; i++) x[i] = TASK_PAD;
        memcpy(b->in + (size_t)r * T, x, (size_t)T * sizeof *x);
        memcpy(b->tg + (size_t)r * T, x + 1, (size_t)T * sizeof *x);
    }
}

/* The most probable of V tokens (the first of a tie): greedy decoding. */
static int argmax(const float *p, int V) {
    int best = 0;
    for (int v = 1; v < V; v++)
        if (p[v] > p[best]) best = v;
    return best;
}

typedef struct {
    long exact, right, total; /* examples all right, answer tokens right, answer tokens */
} TaskScore;

/* Counts the answers of a batch the model's last forward pass got right. */
static void task_batch_score(const TaskBatch *b, const Model *m, int rows, int T, TaskScore *sc) {
    const int V = m->cfg.vocab;
    for (int r = 0; r < rows; r++) {
        int all = 1;
        for (int i = b->a0[r]; i < b->a0[r] + b->al[r]; i++) {
            const float *p = m->a.probs + ((size_t)r * T + (i - 1)) * V; /* predicts token i */
            int ok = argmax(p, V) == b->tg[(size_t)r * T + i - 1];
            sc->right += ok, sc->total++, all &= ok;
        }
        sc->exact += all;
    }
}

static PbStatus eval_task_len(const GenConfig *c, Model *m, TaskKind k, int T, uint64_t seed, double *acc,
                              double *tok_acc, int *n_in) {
    const int B = c->eval_batch > 8 ? c->eval_batch : 8;
    const int n = task_max_input(k, T);
    *n_in = n;
    if (n < 1) return pb_fail(PB_USAGE, "--eval-lens: %d tokens hold no %s example", T, task_name(k));
    PbStatus st = model_alloc_train(m, B, T);
    if (st) return st;
    TaskBatch b;
    st = task_batch_alloc(&b, B, T);
    Rng rng;
    rng_seed(&rng, seed, TASK_TEST_STREAM + (uint64_t)T);
    TaskScore sc = {0, 0, 0};
    /* Polled per batch: with --examples in the millions this loop is minutes. */
    for (int e0 = 0; !st && e0 < c->task_examples && !interrupt_requested(); e0 += B) {
        int rows = c->task_examples - e0 < B ? c->task_examples - e0 : B;
        task_batch_fill(&b, k, n, &rng, rows, T);
        if ((st = model_forward(m, b.in, b.tg, rows, T, 0))) break;
        task_batch_score(&b, m, rows, T, &sc);
    }
    *acc = (double)sc.exact / c->task_examples;
    *tok_acc = sc.total ? (double)sc.right / sc.total : NAN;
    task_batch_free(&b);
    return st;
}

/* ---- the sweep ---------------------------------------------------------- */

static float *nan_floats(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (p)
        for (size_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

/* What every run records, task or corpus: [seeds] and [seeds, steps]. */
static PbStatus alloc_run_arrays(GenEncResult *e, const GenConfig *c) {
    const size_t S = (size_t)c->seeds, steps = (size_t)c->train.steps;
    e->train_loss = nan_floats(S * steps);
    e->diverged = calloc(S, sizeof *e->diverged);
    e->train_tps = nan_floats(S);
    e->train_tps_steady = nan_floats(S);
    e->measured = calloc(S, sizeof *e->measured);
    e->rank = malloc(S * sizeof *e->rank);
    e->host = calloc(S, sizeof *e->host);
    if (!e->train_loss || !e->diverged || !e->train_tps || !e->train_tps_steady || !e->measured || !e->rank || !e->host)
        return PB_NOMEM;
    for (size_t s = 0; s < S; s++) e->rank[s] = -1;
    return PB_OK;
}

static PbStatus alloc_task_arrays(GenEncResult *e, const GenConfig *c) {
    const size_t S = (size_t)c->seeds, n = (size_t)c->n_lens;
    e->accuracy = nan_floats(S * n);
    e->token_accuracy = nan_floats(S * n);
    e->input_len = calloc(n, sizeof *e->input_len);
    if (!e->accuracy || !e->token_accuracy || !e->input_len) return PB_NOMEM;
    return PB_OK;
}

static PbStatus alloc_corpus_arrays(GenEncResult *e, const GenConfig *c) {
    const size_t S = (size_t)c->seeds, n = (size_t)c->n_lens;
    e->loss = nan_floats(S * n);
    e->ppl = nan_floats(S * n);
    e->loss_by_pos = nan_floats(S * n * c->bins);
    e->peak_bytes = malloc(n * sizeof *e->peak_bytes);
    e->windows = calloc(n, sizeof *e->windows);
    if (!e->loss || !e->ppl || !e->loss_by_pos || !e->peak_bytes || !e->windows) return PB_NOMEM;
    for (size_t i = 0; i < n; i++) e->peak_bytes[i] = NAN;
    if (c->stride > 0) {
        e->loss_slide = nan_floats(S * n);
        e->ppl_slide = nan_floats(S * n);
        if (!e->loss_slide || !e->ppl_slide) return PB_NOMEM;
    }
    return PB_OK;
}

static PbStatus alloc_result(GenEncResult *e, const GenConfig *c, int is_task) {
    PbStatus st = alloc_run_arrays(e, c);
    if (st) return st;
    return is_task ? alloc_task_arrays(e, c) : alloc_corpus_arrays(e, c);
}

static void free_result(GenEncResult *e) {
    free(e->train_loss), free(e->diverged), free(e->train_tps), free(e->train_tps_steady), free(e->loss), free(e->ppl);
    free(e->loss_slide), free(e->ppl_slide), free(e->loss_by_pos), free(e->peak_bytes);
    free(e->windows), free(e->accuracy), free(e->token_accuracy), free(e->input_len), free(e->measured);
    free(e->rank), free(e->host);
}

void gen_results_free(GenResults *r) {
    if (r->enc)
        for (int i = 0; i < r->cfg.n_encodings; i++) free_result(&r->enc[i]);
    free(r->enc);
    free(r->ids);
    r->enc = NULL;
    r->ids = NULL;
}

int gen_count_measured(const GenResults *r, int *total) {
    int n = 0;
    for (int e = 0; e < r->cfg.n_encodings; e++)
        for (int s = 0; s < r->cfg.seeds; s++) n += r->enc[e].measured[s];
    if (total) *total = r->cfg.n_encodings * r->cfg.seeds;
    return n;
}

/* Forgets what a run cut short by an interrupt wrote for seed s. */
static void clear_seed(GenEncResult *e, const GenConfig *c, int s, int is_task) {
    const size_t n = (size_t)c->n_lens, steps = (size_t)c->train.steps;
    for (size_t i = 0; i < steps; i++) e->train_loss[(size_t)s * steps + i] = NAN;
    e->diverged[s] = 0;
    e->train_tps[s] = e->train_tps_steady[s] = NAN;
    e->rank[s] = -1;
    e->host[s][0] = 0;
    for (size_t i = 0; i < n; i++) {
        const size_t si = (size_t)s * n + i;
        if (is_task) {
            e->accuracy[si] = e->token_accuracy[si] = NAN;
            continue;
        }
        e->loss[si] = e->ppl[si] = NAN;
        if (e->loss_slide) e->loss_slide[si] = e->ppl_slide[si] = NAN;
        for (int b = 0; b < c->bins; b++) e->loss_by_pos[si * c->bins + b] = NAN;
    }
}

static void note(char *dst, size_t cap, const char *msg) {
    if (*dst || !cap) return;
    size_t n = strlen(msg) < cap - 1 ? strlen(msg) : cap - 1; /* truncated if long */
    memcpy(dst, msg, n);
    dst[n] = 0;
}

/* A length past an encoding's table is noted and left NaN, not an error. */
static PbStatus skip_not_applicable(GenEncResult *e, PbStatus st) {
    if (st != PB_LENGTH) return st;
    note(e->not_applicable, sizeof e->not_applicable, pb_errmsg());
    return PB_OK;
}

/* Evaluates the task model of seed index s at eval_lens[i] into e. */
static PbStatus eval_task_at(const GenConfig *c, const GenResults *r, GenEncResult *e, Trainer *t, int s, int i,
                             int *cut) {
    const size_t si = (size_t)s * c->n_lens + i;
    double acc = NAN, tok = NAN;
    PbStatus st = eval_task_len(c, &t->model, (TaskKind)r->task, c->eval_lens[i], c->base_seed + (uint64_t)s, &acc,
                                &tok, &e->input_len[i]);
    if (!st && interrupt_requested()) { /* cut inside this length */
        *cut = 1;
        return PB_OK;
    }
    if (st == PB_LENGTH) return skip_not_applicable(e, st);
    if (!st) e->accuracy[si] = (float)acc, e->token_accuracy[si] = (float)tok;
    return st;
}

/* Per-position-bin loss sums of one evaluation length. */
typedef struct {
    double *sum;
    long *n;
} Bins;

/* Evaluates the corpus model of seed index s at eval_lens[i] into e; a loss
 * that is not finite marks the run diverged (*diverged). */
static PbStatus eval_corpus_at(const GenConfig *c, GenEncResult *e, Trainer *t, int s, int i, const int32_t *val,
                               size_t n_val, Bins bins, int *cut, int *diverged) {
    const int nb = c->bins;
    const size_t si = (size_t)s * c->n_lens + i;
    LenEval le = {.bin_sum = bins.sum, .bin_n = bins.n};
    memset(bins.sum, 0, (size_t)nb * sizeof *bins.sum);
    memset(bins.n, 0, (size_t)nb * sizeof *bins.n);
    PbStatus st = eval_corpus_len(c, &t->model, val, n_val, c->eval_lens[i], &le);
    if (!st && interrupt_requested()) { /* cut inside this length */
        *cut = 1;
        return PB_OK;
    }
    if (st) return skip_not_applicable(e, st);
    e->windows[i] = le.windows;
    e->peak_bytes[i] = le.peak;
    if (!isfinite(le.loss)) {
        e->diverged[s] = 1;
        note(e->diverged_reason, sizeof e->diverged_reason, "evaluation loss not finite");
        *diverged = 1;
        return PB_OK;
    }
    e->loss[si] = (float)le.loss;
    e->ppl[si] = (float)exp(le.loss);
    if (e->loss_slide) e->loss_slide[si] = (float)le.loss_slide, e->ppl_slide[si] = (float)exp(le.loss_slide);
    for (int b = 0; b < nb; b++) e->loss_by_pos[si * nb + b] = bins.n[b] ? (float)(bins.sum[b] / bins.n[b]) : NAN;
    return PB_OK;
}

/* The extension of derived key `how` for an evaluation at length T of the
 * model trained at L: factor --extend-factor, else T / L (fine-tuned: the
 * factor it was tuned at, extend_len / L, at every T); dynamic-ntk always
 * 1, so its factor is max(1, l / L) for a pass of length l (the YaRN
 * paper's rule; a larger s in s l / L - (s - 1) overshoots l / L). */
static Extension extension_at(const GenConfig *c, const GenDerived *how, int T) {
    const double L = c->train_len, at = how->finetuned ? c->extend_len : T, s = at > L ? at / L : 1;
    const ExtendMethod m = how->method;
    const double factor = m == EXTEND_DYNAMIC_NTK ? 1 : c->extend_factor > 0 ? c->extend_factor : s;
    Extension x = extension_default(m, factor, c->train_len);
    if (c->beta_fast > 0) x.beta_fast = c->beta_fast;
    if (c->beta_slow > 0) x.beta_slow = c->beta_slow;
    return x;
}

/* Evaluates one trained model (seed index s) into e, under the context
 * extension of derived key `how` (NULL: as trained). */
static PbStatus evaluate(const GenConfig *c, GenResults *r, GenEncResult *e, Trainer *t, int s, const int32_t *val,
                         size_t n_val, int *cut, const GenDerived *how) {
    const int extended = how && how->method != EXTEND_NONE;
    Bins bins = {NULL, NULL};
    if (!r->is_task) {
        bins.sum = malloc((size_t)c->bins * sizeof *bins.sum);
        bins.n = malloc((size_t)c->bins * sizeof *bins.n);
        if (!bins.sum || !bins.n) return free(bins.sum), free(bins.n), PB_NOMEM;
    }
    PbStatus st = PB_OK;
    int diverged = 0;
    *cut = 0;
    for (int i = 0; !st && !*cut && !diverged && i < c->n_lens; i++) {
        if (interrupt_requested()) { /* a safe point: the caller drops this run */
            *cut = 1;
            break;
        }
        eval_progress(c, e->name, c->eval_lens[i]);
        if (extended) {
            const Extension x = extension_at(c, how, c->eval_lens[i]);
            if ((st = model_set_extension(&t->model, &x))) break;
        }
        st = r->is_task ? eval_task_at(c, r, e, t, s, i, cut)
                        : eval_corpus_at(c, e, t, s, i, val, n_val, bins, cut, &diverged);
    }
    if (c->log && c->tty) fprintf(c->log, "\r\033[K"), fflush(c->log);
    free(bins.sum), free(bins.n);
    if (extended) { /* the model as trained again */
        const Extension none = {0};
        PbStatus back = model_set_extension(&t->model, &none);
        if (!st) st = back;
    }
    return st;
}

/* ---- preparing the data ------------------------------------------------- */

/* Keeps the exported "ramp" of an encoding. */
typedef struct {
    float *ramp;
    int cap, n;
} RampSink;

static PbStatus ramp_put(TensorSink *s, const char *name, const float *data, int rank, const int *dims) {
    RampSink *r = s->ctx;
    if (strcmp(name, "ramp") == 0 && rank == 1)
        for (r->n = 0; r->n < dims[0] && r->n < r->cap; r->n++) r->ramp[r->n] = data[r->n];
    return PB_OK;
}

static PbStatus ramp_put_int(TensorSink *s, const char *name, const int *data, int rank, const int *dims) {
    (void)s, (void)name, (void)data, (void)rank, (void)dims;
    return PB_OK;
}

PbStatus gen_key_ramp(const GenConfig *c, const char *key, float *ramp, int cap, int *pairs) {
    GenDerived how;
    EncodingSpec spec;
    int randomized;
    *pairs = 0;
    PbStatus st = !gen_key_derived(key, &how) ? pb_fail(PB_USAGE, "'%s' is not an extension", key)
                                              : gen_key_parse(how.parent, &spec, &randomized);
    if (st) return st;
    const int T = c->eval_lens[c->n_lens - 1];
    EncodingConfig cfg = {.variant = spec.variant,
                          .dim = c->model.dim,
                          .heads = c->model.heads,
                          .max_len = T > c->extend_len ? T : c->extend_len,
                          .knobs = spec.settings,
                          .extend = extension_at(c, &how, T)};
    Encoding e;
    if ((st = encoding_create(&e, spec.module, &cfg))) return st;
    RampSink rs = {ramp, cap, 0};
    TensorSink sink = {ramp_put, ramp_put_int, &rs};
    /* inspect alone: the angles it also gives are not needed */
    if (spec.module->inspect) st = spec.module->inspect(&e, 1, &sink);
    encoding_destroy(&e);
    *pairs = rs.n;
    return st;
}

int gen_key_derived_from(const char *key, const char *parent_key) {
    GenDerived d;
    return gen_key_derived(key, &d) && strcmp(d.parent, parent_key) == 0;
}

int gen_key_is_derived(const char *key) { return gen_key_derived(key, NULL); }

int gen_key_derived(const char *key, GenDerived *d) {
    const size_t n = strlen(key), k = strlen(GEN_FINETUNED);
    const int ft = n > k && strcmp(key + n - k, GEN_FINETUNED) == 0;
    char body[GEN_NAME];
    if (n >= sizeof body) return 0;
    snprintf(body, sizeof body, "%.*s", (int)(ft ? n - k : n), key);
    const char *plus = strrchr(body, '+');
    if (!plus) return 0;
    /* none only fine-tuned: zero-shot, the parent is the model as trained */
    for (int m = ft ? EXTEND_NONE : EXTEND_PI; m < EXTEND_COUNT; m++)
        if (strcmp(plus + 1, extend_method_name((ExtendMethod)m)) == 0) {
            if (d) {
                *d = (GenDerived){(ExtendMethod)m, ft, ""};
                snprintf(d->parent, sizeof d->parent, "%.*s", (int)(plus - body), body);
            }
            return 1;
        }
    return 0;
}

/* Appends key "<parent>+<method><tail>"; 0 or PB_USAGE. */
static PbStatus add_derived(GenConfig *c, const char *parent, ExtendMethod m, const char *tail) {
    if (c->n_encodings >= GEN_MAX_ENCODINGS)
        return pb_fail(PB_USAGE, "--extend: more than %d studies in all", GEN_MAX_ENCODINGS);
    char key[GEN_NAME + 32];
    snprintf(key, sizeof key, "%s+%s%s", parent, extend_method_name(m), tail);
    if (strlen(key) >= GEN_NAME) return pb_fail(PB_USAGE, "--extend: '%s' is too long a key", key);
    snprintf(c->encodings[c->n_encodings++], GEN_NAME, "%s", key);
    return PB_OK;
}

PbStatus gen_add_extensions(GenConfig *c) {
    const int n = c->n_encodings;
    int added = 0;
    PbStatus st = PB_OK;
    for (int i = 0; !st && i < n; i++) {
        EncodingSpec spec;
        int randomized;
        if (gen_key_is_derived(c->encodings[i])) continue;
        if (gen_key_parse(c->encodings[i], &spec, &randomized) || randomized || !spec.module->extendable) continue;
        char parent[GEN_NAME];
        snprintf(parent, sizeof parent, "%s", c->encodings[i]);
        for (int k = 0; !st && k < c->n_extend; k++, added++) st = add_derived(c, parent, c->extend[k], "");
        for (int k = 0; !st && c->extend_finetune > 0 && k < c->n_extend; k++)
            st = add_derived(c, parent, c->extend[k], GEN_FINETUNED);
        if (!st && c->extend_finetune > 0) st = add_derived(c, parent, EXTEND_NONE, GEN_FINETUNED);
    }
    if (!st && c->n_extend && !added)
        return pb_fail(PB_USAGE,
                       "--extend: no study can take it: the methods scale a rotation, and none of the encodings "
                       "(%s%s) rotates (rope does)",
                       c->encodings[0], n > 1 ? ", ..." : "");
    return st;
}

PbStatus gen_key_parse(const char *key, EncodingSpec *spec, int *randomized) {
    GenDerived how;
    if (gen_key_derived(key, &how)) return gen_key_parse(how.parent, spec, randomized);
    const size_t n = strlen(key), k = strlen(GEN_RANDOMIZED);
    *randomized = n > k && strcmp(key + n - k, GEN_RANDOMIZED) == 0;
    if (!*randomized) return encoding_spec_parse(key, spec);
    char buf[GEN_NAME];
    snprintf(buf, sizeof buf, "%.*s", (int)(n - k), key);
    PbStatus st = encoding_spec_parse(buf, spec);
    if (!st && !encoding_reads_positions(spec->module))
        st = pb_fail(PB_USAGE, "'%s': encoding '%s' reads no token positions, so randomized positions do not apply",
                     key, spec->module->name);
    return st;
}

/* Randomized keys need an LMAX that holds a training window. */
static PbStatus check_randomized(const GenConfig *c, const char *key) {
    const int lmax = c->train.randomize_positions;
    if (lmax <= 0)
        return pb_fail(PB_USAGE, "'%s' trains at randomized positions: give --randomize-positions LMAX", key);
    if (lmax < c->train_len)
        return pb_fail(PB_USAGE,
                       "--randomize-positions %d is shorter than the training length %d: a window needs "
                       "that many distinct positions",
                       lmax, c->train_len);
    return PB_OK;
}

static PbStatus check_config(const GenConfig *c, const GenResults *r) {
    if (r->is_task && r->task < 0)
        return pb_fail(PB_USAGE, "--data %s: unknown task (tasks: %s)", c->data, task_names_list());
    if (c->n_encodings < 1 || c->seeds < 1 || c->n_lens < 1)
        return pb_fail(PB_USAGE, "generalize: need at least one encoding, seed and eval length");
    EncodingSpec spec;
    for (int i = 0; i < c->n_encodings; i++) {
        int randomized;
        PbStatus st = gen_key_parse(c->encodings[i], &spec, &randomized);
        if (!st && randomized) st = check_randomized(c, c->encodings[i]);
        if (st) return st;
    }
    if (c->model.dim % c->model.heads)
        return pb_fail(PB_USAGE, "--heads %d must divide --dim %d", c->model.heads, c->model.dim);
    return PB_OK;
}

/* Examples in a task's training stream: task_blocks, or one per window the
 * run trains on, at least one batch. */
static PbStatus task_stream_blocks(const GenConfig *c, TaskKind k, int *out) {
    const TrainConfig tc = c->train;
    const int L = c->train_len;
    if (task_max_input(k, L) < 1)
        return pb_fail(PB_USAGE, "--train-len %d is too short for one %s example (needs %d)", L, task_name(k),
                       task_example_len(k, 1));
    long long blocks = c->task_blocks > 0 ? c->task_blocks : (long long)tc.steps * tc.batch;
    if (blocks < tc.batch) blocks = tc.batch;
    if (blocks > INT_MAX || (unsigned long long)blocks * (unsigned long long)L >= SIZE_MAX / sizeof(int32_t))
        return pb_fail(PB_USAGE,
                       "--steps %ld x --batch %d = %lld training examples of %d tokens are too many "
                       "to hold; use fewer steps or a smaller batch",
                       tc.steps, tc.batch, blocks, L);
    *out = (int)blocks;
    return PB_OK;
}

static PbStatus prepare_task_ids(const GenConfig *c, GenResults *r, int32_t **ids_out, size_t *n_out) {
    const TaskKind k = (TaskKind)r->task;
    PbStatus st = task_stream_blocks(c, k, &r->cfg.task_blocks);
    if (st) return st;
    const size_t n_ids = (size_t)r->cfg.task_blocks * c->train_len + 1;
    r->vocab = TASK_VOCAB;
    int32_t *ids = malloc(n_ids * sizeof *ids);
    if (!ids) return pb_fail(PB_NOMEM, "no memory for %zu task tokens", n_ids);
    /* The data identity of a task: its first run's training stream, which
     * the task, its settings and its generator determine. An interrupt
     * cutting this short leaves ids_sha256 "" (the caller drops r). */
    Rng rng;
    rng_seed(&rng, c->base_seed, TASK_TRAIN_STREAM);
    if (task_training_stream(k, c->train_len, r->cfg.task_blocks, &rng, ids) == 0)
        token_stream_sha256(r->ids_sha256, ids, n_ids);
    *ids_out = ids, *n_out = n_ids;
    return PB_OK;
}

/* The model's vocabulary: gpt2, the ids the training split uses; else all. */
static PbStatus build_vocab_map(const GenConfig *c, VocabMap *vmap, int vocab_size, const IdBuf *raw) {
    size_t n_train, n_val;
    train_split(raw->len, c->train.val_fraction, &n_train, &n_val);
    return strcmp(c->tokenizer, "gpt2") == 0 ? vocab_map_build(vmap, vocab_size, raw->data, n_train)
                                             : vocab_map_identity(vmap, vocab_size);
}

static PbStatus prepare_corpus_ids(const GenConfig *c, GenResults *r, int32_t **ids_out, size_t *n_out) {
    IdBuf raw = {0};
    VocabMap vmap = {0};
    TokenStreamInfo info;
    PbStatus st = token_stream_load(&raw, c->data, c->tokenizer, &info);
    if (st) return st;
    token_stream_sha256(r->ids_sha256, raw.data, raw.len); /* as train's checkpoints record it */
    st = build_vocab_map(c, &vmap, info.vocab_size, &raw);
    const size_t n_ids = raw.len;
    int32_t *ids = st ? NULL : malloc((n_ids ? n_ids : 1) * sizeof *ids);
    if (!st && !ids) st = pb_fail(PB_NOMEM, "no memory for %zu tokens", n_ids);
    if (!st) st = vocab_map_apply(&vmap, ids, raw.data, raw.len, NULL);
    r->vocab = st ? 0 : vocab_map_size(&vmap);
    idbuf_free(&raw);
    vocab_map_free(&vmap);
    if (st) return free(ids), st;
    *ids_out = ids, *n_out = n_ids;
    return PB_OK;
}

PbStatus gen_prepare(const GenConfig *c, GenResults *r) {
    *r = (GenResults){.cfg = *c};
    r->is_task = gen_is_task(c, &r->task);
    PbStatus st = check_config(c, r);
    if (st) return st;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    st = r->is_task ? prepare_task_ids(c, r, &ids, &n_ids) : prepare_corpus_ids(c, r, &ids, &n_ids);
    if (st) return st;
    r->ids = ids;
    r->n_tokens = n_ids;
    r->enc = calloc((size_t)c->n_encodings, sizeof *r->enc);
    if (!r->enc) return gen_results_free(r), pb_fail(PB_NOMEM, "no memory for results");
    for (int e = 0; !st && e < c->n_encodings; e++) {
        snprintf(r->enc[e].name, GEN_NAME, "%s", c->encodings[e]);
        if (alloc_result(&r->enc[e], c, r->is_task)) st = pb_fail(PB_NOMEM, "no memory for results");
    }
    if (st) gen_results_free(r);
    return st;
}

/* ---- one run ------------------------------------------------------------ */

/* The step (1-based) whose training loss first turned non-finite, or 0. */
static long first_bad_step(const float *loss, long steps) {
    for (long i = 0; i < steps; i++)
        if (!isfinite(loss[i])) return i + 1;
    return 0;
}

void gen_log_cell(const GenResults *r, int e, int s, double seconds, const char *where) {
    const GenConfig *c = &r->cfg;
    const GenEncResult *er = &r->enc[e];
    if (!c->log) return;
    const long steps = c->train.steps;
    char tail[768];
    const float *lrow = er->train_loss + (size_t)s * steps;
    const size_t si = (size_t)s * c->n_lens;
    int len = snprintf(tail, sizeof tail, "final train loss %.3f", lrow[steps - 1]);
    if (er->diverged[s]) len += snprintf(tail + len, sizeof tail - len, ", DIVERGED");
    else if (r->is_task)
        len += snprintf(tail + len, sizeof tail - len, ", accuracy %.2f at %d, %.2f at %d", er->accuracy[si],
                        c->eval_lens[0], er->accuracy[si + c->n_lens - 1], c->eval_lens[c->n_lens - 1]);
    else
        len += snprintf(tail + len, sizeof tail - len, ", ppl %.2f at %d, %.2f at %d", er->ppl[si], c->eval_lens[0],
                        er->ppl[si + c->n_lens - 1], c->eval_lens[c->n_lens - 1]);
    snprintf(tail + len, sizeof tail - len, " (%.1f s%s%s)", seconds, where ? ", " : "", where ? where : "");
    say(c, "%s%s seed %d: %s\n", er->name, (int)(c->base_seed + (uint64_t)s), tail);
}

/* A task run trains on its own seed's stream (gen_prepare made the first
 * run's); 1 if an interrupt cut the stream short. */
static int regenerate_task_stream(GenResults *r, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed, TASK_TRAIN_STREAM);
    return task_training_stream((TaskKind)r->task, r->cfg.train_len, r->cfg.task_blocks, &rng, r->ids) == 1;
}

/* Records seed index s as diverged at bad_step (or the step after the last
 * one done), its training loss NaN from there; logged, and the sweep goes on. */
static void record_divergence(const GenConfig *c, GenEncResult *er, int s, PbStatus st, long bad_step, long done) {
    const long steps = c->train.steps;
    char why[512], msg[1024];
    const char *m = st ? pb_errmsg() : "the training loss is not finite";
    if (strncmp(m, "train: ", 7) == 0) m += 7;
    snprintf(why, sizeof why, "%s", m);
    if (!bad_step) bad_step = done + 1;
    snprintf(msg, sizeof msg, "%s seed %d diverged at step %ld of %ld: %s", er->name, (int)(c->base_seed + (uint64_t)s),
             bad_step, steps, why);
    er->diverged[s] = 1;
    note(er->diverged_reason, sizeof er->diverged_reason, msg);
    for (long i = bad_step - 1; i < steps; i++) er->train_loss[(size_t)s * steps + i] = NAN;
    if (c->log) fprintf(c->log, "%s%s; recorded as diverged, the sweep goes on\n", c->label, msg);
}

/* Keeps what training of seed index s measured (st: how it ended), then
 * evaluates the model, or records the divergence. */
static PbStatus record_training(GenResults *r, GenEncResult *er, int s, Trainer *t, const TrainConfig *tc, PbStatus st,
                                int *cut) {
    memcpy(er->train_loss + (size_t)s * tc->steps, t->loss_history, (size_t)t->step * sizeof(float));
    er->train_tps[s] = (float)trainer_tokens_per_second(t);
    er->train_tps_steady[s] = (float)trainer_steady_tokens_per_second(t);
    long bad_step = first_bad_step(t->loss_history, t->step);
    if (st == PB_DATA || bad_step) {
        record_divergence(&r->cfg, er, s, st, bad_step, t->step);
        return PB_OK;
    }
    if (st) return st;
    size_t n_train, n_val;
    train_split(r->n_tokens, tc->val_fraction, &n_train, &n_val);
    return evaluate(&r->cfg, r, er, t, s, r->ids + n_train, n_val, cut, NULL);
}

static void mark_measured(GenResults *r, int e, int s, double t0);

/* Marks the keys derived from key e measured for seed index s. */
static void mark_derived(GenResults *r, int e, int s, double t0) {
    for (int d = 0; d < r->cfg.n_encodings; d++)
        if (gen_key_derived_from(r->cfg.encodings[d], r->enc[e].name)) mark_measured(r, d, s, t0);
}

/* Marks run (e, s) measured here and logs its line. */
static void mark_measured(GenResults *r, int e, int s, double t0) {
    GenEncResult *er = &r->enc[e];
    er->measured[s] = 1;
    er->rank[s] = r->rank;
    gen_hostname(er->host[s], sizeof er->host[s]);
    gen_log_cell(r, e, s, now_seconds() - t0, NULL);
}

/* A run's training settings: its seed; a task trains on every window of its
 * stream (one example each) and keeps no validation split. */
static TrainConfig cell_train_config(const GenResults *r, const char *key, uint64_t seed) {
    TrainConfig tc = r->cfg.train;
    if (r->is_task) tc.val_fraction = 0, tc.stride = r->cfg.train_len;
    tc.seed = seed;
    EncodingSpec spec;
    int randomized = 0;
    if (gen_key_parse(key, &spec, &randomized) || !randomized) tc.randomize_positions = 0;
    return tc;
}

/* The model of one study: the encoding's module, variant and knobs from its
 * spec (checked by check_config). */
static ModelConfig cell_model_config(const GenResults *r, const char *encoding) {
    ModelConfig mc = r->cfg.model;
    mc.context = r->cfg.train_len;
    mc.vocab = r->vocab;
    EncodingSpec spec;
    int randomized;
    if (gen_key_parse(encoding, &spec, &randomized) == PB_OK) {
        snprintf(mc.encoding, sizeof mc.encoding, "%s", spec.module->name);
        snprintf(mc.variant, sizeof mc.variant, "%s", spec.variant);
        snprintf(mc.settings, sizeof mc.settings, "%s", spec.settings);
    }
    return mc;
}

/* Fine-tunes a copy of t's model (parent's seed `seed`) for extend_finetune
 * steps at extend_len under the extension of `how`, into *ft (freed by the
 * caller whatever happens). The fine-tune is a new run of the schedule:
 * fresh AdamW moments, warmup, cosine decay, the same seed's window order.
 * *diverged: its loss or gradient turned non-finite (why in *why). */
static PbStatus finetune(GenResults *r, const char *key, const GenDerived *how, const Trainer *t, uint64_t seed,
                         Trainer *ft, int *cut, int *diverged) {
    const GenConfig *c = &r->cfg;
    ModelConfig mc = cell_model_config(r, key);
    mc.context = c->extend_len;
    TrainConfig tc = cell_train_config(r, key, seed);
    tc.steps = c->extend_finetune;
    tc.warmup = -1;
    if (c->extend_lr > 0) tc.lr = c->extend_lr;
    PbStatus st = trainer_init(ft, &mc, &tc, r->ids, r->n_tokens);
    if (st) return st;
    if (ft->model.n_params != t->model.n_params) /* a length-bound table: not extendable */
        return pb_fail(PB_USAGE, "%s: the model at length %d holds other parameters than at %d", key, c->extend_len,
                       c->train_len);
    memcpy(ft->model.params, t->model.params, t->model.n_params * sizeof *t->model.params);
    const Extension x = extension_at(c, how, c->extend_len);
    if ((st = model_set_extension(&ft->model, &x))) return st;
    if (c->tty) say(c, "%s%s seed %d: fine-tuning %s\n", key, (int)seed, "");
    TrainProgress progress = {.out = c->tty ? c->log : NULL, .tty = c->tty};
    st = trainer_run(ft, tc.steps, &progress);
    if (!st && ft->step < tc.steps && interrupt_requested()) *cut = 1;
    *diverged = st == PB_DATA || first_bad_step(ft->loss_history, ft->step) > 0;
    return *diverged ? PB_OK : st;
}

/* The keys derived from key e (its trained model t under each extension,
 * zero-shot or fine-tuned): their training as e's, then their evaluations.
 * *cut as evaluate's. */
static PbStatus evaluate_derived(GenResults *r, int e, int s, Trainer *t, int *cut) {
    const GenConfig *c = &r->cfg;
    const GenEncResult *pe = &r->enc[e];
    const size_t steps = (size_t)c->train.steps;
    size_t n_train, n_val;
    train_split(r->n_tokens, r->is_task ? 0 : c->train.val_fraction, &n_train, &n_val);
    PbStatus st = PB_OK;
    for (int d = 0; !st && !*cut && d < c->n_encodings; d++) {
        GenDerived how;
        if (!gen_key_derived(c->encodings[d], &how) || strcmp(how.parent, pe->name) != 0) continue;
        GenEncResult *de = &r->enc[d];
        memcpy(de->train_loss + (size_t)s * steps, pe->train_loss + (size_t)s * steps, steps * sizeof(float));
        de->train_tps[s] = pe->train_tps[s];
        de->train_tps_steady[s] = pe->train_tps_steady[s];
        de->diverged[s] = pe->diverged[s];
        if (pe->diverged[s]) {
            note(de->diverged_reason, sizeof de->diverged_reason, pe->diverged_reason);
            continue;
        }
        if (!how.finetuned) {
            st = evaluate(c, r, de, t, s, r->ids + n_train, n_val, cut, &how);
            continue;
        }
        Trainer ft;
        int diverged = 0;
        st = finetune(r, de->name, &how, t, c->base_seed + (uint64_t)s, &ft, cut, &diverged);
        if (!st && !*cut && diverged) {
            char why[128];
            snprintf(why, sizeof why, "the fine-tune at length %d diverged", c->extend_len);
            de->diverged[s] = 1;
            note(de->diverged_reason, sizeof de->diverged_reason, why);
        } else if (!st && !*cut) st = evaluate(c, r, de, &ft, s, r->ids + n_train, n_val, cut, &how);
        trainer_free(&ft);
    }
    return st;
}

PbStatus gen_run_cell(GenResults *r, int e, int s, int *cut_out) {
    const GenConfig *c = &r->cfg;
    GenEncResult *er = &r->enc[e];
    const uint64_t seed = c->base_seed + (uint64_t)s;
    TrainConfig tc = cell_train_config(r, er->name, seed);
    ModelConfig mc = cell_model_config(r, er->name);
    *cut_out = 0;
    if (r->is_task && regenerate_task_stream(r, seed)) {
        *cut_out = 1; /* interrupted: nothing of this run was measured */
        return PB_OK;
    }
    char head[256];
    snprintf(head, sizeof head, "(run %d/%d)", e * c->seeds + s + 1, c->n_encodings * c->seeds);
    if (c->tty) say(c, "%s%s seed %d: training %s\n", er->name, (int)seed, head);
    double t0 = now_seconds();
    Trainer t;
    PbStatus st = trainer_init(&t, &mc, &tc, r->ids, r->n_tokens);
    if (st) return st;
    if (r->is_task) t.mask_targets = task_mask_targets; /* answer-only loss */
    TrainProgress progress = {.out = c->tty ? c->log : NULL, .tty = c->tty};
    st = trainer_run(&t, tc.steps, &progress);
    if (!st && t.step < tc.steps && interrupt_requested()) { /* cut short: drop the run */
        trainer_free(&t);
        *cut_out = 1;
        return PB_OK;
    }
    int cut = 0;
    st = record_training(r, er, s, &t, &tc, st, &cut);
    if (!st && !cut) st = evaluate_derived(r, e, s, &t, &cut);
    trainer_free(&t);
    if (!st && cut) { /* evaluation cut short by an interrupt: the run and its derived keys */
        for (int d = 0; d < c->n_encodings; d++)
            if (d == e || gen_key_derived_from(c->encodings[d], er->name)) clear_seed(&r->enc[d], c, s, r->is_task);
        *cut_out = 1;
        return PB_OK;
    }
    if (!st) mark_measured(r, e, s, t0), mark_derived(r, e, s, t0);
    return st;
}

PbStatus gen_sweep(GenResults *r) {
    const GenConfig *c = &r->cfg;
    PbStatus st = PB_OK;
    int cut = 0;
    for (int e = 0; !st && !cut && e < c->n_encodings && !interrupt_requested(); e++)
        for (int s = 0; !st && !cut && s < c->seeds && !interrupt_requested(); s++)
            /* measured: kept from an interrupted run (resume); derived: its parent's run measures it */
            if (!r->enc[e].measured[s] && !gen_key_is_derived(c->encodings[e])) st = gen_run_cell(r, e, s, &cut);
    int total;
    r->complete = !st && gen_count_measured(r, &total) == total;
    return st;
}

PbStatus gen_run(const GenConfig *c, GenResults *r) {
    PbStatus st = gen_prepare(c, r);
    if (!st) st = gen_sweep(r);
    if (st) gen_results_free(r);
    return st;
}
