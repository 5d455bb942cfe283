/* Broadcast add and multiply, scale, concatenation, chunks and channel shuffle: finite-difference
 * gradients, PyTorch's results, thread independence and argument checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "gradcheck.h"
#include "nn/elementwise.h"
#include "spatial_ref.h"
#include "test.h"

static int64_t numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

static cx_broadcast_desc broadcast_desc(int ndim, const int64_t *a_shape, const int64_t *b_shape) {
    cx_broadcast_desc d = {.ndim = ndim};
    memcpy(d.a_shape, a_shape, (size_t)ndim * sizeof *a_shape);
    memcpy(d.b_shape, b_shape, (size_t)ndim * sizeof *b_shape);
    return d;
}

/* ---- broadcast add / mul ---- */

typedef struct {
    bool mul;
    cx_broadcast_desc d;
    float *a, *b, *y;
    const float *probe;
    int64_t ny;
} binary_case;

static void binary_forward(const binary_case *c) {
    if (c->mul) cx_mul_forward(c->y, c->a, c->b, &c->d);
    else cx_add_forward(c->y, c->a, c->b, &c->d);
}

static double binary_loss(void *ctx) {
    binary_case *c = ctx;
    binary_forward(c);
    return cx_dot_f64(c->probe, c->y, c->ny);
}

static const struct { const char *name; int ndim; int64_t a[4], b[4]; } broadcast_shapes[] = {
    {"same", 4, {2, 3, 4, 5}, {2, 3, 4, 5}},          {"channel bias", 4, {2, 3, 4, 5}, {1, 3, 1, 1}},
    {"se gate", 4, {2, 3, 4, 5}, {2, 3, 1, 1}},       {"both broadcast", 4, {2, 1, 4, 1}, {1, 3, 1, 5}},
    {"a broadcast", 3, {3, 1, 5}, {3, 4, 5}},         {"scalar", 2, {3, 4}, {1, 1}},
    {"odd inner", 4, {3, 1, 7, 1}, {3, 5, 7, 3}},
};

TEST(broadcast_gradcheck) {
    for (size_t s = 0; s < sizeof broadcast_shapes / sizeof broadcast_shapes[0]; s++)
        for (int mul = 0; mul < 2; mul++) {
            binary_case c = {.mul = mul, .d = broadcast_desc(broadcast_shapes[s].ndim, broadcast_shapes[s].a,
                                                             broadcast_shapes[s].b)};
            int64_t y_shape[CX_MAX_DIMS];
            if (!CHECK(cx_broadcast_shape(&c.d, y_shape) == 0)) continue;
            int64_t na = numel(c.d.ndim, c.d.a_shape), nb = numel(c.d.ndim, c.d.b_shape);
            c.ny = numel(c.d.ndim, y_shape);
            float *a = zeros(na), *b = zeros(nb), *y = zeros(c.ny), *probe = zeros(c.ny), *da = zeros(na),
                  *db = zeros(nb);
            cx_fill_normal(a, na, 1 + s, 1.0f);
            cx_fill_normal(b, nb, 11 + s, 1.0f);
            cx_fill_normal(probe, c.ny, 21 + s, 1.0f);
            c.a = a;
            c.b = b;
            c.y = y;
            c.probe = probe;
            binary_forward(&c);
            if (mul) cx_mul_backward(da, db, probe, a, b, &c.d);
            else cx_add_backward(da, db, probe, &c.d);
            char what[64];
            snprintf(what, sizeof what, "%s %s da", mul ? "mul" : "add", broadcast_shapes[s].name);
            CHECK(cx_gradcheck(what, binary_loss, &c, a, da, na, 200, 1e-2, 1e-3));
            snprintf(what, sizeof what, "%s %s db", mul ? "mul" : "add", broadcast_shapes[s].name);
            CHECK(cx_gradcheck(what, binary_loss, &c, b, db, nb, 200, 1e-2, 1e-3));
            free(a);
            free(b);
            free(y);
            free(probe);
            free(da);
            free(db);
        }
}

