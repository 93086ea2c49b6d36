/* adamw.h: the AdamW optimiser (Loshchilov & Hutter 2019, "Decoupled Weight
 * Decay Regularization"), its learning-rate schedule, and global
 * gradient-norm clipping.
 *
 * adamw_update is torch.optim.AdamW's single-tensor step (amsgrad, maximize
 * and foreach off), element by element, with t the 1-based step count:
 *
 *   p  = p * (1 - lr * weight_decay)                 (decoupled decay first)
 *   m  = m + (1 - beta1) * (g - m)                   (torch's lerp form)
 *   v  = v * beta2 + (1 - beta2) * g * g
 *   p  = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * Scalars (bias corrections, step size) are computed in double and rounded
 * to float, the elementwise work is float, as torch does on the CPU.
 *
 * Shapes: params, grads, m, v hold n floats each. m and v are the caller's
 * optimiser state, zeroed before the first step and kept between steps.
 *
 * Weight decay goes where the caller says: each call takes a decay flag and
 * updates one contiguous slice, so a model with one parameter buffer calls
 * adamw_update once per group (decay = 1 for matmul weights, 0 for biases,
 * LayerNorm gains and, by the GPT-2 recipe, position tables if wanted).
 * Every slice of one step must use the same t and config.
 *
 * Deterministic, and identical bits for any thread count: the update is
 * elementwise, and the clipping norm is summed over a fixed partition.
 */
#ifndef POSBENCH_MODEL_ADAMW_H
#define POSBENCH_MODEL_ADAMW_H

#include <stddef.h>

#include "../../core/status.h"

typedef struct {
    float lr;           /* this step's learning rate, e.g. from adamw_lr_cosine */
    float beta1, beta2; /* torch's defaults 0.9, 0.999; GPT-2 recipes use 0.95 for beta2 */
    float eps;          /* 1e-8 */
    float weight_decay; /* torch's default 0.01; applied to slices called with decay = 1 */
} AdamWConfig;

/* torch.optim.AdamW's defaults, with the given learning rate. */
#define ADAMW_DEFAULTS(lr_) ((AdamWConfig){(lr_), 0.9f, 0.999f, 1e-8f, 0.01f})

/* One AdamW step on n parameters. t >= 1 counts steps (the first step is
 * t = 1). PB_USAGE, with nothing updated, if t < 1 or a hyperparameter is out
 * of range (lr < 0, beta outside [0,1), eps <= 0, weight_decay < 0, or any
 * not finite). */
PbStatus adamw_update(float *params, float *m, float *v, const float *grads, size_t n, const AdamWConfig *cfg, long t,
                      int decay);

/* Learning rate at 0-based `step`: linear warmup, then cosine decay to
 * min_ratio * max_lr (as llm.c and nanoGPT):
 *   step < warmup:           max_lr * (step + 1) / warmup
 *   warmup <= step < total:  min + 0.5 (1 + cos(pi r)) (max_lr - min),
 *                            r = (step - warmup) / (total - warmup)
 *   step >= total:           min = min_ratio * max_lr
 * So the first step already moves (max_lr / warmup), the last warmup step
 * and the first decay step both use max_lr, the middle of the decay uses
 * (max_lr + min) / 2. warmup = 0 means no warmup. */
float adamw_lr_cosine(long step, long warmup, long total, float max_lr, float min_ratio);

/* Global L2 norm of n gradients (summed in double over a fixed partition);
 * if it exceeds max_norm > 0, scales every gradient by max_norm / norm so the
 * norm becomes max_norm (torch's clip_grad_norm_ divides by norm + 1e-6
 * instead, which stops just short). Returns the norm before clipping.
 * max_norm <= 0 only measures. A non-finite norm (inf or NaN gradients) is
 * returned with the gradients untouched, so the caller can skip the step. */
float adamw_clip_grad_norm(float *grads, size_t n, float max_norm);

#endif
