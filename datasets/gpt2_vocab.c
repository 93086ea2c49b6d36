/* gpt2_vocab.c: loads the GPT-2 vocabulary into the tables that encoding and
 * decoding use (see gpt2_internal.h), and decodes ids to bytes.
 *
 * Files (Radford et al. 2019, github.com/openai/gpt-2 src/encoder.py):
 *   encoder.json  a flat JSON object, token string -> id, ids 0..50256
 *   vocab.bpe     "#version: 0.2", then 50000 merge lines "a b" in rank order
 * Token strings use GPT-2's printable alias of bytes (bytes_to_unicode): the
 * 188 printable Latin-1 bytes other than space stand for themselves and the
 * other 68 bytes, in byte order, for U+0100..U+0143. Every token string is
 * turned back into raw bytes here, so the encoder works on bytes only.
 *
 * Both files are verified by SHA-256 before parsing. The parser is strict all
 * the same, so that any malformed content (tests feed it some through
 * gpt2_vocab_parse) fails with a message instead of crashing.
 */
#include "gpt2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/paths.h"
#include "../core/sha256.h"

#define N_ALIAS 0x144 /* code points U+0000..U+0143 can be byte aliases */

/* ---- GPT-2's byte alias (bytes_to_unicode) ------------------------------ */

static int is_printable_byte(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

/* cp_byte[cp]: the byte code point cp stands for, or -1 if none.
 * byte_order[k]: the byte whose single-byte token has id k (printable bytes
 * first, then the others; tiktoken's rank_to_intbyte is the same order). */
static void byte_alias_tables(int16_t cp_byte[N_ALIAS], uint8_t byte_order[256]) {
    int k = 0, extra = 0;
    for (int cp = 0; cp < N_ALIAS; cp++) cp_byte[cp] = -1;
    for (int b = 0; b < 256; b++)
        if (is_printable_byte(b)) {
            cp_byte[b] = (int16_t)b;
            byte_order[k++] = (uint8_t)b;
        }
    for (int b = 0; b < 256; b++)
        if (!is_printable_byte(b)) {
            cp_byte[0x100 + extra++] = (int16_t)b;
            byte_order[k++] = (uint8_t)b;
        }
}

/* Decodes one UTF-8 sequence from s[0..n); returns its length (1..4) and the
 * code point, or 0 if it is not well-formed (overlong, surrogate, too big). */
static size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len = s[0] < 0x80 ? 1 : s[0] < 0xC0 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF8 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    uint32_t c = len == 1 ? s[0] : s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min_cp[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return len;
}

/* ---- encoder.json -------------------------------------------------------- */

typedef struct {
    const uint8_t *s;
    size_t n, i;
    const char *name;
    const int16_t *cp_byte;
} Cursor;

static PbStatus corrupt(const Cursor *c, const char *what) {
    return pb_fail(PB_DATA, "%s: byte %zu: %s (the file is corrupt: run %s)", c->name, c->i, what, PB_SETUP_COMMAND);
}

static void skip_ws(Cursor *c) {
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r')) c->i++;
}

static PbStatus expect(Cursor *c, char ch, const char *what) {
    skip_ws(c);
    if (c->i >= c->n || c->s[c->i] != (uint8_t)ch) return corrupt(c, what);
    c->i++;
    return PB_OK;
}

static int hex_value(uint8_t h) {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
}

/* Reads the XXXX of a \uXXXX escape, c->i just past the 'u'. */
static PbStatus json_hex4(Cursor *c, uint32_t *out) {
    if (c->n - c->i < 4) return corrupt(c, "truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hex_value(c->s[c->i + k]);
        if (h < 0) return corrupt(c, "bad hex digit in a \\u escape");
        v = v << 4 | (uint32_t)h;
    }
    c->i += 4;
    *out = v;
    return PB_OK;
}

/* Reads one escape, c->i at the backslash; \uD8xx\uDCxx pairs become one
 * code point and a lone surrogate is an error. */
static PbStatus json_escape(Cursor *c, uint32_t *cp) {
    if (c->n - c->i < 2) return corrupt(c, "truncated escape");
    uint8_t e = c->s[c->i + 1];
    c->i += 2;
    switch (e) {
    case '"': *cp = '"'; return PB_OK;
    case '\\': *cp = '\\'; return PB_OK;
    case '/': *cp = '/'; return PB_OK;
    case 'b': *cp = '\b'; return PB_OK;
    case 'f': *cp = '\f'; return PB_OK;
    case 'n': *cp = '\n'; return PB_OK;
    case 'r': *cp = '\r'; return PB_OK;
    case 't': *cp = '\t'; return PB_OK;
    case 'u': break;
    default: c->i -= 2; return corrupt(c, "unknown escape");
    }
    uint32_t hi, lo;
    PbStatus st = json_hex4(c, &hi);
    if (st) return st;
    if (hi >= 0xDC00 && hi <= 0xDFFF) return corrupt(c, "lone low surrogate escape");
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = hi;
        return PB_OK;
    }
    if (c->n - c->i < 2 || c->s[c->i] != '\\' || c->s[c->i + 1] != 'u')
        return corrupt(c, "high surrogate escape without its low half");
    c->i += 2;
    if ((st = json_hex4(c, &lo))) return st;
    if (lo < 0xDC00 || lo > 0xDFFF) return corrupt(c, "high surrogate escape without its low half");
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return PB_OK;
}

