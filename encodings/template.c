/* template.c: the recipe for adding a positional encoding, and a real one.
 *
 *   logits[h,i,j] += -scale * s_h * (i - j)     s: [H], learned, s_h = 1/(h+2) at init
 *
 * ALiBi's linear distance penalty (Press et al. 2022) with slopes that are
 * trained rather than fixed: small enough to read in one sitting, yet it uses
 * every part of the interface a new variant is likely to need (parameters, a
 * knob, a forward/backward pair, an inspect hook), and the registry-driven
 * tests check it like any other encoding.
 *
 * Shapes: H heads; attn_bias works on one row segment (head h, query i, keys
 * j0..j1-1): logits and dlogits are [j1 - j0]. Parameters: s [H].
 *
 * To add an encoding (each step is marked again where it happens below):
 *
 *   1. Copy this file to encodings/NAME.c and rewrite this header: purpose,
 *      formula, paper, shapes. Comments say why, not what.
 *   2. Rename the module: the variable encoding_template becomes
 *      encoding_NAME, .name becomes "NAME" (the CLI, HDF5 files and plots use
 *      it), .summary names the paper, and the tpl_ prefix of the static
 *      functions becomes your own.
 *   3. Declare what it has: settings (variants, knobs; the core parses and
 *      range-checks them into e->variant and e->knob[]) and the number of
 *      trainable floats. The core hands you slices e->params and e->dparams
 *      of the model's single buffers; init_params fills e->params.
 *   4. Write the hooks, each forward with its backward twin; leave the others
 *      NULL. Pick where positions enter the model:
 *        embed_forward/backward    x[b,t,:] += p(pos0 + t)   (learned_absolute.c)
 *        rotate_forward/backward   q, k rotated in place      (rope.c)
 *        bias_forward/backward     logits[h,i,j] += b(h,i,j)  (this file)
 *        score_forward/backward    logits[b,h,i,j] += s(q_i, k_j, i, j)  (shaw.c)
 *      rotate_qk receives q and k apart and may treat them differently
 *      (xPos scales q up and k down with position). Contracts the tests hold
 *      every encoding to:
 *        - Positions are absolute, so a pass in chunks equals one full pass.
 *          A call may cover any run of consecutive positions: at randomized
 *          positions (encoding.h, "positions as a map") the core calls each
 *          hook once per run of a window's sorted, gapped positions.
 *        - Backward hooks ADD into e->dparams (the owner zeroes it), and
 *          gradients are finite everywhere (i = j and position 0 included).
 *        - An unbounded encoding (no max_positions) stays finite at 2^20
 *          positions: form angles and distances in double.
 *        - A bound on positions (a table's rows, or where a formula stops
 *          being finite in float) is declared by max_positions; the core
 *          then refuses longer inputs, or with --length-fallback clamp
 *          hands you positions past it and you must serve them (reuse the
 *          last row, or clamp the exponent). Say "table" in a message only
 *          for a table.
 *        - Parameters with constraints (a positive rate, an exponent <= 2)
 *          get a project hook: the trainer calls it after every optimizer
 *          step to put them back in range (kerple.c).
 *      Validate the config and build derived tables in setup (e->state,
 *      freed in teardown).
 *   5. Register it: add &encoding_NAME (and its extern declaration) to
 *      encodings/registry.c. CMake builds every .c file in encodings/, so that is the
 *      only edit outside your file. This template stays out of the default
 *      registry; the tests build it in with -DPOSBENCH_REGISTER_TEMPLATE.
 *   6. Run ctest: the registry-driven tests (tests/test_encodings.c) pick the
 *      new encoding up with no new test code: gradient checks, determinism,
 *      buffer sentinels, chunked passes, the length policy. The benchmarks
 *      iterate the same registry.
 *   7. Add it to the PyTorch reference script
 *      (tests/reference/make_reference.py: a class with the formula from the
 *      paper, its hook cases covering every variant, a model case), then
 *      regenerate and commit its fixture (make_reference.py --only NAME): the
 *      reference test fails for an encoding without one.
 */
