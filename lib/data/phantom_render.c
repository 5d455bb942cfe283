/* Phantom image formation: the projected anatomy (phantom_anatomy.c) at the output size, the
 * lungs with their vessels and opacities, and a center's acquisition.
 *
 * The picture is an attenuation map A (soft-tissue equivalent path length: 0 is air, about
 * 1 the mid-chest): the tissue from phantom_anatomy.c less the lungs' air, which is thinner
 * near the lung borders, displaced by opacity, and crossed by vessels. A film-like tone
 * curve turns A into brightness, then the center's gamma, contrast, edge enhancement, blur
 * and noise are applied and the result is quantised. The lungs are filled polygons with 4x
 * vertical supersampling (exact coverage along x); the mask is the same outlines sampled at
 * pixel centres, so it is exact.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "data/phantom_internal.h"

#define LATTICE_MAX 128
#define VESSELS 3000
#define ZONE_BLOBS 6

/* ---- the scene: everything a pixel needs ---- */

typedef struct {
    int n;                      /* cells per side */
    double lo, step;            /* covers [lo, lo + n * step] in both axes */
    float v[(LATTICE_MAX + 1) * (LATTICE_MAX + 1)];
} lattice;

typedef struct { double x0, y0, x1, y1, r0, r1, density; } tube;

typedef struct { double x, y, radius, weight; } blob;

typedef struct {
    double to_anat[6];          /* anatomy (x, y) = (m0 u + m1 v + m2, m3 u + m4 v + m5), pixel coords */
    double to_pix[6];           /* the inverse */
    double px;                  /* pixel size in anatomy units */
    cx_phantom_anatomy a;       /* as projected for this image */
    double stretch;             /* vertical lung stretch from the breath */
    int ap;
    double zone_top[2], zone_bottom[2];
    int brixia[CX_PHANTOM_ZONES];
    blob blobs[CX_PHANTOM_ZONES][ZONE_BLOBS];
    lattice coarse, reticular, texture;
    tube vessels[VESSELS];
    int nvessels;
} scene;

static void apply(const double *m, double u, double v, double *x, double *y) {
    *x = m[0] * u + m[1] * v + m[2];
    *y = m[3] * u + m[4] * v + m[5];
}

static void lattice_fill(lattice *l, cx_rng *r, int n, double lo, double hi) {
    l->n = n;
    l->lo = lo;
    l->step = (hi - lo) / n;
    for (int k = 0; k < (n + 1) * (n + 1); k++) l->v[k] = (float)cx_rng_uniform(r);
}

/* Value noise in [0, 1]: smooth interpolation of random lattice values. */
static double lattice_at(const lattice *l, double x, double y) {
    double fx = ph_clamp((x - l->lo) / l->step, 0, l->n - 1e-9), fy = ph_clamp((y - l->lo) / l->step, 0, l->n - 1e-9);
    int ix = (int)fx, iy = (int)fy, stride = l->n + 1;
    double tx = fx - ix, ty = fy - iy;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    const float *v = l->v + (size_t)iy * stride + ix;
    double top = v[0] + (v[1] - v[0]) * tx, bottom = v[stride] + (v[stride + 1] - v[stride]) * tx;
    return top + (bottom - top) * ty;
}

/* A vessel and its branches, grown in (d, y) from the hilum outward: a gently curving run
 * of three segments, then two daughter vessels. */
static void grow_vessel(scene *sc, cx_rng *r, double d, double y, double angle, double len, double radius,
                        int depth) {
    if (depth == 0) return;
    for (int k = 0; k < 3 && sc->nvessels < VESSELS; k++) {
        angle += ph_gauss(r, 0, 0.12);
        double d1 = d + len / 3 * cos(angle), y1 = y + len / 3 * sin(angle);
        sc->vessels[sc->nvessels++] = (tube){d, y, d1, y1, radius, 0.95 * radius, 6.0 * radius};
        d = d1;
        y = y1;
        radius *= 0.95;
    }
    for (int k = -1; k <= 1; k += 2)
        grow_vessel(sc, r, d, y, angle + k * cx_rng_range(r, 0.2, 0.55), len * cx_rng_range(r, 0.65, 0.85),
                    radius * 0.8, depth - 1);
}

/* Where lung s's vessels enter, in (d, y). */
static void hilum(const cx_phantom_anatomy *a, int s, double *d, double *y) {
    *d = a->border_d[s][3] + 0.035;
    *y = a->apex_y[s] + 0.46 * (a->cp_y[s] - a->apex_y[s]);
}

