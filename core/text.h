/* text.h: making untrusted text safe to display.
 *
 * Names and strings from results files, corpora, file names and options are
 * untrusted: a terminal interprets escape sequences in them, and a newline
 * forges an extra line. text_sanitize makes a string one printable line, with
 * the same rule everywhere (error messages, `show`, plot labels):
 *   - C0 control characters (0x00-0x1F, including newline, tab and ESC) and
 *     DEL (0x7F) become '?';
 *   - bytes that are not valid UTF-8, and the C1 controls U+0080-U+009F
 *     (which some terminals treat as escape sequences), become '?';
 *   - valid printable UTF-8 is kept as it is.
 * The length never grows, so it works in place.
 */
#ifndef POSBENCH_TEXT_H
#define POSBENCH_TEXT_H

#include <stddef.h>

/* In place; returns s. */
char *text_sanitize(char *s);

/* Copies src into out[cap] (truncated, NUL-terminated), sanitized; returns out. */
char *text_sanitize_copy(char *out, size_t cap, const char *src);

#endif
