/* Lung segmentation: the augmentation's warp against scipy (tests/ref/gen_seg.py), image and
 * mask staying aligned, the drawn transforms' ranges, Dice / IoU / box IoU against direct counts,
 * post-processing on hand-made masks, the score summary against numpy, and a tiny fit whose
 * resumed run matches the uninterrupted one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/augment.h"
#include "io/stream.h"
#include "seg/seg.h"
#include "test.h"

static bool load_ref(const char *id, cx_record *rec) {
    cx_reader *rd = cx_reader_open("tests/data/ref/seg.cxs");
    CHECK(rd != NULL);
    if (!rd) return false;
    cx_record_init(rec);
    bool found = false;
    while (!found && cx_reader_next(rd, rec) == 1) found = !strcmp(rec->id, id);
    cx_reader_close(rd);
    CHECK(found);
    return found;
}

static double meta_number(const cx_record *r, const char *key) {
    double v = NAN;
    const cx_value *x = cx_map_get(&r->meta, key);
    if (x) cx_value_number(x, &v);
    return v;
}

TEST(seg_warp_matches_scipy_affine_transform) {
    cx_record r;
    if (!load_ref("warp", &r)) return;
    const cx_tensor *img = cx_record_tensor(&r, "image"), *mats = cx_record_tensor(&r, "src_of"),
                    *out = cx_record_tensor(&r, "out");
    int h = (int)img->shape[0], w = (int)img->shape[1], k = (int)mats->shape[0];
    float *got = malloc((size_t)h * w * sizeof *got);
    for (int i = 0; i < k; i++) {
        const double *m = (const double *)mats->data + 6 * i;
        cx_warp_affine(img->data, h, w, got, m, (float)meta_number(&r, "fill"));
        CHECK_CLOSE_F32(got, (const float *)out->data + (int64_t)i * h * w, (int64_t)h * w, 1e-5, 1e-5);
    }
    /* the integer shift is also a plain copy: out(x, y) = in(x + 3, y - 2) */
    const double shift[6] = {1, 0, 3, 0, 1, -2};
    cx_warp_affine(img->data, h, w, got, shift, -1);
    const float *in = img->data;
    CHECK(got[5 * w + 4] == in[3 * w + 7]);
    CHECK(got[1 * w + 4] == -1);   /* y - 2 < 0 reads the fill */
    free(got);
    cx_record_free(&r);
}

/* A blob mask [h, w]: an ellipse (the "lung") of 1s. */
static void ellipse(float *m, int h, int w, double cx, double cy, double rx, double ry) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double dx = (x - cx) / rx, dy = (y - cy) / ry;
            m[y * w + x] = dx * dx + dy * dy <= 1 ? 1.0f : 0.0f;
        }
}

TEST(seg_augment_keeps_image_and_mask_aligned) {
    enum { H = 48, W = 64 };
    float mask[H * W], image[H * W], img_out[H * W], mask_out[H * W], again[H * W];
    ellipse(mask, H, W, 20, 22, 12, 16);
    /* the image is the mask drawn as an image: 0.2 background, 0.8 lung */
    for (int i = 0; i < H * W; i++) image[i] = 0.2f + 0.6f * mask[i];
    cx_augment_config c;
    cx_augment_defaults(&c);
    c.noise = 0;   /* noise would blur the comparison below; the rest is monotone in the pixel value */
    cx_rng rng;
    cx_rng_seed(&rng, 42);
    for (int trial = 0; trial < 20; trial++) {
        cx_augmentation a;
        cx_augment_draw(&c, H, W, &rng, &a);
        cx_augment_pair(&a, image, mask, H, W, img_out, mask_out);
        /* geometric part alone: warping the image-of-the-mask equals the image built from the warped mask */
        cx_augmentation geometry = a;
        geometry.gamma = 1, geometry.contrast = 1, geometry.brightness = 0, geometry.noise_std = 0;
        cx_augment_pair(&geometry, mask, NULL, H, W, again, NULL);
        CHECK_CLOSE_F32(again, mask_out, H * W, 0, 1e-6);
        /* with intensity (monotone without noise): every lung pixel of the warped mask is brighter
         * in the augmented image than every background pixel */
        float lung_min = INFINITY, background_max = -INFINITY;
        int lung = 0;
        for (int i = 0; i < H * W; i++) {
            if (mask_out[i] >= 0.99f) lung_min = fminf(lung_min, img_out[i]), lung++;
            else if (mask_out[i] <= 0.01f) background_max = fmaxf(background_max, img_out[i]);
        }
        CHECK(lung > 100);
        CHECK(lung_min > background_max);
    }
}

