/* Separable resampling: each axis is a table of taps (first source index and weights per
 * output index); a horizontal pass over the rows, then a vertical pass over whole rows. */
#include "image/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef enum { AXIS_LINEAR, AXIS_AREA } axis_kind;

/* Output o reads source indices first[o] .. first[o] + ntaps - 1 with weight[o * ntaps + k]
 * (trailing weights are 0 where an output needs fewer taps; first + k stays inside the source). */
typedef struct {
    int ntaps;
    int *first;      /* [out] */
    float *weight;   /* [out, ntaps] */
} axis_taps;

/* PyTorch's align_corners=False mapping: source position (o + 0.5) * in / out - 0.5, clamped
 * below at 0, between floor(pos) and the next index (the last index when floor(pos) is last). */
static void linear_taps(int in, int out, axis_taps *t) {
    t->ntaps = in > 1 ? 2 : 1;
    t->first = cx_malloc((size_t)out * sizeof *t->first);
    t->weight = cx_calloc((size_t)out * (size_t)t->ntaps, sizeof *t->weight);
    float scale = (float)in / (float)out;
    for (int o = 0; o < out; o++) {
        float pos = scale * ((float)o + 0.5f) - 0.5f;
        if (pos < 0) pos = 0;
        int i0 = (int)pos;
        if (i0 >= in - 1) {   /* the last index stands alone */
            t->first[o] = in - t->ntaps;
            t->weight[(size_t)o * t->ntaps + t->ntaps - 1] = 1.0f;
            continue;
        }
        float frac = pos - (float)i0;
        t->first[o] = i0;
        t->weight[(size_t)o * 2] = 1.0f - frac;
        t->weight[(size_t)o * 2 + 1] = frac;
    }
}

/* Output o covers [o * in / out, (o + 1) * in / out) of the source; a source pixel i weighs the
 * length of [i, i + 1) inside it, divided by the footprint length in / out. Positions are kept
 * in units of 1 / out so that every bound is an exact integer. */
static void area_taps(int in, int out, axis_taps *t) {
    t->ntaps = (in + out - 1) / out + 1;   /* a footprint of length in/out touches at most this many */
    if (t->ntaps > in) t->ntaps = in;
    t->first = cx_malloc((size_t)out * sizeof *t->first);
    t->weight = cx_calloc((size_t)out * (size_t)t->ntaps, sizeof *t->weight);
    for (int o = 0; o < out; o++) {
        int64_t lo = (int64_t)o * in, hi = (int64_t)(o + 1) * in;   /* footprint, units of 1/out */
        int first = (int)(lo / out);
        int end = (int)((hi + out - 1) / out);                       /* exclusive */
        if (first > in - t->ntaps) first = in - t->ntaps;             /* keep all taps inside */
        t->first[o] = first;
        for (int i = (int)(lo / out); i < end; i++) {
            int64_t a = (int64_t)i * out, b = (int64_t)(i + 1) * out;
            int64_t covered = (b < hi ? b : hi) - (a > lo ? a : lo);
            t->weight[(size_t)o * t->ntaps + (i - first)] = (float)((double)covered / (double)in);
        }
    }
}

static void taps_init(axis_kind kind, int in, int out, axis_taps *t) {
    if (kind == AXIS_LINEAR) linear_taps(in, out, t);
    else area_taps(in, out, t);
}

static void taps_free(axis_taps *t) {
    free(t->first);
    free(t->weight);
}

/* src [sh, sw] -> dst [dh, dw], horizontal kind kw, vertical kind kh. */
static void resample(const float *src, int sh, int sw, float *dst, int dh, int dw, axis_kind kh, axis_kind kw) {
    axis_taps th, tw;
    taps_init(kh, sh, dh, &th);
    taps_init(kw, sw, dw, &tw);
    float *rows = cx_malloc((size_t)sh * (size_t)dw * sizeof *rows);   /* [sh, dw] */
    for (int y = 0; y < sh; y++) {
        const float *in = src + (size_t)y * sw;
        float *out = rows + (size_t)y * dw;
        for (int x = 0; x < dw; x++) {
            const float *w = tw.weight + (size_t)x * tw.ntaps;
            const float *s = in + tw.first[x];
            float acc = 0;
            for (int k = 0; k < tw.ntaps; k++) acc += w[k] * s[k];
            out[x] = acc;
        }
    }
    for (int y = 0; y < dh; y++) {
        float *out = dst + (size_t)y * dw;
        memset(out, 0, (size_t)dw * sizeof *out);
        for (int k = 0; k < th.ntaps; k++) {
            float w = th.weight[(size_t)y * th.ntaps + k];
            if (w == 0) continue;
            const float *in = rows + (size_t)(th.first[y] + k) * dw;
            for (int x = 0; x < dw; x++) out[x] += w * in[x];
        }
    }
    free(rows);
    taps_free(&th);
    taps_free(&tw);
}

void cx_resize_bilinear(const float *src, int sh, int sw, float *dst, int dh, int dw) {
    resample(src, sh, sw, dst, dh, dw, AXIS_LINEAR, AXIS_LINEAR);
}

void cx_resize_area(const float *src, int sh, int sw, float *dst, int dh, int dw) {
    resample(src, sh, sw, dst, dh, dw, AXIS_AREA, AXIS_AREA);
}

void cx_resize(const float *src, int sh, int sw, float *dst, int dh, int dw) {
    resample(src, sh, sw, dst, dh, dw, dh < sh ? AXIS_AREA : AXIS_LINEAR, dw < sw ? AXIS_AREA : AXIS_LINEAR);
}

void cx_resize_nearest_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw) {
    for (int y = 0; y < dh; y++) {
        const uint8_t *in = src + (size_t)((int64_t)y * sh / dh) * sw;
        for (int x = 0; x < dw; x++) dst[(size_t)y * dw + x] = in[(int64_t)x * sw / dw];
    }
}
