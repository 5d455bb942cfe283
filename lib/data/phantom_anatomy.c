/* Phantom anatomy: a patient's body drawn from their random stream, projected for one image
 * (view, breath), the lung outlines, and the attenuation of everything that is not lung air.
 * Shapes are smooth functions of anatomy coordinates (see phantom_internal.h); bones are bands
 * with a tubular, cortex-bright profile, soft tissue follows elliptic chords. */
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "data/phantom_internal.h"

#define NRIBS 11

/* Box-filtered coverage of an edge at signed distance sd (pixels, negative inside). */
static double edge_coverage(double sd_px) { return ph_clamp(0.5 - sd_px, 0, 1); }

void cx_phantom_anatomy_draw(uint64_t seed, int dataset, int patient, int male, cx_phantom_anatomy *a) {
    cx_rng r = cx_rng_split(seed, cx_phantom_key(dataset, patient, 0, CX_PH_KEY_ANATOMY));
    /* medial border, bottom to top, per side (see phantom_internal.h) */
    static const double border[2][5] = {{0.25, 0.28, 0.22, 0.17, 0.15}, {0.53, 0.50, 0.37, 0.26, 0.24}};
    memset(a, 0, sizeof *a);
    a->size = ph_clamp(ph_gauss(&r, male ? 1.02 : 0.97, 0.035), 0.9, 1.1);
    double height = ph_clamp(ph_gauss(&r, 1.40, 0.05), 1.25, 1.55);
    double apex = ph_gauss(&r, -0.74, 0.025);
    double width = ph_clamp(ph_gauss(&r, 0.83, 0.03), 0.75, 0.90);
    a->heart = ph_clamp(ph_gauss(&r, 1, 0.06), 0.88, 1.18);
    for (int s = 0; s < 2; s++) {
        a->apex_y[s] = apex + ph_gauss(&r, 0, 0.012);
        a->apex_d[s] = ph_gauss(&r, 0.36, 0.025);
        a->lateral_d[s] = width + ph_gauss(&r, 0, 0.012);
        a->cp_d[s] = a->lateral_d[s] - ph_clamp(ph_gauss(&r, 0.03, 0.015), 0, 0.07);
        /* the right hemidiaphragm sits higher than the left */
        a->cp_y[s] = a->apex_y[s] + height + (s ? 0.035 : 0) + ph_gauss(&r, 0, 0.015);
        a->dome_y[s] = a->cp_y[s] - ph_clamp(ph_gauss(&r, s ? 0.16 : 0.20, 0.03), 0.08, 0.3);
        a->dome_at[s] = ph_clamp(ph_gauss(&r, 0.45, 0.06), 0.3, 0.6);
        a->cardiophrenic_y[s] = a->dome_y[s] + ph_clamp(ph_gauss(&r, s ? 0.04 : 0.06, 0.02), 0.01, 0.12);
        for (int k = 0; k < 5; k++) a->border_d[s][k] = border[s][k] + ph_gauss(&r, 0, 0.012);
        for (int k = 0; k < CX_PHANTOM_LUNG_CTRL; k++) {
            a->jitter[s][k][0] = ph_gauss(&r, 0, 0.012);
            a->jitter[s][k][1] = ph_gauss(&r, 0, 0.012);
        }
    }
    a->body_half_width = ph_clamp(ph_gauss(&r, male ? 0.99 : 0.95, 0.03), 0.88, 1.07);
    a->neck_half_width = ph_gauss(&r, 0.22, 0.015);
    a->shoulder_y = ph_gauss(&r, -0.88, 0.03);
    a->spine_half_width = ph_gauss(&r, 0.068, 0.004);
    a->vertebra_height = ph_gauss(&r, 0.088, 0.004);
    a->vertebra_phase = cx_rng_uniform(&r);
    a->trachea_x = ph_gauss(&r, 0.01, 0.008);
    a->carina_y = apex + ph_gauss(&r, 0.44, 0.03);
    a->rib_top = apex + ph_gauss(&r, 0.06, 0.015);
    a->rib_spacing = ph_gauss(&r, 0.095, 0.004);
    a->rib_growth = ph_gauss(&r, 0.05, 0.01);
    a->rib_slope = ph_gauss(&r, -0.75, 0.05);
    a->rib_curve = ph_gauss(&r, 0.95, 0.06);
    a->rib_half_width = ph_gauss(&r, 0.019, 0.0015);
    a->clavicle_y = apex + ph_gauss(&r, 0.14, 0.02);
    a->clavicle_curve = ph_gauss(&r, 0.018, 0.006);
    a->breast = male ? 0 : cx_rng_range(&r, 0.06, 0.18);
    a->bubble = cx_rng_uniform(&r) < 0.75 ? cx_rng_range(&r, 0.05, 0.10) : 0;
    a->vessel_seed = cx_rng_u64(&r);
}

