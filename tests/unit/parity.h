/* Comparing a graph with a PyTorch reference record, as the fixtures of tests/ref/gen_*.py hold
 * them: the reference tensors (each keeping every step-th value of the flat tensor, the step in
 * meta "steps"), the state_dict as meta "keys" ("name:d0,d1,...", in declaration order), and for
 * a backbone the pass to run (meta "input" [N, C, H, W], "num_classes", "mode" train|eval,
 * optional "aux_logits").
 *
 * A tensor matches when every kept value is within rtol * max|reference| + atol of the
 * reference. The scale is the tensor's largest magnitude, not each element's: through a deep
 * network an element's rounding error follows the sums it came from, not its own size. atol only
 * lets an all-zero reference pass. Each test file states why its rtol is what it is. */
#ifndef CX_TEST_PARITY_H
#define CX_TEST_PARITY_H

#include <stdbool.h>
#include <stdint.h>

#include "io/stream.h"
#include "models/backbone.h"

typedef struct {
    double rtol, atol;
} parity_tolerance;

/* The record `id` of a fixture; a CHECK fails (and says so) when the file or record is missing. */
bool parity_read(const char *fixture, const char *id, cx_record *r);
/* meta[table][name] as a number, or def when either is absent. */
double parity_meta_number(const cx_record *r, const char *table, const char *name, double def);
/* meta[key] as n integers. */
bool parity_meta_ints(const cx_value *meta, const char *key, int64_t *out, size_t n);
/* Every parameter and buffer of g, in declaration order, against a list of "name:d0,d1,...". */
void parity_check_keys(const cx_graph *g, const cx_value *keys, const char *what);
/* got holds the n values of the graph's tensor; compare those the record kept of `name`. */
void parity_check_kept(const cx_record *r, const char *name, const float *got, int64_t n, parity_tolerance tol);
/* got against want, both n values, within rtol * max|want| + atol. */
bool parity_close_to_scale(const float *got, const float *want, int64_t n, parity_tolerance tol, const char *what);
int64_t parity_param_count(const cx_graph *g);

/* The tolerance for the reference tensor `name` ("features", "logits", "aux1", "aux2",
 * "input_grad", "grad/<param>", "running/<buffer>") of record r. */
typedef parity_tolerance (*parity_tolerance_fn)(const cx_record *r, const char *name);
typedef int (*parity_build_fn)(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out);

/* Record `id` of `fixture`: build as its meta says (dropout 0), check the state_dict keys when it
 * lists them, fill with detweights, run forward in its mode and, in training mode, backward from
 * L = sum(probe * logits) (+ the auxiliary heads' probes); compare every tensor it holds. */
void parity_check_backbone(const char *fixture, const char *id, parity_build_fn build, parity_tolerance_fn tolerance);
/* parity_check_backbone on tests/data/ref/tvsmall.cxs (gen_tvsmall.py: MobileNetV2, the
 * ShuffleNets, GoogLeNet), with that fixture's tolerance policy (parity.c says why). */
void parity_check_tvsmall(const char *id, parity_build_fn build);

/* The registry's contract, the same for every backbone family:
 * with 1000 classes the parameter count is b->params_1000; features only, it lacks exactly the
 * classifier Linear (feature_dim * 1000 + 1000), none of its keys start with b->classifier and
 * the features are [N, feature_dim]. */
void backbone_check_counts(const cx_backbone *b);
/* A 1-channel build gives [N, feature_dim] features equal to the 3-channel build's on the
 * input replicated to 3 channels, once its first convolution holds the sum of the colour
 * filters (eval mode, detweights). */
void backbone_check_gray_input(const cx_backbone *b);
/* b->min_input square builds and runs a training step; one pixel less in either side, or 2
 * channels, is an EX_USAGE error that says why. */
void backbone_check_input_limits(const cx_backbone *b);
/* The registry's build with drop_rate < 0 (the architecture's default) against
 * without_dropout's with drop_rate 0: in training mode the same features, and the same logits
 * (and auxiliary logits) exactly when has_default_dropout is false; in eval mode the same. */
void backbone_check_default_dropout(const cx_backbone *b, parity_build_fn without_dropout, bool aux_logits,
                                    bool has_default_dropout);

#endif
