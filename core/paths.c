/* paths.c: cache directory resolution (see paths.h). */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef POSBENCH_DEFAULT_DATA_DIR
#define POSBENCH_DEFAULT_DATA_DIR "datasets/cache"
#endif

const char *data_dir(void) {
    const char *env = getenv("POSBENCH_DATA_DIR");
    return (env && *env) ? env : POSBENCH_DEFAULT_DATA_DIR;
}

int data_path(char *out, size_t cap, const char *relative) {
    int n = snprintf(out, cap, "%s/%s", data_dir(), relative);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}
