/* Phantom chest X-rays: configuration, record index and metadata (see phantom.h). The model
 * of patients and disease is in phantom_model.c, the pictures in phantom_render.c. */
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "data/phantom_internal.h"

void cx_phantom_defaults(cx_phantom_config *cfg) {
    *cfg = (cx_phantom_config){.seed = 1, .width = 128, .height = 128, .bits = 8, .patients = 60, .centers = 6,
                               .datasets = CX_PHANTOM_BOTH, .all_labels = 0};
}

static int check_range(const char *field, long long v, long long lo, long long hi) {
    if (v < lo || v > hi) return cx_err(EX_USAGE, "phantom: %s %lld out of range %lld..%lld", field, v, lo, hi);
    return 0;
}

int cx_phantom_validate(const cx_phantom_config *cfg) {
    int rc;
    if ((rc = check_range("width", cfg->width, 64, 1024)) || (rc = check_range("height", cfg->height, 64, 1024)) ||
        (rc = check_range("patients", cfg->patients, 1, CX_PHANTOM_MAX_PATIENTS)) ||
        (rc = check_range("centers", cfg->centers, 6, CX_PHANTOM_MAX_CENTERS)) ||
        (rc = check_range("datasets", cfg->datasets, CX_PHANTOM_PROGNOSIS, CX_PHANTOM_BOTH)) ||
        (rc = check_range("all_labels", cfg->all_labels, 0, 1)))
        return rc;
    if (cfg->bits != 8 && cfg->bits != 16) return cx_err(EX_USAGE, "phantom: bits %d is neither 8 nor 16", cfg->bits);
    return 0;
}

cx_phantom *cx_phantom_new(const cx_phantom_config *cfg) {
    if (cx_phantom_validate(cfg)) return NULL;
    cx_phantom *ph = cx_calloc(1, sizeof *ph);
    ph->cfg = *cfg;
    cx_phantom_centers_draw(cfg, ph->centers);
    int nsets = cfg->datasets == CX_PHANTOM_BOTH ? 2 : 1;
    ph->npatients = (size_t)nsets * (size_t)cfg->patients;
    ph->first = cx_malloc((ph->npatients + 1) * sizeof *ph->first);
    ph->first[0] = 0;
    for (size_t p = 0; p < ph->npatients; p++) {
        int dataset = nsets == 2 ? (p < (size_t)cfg->patients ? CX_PHANTOM_PROGNOSIS : CX_PHANTOM_BRIXIA) : cfg->datasets;
        int patient = (int)(p % (size_t)cfg->patients) + 1;
        ph->first[p + 1] = ph->first[p] + (size_t)cx_phantom_visits(cfg, dataset, patient);
    }
    return ph;
}

size_t cx_phantom_count(const cx_phantom *ph) { return ph->first[ph->npatients]; }

void cx_phantom_free(cx_phantom *ph) {
    if (!ph) return;
    free(ph->first);
    free(ph);
}

/* Tabular fields: name and value, in metadata order (index = CX_PH_* field). */
static cx_value tabular_value(const cx_phantom_case *c, int field) {
    switch (field) {
    case CX_PH_AGE: return cx_int(c->age);
    case CX_PH_SEX: return cx_str(c->male ? "M" : "F");
    case CX_PH_SPO2: return cx_int((int64_t)c->spo2);
    case CX_PH_TEMPERATURE: return cx_float(c->temperature);
    case CX_PH_CRP: return cx_float(c->crp);
    case CX_PH_LDH: return cx_int((int64_t)c->ldh);
    case CX_PH_LYMPHOCYTES: return cx_float(c->lymphocytes);
    case CX_PH_WBC: return cx_float(c->wbc);
    default: return cx_int(c->comorbidities);
    }
}
static const char *const tabular_names[CX_PH_NFIELDS] = {"age", "sex", "spo2", "temperature", "crp", "ldh",
                                                         "lymphocytes", "wbc", "comorbidities"};

