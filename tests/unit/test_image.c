/* lib/image: resizing against PyTorch and PIL, components and hole filling against scipy,
 * percentiles against numpy (tests/data/ref/image.cxs from tests/ref/gen_image.py), and the
 * crop's box geometry, normalisation and record handling against hand-worked cases. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/components.h"
#include "image/crop.h"
#include "image/resize.h"
#include "spatial_ref.h"
#include "test.h"

static const void *tensor_of(const cx_record *rec, const char *name, cx_dtype dt, int64_t n) {
    const cx_tensor *t = cx_record_tensor(rec, name);
    if (t && t->dtype == dt && cx_tensor_numel(t) == n) return t->data;
    printf("  case %s: tensor '%s' missing or not %s with %lld elements\n", rec->id, name, cx_dtype_name(dt),
           (long long)n);
    CHECK(!"reference tensor missing");
    return NULL;
}

/* Every case of one op, in file order. */
typedef void (*case_fn)(const cx_record *rec);
static void each_case(const char *op, case_fn fn) {
    ref_cases rc;
    int seen = 0;
    if (!ref_open(&rc, "image")) return;
    while (ref_next(&rc))
        if (ref_is(&rc.rec, "op", op)) fn(&rc.rec), seen++;
    ref_close(&rc);
    CHECK(seen > 0);
}

/* ---- resize ---- */

static void resize_case(const cx_record *rec) {
    int sh = ref_int(rec, "sh"), sw = ref_int(rec, "sw"), dh = ref_int(rec, "dh"), dw = ref_int(rec, "dw");
    int64_t n = (int64_t)dh * dw;
    const float *x = ref_f32(rec, "x", (int64_t)sh * sw);
    if (!x) return;
    float *y = zeros(n);
    cx_resize_bilinear(x, sh, sw, y, dh, dw);
    CHECK_REF(rec, "bilinear", y, n, 1e-5, 1e-5);
    cx_resize_area(x, sh, sw, y, dh, dw);
    CHECK_REF(rec, "area", y, n, 1e-5, 1e-5);
    if (ref_flag(rec, "whole_ratio")) CHECK_REF(rec, "area_pil", y, n, 1e-5, 1e-5);
    cx_resize(x, sh, sw, y, dh, dw);
    CHECK_REF(rec, "mixed", y, n, 1e-5, 1e-5);
    free(y);
}

TEST(image_resize_matches_torch_bilinear_and_exact_area) { each_case("resize", resize_case); }

static void nearest_case(const cx_record *rec) {
    int sh = ref_int(rec, "sh"), sw = ref_int(rec, "sw"), dh = ref_int(rec, "dh"), dw = ref_int(rec, "dw");
    const uint8_t *m = tensor_of(rec, "m", CX_U8, (int64_t)sh * sw);
    const uint8_t *want = tensor_of(rec, "y", CX_U8, (int64_t)dh * dw);
    if (!m || !want) return;
    uint8_t *y = cx_malloc((size_t)dh * dw);
    cx_resize_nearest_u8(m, sh, sw, y, dh, dw);
    CHECK(!memcmp(y, want, (size_t)dh * dw));
    free(y);
}

TEST(image_resize_nearest_matches_torch) { each_case("nearest", nearest_case); }

/* A constant plane stays constant through every filter, and area keeps the mean on whole ratios. */
TEST(image_resize_keeps_constants_and_means) {
    float src[6 * 9], dst[13 * 4];
    for (int i = 0; i < 54; i++) src[i] = 3.25f;
    cx_resize(src, 6, 9, dst, 13, 4);
    for (int i = 0; i < 52; i++) CHECK_NEAR(dst[i], 3.25, 1e-6, 0);
    for (int i = 0; i < 54; i++) src[i] = (float)(i * i % 17);
    double sum = 0;
    for (int i = 0; i < 54; i++) sum += src[i];
    cx_resize_area(src, 6, 9, dst, 2, 3);
    double out = 0;
    for (int i = 0; i < 6; i++) out += dst[i];
    CHECK_NEAR(out / 6, sum / 54, 1e-6, 0);
}

/* ---- components ---- */

