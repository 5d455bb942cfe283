/* Data augmentation for segmentation training on chest X-rays: one random geometric transform
 * applied identically to an image and its mask, and intensity changes applied to the image only.
 *
 * Geometry is an affine map about the image centre: a rotation, one isotropic scale, a shift
 * and (only when asked for) a left-right flip. Chest X-rays have a laterality (the heart is on
 * the left), so flips are off by default. Both planes are resampled bilinearly at the same
 * source positions, so a mask warped beside its image stays aligned with it to the sub-pixel;
 * the warped mask is soft at its edge (a fraction in [0, 1]), which BCE and soft Dice accept.
 * Outside the source both planes read `fill` (0: black border, no lung).
 *
 * Intensity, on an image normalised to about [0, 1], in this order:
 *   gamma       x <- clamp(x, 0, 1)^gamma,      gamma = exp(U(-g, g)) (no clamp when gamma is 1)
 *   contrast    x <- mean + c (x - mean),       c = U(1 - contrast, 1 + contrast), mean over the image
 *   brightness  x <- x + b,                     b = U(-brightness, brightness)
 *   noise       x <- x + sigma N(0, 1),         sigma = U(0, noise)
 *
 * Every draw comes from the caller's generator in a fixed order, so the same seed gives the
 * same augmentations. */
#ifndef CX_IMAGE_AUGMENT_H
#define CX_IMAGE_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/rng.h"

typedef struct {
    double rotate_deg;   /* rotation uniform in [-rotate_deg, rotate_deg] degrees */
    double shift;        /* shift uniform in [-shift, shift] times the width (x) or height (y) */
    double scale;        /* zoom uniform in [1 - scale, 1 + scale] */
    double gamma;        /* log-gamma uniform in [-gamma, gamma] */
    double contrast;
    double brightness;
    double noise;        /* largest noise standard deviation */
    bool flip;           /* left-right flip with probability 1/2 */
} cx_augment_config;

/* The defaults for chest X-rays: rotation 10 degrees, shift 0.06, scale 0.1, gamma 0.25,
 * contrast 0.2, brightness 0.1, noise 0.03, no flip. */
void cx_augment_defaults(cx_augment_config *c);

/* One drawn augmentation. src_of maps an output pixel centre (x, y) to the source position it
 * samples: xs = src_of[0] x + src_of[1] y + src_of[2], ys = src_of[3] x + src_of[4] y + src_of[5]
 * (pixel centres at integer coordinates). */
typedef struct {
    double src_of[6];
    double gamma, contrast, brightness, noise_std;
    uint64_t noise_seed;
} cx_augmentation;

/* Draw an augmentation for planes of [h, w]. */
void cx_augment_draw(const cx_augment_config *c, int h, int w, cx_rng *rng, cx_augmentation *a);
/* The identity (no change at all). */
void cx_augment_identity(cx_augmentation *a);

/* dst[y, x] = src bilinearly at a->src_of(x, y); fill outside the source. dst != src. */
void cx_warp_affine(const float *src, int h, int w, float *dst, const double src_of[6], float fill);
/* The intensity part on img [n] in place. */
void cx_augment_intensity(float *img, int64_t n, const cx_augmentation *a);

/* Image and mask [h, w] together: both warped alike (fill 0), then the image's intensity changed.
 * mask and mask_out may be NULL (an image alone). */
void cx_augment_pair(const cx_augmentation *a, const float *img, const float *mask, int h, int w, float *img_out,
                     float *mask_out);

#endif
