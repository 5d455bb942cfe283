#include "nn/elementwise.h"

#include <string.h>

#include "core/error.h"

/* Elements per parallel work item (also the length of the double accumulators kept on the stack). */
#define EW_BLOCK 1024

static int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- broadcasting ---- */

enum { OP_A, OP_B, OP_Y };

/* The output's dims with size-1 dims dropped and neighbours merged where both operands are
 * either contiguous across them or broadcast along both, so that a residual add is one dim
 * and SE gating is two ([N*C, H*W] with b's stride 0 along H*W). */
typedef struct {
    int ndim;                          /* >= 1 */
    int64_t size[CX_MAX_DIMS];
    int64_t stride[3][CX_MAX_DIMS];    /* element strides of a, b and y; 0 where a or b is broadcast */
} broadcast_plan;

int cx_broadcast_shape(const cx_broadcast_desc *d, int64_t *y_shape) {
    if (d->ndim < 1 || d->ndim > CX_MAX_DIMS)
        return cx_err(EX_DATAERR, "broadcast: %d dims (1 to %d allowed)", d->ndim, CX_MAX_DIMS);
    for (int i = 0; i < d->ndim; i++) {
        int64_t a = d->a_shape[i], b = d->b_shape[i];
        if (a < 1 || b < 1 || (a != b && a != 1 && b != 1)) {
            char as[128], bs[128];
            cx_shape_format(as, sizeof as, d->ndim, d->a_shape);
            cx_shape_format(bs, sizeof bs, d->ndim, d->b_shape);
            return cx_err(EX_DATAERR, "shapes %s and %s do not broadcast (dim %d)", as, bs, i);
        }
        y_shape[i] = a > b ? a : b;
    }
    return 0;
}

static void plan_make(const cx_broadcast_desc *d, broadcast_plan *p) {
    int64_t a_stride[CX_MAX_DIMS], b_stride[CX_MAX_DIMS], sa = 1, sb = 1;
    for (int i = d->ndim - 1; i >= 0; i--) {
        a_stride[i] = d->a_shape[i] == 1 ? 0 : sa;
        b_stride[i] = d->b_shape[i] == 1 ? 0 : sb;
        sa *= d->a_shape[i];
        sb *= d->b_shape[i];
    }
    p->ndim = 0;
    for (int i = 0; i < d->ndim; i++) {
        int64_t size = d->a_shape[i] > d->b_shape[i] ? d->a_shape[i] : d->b_shape[i];
        if (size == 1) continue;
        int k = p->ndim;
        bool merge = k > 0 && (p->stride[OP_A][k - 1] == 0) == (a_stride[i] == 0) &&
                     (p->stride[OP_B][k - 1] == 0) == (b_stride[i] == 0);
        if (merge) {
            k--;
            p->size[k] *= size;
        } else {
            p->size[k] = size;
            p->ndim++;
        }
        p->stride[OP_A][k] = a_stride[i];
        p->stride[OP_B][k] = b_stride[i];
    }
    if (p->ndim == 0) {   /* one element */
        p->ndim = 1;
        p->size[0] = 1;
        p->stride[OP_A][0] = p->stride[OP_B][0] = 0;
    }
    int64_t sy = 1;
    for (int k = p->ndim - 1; k >= 0; k--) {
        p->stride[OP_Y][k] = sy;
        sy *= p->size[k];
    }
}

/* Add to off[] the a, b and y offsets of the multi-index that i denotes, counting row-major
 * over the plan dims listed in dims[0..n). */
static void index_offsets(const broadcast_plan *p, const int *dims, int n, int64_t i, int64_t off[3]) {
    for (int k = n - 1; k >= 0; k--) {
        int64_t size = p->size[dims[k]], idx = i % size;
        i /= size;
        for (int s = 0; s < 3; s++) off[s] += idx * p->stride[s][dims[k]];
    }
}

