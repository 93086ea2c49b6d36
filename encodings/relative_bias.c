/* relative_bias.c: T5's learned relative position bias (Raffel et al. 2020,
 * "Exploring the Limits of Transfer Learning with a Unified Text-to-Text
 * Transformer", sec 2.1).
 *
 *   logits[h,i,j] += W[bucket(j - i), h]       W: [num_buckets, H], learned
 *
 * Each head learns one scalar per bucket of relative position rp = j - i (key
 * minus query). Buckets are exact for short distances and logarithmically
 * wider up to max_distance; everything farther shares the last bucket, so the
 * encoding accepts any length. The bucket function is Mesh-TensorFlow's, as
 * Hugging Face T5's _relative_position_bucket computes it:
 *
 *   nb = num_buckets; off = 0
 *   bidirectional: nb /= 2; off = nb if rp > 0; n = |rp|
 *   causal:        n = max(-rp, 0)           (keys after the query: bucket 0)
 *   max_exact = nb / 2
 *   n < max_exact: bucket = off + n
 *   otherwise:     bucket = off + min(nb - 1, max_exact + (int)(
 *                      logf(n / max_exact) / log(max_distance / max_exact)
 *                      * (nb - max_exact)))                  (float32, as torch)
 *
 * W is laid out as HF's nn.Embedding(num_buckets, n_heads) and initialised
 * N(0, C^-1) (HF's T5 init, factor 1.0 * d_model^-0.5), so trained tables can
 * be compared with a PyTorch reference element for element.
 *
 * Shapes: C channels, H heads; attn_bias works on one row segment (head h,
 * query i, keys j0..j1-1): logits and dlogits are [j1 - j0].
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "encoding.h"

enum { RB_CAUSAL, RB_BIDIRECTIONAL, RB_VARIANT_COUNT };
static const char *const rb_variants[] = {
    [RB_CAUSAL] = "causal",
    [RB_BIDIRECTIONAL] = "bidirectional",
    NULL,
};
_Static_assert(sizeof rb_variants / sizeof rb_variants[0] == RB_VARIANT_COUNT + 1,
               "rb_variants out of step with its enum");

enum { RB_BUCKETS, RB_MAX_DISTANCE, RB_KNOB_COUNT };
static const EncodingKnob rb_knobs[] = {
    [RB_BUCKETS] = {"buckets", 32, 2, 4096,
                    "num_buckets: rows of the bias table (halved per direction when bidirectional)"},
    [RB_MAX_DISTANCE] = {"max_distance", 128, 1, 1e7, "distance from which all keys share the last bucket"},
    {NULL},
};
_Static_assert(sizeof rb_knobs / sizeof rb_knobs[0] == RB_KNOB_COUNT + 1, "rb_knobs out of step with its enum");

/* The bucket function, evaluated once in setup: the per-element loops must
 * not call logf (bias_forward runs per row segment, T up to 4096). Buckets
 * change rarely along a row (a row of 4096 keys crosses at most 32 buckets by
 * default), so the table over distances 0..max_distance is kept run-length
 * encoded: a row segment is then a few constant fills (and backward a few
 * sums) instead of a table lookup and a gather per key, some 5x faster, and
 * the table stays small however large max_distance is. */
typedef struct {
    int bidirectional;
    int per_side; /* buckets of one direction: nb above */
    int n_runs;
    int *run_start;  /* [n_runs + 1]: distances run_start[r] .. run_start[r+1]-1 */
    int *run_bucket; /* [n_runs]: their bucket, direction offset not included */
    int storage[];   /* both arrays, in this one allocation */
} RbState;

/* The run holding distance n >= 0: the last r with run_start[r] <= n. The
 * last run is open-ended (run_start[n_runs] = INT_MAX): past max_distance
 * every distance takes the last bucket. */
