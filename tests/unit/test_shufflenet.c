/* shufflenet_v2_x0_5 and shufflenet_v2_x1_0 against torchvision 0.14 (tests/ref/gen_tvsmall.py)
 * and the registry's contract. */
#include <stdio.h>
#include <string.h>

#include "models/shufflenet.h"
#include "test.h"
#include "parity.h"

static const cx_backbone *shufflenet(const char *name) {
    for (int i = 0; i < cx_shufflenet_backbone_count; i++)
        if (!strcmp(cx_shufflenet_backbones[i].name, name)) return &cx_shufflenet_backbones[i];
    return NULL;
}

TEST(shufflenet_v2_matches_torchvision_training_step) {
    CHECK_EQ(cx_shufflenet_backbone_count, 2);
    const cx_backbone *x0_5 = shufflenet("shufflenet_v2_x0_5"), *x1_0 = shufflenet("shufflenet_v2_x1_0");
    if (!CHECK(x0_5 && x1_0)) return;
    parity_check_tvsmall("shufflenet_v2_x0_5", x0_5->build);
    parity_check_tvsmall("shufflenet_v2_x1_0", x1_0->build);
}

TEST(shufflenet_v2_matches_torchvision_at_its_smallest_input) {
    for (int i = 0; i < cx_shufflenet_backbone_count; i++) {
        const cx_backbone *b = &cx_shufflenet_backbones[i];
        char id[64];
        snprintf(id, sizeof id, "%s@32", b->name);
        CHECK_EQ(b->min_input, 32);   /* the size of the @32 reference */
        parity_check_tvsmall(id, b->build);
        backbone_check_input_limits(b);
    }
}

TEST(shufflenet_v2_matches_torchvision_on_odd_sizes) {
    for (int i = 0; i < cx_shufflenet_backbone_count; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s@80x48", cx_shufflenet_backbones[i].name);
        parity_check_tvsmall(id, cx_shufflenet_backbones[i].build);
    }
}

TEST(shufflenet_v2_parameter_counts_and_gray_input) {
    for (int i = 0; i < cx_shufflenet_backbone_count; i++) {
        backbone_check_counts(&cx_shufflenet_backbones[i]);
        backbone_check_gray_input(&cx_shufflenet_backbones[i]);
    }
}

TEST(shufflenet_v2_has_no_dropout_by_default) {
    const cx_backbone *b = &cx_shufflenet_backbones[0];
    backbone_check_default_dropout(b, b->build, false, false);
}
