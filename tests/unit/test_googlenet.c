/* googlenet against torchvision 0.14 (tests/ref/gen_tvsmall.py), with and without its
 * auxiliary classifiers, and the registry's contract. */
#include <string.h>

#include "core/error.h"
#include "models/googlenet.h"
#include "test.h"
#include "parity.h"

static const cx_backbone *googlenet = &cx_googlenet_backbones[0];

/* torchvision's GoogLeNet(dropout_aux=0), as the reference ran it */
static int build_without_aux_dropout(cx_graph *g, cx_var x, const cx_backbone_options *opt, cx_backbone_outputs *out) {
    return cx_googlenet_build(g, x, opt, 0.0, out);
}

TEST(googlenet_matches_torchvision_training_step) {
    CHECK_EQ(cx_googlenet_backbone_count, 1);
    parity_check_tvsmall("googlenet", googlenet->build);
}

TEST(googlenet_aux_classifiers_match_torchvision_training_step) {
    parity_check_tvsmall("googlenet_aux", build_without_aux_dropout);
}

/* The eval-mode references: the registry's build, its auxiliary dropout an identity there. */
TEST(googlenet_matches_torchvision_at_its_smallest_input) {
    CHECK_EQ(googlenet->min_input, 32);   /* the size of the @32 reference, auxiliary heads included */
    parity_check_tvsmall("googlenet@32", googlenet->build);
    backbone_check_input_limits(googlenet);
}

TEST(googlenet_matches_torchvision_on_odd_sizes) { parity_check_tvsmall("googlenet@80x48", googlenet->build); }

TEST(googlenet_parameter_counts_and_gray_input) {
    backbone_check_counts(googlenet);
    backbone_check_gray_input(googlenet);
}

TEST(googlenet_dropout_defaults_are_torchvision_s) {
    backbone_check_default_dropout(googlenet, build_without_aux_dropout, true, true);
}

TEST(googlenet_aux_classifiers_need_classes) {
    cx_graph *g = cx_graph_new(1);
    int64_t shape[3] = {3, 64, 64};
    cx_var x = cx_graph_input(g, "input", 3, shape, false);
    cx_backbone_options opt = {0, -1, true};
    cx_backbone_outputs out;
    CHECK_EQ(googlenet->build(g, x, &opt, &out), EX_USAGE);
    CHECK(strstr(cx_errmsg(), "auxiliary") != NULL);
    cx_graph_free(g);
}