static void components_case(const cx_record *rec) {
    int h = ref_int(rec, "h"), w = ref_int(rec, "w"), nwant = ref_int(rec, "n");
    int64_t npix = (int64_t)h * w;
    const uint8_t *mask = tensor_of(rec, "mask", CX_U8, npix);
    const int32_t *labels_want = tensor_of(rec, "labels", CX_I32, npix);
    const int64_t *comps_want = ref_i64(rec, "comps", (int64_t)nwant * 5);
    const uint8_t *keep2 = tensor_of(rec, "keep2", CX_U8, npix), *filled = tensor_of(rec, "filled", CX_U8, npix);
    const int64_t *box2 = ref_i64(rec, "box2", 4);
    if (!mask || !labels_want || !comps_want || !keep2 || !filled || !box2) return;

    int32_t *labels = cx_malloc((size_t)npix * sizeof *labels);
    cx_component *comps;
    int n;
    CHECK_EQ(cx_components(mask, h, w, labels, &comps, &n), 0);
    if (!CHECK_EQ(n, nwant)) printf("  case %s: %d components, scipy %d\n", rec->id, n, nwant);
    CHECK(!memcmp(labels, labels_want, (size_t)npix * sizeof *labels));
    for (int i = 0; i < n && i < nwant; i++) {
        const int64_t *c = comps_want + 5 * i;
        CHECK(comps[i].area == c[0] && comps[i].x0 == c[1] && comps[i].y0 == c[2] && comps[i].x1 == c[3] &&
              comps[i].y1 == c[4]);
    }
    free(comps);

    uint8_t *m = cx_malloc((size_t)npix);
    memcpy(m, mask, (size_t)npix);
    CHECK_EQ(cx_mask_keep_largest(m, h, w, 2, 1), nwant < 2 ? nwant : 2);
    CHECK(!memcmp(m, keep2, (size_t)npix));
    memcpy(m, mask, (size_t)npix);
    cx_mask_fill_holes(m, h, w);
    CHECK(!memcmp(m, filled, (size_t)npix));
    int box[4] = {-1, -1, -1, -1};
    int used = cx_mask_box(mask, h, w, 2, box);
    CHECK_EQ(used, nwant < 2 ? nwant : 2);
    if (used) CHECK(box[0] == box2[0] && box[1] == box2[1] && box[2] == box2[2] && box[3] == box2[3]);
    else CHECK(box[0] == -1 && box[3] == -1);   /* untouched */
    free(m);
    free(labels);
}

TEST(image_components_match_scipy) { each_case("components", components_case); }

/* min_area drops small components even when fewer than k remain; ties keep the earlier label. */
TEST(image_keep_largest_min_area_and_ties) {
    /* three components: area 4 (label 1), 2 (label 2), 4 (label 3) */
    uint8_t m[4 * 7] = {1, 1, 0, 1, 0, 0, 0,
                        1, 1, 0, 1, 0, 1, 1,
                        0, 0, 0, 0, 0, 1, 1,
                        0, 0, 0, 0, 0, 0, 0};
    uint8_t a[28];
    memcpy(a, m, 28);
    CHECK_EQ(cx_mask_keep_largest(a, 4, 7, 1, 0), 1);
    CHECK(a[0] == 255 && a[3] == 0 && a[12] == 0);   /* the earlier of the two 4s */
    memcpy(a, m, 28);
    CHECK_EQ(cx_mask_keep_largest(a, 4, 7, 5, 3), 2);
    CHECK(a[0] == 255 && a[3] == 0 && a[13] == 255);
}

/* ---- percentiles ---- */