/* The vascular trees of the patient's anatomy a (as at rest: the breath stretches them later). */
static void grow_vessels(scene *sc, const cx_phantom_anatomy *a) {
    cx_rng r = cx_rng_split(a->vessel_seed, 0);
    /* root directions from the hilum, radians in (d, y): up, up-lateral, lateral, down-lateral, down */
    static const double roots[] = {-1.45, -1.0, -0.55, -0.1, 0.35, 0.8, 1.25};
    for (int s = 0; s < 2; s++) {
        double hd, hy;
        hilum(a, s, &hd, &hy);
        int first = sc->nvessels;
        for (size_t k = 0; k < sizeof roots / sizeof roots[0]; k++) {
            /* the hilum is a column of vessels, not a point */
            double angle = roots[k] + ph_gauss(&r, 0, 0.1);
            double y = hy + 0.09 * sin(angle), d = hd + 0.02 * cos(angle);
            grow_vessel(sc, &r, d, y, angle, cx_rng_range(&r, 0.09, 0.13), 0.016, 6);
        }
        for (int k = first; k < sc->nvessels; k++) {
            tube *t = &sc->vessels[k];
            double sign = s ? 1 : -1;
            t->x0 *= sign;
            t->x1 *= sign;
        }
    }
}

static void build_scene(scene *sc, const cx_phantom_config *cfg, const cx_phantom_center *center,
                        const cx_phantom_case *c) {
    sc->a = c->anatomy;
    sc->ap = c->pose.ap;
    cx_phantom_project(&sc->a, &c->pose, &sc->stretch);
    memcpy(sc->brixia, c->brixia, sizeof sc->brixia);

    /* image units: the shorter side spans [-1, 1]; anatomy is scaled, rotated and shifted */
    double half = 0.5 * (cfg->width < cfg->height ? cfg->width : cfg->height);
    double zoom = center->zoom * sc->a.size * c->pose.zoom;
    double cs = cos(c->pose.angle), sn = sin(c->pose.angle);
    double ox = center->shift_x + c->pose.shift_x, oy = center->shift_y + c->pose.shift_y;
    /* pixel (u, v) = half * (zoom * R (x, y) + o) + (W/2, H/2) */
    double scale = half * zoom;
    sc->to_pix[0] = scale * cs;
    sc->to_pix[1] = -scale * sn;
    sc->to_pix[2] = half * ox + 0.5 * cfg->width;
    sc->to_pix[3] = scale * sn;
    sc->to_pix[4] = scale * cs;
    sc->to_pix[5] = half * oy + 0.5 * cfg->height;
    sc->to_anat[0] = cs / scale;
    sc->to_anat[1] = sn / scale;
    sc->to_anat[3] = -sn / scale;
    sc->to_anat[4] = cs / scale;
    sc->to_anat[2] = -(sc->to_anat[0] * sc->to_pix[2] + sc->to_anat[1] * sc->to_pix[5]);
    sc->to_anat[5] = -(sc->to_anat[3] * sc->to_pix[2] + sc->to_anat[4] * sc->to_pix[5]);
    sc->px = 1 / scale;

    double pts[CX_PHANTOM_OUTLINE_MAX][2];
    for (int s = 0; s < 2; s++) {
        int n = cx_phantom_lung_outline(&sc->a, s, pts);
        sc->zone_top[s] = INFINITY;
        sc->zone_bottom[s] = -INFINITY;
        for (int j = 0; j < n; j++) {
            sc->zone_top[s] = fmin(sc->zone_top[s], pts[j][1]);
            sc->zone_bottom[s] = fmax(sc->zone_bottom[s], pts[j][1]);
        }
    }

    /* Texture and opacity draws never depend on the scores, so a case re-rendered with other
     * scores has the same noise. */
    cx_rng r = cx_rng_split(c->image_seed, 0);
    lattice_fill(&sc->coarse, &r, 12, -1.6, 1.6);
    lattice_fill(&sc->reticular, &r, 64, -1.6, 1.6);
    lattice_fill(&sc->texture, &r, 128, -1.6, 1.6);
    for (int z = 0; z < CX_PHANTOM_ZONES; z++) {
        int s = z / 3, row = z % 3;
        double top = sc->zone_top[s], third = (sc->zone_bottom[s] - top) / 3;
        const cx_phantom_anatomy *a = &sc->a;
        for (int b = 0; b < ZONE_BLOBS; b++) {
            /* COVID-19 opacities are mostly peripheral: favour the lateral part */
            double u = cx_rng_uniform(&r);
            double d = a->lateral_d[s] - (a->lateral_d[s] - a->border_d[s][3] - 0.08) * u * u;
            sc->blobs[z][b].x = (s ? 1 : -1) * d;
            sc->blobs[z][b].y = top + third * (row + cx_rng_uniform(&r));
            sc->blobs[z][b].radius = cx_rng_range(&r, 0.07, 0.16);
            sc->blobs[z][b].weight = cx_rng_range(&r, 0.6, 1.4);
        }
    }
    sc->nvessels = 0;
    grow_vessels(sc, &c->anatomy);
    for (int k = 0; k < sc->nvessels; k++) {
        /* vessels follow the breath with the lung */
        tube *t = &sc->vessels[k];
        int s = t->x0 > 0;
        t->y0 = sc->a.apex_y[s] + (t->y0 - sc->a.apex_y[s]) * sc->stretch;
        t->y1 = sc->a.apex_y[s] + (t->y1 - sc->a.apex_y[s]) * sc->stretch;
    }
}

