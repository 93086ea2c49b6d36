/* test_blas_kernel.c: the choice of OpenBLAS kernel (harness/results/blas_kernel.h):
 * a weaker core than the CPU supports is replaced, an equal or stronger one
 * kept, an explicit OPENBLAS_CORETYPE always kept; and this machine's
 * features agree with /proc/cpuinfo's flags. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../harness/results/blas_kernel.h"
#include "check.h"

static int same(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

static int cpuinfo_has(const char *flag) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    int found = -1; /* unknown */
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "flags", 5) == 0) {
            char padded[64];
            snprintf(padded, sizeof padded, " %s ", flag);
            line[strcspn(line, "\n")] = ' ';
            found = strstr(line, padded) != NULL;
            break;
        }
    fclose(f);
    return found;
}

int main(void) {
    const CpuFeatures avx512 = {1, 1, 1, 1, 1, 1}, avx2 = {1, 1, 0, 0, 0, 0}, old = {0};
    const struct {
        const char *current;
        CpuFeatures f;
        const char *set, *want;
    } cases[] = {
        {"Prescott", avx512, NULL, "SkylakeX"}, /* the Xeon OpenBLAS 0.3.21 did not know */
        {"Prescott", avx512, "Prescott", NULL}, /* asked for: kept */
        {"Haswell", avx512, NULL, "SkylakeX"},  {"Cooperlake", avx512, NULL, NULL},
        {"SkylakeX", avx512, NULL, NULL},       {"Zen", avx2, NULL, NULL},
        {"Sandybridge", avx2, NULL, "Haswell"}, {"Prescott", old, NULL, NULL},
        {"Nehalem", avx2, "", "Haswell"}, /* empty is unset */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = blas_kernel_replacement(cases[i].current, cases[i].f, cases[i].set);
        CHECK(same(got, cases[i].want), "case %zu: %s with OPENBLAS_CORETYPE=%s: got %s, want %s", i, cases[i].current,
              cases[i].set ? cases[i].set : "(unset)", got ? got : "keep", cases[i].want ? cases[i].want : "keep");
    }
    CHECK(blas_kernel_class("skylakex") == 3 && blas_kernel_class("Haswell") == 2 && blas_kernel_class("Core2") == 0,
          "kernel classes");
    const CpuFeatures here = cpu_features();
    const struct {
        const char *flag;
        int have;
    } flags[] = {{"avx2", here.avx2}, {"fma", here.fma}, {"avx512f", here.avx512f}, {"avx512bw", here.avx512bw}};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        const int listed = cpuinfo_has(flags[i].flag);
        if (listed >= 0)
            CHECK(listed == flags[i].have, "cpuid says %s = %d, /proc/cpuinfo %d", flags[i].flag, flags[i].have,
                  listed);
    }
    /* The peak estimate: 1 GFLOP/s is far below it, 1e9 not. */
    const double peak = cpu_peak_gflops(here, 2);
    char warning[768];
    if (isfinite(peak)) {
        CHECK(peak > 10, "estimated peak of 2 cores: %g GFLOP/s", peak);
        blas_peak_warning(warning, sizeof warning, 1.0, 2);
        CHECK(strstr(warning, "under a quarter") != NULL, "no warning at 1 GFLOP/s: '%s'", warning);
        blas_peak_warning(warning, sizeof warning, 1e9, 2);
        CHECK(!*warning, "a warning at 1e9 GFLOP/s: '%s'", warning);
    }
    return check_exit_code("blas_kernel");
}
