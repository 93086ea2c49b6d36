/* gen_options.h: option helpers of `generalize`, shared with `run`
 * (defined in cmd_generalize.c). */
#ifndef POSBENCH_GEN_OPTIONS_H
#define POSBENCH_GEN_OPTIONS_H

#include <stddef.h>

#include "../train/generalize.h"

PbStatus gen_parse_int_list(const char *opt, const char *text, int *out, int cap, int *n);
PbStatus gen_parse_encodings(const char *text, GenConfig *c);
void gen_default_lens(GenConfig *c);
void gen_default_output(char *buf, size_t cap, const char *prefix);

#endif