/* ---- rasterising ---- */

/* Fill a polygon given in pixel coordinates: cover += area coverage (4 sub-rows, exact along
 * x), inside[p] = 1 where the pixel centre is inside (even-odd rule). */
static void fill_polygon(const double (*p)[2], int n, int W, int H, float *cover, uint8_t *inside) {
    double ymin = INFINITY, ymax = -INFINITY;
    for (int k = 0; k < n; k++) {
        ymin = fmin(ymin, p[k][1]);
        ymax = fmax(ymax, p[k][1]);
    }
    int r0 = (int)fmax(0, floor(ymin)), r1 = (int)fmin(H - 1, ceil(ymax));
    double xs[CX_PHANTOM_OUTLINE_MAX];
    for (int row = r0; row <= r1; row++) {
        /* sub-rows 0..3 for coverage, 4 at the pixel centre for the mask */
        for (int sub = 0; sub < 5; sub++) {
            double y = row + (sub < 4 ? (sub + 0.5) / 4 : 0.5);
            int m = 0;
            for (int k = 0; k < n; k++) {
                const double *a = p[k], *b = p[(k + 1) % n];
                if ((a[1] <= y) != (b[1] <= y)) xs[m++] = a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            }
            for (int i = 1; i < m; i++)   /* insertion sort: a handful of crossings */
                for (int j = i; j > 0 && xs[j - 1] > xs[j]; j--) {
                    double t = xs[j];
                    xs[j] = xs[j - 1];
                    xs[j - 1] = t;
                }
            float *crow = cover + (size_t)row * W;
            uint8_t *irow = inside + (size_t)row * W;
            for (int k = 0; k + 1 < m; k += 2) {
                double x0 = ph_clamp(xs[k], 0, W), x1 = ph_clamp(xs[k + 1], 0, W);
                if (x1 <= x0) continue;
                if (sub == 4) {
                    for (int i = (int)ceil(x0 - 0.5); i < W && i + 0.5 < x1; i++) irow[i] = 1;
                    continue;
                }
                int i0 = (int)x0, i1 = (int)x1;
                if (i0 == i1) {
                    crow[i0] += (float)(0.25 * (x1 - x0));
                    continue;
                }
                crow[i0] += (float)(0.25 * (i0 + 1 - x0));
                for (int i = i0 + 1; i < i1; i++) crow[i] += 0.25f;
                if (i1 < W) crow[i1] += (float)(0.25 * (x1 - i1));
            }
        }
    }
}

/* Running-sum box filters of radius r, edges clamped: along rows, and down columns with a
 * row of running sums (so memory is read in order). */
static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void box_rows(const float *src, float *dst, int W, int H, int r) {
    for (int y = 0; y < H; y++) {
        const float *s = src + (size_t)y * W;
        float *d = dst + (size_t)y * W;
        double sum = 0;
        for (int k = -r; k <= r; k++) sum += s[clampi(k, 0, W - 1)];
        for (int x = 0; x < W; x++) {
            d[x] = (float)(sum / (2 * r + 1));
            sum += s[clampi(x + r + 1, 0, W - 1)] - s[clampi(x - r, 0, W - 1)];
        }
    }
}

