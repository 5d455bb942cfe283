/* Two-pass labelling with union-find: the first pass gives each foreground pixel the smallest
 * provisional label among its already-visited 8-neighbours (W, NW, N, NE), merging the labels
 * it sees; the second pass renumbers the roots in raster order of their first pixel. */
#include "image/components.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static int32_t find_root(int32_t *parent, int32_t a) {
    while (parent[a] != a) {
        parent[a] = parent[parent[a]];   /* path halving */
        a = parent[a];
    }
    return a;
}

/* Join the sets of a and b; the smaller root becomes the root. Returns it. */
static int32_t join(int32_t *parent, int32_t a, int32_t b) {
    a = find_root(parent, a);
    b = find_root(parent, b);
    if (a < b) parent[b] = a;
    else parent[a] = b;
    return a < b ? a : b;
}

int cx_components(const uint8_t *mask, int h, int w, int32_t *labels, cx_component **comps, int *ncomps) {
    *comps = NULL;
    *ncomps = 0;
    if (h < 0 || w < 0) return cx_err(EX_SOFTWARE, "components: bad mask size %dx%d", w, h);
    size_t npix = (size_t)h * (size_t)w;
    int32_t *lab = labels ? labels : cx_malloc((npix ? npix : 1) * sizeof *lab);
    size_t cap = 1024, used = 1;   /* provisional label 0 is the background */
    int32_t *parent = cx_malloc(cap * sizeof *parent);
    parent[0] = 0;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            if (!mask[i]) {
                lab[i] = 0;
                continue;
            }
            int32_t best = 0;
            int32_t seen[4];
            int nseen = 0;
            if (x > 0 && lab[i - 1]) seen[nseen++] = lab[i - 1];
            if (y > 0) {
                const int32_t *up = lab + i - w;
                if (x > 0 && up[-1]) seen[nseen++] = up[-1];
                if (up[0]) seen[nseen++] = up[0];
                if (x + 1 < w && up[1]) seen[nseen++] = up[1];
            }
            if (nseen == 0) {
                if (used == cap) parent = cx_realloc(parent, (cap *= 2) * sizeof *parent);
                parent[used] = (int32_t)used;
                best = (int32_t)used++;
            } else {
                best = seen[0];
                for (int k = 1; k < nseen; k++) best = join(parent, best, seen[k]);
            }
            lab[i] = best;
        }
    }
    /* Final numbers: a root gets the next number when the raster scan first meets it. */
    int32_t *final = cx_calloc(used, sizeof *final);
    size_t ccap = 16;
    cx_component *out = cx_malloc(ccap * sizeof *out);
    int n = 0;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            if (!lab[i]) continue;
            int32_t root = find_root(parent, lab[i]);
            if (!final[root]) {
                if ((size_t)n == ccap) out = cx_realloc(out, (ccap *= 2) * sizeof *out);
                out[n] = (cx_component){.area = 0, .x0 = x, .y0 = y, .x1 = x + 1, .y1 = y + 1};
                final[root] = ++n;
            }
            cx_component *c = &out[final[root] - 1];
            c->area++;
            if (x < c->x0) c->x0 = x;
            if (x >= c->x1) c->x1 = x + 1;
            c->y1 = y + 1;
            lab[i] = final[root];
        }
    }
    free(final);
    free(parent);
    if (lab != labels) free(lab);
    *comps = out;
    *ncomps = n;
    return 0;
}

/* Indices of the k largest components with area >= min_area, largest first, ties to the
 * earlier label; returns how many (<= k) into order[]. */
static int largest(const cx_component *comps, int n, int k, int64_t min_area, int *order) {
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (comps[i].area < min_area) continue;
        /* insertion into the top-k list: strictly larger moves ahead, so ties keep label order */
        int pos = m;
        while (pos > 0 && comps[order[pos - 1]].area < comps[i].area) pos--;
        if (pos >= k) continue;
        int end = m < k ? m : k - 1;
        for (int j = end; j > pos; j--) order[j] = order[j - 1];
        order[pos] = i;
        if (m < k) m++;
    }
    return m;
}

int cx_mask_keep_largest(uint8_t *mask, int h, int w, int k, int64_t min_area) {
    size_t npix = (size_t)h * (size_t)w;
    int32_t *lab = cx_malloc((npix ? npix : 1) * sizeof *lab);
    cx_component *comps;
    int n;
    if (k < 0 || cx_components(mask, h, w, lab, &comps, &n)) {
        free(lab);
        return 0;
    }
    int *order = cx_malloc((size_t)(k > 0 ? k : 1) * sizeof *order);
    int kept = largest(comps, n, k, min_area, order);
    uint8_t *keep = cx_calloc((size_t)n + 1, 1);   /* by label */
    for (int j = 0; j < kept; j++) keep[order[j] + 1] = 1;
    for (size_t i = 0; i < npix; i++) mask[i] = keep[lab[i]] ? 255 : 0;
    free(keep);
    free(order);
    free(comps);
    free(lab);
    return kept;
}

void cx_mask_fill_holes(uint8_t *mask, int h, int w) {
    if (h <= 0 || w <= 0) return;
    size_t npix = (size_t)h * (size_t)w;
    /* Flood the background from the border (4-connected) with an explicit stack. */
    uint8_t *outside = cx_calloc(npix, 1);
    int32_t *stack = cx_malloc(npix * sizeof *stack);
    size_t top = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (y != 0 && y != h - 1 && x != 0 && x != w - 1) continue;
            size_t i = (size_t)y * w + x;
            if (!mask[i] && !outside[i]) {
                outside[i] = 1;
                stack[top++] = (int32_t)i;
            }
        }
    while (top > 0) {
        size_t i = (size_t)stack[--top];
        int y = (int)(i / (size_t)w), x = (int)(i % (size_t)w);
        size_t next[4];
        int nn = 0;
        if (x > 0) next[nn++] = i - 1;
        if (x + 1 < w) next[nn++] = i + 1;
        if (y > 0) next[nn++] = i - w;
        if (y + 1 < h) next[nn++] = i + w;
        for (int k = 0; k < nn; k++)
            if (!mask[next[k]] && !outside[next[k]]) {
                outside[next[k]] = 1;
                stack[top++] = (int32_t)next[k];
            }
    }
    for (size_t i = 0; i < npix; i++) mask[i] = outside[i] ? 0 : 255;
    free(stack);
    free(outside);
}

int cx_mask_box(const uint8_t *mask, int h, int w, int k, int box[4]) {
    cx_component *comps;
    int n;
    if (k <= 0 || cx_components(mask, h, w, NULL, &comps, &n)) return 0;
    int *order = cx_malloc((size_t)k * sizeof *order);
    int used = largest(comps, n, k, 0, order);
    for (int j = 0; j < used; j++) {
        const cx_component *c = &comps[order[j]];
        if (j == 0 || c->x0 < box[0]) box[0] = c->x0;
        if (j == 0 || c->y0 < box[1]) box[1] = c->y0;
        if (j == 0 || c->x1 > box[2]) box[2] = c->x1;
        if (j == 0 || c->y1 > box[3]) box[3] = c->y1;
    }
    free(order);
    free(comps);
    return used;
}
