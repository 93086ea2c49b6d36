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

/* Scores windows starting at starts[0..n) of val, positions p >= from[i]. */
static PbStatus score_windows(ModelEval *ev, const Model *m, const int32_t *val, const size_t *starts, const int *from,
                              size_t n, int T, int B, int32_t *in, int32_t *tg, float *losses, double *sum, long *count,
                              double *bin_sum, long *bin_n, int bins) {
    for (size_t w0 = 0; w0 < n; w0 += (size_t)B) {
        int rows = n - w0 < (size_t)B ? (int)(n - w0) : B;
        for (int r = 0; r < rows; r++) {
            memcpy(in + (size_t)r * T, val + starts[w0 + r], (size_t)T * sizeof *in);
            memcpy(tg + (size_t)r * T, val + starts[w0 + r] + 1, (size_t)T * sizeof *tg);
        }
        PbStatus st = model_eval_losses(ev, m, losses, in, tg, rows, T, 0);
        if (st) return st;
        if (interrupt_requested()) return PB_OK; /* the caller drops this length */
        for (int r = 0; r < rows; r++)
            for (int p = from ? from[w0 + r] : 0; p < T; p++) {
                double l = losses[(size_t)r * T + p];
                *sum += l, (*count)++;
                if (bin_sum) {
                    int b = (int)((long)p * bins / T);
                    bin_sum[b] += l, bin_n[b]++;
                }
            }
    }
    return PB_OK;
}

static PbStatus eval_corpus_len(const GenConfig *c, const Model *m, const int32_t *val, size_t n_val, int T,
                                LenEval *out) {
    const int B = c->eval_batch;
    size_t avail = n_val > (size_t)T ? (n_val - 1) / (size_t)T : 0;
    size_t cap = c->eval_tokens / T > 0 ? (size_t)(c->eval_tokens / T) : 1;
    size_t W = avail < cap ? avail : cap;
    if (W == 0)
        return pb_fail(PB_DATA,
                       "the validation split (%zu tokens) holds no window of %d + 1 tokens; "
                       "use a longer text or shorter --eval-lens",
                       n_val, T);
    out->windows = (int)W;
    int32_t *in = malloc((size_t)B * T * sizeof *in), *tg = malloc((size_t)B * T * sizeof *tg);
    float *losses = malloc((size_t)B * T * sizeof *losses);
    size_t n_slide = c->stride > 0 && c->stride < T ? (W * T - T) / c->stride + 2 : 1;
    size_t *starts = malloc((W > n_slide ? W : n_slide) * sizeof *starts);
    int *from = malloc(n_slide * sizeof *from);
    ModelEval ev = {0};
    PbStatus st = !in || !tg || !losses || !starts || !from
                      ? pb_fail(PB_NOMEM, "no memory for evaluation at length %d", T)
                      : PB_OK;
    size_t live = pb_alloc_live_bytes();
    pb_alloc_reset_peak();
    if (!st) st = model_eval_alloc(&ev, m, B, T);
    double sum = 0;
    long count = 0;
    if (!st) {
        for (size_t w = 0; w < W; w++) starts[w] = w * (size_t)T;
        st = score_windows(&ev, m, val, starts, NULL, W, T, B, in, tg, losses, &sum, &count, out->bin_sum, out->bin_n,
                           c->bins);
        out->loss = count ? sum / count : NAN;
    }
    out->loss_slide = out->loss;
    if (!st && c->stride > 0 && c->stride < T && !interrupt_requested()) {
        /* Sliding windows over the same W*T targets, each scored once. */
        const size_t end = W * (size_t)T; /* targets 1..end */
        size_t n = 0, covered = 0;
        for (size_t s = 0; s + T <= end; s += (size_t)c->stride) {
            starts[n] = s, from[n] = covered > s ? (int)(covered - s) : 0;
            covered = s + T, n++;
        }
        if (covered < end) starts[n] = end - T, from[n] = (int)(covered - (end - T)), n++;
        double ssum = 0;
        long scount = 0;
        st = score_windows(&ev, m, val, starts, from, n, T, B, in, tg, losses, &ssum, &scount, NULL, NULL, 0);
        out->loss_slide = scount ? ssum / scount : NAN;
    }
    out->peak = (double)(pb_alloc_peak_bytes() - live);
    model_eval_free(&ev);
    free(in), free(tg), free(losses), free(starts), free(from);
    return st;
}

