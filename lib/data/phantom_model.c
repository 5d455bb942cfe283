/* Phantom population and clinical model: centers, patients, the course of their disease,
 * Brixia zone scores, prognosis, laboratory values, missing fields and the clinical note.
 *
 * A patient has a latent lung severity raised by age, comorbidity and their center's case
 * mix (and higher in the Brixia data set, whose patients come from sub-intensive and
 * intensive care, as in BRIXIA). Each image adds noise to it; follow-ups drift up for
 * patients with a severe outcome and down for mild ones. Zone scores threshold the image's
 * severity plus a zone bias (lower zones more often), a per-patient zone propensity and the
 * patient's left-right asymmetry. The outcome is a logistic draw from the first image's
 * Brixia global score, age, comorbidities and SpO2, shifted per center.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "data/phantom_internal.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

uint64_t cx_phantom_key(int dataset, int patient, int visit, int purpose) {
    return ((uint64_t)dataset << 56) | ((uint64_t)patient << 24) | ((uint64_t)visit << 8) | (uint64_t)purpose;
}

static double sigmoid(double x) { return 1 / (1 + exp(-x)); }

/* Latin hypercube over the centers: each parameter's range is cut into as many strata as
 * there are centers and every center gets a different stratum, so any two centers differ
 * and the spread is the same whatever the seed. */
void cx_phantom_centers_draw(const cx_phantom_config *cfg, cx_phantom_center *centers) {
    static const struct { size_t offset; double lo, hi; } ranges[] = {
        {offsetof(cx_phantom_center, contrast), 0.85, 1.15},
        {offsetof(cx_phantom_center, brightness), -0.06, 0.06},
        {offsetof(cx_phantom_center, gamma), 0.75, 1.35},
        {offsetof(cx_phantom_center, heel), -0.06, 0.06},
        {offsetof(cx_phantom_center, sharpen), 0.0, 0.8},
        {offsetof(cx_phantom_center, blur), 0.3, 1.3},
        {offsetof(cx_phantom_center, noise), 0.003, 0.015},
        {offsetof(cx_phantom_center, zoom), 0.9, 1.06},
        {offsetof(cx_phantom_center, shift_x), -0.05, 0.05},
        {offsetof(cx_phantom_center, shift_y), -0.04, 0.05},
        {offsetof(cx_phantom_center, severity_shift), -0.45, 0.45},
        {offsetof(cx_phantom_center, risk_shift), -1.2, 1.2},
        {offsetof(cx_phantom_center, ap_rate), 0.05, 0.6},
        {offsetof(cx_phantom_center, missing_rate), 0.04, 0.10},
        {offsetof(cx_phantom_center, weight), 0.6, 1.4},
    };
    cx_rng r = cx_rng_split(cfg->seed, cx_phantom_key(0, 0, 0, CX_PH_KEY_CENTERS));
    int n = cfg->centers;
    int64_t stratum[CX_PHANTOM_MAX_CENTERS];
    memset(centers, 0, (size_t)n * sizeof *centers);
    for (int k = 0; k < COUNT(ranges); k++) {
        for (int c = 0; c < n; c++) stratum[c] = c;
        cx_rng_shuffle_i64(&r, stratum, n);
        for (int c = 0; c < n; c++) {
            double *field = (double *)((char *)&centers[c] + ranges[k].offset);
            *field = ranges[k].lo + (ranges[k].hi - ranges[k].lo) * (stratum[c] + cx_rng_uniform(&r)) / n;
        }
    }
}

int cx_phantom_visits(const cx_phantom_config *cfg, int dataset, int patient) {
    cx_rng r = cx_rng_split(cfg->seed, cx_phantom_key(dataset, patient, 0, CX_PH_KEY_VISITS));
    double u = cx_rng_uniform(&r);
    return u < 0.55 ? 1 : u < 0.85 ? 2 : 3;
}

int cx_phantom_brixia_global(const cx_phantom_case *c) {
    int g = 0;
    for (int z = 0; z < CX_PHANTOM_ZONES; z++) g += c->brixia[z];
    return g;
}

int cx_phantom_brixia_class(int global) { return global < 5 ? 0 : global < 9 ? 1 : global < 14 ? 2 : 3; }

static const char *const comorbidity_names[] = {"hypertension", "diabetes", "coronary artery disease", "COPD",
                                                "obesity", "chronic kidney disease", "cancer"};
