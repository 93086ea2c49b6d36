/* vocab_map.c: compact and identity vocabularies (see vocab_map.h). */
#include "vocab_map.h"

#include <stdlib.h>
#include <string.h>

static PbStatus alloc_to_model(VocabMap *m, int tokenizer_vocab) {
    if (tokenizer_vocab <= 0)
        return pb_fail(PB_RANGE, "vocabulary map: tokenizer vocabulary %d must be positive", tokenizer_vocab);
    m->tokenizer_vocab = tokenizer_vocab;
    m->to_model = pb_calloc((size_t)tokenizer_vocab, sizeof *m->to_model, "the vocabulary map");
    return m->to_model ? PB_OK : PB_NOMEM;
}

PbStatus vocab_map_identity(VocabMap *m, int tokenizer_vocab) {
    *m = (VocabMap){0};
    PbStatus st = alloc_to_model(m, tokenizer_vocab);
    if (st) return st;
    for (int i = 0; i < tokenizer_vocab; i++) m->to_model[i] = i;
    m->n_known = tokenizer_vocab;
    return PB_OK;
}

PbStatus vocab_map_from_known(VocabMap *m, int tokenizer_vocab, const int32_t *known, int n_known) {
    *m = (VocabMap){0};
    PbStatus st = alloc_to_model(m, tokenizer_vocab);
    if (st) return st;
    if (n_known < 0 || n_known > tokenizer_vocab) {
        vocab_map_free(m);
        return pb_fail(PB_DATA, "vocabulary map: %d known ids for a vocabulary of %d", n_known, tokenizer_vocab);
    }
    m->compact = 1;
    m->n_known = n_known;
    m->known = pb_calloc((size_t)n_known + 1, sizeof *m->known, "the vocabulary map");
    if (!m->known) return vocab_map_free(m), PB_NOMEM;
    for (int i = 0; i < tokenizer_vocab; i++) m->to_model[i] = n_known; /* unknown */
    for (int k = 0; k < n_known; k++) {
        if (known[k] < 0 || known[k] >= tokenizer_vocab || (k && known[k] <= known[k - 1])) {
            vocab_map_free(m);
            return pb_fail(PB_DATA,
                           "vocabulary map: entry %d (id %d) is not a strictly "
                           "increasing id within 0..%d",
                           k, (int)known[k], tokenizer_vocab - 1);
        }
        m->known[k] = known[k];
        m->to_model[known[k]] = k;
    }
    return PB_OK;
}

PbStatus vocab_map_build(VocabMap *m, int tokenizer_vocab, const int32_t *ids, size_t n) {
    *m = (VocabMap){0};
    if (tokenizer_vocab <= 0)
        return pb_fail(PB_RANGE, "vocabulary map: tokenizer vocabulary %d must be positive", tokenizer_vocab);
    unsigned char *seen = pb_calloc((size_t)tokenizer_vocab, 1, "the vocabulary census");
    int32_t *known = pb_calloc((size_t)tokenizer_vocab, sizeof *known, "the vocabulary map");
    PbStatus st = seen && known ? PB_OK : PB_NOMEM;
    for (size_t i = 0; !st && i < n; i++) {
        if (ids[i] < 0 || ids[i] >= tokenizer_vocab)
            st = pb_fail(PB_DATA,
                         "token id %d at index %zu is outside the tokenizer's "
                         "vocabulary (0..%d)",
                         (int)ids[i], i, tokenizer_vocab - 1);
        else seen[ids[i]] = 1;
    }
    int n_known = 0;
    for (int i = 0; !st && i < tokenizer_vocab; i++)
        if (seen[i]) known[n_known++] = i;
    if (!st) st = vocab_map_from_known(m, tokenizer_vocab, known, n_known);
    free(seen);
    free(known);
    return st;
}

void vocab_map_free(VocabMap *m) {
    free(m->known);
    free(m->to_model);
    *m = (VocabMap){0};
}

int vocab_map_size(const VocabMap *m) { return m->compact ? m->n_known + 1 : m->n_known; }

int vocab_map_unknown(const VocabMap *m) { return m->compact ? m->n_known : -1; }

PbStatus vocab_map_apply(const VocabMap *m, int32_t *out, const int32_t *ids, size_t n, size_t *n_unknown) {
    size_t unknown = 0;
    const int32_t unk = m->compact ? m->n_known : -1;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= m->tokenizer_vocab)
            return pb_fail(PB_DATA,
                           "token id %d at index %zu is outside the tokenizer's "
                           "vocabulary (0..%d)",
                           (int)id, i, m->tokenizer_vocab - 1);
        out[i] = m->to_model[id];
        unknown += out[i] == unk;
    }
    if (n_unknown) *n_unknown = unknown;
    return PB_OK;
}

int32_t vocab_map_to_tokenizer(const VocabMap *m, int k) {
    if (!m->compact) return k >= 0 && k < m->n_known ? k : -1;
    return k >= 0 && k < m->n_known ? m->known[k] : -1;
}
