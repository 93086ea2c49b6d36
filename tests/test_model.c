/* test_model.c: the probe transformer as a whole (harness/model/model.h),
 * its training loop (harness/train/train.h) and checkpoints (harness/results/checkpoint.h),
 * table-driven over the encoding registry: every registered encoding gets
 * every check without new test code.
 *
 *  1. gradient: model_backward against central differences of the mean loss
 *     (summed in double), for a sample of elements of every parameter tensor
 *     (first, last and random ones), tied and untied heads. Tolerance:
 *     |num - ana| <= atol + rtol * max(|num|, |ana|) with rtol 1e-2 (the
 *     O(h^2) truncation at h = 1e-2 on O(1) curvature) and atol = 64 u |L| / h
 *     (the float forward's rounding, u = 2^-24, amplified by 1 / 2h). An
 *     element of high curvature retries at h/4 and h/16 (truncation falls as
 *     h^2; a wrong gradient is off at every step). The worst element of each
 *     tensor is printed on failure. Constrained encoding parameters are
 *     projected after the random perturbation, as the trainer keeps them.
 *     Once more with each window at its own random positions (a map).
 *  2. learning: on a generated corpus where each token determines the next
 *     (a random cycle of 16 symbols), the loss falls below a quarter of its
 *     start within 100 steps.
 *  3. determinism: two runs with the same seed give identical bits.
 *  4. checkpoint round trip: N steps, save, resume, M more steps equals N+M
 *     uninterrupted steps, bit for bit (losses and parameters), also when
 *     trained at randomized positions (redrawn, not saved); the compact
 *     vocabulary map survives the trip.
 *  5. evaluation: model_eval_losses equals the training forward's per-token
 *     losses bit for bit at batch B (pos0 0 and > 0), and within 1e-5 one row
 *     at a time (other sgemm shapes may round differently),
 *     runs past the training length with memory linear in T, and returns
 *     PB_LENGTH with the encoding's message past a table.
 *  6. slices: on several threads a step runs as slices of batch rows side by
 *     side, then the rest as the team (model.c); its loss and gradients match the
 *     one-thread model's within float rounding (sgemm may round other row
 *     counts differently), and a second backward adds the same again (the
 *     private gradients are zeroed, then summed in).
 *  7. tiled attention: a model training attention tiled (row statistics
 *     kept, probabilities recomputed) gives the stored model's loss and
 *     gradients bit for bit, with slices and a team, at consecutive and
 *     mapped positions, in fewer bytes (model_train_bytes).
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/rng.h"
#include "../harness/results/checkpoint.h"
#include "../harness/model/model.h"
#include "../harness/train/train.h"
#include "buffers.h"
#include "check.h"

static ModelConfig tiny_config(const EncodingModule *e, int V, int T, int C, int H, int L) {
    ModelConfig mc = model_config_default();
    mc.vocab = V, mc.context = T, mc.dim = C, mc.heads = H, mc.layers = L;
    snprintf(mc.encoding, sizeof mc.encoding, "%s", e->name);
    return mc;
}

static void random_ids(int32_t *ids, size_t n, int V, Rng *r) {
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)rng_below(r, (uint32_t)V);
}

/* ---- 1. gradient ------------------------------------------------------------ */

static double loss_at(Model *m, const int32_t *in, const int32_t *tg, int B, int T, Positions pos) {
    PbStatus st = model_forward_at(m, in, tg, B, T, pos);
    if (st) return NAN;
    return m->loss;
}

/* masked: embed_scale 2.5 and every third target MODEL_UNSCORED, so the
 * scale's and the mask's gradients are checked too. mapped: each window at
 * its own sorted random positions of [0, 3T) (randomized positions, the
 * learned table 3T rows). */
