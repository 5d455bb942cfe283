#include "train/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/stream.h"

const char *const cx_mt_kept_fields[4] = {"patient", "center", "dataset", "fold"};

/* Append one record's input floats at dst (NULL: only find the shape), checking its shape
 * against d's (or setting d's at the first record). */
static int record_input(cx_mt_data *d, const cx_record *rec, const char *input, float *dst, const char *file) {
    char names[256];
    snprintf(names, sizeof names, "%s", input);
    bool several = strchr(names, ',') != NULL;
    /* one tensor: its whole shape must match, before anything is copied */
    const cx_tensor *one = several || !dst ? NULL : cx_record_tensor(rec, input);
    if (one) {
        if (one->ndim != d->ndim || memcmp(one->shape, d->shape, (size_t)d->ndim * sizeof d->shape[0])) {
            char have[128], want[128];
            cx_shape_format(have, sizeof have, one->ndim, one->shape);
            cx_shape_format(want, sizeof want, d->ndim, d->shape);
            return cx_err(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.%s: shape %s, the first record had %s", file,
                          (long long)rec->index, rec->id, input, have, want);
        }
    }
    int64_t total = 0;
    int part = 0;
    for (char *save = NULL, *name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save), part++) {
        if (part == CX_TRAIN_MAX_PARTS) return cx_err(EX_USAGE, "input %s: more than %d tensors", input, CX_TRAIN_MAX_PARTS);
        const cx_tensor *t = cx_record_tensor(rec, name);
        if (!t) return cx_err(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.%s: missing", file, (long long)rec->index, rec->id, name);
        if (several && t->ndim != 1)
            return cx_err(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.%s: not 1-D (several inputs are concatenated)",
                          file, (long long)rec->index, rec->id, name);
        int64_t n = cx_tensor_numel(t);
        if (!dst) {
            d->part_numel[part] = n;
            if (!several) d->ndim = t->ndim, memcpy(d->shape, t->shape, sizeof t->shape);
        } else if (n != d->part_numel[part]) {
            return cx_err(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.%s: %lld values, the first record had %lld", file,
                          (long long)rec->index, rec->id, name, (long long)n, (long long)d->part_numel[part]);
        } else {
            for (int64_t i = 0; i < n; i++) dst[total + i] = (float)cx_tensor_get(t, i);
        }
        total += n;
    }
    if (!dst) {
        if (several) d->ndim = 1, d->shape[0] = total;
        d->numel = total;
        d->nparts = part;
    }
    return 0;
}

int cx_mt_data_load(cx_mt_data *d, const char *const *paths, int npaths, const char *input, const cx_task *tasks,
                    int ntasks) {
    memset(d, 0, sizeof *d);
    d->ntasks = ntasks;
    d->headers = cx_array();
    int64_t cap = 0;
    int rc = 0;
    cx_record rec;
    cx_record_init(&rec);
    for (int p = 0; p < npaths && !rc; p++) {
        cx_reader *rd = cx_reader_open(paths[p]);
        if (!rd) {
            rc = cx_errcode();
            break;
        }
        cx_array_push(&d->headers, cx_value_copy(cx_reader_header(rd)));
        const char *file = cx_reader_name(rd);
        int got;
        while ((got = cx_reader_next(rd, &rec)) == 1) {
            if (d->n == 0 && (rc = record_input(d, &rec, input, NULL, file))) break;
            if (d->n == cap) {
                cap = cap ? 2 * cap : 64;
                d->x = cx_realloc(d->x, (size_t)(cap * d->numel) * sizeof *d->x);
                d->label = cx_realloc(d->label, (size_t)(cap * (ntasks ? ntasks : 1)) * sizeof *d->label);
                d->id = cx_realloc(d->id, (size_t)cap * sizeof *d->id);
                d->keep = cx_realloc(d->keep, (size_t)cap * sizeof *d->keep);
            }
            if ((rc = record_input(d, &rec, input, d->x + d->n * d->numel, file))) break;
            for (int t = 0; t < ntasks; t++) {
                double y;
                int has = cx_task_label(&tasks[t], &rec.meta, &y);
                if (has < 0) {
                    rc = cx_err_prefix("%s: record %lld (id \"%s\")", file, (long long)rec.index, rec.id);
                    break;
                }
                d->label[d->n * ntasks + t] = has ? y : NAN;
            }
            if (rc) break;
            d->id[d->n] = cx_strdup(rec.id);
            d->keep[d->n] = cx_map();
            for (int k = 0; k < 4; k++) {
                const cx_value *v = cx_map_get(&rec.meta, cx_mt_kept_fields[k]);
                if (v) cx_map_set(&d->keep[d->n], cx_mt_kept_fields[k], cx_value_copy(v));
            }
            d->n++;
        }
        if (!rc && got < 0) rc = cx_errcode();
        cx_reader_close(rd);
    }
    cx_record_free(&rec);
    if (!rc && d->n == 0) rc = cx_err(EX_DATAERR, "%s: no records", npaths == 1 ? paths[0] : "the inputs");
    return rc;
}

void cx_mt_data_free(cx_mt_data *d) {
    for (int64_t i = 0; i < d->n; i++) {
        free(d->id[i]);
        cx_value_free(&d->keep[i]);
    }
    free(d->x);
    free(d->label);
    free(d->id);
    free(d->keep);
    cx_value_free(&d->headers);
    memset(d, 0, sizeof *d);
}

int64_t cx_mt_data_labelled(const cx_mt_data *d, int t) {
    int64_t count = 0;
    for (int64_t i = 0; i < d->n; i++) count += !isnan(d->label[i * d->ntasks + t]);
    return count;
}
