/* gen_options.h: option helpers of `generalize`, shared with `run`
 * (defined in cmd_generalize.c). */
#ifndef POSBENCH_GEN_OPTIONS_H
#define POSBENCH_GEN_OPTIONS_H

#include <stddef.h>

#include "../train/generalize.h"

PbStatus gen_parse_int_list(const char *opt, const char *text, int *out, int cap, int *n);
/* --encodings: specs, each optionally with GEN_RANDOMIZED, as study keys. */
PbStatus gen_parse_encodings(const char *text, GenConfig *c);
/* --randomize-positions without a NAME+randpos key: every key whose
 * encoding reads positions becomes NAME+randpos (none and cope stay). */
PbStatus gen_randomize_all(GenConfig *c);
/* --extend M,M,... (or all) into c->extend. */
PbStatus gen_parse_extend(const char *text, GenConfig *c);
void gen_default_lens(GenConfig *c);
/* The fine-tune's length (--extend-finetune): --extend-len, else the
 * longest evaluation length; PB_USAGE on a task or a length not past L. */
PbStatus gen_default_extend_len(GenConfig *c);
void gen_default_output(char *buf, size_t cap, const char *prefix);

#endif