static void box_columns(const float *src, float *dst, int W, int H, int r, double *sum) {
    for (int x = 0; x < W; x++) sum[x] = 0;
    for (int k = -r; k <= r; k++) {
        const float *s = src + (size_t)clampi(k, 0, H - 1) * W;
        for (int x = 0; x < W; x++) sum[x] += s[x];
    }
    for (int y = 0; y < H; y++) {
        const float *in = src + (size_t)clampi(y + r + 1, 0, H - 1) * W, *out = src + (size_t)clampi(y - r, 0, H - 1) * W;
        float *d = dst + (size_t)y * W;
        for (int x = 0; x < W; x++) {
            d[x] = (float)(sum[x] / (2 * r + 1));
            sum[x] += in[x] - out[x];
        }
    }
}

/* Three box passes each way: close to a Gaussian of sd r. */
static void box_blur(float *img, float *tmp, int W, int H, int r) {
    if (r < 1) return;
    double *sum = cx_malloc((size_t)W * sizeof *sum);
    for (int pass = 0; pass < 3; pass++) {
        box_rows(img, tmp, W, H, r);
        box_columns(tmp, img, W, H, r, sum);
    }
    free(sum);
}

static void gaussian_blur(float *img, float *tmp, int W, int H, double sigma) {
    if (sigma < 0.2) return;
    int r = (int)ceil(3 * sigma);
    float kernel[64];
    if (r > 31) r = 31;
    double sum = 0;
    for (int k = -r; k <= r; k++) sum += kernel[k + r] = (float)exp(-0.5 * ph_sq(k / sigma));
    for (int k = 0; k <= 2 * r; k++) kernel[k] = (float)(kernel[k] / sum);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float acc = 0;
            for (int k = -r; k <= r; k++) acc += kernel[k + r] * img[(size_t)y * W + clampi(x + k, 0, W - 1)];
            tmp[(size_t)y * W + x] = acc;
        }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float acc = 0;
            for (int k = -r; k <= r; k++) acc += kernel[k + r] * tmp[(size_t)clampi(y + k, 0, H - 1) * W + x];
            img[(size_t)y * W + x] = acc;
        }
}

/* Max-composite a tapered tube (pixel coordinates, Gaussian cross-section) into buf. */
static void stamp_tube(float *buf, int W, int H, const tube *t) {
    double reach = 2.5 * fmax(fmax(t->r0, t->r1), 0.6);
    int x0 = (int)fmax(0, floor(fmin(t->x0, t->x1) - reach)), x1 = (int)fmin(W - 1, ceil(fmax(t->x0, t->x1) + reach));
    int y0 = (int)fmax(0, floor(fmin(t->y0, t->y1) - reach)), y1 = (int)fmin(H - 1, ceil(fmax(t->y0, t->y1) + reach));
    double dx = t->x1 - t->x0, dy = t->y1 - t->y0, len2 = dx * dx + dy * dy;
    for (int v = y0; v <= y1; v++)
        for (int u = x0; u <= x1; u++) {
            double qx = u + 0.5 - t->x0, qy = v + 0.5 - t->y0;
            double s = len2 > 0 ? ph_clamp((qx * dx + qy * dy) / len2, 0, 1) : 0;
            double r = t->r0 + (t->r1 - t->r0) * s;
            /* vessels thinner than a pixel keep their integral instead of aliasing */
            double reff = fmax(r, 0.6), dens = t->density * r / reff;
            double dist2 = (ph_sq(qx - s * dx) + ph_sq(qy - s * dy)) / ph_sq(reff);
            if (dist2 > 6.25) continue;
            double val = dens * exp(-dist2);
            float *p = buf + (size_t)v * W + u;
            if (val > *p) *p = (float)val;
        }
}

/* Brixia zones: thirds of each lung's height, 0 upper, 1 middle, 2 lower. */
static int zone_row(const scene *sc, int s, double y) {
    return (int)ph_clamp(floor(3 * (y - sc->zone_top[s]) / (sc->zone_bottom[s] - sc->zone_top[s])), 0, 2);
}

/* Amplitude of one opacity component at height y in lung s: table[score] of the zone there,
 * ramped down toward a neighbouring zone with a lower value. The ramp lies inside the higher
 * zone, so opacity is continuous across zone borders yet a zone scored 0 gets none. */
