/* Phantom internals shared by phantom.c (API and metadata), phantom_model.c (population,
 * clinical model, notes), phantom_anatomy.c (the body) and phantom_render.c (lungs, image
 * formation, acquisition), and exposed to the unit tests, which re-render a case with its
 * Brixia scores set to zero.
 *
 * Coordinates: anatomy units, x to the image's right, y down, origin between the lungs at
 * mid height; with zoom 1 a square image spans [-1, 1] in both. The patient's right lung
 * (side 0) lies at x < 0, the left lung (side 1) at x > 0; d = |x| is the distance from
 * the midline, used to describe both lungs with one set of parameters.
 */
#ifndef CX_DATA_PHANTOM_INTERNAL_H
#define CX_DATA_PHANTOM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "core/tensor.h"
#include "data/phantom.h"

#define CX_PHANTOM_ZONES 6          /* Brixia zones A..F: A-C right lung upper..lower, D-F left */
#define CX_PHANTOM_MAX_CENTERS 26   /* center-A .. center-Z */
#define CX_PHANTOM_MAX_PATIENTS 1000000
#define CX_PHANTOM_NOTE_MAX 768
#define CX_PHANTOM_LUNG_CTRL 11     /* spline control points of one lung's outline (all but the diaphragm) */
#define CX_PHANTOM_OUTLINE_MAX 128  /* points of one lung's outline polygon */

/* Acquisition and population of one center. */
typedef struct {
    double contrast, brightness, gamma;  /* tone: b -> 0.5 + contrast * (b^gamma - 0.5) + brightness */
    double heel;                         /* brightness gradient from top to bottom */
    double sharpen;                      /* unsharp-mask amount of the center's processing */
    double blur;                         /* detector blur, pixels at 256 px */
    double noise;                        /* noise sd at mid grey, fraction of full range */
    double zoom, shift_x, shift_y;       /* field of view: scale and offset of the anatomy */
    double severity_shift, risk_shift;   /* case mix: lung severity and prognosis log-odds */
    double ap_rate;                      /* share of AP (bedside) films */
    double missing_rate;                 /* chance that a tabular field is absent */
    double weight;                       /* relative number of patients */
} cx_phantom_center;

/* A patient's anatomy (shared by all their images). Lung parameters per side, in (d, y). */
typedef struct {
    double apex_d[2], apex_y[2];            /* top of the lung */
    double lateral_d[2];                    /* widest reach of the lateral wall */
    double cp_d[2], cp_y[2];                /* costophrenic angle */
    double dome_y[2];                       /* top of the hemidiaphragm ... */
    double dome_at[2];                      /* ... this far from the cardiophrenic to the costophrenic angle */
    double cardiophrenic_y[2];
    /* the lung's medial border (mediastinum and heart), bottom to top: cardiophrenic angle,
     * ventricle, cardiac waist, hilum, upper mediastinum (on the left: the aortic knob) */
    double border_d[2][5];
    double heart;                           /* cardiac size factor (scales the lower border) */
    double jitter[2][CX_PHANTOM_LUNG_CTRL][2];  /* per-control-point shape variation */
    double body_half_width, neck_half_width, shoulder_y;
    double spine_half_width, vertebra_height, vertebra_phase;
    double trachea_x, carina_y;
    double rib_top, rib_spacing, rib_growth, rib_slope, rib_curve, rib_half_width;
    double clavicle_y, clavicle_curve;      /* height of the sternal end; S-curve amplitude */
    double breast;                          /* soft-tissue density of breast shadows; 0 = none */
    double bubble;                          /* stomach gas bubble radius; 0 = none */
    double size;                            /* body size (scales the whole anatomy) */
    uint64_t vessel_seed;                   /* the vascular tree is grown from this */
} cx_phantom_anatomy;

/* How one image was taken. */
typedef struct {
    double angle;          /* rotation, radians */
    double shift_x, shift_y, zoom;
    double inspiration;    /* relative change of lung height */
    int ap;                /* 1: AP (bedside) view, 0: PA */
} cx_phantom_pose;

/* Tabular fields, in metadata order; bit k of cx_phantom_case.missing marks field k absent. */
enum {
    CX_PH_AGE, CX_PH_SEX, CX_PH_SPO2, CX_PH_TEMPERATURE, CX_PH_CRP, CX_PH_LDH, CX_PH_LYMPHOCYTES, CX_PH_WBC,
    CX_PH_COMORBIDITIES, CX_PH_NFIELDS
};

