/* encoding.h: the interface every positional encoding implements.
 *
 * An encoding can act at three points of a transformer. Each hook is optional
 * (NULL: "does not act here") and each forward hook has a backward twin:
 *
 *   embed      x[b,t,:] += p(pos0 + t)                 learned, sinusoidal
 *   rotate_qk  q, k rotated by position, in place      RoPE, xPos
 *   attn_bias  logits[h,i,j] += b(h, i, j)             T5 bias, ALiBi
 *   score      logits[b,h,i,j] += s(q_i, k_j, i, j)    Shaw et al. 2018
 *
 * Shapes: B batch, T positions, C channels (model width), H heads, D = C / H.
 * Positions are absolute: a hook working on positions pos0 .. pos0+T-1 gives
 * the same numbers as a pass over 0 .. pos0+T-1, so chunked evaluation and
 * caches agree with one full pass. Queries/keys are addressed as
 * q[(b*T + t)*ld + h*D + d] (ld: floats between consecutive positions), which
 * fits both a packed [B,T,C] buffer and a fused [B,T,3C] qkv buffer.
 * attn_bias works on one row segment at a time (head h, query i, keys
 * j0..j1-1), so long evaluations need memory linear in T, never H x T x T.
 * The score hook, whose term also reads the row's query (and may read the
 * keys), works on one row segment of one batch row the same way.
 *
 * Parameters live in the owner's single parameter and gradient buffers: an
 * encoding declares how many floats it needs and receives slices (params,
 * dparams) as llm.c does. Backward hooks ADD into dparams (and into dq/dk for
 * rotate_qk, which is linear and acts in place, and for score); the owner
 * zeroes gradients.
 * An encoding whose parameters are constrained projects them back after each
 * optimizer step (project).
 *
 * Adding a variant: copy encodings/template.c, follow its numbered steps, add
 * one line to encodings/registry.c. Nothing else needs to change.
 */
#ifndef POSBENCH_ENCODING_H
#define POSBENCH_ENCODING_H

#include <stddef.h>

#include "../core/rng.h"
#include "../core/status.h"

#define ENCODING_MAX_KNOBS 8

/* What an encoding with a position table does past its last row. */
typedef enum {
    LENGTH_FALLBACK_ERROR = 0, /* refuse with PB_LENGTH (the default) */
    LENGTH_FALLBACK_CLAMP,     /* positions past the table (or formula bound)
                                  reuse its last row (position) */
} LengthFallback;

/* Context extension of a rotary encoding (RoPE scaling): applied to a
 * model trained at length L so that it reads s*L tokens, at evaluation or
 * in a short fine-tune (encodings/extension.h has the formulas):
 *   pi           every frequency divided by s (Chen et al. 2023)
 *   ntk          base b -> b s^(R/(R-2)) (NTK-aware scaling; R rotated dims)
 *   dynamic-ntk  ntk with s' = max(1, s l / L - (s - 1)), l = pos0 + T of
 *                the call: a pass in chunks rotates each chunk as a pass
 *                over all tokens so far would (cached keys stored unrotated)
 *   yarn         a per-pair ramp between pi and no change, by wavelength,
 *                and q, k times mscale = 0.1 ln s + 1 (Peng et al. 2023)
 *   llama3       wavelengths over L/low divided by s, under L/high kept, a
 *                smooth blend between (Meta's Llama 3.1)
 * Only modules marked extendable accept one (encoding_create refuses it
 * elsewhere). */
typedef enum {
    EXTEND_NONE = 0,
    EXTEND_PI,
    EXTEND_NTK,
    EXTEND_DYNAMIC_NTK,
    EXTEND_YARN,
    EXTEND_LLAMA3,
    EXTEND_COUNT
} ExtendMethod;

typedef struct {
    ExtendMethod method;
    double factor;                            /* s >= 1 */
    int original;                             /* L, the trained length */
    double beta_fast, beta_slow;              /* yarn: 32 and 1 rotations */
    double low_freq_factor, high_freq_factor; /* llama3: 1 and 4 */
} Extension;

/* "none", "pi", "ntk", "dynamic-ntk", "yarn", "llama3". */
const char *extend_method_name(ExtendMethod m);
/* PB_USAGE naming the choices for an unknown name. */
PbStatus extend_method_parse(const char *name, ExtendMethod *out);
/* The method with factor s, trained length L and the papers' defaults. */
Extension extension_default(ExtendMethod m, double factor, int original);

