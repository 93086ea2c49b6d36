/* test_tokenizer.c: the gpt2 tokenizer against OpenAI's tiktoken, round
 * trips on any bytes, failure modes, and the bytes tokenizer.
 *
 *   test_tokenizer FIXTURE_DIR [VERDICT_TXT]
 *
 * FIXTURE_DIR holds strings.tsv and corpora.tsv, reference ids made by
 * tiktoken (format: tests/tokenizer/README.md). The corpora jargon and devil
 * are read from the set-up cache (core/paths.h); the-verdict from VERDICT_TXT
 * and skipped with a note when that file is absent (tests/verdict.h).
 * Random inputs come from core/rng.h with fixed seeds, so runs repeat.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/io.h"
#include "../core/paths.h"
#include "../core/rng.h"
#include "../core/sha256.h"
#include "../datasets/gpt2_internal.h"
#include "../datasets/tokenizer.h"
#include "check.h"
#include "verdict.h"

/* ---- small helpers ------------------------------------------------------- */

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Prints up to `max` bytes as a C-escaped string (for mismatch reports). */
static void print_escaped(FILE *f, const uint8_t *s, size_t n, size_t max) {
    fputc('"', f);
    for (size_t i = 0; i < n && i < max; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '"' && s[i] != '\\') fputc(s[i], f);
        else fprintf(f, "\\x%02X", s[i]);
    }
    fputs(n > max ? "\"..." : "\"", f);
}

/* Splits line[0..n) at tabs into at most `max` fields; returns the count. */
static int split_tabs(char *line, char **field, int max) {
    int k = 0;
    field[k++] = line;
    for (char *p = line; *p && k < max; p++)
        if (*p == '\t') {
            *p = '\0';
            field[k++] = p + 1;
        }
    return k;
}

static int hex_digit(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Parses lowercase hex into out; returns 0 on success. */
static int parse_hex(const char *hex, ByteBuf *out) {
    out->len = 0;
    size_t n = strlen(hex);
    if (n % 2 || bytebuf_reserve(out, n / 2)) return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out->data[out->len++] = (uint8_t)(hi << 4 | lo);
    }
    out->data[out->len] = 0;
    return 0;
}

/* Parses space-separated decimal ids; returns 0 on success. */
static int parse_ids(const char *s, IdBuf *out) {
    out->len = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > INT32_MAX || idbuf_push(out, (int32_t)v)) return -1;
        s = end;
        while (*s == ' ') s++;
    }
    return 0;
}

/* Index of the first difference of two id lists (the shorter length if one
 * is a prefix of the other), or SIZE_MAX if equal. */
static size_t first_diff(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    size_t n = na < nb ? na : nb;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return i;
    return na == nb ? SIZE_MAX : n;
}