/* The view and the breath change the projected anatomy: an AP film magnifies the heart,
 * projects the clavicles higher and the scapulae over the lungs, and is usually taken at a
 * shallower breath; inspiration stretches the lungs downward from the apex. */
void cx_phantom_project(cx_phantom_anatomy *a, const cx_phantom_pose *pose, double *stretch) {
    double breath = pose->inspiration - (pose->ap ? 0.04 : 0);
    double heart = a->heart * (pose->ap ? 1.1 : 1);
    *stretch = 1 + breath;
    for (int s = 0; s < 2; s++) {
        double apex = a->apex_y[s];
        a->cp_y[s] = apex + (a->cp_y[s] - apex) * *stretch;
        a->dome_y[s] = apex + (a->dome_y[s] - apex) * *stretch;
        a->cardiophrenic_y[s] = apex + (a->cardiophrenic_y[s] - apex) * *stretch;
        /* even a large heart leaves the lung a base */
        for (int k = 0; k < 3; k++) a->border_d[s][k] = fmin(a->border_d[s][k] * heart, a->lateral_d[s] - 0.24);
    }
    if (pose->ap) a->clavicle_y -= 0.06;
}

static double dome_d(const cx_phantom_anatomy *a, int s) {
    return a->border_d[s][0] + a->dome_at[s] * (a->cp_d[s] - a->border_d[s][0]);
}

/* Height of the hemidiaphragm under distance d from the midline: two half parabolas meeting
 * flat at the dome, through the costophrenic and cardiophrenic angles. */
static double diaphragm_y(const cx_phantom_anatomy *a, int s, double d) {
    double top = dome_d(a, s), dd = d - top;
    double reach = dd > 0 ? a->cp_d[s] - top : top - a->border_d[s][0];
    double drop = dd > 0 ? a->cp_y[s] - a->dome_y[s] : a->cardiophrenic_y[s] - a->dome_y[s];
    return a->dome_y[s] + drop * ph_sq(dd / reach);
}

static void catmull_rom(const double *p0, const double *p1, const double *p2, const double *p3, double t,
                        double *out) {
    double t2 = t * t, t3 = t2 * t;
    for (int k = 0; k < 2; k++)
        out[k] = 0.5 * (2 * p1[k] + (p2[k] - p0[k]) * t + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t2 +
                        (3 * p1[k] - p0[k] - 3 * p2[k] + p3[k]) * t3);
}

/* Outline of lung s in anatomy coordinates: a spline from the cardiophrenic angle up the
 * heart and mediastinum, over the apex and down the lateral wall to the costophrenic angle,
 * closed by the diaphragm. Returns the number of points. */
int cx_phantom_lung_outline(const cx_phantom_anatomy *a, int s, double (*pts)[2]) {
    double h = a->cp_y[s] - a->apex_y[s], ay = a->apex_y[s];
    const double *b = a->border_d[s];
    double lat = a->lateral_d[s], apex = a->apex_d[s];
    double ctrl[CX_PHANTOM_LUNG_CTRL][2] = {
        {b[0], a->cardiophrenic_y[s]},
        {b[1], ay + 0.78 * h},
        {b[2], ay + 0.62 * h},
        {b[3], ay + 0.46 * h},
        {b[4], ay + 0.30 * h},
        {0.5 * (b[4] + apex) - 0.02, ay + 0.10 * h},
        {apex, ay},
        {apex + 0.45 * (lat - apex), ay + 0.05 * h},
        {lat - 0.06, ay + 0.30 * h},
        {lat, ay + 0.66 * h},
        {a->cp_d[s], a->cp_y[s]},
    };
    /* the two ends attach to the diaphragm and stay put */
    for (int k = 1; k < CX_PHANTOM_LUNG_CTRL - 1; k++) {
        ctrl[k][0] += a->jitter[s][k][0];
        ctrl[k][1] += a->jitter[s][k][1];
    }
    int n = 0, last = CX_PHANTOM_LUNG_CTRL - 1;
    const int steps = 10, dome_steps = 20;
    for (int k = 0; k < last; k++) {
        const double *p0 = ctrl[k > 0 ? k - 1 : 0], *p3 = ctrl[k + 2 <= last ? k + 2 : last];
        for (int j = 0; j < steps; j++) catmull_rom(p0, ctrl[k], ctrl[k + 1], p3, (double)j / steps, pts[n++]);
    }
    pts[n][0] = ctrl[last][0];
    pts[n++][1] = ctrl[last][1];
    for (int j = 1; j < dome_steps; j++) {
        double d = a->cp_d[s] + (b[0] - a->cp_d[s]) * j / dome_steps;
        pts[n][0] = d;
        pts[n++][1] = diaphragm_y(a, s, d);
    }
    double sign = s ? 1 : -1;
    for (int k = 0; k < n; k++) pts[k][0] *= sign;
    return n;
}

