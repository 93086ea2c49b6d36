/* token_stream.c: corpus -> ids, timing the tokenizer alone; the ids' SHA-256. */
#include "token_stream.h"

#include <time.h>

#include "../core/sha256.h"
#include "corpus.h"

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void token_stream_sha256(char hex[65], const int32_t *ids, size_t n) { sha256_hex(hex, ids, n * sizeof *ids); }

PbStatus token_stream_load(IdBuf *ids, const char *data, const char *tokenizer, TokenStreamInfo *info) {
    ByteBuf text = {0};
    Tokenizer *tok = NULL;
    PbStatus st = corpus_load(&text, data);
    if (!st) st = tokenizer_open(&tok, tokenizer);
    double t0 = now_seconds();
    if (!st) st = tokenizer_encode(tok, ids, text.data, text.len);
    if (!st && info)
        *info = (TokenStreamInfo){
            .n_bytes = text.len, .encode_seconds = now_seconds() - t0, .vocab_size = tokenizer_vocab_size(tok)};
    tokenizer_free(tok);
    bytebuf_free(&text);
    return st;
}