/* Everything drawn for one image. The record's metadata and pixels are functions of this. */
typedef struct {
    int dataset;           /* CX_PHANTOM_PROGNOSIS or CX_PHANTOM_BRIXIA */
    int patient;           /* 1-based within its data set */
    int visit;             /* this image's number for its patient, 1..3 */
    int center;            /* 0-based */
    int day;               /* days since the patient's first image */
    int age, male;
    int comorbidities;     /* count; which ones: bits of comorbidity_set */
    unsigned comorbidity_set;
    int prognosis;         /* 0 mild, 1 severe */
    double severity;       /* latent lung severity at this image */
    double change;         /* severity change since the previous image (0 at the first) */
    int brixia[CX_PHANTOM_ZONES];
    double spo2, temperature, crp, ldh, lymphocytes, wbc;
    unsigned missing;
    char note[CX_PHANTOM_NOTE_MAX];
    cx_phantom_anatomy anatomy;
    cx_phantom_pose pose;
    uint64_t image_seed;   /* opacity texture and acquisition noise of this image */
} cx_phantom_case;

struct cx_phantom {
    cx_phantom_config cfg;
    cx_phantom_center centers[CX_PHANTOM_MAX_CENTERS];
    size_t npatients;      /* over the emitted data sets: prognosis patients first */
    size_t *first;         /* [npatients + 1]: record index of each patient's first image */
};

/* Independent random streams: every draw comes from cx_rng_split(seed, cx_phantom_key(...)). */
enum {
    CX_PH_KEY_CENTERS = 1, CX_PH_KEY_VISITS, CX_PH_KEY_PATIENT, CX_PH_KEY_OUTCOME, CX_PH_KEY_ANATOMY,
    CX_PH_KEY_COURSE, CX_PH_KEY_IMAGE, CX_PH_KEY_ZONES, CX_PH_KEY_TABULAR, CX_PH_KEY_NOTE
};
uint64_t cx_phantom_key(int dataset, int patient, int visit, int purpose);

/* phantom_model.c */
void cx_phantom_centers_draw(const cx_phantom_config *cfg, cx_phantom_center *centers);
int cx_phantom_visits(const cx_phantom_config *cfg, int dataset, int patient);   /* images, 1..3 */
/* Record i: which data set, patient and visit, then every draw of that image. */
void cx_phantom_case_draw(const cx_phantom *ph, size_t i, cx_phantom_case *c);
int cx_phantom_brixia_global(const cx_phantom_case *c);
int cx_phantom_brixia_class(int global);

/* phantom_anatomy.c */
void cx_phantom_anatomy_draw(uint64_t seed, int dataset, int patient, int male, cx_phantom_anatomy *a);
/* The anatomy as this image shows it (view, breath); *stretch is the lungs' vertical stretch. */
void cx_phantom_project(cx_phantom_anatomy *a, const cx_phantom_pose *pose, double *stretch);
/* Outline of lung s (0 right, 1 left) as a closed polygon in anatomy coordinates; returns the
 * number of points (at most CX_PHANTOM_OUTLINE_MAX). */
int cx_phantom_lung_outline(const cx_phantom_anatomy *a, int s, double (*pts)[2]);
/* Attenuation at (x, y) of all but the lungs' air; see phantom_anatomy.c. */
double cx_phantom_tissue(const cx_phantom_anatomy *a, int ap, double px, double x, double y, double lung,
                         double *thickness);

/* phantom_render.c */
/* Render c at cfg's size and bit depth: image ([H, W] u8 or u16) and mask ([H, W] u8, 1 = lung)
 * must be allocated; zones (H * W bytes, or NULL) receives 0 outside the lungs, 1..6 for
 * zones A..F. */
void cx_phantom_render(const cx_phantom_config *cfg, const cx_phantom_center *center, const cx_phantom_case *c,
                       cx_tensor *image, cx_tensor *mask, uint8_t *zones);

/* Small numeric helpers shared by the phantom's files. */
static inline double ph_clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }
static inline double ph_sq(double v) { return v * v; }
static inline double ph_smoothstep(double e0, double e1, double x) {
    double t = ph_clamp((x - e0) / (e1 - e0), 0, 1);
    return t * t * (3 - 2 * t);
}
static inline double ph_gauss(cx_rng *r, double mean, double sd) { return mean + sd * cx_rng_normal(r); }

#endif
