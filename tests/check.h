/* check.h: the tests' few assertion helpers. A failed check prints where and
 * why, counts the failure, and the test's main returns check_exit_code(). */
#ifndef POSBENCH_CHECK_H
#define POSBENCH_CHECK_H

#include <stdio.h>

static int check_failures;
static int check_count;

#define CHECK(cond, ...) \
    do { \
        check_count++; \
        if (!(cond)) { \
            check_failures++; \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__); \
            fputc('\n', stderr); \
        } \
    } while (0)

/* Checks a PbStatus call and prints the library's message on failure. */
#define CHECK_OK(call) \
    do { \
        PbStatus check_st_ = (call); \
        CHECK(check_st_ == PB_OK, "%s returned '%s': %s", #call, pb_status_name(check_st_), pb_errmsg()); \
    } while (0)

/* Ends a test: prints a summary line, and the exit status ctest reads. */
static inline int check_exit_code(const char *suite) {
    printf("%s: %d checks, %d failed\n", suite, check_count, check_failures);
    return check_failures ? 1 : 0;
}

/* ctest treats this exit status as "skipped" (SKIP_RETURN_CODE 77). */
#define CHECK_SKIP 77

#endif
