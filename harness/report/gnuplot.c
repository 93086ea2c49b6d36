/* gnuplot.c: the gnuplot pipe and its one quoting rule (see gnuplot.h). */
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../core/text.h"

PbStatus gnuplot_open(Gnuplot *g, const char *dir) {
    *g = (Gnuplot){.pid = -1};
    fflush(NULL);
    /* A gnuplot that dies early must not kill posbench by SIGPIPE: the
     * write fails instead and gnuplot_close reports its status. */
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    if (pipe(p) != 0) return pb_fail(PB_IO, "cannot start gnuplot: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]), close(p[1]);
        return pb_fail(PB_IO, "cannot start gnuplot: %s", strerror(errno));
    }
    if (pid == 0) {
        /* gnuplot's own diagnostics go to our stderr; its stdout is discarded. */
        int null = open("/dev/null", O_WRONLY);
        if (dup2(p[0], STDIN_FILENO) < 0 || null < 0 || dup2(null, STDOUT_FILENO) < 0 || chdir(dir) != 0)
            _exit(126);
        close(p[0]), close(p[1]), close(null);
        execlp("gnuplot", "gnuplot", (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    g->pipe = fdopen(p[1], "w");
    g->pid = pid;
    if (!g->pipe) {
        close(p[1]);
        waitpid(pid, NULL, 0);
        return pb_fail(PB_NOMEM, "cannot start gnuplot: no memory for its pipe");
    }
    return PB_OK;
}

PbStatus gnuplot_close(Gnuplot *g) {
    if (!g->pipe) return PB_OK;
    fprintf(g->pipe, "exit\n");
    fclose(g->pipe);
    g->pipe = NULL;
    int status;
    while (waitpid(g->pid, &status, 0) < 0)
        if (errno != EINTR) return pb_fail(PB_INTERNAL, "gnuplot did not finish: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return pb_fail(PB_SETUP, "gnuplot not found: apt-get install gnuplot-nox (or run tools/setup)");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
        return pb_fail(PB_IO, "cannot start gnuplot in its plot directory");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return pb_fail(PB_INTERNAL, "gnuplot failed (status %d); see its message above", status);
    return PB_OK;
}

void gp_quote(char *out, size_t cap, const char *text) {
    char clean[GP_TEXT_MAX + 4];
    size_t n = strlen(text ? text : "");
    /* Cut at a character boundary, then make it one printable line. */
    size_t keep = n > GP_TEXT_MAX ? GP_TEXT_MAX : n;
    while (keep < n && keep > 0 && ((unsigned char)text[keep] & 0xC0) == 0x80) keep--;
    memcpy(clean, text ? text : "", keep);
    clean[keep] = 0;
    text_sanitize(clean);
    size_t o = 0;
    if (cap < 2 * GP_TEXT_MAX + 8) return (void)(cap ? (out[0] = 0) : 0);
    out[o++] = '\'';
    for (const char *c = clean; *c; c++) {
        if (*c == '\'') out[o++] = '\''; /* '' is a quote inside '...' */
        out[o++] = *c;
    }
    if (keep < n) memcpy(out + o, "...", 3), o += 3;
    out[o++] = '\'';
    out[o] = 0;
}

const char *gp_str(Gnuplot *g, const char *text) {
    char *slot = g->literal[g->next_literal];
    g->next_literal = (g->next_literal + 1) % GP_LITERALS;
    gp_quote(slot, sizeof g->literal[0], text);
    return slot;
}

void gp_script_add(GpScript *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->text + s->len, sizeof s->text - s->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof s->text - s->len) {
        s->text[s->len] = 0; /* dropped whole: nothing half-quoted */
        s->dropped++;
        return;
    }
    s->len += (size_t)n;
}

int gnuplot_matrix_block(Gnuplot *g, const char *name, const float *m, int rows, int cols,
                         int max_side) {
    int big = rows > cols ? rows : cols;
    int k = (big + max_side - 1) / max_side;
    if (k < 1) k = 1;
    fprintf(g->pipe, "$%s << EOD\n", name);
    for (int r = 0; r < rows; r += k) {
        for (int c = 0; c < cols; c += k) fprintf(g->pipe, c ? " %.6g" : "%.6g", m[(size_t)r * cols + c]);
        fputc('\n', g->pipe);
    }
    fprintf(g->pipe, "EOD\n");
    return k;
}

void gnuplot_save_both(Gnuplot *g, const char *base, const char *plot_cmd) {
    char name[128];
    size_t n = 0;
    for (const char *c = base; *c && n < sizeof name - 1; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 *c == '-' || *c == '_' || (*c == '.' && n > 0);
        name[n++] = ok ? *c : '_';
    }
    name[n] = 0;
    fprintf(g->pipe,
            "set terminal pngcairo size 900,700 noenhanced font 'sans,10'\n"
            "set output '%s.png'\n%s\nset output\n"
            "set terminal svg size 900,700 noenhanced font 'sans,10'\n"
            "set output '%s.svg'\n%s\nset output\n",
            name, plot_cmd, name, plot_cmd);
}

PbStatus ensure_directory(const char *dir) {
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) return PB_OK;
        return pb_fail(PB_IO, "'%s' exists and is not a directory", dir);
    }
    if (mkdir(dir, 0777) != 0) return pb_fail(PB_IO, "cannot create directory '%s': %s", dir, strerror(errno));
    return PB_OK;
}
