/* Deterministic weights, the C side of tests/ref/detweights.py (see there for the formula):
 * parity tests fill a graph with values PyTorch can reproduce exactly, so they commit only
 * small reference outputs. */
#ifndef CX_DETWEIGHTS_H
#define CX_DETWEIGHTS_H

#include <stdint.h>

#include "nn/graph.h"

void cx_det_tensor(const char *name, int ndim, const int64_t *shape, float *out);
/* Every parameter and buffer of g. */
void cx_det_fill(cx_graph *g);

#endif
