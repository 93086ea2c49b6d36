/* status.c: status names and the per-thread error message. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

static const char *const status_names[] = {
#define PB_STATUS_TEXT(name, text) text,
    PB_STATUS_MAP(PB_STATUS_TEXT)
#undef PB_STATUS_TEXT
};
_Static_assert(sizeof status_names / sizeof status_names[0] == PB_STATUS_COUNT,
               "status_names must have one entry per PbStatus");

static _Thread_local char last_message[1024];

const char *pb_status_name(PbStatus s) { return (unsigned)s < PB_STATUS_COUNT ? status_names[s] : "unknown status"; }

PbStatus pb_fail(PbStatus s, const char *fmt, ...) {
    /* Formatted aside first: callers may pass pb_errmsg() itself as an
     * argument, to wrap the previous message in more context. */
    char buf[sizeof last_message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* One line, whatever the input it quotes: control characters from file
     * names or arguments become '?' (core/text.h). */
    text_sanitize(buf);
    memcpy(last_message, buf, sizeof buf);
    return s;
}

const char *pb_errmsg(void) { return last_message; }

void pb_clear_error(void) { last_message[0] = '\0'; }

void *pb_calloc(size_t count, size_t size, const char *what) {
    void *p = (count && size) ? calloc(count, size) : calloc(1, 1);
    if (!p) {
        double mib = (double)count * (double)size / (1024.0 * 1024.0);
        pb_fail(PB_NOMEM, "cannot allocate %.1f MiB for %s", mib, what);
    }
    return p;
}
