/* Tensors: a named, typed, dense, row-major (C order) array of at most CX_MAX_DIMS dims.
 * Data is owned, 64-byte aligned and stored in the host's (little-endian) byte order,
 * which is also the byte order of the stream format. */
#ifndef CX_CORE_TENSOR_H
#define CX_CORE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CX_MAX_DIMS 8
/* Largest tensor a stream may carry; bigger claims are treated as corrupt input. */
#define CX_MAX_TENSOR_BYTES ((size_t)1 << 34)

typedef enum { CX_U8, CX_U16, CX_I32, CX_I64, CX_F16, CX_F32, CX_F64, CX_NDTYPES } cx_dtype;

typedef struct {
    char *name;
    cx_dtype dtype;
    int ndim;
    int64_t shape[CX_MAX_DIMS];
    void *data;
    size_t nbytes;
} cx_tensor;

size_t cx_dtype_size(cx_dtype dt);
const char *cx_dtype_name(cx_dtype dt);           /* "u8", "u16", "i32", "i64", "f16", "f32", "f64" */
int cx_dtype_parse(const char *name, cx_dtype *dt); /* 0, or -1 when unknown */
bool cx_dtype_is_float(cx_dtype dt);

/* Element count of a shape, or -1 when a dim is negative, ndim is out of range or the
 * byte size would exceed CX_MAX_TENSOR_BYTES for dtype. */
int64_t cx_shape_numel(int ndim, const int64_t *shape, cx_dtype dt);
int64_t cx_tensor_numel(const cx_tensor *t);

/* Allocate a zero-filled tensor. Returns 0 or EX_DATAERR (bad shape, recorded). */
int cx_tensor_init(cx_tensor *t, const char *name, cx_dtype dt, int ndim, const int64_t *shape);
void cx_tensor_free(cx_tensor *t);
int cx_tensor_copy(cx_tensor *dst, const cx_tensor *src);
bool cx_tensor_same_shape(const cx_tensor *a, const cx_tensor *b);
/* "[2, 3, 224, 224]" into buf (truncated to size). */
void cx_shape_format(char *buf, size_t size, int ndim, const int64_t *shape);

/* Element i as double, whatever the dtype. */
double cx_tensor_get(const cx_tensor *t, int64_t i);
void cx_tensor_set(cx_tensor *t, int64_t i, double v);
/* A new tensor with the same name and shape converted to dtype dt (values cast as C does,
 * floats rounded to nearest for integer types and clamped to their range). */
int cx_tensor_convert(cx_tensor *dst, const cx_tensor *src, cx_dtype dt);

float cx_half_to_float(uint16_t h);
uint16_t cx_float_to_half(float f);   /* round to nearest even */

typedef struct {
    double min, max, mean, std;   /* over finite values */
    int64_t n, nan, inf;
} cx_tensor_stats;
void cx_tensor_stats_compute(const cx_tensor *t, cx_tensor_stats *s);

#endif
