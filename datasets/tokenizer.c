/* tokenizer.c: the tokenizer interface (tokenizer.h) over its two kinds.
 *
 * Each kind is a const table of functions, listed once in `kinds` below;
 * the GPT-2 work lives in gpt2_vocab.c (vocabulary, decoding) and
 * gpt2_bpe.c (pre-tokenizer and byte-pair encoding).
 */
#include <stdlib.h>
#include <string.h>

#include "../core/paths.h"
#include "gpt2_internal.h"
#include "tokenizer.h"

typedef struct {
    const char *name;
    int vocab_size;
    PbStatus (*open)(Tokenizer **out); /* by name, from the set-up cache */
    PbStatus (*encode)(Tokenizer *t, IdBuf *out, const uint8_t *text, size_t n);
    PbStatus (*decode)(const Tokenizer *t, ByteBuf *out, const int32_t *ids, size_t n);
} TokenizerKind;

struct Tokenizer {
    const TokenizerKind *kind;
    Gpt2Vocab vocab;  /* gpt2 only */
    Gpt2Encoder *enc; /* gpt2 only */
};

/* ---- bytes: id = byte value ---------------------------------------------- */

static PbStatus bytes_encode(Tokenizer *t, IdBuf *out, const uint8_t *text, size_t n) {
    (void)t;
    PbStatus st = idbuf_reserve(out, n);
    if (st) return st;
    for (size_t i = 0; i < n; i++) out->data[out->len + i] = text[i];
    out->len += n;
    return PB_OK;
}

static PbStatus bytes_decode(const Tokenizer *t, ByteBuf *out, const int32_t *ids, size_t n) {
    (void)t;
    for (size_t i = 0; i < n; i++) /* check all first: nothing appended on error */
        if (ids[i] < 0 || ids[i] > 255)
            return pb_fail(PB_DATA,
                           "cannot decode token id %d at index %zu: bytes ids are "
                           "0..255",
                           ids[i], i);
    PbStatus st = bytebuf_reserve(out, n);
    if (st) return st;
    for (size_t i = 0; i < n; i++) out->data[out->len + i] = (uint8_t)ids[i];
    out->len += n;
    out->data[out->len] = 0;
    return PB_OK;
}

static PbStatus bytes_open(Tokenizer **out);

static const TokenizerKind bytes_kind = {"bytes", 256, bytes_open, bytes_encode, bytes_decode};

static PbStatus bytes_open(Tokenizer **out) {
    Tokenizer *t = pb_calloc(1, sizeof *t, "the bytes tokenizer");
    if (!t) return PB_NOMEM;
    t->kind = &bytes_kind;
    *out = t;
    return PB_OK;
}

/* ---- gpt2 ---------------------------------------------------------------- */

static PbStatus gpt2_kind_encode(Tokenizer *t, IdBuf *out, const uint8_t *text, size_t n) {
    return gpt2_encode(t->enc, out, text, n);
}

static PbStatus gpt2_kind_decode(const Tokenizer *t, ByteBuf *out, const int32_t *ids, size_t n) {
    return gpt2_decode(&t->vocab, out, ids, n);
}

static PbStatus gpt2_open_cache(Tokenizer **out) {
    char enc[4096], bpe[4096];
    if (data_path(enc, sizeof enc, "gpt2/encoder.json") || data_path(bpe, sizeof bpe, "gpt2/vocab.bpe"))
        return pb_fail(PB_USAGE, "data directory path too long: '%s'", data_dir());
    return tokenizer_open_gpt2(out, enc, bpe);
}

static const TokenizerKind gpt2_kind = {"gpt2", GPT2_VOCAB_SIZE, gpt2_open_cache, gpt2_kind_encode, gpt2_kind_decode};

PbStatus tokenizer_open_gpt2(Tokenizer **out, const char *encoder_json_path, const char *vocab_bpe_path) {
    *out = NULL;
    Tokenizer *t = pb_calloc(1, sizeof *t, "the gpt2 tokenizer");
    if (!t) return PB_NOMEM;
    t->kind = &gpt2_kind;
    PbStatus st = gpt2_vocab_load(&t->vocab, encoder_json_path, vocab_bpe_path);
    if (!st) st = gpt2_encoder_new(&t->enc, &t->vocab);
    if (st) {
        tokenizer_free(t);
        return st;
    }
    *out = t;
    return PB_OK;
}

/* ---- the interface ------------------------------------------------------- */

static const TokenizerKind *const kinds[] = {&gpt2_kind, &bytes_kind, NULL};

PbStatus tokenizer_open(Tokenizer **out, const char *name) {
    *out = NULL;
    for (int i = 0; kinds[i]; i++)
        if (name && strcmp(name, kinds[i]->name) == 0) return kinds[i]->open(out);
    return pb_fail(PB_USAGE, "unknown tokenizer '%s': choose gpt2 or bytes", name ? name : "(null)");
}

void tokenizer_free(Tokenizer *t) {
    if (!t) return;
    gpt2_encoder_free(t->enc);
    gpt2_vocab_free(&t->vocab);
    free(t);
}

const char *tokenizer_name(const Tokenizer *t) { return t->kind->name; }

int tokenizer_vocab_size(const Tokenizer *t) { return t->kind->vocab_size; }

PbStatus tokenizer_encode(Tokenizer *t, IdBuf *out, const uint8_t *text, size_t n) {
    return t->kind->encode(t, out, text, n);
}

PbStatus tokenizer_decode(const Tokenizer *t, ByteBuf *out, const int32_t *ids, size_t n) {
    return t->kind->decode(t, out, ids, n);
}
