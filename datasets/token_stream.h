/* token_stream.h: a corpus (built-in name or file) turned into token ids, the
 * first step of every command that batches, trains or evaluates. */
#ifndef POSBENCH_TOKEN_STREAM_H
#define POSBENCH_TOKEN_STREAM_H

#include "tokenizer.h"

typedef struct {
    size_t n_bytes;         /* text size */
    double encode_seconds;  /* wall time of the tokenizer alone */
    int vocab_size;
} TokenStreamInfo;

/* Loads `data` (see corpus_load) and encodes it with tokenizer `tokenizer`
 * ("gpt2" or "bytes") into ids (appending). info may be NULL. */
PbStatus token_stream_load(IdBuf *ids, const char *data, const char *tokenizer,
                           TokenStreamInfo *info);

/* Seconds from a monotonic clock. */
double now_seconds(void);

#endif
