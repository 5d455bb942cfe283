/* Phantom chest X-rays: the built-in default data (cxr-phantom(1)).
 *
 * A deterministic generator of synthetic frontal chest radiographs with exact lung masks,
 * Brixia zone opacities (hence a known Brixia score), a prognosis drawn from a model in
 * which lung severity, age and clinical variables raise the risk, patients with one to
 * three images, and centers that differ in acquisition (contrast, gamma, noise, blur,
 * field of view) and class balance. Record i depends only on (config, i): records can be
 * made in any order or in parallel and are bit-identical across runs and thread counts.
 */
#ifndef CX_DATA_PHANTOM_H
#define CX_DATA_PHANTOM_H

#include <stddef.h>
#include <stdint.h>

#include "io/stream.h"

typedef enum { CX_PHANTOM_PROGNOSIS = 1, CX_PHANTOM_BRIXIA = 2, CX_PHANTOM_BOTH = 3 } cx_phantom_datasets;

typedef struct {
    uint64_t seed;          /* default 1 */
    int width, height;      /* 64..1024 each; default 128 x 128 */
    int bits;               /* 8 or 16; default 8 */
    int patients;           /* patients per data set; default 60 */
    int centers;            /* >= 6; default 6 */
    cx_phantom_datasets datasets;  /* default both, from disjoint patients */
    int all_labels;         /* 0 (default): each data set carries only its own task's labels,
                               as in MDMT; 1: every record carries every label (for M3H) */
} cx_phantom_config;

void cx_phantom_defaults(cx_phantom_config *cfg);
/* Check ranges; EX_USAGE recorded naming the field. */
int cx_phantom_validate(const cx_phantom_config *cfg);

typedef struct cx_phantom cx_phantom;
cx_phantom *cx_phantom_new(const cx_phantom_config *cfg);
size_t cx_phantom_count(const cx_phantom *ph);   /* records (images) in all */
/* Record i: id, metadata and tensors "image" ([H, W], u8 or u16) and "mask" ([H, W] u8,
 * 1 = lung). Metadata fields are listed in cxr-phantom(1). rec must have been initialised once
 * (cx_record_init); its old contents are freed, as cx_reader_next does. */
int cx_phantom_record(const cx_phantom *ph, size_t i, cx_record *rec);
void cx_phantom_free(cx_phantom *ph);

#endif
