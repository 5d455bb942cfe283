#include "spatial_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/nn.h"
#include "test.h"

bool ref_open(ref_cases *rc, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "tests/data/ref/%s.cxs", name);
    cx_record_init(&rc->rec);
    rc->count = 0;
    rc->reader = cx_reader_open(path);
    if (!rc->reader) printf("  %s\n", cx_errmsg());
    return CHECK(rc->reader != NULL);
}

bool ref_next(ref_cases *rc) {
    if (!rc->reader) return false;
    int got = cx_reader_next(rc->reader, &rc->rec);
    if (got < 0) printf("  %s\n", cx_errmsg());
    CHECK(got >= 0);
    if (got == 1) rc->count++;
    return got == 1;
}

void ref_close(ref_cases *rc) {
    if (rc->reader) cx_reader_close(rc->reader);
    cx_record_free(&rc->rec);
    CHECK(rc->count > 0);
}

static bool meta_number(const cx_record *rec, const char *key, double *v) {
    const cx_value *value = cx_map_get(&rec->meta, key);
    if (value && cx_value_number(value, v)) return true;
    printf("  case %s: no numeric parameter '%s'\n", rec->id, key);
    CHECK(!"reference parameter missing");
    *v = 0;
    return false;
}

int ref_int(const cx_record *rec, const char *key) {
    double v;
    meta_number(rec, key, &v);
    return (int)v;
}

double ref_num(const cx_record *rec, const char *key) {
    double v;
    meta_number(rec, key, &v);
    return v;
}

bool ref_flag(const cx_record *rec, const char *key) { return ref_num(rec, key) != 0; }

bool ref_is(const cx_record *rec, const char *key, const char *value) {
    const char *s = cx_map_str(&rec->meta, key, NULL);
    return s && !strcmp(s, value);
}

static const void *ref_tensor(const cx_record *rec, const char *name, cx_dtype dt, int64_t n) {
    const cx_tensor *t = cx_record_tensor(rec, name);
    if (t && t->dtype == dt && cx_tensor_numel(t) == n) return t->data;
    printf("  case %s: tensor '%s' %s (want %s with %lld elements)\n", rec->id, name,
           t ? "differs" : "is missing", cx_dtype_name(dt), (long long)n);
    CHECK(!"reference tensor missing or of another size");
    return NULL;
}

const float *ref_f32(const cx_record *rec, const char *name, int64_t n) { return ref_tensor(rec, name, CX_F32, n); }

const int64_t *ref_i64(const cx_record *rec, const char *name, int64_t n) { return ref_tensor(rec, name, CX_I64, n); }

double max_abs(const float *v, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)v[i]));
    return m;
}

bool ref_check(const cx_record *rec, const char *name, const float *got, int64_t n, double rtol, double atol_frac,
               const char *file, int line) {
    const float *want = ref_f32(rec, name, n);
    if (!want) return false;
    char what[160];
    snprintf(what, sizeof what, "case %s: %s", rec->id, name);
    double atol = atol_frac * max_abs(want, n) + 1e-30;
    return cx_test_close_f32(got, want, n, rtol, atol, what, file, line);
}

float *zeros(int64_t n) { return cx_calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }

void check_thread_determinism(const char *what, thread_op_fn op, void *ctx, int64_t n, double rtol) {
    int saved = cx_nn_threads();
    float *one = zeros(n), *two = zeros(n), *again = zeros(n);
    cx_nn_set_threads(1);
    op(ctx, one);
    cx_nn_set_threads(2);
    op(ctx, two);
    op(ctx, again);
    cx_nn_set_threads(saved);
    if (!CHECK(memcmp(two, again, (size_t)n * sizeof(float)) == 0))
        printf("  %s: two runs with 2 threads differ\n", what);
    if (!cx_test_close_f32(two, one, n, rtol, rtol * max_abs(one, n), what, __FILE__, __LINE__))
        printf("  %s: 2 threads differ from 1 thread\n", what);
    free(one);
    free(two);
    free(again);
}
