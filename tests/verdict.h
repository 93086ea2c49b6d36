/* verdict.h: finding the seed notebook's short story for the tests.
 * It is not committed; when absent, tests skip the checks that need it,
 * unless POSBENCH_REQUIRE_VERDICT=1 (set by .ci/run) makes absence a failure. */
#ifndef POSBENCH_TESTS_VERDICT_H
#define POSBENCH_TESTS_VERDICT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/io.h"

/* 1 if the verdict at `path` can be used; 0 to skip; -1 if it is required. */
static inline int verdict_available(const char *path) {
    if (path && file_exists(path)) return 1;
    const char *req = getenv("POSBENCH_REQUIRE_VERDICT");
    if (req && strcmp(req, "1") == 0) {
        fprintf(stderr, "the-verdict.txt is required but missing at '%s'\n", path ? path : "(none)");
        return -1;
    }
    printf("note: the-verdict.txt not found at '%s'; skipping the checks that need it\n", path ? path : "(none)");
    return 0;
}

#endif