/* Appends the byte that alias code point cp stands for. */
static PbStatus push_alias(const Cursor *c, ByteBuf *out, uint32_t cp) {
    if (cp >= N_ALIAS || c->cp_byte[cp] < 0)
        return pb_fail(PB_DATA,
                       "%s: byte %zu: U+%04X is not one of GPT-2's byte aliases "
                       "(the file is corrupt: run %s)",
                       c->name, c->i, (unsigned)cp, PB_SETUP_COMMAND);
    uint8_t b = (uint8_t)c->cp_byte[cp];
    return bytebuf_append(out, &b, 1);
}

/* Reads a JSON string of byte aliases, c->i at the opening quote, and
 * appends the raw bytes it stands for. */
static PbStatus json_token_string(Cursor *c, ByteBuf *out) {
    PbStatus st = expect(c, '"', "expected a string");
    while (!st) {
        if (c->i >= c->n) return corrupt(c, "unterminated string");
        uint8_t ch = c->s[c->i];
        uint32_t cp;
        if (ch == '"') {
            c->i++;
            return PB_OK;
        }
        if (ch < 0x20) return corrupt(c, "control character inside a string");
        if (ch == '\\') {
            st = json_escape(c, &cp);
        } else {
            size_t len = utf8_decode(c->s + c->i, c->n - c->i, &cp);
            if (!len) return corrupt(c, "invalid UTF-8 inside a string");
            c->i += len;
        }
        if (!st) st = push_alias(c, out, cp);
    }
    return st;
}

