/* tasks.c: the synthetic tasks (see tasks.h). */
#include "tasks.h"

#include <string.h>

#include "../core/interrupt.h"

/* Blocks generated between polls of the interrupt flag: well under a
 * millisecond of work, a few thousand polls a second at most. */
#define TASK_POLL_BLOCKS 4096

static const char *const names[TASK_COUNT] = {"copy", "reverse", "sort", "add"};

const char *task_name(TaskKind k) { return k >= 0 && k < TASK_COUNT ? names[k] : "?"; }

int task_find(const char *name) {
    for (int k = 0; k < TASK_COUNT; k++)
        if (strcmp(name, names[k]) == 0) return k;
    return -1;
}

const char *task_names_list(void) { return "copy, reverse, sort, add"; }

int task_example_len(TaskKind k, int n) { return k == TASK_ADD ? 3 * n + 5 : 2 * n + 3; }

int task_max_input(TaskKind k, int len) {
    int n = k == TASK_ADD ? (len - 5) / 3 : (len - 3) / 2;
    return n > 0 ? n : 0;
}

int task_generate(TaskKind k, int n, Rng *rng, int32_t *out, int *answer_start, int *answer_len) {
    int p = 0;
    out[p++] = TASK_BOS;
    int a0, alen;
    if (k == TASK_ADD) {
        int32_t *a = out + p, *b = out + p + n + 1;
        for (int i = 0; i < n; i++) a[i] = '0' + (int32_t)rng_below(rng, 10);
        out[p + n] = '+';
        for (int i = 0; i < n; i++) b[i] = '0' + (int32_t)rng_below(rng, 10);
        p += 2 * n + 1;
        out[p++] = TASK_SEP;
        a0 = p, alen = n + 1;
        int carry = 0;
        for (int i = n - 1; i >= 0; i--) { /* schoolbook, least significant first */
            int s = (a[i] - '0') + (b[i] - '0') + carry;
            out[a0 + 1 + i] = '0' + s % 10;
            carry = s / 10;
        }
        out[a0] = '0' + carry;
        p += alen;
    } else {
        int32_t *in = out + p;
        for (int i = 0; i < n; i++) in[i] = 'a' + (int32_t)rng_below(rng, 26);
        p += n;
        out[p++] = TASK_SEP;
        a0 = p, alen = n;
        if (k == TASK_COPY) {
            memcpy(out + a0, in, (size_t)n * sizeof *out);
        } else if (k == TASK_REVERSE) {
            for (int i = 0; i < n; i++) out[a0 + i] = in[n - 1 - i];
        } else { /* counting sort: 26 letters */
            int count[26] = {0}, q = a0;
            for (int i = 0; i < n; i++) count[in[i] - 'a']++;
            for (int c = 0; c < 26; c++)
                for (int j = 0; j < count[c]; j++) out[q++] = 'a' + c;
        }
        p += alen;
    }
    out[p++] = TASK_EOS;
    if (answer_start) *answer_start = a0;
    if (answer_len) *answer_len = alen;
    return p;
}

int task_training_stream(TaskKind k, int block, int n_blocks, Rng *rng, int32_t *out) {
    int max_n = task_max_input(k, block);
    if (max_n < 1) return -1;
    for (int b = 0; b < n_blocks; b++) {
        if (b % TASK_POLL_BLOCKS == 0 && b && interrupt_requested()) return 1;
        int32_t *blk = out + (size_t)b * block;
        int n = 1 + (int)rng_below(rng, (uint32_t)max_n);
        int len = task_generate(k, n, rng, blk, NULL, NULL);
        for (int i = len; i < block; i++) blk[i] = TASK_PAD;
    }
    out[(size_t)n_blocks * block] = TASK_BOS;
    return 0;
}

void task_mask_targets(const int32_t *inputs, int32_t *targets, int rows, int T, int32_t unscored) {
    for (int r = 0; r < rows; r++) {
        const int32_t *in = inputs + (size_t)r * T;
        int32_t *tg = targets + (size_t)r * T;
        int in_answer = 0;
        for (int p = 0; p < T; p++) {
            if (in[p] == TASK_SEP) in_answer = 1;
            else if (in[p] == TASK_BOS || in[p] == TASK_EOS) in_answer = 0;
            if (!in_answer) tg[p] = unscored;
        }
    }
}
