#include "core/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the stream format's byte order is the host's: little-endian only");

static const struct { const char *name; size_t size; } dtypes[CX_NDTYPES] = {
    [CX_U8] = {"u8", 1}, [CX_U16] = {"u16", 2}, [CX_I32] = {"i32", 4}, [CX_I64] = {"i64", 8},
    [CX_F16] = {"f16", 2}, [CX_F32] = {"f32", 4}, [CX_F64] = {"f64", 8},
};

size_t cx_dtype_size(cx_dtype dt) { return dt < CX_NDTYPES ? dtypes[dt].size : 0; }
const char *cx_dtype_name(cx_dtype dt) { return dt < CX_NDTYPES ? dtypes[dt].name : "?"; }
bool cx_dtype_is_float(cx_dtype dt) { return dt == CX_F16 || dt == CX_F32 || dt == CX_F64; }

int cx_dtype_parse(const char *name, cx_dtype *dt) {
    for (int i = 0; i < CX_NDTYPES; i++)
        if (!strcmp(name, dtypes[i].name)) { *dt = (cx_dtype)i; return 0; }
    return -1;
}

int64_t cx_shape_numel(int ndim, const int64_t *shape, cx_dtype dt) {
    if (ndim < 0 || ndim > CX_MAX_DIMS || dt >= CX_NDTYPES) return -1;
    uint64_t limit = CX_MAX_TENSOR_BYTES / dtypes[dt].size, n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (uint64_t)shape[i] > limit) return -1;
        n *= (uint64_t)shape[i];   /* both factors <= 2^34: no overflow before the check */
        if (n > limit) return -1;
    }
    return (int64_t)n;
}

int64_t cx_tensor_numel(const cx_tensor *t) { return (int64_t)(t->nbytes / cx_dtype_size(t->dtype)); }

int cx_tensor_init(cx_tensor *t, const char *name, cx_dtype dt, int ndim, const int64_t *shape) {
    memset(t, 0, sizeof *t);
    int64_t n = cx_shape_numel(ndim, shape, dt);
    if (n < 0) {
        char buf[160];
        cx_shape_format(buf, sizeof buf, ndim, shape);
        return cx_err(EX_DATAERR, "tensor \"%s\": bad shape %s for dtype %s", name ? name : "", buf, cx_dtype_name(dt));
    }
    t->name = cx_strdup(name ? name : "");
    t->dtype = dt;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->nbytes = (size_t)n * dtypes[dt].size;
    t->data = cx_aligned_alloc(t->nbytes);
    memset(t->data, 0, t->nbytes);
    return 0;
}

void cx_tensor_free(cx_tensor *t) {
    free(t->name);
    free(t->data);
    memset(t, 0, sizeof *t);
}

int cx_tensor_copy(cx_tensor *dst, const cx_tensor *src) {
    int rc = cx_tensor_init(dst, src->name, src->dtype, src->ndim, src->shape);
    if (!rc) memcpy(dst->data, src->data, src->nbytes);
    return rc;
}

bool cx_tensor_same_shape(const cx_tensor *a, const cx_tensor *b) {
    return a->ndim == b->ndim && !memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof a->shape[0]);
}

void cx_shape_format(char *buf, size_t size, int ndim, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && i < CX_MAX_DIMS && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
}

double cx_tensor_get(const cx_tensor *t, int64_t i) {
    switch (t->dtype) {
    case CX_U8: return ((const uint8_t *)t->data)[i];
    case CX_U16: return ((const uint16_t *)t->data)[i];
    case CX_I32: return ((const int32_t *)t->data)[i];
    case CX_I64: return (double)((const int64_t *)t->data)[i];
    case CX_F16: return cx_half_to_float(((const uint16_t *)t->data)[i]);
    case CX_F32: return ((const float *)t->data)[i];
    case CX_F64: return ((const double *)t->data)[i];
    default: return NAN;
    }
}

static double clamp_round(double v, double lo, double hi) {
    if (isnan(v)) return 0;
    v = nearbyint(v);
    return v < lo ? lo : v > hi ? hi : v;
}

void cx_tensor_set(cx_tensor *t, int64_t i, double v) {
    switch (t->dtype) {
    case CX_U8: ((uint8_t *)t->data)[i] = (uint8_t)clamp_round(v, 0, 255); break;
    case CX_U16: ((uint16_t *)t->data)[i] = (uint16_t)clamp_round(v, 0, 65535); break;
    case CX_I32: ((int32_t *)t->data)[i] = (int32_t)clamp_round(v, INT32_MIN, INT32_MAX); break;
    case CX_I64: ((int64_t *)t->data)[i] = (int64_t)clamp_round(v, -9.2233720368547748e18, 9.2233720368547748e18); break;
    case CX_F16: ((uint16_t *)t->data)[i] = cx_float_to_half((float)v); break;
    case CX_F32: ((float *)t->data)[i] = (float)v; break;
    case CX_F64: ((double *)t->data)[i] = v; break;
    default: break;
    }
}

int cx_tensor_convert(cx_tensor *dst, const cx_tensor *src, cx_dtype dt) {
    int rc = cx_tensor_init(dst, src->name, dt, src->ndim, src->shape);
    if (rc) return rc;
    int64_t n = cx_tensor_numel(src);
    if (dt == src->dtype) {
        memcpy(dst->data, src->data, src->nbytes);
    } else if (dt == CX_F32) {
        float *out = dst->data;
        for (int64_t i = 0; i < n; i++) out[i] = (float)cx_tensor_get(src, i);
    } else {
        for (int64_t i = 0; i < n; i++) cx_tensor_set(dst, i, cx_tensor_get(src, i));
    }
    return 0;
}

float cx_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (!mant) {
        bits = sign;
    } else {
        float f = ldexpf((float)mant, -24);   /* subnormal: exact in float */
        return sign ? -f : f;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t cx_float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) return sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0);   /* inf, nan */
    if (absx >= 0x477ff000u) return sign | 0x7c00;   /* rounds past 65504: inf */
    if (absx < 0x38800000u) {                          /* below the smallest normal half */
        float a;
        memcpy(&a, &absx, sizeof a);
        return sign | (uint16_t)nearbyintf(a * 16777216.0f);   /* units of 2^-24, ties to even */
    }
    uint32_t mant = absx & 0x7fffff, exp = (absx >> 23) - 112;
    uint32_t half = (exp << 10) | (mant >> 13), rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) half++;   /* carries into exp correctly */
    return sign | (uint16_t)half;
}

void cx_tensor_stats_compute(const cx_tensor *t, cx_tensor_stats *s) {
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
    double mean = 0, m2 = 0;   /* Welford: stable for large images */
    int64_t n = cx_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double v = cx_tensor_get(t, i);
        if (isnan(v)) { s->nan++; continue; }
        if (isinf(v)) { s->inf++; continue; }
        s->n++;
        double d = v - mean;
        mean += d / (double)s->n;
        m2 += d * (v - mean);
        if (v < s->min) s->min = v;
        if (v > s->max) s->max = v;
    }
    s->mean = s->n ? mean : NAN;
    s->std = s->n ? sqrt(m2 / (double)s->n) : NAN;
    if (!s->n) s->min = s->max = NAN;
}