/* ---- scale, concat, chunk, shuffle gradchecks ---- */

/* A linear map y = f(x) under test: forward(ctx, y, x) */
typedef struct {
    void (*forward)(const void *op, float *y, const float *x);
    const void *op;
    float *x, *y;
    const float *probe;
    int64_t ny;
} linear_case;

static double linear_loss(void *ctx) {
    linear_case *c = ctx;
    c->forward(c->op, c->y, c->x);
    return cx_dot_f64(c->probe, c->y, c->ny);
}

static void scale_op(const void *op, float *y, const float *x) { cx_scale_forward(y, x, -0.75f, *(const int64_t *)op); }

static void shuffle_op(const void *op, float *y, const float *x) { cx_channel_shuffle_forward(y, x, op); }

/* x holds the parts one after another; y the joined tensor. */
static void concat_op(const void *op, float *y, const float *x) {
    const cx_channels_desc *d = op;
    const float *parts[8];
    for (int i = 0; i < d->parts; i++) {
        parts[i] = x;
        x += d->n * d->channels[i] * d->hw;
    }
    cx_concat_forward(y, parts, d);
}

/* x is the joined tensor; y holds the chunks one after another. */
static void split_op(const void *op, float *y, const float *x) {
    const cx_channels_desc *d = op;
    float *parts[8];
    for (int i = 0; i < d->parts; i++) {
        parts[i] = y;
        y += d->n * d->channels[i] * d->hw;
    }
    cx_split_forward(parts, x, d);
}

static void check_linear_op(const char *what, void (*forward)(const void *, float *, const float *), const void *op,
                            void (*backward)(const void *, float *, const float *), int64_t n) {
    float *x = zeros(n), *y = zeros(n), *probe = zeros(n), *dx = zeros(n);
    cx_fill_normal(x, n, 31, 1.0f);
    cx_fill_normal(probe, n, 32, 1.0f);
    linear_case c = {forward, op, x, y, probe, n};
    backward(op, dx, probe);
    CHECK(cx_gradcheck(what, linear_loss, &c, x, dx, n, 200, 1e-2, 1e-3));
    free(x);
    free(y);
    free(probe);
    free(dx);
}

static void scale_grad(const void *op, float *dx, const float *dy) {
    cx_scale_backward(dx, dy, -0.75f, *(const int64_t *)op);
}
static void shuffle_grad(const void *op, float *dx, const float *dy) { cx_channel_shuffle_backward(dx, dy, op); }

static void concat_grad(const void *op, float *dx, const float *dy) {
    const cx_channels_desc *d = op;
    float *parts[8];
    for (int i = 0; i < d->parts; i++) {
        parts[i] = dx;
        dx += d->n * d->channels[i] * d->hw;
    }
    cx_concat_backward(parts, dy, d);
}

static void split_grad(const void *op, float *dx, const float *dy) {
    const cx_channels_desc *d = op;
    const float *parts[8];
    for (int i = 0; i < d->parts; i++) {
        parts[i] = dy;
        dy += d->n * d->channels[i] * d->hw;
    }
    cx_split_backward(dx, parts, d);
}

TEST(shape_ops_gradcheck) {
    int64_t n = 2 * 3 * 5 * 7;
    check_linear_op("scale", scale_op, &n, scale_grad, n);
    int64_t channels[3] = {1, 4, 2};
    cx_channels_desc cat = {.n = 3, .hw = 5, .parts = 3, .channels = channels};
    check_linear_op("concat", concat_op, &cat, concat_grad, 3 * 7 * 5);
    int64_t chunks[4];
    int parts = cx_chunk_channels(7, 3, chunks);   /* 3, 3, 1 */
    cx_channels_desc split = {.n = 2, .hw = 6, .parts = parts, .channels = chunks};
    check_linear_op("chunk", split_op, &split, split_grad, 2 * 7 * 6);
    cx_shuffle_desc shuffle = {.n = 2, .c = 6, .hw = 5, .groups = 3};
    check_linear_op("shuffle", shuffle_op, &shuffle, shuffle_grad, 2 * 6 * 5);
}

