/* model.c: the probe transformer's layout, init, forward, backward and
 * evaluation (formulas, shapes and contracts in model.h).
 *
 * Who owns the cores. Attention, LayerNorm, GELU, cross-entropy and AdamW are
 * OpenMP loops; the matmuls are OpenBLAS sgemm calls. Debian's OpenBLAS runs
 * its own pthread pool, and libgomp's workers keep spinning after a parallel
 * region (GOMP_SPINCOUNT, read once at load, so main() cannot change it);
 * the two pools then fight over the cores. So by default OpenMP owns the
 * cores everywhere, with OpenBLAS set to one thread (model_create sets it so
 * for the process). POSBENCH_MATMUL=blas in the environment selects the
 * other policy (OpenBLAS's own threads for the matmuls), for measurement
 * (docs/performance.md, "Threads").
 *
 * Slices. A training step runs as one slice of batch rows per thread
 * (run_slices): each thread takes its rows through every layer, forward and
 * backward, alone, so the ~100 fork-and-join points of a step (one per
 * layer call) become one each way, and each thread's activations stay in
 * its own caches. The layers' own OpenMP regions, nested inside, run on
 * their one thread. Parameter gradients: slice 0 adds into the model's,
 * the others into zeroed private copies summed in afterwards in slice
 * order. At T 128 this was 5-8% faster than splitting each layer call over
 * the team (best and median of 5 alternating runs of posbench train). Rows
 * the threads do not divide (batch 3 on 2 threads) run after the slices as
 * one team slice: each layer call then splits its work over the team (a
 * matmul by rows, backward's two products side by side: mm_backward;
 * attention by heads and row tiles). With one thread, or fewer batch rows
 * than threads, the whole batch is that team slice (slice_plan).
 *
 * Determinism: every split is a fixed function of the shape and the thread
 * count, and every sum runs in a fixed order, so the same thread count gives
 * the same bits. Other thread counts give other row counts per sgemm call,
 * which OpenBLAS may round differently: results agree to float rounding.
 */
#include "model.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../../core/alloc.h"
#include "../../core/interrupt.h"
#include "../../core/threads.h"
#include "../../encodings/embedding.h"
#include "attention.h"
#include "crossentropy.h"
#include "gelu.h"
#include "layernorm.h"
#include "matmul.h"
#include "residual.h"

/* Row blocks of the LM head during evaluation: [chunk, V] logits at a time. */
#define EVAL_CHUNK 256
/* Below this many multiply-adds a matmul runs on the calling thread. */
#define MM_PARALLEL_MIN (1L << 18)
/* Most slices a training step is cut into (run_slices), and most floats of
 * private gradient copies they may hold (256 MiB). */
#define MODEL_MAX_SLICES 64
#define MODEL_SLICE_GRAD_FLOATS ((size_t)64 << 20)
/* From this length on, auto trains attention tiled (model_attention_tiled):
 * there it was as fast or faster (posbench train --encoding rope --batch 8,
 * 2 threads: steady tokens/s within noise of stored at T 128-1024, +3% at
 * 2048) in a fraction of the memory (peak RSS 455 vs 1477 MiB at 2048);
 * below, the bench's stored pair was faster by up to a fifth. */
#define AUTO_TILED_MIN_T 512

static const char *const tensor_names[] = {
#define MODEL_TENSOR_NAME(id, name, decay) name,
    MODEL_TENSORS(MODEL_TENSOR_NAME)
#undef MODEL_TENSOR_NAME
};
static const int tensor_decay[] = {
#define MODEL_TENSOR_DECAY(id, name, decay) decay,
    MODEL_TENSORS(MODEL_TENSOR_DECAY)
#undef MODEL_TENSOR_DECAY
};
_Static_assert(sizeof tensor_names / sizeof *tensor_names == MODEL_N_TENSORS,
               "tensor name table out of step with MODEL_TENSORS");

static int thread_num(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

ModelConfig model_config_default(void) {
    return (ModelConfig){.context = 128,
                         .layers = 2,
                         .dim = 128,
                         .heads = 4,
                         .tied = 1,
                         .init_std = 0.02f,
                         .embed_scale = 1.0f,
                         .fallback = LENGTH_FALLBACK_ERROR};
}

static const char *const attention_names[] = {"auto", "stored", "tiled"};

const char *model_attention_name(ModelAttention a) {
    return (unsigned)a < sizeof attention_names / sizeof *attention_names ? attention_names[a] : "?";
}

PbStatus model_attention_parse(const char *name, ModelAttention *out) {
    for (int i = 0; i < (int)(sizeof attention_names / sizeof *attention_names); i++)
        if (strcmp(name, attention_names[i]) == 0) {
            *out = (ModelAttention)i;
            return PB_OK;
        }
    return pb_fail(PB_USAGE, "--attention '%s': give auto, stored (probabilities kept) or tiled (recomputed)", name);
}

PbStatus model_parse_embed_scale(const char *text, int dim, float *out) {
    if (strcmp(text, "sqrt") == 0) {
        *out = sqrtf((float)dim);
        return PB_OK;
    }
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !(v > 0) || !isfinite(v) || v > 1e6)
        return pb_fail(PB_USAGE,
                       "--embed-scale '%s': give 1, sqrt (sqrt of --dim) or a positive "
                       "number",
                       text);
    *out = (float)v;
    return PB_OK;
}

/* ---- matmuls: who owns the cores (see the file comment) ------------------ */

static int matmul_policy_blas = -1; /* 1: OpenBLAS threads; 0: OpenMP rows */

static int use_blas_threads(void) {
    if (matmul_policy_blas < 0) {
        const char *e = getenv("POSBENCH_MATMUL");
        matmul_policy_blas = e && strcmp(e, "blas") == 0;
    }
    return matmul_policy_blas;
}