static void percentile_case(const cx_record *rec) {
    const cx_tensor *x = cx_record_tensor(rec, "x");
    const cx_tensor *p = cx_record_tensor(rec, "p"), *q = cx_record_tensor(rec, "q");
    if (!CHECK(x && p && q && p->dtype == CX_F64 && q->dtype == CX_F64)) return;
    int64_t n = cx_tensor_numel(x), k = cx_tensor_numel(p);
    int nbins = x->dtype == CX_U8 ? 256 : 65536;
    int64_t *hist = cx_calloc((size_t)nbins, sizeof *hist);
    for (int64_t i = 0; i < n; i++) hist[(int64_t)cx_tensor_get(x, i)]++;
    for (int64_t j = 0; j < k; j++) {
        double pj = ((const double *)p->data)[j], want = ((const double *)q->data)[j];
        if (!CHECK_NEAR(cx_hist_percentile(hist, nbins, n, pj), want, 1e-12, 1e-12))
            printf("  case %s: percentile %g\n", rec->id, pj);
    }
    /* the same through the image entry point, as a [1, n] image */
    cx_tensor img = *x;
    img.ndim = 2, img.shape[0] = 1, img.shape[1] = n;
    double range[2];
    CHECK_EQ(cx_image_clip_range(&img, 2, 98, range), 0);
    CHECK_NEAR(range[0], cx_hist_percentile(hist, nbins, n, 2), 0, 0);
    CHECK_NEAR(range[1], cx_hist_percentile(hist, nbins, n, 98), 0, 0);
    free(hist);
}

TEST(image_percentile_matches_numpy) { each_case("percentile", percentile_case); }

/* ---- box geometry (worked by hand) ---- */

static bool box_is(const int b[4], int x0, int y0, int x1, int y1) {
    bool ok = b[0] == x0 && b[1] == y0 && b[2] == x1 && b[3] == y1;
    if (!ok) printf("  box [%d, %d, %d, %d], want [%d, %d, %d, %d]\n", b[0], b[1], b[2], b[3], x0, y0, x1, y1);
    return ok;
}

TEST(image_box_margin_and_square) {
    int grown[4], sq[4];
    /* 40 x 20 box, 5 %: 1 px per side each way (0.05 * 40 / 2 = 1, 0.05 * 20 / 2 = 0.5 -> 1) */
    cx_box_margin((int[]){10, 20, 50, 40}, 5, 100, 100, grown);
    CHECK(box_is(grown, 9, 19, 51, 41));
    cx_box_square(grown, 100, 100, sq);
    CHECK(box_is(sq, 9, 9, 51, 51));   /* 42 wide: 22 tall grows by 10 each side */
    /* a 10 % margin clamped at the border */
    cx_box_margin((int[]){0, 5, 60, 95}, 10, 64, 96, grown);
    CHECK(box_is(grown, 0, 0, 63, 96));   /* 3 px and 5 px (4.5 rounds away from 0) */
    /* a square that would leave the image is shifted back inside */
    cx_box_square((int[]){0, 0, 10, 30}, 100, 50, sq);
    CHECK(box_is(sq, 0, 0, 30, 30));
    cx_box_square((int[]){90, 20, 100, 30}, 100, 50, sq);
    CHECK(box_is(sq, 90, 20, 100, 30));
    cx_box_square((int[]){95, 20, 100, 40}, 100, 50, sq);
    CHECK(box_is(sq, 80, 20, 100, 40));
    /* longer than the image's height: overhangs both ends evenly (41 - 20 = 21: 10 above, 11 below) */
    cx_box_square((int[]){0, 0, 41, 20}, 41, 20, sq);
    CHECK(box_is(sq, 0, -10, 41, 31));
}

/* Random boxes: the square has the longer side, contains the box, and stays inside the image
 * whenever it fits. */