static const double comorbidity_rates[] = {0.40, 0.20, 0.15, 0.10, 0.18, 0.08, 0.07};

/* What is fixed for a patient. */
typedef struct {
    int center, age, male, comorbidities;
    unsigned comorbidity_set;
    double severity;                        /* latent, before the per-image noise */
    double asymmetry;                       /* right-left difference of involvement */
    double zone_propensity[CX_PHANTOM_ZONES];
} patient_state;

static void patient_draw(const cx_phantom *ph, int dataset, int patient, patient_state *pt) {
    cx_rng r = cx_rng_split(ph->cfg.seed, cx_phantom_key(dataset, patient, 0, CX_PH_KEY_PATIENT));
    double total = 0, u;
    for (int c = 0; c < ph->cfg.centers; c++) total += ph->centers[c].weight;
    u = cx_rng_uniform(&r) * total;
    pt->center = ph->cfg.centers - 1;
    for (int c = 0; c < ph->cfg.centers; c++) {
        if (u < ph->centers[c].weight) {
            pt->center = c;
            break;
        }
        u -= ph->centers[c].weight;
    }
    pt->age = (int)lround(ph_clamp(ph_gauss(&r, 64, 14), 22, 95));
    pt->male = cx_rng_uniform(&r) < 0.6;
    pt->comorbidities = 0;
    pt->comorbidity_set = 0;
    for (int k = 0; k < COUNT(comorbidity_names); k++)
        if (cx_rng_uniform(&r) < comorbidity_rates[k] * ph_clamp(1 + (pt->age - 60) / 30.0, 0.3, 2.0)) {
            pt->comorbidity_set |= 1u << k;
            pt->comorbidities++;
        }
    pt->severity = 0.85 * cx_rng_normal(&r) + 0.30 * (pt->age - 64) / 14.0 + 0.12 * (pt->comorbidities - 1.3) +
                   ph->centers[pt->center].severity_shift + (dataset == CX_PHANTOM_BRIXIA ? 0.3 : 0);
    pt->asymmetry = ph_gauss(&r, 0, 0.3);
    for (int z = 0; z < CX_PHANTOM_ZONES; z++) pt->zone_propensity[z] = ph_gauss(&r, 0, 0.35);
}

/* The course: severity noise and the days since the previous image. */
static double course_noise(const cx_phantom *ph, int dataset, int patient, int visit, int *gap_days) {
    cx_rng r = cx_rng_split(ph->cfg.seed, cx_phantom_key(dataset, patient, visit, CX_PH_KEY_COURSE));
    double e = ph_gauss(&r, 0, 0.3);
    *gap_days = visit == 1 ? 0 : 2 + (int)cx_rng_below(&r, 8);
    return e;
}

static void zones_draw(const cx_phantom *ph, const patient_state *pt, int dataset, int patient, int visit,
                       double severity, int *brixia) {
    cx_rng r = cx_rng_split(ph->cfg.seed, cx_phantom_key(dataset, patient, visit, CX_PH_KEY_ZONES));
    static const double zone_bias[3] = {-0.45, 0.0, 0.35};   /* upper, middle, lower thirds */
    for (int z = 0; z < CX_PHANTOM_ZONES; z++) {
        double side = z < 3 ? -pt->asymmetry : pt->asymmetry;
        double l = severity + zone_bias[z % 3] + side + pt->zone_propensity[z] + ph_gauss(&r, 0, 0.45);
        brixia[z] = (l > -0.35) + (l > 0.35) + (l > 1.05);
    }
}

