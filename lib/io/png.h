/* PNG in and out through libpng.
 * Reading: grayscale 1/2/4/8-bit -> u8, 16-bit -> u16 (bit depth kept); palette and RGB(A)
 * are converted to gray with the ITU-R 601 luma weights (0.299, 0.587, 0.114), alpha
 * composited on black; the result is a 2-D tensor [height, width]. Interlaced files are
 * accepted. A corrupt or truncated file is EX_DATAERR naming the file and libpng's reason. */
#ifndef CX_IO_PNG_H
#define CX_IO_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

int cx_png_read(const char *path, const char *tensor_name, cx_tensor *out);
int cx_png_read_mem(const void *buf, size_t len, const char *what, const char *tensor_name, cx_tensor *out);

/* Write a 2-D tensor [H, W] (gray) or 3-D [H, W, 3] (RGB, u8 only) as PNG, atomically.
 * u8 -> 8-bit, u16 -> 16-bit, other dtypes -> 8-bit after mapping [lo, hi] to [0, 255]
 * (lo == hi: the tensor's own finite min and max). */
int cx_png_write(const char *path, const cx_tensor *t, double lo, double hi);

/* RGB overlay [H, W, 3] u8 of a gray image with a mask (mask > 0 tinted, its edge drawn);
 * the image is scaled as in cx_png_write. Shapes must agree. */
int cx_overlay(const cx_tensor *image, const cx_tensor *mask, double lo, double hi, cx_tensor *rgb);

#endif
