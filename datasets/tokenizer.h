/* tokenizer.h: text <-> token ids, one interface over two tokenizers.
 *
 *   gpt2   OpenAI's GPT-2 byte-level BPE (Radford et al. 2019): ids equal
 *          tiktoken's "gpt2" encoding; "<|endoftext|>" is the special id 50256;
 *          vocabulary 50257. Needs encoder.json and vocab.bpe from the set-up
 *          cache (core/paths.h), verified by SHA-256 when loaded.
 *   bytes  one id per byte (vocabulary 256), for small experiments.
 *
 * decode(encode(x)) == x for any bytes x, valid UTF-8 or not.
 */
#ifndef POSBENCH_TOKENIZER_H
#define POSBENCH_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/io.h"
#include "../core/status.h"

#define GPT2_VOCAB_SIZE 50257
#define GPT2_EOT_ID 50256
#define GPT2_EOT_TEXT "<|endoftext|>"

/* Growable array of token ids. */
typedef struct {
    int32_t *data;
    size_t len;
    size_t cap;
} IdBuf;

PbStatus idbuf_push(IdBuf *b, int32_t id);
PbStatus idbuf_reserve(IdBuf *b, size_t extra);
void idbuf_free(IdBuf *b);

typedef struct Tokenizer Tokenizer;

/* Opens a tokenizer by name: "gpt2" or "bytes". For gpt2 the vocabulary is
 * read from the set-up cache; a missing or altered file is PB_SETUP with a
 * message naming the file and the set-up command. */
PbStatus tokenizer_open(Tokenizer **out, const char *name);

/* Opens the gpt2 tokenizer from explicit file paths (tests, fuzzing). */
PbStatus tokenizer_open_gpt2(Tokenizer **out, const char *encoder_json_path, const char *vocab_bpe_path);

void tokenizer_free(Tokenizer *t);

const char *tokenizer_name(const Tokenizer *t);
int tokenizer_vocab_size(const Tokenizer *t);

/* Appends the ids of text[0..n) to out. Not thread-safe: the gpt2 tokenizer
 * caches the ids of words it has seen. */
PbStatus tokenizer_encode(Tokenizer *t, IdBuf *out, const uint8_t *text, size_t n);

/* Appends the bytes of ids[0..n) to out; an id outside the vocabulary is
 * PB_DATA naming the id and its index. */
PbStatus tokenizer_decode(const Tokenizer *t, ByteBuf *out, const int32_t *ids, size_t n);

#endif