static void check_gradient(const EncodingModule *e, int tied, int masked, int mapped) {
    enum { V = 11, T = 7, C = 8, H = 2, L = 2, B = 2 };
    ModelConfig mc = tiny_config(e, V, T, C, H, L);
    mc.tied = tied;
    if (masked) mc.embed_scale = 2.5f;
    if (mapped) mc.positions = 3 * T;
    mc.init_std = 0.3f;
    Model m;
    PbStatus st = model_create(&m, &mc);
    CHECK_OK(st);
    if (st) return;
    CHECK_OK(model_alloc_train(&m, B, T));
    model_init_params(&m, 7);
    Rng r;
    rng_seed(&r, 11, 3);
    /* Off the symmetric start: LayerNorm gains near 1, biases nonzero. */
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.1f * rng_normal(&r);
    encoding_project(&m.enc); /* as after a step: constrained parameters back in range */
    int32_t *in = malloc((size_t)B * T * sizeof *in), *tg = malloc((size_t)B * T * sizeof *tg);
    random_ids(in, B * T, V, &r);
    random_ids(tg, B * T, V, &r);
    if (masked)
        for (int i = 0; i < B * T; i += 3) tg[i] = MODEL_UNSCORED;
    int map[B * T];
    for (int b = 0; b < B; b++) rng_sorted_sample(&r, T, 3 * T, map + b * T);
    const Positions pos = mapped ? (Positions){0, map} : positions_from(0);
    model_zero_grad(&m);
    CHECK_OK(model_forward_at(&m, in, tg, B, T, pos));
    const double L0 = m.loss;
    CHECK_OK(model_backward(&m));
    const float h = 1e-2f;
    const double rtol = 1e-2;
    for (int id = 0; id < MODEL_N_TENSORS; id++) {
        const ModelTensor *t = &m.tensors[id];
        if (!t->count) continue;
        double worst = -1, w_num = 0, w_ana = 0;
        size_t w_at = 0;
        int bad = 0;
        for (int s = 0; s < 24; s++) {
            size_t k = s == 0 ? 0 : s == 1 ? t->count - 1 : rng_below(&r, (uint32_t)t->count);
            float *p = m.params + t->offset + k;
            const float keep = *p;
            double ana = m.grads[t->offset + k], num = 0, err = 0, lim = 0;
            /* h, then h/4 and h/16 where curvature (O(h^2)) dominates: a
             * wrong gradient stays off at every step */
            for (float step = h; step >= h / 16; step /= 4) {
                *p = keep + step;
                double lp = loss_at(&m, in, tg, B, T, pos);
                *p = keep - step;
                double lm = loss_at(&m, in, tg, B, T, pos);
                *p = keep;
                /* the step actually taken, in float */
                num = (lp - lm) / ((double)(keep + step) - (double)(keep - step));
                err = fabs(num - ana);
                lim = 64.0 * 5.96e-8 * fabs(L0) / step + rtol * fmax(fabs(num), fabs(ana));
                if (err <= lim) break;
            }
            if (!(err <= lim)) bad++;
            if (!(err / lim <= worst)) worst = err / lim, w_num = num, w_ana = ana, w_at = k;
        }
        CHECK(bad == 0,
              "%s %s%s%s: gradient of %s: %d of 24 elements off; worst [%zu] numeric %.6g "
              "analytic %.6g (error %.2f x tolerance)",
              e->name, tied ? "tied" : "untied", masked ? " (scaled, masked)" : "", mapped ? " (a map)" : "", t->name,
              bad, w_at, w_num, w_ana, worst);
    }
    free(in), free(tg);
    model_free(&m);
}

/* ---- training helpers ------------------------------------------------------- */

/* A corpus where each token determines the next: a cycle through a random
 * permutation of V symbols. */
static int32_t *cycle_corpus(size_t n, int V, uint64_t seed) {
    int32_t perm[64];
    Rng r;
    rng_seed(&r, seed, 9);
    for (int i = 0; i < V; i++) perm[i] = i;
    for (int i = V; i > 1; i--) {
        int j = (int)rng_below(&r, (uint32_t)i), tmp = perm[i - 1];
        perm[i - 1] = perm[j], perm[j] = tmp;
    }
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = perm[i % (size_t)V];
    return ids;
}