/* Reads a token id: plain decimal digits, below GPT2_VOCAB_SIZE. */
static PbStatus json_id(Cursor *c, int32_t *id) {
    skip_ws(c);
    size_t start = c->i;
    long v = 0;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9' && c->i - start < 9) v = v * 10 + (c->s[c->i++] - '0');
    if (c->i == start) return corrupt(c, "expected a token id (a non-negative integer)");
    if (v >= GPT2_VOCAB_SIZE || (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9'))
        return corrupt(c, "token id outside 0..50256");
    *id = (int32_t)v;
    return PB_OK;
}

/* encoder.json's entries as read: token id's bytes are arena[start[id]..)
 * of length len[id] (0: id not seen yet). */
typedef struct {
    uint32_t *start, *len; /* [GPT2_VOCAB_SIZE] */
    ByteBuf arena;
    int32_t count; /* ids seen */
} EncoderEntries;

/* Reads one "token": id entry and records it; a token is never empty and
 * each id appears once. */
static PbStatus encoder_entry(EncoderEntries *e, Cursor *c) {
    size_t at = e->arena.len, key_pos = c->i;
    int32_t id = 0;
    PbStatus st = json_token_string(c, &e->arena);
    if (!st) st = expect(c, ':', "expected ':' after a key");
    if (!st) st = json_id(c, &id);
    if (st) return st;
    if (e->arena.len == at) {
        c->i = key_pos;
        return corrupt(c, "empty token string");
    }
    if (e->len[id])
        return pb_fail(PB_DATA,
                       "%s: byte %zu: token id %d appears twice (the file is "
                       "corrupt: run %s)",
                       c->name, c->i, id, PB_SETUP_COMMAND);
    if (e->arena.len > UINT32_MAX) return corrupt(c, "token strings too long");
    e->start[id] = (uint32_t)at;
    e->len[id] = (uint32_t)(e->arena.len - at);
    e->count++;
    return PB_OK;
}

/* Reads the object's entries, c->i just past its '{', through its '}'. */
static PbStatus encoder_entries(EncoderEntries *e, Cursor *c) {
    skip_ws(c);
    if (c->i < c->n && c->s[c->i] == '}') {
        c->i++;
        return PB_OK;
    }
    for (;;) {
        PbStatus st = encoder_entry(e, c);
        if (st) return st;
        skip_ws(c);
        if (c->i < c->n && c->s[c->i] == '}') {
            c->i++;
            return PB_OK;
        }
        if ((st = expect(c, ',', "expected ',' or '}' after a value"))) return st;
    }
}

/* Nothing but whitespace after the object, and every id 0..50256 once. */
static PbStatus check_encoder_end(const EncoderEntries *e, Cursor *c) {
    skip_ws(c);
    if (c->i != c->n) return corrupt(c, "unexpected content after the object");
    if (e->count != GPT2_VOCAB_SIZE)
        return pb_fail(PB_DATA, "%s: has %d tokens, expected %d (the file is corrupt: run %s)", c->name, e->count,
                       GPT2_VOCAB_SIZE, PB_SETUP_COMMAND);
    return PB_OK;
}

/* Lays the tokens' bytes out in id order in v->tok_bytes / v->tok_off. */
static PbStatus lay_out_tokens(Gpt2Vocab *v, const EncoderEntries *e) {
    v->tok_off = pb_calloc(GPT2_VOCAB_SIZE + 1, sizeof *v->tok_off, "token offsets");
    v->tok_bytes = pb_calloc(e->arena.len, 1, "token bytes");
    if (!v->tok_off || !v->tok_bytes) return PB_NOMEM;
    uint32_t off = 0;
    for (int32_t id = 0; id < GPT2_VOCAB_SIZE; id++) {
        v->tok_off[id] = off;
        memcpy(v->tok_bytes + off, e->arena.data + e->start[id], e->len[id]);
        off += e->len[id];
    }
    v->tok_off[GPT2_VOCAB_SIZE] = off;
    return PB_OK;
}

/* Parses encoder.json into v->tok_bytes / v->tok_off, checking that every id
 * 0..50256 appears exactly once. */
static PbStatus parse_encoder(Gpt2Vocab *v, Cursor *c) {
    EncoderEntries e = {0};
    e.start = pb_calloc(GPT2_VOCAB_SIZE, sizeof *e.start, "encoder.json offsets");
    e.len = pb_calloc(GPT2_VOCAB_SIZE, sizeof *e.len, "encoder.json lengths");
    PbStatus st = (e.start && e.len) ? expect(c, '{', "expected '{' at the start") : PB_NOMEM;
    if (!st) st = encoder_entries(&e, c);
    if (!st) st = check_encoder_end(&e, c);
    if (!st) st = lay_out_tokens(v, &e);
    free(e.start);
    free(e.len);
    bytebuf_free(&e.arena);
    return st;
}

/* ---- bytes -> id lookup -------------------------------------------------- */

static size_t tok_len(const Gpt2Vocab *v, int32_t id) { return v->tok_off[id + 1] - v->tok_off[id]; }

int32_t gpt2_vocab_find(const Gpt2Vocab *v, const uint8_t *s, size_t n) {
    uint64_t h = gpt2_hash_bytes(s, n);
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = h & v->find_mask;; i = (i + 1) & v->find_mask) {
        int32_t id = v->find_slots[i].id;
        if (id < 0) return -1;
        if (v->find_slots[i].tag == tag && tok_len(v, id) == n && memcmp(v->tok_bytes + v->tok_off[id], s, n) == 0)
            return id;
    }
}

/* Builds the lookup, and checks the byte tokens and the special token. */
static PbStatus build_find(Gpt2Vocab *v, const char *enc_name, const uint8_t byte_order[256]) {
    size_t cap = 1;
    while (cap < 2 * (size_t)GPT2_VOCAB_SIZE) cap *= 2;
    v->find_slots = malloc(cap * sizeof *v->find_slots);
    if (!v->find_slots) return pb_fail(PB_NOMEM, "cannot allocate the token lookup table");
    memset(v->find_slots, 0xFF, cap * sizeof *v->find_slots); /* all ids -1 */
    v->find_mask = cap - 1;
    for (int32_t id = 0; id < GPT2_EOT_ID; id++) {
        const uint8_t *s = v->tok_bytes + v->tok_off[id];
        size_t n = tok_len(v, id);
        uint64_t h = gpt2_hash_bytes(s, n);
        int32_t same = gpt2_vocab_find(v, s, n);
        if (same >= 0)
            return pb_fail(PB_DATA,
                           "%s: ids %d and %d have the same string (the file is "
                           "corrupt: run %s)",
                           enc_name, same, id, PB_SETUP_COMMAND);
        size_t i = h & v->find_mask;
        while (v->find_slots[i].id >= 0) i = (i + 1) & v->find_mask;
        v->find_slots[i].id = id;
        v->find_slots[i].tag = (uint32_t)(h >> 32);
    }
    for (int k = 0; k < 256; k++) {
        if (tok_len(v, k) != 1 || v->tok_bytes[v->tok_off[k]] != byte_order[k])
            return pb_fail(PB_DATA,
                           "%s: id %d should be the token of byte 0x%02X (the file "
                           "is corrupt: run %s)",
                           enc_name, k, byte_order[k], PB_SETUP_COMMAND);
        v->byte_id[byte_order[k]] = k;
    }
    size_t eot_len = strlen(GPT2_EOT_TEXT);
    if (tok_len(v, GPT2_EOT_ID) != eot_len ||
        memcmp(v->tok_bytes + v->tok_off[GPT2_EOT_ID], GPT2_EOT_TEXT, eot_len) != 0)
        return pb_fail(PB_DATA, "%s: id %d should be %s (the file is corrupt: run %s)", enc_name, GPT2_EOT_ID,
                       GPT2_EOT_TEXT, PB_SETUP_COMMAND);
    return PB_OK;
}

/* ---- vocab.bpe ----------------------------------------------------------- */

/* Decodes the alias string s[0..n) of a merge line into raw bytes. */
static PbStatus alias_to_bytes(const Cursor *c, const uint8_t *s, size_t n, ByteBuf *out) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (!len) return corrupt(c, "invalid UTF-8 in a merge");
        PbStatus st = push_alias(c, out, cp);
        if (st) return st;
        i += len;
    }
    return PB_OK;
}

