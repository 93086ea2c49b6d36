/* paths.h: where the set-up step caches vocabulary and corpora.
 *
 * Order: the POSBENCH_DATA_DIR environment variable, else the datasets/cache
 * folder of the source tree this binary was built from (a compile-time path).
 */
#ifndef POSBENCH_PATHS_H
#define POSBENCH_PATHS_H

#include <stddef.h>

/* The cache directory, without a trailing slash. */
const char *data_dir(void);

/* Writes data_dir() + "/" + relative into out; returns 0 if it fit. */
int data_path(char *out, size_t cap, const char *relative);

/* The command that (re)creates the cache, for error messages. */
#define PB_SETUP_COMMAND "tools/setup"

#endif
