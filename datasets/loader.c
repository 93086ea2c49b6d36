/* loader.c: sliding-window batching (see loader.h for the exact semantics). */
#include "loader.h"

#include <stdlib.h>
#include <string.h>

static void shuffle_order(Loader *l) {
    for (size_t i = 0; i < l->n_windows; i++) l->order[i] = i;
    for (size_t i = l->n_windows; i > 1; i--) {
        /* Windows beyond 2^32 would need a wider draw; refused at init. */
        size_t j = rng_below(&l->rng, (uint32_t)i);
        size_t tmp = l->order[i - 1];
        l->order[i - 1] = l->order[j];
        l->order[j] = tmp;
    }
}

PbStatus loader_init(Loader *l, const int32_t *ids, size_t n_ids, LoaderConfig cfg) {
    *l = (Loader){.cfg = cfg, .ids = ids, .n_ids = n_ids};
    if (cfg.batch <= 0) return pb_fail(PB_RANGE, "batch size must be positive, got %d", cfg.batch);
    if (cfg.context <= 0) return pb_fail(PB_RANGE, "context must be positive, got %d", cfg.context);
    if (cfg.stride <= 0) return pb_fail(PB_RANGE, "stride must be positive, got %d", cfg.stride);
    if (n_ids <= (size_t)cfg.context)
        return pb_fail(PB_DATA,
                       "the text has %zu tokens, too short for one window of context %d "
                       "(needs at least %d tokens)",
                       n_ids, cfg.context, cfg.context + 1);
    size_t span = n_ids - (size_t)cfg.context;
    l->n_windows = (span + (size_t)cfg.stride - 1) / (size_t)cfg.stride;
    if (cfg.drop_last && l->n_windows < (size_t)cfg.batch)
        return pb_fail(PB_DATA,
                       "the text gives %zu windows (context %d, stride %d), fewer than one "
                       "batch of %d; use a smaller batch or keep the last partial batch",
                       l->n_windows, cfg.context, cfg.stride, cfg.batch);
    if (cfg.shuffle) {
        if (l->n_windows > UINT32_MAX) return pb_fail(PB_RANGE, "%zu windows are too many to shuffle", l->n_windows);
        l->order = pb_calloc(l->n_windows, sizeof *l->order, "the window order");
        if (!l->order) return PB_NOMEM;
        rng_seed(&l->rng, cfg.seed, 0x5eed);
        shuffle_order(l);
    }
    return PB_OK;
}

void loader_free(Loader *l) {
    free(l->order);
    l->order = NULL;
}

size_t loader_num_batches(const Loader *l) {
    size_t b = (size_t)l->cfg.batch;
    return l->cfg.drop_last ? l->n_windows / b : (l->n_windows + b - 1) / b;
}

int loader_next(Loader *l, int32_t *inputs, int32_t *targets) {
    size_t left = l->n_windows - l->next;
    size_t rows = left < (size_t)l->cfg.batch ? left : (size_t)l->cfg.batch;
    if (rows == 0 || (l->cfg.drop_last && rows < (size_t)l->cfg.batch)) return 0;
    const size_t T = (size_t)l->cfg.context;
    for (size_t r = 0; r < rows; r++, l->next++) {
        size_t w = l->order ? l->order[l->next] : l->next;
        const int32_t *src = l->ids + w * (size_t)l->cfg.stride;
        memcpy(inputs + r * T, src, T * sizeof *src);
        memcpy(targets + r * T, src + 1, T * sizeof *src);
    }
    return (int)rows;
}

void loader_rewind(Loader *l) {
    l->next = 0;
    if (l->order) shuffle_order(l);
}
