/* vexp.h: a branch-free exp(x) for x <= 0 that vectorises, shared by the
 * elementwise kernels whose time it dominates (softmax rows in attention,
 * GELU, cross-entropy), and the ROW_KERNEL attribute that gives those
 * kernels AVX2 and AVX-512 clones.
 *
 * libm's expf does not vectorise: through it the attention forward was 60%
 * slower (30 vs 19 ms on one thread at B8 T512 C128 H4), and GELU forward
 * plus backward took 20% of a training step at T128 (perf, 2 threads).
 */
#ifndef POSBENCH_MODEL_VEXP_H
#define POSBENCH_MODEL_VEXP_H

#include <stdint.h>
#include <string.h>

/* The build targets baseline x86-64 (SSE2); the kernels get AVX2 and AVX-512
 * clones picked at load time. The clones give the same bits: every lane does
 * the same operations in the same order (ISO C mode keeps GCC from
 * contracting to FMA, and reductions keep explicit partial sums). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define ROW_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ROW_KERNEL
#endif

/* Where exp_nonpositive flushes to 0, as the bits of the positive float F
 * (results below exp(-F) become exactly 0).
 * Softmax, F = 32: such a term is under 2^-46 of the row's largest (which is
 * 1), so it cannot move the row's float sum for rows up to 2^21 keys, and
 * dropping it keeps both attention passes clear of subnormal floats (they
 * made ALiBi, whose far keys sit at large negative logits, 20% slower).
 * Full range, F = 86: every result is a normal float (exp(-86) = 4.4e-38),
 * for sigmoids that must keep their relative precision far into the tail. */
#define EXP_FLUSH_SOFTMAX 0x42000000u /* 32.0f */
#define EXP_FLUSH_NORMAL 0x42ac0000u  /* 86.0f */

/* exp(x) for x <= 0 (positive x: undefined), within 1 ulp of expf above
 * -F, 0 below, NaN for NaN. Cephes' expf polynomial. Range tests are
 * integer compares on the bits, since GCC keeps a float compare as a branch
 * under -ftrapping-math and will not vectorise it. */
static inline float exp_nonpositive(float x, const uint32_t flush_bits) {
    uint32_t ux;
    memcpy(&ux, &x, sizeof ux);
    const uint32_t mag = ux & 0x7fffffffu;
    const uint32_t under = 0u - (uint32_t)(mag > flush_bits); /* |x| > F, or NaN */
    const uint32_t nan = 0u - (uint32_t)(mag > 0x7f800000u);
    const uint32_t uc = (ux & ~under) | ((flush_bits | 0x80000000u) & under); /* clamped to -F */
    float xc;
    memcpy(&xc, &uc, sizeof xc);
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick (exact for |n| < 2^22). */
    const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    /* r = x - n ln 2 with ln 2 split in two, so r keeps its low bits. */
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    const float z = r * r;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * z + r + 1.0f;
    /* 2^n from its exponent bits: n is in [-124, 0] after the clamp. */
    const uint32_t two_n_bits = (uint32_t)((int32_t)n + 127) << 23;
    float two_n;
    memcpy(&two_n, &two_n_bits, sizeof two_n);
    const float e = y * two_n;
    uint32_t ue;
    memcpy(&ue, &e, sizeof ue);
    ue = (ue & ~under) | (ux & nan);
    float out;
    memcpy(&out, &ue, sizeof out);
    return out;
}

/* Bitwise helpers for branch-free selection in vectorised loops. */
static inline uint32_t vexp_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float vexp_float(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

#endif