static void print_ids(const char *label, const int32_t *ids, size_t n, size_t from) {
    fprintf(stderr, "  %s[%zu..]:", label, from);
    for (size_t i = from; i < n && i < from + 8; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

/* decode(encode(x)) == x, with every id inside the vocabulary. */
static int round_trips(Tokenizer *t, const uint8_t *x, size_t n) {
    IdBuf ids = {0};
    ByteBuf back = {0};
    int ok = tokenizer_encode(t, &ids, x, n) == PB_OK && tokenizer_decode(t, &back, ids.data, ids.len) == PB_OK &&
             back.len == n && (n == 0 || memcmp(back.data, x, n) == 0);
    for (size_t i = 0; ok && i < ids.len; i++) ok = ids.data[i] >= 0 && ids.data[i] < tokenizer_vocab_size(t);
    if (!ok) {
        fprintf(stderr, "  round trip failed (%s) for %zu bytes: ", pb_errmsg(), n);
        print_escaped(stderr, x, n, 80);
        fputc('\n', stderr);
    }
    idbuf_free(&ids);
    bytebuf_free(&back);
    return ok;
}

/* ---- strings.tsv --------------------------------------------------------- */

/* Every case: ids equal tiktoken's, and the round trip holds. Run twice, so
 * the second pass reads the piece cache the first one filled. */
static void test_strings(Tokenizer *t, const char *dir, int pass) {
    char path[4096];
    snprintf(path, sizeof path, "%s/strings.tsv", dir);
    ByteBuf file = {0}, text = {0};
    IdBuf want = {0}, got = {0};
    CHECK_OK(read_file(&file, path));
    int cases = 0, lineno = 0;
    for (char *line = (char *)file.data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        lineno++;
        if (line[0] == '#') continue;
        char *f[3];
        if (split_tabs(line, f, 3) != 3 || parse_hex(f[1], &text) || parse_ids(f[2], &want)) {
            CHECK(0, "%s:%d: malformed line", path, lineno);
            continue;
        }
        cases++;
        got.len = 0;
        CHECK_OK(tokenizer_encode(t, &got, text.data, text.len));
        size_t d = first_diff(want.data, want.len, got.data, got.len);
        CHECK(d == SIZE_MAX,
              "pass %d: case '%s': ids differ from tiktoken at index %zu "
              "(want %zu ids, got %zu)",
              pass, f[0], d, want.len, got.len);
        if (d != SIZE_MAX) {
            print_ids("want", want.data, want.len, d);
            print_ids("got ", got.data, got.len, d);
        }
        CHECK(round_trips(t, text.data, text.len), "case '%s'", f[0]);
    }
    CHECK(cases > 0, "%s has no cases", path);
    printf("strings (pass %d): %d cases\n", pass, cases);
    bytebuf_free(&file);
    bytebuf_free(&text);
    idbuf_free(&want);
    idbuf_free(&got);
}

/* ---- corpora.tsv --------------------------------------------------------- */

/* SHA-256 of ids[from..to) written as little-endian int32. */
static void block_sha(char hex[65], const int32_t *ids, size_t from, size_t to) {
    uint8_t *le = malloc(4 * (to - from) + 1);
    for (size_t i = from; i < to; i++) {
        uint32_t u = (uint32_t)ids[i];
        for (int k = 0; k < 4; k++) le[4 * (i - from) + k] = (uint8_t)(u >> (8 * k));
    }
    sha256_hex(hex, le, 4 * (to - from));
    free(le);
}

typedef struct {
    char name[64];
    ByteBuf text;
    IdBuf ids;
    size_t block;    /* BLOCK_TOKENS; 0 if the corpus is skipped */
    size_t n_blocks; /* ceil(N_TOKENS / BLOCK_TOKENS) of the fixture */
    size_t seen;     /* block lines compared */
    int bad_block;   /* only the first differing block is reported */
} Corpus;

/* Loads and encodes one corpus from its `corpus` line; 0 to skip it. */
static int corpus_start(Tokenizer *t, Corpus *c, char **f, const char *verdict) {
    char path[4096];
    snprintf(c->name, sizeof c->name, "%s", f[1]);
    if (strcmp(f[1], "the-verdict") == 0) {
        int avail = verdict_available(verdict);
        CHECK(avail >= 0, "the-verdict.txt is required");
        if (avail <= 0) return 0;
        snprintf(path, sizeof path, "%s", verdict);
    } else if (strcmp(f[1], "jargon") == 0 || strcmp(f[1], "devil") == 0) {
        snprintf(path, sizeof path, "%s/corpora/%s.dict.dz", data_dir(), f[1]);
    } else {
        CHECK(0, "unknown corpus '%s' in corpora.tsv", f[1]);
        return 0;
    }
    PbStatus st = read_file(&c->text, path);
    CHECK(st == PB_OK, "corpus %s: %s (run %s)", f[1], pb_errmsg(), PB_SETUP_COMMAND);
    if (st) return 0;
    char hex[65];
    sha256_hex(hex, c->text.data, c->text.len);
    int same_text = strcmp(hex, f[2]) == 0 && c->text.len == strtoull(f[3], NULL, 10);
    CHECK(same_text,
          "corpus %s: the text at '%s' differs from the one the fixtures were "
          "made from (%zu bytes, SHA-256 %s; fixture: %s bytes, %s): run %s",
          f[1], path, c->text.len, hex, f[3], f[2], PB_SETUP_COMMAND);
    if (!same_text) return 0; /* its token comparisons would only add noise */
    double t0 = seconds();
    CHECK_OK(tokenizer_encode(t, &c->ids, c->text.data, c->text.len));
    double dt = seconds() - t0;
    printf("corpus %s: %zu bytes -> %zu tokens in %.3f s (%.1f MB/s)\n", f[1], c->text.len, c->ids.len, dt,
           (double)c->text.len / 1e6 / (dt > 0 ? dt : 1e-9));
    CHECK(c->ids.len == strtoull(f[4], NULL, 10), "corpus %s: %zu tokens, tiktoken has %s", f[1], c->ids.len, f[4]);
    CHECK(round_trips(t, c->text.data, c->text.len), "corpus %s", f[1]);
    c->block = strtoull(f[5], NULL, 10);
    CHECK(c->block > 0, "corpus %s: BLOCK_TOKENS must be positive", f[1]);
    if (c->block) c->n_blocks = (strtoull(f[4], NULL, 10) + c->block - 1) / c->block;
    return c->block > 0;
}

static void corpus_block(Tokenizer *t, Corpus *c, char **f) {
    size_t index = strtoull(f[2], NULL, 10), from = index * c->block;
    size_t to = from + c->block < c->ids.len ? from + c->block : c->ids.len;
    char hex[65] = "(no such block)";
    if (from < c->ids.len) block_sha(hex, c->ids.data, from, to);
    int same = strcmp(hex, f[3]) == 0;
    c->seen++;
    if (!same && !c->bad_block++) {
        CHECK(same, "corpus %s: block %zu (tokens %zu..%zu) differs from tiktoken", c->name, index, from, to);
        ByteBuf snip = {0};
        size_t n = to > from ? (to - from < 40 ? to - from : 40) : 0;
        if (n && tokenizer_decode(t, &snip, c->ids.data + from, n) == PB_OK) {
            fprintf(stderr, "  the block starts: ");
            print_escaped(stderr, snip.data, snip.len, 200);
            fputc('\n', stderr);
        }
        bytebuf_free(&snip);
    }
}

static void corpus_end(Corpus *c) {
    CHECK(c->seen == c->n_blocks, "corpus %s: corpora.tsv has %zu block lines, expected %zu", c->name, c->seen,
          c->n_blocks);
    bytebuf_free(&c->text);
    idbuf_free(&c->ids);
    *c = (Corpus){0};
}

static void test_corpora(Tokenizer *t, const char *dir, const char *verdict) {
    char path[4096];
    snprintf(path, sizeof path, "%s/corpora.tsv", dir);
    ByteBuf file = {0};
    CHECK_OK(read_file(&file, path));
    Corpus c = {0};
    int corpora = 0, blocks = 0;
    for (char *line = (char *)file.data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (line[0] == '#') continue;
        char *f[6];
        int nf = split_tabs(line, f, 6);
        if (nf == 6 && strcmp(f[0], "corpus") == 0) {
            corpus_end(&c);
            corpora++;
            corpus_start(t, &c, f, verdict);
        } else if (nf == 4 && strcmp(f[0], "block") == 0) {
            CHECK(strcmp(f[1], c.name) == 0 || !c.block, "block line for '%s' outside its corpus", f[1]);
            if (c.block && strcmp(f[1], c.name) == 0) {
                corpus_block(t, &c, f);
                blocks++;
            }
        } else {
            CHECK(0, "%s: malformed line starting '%.40s'", path, line);
        }
    }
    corpus_end(&c);
    CHECK(corpora > 0, "%s lists no corpora", path);
    printf("corpora: %d, %d blocks compared\n", corpora, blocks);
    bytebuf_free(&file);
}

/* ---- round trips on random bytes ----------------------------------------- */

/* Appends one random fragment: text, whitespace, multibyte characters, or
 * ill-formed UTF-8 of the kinds decoders trip on. */
static void random_fragment(Rng *r, ByteBuf *b) {
    static const char *const frags[] = {
        "the",
        " The",
        "'s",
        "'ll",
        " 42",
        "\n",
        "  ",
        "\t",
        "\r\n",
        "<|endoftext|>",
        "<|endof",
        "|>",
        "\xC2\x85",
        "\xC2\xA0",
        "\xE2\x80\xA8",
        "\xE3\x80\x80",
        "\xE2\x80\x8B",
        "\xEF\xBB\xBF",
        "\xF0\x9F\x98\x80",
        "\xE6\x97\xA5",
        "\x80",
        "\xBF",
        "\xC2",
        "\xE2\x80",
        "\xF0\x9F\x98",
        "\xC0\x80",
        "\xE0\x80\x80",
        "\xED\xA0\x80",
        "\xF4\x90\x80\x80",
        "\xF5",
        "\xFF",
        "\xFE",
    };
    uint32_t kind = rng_below(r, 5);
    if (kind == 0) { /* a known fragment */
        const char *s = frags[rng_below(r, sizeof frags / sizeof *frags)];
        bytebuf_append(b, s, strlen(s));
    } else if (kind == 1) { /* a NUL or control byte */
        uint8_t c = (uint8_t)rng_below(r, 32);
        bytebuf_append(b, &c, 1);
    } else if (kind == 2) { /* a random valid code point, UTF-8 encoded */
        uint32_t cp = rng_below(r, 0x110000);
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
        uint8_t u[4];
        size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        u[0] = n == 1 ? (uint8_t)cp : (uint8_t)((0xF00 >> n) | (cp >> (6 * (n - 1))));
        for (size_t i = 1; i < n; i++) u[i] = (uint8_t)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3F));
        bytebuf_append(b, u, n);
    } else { /* ASCII letters, digits, punctuation and spaces */
        uint32_t n = 1 + rng_below(r, 8);
        for (uint32_t i = 0; i < n; i++) {
            uint8_t c = (uint8_t)(0x20 + rng_below(r, 0x5F));
            bytebuf_append(b, &c, 1);
        }
    }
}

