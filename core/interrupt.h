/* interrupt.h: stopping a long run at a safe point on SIGINT or SIGTERM.
 *
 * interrupt_install sets handlers that only record the signal (a volatile
 * sig_atomic_t; async-signal-safe) and write one fixed line to stderr. Long
 * loops poll interrupt_requested() at their safe points (between bench
 * cells, between generalize runs, between training steps), stop, and the
 * command writes what it has measured through the usual temporary-file-and-
 * rename path, marked incomplete, before calling interrupt_exit.
 *
 * Promptness: a signal is honoured within about a second, so every loop
 * that can run longer on realistic inputs polls too, once per unit of work
 * (not per element): evaluation batches of windows or task examples, the
 * attention tiles and LM-head chunks of one long window
 * (harness/model/model.h), task training streams every 4096 examples, the
 * final validation's batches. Such a computation, cut short, still returns
 * PB_OK (an interrupt is not an error); what it was computing is then
 * unspecified (losses come back NaN), and its caller checks
 * interrupt_requested() before using it and drops it. generalize and
 * train load and tokenize their data before installing the handlers, under
 * the default action, which ends the process at once (run loads only the
 * built-in corpus, in milliseconds).
 *
 * A second signal ends the process at once: it removes the temporary file
 * registered with interrupt_guard_file (unlink is async-signal-safe), so no
 * half-written file is left, and the file under the final name is untouched
 * (it is replaced only by a rename of a finished file).
 *
 * Exit: interrupt_exit ends the process by the signal itself (default
 * action), which shells report as status 128 + signal: 130 for SIGINT, 143
 * for SIGTERM. Dying by the signal rather than exiting with that number is
 * the convention shells rely on to stop a script the user interrupted; it
 * is the one place besides main() that ends the process, and it runs only
 * after the results are safe and the message is printed.
 *
 * train installs them too: it saves the checkpoint of the step reached (with
 * -o) and exits the same way. Commands that do not (export, ...) keep the
 * default action; interrupt_requested() then always returns 0.
 */
#ifndef POSBENCH_INTERRUPT_H
#define POSBENCH_INTERRUPT_H

/* Installs the SIGINT and SIGTERM handlers (idempotent). */
void interrupt_install(void);

/* 0, or the number of the first signal received. */
int interrupt_requested(void);

/* The temporary file a second signal removes (NULL: none). Pass a path that
 * stays valid until it is replaced or cleared. */
void interrupt_guard_file(const char *tmp_path);

/* 128 + the signal (130 for SIGINT, 143 for SIGTERM); 130 if none. */
int interrupt_exit_status(void);

/* Flushes stdio and ends the process by the signal received (see above). */
_Noreturn void interrupt_exit(void);

#endif