static void binary_forward(bool mul, float *y, const float *a, const float *b, const cx_broadcast_desc *d) {
    broadcast_plan p;
    plan_make(d, &p);
    int last = p.ndim - 1, outer[CX_MAX_DIMS];
    for (int k = 0; k < last; k++) outer[k] = k;
    /* Both ops commute: name the operands so that a walks the last dim (at least one does). */
    int ia = OP_A, ib = OP_B;
    if (p.stride[OP_A][last] == 0) {
        const float *t = a;
        a = b;
        b = t;
        ia = OP_B;
        ib = OP_A;
    }
    bool b_walks = p.stride[ib][last] != 0;
    int64_t len = p.size[last], pieces = (len + EW_BLOCK - 1) / EW_BLOCK, rows = 1;
    for (int k = 0; k < last; k++) rows *= p.size[k];
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u < rows * pieces; u++) {
        int64_t off[3] = {0, 0, 0};
        index_offsets(&p, outer, last, u / pieces, off);
        int64_t at = (u % pieces) * EW_BLOCK, n = min_i64(EW_BLOCK, len - at);
        const float *ar = a + off[ia] + at, *br = b + off[ib] + (b_walks ? at : 0);
        float *yr = y + off[OP_Y] + at;
        if (b_walks && mul) {
#pragma omp simd
            for (int64_t k = 0; k < n; k++) yr[k] = ar[k] * br[k];
        } else if (b_walks) {
#pragma omp simd
            for (int64_t k = 0; k < n; k++) yr[k] = ar[k] + br[k];
        } else if (mul) {
            float bv = *br;
#pragma omp simd
            for (int64_t k = 0; k < n; k++) yr[k] = ar[k] * bv;
        } else {
            float bv = *br;
#pragma omp simd
            for (int64_t k = 0; k < n; k++) yr[k] = ar[k] + bv;
        }
    }
}

/* sum_k x[k] * (w ? w[k] : 1) in double, with four interleaved partial sums so that the adds
 * do not wait on one another; the order is fixed, so the result depends on the data only. */
static double sum_product_f64(const float *x, const float *w, int64_t n) {
    double s[4] = {0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 4 <= n; k += 4)
        for (int l = 0; l < 4; l++) s[l] += (double)x[k + l] * (w ? w[k + l] : 1.0f);
    for (; k < n; k++) s[k % 4] += (double)x[k] * (w ? w[k] : 1.0f);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* dx += dy * (other, or 1 when NULL) summed over the dims along which operand xi (OP_A or OP_B)
 * was broadcast. Every dx element is owned by one work item, which sums its terms in a fixed
 * order, so the result is the same for any thread count. */
static void reduce_grad(float *dx, int xi, const float *dy, const float *other, const broadcast_plan *p) {
    int oi = xi == OP_A ? OP_B : OP_A, last = p->ndim - 1;
    int kept[CX_MAX_DIMS], reduced[CX_MAX_DIMS], nkept = 0, nreduced = 0;
    int64_t kept_count = 1, reduced_count = 1;
    for (int k = 0; k < last; k++) {
        if (p->stride[xi][k]) {
            kept[nkept++] = k;
            kept_count *= p->size[k];
        } else {
            reduced[nreduced++] = k;
            reduced_count *= p->size[k];
        }
    }
    int64_t len = p->size[last];
    if (p->stride[xi][last] == 0) {
        /* x is broadcast along the last dim, so every x element sums whole runs of dy, each
         * met by a run of the other operand (which walks that dim). */
#pragma omp parallel for schedule(static)
        for (int64_t j = 0; j < kept_count; j++) {
            int64_t base[3] = {0, 0, 0};
            index_offsets(p, kept, nkept, j, base);
            double s = 0;
            for (int64_t r = 0; r < reduced_count; r++) {
                int64_t off[3] = {base[0], base[1], base[2]};
                index_offsets(p, reduced, nreduced, r, off);
                s += sum_product_f64(dy + off[OP_Y], other ? other + off[oi] : NULL, len);
            }
            dx[base[xi]] = (float)(dx[base[xi]] + s);
        }
        return;
    }
    /* x walks the last dim: a piece of an x row gathers one term from every broadcast position. */
    bool other_walks = other && p->stride[oi][last] != 0;
    int64_t pieces = (len + EW_BLOCK - 1) / EW_BLOCK;
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u < kept_count * pieces; u++) {
        int64_t base[3] = {0, 0, 0};
        index_offsets(p, kept, nkept, u / pieces, base);
        int64_t at = (u % pieces) * EW_BLOCK, n = min_i64(EW_BLOCK, len - at);
        double acc[EW_BLOCK];
        for (int64_t k = 0; k < n; k++) acc[k] = 0;
        for (int64_t r = 0; r < reduced_count; r++) {
            int64_t off[3] = {base[0], base[1], base[2]};
            index_offsets(p, reduced, nreduced, r, off);
            const float *g = dy + off[OP_Y] + at;
            if (!other) {
#pragma omp simd
                for (int64_t k = 0; k < n; k++) acc[k] += g[k];
            } else if (other_walks) {
                const float *o = other + off[oi] + at;
#pragma omp simd
                for (int64_t k = 0; k < n; k++) acc[k] += (double)g[k] * o[k];
            } else {
                double ov = other[off[oi]];
#pragma omp simd
                for (int64_t k = 0; k < n; k++) acc[k] += g[k] * ov;
            }
        }
        float *dxr = dx + base[xi] + at;
#pragma omp simd
        for (int64_t k = 0; k < n; k++) dxr[k] = (float)(dxr[k] + acc[k]);
    }
}

