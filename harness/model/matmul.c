/* matmul.c: the linear layer on OpenBLAS sgemm (formula and shapes in
 * matmul.h). Row-major throughout; weight is [OC,C], hence the transposes.
 *
 * The bias is written first and the product added on top (beta = 1), which
 * saves a second pass over out. The bias gradient is a column sum over rows;
 * each thread sums its own contiguous range of columns, so each dbias[o] is
 * summed in row order by one thread: identical bits for any thread count. */
#include "matmul.h"

#include <cblas.h>
#include <stddef.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "thread_span.h"

/* Below this many elements of dout a fork costs more than it saves. */
#define MATMUL_OMP_MIN ((size_t)1 << 18)

void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC) {
    if (N <= 0 || OC <= 0) return;
    float beta = 0.0f;
    if (bias) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, bias, sizeof(float) * OC);
        beta = 1.0f;
    } else if (C <= 0) {
        memset(out, 0, sizeof(float) * (size_t)N * OC);
    }
    if (C <= 0) return; /* an empty sum: sgemm would reject lda = 0 */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C, beta, out, OC);
}

void matmul_backward_input(float *dinp, const float *dout, const float *weight, int N, int C, int OC,
                           GradWrite dinp_write) {
    if (N <= 0 || C <= 0) return;
    if (OC > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight, C,
                    dinp_write == GRAD_STORE ? 0.0f : 1.0f, dinp, C);
    else if (dinp_write == GRAD_STORE) /* an empty sum: sgemm would reject lda = 0 */
        memset(dinp, 0, sizeof(float) * (size_t)N * C);
}

void matmul_backward_weight(float *dweight, float *dbias, const float *dout, int dout_stride, const float *inp, int N,
                            int C, int OC) {
    if (N <= 0 || OC <= 0) return;
    if (C > 0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, dout_stride, inp, C, 1.0f, dweight,
                    C);
    if (!dbias) return;
#pragma omp parallel if ((size_t)N * OC >= MATMUL_OMP_MIN)
    {
        int o0, o1;
        thread_span(OC, &o0, &o1);
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * dout_stride;
            for (int o = o0; o < o1; o++) dbias[o] += d[o];
        }
    }
}

void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int N, int C, int OC, GradWrite dinp_write) {
    if (dinp) matmul_backward_input(dinp, dout, weight, N, C, OC, dinp_write);
    matmul_backward_weight(dweight, dbias, dout, OC, inp, N, C, OC);
}
