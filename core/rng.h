/* rng.h: the project's one random number generator, documented so results
 * can be reproduced outside posbench.
 *
 * PCG32 (O'Neill 2014, "PCG: A Family of Simple Fast Space-Efficient
 * Statistically Good Algorithms for Random Number Generation"), XSH-RR output:
 *   state' = state * 6364136223846793005 + inc      (64-bit, inc odd)
 *   out    = rotr32(((state >> 18) ^ state) >> 27, state >> 59)
 * Seeding as the reference pcg32_srandom_r(seed, stream):
 *   state = 0; inc = (stream << 1) | 1; step; state += seed; step.
 * Uniform floats take the top 24 bits (exact in float32); normals use the
 * Box-Muller transform on two uniforms, returning both values in turn.
 */
#ifndef POSBENCH_RNG_H
#define POSBENCH_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;
    uint64_t inc;
    float spare; /* second Box-Muller value, valid if has_spare */
    int has_spare;
} Rng;

void rng_seed(Rng *r, uint64_t seed, uint64_t stream);
uint32_t rng_u32(Rng *r);
/* Uniform integer in [0, bound), unbiased (rejection), bound > 0. */
uint32_t rng_below(Rng *r, uint32_t bound);
/* Uniform float in [0, 1). */
float rng_uniform(Rng *r);
/* Standard normal N(0, 1). */
float rng_normal(Rng *r);
/* n distinct integers of [0, N), in increasing order, every n-subset equally
 * likely: Knuth's selection sampling (TAOCP vol. 2, 3.4.2, Algorithm S),
 * which takes i with probability (n - taken) / (N - i); one rng_below per i
 * until n are taken. 0 <= n <= N. */
void rng_sorted_sample(Rng *r, int n, int N, int *out);

#endif