void cx_add_forward(float *y, const float *a, const float *b, const cx_broadcast_desc *d) {
    binary_forward(false, y, a, b, d);
}

void cx_add_backward(float *da, float *db, const float *dy, const cx_broadcast_desc *d) {
    broadcast_plan p;
    plan_make(d, &p);
    if (da) reduce_grad(da, OP_A, dy, NULL, &p);
    if (db) reduce_grad(db, OP_B, dy, NULL, &p);
}

void cx_mul_forward(float *y, const float *a, const float *b, const cx_broadcast_desc *d) {
    binary_forward(true, y, a, b, d);
}

void cx_mul_backward(float *da, float *db, const float *dy, const float *a, const float *b,
                     const cx_broadcast_desc *d) {
    broadcast_plan p;
    plan_make(d, &p);
    if (da) reduce_grad(da, OP_A, dy, b, &p);
    if (db) reduce_grad(db, OP_B, dy, a, &p);
}

/* ---- scalar scale ---- */

void cx_scale_forward(float *y, const float *x, float s, int64_t n) {
#pragma omp parallel for schedule(static)
    for (int64_t at = 0; at < n; at += EW_BLOCK) {
        int64_t len = min_i64(EW_BLOCK, n - at);
#pragma omp simd
        for (int64_t k = at; k < at + len; k++) y[k] = s * x[k];
    }
}

void cx_scale_backward(float *dx, const float *dy, float s, int64_t n) {
#pragma omp parallel for schedule(static)
    for (int64_t at = 0; at < n; at += EW_BLOCK) {
        int64_t len = min_i64(EW_BLOCK, n - at);
#pragma omp simd
        for (int64_t k = at; k < at + len; k++) dx[k] += s * dy[k];
    }
}

/* ---- concatenation, split, chunk ---- */

/* dst[count] = src, or += src when accumulating (a backward pass). */
static void move_floats(float *dst, const float *src, int64_t count, bool accumulate) {
    if (!accumulate) {
        memcpy(dst, src, (size_t)count * sizeof *dst);
        return;
    }
#pragma omp simd
    for (int64_t k = 0; k < count; k++) dst[k] += src[k];
}

