/* loader.h: sliding-window batches over a token stream, as in the seed notebook.
 *
 * Window w starts at s_w = w * stride for every s_w < N - context (Python's
 * range(0, N - context, stride)); its inputs are ids[s_w : s_w + context] and
 * its targets ids[s_w + 1 : s_w + context + 1]. Windows go out in order, or
 * shuffled by a Fisher-Yates permutation drawn from PCG32 (core/rng.h) seeded
 * with (seed, stream 0x5eed); each new epoch draws a new permutation from the
 * same generator. drop_last (the default) drops a final partial batch.
 * Shapes: inputs, targets [batch, context].
 */
#ifndef POSBENCH_LOADER_H
#define POSBENCH_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/rng.h"
#include "../core/status.h"

typedef struct {
    int batch;
    int context;
    int stride;
    int shuffle;   /* 0: windows in order */
    uint64_t seed; /* used when shuffle */
    int drop_last; /* 1: drop a final partial batch */
} LoaderConfig;

typedef struct {
    LoaderConfig cfg;
    const int32_t *ids; /* borrowed, [n_ids] */
    size_t n_ids;
    size_t n_windows;
    size_t *order; /* [n_windows] window order when shuffled, else NULL */
    size_t next;   /* next window, index into the order */
    Rng rng;
} Loader;

/* Validates the config against the stream: PB_RANGE for non-positive sizes,
 * PB_DATA when the text gives no window (or no full batch with drop_last). */
PbStatus loader_init(Loader *l, const int32_t *ids, size_t n_ids, LoaderConfig cfg);
void loader_free(Loader *l);

/* Batches per epoch. */
size_t loader_num_batches(const Loader *l);

/* Fills the next batch; returns its rows (batch, or fewer for a final partial
 * batch without drop_last), 0 at the end of the epoch. */
int loader_next(Loader *l, int32_t *inputs, int32_t *targets);

/* Starts a new epoch (a fresh permutation when shuffled). */
void loader_rewind(Loader *l);

#endif
