/* alloc.c: huge-page friendly allocation of large float buffers. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "alloc.h"

#include "threads.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "status.h"

#define HUGE_PAGE (2u << 20)

/* Accounting counts the bytes asked for (rounded to the alignment), kept per
 * live block in a small table so freeing needs no size argument. Not
 * malloc_usable_size: for a 2 MiB-aligned block that depends on whether glibc
 * served it from mmap or the heap, which depends on the process's history
 * (its mmap threshold moves), so the same evaluation measured 13.2 or 14.7
 * MB in different processes. Past TRACKED_MAX live blocks the rest fall back
 * to malloc_usable_size. The counters are shared; allocation happens outside
 * parallel regions. */
#define TRACKED_MAX 1024
static size_t live_bytes, peak_bytes;
static struct {
    void *p;
    size_t bytes;
} tracked[TRACKED_MAX];
static int n_tracked;

size_t pb_alloc_live_bytes(void) { return live_bytes; }
size_t pb_alloc_peak_bytes(void) { return peak_bytes; }
void pb_alloc_reset_peak(void) { peak_bytes = live_bytes; }

/* Zeroes (and so faults in) a new buffer; from 64 MiB on, every thread
 * zeroes its own 2 MiB-aligned share, so a multi-gigabyte model's pages
 * are faulted in parallel here and not during its first step. */
static void zero_pages(void *p, size_t bytes) {
    const int threads = pb_max_threads();
    if (bytes < ((size_t)64 << 20) || threads < 2) {
        memset(p, 0, bytes);
        return;
    }
    const size_t pages = (bytes + HUGE_PAGE - 1) / HUGE_PAGE;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (size_t i = 0; i < pages; i++) {
        const size_t at = i * HUGE_PAGE, n = bytes - at < HUGE_PAGE ? bytes - at : HUGE_PAGE;
        memset((char *)p + at, 0, n);
    }
}

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
    size_t held = rounded ? rounded : align;
    zero_pages(p, held);
    if (n_tracked < TRACKED_MAX) tracked[n_tracked].p = p, tracked[n_tracked++].bytes = held;
    else held = malloc_usable_size(p);
    live_bytes += held;
    if (live_bytes > peak_bytes) peak_bytes = live_bytes;
    return p;
}

void pb_free_large(void *p) {
    if (!p) return;
    size_t held = 0;
    int i = n_tracked - 1; /* usually the latest block: search from the end */
    while (i >= 0 && tracked[i].p != p) i--;
    if (i >= 0) {
        held = tracked[i].bytes;
        tracked[i] = tracked[--n_tracked];
    } else {
        held = malloc_usable_size(p);
    }
    live_bytes -= held;
    free(p);
}
