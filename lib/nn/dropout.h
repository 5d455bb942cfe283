/* Dropout and drop-path (stochastic depth), inverted: in training the survivors are scaled by
 * 1 / (1 - p) so that eval is the identity.
 *
 *   dropout    each element is zeroed with probability p         (torch.nn.functional.dropout)
 *   drop-path  each sample [sample elements] is zeroed with       (timm's drop_path)
 *              probability p, a whole residual branch at a time
 *
 * Masks are a function of (seed, step, element or sample index) only: element i draws from
 * the generator cx_rng_split(base, i / CX_DROPOUT_CHUNK), base derived from (seed, step), so
 * the mask does not depend on the thread count. Give every dropout layer its own seed (the
 * run's seed mixed with the layer's index) and pass the training step, so that layers and
 * steps differ. p = 1 zeroes everything (as PyTorch and timm). The forward writes the mask
 * (1 = kept) for backward; in eval, or with p = 0, the mask is neither written nor read.
 * Every element is multiplied by its factor (the scale, or 0 when dropped), as torch multiplies
 * by its mask, so inf and NaN propagate alike (a dropped inf becomes NaN in both).
 */
#ifndef CX_NN_DROPOUT_H
#define CX_NN_DROPOUT_H

#include <stdbool.h>
#include <stdint.h>

#define CX_DROPOUT_CHUNK 4096

typedef struct {
    int64_t n;         /* elements */
    float p;           /* drop probability, 0 <= p <= 1 */
    bool training;     /* false: the identity */
    uint64_t seed, step;
} cx_dropout_desc;

/* y [n] = x * mask / (1 - p); mask [n] written; y may be x. */
void cx_dropout_forward(float *y, uint8_t *mask, const float *x, const cx_dropout_desc *d);
/* dx [n] += dy * mask / (1 - p) */
void cx_dropout_backward(float *dx, const float *dy, const uint8_t *mask, const cx_dropout_desc *d);

typedef struct {
    int64_t n, sample;   /* samples, and elements per sample (C*H*W) */
    float p;
    bool training;
    uint64_t seed, step;
} cx_drop_path_desc;

/* y [n, sample] = x * mask[sample index] / (1 - p); mask [n] written; y may be x. */
void cx_drop_path_forward(float *y, uint8_t *mask, const float *x, const cx_drop_path_desc *d);
void cx_drop_path_backward(float *dx, const float *dy, const uint8_t *mask, const cx_drop_path_desc *d);

#endif
