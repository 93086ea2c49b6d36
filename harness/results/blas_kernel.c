/* blas_kernel.c: the OpenBLAS kernel check (blas_kernel.h). */
#include "blas_kernel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

char *openblas_get_corename(void);

CpuFeatures cpu_features(void) {
    CpuFeatures f = {0};
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    f.fma = (c >> 12) & 1;
    const int osxsave = (c >> 27) & 1;
    if (!osxsave || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
    /* The OS must save the wide registers: XCR0 bits 1-2 (AVX), 5-7 (AVX-512). */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    const int ymm = (lo & 0x6) == 0x6, zmm = ymm && (lo & 0xe0) == 0xe0;
    f.avx2 = ymm && ((b >> 5) & 1);
    f.fma = ymm && f.fma;
    f.avx512f = zmm && ((b >> 16) & 1);
    f.avx512dq = zmm && ((b >> 17) & 1);
    f.avx512bw = zmm && ((b >> 30) & 1);
    f.avx512vl = zmm && ((b >> 31) & 1);
#endif
    return f;
}

const char *blas_kernel_for(CpuFeatures f) {
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq) return "SkylakeX";
    if (f.avx2 && f.fma) return "Haswell";
    return NULL;
}

int blas_kernel_class(const char *core) {
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    static const char *const avx2[] = {"Haswell", "Zen", NULL};
    static const char *const avx[] = {"Sandybridge", NULL};
    const char *const *classes[] = {avx, avx2, avx512};
    int best = 0;
    if (!core) return 0;
    for (int k = 0; k < 3; k++)
        for (const char *const *n = classes[k]; *n; n++)
            if (strcasecmp(core, *n) == 0) best = k + 1;
    return best;
}

const char *blas_kernel_replacement(const char *current, CpuFeatures f, const char *set) {
    const char *best = blas_kernel_for(f);
    if (set && *set) return NULL;
    if (!best || blas_kernel_class(current) >= blas_kernel_class(best)) return NULL;
    return best;
}

void blas_kernel_describe(char *out, unsigned long cap) {
    const char *core = openblas_get_corename(), *set = getenv("OPENBLAS_CORETYPE");
    const char *replaced = getenv(BLAS_KERNEL_REPLACED_ENV), *best = blas_kernel_for(cpu_features());
    if (replaced && *replaced)
        snprintf(out, cap, "%s (chosen by posbench: OpenBLAS picked %s, weaker than this CPU supports)", core,
                 replaced);
    else if (set && *set)
        snprintf(out, cap, "%s (OPENBLAS_CORETYPE=%s kept, as set in the environment; this CPU supports %s)", core, set,
                 best ? best : "no better core");
    else snprintf(out, cap, "%s (OpenBLAS's own choice)", core);
}

static double clock_ghz(void) {
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "r");
    double khz = 0, mhz = 0;
    if (f) {
        if (fscanf(f, "%lf", &khz) != 1) khz = 0;
        fclose(f);
        if (khz > 0) return khz / 1e6;
    }
    char line[512];
    if (!(f = fopen("/proc/cpuinfo", "r"))) return NAN;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "cpu MHz", 7) == 0) {
            const char *colon = strchr(line, ':');
            if (colon && sscanf(colon + 1, "%lf", &mhz) == 1) break;
        }
    fclose(f);
    return mhz > 0 ? mhz / 1e3 : NAN;
}

double cpu_peak_gflops(CpuFeatures f, int cores) {
    const int lanes = f.avx512f ? 16 : f.avx2 ? 8 : 4;
    return (double)cores * lanes * 2 * 2 * clock_ghz();
}

void blas_peak_warning(char *out, unsigned long cap, double sgemm_gflops, int cores) {
    const double peak = cpu_peak_gflops(cpu_features(), cores);
    out[0] = 0;
    if (isfinite(peak) && isfinite(sgemm_gflops) && sgemm_gflops < peak / 4) {
        char kernel[256];
        blas_kernel_describe(kernel, sizeof kernel);
        snprintf(out, cap,
                 "warning: sgemm reached %.0f GFLOP/s on %d threads, under a quarter of this CPU's estimated "
                 "peak %.0f; OpenBLAS kernel %s (docs/performance.md, \"BLAS kernels\")",
                 sgemm_gflops, cores, peak, kernel);
    }
}
