/* cmd_tokenize.c: `posbench tokenize` and `posbench detokenize`. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "../../datasets/tokenizer.h"
#include "args.h"
#include "commands.h"

static const char *const tokenizer_names[] = {"gpt2", "bytes", NULL};

PbStatus cmd_tokenize(int argc, char **argv) {
    const char *tok_name = "gpt2";
    const ArgSpec options[] = {
        {"--tokenizer", NULL, ARG_CHOICE, &tok_name, 0, 0, tokenizer_names, "NAME", "gpt2 (default) or bytes"},
        {NULL},
    };
    const ArgCommand cmd = {"tokenize",
                            "[--tokenizer gpt2|bytes] [FILE|-]",
                            "Prints the token ids of FILE (default: standard input), whitespace-separated.",
                            options,
                            0,
                            1};
    const char *pos[1];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st || help) return st;

    ByteBuf text = {0};
    IdBuf ids = {0};
    Tokenizer *tok = NULL;
    st = read_file(&text, npos ? pos[0] : "-");
    if (!st) st = tokenizer_open(&tok, tok_name);
    if (!st) st = tokenizer_encode(tok, &ids, text.data, text.len);
    for (size_t i = 0; !st && i < ids.len; i++) printf(i + 1 == ids.len ? "%d\n" : "%d ", ids.data[i]);
    if (!st) st = finish_stdout();
    tokenizer_free(tok);
    idbuf_free(&ids);
    bytebuf_free(&text);
    return st;
}

/* Parses whitespace-separated decimal ids; anything else is PB_DATA. */
static PbStatus parse_ids(IdBuf *out, const ByteBuf *text, const char *path) {
    const char *s = (const char *)text->data, *end = s + text->len;
    while (s < end) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        if (!isdigit((unsigned char)*s))
            return pb_fail(PB_DATA, "%s: byte %zu: expected a token id, found '%c'", path,
                           (size_t)(s - (const char *)text->data), isprint((unsigned char)*s) ? *s : '?');
        long v = 0;
        const char *start = s;
        while (s < end && isdigit((unsigned char)*s)) {
            v = v * 10 + (*s++ - '0');
            if (v > INT32_MAX)
                return pb_fail(PB_DATA, "%s: byte %zu: token id too large", path,
                               (size_t)(start - (const char *)text->data));
        }
        PbStatus st = idbuf_push(out, (int32_t)v);
        if (st) return st;
    }
    return PB_OK;
}

PbStatus cmd_detokenize(int argc, char **argv) {
    const char *tok_name = "gpt2";
    const ArgSpec options[] = {
        {"--tokenizer", NULL, ARG_CHOICE, &tok_name, 0, 0, tokenizer_names, "NAME", "gpt2 (default) or bytes"},
        {NULL},
    };
    const ArgCommand cmd = {"detokenize",
                            "[--tokenizer gpt2|bytes] [FILE|-]",
                            "Turns whitespace-separated token ids (FILE or standard input) back into bytes.",
                            options,
                            0,
                            1};
    const char *pos[1];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st || help) return st;

    const char *path = npos ? pos[0] : "-";
    ByteBuf text = {0}, bytes = {0};
    IdBuf ids = {0};
    Tokenizer *tok = NULL;
    st = read_file(&text, path);
    if (!st) st = parse_ids(&ids, &text, path);
    if (!st) st = tokenizer_open(&tok, tok_name);
    if (!st) st = tokenizer_decode(tok, &bytes, ids.data, ids.len);
    if (!st && bytes.len) fwrite(bytes.data, 1, bytes.len, stdout);
    if (!st) st = finish_stdout();
    tokenizer_free(tok);
    idbuf_free(&ids);
    bytebuf_free(&text);
    bytebuf_free(&bytes);
    return st;
}
