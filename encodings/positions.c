/* positions.c: the hooks at positions given as a map (encoding.h,
 * "positions as a map"): each window's map is cut into runs of consecutive
 * positions, and each hook is called once per run with the run's start. */
#include "encoding.h"

/* End of the run of consecutive positions that starts at index t0 (< end). */
static int run_end(const int *map, int t0, int end) {
    int t = t0 + 1;
    while (t < end && map[t] == map[t - 1] + 1) t++;
    return t;
}

PbStatus encoding_check_map(const Encoding *e, Positions p, int B, int T) {
    if (!p.map) return encoding_check_positions(e, p.pos0, T);
    if (T <= 0) return encoding_check_positions(e, 0, T);
    int last = 0;
    for (int b = 0; b < B; b++) {
        const int *w = p.map + (size_t)b * T;
        if (w[0] < 0)
            return pb_fail(PB_RANGE, "encoding '%s': window %d starts at negative position %d", e->module->name, b,
                           w[0]);
        for (int t = 1; t < T; t++)
            if (w[t] <= w[t - 1])
                return pb_fail(PB_RANGE,
                               "encoding '%s': the positions of window %d must increase, but token %d sits at %d "
                               "after %d",
                               e->module->name, b, t, w[t], w[t - 1]);
        if (w[T - 1] > last) last = w[T - 1];
    }
    return encoding_check_positions(e, 0, last + 1);
}

/* Walks the runs of every window of a map in order: each call gives the
 * next run's first token (its row b*T + t0 of the batch), length and start
 * position; 0 when none is left. */
typedef struct {
    int b, t0;
} RunCursor;

static int next_run(Positions p, int B, int T, RunCursor *c, size_t *row, int *n, int *start) {
    if (c->t0 >= T) c->b++, c->t0 = 0;
    if (c->b >= B || T <= 0) return 0;
    const int *w = p.map + (size_t)c->b * T, t1 = run_end(w, c->t0, T);
    *row = (size_t)c->b * T + c->t0, *n = t1 - c->t0, *start = w[c->t0];
    c->t0 = t1;
    return 1;
}

PbStatus encoding_embed_forward_at(const Encoding *e, float *x, int B, int T, Positions p) {
    PbStatus st = encoding_check_map(e, p, B, T);
    if (st || !e->module->embed_forward) return st;
    if (!p.map) return e->module->embed_forward(e, x, B, T, p.pos0), PB_OK;
    size_t row;
    int n, start;
    for (RunCursor c = {0, 0}; next_run(p, B, T, &c, &row, &n, &start);)
        e->module->embed_forward(e, x + row * (size_t)e->cfg.dim, 1, n, start);
    return PB_OK;
}

PbStatus encoding_embed_backward_at(Encoding *e, const float *dx, int B, int T, Positions p) {
    PbStatus st = encoding_check_map(e, p, B, T);
    if (st || !e->module->embed_backward) return st;
    if (!p.map) return e->module->embed_backward(e, dx, B, T, p.pos0), PB_OK;
    size_t row;
    int n, start;
    for (RunCursor c = {0, 0}; next_run(p, B, T, &c, &row, &n, &start);)
        e->module->embed_backward(e, dx + row * (size_t)e->cfg.dim, 1, n, start);
    return PB_OK;
}

PbStatus encoding_rotate_forward_at(const Encoding *e, float *q, float *k, int ld, int B, int T, Positions p) {
    PbStatus st = encoding_check_map(e, p, B, T);
    if (st || !e->module->rotate_forward) return st;
    if (!p.map) return e->module->rotate_forward(e, q, k, ld, B, T, p.pos0), PB_OK;
    size_t row;
    int n, start;
    for (RunCursor c = {0, 0}; next_run(p, B, T, &c, &row, &n, &start);)
        e->module->rotate_forward(e, q + row * (size_t)ld, k + row * (size_t)ld, ld, 1, n, start);
    return PB_OK;
}

PbStatus encoding_rotate_backward_at(Encoding *e, float *dq, float *dk, int ld, int B, int T, Positions p) {
    PbStatus st = encoding_check_map(e, p, B, T);
    if (st || !e->module->rotate_backward) return st;
    if (!p.map) return e->module->rotate_backward(e, dq, dk, ld, B, T, p.pos0), PB_OK;
    size_t row;
    int n, start;
    for (RunCursor c = {0, 0}; next_run(p, B, T, &c, &row, &n, &start);)
        e->module->rotate_backward(e, dq + row * (size_t)ld, dk + row * (size_t)ld, ld, 1, n, start);
    return PB_OK;
}

void encoding_bias_keys(const Encoding *e, float *logits, int h, Positions w, int i, int j0, int j1) {
    const EncodingModule *m = e->module;
    if (!m->bias_forward || j0 >= j1) return;
    if (!w.map) {
        m->bias_forward(e, logits, h, w.pos0 + i, w.pos0 + j0, w.pos0 + j1);
        return;
    }
    for (int t0 = j0, t1; t0 < j1; t0 = t1) {
        t1 = run_end(w.map, t0, j1);
        m->bias_forward(e, logits + (t0 - j0), h, w.map[i], w.map[t0], w.map[t0] + (t1 - t0));
    }
}

void encoding_bias_keys_backward(Encoding *e, const float *dlogits, int h, Positions w, int i, int j0, int j1) {
    const EncodingModule *m = e->module;
    if (!m->bias_backward || j0 >= j1) return;
    if (!w.map) {
        m->bias_backward(e, dlogits, h, w.pos0 + i, w.pos0 + j0, w.pos0 + j1);
        return;
    }
    for (int t0 = j0, t1; t0 < j1; t0 = t1) {
        t1 = run_end(w.map, t0, j1);
        m->bias_backward(e, dlogits + (t0 - j0), h, w.map[i], w.map[t0], w.map[t0] + (t1 - t0));
    }
}

void encoding_score_keys(const Encoding *e, float *logits, const float *q_i, const float *k, int ld, int h, Positions w,
                         int i, int j0, int j1) {
    const EncodingModule *m = e->module;
    if (!m->score_forward) return;
    if (!w.map || m->score_keys_to_query) {
        const int p0 = w.map ? 0 : w.pos0;
        m->score_forward(e, logits, q_i, k, ld, h, p0 + i, p0 + j0, p0 + j1);
        return;
    }
    for (int t0 = j0, t1; t0 < j1; t0 = t1) {
        t1 = run_end(w.map, t0, j1);
        m->score_forward(e, logits + (t0 - j0), q_i, k + (size_t)(t0 - j0) * ld, ld, h, w.map[i], w.map[t0],
                         w.map[t0] + (t1 - t0));
    }
}

void encoding_score_keys_backward(Encoding *e, const float *dlogits, const float *q_i, const float *k, int ld,
                                  float *dq_i, float *dk, int ldk, int h, Positions w, int i, int j0, int j1) {
    const EncodingModule *m = e->module;
    if (!m->score_backward) return;
    if (!w.map || m->score_keys_to_query) {
        const int p0 = w.map ? 0 : w.pos0;
        m->score_backward(e, dlogits, q_i, k, ld, dq_i, dk, ldk, h, p0 + i, p0 + j0, p0 + j1);
        return;
    }
    for (int t0 = j0, t1; t0 < j1; t0 = t1) {
        t1 = run_end(w.map, t0, j1);
        m->score_backward(e, dlogits + (t0 - j0), q_i, k + (size_t)(t0 - j0) * ld, ld, dq_i,
                          dk + (size_t)(t0 - j0) * ldk, ldk, h, w.map[i], w.map[t0], w.map[t0] + (t1 - t0));
    }
}
