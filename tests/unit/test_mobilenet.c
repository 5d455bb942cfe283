/* mobilenet_v2 against torchvision 0.14 (tests/ref/gen_tvsmall.py) and the registry's contract. */
#include "models/mobilenet.h"
#include "test.h"
#include "parity.h"

static const cx_backbone *mobilenet_v2 = &cx_mobilenet_backbones[0];

TEST(mobilenet_v2_matches_torchvision_training_step) { parity_check_tvsmall("mobilenet_v2", mobilenet_v2->build); }

TEST(mobilenet_v2_matches_torchvision_at_its_smallest_input) {
    CHECK_EQ(mobilenet_v2->min_input, 32);   /* the size of the @32 reference */
    parity_check_tvsmall("mobilenet_v2@32", mobilenet_v2->build);
    backbone_check_input_limits(mobilenet_v2);
}

TEST(mobilenet_v2_matches_torchvision_on_odd_sizes) { parity_check_tvsmall("mobilenet_v2@80x48", mobilenet_v2->build); }

TEST(mobilenet_v2_parameter_counts_and_gray_input) {
    CHECK_EQ(cx_mobilenet_backbone_count, 1);
    backbone_check_counts(mobilenet_v2);
    backbone_check_gray_input(mobilenet_v2);
}

TEST(mobilenet_v2_classifier_has_dropout_by_default) {
    backbone_check_default_dropout(mobilenet_v2, mobilenet_v2->build, false, true);
}
