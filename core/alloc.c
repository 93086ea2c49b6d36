/* alloc.c: huge-page friendly allocation of large float buffers. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "status.h"

#define HUGE_PAGE (2u << 20)

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
    return p;
}

void pb_free_large(void *p) { free(p); }