/* ---- PyTorch reference ---- */

static void check_broadcast_case(const cx_record *rec, bool mul) {
    const cx_tensor *at = cx_record_tensor(rec, "a"), *bt = cx_record_tensor(rec, "b");
    if (!CHECK(at && bt && at->ndim == bt->ndim)) return;
    cx_broadcast_desc d = broadcast_desc(at->ndim, at->shape, bt->shape);
    int64_t y_shape[CX_MAX_DIMS];
    if (!CHECK(cx_broadcast_shape(&d, y_shape) == 0)) return;
    int64_t na = cx_tensor_numel(at), nb = cx_tensor_numel(bt), ny = numel(d.ndim, y_shape);
    const float *a = at->data, *b = bt->data, *probe = ref_f32(rec, "probe", ny);
    if (!probe) return;
    float *y = zeros(ny), *da = zeros(na), *db = zeros(nb);
    if (mul) {
        cx_mul_forward(y, a, b, &d);
        cx_mul_backward(da, db, probe, a, b, &d);
    } else {
        cx_add_forward(y, a, b, &d);
        cx_add_backward(da, db, probe, &d);
    }
    /* the forward is one float32 operation per element, as torch's: exact */
    CHECK_REF(rec, "y", y, ny, 0, 0);
    /* sums of up to 1030 products in double, rounded once */
    CHECK_REF(rec, "da", da, na, 1e-6, 1e-7);
    CHECK_REF(rec, "db", db, nb, 1e-6, 1e-7);
    free(y);
    free(da);
    free(db);
}

/* Tensors named prefix0, prefix1... up to the first absent one; returns how many. */
static int numbered(const cx_record *rec, const char *prefix, const cx_tensor **out, int max) {
    int n = 0;
    char name[32];
    for (; n < max; n++) {
        snprintf(name, sizeof name, "%s%d", prefix, n);
        if (!(out[n] = cx_record_tensor(rec, name))) break;
    }
    return n;
}

static void check_concat_case(const cx_record *rec) {
    const cx_tensor *xs[8];
    int parts = numbered(rec, "x", xs, 8);
    if (!CHECK(parts > 1)) return;
    int64_t channels[8], n = xs[0]->shape[0], hw = xs[0]->shape[2] * xs[0]->shape[3], total = 0;
    const float *x[8];
    float *dx[8];
    for (int i = 0; i < parts; i++) {
        channels[i] = xs[i]->shape[1];
        total += channels[i];
        x[i] = xs[i]->data;
        dx[i] = zeros(cx_tensor_numel(xs[i]));
    }
    cx_channels_desc d = {.n = n, .hw = hw, .parts = parts, .channels = channels};
    float *y = zeros(n * total * hw);
    const float *probe = ref_f32(rec, "probe", n * total * hw);
    cx_concat_forward(y, x, &d);
    if (probe) cx_concat_backward(dx, probe, &d);
    CHECK_REF(rec, "y", y, n * total * hw, 0, 0);   /* copies: exact */
    for (int i = 0; i < parts; i++) {
        char name[16];
        snprintf(name, sizeof name, "dx%d", i);
        CHECK_REF(rec, name, dx[i], cx_tensor_numel(xs[i]), 0, 0);
        free(dx[i]);
    }
    free(y);
}

