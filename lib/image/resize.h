/* Resampling of single-channel planes [h, w] (row-major) to [dh, dw].
 *
 * bilinear: PyTorch's F.interpolate(mode='bilinear', align_corners=False) without antialias:
 *   output o samples source position (o + 0.5) * in/out - 0.5, clamped below at 0, between its
 *   two neighbours (the upper one clamped to in - 1).
 * area: the exact average of the source over each output pixel's footprint
 *   [o * in/out, (o + 1) * in/out), fractional pixels weighted by their covered length per axis
 *   (OpenCV's INTER_AREA when shrinking). It equals PIL's Image.BOX when in/out is a whole
 *   number; for other ratios PIL weights each source pixel 1 or 0 by where its centre falls.
 * cx_resize picks per axis: area when that axis shrinks, bilinear (1-D linear) when it grows or
 *   keeps its size, the two passes applied separably (rows first, then columns).
 * nearest (masks): source index floor(o * in / out) in exact integer arithmetic (PyTorch's
 *   'nearest' computes the same in float, which can differ by one on rare sizes). */
#ifndef CX_IMAGE_RESIZE_H
#define CX_IMAGE_RESIZE_H

#include <stdint.h>

void cx_resize_bilinear(const float *src, int sh, int sw, float *dst, int dh, int dw); /* = torch interpolate bilinear, align_corners=False, no antialias */
void cx_resize_area(const float *src, int sh, int sw, float *dst, int dh, int dw);     /* exact area average (= PIL Image.BOX on whole ratios) */
void cx_resize(const float *src, int sh, int sw, float *dst, int dh, int dw);          /* area per axis when shrinking, bilinear when growing */
void cx_resize_nearest_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw);

#endif