static void test_random_round_trips(Tokenizer *t) {
    Rng r;
    rng_seed(&r, 20240607, 1);
    ByteBuf x = {0};
    int failed = 0, cases = 4000;
    for (int i = 0; i < cases && failed < 5; i++) {
        x.len = 0;
        uint32_t n = rng_below(&r, 96);
        if (i % 2 == 0) { /* uniform random bytes */
            bytebuf_reserve(&x, n);
            for (uint32_t k = 0; k < n; k++) x.data[k] = (uint8_t)rng_u32(&r);
            x.len = n;
        } else { /* a mix of fragments */
            for (uint32_t k = 0; k < n / 4 + 1; k++) random_fragment(&r, &x);
        }
        if (!round_trips(t, x.data, x.len)) failed++;
    }
    CHECK(failed == 0, "%d random strings do not round-trip", failed);
    printf("random round trips: %d strings\n", cases);
    bytebuf_free(&x);
}

/* Long stretches: one huge piece (heap merge), long whitespace and random
 * binary data, which must all work and round-trip. */
static void test_long_inputs(Tokenizer *t) {
    size_t n = 1 << 20;
    uint8_t *x = malloc(n);
    const char fills[] = {'a', ' ', '\n', '7', '=', '\xFF'};
    for (size_t f = 0; f < sizeof fills; f++) {
        memset(x, fills[f], n);
        CHECK(round_trips(t, x, n), "1 MiB of byte 0x%02X", (uint8_t)fills[f]);
    }
    Rng r;
    rng_seed(&r, 7, 2);
    for (size_t i = 0; i < n; i++) x[i] = (uint8_t)rng_u32(&r);
    CHECK(round_trips(t, x, n), "1 MiB of random bytes");
    for (size_t i = 0; i < n; i++) x[i] = (uint8_t)(0x80 | (rng_u32(&r) & 0x3F));
    CHECK(round_trips(t, x, n), "1 MiB of continuation bytes");
    free(x);
}

