/* token_stream.h: a corpus (built-in name or file) turned into token ids, the
 * first step of every command that batches, trains or evaluates. */
#ifndef POSBENCH_TOKEN_STREAM_H
#define POSBENCH_TOKEN_STREAM_H

#include "tokenizer.h"

typedef struct {
    size_t n_bytes;        /* text size */
    double encode_seconds; /* wall time of the tokenizer alone */
    int vocab_size;
} TokenStreamInfo;

/* Loads `data` (see corpus_load) and encodes it with tokenizer `tokenizer`
 * ("gpt2" or "bytes") into ids (appending). info may be NULL. */
PbStatus token_stream_load(IdBuf *ids, const char *data, const char *tokenizer, TokenStreamInfo *info);

/* The data identity results files record and resumes compare (a train
 * checkpoint's and a generalize file's ids_sha256): SHA-256, as 64 hex
 * digits, of ids[0..n) as little-endian int32 (this build's layout). */
void token_stream_sha256(char hex[65], const int32_t *ids, size_t n);

/* Seconds from a monotonic clock. */
double now_seconds(void);

#endif
