/* attention.h: causal multi-head self-attention of the probe transformer
 * (GPT-2 style decoder), with the positional encoding's hooks in place.
 *
 * The model knows no encoding by name: it calls the rotate_qk, attn_bias
 * and score hooks when the module has them (encodings/encoding.h).
 *
 *   q, k     rotated in place by rotate_forward(q, k, ld = 3C, pos0)   if any
 *   s[h,i,j] = (q_i . k_j) / sqrt(D) + bias(h, pos0+i, pos0+j)         j <= i
 *              + score(q_i, k_j, h, pos0+i, pos0+j)     (q, k rotated)
 *   p[h,i,:] = softmax_j s[h,i,j]  over keys j <= i (the causal mask)
 *   out_i    = sum_j p[h,i,j] v_j           (heads concatenated)
 *
 * pos0 is the absolute position of t = 0: hooks see pos0 + t, while the mask
 * lives inside the window (key t' <= query t). The _at forms take the
 * positions as encoding.h's Positions: a map gives each window its own
 * (randomized positions in training), and each window then its own bias
 * rows; hooks see a map's runs (encoding.h). Attention never calls embed,
 * so an encoding with neither rotate_qk nor attn_bias leaves it unchanged.
 *
 * Shapes: B batch, T positions, C channels, H heads, D = C / H.
 *   qkv  [B,T,3C]   per position q (head h at h*D..), then k, then v
 *   out  [B,T,C]    heads concatenated, head h at h*D..
 *   att  [B,H,T,T]  probabilities saved for backward; the upper triangle
 *                   (j > i) is written as 0
 * The encoding must have been created with dim C and heads H (else PB_RANGE);
 * positions pos0..pos0+T-1 outside its length policy give PB_LENGTH. Both are
 * checked before anything is touched.
 *
 * Determinism: identical bits run to run and for any number of OpenMP
 * threads. Work is split into tasks fixed by the shape (a head, a tile of 64
 * query rows, a group of batch rows), each computed in a fixed order by one
 * thread. The bias does not depend on the batch row, so a task computes
 * each bias row once for its group of batch rows, and backward sums the
 * logits' gradient over the group (in row order) before one bias_backward
 * call per row: relative_bias maps many (i, j) to one bucket, and this keeps
 * its scatter-adds B/groups times fewer. Each backward task adds into its own
 * copy of dparams, summed in task order at the end, so no two threads ever
 * add into one float whatever parameters a hook touches.
 *
 * Softmax: exp is a vectorised Cephes expf (within 1 ulp), and terms below
 * e^-32 of a row's largest are dropped (they cannot move its float sum for
 * rows up to 2^21 keys; keeping them makes subnormal products, which cost
 * ALiBi 20%). Against a double-precision reference the outputs agree to
 * about 1e-6 relative (the test allows 1e-5).
 *
 * Threads: OpenMP owns the cores inside these functions; the products of a
 * task are OpenBLAS sgemm calls that must run on one thread each, so OpenBLAS
 * is set to one thread for the call and restored afterwards (its own threads
 * fighting OpenMP's cost a factor of 2 to 3 here). Small calls (B*H*T*T*D
 * under 2^20) run on the calling thread alone. Scratch is per OpenMP thread:
 * size it with threads = omp_get_max_threads() as it will be at the call (1
 * without OpenMP); more threads at the call than sized overrun it.
 *
 * Hooks are called from several threads at once: bias_forward (const) and
 * bias_backward (for an encoding with parameters, each task passes its own
 * copy of the Encoding whose dparams points at its private gradient slice).
 * score_forward (const) is called per batch row and query row; score_backward
 * likewise, each task adding into its own (head, batch rows) slices of dq and
 * dk and, with parameters, into its own dparams copy as bias_backward does.
 * rotate_forward and rotate_backward are called once per call, from the
 * calling thread.
 *
 * No function here allocates. Backward ADDS into dqkv and enc->dparams; the
 * owner zeroes gradients.
 */
#ifndef POSBENCH_MODEL_ATTENTION_H
#define POSBENCH_MODEL_ATTENTION_H

#include <stddef.h>

#include "../../encodings/encoding.h"

/* Training forward. Writes out [B,T,C] and att [B,H,T,T]; rotates the q and k
 * parts of qkv [B,T,3C] in place when the encoding has rotate_qk (keep qkv as
 * left for backward). */
PbStatus attention_forward(float *out, float *att, float *qkv, const Encoding *enc, int B, int T, int C, int H,
                           int pos0);
PbStatus attention_forward_at(float *out, float *att, float *qkv, const Encoding *enc, int B, int T, int C, int H,
                              Positions pos);

