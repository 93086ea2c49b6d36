/* layernorm.h: layer normalisation over channels (Ba, Kiros & Hinton 2016,
 * "Layer Normalization"), as GPT-2 and torch.nn.LayerNorm(C, eps=1e-5):
 *
 *   mean = (1/C) sum_c x[c]
 *   var  = (1/C) sum_c (x[c] - mean)^2          (biased, as torch)
 *   rstd = 1 / sqrt(var + 1e-5)
 *   out[c] = (x[c] - mean) * rstd * weight[c] + bias[c]
 *
 * Backward, per row, with norm = (x - mean) * rstd and g = dout * weight:
 *   dinp += rstd * (g - mean_c(g) - norm * mean_c(g * norm))
 *   dweight += sum_rows dout * norm,   dbias += sum_rows dout
 *
 * Shapes: inp, out, dinp, dout [N,C] (N = B*T rows); weight, bias, dweight,
 * dbias [C]; mean, rstd [N] (saved by forward for backward).
 * Backward adds (+=) into every gradient; the caller zeroes them.
 * Deterministic and independent of the thread count: rows are independent,
 * and each dweight[c], dbias[c] is summed over rows in row order by one
 * thread. Buffers must not overlap (the definitions use restrict).
 */
#ifndef POSBENCH_MODEL_LAYERNORM_H
#define POSBENCH_MODEL_LAYERNORM_H

#define LAYERNORM_EPS 1e-5f

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight, const float *bias,
                       int N, int C);

void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, const float *mean, const float *rstd, int N, int C);

#endif
