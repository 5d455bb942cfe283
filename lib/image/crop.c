/* The lung-box crop (see crop.h for the steps). */
#include "image/crop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/components.h"
#include "image/resize.h"

static const char *const norm_names[] = {"imagenet", "zscore", "minmax", "xrv"};

const char *cx_normalization_name(cx_normalization n) { return norm_names[n]; }

int cx_normalization_parse(const char *name, cx_normalization *n) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, norm_names[i])) {
            *n = (cx_normalization)i;
            return 0;
        }
    return -1;
}

void cx_crop_options_default(cx_crop_options *o) {
    *o = (cx_crop_options){.size = 224, .channels = 3, .norm = CX_NORM_IMAGENET, .clip_lo = 2, .clip_hi = 98,
                           .margin = 5, .components = 2, .box = CX_BOX_MASK, .mask_name = "mask",
                           .box_field = "lung_bbox"};
}

/* ---- percentiles ---- */

/* The value of sorted rank k: the first bin whose running count exceeds k. */
static double rank_value(const int64_t *hist, int nbins, int64_t k) {
    int64_t count = 0;
    for (int v = 0; v < nbins; v++) {
        count += hist[v];
        if (count > k) return v;
    }
    return nbins - 1;
}

double cx_hist_percentile(const int64_t *hist, int nbins, int64_t n, double p) {
    double t = p / 100 * (double)(n - 1);
    int64_t below = (int64_t)floor(t);
    if (below > n - 1) below = n - 1;
    double frac = t - (double)below;
    double a = rank_value(hist, nbins, below);
    double b = below + 1 < n ? rank_value(hist, nbins, below + 1) : a;
    /* numpy's lerp: from the nearer end, so that frac 1 gives b exactly */
    return frac < 0.5 ? a + (b - a) * frac : b - (b - a) * (1 - frac);
}

int cx_image_clip_range(const cx_tensor *image, double p_lo, double p_hi, double range[2]) {
    if (image->dtype != CX_U8 && image->dtype != CX_U16)
        return cx_err(EX_DATAERR, "image: dtype %s; expected u8 or u16", cx_dtype_name(image->dtype));
    int64_t n = cx_tensor_numel(image);
    if (n <= 0) return cx_err(EX_DATAERR, "image: no pixels");
    int nbins = image->dtype == CX_U8 ? 256 : 65536;
    int64_t *hist = cx_calloc((size_t)nbins, sizeof *hist);
    if (image->dtype == CX_U8) {
        const uint8_t *px = image->data;
        for (int64_t i = 0; i < n; i++) hist[px[i]]++;
    } else {
        const uint16_t *px = image->data;
        for (int64_t i = 0; i < n; i++) hist[px[i]]++;
    }
    range[0] = cx_hist_percentile(hist, nbins, n, p_lo);
    range[1] = cx_hist_percentile(hist, nbins, n, p_hi);
    free(hist);
    return 0;
}

/* ---- boxes ---- */

void cx_box_margin(const int box[4], double margin, int w, int h, int out[4]) {
    int dx = (int)lround(margin / 100 * (box[2] - box[0]) / 2);
    int dy = (int)lround(margin / 100 * (box[3] - box[1]) / 2);
    out[0] = box[0] - dx < 0 ? 0 : box[0] - dx;
    out[1] = box[1] - dy < 0 ? 0 : box[1] - dy;
    out[2] = box[2] + dx > w ? w : box[2] + dx;
    out[3] = box[3] + dy > h ? h : box[3] + dy;
}

/* One axis of the square: [start, start + side) around [lo, hi), inside [0, len) when it fits,
 * otherwise overhanging both ends evenly. */
static int square_start(int lo, int hi, int side, int len) {
    if (side > len) return -((side - len) / 2);
    int start = lo - (side - (hi - lo)) / 2;
    if (start < 0) start = 0;
    if (start + side > len) start = len - side;
    return start;
}

void cx_box_square(const int box[4], int w, int h, int out[4]) {
    int bw = box[2] - box[0], bh = box[3] - box[1];
    int side = bw > bh ? bw : bh;
    out[0] = square_start(box[0], box[2], side, w);
    out[1] = square_start(box[1], box[3], side, h);
    out[2] = out[0] + side;
    out[3] = out[1] + side;
}

void cx_crop_gray(const cx_tensor *image, const int box[4], double lo, double hi, float *dst) {
    int h = (int)image->shape[0], w = (int)image->shape[1];
    int bw = box[2] - box[0], bh = box[3] - box[1];
    float flo = (float)lo, fhi = (float)hi, scale = (float)(1 / (hi - lo));
    for (int y = 0; y < bh; y++) {
        int sy = box[1] + y;
        float *row = dst + (size_t)y * bw;
        for (int x = 0; x < bw; x++) {
            int sx = box[0] + x;
            if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
                row[x] = 0;
                continue;
            }
            size_t i = (size_t)sy * w + sx;
            float v = image->dtype == CX_U8 ? ((const uint8_t *)image->data)[i] : ((const uint16_t *)image->data)[i];
            if (v < flo) v = flo;
            if (v > fhi) v = fhi;
            row[x] = (v - flo) * scale;
        }
    }
}

