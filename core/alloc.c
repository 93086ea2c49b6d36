/* alloc.c: huge-page friendly allocation of large float buffers. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "alloc.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "status.h"

#define HUGE_PAGE (2u << 20)

/* Accounting by malloc_usable_size, so freeing needs no size argument. The
 * counters are shared; allocation happens outside parallel regions. */
static size_t live_bytes, peak_bytes;

size_t pb_alloc_live_bytes(void) { return live_bytes; }
size_t pb_alloc_peak_bytes(void) { return peak_bytes; }
void pb_alloc_reset_peak(void) { peak_bytes = live_bytes; }

float *pb_alloc_floats(size_t count, const char *what) {
    if (count > SIZE_MAX / sizeof(float)) {
        pb_fail(PB_NOMEM, "cannot allocate %zu floats for %s: size overflows", count, what);
        return NULL;
    }
    size_t bytes = count * sizeof(float);
    size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : 64;
    size_t rounded = (bytes + align - 1) / align * align;
    void *p = NULL;
    if (posix_memalign(&p, align, rounded ? rounded : align) != 0) {
        pb_fail(PB_NOMEM, "cannot allocate %.1f MiB for %s", (double)bytes / (1 << 20), what);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    if (align == HUGE_PAGE) madvise(p, rounded, MADV_HUGEPAGE);
#endif
    memset(p, 0, rounded ? rounded : align);
    live_bytes += malloc_usable_size(p);
    if (live_bytes > peak_bytes) peak_bytes = live_bytes;
    return p;
}

void pb_free_large(void *p) {
    if (!p) return;
    live_bytes -= malloc_usable_size(p);
    free(p);
}
