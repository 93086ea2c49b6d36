/* test_loader.c: the sliding-window loader against an independent statement
 * of the notebook's semantics, and the notebook's own printed numbers. */
#include <stdlib.h>
#include <string.h>

#include "../datasets/loader.h"
#include "../datasets/token_stream.h"
#include "check.h"
#include "verdict.h"

/* Reference: Python's `for i in range(0, n - T, S)`, written out directly. */
static size_t reference_windows(size_t n, int T, int S, size_t *starts, size_t cap) {
    size_t count = 0;
    for (long long i = 0; i < (long long)n - T; i += S) {
        if (count < cap) starts[count] = (size_t)i;
        count++;
    }
    return count;
}

static void check_in_order(size_t n, int B, int T, int S, int drop_last) {
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)(i * 7 + 3);
    size_t starts[4096];
    size_t nw = reference_windows(n, T, S, starts, 4096);
    Loader l;
    LoaderConfig cfg = {.batch = B, .context = T, .stride = S, .drop_last = drop_last};
    PbStatus st = loader_init(&l, ids, n, cfg);
    size_t expect_batches = drop_last ? nw / B : (nw + B - 1) / B;
    if (nw == 0 || (drop_last && nw < (size_t)B)) {
        CHECK(st == PB_DATA, "n=%zu T=%d S=%d B=%d: expected PB_DATA, got %s", n, T, S, B, pb_status_name(st));
        free(ids);
        return;
    }
    CHECK_OK(st);
    CHECK(l.n_windows == nw, "n=%zu T=%d S=%d: %zu windows, reference %zu", n, T, S, l.n_windows, nw);
    CHECK(loader_num_batches(&l) == expect_batches, "batches %zu, expected %zu", loader_num_batches(&l),
          expect_batches);
    int32_t *x = malloc((size_t)B * T * sizeof *x), *y = malloc((size_t)B * T * sizeof *y);
    size_t w = 0, batches = 0;
    int rows;
    while ((rows = loader_next(&l, x, y)) > 0) {
        batches++;
        for (int r = 0; r < rows; r++, w++)
            for (int t = 0; t < T; t++) {
                CHECK(x[r * T + t] == ids[starts[w] + t], "input window %zu pos %d", w, t);
                CHECK(y[r * T + t] == ids[starts[w] + t + 1], "target window %zu pos %d", w, t);
            }
    }
    CHECK(batches == expect_batches, "yielded %zu batches, expected %zu", batches, expect_batches);
    loader_free(&l);
    free(x);
    free(y);
    free(ids);
}

static void check_shuffle(void) {
    enum { N = 1000, B = 4, T = 8 };
    int32_t ids[N];
    for (int i = 0; i < N; i++) ids[i] = i;
    LoaderConfig cfg = {.batch = B, .context = T, .stride = 3, .shuffle = 1, .seed = 42, .drop_last = 0};
    Loader a, b, c;
    CHECK_OK(loader_init(&a, ids, N, cfg));
    CHECK_OK(loader_init(&b, ids, N, cfg));
    cfg.seed = 43;
    CHECK_OK(loader_init(&c, ids, N, cfg));
    /* A permutation of all windows, identical for the same seed, different otherwise. */
    char *seen = calloc(a.n_windows, 1);
    int same_as_other_seed = 1, in_order = 1;
    for (size_t i = 0; i < a.n_windows; i++) {
        CHECK(a.order[i] == b.order[i], "same seed, different order at %zu", i);
        CHECK(a.order[i] < a.n_windows && !seen[a.order[i]], "not a permutation at %zu", i);
        if (a.order[i] < a.n_windows) seen[a.order[i]] = 1;
        if (a.order[i] != c.order[i]) same_as_other_seed = 0;
        if (a.order[i] != i) in_order = 0;
    }
    CHECK(!same_as_other_seed, "seeds 42 and 43 gave the same order");
    CHECK(!in_order, "shuffled order is the identity");
    /* Each batch row is the window named by the order. */
    int32_t x[B * T], y[B * T];
    CHECK(loader_next(&a, x, y) == B, "first shuffled batch not full");
    for (int r = 0; r < B; r++) CHECK(x[r * T] == (int32_t)(a.order[r] * 3), "row %d", r);
    /* A new epoch draws a new permutation. */
    size_t first[8];
    memcpy(first, a.order, sizeof first);
    loader_rewind(&a);
    CHECK(memcmp(first, a.order, sizeof first) != 0, "rewind kept the same permutation");
    free(seen);
    loader_free(&a);
    loader_free(&b);
    loader_free(&c);
}

static void check_errors(void) {
    int32_t ids[10] = {0};
    Loader l;
    LoaderConfig cfg = {.batch = 1, .context = 10, .stride = 1, .drop_last = 1};
    CHECK(loader_init(&l, ids, 10, cfg) == PB_DATA, "10 tokens, context 10 must be too short");
    CHECK(strstr(pb_errmsg(), "too short") != NULL, "message: %s", pb_errmsg());
    cfg.context = 0;
    CHECK(loader_init(&l, ids, 10, cfg) == PB_RANGE, "context 0 accepted");
    cfg = (LoaderConfig){.batch = 8, .context = 4, .stride = 4, .drop_last = 1};
    CHECK(loader_init(&l, ids, 10, cfg) == PB_DATA, "2 windows cannot fill a batch of 8");
    cfg.drop_last = 0;
    CHECK_OK(loader_init(&l, ids, 10, cfg));
    loader_free(&l);
}

/* The seed notebook (LLMs-from-scratch ch02) on the-verdict.txt, as printed there. */
static void check_notebook(const char *verdict) {
    IdBuf ids = {0};
    CHECK_OK(token_stream_load(&ids, verdict, "gpt2", NULL));
    CHECK(ids.len == 5145, "the-verdict.txt gives %zu tokens, the notebook 5145", ids.len);
    Loader l;
    LoaderConfig cfg = {.batch = 8, .context = 4, .stride = 4, .drop_last = 1};
    CHECK_OK(loader_init(&l, ids.data, ids.len, cfg));
    int32_t x[32], y[32];
    CHECK(loader_next(&l, x, y) == 8, "first batch not full");
    const int32_t want_x[8] = {40, 367, 2885, 1464, 1807, 3619, 402, 271};
    const int32_t want_y[4] = {367, 2885, 1464, 1807};
    for (int i = 0; i < 8; i++)
        CHECK(x[i] == want_x[i], "inputs[%d][%d] = %d, notebook %d", i / 4, i % 4, x[i], want_x[i]);
    for (int i = 0; i < 4; i++) CHECK(y[i] == want_y[i], "targets[0][%d] = %d, notebook %d", i, y[i], want_y[i]);
    loader_free(&l);
    idbuf_free(&ids);
}

int main(int argc, char **argv) {
    for (size_t n = 1; n <= 40; n++)
        for (int T = 1; T <= 6; T++)
            for (int S = 1; S <= 7; S += 2)
                for (int B = 1; B <= 3; B++) {
                    check_in_order(n, B, T, S, 1);
                    check_in_order(n, B, T, S, 0);
                }
    check_shuffle();
    check_errors();
    int v = verdict_available(argc > 1 ? argv[1] : NULL);
    if (v < 0) check_failures++;
    if (v > 0) check_notebook(argv[1]);
    return check_exit_code("loader");
}