/* ---- normalisation ---- */

/* ImageNet's per-channel statistics; one channel takes the means of the three. */
static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};
static const float imagenet_gray_mean = 0.449f, imagenet_gray_std = 0.226f;

int cx_normalize(const float *gray, int n, cx_normalization norm, int channels, float *out) {
    size_t plane = (size_t)n * n;
    double zmean = 0, zstd = 1;
    if (norm == CX_NORM_ZSCORE) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < plane; i++) sum += gray[i];
        zmean = sum / (double)plane;
        for (size_t i = 0; i < plane; i++) sq += (gray[i] - zmean) * (gray[i] - zmean);
        zstd = sqrt(sq / (double)plane);
        if (!(zstd > 1e-6)) return cx_err(EX_DATAERR, "image: the crop is constant: zscore is undefined");
    }
    for (int c = 0; c < channels; c++) {
        /* out = gray * scale + shift */
        float scale = 1, shift = 0;
        if (norm == CX_NORM_IMAGENET) {
            float mean = channels == 1 ? imagenet_gray_mean : imagenet_mean[c];
            float std = channels == 1 ? imagenet_gray_std : imagenet_std[c];
            scale = 1 / std, shift = -mean / std;
        } else if (norm == CX_NORM_ZSCORE) {
            scale = (float)(1 / zstd), shift = (float)(-zmean / zstd);
        } else if (norm == CX_NORM_XRV) {   /* TorchXRayVision: (2 x / maxval - 1) * 1024 */
            scale = 2048, shift = -1024;
        }
        float *o = out + (size_t)c * plane;
        for (size_t i = 0; i < plane; i++) o[i] = gray[i] * scale + shift;
    }
    return 0;
}

/* ---- records ---- */

static cx_value box_value(const int box[4]) {
    cx_value v = cx_array();
    for (int k = 0; k < 4; k++) cx_array_push(&v, cx_int(box[k]));
    return v;
}

/* The lung box from metadata: an array of 4 numbers or a string of 4 numbers ("x0 y0 x1 y1",
 * as a CSV cell gives it). Returns 1 with a box, 0 when absent, nil or all zero (no lung), or
 * -1 with the error recorded. */
static int meta_box(const cx_value *meta, const char *field, int w, int h, int box[4]) {
    const cx_value *v = cx_map_get(meta, field);
    if (!v || v->kind == CX_NIL) return 0;
    double num[4];
    int got = 0;
    if (v->kind == CX_ARRAY) {
        for (size_t k = 0; k < v->u.arr.n && got < 5; k++, got++)
            if (got == 4 || !cx_value_number(&v->u.arr.items[k], &num[got])) { got = -1; break; }
    } else if (v->kind == CX_STR) {
        const char *s = v->u.s;
        char *end;
        for (; got < 5; got++) {
            while (*s == ' ' || *s == ',') s++;
            if (!*s) break;
            double x = strtod(s, &end);
            if (end == s || got == 4) { got = -1; break; }
            num[got] = x;
            s = end;
        }
    }
    if (got != 4) {
        cx_err(EX_DATAERR, "meta.%s: expected 4 numbers [x0, y0, x1, y1]", field);
        return -1;
    }
    for (int k = 0; k < 4; k++) {
        if (!(fabs(num[k]) < 1e9)) {
            cx_err(EX_DATAERR, "meta.%s: not a finite number", field);
            return -1;
        }
        box[k] = (int)lround(num[k]);
    }
    if (!box[0] && !box[1] && !box[2] && !box[3]) return 0;
    if (box[0] >= box[2] || box[1] >= box[3]) {
        cx_err(EX_DATAERR, "meta.%s: [%d, %d, %d, %d] is not a box (x0 < x1, y0 < y1)", field, box[0], box[1],
               box[2], box[3]);
        return -1;
    }
    if (box[0] < 0 || box[1] < 0 || box[2] > w || box[3] > h) {
        cx_err(EX_DATAERR, "meta.%s: [%d, %d, %d, %d] is outside the %dx%d image", field, box[0], box[1], box[2],
               box[3], w, h);
        return -1;
    }
    return 1;
}

/* The mask tensor, checked against the image: NULL when absent (no error), NULL with
 * *bad set and the error recorded when it is not a u8 [H, W] like the image. */
static const cx_tensor *find_mask(const cx_record *in, const cx_tensor *image, const char *name, bool *bad) {
    *bad = false;
    const cx_tensor *mask = cx_record_tensor(in, name);
    if (!mask) return NULL;
    char ms[64], is[64];
    cx_shape_format(ms, sizeof ms, mask->ndim, mask->shape);
    cx_shape_format(is, sizeof is, image->ndim, image->shape);
    if (mask->dtype != CX_U8) cx_err(EX_DATAERR, "%s: dtype %s; expected u8", name, cx_dtype_name(mask->dtype));
    else if (!cx_tensor_same_shape(mask, image)) cx_err(EX_DATAERR, "%s: shape %s differs from the image's %s", name, ms, is);
    else return mask;
    *bad = true;
    return NULL;
}

