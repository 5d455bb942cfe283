/* The lung-box crop: an X-ray and its lung mask (or a lung box from the metadata) into a
 * square, normalised backbone input, the MDMT authors' way by default:
 *
 *   1. clip the image to its 2nd..98th percentile [lo, hi] (numpy.percentile, linear);
 *   2. lung box = union of the boxes of the two largest 8-connected mask components;
 *   3. margin: each side moves out by round(margin/100 * side / 2) pixels (5 %: the box grows by
 *      5 % of its width and of its height in all), clamped to the image;
 *   4. square: side S = the longer side, centred on the box; a square that leaves the image is
 *      shifted back inside, and only a square longer than an image side overhangs it, evenly on
 *      both ends, where the padding takes the value lo;
 *   5. resize the S x S crop to N x N (area average per shrinking axis, bilinear per growing one);
 *   6. g = (x - lo) / (hi - lo) in [0, 1], then normalise and replicate to C channels.
 *
 * Boxes are [x0, y0, x1, y1] in pixels of the image, x1 and y1 exclusive. */
#ifndef CX_IMAGE_CROP_H
#define CX_IMAGE_CROP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/tensor.h"
#include "io/stream.h"

typedef enum { CX_NORM_IMAGENET, CX_NORM_ZSCORE, CX_NORM_MINMAX, CX_NORM_XRV } cx_normalization;
typedef enum { CX_BOX_MASK, CX_BOX_META } cx_box_source;

/* "imagenet", "zscore", "minmax", "xrv"; parse returns 0, or -1 for an unknown name. */
const char *cx_normalization_name(cx_normalization n);
int cx_normalization_parse(const char *name, cx_normalization *n);

typedef struct {
    int size;                  /* N, the output side (default 224) */
    int channels;              /* 1 or 3 (default 3) */
    cx_normalization norm;     /* default imagenet */
    double clip_lo, clip_hi;   /* percentiles, 0 <= lo < hi <= 100 (default 2, 98) */
    double margin;             /* percent of the box size, in all (default 5) */
    int components;            /* largest mask components in the box (default 2) */
    cx_box_source box;         /* default CX_BOX_MASK */
    const char *mask_name;     /* the mask tensor (default "mask") */
    const char *box_field;     /* the metadata box for CX_BOX_META (default "lung_bbox") */
    bool whole_if_no_lung;     /* no lung box: crop the whole image instead of failing */
    bool keep_mask;            /* also crop the mask (nearest) to u8 [N, N] */
} cx_crop_options;

void cx_crop_options_default(cx_crop_options *o);

/* Crop one record. out gets in's id and meta plus crop_box, crop_lung_box (the box before margin
 * and square), clip [lo, hi], normalization and crop_size, and the tensor "image" f32 [C, N, N]
 * (and "mask" u8 [N, N] with keep_mask); in's other tensors are not copied. *whole is set when
 * no lung box was found and whole_if_no_lung cropped the whole image instead. Returns 0 or a
 * sysexits code, recorded with the field at fault ("image: ...", "mask: ...", "meta.lung_bbox: ..."). */
int cx_crop_record(const cx_record *in, const cx_crop_options *o, cx_record *out, bool *whole);

/* ---- the steps, for tools and tests ---- */

/* numpy.percentile(a, p) with linear interpolation, from a histogram of integer values
 * (hist[v] = how many elements equal v, n = their sum > 0): with sorted values a and
 * t = p / 100 * (n - 1), a[floor(t)] + (t - floor(t)) * (a[floor(t) + 1] - a[floor(t)]). */
double cx_hist_percentile(const int64_t *hist, int nbins, int64_t n, double p);

/* The clip range of a u8 or u16 [H, W] image: its p_lo and p_hi percentiles. 0 or EX_DATAERR. */
int cx_image_clip_range(const cx_tensor *image, double p_lo, double p_hi, double range[2]);

/* Step 3 and step 4 on a box inside a w x h image. */
void cx_box_margin(const int box[4], double margin, int w, int h, int out[4]);
void cx_box_square(const int box[4], int w, int h, int out[4]);

/* The u8 or u16 [H, W] image under box (which may overhang the image), clipped to [lo, hi] and
 * mapped to (x - lo) / (hi - lo); overhanging pixels are 0. dst [box h, box w]. */
void cx_crop_gray(const cx_tensor *image, const int box[4], double lo, double hi, float *dst);

/* gray [n, n] in [0, 1] to out [channels, n, n]. zscore over a constant crop is EX_DATAERR. */
int cx_normalize(const float *gray, int n, cx_normalization norm, int channels, float *out);

#endif
