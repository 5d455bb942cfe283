/* Training and evaluation data in memory: the records of one or more streams (the union of the
 * data sets), each as its input floats and its task labels.
 *
 * Input: the record's tensors named by a comma list. One name: any tensor, converted to f32
 * (a crop [C, S, S], an embedding [F]); several names: 1-D tensors concatenated in that order.
 * Every record must give the same shape. A crop stream of 224x224 3-channel f32 crops takes
 * about 0.6 GB per 1000 records. */
#ifndef CX_TRAIN_DATA_H
#define CX_TRAIN_DATA_H

#include <stdint.h>

#include "core/tensor.h"
#include "core/value.h"
#include "train/task.h"

#define CX_TRAIN_MAX_PARTS 8

typedef struct {
    int64_t n;                 /* records */
    int ndim;                  /* per-sample input shape */
    int64_t shape[CX_MAX_DIMS];
    int64_t numel;             /* floats per sample */
    int nparts;                /* the input tensors, in the order named */
    int64_t part_numel[CX_TRAIN_MAX_PARTS];   /* floats of each; they sum to numel */
    float *x;                  /* [n, numel] */
    int ntasks;
    double *label;             /* [n, ntasks]; NaN: no label for that task */
    char **id;                 /* [n] */
    cx_value *keep;            /* [n] maps: the record's patient, center, dataset, fold when present */
    cx_value headers;          /* the input streams' headers, for provenance */
} cx_mt_data;

/* Read every record of paths[0..npaths) ("-" standard input). 0, or an error code recorded
 * naming the file, record and field (a missing tensor, another shape, a bad label). */
int cx_mt_data_load(cx_mt_data *d, const char *const *paths, int npaths, const char *input, const cx_task *tasks,
                    int ntasks);
void cx_mt_data_free(cx_mt_data *d);

/* Records with a label for task t. */
int64_t cx_mt_data_labelled(const cx_mt_data *d, int t);

/* The metadata fields a predictions stream keeps from its input. */
extern const char *const cx_mt_kept_fields[4];

#endif