static TrainConfig tiny_train(long steps) {
    TrainConfig tc = train_config_default();
    tc.steps = steps;
    tc.batch = 4;
    tc.lr = 1e-2f;
    tc.warmup = 10;
    tc.seed = 5;
    return tc;
}

/* ---- 2. learning --------------------------------------------------------------- */

static void check_learning(const EncodingModule *e) {
    const int V = 16;
    const size_t n = 4000;
    int32_t *ids = cycle_corpus(n, V, 1);
    ModelConfig mc = tiny_config(e, V, 32, 32, 4, 2);
    TrainConfig tc = tiny_train(100);
    Trainer t;
    PbStatus st = trainer_init(&t, &mc, &tc, ids, n);
    CHECK_OK(st);
    if (!st) {
        CHECK_OK(trainer_run(&t, tc.steps, NULL));
        double first = t.loss_history[0], last = 0;
        for (long i = tc.steps - 10; i < tc.steps; i++) last += t.loss_history[i] / 10.0;
        double val = NAN;
        CHECK_OK(trainer_validate(&t, 0, &val));
        printf("  learning %-18s loss %.3f -> %.3f (validation %.3f)\n", e->name, first, last, val);
        CHECK(last < 0.25 * first, "%s: loss fell only from %.3f to %.3f in %ld steps", e->name, first, last, tc.steps);
        CHECK(val < 0.25 * first, "%s: validation loss %.3f vs start %.3f", e->name, val, first);
    }
    trainer_free(&t);
    free(ids);
}

/* ---- 3. determinism, 4. checkpoints ------------------------------------------- */

static int same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

/* lmax > 0: trained at randomized positions of [0, lmax), which a resumed
 * run must draw again. */