/* ---- structures, in anatomy coordinates; each returns attenuation ---- */

static double body_half_width(const cx_phantom_anatomy *a, double y) {
    double shoulders = ph_smoothstep(a->shoulder_y - 0.24, a->shoulder_y + 0.02, y);
    double w = a->neck_half_width + (a->body_half_width + 0.14 - a->neck_half_width) * shoulders;
    return w - 0.14 * ph_smoothstep(a->shoulder_y + 0.05, a->shoulder_y + 0.55, y) - 0.05 * ph_smoothstep(0.3, 1.3, y);
}

/* Path length through an elliptic cross-section: 1 on the axis, 0 at the edge. */
static double chord(double q) { return q < 1 ? sqrt(1 - q * q) : 0; }

/* A bone band at signed distance dist from its centre line: tubular, brighter at the cortex. */
static double bone_band(double dist, double half_width, double px) {
    double q = fabs(dist) / half_width;
    if (q > 1 + px / half_width) return 0;
    double qc = fmin(q, 1), q2 = qc * qc;
    double cover = edge_coverage((fabs(dist) - half_width) / px);
    return (0.35 * chord(qc) + 0.65 * q2 * q2 * q2) * cover;
}

/* Distance from (x, y) to the segment (x0, y0)-(x1, y1). */
static double segment_distance(double x, double y, double x0, double y0, double x1, double y1) {
    double dx = x1 - x0, dy = y1 - y0;
    double t = ph_clamp(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy), 0, 1);
    return sqrt(ph_sq(x - x0 - t * dx) + ph_sq(y - y0 - t * dy));
}

static double ribs(const cx_phantom_anatomy *a, double px, double d, double y) {
    double sum = 0, top = a->rib_top, gap = a->rib_spacing, hw = a->rib_half_width;
    double lateral = body_half_width(a, y) - 0.08;
    for (int k = 0; k < NRIBS; k++, top += gap, gap *= 1 + a->rib_growth) {
        double curve = a->rib_curve * (1 + 0.04 * k);
        /* posterior rib: from the spine up-and-out, arcing down at the lateral wall */
        double cy = top + a->rib_slope * d + curve * d * d, slope = a->rib_slope + 2 * curve * d;
        double stretch = 1 + slope * slope;   /* vertical offset -> normal distance */
        if (ph_sq(y - cy) < 4 * hw * hw * stretch)
            sum += 0.15 * bone_band((y - cy) / sqrt(stretch), hw, px) * ph_smoothstep(0.04, 0.09, d) * (1 - ph_smoothstep(lateral - 0.04, lateral + 0.04, d));
        /* anterior rib: from the lateral end of the posterior arc down toward the sternum */
        double end_d = lateral - 0.02, end_y = top + a->rib_slope * end_d + curve * end_d * end_d;
        double u = end_d - d;
        double ay = end_y - 0.02 + 0.40 * u + 0.12 * u * u, aslope = -(0.40 + 0.24 * u);
        double astretch = 1 + aslope * aslope;
        if (u > -0.04 && ph_sq(y - ay) < 6.25 * hw * hw * astretch)
            sum += 0.06 * bone_band((y - ay) / sqrt(astretch), 1.25 * hw, px) * ph_smoothstep(0.22, 0.42, d) * ph_smoothstep(-0.04, 0.03, u);
        /* both arcs only get lower with k, and no band reaches 0.2 from its centre line */
        if (cy > y + 0.2 && ay > y + 0.2) break;
    }
    return sum;
}

/* Clavicle: an S-curved bone from the sternal end up to the acromion above the humeral head,
 * thicker medially, with rounded ends. */
static double clavicle(const cx_phantom_anatomy *a, double px, double d, double y) {
    double d0 = 0.07, d1 = a->body_half_width - 0.08, t = (d - d0) / (d1 - d0);
    if (t < -0.1 || t > 1.1) return 0;
    double rise = a->shoulder_y + 0.03 - a->clavicle_y;
    if (fabs(y - a->clavicle_y - rise * t) > fabs(a->clavicle_curve) + 0.08) return 0;
    double cy = a->clavicle_y + rise * t + a->clavicle_curve * sin(2 * M_PI * t);
    double slope = (rise + 2 * M_PI * a->clavicle_curve * cos(2 * M_PI * t)) / (d1 - d0);
    double ends = 1 - pow(ph_sq(2 * t - 1), 6);
    if (ends <= 0) return 0;
    double hw = (0.026 + 0.014 * (1 - t)) * sqrt(ends);
    return 0.24 * bone_band((y - cy) / sqrt(1 + slope * slope), hw, px);
}

