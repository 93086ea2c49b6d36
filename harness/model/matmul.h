/* matmul.h: the linear layer, as torch.nn.Linear(C, OC):
 *
 *   out[n,o] = sum_c inp[n,c] * weight[o,c] + bias[o]     (out = inp @ weight^T + bias)
 *
 * Backward:
 *   dinp    += dout @ weight          [N,OC] x [OC,C]   (or = : GRAD_STORE)
 *   dweight += dout^T @ inp           [OC,N] x [N,C]
 *   dbias   += sum_n dout[n,:]
 *
 * Shapes: inp, dinp [N,C] (N = B*T rows); weight, dweight [OC,C] (row-major,
 * one output channel per row, as torch and llm.c); bias, dbias [OC];
 * out, dout [N,OC]. Backward adds (+=) into dweight and dbias (the caller
 * zeroes them) and writes dinp as dinp_write says (grad_write.h). Output
 * buffers must not overlap inputs.
 *
 * Threads: the products run in cblas_sgemm on whatever OpenBLAS thread count
 * is set; results are bit-identical from run to run for a given count. The
 * model calls these functions from inside its OpenMP team with OpenBLAS at
 * one thread, each thread on its own rows (model.c, mm_forward and
 * mm_backward). The other policy, OpenBLAS's own pthreads for the products
 * between the layers' OpenMP regions, made the two pools fight over the
 * cores. On 2 cores, a block's forward and backward (both LayerNorms, four products,
 * GELU, residuals), N = 8*512, C = 128, median over 47 alternating rounds:
 *   layer loops on 1 thread (built without OpenMP)           111 ms
 *   2 threads, libgomp's default waiting                     140 ms
 *   2 threads, OMP_WAIT_POLICY=passive                         98 ms
 *   2 threads, passive and OPENBLAS_THREAD_TIMEOUT=4           88 ms
 * (by default idle libgomp workers spin for 300000 pause instructions,
 * milliseconds on the CPU measured, on the core OpenBLAS needs next). Both variables
 * are read when the libraries load, so they belong in the environment that
 * starts the process (POSBENCH_MATMUL=blas selects this policy, for
 * measurement). Do not use OMP_NUM_THREADS=1 to quiet OpenMP: OpenBLAS reads
 * it too and drops to one thread.
 */
#ifndef POSBENCH_MODEL_MATMUL_H
#define POSBENCH_MODEL_MATMUL_H

#include "grad_write.h"

/* bias may be NULL (no bias). */
void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC);

/* dinp may be NULL (the input needs no gradient, e.g. a first layer fed by
 * data); dbias may be NULL (the layer has no bias). dweight is required.
 * GRAD_STORE gives the same bits as GRAD_ADD into zeros (but for the sign of
 * an exact zero). */
void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int N, int C, int OC, GradWrite dinp_write);

/* matmul_backward's two halves, which share no output, so two threads can
 * run them at once (model.c):
 *   dinp (= or +=) dout @ weight
 *   dweight += dout^T @ inp,  dbias += column sums of dout (dbias may be NULL)
 * The weight half reads dout with a row stride, so it can take a range of
 * output channels: dout + o0, stride OC, and OC' = o1 - o0 rows of dweight
 * and entries of dbias. (Such a split can change dweight in the last bit:
 * OpenBLAS's order of additions may depend on the rows it is given.) */
void matmul_backward_input(float *dinp, const float *dout, const float *weight, int N, int C, int OC,
                           GradWrite dinp_write);
void matmul_backward_weight(float *dweight, float *dbias, const float *dout, int dout_stride, const float *inp, int N,
                            int C, int OC);

#endif
