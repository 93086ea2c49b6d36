/* gpt2_bpe.c: GPT-2 encoding, text -> ids, as OpenAI's tiktoken "gpt2" does it
 * with allowed_special="all" (github.com/openai/tiktoken, src/lib.rs).
 *
 * 1. Specials: every "<|endoftext|>" becomes id 50256; the text between is
 *    encoded on its own (the regex never sees across a special token).
 * 2. Pre-tokenization splits the text into pieces with GPT-2's regex
 *      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *    run by PCRE2 (UTF, UCP, JIT). tiktoken runs it with Rust's fancy-regex,
 *    where \s is the Unicode White_Space property; PCRE2's \s differs (it
 *    leaves out U+0085, for one), so the class is spelled out below.
 * 3. Each piece that is a token as a whole is that token (tiktoken checks this
 *    first). Otherwise byte-pair encoding: start from one token per byte and
 *    repeatedly merge the adjacent pair whose concatenation has the lowest
 *    rank (= id), the leftmost one on ties, until no pair is a token.
 *
 * Invalid UTF-8 (tiktoken cannot take it, so this is our own rule): the regex
 * is compiled with PCRE2_MATCH_INVALID_UTF, under which ill-formed sequences
 * match nothing and act as boundaries. Every maximal run of bytes that no
 * match covers (always ill-formed bytes, since the regex's alternatives
 * cover every character) is one piece of its own and is byte-pair encoded
 * like any other: "\xE2\x80" alone becomes the single token for those two
 * bytes, "\xFF" its byte token. So every byte is encoded and decode restores
 * it, and valid text around an invalid run is split as if the run were the
 * start or end of the text.
 *
 * Speed: pieces repeat (words), so a bounded cache maps piece -> ids.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdlib.h>
#include <string.h>

#include "gpt2_internal.h"

/* Rust regex's \s: the Unicode White_Space property. */
#define WS \
    "\\t\\n\\x0B\\f\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}" \
    "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
static const char gpt2_pattern[] = "'s|'t|'re|'ve|'m|'ll|'d"
                                   "| ?\\p{L}+| ?\\p{N}+"
                                   "| ?[^" WS "\\p{L}\\p{N}]+"
                                   "|[" WS "]+(?![^" WS "])"
                                   "|[" WS "]+";

/* Longer pieces switch from tiktoken's rescanning loop to the heap. */
#define HEAP_FROM 48
/* Pieces beyond this many bytes are refused (parts are indexed by int32). */
#define MAX_PIECE ((size_t)1 << 28)
/* Merge scratch for more parts than this (64 bytes each) is released after use. */
#define KEEP_SCRATCH ((size_t)1 << 16)

/* Cache bounds: when any is reached the whole cache is cleared, which keeps
 * memory fixed and costs one refill of the common words. */
#define CACHE_SLOTS ((size_t)1 << 16)       /* power of two */
#define CACHE_MAX_ENTRIES (CACHE_SLOTS / 2) /* load factor 0.5 */
#define CACHE_MAX_PIECE 64                  /* longer pieces are not cached */
#define CACHE_KEY_BYTES ((size_t)1 << 20)
#define CACHE_IDS ((size_t)1 << 18)

typedef struct {
    uint32_t hash; /* 0 marks an empty slot (stored hashes are never 0) */
    uint16_t key_len;
    uint16_t n_ids;
    uint32_t key_off; /* into keys */
    uint32_t ids_off; /* into ids */
} CacheEntry;

typedef struct {
    int32_t rank;    /* merged id of the pair */
    int32_t left;    /* index of the left part = its first byte's offset */
    int32_t left_id; /* ids of both parts when pushed, to spot stale entries */
    int32_t right_id;
} HeapEntry;

struct Gpt2Encoder {
    const Gpt2Vocab *v;
    pcre2_code *re;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    /* Merge scratch, one block sized for `cap` parts. */
    void *scratch;
    size_t cap;
    int32_t *ids, *rank, *next, *prev; /* [cap] each */
    HeapEntry *heap;                   /* [3 * cap]: n - 1 pairs + 2 per merge */
    /* Piece cache. */
    CacheEntry *slots; /* [CACHE_SLOTS] */
    uint8_t *keys;     /* [CACHE_KEY_BYTES] */
    int32_t *cids;     /* [CACHE_IDS] */
    size_t n_entries, keys_len, cids_len;
};

/* ---- set-up -------------------------------------------------------------- */