/* Checks one merge line "a b" of rank `rank`: a, b and ab must be tokens and
 * ab must have id 256 + rank, which makes ids and ranks the same numbers. */
static PbStatus check_merge(const Gpt2Vocab *v, const Cursor *c, const uint8_t *line, size_t n, size_t lineno,
                            int32_t rank, ByteBuf *scratch) {
    const uint8_t *sp = memchr(line, ' ', n);
    if (!sp || sp == line || sp == line + n - 1 || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - line)))
        return pb_fail(PB_DATA,
                       "%s: line %zu: expected two tokens separated by one space "
                       "(the file is corrupt: run %s)",
                       c->name, lineno, PB_SETUP_COMMAND);
    scratch->len = 0;
    size_t left_len = (size_t)(sp - line);
    PbStatus st = alias_to_bytes(c, line, left_len, scratch);
    size_t split = scratch->len;
    if (!st) st = alias_to_bytes(c, sp + 1, n - left_len - 1, scratch);
    if (st) return st;
    int32_t a = gpt2_vocab_find(v, scratch->data, split);
    int32_t b = gpt2_vocab_find(v, scratch->data + split, scratch->len - split);
    int32_t ab = gpt2_vocab_find(v, scratch->data, scratch->len);
    if (a < 0 || b < 0 || ab < 0)
        return pb_fail(PB_DATA,
                       "%s: line %zu: merge '%.*s' uses or makes a token that is "
                       "not in encoder.json (the files do not match: run %s)",
                       c->name, lineno, (int)(n < 60 ? n : 60), (const char *)line, PB_SETUP_COMMAND);
    if (ab != 256 + rank)
        return pb_fail(PB_DATA,
                       "%s: line %zu: merge makes id %d, expected %d (ranks must "
                       "follow line order: run %s)",
                       c->name, lineno, ab, 256 + rank, PB_SETUP_COMMAND);
    return PB_OK;
}