TEST(image_box_square_properties) {
    unsigned s = 12345;
    for (int t = 0; t < 2000; t++) {
        s = s * 1103515245u + 12345u;
        int w = 1 + (int)(s >> 8) % 300;
        s = s * 1103515245u + 12345u;
        int h = 1 + (int)(s >> 8) % 300;
        s = s * 1103515245u + 12345u;
        int x0 = (int)(s >> 8) % w, x1 = x0 + 1 + (int)(s >> 20) % (w - x0);
        s = s * 1103515245u + 12345u;
        int y0 = (int)(s >> 8) % h, y1 = y0 + 1 + (int)(s >> 20) % (h - y0);
        int b[4] = {x0, y0, x1, y1}, g[4], q[4];
        cx_box_margin(b, 5, w, h, g);
        if (!CHECK(g[0] <= x0 && g[1] <= y0 && g[2] >= x1 && g[3] >= y1 && g[0] >= 0 && g[2] <= w && g[3] <= h)) break;
        cx_box_square(g, w, h, q);
        int side = q[2] - q[0], want = (g[2] - g[0]) > (g[3] - g[1]) ? g[2] - g[0] : g[3] - g[1];
        bool ok = side == want && q[3] - q[1] == side && q[0] <= g[0] && q[1] <= g[1] && q[2] >= g[2] && q[3] >= g[3];
        ok = ok && (side > w || (q[0] >= 0 && q[2] <= w)) && (side > h || (q[1] >= 0 && q[3] <= h));
        ok = ok && (side <= w || q[0] == -((side - w) / 2)) && (side <= h || q[1] == -((side - h) / 2));
        if (!CHECK(ok)) {
            printf("  image %dx%d box [%d %d %d %d] -> [%d %d %d %d]\n", w, h, g[0], g[1], g[2], g[3], q[0], q[1], q[2], q[3]);
            break;
        }
    }
}

/* ---- normalisation ---- */

TEST(image_normalize_each_scheme) {
    float gray[4] = {0, 0.25f, 0.5f, 1}, out[12];
    CHECK_EQ(cx_normalize(gray, 2, CX_NORM_IMAGENET, 3, out), 0);
    CHECK_NEAR(out[0], -0.485 / 0.229, 1e-6, 1e-6);
    CHECK_NEAR(out[4 + 2], (0.5 - 0.456) / 0.224, 1e-6, 1e-6);
    CHECK_NEAR(out[8 + 3], (1 - 0.406) / 0.225, 1e-6, 1e-6);
    CHECK_EQ(cx_normalize(gray, 2, CX_NORM_IMAGENET, 1, out), 0);
    CHECK_NEAR(out[1], (0.25 - 0.449) / 0.226, 1e-6, 1e-6);
    CHECK_EQ(cx_normalize(gray, 2, CX_NORM_MINMAX, 3, out), 0);
    CHECK(out[0] == 0 && out[4 + 1] == 0.25f && out[8 + 3] == 1);
    CHECK_EQ(cx_normalize(gray, 2, CX_NORM_XRV, 1, out), 0);
    CHECK(out[0] == -1024 && out[2] == 0 && out[3] == 1024);
    CHECK_EQ(cx_normalize(gray, 2, CX_NORM_ZSCORE, 1, out), 0);
    double mean = 0.4375, sd = sqrt(((0 - mean) * (0 - mean) + (0.25 - mean) * (0.25 - mean) + (0.5 - mean) * (0.5 - mean) +
                                     (1 - mean) * (1 - mean)) / 4);
    for (int i = 0; i < 4; i++) CHECK_NEAR(out[i], (gray[i] - mean) / sd, 1e-6, 1e-6);
    float flat[4] = {0.3f, 0.3f, 0.3f, 0.3f};
    CHECK_EQ(cx_normalize(flat, 2, CX_NORM_ZSCORE, 1, out), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "constant") != NULL);
    cx_normalization nm;
    CHECK(cx_normalization_parse("xrv", &nm) == 0 && nm == CX_NORM_XRV);
    CHECK(cx_normalization_parse("XRV", &nm) == -1);
}

/* ---- whole records ---- */

/* An image [h, w] u8 with value (3 y + 5 x) % 251 + 1 and a mask of two rectangles. */
static void make_record(cx_record *r, int h, int w, bool with_mask) {
    cx_record_init(r);
    cx_record_set_id(r, "case");
    cx_map_set(&r->meta, "patient", cx_str("p1"));
    cx_tensor *img = cx_record_add_tensor(r, "image", CX_U8, 2, (int64_t[]){h, w});
    for (int i = 0; i < h * w; i++) ((uint8_t *)img->data)[i] = (uint8_t)((3 * (i / w) + 5 * (i % w)) % 251 + 1);
    if (!with_mask) return;
    uint8_t *m = cx_record_add_tensor(r, "mask", CX_U8, 2, (int64_t[]){h, w})->data;
    for (int y = 10; y < 30; y++)
        for (int x = 0; x < w; x++) m[y * w + x] = (x >= 5 && x < 15) || (x >= 20 && x < 30) ? 1 : 0;
    m[2 * w + 2] = 1;   /* a speck: a third, smaller component outside the box */
}

