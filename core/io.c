/* io.c: whole-file input through zlib's gzread, which also reads plain files
 * and inflates gzip as a stream; the input cap of io.h bounds both. */
#include "io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define READ_CHUNK ((size_t)1 << 17)

/* Grows b to hold `need` bytes (the NUL included): doubling, but never past
 * `most` when need fits under it, so a read bounded by a cap never reserves
 * far beyond it. */
static PbStatus grow(ByteBuf *b, size_t need, size_t most) {
    if (need <= b->cap) return PB_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) return pb_fail(PB_NOMEM, "buffer size overflow");
        cap *= 2;
    }
    if (cap > most && need <= most) cap = most;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return pb_fail(PB_NOMEM, "cannot grow a buffer to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return PB_OK;
}

PbStatus bytebuf_reserve(ByteBuf *b, size_t extra) {
    if (extra > SIZE_MAX - 1 - b->len) return pb_fail(PB_NOMEM, "buffer size overflow");
    return grow(b, b->len + extra + 1, SIZE_MAX);
}

PbStatus bytebuf_append(ByteBuf *b, const void *src, size_t n) {
    PbStatus st = bytebuf_reserve(b, n);
    if (st) return st;
    if (n) memcpy(b->data + b->len, src, n);
    b->len += n;
    b->data[b->len] = 0;
    return PB_OK;
}

void bytebuf_free(ByteBuf *b) {
    free(b->data);
    *b = (ByteBuf){0};
}

int file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int io_parse_size(const char *text, size_t *out) {
    if (!text || *text < '0' || *text > '9') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno) return -1;
    int shift = 0;
    switch (*end) {
    case 'k':
    case 'K': shift = 10, end++; break;
    case 'm':
    case 'M': shift = 20, end++; break;
    case 'g':
    case 'G': shift = 30, end++; break;
    default: break;
    }
    if (*end || v == 0 || v > (unsigned long long)(SIZE_MAX >> shift)) return -1;
    *out = (size_t)v << shift;
    return 0;
}

/* "64 KiB", "256 MiB", or "1000 bytes": the cap as people write it. */
static void size_text(char *buf, size_t cap, size_t n, int suffix_only) {
    static const char *const units[] = {"K", "M", "G"};
    int u = -1;
    for (int i = 2; i >= 0 && u < 0; i--)
        if (n % ((size_t)1 << (10 * (i + 1))) == 0) u = i;
    if (u < 0) snprintf(buf, cap, suffix_only ? "%zu" : "%zu bytes", n);
    else snprintf(buf, cap, suffix_only ? "%zu%s" : "%zu %siB", n >> (10 * (u + 1)), units[u]);
}

PbStatus io_max_input_bytes(size_t *cap) {
    const char *env = getenv(IO_MAX_INPUT_ENV);
    *cap = IO_MAX_INPUT_DEFAULT;
    if (!env || !*env) return PB_OK;
    if (io_parse_size(env, cap)) {
        char def[32];
        size_text(def, sizeof def, IO_MAX_INPUT_DEFAULT, 0);
        return pb_fail(PB_USAGE,
                       "%s='%s' is not a size: give a whole number of bytes, or one with K, M or G "
                       "(e.g. %s=512M); unset it for the default of %s",
                       IO_MAX_INPUT_ENV, env, IO_MAX_INPUT_ENV, def);
    }
    return PB_OK;
}

/* The error for an input past the cap. */
static PbStatus over_cap(const char *path, size_t cap, int inflated) {
    char now[32], more[32];
    size_text(now, sizeof now, cap, 0);
    size_text(more, sizeof more, cap <= SIZE_MAX / 4 ? cap * 4 : SIZE_MAX, 1);
    return pb_fail(PB_RANGE,
                   "'%s' %s more than the input cap of %s; if it is meant to be this large, "
                   "raise the cap with %s (e.g. %s=%s)",
                   path, inflated ? "inflates to" : "holds", now, IO_MAX_INPUT_ENV, IO_MAX_INPUT_ENV, more);
}

/* Opens path for reading ("-": a duplicate of standard input, so that
 * closing it leaves stdin open); directories are refused by name. */
static PbStatus open_input(const char *path, int *fd) {
    if (strcmp(path, "-") == 0) {
        *fd = dup(STDIN_FILENO);
    } else {
        struct stat sb;
        if (stat(path, &sb) != 0) return pb_fail(PB_IO, "cannot open '%s': %s", path, strerror(errno));
        if (S_ISDIR(sb.st_mode)) return pb_fail(PB_IO, "'%s' is a directory, expected a file", path);
        *fd = open(path, O_RDONLY);
    }
    if (*fd < 0) return pb_fail(PB_IO, "cannot open '%s': %s", path, strerror(errno));
    return PB_OK;
}

/* The error for a failed gzread: damaged gzip data, or an I/O error. */
static PbStatus gz_read_error(gzFile gz, const char *path) {
    int zerr;
    const char *msg = gzerror(gz, &zerr);
    /* zlib prefixes its messages with the name given to gzdopen ("<fd:3>: ") */
    const char *colon = msg ? strstr(msg, ">: ") : NULL;
    if (zerr == Z_DATA_ERROR)
        return pb_fail(PB_DATA, "cannot read '%s': damaged gzip data (%s)", path, colon ? colon + 3 : msg);
    return pb_fail(PB_IO, "cannot read '%s': %s", path, zerr == Z_ERRNO ? strerror(errno) : colon ? colon + 3 : msg);
}

/* At gzread's end of input: gzread ends quietly at a gzip stream cut short;
 * gzerror says so. */
static PbStatus gz_end_status(gzFile gz, const char *path) {
    int zerr;
    gzerror(gz, &zerr);
    if (zerr == Z_BUF_ERROR)
        return pb_fail(PB_DATA,
                       "'%s' is a truncated gzip file (it ends inside the compressed "
                       "stream)",
                       path);
    return PB_OK;
}

/* Appends all of gz to out, refusing (and dropping) an input of more than
 * cap bytes. */
static PbStatus read_capped(ByteBuf *out, gzFile gz, const char *path, size_t cap) {
    const size_t start = out->len, most = start + cap + 2; /* one byte past the cap, and the NUL */
    for (;;) {
        /* Up to one byte past the cap: reading it says the input is larger. */
        const size_t room = cap + 1 - (out->len - start);
        const size_t want = room < READ_CHUNK ? room : READ_CHUNK;
        PbStatus st = grow(out, out->len + want + 1, most);
        if (st) return st;
        int n = gzread(gz, out->data + out->len, (unsigned)want);
        if (n < 0) return gz_read_error(gz, path);
        if (n == 0) return gz_end_status(gz, path);
        out->len += (size_t)n;
        if (out->len - start > cap) {
            out->len = start; /* nothing of a refused input is kept */
            return over_cap(path, cap, !gzdirect(gz));
        }
    }
}

PbStatus read_file(ByteBuf *out, const char *path) {
    size_t cap;
    PbStatus st = io_max_input_bytes(&cap);
    if (st) return st;
    if (cap > SIZE_MAX / 4 - out->len) cap = SIZE_MAX / 4 - out->len; /* sums below cannot wrap */
    int fd = -1;
    if ((st = open_input(path, &fd))) return st;
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return pb_fail(PB_NOMEM, "cannot start reading '%s'", path);
    }
    gzbuffer(gz, READ_CHUNK);
    st = read_capped(out, gz, path, cap);
    if (out->data) out->data[out->len] = 0;
    gzclose(gz);
    return st;
}
