/* grad_write.h: how a layer's backward writes the gradient of its input.
 *
 * GRAD_ADD adds (+=) into the buffer, so one activation feeding several
 * layers collects every contribution. GRAD_STORE overwrites it (=), ignoring
 * what it held: for a buffer this layer alone feeds, it saves the caller a
 * memset of the whole buffer (serial memory traffic: at T 128 the model's
 * backward zeroed 16 MB a step, about 3% of the step). Parameter gradients
 * always add (they accumulate over micro-batches). */
#ifndef POSBENCH_MODEL_GRAD_WRITE_H
#define POSBENCH_MODEL_GRAD_WRITE_H

typedef enum { GRAD_ADD, GRAD_STORE } GradWrite;

#endif