/* POSBENCH_SLICES=team: the whole batch as the team slice at any thread
 * count, for measurement: on 2 cores it runs the code path that batch 8 on
 * 16 threads takes (docs/performance.md, "Threads"). */
static int slices_team_only = -1;

static int team_only(void) {
    if (slices_team_only < 0) {
        const char *e = getenv("POSBENCH_SLICES");
        slices_team_only = e && strcmp(e, "team") == 0;
    }
    return slices_team_only;
}

static void rows_of(int part, int parts, int N, int *n0, int *n1) {
    *n0 = (int)((long)N * part / parts);
    *n1 = (int)((long)N * (part + 1) / parts);
}

/* How a B-row training step is split (file comment, "Slices"): P slices of
 * `each` rows side by side, one per thread, then the `rest` rows as one
 * team slice (the team splitting each layer call). Slices keep every core
 * busy only when the rows divide: batch 3 on 2 threads as slices alone kept
 * 3/4 of them (1.50x one thread at T 512, against 1.8x for 2 slices of one
 * row and the third as the team). At most one slice per thread, none with
 * fewer rows than threads (batch 8 on 16 threads: the team alone, since
 * slices would idle half the cores), and no more than keep the private
 * gradient copies within MODEL_SLICE_GRAD_FLOATS (many cores and a full
 * GPT-2 vocabulary would otherwise hold tens of copies of the model); the
 * team alone on one thread, under POSBENCH_MATMUL=blas or POSBENCH_SLICES=team. */
typedef struct {
    int P, each, rest;
} SlicePlan;

static int slice_limit(const Model *m) {
    if (use_blas_threads() || team_only() || m->threads < 2) return 1;
    int p = m->threads < MODEL_MAX_SLICES ? m->threads : MODEL_MAX_SLICES;
    const size_t copies = MODEL_SLICE_GRAD_FLOATS / (m->n_params ? m->n_params : 1);
    if ((size_t)p - 1 > copies) p = (int)copies + 1;
    return p;
}

static SlicePlan slice_plan(const Model *m, int B) {
    const int p = slice_limit(m);
    if (p < 2 || B < m->threads) return (SlicePlan){0, 0, B};
    return (SlicePlan){p, B / p, B % p};
}

static void mm_forward(const Model *m, int team, float *out, const float *inp, const float *w, const float *b, int N,
                       int C, int OC) {
    const int T = m->threads;
    if (!team || use_blas_threads() || T < 2 || (long)N * C * OC < MM_PARALLEL_MIN || N < 2 * T) {
        matmul_forward(out, inp, w, b, N, C, OC);
        return;
    }
    const int blas = openblas_get_num_threads();
    if (blas > 1) openblas_set_num_threads(1);
#pragma omp parallel num_threads(T)
    {
        int n0, n1;
        rows_of(thread_num(), T, N, &n0, &n1);
        matmul_forward(out + (size_t)n0 * OC, inp + (size_t)n0 * C, w, b, n1 - n0, C, OC);
    }
    if (blas > 1) openblas_set_num_threads(blas);
}

/* Backward's two products share no output: threads 0..g-1 compute dinp
 * (rows split), threads g..T-1 dweight and dbias (output channels split,
 * 16 at a time so no two threads write one cache line of dbias), g = T/2.
 * They do equal work (N*C*OC multiply-adds each), every thread runs one
 * large sgemm instead of two half-size ones, and no thread needs a private
 * weight gradient to be summed afterwards. On 2 threads each half is one
 * call over the whole shape, as on 1 thread: the same bits. */
static void mm_backward(const Model *m, int team, float *dinp, float *dw, float *db, const float *dout,
                        const float *inp, const float *w, int N, int C, int OC, GradWrite dinp_write) {
    const int T = m->threads;
    if (!team || use_blas_threads() || T < 2 || (long)N * C * OC < MM_PARALLEL_MIN || N < 2 * T) {
        matmul_backward(dinp, dw, db, dout, inp, w, N, C, OC, dinp_write);
        return;
    }
    const int g = dinp ? T / 2 : 0;
    const int blas = openblas_get_num_threads();
    if (blas > 1) openblas_set_num_threads(1);
#pragma omp parallel num_threads(T)
    {
        const int t = thread_num();
        if (t < g) {
            int n0, n1;
            rows_of(t, g, N, &n0, &n1);
            matmul_backward_input(dinp + (size_t)n0 * C, dout + (size_t)n0 * OC, w, n1 - n0, C, OC, dinp_write);
        } else {
            const int lines = (OC + 15) / 16;
            int l0, l1;
            rows_of(t - g, T - g, lines, &l0, &l1);
            const int o0 = l0 * 16, o1 = l1 * 16 < OC ? l1 * 16 : OC;
            if (o1 > o0)
                matmul_backward_weight(dw + (size_t)o0 * C, db ? db + o0 : NULL, dout + o0, OC, inp, N, C, o1 - o0);
        }
    }
    if (blas > 1) openblas_set_num_threads(blas);
}

/* ---- layout and init ------------------------------------------------------ */

static void set_tensor(Model *m, ModelTensorId id, size_t *off, int rank, int d0, int d1, int d2) {
    ModelTensor *t = &m->tensors[id];
    size_t count = (size_t)d0 * (rank > 1 ? (size_t)d1 : 1) * (rank > 2 ? (size_t)d2 : 1);
    *t = (ModelTensor){.name = tensor_names[id],
                       .offset = *off,
                       .count = count,
                       .rank = rank,
                       .dims = {d0, d1, d2},
                       .decay = tensor_decay[id]};
    *off += round16(count);
}