TEST(seg_augment_draws_stay_in_their_ranges) {
    cx_augment_config c;
    cx_augment_defaults(&c);
    cx_rng rng;
    cx_rng_seed(&rng, 7);
    int flips = 0;
    for (int trial = 0; trial < 200; trial++) {
        cx_augmentation a;
        if (trial == 100) c.flip = true;
        cx_augment_draw(&c, 100, 80, &rng, &a);
        /* src_of's linear part is (1/s) R(-theta), x negated when flipped */
        double det = a.src_of[0] * a.src_of[4] - a.src_of[1] * a.src_of[3];
        double s = 1 / sqrt(fabs(det)), theta = atan2(-a.src_of[3], a.src_of[4]) * 180 / M_PI;
        CHECK(s >= 0.9 - 1e-9 && s <= 1.1 + 1e-9);
        CHECK(fabs(theta) <= 10 + 1e-9);
        if (trial < 100) CHECK(det > 0);
        flips += det < 0;
        CHECK(a.gamma >= exp(-0.25) - 1e-12 && a.gamma <= exp(0.25) + 1e-12);
        CHECK(a.noise_std >= 0 && a.noise_std <= 0.03);
    }
    CHECK(flips > 30 && flips < 70);   /* about half of the 100 draws with --flip */
    /* the same seed draws the same transform */
    cx_augmentation a, b;
    cx_rng r1, r2;
    cx_rng_seed(&r1, 3);
    cx_rng_seed(&r2, 3);
    cx_augment_draw(&c, 64, 64, &r1, &a);
    cx_augment_draw(&c, 64, 64, &r2, &b);
    CHECK(!memcmp(&a, &b, sizeof a));
}

TEST(seg_overlap_matches_direct_counts) {
    uint8_t a[12] = {1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}, b[12] = {0, 255, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
    double dice, iou;
    cx_mask_overlap(a, b, 12, &dice, &iou);   /* |A| 4, |B| 6, |A∩B| 3 */
    CHECK_NEAR(dice, 6.0 / 10, 0, 1e-12);
    CHECK_NEAR(iou, 3.0 / 7, 0, 1e-12);
    uint8_t z[12] = {0};
    cx_mask_overlap(z, z, 12, &dice, &iou);
    CHECK(dice == 1 && iou == 1);
    cx_mask_overlap(a, z, 12, &dice, &iou);
    CHECK(dice == 0 && iou == 0);
    /* random masks against a count by sets of indices */
    cx_rng rng;
    cx_rng_seed(&rng, 1);
    enum { N = 4096 };
    static uint8_t x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = cx_rng_uniform(&rng) < 0.3, y[i] = cx_rng_uniform(&rng) < 0.5 ? 255 : 0;
    int64_t inter = 0, uni = 0, nx = 0, ny = 0;
    for (int i = 0; i < N; i++) {
        nx += x[i] > 0, ny += y[i] > 0;
        inter += x[i] && y[i];
        uni += x[i] || y[i];
    }
    cx_mask_overlap(x, y, N, &dice, &iou);
    CHECK_NEAR(dice, 2.0 * (double)inter / (double)(nx + ny), 0, 1e-12);
    CHECK_NEAR(iou, (double)inter / (double)uni, 0, 1e-12);
    /* the identity Dice = 2 IoU / (1 + IoU) */
    CHECK_NEAR(dice, 2 * iou / (1 + iou), 0, 1e-12);
}

TEST(seg_box_iou_and_box_fields) {
    int a[4] = {0, 0, 10, 10}, b[4] = {5, 5, 15, 15}, c[4] = {20, 20, 30, 30};
    CHECK_NEAR(cx_box_iou(a, b), 25.0 / 175, 0, 1e-12);
    CHECK(cx_box_iou(a, c) == 0);
    CHECK(cx_box_iou(a, a) == 1);
    int box[4];
    cx_value s = cx_str("12 34 56 78");
    CHECK(cx_seg_box_from_value(&s, box) && box[0] == 12 && box[1] == 34 && box[2] == 56 && box[3] == 78);
    cx_value_free(&s);
    cx_value arr = cx_array();
    for (int i = 0; i < 4; i++) cx_array_push(&arr, cx_int(i * 10));
    CHECK(cx_seg_box_from_value(&arr, box) && box[2] == 20 && box[3] == 30);
    cx_array_push(&arr, cx_int(5));
    CHECK(!cx_seg_box_from_value(&arr, box));
    cx_value_free(&arr);
    cx_value bad = cx_str("1 2 3"), nil = cx_nil();
    CHECK(!cx_seg_box_from_value(&bad, box));
    CHECK(!cx_seg_box_from_value(&nil, box));
    CHECK(!cx_seg_box_from_value(NULL, box));
    cx_value_free(&bad);
}

/* Fill prob [h, w] on the rectangle [x0, x1) x [y0, y1] with v. */
static void rect(float *p, int w, int x0, int y0, int x1, int y1, float v) {
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) p[y * w + x] = v;
}