/* ---- specials, errors, the bytes tokenizer ------------------------------- */

static int encodes_to(Tokenizer *t, const char *text, const int32_t *want, size_t n) {
    IdBuf ids = {0};
    int ok = tokenizer_encode(t, &ids, (const uint8_t *)text, strlen(text)) == PB_OK &&
             first_diff(ids.data, ids.len, want, n) == SIZE_MAX;
    idbuf_free(&ids);
    return ok;
}

static void test_special(Tokenizer *t) {
    CHECK(encodes_to(t, GPT2_EOT_TEXT, (int32_t[]){GPT2_EOT_ID}, 1), "<|endoftext|> alone");
    /* "a", EOT, "b": the special splits a word; tiktoken gives 64 50256 65 */
    CHECK(encodes_to(t, "a" GPT2_EOT_TEXT "b", (int32_t[]){64, GPT2_EOT_ID, 65}, 3), "<|endoftext|> inside a word");
    ByteBuf back = {0};
    CHECK_OK(tokenizer_decode(t, &back, (int32_t[]){GPT2_EOT_ID}, 1));
    CHECK(back.len == 13 && memcmp(back.data, GPT2_EOT_TEXT, 13) == 0, "id 50256 decodes to <|endoftext|>");
    bytebuf_free(&back);
}