#include <stdlib.h>

#include "encoding.h"

/* Step 3: settings. Knobs are "name=value" pairs on the command line, filled
 * in e->knob[] in this table's order; the enum names each slot and the
 * static_assert keeps both in step. Variants work the same way (a
 * NULL-terminated list of names, [0] the default, chosen index in
 * e->variant; see relative_bias.c); this encoding has a single behaviour, so
 * it declares none. */
enum { TPL_SCALE, TPL_KNOB_COUNT };
static const EncodingKnob tpl_knobs[] = {
    [TPL_SCALE] = {"scale", 1.0, 0.0, 100.0, "multiplies the bias (0 switches it off)"},
    {NULL},
};
_Static_assert(sizeof tpl_knobs / sizeof tpl_knobs[0] == TPL_KNOB_COUNT + 1, "tpl_knobs out of step with its enum");

/* Step 3: parameters. One slope per head. */
static size_t tpl_num_params(const Encoding *e) { return (size_t)e->cfg.heads; }

/* Step 3: initial values. Deterministic, so rng goes unused; draw from it
 * (rng_normal, rng_uniform) if your parameters start random. Slopes 1/2,
 * 1/3, 1/4, ... are positive (a penalty that grows with distance) and
 * distinct, so heads start out attending over different ranges, as ALiBi's
 * fixed slopes do. */
static void tpl_init_params(Encoding *e, Rng *rng) {
    (void)rng;
    for (int h = 0; h < e->cfg.heads; h++) e->params[h] = 1.0f / (float)(h + 2);
}

/* Step 4: the forward hook. No setup is needed: the knob's range was
 * checked by the core, and there is nothing to precompute (relative_bias.c
 * and alibi.c show setup/teardown with e->state). Nor a length policy: the
 * bias is defined for every distance, so max_positions stays NULL
 * (learned_absolute.c shows a table that refuses longer inputs). */
static void tpl_bias_forward(const Encoding *e, float *logits, int h, int i, int j0, int j1) {
    const float m = (float)(e->knob[TPL_SCALE] * e->params[h]);
    for (int j = j0; j < j1; j++) logits[j - j0] -= m * (float)(i - j);
}

/* Step 4: the backward twin. d logits[j] / d s_h = -scale * (i - j), so
 * ds_h += -scale * sum_j dlogits[j] * (i - j). A row holds up to T terms of
 * either sign, hence the double accumulator. It ADDS: the same slope gets
 * contributions from every query row. */
static void tpl_bias_backward(Encoding *e, const float *dlogits, int h, int i, int j0, int j1) {
    double sum = 0.0;
    for (int j = j0; j < j1; j++) sum += (double)dlogits[j - j0] * (double)(i - j);
    e->dparams[h] += (float)(-e->knob[TPL_SCALE] * sum);
}

/* Step 4 (optional): inspect exports what defines the encoding beyond what
 * the core derives from the hooks (it already exports the bias [H,T,T]):
 * here the effective slopes scale * s [H]. */
static PbStatus tpl_inspect(const Encoding *e, int T, TensorSink *sink) {
    (void)T;
    const int H = e->cfg.heads;
    float *slope = pb_calloc((size_t)H, sizeof *slope, "the template's exported slopes");
    if (!slope) return PB_NOMEM;
    for (int h = 0; h < H; h++) slope[h] = (float)(e->knob[TPL_SCALE] * e->params[h]);
    PbStatus st = sink->put_float(sink, "slopes", slope, 1, (int[]){H});
    free(slope);
    return st;
}

/* Step 2: the module. Unset slots are NULL: "does not act here". */
const EncodingModule encoding_template = {
    .name = "template",
    .summary = "ALiBi-style linear bias with learned per-head slopes; the copy-me recipe",
    .knobs = tpl_knobs,
    .num_params = tpl_num_params,
    .init_params = tpl_init_params,
    .bias_forward = tpl_bias_forward,
    .bias_backward = tpl_bias_backward,
    .inspect = tpl_inspect,
};