static int64_t total_channels(const cx_channels_desc *d) {
    int64_t c = 0;
    for (int i = 0; i < d->parts; i++) c += d->channels[i];
    return c;
}

/* Where part i of sample s starts in the joined tensor [n, total, hw]. */
static int64_t joined_offset(const cx_channels_desc *d, int64_t total, int64_t s, int i) {
    int64_t first = 0;
    for (int k = 0; k < i; k++) first += d->channels[k];
    return (s * total + first) * d->hw;
}

/* parts [n, channels[i], hw] -> joined. Work items are (sample, part) slabs; NULL parts are skipped. */
static void join_parts(float *joined, const float *const *parts, const cx_channels_desc *d, bool accumulate) {
    int64_t total = total_channels(d);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t s = 0; s < d->n; s++)
        for (int i = 0; i < d->parts; i++) {
            int64_t slab = d->channels[i] * d->hw;
            if (parts[i]) move_floats(joined + joined_offset(d, total, s, i), parts[i] + s * slab, slab, accumulate);
        }
}

/* joined -> parts, the same slabs the other way. */
static void separate_parts(float *const *parts, const float *joined, const cx_channels_desc *d, bool accumulate) {
    int64_t total = total_channels(d);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t s = 0; s < d->n; s++)
        for (int i = 0; i < d->parts; i++) {
            int64_t slab = d->channels[i] * d->hw;
            if (parts[i]) move_floats(parts[i] + s * slab, joined + joined_offset(d, total, s, i), slab, accumulate);
        }
}

void cx_concat_forward(float *y, const float *const *x, const cx_channels_desc *d) { join_parts(y, x, d, false); }

void cx_concat_backward(float *const *dx, const float *dy, const cx_channels_desc *d) {
    separate_parts(dx, dy, d, true);
}

void cx_split_forward(float *const *y, const float *x, const cx_channels_desc *d) { separate_parts(y, x, d, false); }

void cx_split_backward(float *dx, const float *const *dy, const cx_channels_desc *d) { join_parts(dx, dy, d, true); }

int cx_chunk_channels(int64_t c, int chunks, int64_t *channels) {
    if (c < 1 || chunks < 1) {
        cx_err(EX_DATAERR, "chunk: %lld channels into %d chunks", (long long)c, chunks);
        return -1;
    }
    int64_t size = (c + chunks - 1) / chunks;
    int n = 0;
    for (int64_t first = 0; first < c; first += size) channels[n++] = min_i64(size, c - first);
    return n;
}

/* ---- channel shuffle ---- */

int cx_shuffle_check(const cx_shuffle_desc *d) {
    if (d->groups < 1 || d->c % d->groups != 0)
        return cx_err(EX_DATAERR, "channel shuffle: %lld groups do not divide %lld channels", (long long)d->groups,
                      (long long)d->c);
    return 0;
}

/* dst channel j*groups + i = src channel i*(c/groups) + j, per sample; work items are the
 * (sample, destination channel) slabs. */
static void shuffle_slabs(float *dst, const float *src, int64_t n, int64_t c, int64_t hw, int64_t groups,
                          bool accumulate) {
    int64_t per_group = c / groups;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t s = 0; s < n; s++)
        for (int64_t ch = 0; ch < c; ch++) {
            int64_t j = ch / groups, i = ch % groups;
            move_floats(dst + (s * c + ch) * hw, src + (s * c + i * per_group + j) * hw, hw, accumulate);
        }
}

void cx_channel_shuffle_forward(float *y, const float *x, const cx_shuffle_desc *d) {
    shuffle_slabs(y, x, d->n, d->c, d->hw, d->groups, false);
}

/* Shuffling with c/groups groups undoes a shuffle with groups groups. */
void cx_channel_shuffle_backward(float *dx, const float *dy, const cx_shuffle_desc *d) {
    shuffle_slabs(dx, dy, d->n, d->c, d->hw, d->c / d->groups, true);
}
