/* learned_absolute.c: a trainable position table added to token embeddings.
 *
 *   x[b,t,:] += P[pos0 + t, :]      P: [max_len, C], init N(0, 1)
 *
 * As in GPT-2 (Radford et al. 2019) and the seed notebook, whose
 * torch.nn.Embedding(context, C) draws its table from N(0, 1). The table knows
 * positions 0..max_len-1 only: longer requests are refused by the core
 * (encoding_check_positions) unless the caller chose the clamp fallback.
 */
#include "encoding.h"

static size_t la_num_params(const Encoding *e) { return (size_t)e->cfg.max_len * (size_t)e->cfg.dim; }

static PbStatus la_setup(Encoding *e) {
    if (e->cfg.max_len <= 0)
        return pb_fail(PB_RANGE, "encoding 'learned_absolute' needs a table size (max_len > 0), got %d",
                       e->cfg.max_len);
    return PB_OK;
}

static void la_init_params(Encoding *e, Rng *rng) {
    float std = e->cfg.init_std > 0 ? e->cfg.init_std : 1.0f;
    for (size_t i = 0; i < e->n_params; i++) e->params[i] = std * rng_normal(rng);
}

static int la_max_positions(const Encoding *e) { return e->cfg.max_len; }

static void la_embed_forward(const Encoding *e, float *x, int B, int T, int pos0) {
    const int C = e->cfg.dim;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *p = e->params + (size_t)encoding_table_row(pos0 + t, e->cfg.max_len) * C;
            float *xt = x + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) xt[c] += p[c];
        }
}

static void la_embed_backward(Encoding *e, const float *dx, int B, int T, int pos0) {
    const int C = e->cfg.dim;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *dp = e->dparams + (size_t)encoding_table_row(pos0 + t, e->cfg.max_len) * C;
            const float *dxt = dx + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) dp[c] += dxt[c];
        }
}

const EncodingModule encoding_learned_absolute = {
    .name = "learned_absolute",
    .summary = "trainable table added to token embeddings (GPT-2, Radford et al. 2019)",
    .num_params = la_num_params,
    .setup = la_setup,
    .init_params = la_init_params,
    .max_positions = la_max_positions,
    .embed_forward = la_embed_forward,
    .embed_backward = la_embed_backward,
};
