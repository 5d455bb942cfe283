/* The segmentation model (a scaled U-Net preset at a fixed input size), its model file, and the
 * preprocessing that turns any image tensor into the model's input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/resize.h"
#include "nn/checkpoint.h"
#include "seg/seg.h"

#define LOW_PERCENTILE 1.0
#define HIGH_PERCENTILE 99.0

int cx_seg_net_build(cx_seg_net *n, const cx_seg_model *m, int max_batch) {
    memset(n, 0, sizeof *n);
    n->model = *m;
    n->max_batch = max_batch;
    if (cx_unet_preset(m->preset, &n->unet)) return cx_errcode();
    if (m->base < 1 || m->base > 1024) return cx_err(EX_USAGE, "U-Net base width %d is not in 1..1024", m->base);
    int first = n->unet.widths[0];
    for (int i = 0; i <= n->unet.depth; i++) {
        n->unet.widths[i] = (int)lround((double)n->unet.widths[i] * m->base / first);
        if (n->unet.widths[i] < 1) n->unet.widths[i] = 1;
    }
    for (int i = 0; i < n->unet.depth; i++) {
        n->unet.up_widths[i] = (int)lround((double)n->unet.up_widths[i] * m->base / first);
        if (n->unet.up_widths[i] < 1) n->unet.up_widths[i] = 1;
    }
    int step = 1 << n->unet.depth;
    if (m->size < step || m->size > 4096 || m->size % step)
        return cx_err(EX_USAGE, "model size %d is not a multiple of %d in %d..4096 (the U-Net pools %d times)", m->size,
                      step, step, n->unet.depth);
    n->g = cx_graph_new(max_batch);
    int64_t shape[3] = {1, m->size, m->size};
    n->x = cx_graph_input(n->g, "x", 3, shape, false);
    n->logits = cx_unet_build(n->g, n->x, &n->unet);
    if (n->logits < 0 || !cx_graph_ok(n->g)) {
        int rc = cx_errcode();
        cx_graph_free(n->g);
        n->g = NULL;
        return rc ? rc : EX_SOFTWARE;
    }
    cx_graph_output(n->g, n->logits);
    return 0;
}

void cx_seg_net_free(cx_seg_net *n) {
    if (n->g) cx_graph_free(n->g);
    n->g = NULL;
}

cx_value cx_seg_model_to_value(const cx_seg_model *m) {
    cx_value v = cx_map();
    cx_map_set(&v, "preset", cx_str(m->preset));
    cx_map_set(&v, "base", cx_int(m->base));
    cx_map_set(&v, "size", cx_int(m->size));
    cx_map_set(&v, "normalization", cx_str("percentile-1-99"));
    return v;
}

int cx_seg_model_from_value(const cx_value *v, cx_seg_model *m, const char *path) {
    const cx_value *preset = cx_map_get(v, "preset"), *base = cx_map_get(v, "base"), *size = cx_map_get(v, "size");
    if (!v || v->kind != CX_MAP || !preset || preset->kind != CX_STR || !base || base->kind != CX_INT || !size ||
        size->kind != CX_INT || strlen(preset->u.s) >= sizeof m->preset || base->u.i < 1 || base->u.i > 1024 ||
        size->u.i < 1 || size->u.i > 4096)
        return cx_err(EX_DATAERR, "%s: header: config.segmentation: missing or incomplete (not a cxr-segment model)", path);
    memset(m, 0, sizeof *m);
    strcpy(m->preset, preset->u.s);
    m->base = (int)base->u.i;
    m->size = (int)size->u.i;
    return 0;
}

int cx_seg_net_load(cx_seg_net *n, const char *path, int max_batch) {
    cx_value config;
    if (cx_checkpoint_config(path, &config)) return cx_errcode();
    cx_seg_model m;
    int rc = cx_seg_model_from_value(cx_map_get(&config, "segmentation"), &m, path);
    cx_value_free(&config);
    if (rc) return rc;
    if ((rc = cx_seg_net_build(n, &m, max_batch))) return cx_err_prefix("%s", path);
    cx_train_state st;
    memset(&st, 0, sizeof st);
    if (!(rc = cx_graph_plan(n->g, CX_MODE_EVAL))) rc = cx_checkpoint_load(path, n->g, &st);
    cx_train_state_free(&st);
    if (rc) cx_seg_net_free(n);
    return rc;
}

int cx_seg_plane(const cx_tensor *t, float **plane, int *h, int *w) {
    if (!(t->ndim == 2 || (t->ndim == 3 && t->shape[0] == 1)) || t->shape[t->ndim - 1] < 1 ||
        t->shape[t->ndim - 2] < 1 || t->shape[t->ndim - 1] > 65536 || t->shape[t->ndim - 2] > 65536) {
        char s[96];
        cx_shape_format(s, sizeof s, t->ndim, t->shape);
        return cx_err(EX_DATAERR, "tensors.%s: shape %s is not [H, W] or [1, H, W]", t->name, s);
    }
    *h = (int)t->shape[t->ndim - 2];
    *w = (int)t->shape[t->ndim - 1];
    int64_t n = (int64_t)*h * *w;
    float *p = cx_malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++) {
        double v = cx_tensor_get(t, i);
        p[i] = isfinite(v) ? (float)v : 0.0f;
    }
    *plane = p;
    return 0;
}

static int compare_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The q-th percentile (0..100) of sorted[n], linear between ranks (numpy's default). */
static float percentile(const float *sorted, int64_t n, double q) {
    double pos = q / 100 * (double)(n - 1);
    int64_t lo = (int64_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    return (float)(sorted[lo] + (pos - (double)lo) * (sorted[hi] - sorted[lo]));
}

void cx_seg_prepare_image(const float *plane, int h, int w, int size, float *out) {
    /* out: [size, size] */
    int64_t n = (int64_t)size * size;
    cx_resize(plane, h, w, out, size, size);
    float *sorted = cx_malloc((size_t)n * sizeof *sorted);
    memcpy(sorted, out, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_float);
    float lo = percentile(sorted, n, LOW_PERCENTILE), hi = percentile(sorted, n, HIGH_PERCENTILE);
    free(sorted);
    /* a flat image (all black) stays flat at 0 rather than dividing by zero */
    float scale = hi - lo > 1e-6f * (fabsf(hi) + 1) ? 1 / (hi - lo) : 0;
    for (int64_t i = 0; i < n; i++) out[i] = (out[i] - lo) * scale;
}

void cx_seg_prepare_mask(const float *plane, int h, int w, int size, float *out) {
    int64_t n = (int64_t)h * w;
    float *binary = cx_malloc((size_t)n * sizeof *binary);
    for (int64_t i = 0; i < n; i++) binary[i] = plane[i] != 0 ? 1.0f : 0.0f;
    cx_resize(binary, h, w, out, size, size);
    free(binary);
}
