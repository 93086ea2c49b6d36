/* fuzz_tokenizer.c: libFuzzer target for the tokenizers.
 *
 * For arbitrary bytes x:
 *   1. gpt2: decode(encode(x)) == x, and encode(x) equals the ids of a slow
 *      reference written here from the definitions alone (no production code):
 *        - ranks read from vocab.bpe itself (byte tokens in GPT-2's
 *          bytes_to_unicode order get 0..255, merge line i gets 256 + i), not
 *          from encoder.json, so the comparison also checks the two files agree;
 *        - "<|endoftext|>" split off as id 50256;
 *        - strict UTF-8 decoding (Unicode Table 3-7); a maximal run of
 *          ill-formed bytes is one piece; each run of valid characters is
 *          split by a hand-written matcher of GPT-2's pattern
 *            's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *          (\s is Unicode White_Space as listed below; PCRE2 is asked only
 *          whether one code point is \p{L} or \p{N});
 *        - a piece that is a token as a whole is that token; otherwise the
 *          naive O(n^2) loop: merge the leftmost adjacent pair whose
 *          concatenation has the lowest rank until none is a token.
 *   2. bytes: decode(encode(x)) == x and the ids are the bytes.
 * Any difference aborts (a finding). Needs the set-up cache (tools/setup);
 * POSBENCH_DATA_DIR points elsewhere as for posbench.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/paths.h"
#include "datasets/tokenizer.h"

static Tokenizer *gpt2, *bytes_tok;

/* ---- reference ranks: bytes -> rank, from vocab.bpe ---------------------- */

typedef struct {
    uint8_t *arena; /* token bytes */
    size_t arena_len;
    uint32_t *off, *len; /* [rank] */
    int32_t *slots;      /* open addressing over ranks, -1 empty */
    size_t mask;
    int n;
} Ranks;
static Ranks R;
static int unicode_to_byte[512]; /* GPT-2's bytes_to_unicode, inverted (code points < 324) */

static uint64_t fnv(const uint8_t *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static int rank_of(const uint8_t *s, size_t n) {
    for (size_t i = fnv(s, n) & R.mask;; i = (i + 1) & R.mask) {
        int32_t r = R.slots[i];
        if (r < 0) return -1;
        if (R.len[r] == n && memcmp(R.arena + R.off[r], s, n) == 0) return r;
    }
}

static void add_rank(const uint8_t *s, size_t n) {
    int r = R.n++;
    memcpy(R.arena + R.arena_len, s, n);
    R.off[r] = (uint32_t)R.arena_len;
    R.len[r] = (uint32_t)n;
    R.arena_len += n;
    size_t i = fnv(s, n) & R.mask;
    while (R.slots[i] >= 0) i = (i + 1) & R.mask;
    R.slots[i] = r;
}

/* One UTF-8 encoded vocab.bpe symbol (byte-level alphabet) back to bytes. */
static size_t unmap_symbol(const char *s, size_t n, uint8_t *out) {
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = (uint8_t)s[i];
        int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : 3;
        unsigned cp = len == 1   ? c
                      : len == 2 ? ((c & 0x1F) << 6) | (s[i + 1] & 0x3F)
                                 : ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
        if (cp >= 512 || unicode_to_byte[cp] < 0) {
            fprintf(stderr, "fuzz_tokenizer: vocab.bpe symbol outside the byte alphabet\n");
            abort();
        }
        out[k++] = (uint8_t)unicode_to_byte[cp];
        i += len;
    }
    return k;
}

static void load_ranks(void) {
    /* GPT-2's bytes_to_unicode: printable bytes map to themselves, in order;
     * the rest to 256, 257, ... in byte order. Ranks 0..255 follow the
     * printable ones first, then the others, as the list bs is built. */
    int order[256], n_order = 0;
#define PRINTABLE(b) (((b) >= '!' && (b) <= '~') || ((b) >= 0xA1 && (b) <= 0xAC) || ((b) >= 0xAE && (b) <= 0xFF))
    for (int b = 0; b < 512; b++) unicode_to_byte[b] = -1;
    for (int b = 0; b < 256; b++)
        if (PRINTABLE(b)) order[n_order++] = b, unicode_to_byte[b] = b;
    for (int b = 0, extra = 0; b < 256; b++)
        if (!PRINTABLE(b)) order[n_order++] = b, unicode_to_byte[256 + extra++] = b;
#undef PRINTABLE
    char path[4096];
    data_path(path, sizeof path, "gpt2/vocab.bpe");
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_tokenizer: cannot open %s: run tools/setup\n", path);
        exit(3); /* run_fuzz.sh: skipped, set-up missing */
    }
    R.off = calloc(60000, sizeof *R.off);
    R.len = calloc(60000, sizeof *R.len);
    R.arena = malloc(1 << 22);
    R.mask = (1 << 17) - 1;
    R.slots = malloc((R.mask + 1) * sizeof *R.slots);
    memset(R.slots, 0xFF, (R.mask + 1) * sizeof *R.slots);
    for (int i = 0; i < 256; i++) {
        uint8_t b = (uint8_t)order[i];
        add_rank(&b, 1);
    }
    char line[1024];
    uint8_t tok[512];
    int first = 1;
    while (fgets(line, sizeof line, f)) {
        if (first && line[0] == '#') {
            first = 0;
            continue;
        }
        first = 0;
        size_t n = strcspn(line, "\r\n");
        if (!n) continue;
        char *sp = memchr(line, ' ', n);
        if (!sp) abort();
        size_t a = unmap_symbol(line, (size_t)(sp - line), tok);
        size_t b = unmap_symbol(sp + 1, n - (size_t)(sp - line) - 1, tok + a);
        add_rank(tok, a + b);
    }
    fclose(f);
    if (R.n != 50256) {
        fprintf(stderr, "fuzz_tokenizer: vocab.bpe gives %d ranks, expected 50256\n", R.n);
        abort();
    }
}