static void test_decode_errors(Tokenizer *t) {
    int32_t bad[][2] = {{5, GPT2_VOCAB_SIZE}, {5, -1}, {5, INT32_MAX}};
    for (size_t i = 0; i < 3; i++) {
        ByteBuf out = {0};
        pb_clear_error();
        PbStatus st = tokenizer_decode(t, &out, bad[i], 2);
        char want[32];
        snprintf(want, sizeof want, "%d", bad[i][1]);
        CHECK(st == PB_DATA && strstr(pb_errmsg(), want) && strstr(pb_errmsg(), "index 1"),
              "decoding id %d gave '%s': %s", bad[i][1], pb_status_name(st), pb_errmsg());
        CHECK(out.len == 0, "a failed decode appends nothing");
        bytebuf_free(&out);
    }
}

static void test_bytes_tokenizer(void) {
    Tokenizer *t = NULL;
    CHECK_OK(tokenizer_open(&t, "bytes"));
    if (!t) return;
    CHECK(strcmp(tokenizer_name(t), "bytes") == 0 && tokenizer_vocab_size(t) == 256, "bytes: name and vocabulary size");
    const uint8_t x[] = {0, 'a', 0xFF, '\n', 0x80};
    IdBuf ids = {0};
    CHECK_OK(tokenizer_encode(t, &ids, x, sizeof x));
    CHECK(first_diff(ids.data, ids.len, (int32_t[]){0, 97, 255, 10, 128}, 5) == SIZE_MAX, "bytes: one id per byte");
    CHECK(round_trips(t, x, sizeof x), "bytes round trip");
    ByteBuf out = {0};
    CHECK(tokenizer_decode(t, &out, (int32_t[]){1, 256}, 2) == PB_DATA && strstr(pb_errmsg(), "256"),
          "bytes: id 256 is PB_DATA: %s", pb_errmsg());
    idbuf_free(&ids);
    bytebuf_free(&out);
    tokenizer_free(t);
    CHECK(tokenizer_open(&t, "nonesuch") == PB_USAGE && t == NULL, "an unknown tokenizer name is PB_USAGE");
}

/* ---- the vocabulary files ------------------------------------------------ */

static int write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Opening from a missing, truncated or altered encoder.json (copies in a
 * temporary folder) is PB_SETUP with a message that names the file and says
 * how to fix it. */
static void test_bad_files(const char *enc_path, const char *bpe_path, const ByteBuf *enc) {
    char dir[] = "/tmp/posbench_tokenizer_XXXXXX", bad[4096];
    if (!mkdtemp(dir)) {
        CHECK(0, "cannot make a temporary folder like %s", dir);
        return;
    }
    snprintf(bad, sizeof bad, "%s/encoder.json", dir);
    uint8_t *copy = malloc(enc->len);
    memcpy(copy, enc->data, enc->len);
    copy[enc->len / 2] ^= 0x01;
    struct {
        const char *what;
        size_t len;
        const char *word;
    } cases[] = {
        {"missing", 0, "missing"},
        {"truncated", enc->len / 3, "truncated"},
        {"altered", enc->len, "altered"},
    };
    for (size_t i = 0; i < 3; i++) {
        unlink(bad);
        if (cases[i].len) CHECK(write_bytes(bad, copy, cases[i].len) == 0, "cannot write %s", bad);
        Tokenizer *t = NULL;
        PbStatus st = tokenizer_open_gpt2(&t, bad, bpe_path);
        CHECK(st == PB_SETUP && t == NULL && strstr(pb_errmsg(), PB_SETUP_COMMAND) &&
                  strstr(pb_errmsg(), "encoder.json") && strstr(pb_errmsg(), cases[i].word),
              "%s encoder.json gave '%s': %s", cases[i].what, pb_status_name(st), pb_errmsg());
        tokenizer_free(t);
    }
    /* the vocab.bpe check too: pass encoder.json where vocab.bpe belongs */
    Tokenizer *t = NULL;
    PbStatus st = tokenizer_open_gpt2(&t, enc_path, enc_path);
    CHECK(st == PB_SETUP && strstr(pb_errmsg(), PB_SETUP_COMMAND), "a wrong vocab.bpe gave '%s': %s",
          pb_status_name(st), pb_errmsg());
    tokenizer_free(t);
    unlink(bad);
    rmdir(dir);
    free(copy);
}

