/* registry.c: the one list of encodings. Adding a variant is one line here
 * (plus its file); the CLI, tests, benchmarks and trainer read this table. */
#include "encoding.h"

extern const EncodingModule encoding_learned_absolute;
extern const EncodingModule encoding_none;

const EncodingModule *const encoding_registry[] = {
    &encoding_learned_absolute,
    &encoding_none,
    NULL,
};
