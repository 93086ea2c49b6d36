/* gnuplot.c: the gnuplot pipe and its one quoting rule (see gnuplot.h). */
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
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
        if (dup2(p[0], STDIN_FILENO) < 0 || null < 0 || dup2(null, STDOUT_FILENO) < 0 || chdir(dir) != 0) _exit(126);
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
    const char *c = clean;
    if (*c == '\'') {
        /* gnuplot reads a literal that opens with '' as the empty string:
         * a leading quote is drawn as U+2019, its typographic twin. */
        memcpy(out + o, "\xE2\x80\x99", 3), o += 3, c++;
    }
    for (; *c; c++) {
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

int gnuplot_matrix_block(Gnuplot *g, const char *name, const float *m, int rows, int cols, int max_side) {
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
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                 *c == '_' || (*c == '.' && n > 0);
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

GpRange gp_range(int log) { return (GpRange){INFINITY, -INFINITY, log}; }

void gp_range_add(GpRange *r, double v) {
    if (!isfinite(v) || (r->log && v <= 0)) return;
    if (v < r->lo) r->lo = v;
    if (v > r->hi) r->hi = v;
}

/* A tic label: a number, k and M for thousands and millions. */
static void tic_label(char *out, size_t cap, double v) {
    double a = fabs(v);
    if (a >= 1e6 && fmod(a, 1e5) == 0) snprintf(out, cap, "%gM", v / 1e6);
    else if (a >= 1e4 && fmod(a, 1e2) == 0) snprintf(out, cap, "%gk", v / 1e3);
    else snprintf(out, cap, "%g", v);
}

/* Sends "set Xtics (...)" for the n values (at most 32) in t. */
static void send_tics(Gnuplot *g, char axis, const double *t, int n) {
    fprintf(g->pipe, "set %ctics (", axis);
    for (int i = 0; i < n; i++) {
        char label[32];
        tic_label(label, sizeof label, t[i]);
        fprintf(g->pipe, "%s%s %.10g", i ? ", " : "", gp_str(g, label), t[i]);
    }
    fprintf(g->pipe, ")\nset m%ctics default\n", axis);
}

/* Round values m x 10^k in [lo, hi] for the mantissas m[0..nm) into t[cap]. */
static int round_values(double lo, double hi, const double *m, int nm, double *t, int cap) {
    int n = 0;
    for (int k = (int)floor(log10(lo)) - 1; k <= (int)ceil(log10(hi)) && n < cap; k++)
        for (int i = 0; i < nm && n < cap; i++) {
            double v = m[i] * pow(10, k);
            /* the tolerance keeps an end that is itself round */
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t[n++] = v;
        }
    return n;
}

static const double fine[] = {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8};

/* The nearest round value at or beyond v (below it if down), or v itself if
 * none lies within factor reach. */
static double snap(double v, int down, double reach) {
    double best = v, best_ratio = INFINITY, base = pow(10, floor(log10(v)));
    for (int j = -1; j <= 1; j++)
        for (int i = 0; i < (int)(sizeof fine / sizeof fine[0]); i++) {
            double c = fine[i] * base * pow(10, j), ratio = down ? v / c : c / v;
            if (ratio >= 1 && ratio <= reach && ratio < best_ratio) best = c, best_ratio = ratio;
        }
    return best;
}

GpRange gnuplot_fit_axis(Gnuplot *g, char axis, GpRange d) {
    if (d.lo > d.hi) return d;
    GpRange r = d;
    if (!d.log) {
        double pad = (d.hi - d.lo) * 0.05;
        if (pad == 0) pad = d.lo != 0 ? fabs(d.lo) * 0.05 : 0.5;
        r.lo = d.lo - pad, r.hi = d.hi + pad;
        if (d.lo >= 0 && r.lo < 0) r.lo = 0; /* no negative steps or positions */
        fprintf(g->pipe, "set %crange [%.10g:%.10g]\n", axis, r.lo, r.hi);
        return r;
    }
    double span = log10(d.hi / d.lo);
    if (span < 0.02) span = 0.02; /* equal values: about 5% each side */
    double pad = pow(10, 0.05 * span), reach = pow(10, 0.25 * span);
    r.lo = snap(d.lo / pad, 1, reach), r.hi = snap(d.hi * pad, 0, reach);
    /* A hair wider: gnuplot drops a tic that falls exactly on a log range's end. */
    fprintf(g->pipe, "set %crange [%.10g:%.10g]\n", axis, r.lo * (1 - 1e-6), r.hi * (1 + 1e-6));
    double t[32];
    int n;
    double decades = log10(r.hi / r.lo);
    static const double one[] = {1}, one25[] = {1, 2, 5}, one235[] = {1, 2, 3, 5}, dense[] = {1, 1.5, 2, 3, 4, 5, 6, 8};
    if (decades >= 4.5) n = round_values(r.lo, r.hi, one, 1, t, 32);
    else if (decades >= 1.5) n = round_values(r.lo, r.hi, one25, 3, t, 32);
    else if (decades >= 0.7) n = round_values(r.lo, r.hi, one235, 4, t, 32);
    else n = round_values(r.lo, r.hi, dense, 8, t, 32);
    if (n < 3) {
        /* A narrow range: evenly spaced round steps, as on a linear axis. */
        double raw = (r.hi - r.lo) / 4, p = pow(10, floor(log10(raw))), step = p;
        if (raw / p >= 5) step = 5 * p;
        else if (raw / p >= 2) step = 2 * p;
        n = 0;
        for (double v = ceil(r.lo / step) * step; v <= r.hi * (1 + 1e-12) && n < 32; v += step) t[n++] = v;
    }
    send_tics(g, axis, t, n);
    return r;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void gnuplot_tics_at(Gnuplot *g, char axis, const double *v, int n) {
    double t[32];
    int u = 0;
    for (int i = 0; i < n; i++) {
        int seen = !isfinite(v[i]);
        for (int k = 0; k < u && !seen; k++) seen = t[k] == v[i];
        if (!seen && u < 32) t[u++] = v[i];
    }
    qsort(t, (size_t)u, sizeof t[0], cmp_double);
    if (u) send_tics(g, axis, t, u);
}

int gp_wrap(const char *note, int width, char lines[][GP_TEXT_MAX]) {
    int n = 0;
    size_t len = strlen(note), at = 0;
    while (at < len && n < GP_NOTE_LINES) {
        size_t end = len;
        if (len - at > (size_t)width) {
            /* after the last space within width, else a cut between characters */
            end = at + (size_t)width;
            while (end > at + 1 && ((unsigned char)note[end] & 0xC0) == 0x80) end--;
            for (size_t k = end; k > at + 1; k--)
                if (note[k - 1] == ' ') {
                    end = k;
                    break;
                }
        }
        int last = n == GP_NOTE_LINES - 1 && end < len;
        size_t keep = end - at < GP_TEXT_MAX - 4 ? end - at : GP_TEXT_MAX - 4;
        snprintf(lines[n], GP_TEXT_MAX, "%.*s%s", (int)keep, note + at, last ? "..." : "");
        n++;
        at = end;
    }
    return n;
}

void gp_add_note(Gnuplot *g, GpScript *cmd, char lines[][GP_TEXT_MAX], int n, int rows) {
    for (int i = 0; i < n; i++)
        gp_script_add(cmd, "set label %d %s at graph 0.5, graph 1 center offset 0,%.1f font ',8' tc rgb 'gray30'\n",
                      101 + i, gp_str(g, lines[i]), 0.9 * (rows - i));
}