static double shoulder_bones(const cx_phantom_anatomy *a, int ap, double d, double y) {
    /* humeral head */
    double hx = a->body_half_width + 0.06, hy = a->shoulder_y + 0.10;
    double head = fabs(d - hx) < 0.13 && fabs(y - hy) < 0.13 ? 0.38 * chord(sqrt(ph_sq(d - hx) + ph_sq(y - hy)) / 0.13) : 0;
    /* scapula: a thin plate lateral to its medial border; over the lungs only on AP films */
    double down = y - a->shoulder_y;
    double border = (ap ? 0.64 : 0.84) + 0.25 * ph_sq(down - 0.3);
    double plate = 0.06 * ph_smoothstep(border - 0.01, border + 0.03, d) * ph_smoothstep(0, 0.1, down) * ph_smoothstep(0.75, 0.55, down);
    return head + plate;
}

static double spine(const cx_phantom_anatomy *a, double x, double y) {
    double hw = a->spine_half_width;
    if (fabs(x) > 1.3 * hw) return 0;
    double phase = (y - a->vertebra_phase * a->vertebra_height) / a->vertebra_height, f = phase - floor(phase);
    double disc = exp(-ph_sq((f - 0.5) / 0.08));
    double column = 0.08 * chord(fabs(x) / hw) * (1 - 0.3 * disc);
    /* pedicles: small cortical rings on both sides of each vertebral body */
    double ring = sqrt(ph_sq((fabs(x) - 0.6 * hw) / (0.22 * hw)) + ph_sq((f - 0.25) / 0.16));
    return column + 0.025 * exp(-ph_sq((ring - 1) / 0.35));
}

static double airways(const cx_phantom_anatomy *a, double x, double y) {
    if (fabs(x) > 0.35 || y > a->carina_y + 0.3) return 0;
    double tx = a->trachea_x, cy = a->carina_y;
    double trachea = chord(segment_distance(x, y, tx, -2.0, tx, cy) / 0.036);
    double right = chord(segment_distance(x, y, tx, cy, tx - 0.16, cy + 0.12) / 0.02);
    double left = chord(segment_distance(x, y, tx, cy, tx + 0.19, cy + 0.15) / 0.018);
    return 0.12 * fmax(trachea, fmax(right, left));
}

/* The heart is denser than the mediastinal fat around it: an ellipse between the ventricle
 * bulges of the two borders. */
static double heart(const cx_phantom_anatomy *a, double x, double y) {
    double left = a->border_d[1][1], right = a->border_d[0][1];
    double cy = a->apex_y[1] + 0.74 * (a->cp_y[1] - a->apex_y[1]);
    double q = ph_sq((x - 0.5 * (left - right)) / (0.5 * (left + right))) + ph_sq((y - cy) / 0.24);
    return q < 1 ? 0.14 * ph_sq(1 - q) : 0;
}

/* Attenuation at (x, y) of everything but the air in the lungs: the body (an elliptic
 * cylinder), abdomen, stomach gas, muscles, breasts, spine, airways, bones and heart. lung is
 * the lung coverage there (airways show only outside the lungs; ribs stand out most against
 * air, as scatter and processing flatten the rest); *thickness is the body's relative
 * thickness, which scales the lungs' air. */
double cx_phantom_tissue(const cx_phantom_anatomy *a, int ap, double px, double x, double y, double lung,
                         double *thickness) {
    int s = x > 0;
    double d = fabs(x);
    double body = chord(d / body_half_width(a, y));
    *thickness = body;
    if (body <= 0) return 0;
    double A = body, below = y - diaphragm_y(a, s, d);
    A += 0.03 * body * ph_smoothstep(-0.01, 0.10, below);
    if (s && a->bubble > 0 && below > 0) {
        /* gas over fluid: the upper part of an ellipse under the dome, cut by a level */
        double bx = (d - dome_d(a, 1) - 0.02) / a->bubble, by = (y - a->dome_y[1] - 0.03 - 0.6 * a->bubble) / (0.6 * a->bubble);
        if (by < 0.3) A -= 0.20 * chord(sqrt(bx * bx + by * by)) * ph_smoothstep(0.3, 0.1, by) * ph_smoothstep(0, 0.02, below);
    }
    /* pectoral muscles and shoulder girdle over the upper chest */
    A += 0.10 * body * ph_smoothstep(a->apex_y[s] + 0.6, a->apex_y[s] + 0.1, y);
    A += a->breast * chord(sqrt(ph_sq((d - 0.50) / 0.36) + ph_sq((y - a->cp_y[s] + 0.22) / 0.26)));
    A += spine(a, x, y) - airways(a, x, y) * (1 - lung);
    A += ribs(a, px, d, y) * (0.55 + 0.45 * lung) + clavicle(a, px, d, y) + shoulder_bones(a, ap, d, y);
    A += heart(a, x, y) * ph_smoothstep(0.12, -0.04, below);
    return A;
}