static void layout(Model *m) {
    const int V = m->cfg.vocab, C = m->cfg.dim, L = m->cfg.layers;
    size_t off = 0;
    set_tensor(m, MT_WTE, &off, 2, V, C, 0);
    set_tensor(m, MT_ENC, &off, 1, (int)m->enc.n_params, 0, 0);
    set_tensor(m, MT_LN1W, &off, 2, L, C, 0);
    set_tensor(m, MT_LN1B, &off, 2, L, C, 0);
    set_tensor(m, MT_QKVW, &off, 3, L, 3 * C, C);
    set_tensor(m, MT_QKVB, &off, 2, L, 3 * C, 0);
    set_tensor(m, MT_PROJW, &off, 3, L, C, C);
    set_tensor(m, MT_PROJB, &off, 2, L, C, 0);
    set_tensor(m, MT_LN2W, &off, 2, L, C, 0);
    set_tensor(m, MT_LN2B, &off, 2, L, C, 0);
    set_tensor(m, MT_FCW, &off, 3, L, 4 * C, C);
    set_tensor(m, MT_FCB, &off, 2, L, 4 * C, 0);
    set_tensor(m, MT_FCPROJW, &off, 3, L, C, 4 * C);
    set_tensor(m, MT_FCPROJB, &off, 2, L, C, 0);
    set_tensor(m, MT_LNFW, &off, 1, C, 0, 0);
    set_tensor(m, MT_LNFB, &off, 1, C, 0, 0);
    set_tensor(m, MT_LMHEAD, &off, 2, m->cfg.tied ? 0 : V, C, 0);
    m->n_params = off;
}

float *model_param(const Model *m, ModelTensorId id) { return m->params + m->tensors[id].offset; }
float *model_grad(const Model *m, ModelTensorId id) { return m->grads + m->tensors[id].offset; }

size_t model_num_params(const Model *m) {
    size_t n = 0;
    for (int i = 0; i < MODEL_N_TENSORS; i++) n += m->tensors[i].count;
    return n;
}

PbStatus model_create(Model *m, const ModelConfig *cfg) {
    *m = (Model){.cfg = *cfg};
    const ModelConfig *c = cfg;
    if (c->vocab < 1 || c->vocab > (1 << 24))
        return pb_fail(PB_RANGE, "model: vocabulary %d outside 1..%d", c->vocab, 1 << 24);
    if (c->layers < 1 || c->layers > 64) return pb_fail(PB_RANGE, "model: --layers %d outside 1..64", c->layers);
    if (c->dim < 1 || c->heads < 1 || c->dim % c->heads)
        return pb_fail(PB_RANGE, "model: --heads %d must divide --dim %d", c->heads, c->dim);
    if (c->context < 1) return pb_fail(PB_RANGE, "model: --context %d must be positive", c->context);
    if (c->positions && c->positions < c->context)
        return pb_fail(PB_RANGE,
                       "model: positions %d must be 0 (the context) or at least the context %d: a window "
                       "of %d tokens needs that many distinct positions",
                       c->positions, c->context, c->context);
    if (!(c->init_std > 0 && isfinite(c->init_std)))
        return pb_fail(PB_RANGE, "model: init_std %g must be positive", c->init_std);
    if (!(c->embed_scale > 0 && isfinite(c->embed_scale)))
        return pb_fail(PB_RANGE, "model: embed_scale %g must be positive", c->embed_scale);
    const EncodingModule *mod = encoding_find(c->encoding);
    if (!mod) return pb_fail(PB_USAGE, "unknown encoding '%s' (see posbench list)", c->encoding);
    EncodingConfig ec = {.variant = m->cfg.variant,
                         .dim = c->dim,
                         .heads = c->heads,
                         .max_len = c->positions ? c->positions : c->context,
                         .fallback = c->fallback,
                         .knobs = m->cfg.settings,
                         .init_std = c->init_std};
    PbStatus st = encoding_create(&m->enc, mod, &ec);
    if (st) return st;
    /* The Encoding keeps pointers to our config's strings. */
    m->enc.cfg.variant = m->cfg.variant;
    m->enc.cfg.knobs = m->cfg.settings;
    layout(m);
    m->threads = pb_max_threads();
    /* OpenMP owns the cores (file comment): OpenBLAS's pool stays asleep. */
    if (!use_blas_threads()) openblas_set_num_threads(1);
    m->params = pb_alloc_floats(m->n_params, "the model's parameters");
    m->grads = m->params ? pb_alloc_floats(m->n_params, "the model's gradients") : NULL;
    if (!m->grads) return model_free(m), PB_NOMEM;
    encoding_bind(&m->enc, model_param(m, MT_ENC), model_grad(m, MT_ENC));
    return PB_OK;
}

PbStatus model_set_extension(Model *m, const Extension *x) {
    EncodingConfig cfg = m->enc.cfg;
    cfg.extend = *x;
    Encoding e;
    PbStatus st = encoding_create(&e, m->enc.module, &cfg);
    if (st) return st;
    if (e.n_params != m->enc.n_params) {
        encoding_destroy(&e);
        return pb_fail(PB_INTERNAL, "model: the extended encoding has %zu parameters, the model's %zu", e.n_params,
                       m->enc.n_params);
    }
    encoding_bind(&e, m->enc.params, m->enc.dparams);
    encoding_destroy(&m->enc);
    m->enc = e;
    return PB_OK;
}

void model_free(Model *m) {
    if (m->enc.module) encoding_destroy(&m->enc);
    pb_free_large(m->params);
    pb_free_large(m->grads);
    pb_free_large(m->acts_mem);
    free(m->pos_map);
    *m = (Model){0};
}

static void fill_normal(float *p, size_t n, float std, Rng *rng) {
    for (size_t i = 0; i < n; i++) p[i] = std * rng_normal(rng);
}

static void fill_const(float *p, size_t n, float v) {
    for (size_t i = 0; i < n; i++) p[i] = v;
}

