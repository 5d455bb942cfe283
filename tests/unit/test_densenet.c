/* The DenseNets against torchvision 0.14 (tests/ref/gen_densenet.py): per model, the state_dict
 * keys and shapes in order, one training-mode pass at 64x64 on deterministic weights (pooled
 * features, logits, the gradients of L = sum(probe * logits) for the input and for parameters of
 * the first, a middle and the last layers, features.norm0's running statistics after the pass)
 * and an eval-mode pass at the smallest input, 32x32; and the registry's contract through
 * tests/unit/parity.h (parameter counts with and without the classifier, gray-scale
 * input, the input limits, no default dropout).
 *
 * Tolerance: a tensor matches when every kept value is within rtol * max|reference| + ATOL of
 * the reference. The scale is the tensor's largest magnitude, not each element's: through 120 to
 * 200 layers an element's rounding error follows the sums it came from, not its own size. The
 * reference is float64 rounded to float32, so what is measured is the C code's float32 error;
 * ATOL only lets an all-zero reference pass. Outputs and running statistics: rtol 1e-4. The
 * classifier's gradients (the probe times the pooled features: forward values): 1e-3. Every
 * other gradient: 5e-2, because in float32 some ReLU inputs land within rounding of zero and
 * switch sides, and training-mode BatchNorm spreads each switched unit's gradient over its
 * channel and on to every earlier layer: PyTorch's own float32 gradients differ from its float64
 * ones by 4e-3 to 2e-2 on these tensors (the fixture records it as float32_error, and its
 * generator refuses a tensor above half the tolerance), ours by as much. A wrong op, a
 * concatenation in the wrong order or a missing term errs by tens of percent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "detweights.h"
#include "io/stream.h"
#include "models/densenet.h"
#include "nn/nn.h"
#include "test.h"
#include "parity.h"

#define FIXTURE "tests/data/ref/densenet.cxs"
#define FORWARD_RTOL 1e-4
#define CLASSIFIER_GRAD_RTOL 1e-3
#define TRAIN_GRAD_RTOL 5e-2   /* tests/ref/gen_densenet.py's TRAIN_GRAD_RTOL */
#define ATOL 1e-8

static const cx_backbone *find_densenet(const char *name) {
    for (int i = 0; i < cx_densenet_backbone_count; i++)
        if (!strcmp(cx_densenet_backbones[i].name, name)) return &cx_densenet_backbones[i];
    printf("  (no backbone %s)\n", name);
    return NULL;
}

static parity_tolerance densenet_tolerance(const cx_record *r, const char *name) {
    double rtol = strncmp(name, "grad/", 5) && strcmp(name, "input_grad") ? FORWARD_RTOL
                  : !strncmp(name, "grad/classifier.", 16)               ? CLASSIFIER_GRAD_RTOL
                                                                         : TRAIN_GRAD_RTOL;
    return (parity_tolerance){rtol, ATOL};
}

static void check_record(const cx_backbone *b, const char *id) {
    if (b) parity_check_backbone(FIXTURE, id, b->build, densenet_tolerance);
}

/* Parity at 64x64 (training) and at the smallest input (eval, the size of the @32 record). */
static void check_densenet(const char *name) {
    const cx_backbone *b = find_densenet(name);
    char at_min[64];
    snprintf(at_min, sizeof at_min, "%s@32", name);
    check_record(b, name);
    if (b && CHECK_EQ(b->min_input, 32)) check_record(b, at_min);
}

TEST(densenet121_matches_torchvision) { check_densenet("densenet121"); }
TEST(densenet161_matches_torchvision) { check_densenet("densenet161"); }
TEST(densenet169_matches_torchvision) { check_densenet("densenet169"); }
TEST(densenet201_matches_torchvision) { check_densenet("densenet201"); }

TEST(densenet_registry_entries_keep_the_published_counts) {
    CHECK_EQ(cx_densenet_backbone_count, 4);
    for (int i = 0; i < cx_densenet_backbone_count; i++) {
        const cx_backbone *b = &cx_densenet_backbones[i];
        CHECK(!strcmp(b->source, "torchvision") && !strcmp(b->classifier, "classifier."));
        backbone_check_counts(b);
    }
}

/* Gray input, the input limits and the dropout concern only the stem, the geometry of the
 * transitions and the head, which every depth shares: densenet121 checks them. */
TEST(densenet_gray_input_limits_and_no_default_dropout) {
    const cx_backbone *b = find_densenet("densenet121");
    if (!CHECK(b != NULL)) return;
    backbone_check_gray_input(b);
    backbone_check_input_limits(b);
    backbone_check_default_dropout(b, b->build, false, false);
}
