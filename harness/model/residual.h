/* residual.h: the residual connection, out = inp1 + inp2, elementwise.
 *
 * Shapes: every buffer holds n floats (n = N*C for activations [N,C],
 * N = B*T rows). Backward adds dout into both input gradients (+=); the
 * caller zeroes gradient buffers. Deterministic: elementwise, so the thread
 * count does not change a single bit.
 */
#ifndef POSBENCH_MODEL_RESIDUAL_H
#define POSBENCH_MODEL_RESIDUAL_H

#include <stddef.h>

/* out[n] = inp1[n] + inp2[n]. out may alias inp1 or inp2 (in place). */
void residual_forward(float *out, const float *inp1, const float *inp2, size_t n);

/* dinp1[n] += dout[n]; dinp2[n] += dout[n]. dinp1, dinp2 and dout are
 * three distinct buffers. */
void residual_backward(float *dinp1, float *dinp2, const float *dout, size_t n);

#endif
