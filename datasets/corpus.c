/* corpus.c: built-in corpora from the set-up cache, or any file. */
#include "corpus.h"

#include <string.h>

#include "../core/paths.h"
#include "../core/sha256.h"

typedef struct {
    const char *name;
    const char *file;        /* relative to the cache directory */
    const char *text_sha256; /* of the uncompressed text */
} BuiltinCorpus;

static const BuiltinCorpus builtins[] = {
    {"jargon", "corpora/jargon.dict.dz", "6c8118c277d0b00736d406d4941b77b69932d6ab125f7179ff88fe12939cc19e"},
    {"devil", "corpora/devil.dict.dz", "703d1225d2fb927653bfd8b00e4e96938e0b630c6023edd26702ac6ed50383f8"},
};

static const BuiltinCorpus *find_builtin(const char *name) {
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0) return &builtins[i];
    return NULL;
}

int corpus_is_builtin(const char *name) { return find_builtin(name) != NULL; }

static PbStatus load_builtin(ByteBuf *out, const BuiltinCorpus *c) {
    char path[4096];
    if (data_path(path, sizeof path, c->file))
        return pb_fail(PB_SETUP, "cache directory path too long: %s", data_dir());
    if (!file_exists(path))
        return pb_fail(PB_SETUP, "corpus '%s' is not in the cache (%s missing): run %s", c->name, path,
                       PB_SETUP_COMMAND);
    size_t start = out->len;
    PbStatus st = read_file(out, path);
    /* A bad or too small input cap (core/io.h) is the user's setting, not a damaged cache. */
    if (st == PB_USAGE || st == PB_RANGE) return st;
    if (st)
        return pb_fail(PB_SETUP, "corpus '%s': %s; run %s to fetch it again", c->name, pb_errmsg(), PB_SETUP_COMMAND);
    char hex[65];
    sha256_hex(hex, out->data + start, out->len - start);
    if (strcmp(hex, c->text_sha256) != 0) {
        out->len = start;
        return pb_fail(PB_SETUP,
                       "corpus '%s' (%s) is altered or truncated (SHA-256 %.12s..., "
                       "expected %.12s...): run %s to fetch it again",
                       c->name, path, hex, c->text_sha256, PB_SETUP_COMMAND);
    }
    return PB_OK;
}

PbStatus corpus_load(ByteBuf *out, const char *name_or_path) {
    const BuiltinCorpus *c = find_builtin(name_or_path);
    size_t start = out->len;
    PbStatus st = c ? load_builtin(out, c) : read_file(out, name_or_path);
    if (st) return st;
    if (out->len == start) return pb_fail(PB_DATA, "'%s' is empty: a corpus needs some text", name_or_path);
    return PB_OK;
}
