/* capture_sink.h: a TensorSink that keeps copies of what an encoding exports,
 * so tests can compare exported tensors with the hooks and the formulas. */
#ifndef POSBENCH_TESTS_CAPTURE_SINK_H
#define POSBENCH_TESTS_CAPTURE_SINK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../encodings/encoding.h"

/* A TensorSink that keeps copies of what it is given. */
typedef struct {
    char name[64];
    int is_int, rank, dims[4];
    size_t count;
    float *f;
    int *i;
} Captured;

typedef struct {
    TensorSink sink;
    Captured t[16];
    int n, rejected;
} Capture;

static inline PbStatus capture_put(TensorSink *s, const char *name, const void *data, size_t elem, int is_int, int rank,
                                   const int *dims) {
    Capture *cap = s->ctx;
    if (cap->n == (int)(sizeof cap->t / sizeof cap->t[0]) || rank < 1 || rank > 4) {
        cap->rejected++;
        return pb_fail(PB_INTERNAL, "test sink: cannot keep tensor '%s' of rank %d", name, rank);
    }
    Captured *t = &cap->t[cap->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->is_int = is_int;
    t->rank = rank;
    t->count = 1;
    for (int d = 0; d < rank; d++) {
        t->dims[d] = dims[d];
        t->count *= dims[d] > 0 ? (size_t)dims[d] : 0;
    }
    void *copy = malloc(t->count * elem + 1);
    memcpy(copy, data, t->count * elem);
    if (is_int) t->i = copy;
    else t->f = copy;
    return PB_OK;
}

static inline PbStatus capture_float(TensorSink *s, const char *name, const float *data, int rank, const int *dims) {
    return capture_put(s, name, data, sizeof *data, 0, rank, dims);
}

static inline PbStatus capture_int(TensorSink *s, const char *name, const int *data, int rank, const int *dims) {
    return capture_put(s, name, data, sizeof *data, 1, rank, dims);
}

static inline void capture_init(Capture *cap) {
    memset(cap, 0, sizeof *cap);
    cap->sink = (TensorSink){capture_float, capture_int, cap};
}

static inline const Captured *capture_get(const Capture *cap, const char *name) {
    for (int i = 0; i < cap->n; i++)
        if (strcmp(cap->t[i].name, name) == 0) return &cap->t[i];
    return NULL;
}

static inline void capture_free(Capture *cap) {
    for (int i = 0; i < cap->n; i++) free(cap->t[i].f), free(cap->t[i].i);
    cap->n = 0;
}

#endif