void model_init_params(Model *m, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed, MODEL_INIT_STREAM);
    const float std = m->cfg.init_std;
    const float proj_std = std / sqrtf(2.0f * (float)m->cfg.layers);
    memset(m->params, 0, m->n_params * sizeof(float));
    for (int id = 0; id < MODEL_N_TENSORS; id++) {
        float *p = model_param(m, id);
        size_t n = m->tensors[id].count;
        switch (id) {
        case MT_WTE:
        case MT_QKVW:
        case MT_FCW:
        case MT_LMHEAD: fill_normal(p, n, std, &rng); break;
        case MT_PROJW:
        case MT_FCPROJW: fill_normal(p, n, proj_std, &rng); break;
        case MT_LN1W:
        case MT_LN2W:
        case MT_LNFW: fill_const(p, n, 1.0f); break;
        case MT_ENC: encoding_init_params(&m->enc, &rng); break;
        default: break; /* biases stay 0 */
        }
    }
}

/* ---- training activations --------------------------------------------------- */

/* The one place activation sizes are computed: fills the pointers when base
 * is non-NULL, returns the floats needed. */
static size_t acts_layout(const Model *m, ModelActs *a, float *base, int B, int T) {
    const size_t L = (size_t)m->cfg.layers, C = (size_t)m->cfg.dim, H = (size_t)m->cfg.heads;
    const size_t V = (size_t)m->cfg.vocab, BT = (size_t)B * T;
    size_t off = 0;
#define TAKE(field, n) \
    do { \
        if (base) a->field = base + off; \
        off += round16(n); \
    } while (0)
    if (base) {
        a->inputs = (int32_t *)(void *)base;
        a->targets = (int32_t *)(void *)(base + round16(BT));
    }
    off += 2 * round16(BT);
    TAKE(encoded, BT * C);
    TAKE(ln1, L * BT * C);
    TAKE(ln1_mean, L * BT);
    TAKE(ln1_rstd, L * BT);
    TAKE(qkv, L * BT * 3 * C);
    TAKE(atty, L * BT * C);
    const int tiled = model_attention_tiled(m, B, T);
    TAKE(att, L * (size_t)B * H * T * (tiled ? ATTENTION_STATS : (size_t)T));
    TAKE(res2, L * BT * C);
    TAKE(ln2, L * BT * C);
    TAKE(ln2_mean, L * BT);
    TAKE(ln2_rstd, L * BT);
    TAKE(fch, L * BT * 4 * C);
    TAKE(fch_gelu, L * BT * 4 * C);
    TAKE(res3, L * BT * C);
    TAKE(lnf, BT * C);
    TAKE(lnf_mean, BT);
    TAKE(lnf_rstd, BT);
    TAKE(probs, BT * V);
    TAKE(losses, BT);
    TAKE(dres, BT * C);
    TAKE(dln, BT * C);
    TAKE(dqkv, BT * 3 * C);
    TAKE(datty, BT * C);
    TAKE(dfch, BT * 4 * C);
    TAKE(dlogits, BT * V);
    TAKE(dlosses, BT);
    /* Per slice: attention's scratch for the slice's rows, and a private
     * copy of the gradients for every slice but the first. */
    /* The slices' regions; the team slice, which runs after them, reuses
     * the whole (B rows at most). Any batch up to B fits: fewer rows give
     * slices no larger and a team no larger. */
    const int P = slice_limit(m), slice_B = (B + P - 1) / P;
    size_t (*scratch_floats)(const Encoding *, int, int, int, int, int) =
        tiled ? attention_tiled_scratch_floats : attention_backward_scratch_floats;
    const size_t per_slice = round16(scratch_floats(&m->enc, slice_B, T, (int)C, (int)H, m->threads));
    const size_t team = round16(scratch_floats(&m->enc, B, T, (int)C, (int)H, m->threads));
    if (base) a->att_scratch_per_slice = per_slice;
    TAKE(att_scratch, (size_t)P * per_slice > team ? (size_t)P * per_slice : team);
    TAKE(grads_priv, (size_t)(P - 1) * round16(m->n_params));
#undef TAKE
    return off;
}

size_t model_train_bytes(const Model *m, int B, int T) {
    return acts_layout(m, &(ModelActs){0}, NULL, B, T) * sizeof(float);
}

int model_attention_tiled(const Model *m, int B, int T) {
    (void)B;
    if (m->cfg.attention != MODEL_ATTENTION_AUTO) return m->cfg.attention == MODEL_ATTENTION_TILED;
    return T >= AUTO_TILED_MIN_T;
}

PbStatus model_alloc_train(Model *m, int B, int T) {
    if (B < 1 || T < 1) return pb_fail(PB_RANGE, "model: batch %d and length %d must be positive", B, T);
    PbStatus st = encoding_check_positions(&m->enc, 0, T);
    if (st) return st;
    pb_free_large(m->acts_mem);
    free(m->pos_map);
    m->acts_mem = NULL;
    m->n_acts = acts_layout(m, &m->a, NULL, B, T);
    m->acts_mem = pb_alloc_floats(m->n_acts, "the training activations");
    m->pos_map = pb_calloc((size_t)B * T, sizeof *m->pos_map, "the training positions");
    if (!m->acts_mem || !m->pos_map) return PB_NOMEM;
    acts_layout(m, &m->a, m->acts_mem, B, T);
    m->max_B = B;
    m->max_T = T;
    m->tiled = model_attention_tiled(m, B, T);
    return PB_OK;
}

/* ---- forward / backward ----------------------------------------------------- */

/* Ids in 0..V-1 (targets may also be MODEL_UNSCORED); *scored (may be
 * NULL) counts those that are not. */
