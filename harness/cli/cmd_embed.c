/* cmd_embed.c: `posbench embed`: the seed walk-through on a chosen text
 * (harness/cli/walkthrough.c does the work). */
#include "../../datasets/corpus.h"
#include "args.h"
#include "commands.h"
#include "walkthrough.h"

PbStatus cmd_embed(int argc, char **argv) {
    WalkthroughConfig cfg = {.data = CORPUS_DEFAULT,
                             .tokenizer = "gpt2",
                             .encoding = "learned_absolute",
                             .batch = 8,
                             .context = 4,
                             .stride = 4,
                             .dim = 256,
                             .seed = 123};
    const ArgSpec options[] = {
        {"--batch", NULL, ARG_INT, &cfg.batch, 1, 1 << 16, NULL, "N", "windows per batch (default 8)"},
        {"--context", NULL, ARG_INT, &cfg.context, 1, 1 << 20, NULL, "T", "tokens per window (default 4)"},
        {"--stride", NULL, ARG_INT, &cfg.stride, 1, 1 << 20, NULL, "S", "tokens between windows (default 4)"},
        {"--dim", NULL, ARG_INT, &cfg.dim, 1, 1 << 14, NULL, "C", "embedding width (default 256)"},
        {"--encoding", NULL, ARG_STRING, &cfg.encoding, 0, 0, NULL, "NAME",
         "position encoding (default learned_absolute)"},
        {"--seed", NULL, ARG_U64, &cfg.seed, 0, 0, NULL, "K", "initialisation seed (default 123)"},
        {NULL},
    };
    const ArgCommand cmd = {"embed",
                            "FILE|jargon|devil [--batch 8 --context 4 --stride 4 --dim 256] [--seed K]",
                            "The seed notebook walk-through: GPT-2 ids, the first sliding-window batch, and the\n"
                            "shapes of the token, positional and input embeddings.",
                            options,
                            1,
                            1};
    const char *pos[1];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st || help) return st;
    if (npos) cfg.data = pos[0];
    st = walkthrough_run(&cfg, stdout);
    return st ? st : finish_stdout();
}
