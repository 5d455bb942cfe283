/* Shared by the spatial ops' tests (test_conv.c, test_pool.c, test_upsample.c,
 * test_batchnorm.c): reading the PyTorch reference cases that tests/ref/gen_spatial.py writes
 * to tests/data/ref/NAME.cxs, comparing with them, and the thread-determinism check. */
#ifndef CX_TEST_SPATIAL_REF_H
#define CX_TEST_SPATIAL_REF_H

#include <stdbool.h>
#include <stdint.h>

#include "io/stream.h"

typedef struct {
    cx_reader *reader;
    cx_record rec;   /* the current case: id = case name, meta = parameters, tensors */
    int count;
} ref_cases;

/* Open tests/data/ref/<name>.cxs (a check fails when it cannot be read). */
bool ref_open(ref_cases *rc, const char *name);
/* The next case into rc->rec; false at the end, or after a failed check on a read error. */
bool ref_next(ref_cases *rc);
/* Close, checking that the file held at least one case. */
void ref_close(ref_cases *rc);

/* Meta parameters; a check fails when the key is absent or not a number. */
int ref_int(const cx_record *rec, const char *key);
double ref_num(const cx_record *rec, const char *key);
bool ref_flag(const cx_record *rec, const char *key);
bool ref_is(const cx_record *rec, const char *key, const char *value);   /* a string parameter equals value */

/* The tensor `name` of n elements and dtype f32 (i64 for ref_i64); NULL after a failed check
 * when it is absent or differs. */
const float *ref_f32(const cx_record *rec, const char *name, int64_t n);
const int64_t *ref_i64(const cx_record *rec, const char *name, int64_t n);

/* Compare got with the reference tensor `name`: every |got - want| <= rtol * |want| +
 * atol_frac * max|want| (the absolute part scaled to the tensor's magnitude). */
#define CHECK_REF(rec, name, got, n, rtol, atol_frac) \
    ref_check((rec), (name), (got), (n), (rtol), (atol_frac), __FILE__, __LINE__)
bool ref_check(const cx_record *rec, const char *name, const float *got, int64_t n, double rtol, double atol_frac,
               const char *file, int line);

double max_abs(const float *v, int64_t n);
/* A zero-filled float buffer (free with free()). */
float *zeros(int64_t n);

/* Run op(ctx, out), which must overwrite all n floats of out, with 1 thread and twice with 2:
 * the two 2-thread results must be bitwise equal and within rtol (plus rtol * max|out| as
 * the absolute part) of the 1-thread result. Restores the thread count. */
typedef void (*thread_op_fn)(void *ctx, float *out);
void check_thread_determinism(const char *what, thread_op_fn op, void *ctx, int64_t n, double rtol);

#endif
