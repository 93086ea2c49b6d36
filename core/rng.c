/* rng.c: PCG32 XSH-RR and the distributions built on it (see rng.h). */
#include "rng.h"

#include <math.h>

uint32_t rng_u32(Rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

void rng_seed(Rng *r, uint64_t seed, uint64_t stream) {
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    r->has_spare = 0;
    r->spare = 0.0f;
    rng_u32(r);
    r->state += seed;
    rng_u32(r);
}

uint32_t rng_below(Rng *r, uint32_t bound) {
    /* Reject the low values that would make the modulo biased. */
    uint32_t threshold = (0u - bound) % bound;
    for (;;) {
        uint32_t x = rng_u32(r);
        if (x >= threshold) return x % bound;
    }
}

float rng_uniform(Rng *r) { return (float)(rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

float rng_normal(Rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    /* 1 - u lies in (0, 1], so the log is finite. */
    double u1 = 1.0 - (double)rng_uniform(r);
    double u2 = (double)rng_uniform(r);
    double radius = sqrt(-2.0 * log(u1));
    double angle = 6.283185307179586 * u2;
    r->spare = (float)(radius * sin(angle));
    r->has_spare = 1;
    return (float)(radius * cos(angle));
}

void rng_sorted_sample(Rng *r, int n, int N, int *out) {
    int taken = 0;
    for (int i = 0; i < N && taken < n; i++)
        if ((int)rng_below(r, (uint32_t)(N - i)) < n - taken) out[taken++] = i;
}
