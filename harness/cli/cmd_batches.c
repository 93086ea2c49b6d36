/* cmd_batches.c: `posbench batches`: the sliding-window loader's output as
 * JSON lines, one batch per line: {"inputs": [[...]], "targets": [[...]]}. */
#include <stdlib.h>

#include "../../datasets/loader.h"
#include "../../datasets/token_stream.h"
#include "args.h"
#include "commands.h"

static const char *const tokenizer_names[] = {"gpt2", "bytes", NULL};

static void print_rows(const char *key, const int32_t *rows, int n, int T) {
    printf("\"%s\": [", key);
    for (int r = 0; r < n; r++) {
        printf(r ? ", [" : "[");
        for (int t = 0; t < T; t++) printf(t ? ", %d" : "%d", rows[(size_t)r * T + t]);
        printf("]");
    }
    printf("]");
}

PbStatus cmd_batches(int argc, char **argv) {
    const char *tok_name = "gpt2";
    int batch = 8, context = 4, stride = -1, shuffle = 0, keep_last = 0, limit = -1;
    uint64_t seed = 0;
    int seed_given = 0;
    const ArgSpec options[] = {
        {"--batch", NULL, ARG_INT, &batch, 1, 1 << 20, NULL, "N", "windows per batch (default 8)"},
        {"--context", NULL, ARG_INT, &context, 1, 1 << 24, NULL, "T", "tokens per window (default 4)"},
        {"--stride", NULL, ARG_INT, &stride, 1, 1 << 24, NULL, "S", "tokens between window starts (default: context)"},
        {"--shuffle", NULL, ARG_FLAG, &shuffle, 0, 0, NULL, NULL, "shuffle windows (needs --seed)"},
        {"--seed", NULL, ARG_U64, &seed, 0, 0, NULL, "K", "shuffle seed", &seed_given},
        {"--keep-last", NULL, ARG_FLAG, &keep_last, 0, 0, NULL, NULL, "keep a final partial batch"},
        {"--limit", NULL, ARG_INT, &limit, 0, 1 << 30, NULL, "M", "print at most M batches"},
        {"--tokenizer", NULL, ARG_CHOICE, &tok_name, 0, 0, tokenizer_names, "NAME", "gpt2 (default) or bytes"},
        {NULL},
    };
    const ArgCommand cmd = {
        "batches",
        "FILE|jargon|devil [--batch N --context T --stride S] [--shuffle --seed K] [--keep-last] [--limit M]",
        "Prints the sliding-window batches of a text as JSON lines (as the seed notebook's dataloader).",
        options,
        1,
        1};
    const char *pos[1];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st || help) return st;
    if (shuffle && !seed_given)
        return pb_fail(PB_USAGE, "--shuffle needs an explicit --seed K, so the order can be reproduced");
    if (seed_given && !shuffle) return pb_fail(PB_USAGE, "--seed only applies with --shuffle");
    if (stride < 0) stride = context;

    IdBuf ids = {0};
    Loader loader = {0};
    int32_t *inputs = NULL, *targets = NULL;
    st = token_stream_load(&ids, pos[0], tok_name, NULL);
    LoaderConfig cfg = {.batch = batch,
                        .context = context,
                        .stride = stride,
                        .shuffle = shuffle,
                        .seed = seed,
                        .drop_last = !keep_last};
    if (!st) st = loader_init(&loader, ids.data, ids.len, cfg);
    if (!st) {
        inputs = pb_calloc((size_t)batch * context, sizeof *inputs, "batch inputs");
        targets = pb_calloc((size_t)batch * context, sizeof *targets, "batch targets");
        if (!inputs || !targets) st = PB_NOMEM;
    }
    for (int printed = 0; !st && (limit < 0 || printed < limit); printed++) {
        int rows = loader_next(&loader, inputs, targets);
        if (!rows) break;
        printf("{");
        print_rows("inputs", inputs, rows, context);
        printf(", ");
        print_rows("targets", targets, rows, context);
        printf("}\n");
    }
    if (!st) st = finish_stdout();
    free(inputs);
    free(targets);
    loader_free(&loader);
    idbuf_free(&ids);
    return st;
}