static double zone_amplitude(const scene *sc, int s, double y, const double *table) {
    double top = sc->zone_top[s], third = (sc->zone_bottom[s] - top) / 3, fade = 0.35 * third;
    int row = zone_row(sc, s, y);
    const int *score = sc->brixia + 3 * s;
    double v = table[score[row]], upper = v, lower = v;
    double row_top = top + row * third, row_bottom = row_top + third;
    if (row > 0 && table[score[row - 1]] < v) {
        double next = table[score[row - 1]];
        upper = next + (v - next) * ph_smoothstep(row_top, row_top + fade, y);
    }
    if (row < 2 && table[score[row + 1]] < v) {
        double next = table[score[row + 1]];
        lower = next + (v - next) * ph_smoothstep(row_bottom, row_bottom - fade, y);
    }
    return fmin(upper, lower);
}

/* Fraction of the lung's air displaced by opacity at (x, y): a haze (interstitial: faint at
 * score 1) and alveolar patches (from score 2, dense at 3), both patchy. */
static double opacity(const scene *sc, double x, double y) {
    static const double haze[4] = {0, 0.12, 0.14, 0.25}, alveolar[4] = {0, 0, 0.40, 0.62};
    int s = x > 0;
    double h = zone_amplitude(sc, s, y, haze), a = zone_amplitude(sc, s, y, alveolar);
    if (h <= 0 && a <= 0) return 0;
    double patchy = lattice_at(&sc->coarse, x, y), fine = lattice_at(&sc->reticular, x, y);
    double sum = 0;
    for (int z = 3 * s; z < 3 * s + 3; z++)
        for (int b = 0; b < ZONE_BLOBS; b++) {
            const blob *bl = &sc->blobs[z][b];
            double dx = x - bl->x, dy = y - bl->y, r = 3 * bl->radius;
            if (fabs(dx) < r && fabs(dy) < r) sum += bl->weight * exp(-0.5 * (dx * dx + dy * dy) / ph_sq(bl->radius));
        }
    double patches = 1 - exp(-sum * (0.3 + 1.4 * patchy));
    return fmin(0.92, h * (0.3 + 1.2 * patchy) * (0.6 + 0.8 * fine) + a * patches);
}

/* ---- acquisition ---- */

#define TONE_STEPS 2048
#define TONE_MAX 3.0

/* Standard normal approximation from one 64-bit draw: the sum of four 16-bit uniforms,
 * centred and scaled (Irwin-Hall); plenty for detector noise and four times cheaper. */
static double noise_normal(cx_rng *r) {
    uint64_t u = cx_rng_u64(r);
    double sum = (double)(u & 0xffff) + (double)((u >> 16) & 0xffff) + (double)((u >> 32) & 0xffff) + (double)(u >> 48);
    return (sum / 65536.0 - 2.0) * 1.7320508075688772;
}

/* Attenuation in img -> brightness through the film curve and the center's gamma and
 * contrast (a table), then edge enhancement, detector blur and noise. */
static void acquire(float *img, float *tmp, float *scratch, int W, int H, const cx_phantom_center *center,
                    const scene *sc, cx_rng *noise) {
    size_t n = (size_t)W * H;
    float tone[TONE_STEPS + 1];
    for (int k = 0; k <= TONE_STEPS; k++) {
        /* film-like response: compresses the dense end */
        double film = (1 - exp(-1.1 * TONE_MAX * k / TONE_STEPS)) / (1 - exp(-2.2));
        tone[k] = (float)(0.5 + center->contrast * (pow(fmin(film, 1), center->gamma) - 0.5) + center->brightness);
    }
    for (int v = 0; v < H; v++) {
        float heel = (float)(center->heel * ((v + 0.5) / H - 0.5));
        for (int u = 0; u < W; u++) {
            float *p = img + (size_t)v * W + u;
            double f = ph_clamp(*p / TONE_MAX, 0, 1) * TONE_STEPS;
            int k = (int)f < TONE_STEPS ? (int)f : TONE_STEPS - 1;
            *p = tone[k] + (float)(f - k) * (tone[k + 1] - tone[k]) + heel;
        }
    }
    /* edge enhancement as in computed-radiography processing: b + k (b - blur(b)) */
    memcpy(scratch, img, n * sizeof *img);
    box_blur(scratch, tmp, W, H, (int)lround(0.05 / sc->px));
    for (size_t p = 0; p < n; p++) img[p] += (float)(center->sharpen * (img[p] - scratch[p]));
    gaussian_blur(img, tmp, W, H, center->blur * (W < H ? W : H) / 256.0);
    for (size_t p = 0; p < n; p++) {
        double b = img[p];
        /* quantum noise grows with the signal in the log domain */
        b += center->noise * (0.5 + ph_clamp(b, 0, 1)) * noise_normal(noise);
        img[p] = (float)ph_clamp(b, 0, 1);
    }
}

