/* thread_span.h: how a parallel region splits `count` columns among its
 * threads, in whole 64-byte lines (16 floats) so threads never write the same
 * cache line. Shared by the layers whose backward reduces over rows. */
#ifndef POSBENCH_MODEL_THREAD_SPAN_H
#define POSBENCH_MODEL_THREAD_SPAN_H

#ifdef _OPENMP
#include <omp.h>
#endif

/* This thread's span [*lo, *hi) of `count` (call inside a parallel region). */
static inline void thread_span(int count, int *lo, int *hi) {
#ifdef _OPENMP
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
#else
    int nt = 1, t = 0;
#endif
    int chunk = ((count + nt - 1) / nt + 15) / 16 * 16;
    *lo = t * chunk < count ? t * chunk : count;
    *hi = count - *lo < chunk ? count : *lo + chunk;
}

#endif
