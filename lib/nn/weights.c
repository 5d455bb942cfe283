#include "nn/weights.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"

static bool skipped(const char *name, const cx_weights_options *opt) {
    for (const char *const *p = opt->skip_prefixes; p && *p; p++)
        if (!strncmp(name, *p, strlen(*p))) return true;
    return false;
}

static bool is_counter(const char *name) {
    const char *suffix = ".num_batches_tracked";
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && !strcmp(name + n - k, suffix);
}

/* How a file tensor maps onto a model variable: 1 exact, 2 RGB filters to sum, 0 mismatch. */
static int fits(const cx_graph *g, cx_var v, const cx_st_entry *e, const cx_weights_options *opt) {
    int nd = cx_graph_ndim(g, v);
    const int64_t *shape = cx_graph_shape(g, v);
    if (e->ndim != nd) return 0;
    bool same = true;
    for (int i = 0; i < nd; i++) same &= e->shape[i] == shape[i];
    if (same) return 1;
    if (opt->sum_rgb_filters && nd == 4 && shape[1] == 1 && e->shape[1] == 3 && e->shape[0] == shape[0] &&
        e->shape[2] == shape[2] && e->shape[3] == shape[3])
        return 2;
    return 0;
}

int cx_weights_load(cx_graph *g, const char *path, const cx_weights_options *options) {
    static const cx_weights_options strict = {0};
    const cx_weights_options *opt = options ? options : &strict;
    cx_st_file *f = cx_st_open(path);
    if (!f) return cx_errcode();
    cx_graph_alloc_state(g);
    int rc = 0, nstate = cx_graph_state_count(g);
    /* check everything first, so that a bad file changes nothing */
    for (int i = 0; i < nstate && !rc; i++) {
        cx_var v = cx_graph_state_var(g, i);
        const char *name = cx_graph_name(g, v);
        if (skipped(name, opt)) continue;
        const cx_st_entry *e = cx_st_find(f, name);
        if (!e) {
            if (!opt->allow_missing)
                rc = cx_err(EX_DATAERR, "%s: missing key \"%s\" (the model has it, the file does not)", path, name);
            continue;
        }
        if (!fits(g, v, e, opt)) {
            char have[160], want[160];
            cx_shape_format(have, sizeof have, e->ndim, e->shape);
            cx_shape_format(want, sizeof want, cx_graph_ndim(g, v), cx_graph_shape(g, v));
            rc = cx_err(EX_DATAERR, "%s: key \"%s\" has shape %s in the file, %s in the model%s", path, name, have, want,
                        e->ndim == 4 && e->shape[1] == 3 ? " (sum_rgb_filters loads RGB filters into a gray model)" : "");
        }
    }
    for (size_t i = 0; i < cx_st_count(f) && !rc && !opt->allow_unexpected; i++) {
        const char *name = cx_st_entry_at(f, i)->name;
        if (!skipped(name, opt) && !is_counter(name) && cx_graph_find(g, name) < 0)
            rc = cx_err(EX_DATAERR, "%s: unexpected key \"%s\" (the file has it, the model does not)", path, name);
    }
    for (int i = 0; i < nstate && !rc; i++) {
        cx_var v = cx_graph_state_var(g, i);
        const char *name = cx_graph_name(g, v);
        const cx_st_entry *e = skipped(name, opt) ? NULL : cx_st_find(f, name);
        if (!e) continue;
        float *dst = cx_graph_data(g, v);
        if (fits(g, v, e, opt) == 1) {
            rc = cx_st_read_f32(f, name, dst, e->numel);
        } else {
            float *rgb = cx_malloc((size_t)e->numel * sizeof *rgb);
            rc = cx_st_read_f32(f, name, rgb, e->numel);
            int64_t out = e->shape[0], k = e->shape[2] * e->shape[3];
            for (int64_t o = 0; o < out && !rc; o++)
                for (int64_t j = 0; j < k; j++)
                    dst[o * k + j] = rgb[(o * 3 + 0) * k + j] + rgb[(o * 3 + 1) * k + j] + rgb[(o * 3 + 2) * k + j];
            free(rgb);
        }
    }
    cx_st_close(f);
    return rc;
}

int cx_weights_save(const cx_graph *g, const char *path, const cx_value *metadata) {
    int n = cx_graph_state_count(g);
    cx_st_tensor *t = cx_calloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++) {
        cx_var v = cx_graph_state_var(g, i);
        t[i].name = cx_graph_name(g, v);
        t[i].dtype = CX_ST_F32;
        t[i].ndim = cx_graph_ndim(g, v);
        memcpy(t[i].shape, cx_graph_shape(g, v), (size_t)t[i].ndim * sizeof t[i].shape[0]);
        t[i].data = cx_graph_data(g, v);
    }
    int rc = cx_st_write(path, t, (size_t)n, metadata);
    free(t);
    return rc;
}