static void check_chunk_case(const cx_record *rec) {
    const cx_tensor *xt = cx_record_tensor(rec, "x"), *ys[8];
    if (!CHECK(xt != NULL)) return;
    int want_parts = numbered(rec, "y", ys, 8);
    int64_t channels[8];
    int parts = cx_chunk_channels(xt->shape[1], ref_int(rec, "chunks"), channels);
    /* torch.chunk may make fewer chunks than asked for: the count is part of the reference */
    if (!CHECK(parts == want_parts)) return;
    int64_t n = xt->shape[0], hw = xt->shape[2] * xt->shape[3], nx = cx_tensor_numel(xt);
    cx_channels_desc d = {.n = n, .hw = hw, .parts = parts, .channels = channels};
    float *y[8], *dx = zeros(nx);
    const float *probes[8];
    char name[16];
    for (int i = 0; i < parts; i++) {
        CHECK(ys[i]->shape[1] == channels[i]);
        y[i] = zeros(n * channels[i] * hw);
        snprintf(name, sizeof name, "probe%d", i);
        probes[i] = ref_f32(rec, name, n * channels[i] * hw);
    }
    cx_split_forward(y, xt->data, &d);
    cx_split_backward(dx, probes, &d);
    for (int i = 0; i < parts; i++) {
        snprintf(name, sizeof name, "y%d", i);
        CHECK_REF(rec, name, y[i], n * channels[i] * hw, 0, 0);
        free(y[i]);
    }
    CHECK_REF(rec, "dx", dx, nx, 0, 0);
    free(dx);
}

static void check_unary_case(const cx_record *rec, bool shuffle) {
    const cx_tensor *xt = cx_record_tensor(rec, "x");
    if (!CHECK(xt != NULL)) return;
    int64_t n = cx_tensor_numel(xt);
    const float *probe = ref_f32(rec, "probe", n);
    if (!probe) return;
    float *y = zeros(n), *dx = zeros(n);
    if (shuffle) {
        cx_shuffle_desc d = {.n = xt->shape[0], .c = xt->shape[1], .hw = xt->shape[2] * xt->shape[3],
                             .groups = ref_int(rec, "groups")};
        CHECK(cx_shuffle_check(&d) == 0);
        cx_channel_shuffle_forward(y, xt->data, &d);
        cx_channel_shuffle_backward(dx, probe, &d);
    } else {
        float s = (float)ref_num(rec, "s");
        cx_scale_forward(y, xt->data, s, n);
        cx_scale_backward(dx, probe, s, n);
    }
    CHECK_REF(rec, "y", y, n, 0, 0);   /* a permutation, or one product per element: exact */
    CHECK_REF(rec, "dx", dx, n, 0, 0);
    free(y);
    free(dx);
}

/* tests/data/ref/elementwise.cxs (torch in float64, rounded). Tolerances are stated per op above. */
TEST(elementwise_matches_torch) {
    ref_cases rc;
    ref_open(&rc, "elementwise");
    while (ref_next(&rc)) {
        const cx_record *rec = &rc.rec;
        if (ref_is(rec, "op", "add")) check_broadcast_case(rec, false);
        else if (ref_is(rec, "op", "mul")) check_broadcast_case(rec, true);
        else if (ref_is(rec, "op", "concat")) check_concat_case(rec);
        else if (ref_is(rec, "op", "chunk")) check_chunk_case(rec);
        else if (ref_is(rec, "op", "shuffle")) check_unary_case(rec, true);
        else if (ref_is(rec, "op", "scale")) check_unary_case(rec, false);
        else CHECK(!"unknown op in elementwise.cxs");
    }
    ref_close(&rc);
}

/* ---- arguments ---- */

TEST(elementwise_bad_arguments) {
    int64_t y_shape[CX_MAX_DIMS];
    cx_broadcast_desc bad = broadcast_desc(3, (int64_t[]){2, 3, 4}, (int64_t[]){2, 2, 4});
    CHECK(cx_broadcast_shape(&bad, y_shape) == EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "[2, 3, 4]") != NULL);
    cx_broadcast_desc none = {.ndim = 0};
    CHECK(cx_broadcast_shape(&none, y_shape) == EX_DATAERR);
    cx_shuffle_desc shuffle = {.n = 1, .c = 6, .hw = 1, .groups = 4};
    CHECK(cx_shuffle_check(&shuffle) == EX_DATAERR);
    int64_t channels[4];
    CHECK(cx_chunk_channels(0, 2, channels) == -1);
    CHECK(cx_chunk_channels(4, 0, channels) == -1);
    /* more chunks than channels: one channel each */
    CHECK(cx_chunk_channels(3, 4, channels) == 3 && channels[0] == 1 && channels[2] == 1);
}

