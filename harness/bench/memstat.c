/* memstat.c: resident set size from /proc (see memstat.h). */
#include "memstat.h"

#include <stdio.h>
#include <string.h>

static size_t status_field_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t kib = 0, n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            sscanf(line + n + 1, "%zu", &kib);
            break;
        }
    fclose(f);
    return kib;
}

size_t rss_peak_bytes(void) { return status_field_kib("VmHWM") * 1024; }
size_t rss_current_bytes(void) { return status_field_kib("VmRSS") * 1024; }

int rss_reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    int ok = fputs("5", f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}