static PbStatus check_ids(const int32_t *ids, size_t n, int V, const char *what, int allow_unscored, size_t *scored) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (allow_unscored && ids[i] == MODEL_UNSCORED) continue;
        count++;
        if (ids[i] < 0 || ids[i] >= V)
            return pb_fail(PB_DATA,
                           "model: %s id %d at index %zu is outside the vocabulary "
                           "(0..%d)",
                           what, (int)ids[i], i, V - 1);
    }
    if (scored) *scored = count;
    return PB_OK;
}

/* x0 = s * wte[ids]: the embedding's scale (model.h) before the encoding's
 * embed hook adds its part. */
static void scale_floats(float *x, size_t n, float s) {
    if (s == 1.0f) return;
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

/* x[0..n) = 0; a team slice splits it over the team in blocks of whole
 * cache lines (a memset of [B*T, 3C] on one thread of 16 costs a few
 * percent of a step). */
#define ZERO_BLOCK ((size_t)1 << 14)
static void zero_floats(float *x, size_t n, int team) {
    const long blocks = (long)((n + ZERO_BLOCK - 1) / ZERO_BLOCK);
#pragma omp parallel for schedule(static) if (team && blocks > 1)
    for (long i = 0; i < blocks; i++) {
        const size_t b0 = (size_t)i * ZERO_BLOCK, len = n - b0 < ZERO_BLOCK ? n - b0 : ZERO_BLOCK;
        memset(x + b0, 0, len * sizeof(float));
    }
}

static const float *head_weight(const Model *m) { return model_param(m, m->cfg.tied ? MT_WTE : MT_LMHEAD); }

/* One thread's share of a training step (file comment, "Slices"): batch
 * rows [b0, b1). team: the whole batch on the calling thread, whose layers
 * fork the OpenMP team themselves; else this thread runs its rows alone.
 * Parameter gradients add into grads (the model's, or a private copy that
 * model_backward sums in), the encoding's through enc. */
typedef struct {
    int b0, b1, team;
    float *grads;
    Encoding *enc;
    float *att_scratch;
} Slice;

/* Floats a query row keeps for backward (probabilities over T keys, or
 * statistics), and a layer's share of a.att. */
static size_t att_row_floats(const Model *m, int T) { return m->tiled ? ATTENTION_STATS : (size_t)T; }
static size_t att_layer_floats(const Model *m) {
    return (size_t)m->max_B * m->cfg.heads * m->max_T * att_row_floats(m, m->max_T);
}

static float *slice_grad(const Model *m, const Slice *s, ModelTensorId id) { return s->grads + m->tensors[id].offset; }

static PbStatus forward_slice(Model *m, const Slice *s, int T, Positions pos) {
    const int B = s->b1 - s->b0, C = m->cfg.dim, H = m->cfg.heads, V = m->cfg.vocab;
    const size_t BT = (size_t)B * T, C_ = (size_t)C, r0 = (size_t)s->b0 * T;
    const size_t lBT = (size_t)m->max_B * m->max_T; /* per-layer stride */
    /* this slice's [b0:b1] in a layer's [B,H,T,T] (tiled: [B,H,T,2]) */
    const size_t latt = att_layer_floats(m), att0 = (size_t)s->b0 * H * T * att_row_floats(m, T);
    ModelActs *a = &m->a;
    float *x0 = a->encoded + r0 * C_;
    PbStatus st = embedding_forward(x0, a->inputs + r0, model_param(m, MT_WTE), B, T, C, V);
    if (!st) scale_floats(x0, BT * C_, m->cfg.embed_scale);
    if (!st) st = encoding_embed_forward_at(s->enc, x0, B, T, pos);
    const float *res = x0;
    for (int l = 0; !st && l < m->cfg.layers; l++) {
        const size_t rl = l * lBT + r0;
        float *ln1 = a->ln1 + rl * C_, *ln1m = a->ln1_mean + rl, *ln1r = a->ln1_rstd + rl;
        float *qkv = a->qkv + rl * 3 * C_, *atty = a->atty + rl * C_, *att = a->att + l * latt + att0;
        float *res2 = a->res2 + rl * C_, *ln2 = a->ln2 + rl * C_;
        float *ln2m = a->ln2_mean + rl, *ln2r = a->ln2_rstd + rl;
        float *fch = a->fch + rl * 4 * C_, *fchg = a->fch_gelu + rl * 4 * C_;
        float *res3 = a->res3 + rl * C_;
        layernorm_forward(ln1, ln1m, ln1r, res, model_param(m, MT_LN1W) + l * C_, model_param(m, MT_LN1B) + l * C_,
                          (int)BT, C);
        mm_forward(m, s->team, qkv, ln1, model_param(m, MT_QKVW) + l * 3 * C_ * C_,
                   model_param(m, MT_QKVB) + l * 3 * C_, (int)BT, C, 3 * C);
        st = m->tiled ? attention_forward_tiled_at(atty, att, qkv, s->enc, s->att_scratch, B, T, C, H, pos)
                      : attention_forward_at(atty, att, qkv, s->enc, B, T, C, H, pos);
        if (st) break;
        mm_forward(m, s->team, res2, atty, model_param(m, MT_PROJW) + l * C_ * C_, model_param(m, MT_PROJB) + l * C_,
                   (int)BT, C, C);
        residual_forward(res2, res2, res, BT * C_);
        layernorm_forward(ln2, ln2m, ln2r, res2, model_param(m, MT_LN2W) + l * C_, model_param(m, MT_LN2B) + l * C_,
                          (int)BT, C);
        mm_forward(m, s->team, fch, ln2, model_param(m, MT_FCW) + l * 4 * C_ * C_, model_param(m, MT_FCB) + l * 4 * C_,
                   (int)BT, C, 4 * C);
        gelu_forward(fchg, fch, fch, BT * 4 * C_); /* fch now holds the slope */
        mm_forward(m, s->team, res3, fchg, model_param(m, MT_FCPROJW) + l * 4 * C_ * C_,
                   model_param(m, MT_FCPROJB) + l * C_, (int)BT, 4 * C, C);
        residual_forward(res3, res3, res2, BT * C_);
        res = res3;
    }
    if (st) return st;
    float *lnf = a->lnf + r0 * C_, *probs = a->probs + r0 * (size_t)V;
    layernorm_forward(lnf, a->lnf_mean + r0, a->lnf_rstd + r0, res, model_param(m, MT_LNFW), model_param(m, MT_LNFB),
                      (int)BT, C);
    mm_forward(m, s->team, probs, lnf, head_weight(m), NULL, (int)BT, C, V);
    crossentropy_forward(a->losses + r0, probs, probs, a->targets + r0, (int)BT, V);
    return PB_OK;
}

/* Runs fn on every slice of a B-row batch (slice_plan): the slices side by
 * side, then the rest as the team. The first failing slice's status. */
typedef PbStatus (*SliceFn)(Model *m, const Slice *s, int T, Positions pos);

/* pos: of the whole batch; each slice gets its rows' windows. */
static PbStatus run_slices(Model *m, SliceFn fn, int B, int T, Positions pos, int zero_private) {
    const SlicePlan plan = slice_plan(m, B);
    ModelActs *a = &m->a;
    PbStatus st[MODEL_MAX_SLICES];
    const int blas = openblas_get_num_threads();
    if (plan.P && blas > 1) openblas_set_num_threads(1);
#pragma omp parallel num_threads(plan.P > 0 ? plan.P : 1) if (plan.P > 0)
    if (plan.P > 0) {
        const int t = thread_num(), b0 = t * plan.each, b1 = b0 + plan.each;
        Encoding enc = m->enc;
        Slice s = {.b0 = b0,
                   .b1 = b1,
                   .team = 0,
                   .grads = m->grads,
                   .enc = &m->enc,
                   .att_scratch = a->att_scratch + (size_t)t * a->att_scratch_per_slice};
        if (t > 0) {
            s.grads = a->grads_priv + (size_t)(t - 1) * round16(m->n_params);
            enc.dparams = s.grads + m->tensors[MT_ENC].offset;
            s.enc = &enc;
            if (zero_private) memset(s.grads, 0, m->n_params * sizeof(float));
        }
        st[t] = fn(m, &s, T, positions_window(pos, b0, T));
    }
    if (plan.P && blas > 1) openblas_set_num_threads(blas);
    for (int t = 0; t < plan.P; t++)
        if (st[t]) return st[t];
    if (!plan.rest) return PB_OK;
    /* into the model's gradients, as slice 0 (done by now) */
    const int b0 = plan.P * plan.each;
    const Slice s = {.b0 = b0, .b1 = B, .team = 1, .grads = m->grads, .enc = &m->enc, .att_scratch = a->att_scratch};
    return fn(m, &s, T, positions_window(pos, b0, T));
}

PbStatus model_forward(Model *m, const int32_t *inputs, const int32_t *targets, int B, int T, int pos0) {
    return model_forward_at(m, inputs, targets, B, T, positions_from(pos0));
}

PbStatus model_forward_at(Model *m, const int32_t *inputs, const int32_t *targets, int B, int T, Positions pos) {
    if (!m->acts_mem) return pb_fail(PB_USAGE, "model_forward: call model_alloc_train first");
    if (B < 1 || T < 1 || B > m->max_B || T > m->max_T)
        return pb_fail(PB_RANGE,
                       "model_forward: batch %d x length %d outside the allocated "
                       "%d x %d",
                       B, T, m->max_B, m->max_T);
    const int V = m->cfg.vocab;
    const size_t BT = (size_t)B * T;
    ModelActs *a = &m->a;
    PbStatus st = encoding_check_map(&m->enc, pos, B, T);
    size_t scored = 0;
    if (!st) st = check_ids(inputs, BT, V, "input", 0, NULL);
    if (!st) st = check_ids(targets, BT, V, "target", 1, &scored);
    if (st) return st;
    memcpy(a->inputs, inputs, BT * sizeof *inputs);
    memcpy(a->targets, targets, BT * sizeof *targets);
    m->B = B, m->T = T, m->pos = pos;
    if (pos.map) { /* kept for backward: the caller's map may change */
        memcpy(m->pos_map, pos.map, BT * sizeof *m->pos_map);
        m->pos.map = m->pos_map;
    }
    if ((st = run_slices(m, forward_slice, B, T, m->pos, 0))) return st;
    double sum = 0.0;
    for (size_t i = 0; i < BT; i++)
        if (a->targets[i] != MODEL_UNSCORED) sum += a->losses[i];
    m->n_scored = scored;
    m->loss = scored ? sum / (double)scored : 0.0;
    return PB_OK;
}

void model_zero_grad(Model *m) { memset(m->grads, 0, m->n_params * sizeof(float)); }

/* Buffers only one layer feeds are stored (GRAD_STORE), not zeroed and added
 * to; dres, which both branches of a residual feed, adds. */
static PbStatus backward_slice(Model *m, const Slice *s, int T, Positions pos) {
    const int B = s->b1 - s->b0, C = m->cfg.dim, H = m->cfg.heads, V = m->cfg.vocab;
    const size_t BT = (size_t)B * T, C_ = (size_t)C, r0 = (size_t)s->b0 * T;
    const size_t lBT = (size_t)m->max_B * m->max_T;
    const size_t latt = att_layer_floats(m), att0 = (size_t)s->b0 * H * T * att_row_floats(m, T);
    ModelActs *a = &m->a;
    const int team = s->team;
    float *dlosses = a->dlosses + r0, *dlogits = a->dlogits + r0 * (size_t)V;
    float *dres = a->dres + r0 * C_, *dln = a->dln + r0 * C_, *dqkv = a->dqkv + r0 * 3 * C_;
    float *datty = a->datty + r0 * C_, *dfch = a->dfch + r0 * 4 * C_;
    const float inv = m->n_scored ? 1.0f / (float)m->n_scored : 0.0f;
    for (size_t i = 0; i < BT; i++) dlosses[i] = inv;
    crossentropy_backward(dlogits, dlosses, a->probs + r0 * (size_t)V, a->targets + r0, (int)BT, V, GRAD_STORE);
    mm_backward(m, team, dln, slice_grad(m, s, m->cfg.tied ? MT_WTE : MT_LMHEAD), NULL, dlogits, a->lnf + r0 * C_,
                head_weight(m), (int)BT, C, V, GRAD_STORE);
    const float *last = (m->cfg.layers ? a->res3 + (size_t)(m->cfg.layers - 1) * lBT * C_ : a->encoded) + r0 * C_;
    zero_floats(dres, BT * C_, team);
    layernorm_backward(dres, slice_grad(m, s, MT_LNFW), slice_grad(m, s, MT_LNFB), dln, last, model_param(m, MT_LNFW),
                       a->lnf_mean + r0, a->lnf_rstd + r0, (int)BT, C);
    PbStatus st = PB_OK;
    for (int l = m->cfg.layers - 1; l >= 0 && !st; l--) {
        const size_t rl = l * lBT + r0;
        const float *res = (l ? a->res3 + (size_t)(l - 1) * lBT * C_ : a->encoded) + r0 * C_;
        const float *ln1 = a->ln1 + rl * C_, *ln1m = a->ln1_mean + rl, *ln1r = a->ln1_rstd + rl;
        const float *qkv = a->qkv + rl * 3 * C_, *atty = a->atty + rl * C_, *att = a->att + l * latt + att0;
        const float *res2 = a->res2 + rl * C_, *ln2 = a->ln2 + rl * C_;
        const float *ln2m = a->ln2_mean + rl, *ln2r = a->ln2_rstd + rl;
        const float *slope = a->fch + rl * 4 * C_, *fchg = a->fch_gelu + rl * 4 * C_;
        /* dres holds d(res3): it is also d(fcproj output) and part of d(res2). */
        mm_backward(m, team, dfch, slice_grad(m, s, MT_FCPROJW) + l * 4 * C_ * C_,
                    slice_grad(m, s, MT_FCPROJB) + l * C_, dres, fchg, model_param(m, MT_FCPROJW) + l * 4 * C_ * C_,
                    (int)BT, 4 * C, C, GRAD_STORE);
        gelu_backward(dfch, dfch, slope, BT * 4 * C_, GRAD_STORE); /* d(gelu out) -> d(fc out) */
        mm_backward(m, team, dln, slice_grad(m, s, MT_FCW) + l * 4 * C_ * C_, slice_grad(m, s, MT_FCB) + l * 4 * C_,
                    dfch, ln2, model_param(m, MT_FCW) + l * 4 * C_ * C_, (int)BT, C, 4 * C, GRAD_STORE);
        layernorm_backward(dres, slice_grad(m, s, MT_LN2W) + l * C_, slice_grad(m, s, MT_LN2B) + l * C_, dln, res2,
                           model_param(m, MT_LN2W) + l * C_, ln2m, ln2r, (int)BT, C);
        /* dres now holds d(res2): also d(proj output). */
        mm_backward(m, team, datty, slice_grad(m, s, MT_PROJW) + l * C_ * C_, slice_grad(m, s, MT_PROJB) + l * C_, dres,
                    atty, model_param(m, MT_PROJW) + l * C_ * C_, (int)BT, C, C, GRAD_STORE);
        zero_floats(dqkv, BT * 3 * C_, team); /* attention_backward adds */
        st = m->tiled ? attention_backward_tiled_at(dqkv, datty, qkv, att, s->enc, s->att_scratch, B, T, C, H, pos)
                      : attention_backward_at(dqkv, datty, qkv, att, s->enc, s->att_scratch, B, T, C, H, pos);
        if (st) break;
        mm_backward(m, team, dln, slice_grad(m, s, MT_QKVW) + l * 3 * C_ * C_, slice_grad(m, s, MT_QKVB) + l * 3 * C_,
                    dqkv, ln1, model_param(m, MT_QKVW) + l * 3 * C_ * C_, (int)BT, C, 3 * C, GRAD_STORE);
        layernorm_backward(dres, slice_grad(m, s, MT_LN1W) + l * C_, slice_grad(m, s, MT_LN1B) + l * C_, dln, res,
                           model_param(m, MT_LN1W) + l * C_, ln1m, ln1r, (int)BT, C);
    }
    if (!st) st = encoding_embed_backward_at(s->enc, dres, B, T, pos);
    if (!st) scale_floats(dres, BT * C_, m->cfg.embed_scale); /* d(wte rows) = s d(x0) */
    if (!st) embedding_backward(slice_grad(m, s, MT_WTE), dres, a->inputs + r0, B, T, C);
    return st;
}
PbStatus model_backward(Model *m) {
    if (!m->B) return pb_fail(PB_USAGE, "model_backward: no forward pass to differentiate");
    PbStatus st = run_slices(m, backward_slice, m->B, m->T, m->pos, 1);
    const int P = slice_plan(m, m->B).P;
    if (st || P < 2) return st;
    /* The other slices' gradients, added in slice order. */
    const size_t n = m->n_params, stride = round16(n);
    const float *priv = m->a.grads_priv;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float g = m->grads[i];
        for (int t = 1; t < P; t++) g += priv[(size_t)(t - 1) * stride + i];
        m->grads[i] = g;
    }
    return PB_OK;
}

