/* Checks every backbone family of tests/ref/gen_tvsmall.py shares (test_mobilenet.c,
 * test_shufflenet.c, test_googlenet.c): parity with torchvision on detweights, the state_dict
 * keys, the published parameter counts, gray-scale input, the input limits and the default
 * dropout. Nothing here is specific to those families but the fixture's path. */
#ifndef CX_TVSMALL_PARITY_H
#define CX_TVSMALL_PARITY_H

#include <stdbool.h>

#include "models/backbone.h"

typedef int (*tvs_build_fn)(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out);

/* Record `id` of tests/data/ref/tvsmall.cxs: build as its meta says (input shape, num_classes,
 * aux_logits, dropout 0), fill with detweights, run forward in its mode and, in training mode,
 * backward from its probes; compare everything the record holds, and the state_dict keys,
 * names, shapes and order, when it lists them. */
void tvs_check_parity(const char *id, tvs_build_fn build);
/* With 1000 classes the parameter count is b->params_1000; features only, it lacks exactly the
 * classifier Linear (feature_dim * 1000 + 1000), none of its keys start with b->classifier and
 * the features are [N, feature_dim]. */
void tvs_check_counts(const cx_backbone *b);
/* A 1-channel build gives [N, feature_dim] features equal to the 3-channel build's on the
 * input replicated to 3 channels, once its first convolution holds the sum of the colour
 * filters (eval mode, detweights). */
void tvs_check_gray_input(const cx_backbone *b);
/* b->min_input square builds and runs a training step; one pixel less in either side, or 2
 * channels, is an EX_USAGE error that says why. */
void tvs_check_input_limits(const cx_backbone *b);
/* The registry's build with drop_rate < 0 (the architecture's default) against
 * without_dropout's with drop_rate 0: in training mode the same features, and the same logits
 * (and auxiliary logits) exactly when has_default_dropout is false; in eval mode the same. */
void tvs_check_default_dropout(const cx_backbone *b, tvs_build_fn without_dropout, bool aux_logits,
                               bool has_default_dropout);

#endif