/* Replaces the first `from` in a copy of buf with `to` and parses it. */
static PbStatus parse_edited(const ByteBuf *enc, const ByteBuf *bpe, int edit_enc, const char *from, const char *to) {
    const ByteBuf *src = edit_enc ? enc : bpe;
    const char *at = strstr((const char *)src->data, from);
    if (!at) return PB_INTERNAL;
    size_t pre = (size_t)(at - (const char *)src->data), nf = strlen(from), nt = strlen(to);
    ByteBuf e = {0};
    bytebuf_append(&e, src->data, pre);
    bytebuf_append(&e, to, nt);
    bytebuf_append(&e, src->data + pre + nf, src->len - pre - nf);
    Gpt2Vocab v;
    PbStatus st = edit_enc ? gpt2_vocab_parse(&v, e.data, e.len, "encoder.json", bpe->data, bpe->len, "vocab.bpe")
                           : gpt2_vocab_parse(&v, enc->data, enc->len, "encoder.json", e.data, e.len, "vocab.bpe");
    if (!st) gpt2_vocab_free(&v);
    bytebuf_free(&e);
    return st;
}

/* Malformed content that passes no SHA-256 check must still fail cleanly
 * (run under ASan this also shows the parser never reads out of bounds). */
static void test_malformed_content(const ByteBuf *enc, const ByteBuf *bpe) {
    static const struct {
        int enc;
        const char *from, *to;
    } edits[] = {
        {1, "{", "["},                             /* not an object */
        {1, "\"!\": 0", "\"!\": 1"},               /* id 1 twice, id 0 missing */
        {1, "\"!\": 0", "\"!\": -0"},              /* not a plain id */
        {1, "\"!\": 0", "\"!\": 99999999999"},     /* id too big */
        {1, "\"!\": 0", "\"\": 0"},                /* empty key */
        {1, "\"\\u0120t\"", "\"\\ud800t\""},       /* lone surrogate escape */
        {1, "\"\\u0120t\"", "\"\\ud83d\\ude00\""}, /* pair: valid JSON, not a byte */
        {1, "\"\\u0120t\"", "\"\\u01\""},          /* short escape */
        {1, "\"\\u0120t\"", "\"\\q\""},            /* unknown escape */
        {1, "\"\\u0120t\"", "\"\xC4\""},           /* truncated UTF-8 */
        {1, "\"\\u0120t\"", "\"\\u0120\\u0120\""}, /* duplicate string */
        {1, "50256}", "50256},"},                  /* trailing garbage */
        {1, "50256}", "50256"},                    /* unterminated object */
        {0, "#version", "#vers"},                  /* no version line */
        {0, "\xC4\xA0 t\n", "\xC4\xA0  t\n"},      /* two spaces */
        {0, "\xC4\xA0 t\n", "\xC4\xA0t\n"},        /* no space */
        {0, "\xC4\xA0 t\n", "\xC4\xA0 a\n"},       /* makes a token of another rank */
        {0, "\xC4\xA0 t\n", "\xC4\xA0 \xFF\n"},    /* invalid UTF-8 */
        {0, "\xC4\xA0 t\n", "\xC4\xA0 t\nq z\n"},  /* an extra merge */
        {0, "\xC4\xA0 t\n", ""},                   /* one merge short */
    };
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        pb_clear_error();
        PbStatus st = parse_edited(enc, bpe, edits[i].enc, edits[i].from, edits[i].to);
        CHECK(st == PB_DATA && strstr(pb_errmsg(), edits[i].enc ? "encoder.json" : "vocab.bpe"),
              "edit %zu gave '%s': %s", i, pb_status_name(st), pb_errmsg());
    }
    /* truncations anywhere, the end of a file being the likeliest damage */
    Rng r;
    rng_seed(&r, 99, 3);
    for (int i = 0; i < 12; i++) {
        int which = i % 2;
        const ByteBuf *src = which ? enc : bpe;
        size_t cut = i < 2 ? src->len - 2 : rng_below(&r, (uint32_t)src->len - 2);
        Gpt2Vocab v;
        PbStatus st = which ? gpt2_vocab_parse(&v, enc->data, cut, "encoder.json", bpe->data, bpe->len, "vocab.bpe")
                            : gpt2_vocab_parse(&v, enc->data, enc->len, "encoder.json", bpe->data, cut, "vocab.bpe");
        CHECK(st == PB_DATA, "%s cut at %zu gave '%s'", which ? "encoder.json" : "vocab.bpe", cut, pb_status_name(st));
        if (!st) gpt2_vocab_free(&v);
    }
}

