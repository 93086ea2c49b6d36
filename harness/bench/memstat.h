/* memstat.h: the process's resident memory, for benchmarks and training.
 * Linux only: VmHWM/VmRSS from /proc/self/status; the high-water mark is
 * reset by writing "5" to /proc/self/clear_refs (Linux 4.0+), so each
 * benchmark cell reports its own peak rather than the process's so far. */
#ifndef POSBENCH_MEMSTAT_H
#define POSBENCH_MEMSTAT_H

#include <stddef.h>

/* Peak resident bytes since the last reset (or process start); 0 if unknown. */
size_t rss_peak_bytes(void);
/* Current resident bytes; 0 if unknown. */
size_t rss_current_bytes(void);
/* Resets the peak to the current RSS; 0 on success, -1 if unsupported. */
int rss_reset_peak(void);

#endif
