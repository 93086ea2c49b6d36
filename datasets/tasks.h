/* tasks.h: synthetic length-generalization tasks (Kazemnejad et al. 2023,
 * "The Impact of Positional Encoding on Length Generalization in
 * Transformers"; Ruoss et al. 2023, "Randomized Positional Encodings Boost
 * Length Generalization of Transformers"), byte-level tokens (vocabulary 256).
 *
 * An example of size n is one sequence of bytes
 *     '^' input '=' answer '$'
 *   copy     input n letters a..z        answer the same letters
 *   reverse  input n letters a..z        answer them in reverse order
 *   sort     input n letters a..z        answer them in ascending order
 *   add      input "A+B", A and B n decimal digits (leading zeros allowed)
 *            answer A+B as n+1 digits (a leading 0 when there is no carry out)
 * Tokens after '$' are padding '.'.
 *
 * Lengths: copy/reverse/sort take 2n+3 tokens, add 3n+5. A model trained on
 * windows of L tokens sees examples of every n from 1 to task_max_input(L);
 * evaluation at length T uses n = task_max_input(T), padded to T + 1 tokens
 * (inputs are the first T, targets the last T).
 *
 * Determinism: an example depends only on (task, n) and the Rng state, drawn
 * in a documented order: for copy/reverse/sort n letters rng_below(26); for
 * add n digits of A then n digits of B, rng_below(10), most significant
 * first. Exact match: every answer token right (tasks_answer_span gives the
 * positions to score).
 */
#ifndef POSBENCH_TASKS_H
#define POSBENCH_TASKS_H

#include <stdint.h>

#include "../core/rng.h"

#define TASK_BOS '^'
#define TASK_SEP '='
#define TASK_EOS '$'
#define TASK_PAD '.'
#define TASK_VOCAB 256

typedef enum { TASK_COPY, TASK_REVERSE, TASK_SORT, TASK_ADD, TASK_COUNT } TaskKind;

/* "copy", "reverse", "sort", "add". */
const char *task_name(TaskKind k);
/* -1 for an unknown name. */
int task_find(const char *name);
/* "copy, reverse, sort, add" (for messages). */
const char *task_names_list(void);

/* Tokens of an example of size n ('^' through '$'). */
int task_example_len(TaskKind k, int n);
/* Largest n whose example fits in len tokens; 0 if none does. */
int task_max_input(TaskKind k, int len);

/* Writes an example of size n into out[0..task_example_len) and returns its
 * length; *answer_start (index of the first answer token) and *answer_len
 * may be NULL. */
int task_generate(TaskKind k, int n, Rng *rng, int32_t *out, int *answer_start, int *answer_len);

/* Training stream: n_blocks blocks of `block` tokens, each one example (size
 * uniform in 1..task_max_input(block), drawn with rng_below before the
 * example) padded with '.', followed by one '^' so that a window of `block`
 * tokens at any block start has a target for every position. out holds
 * n_blocks * block + 1 tokens. Returns 0, -1 if no example fits, or 1 when an
 * interrupt (core/interrupt.h) cut it short: the stream is then incomplete. */
int task_training_stream(TaskKind k, int block, int n_blocks, Rng *rng, int32_t *out);

/* Answer-only training targets: in each of `rows` windows of T tokens
 * (inputs and targets [rows,T], targets[p] the token after inputs[p]), sets
 * targets[p] = unscored unless inputs[p] is '=' or an answer token, i.e.
 * unless the latest of '^', '=', '$' in inputs[0..p] is '='. The scored
 * targets are then the answer and its closing '$'; the question's random
 * tokens and the padding are not, so the loss measures the task itself. A
 * window that starts inside an answer scores nothing until its next '='. */
void task_mask_targets(const int32_t *inputs, int32_t *targets, int rows, int T, int32_t unscored);

#endif