TEST(seg_postprocess_keeps_two_lungs_fills_holes_drops_specks) {
    enum { H = 50, W = 60 };
    static float prob[H * W];
    static uint8_t mask[H * W];
    memset(prob, 0, sizeof prob);
    rect(prob, W, 5, 5, 25, 45, 0.9f);     /* right lung 20 x 40 = 800 */
    rect(prob, W, 10, 15, 14, 19, 0.2f);   /* a 4 x 4 hole in it */
    rect(prob, W, 35, 8, 52, 44, 0.7f);    /* left lung 17 x 36 = 612 */
    rect(prob, W, 28, 46, 40, 50, 0.6f);   /* a third region 12 x 4 = 48 (above 2% = 60? no: 48 < 60) */
    rect(prob, W, 27, 2, 32, 7, 0.8f);     /* 5 x 5 = 25: a speck */
    prob[0] = 0.5f;                        /* exactly at the threshold: lung, another speck */
    cx_seg_post p;
    cx_seg_post_defaults(&p);
    cx_seg_quality q;
    CHECK_EQ(cx_seg_postprocess(prob, H, W, &p, mask, &q), 0);
    CHECK_EQ(q.components, 5);
    CHECK_EQ(q.kept, 2);
    int64_t area = 0, bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            bool want = (x >= 5 && x < 25 && y >= 5 && y < 45) || (x >= 35 && x < 52 && y >= 8 && y < 44);
            area += mask[y * W + x] == 255;
            bad += (mask[y * W + x] == 255) != want || (mask[y * W + x] != 0 && mask[y * W + x] != 255);
        }
    CHECK_EQ(bad, 0);
    CHECK_EQ(area, 800 + 612);
    CHECK_NEAR(q.fraction, (800.0 + 612) / (H * W), 0, 1e-12);
    char why[96];
    CHECK(cx_seg_suspicious(&q, 2, why, sizeof why) == NULL);   /* 0.47 of the image, two lungs */
    CHECK(!strcmp(cx_seg_qc(&q, 2), "ok"));

    /* nothing above the threshold: no lung */
    memset(prob, 0, sizeof prob);
    CHECK_EQ(cx_seg_postprocess(prob, H, W, &p, mask, &q), 0);
    CHECK(q.components == 0 && q.kept == 0 && q.fraction == 0);
    CHECK(cx_seg_suspicious(&q, 2, why, sizeof why) && !strcmp(why, "no lung found"));
    CHECK(!strcmp(cx_seg_qc(&q, 2), "no_lung"));
    /* one region only, large enough */
    rect(prob, W, 5, 5, 45, 45, 0.9f);
    CHECK_EQ(cx_seg_postprocess(prob, H, W, &p, mask, &q), 0);
    CHECK(q.kept == 1 && cx_seg_suspicious(&q, 2, why, sizeof why) && strstr(why, "1 lung component, not 2"));
    CHECK(!strcmp(cx_seg_qc(&q, 2), "components"));
    /* two tiny lungs: too small a fraction */
    memset(prob, 0, sizeof prob);
    rect(prob, W, 5, 5, 15, 15, 0.9f);
    rect(prob, W, 30, 5, 40, 15, 0.9f);
    CHECK_EQ(cx_seg_postprocess(prob, H, W, &p, mask, &q), 0);
    CHECK(q.kept == 2 && cx_seg_suspicious(&q, 2, why, sizeof why) && strstr(why, "lung fraction 0.067 outside"));
    CHECK(!strcmp(cx_seg_qc(&q, 2), "fraction"));
}

TEST(seg_summary_matches_numpy) {
    cx_record r;
    if (!load_ref("summary", &r)) return;
    const cx_tensor *t = cx_record_tensor(&r, "scores");
    int64_t n = t->shape[0];
    double *x = malloc((size_t)n * sizeof *x);
    memcpy(x, t->data, (size_t)n * sizeof *x);
    cx_score_summary s;
    cx_score_summarize(x, n, &s);
    CHECK_EQ(s.n, n);
    CHECK_NEAR(s.mean, meta_number(&r, "mean"), 1e-12, 0);
    CHECK_NEAR(s.median, meta_number(&r, "median"), 1e-12, 0);
    CHECK_NEAR(s.p5, meta_number(&r, "p5"), 1e-12, 0);
    CHECK_NEAR(s.worst5_mean, meta_number(&r, "worst5_mean"), 1e-12, 0);
    CHECK(s.min == 0.42);
    free(x);
    cx_record_free(&r);
}

