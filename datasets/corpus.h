/* corpus.h: the text a run trains or evaluates on.
 *
 * Built-in corpora (fetched by tools/setup from Debian packages, public domain):
 *   jargon  The Jargon File 4.4.7 (dict-jargon), about 1.4 MB of English
 *   devil   Ambrose Bierce, The Devil's Dictionary (dict-devil), about 380 KB
 * Both are the uncompressed text of their dictd .dict.dz files, whose SHA-256
 * is checked on load. Any other name is read as a file path ("-": stdin).
 */
#ifndef POSBENCH_CORPUS_H
#define POSBENCH_CORPUS_H

#include "../core/io.h"
#include "../core/status.h"

#define CORPUS_DEFAULT "jargon"

/* Loads a built-in corpus by name, or a file. Empty text is PB_DATA; a
 * missing or altered built-in is PB_SETUP naming tools/setup. */
PbStatus corpus_load(ByteBuf *out, const char *name_or_path);

/* 1 if name is a built-in corpus name. */
int corpus_is_builtin(const char *name);

#endif
