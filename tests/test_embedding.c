/* test_embedding.c: token lookup and its gradient, against direct indexing
 * and central differences; out-of-range ids are refused, not read. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../encodings/embedding.h"
#include "check.h"

enum { V = 11, C = 5, B = 3, T = 4 };

int main(void) {
    Rng rng;
    rng_seed(&rng, 7, 0);
    float wte[V * C], out[B * T * C], dout[B * T * C], dwte[V * C];
    int32_t ids[B * T];
    embedding_init(wte, V, C, &rng);
    for (int i = 0; i < B * T; i++) ids[i] = (int32_t)rng_below(&rng, V);
    ids[0] = ids[5] = 3; /* a repeated id must accumulate its gradient */

    CHECK_OK(embedding_forward(out, ids, wte, B, T, C, V));
    for (int bt = 0; bt < B * T; bt++)
        for (int c = 0; c < C; c++) CHECK(out[bt * C + c] == wte[ids[bt] * C + c], "out[%d,%d]", bt, c);

    /* Loss L = sum(w * out); dL/dwte by backward vs central differences. */
    for (int i = 0; i < B * T * C; i++) dout[i] = rng_normal(&rng);
    memset(dwte, 0, sizeof dwte);
    embedding_backward(dwte, dout, ids, B, T, C);
    for (int i = 0; i < V * C; i++) {
        double loss[2];
        float saved = wte[i];
        for (int s = 0; s < 2; s++) {
            wte[i] = saved + (s ? -1e-2f : 1e-2f);
            embedding_forward(out, ids, wte, B, T, C, V);
            loss[s] = 0;
            for (int k = 0; k < B * T * C; k++) loss[s] += (double)dout[k] * out[k];
        }
        wte[i] = saved;
        double numeric = (loss[0] - loss[1]) / 2e-2;
        CHECK(fabs(numeric - dwte[i]) < 1e-3 * (1 + fabs(numeric)), "dwte[%d]: %g vs numeric %g", i, dwte[i], numeric);
    }

    /* N(0,1) init: mean and variance of a large table. */
    enum { BIG = 200000 };
    float *big = malloc(BIG * sizeof *big);
    embedding_init(big, BIG / 8, 8, &rng);
    double mean = 0, var = 0;
    for (int i = 0; i < BIG; i++) mean += big[i];
    mean /= BIG;
    for (int i = 0; i < BIG; i++) var += (big[i] - mean) * (big[i] - mean);
    var /= BIG;
    CHECK(fabs(mean) < 0.01 && fabs(var - 1) < 0.02, "N(0,1) init: mean %g var %g", mean, var);
    free(big);

    /* Out-of-range ids: an error naming the id, nothing read past the table. */
    ids[7] = V;
    CHECK(embedding_forward(out, ids, wte, B, T, C, V) == PB_DATA, "id V accepted");
    CHECK(strstr(pb_errmsg(), "11") != NULL, "message should name the id: %s", pb_errmsg());
    ids[7] = -1;
    CHECK(embedding_forward(out, ids, wte, B, T, C, V) == PB_DATA, "id -1 accepted");
    return check_exit_code("embedding");
}
