/* io.h: whole-file input, gzip-aware, with errors that name the path. */
#ifndef POSBENCH_IO_H
#define POSBENCH_IO_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Growable byte buffer; `data` is NUL-terminated for convenience (the NUL is
 * not counted in `len`, and the content may itself hold NUL bytes). */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} ByteBuf;

PbStatus bytebuf_reserve(ByteBuf *b, size_t extra);
PbStatus bytebuf_append(ByteBuf *b, const void *src, size_t n);
void bytebuf_free(ByteBuf *b);

/* Reads a whole file into `out` (appending). "-" reads standard input.
 * gzip files (such as dictd's .dict.dz) are inflated transparently by zlib.
 * Directories, unreadable paths and read errors are PB_IO with the path named. */
PbStatus read_file(ByteBuf *out, const char *path);

/* 1 if `path` names an existing regular file. */
int file_exists(const char *path);

#endif