/* ---- task evaluation ---------------------------------------------------- */

static PbStatus eval_task_len(const GenConfig *c, Model *m, TaskKind k, int T, uint64_t seed, double *acc,
                              double *tok_acc, int *n_in) {
    const int B = c->eval_batch > 8 ? c->eval_batch : 8, V = m->cfg.vocab;
    const int n = task_max_input(k, T);
    *n_in = n;
    if (n < 1) return pb_fail(PB_USAGE, "--eval-lens: %d tokens hold no %s example", T, task_name(k));
    PbStatus st = model_alloc_train(m, B, T);
    if (st) return st;
    int32_t *tok = malloc((size_t)B * (T + 1) * sizeof *tok);
    int32_t *in = malloc((size_t)B * T * sizeof *in), *tg = malloc((size_t)B * T * sizeof *tg);
    int *a0 = malloc((size_t)B * sizeof *a0), *al = malloc((size_t)B * sizeof *al);
    if (!tok || !in || !tg || !a0 || !al) st = pb_fail(PB_NOMEM, "no memory for task evaluation");
    Rng rng;
    rng_seed(&rng, seed, TASK_TEST_STREAM + (uint64_t)T);
    long exact = 0, right = 0, total = 0;
    /* Polled per batch: with --examples in the millions this loop is minutes. */
    for (int e0 = 0; !st && e0 < c->task_examples && !interrupt_requested(); e0 += B) {
        int rows = c->task_examples - e0 < B ? c->task_examples - e0 : B;
        for (int r = 0; r < rows; r++) {
            int32_t *x = tok + (size_t)r * (T + 1);
            int len = task_generate(k, n, &rng, x, &a0[r], &al[r]);
            for (int i = len; i <= T; i++) x[i] = TASK_PAD;
            memcpy(in + (size_t)r * T, x, (size_t)T * sizeof *x);
            memcpy(tg + (size_t)r * T, x + 1, (size_t)T * sizeof *x);
        }
        if ((st = model_forward(m, in, tg, rows, T, 0))) break;
        for (int r = 0; r < rows; r++) {
            int all = 1;
            for (int i = a0[r]; i < a0[r] + al[r]; i++) {
                const float *p = m->a.probs + ((size_t)r * T + (i - 1)) * V; /* predicts token i */
                int best = 0;
                for (int v = 1; v < V; v++)
                    if (p[v] > p[best]) best = v;
                int ok = best == tg[(size_t)r * T + i - 1];
                right += ok, total++, all &= ok;
            }
            exact += all;
        }
    }
    *acc = (double)exact / c->task_examples;
    *tok_acc = total ? (double)right / total : NAN;
    free(tok), free(in), free(tg), free(a0), free(al);
    return st;
}

/* ---- the sweep ---------------------------------------------------------- */