/* The mask under box (overhang 0), nearest-resized to [n, n]. */
static void crop_mask(const cx_tensor *mask, const int box[4], int n, uint8_t *dst) {
    int h = (int)mask->shape[0], w = (int)mask->shape[1], side = box[2] - box[0];
    const uint8_t *m = mask->data;
    uint8_t *sq = cx_calloc((size_t)side * side, 1);
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            int sy = box[1] + y, sx = box[0] + x;
            if (sy >= 0 && sy < h && sx >= 0 && sx < w) sq[(size_t)y * side + x] = m[(size_t)sy * w + sx];
        }
    cx_resize_nearest_u8(sq, side, side, dst, n, n);
    free(sq);
}

int cx_crop_record(const cx_record *in, const cx_crop_options *o, cx_record *out, bool *whole) {
    *whole = false;
    const cx_tensor *image = cx_record_tensor(in, "image");
    if (!image) return cx_err(EX_DATAERR, "image: no such tensor");
    if (image->ndim != 2) {
        char s[64];
        cx_shape_format(s, sizeof s, image->ndim, image->shape);
        return cx_err(EX_DATAERR, "image: shape %s; expected [H, W]", s);
    }
    int h = (int)image->shape[0], w = (int)image->shape[1];
    double clip[2];
    if (cx_image_clip_range(image, o->clip_lo, o->clip_hi, clip)) return cx_errcode();
    if (!(clip[1] > clip[0]))
        return cx_err(EX_DATAERR, "image: no contrast: its %g and %g percentiles are both %g (an all-black or constant image)",
                      o->clip_lo, o->clip_hi, clip[0]);

    bool bad;
    const cx_tensor *mask = find_mask(in, image, o->mask_name, &bad);
    if (bad) return cx_errcode();
    if (!mask && o->keep_mask) return cx_err(EX_DATAERR, "%s: no such tensor", o->mask_name);
    int lung[4] = {0, 0, w, h};
    int found;
    if (o->box == CX_BOX_META) {
        found = meta_box(&in->meta, o->box_field, w, h, lung);
        if (found < 0) return cx_errcode();
        if (!found && !o->whole_if_no_lung) return cx_err(EX_DATAERR, "meta.%s: no lung box", o->box_field);
    } else {
        if (!mask && !o->whole_if_no_lung) return cx_err(EX_DATAERR, "%s: no such tensor", o->mask_name);
        found = mask ? cx_mask_box(mask->data, h, w, o->components, lung) : 0;
        if (mask && !found && !o->whole_if_no_lung) return cx_err(EX_DATAERR, "%s: no lung pixels (an empty mask)", o->mask_name);
    }
    *whole = !found;
    int grown[4], box[4];
    if (found) cx_box_margin(lung, o->margin, w, h, grown);
    else memcpy(grown, lung, sizeof grown);   /* the whole image */
    cx_box_square(grown, w, h, box);

    int side = box[2] - box[0], n = o->size;
    float *gray = cx_malloc((size_t)side * side * sizeof *gray);   /* [side, side] */
    float *small = cx_malloc((size_t)n * n * sizeof *small);       /* [n, n] */
    cx_crop_gray(image, box, clip[0], clip[1], gray);
    cx_resize(gray, side, side, small, n, n);
    free(gray);
    cx_record_free(out);
    cx_record_set_id(out, in->id);
    cx_value_free(&out->meta);
    out->meta = cx_value_copy(&in->meta);
    int64_t shape[3] = {o->channels, n, n};
    cx_tensor *t = cx_record_add_tensor(out, "image", CX_F32, 3, shape);
    int rc = t ? cx_normalize(small, n, o->norm, o->channels, t->data) : cx_errcode();
    free(small);
    if (rc) return rc;
    if (o->keep_mask) {
        cx_tensor *m = cx_record_add_tensor(out, o->mask_name, CX_U8, 2, shape + 1);
        if (!m) return cx_errcode();
        crop_mask(mask, box, n, m->data);
    }
    cx_map_set(&out->meta, "crop_box", box_value(box));
    cx_map_set(&out->meta, "crop_lung_box", found ? box_value(lung) : cx_nil());
    cx_value range = cx_array();
    cx_array_push(&range, cx_float(clip[0]));
    cx_array_push(&range, cx_float(clip[1]));
    cx_map_set(&out->meta, "clip", range);
    cx_map_set(&out->meta, "normalization", cx_str(cx_normalization_name(o->norm)));
    cx_map_set(&out->meta, "crop_size", cx_int(n));
    return 0;
}