/* ---- evaluation --------------------------------------------------------------- */

static size_t eval_layout(const Model *m, ModelEval *ev, float *base, int B, int T) {
    const size_t C = (size_t)m->cfg.dim, V = (size_t)m->cfg.vocab, BT = (size_t)B * T;
    const size_t chunk = BT < EVAL_CHUNK ? BT : EVAL_CHUNK;
    size_t off = 0;
#define TAKE(field, n) \
    do { \
        if (base) ev->field = base + off; \
        off += round16(n); \
    } while (0)
    TAKE(x, BT * C);
    TAKE(ln, BT * C);
    TAKE(mean, BT);
    TAKE(rstd, BT);
    TAKE(qkv, BT * 3 * C);
    TAKE(atty, BT * C);
    TAKE(fch, BT * 4 * C);
    TAKE(logits, chunk * V);
    TAKE(scratch, attention_rows_scratch_floats(T, m->threads));
#undef TAKE
    if (base) ev->chunk = (int)chunk;
    return off;
}

size_t model_eval_floats(const Model *m, int B, int T) { return eval_layout(m, &(ModelEval){0}, NULL, B, T); }

PbStatus model_eval_alloc(ModelEval *ev, const Model *m, int B, int T) {
    *ev = (ModelEval){0};
    if (B < 1 || T < 1) return pb_fail(PB_RANGE, "model: eval batch %d and length %d must be positive", B, T);
    ev->n_floats = eval_layout(m, ev, NULL, B, T);
    ev->mem = pb_alloc_floats(ev->n_floats, "the evaluation workspace");
    if (!ev->mem) return PB_NOMEM;
    eval_layout(m, ev, ev->mem, B, T);
    ev->max_B = B;
    ev->max_T = T;
    return PB_OK;
}

