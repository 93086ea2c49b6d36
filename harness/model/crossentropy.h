/* crossentropy.h: fused softmax and cross-entropy loss over the vocabulary,
 * as torch.nn.functional.cross_entropy(logits, targets, reduction="none"):
 *
 *   probs[n,v] = exp(logits[n,v] - max_v logits[n,:]) / sum_v exp(... same ...)
 *   losses[n]  = -log probs[n, targets[n]]
 *              = max + log sum_v exp(logits[n,v] - max) - logits[n, targets[n]]
 *   dlogits[n,v] (+)= (probs[n,v] - [v == targets[n]]) * dlosses[n]
 *
 * Subtracting the row maximum keeps exp from overflowing; the normaliser is
 * summed in double, and the loss is taken from log-sum-exp (not from the
 * rounded probability), so a confident wrong answer gives its true large
 * loss instead of -log(0) = inf.
 *
 * Shapes: logits, probs, dlogits [N,V] (N = B*T rows, V vocabulary);
 * targets [N] int32; losses, dlosses [N]. The mean loss is the caller's:
 * pass dlosses[n] = 1/N for it.
 *
 * Saved state: forward writes probs, which backward needs. probs may be a
 * separate buffer or the logits buffer itself (probs == logits: softmax in
 * place, saving an [N,V] buffer; the logits are then gone). dlogits must be
 * a third buffer, which backward adds into or overwrites (grad_write.h).
 *
 * Out-of-range targets (outside 0..V-1): never read or written through. The
 * model validates ids beforehand, so such a row is a bug upstream; it is
 * made loud, not silent: its loss is NaN (poisoning any mean) and backward
 * leaves its dlogits row untouched (GRAD_ADD) or zero (GRAD_STORE). probs are
 * still written for it.
 *
 * Deterministic and independent of the thread count: rows are independent
 * and each row is reduced in a fixed order by one thread.
 */
#ifndef POSBENCH_MODEL_CROSSENTROPY_H
#define POSBENCH_MODEL_CROSSENTROPY_H

#include <stdint.h>

#include "grad_write.h"

void crossentropy_forward(float *losses, float *probs, const float *logits, const int32_t *targets, int N, int V);

void crossentropy_backward(float *dlogits, const float *dlosses, const float *probs, const int32_t *targets, int N,
                           int V, GradWrite dlogits_write);

#endif