/* A numeric setting of an encoding, e.g. RoPE's base; given on the command
 * line as "name=value" pairs and validated against [min, max]. */
typedef struct {
    const char *name;
    double default_value;
    double min, max;
    const char *help;
} EncodingKnob;

typedef struct {
    const char *variant;     /* NULL or "": the module's default variant */
    int dim;                 /* C */
    int heads;               /* H, must divide C */
    int max_len;             /* table size for encodings with a table */
    LengthFallback fallback; /* only consulted by encodings with a table */
    const char *knobs;       /* "name=value,name=value" or NULL */
    float init_std;          /* learned parameters' init std; 0: the module's
                                default (learned_absolute: 1, as
                                torch.nn.Embedding; a model passes e.g. 0.02) */
    Extension extend;        /* method EXTEND_NONE (zero): none */
} EncodingConfig;

typedef struct EncodingModule EncodingModule;

/* Where an encoding's inspect hook puts its defining tensors (posbench
 * export writes them to HDF5; tests read them directly). Row-major. */
typedef struct TensorSink TensorSink;
struct TensorSink {
    PbStatus (*put_float)(TensorSink *s, const char *name, const float *data, int rank, const int *dims);
    PbStatus (*put_int)(TensorSink *s, const char *name, const int *data, int rank, const int *dims);
    void *ctx;
};

typedef struct {
    const EncodingModule *module;
    EncodingConfig cfg;
    int variant;                     /* index into module->variants */
    double knob[ENCODING_MAX_KNOBS]; /* values, in module->knobs order */
    int head_dim;                    /* D = C / H */
    size_t n_params;
    float *params;  /* [n_params], owner's buffer slice */
    float *dparams; /* [n_params], owner's buffer slice */
    void *state;    /* module's derived tables, owned */
} Encoding;

struct EncodingModule {
    const char *name;            /* used by the CLI, HDF5 and plots */
    const char *summary;         /* one line, naming the paper */
    const char *const *variants; /* NULL-terminated, [0] the default; optional */
    const EncodingKnob *knobs;   /* {NULL}-terminated; optional */

    /* Floats of trainable parameters for e->cfg (NULL: none). */
    size_t (*num_params)(const Encoding *e);
    /* Validates the config and builds e->state (NULL: nothing to do). */
    PbStatus (*setup)(Encoding *e);
    void (*teardown)(Encoding *e); /* frees e->state; optional */
    /* Initialises e->params (NULL: no parameters). */
    void (*init_params)(Encoding *e, Rng *rng);
    /* Positions known, 0..n-1; 0 means unbounded (NULL: unbounded). */
    int (*max_positions)(const Encoding *e);
    /* What ends max_positions, for messages: NULL for a table of positions
     * ("table size n"); else why a formula stops there, and messages say
     * "formula bound n" (xPos's scales leave the float range). */
    const char *length_bound;

    /* embed: x [B,T,C] += position vectors. Optional. */
    void (*embed_forward)(const Encoding *e, float *x, int B, int T, int pos0);
    void (*embed_backward)(Encoding *e, const float *dx, int B, int T, int pos0);

    /* rotate_qk: q, k [B,T,H,D] with row stride ld, in place. Optional. The
     * backward maps dq, dk (gradients w.r.t. the rotated q, k) in place to
     * gradients w.r.t. the unrotated ones. */
    void (*rotate_forward)(const Encoding *e, float *q, float *k, int ld, int B, int T, int pos0);
    void (*rotate_backward)(Encoding *e, float *dq, float *dk, int ld, int B, int T, int pos0);

    /* attn_bias: logits[j - j0] += b(h, i, j) for keys j0 <= j < j1 of query
     * i, head h (all absolute positions). Optional. */
    void (*bias_forward)(const Encoding *e, float *logits, int h, int i, int j0, int j1);
    void (*bias_backward)(Encoding *e, const float *dlogits, int h, int i, int j0, int j1);

