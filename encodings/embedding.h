/* embedding.h: the token embedding table, shared by every encoding.
 *
 *   out[b,t,:] = wte[ids[b,t], :]          wte: [V, C], init N(0, 1)
 *
 * Positions enter afterwards through the encoding's embed hook (if any).
 * Shapes: B batch, T positions, C channels, V vocabulary.
 */
#ifndef POSBENCH_EMBEDDING_H
#define POSBENCH_EMBEDDING_H

#include <stdint.h>

#include "../core/rng.h"
#include "../core/status.h"

/* Fills wte [V, C] from N(0, 1), as torch.nn.Embedding does. */
void embedding_init(float *wte, int V, int C, Rng *rng);

/* out [B,T,C] = rows of wte [V,C] selected by ids [B,T]; PB_DATA naming the
 * id and its place if an id is outside 0..V-1 (nothing is read out of bounds). */
PbStatus embedding_forward(float *out, const int32_t *ids, const float *wte, int B, int T, int C, int V);

/* dwte [V,C] += scatter of dout [B,T,C] by ids [B,T] (ids already checked). */
void embedding_backward(float *dwte, const float *dout, const int32_t *ids, int B, int T, int C);

#endif
