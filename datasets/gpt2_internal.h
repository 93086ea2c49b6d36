/* gpt2_internal.h: the GPT-2 tokenizer's private pieces, shared by
 * tokenizer.c, gpt2_vocab.c, gpt2_bpe.c and the tests (not a public API).
 *
 *   Gpt2Vocab    the vocabulary: per-id byte strings, bytes -> id lookup, and
 *                the pair table (left id, right id) -> merged id.
 *                Built by gpt2_vocab.c from encoder.json and vocab.bpe.
 *   Gpt2Encoder  text -> ids: the pre-tokenizer regex (PCRE2), the BPE merge
 *                loop and a bounded piece -> ids cache. gpt2_bpe.c.
 *
 * Ranks: as in tiktoken, a token's merge rank is its id (the 256 byte tokens
 * first, then merge line i of vocab.bpe makes id 256 + i; gpt2_vocab.c checks
 * the files agree), so the pair table's value is both rank and result.
 */
#ifndef POSBENCH_GPT2_INTERNAL_H
#define POSBENCH_GPT2_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tokenizer.h"

/* Expected content of the set-up cache files (tools/setup pins the same). */
#define GPT2_ENCODER_SHA256 "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
#define GPT2_ENCODER_BYTES 1042301
#define GPT2_VOCAB_SHA256 "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
#define GPT2_VOCAB_BYTES 456318
#define GPT2_N_MERGES (GPT2_VOCAB_SIZE - 256 - 1)

typedef struct {
    /* Token id -> bytes: tok_bytes[tok_off[id] .. tok_off[id + 1]). */
    uint8_t *tok_bytes;
    uint32_t *tok_off;    /* [GPT2_VOCAB_SIZE + 1] */
    int32_t byte_id[256]; /* id of each single-byte token */
    /* Bytes -> id, open addressing (id -1 empty); the high half of the hash
     * is kept as a tag so a probe rarely touches the token bytes. The special
     * token is left out, as it is never the result of a merge. */
    struct {
        int32_t id;
        uint32_t tag;
    } * find_slots;
    size_t find_mask;
    /* (left << 32 | right) -> merged id, open addressing (UINT64_MAX empty).
     * Holds every split of every token into two tokens, because tiktoken ranks
     * a pair by the bytes it would make, not by the merge line that made them. */
    uint64_t *pair_keys;
    int32_t *pair_vals;
    size_t pair_mask;
    size_t n_pairs;
} Gpt2Vocab;

/* Reads and SHA-256-verifies both files, then parses them. Missing, truncated
 * or altered files are PB_SETUP naming the file and the set-up command. */
PbStatus gpt2_vocab_load(Gpt2Vocab *v, const char *encoder_json_path, const char *vocab_bpe_path);

/* Parses file contents without the SHA-256 check (tests feed it malformed
 * content). The names are used only in messages. Malformed content is
 * PB_DATA naming the file and the line or byte offset. */
PbStatus gpt2_vocab_parse(Gpt2Vocab *v, const uint8_t *enc, size_t enc_len, const char *enc_name, const uint8_t *bpe,
                          size_t bpe_len, const char *bpe_name);

void gpt2_vocab_free(Gpt2Vocab *v);

/* A fast 64-bit hash of a short byte string (token lookup and piece cache). */
static inline uint64_t gpt2_hash_bytes(const uint8_t *s, size_t n) {
    uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ull, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull; /* then murmur3's finalizer: all bits mix */
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    return h ^ (h >> 33);
}

/* Id of the token with exactly these bytes, or -1 (special token excluded). */
int32_t gpt2_vocab_find(const Gpt2Vocab *v, const uint8_t *s, size_t n);

/* The merged id of the adjacent pair (left, right), or -1 if none. */
static inline int32_t gpt2_vocab_pair(const Gpt2Vocab *v, int32_t left, int32_t right) {
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & v->pair_mask;
    for (;; i = (i + 1) & v->pair_mask) {
        if (v->pair_keys[i] == key) return v->pair_vals[i];
        if (v->pair_keys[i] == UINT64_MAX) return -1;
    }
}

/* Which merge loop to run (tests compare the two). */
typedef enum {
    GPT2_MERGE_AUTO, /* scan for short pieces, heap for long ones */
    GPT2_MERGE_SCAN, /* tiktoken's loop: rescan for the leftmost lowest rank */
    GPT2_MERGE_HEAP  /* the same order from a binary heap: O(n log n) */
} Gpt2MergeAlgo;

typedef struct Gpt2Encoder Gpt2Encoder;

/* The encoder borrows `v`, which must outlive it. */
PbStatus gpt2_encoder_new(Gpt2Encoder **out, const Gpt2Vocab *v);
void gpt2_encoder_free(Gpt2Encoder *e);

/* Appends the ids of text[0..n): "<|endoftext|>" becomes GPT2_EOT_ID, the
 * rest is pre-tokenized and each piece byte-pair encoded. */
PbStatus gpt2_encode(Gpt2Encoder *e, IdBuf *out, const uint8_t *text, size_t n);

/* Byte-pair encodes one piece (no pre-tokenization, no cache). */
PbStatus gpt2_bpe_merge(Gpt2Encoder *e, IdBuf *out, const uint8_t *piece, size_t n, Gpt2MergeAlgo algo);

/* Appends the bytes of ids[0..n); an id outside the vocabulary is PB_DATA. */
PbStatus gpt2_decode(const Gpt2Vocab *v, ByteBuf *out, const int32_t *ids, size_t n);

#endif