/* Vital signs and blood tests at an image, from its severity; rounded as charted. */
static void tabular_draw(const cx_phantom *ph, int dataset, int patient, int visit, double s, double missing_rate,
                         cx_phantom_case *c) {
    cx_rng r = cx_rng_split(ph->cfg.seed, cx_phantom_key(dataset, patient, visit, CX_PH_KEY_TABULAR));
    c->spo2 = ph_clamp(round(97 - 2.4 * pow(fmax(s + 0.6, 0), 1.4) + ph_gauss(&r, 0, 1.5)), 70, 100);
    c->temperature = round(10 * ph_clamp(ph_gauss(&r, 37.1 + 0.45 * s, 0.6), 35.5, 41.0)) / 10;
    c->crp = round(10 * ph_clamp(exp(ph_gauss(&r, 3.3 + 0.55 * s, 0.7)), 0.5, 350)) / 10;
    c->ldh = round(ph_clamp(250 * exp(ph_gauss(&r, 0.22 * s, 0.25)), 100, 1500));
    c->lymphocytes = round(100 * ph_clamp(exp(ph_gauss(&r, log(1.1) - 0.22 * s, 0.35)), 0.1, 5.0)) / 100;
    c->wbc = round(10 * ph_clamp(exp(ph_gauss(&r, log(7.0) + 0.12 * s, 0.3)), 1.5, 30)) / 10;
    c->missing = 0;
    for (int k = 0; k < CX_PH_NFIELDS; k++)
        if (cx_rng_uniform(&r) < missing_rate) c->missing |= 1u << k;
}

/* ---- the clinical note ---- */

typedef struct { char *buf; size_t len, cap; } text;

static void say(text *t, const char *fmt, ...) {
    if (t->len + 1 >= t->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0) t->len = t->len + (size_t)n < t->cap ? t->len + (size_t)n : t->cap - 1;
}

static const char *pick(cx_rng *r, const char *const *words, int n) { return words[cx_rng_below(r, (uint64_t)n)]; }

static void say_list(text *t, const char *const *items, int n) {
    for (int k = 0; k < n; k++) say(t, "%s%s", k == 0 ? "" : k == n - 1 ? " and " : ", ", items[k]);
}

static void note_symptoms(text *t, cx_rng *r, const cx_phantom_case *c) {
    static const char *const fever[] = {"fever", "pyrexia", "high temperature"};
    static const char *const cough[] = {"dry cough", "cough", "productive cough"};
    static const char *const dyspnoea[] = {"dyspnoea", "shortness of breath", "breathlessness", "difficulty breathing"};
    static const char *const other[] = {"fatigue", "myalgia", "anosmia", "headache", "sore throat", "diarrhoea"};
    static const double other_rates[] = {0.35, 0.20, 0.12, 0.15, 0.10, 0.08};
    const char *said[12];
    int n = 0;
    if (cx_rng_uniform(r) < (c->temperature >= 37.8 ? 0.85 : 0.2)) said[n++] = pick(r, fever, COUNT(fever));
    if (cx_rng_uniform(r) < 0.65) said[n++] = pick(r, cough, COUNT(cough));
    if (cx_rng_uniform(r) < sigmoid(1.3 * c->severity + 0.2)) said[n++] = pick(r, dyspnoea, COUNT(dyspnoea));
    for (int k = 0; k < COUNT(other); k++)
        if (cx_rng_uniform(r) < other_rates[k]) said[n++] = other[k];
    if (n == 0) said[n++] = pick(r, cough, COUNT(cough));
    say_list(t, said, n);
}

static void note_oxygen(text *t, cx_rng *r, const cx_phantom_case *c) {
    static const char *const none[] = {" SpO2 %d%% on room air.", " Saturating well on room air.",
                                       " No oxygen requirement."};
    static const char *const low[] = {" SpO2 %d%% on room air, started on oxygen via nasal cannula.",
                                      " Requires low-flow oxygen by nasal prongs.",
                                      " Mild hypoxaemia (SpO2 %d%%), supplemental oxygen started."};
    static const char *const high[] = {" SpO2 %d%% despite oxygen, switched to a Venturi mask.",
                                       " Hypoxaemic, high oxygen requirement.", " Oxygen via reservoir mask, SpO2 %d%%."};
    static const char *const severe[] = {" Severe hypoxaemia (SpO2 %d%%), high-flow oxygen started.",
                                         " Marked respiratory distress, escalating oxygen therapy.",
                                         " Desaturating to %d%% on high-flow oxygen."};
    /* a reading taken at another moment than the charted one */
    double seen = ph_clamp(round(c->spo2 + ph_gauss(r, 0, 1.5)), 70, 100);
    const char *fmt = seen >= 95 ? pick(r, none, COUNT(none)) : seen >= 90 ? pick(r, low, COUNT(low))
                    : seen >= 85 ? pick(r, high, COUNT(high)) : pick(r, severe, COUNT(severe));
    say(t, fmt, (int)seen);
}