static void check_determinism_and_resume(const EncodingModule *e, const char *dir, int lmax) {
    const int V = 16;
    const size_t n = 3000;
    const long N = 8, M = 7;
    int32_t *ids = cycle_corpus(n, V, 2);
    ModelConfig mc = tiny_config(e, V, 32, 32, 4, 2);
    TrainConfig tc = tiny_train(N + M);
    tc.randomize_positions = lmax;
    Trainer a, b, c;
    CHECK_OK(trainer_init(&a, &mc, &tc, ids, n));
    CHECK_OK(trainer_run(&a, N + M, NULL));
    CHECK_OK(trainer_init(&b, &mc, &tc, ids, n));
    CHECK_OK(trainer_run(&b, N + M, NULL));
    CHECK(same_bits(a.loss_history, b.loss_history, (N + M) * sizeof(float)) &&
              same_bits(a.model.params, b.model.params, a.model.n_params * sizeof(float)),
          "%s: two runs with one seed differ", e->name);
    trainer_free(&b);

    /* Interrupted: N steps, save, resume in a fresh trainer, M more. */
    char path[4200];
    snprintf(path, sizeof path, "%s/ck_%s.h5", dir, e->name);
    CheckpointData d = {0};
    snprintf(d.data, sizeof d.data, "generated cycle");
    snprintf(d.tokenizer, sizeof d.tokenizer, "bytes");
    CHECK_OK(vocab_map_identity(&d.vocab, V));
    CHECK_OK(trainer_init(&c, &mc, &tc, ids, n));
    CHECK_OK(trainer_run(&c, N, NULL));
    CHECK_OK(checkpoint_save(path, 0, &c, &d));
    CHECK(checkpoint_save(path, 0, &c, &d) == PB_EXISTS, "%s: overwrote a checkpoint without force", e->name);
    trainer_free(&c);
    ModelConfig mc2;
    TrainConfig tc2;
    CheckpointData d2;
    long done = -1;
    CHECK_OK(checkpoint_read_config(path, &mc2, &tc2, &d2, &done));
    CHECK(done == N && tc2.steps == N + M && mc2.vocab == V && !strcmp(mc2.encoding, e->name) &&
              tc2.randomize_positions == lmax && mc2.positions == lmax,
          "%s: checkpoint config read back wrong (step %ld, positions %d/%d)", e->name, done, tc2.randomize_positions,
          mc2.positions);
    CHECK_OK(trainer_init(&c, &mc2, &tc2, ids, n));
    CHECK_OK(checkpoint_restore(path, &c));
    CHECK_OK(trainer_run(&c, N + M, NULL));
    int same_loss = same_bits(a.loss_history, c.loss_history, (N + M) * sizeof(float));
    int same_params = same_bits(a.model.params, c.model.params, a.model.n_params * sizeof(float));
    int same_moments = same_bits(a.opt_mem, c.opt_mem, 2 * a.model.n_params * sizeof(float));
    CHECK(same_loss && same_params && same_moments,
          "%s%s: resumed run differs from the uninterrupted one (losses %s, parameters %s, moments %s; "
          "last loss %.9g vs %.9g)",
          e->name, lmax ? " (randomized positions)" : "", same_loss ? "same" : "differ",
          same_params ? "same" : "differ", same_moments ? "same" : "differ", a.loss_history[N + M - 1],
          c.loss_history[N + M - 1]);
    /* A model for evaluation loads the same parameters. */
    Model ev;
    CHECK_OK(checkpoint_load_model(path, &ev, NULL));
    if (ev.params) {
        size_t bytes = ev.n_params * sizeof(float);
        Model *ref = &a.model;
        /* the checkpoint is at step N: compare against a fresh N-step run */
        Trainer n_only;
        CHECK_OK(trainer_init(&n_only, &mc, &tc, ids, n));
        CHECK_OK(trainer_run(&n_only, N, NULL));
        CHECK(ev.n_params == ref->n_params && same_bits(ev.params, n_only.model.params, bytes),
              "%s: checkpoint_load_model gives other parameters", e->name);
        trainer_free(&n_only);
        model_free(&ev);
    }
    trainer_free(&a);
    trainer_free(&c);
    checkpoint_data_free(&d);
    checkpoint_data_free(&d2);
    unlink(path);
    free(ids);
}

static void check_vocab_roundtrip(const char *dir) {
    const int32_t text[] = {50256, 3, 17, 3, 464, 17, 50256, 9};
    VocabMap v;
    CHECK_OK(vocab_map_build(&v, 50257, text, 8));
    CHECK(vocab_map_size(&v) == 6 && vocab_map_unknown(&v) == 5, "compact map of 5 distinct ids: size %d, unknown %d",
          vocab_map_size(&v), vocab_map_unknown(&v));
    int32_t out[3];
    size_t unk = 0;
    CHECK_OK(vocab_map_apply(&v, out, (const int32_t[]){17, 50256, 4}, 3, &unk));
    CHECK(out[0] == 2 && out[1] == 4 && out[2] == 5 && unk == 1, "compact map applied wrongly");
    CHECK(vocab_map_apply(&v, out, (const int32_t[]){50257}, 1, NULL) == PB_DATA,
          "an id past the tokenizer's vocabulary must be refused");
    /* Through a checkpoint. */
    const EncodingModule *e = encoding_registry[0];
    ModelConfig mc = tiny_config(e, vocab_map_size(&v), 8, 8, 2, 1);
    TrainConfig tc = tiny_train(2);
    tc.batch = 2;
    int32_t ids[64];
    for (int i = 0; i < 64; i++) ids[i] = i % 6;
    Trainer t;
    CHECK_OK(trainer_init(&t, &mc, &tc, ids, 64));
    CHECK_OK(trainer_run(&t, 1, NULL));
    CheckpointData d = {.vocab = v};
    snprintf(d.data, sizeof d.data, "x");
    snprintf(d.tokenizer, sizeof d.tokenizer, "gpt2");
    char path[4200];
    snprintf(path, sizeof path, "%s/vocab.h5", dir);
    CHECK_OK(checkpoint_save(path, 1, &t, &d));
    CheckpointData d2;
    ModelConfig mc2;
    TrainConfig tc2;
    CHECK_OK(checkpoint_read_config(path, &mc2, &tc2, &d2, NULL));
    CHECK(d2.vocab.compact && d2.vocab.n_known == v.n_known &&
              !memcmp(d2.vocab.known, v.known, (size_t)v.n_known * sizeof *v.known) && !strcmp(d2.tokenizer, "gpt2"),
          "the vocabulary map did not survive the checkpoint");
    checkpoint_data_free(&d2);
    trainer_free(&t);
    vocab_map_free(&v);
    unlink(path);
}