static PbStatus parse_merges(const Gpt2Vocab *v, Cursor *c) {
    const uint8_t *s = c->s;
    const uint8_t *nl = memchr(s, '\n', c->n);
    if (c->n < 8 || memcmp(s, "#version", 8) != 0 || !nl)
        return pb_fail(PB_DATA,
                       "%s: line 1: expected a '#version' line (the file is corrupt: "
                       "run %s)",
                       c->name, PB_SETUP_COMMAND);
    ByteBuf scratch = {0};
    PbStatus st = PB_OK;
    int32_t rank = 0;
    size_t lineno = 2;
    for (c->i = (size_t)(nl - s) + 1; !st && c->i < c->n; lineno++) {
        const uint8_t *line = s + c->i;
        nl = memchr(line, '\n', c->n - c->i);
        size_t n = nl ? (size_t)(nl - line) : c->n - c->i;
        if (rank == GPT2_N_MERGES) {
            st = pb_fail(PB_DATA,
                         "%s: line %zu: more than %d merges (the file is corrupt: "
                         "run %s)",
                         c->name, lineno, GPT2_N_MERGES, PB_SETUP_COMMAND);
        } else {
            st = check_merge(v, c, line, n, lineno, rank++, &scratch);
        }
        c->i += n + 1;
    }
    if (!st && rank != GPT2_N_MERGES)
        st = pb_fail(PB_DATA, "%s: has %d merges, expected %d (the file is corrupt: run %s)", c->name, rank,
                     GPT2_N_MERGES, PB_SETUP_COMMAND);
    bytebuf_free(&scratch);
    return st;
}

/* ---- the pair table ------------------------------------------------------ */

/* Inserts the pair (a, b) -> id; the table has room (load factor <= 0.5). */
static void insert_pair(Gpt2Vocab *v, int32_t a, int32_t b, int32_t id) {
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & v->pair_mask;
    while (v->pair_keys[i] != UINT64_MAX) i = (i + 1) & v->pair_mask;
    v->pair_keys[i] = key;
    v->pair_vals[i] = id;
}

/* A growable list of (left, right, merged) triples. */
typedef struct {
    int32_t *v;
    size_t n, cap;
} Triples;

static int triples_push(Triples *l, int32_t a, int32_t b, int32_t merged) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : (size_t)1 << 17;
        int32_t *p = realloc(l->v, cap * 3 * sizeof *p);
        if (!p) return -1;
        l->v = p;
        l->cap = cap;
    }
    l->v[3 * l->n] = a;
    l->v[3 * l->n + 1] = b;
    l->v[3 * l->n + 2] = merged;
    l->n++;
    return 0;
}

/* Finds every split of every mergeable token into two tokens (about 108k
 * for GPT-2, of which 50k are the merge lines), then sizes and fills the
 * table from that list. */
static PbStatus build_pairs(Gpt2Vocab *v) {
    Triples list = {0};
    for (int32_t id = 256; id < GPT2_EOT_ID; id++) {
        const uint8_t *s = v->tok_bytes + v->tok_off[id];
        size_t len = tok_len(v, id);
        for (size_t k = 1; k < len; k++) {
            int32_t a = gpt2_vocab_find(v, s, k), b;
            if (a < 0 || (b = gpt2_vocab_find(v, s + k, len - k)) < 0) continue;
            if (triples_push(&list, a, b, id)) {
                free(list.v);
                return pb_fail(PB_NOMEM, "cannot allocate the list of BPE pairs");
            }
        }
    }
    size_t slots = 1;
    while (slots < 2 * list.n) slots *= 2;
    v->pair_keys = malloc(slots * sizeof *v->pair_keys);
    v->pair_vals = malloc(slots * sizeof *v->pair_vals);
    if (!v->pair_keys || !v->pair_vals) {
        free(list.v);
        return pb_fail(PB_NOMEM, "cannot allocate the BPE pair table (%zu slots)", slots);
    }
    memset(v->pair_keys, 0xFF, slots * sizeof *v->pair_keys); /* all UINT64_MAX */
    v->pair_mask = slots - 1;
    v->n_pairs = list.n;
    for (size_t i = 0; i < list.n; i++) insert_pair(v, list.v[3 * i], list.v[3 * i + 1], list.v[3 * i + 2]);
    free(list.v);
    return PB_OK;
}

/* ---- loading ------------------------------------------------------------- */