static void note_history(text *t, cx_rng *r, const cx_phantom_case *c) {
    static const char *const healthy[] = {" No significant past medical history.", " Previously healthy.",
                                          " No known comorbidities."};
    static const char *const intro[] = {" History of ", " Past history: ", " Known "};
    if (cx_rng_uniform(r) < 0.15) return;   /* not every note records it */
    if (c->comorbidities == 0) {
        say(t, "%s", pick(r, healthy, COUNT(healthy)));
        return;
    }
    const char *items[COUNT(comorbidity_names)];
    int n = 0;
    for (int k = 0; k < COUNT(comorbidity_names); k++)
        if (c->comorbidity_set & (1u << k)) items[n++] = comorbidity_names[k];
    say(t, "%s", pick(r, intro, COUNT(intro)));
    say_list(t, items, n);
    say(t, ".");
}

static void note_labs(text *t, cx_rng *r, const cx_phantom_case *c) {
    if (cx_rng_uniform(r) < 0.5) say(t, " CRP %.0f mg/L, lymphocytes %.2f x10^9/L.", c->crp, c->lymphocytes);
    if (c->crp > 60 && cx_rng_uniform(r) < 0.7) say(t, " Raised inflammatory markers.");
    if (c->lymphocytes < 1.0 && cx_rng_uniform(r) < 0.6) say(t, " Lymphopenia.");
}

static void note_film(text *t, cx_rng *r, const cx_phantom_case *c) {
    static const char *const clear[] = {" Chest X-ray: lungs clear.", " CXR: no focal consolidation.",
                                        " Radiograph without acute findings."};
    static const char *const faint[] = {" CXR: subtle bilateral interstitial changes.",
                                        " Chest film shows faint hazy opacities at the bases.",
                                        " CXR: mild reticular shadowing."};
    static const char *const patchy[] = {" CXR: patchy bilateral ground-glass opacities.",
                                         " Bilateral peripheral opacities on the chest film.",
                                         " CXR: multifocal hazy opacities, predominantly peripheral."};
    static const char *const extensive[] = {" CXR: bilateral ground-glass opacities with consolidation.",
                                            " Extensive bilateral patchy consolidation.",
                                            " CXR: widespread bilateral airspace opacities."};
    static const char *const diffuse[] = {" CXR: diffuse bilateral consolidation, white lung appearance.",
                                          " Severe bilateral airspace disease on the chest film.",
                                          " CXR: dense bilateral consolidation involving all zones."};
    if (c->pose.ap && cx_rng_uniform(r) < 0.8) say(t, " Portable AP film.");
    if (cx_rng_uniform(r) < 0.25) return;   /* the report came later */
    /* a reader's impression, not a score */
    double seen = cx_phantom_brixia_global(c) + ph_gauss(r, 0, 2.5);
    say(t, "%s", seen < 1 ? pick(r, clear, COUNT(clear)) : seen < 5 ? pick(r, faint, COUNT(faint))
               : seen < 9 ? pick(r, patchy, COUNT(patchy)) : seen < 14 ? pick(r, extensive, COUNT(extensive))
               : pick(r, diffuse, COUNT(diffuse)));
}

static void note_write(const cx_phantom *ph, cx_phantom_case *c) {
    cx_rng r = cx_rng_split(ph->cfg.seed, cx_phantom_key(c->dataset, c->patient, c->visit, CX_PH_KEY_NOTE));
    text t = {c->note, 0, sizeof c->note};
    c->note[0] = 0;
    if (c->visit == 1) {
        static const char *const openings[] = {"%d-year-old %s admitted with ", "%d y/o %s presenting with ",
                                               "%d-year-old %s referred from the emergency department with "};
        say(&t, pick(&r, openings, COUNT(openings)), c->age, c->male ? "man" : "woman");
        note_symptoms(&t, &r, c);
        say(&t, " for %d days.", 2 + (int)cx_rng_below(&r, 9));
        note_oxygen(&t, &r, c);
        note_history(&t, &r, c);
        note_labs(&t, &r, c);
    } else {
        static const char *const intros[] = {"Follow-up film, day %d.", "Control radiograph on day %d.",
                                             "Repeat chest X-ray, day %d."};
        static const char *const worse[] = {" Worsening", " Progression of opacities", " Clinical deterioration"};
        static const char *const better[] = {" Improving", " Partial resolution", " Reduced opacities"};
        static const char *const same[] = {" Stable appearance", " No significant change", " Unchanged"};
        say(&t, pick(&r, intros, COUNT(intros)), c->day);
        double seen = c->change + ph_gauss(&r, 0, 0.35);
        say(&t, "%s since the previous film.", seen > 0.2 ? pick(&r, worse, COUNT(worse))
                                                : seen < -0.2 ? pick(&r, better, COUNT(better)) : pick(&r, same, COUNT(same)));
        note_oxygen(&t, &r, c);
        note_labs(&t, &r, c);
    }
    note_film(&t, &r, c);
}