/* ---- 5. evaluation ---------------------------------------------------------------- */

static void check_eval(const EncodingModule *e) {
    const int V = 40, T = 64, C = 64, H = 4, B = 4;
    ModelConfig mc = tiny_config(e, V, T, C, H, 2);
    Model m;
    PbStatus st = model_create(&m, &mc);
    CHECK_OK(st);
    if (st) return;
    CHECK_OK(model_alloc_train(&m, B, T));
    model_init_params(&m, 3);
    Rng r;
    rng_seed(&r, 4, 4);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.05f * rng_normal(&r);
    int32_t *in = malloc(sizeof(int32_t) * 2 * B * T), *tg = malloc(sizeof(int32_t) * 2 * B * T);
    random_ids(in, 2 * B * T, V, &r);
    random_ids(tg, 2 * B * T, V, &r);
    float *got = malloc(sizeof(float) * 2 * B * T);
    ModelEval ev;
    CHECK_OK(model_eval_alloc(&ev, &m, B, 2 * T));
    const int pos[2] = {0, 5};
    for (int k = 0; k < 2; k++) {
        const int Tk = k ? T - 8 : T; /* pos0 5: a shorter window within the table */
        CHECK_OK(model_forward(&m, in, tg, B, Tk, pos[k]));
        CHECK_OK(model_eval_losses(&ev, &m, got, in, tg, B, Tk, pos[k]));
        CHECK(same_bits(got, m.a.losses, sizeof(float) * B * Tk),
              "%s: eval losses differ from the training forward's (B %d, T %d, pos0 %d): "
              "%.9g vs %.9g at 0",
              e->name, B, Tk, pos[k], got[0], m.a.losses[0]);
        /* One row at a time: other matmul shapes, whose sgemm may round
         * differently (OpenBLAS picks kernels by size), so within 1e-5. */
        double worst = 0;
        for (int b = 0; b < B; b++) {
            CHECK_OK(model_eval_losses(&ev, &m, got, in + b * Tk, tg + b * Tk, 1, Tk, pos[k]));
            for (int i = 0; i < Tk; i++) {
                double ref = m.a.losses[b * Tk + i];
                worst = fmax(worst, fabs(got[i] - ref) / fmax(1.0, fabs(ref)));
            }
        }
        CHECK(worst <= 1e-5,
              "%s: eval one row at a time differs from the batch by %.3g "
              "(relative, pos0 %d)",
              e->name, worst, pos[k]);
    }
    /* Past the training length: a table refuses, the others evaluate. */
    int known = encoding_max_positions(&m.enc);
    st = model_eval_losses(&ev, &m, got, in, tg, 2, 2 * T, 0);
    if (known && known < 2 * T) {
        CHECK(st == PB_LENGTH && strstr(pb_errmsg(), e->name),
              "%s: evaluation past the table: status '%s', message '%s'", e->name, pb_status_name(st), pb_errmsg());
    } else {
        CHECK_OK(st);
        int finite = 1;
        for (int i = 0; i < 2 * 2 * T; i++) finite &= isfinite(got[i]) != 0;
        CHECK(finite, "%s: non-finite losses at length %d", e->name, 2 * T);
    }
    /* Memory linear in T: doubling T about doubles the workspace. */
    double ratio = (double)model_eval_floats(&m, 1, 8 * T) / (double)model_eval_floats(&m, 1, 4 * T);
    CHECK(ratio > 1.8 && ratio < 2.2, "%s: eval workspace grows %.2fx when T doubles", e->name, ratio);
    pb_clear_error();
    model_eval_free(&ev);
    model_free(&m);
    free(in), free(tg), free(got);
}