/* ---- reference pre-tokenizer ---------------------------------------------- */

enum { C_UNKNOWN, C_L, C_N, C_WS, C_OTHER };
static uint8_t *cls_cache; /* [0x110000] */
static pcre2_code *re_L, *re_N;
static pcre2_match_data *md;

static int is_ws(uint32_t c) { /* Unicode White_Space */
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static size_t put_utf8(uint32_t c, uint8_t *o) {
    if (c < 0x80) return o[0] = (uint8_t)c, 1;
    if (c < 0x800) return o[0] = 0xC0 | c >> 6, o[1] = 0x80 | (c & 0x3F), 2;
    if (c < 0x10000) return o[0] = 0xE0 | c >> 12, o[1] = 0x80 | (c >> 6 & 0x3F), o[2] = 0x80 | (c & 0x3F), 3;
    o[0] = 0xF0 | c >> 18, o[1] = 0x80 | (c >> 12 & 0x3F), o[2] = 0x80 | (c >> 6 & 0x3F), o[3] = 0x80 | (c & 0x3F);
    return 4;
}

static int cls(uint32_t c) {
    if (cls_cache[c]) return cls_cache[c];
    uint8_t u[4];
    size_t n = put_utf8(c, u);
    int k = is_ws(c)                                       ? C_WS
            : pcre2_match(re_L, u, n, 0, 0, md, NULL) >= 0 ? C_L
            : pcre2_match(re_N, u, n, 0, 0, md, NULL) >= 0 ? C_N
                                                           : C_OTHER;
    return cls_cache[c] = (uint8_t)k;
}

/* Length of the well-formed UTF-8 sequence at s[0..n), 0 if ill-formed. */
static int utf8_len(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t b = s[0];
#define CONT(i) (n > (i) && (s[i] & 0xC0) == 0x80)
    if (b < 0x80) return *cp = b, 1;
    if (b >= 0xC2 && b <= 0xDF && CONT(1)) return *cp = (b & 0x1F) << 6 | (s[1] & 0x3F), 2;
    if (b >= 0xE0 && b <= 0xEF && CONT(1) && CONT(2)) {
        if ((b == 0xE0 && s[1] < 0xA0) || (b == 0xED && s[1] > 0x9F)) return 0;
        return *cp = (b & 0x0F) << 12 | (s[1] & 0x3F) << 6 | (s[2] & 0x3F), 3;
    }
    if (b >= 0xF0 && b <= 0xF4 && CONT(1) && CONT(2) && CONT(3)) {
        if ((b == 0xF0 && s[1] < 0x90) || (b == 0xF4 && s[1] > 0x8F)) return 0;
        return *cp = (b & 0x07) << 18 | (s[1] & 0x3F) << 12 | (s[2] & 0x3F) << 6 | (s[3] & 0x3F), 4;
    }
#undef CONT
    return 0;
}

/* ---- reference BPE --------------------------------------------------------- */

static int32_t *ref_ids;
static size_t ref_n;

static void ref_piece(const uint8_t *p, size_t n) {
    if (!n) return;
    int whole = rank_of(p, n);
    if (whole >= 0) {
        ref_ids[ref_n++] = whole;
        return;
    }
    /* parts as (start, length) over p */
    size_t *st = malloc(n * sizeof *st), *ln = malloc(n * sizeof *ln), m = n;
    for (size_t i = 0; i < n; i++) st[i] = i, ln[i] = 1;
    for (;;) {
        int best = -1;
        size_t at = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            int r = rank_of(p + st[i], ln[i] + ln[i + 1]);
            if (r >= 0 && (best < 0 || r < best)) best = r, at = i;
        }
        if (best < 0) break;
        ln[at] += ln[at + 1];
        memmove(st + at + 1, st + at + 2, (m - at - 2) * sizeof *st);
        memmove(ln + at + 1, ln + at + 2, (m - at - 2) * sizeof *ln);
        m--;
    }
    for (size_t i = 0; i < m; i++) {
        int r = rank_of(p + st[i], ln[i]);
        if (r < 0) abort(); /* every single byte is a token */
        ref_ids[ref_n++] = r;
    }
    free(st), free(ln);
}

