/* Connected components of binary masks: 8-connected labelling, keeping the largest
 * components, filling holes, and the lung box (union of the largest components' boxes).
 *
 * A mask is uint8 [h, w] row-major; nonzero is foreground. Labelling uses a two-pass
 * union-find with an explicit parent array (no recursion), so it is safe on any image size. */
#ifndef CX_IMAGE_COMPONENTS_H
#define CX_IMAGE_COMPONENTS_H

#include <stdint.h>

typedef struct { int64_t area; int x0, y0, x1, y1; } cx_component;   /* bounding box, x1/y1 exclusive */

/* 8-connected components of mask != 0 (mask [h, w] row-major). labels (may be NULL) gets 0 for background
   and 1..n in raster-scan order of first pixel; *comps (malloc'd, caller frees) describes label i+1 at [i].
   Returns 0, or a sysexits code with the error recorded. */
int cx_components(const uint8_t *mask, int h, int w, int32_t *labels, cx_component **comps, int *ncomps);

/* Keep the k largest components whose area >= min_area (ties: the earlier label); others set to 0.
   Returns the number kept (0..k). mask values become 0 or 255. */
int cx_mask_keep_largest(uint8_t *mask, int h, int w, int k, int64_t min_area);

/* Background regions not 4-connected to the image border become foreground (255). */
void cx_mask_fill_holes(uint8_t *mask, int h, int w);

/* Union of the boxes of the k largest components; returns the number of components used (0: none -> box untouched). */
int cx_mask_box(const uint8_t *mask, int h, int w, int k, int box[4]);

#endif
