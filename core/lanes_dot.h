/* lanes_dot.h: a float dot product in fixed partial sums, so that it
 * vectorises and gives the same bits wherever it runs.
 *
 * A plain `s += a[d] * b[d]` is one chain of dependent adds: the compiler may
 * not reorder it (ISO C floats), so a 32-float head dot waits on 32 adds in
 * turn. LANES_DOT partial sums, combined pairwise in a fixed order, let it
 * run as vector operations; the result depends only on the inputs.
 */
#ifndef POSBENCH_CORE_LANES_DOT_H
#define POSBENCH_CORE_LANES_DOT_H

#define LANES_DOT 16

/* sum_j a[j] * b[j]: lane l sums the j = l (mod LANES_DOT) terms, then
 * lanes fold in halves. */
static inline float lanes_dot(const float *a, const float *b, int n) {
    float s[LANES_DOT] = {0};
    int j = 0;
    for (; j + LANES_DOT <= n; j += LANES_DOT)
        for (int l = 0; l < LANES_DOT; l++) s[l] += a[j + l] * b[j + l];
    for (int l = 0; j < n; j++, l++) s[l] += a[j] * b[j];
    for (int w = LANES_DOT / 2; w; w /= 2)
        for (int l = 0; l < w; l++) s[l] += s[l + w];
    return s[0];
}

#endif
