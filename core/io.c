/* io.c: whole-file input through zlib's gzread, which also reads plain files. */
#include "io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

PbStatus bytebuf_reserve(ByteBuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return PB_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) return pb_fail(PB_NOMEM, "buffer size overflow");
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p) return pb_fail(PB_NOMEM, "cannot grow a buffer to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return PB_OK;
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

PbStatus read_file(ByteBuf *out, const char *path) {
    int fd;
    if (strcmp(path, "-") == 0) {
        fd = dup(STDIN_FILENO);
    } else {
        struct stat sb;
        if (stat(path, &sb) != 0)
            return pb_fail(PB_IO, "cannot open '%s': %s", path, strerror(errno));
        if (S_ISDIR(sb.st_mode))
            return pb_fail(PB_IO, "'%s' is a directory, expected a file", path);
        fd = open(path, O_RDONLY);
    }
    if (fd < 0) return pb_fail(PB_IO, "cannot open '%s': %s", path, strerror(errno));
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return pb_fail(PB_NOMEM, "cannot start reading '%s'", path);
    }
    gzbuffer(gz, 1 << 17);
    PbStatus st = PB_OK;
    for (;;) {
        if ((st = bytebuf_reserve(out, 1 << 17))) break;
        int n = gzread(gz, out->data + out->len, 1 << 17);
        if (n < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            /* zlib prefixes its messages with the name given to gzdopen ("<fd:3>: ") */
            const char *colon = msg ? strstr(msg, ">: ") : NULL;
            if (zerr == Z_DATA_ERROR)
                st = pb_fail(PB_DATA, "cannot read '%s': damaged gzip data (%s)", path,
                             colon ? colon + 3 : msg);
            else
                st = pb_fail(PB_IO, "cannot read '%s': %s", path,
                             zerr == Z_ERRNO ? strerror(errno) : colon ? colon + 3 : msg);
            break;
        }
        if (n == 0) {
            /* gzread ends quietly at a gzip stream cut short; gzerror says so. */
            int zerr;
            gzerror(gz, &zerr);
            if (zerr == Z_BUF_ERROR)
                st = pb_fail(PB_DATA, "'%s' is a truncated gzip file (it ends inside the compressed "
                             "stream)", path);
            break;
        }
        out->len += (size_t)n;
    }
    if (out->data) out->data[out->len] = 0;
    gzclose(gz);
    return st;
}