    /* score: a content-aware term of the logits, for one row segment of one
     * batch row: logits[j - j0] += s(q_i, k_j, h, i, j) for keys
     * j0 <= j < j1 of query i, head h (absolute positions). q_i is the
     * query's head-h slice (D floats, already rotated when the encoding also
     * rotates); key j's head-h slice is k + (j - j0) * ld + h * D, so k
     * points at key j0's row (the caller's row stride ld, e.g. 3C in a fused
     * qkv buffer). The term is added as it is, after attention's 1/sqrt(D)
     * scale of q.k (logits = bias + q.k / sqrt(D) + s): an encoding that
     * wants its term scaled scales it itself. Optional; the two come
     * together.
     * score_backward, given dlogits [j1 - j0] of that segment, ADDS into
     * dq_i (D floats, head h), into dk (key j's head-h slice at dk +
     * (j - j0) * ldk + h * D) and into e->dparams. Called from several
     * threads at once with distinct dq_i/dk slices and (with parameters)
     * distinct dparams copies; score_forward is const. */
    void (*score_forward)(const Encoding *e, float *logits, const float *q_i, const float *k, int ld, int h, int i,
                          int j0, int j1);
    void (*score_backward)(Encoding *e, const float *dlogits, const float *q_i, const float *k, int ld, float *dq_i,
                           float *dk, int ldk, int h, int i, int j0, int j1);
    /* 1: the score hooks need, in one call, every key from j0 up to the
     * query (j1 > i), since a key's term depends on the keys between it and
     * the query (CoPE counts their gates); attention always calls them so.
     * 0: any segment works, and segments piece together into the row. */
    int score_keys_to_query;

    /* project: after each optimizer step, puts the parameters back into the
     * set the formula allows (KERPLE's r >= 0.01). Optional. */
    void (*project)(Encoding *e);

    /* 1: setup honours e->cfg.extend (a rotary encoding's scaling). */
    int extendable;

    /* inspect: the tensors that define this encoding beyond what the core
     * derives from the hooks (pos_embedding [T,C] from embed, bias [H,T,T]
     * from attn_bias), e.g. ALiBi's slopes or RoPE's angles. Optional. */
    PbStatus (*inspect)(const Encoding *e, int T, TensorSink *sink);
};

/* The registry: a NULL-terminated table (encodings/registry.c). */
extern const EncodingModule *const encoding_registry[];
const EncodingModule *encoding_find(const char *name);
size_t encoding_count(void);

/* Creates an instance: resolves the variant and knobs, runs setup and
 * computes n_params. params/dparams stay NULL until encoding_bind. Errors
 * name the encoding and the offending setting. */
PbStatus encoding_create(Encoding *e, const EncodingModule *m, const EncodingConfig *cfg);
void encoding_destroy(Encoding *e);

/* Hands the encoding its slices of the owner's buffers (n_params each). */
void encoding_bind(Encoding *e, float *params, float *dparams);
void encoding_init_params(Encoding *e, Rng *rng);

/* An encoding spec names one configuration: NAME[:VARIANT][@KNOB=VALUE]...,
 * e.g. "rope", "rope:half", "rope:half@base=500000", "xpos@scale_base=256".
 * Its canonical form names the variant and knobs only where they differ
 * from the defaults, knobs in the module's order, each value as %g with the
 * fewest significant digits, at least 6, that reads back exactly:
 * "rope:interleaved@base=10000" is "rope". A
 * study keys its results by the canonical form. */
#define ENCODING_SPEC_MAX 64
typedef struct {
    const EncodingModule *module;
    char variant[32];                  /* "" for the default */
    char settings[ENCODING_SPEC_MAX];  /* "knob=value,..." (EncodingConfig.knobs), "" for defaults */
    char canonical[ENCODING_SPEC_MAX]; /* the spec's canonical form */
} EncodingSpec;

/* Parses and checks a spec against the registry; PB_USAGE naming the
 * unknown encoding, variant or knob, PB_RANGE for a value out of range. */
PbStatus encoding_spec_parse(const char *text, EncodingSpec *spec);

const char *encoding_variant_name(const Encoding *e);
/* 1 if the module's numbers depend on token positions: it embeds, rotates,
 * biases, or scores by position (a score_keys_to_query hook counts its own:
 * CoPE). 'none' and cope do not, so randomized positions change nothing. */
int encoding_reads_positions(const EncodingModule *m);
int encoding_max_positions(const Encoding *e); /* 0: unbounded */

/* PB_LENGTH, naming the encoding, the request and the table size (or the
 * formula bound and its reason, for a module with length_bound), when
 * positions pos0..pos0+T-1 are not all known and no fallback was chosen. */
PbStatus encoding_check_positions(const Encoding *e, int pos0, int T);