static PbStatus compile_pattern(Gpt2Encoder *e) {
    int err;
    PCRE2_SIZE at;
    e->re = pcre2_compile((PCRE2_SPTR)gpt2_pattern, PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &at, NULL);
    if (!e->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return pb_fail(PB_INTERNAL,
                       "cannot compile the GPT-2 pre-tokenizer regex at offset "
                       "%zu: %s",
                       (size_t)at, (const char *)msg);
    }
    /* No JIT on this platform is fine: pcre2_match then interprets. */
    if (pcre2_jit_compile(e->re, PCRE2_JIT_COMPLETE) == 0) {
        e->mctx = pcre2_match_context_create(NULL);
        e->jit_stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
        if (!e->mctx || !e->jit_stack) return pb_fail(PB_NOMEM, "cannot allocate the regex JIT stack");
        pcre2_jit_stack_assign(e->mctx, NULL, e->jit_stack);
    }
    e->md = pcre2_match_data_create(1, NULL);
    if (!e->md) return pb_fail(PB_NOMEM, "cannot allocate regex match data");
    return PB_OK;
}

PbStatus gpt2_encoder_new(Gpt2Encoder **out, const Gpt2Vocab *v) {
    *out = NULL;
    Gpt2Encoder *e = pb_calloc(1, sizeof *e, "the GPT-2 encoder");
    if (!e) return PB_NOMEM;
    e->v = v;
    PbStatus st = compile_pattern(e);
    if (!st) {
        e->slots = pb_calloc(CACHE_SLOTS, sizeof *e->slots, "the GPT-2 piece cache");
        e->keys = e->slots ? pb_calloc(CACHE_KEY_BYTES, 1, "the GPT-2 piece cache") : NULL;
        e->cids = e->keys ? pb_calloc(CACHE_IDS, sizeof *e->cids, "the GPT-2 piece cache") : NULL;
        if (!e->cids) st = PB_NOMEM;
    }
    if (st) {
        gpt2_encoder_free(e);
        return st;
    }
    *out = e;
    return PB_OK;
}

void gpt2_encoder_free(Gpt2Encoder *e) {
    if (!e) return;
    pcre2_match_data_free(e->md);
    pcre2_match_context_free(e->mctx);
    pcre2_jit_stack_free(e->jit_stack);
    pcre2_code_free(e->re);
    free(e->scratch);
    free(e->slots);
    free(e->keys);
    free(e->cids);
    free(e);
}

/* ---- byte-pair merging --------------------------------------------------- */

/* Makes the scratch hold n parts; all arrays in one block. */
static PbStatus reserve_scratch(Gpt2Encoder *e, size_t n) {
    if (n <= e->cap) return PB_OK;
    size_t cap = e->cap ? e->cap : 64;
    while (cap < n) cap *= 2;
    size_t bytes = cap * (4 * sizeof(int32_t) + 3 * sizeof(HeapEntry));
    void *p = malloc(bytes);
    if (!p) return pb_fail(PB_NOMEM, "cannot allocate %zu bytes to merge a %zu-byte piece", bytes, n);
    free(e->scratch);
    e->scratch = p;
    e->cap = cap;
    e->heap = p; /* HeapEntry first: it has the strictest alignment */
    e->ids = (int32_t *)(e->heap + 3 * cap);
    e->rank = e->ids + cap;
    e->next = e->rank + cap;
    e->prev = e->next + cap;
    return PB_OK;
}

static void release_big_scratch(Gpt2Encoder *e) {
    if (e->cap <= KEEP_SCRATCH) return;
    free(e->scratch);
    e->scratch = NULL;
    e->cap = 0;
}

/* Rank of an adjacent pair: its merged id, or INT32_MAX if it is no token. */
static int32_t pair_rank(const Gpt2Vocab *v, int32_t left, int32_t right) {
    int32_t id = gpt2_vocab_pair(v, left, right);
    return id < 0 ? INT32_MAX : id;
}

/* tiktoken's loop: find the leftmost lowest rank, merge, repeat. O(m^2) but
 * fastest for the short pieces that make up nearly all text. Returns the
 * number of parts left in e->ids. */
