#include "image/augment.h"

#include <math.h>

void cx_augment_defaults(cx_augment_config *c) {
    c->rotate_deg = 10;
    c->shift = 0.06;
    c->scale = 0.1;
    c->gamma = 0.25;
    c->contrast = 0.2;
    c->brightness = 0.1;
    c->noise = 0.03;
    c->flip = false;
}

void cx_augment_identity(cx_augmentation *a) {
    const double identity[6] = {1, 0, 0, 0, 1, 0};
    for (int i = 0; i < 6; i++) a->src_of[i] = identity[i];
    a->gamma = 1;
    a->contrast = 1;
    a->brightness = 0;
    a->noise_std = 0;
    a->noise_seed = 0;
}

void cx_augment_draw(const cx_augment_config *c, int h, int w, cx_rng *rng, cx_augmentation *a) {
    double theta = cx_rng_range(rng, -c->rotate_deg, c->rotate_deg) * M_PI / 180;
    double s = cx_rng_range(rng, 1 - c->scale, 1 + c->scale);
    double tx = cx_rng_range(rng, -c->shift, c->shift) * w, ty = cx_rng_range(rng, -c->shift, c->shift) * h;
    double f = c->flip && cx_rng_uniform(rng) < 0.5 ? -1 : 1;
    /* Forward: flip about the centre, rotate by theta, scale by s, shift by t. The inverse, from an
     * output pixel p: q = (p - centre - t) / s rotated by -theta, x negated when flipped. */
    double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0, ct = cos(theta) / s, st = sin(theta) / s;
    double ox = cx + tx, oy = cy + ty;
    a->src_of[0] = f * ct;
    a->src_of[1] = f * st;
    a->src_of[2] = cx - f * (ct * ox + st * oy);
    a->src_of[3] = -st;
    a->src_of[4] = ct;
    a->src_of[5] = cy - (-st * ox + ct * oy);
    a->gamma = exp(cx_rng_range(rng, -c->gamma, c->gamma));
    a->contrast = cx_rng_range(rng, 1 - c->contrast, 1 + c->contrast);
    a->brightness = cx_rng_range(rng, -c->brightness, c->brightness);
    a->noise_std = cx_rng_range(rng, 0, c->noise);
    a->noise_seed = cx_rng_u64(rng);
}

/* src[y, x], or fill outside the plane. */
static inline float pixel(const float *src, int h, int w, int x, int y, float fill) {
    return x < 0 || y < 0 || x >= w || y >= h ? fill : src[(int64_t)y * w + x];
}

void cx_warp_affine(const float *src, int h, int w, float *dst, const double src_of[6], float fill) {
    /* src, dst: [h, w] */
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double xs = src_of[0] * x + src_of[1] * y + src_of[2];
            double ys = src_of[3] * x + src_of[4] * y + src_of[5];
            double fx0 = floor(xs), fy0 = floor(ys);
            float out = fill;
            /* beyond one pixel outside, all four neighbours are fill (also keeps the ints in range) */
            if (fx0 >= -1 && fy0 >= -1 && fx0 < w && fy0 < h) {
                int x0 = (int)fx0, y0 = (int)fy0;
                float ax = (float)(xs - fx0), ay = (float)(ys - fy0);
                float top = (1 - ax) * pixel(src, h, w, x0, y0, fill) + ax * pixel(src, h, w, x0 + 1, y0, fill);
                float bottom = (1 - ax) * pixel(src, h, w, x0, y0 + 1, fill) + ax * pixel(src, h, w, x0 + 1, y0 + 1, fill);
                out = (1 - ay) * top + ay * bottom;
            }
            dst[(int64_t)y * w + x] = out;
        }
    }
}

void cx_augment_intensity(float *img, int64_t n, const cx_augmentation *a) {
    if (n <= 0) return;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        if (a->gamma != 1) {
            float v = img[i] < 0 ? 0 : img[i] > 1 ? 1 : img[i];
            img[i] = (float)pow(v, a->gamma);
        }
        sum += img[i];
    }
    float mean = (float)(sum / (double)n), c = (float)a->contrast, b = (float)a->brightness;
    cx_rng noise = cx_rng_split(a->noise_seed, 0);
    for (int64_t i = 0; i < n; i++) {
        img[i] = mean + c * (img[i] - mean) + b;
        if (a->noise_std > 0) img[i] += (float)(a->noise_std * cx_rng_normal(&noise));
    }
}

void cx_augment_pair(const cx_augmentation *a, const float *img, const float *mask, int h, int w, float *img_out,
                     float *mask_out) {
    cx_warp_affine(img, h, w, img_out, a->src_of, 0);
    if (mask && mask_out) cx_warp_affine(mask, h, w, mask_out, a->src_of, 0);
    cx_augment_intensity(img_out, (int64_t)h * w, a);
}