PbStatus gpt2_vocab_parse(Gpt2Vocab *v, const uint8_t *enc, size_t enc_len, const char *enc_name, const uint8_t *bpe,
                          size_t bpe_len, const char *bpe_name) {
    int16_t cp_byte[N_ALIAS];
    uint8_t byte_order[256];
    byte_alias_tables(cp_byte, byte_order);
    *v = (Gpt2Vocab){0};
    Cursor ce = {enc, enc_len, 0, enc_name, cp_byte};
    Cursor cb = {bpe, bpe_len, 0, bpe_name, cp_byte};
    PbStatus st = parse_encoder(v, &ce);
    if (!st) st = build_find(v, enc_name, byte_order);
    if (!st) st = parse_merges(v, &cb);
    if (!st) st = build_pairs(v);
    if (st) gpt2_vocab_free(v);
    return st;
}

/* Reads a cache file and checks its SHA-256; every failure is PB_SETUP but
 * those of the input cap (core/io.h), which the user sets. */
static PbStatus read_verified(ByteBuf *out, const char *path, const char *sha256, size_t expected_len) {
    if (!file_exists(path))
        return pb_fail(PB_SETUP,
                       "GPT-2 vocabulary file '%s' is missing (or not a regular "
                       "file): run %s",
                       path, PB_SETUP_COMMAND);
    PbStatus st = read_file(out, path);
    if (st == PB_USAGE || st == PB_RANGE) return st; /* the input cap (core/io.h): the user's setting */
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", pb_errmsg());
        return pb_fail(PB_SETUP, "GPT-2 vocabulary file '%s' cannot be read (%s): run %s", path, why, PB_SETUP_COMMAND);
    }
    char hex[65];
    sha256_hex(hex, out->data, out->len);
    if (strcmp(hex, sha256) == 0) return PB_OK;
    if (out->len < expected_len)
        return pb_fail(PB_SETUP,
                       "GPT-2 vocabulary file '%s' is truncated (%zu of %zu bytes): "
                       "run %s to fetch it again",
                       path, out->len, expected_len, PB_SETUP_COMMAND);
    return pb_fail(PB_SETUP,
                   "GPT-2 vocabulary file '%s' is altered (SHA-256 %.16s..., "
                   "expected %.16s...): run %s to fetch it again",
                   path, hex, sha256, PB_SETUP_COMMAND);
}

PbStatus gpt2_vocab_load(Gpt2Vocab *v, const char *encoder_json_path, const char *vocab_bpe_path) {
    ByteBuf enc = {0}, bpe = {0};
    *v = (Gpt2Vocab){0};
    PbStatus st = read_verified(&enc, encoder_json_path, GPT2_ENCODER_SHA256, GPT2_ENCODER_BYTES);
    if (!st) st = read_verified(&bpe, vocab_bpe_path, GPT2_VOCAB_SHA256, GPT2_VOCAB_BYTES);
    if (!st) st = gpt2_vocab_parse(v, enc.data, enc.len, encoder_json_path, bpe.data, bpe.len, vocab_bpe_path);
    bytebuf_free(&enc);
    bytebuf_free(&bpe);
    return st;
}

void gpt2_vocab_free(Gpt2Vocab *v) {
    free(v->tok_bytes);
    free(v->tok_off);
    free(v->find_slots);
    free(v->pair_keys);
    free(v->pair_vals);
    *v = (Gpt2Vocab){0};
}

/* ---- decoding ------------------------------------------------------------ */

PbStatus gpt2_decode(const Gpt2Vocab *v, ByteBuf *out, const int32_t *ids, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) { /* check all first: nothing appended on error */
        if (ids[i] < 0 || ids[i] >= GPT2_VOCAB_SIZE)
            return pb_fail(PB_DATA,
                           "cannot decode token id %d at index %zu: gpt2 ids are "
                           "0..%d",
                           ids[i], i, GPT2_VOCAB_SIZE - 1);
        total += tok_len(v, ids[i]);
    }
    PbStatus st = bytebuf_reserve(out, total);
    if (st) return st;
    for (size_t i = 0; i < n; i++) {
        size_t len = tok_len(v, ids[i]);
        memcpy(out->data + out->len, v->tok_bytes + v->tok_off[ids[i]], len);
        out->len += len;
    }
    out->data[out->len] = 0;
    return PB_OK;
}