/* Unscored targets and the embedding scale against direct statements:
 * the masked loss is the mean of the unmasked per-token losses over the
 * scored positions; nothing scored gives loss 0 and no gradient; an untied
 * model with embed_scale s is the model with scale 1 and wte * s. */
static void check_mask_and_scale(const EncodingModule *e) {
    const int V = 13, T = 8, C = 8, H = 2, B = 2, N = B * T;
    ModelConfig mc = tiny_config(e, V, T, C, H, 1);
    mc.tied = 0;
    Model m;
    CHECK_OK(model_create(&m, &mc));
    CHECK_OK(model_alloc_train(&m, B, T));
    model_init_params(&m, 5);
    Rng r;
    rng_seed(&r, 9, 1);
    int32_t in[N], tg[N], masked[N];
    random_ids(in, N, V, &r);
    random_ids(tg, N, V, &r);
    CHECK_OK(model_forward(&m, in, tg, B, T, 0));
    float full[N];
    memcpy(full, m.a.losses, sizeof full);
    double sum = 0;
    int n = 0;
    for (int i = 0; i < N; i++) {
        masked[i] = i % 4 == 1 ? tg[i] : MODEL_UNSCORED;
        if (masked[i] != MODEL_UNSCORED) sum += full[i], n++;
    }
    CHECK_OK(model_forward(&m, in, masked, B, T, 0));
    CHECK(m.n_scored == (size_t)n && fabs(m.loss - sum / n) <= 1e-6 * fabs(sum / n),
          "%s: masked loss %.9g over %zu targets, expected %.9g over %d", e->name, m.loss, m.n_scored, sum / n, n);
    for (int i = 0; i < N; i++) masked[i] = MODEL_UNSCORED;
    CHECK_OK(model_forward(&m, in, masked, B, T, 0));
    model_zero_grad(&m);
    CHECK_OK(model_backward(&m));
    int nonzero = 0;
    for (size_t i = 0; i < m.n_params; i++) nonzero += m.grads[i] != 0.0f;
    CHECK(m.loss == 0.0 && m.n_scored == 0 && nonzero == 0, "%s: nothing scored gave loss %g and %d nonzero gradients",
          e->name, m.loss, nonzero);
    masked[3] = -2;
    CHECK(model_forward(&m, in, masked, B, T, 0) == PB_DATA, "%s: target -2 must be refused", e->name);
    pb_clear_error();

    Model s;
    mc.embed_scale = 3.0f;
    CHECK_OK(model_create(&s, &mc));
    CHECK_OK(model_alloc_train(&s, B, T));
    memcpy(s.params, m.params, m.n_params * sizeof(float));
    const ModelTensor *w = &m.tensors[MT_WTE];
    for (size_t i = 0; i < w->count; i++) m.params[w->offset + i] *= 3.0f;
    CHECK_OK(model_forward(&m, in, tg, B, T, 0));
    CHECK_OK(model_forward(&s, in, tg, B, T, 0));
    CHECK(same_bits(m.a.losses, s.a.losses, sizeof(float) * N),
          "%s: embed_scale 3 differs from wte * 3 (loss %.9g vs %.9g)", e->name, s.loss, m.loss);
    model_free(&s);
    model_free(&m);
}

