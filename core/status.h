/* status.h: errors as values.
 *
 * Every fallible function returns a PbStatus. The detail (what was wrong, with
 * which input, and what to do) goes to a per-thread message buffer, read with
 * pb_errmsg(), much like SQLite's sqlite3_errmsg(). Only main() exits.
 * The enum and its names come from one X-macro so they cannot drift apart.
 */
#ifndef POSBENCH_STATUS_H
#define POSBENCH_STATUS_H

#include <stddef.h>

#define PB_STATUS_MAP(X) \
    X(OK, "ok") \
    X(USAGE, "invalid usage")   /* bad option or argument */ \
    X(IO, "input/output error") /* open, read, write, rename */ \
    X(NOMEM, "out of memory") \
    X(DATA, "invalid data")       /* malformed input content */ \
    X(SETUP, "set-up incomplete") /* cached files missing/corrupt */ \
    X(RANGE, "value out of range") \
    X(LENGTH, "sequence longer than supported") /* length policy */ \
    X(EXISTS, "file exists")                    /* refusing to overwrite */ \
    X(INTERNAL, "internal error") \
    X(CHECK, "check failed") /* a gate the user asked for (compare --fail-if-slower): exit 1 */

typedef enum {
#define PB_STATUS_ENUM(name, text) PB_##name,
    PB_STATUS_MAP(PB_STATUS_ENUM)
#undef PB_STATUS_ENUM
        PB_STATUS_COUNT
} PbStatus;

/* Short fixed name of a status ("invalid data"). */
const char *pb_status_name(PbStatus s);

/* Records a formatted message for this thread and returns `s`, so callers
 * write `return pb_fail(PB_DATA, "%s: line %d: ...", path, line);`. */
PbStatus pb_fail(PbStatus s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message recorded by pb_fail on this thread ("" if none). */
const char *pb_errmsg(void);

/* Forgets the last message (tests use it between cases). */
void pb_clear_error(void);

/* Allocation that records a PB_NOMEM message naming the size and purpose;
 * returns NULL on failure. Zero-initialised. */
void *pb_calloc(size_t count, size_t size, const char *what);

#endif