static size_t merge_scan(Gpt2Encoder *e, size_t m) {
    int32_t *ids = e->ids, *rank = e->rank;
    for (size_t i = 0; i + 1 < m; i++) rank[i] = pair_rank(e->v, ids[i], ids[i + 1]);
    while (m > 1) {
        size_t best = 0;
        for (size_t i = 1; i + 1 < m; i++)
            if (rank[i] < rank[best]) best = i;
        if (rank[best] == INT32_MAX) break;
        ids[best] = rank[best];
        memmove(ids + best + 1, ids + best + 2, (m - best - 2) * sizeof *ids);
        memmove(rank + best, rank + best + 1, (m - best - 2) * sizeof *rank);
        m--;
        if (best > 0) rank[best - 1] = pair_rank(e->v, ids[best - 1], ids[best]);
        if (best + 1 < m) rank[best] = pair_rank(e->v, ids[best], ids[best + 1]);
    }
    return m;
}

static int heap_less(const HeapEntry *a, const HeapEntry *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void heap_push(HeapEntry *h, size_t *n, HeapEntry x) {
    size_t i = (*n)++;
    while (i > 0 && heap_less(&x, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static HeapEntry heap_pop(HeapEntry *h, size_t *n) {
    HeapEntry top = h[0], x = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap_less(&h[c + 1], &h[c])) c++;
        if (!heap_less(&h[c], &x)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = x;
    return top;
}

static void push_pair(Gpt2Encoder *e, size_t *n_heap, int32_t left) {
    if (left < 0 || e->next[left] < 0) return;
    int32_t right = e->next[left];
    int32_t r = gpt2_vocab_pair(e->v, e->ids[left], e->ids[right]);
    if (r >= 0) heap_push(e->heap, n_heap, (HeapEntry){r, left, e->ids[left], e->ids[right]});
}

/* The same merge order as merge_scan, O(m log m): pairs wait in a heap keyed
 * by (rank, position); entries made stale by a neighbour's merge are skipped
 * when popped. Parts form a linked list; a merged-away part gets id -1.
 * Leaves the parts compacted in e->ids and returns their number. */
static size_t merge_heap(Gpt2Encoder *e, size_t m) {
    int32_t *ids = e->ids, *next = e->next, *prev = e->prev;
    size_t n_heap = 0;
    for (size_t i = 0; i < m; i++) {
        next[i] = i + 1 < m ? (int32_t)i + 1 : -1;
        prev[i] = (int32_t)i - 1;
    }
    for (size_t i = 0; i + 1 < m; i++) push_pair(e, &n_heap, (int32_t)i);
    while (n_heap) {
        HeapEntry h = heap_pop(e->heap, &n_heap);
        int32_t l = h.left, r = next[l];
        if (ids[l] != h.left_id || r < 0 || ids[r] != h.right_id) continue;
        ids[l] = h.rank;
        ids[r] = -1;
        next[l] = next[r];
        if (next[r] >= 0) prev[next[r]] = l;
        push_pair(e, &n_heap, prev[l]);
        push_pair(e, &n_heap, l);
    }
    size_t k = 0;
    for (int32_t i = 0; i >= 0; i = next[i]) ids[k++] = ids[i];
    return k;
}

PbStatus gpt2_bpe_merge(Gpt2Encoder *e, IdBuf *out, const uint8_t *piece, size_t n, Gpt2MergeAlgo algo) {
    if (n == 0) return PB_OK;
    if (n > MAX_PIECE)
        return pb_fail(PB_LENGTH,
                       "a %zu-byte stretch of text without a word break is too "
                       "long for the gpt2 tokenizer (at most %zu bytes)",
                       n, MAX_PIECE);
    PbStatus st = reserve_scratch(e, n);
    if (!st) st = idbuf_reserve(out, n);
    if (st) return st;
    for (size_t i = 0; i < n; i++) e->ids[i] = e->v->byte_id[piece[i]];
    int heap = algo == GPT2_MERGE_HEAP || (algo == GPT2_MERGE_AUTO && n >= HEAP_FROM);
    size_t m = heap ? merge_heap(e, n) : merge_scan(e, n);
    memcpy(out->data + out->len, e->ids, m * sizeof *e->ids);
    out->len += m;
    release_big_scratch(e);
    return PB_OK;
}

/* ---- piece cache --------------------------------------------------------- */

static void cache_clear(Gpt2Encoder *e) {
    memset(e->slots, 0, CACHE_SLOTS * sizeof *e->slots);
    e->n_entries = e->keys_len = e->cids_len = 0;
}

/* The slot holding this piece, or the empty slot where it would go. */
static CacheEntry *cache_slot(Gpt2Encoder *e, const uint8_t *p, size_t n, uint32_t hash) {
    for (size_t i = hash & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        CacheEntry *c = &e->slots[i];
        if (c->hash == 0 || (c->hash == hash && c->key_len == n && memcmp(e->keys + c->key_off, p, n) == 0)) return c;
    }
}

static void cache_store(Gpt2Encoder *e, const uint8_t *p, size_t n, uint32_t hash, const int32_t *ids, size_t n_ids) {
    if (e->n_entries == CACHE_MAX_ENTRIES || e->keys_len + n > CACHE_KEY_BYTES || e->cids_len + n_ids > CACHE_IDS)
        cache_clear(e);
    CacheEntry *c = cache_slot(e, p, n, hash);
    *c = (CacheEntry){hash, (uint16_t)n, (uint16_t)n_ids, (uint32_t)e->keys_len, (uint32_t)e->cids_len};
    memcpy(e->keys + e->keys_len, p, n);
    memcpy(e->cids + e->cids_len, ids, n_ids * sizeof *ids);
    e->keys_len += n;
    e->cids_len += n_ids;
    e->n_entries++;
}

/* ---- pieces and text ----------------------------------------------------- */

static PbStatus encode_piece(Gpt2Encoder *e, IdBuf *out, const uint8_t *p, size_t n) {
    if (n == 1) return idbuf_push(out, e->v->byte_id[p[0]]);
    int32_t whole = gpt2_vocab_find(e->v, p, n);
    if (whole >= 0) return idbuf_push(out, whole);
    if (n > CACHE_MAX_PIECE) return gpt2_bpe_merge(e, out, p, n, GPT2_MERGE_AUTO);
    uint32_t hash = (uint32_t)gpt2_hash_bytes(p, n) | 1;
    CacheEntry *c = cache_slot(e, p, n, hash);
    if (c->hash) {
        PbStatus st = idbuf_reserve(out, c->n_ids);
        if (st) return st;
        memcpy(out->data + out->len, e->cids + c->ids_off, c->n_ids * sizeof *out->data);
        out->len += c->n_ids;
        return PB_OK;
    }
    size_t before = out->len;
    PbStatus st = gpt2_bpe_merge(e, out, p, n, GPT2_MERGE_AUTO);
    if (!st) cache_store(e, p, n, hash, out->data + before, out->len - before);
    return st;
}

/* Pre-tokenizes and encodes text without special tokens; bytes between
 * matches (invalid UTF-8) are pieces too. */
static PbStatus encode_ordinary(Gpt2Encoder *e, IdBuf *out, const uint8_t *s, size_t n) {
    size_t done = 0; /* s[0..done) is encoded */
    PbStatus st = PB_OK;
    while (!st && done < n) {
        int rc = pcre2_match(e->re, s, n, done, 0, e->md, e->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return pb_fail(PB_INTERNAL, "GPT-2 pre-tokenizer failed at byte %zu: %s", done, (const char *)msg);
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
        if (ov[1] <= ov[0]) /* the pattern cannot match empty; never loop on it */
            return pb_fail(PB_INTERNAL, "GPT-2 pre-tokenizer matched nothing at byte %zu", (size_t)ov[0]);
        if (ov[0] > done) st = encode_piece(e, out, s + done, ov[0] - done);
        if (!st) st = encode_piece(e, out, s + ov[0], ov[1] - ov[0]);
        done = ov[1];
    }
    if (!st && done < n) st = encode_piece(e, out, s + done, n - done);
    return st;
}

/* Offset of the first "<|endoftext|>" in s[from..n), or n. */
static size_t find_eot(const uint8_t *s, size_t from, size_t n) {
    const size_t len = sizeof GPT2_EOT_TEXT - 1;
    while (from + len <= n) {
        const uint8_t *lt = memchr(s + from, '<', n - len + 1 - from);
        if (!lt) break;
        if (memcmp(lt, GPT2_EOT_TEXT, len) == 0) return (size_t)(lt - s);
        from = (size_t)(lt - s) + 1;
    }
    return n;
}

PbStatus gpt2_encode(Gpt2Encoder *e, IdBuf *out, const uint8_t *text, size_t n) {
    size_t start_len = out->len, pos = 0;
    PbStatus st = PB_OK;
    while (!st && pos < n) {
        size_t eot = find_eot(text, pos, n);
        st = encode_ordinary(e, out, text + pos, eot - pos);
        if (st || eot == n) break;
        st = idbuf_push(out, GPT2_EOT_ID);
        pos = eot + sizeof GPT2_EOT_TEXT - 1;
    }
    if (st) out->len = start_len; /* no partial result */
    return st;
}