static void check_misuse(void) {
    ModelConfig mc = tiny_config(encoding_registry[0], 10, 8, 8, 3, 1);
    Model m;
    CHECK(model_create(&m, &mc) == PB_RANGE, "heads 3 must not divide dim 8");
    snprintf(mc.encoding, sizeof mc.encoding, "no_such_encoding");
    mc.heads = 2;
    CHECK(model_create(&m, &mc) == PB_USAGE, "an unknown encoding must be refused");
    mc = tiny_config(encoding_registry[0], 10, 8, 8, 2, 1);
    CHECK_OK(model_create(&m, &mc));
    CHECK_OK(model_alloc_train(&m, 1, 8));
    int32_t in[8] = {0, 1, 2, 3, 4, 5, 6, 10}, tg[8] = {0};
    CHECK(model_forward(&m, in, tg, 1, 8, 0) == PB_DATA, "an id past the vocabulary must be refused");
    model_free(&m);
    pb_clear_error();
}

/* ---- 6. slices ------------------------------------------------------------- */

/* threads N, batch B: 2 and 3 runs two slices of one row, then the third
 * row as the team; 4 and 7 four slices, then three rows as the team (more
 * than a slice holds); 4 and 2 the team alone. */
static void check_slices(const EncodingModule *e, int N, int B) {
    enum { V = 13, T = 9, C = 16, H = 2, L = 2 };
    const ModelConfig mc = tiny_config(e, V, T, C, H, L);
    Model one, two;
    omp_set_num_threads(1);
    PbStatus st = model_create(&one, &mc);
    omp_set_num_threads(N);
    if (!st) st = model_create(&two, &mc);
    CHECK_OK(st);
    if (st) return;
    CHECK(one.threads == 1 && two.threads == N, "slices: models on %d and %d threads", one.threads, two.threads);
    CHECK_OK(model_alloc_train(&one, B, T));
    CHECK_OK(model_alloc_train(&two, B, T));
    model_init_params(&one, 3);
    model_init_params(&two, 3);
    Rng r;
    rng_seed(&r, 21, 3);
    for (size_t i = 0; i < one.n_params; i++) one.params[i] = two.params[i] = one.params[i] + 0.1f * rng_normal(&r);
    int32_t *in = malloc((size_t)B * T * sizeof *in), *tg = malloc((size_t)B * T * sizeof *tg);
    random_ids(in, B * T, V, &r);
    random_ids(tg, B * T, V, &r);
    model_zero_grad(&one);
    model_zero_grad(&two);
    omp_set_num_threads(1);
    CHECK_OK(model_forward(&one, in, tg, B, T, 0));
    CHECK_OK(model_backward(&one));
    omp_set_num_threads(N);
    CHECK_OK(model_forward(&two, in, tg, B, T, 0));
    CHECK_OK(model_backward(&two));
    CHECK_OK(model_backward(&two));
    CHECK(fabs(one.loss - two.loss) <= 1e-6 * fabs(one.loss), "%s slices: batch %d: loss %.9g on %d threads, %.9g on 1",
          e->name, B, two.loss, N, one.loss);
    double rms = 0, worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < one.n_params; i++) rms += (double)one.grads[i] * one.grads[i];
    rms = sqrt(rms / (double)one.n_params);
    /* Each error against max(|gradient|, rms of all): float rounding is
     * about 1e-7 of either. */
    for (size_t i = 0; i < one.n_params; i++) {
        const double ref = 2.0 * one.grads[i];
        const double err = fabs(two.grads[i] - ref) / fmax(fabs(ref), 2.0 * rms);
        if (!(err <= worst)) worst = err, wi = i;
    }
    CHECK(rms > 0 && worst <= 1e-5,
          "%s slices: batch %d: two backwards on %d threads give grads[%zu] = %.9g, "
          "twice one thread's %.9g (rms %.3g)",
          e->name, B, N, wi, two.grads[wi], 2.0 * one.grads[wi], rms);
    free(in), free(tg);
    model_free(&one);
    model_free(&two);
}

