/* blas_kernel.h: never a weaker OpenBLAS kernel than the CPU supports.
 *
 * Debian's OpenBLAS 0.3.21 picks its kernel at load from the CPU's model
 * numbers, and falls back to Prescott (SSE3) on CPUs it does not know: on a
 * 16-core Xeon with AVX-512 every product ran 4x slower than with
 * OPENBLAS_CORETYPE=SkylakeX (docs/performance.md, "BLAS kernels"). posbench
 * reads the CPU's features itself (cpuid) and, when OpenBLAS's core is of a
 * lower class and the user has not set OPENBLAS_CORETYPE, re-executes once
 * with the matching core (main.c). An explicit OPENBLAS_CORETYPE is kept:
 * some machines set it on purpose. Every results file records the kernel
 * and how it was chosen (h5io.c). */
#ifndef POSBENCH_BLAS_KERNEL_H
#define POSBENCH_BLAS_KERNEL_H

/* The CPU's features that decide a kernel. */
typedef struct {
    int avx2, fma, avx512f, avx512bw, avx512vl, avx512dq;
} CpuFeatures;

CpuFeatures cpu_features(void);
/* OpenBLAS's core for these features: "SkylakeX" (AVX-512 F/BW/VL/DQ),
 * "Haswell" (AVX2 + FMA), or NULL (nothing better than any core). */
const char *blas_kernel_for(CpuFeatures f);
/* A core's class: 3 AVX-512, 2 AVX2, 1 AVX, 0 older or unknown. */
int blas_kernel_class(const char *core);
/* The core to choose instead of `current` (OpenBLAS's own) on a CPU with f,
 * or NULL to keep it: `set` (OPENBLAS_CORETYPE, NULL when unset) always
 * keeps it. */
const char *blas_kernel_replacement(const char *current, CpuFeatures f, const char *set);

/* An upper estimate of single-precision GFLOP/s on `cores` cores: SIMD
 * lanes (16 AVX-512, 8 AVX2, 4 SSE) x 2 (fused multiply-add) x 2 FMA units
 * x the clock (cpufreq's maximum, else /proc/cpuinfo's "cpu MHz"); NaN when
 * the clock cannot be read. */
double cpu_peak_gflops(CpuFeatures f, int cores);
/* A warning line into out (empty when none): sgemm_gflops measured on
 * `cores` threads below a quarter of cpu_peak_gflops. */
void blas_peak_warning(char *out, unsigned long cap, double sgemm_gflops, int cores);

/* Environment variable posbench sets on its re-execution: the core
 * OpenBLAS had picked. */
#define BLAS_KERNEL_REPLACED_ENV "POSBENCH_OPENBLAS_REPLACED"
/* How the kernel in use was chosen, one line for provenance and headers. */
void blas_kernel_describe(char *out, unsigned long cap);

#endif