/* ---- one record ---- */

void cx_phantom_case_draw(const cx_phantom *ph, size_t i, cx_phantom_case *c) {
    /* the patient whose images include record i: last p with first[p] <= i */
    size_t lo = 0, hi = ph->npatients;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ph->first[mid] <= i) lo = mid; else hi = mid;
    }
    int both = ph->cfg.datasets == CX_PHANTOM_BOTH;
    memset(c, 0, sizeof *c);
    if (both) {
        c->dataset = lo < (size_t)ph->cfg.patients ? CX_PHANTOM_PROGNOSIS : CX_PHANTOM_BRIXIA;
        c->patient = (int)(lo % (size_t)ph->cfg.patients) + 1;
    } else {
        c->dataset = ph->cfg.datasets;
        c->patient = (int)lo + 1;
    }
    c->visit = (int)(i - ph->first[lo]) + 1;
    int ds = c->dataset, pid = c->patient;

    patient_state pt;
    patient_draw(ph, ds, pid, &pt);
    const cx_phantom_center *center = &ph->centers[pt.center];
    c->center = pt.center;
    c->age = pt.age;
    c->male = pt.male;
    c->comorbidities = pt.comorbidities;
    c->comorbidity_set = pt.comorbidity_set;

    /* the outcome follows from the first image and the patient */
    int gap;
    double first_severity = pt.severity + course_noise(ph, ds, pid, 1, &gap);
    zones_draw(ph, &pt, ds, pid, 1, first_severity, c->brixia);
    tabular_draw(ph, ds, pid, 1, first_severity, center->missing_rate, c);
    cx_rng r = cx_rng_split(ph->cfg.seed, cx_phantom_key(ds, pid, 0, CX_PH_KEY_OUTCOME));
    double risk = -0.10 + center->risk_shift + 0.85 * (cx_phantom_brixia_global(c) - 8) / 4.5 +
                  0.35 * (pt.age - 64) / 14.0 + 0.25 * (pt.comorbidities - 1.3) + 0.25 * (95 - c->spo2) / 4;
    c->prognosis = cx_rng_uniform(&r) < sigmoid(risk);
    double drift = (c->prognosis ? 0.35 : -0.30) + ph_gauss(&r, 0, 0.15);

    double previous = first_severity;
    c->severity = first_severity;
    for (int v = 2; v <= c->visit; v++) {
        previous = c->severity;
        c->severity = pt.severity + (v - 1) * drift + course_noise(ph, ds, pid, v, &gap);
        c->day += gap;
    }
    c->change = c->severity - previous;
    if (c->visit > 1) {
        zones_draw(ph, &pt, ds, pid, c->visit, c->severity, c->brixia);
        tabular_draw(ph, ds, pid, c->visit, c->severity, center->missing_rate, c);
    }

    cx_rng img = cx_rng_split(ph->cfg.seed, cx_phantom_key(ds, pid, c->visit, CX_PH_KEY_IMAGE));
    c->pose.ap = cx_rng_uniform(&img) < ph_clamp(center->ap_rate + 0.12 * c->severity, 0.02, 0.95);
    c->pose.angle = ph_gauss(&img, 0, 0.03);
    c->pose.shift_x = ph_gauss(&img, 0, 0.015);
    c->pose.shift_y = ph_gauss(&img, 0, 0.015);
    c->pose.zoom = ph_gauss(&img, 1, 0.02);
    c->pose.inspiration = ph_clamp(ph_gauss(&img, 0, 0.03), -0.08, 0.08);
    c->image_seed = cx_rng_u64(&img);
    cx_phantom_anatomy_draw(ph->cfg.seed, ds, pid, pt.male, &c->anatomy);
    note_write(ph, c);
}
