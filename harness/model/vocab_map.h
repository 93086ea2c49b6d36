/* vocab_map.h: the model's vocabulary as a map from tokenizer ids.
 *
 * A tiny model with GPT-2's 50257 ids spends most of its time in the
 * softmax over ids that never occur. The compact map keeps only the ids that
 * occur in the training split, in increasing tokenizer-id order, plus one
 * unknown id (the last) for anything else:
 *
 *   model id k < n_known   <->  tokenizer id known[k]
 *   model id n_known       <->  any other tokenizer id (the unknown id)
 *   V = n_known + 1
 *
 * The identity map (bytes, or --vocab full) has V = the tokenizer's
 * vocabulary and no unknown id. Checkpoints store `known` (tokenizer ids), so
 * a saved model maps new text exactly as it mapped its training data.
 */
#ifndef POSBENCH_MODEL_VOCAB_MAP_H
#define POSBENCH_MODEL_VOCAB_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/status.h"

typedef struct {
    int tokenizer_vocab; /* ids 0..tokenizer_vocab-1 come in */
    int compact;         /* 0: identity */
    int n_known;         /* compact: ids kept; identity: tokenizer_vocab */
    int32_t *known;      /* [n_known] tokenizer id of model id k (compact only) */
    int32_t *to_model;   /* [tokenizer_vocab] model id of each tokenizer id */
} VocabMap;

PbStatus vocab_map_identity(VocabMap *m, int tokenizer_vocab);
/* Compact map of the ids in ids[0..n) (the training split). PB_DATA for an
 * id outside the tokenizer's vocabulary. */
PbStatus vocab_map_build(VocabMap *m, int tokenizer_vocab, const int32_t *ids, size_t n);
/* Compact map from a stored list (checkpoints): strictly increasing ids
 * within the vocabulary, else PB_DATA. */
PbStatus vocab_map_from_known(VocabMap *m, int tokenizer_vocab, const int32_t *known, int n_known);
void vocab_map_free(VocabMap *m);

/* V, the model's vocabulary size. */
int vocab_map_size(const VocabMap *m);
/* The unknown id (V - 1), or -1 for the identity map. */
int vocab_map_unknown(const VocabMap *m);

/* out[i] = model id of ids[i] (out may alias ids). Counts ids mapped to the
 * unknown id in *n_unknown (may be NULL). PB_DATA for an id outside the
 * tokenizer's vocabulary. */
PbStatus vocab_map_apply(const VocabMap *m, int32_t *out, const int32_t *ids, size_t n, size_t *n_unknown);
/* Tokenizer id of model id k (the unknown id has none: -1). */
int32_t vocab_map_to_tokenizer(const VocabMap *m, int k);

#endif