/* ---- threads ---- */

typedef struct {
    cx_broadcast_desc d;
    const float *a, *b, *probe;
    int64_t na, nb, ny;
} broadcast_threads;

/* out = [y, da, db] of the multiply, then the add's [da, db] added on top */
static void broadcast_run(void *ctx, float *out) {
    broadcast_threads *c = ctx;
    float *y = out, *da = out + c->ny, *db = da + c->na;
    memset(da, 0, (size_t)(c->na + c->nb) * sizeof *out);
    cx_mul_forward(y, c->a, c->b, &c->d);
    cx_mul_backward(da, db, c->probe, c->a, c->b, &c->d);
    cx_add_backward(da, db, c->probe, &c->d);
}

/* Every output and gradient element is owned by one work item: results do not depend on the
 * thread count at all (rtol 1e-12 admits no rounding difference). Shapes exercise both reduction
 * layouts and rows longer than one work item. */
TEST(elementwise_threads) {
    static const struct { int64_t a[4], b[4]; } shapes[] = {
        {{4, 8, 33, 35}, {4, 8, 1, 1}},   /* SE gating: db reduces contiguous runs */
        {{4, 8, 33, 35}, {1, 8, 1, 1}},   /* channel bias: db reduces runs of several samples */
        {{3, 1, 5, 1500}, {1, 4, 1, 1500}},   /* rows of two work items, reduced along outer dims */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        broadcast_threads c = {.d = broadcast_desc(4, shapes[s].a, shapes[s].b)};
        int64_t y_shape[CX_MAX_DIMS];
        CHECK(cx_broadcast_shape(&c.d, y_shape) == 0);
        c.na = numel(4, shapes[s].a);
        c.nb = numel(4, shapes[s].b);
        c.ny = numel(4, y_shape);
        float *a = zeros(c.na), *b = zeros(c.nb), *probe = zeros(c.ny);
        cx_fill_normal(a, c.na, 41, 1.0f);
        cx_fill_normal(b, c.nb, 42, 1.0f);
        cx_fill_normal(probe, c.ny, 43, 1.0f);
        c.a = a;
        c.b = b;
        c.probe = probe;
        check_thread_determinism("broadcast", broadcast_run, &c, c.ny + c.na + c.nb, 1e-12);
        free(a);
        free(b);
        free(probe);
    }
}

typedef struct {
    cx_channels_desc cat;
    cx_shuffle_desc shuffle;
    const float *x;   /* the joined tensor */
} channel_threads;

/* out = [shuffled x, the parts of x concatenated back after a split, their gradients summed] */
static void channel_run(void *ctx, float *out) {
    channel_threads *c = ctx;
    int64_t n = c->cat.n * c->shuffle.c * c->cat.hw;
    cx_channel_shuffle_forward(out, c->x, &c->shuffle);
    float *parts[3];
    float *at = out + n;
    for (int i = 0; i < c->cat.parts; i++) {
        parts[i] = at;
        at += c->cat.n * c->cat.channels[i] * c->cat.hw;
    }
    cx_split_forward(parts, c->x, &c->cat);
    memset(at, 0, (size_t)n * sizeof *at);
    cx_concat_backward(parts, c->x, &c->cat);   /* parts += x's slices: twice the split */
    cx_channel_shuffle_backward(at, out, &c->shuffle);
}

TEST(channel_ops_threads) {
    int64_t channels[3] = {5, 16, 3};
    channel_threads c = {.cat = {.n = 4, .hw = 49, .parts = 3, .channels = channels},
                         .shuffle = {.n = 4, .c = 24, .hw = 49, .groups = 2}};
    int64_t n = 4 * 24 * 49;
    float *x = zeros(n);
    cx_fill_normal(x, n, 51, 1.0f);
    c.x = x;
    check_thread_determinism("channel ops", channel_run, &c, 3 * n, 1e-12);
    free(x);
}
