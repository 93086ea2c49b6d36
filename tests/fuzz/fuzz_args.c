/* fuzz_args.c: libFuzzer target for the option parser (harness/cli/args.c).
 *
 * The input is split at NUL bytes into argv words and parsed against a table
 * with every option type (flag, bounded int, u64, string, choice, aliases,
 * `given`). Checked: no crash or overrun; on success every value is within
 * its declared range, a choice is one of its choices, the positional count
 * is within bounds and each positional word is one of the input words; on
 * failure the status is PB_USAGE with a one-line, non-empty message. --help
 * is printed too (to /dev/null).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli/args.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    devnull = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    /* words: NUL-separated; a copy with a terminator after each */
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = 0;
    char *words[256];
    int argc = 0;
    for (size_t i = 0; i <= size && argc < 256;) {
        words[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    if (size == 0) argc = 0;

    static const char *const kinds[] = {"quick", "full", NULL};
    int flag = 0, n = 7, n_given = 0, wide = 0;
    uint64_t seed = 3;
    const char *str = NULL, *choice = kinds[0];
    const ArgSpec options[] = {
        {"--force", NULL, ARG_FLAG, &flag, 0, 0, NULL, NULL, "a flag"},
        {"--steps", "-n", ARG_INT, &n, 1, 1000, NULL, "N", "bounded", &n_given},
        {"--wide", NULL, ARG_INT, &wide, -(1LL << 31), (1LL << 31) - 1, NULL, "W", "the whole int range"},
        {"--seed", NULL, ARG_U64, &seed, 0, 0, NULL, "K", "u64"},
        {"--output", "-o", ARG_STRING, &str, 0, 0, NULL, "FILE", "a string"},
        {"--profile", NULL, ARG_CHOICE, &choice, 0, 0, kinds, "P", "a choice"},
        {NULL},
    };
    const ArgCommand cmd = {"fuzz", "A [B]", "the fuzz table", options, 1, 2};
    const char *pos[2] = {NULL, NULL};
    int npos = -1, help = -1;
    pb_clear_error();
    PbStatus st = args_parse(&cmd, argc, words, pos, &npos, &help);
    if (st == PB_OK && !help) {
        if (n < 1 || n > 1000 || npos < 1 || npos > 2 || (flag != 0 && flag != 1)) abort();
        if (choice != kinds[0] && choice != kinds[1]) abort();
        if (str && !*str) abort();
        for (int i = 0; i < npos; i++) {
            int found = 0;
            for (int w = 0; w < argc; w++) found |= pos[i] == words[w];
            if (!found) abort();
        }
    } else if (st != PB_OK) {
        const char *m = pb_errmsg();
        if (st != PB_USAGE || !*m || strchr(m, '\n')) {
            fprintf(stderr, "bad error: status %d, message '%s'\n", st, m);
            abort();
        }
    }
    args_print_help(&cmd, devnull);
    free(buf);
    return 0;
}
