/* embedding.c: token lookup forward (gather) and backward (scatter-add). */
#include "embedding.h"

#include <string.h>

void embedding_init(float *wte, int V, int C, Rng *rng) {
    for (size_t i = 0; i < (size_t)V * C; i++) wte[i] = rng_normal(rng);
}

PbStatus embedding_forward(float *out, const int32_t *ids, const float *wte, int B, int T, int C, int V) {
    for (int bt = 0; bt < B * T; bt++) {
        int32_t id = ids[bt];
        if (id < 0 || id >= V)
            return pb_fail(PB_DATA, "token id %d at batch row %d, position %d is outside the vocabulary (0..%d)", id,
                           bt / T, bt % T, V - 1);
        memcpy(out + (size_t)bt * C, wte + (size_t)id * C, sizeof(float) * C);
    }
    return PB_OK;
}

void embedding_backward(float *dwte, const float *dout, const int32_t *ids, int B, int T, int C) {
    for (int bt = 0; bt < B * T; bt++) {
        float *row = dwte + (size_t)ids[bt] * C;
        const float *d = dout + (size_t)bt * C;
        for (int c = 0; c < C; c++) row[c] += d[c];
    }
}