void cx_phantom_render(const cx_phantom_config *cfg, const cx_phantom_center *center, const cx_phantom_case *c,
                       cx_tensor *image, cx_tensor *mask, uint8_t *zones) {
    int W = cfg->width, H = cfg->height;
    size_t n = (size_t)W * H;
    scene *sc = cx_malloc(sizeof *sc);
    build_scene(sc, cfg, center, c);
    const cx_phantom_anatomy *a = &sc->a;
    float *env = cx_calloc(n, sizeof *env), *depth = cx_calloc(n, sizeof *depth);
    float *vessels = cx_calloc(n, sizeof *vessels), *tmp = cx_calloc(n, sizeof *tmp), *out = cx_calloc(n, sizeof *out);
    uint8_t *inside = mask->data;
    memset(inside, 0, n);

    /* the lungs: coverage (env) and the exact mask (inside) */
    double pts[CX_PHANTOM_OUTLINE_MAX][2];
    for (int s = 0; s < 2; s++) {
        int np = cx_phantom_lung_outline(a, s, pts);
        for (int k = 0; k < np; k++) {
            double x = pts[k][0], y = pts[k][1];
            apply(sc->to_pix, x, y, &pts[k][0], &pts[k][1]);
        }
        fill_polygon((const double (*)[2])pts, np, W, H, env, inside);
    }
    /* depth: the lungs blurred, for the air path length (thinner near their borders) */
    for (size_t p = 0; p < n; p++) depth[p] = env[p] = fminf(env[p], 1);
    box_blur(depth, tmp, W, H, (int)lround(0.12 / sc->px));

    for (int k = 0; k < sc->nvessels; k++) {
        tube t = sc->vessels[k];
        apply(sc->to_pix, sc->vessels[k].x0, sc->vessels[k].y0, &t.x0, &t.y0);
        apply(sc->to_pix, sc->vessels[k].x1, sc->vessels[k].y1, &t.x1, &t.y1);
        t.r0 /= sc->px;
        t.r1 /= sc->px;
        /* a vessel far thinner than a pixel adds nothing visible */
        if (t.density * t.r0 / fmax(t.r0, 0.6) > 0.004) stamp_tube(vessels, W, H, &t);
    }

    for (int v = 0; v < H; v++)
        for (int u = 0; u < W; u++) {
            size_t p = (size_t)v * W + u;
            double x, y;
            apply(sc->to_anat, u + 0.5, v + 0.5, &x, &y);
            int s = x > 0;
            double d = fabs(x), body, lung = env[p];
            double A = cx_phantom_tissue(a, sc->ap, sc->px, x, y, lung, &body);
            if (lung > 0) {
                double air = 0.74 * body * lung * (0.2 + 0.8 * ph_smoothstep(0.05, 0.95, depth[p]));
                double texture = 0.14 * (lattice_at(&sc->texture, x, y) - 0.5);
                A -= air * (1 - opacity(sc, x, y) + texture);
                /* the hilar vessels seen end-on */
                double hd, hy;
                hilum(a, s, &hd, &hy);
                A += lung * 0.16 * exp(-0.5 * (ph_sq((d - hd) / 0.045) + ph_sq((y - hy) / 0.08)));
            }
            A += vessels[p] * (0.15 + 0.85 * lung);
            out[p] = (float)A;
            if (zones) zones[p] = inside[p] ? (uint8_t)(1 + 3 * s + zone_row(sc, s, y)) : 0;
        }

    cx_rng noise = cx_rng_split(c->image_seed, 1);
    acquire(out, tmp, depth, W, H, center, sc, &noise);
    if (image->dtype == CX_U16) {
        uint16_t *px = image->data;
        for (size_t p = 0; p < n; p++) px[p] = (uint16_t)lrint(out[p] * 65535.0);
    } else {
        uint8_t *px = image->data;
        for (size_t p = 0; p < n; p++) px[p] = (uint8_t)lrint(out[p] * 255.0);
    }
    free(env);
    free(depth);
    free(vessels);
    free(tmp);
    free(out);
    free(sc);
}
