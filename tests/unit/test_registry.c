/* The registry holds the paper's 18 backbones, each builds, and its parameter count is the
 * published one (a 1000-class classifier included). */
#include <string.h>

#include "core/error.h"
#include "models/backbone.h"
#include "test.h"

static const char *const paper[18] = {
    "densenet121", "densenet161", "densenet169", "densenet201", "efficientnet_b0", "efficientnet_b1_pruned",
    "efficientnet_es", "efficientnet_es_pruned", "efficientnet_lite0", "googlenet", "mobilenet_v2",
    "resnet18", "resnet34", "resnet50", "resnet101", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "wide_resnet50_2",
};

TEST(registry_has_the_papers_18_backbones_with_published_sizes) {
    CHECK_EQ(cx_backbone_count(), 18);
    for (int i = 0; i < 18; i++) {
        const cx_backbone *b = cx_backbone_find(paper[i]);
        if (!CHECK(b != NULL)) { printf("  (%s)\n", paper[i]); continue; }
        cx_graph *g = cx_graph_new(1);
        int64_t shape[3] = {3, b->min_input > 64 ? b->min_input : 64, b->min_input > 64 ? b->min_input : 64};
        cx_var x = cx_graph_input(g, "input", 3, shape, false);
        cx_backbone_options opt = {.num_classes = 1000, .drop_rate = -1};
        cx_backbone_outputs out;
        int rc = b->build(g, x, &opt, &out);
        if (!CHECK(rc == 0 && cx_graph_ok(g))) { printf("  (%s: %s)\n", b->name, cx_errmsg()); cx_graph_free(g); continue; }
        int64_t params = 0;
        for (int k = 0; k < cx_graph_state_count(g); k++) {
            cx_var v = cx_graph_state_var(g, k);
            if (cx_graph_kind(g, v) == CX_VAR_PARAM) params += cx_graph_numel(g, v);
        }
        if (!CHECK_EQ(params, b->params_1000)) printf("  (%s: %lld)\n", b->name, (long long)params);
        CHECK_EQ(cx_graph_shape(g, out.features)[1], b->feature_dim);
        CHECK_EQ(cx_graph_shape(g, out.logits)[1], 1000);
        cx_graph_free(g);
    }
    CHECK(cx_backbone_find("resnet19") == NULL);
    CHECK(strstr(cx_errmsg(), "unknown backbone \"resnet19\" (known: densenet121,") != NULL);
}
