/* model.h: the probe transformer, a GPT-2-style decoder (Radford et al. 2019)
 * through which every encoding is trained and evaluated.
 *
 *   x0  = s * wte[ids] (+ the encoding's embed hook, positions pos0..)
 *         s = embed_scale: 1 (GPT-2, the default) or sqrt(C) (Vaswani et al.
 *         2017, section 3.4), which keeps a fixed table such as
 *         sinusoidal's (|pe| ~ 0.7) from drowning token embeddings drawn
 *         N(0, 0.02); the tied LM head uses wte unscaled, as there
 *   per layer l (pre-LayerNorm):
 *     x  = x + proj(attention(qkv(ln1(x))))     attention calls rotate_qk and
 *                                               attn_bias (harness/model/attention.h)
 *     x  = x + fcproj(gelu(fc(ln2(x))))         fc: C -> 4C, fcproj: 4C -> C
 *   logits = lnf(x) @ W^T,   W = wte (tied, the default) or lm_head [V,C]
 *   loss   = mean over scored positions of cross-entropy(logits, targets);
 *            a target of MODEL_UNSCORED (-1) is not scored (a task's
 *            question tokens, whose next token is random)
 *
 * The model knows no encoding by name: it creates the Encoding from
 * EncodingConfig{dim C, heads H, max_len = positions or context, init_std, variant,
 * knobs, fallback} and binds it slices of its parameter and gradient buffers.
 *
 * Shapes: B batch, T positions, C channels, H heads, L layers, V vocabulary
 * (the vocabulary map's size, harness/model/vocab_map.h).
 *
 * Parameters live in ONE buffer (and gradients in one more of the same
 * layout), as a table of tensors (ModelTensor), each 16-float aligned:
 *   wte [V,C]  encoding [n_enc]  ln1_weight, ln1_bias [L,C]  qkv_weight [L,3C,C]
 *   qkv_bias [L,3C]  proj_weight [L,C,C]  proj_bias [L,C]  ln2_weight, ln2_bias [L,C]
 *   fc_weight [L,4C,C]  fc_bias [L,4C]  fcproj_weight [L,C,4C]  fcproj_bias [L,C]
 *   lnf_weight, lnf_bias [C]  lm_head [V,C] (untied only; else 0 floats)
 * Init (GPT-2): matrices N(0, init_std), the residual projections (proj,
 * fcproj) N(0, init_std / sqrt(2L)), biases 0, LayerNorm weight 1 bias 0, the
 * encoding's own init with EncodingConfig.init_std. Drawn in table order from
 * PCG32 (seed, stream MODEL_INIT_STREAM).
 * Weight decay (ModelTensor.decay): matrices only (wte, qkv, proj, fc,
 * fcproj, lm_head); not biases, LayerNorms, nor the encoding's parameters:
 * the model cannot tell an encoding's table from its scalars, and decaying
 * one encoding's parameters and not another's would bias the comparison.
 *
 * Training activations are one allocation sized for (B, T) by
 * model_alloc_train; forward/backward accept any B' <= B, T' <= T.
 * Training keeps attention's probabilities [L,B,H,T,T] for backward, or
 * (tiled, ModelAttention) each row's statistics, linear in T.
 * Evaluation (ModelEval) keeps one layer's activations and runs attention
 * row tiles (attention_forward_rows) and the LM head in row chunks: its
 * memory is linear in T and its per-token losses are those of the
 * training forward at the same positions.
 *
 * Threads: see model.c (who owns the cores in each region). Deterministic:
 * the same parameters, inputs and thread count give identical bits.
 * Buffers sized for omp_get_max_threads() at allocation: do not raise the
 * thread count afterwards.
 */
#ifndef POSBENCH_MODEL_MODEL_H
#define POSBENCH_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "../../encodings/encoding.h"

#define MODEL_INIT_STREAM 0x6d6f64656cULL /* "model" */
/* A target that is not scored (model_forward, model_eval_losses). */
#define MODEL_UNSCORED (-1)

/* What training keeps of attention for backward (attention.h): the
 * probabilities [L,B,H,T,T] (stored), or each row's statistics
 * [L,B,H,T,2], the probabilities recomputed in backward (tiled: memory
 * linear in T). Both give the same bits; auto picks by shape
 * (model_attention_tiled). */
typedef enum { MODEL_ATTENTION_AUTO = 0, MODEL_ATTENTION_STORED, MODEL_ATTENTION_TILED } ModelAttention;
/* "auto", "stored", "tiled". */
const char *model_attention_name(ModelAttention a);
/* PB_USAGE naming the choices for an unknown name. */
PbStatus model_attention_parse(const char *name, ModelAttention *out);

