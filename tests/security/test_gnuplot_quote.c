/* test_gnuplot_quote.c: gp_quote (harness/report/gnuplot.h) against gnuplot itself.
 *
 * Every payload is quoted, then handed to a real gnuplot as
 *     print <literal>
 * in a script where each command prints a marker. gnuplot is the reference:
 * it must print back exactly the sanitized text (core/text.h), as one line,
 * run every later command (nothing swallowed, nothing ended early), and no
 * payload may run a command: each tries to create a canary file.
 * Skips (77) where gnuplot is not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/text.h"
#include "../../harness/report/gnuplot.h"
#include "../check.h"

#define CANARY_FMT "%s/posbench-canary-%ld"

static char canary[256];

/* The payloads: each tries, in its own way, to leave the string and run
 * `touch CANARY` (system(), !, backquotes, macros, a newline, a line
 * continuation), or to move gnuplot's output elsewhere. */
static const char *payload(int i, char *buf, size_t cap) {
    switch (i) {
    case 0: snprintf(buf, cap, "bob's corpus.txt"); break;
    case 1: snprintf(buf, cap, "x'.system('touch %s').'y", canary); break;
    case 2: snprintf(buf, cap, "x'\n!touch %s\nprint '", canary); break;
    case 3: snprintf(buf, cap, "x`touch %s`y", canary); break;
    case 4: snprintf(buf, cap, "x\"`touch %s`\"y", canary); break;
    case 5: snprintf(buf, cap, "evil = \"system('touch %s')\"; @evil", canary); break;
    case 6: snprintf(buf, cap, "x\\"); break; /* a backslash before the closing quote */
    case 7: snprintf(buf, cap, "x'; set output '%s'; print '", canary); break;
    case 8:
        snprintf(buf, cap,
                 "a\rb\tc\x1b[31md\x7f"
                 "e\xc2\x9b"
                 "f\xff"
                 "g");
        break;
    case 9: snprintf(buf, cap, "ünïcödé ✓ 'quoted' \"double\""); break;
    case 10: snprintf(buf, cap, "x';\nsystem('touch %s')\n#", canary); break;
    case 11: { /* longer than the cap, a quote at every second byte */
        size_t n = cap - 1 < 1000 ? cap - 1 : 1000;
        for (size_t k = 0; k < n; k++) buf[k] = (k % 2) ? '\'' : 'q';
        buf[n] = 0;
        break;
    }
    case 12: snprintf(buf, cap, "x'\\\n!touch %s\n'", canary); break;
    default: return NULL;
    }
    return buf;
}

/* What gnuplot should print for text: the sanitized text, cut as gp_quote cuts. */
static void expected(char *out, size_t cap, const char *text) {
    size_t n = strlen(text), keep = n > GP_TEXT_MAX ? GP_TEXT_MAX : n;
    while (keep < n && keep > 0 && ((unsigned char)text[keep] & 0xC0) == 0x80) keep--;
    snprintf(out, cap, "%.*s", (int)keep, text);
    text_sanitize(out);
    if (keep < n) strncat(out, "...", cap - strlen(out) - 1);
}

int main(void) {
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("gnuplot not installed; skipping\n");
        return CHECK_SKIP;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(canary, sizeof canary, CANARY_FMT, tmp && *tmp ? tmp : "/tmp", (long)getpid());
    unlink(canary);

    char script[] = "/tmp/posbench-gpq-XXXXXX";
    int fd = mkstemp(script);
    CHECK(fd >= 0, "cannot create the script");
    FILE *f = fdopen(fd, "w");
    char text[1200], lit[2 * GP_TEXT_MAX + 8];
    int n = 0;
    for (int i = 0; payload(i, text, sizeof text); i++, n++) {
        gp_quote(lit, sizeof lit, text);
        CHECK(strchr(lit, '\n') == NULL, "payload %d: the literal spans lines", i);
        CHECK(strlen(lit) <= 2 * GP_TEXT_MAX + 5, "payload %d: the literal is not capped", i);
        /* the title form plot uses, then the literal printed back */
        fprintf(f, "set title %s noenhanced\nprint 'BEGIN %d'\nprint %s\nprint 'END %d'\n", lit, i, lit, i);
    }
    fprintf(f, "print 'ALL DONE'\n");
    fclose(f);

    char cmd[512];
    snprintf(cmd, sizeof cmd, "gnuplot %s 2>&1", script);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL, "cannot run gnuplot");
    static char got[1 << 16];
    size_t len = fread(got, 1, sizeof got - 1, p);
    got[len] = 0;
    int status = pclose(p);
    unlink(script);
    CHECK(status == 0, "gnuplot failed (status %d): %s", status, got);
    CHECK(strstr(got, "ALL DONE\n") != NULL, "gnuplot stopped early: %s", got);

    for (int i = 0; i < n; i++) {
        char begin[32], want[1400];
        snprintf(begin, sizeof begin, "BEGIN %d\n", i);
        payload(i, text, sizeof text);
        expected(want, sizeof want, text);
        const char *at = strstr(got, begin);
        CHECK(at != NULL, "payload %d: its BEGIN marker is missing (a command was swallowed)", i);
        if (!at) continue;
        at += strlen(begin);
        const char *eol = strchr(at, '\n');
        char end[32];
        snprintf(end, sizeof end, "END %d\n", i);
        /* exactly one line between the markers, equal to the sanitized text */
        CHECK(eol != NULL && strncmp(eol + 1, end, strlen(end)) == 0, "payload %d: more than one line printed", i);
        if (!eol || (size_t)(eol - at) != strlen(want) || strncmp(at, want, strlen(want)) != 0) {
            fprintf(stderr, "payload %d: gnuplot printed '%.*s', expected '%s'\n", i, eol ? (int)(eol - at) : 40, at,
                    want);
            CHECK(0, "payload %d differs", i);
        }
    }
    struct stat sb;
    CHECK(stat(canary, &sb) != 0, "the canary %s exists: a payload ran a command",
          canary); /* no payload ran a command or moved the output */
    unlink(canary);
    return check_exit_code("gnuplot_quote");
}