static const int *meta_box_of(const cx_record *r, const char *key, int box[4]) {
    const cx_value *v = cx_map_get(&r->meta, key);
    if (!v || v->kind != CX_ARRAY || v->u.arr.n != 4) return NULL;
    for (int k = 0; k < 4; k++) box[k] = (int)v->u.arr.items[k].u.i;
    return box;
}

TEST(image_crop_record_geometry_and_values) {
    cx_record in, out;
    make_record(&in, 40, 60, true);
    cx_record_init(&out);
    cx_crop_options o;
    cx_crop_options_default(&o);
    o.norm = CX_NORM_MINMAX, o.channels = 1, o.margin = 10, o.keep_mask = true;
    /* lung box [5, 10, 30, 30]: 25 x 20; 10 % -> 1 px (1.25) and 1 px; [4, 9, 31, 31] 27 x 22; square 27 */
    o.size = 27;   /* no resampling: the crop is the image itself */
    bool whole;
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), 0);
    CHECK(!whole);
    int box[4];
    CHECK(meta_box_of(&out, "crop_lung_box", box) && box_is(box, 5, 10, 30, 30));
    CHECK(meta_box_of(&out, "crop_box", box) && box_is(box, 4, 7, 31, 34));
    CHECK(!strcmp(cx_map_str(&out.meta, "normalization", ""), "minmax"));
    CHECK(!strcmp(cx_map_str(&out.meta, "patient", ""), "p1"));
    const cx_value *clip = cx_map_get(&out.meta, "clip");
    double lo = 0, hi = 0;
    CHECK(clip && clip->kind == CX_ARRAY && cx_value_number(&clip->u.arr.items[0], &lo) &&
          cx_value_number(&clip->u.arr.items[1], &hi) && hi > lo);
    const cx_tensor *t = cx_record_tensor(&out, "image");
    const cx_tensor *m = cx_record_tensor(&out, "mask");
    CHECK(t && t->dtype == CX_F32 && t->ndim == 3 && t->shape[0] == 1 && t->shape[1] == 27 && t->shape[2] == 27);
    CHECK(m && m->dtype == CX_U8 && m->shape[0] == 27);
    if (t && m) {
        const uint8_t *src = cx_record_tensor(&in, "image")->data, *msrc = cx_record_tensor(&in, "mask")->data;
        int bad = 0;
        for (int y = 0; y < 27; y++)
            for (int x = 0; x < 27; x++) {
                double v = src[(y + 7) * 60 + x + 4];
                double want = (fmin(fmax(v, lo), hi) - lo) / (hi - lo);
                bad += fabs(((float *)t->data)[y * 27 + x] - want) > 1e-6;
                bad += ((uint8_t *)m->data)[y * 27 + x] != msrc[(y + 7) * 60 + x + 4];
            }
        CHECK_EQ(bad, 0);
    }
    /* three channels of imagenet at 224: the channels are one gray plane in three affine maps */
    o.size = 224, o.channels = 3, o.norm = CX_NORM_IMAGENET, o.keep_mask = false;
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), 0);
    t = cx_record_tensor(&out, "image");
    CHECK(t && t->shape[0] == 3 && t->shape[2] == 224 && !cx_record_tensor(&out, "mask"));
    if (t) {
        const float *p = t->data;
        size_t plane = 224 * 224;
        CHECK_NEAR(p[1000] * 0.229f + 0.485f, p[plane + 1000] * 0.224f + 0.456f, 1e-5, 1e-5);
        CHECK_NEAR(p[1000] * 0.229f + 0.485f, p[2 * plane + 1000] * 0.225f + 0.406f, 1e-5, 1e-5);
    }
    cx_record_free(&in);
    cx_record_free(&out);
}

/* The bad cases: each fails with EX_DATAERR and names its field, or (whole_if_no_lung) crops
 * the whole image and says so. */