TEST(seg_prepare_image_uses_the_1st_and_99th_percentiles) {
    cx_record r;
    if (!load_ref("percentile", &r)) return;
    const cx_tensor *t = cx_record_tensor(&r, "ramp");
    float out[16 * 16], want[16 * 16];
    double p1 = meta_number(&r, "p1"), p99 = meta_number(&r, "p99");
    const float *in = t->data;
    for (int i = 0; i < 256; i++) want[i] = (float)((in[i] - p1) / (p99 - p1));
    cx_seg_prepare_image(in, 16, 16, 16, out);   /* same size: no resampling */
    CHECK_CLOSE_F32(out, want, 256, 1e-5, 1e-6);
    /* a flat (all-black) image stays at 0 */
    float black[8 * 8] = {0}, small[16 * 16];
    cx_seg_prepare_image(black, 8, 8, 16, small);
    bool zero = true;
    for (int i = 0; i < 256; i++) zero &= small[i] == 0;
    CHECK(zero);
    cx_record_free(&r);
}

/* A tiny data set: S x S ellipses of random placement, image = noisy mask. */
static void tiny_dataset(cx_seg_dataset *d, int S, int n) {
    cx_seg_dataset_init(d, S);
    d->n = d->cap = n;
    d->images = malloc((size_t)n * S * S * sizeof(float));
    d->masks = malloc((size_t)n * S * S * sizeof(float));
    d->ids = malloc((size_t)n * sizeof(char *));
    cx_rng rng;
    cx_rng_seed(&rng, 11);
    for (int i = 0; i < n; i++) {
        float *m = d->masks + (int64_t)i * S * S, *im = d->images + (int64_t)i * S * S;
        ellipse(m, S, S, cx_rng_range(&rng, 5, 11), cx_rng_range(&rng, 5, 11), 4, 5);
        for (int k = 0; k < S * S; k++) im[k] = m[k] + 0.1f * (float)cx_rng_normal(&rng);
        d->ids[i] = malloc(8);
        snprintf(d->ids[i], 8, "t%d", i);
    }
}

/* Counts epochs; ctx[1] > 0 interrupts the run (as a kill would) after that many. */
static int count_epochs(void *ctx, const cx_seg_epoch *e) {
    int *c = ctx;
    c[0]++;
    return c[1] > 0 && e->epoch >= c[1] ? EX_SOFTWARE : 0;
}

TEST(seg_fit_resumed_equals_uninterrupted) {
    cx_seg_dataset train;
    tiny_dataset(&train, 16, 6);
    cx_seg_train_options o = {.epochs = 2, .batch = 4, .lr = 1e-2, .dice_weight = 1, .seed = 5};
    strcpy(o.model.preset, "lung-unet-small");
    o.model.base = 2;
    o.model.size = 16;
    cx_augment_defaults(&o.augment);
    int epochs[2] = {0, 0};
    cx_seg_callbacks cb = {NULL, count_epochs, epochs};
    o.out_path = cx_test_tmp("whole.cxs");
    CHECK_EQ(cx_seg_train(&o, &train, NULL, &cb), 0);
    CHECK_EQ(epochs[0], 2);
    /* interrupted after one epoch, then resumed */
    epochs[1] = 1;
    o.out_path = cx_test_tmp("resumed.cxs");
    o.state_path = cx_test_tmp("state.cxs");
    CHECK_EQ(cx_seg_train(&o, &train, NULL, &cb), EX_SOFTWARE);
    epochs[1] = 0;
    o.resume = true;
    CHECK_EQ(cx_seg_train(&o, &train, NULL, &cb), 0);
    CHECK_EQ(epochs[0], 4);
    /* without validation each epoch's model is written: both files hold epoch 2's weights */
    cx_seg_net a, b;
    CHECK_EQ(cx_seg_net_load(&a, cx_test_tmp("whole.cxs"), 1), 0);
    CHECK_EQ(cx_seg_net_load(&b, cx_test_tmp("resumed.cxs"), 1), 0);
    int64_t na, nb;
    const float *pa = cx_graph_params(a.g, &na), *pb = cx_graph_params(b.g, &nb);
    CHECK(na == nb && !memcmp(pa, pb, (size_t)na * sizeof *pa));
    const float *ba = cx_graph_buffers(a.g, &na), *bb = cx_graph_buffers(b.g, &nb);
    CHECK(na == nb && !memcmp(ba, bb, (size_t)na * sizeof *ba));
    /* and a third run with another seed differs */
    o.resume = false;
    o.state_path = NULL;
    o.seed = 6;
    o.out_path = cx_test_tmp("other.cxs");
    CHECK_EQ(cx_seg_train(&o, &train, NULL, &cb), 0);
    cx_seg_net c;
    CHECK_EQ(cx_seg_net_load(&c, o.out_path, 1), 0);
    CHECK(memcmp(cx_graph_params(c.g, &na), pa, (size_t)nb * sizeof *pa) != 0);
    cx_seg_net_free(&a);
    cx_seg_net_free(&b);
    cx_seg_net_free(&c);
    cx_seg_dataset_free(&train);
}
