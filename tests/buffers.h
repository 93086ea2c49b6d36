/* buffers.h: test buffers guarded by sentinels, and bit-exact comparison.
 * Shared by the table-driven tests (encodings, attention). */
#ifndef POSBENCH_TESTS_BUFFERS_H
#define POSBENCH_TESTS_BUFFERS_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "check.h"

#define GUARD 16
static const float SENTINEL = -12345.678f;

/* n floats with GUARD sentinels on each side; the n floats are sentinels too. */
static inline float *guarded(size_t n) {
    float *p = malloc((n + 2 * GUARD) * sizeof *p);
    if (!p) abort();
    for (size_t i = 0; i < n + 2 * GUARD; i++) p[i] = SENTINEL;
    return p + GUARD;
}

static inline int guards_intact(const float *p, size_t n) {
    for (int i = 1; i <= GUARD; i++)
        if (p[-i] != SENTINEL || p[n + i - 1] != SENTINEL) return 0;
    return 1;
}

static inline void release(float *p) {
    if (p) free(p - GUARD);
}

static inline void fill_normal(float *p, size_t n, Rng *rng) {
    for (size_t i = 0; i < n; i++) p[i] = rng_normal(rng);
}

static inline int all_finite(const float *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) return 0;
    return 1;
}

/* First index where a and b differ bit for bit, or -1. */
static inline long first_diff(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof *a)) return (long)i;
    return -1;
}

#define CHECK_SAME(a, b, n, fmt, ...) \
    do { \
        long d_ = first_diff((a), (b), (n)); \
        CHECK(d_ < 0, fmt ": first difference at element %ld of %zu: %.9g vs %.9g", __VA_ARGS__, d_, (size_t)(n), \
              d_ < 0 ? 0.0 : (double)(a)[d_], d_ < 0 ? 0.0 : (double)(b)[d_]); \
    } while (0)

#endif