typedef struct {
    int vocab;         /* V */
    int context;       /* training length T */
    int positions;     /* positions training reaches, 0..positions-1, and the rows
                          of learned tables: 0 means the context; randomized
                          positions (train.h) set their LMAX */
    int layers;        /* L */
    int dim;           /* C */
    int heads;         /* H, divides C */
    int tied;          /* 1: the LM head is wte */
    float init_std;    /* 0.02 (GPT-2) */
    float embed_scale; /* s above: 1, or sqrt(dim) */
    LengthFallback fallback;
    ModelAttention attention; /* speed and memory only: never changes a bit */
    char encoding[64];        /* registry name */
    char variant[64];         /* "" = the module's default */
    char settings[256];       /* "name=value,..." knobs, "" = defaults */
} ModelConfig;

/* layers 2, dim 128, heads 4, context 128, tied, init_std 0.02,
 * embed_scale 1; vocab and
 * encoding still to be set. */
ModelConfig model_config_default(void);

/* embed_scale from its command-line text: "1", "sqrt" (sqrt(dim)) or a
 * positive number. PB_USAGE naming the option for anything else. */
PbStatus model_parse_embed_scale(const char *text, int dim, float *out);

/* One tensor table, laid out by hand. */
// clang-format off
#define MODEL_TENSORS(X)                                                                     \
    X(WTE, "wte", 1) X(ENC, "encoding", 0) X(LN1W, "ln1_weight", 0) X(LN1B, "ln1_bias", 0)   \
    X(QKVW, "qkv_weight", 1) X(QKVB, "qkv_bias", 0) X(PROJW, "proj_weight", 1)               \
    X(PROJB, "proj_bias", 0) X(LN2W, "ln2_weight", 0) X(LN2B, "ln2_bias", 0)                 \
    X(FCW, "fc_weight", 1) X(FCB, "fc_bias", 0) X(FCPROJW, "fcproj_weight", 1)               \
    X(FCPROJB, "fcproj_bias", 0) X(LNFW, "lnf_weight", 0) X(LNFB, "lnf_bias", 0)             \
    X(LMHEAD, "lm_head", 1)
// clang-format on

typedef enum {
#define MODEL_TENSOR_ENUM(id, name, decay) MT_##id,
    MODEL_TENSORS(MODEL_TENSOR_ENUM)
#undef MODEL_TENSOR_ENUM
        MODEL_N_TENSORS
} ModelTensorId;

typedef struct {
    const char *name;
    size_t offset, count; /* floats into params / grads */
    int rank, dims[3];
    int decay; /* AdamW weight decay applies */
} ModelTensor;

/* Training activations: pointers into one allocation (shapes in model.c). */
typedef struct {
    int32_t *inputs, *targets;               /* [B,T] copies of the batch */
    float *encoded;                          /* [B,T,C] */
    float *ln1, *ln1_mean, *ln1_rstd;        /* [L,B,T,C], [L,B,T] x2 */
    float *qkv, *atty, *att;                 /* [L,B,T,3C], [L,B,T,C], [L,B,H,T,T]
                                                (tiled: [L,B,H,T,ATTENTION_STATS]) */
    float *res2, *ln2, *ln2_mean, *ln2_rstd; /* [L,B,T,C] x2, [L,B,T] x2 */
    float *fch, *fch_gelu, *res3;            /* [L,B,T,4C] x2 (fch: GELU's slope once
                                                    forward is done), [L,B,T,C] */
    float *lnf, *lnf_mean, *lnf_rstd;        /* [B,T,C], [B,T] x2 */
    float *probs, *losses;                   /* [B,T,V] (logits, softmaxed in place), [B,T] */
    /* backward scratch, reused layer by layer */
    float *dres, *dln, *dqkv, *datty, *dfch; /* [B,T,C|C|3C|C|4C] */
    float *dlogits, *dlosses;                /* [B,T,V], [B,T] */
    float *att_scratch;                      /* per slice: attention_backward_scratch_floats */
    size_t att_scratch_per_slice;            /* floats of att_scratch per slice */
    float *grads_priv;                       /* [slices - 1][n_params]: the other slices' gradients */
} ModelActs;

