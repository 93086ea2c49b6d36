/* interrupt.c: SIGINT / SIGTERM to a flag (see interrupt.h). */
#include "interrupt.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t pending;  /* first signal received, or 0 */
static volatile sig_atomic_t received; /* how many */
static volatile sig_atomic_t guarded;  /* guard holds a path */
static char guard[4352];

static void on_signal(int sig) {
    if (!pending) pending = sig;
    received = received + 1;
    if (received < 2) {
        static const char msg[] = "\nposbench: interrupted; stopping at the next safe point and keeping "
                                  "the results so far (again to quit at once)\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        return;
    }
    if (guarded) unlink(guard);
    signal(sig, SIG_DFL);
    raise(sig);
}

void interrupt_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int interrupt_requested(void) { return pending; }

void interrupt_guard_file(const char *tmp_path) {
    guarded = 0;
    if (!tmp_path || !*tmp_path || strlen(tmp_path) >= sizeof guard) return;
    memcpy(guard, tmp_path, strlen(tmp_path) + 1);
    guarded = 1;
}

int interrupt_exit_status(void) { return 128 + (pending ? pending : SIGINT); }

void interrupt_exit(void) {
    const int sig = pending ? pending : SIGINT;
    fflush(NULL);
    guarded = 0;
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached unless the signal is blocked elsewhere */
}
