/* idbuf.c: growable array of token ids. */
#include <stdlib.h>

#include "tokenizer.h"

PbStatus idbuf_reserve(IdBuf *b, size_t extra) {
    if (b->len + extra <= b->cap) return PB_OK;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra) cap *= 2;
    int32_t *p = realloc(b->data, cap * sizeof *p);
    if (!p) return pb_fail(PB_NOMEM, "cannot grow the token id buffer to %zu ids", cap);
    b->data = p;
    b->cap = cap;
    return PB_OK;
}

PbStatus idbuf_push(IdBuf *b, int32_t id) {
    if (b->len == b->cap) {
        PbStatus st = idbuf_reserve(b, 1);
        if (st) return st;
    }
    b->data[b->len++] = id;
    return PB_OK;
}

void idbuf_free(IdBuf *b) {
    free(b->data);
    *b = (IdBuf){0};
}
