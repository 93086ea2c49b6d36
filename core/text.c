/* text.c: one safe printable line from untrusted text (see text.h). */
#include "text.h"

#include <stdio.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one.
 * Rejects overlong forms, surrogates and code points past U+10FFFF. */
static int utf8_length(const unsigned char *s, unsigned *code) {
    unsigned c = s[0];
    int n;
    unsigned cp, min;
    if (c < 0x80) return *code = c, 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    *code = cp;
    return n;
}

char *text_sanitize(char *s) {
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        unsigned cp;
        int n = utf8_length(p, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
            /* One '?' for the whole sequence when it was valid UTF-8 (a C1
             * control); for invalid bytes, one '?' each. The string shrinks
             * or stays the same length. */
            int skip = n ? n : 1;
            *p = '?';
            if (skip > 1) {
                unsigned char *rest = p + skip, *to = p + 1;
                while ((*to++ = *rest++)) {}
            }
            p++;
            continue;
        }
        p += n;
    }
    return s;
}

char *text_sanitize_copy(char *out, size_t cap, const char *src) {
    if (!cap) return out;
    snprintf(out, cap, "%s", src ? src : "");
    /* A cut may split a UTF-8 sequence at the end: that tail becomes '?'. */
    return text_sanitize(out);
}