/* The pattern over valid characters c[0..n) with byte offsets o[0..n]. */
static void ref_valid_run(const uint8_t *s, const uint32_t *c, const size_t *o, size_t n) {
    static const char *const contractions[] = {"s", "t", "re", "ve", "m", "ll", "d"};
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        if (c[i] == '\'') {
            for (int k = 0; k < 7 && j == i; k++) {
                size_t L = strlen(contractions[k]);
                int ok = i + L < n;
                for (size_t q = 0; ok && q < L; q++) ok = c[i + 1 + q] == (uint32_t)contractions[k][q];
                if (ok) j = i + 1 + L;
            }
        }
        for (int want = C_L; j == i && want <= C_OTHER; want++) { /* ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+` */
            if (want == C_WS) continue;
            size_t q = i + (c[i] == ' ' && i + 1 < n && cls(c[i + 1]) == want);
            if (cls(c[q]) != want) continue;
            while (q < n && cls(c[q]) == want) q++;
            j = q;
        }
        if (j == i) { /* whitespace: `\s+(?!\S)`, else `\s+` */
            size_t q = i;
            while (q < n && cls(c[q]) == C_WS) q++;
            j = (q == n || q - i == 1) ? q : q - 1;
        }
        ref_piece(s + o[i], o[j] - o[i]);
        i = j;
    }
}

static void ref_ordinary(const uint8_t *s, size_t n) {
    uint32_t *c = malloc((n + 1) * sizeof *c);
    size_t *o = malloc((n + 1) * sizeof *o);
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        if (!utf8_len(s + i, n - i, &cp)) { /* a maximal run of ill-formed bytes */
            size_t j = i + 1;
            while (j < n && !utf8_len(s + j, n - j, &cp)) j++;
            ref_piece(s + i, j - i);
            i = j;
            continue;
        }
        size_t k = 0;
        while (i < n) {
            int len = utf8_len(s + i, n - i, &cp);
            if (!len) break;
            c[k] = cp, o[k] = i, k++;
            i += len;
        }
        o[k] = i;
        ref_valid_run(s, c, o, k);
    }
    free(c), free(o);
}

static void ref_encode(const uint8_t *s, size_t n) {
    static const char eot[] = "<|endoftext|>";
    const size_t L = sizeof eot - 1;
    ref_n = 0;
    size_t start = 0;
    for (size_t i = 0; i + L <= n;) {
        if (memcmp(s + i, eot, L) == 0) {
            ref_ordinary(s + start, i - start);
            ref_ids[ref_n++] = 50256;
            start = i += L;
        } else {
            i++;
        }
    }
    ref_ordinary(s + start, n - start);
}

/* ---- the target ------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    if (tokenizer_open(&gpt2, "gpt2") || tokenizer_open(&bytes_tok, "bytes")) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", pb_errmsg());
        exit(3); /* run_fuzz.sh: skipped, set-up missing */
    }
    load_ranks();
    int err;
    PCRE2_SIZE at;
    re_L = pcre2_compile((PCRE2_SPTR) "^\\p{L}$", PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err, &at, NULL);
    re_N = pcre2_compile((PCRE2_SPTR) "^\\p{N}$", PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err, &at, NULL);
    md = pcre2_match_data_create(4, NULL);
    cls_cache = calloc(0x110000, 1);
    if (!re_L || !re_N || !md || !cls_cache) abort();
    return 0;
}

static void check_round_trip(Tokenizer *t, const IdBuf *ids, const uint8_t *data, size_t size) {
    ByteBuf back = {0};
    if (tokenizer_decode(t, &back, ids->data, ids->len)) {
        fprintf(stderr, "%s: decode failed: %s\n", tokenizer_name(t), pb_errmsg());
        abort();
    }
    if (back.len != size || (size && memcmp(back.data, data, size) != 0)) {
        fprintf(stderr, "%s: decode(encode(x)) != x (%zu bytes in, %zu out)\n", tokenizer_name(t), size, back.len);
        abort();
    }
    bytebuf_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    IdBuf ids = {0};
    if (tokenizer_encode(gpt2, &ids, data, size)) {
        fprintf(stderr, "gpt2: encode failed: %s\n", pb_errmsg());
        abort();
    }
    check_round_trip(gpt2, &ids, data, size);
    ref_ids = malloc((size + 1) * sizeof *ref_ids);
    ref_encode(data, size);
    if (ref_n != ids.len || (ref_n && memcmp(ref_ids, ids.data, ref_n * sizeof *ref_ids) != 0)) {
        size_t k = 0;
        while (k < ref_n && k < ids.len && ref_ids[k] == ids.data[k]) k++;
        fprintf(stderr, "gpt2: ids differ from the reference at index %zu (%zu vs %zu ids): %d vs %d\n", k, ids.len,
                ref_n, k < ids.len ? ids.data[k] : -1, k < ref_n ? ref_ids[k] : -1);
        abort();
    }
    free(ref_ids);
    ids.len = 0;
    if (tokenizer_encode(bytes_tok, &ids, data, size) || ids.len != size) abort();
    for (size_t i = 0; i < size; i++)
        if (ids.data[i] != data[i]) abort();
    check_round_trip(bytes_tok, &ids, data, size);
    idbuf_free(&ids);
    return 0;
}
