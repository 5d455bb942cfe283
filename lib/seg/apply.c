/* Prediction, post-processing, and the measures of a segmentation against the truth. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/components.h"
#include "image/resize.h"
#include "seg/seg.h"

#define FRACTION_LOW 0.1
#define FRACTION_HIGH 0.7

int cx_seg_predict(cx_seg_net *n, const float *plane, int h, int w, float *prob) {
    int S = n->model.size;
    cx_graph_set_batch(n->g, 1);
    cx_seg_prepare_image(plane, h, w, S, cx_graph_data(n->g, n->x));
    int rc = cx_graph_forward(n->g, 0, 0);
    if (rc) return rc;
    const float *logits = cx_graph_data(n->g, n->logits);
    float *p = cx_malloc((size_t)S * S * sizeof *p);
    for (int64_t k = 0; k < (int64_t)S * S; k++) p[k] = 1 / (1 + expf(-logits[k]));
    /* back to the image's size on the probabilities: the threshold then cuts a smooth surface,
     * where nearest on a thresholded mask would leave S-sized stairs */
    cx_resize(p, S, S, prob, h, w);
    free(p);
    return 0;
}

void cx_seg_post_defaults(cx_seg_post *p) {
    p->threshold = 0.5;
    p->keep = 2;
    p->min_fraction = 0.02;
}

int cx_seg_postprocess(const float *prob, int h, int w, const cx_seg_post *p, uint8_t *mask, cx_seg_quality *q) {
    int64_t n = (int64_t)h * w;
    for (int64_t k = 0; k < n; k++) mask[k] = prob[k] >= p->threshold ? 255 : 0;
    cx_component *comps = NULL;
    int rc = cx_components(mask, h, w, NULL, &comps, &q->components);
    free(comps);
    if (rc) return rc;
    q->kept = cx_mask_keep_largest(mask, h, w, p->keep, (int64_t)ceil(p->min_fraction * (double)n));
    cx_mask_fill_holes(mask, h, w);
    int64_t area = 0;
    for (int64_t k = 0; k < n; k++) area += mask[k] != 0;
    q->fraction = (double)area / (double)n;
    return 0;
}

typedef enum { QC_OK, QC_NO_LUNG, QC_FRACTION, QC_COMPONENTS } qc_kind;

/* The first thing wrong with a mask, in the order of cx_seg_suspicious. */
static qc_kind classify(const cx_seg_quality *q, int keep) {
    if (q->kept == 0) return QC_NO_LUNG;
    if (q->fraction < FRACTION_LOW || q->fraction > FRACTION_HIGH) return QC_FRACTION;
    return q->kept != keep ? QC_COMPONENTS : QC_OK;
}

const char *cx_seg_qc(const cx_seg_quality *q, int keep) {
    static const char *const names[] = {"ok", "no_lung", "fraction", "components"};
    return names[classify(q, keep)];
}

const char *cx_seg_suspicious(const cx_seg_quality *q, int keep, char *buf, int size) {
    switch (classify(q, keep)) {
    case QC_NO_LUNG: snprintf(buf, (size_t)size, "no lung found"); break;
    case QC_FRACTION:
        snprintf(buf, (size_t)size, "lung fraction %.3f outside [%g, %g]", q->fraction, FRACTION_LOW, FRACTION_HIGH);
        break;
    case QC_COMPONENTS:
        snprintf(buf, (size_t)size, "%d lung component%s, not %d", q->kept, q->kept == 1 ? "" : "s", keep);
        break;
    case QC_OK: return NULL;
    }
    return buf;
}

void cx_mask_overlap(const uint8_t *a, const uint8_t *b, int64_t n, double *dice, double *iou) {
    int64_t inter = 0, na = 0, nb = 0;
    for (int64_t k = 0; k < n; k++) {
        bool x = a[k] != 0, y = b[k] != 0;
        inter += x && y;
        na += x;
        nb += y;
    }
    *dice = na + nb ? 2.0 * (double)inter / (double)(na + nb) : 1.0;
    *iou = na + nb ? (double)inter / (double)(na + nb - inter) : 1.0;
}

double cx_box_iou(const int a[4], const int b[4]) {
    double area_a = (double)(a[2] > a[0] ? a[2] - a[0] : 0) * (a[3] > a[1] ? a[3] - a[1] : 0);
    double area_b = (double)(b[2] > b[0] ? b[2] - b[0] : 0) * (b[3] > b[1] ? b[3] - b[1] : 0);
    int ix = (a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);
    int iy = (a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);
    double inter = ix > 0 && iy > 0 ? (double)ix * iy : 0;
    double uni = area_a + area_b - inter;
    return uni > 0 ? inter / uni : 0;
}

bool cx_seg_box_from_value(const cx_value *v, int box[4]) {
    double d[4];
    if (!v) return false;
    if (v->kind == CX_ARRAY) {
        if (v->u.arr.n != 4) return false;
        for (int i = 0; i < 4; i++)
            if (!cx_value_number(&v->u.arr.items[i], &d[i])) return false;
    } else if (v->kind == CX_STR) {
        const char *p = v->u.s;
        for (int i = 0; i < 4; i++) {
            while (*p == ' ' || *p == ',') p++;
            char *end;
            d[i] = strtod(p, &end);
            if (end == p) return false;
            p = end;
        }
        while (*p == ' ' || *p == ',') p++;
        if (*p) return false;
    } else {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        if (!isfinite(d[i]) || fabs(d[i]) > 1e9) return false;
        box[i] = (int)lround(d[i]);
    }
    return true;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void cx_score_summarize(double *x, int64_t n, cx_score_summary *s) {
    memset(s, 0, sizeof *s);
    s->n = n;
    if (n <= 0) {
        s->mean = s->median = s->p5 = s->worst5_mean = s->min = NAN;
        return;
    }
    qsort(x, (size_t)n, sizeof *x, compare_double);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    s->mean = sum / (double)n;
    s->median = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
    double pos = 0.05 * (double)(n - 1);
    int64_t lo = (int64_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    s->p5 = x[lo] + (pos - (double)lo) * (x[hi] - x[lo]);
    int64_t worst = (int64_t)ceil(0.05 * (double)n);
    if (worst < 1) worst = 1;
    double wsum = 0;
    for (int64_t i = 0; i < worst; i++) wsum += x[i];
    s->worst5_mean = wsum / (double)worst;
    s->min = x[0];
}