/* Table row for position p under the chosen fallback (for table encodings;
 * callers have passed encoding_check_positions). */
int encoding_table_row(int p, int table_rows);

/* Values that depend on the position alone (sinusoidal's rows, RoPE's cos
 * and sin) are cached by setup, as PyTorch implementations keep them in
 * buffers, for positions 0..n-1, n = encoding_cache_rows(e, floats per
 * row): cfg.max_len (the lengths in use), capped at ENCODING_CACHE_BYTES;
 * 0 without a max_len. Positions past the cache are computed, to the same
 * bits. */
#define ENCODING_CACHE_BYTES ((size_t)64 << 20)
int encoding_cache_rows(const Encoding *e, size_t width);

/* Checked hook calls: PB_LENGTH before any hook sees an unknown position. A
 * missing hook is a no-op. */
PbStatus encoding_embed_forward(const Encoding *e, float *x, int B, int T, int pos0);
PbStatus encoding_embed_backward(Encoding *e, const float *dx, int B, int T, int pos0);

/* ---- positions as a map --------------------------------------------------
 * Where the tokens of B windows of T tokens sit: token t of window b at
 * map[b*T + t] when map is set, else at pos0 + t in every window. A map's
 * windows are strictly increasing (randomized positions, Ruoss et al. 2023:
 * a sorted sample of [0, LMAX) per training window); evaluation, chunks and
 * caches use pos0. Hooks keep seeing a start: the calls below cut a window's
 * map into runs of consecutive positions and call each hook once per run,
 * so every hook written for a start serves a map unchanged, and a map of
 * consecutive positions costs what pos0 costs. A score hook with
 * score_keys_to_query reads no token position (CoPE counts its own from the
 * gates): it is called once per row, with window indices as positions. */
typedef struct {
    int pos0;
    const int *map; /* NULL, or [B*T] */
} Positions;

static inline Positions positions_from(int pos0) { return (Positions){pos0, NULL}; }
/* The positions of window b alone (T tokens). */
static inline Positions positions_window(Positions p, int b, int T) {
    return p.map ? (Positions){0, p.map + (size_t)b * T} : p;
}
/* Position of token t of a window. */
static inline int positions_at(Positions w, int t) { return w.map ? w.map[t] : w.pos0 + t; }

/* encoding_check_positions for every window of p; a map that is negative or
 * not strictly increasing is PB_RANGE naming the window and the token. */
PbStatus encoding_check_map(const Encoding *e, Positions p, int B, int T);

/* The hooks at positions p (checked with encoding_check_map; a missing hook
 * is a no-op). Rotations: q, k [B,T,..] at row stride ld. */
PbStatus encoding_embed_forward_at(const Encoding *e, float *x, int B, int T, Positions p);
PbStatus encoding_embed_backward_at(Encoding *e, const float *dx, int B, int T, Positions p);
PbStatus encoding_rotate_forward_at(const Encoding *e, float *q, float *k, int ld, int B, int T, Positions p);
PbStatus encoding_rotate_backward_at(Encoding *e, float *dq, float *dk, int ld, int B, int T, Positions p);
/* One row segment of one window w (positions_window; unchecked, as the
 * hooks): query index i, key indices j0..j1-1, logits[j - j0]. The bias and
 * score hooks at the tokens' positions; NULL hooks do nothing. */
void encoding_bias_keys(const Encoding *e, float *logits, int h, Positions w, int i, int j0, int j1);
void encoding_bias_keys_backward(Encoding *e, const float *dlogits, int h, Positions w, int i, int j0, int j1);
void encoding_score_keys(const Encoding *e, float *logits, const float *q_i, const float *k, int ld, int h, Positions w,
                         int i, int j0, int j1);
void encoding_score_keys_backward(Encoding *e, const float *dlogits, const float *q_i, const float *k, int ld,
                                  float *dq_i, float *dk, int ldk, int h, Positions w, int i, int j0, int j1);

/* The module's project hook, if it has one and parameters are bound. */
void encoding_project(Encoding *e);

/* Emits every defining tensor of e for positions 0..T-1: pos_embedding
 * [T,C] when it has an embed hook, bias [H,T,T] when it has an attn_bias
 * hook, then whatever its inspect hook adds. */
PbStatus encoding_export(const Encoding *e, int T, TensorSink *sink);

#endif