static float *nan_floats(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (p)
        for (size_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

static PbStatus alloc_result(GenEncResult *e, const GenConfig *c, int is_task) {
    const size_t S = (size_t)c->seeds, n = (size_t)c->n_lens, steps = (size_t)c->train.steps;
    e->train_loss = nan_floats(S * steps);
    e->diverged = calloc(S, sizeof *e->diverged);
    e->train_tps = nan_floats(S);
    e->measured = calloc(S, sizeof *e->measured);
    e->rank = malloc(S * sizeof *e->rank);
    e->host = calloc(S, sizeof *e->host);
    if (!e->train_loss || !e->diverged || !e->train_tps || !e->measured || !e->rank || !e->host) return PB_NOMEM;
    for (size_t s = 0; s < S; s++) e->rank[s] = -1;
    if (is_task) {
        e->accuracy = nan_floats(S * n);
        e->token_accuracy = nan_floats(S * n);
        e->input_len = calloc(n, sizeof *e->input_len);
        if (!e->accuracy || !e->token_accuracy || !e->input_len) return PB_NOMEM;
    } else {
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
    }
    return PB_OK;
}

static void free_result(GenEncResult *e) {
    free(e->train_loss), free(e->diverged), free(e->train_tps), free(e->loss), free(e->ppl);
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
    e->train_tps[s] = NAN;
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

/* Evaluates one trained model (seed index s) into e. */
static PbStatus evaluate(const GenConfig *c, GenResults *r, GenEncResult *e, Trainer *t, int s, const int32_t *val,
                         size_t n_val, int *cut) {
    const int n = c->n_lens, bins = c->bins;
    const uint64_t seed = c->base_seed + (uint64_t)s;
    double *bin_sum = r->is_task ? NULL : malloc((size_t)bins * sizeof *bin_sum);
    long *bin_n = r->is_task ? NULL : malloc((size_t)bins * sizeof *bin_n);
    if (!r->is_task && (!bin_sum || !bin_n)) return free(bin_sum), free(bin_n), PB_NOMEM;
    PbStatus st = PB_OK;
    *cut = 0;
    for (int i = 0; !st && i < n; i++) {
        if (interrupt_requested()) { /* a safe point: the caller drops this run */
            *cut = 1;
            break;
        }
        const int T = c->eval_lens[i];
        const size_t si = (size_t)s * n + i;
        eval_progress(c, e->name, T);
        if (r->is_task) {
            double acc = NAN, tok = NAN;
            st = eval_task_len(c, &t->model, (TaskKind)r->task, T, seed, &acc, &tok, &e->input_len[i]);
            if (!st && interrupt_requested()) { /* cut inside this length */
                *cut = 1;
                break;
            }
            if (st == PB_LENGTH) {
                note(e->not_applicable, sizeof e->not_applicable, pb_errmsg());
                st = PB_OK;
                continue;
            }
            if (!st) e->accuracy[si] = (float)acc, e->token_accuracy[si] = (float)tok;
            continue;
        }
        LenEval le = {.bin_sum = bin_sum, .bin_n = bin_n};
        memset(bin_sum, 0, (size_t)bins * sizeof *bin_sum);
        memset(bin_n, 0, (size_t)bins * sizeof *bin_n);
        st = eval_corpus_len(c, &t->model, val, n_val, T, &le);
        if (!st && interrupt_requested()) { /* cut inside this length */
            *cut = 1;
            break;
        }
        if (st == PB_LENGTH) {
            note(e->not_applicable, sizeof e->not_applicable, pb_errmsg());
            st = PB_OK;
            continue;
        }
        if (st) break;
        e->windows[i] = le.windows;
        e->peak_bytes[i] = le.peak;
        if (!isfinite(le.loss)) {
            e->diverged[s] = 1;
            note(e->diverged_reason, sizeof e->diverged_reason, "evaluation loss not finite");
            break;
        }
        e->loss[si] = (float)le.loss;
        e->ppl[si] = (float)exp(le.loss);
        if (e->loss_slide) e->loss_slide[si] = (float)le.loss_slide, e->ppl_slide[si] = (float)exp(le.loss_slide);
        for (int b = 0; b < bins; b++) e->loss_by_pos[si * bins + b] = bin_n[b] ? (float)(bin_sum[b] / bin_n[b]) : NAN;
    }
    if (c->log && c->tty) fprintf(c->log, "\r\033[K"), fflush(c->log);
    free(bin_sum), free(bin_n);
    return st;
}

PbStatus gen_prepare(const GenConfig *c, GenResults *r) {
    *r = (GenResults){.cfg = *c};
    r->is_task = gen_is_task(c, &r->task);
    if (r->is_task && r->task < 0)
        return pb_fail(PB_USAGE, "--data %s: unknown task (tasks: %s)", c->data, task_names_list());
    if (c->n_encodings < 1 || c->seeds < 1 || c->n_lens < 1)
        return pb_fail(PB_USAGE, "generalize: need at least one encoding, seed and eval length");
    for (int i = 0; i < c->n_encodings; i++)
        if (!encoding_find(c->encodings[i]))
            return pb_fail(PB_USAGE, "unknown encoding '%s' (see posbench list)", c->encodings[i]);
    if (c->model.dim % c->model.heads)
        return pb_fail(PB_USAGE, "--heads %d must divide --dim %d", c->model.heads, c->model.dim);

    IdBuf raw = {0};
    VocabMap vmap = {0};
    int32_t *ids = NULL;
    size_t n_ids = 0;
    PbStatus st = PB_OK;
    const TrainConfig tc = c->train;
    const int L = c->train_len;
    if (r->is_task) {
        const TaskKind k = (TaskKind)r->task;
        if (task_max_input(k, L) < 1)
            return pb_fail(PB_USAGE, "--train-len %d is too short for one %s example (needs %d)", L, task_name(k),
                           task_example_len(k, 1));
        long long blocks = c->task_blocks > 0 ? c->task_blocks : (long long)tc.steps * tc.batch;
        if (blocks < tc.batch) blocks = tc.batch;
        if (blocks > INT_MAX || (unsigned long long)blocks * (unsigned long long)L >= SIZE_MAX / sizeof *ids)
            return pb_fail(PB_USAGE,
                           "--steps %ld x --batch %d = %lld training examples of %d tokens are too many "
                           "to hold; use fewer steps or a smaller batch",
                           tc.steps, tc.batch, blocks, L);
        r->cfg.task_blocks = (int)blocks;
        n_ids = (size_t)blocks * L + 1;
        r->vocab = TASK_VOCAB;
        ids = malloc(n_ids * sizeof *ids);
        if (!ids) return pb_fail(PB_NOMEM, "no memory for %zu task tokens", n_ids);
        /* The data identity of a task: its first run's training stream, which
         * the task, its settings and its generator determine. An interrupt
         * cutting this short leaves ids_sha256 "" (the caller drops r). */
        Rng rng;
        rng_seed(&rng, c->base_seed, TASK_TRAIN_STREAM);
        if (task_training_stream(k, L, r->cfg.task_blocks, &rng, ids) == 0)
            token_stream_sha256(r->ids_sha256, ids, n_ids);
    } else {
        TokenStreamInfo info;
        if ((st = token_stream_load(&raw, c->data, c->tokenizer, &info))) return st;
        token_stream_sha256(r->ids_sha256, raw.data, raw.len); /* as train's checkpoints record it */
        size_t n_train, n_val;
        train_split(raw.len, tc.val_fraction, &n_train, &n_val);
        st = strcmp(c->tokenizer, "gpt2") == 0 ? vocab_map_build(&vmap, info.vocab_size, raw.data, n_train)
                                               : vocab_map_identity(&vmap, info.vocab_size);
        n_ids = raw.len;
        ids = st ? NULL : malloc((n_ids ? n_ids : 1) * sizeof *ids);
        if (!st && !ids) st = pb_fail(PB_NOMEM, "no memory for %zu tokens", n_ids);
        if (!st) st = vocab_map_apply(&vmap, ids, raw.data, raw.len, NULL);
        r->vocab = st ? 0 : vocab_map_size(&vmap);
        idbuf_free(&raw);
        vocab_map_free(&vmap);
        if (st) return free(ids), st;
    }
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

PbStatus gen_run_cell(GenResults *r, int e, int s, int *cut_out) {
    const GenConfig *c = &r->cfg;
    const int L = c->train_len;
    const size_t n_ids = r->n_tokens;
    int32_t *ids = r->ids;
    TrainConfig tc = c->train;
    if (r->is_task) tc.val_fraction = 0, tc.stride = L;
    const int runs = c->n_encodings * c->seeds;
    GenEncResult *er = &r->enc[e];
    ModelConfig mc = c->model;
    mc.context = L;
    mc.vocab = r->vocab;
    snprintf(mc.encoding, sizeof mc.encoding, "%s", er->name);
    *cut_out = 0;
    const uint64_t seed = c->base_seed + (uint64_t)s;
    if (r->is_task) {
        Rng rng;
        rng_seed(&rng, seed, TASK_TRAIN_STREAM);
        if (task_training_stream((TaskKind)r->task, L, c->task_blocks, &rng, ids) == 1) {
            *cut_out = 1; /* interrupted: nothing of this run was measured */
            return PB_OK;
        }
    }
    tc.seed = seed;
    Trainer t;
    char head[256];
    snprintf(head, sizeof head, "(run %d/%d)", e * c->seeds + s + 1, runs);
    if (c->tty) say(c, "%s%s seed %d: training %s\n", er->name, (int)seed, head);
    double t0 = now_seconds();
    int cut = 0;
    PbStatus st = trainer_init(&t, &mc, &tc, ids, n_ids);
    if (st) return st;
    if (r->is_task) t.mask_targets = task_mask_targets; /* answer-only loss */
    TrainProgress progress = {.out = c->tty ? c->log : NULL, .tty = c->tty};
    st = trainer_run(&t, tc.steps, &progress);
    if (!st && t.step < tc.steps && interrupt_requested()) { /* cut short: drop the run */
        trainer_free(&t);
        *cut_out = 1;
        return PB_OK;
    }
    memcpy(er->train_loss + (size_t)s * tc.steps, t.loss_history, (size_t)t.step * sizeof(float));
    er->train_tps[s] = (float)trainer_tokens_per_second(&t);
    long bad_step = first_bad_step(t.loss_history, t.step);
    int diverged = st == PB_DATA || bad_step;
    if (diverged) {
        /* Recorded, named, and the sweep goes on. */
        char why[512], msg[1024];
        const char *m = st ? pb_errmsg() : "the training loss is not finite";
        if (strncmp(m, "train: ", 7) == 0) m += 7;
        snprintf(why, sizeof why, "%s", m);
        if (!bad_step) bad_step = t.step + 1;
        snprintf(msg, sizeof msg, "%s seed %d diverged at step %ld of %ld: %s", er->name, (int)seed, bad_step, tc.steps,
                 why);
        er->diverged[s] = 1;
        note(er->diverged_reason, sizeof er->diverged_reason, msg);
        for (long i = bad_step - 1; i < tc.steps; i++) er->train_loss[(size_t)s * tc.steps + i] = NAN;
        if (c->log) fprintf(c->log, "%s%s; recorded as diverged, the sweep goes on\n", c->label, msg);
        st = PB_OK;
    } else if (!st) {
        size_t n_train, n_val;
        train_split(n_ids, tc.val_fraction, &n_train, &n_val);
        st = evaluate(c, r, er, &t, s, ids + n_train, n_val, &cut);
    }
    trainer_free(&t);
    if (!st && cut) { /* evaluation cut short by an interrupt */
        clear_seed(er, c, s, r->is_task);
        *cut_out = 1;
        return PB_OK;
    }
    if (st) return st;
    er->measured[s] = 1;
    er->rank[s] = r->rank;
    gen_hostname(er->host[s], sizeof er->host[s]);
    gen_log_cell(r, e, s, now_seconds() - t0, NULL);
    return PB_OK;
}

PbStatus gen_sweep(GenResults *r) {
    const GenConfig *c = &r->cfg;
    PbStatus st = PB_OK;
    int cut = 0;
    for (int e = 0; !st && !cut && e < c->n_encodings && !interrupt_requested(); e++)
        for (int s = 0; !st && !cut && s < c->seeds && !interrupt_requested(); s++)
            if (!r->enc[e].measured[s]) /* else kept from an interrupted run (resume) */
                st = gen_run_cell(r, e, s, &cut);
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