static int rb_run_of(const RbState *s, int n) {
    int lo = 0, hi = s->n_runs - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (s->run_start[mid] <= n) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* Splits the keys j0..j1-1 of query i into runs of one bucket, in key
 * order, so forward, backward and inspect share one reading of the table:
 *   keys at or before the query, distance i - j falling: the first half;
 *   keys after it: bucket 0 when causal (T5 gives them no buckets of their
 *   own; the mask hides them), the second half when bidirectional. */
typedef struct {
    const RbState *s;
    int i, j, j1;
    int split; /* first key after the query (clamped to the segment) */
    int r;     /* run of the next key's distance */
} RbWalk;

static RbWalk rb_walk(const RbState *s, int i, int j0, int j1) {
    int split = i + 1 < j1 ? i + 1 : j1;
    if (split < j0) split = j0;
    RbWalk w = {s, i, j0, j1, split, 0};
    if (j0 < split) w.r = rb_run_of(s, i - j0);
    else if (j0 < j1 && s->bidirectional) w.r = rb_run_of(s, j0 - i);
    return w;
}

/* Next run [*begin, *end) with its bucket; 0 when the segment is done. */
static int rb_walk_next(RbWalk *w, int *begin, int *end, int *bucket) {
    const RbState *s = w->s;
    if (w->j >= w->j1) return 0;
    *begin = w->j;
    if (w->j < w->split) {
        long long last = (long long)w->i - s->run_start[w->r]; /* last key of this run */
        *end = last + 1 < w->split ? (int)(last + 1) : w->split;
        *bucket = s->run_bucket[w->r--];
        if (*end == w->split && w->split < w->j1 && s->bidirectional) w->r = rb_run_of(s, w->split - w->i);
    } else if (!s->bidirectional) {
        *end = w->j1;
        *bucket = 0;
    } else {
        long long stop = (long long)w->i + s->run_start[w->r + 1]; /* first key past the run */
        *end = stop < w->j1 ? (int)stop : w->j1;
        *bucket = s->per_side + s->run_bucket[w->r++];
    }
    w->j = *end;
    return 1;
}

/* Bucket of distance n >= 0 within one direction, as HF's T5 computes it:
 * float32 throughout, as torch evaluates it, so buckets agree with HF at every
 * boundary; the divisor is a double cast once, as torch casts a Python float
 * scalar to the tensor's dtype; (int) truncates like .to(torch.long). */
static int rb_distance_bucket(int n, int max_exact, int per_side, float log_range) {
    if (n < max_exact) return n;
    int b = max_exact + (int)(logf((float)n / (float)max_exact) / log_range * (float)(per_side - max_exact));
    return b < per_side - 1 ? b : per_side - 1;
}

/* Run-length encodes the buckets of distances 0, 1, 2, ... into start[] and
 * bucket[] when given; returns the number of runs. Past max_distance the
 * formula only clamps to the last bucket, so the table ends at the first
 * distance >= max_distance that reaches it (max_distance itself, where the
 * log ratio is 1), and the final run is open-ended from there on. */
static int rb_tabulate(int max_exact, int per_side, int max_distance, int *start, int *bucket) {
    const float log_range = (float)log((double)max_distance / max_exact);
    int runs = 0, prev = -1;
    for (int n = 0; n <= max_distance || prev != per_side - 1; n++) {
        const int b = rb_distance_bucket(n, max_exact, per_side, log_range);
        if (b == prev) continue;
        if (start) {
            start[runs] = n;
            bucket[runs] = b;
        }
        runs++;
        prev = b;
    }
    return runs;
}

static PbStatus rb_integer_knob(const Encoding *e, int k, int *out) {
    double v = e->knob[k];
    if (v != floor(v))
        return pb_fail(PB_USAGE,
                       "encoding 'relative_bias': %s=%g is not a whole number; give an "
                       "integer such as %s=%g",
                       rb_knobs[k].name, v, rb_knobs[k].name, rb_knobs[k].default_value);
    *out = (int)v; /* in range: the core checked [min, max] */
    return PB_OK;
}

static size_t rb_num_params(const Encoding *e) { return (size_t)(int)e->knob[RB_BUCKETS] * (size_t)e->cfg.heads; }

static PbStatus rb_setup(Encoding *e) {
    int num_buckets = 0, max_distance = 0;
    PbStatus st = rb_integer_knob(e, RB_BUCKETS, &num_buckets);
    if (!st) st = rb_integer_knob(e, RB_MAX_DISTANCE, &max_distance);
    if (st) return st;

    const int bidirectional = e->variant == RB_BIDIRECTIONAL;
    const int per_side = bidirectional ? num_buckets / 2 : num_buckets;
    const int max_exact = per_side / 2;
    /* max_exact = 0 would divide by zero (log(n / 0)); HF gives NaN buckets. */
    if (max_exact < 1)
        return pb_fail(PB_RANGE,
                       "encoding 'relative_bias': buckets=%d is too few for the "
                       "bidirectional variant (each direction needs 2 buckets); use buckets >= 4",
                       num_buckets);
    /* The log range log(max_distance / max_exact) must be positive. */
    if (max_distance <= max_exact)
        return pb_fail(PB_RANGE,
                       "encoding 'relative_bias': max_distance=%d must exceed the %d "
                       "distances bucketed exactly (max_exact, from buckets=%d, %s); use "
                       "max_distance > %d or fewer buckets",
                       max_distance, max_exact, num_buckets, rb_variants[e->variant], max_exact);

    const int n_runs = rb_tabulate(max_exact, per_side, max_distance, NULL, NULL);
    RbState *s =
        pb_calloc(1, sizeof *s + (2 * (size_t)n_runs + 1) * sizeof(int), "relative_bias's bucket-by-distance table");
    if (!s) return PB_NOMEM;
    s->bidirectional = bidirectional;
    s->per_side = per_side;
    s->n_runs = n_runs;
    s->run_start = s->storage;
    s->run_bucket = s->storage + n_runs + 1;
    rb_tabulate(max_exact, per_side, max_distance, s->run_start, s->run_bucket);
    s->run_start[n_runs] = INT_MAX;
    e->state = s;
    return PB_OK;
}

static void rb_teardown(Encoding *e) { free(e->state); }

static void rb_init_params(Encoding *e, Rng *rng) {
    const float std = e->cfg.init_std > 0 ? e->cfg.init_std : (float)(1.0 / sqrt((double)e->cfg.dim));
    for (size_t k = 0; k < e->n_params; k++) e->params[k] = rng_normal(rng) * std;
}

static void rb_bias_forward(const Encoding *e, float *logits, int h, int i, int j0, int j1) {
    const float *w = e->params + h; /* w[b * H] = W[b, h] */
    const size_t H = (size_t)e->cfg.heads;
    RbWalk walk = rb_walk(e->state, i, j0, j1);
    int begin, end, bucket;
    while (rb_walk_next(&walk, &begin, &end, &bucket)) {
        const float v = w[bucket * H];
        for (int j = begin; j < end; j++) logits[j - j0] += v;
    }
}

/* dW[b, h] += the sum of dlogits over the keys in bucket b. Four partial sums
 * break the add-latency chain of one accumulator (a row is up to T keys). */
static void rb_bias_backward(Encoding *e, const float *dlogits, int h, int i, int j0, int j1) {
    float *dw = e->dparams + h;
    const size_t H = (size_t)e->cfg.heads;
    RbWalk walk = rb_walk(e->state, i, j0, j1);
    int begin, end, bucket;
    while (rb_walk_next(&walk, &begin, &end, &bucket)) {
        const float *g = dlogits + (begin - j0);
        const int n = end - begin;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int k = 0;
        for (; k + 4 <= n; k += 4) s0 += g[k], s1 += g[k + 1], s2 += g[k + 2], s3 += g[k + 3];
        for (; k < n; k++) s0 += g[k];
        dw[bucket * H] += (s0 + s1) + (s2 + s3);
    }
}

static PbStatus rb_inspect(const Encoding *e, int T, TensorSink *sink) {
    int *out = pb_calloc((size_t)T * T, sizeof *out, "relative_bias's exported buckets");
    if (!out) return PB_NOMEM;
    for (int i = 0; i < T; i++) {
        RbWalk walk = rb_walk(e->state, i, 0, T);
        int begin, end, bucket;
        while (rb_walk_next(&walk, &begin, &end, &bucket))
            for (int j = begin; j < end; j++) out[(size_t)i * T + j] = bucket;
    }
    PbStatus st = sink->put_int(sink, "bucket", out, 2, (int[]){T, T});
    free(out);
    return st;
}

const EncodingModule encoding_relative_bias = {
    .name = "relative_bias",
    .summary = "learned per-head bias of log-bucketed relative distance (T5, Raffel et al. 2020)",
    .variants = rb_variants,
    .knobs = rb_knobs,
    .num_params = rb_num_params,
    .setup = rb_setup,
    .teardown = rb_teardown,
    .init_params = rb_init_params,
    .bias_forward = rb_bias_forward,
    .bias_backward = rb_bias_backward,
    .inspect = rb_inspect,
};
