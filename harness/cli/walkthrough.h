/* walkthrough.h: the seed notebook, step by step: GPT-2 ids, sliding-window
 * batches, a token embedding table, a position encoding added to it. */
#ifndef POSBENCH_WALKTHROUGH_H
#define POSBENCH_WALKTHROUGH_H

#include <stdint.h>
#include <stdio.h>

#include "../../core/status.h"

typedef struct {
    const char *data;      /* corpus name or file */
    const char *tokenizer; /* "gpt2" */
    const char *encoding;  /* registry name, e.g. "learned_absolute" */
    int batch, context, stride, dim;
    uint64_t seed;
} WalkthroughConfig;

/* Runs the walk-through and prints each step to out. */
PbStatus walkthrough_run(const WalkthroughConfig *cfg, FILE *out);

#endif
