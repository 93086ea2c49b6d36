/* threads.h: the number of threads an OpenMP parallel region started here
 * would use (1 in a build without OpenMP), for sizing per-thread scratch and
 * for provenance. */
#ifndef POSBENCH_CORE_THREADS_H
#define POSBENCH_CORE_THREADS_H

#ifdef _OPENMP
#include <omp.h>
#endif

static inline int pb_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

#endif