static void put_metadata(const cx_phantom *ph, const cx_phantom_case *c, const uint8_t *mask, cx_value *meta) {
    const char *prefix = c->dataset == CX_PHANTOM_PROGNOSIS ? "pg" : "bx";
    char buf[64];
    snprintf(buf, sizeof buf, "%s-%04d", prefix, c->patient);
    cx_map_set(meta, "dataset", cx_str(c->dataset == CX_PHANTOM_PROGNOSIS ? "prognosis" : "brixia"));
    cx_map_set(meta, "patient", cx_str(buf));
    cx_map_set(meta, "visit", cx_int(c->visit));
    cx_map_set(meta, "day", cx_int(c->day));
    snprintf(buf, sizeof buf, "center-%c", 'A' + c->center);
    cx_map_set(meta, "center", cx_str(buf));
    cx_map_set(meta, "view", cx_str(c->pose.ap ? "AP" : "PA"));
    if (c->dataset == CX_PHANTOM_PROGNOSIS || ph->cfg.all_labels) cx_map_set(meta, "prognosis", cx_int(c->prognosis));
    if (c->dataset == CX_PHANTOM_BRIXIA || ph->cfg.all_labels) {
        for (int z = 0; z < CX_PHANTOM_ZONES; z++) {
            snprintf(buf, sizeof buf, "brixia_%c", 'A' + z);
            cx_map_set(meta, buf, cx_int(c->brixia[z]));
        }
        int global = cx_phantom_brixia_global(c);
        cx_map_set(meta, "brixia_global", cx_int(global));
        cx_map_set(meta, "brixia_class", cx_int(cx_phantom_brixia_class(global)));
    }
    for (int k = 0; k < CX_PH_NFIELDS; k++)
        if (!(c->missing & (1u << k))) cx_map_set(meta, tabular_names[k], tabular_value(c, k));
    cx_map_set(meta, "note", cx_str(c->note));

    int W = ph->cfg.width, H = ph->cfg.height, x0 = W, y0 = H, x1 = 0, y1 = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if (mask[(size_t)y * W + x]) {
                if (x < x0) x0 = x;
                if (x >= x1) x1 = x + 1;
                if (y < y0) y0 = y;
                y1 = y + 1;
            }
    if (x1 == 0) x0 = y0 = 0;   /* no lung in view: an empty box */
    cx_value box = cx_array();
    cx_array_push(&box, cx_int(x0));
    cx_array_push(&box, cx_int(y0));
    cx_array_push(&box, cx_int(x1));
    cx_array_push(&box, cx_int(y1));
    cx_map_set(meta, "lung_bbox", box);
}

int cx_phantom_record(const cx_phantom *ph, size_t i, cx_record *rec) {
    size_t count = cx_phantom_count(ph);
    if (i >= count) return cx_err(EX_SOFTWARE, "phantom: record %zu out of range (%zu records)", i, count);
    cx_phantom_case *c = cx_malloc(sizeof *c);
    cx_phantom_case_draw(ph, i, c);
    cx_record_free(rec);
    char id[64];
    snprintf(id, sizeof id, "%s-%04d-%d", c->dataset == CX_PHANTOM_PROGNOSIS ? "pg" : "bx", c->patient, c->visit);
    cx_record_set_id(rec, id);
    int64_t shape[2] = {ph->cfg.height, ph->cfg.width};
    if (!cx_record_add_tensor(rec, "image", ph->cfg.bits == 16 ? CX_U16 : CX_U8, 2, shape) ||
        !cx_record_add_tensor(rec, "mask", CX_U8, 2, shape)) {
        free(c);
        return cx_errcode();
    }
    cx_tensor *image = cx_record_tensor(rec, "image"), *mask = cx_record_tensor(rec, "mask");
    cx_phantom_render(&ph->cfg, &ph->centers[c->center], c, image, mask, NULL);
    put_metadata(ph, c, mask->data, &rec->meta);
    free(c);
    return 0;
}