void model_eval_free(ModelEval *ev) {
    pb_free_large(ev->mem);
    *ev = (ModelEval){0};
}

/* An evaluation cut short by an interrupt: NaN losses, so that a caller that
 * forgot to check interrupt_requested() records no plausible number. */
static PbStatus cut_losses(float *losses, size_t n) {
    for (size_t i = 0; i < n; i++) losses[i] = NAN;
    return PB_OK;
}

PbStatus model_eval_losses(ModelEval *ev, const Model *m, float *losses, const int32_t *inputs, const int32_t *targets,
                           int B, int T, int pos0) {
    if (!ev->mem) return pb_fail(PB_USAGE, "model_eval_losses: call model_eval_alloc first");
    if (B < 1 || T < 1 || B > ev->max_B || T > ev->max_T)
        return pb_fail(PB_RANGE,
                       "model_eval_losses: batch %d x length %d outside the "
                       "allocated %d x %d",
                       B, T, ev->max_B, ev->max_T);
    const int C = m->cfg.dim, H = m->cfg.heads, V = m->cfg.vocab;
    const size_t BT = (size_t)B * T, C_ = (size_t)C;
    PbStatus st = encoding_check_positions(&m->enc, pos0, T);
    if (!st) st = check_ids(inputs, BT, V, "input", 0, NULL);
    if (!st) st = check_ids(targets, BT, V, "target", 1, NULL);
    if (!st) st = embedding_forward(ev->x, inputs, model_param(m, MT_WTE), B, T, C, V);
    if (!st) scale_floats(ev->x, BT * C_, m->cfg.embed_scale);
    if (!st) st = encoding_embed_forward(&m->enc, ev->x, B, T, pos0);
    for (int l = 0; !st && l < m->cfg.layers; l++) {
        layernorm_forward(ev->ln, ev->mean, ev->rstd, ev->x, model_param(m, MT_LN1W) + l * C_,
                          model_param(m, MT_LN1B) + l * C_, (int)BT, C);
        mm_forward(m, 1, ev->qkv, ev->ln, model_param(m, MT_QKVW) + l * 3 * C_ * C_,
                   model_param(m, MT_QKVB) + l * 3 * C_, (int)BT, C, 3 * C);
        st = attention_forward_rows(ev->atty, ev->qkv, &m->enc, ev->scratch, B, T, C, H, pos0);
        if (st) break;
        if (interrupt_requested()) return cut_losses(losses, BT);
        mm_forward(m, 1, ev->ln, ev->atty, model_param(m, MT_PROJW) + l * C_ * C_, model_param(m, MT_PROJB) + l * C_,
                   (int)BT, C, C);
        residual_forward(ev->x, ev->ln, ev->x, BT * C_);
        layernorm_forward(ev->ln, ev->mean, ev->rstd, ev->x, model_param(m, MT_LN2W) + l * C_,
                          model_param(m, MT_LN2B) + l * C_, (int)BT, C);
        mm_forward(m, 1, ev->fch, ev->ln, model_param(m, MT_FCW) + l * 4 * C_ * C_, model_param(m, MT_FCB) + l * 4 * C_,
                   (int)BT, C, 4 * C);
        gelu_forward(ev->fch, NULL, ev->fch, BT * 4 * C_);
        mm_forward(m, 1, ev->atty, ev->fch, model_param(m, MT_FCPROJW) + l * 4 * C_ * C_,
                   model_param(m, MT_FCPROJB) + l * C_, (int)BT, 4 * C, C);
        residual_forward(ev->x, ev->atty, ev->x, BT * C_);
    }
    if (st) return st;
    layernorm_forward(ev->ln, ev->mean, ev->rstd, ev->x, model_param(m, MT_LNFW), model_param(m, MT_LNFB), (int)BT, C);
    for (size_t r0 = 0; r0 < BT; r0 += (size_t)ev->chunk) {
        if (interrupt_requested()) return cut_losses(losses, BT);
        const int n = (int)(BT - r0 < (size_t)ev->chunk ? BT - r0 : (size_t)ev->chunk);
        mm_forward(m, 1, ev->logits, ev->ln + r0 * C_, head_weight(m), NULL, n, C, V);
        crossentropy_forward(losses + r0, ev->logits, ev->logits, targets + r0, n, V);
    }
    return PB_OK;
}
