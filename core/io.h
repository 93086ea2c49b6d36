/* io.h: whole-file input, gzip-aware and bounded, with errors that name the
 * path.
 *
 * Input cap: corpora and other inputs come from other people, so a whole-file
 * read stops at a cap instead of growing until memory runs out (a few MB of
 * gzip can inflate to many GiB; /dev/zero never ends). The cap counts the
 * bytes read after inflating. Default IO_MAX_INPUT_DEFAULT (256 MiB): some
 * 200 times the largest built-in corpus (jargon, 1.4 MB), and an input of
 * that size already needs about 2.3 GiB downstream (the text, then 4-byte
 * tokenizer ids and 4-byte model ids for each byte with the bytes
 * tokenizer). The environment variable POSBENCH_MAX_INPUT_BYTES changes it:
 * a whole number of bytes, or one with a K, M or G suffix (powers of 1024:
 * 512M, 2G).
 */
#ifndef POSBENCH_IO_H
#define POSBENCH_IO_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define IO_MAX_INPUT_ENV "POSBENCH_MAX_INPUT_BYTES"
#define IO_MAX_INPUT_DEFAULT ((size_t)256 << 20)

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

/* Parses a size: digits with an optional K, M or G suffix (any case; powers
 * of 1024). 0, anything else, or more than SIZE_MAX: -1. */
int io_parse_size(const char *text, size_t *out);

/* The input cap in effect: POSBENCH_MAX_INPUT_BYTES, or the default. A value
 * that does not parse is PB_USAGE naming the variable and the value. */
PbStatus io_max_input_bytes(size_t *cap);

/* Reads a whole file into `out` (appending). "-" reads standard input.
 * gzip files (such as dictd's .dict.dz) are inflated transparently by zlib,
 * as a stream. More than the input cap (see above) of bytes, inflated, is
 * PB_RANGE naming the file, the cap and how to raise it; the buffer never
 * grows past the cap by more than one read's worth. Directories, unreadable
 * paths and read errors are PB_IO with the path named. */
PbStatus read_file(ByteBuf *out, const char *path);

/* 1 if `path` names an existing regular file. */
int file_exists(const char *path);

#endif