typedef struct {
    ModelConfig cfg;
    Encoding enc;
    ModelTensor tensors[MODEL_N_TENSORS];
    size_t n_params;       /* floats in params (and grads), padding included */
    float *params, *grads; /* [n_params] each, one allocation each */
    int threads;           /* OpenMP threads the scratch is sized for */
    /* training state, after model_alloc_train */
    int max_B, max_T;
    int tiled; /* training attention keeps statistics, not probabilities */
    float *acts_mem;
    size_t n_acts; /* floats in acts_mem */
    ModelActs a;
    int B, T;        /* the last forward's shape, for backward */
    Positions pos;   /* and its positions (a map copied to pos_map) */
    int *pos_map;    /* [max_B * max_T] */
    double loss;     /* the last forward's mean loss over scored targets */
    size_t n_scored; /* targets it scored (not MODEL_UNSCORED) */
} Model;

/* Validates cfg (PB_RANGE / PB_USAGE naming the setting), creates the
 * encoding and allocates params and grads (zeroed). */
PbStatus model_create(Model *m, const ModelConfig *cfg);
void model_free(Model *m);
/* Rebuilds the encoding with context extension x (encoding.h; method
 * EXTEND_NONE: as created), on the same parameter slices: a trained model
 * evaluated, or fine-tuned, under RoPE scaling. PB_USAGE for an encoding
 * that cannot take it (the model keeps its encoding). */
PbStatus model_set_extension(Model *m, const Extension *x);
/* GPT-2 init from PCG32 (seed, MODEL_INIT_STREAM). */
void model_init_params(Model *m, uint64_t seed);
float *model_param(const Model *m, ModelTensorId id); /* start of a tensor in params */
float *model_grad(const Model *m, ModelTensorId id);
/* Parameters that count (padding excluded). */
size_t model_num_params(const Model *m);

/* Allocates the training activations for batches up to B x T (T <= context
 * unless the encoding is unbounded), with the attention path resolved
 * (m->tiled). */
PbStatus model_alloc_train(Model *m, int B, int T);
/* Whether training at B x T keeps statistics: cfg.attention, auto resolved
 * by shape. */
int model_attention_tiled(const Model *m, int B, int T);
/* Bytes model_alloc_train allocates for (B, T) (for memory reports). */
size_t model_train_bytes(const Model *m, int B, int T);

/* Training forward on inputs, targets [B,T] (model ids, positions pos0..):
 * per-token losses in m->a.losses [B,T] (NaN where unscored), mean over the
 * scored ones in m->loss (summed in double; 0 when none is), their count in
 * m->n_scored. PB_DATA for an input outside 0..V-1 or a target outside
 * 0..V-1 and not MODEL_UNSCORED, PB_LENGTH past the encoding's table. */
PbStatus model_forward(Model *m, const int32_t *inputs, const int32_t *targets, int B, int T, int pos0);
/* The same at positions pos (encoding.h), e.g. a map of each window's own. */
PbStatus model_forward_at(Model *m, const int32_t *inputs, const int32_t *targets, int B, int T, Positions pos);
void model_zero_grad(Model *m);
/* Gradient of the last forward's mean loss, ADDED into m->grads. */
PbStatus model_backward(Model *m);

/* ---- evaluation: memory linear in T ------------------------------------ */

typedef struct {
    int max_B, max_T, chunk; /* chunk: LM-head rows at a time */
    float *mem;
    size_t n_floats;
    float *x, *ln, *mean, *rstd, *qkv, *atty, *fch, *logits, *scratch;
} ModelEval;

/* Floats (x 4 bytes) of evaluation workspace for windows up to B x T. */
size_t model_eval_floats(const Model *m, int B, int T);
PbStatus model_eval_alloc(ModelEval *ev, const Model *m, int B, int T);
void model_eval_free(ModelEval *ev);

/* losses [B,T] = per-token cross-entropy of targets given inputs [B,T]
 * (model ids), window starting at absolute position pos0, B <= ev->max_B,
 * T <= ev->max_T. PB_LENGTH with the encoding's message when positions
 * pos0..pos0+T-1 are past its table (learned_absolute), checked before any
 * work. Bit-identical to model_forward's m->a.losses for the same inputs.
 * Interrupt (core/interrupt.h): polled after each layer's attention (whose
 * tiles poll too) and each chunk of LM-head rows; once one is requested the
 * call stops there and returns PB_OK with every loss NaN: the caller checks
 * interrupt_requested() and drops them. */
PbStatus model_eval_losses(ModelEval *ev, const Model *m, float *losses, const int32_t *inputs, const int32_t *targets,
                           int B, int T, int pos0);

#endif