/* Floats of scratch attention_backward needs for `threads` OpenMP threads:
 * one [64, T] tile per thread (two when attn_bias has parameters and batch
 * rows are grouped: dS and its sum over the group), a [B,T,2C] buffer for
 * dq, dk when the encoding rotates (so the rotation's backward acts on this
 * call's gradient only, and dqkv still accumulates), and a private copy of
 * dparams per task (H * groups, at most H * B) when attn_bias has
 * parameters. Enough for positions with or without a map. */
size_t attention_backward_scratch_floats(const Encoding *enc, int B, int T, int C, int H, int threads);

/* dqkv [B,T,3C] += gradient of the loss w.r.t. the unrotated qkv, given dout
 * [B,T,C]; enc->dparams += the bias parameters' gradient (via bias_backward on
 * row segments of dlogits, absolute positions). qkv and att as left by
 * attention_forward. dq, dk are formed w.r.t. the rotated q, k, then mapped
 * back by rotate_backward. scratch: attention_backward_scratch_floats floats. */
PbStatus attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, Encoding *enc,
                            float *scratch, int B, int T, int C, int H, int pos0);
/* The same at the positions attention_forward_at was given. */
PbStatus attention_backward_at(float *dqkv, const float *dout, const float *qkv, const float *att, Encoding *enc,
                               float *scratch, int B, int T, int C, int H, Positions pos);

/* Floats of scratch attention_forward_rows needs: two [64, T] tiles per
 * thread (logits and bias rows), linear in T. */
size_t attention_rows_scratch_floats(int T, int threads);

/* Evaluation forward without the [B,H,T,T] buffer: tiles of 64 query rows,
 * each with its logits over keys 0..i in scratch, bias_forward per row
 * segment. Memory linear in T. Rotates qkv in place like attention_forward.
 * Output: bit-identical to attention_forward's out, not merely within a
 * tolerance: the same tile arithmetic runs in the same order (the test
 * asserts identity for every encoding and shape).
 * Interrupt (core/interrupt.h): one call at a long T can take minutes, so
 * once an interrupt is requested the tiles not yet started are skipped and
 * the call ends within about one tile; it still returns PB_OK, `out` is then
 * unspecified, and the caller checks interrupt_requested() (model.h's
 * model_eval_losses does). The training path (attention_forward, backward)
 * does not poll: its [B,H,T,T] buffer bounds T, and a cut there would reach
 * the optimizer. */
PbStatus attention_forward_rows(float *out, float *qkv, const Encoding *enc, float *scratch, int B, int T, int C, int H,
                                int pos0);

/* ---- training in linear memory ----------------------------------------------
 * The training pair without the [B,H,T,T] buffer (FlashAttention's
 * recomputation, Dao et al. 2022): forward runs the evaluation path's tiles
 * of 64 query rows and keeps, per (b, h, query row), the softmax's
 * statistics {row max, 1/row sum}: its log-sum-exp, in the two floats that
 * reproduce its rounding. Backward recomputes each tile's logits (bias,
 * product and score hooks, as forward called them) and probabilities from
 * them, then runs the stored path's tile arithmetic.
 * Results: the same bits as attention_forward_at / attention_backward_at,
 * not merely within a tolerance (the recomputation repeats forward's
 * operations in the same order; test_attention asserts identity for every
 * encoding). Memory: stats [B,H,T,2] and per-thread tiles, linear in T.
 * Time: backward does forward's logits product and exponentials again. */
#define ATTENTION_STATS 2 /* floats kept per (batch row, head, query row) */

/* Floats of scratch the tiled pair needs (one buffer serves both): per
 * thread two to four [64, T] tiles (dS; its sum over grouped batch rows; the
 * recomputed probabilities; shared bias rows), plus what
 * attention_backward_scratch_floats has besides its tiles. */
size_t attention_tiled_scratch_floats(const Encoding *enc, int B, int T, int C, int H, int threads);

/* Training forward: out [B,T,C] and stats [B,H,T,ATTENTION_STATS]; rotates
 * qkv in place when the encoding has rotate_qk, as attention_forward. */
PbStatus attention_forward_tiled_at(float *out, float *stats, float *qkv, const Encoding *enc, float *scratch, int B,
                                    int T, int C, int H, Positions pos);
/* attention_backward_at's gradients from qkv and stats as the tiled forward
 * left them. */
PbStatus attention_backward_tiled_at(float *dqkv, const float *dout, const float *qkv, const float *stats,
                                     Encoding *enc, float *scratch, int B, int T, int C, int H, Positions pos);

#endif
