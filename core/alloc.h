/* alloc.h: large buffers, allocated once per run.
 *
 * The first touch of a fresh 4 KiB page can cost about 12 us (measured on
 * small virtual machines), more than most arithmetic done on it, so large
 * buffers are 2 MiB aligned and advised as transparent huge pages (first
 * touch about 50x cheaper).
 */
#ifndef POSBENCH_ALLOC_H
#define POSBENCH_ALLOC_H

#include <stddef.h>

/* Zeroed, 64-byte (and for large sizes 2 MiB) aligned floats; NULL with a
 * PB_NOMEM message naming the size and `what` on failure. Free with pb_free_large. */
float *pb_alloc_floats(size_t count, const char *what);
void pb_free_large(void *p);

/* Bytes held through pb_alloc_floats now, and the most held at once since
 * the last pb_alloc_reset_peak (benchmarks read the heap a pass needs). */
size_t pb_alloc_live_bytes(void);
size_t pb_alloc_peak_bytes(void);
void pb_alloc_reset_peak(void);

#endif