/* The two merge loops must agree (tiktoken's rescan is the definition; the
 * heap serves long pieces). */
static void test_merge_loops(const Gpt2Vocab *v) {
    Gpt2Encoder *e = NULL;
    CHECK_OK(gpt2_encoder_new(&e, v));
    if (!e) return;
    Rng r;
    rng_seed(&r, 5, 4);
    IdBuf a = {0}, b = {0};
    uint8_t x[400];
    int differ = 0;
    for (int i = 0; i < 600; i++) {
        size_t n = 1 + rng_below(&r, sizeof x);
        uint32_t mode = rng_below(&r, 3), alpha = 2 + rng_below(&r, 30);
        for (size_t k = 0; k < n; k++)
            x[k] = mode == 0   ? (uint8_t)rng_u32(&r)
                   : mode == 1 ? (uint8_t)('a' + rng_below(&r, alpha))
                               : (uint8_t) " etaoinshrdlu"[rng_below(&r, 13)];
        a.len = b.len = 0;
        CHECK_OK(gpt2_bpe_merge(e, &a, x, n, GPT2_MERGE_SCAN));
        CHECK_OK(gpt2_bpe_merge(e, &b, x, n, GPT2_MERGE_HEAP));
        differ += first_diff(a.data, a.len, b.data, b.len) != SIZE_MAX;
    }
    CHECK(differ == 0, "the scan and heap merges differ on %d of 600 pieces", differ);
    idbuf_free(&a);
    idbuf_free(&b);
    gpt2_encoder_free(e);
}

static void test_vocab_internals(void) {
    char enc_path[4096], bpe_path[4096];
    data_path(enc_path, sizeof enc_path, "gpt2/encoder.json");
    data_path(bpe_path, sizeof bpe_path, "gpt2/vocab.bpe");
    ByteBuf enc = {0}, bpe = {0};
    CHECK_OK(read_file(&enc, enc_path));
    CHECK_OK(read_file(&bpe, bpe_path));
    Gpt2Vocab v;
    PbStatus st = gpt2_vocab_parse(&v, enc.data, enc.len, enc_path, bpe.data, bpe.len, bpe_path);
    CHECK(st == PB_OK, "parsing the cached vocabulary: %s", pb_errmsg());
    if (!st) {
        test_merge_loops(&v);
        gpt2_vocab_free(&v);
        test_bad_files(enc_path, bpe_path, &enc);
        test_malformed_content(&enc, &bpe);
    }
    bytebuf_free(&enc);
    bytebuf_free(&bpe);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s FIXTURE_DIR [VERDICT_TXT]\n", argv[0]);
        return 2;
    }
    const char *fixtures = argv[1], *verdict = argc > 2 ? argv[2] : NULL;
    test_bytes_tokenizer();
    Tokenizer *t = NULL;
    double t0 = seconds();
    PbStatus st = tokenizer_open(&t, "gpt2");
    CHECK(st == PB_OK, "opening gpt2: %s", pb_errmsg());
    if (t) {
        printf("gpt2 opened in %.0f ms\n", 1e3 * (seconds() - t0));
        CHECK(strcmp(tokenizer_name(t), "gpt2") == 0 && tokenizer_vocab_size(t) == GPT2_VOCAB_SIZE,
              "gpt2: name and vocabulary size");
        test_strings(t, fixtures, 1);
        test_corpora(t, fixtures, verdict);
        test_strings(t, fixtures, 2);
        test_special(t);
        test_decode_errors(t);
        test_random_round_trips(t);
        test_long_inputs(t);
        tokenizer_free(t);
        test_vocab_internals();
    }
    return check_exit_code("tokenizer");
}