TEST(image_crop_record_bad_cases) {
    cx_record in, out;
    cx_record_init(&out);
    cx_crop_options o;
    cx_crop_options_default(&o);
    bool whole;

    make_record(&in, 40, 60, true);
    memset(cx_record_tensor(&in, "image")->data, 0, 40 * 60);
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "image: no contrast") != NULL);
    cx_record_free(&in);

    make_record(&in, 40, 60, true);
    memset(cx_record_tensor(&in, "mask")->data, 0, 40 * 60);
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "mask: no lung pixels") != NULL);
    o.whole_if_no_lung = true;
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), 0);
    int box[4];
    CHECK(whole && meta_box_of(&out, "crop_box", box) && box_is(box, 0, -10, 60, 50));
    CHECK(cx_map_get(&out.meta, "crop_lung_box")->kind == CX_NIL);
    o.whole_if_no_lung = false;
    cx_record_free(&in);

    make_record(&in, 40, 60, false);
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "mask: no such tensor") != NULL);
    cx_record_free(&in);

    make_record(&in, 40, 60, false);
    cx_record_add_tensor(&in, "mask", CX_U8, 2, (int64_t[]){60, 40});
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "mask: shape [60, 40] differs from the image's [40, 60]") != NULL);
    cx_record_free(&in);

    /* metadata boxes: an array, a CSV string, outside the image, not a box */
    make_record(&in, 40, 60, false);
    o.box = CX_BOX_META;
    cx_value arr = cx_array();
    int vals[4] = {10, 5, 50, 35};
    for (int k = 0; k < 4; k++) cx_array_push(&arr, cx_int(vals[k]));
    cx_map_set(&in.meta, "lung_bbox", arr);
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), 0);
    CHECK(meta_box_of(&out, "crop_lung_box", box) && box_is(box, 10, 5, 50, 35));
    CHECK(meta_box_of(&out, "crop_box", box) && box_is(box, 9, -1, 51, 41));   /* 42 x 32 -> 42 > 40 */
    cx_map_set(&in.meta, "lung_bbox", cx_str("10 5 50 35"));
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), 0);
    CHECK(meta_box_of(&out, "crop_lung_box", box) && box_is(box, 10, 5, 50, 35));
    cx_map_set(&in.meta, "lung_bbox", cx_str("10 5 61 35"));
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "meta.lung_bbox: [10, 5, 61, 35] is outside the 60x40 image") != NULL);
    cx_map_set(&in.meta, "lung_bbox", cx_str("10 5 5 35"));
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "is not a box") != NULL);
    cx_map_set(&in.meta, "lung_bbox", cx_str("10 5 50"));
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "expected 4 numbers") != NULL);
    cx_map_del(&in.meta, "lung_bbox");
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "meta.lung_bbox: no lung box") != NULL);
    cx_record_free(&in);
    cx_record_free(&out);
}

/* Tiny and thin images work: a 1 x 2 image with a one-pixel lung grows to 8 x 8. */
TEST(image_crop_record_tiny) {
    cx_record in, out;
    cx_record_init(&in);
    cx_record_init(&out);
    cx_record_set_id(&in, "tiny");
    uint8_t *px = cx_record_add_tensor(&in, "image", CX_U8, 2, (int64_t[]){1, 2})->data;
    px[0] = 10, px[1] = 200;
    ((uint8_t *)cx_record_add_tensor(&in, "mask", CX_U8, 2, (int64_t[]){1, 2})->data)[1] = 255;
    cx_crop_options o;
    cx_crop_options_default(&o);
    o.size = 8, o.norm = CX_NORM_MINMAX, o.channels = 1;
    bool whole;
    CHECK_EQ(cx_crop_record(&in, &o, &out, &whole), 0);
    int box[4];
    CHECK(meta_box_of(&out, "crop_box", box) && box_is(box, 1, 0, 2, 1));
    const cx_tensor *t = cx_record_tensor(&out, "image");
    CHECK(t && t->shape[1] == 8 && t->shape[2] == 8);
    if (t) CHECK(((float *)t->data)[0] == 1 && ((float *)t->data)[63] == 1);   /* the one pixel, at the clip's top */
    cx_record_free(&in);
    cx_record_free(&out);
}