/* ---- 7. tiled attention ----------------------------------------------------- */

static void check_tiled(const EncodingModule *e, int N, int B) {
    enum { V = 13, T = 70, C = 16, H = 2, L = 2 }; /* T: two tiles of query rows */
    ModelConfig stored_cfg = tiny_config(e, V, T, C, H, L);
    stored_cfg.positions = 2 * T; /* room for the map's positions */
    ModelConfig tiled_cfg = stored_cfg;
    stored_cfg.attention = MODEL_ATTENTION_STORED;
    tiled_cfg.attention = MODEL_ATTENTION_TILED;
    const int saved = omp_get_max_threads();
    omp_set_num_threads(N);
    Model ms, mt;
    PbStatus st = model_create(&ms, &stored_cfg);
    if (!st) st = model_create(&mt, &tiled_cfg);
    CHECK_OK(st);
    if (st) return;
    CHECK_OK(model_alloc_train(&ms, B, T));
    CHECK_OK(model_alloc_train(&mt, B, T));
    CHECK(!ms.tiled && mt.tiled, "%s tiled: the models keep %s and %s", e->name, ms.tiled ? "stats" : "probs",
          mt.tiled ? "stats" : "probs");
    CHECK(model_train_bytes(&mt, B, T) < model_train_bytes(&ms, B, T), "%s tiled: %zu bytes, stored %zu", e->name,
          model_train_bytes(&mt, B, T), model_train_bytes(&ms, B, T));
    model_init_params(&ms, 5);
    model_init_params(&mt, 5);
    Rng r;
    rng_seed(&r, 33, 3);
    int32_t *in = malloc((size_t)B * T * sizeof *in), *tg = malloc((size_t)B * T * sizeof *tg);
    int *map = malloc((size_t)B * T * sizeof *map);
    random_ids(in, B * T, V, &r);
    random_ids(tg, B * T, V, &r);
    for (int b = 0; b < B; b++) rng_sorted_sample(&r, T, 2 * T, map + (size_t)b * T);
    const Positions positions[] = {positions_from(0), {0, map}};
    for (int k = 0; k < 2; k++) {
        model_zero_grad(&ms);
        model_zero_grad(&mt);
        CHECK_OK(model_forward_at(&ms, in, tg, B, T, positions[k]));
        CHECK_OK(model_backward(&ms));
        CHECK_OK(model_forward_at(&mt, in, tg, B, T, positions[k]));
        CHECK_OK(model_backward(&mt));
        CHECK(ms.loss == mt.loss, "%s tiled (%d threads, batch %d, %s): loss %.9g, stored %.9g", e->name, N, B,
              k ? "a map" : "pos0 0", mt.loss, ms.loss);
        CHECK_SAME(mt.grads, ms.grads, ms.n_params, "%s tiled (%d threads, batch %d, %s): gradients", e->name, N, B,
                   k ? "a map" : "pos0 0");
    }
    omp_set_num_threads(saved);
    free(in), free(tg), free(map);
    model_free(&ms);
    model_free(&mt);
}

int main(void) {
    char dir[] = "/tmp/posbench_test_model_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    for (size_t i = 0; encoding_registry[i]; i++) {
        const EncodingModule *e = encoding_registry[i];
        check_gradient(e, 1, 0, 0);
        check_gradient(e, 0, 0, 0);
        check_gradient(e, 1, 1, 0);
        check_gradient(e, 1, 0, 1);
        check_mask_and_scale(e);
        check_eval(e);
        check_determinism_and_resume(e, dir, 0);
        check_determinism_and_resume(e, dir, 96);
        check_learning(e);
        check_slices(e, 2, 3), check_slices(e, 4, 7), check_slices(e, 4, 2);
        check_tiled(e, 2, 3), check_tiled(e, 1, 2);
    }
    check_vocab_roundtrip(dir);
    check_misuse();
    rmdir(dir);
    return check_exit_code("model");
}
