/* safetensors files (huggingface/safetensors, "Format"): the weights PyTorch users exchange.
 *
 *   u64 N (little-endian) | N bytes of JSON header | data buffer
 *   header: {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [2, 3],
 *            "data_offsets": [BEGIN, END]}, ...}   offsets relative to the buffer, END exclusive
 *
 * Reading maps the file and checks everything the format demands; any failure is EX_DATAERR
 * naming the file and, where there is one, the tensor: N <= 100,000,000 and within the file;
 * the header is UTF-8 JSON starting with '{' (trailing whitespace allowed: writers pad with
 * spaces); keys are unique; each tensor has exactly dtype, shape (at most CX_MAX_DIMS
 * non-negative integers) and data_offsets; END - BEGIN = numel * dtype size; sorted by offset
 * the tensors tile the buffer from 0 with no gap or overlap; 8 + N + buffer end = file size;
 * __metadata__ maps strings to strings. The JSON reader is strict and knows only this shape of
 * document (unknown fields in a tensor entry are refused). Supported dtypes: those below; any
 * other (BOOL, I8, U16, F8_E4M3, ...) is refused as "unsupported dtype", naming the tensor.
 *
 * Writing follows the reference writer (safetensors' serialize_to_file): tensors ordered by
 * dtype alignment, largest first, then by name (its Dtype order: I64, F64, F32, I32, BF16, F16,
 * U8), compact JSON with "__metadata__" first (its keys in byte order), the header padded with
 * spaces to a multiple of 8 so that every tensor is naturally aligned. The file appears
 * atomically (io/outfile.h).
 */
#ifndef CX_IO_SAFETENSORS_H
#define CX_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "core/value.h"

/* In the reference writer's order of increasing alignment. */
typedef enum { CX_ST_U8, CX_ST_F16, CX_ST_BF16, CX_ST_I32, CX_ST_F32, CX_ST_F64, CX_ST_I64, CX_ST_NDTYPES } cx_st_dtype;

const char *cx_st_dtype_name(cx_st_dtype dt);   /* "U8", "F16", "BF16", "I32", "F32", "F64", "I64" */
size_t cx_st_dtype_size(cx_st_dtype dt);

typedef struct {
    char *name;
    cx_st_dtype dtype;
    int ndim;
    int64_t shape[CX_MAX_DIMS];
    int64_t numel;
    uint64_t begin, end;   /* byte offsets in the data buffer */
} cx_st_entry;

typedef struct cx_st_file cx_st_file;

/* NULL on failure: EX_NOINPUT when the file cannot be opened, EX_DATAERR when it is not a valid
 * safetensors file (recorded). */
cx_st_file *cx_st_open(const char *path);
void cx_st_close(cx_st_file *f);

size_t cx_st_count(const cx_st_file *f);
/* The i-th tensor in file order (by offset). */
const cx_st_entry *cx_st_entry_at(const cx_st_file *f, size_t i);
/* NULL when there is no such tensor (nothing recorded). */
const cx_st_entry *cx_st_find(const cx_st_file *f, const char *name);
/* __metadata__ as a map of strings (empty when the file has none). */
const cx_value *cx_st_metadata(const cx_st_file *f);

/* Copy tensor `name` into dst[n] as float32: F16 and BF16 exactly, F64 rounded to nearest,
 * integers converted as C does. EX_DATAERR (recorded) when the tensor is absent or does not
 * have n elements. */
int cx_st_read_f32(const cx_st_file *f, const char *name, float *dst, int64_t n);
/* The same as int64 for the integer dtypes (I64, I32, U8), e.g. BatchNorm's
 * num_batches_tracked (n = 1 for a scalar); a float tensor is EX_DATAERR. */
int cx_st_read_i64(const cx_st_file *f, const char *name, int64_t *dst, int64_t n);

/* One tensor to write: data holds numel * size bytes, little-endian, C order. */
typedef struct {
    const char *name;
    cx_st_dtype dtype;
    int ndim;
    int64_t shape[CX_MAX_DIMS];
    const void *data;
} cx_st_tensor;

/* Write count tensors and metadata (NULL, or a map whose values are all strings) to path.
 * 0, EX_DATAERR for a bad name ("__metadata__", a duplicate, not UTF-8), dtype, shape or
 * metadata, EX_CANTCREAT / EX_IOERR when writing fails (recorded, naming the file). */
int cx_st_write(const char *path, const cx_st_tensor *tensors, size_t count, const cx_value *metadata);

#endif
