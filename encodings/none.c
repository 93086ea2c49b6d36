/* none.c: no positional information (NoPE), the control.
 *
 * A causal decoder can still infer positions from its mask (Kazemnejad et al.
 * 2023, "The Impact of Positional Encoding on Length Generalization in
 * Transformers"). Every hook is absent, so the model runs unchanged.
 */
#include "encoding.h"

const EncodingModule encoding_none = {
    .name = "none",
    .summary = "no positional information, the control (NoPE; Kazemnejad et al. 2023)",
};
