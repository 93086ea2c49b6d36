/* matmul.h: the linear layer, as torch.nn.Linear(C, OC):
 *
 *   out[n,o] = sum_c inp[n,c] * weight[o,c] + bias[o]     (out = inp @ weight^T + bias)
 *
 * Backward:
 *   dinp    += dout @ weight          [N,OC] x [OC,C]
 *   dweight += dout^T @ inp           [OC,N] x [N,C]
 *   dbias   += sum_n dout[n,:]
 *
 * Shapes: inp, dinp [N,C] (N = B*T rows); weight, dweight [OC,C] (row-major,
 * one output channel per row, as torch and llm.c); bias, dbias [OC];
 * out, dout [N,OC]. Backward adds (+=) into every gradient; the caller
 * zeroes them. Products run in OpenBLAS's cblas_sgemm with its own threads
 * (never called from inside an OpenMP region); results are bit-identical
 * from run to run for a given OpenBLAS thread count. Output buffers must not
 * overlap inputs.
 */
#ifndef POSBENCH_MODEL_MATMUL_H
#define POSBENCH_MODEL_MATMUL_H

/* bias may be NULL (no bias). */
void matmul_forward(float *out, const float *inp, const float *weight, const float *bias,
                    int N, int C, int OC);

/* dinp may be NULL (the input needs no gradient, e.g. a first layer fed by
 * data); dbias may be NULL (the layer has no bias). dweight is required. */
void matmul_backward(float *dinp, float *dweight, float *dbias,
                     const float *dout, const float *inp, const float *weight,
                     int N, int C, int OC);

#endif
