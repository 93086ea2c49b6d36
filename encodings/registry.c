/* registry.c: the one list of encodings. Adding a variant is one line here
 * (plus its file); the CLI, tests, benchmarks and trainer read this table. */
#include "encoding.h"

extern const EncodingModule encoding_learned_absolute, encoding_sinusoidal, encoding_relative_bias, encoding_alibi,
    encoding_rope, encoding_sandwich, encoding_kerple, encoding_xpos, encoding_none;
extern const EncodingModule encoding_fire;
extern const EncodingModule encoding_shaw;
extern const EncodingModule encoding_cope;
#ifdef POSBENCH_REGISTER_TEMPLATE
extern const EncodingModule encoding_template;
#endif

const EncodingModule *const encoding_registry[] = {
    &encoding_learned_absolute,
    &encoding_sinusoidal,
    &encoding_relative_bias,
    &encoding_alibi,
    &encoding_rope,
    &encoding_sandwich,
    &encoding_kerple,
    &encoding_xpos,
    &encoding_none,
    &encoding_fire,
    &encoding_shaw,
    &encoding_cope,
#ifdef POSBENCH_REGISTER_TEMPLATE
    /* Built only into the test that proves the template is a working recipe. */
    &encoding_template,
#endif
    NULL,
};
