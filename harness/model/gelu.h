/* gelu.h: GELU activation, GPT-2's tanh approximation (Hendrycks & Gimpel
 * 2016, "Gaussian Error Linear Units"), as torch's gelu(approximate="tanh"):
 *
 *   gelu(x)  = 0.5 x (1 + tanh(u)),   u = s (x + 0.044715 x^3),  s = sqrt(2/pi)
 *   gelu'(x) = 0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) s (1 + 3*0.044715 x^2)
 *
 * The derivative is the exact derivative of the approximation (not of the
 * erf form). Both are evaluated through the identity
 * 0.5 (1 + tanh(u)) = sigma(2u) = 1 / (1 + exp(-2u)), which is the same
 * function, not a further approximation: it is about 3.5x faster than tanhf
 * here (one exp, vexp.h) and keeps full relative precision in the negative tail,
 * where 1 + tanhf(u) cancels (there the tanhf form is 0.05% off at x = -4,
 * 30% at x = -5, and 0 from x = -5.5 on). Results therefore differ from a
 * tanhf implementation in the last bits (and in that tail, by more).
 *
 * Shapes: n floats each, n = N*4C for the MLP's hidden layer [N,4C],
 * N = B*T rows. Elementwise, so identical bits for any thread count.
 *
 * Training's forward also stores the slope gelu'(x), computed from the same
 * sigmoid it already has, and backward only multiplies by it: backward no
 * longer evaluates an exp, and the model keeps the slope where it kept the
 * input (the input is needed for nothing else).
 */
#ifndef POSBENCH_MODEL_GELU_H
#define POSBENCH_MODEL_GELU_H

#include <stddef.h>

#include "grad_write.h"

/* out[i] = gelu(inp[i]) and, unless slope is NULL (evaluation),
 * slope[i] = gelu'(inp[i]). out and slope may each be inp itself (the
 * model keeps the slope in place of the input); they are not each other. */
void gelu_forward(float *out, float *slope, const float *inp, size_t n);

/* dinp[i] = (or +=, per dinp_write) slope[i] * dout[i], with slope as
 * gelu_forward stored it. dinp may be dout itself. */
void gelu_backward(float *dinp, const float *dout, const float *slope, size_t n, GradWrite dinp_write);

#endif
