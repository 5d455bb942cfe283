/* The DenseNets against torchvision 0.14 (tests/ref/gen_densenet.py): per model, the state_dict
 * keys and shapes in order, one training-mode pass at 64x64 on deterministic weights (pooled
 * features, logits, the gradients of L = sum(probe * logits) for the input and for parameters of
 * the first, a middle and the last layers, features.norm0's running statistics after the pass)
 * and an eval-mode pass at the smallest input, 32x32; and the registry's contract through
 * tests/unit/tvsmall_parity.h (parameter counts with and without the classifier, gray-scale
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
#include "tvsmall_parity.h"

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

static bool find_record(const char *id, cx_record *r) {
    cx_reader *rd = cx_reader_open(FIXTURE);
    if (!CHECK(rd != NULL)) return false;
    cx_record_init(r);
    int rc;
    while ((rc = cx_reader_next(rd, r)) == 1 && strcmp(r->id, id)) continue;
    cx_reader_close(rd);
    if (rc == 1) return true;
    printf("  (%s has no record %s)\n", FIXTURE, id);
    cx_record_free(r);
    return CHECK(false);
}

/* meta[field][name], or NULL when either is absent. */
static const cx_value *meta_entry(const cx_record *r, const char *field, const char *name) {
    const cx_value *map = cx_map_get(&r->meta, field);
    return map ? cx_map_get(map, name) : NULL;
}

/* A number of a record's metadata (v may be NULL, for absent), or def. */
static double meta_number(const cx_value *v, double def) {
    double d;
    return v && cx_value_number(v, &d) ? d : def;
}

/* Every parameter and buffer as "name:d0,d1,...", in declaration order, against the state_dict
 * that torchvision lists (num_batches_tracked left out). */
static void check_keys(const cx_graph *g, const cx_value *keys, const char *id) {
    if (!CHECK(keys && keys->kind == CX_ARRAY)) return;
    size_t count = (size_t)cx_graph_state_count(g);
    if (!CHECK_EQ(count, keys->u.arr.n)) printf("  (%s: %zu keys, torchvision has %zu)\n", id, count, keys->u.arr.n);
    for (size_t i = 0; i < count && i < keys->u.arr.n; i++) {
        cx_var v = cx_graph_state_var(g, (int)i);
        char key[256];
        int len = snprintf(key, sizeof key, "%s:", cx_graph_name(g, v));
        for (int d = 0; d < cx_graph_ndim(g, v) && (size_t)len < sizeof key; d++)
            len += snprintf(key + len, sizeof key - (size_t)len, "%s%lld", d ? "," : "",
                            (long long)cx_graph_shape(g, v)[d]);
        const cx_value *want = &keys->u.arr.items[i];
        if (!CHECK(want->kind == CX_STR && !strcmp(key, want->u.s))) {
            printf("  (%s key %zu: %s, torchvision has %s)\n", id, i, key, want->kind == CX_STR ? want->u.s : "?");
            return;
        }
    }
}

/* The graph's counterpart of a reference tensor, and the tolerance it is held to. */
static const float *graph_values(const cx_graph *g, cx_var x, const cx_backbone_outputs *out, const char *name,
                                 int64_t *n, double *rtol) {
    cx_var v = -1;
    bool grad = false;
    if (!strcmp(name, "features")) v = out->features;
    else if (!strcmp(name, "logits")) v = out->logits;
    else if (!strcmp(name, "input_grad")) v = x, grad = true;
    else if (!strncmp(name, "grad/", 5)) v = cx_graph_find(g, name + 5), grad = true;
    else if (!strncmp(name, "running/", 8)) v = cx_graph_find(g, name + 8);
    if (v < 0) return NULL;
    *n = cx_graph_numel(g, v);
    *rtol = !grad ? FORWARD_RTOL : !strncmp(name, "grad/classifier.", 16) ? CLASSIFIER_GRAD_RTOL : TRAIN_GRAD_RTOL;
    return grad ? cx_graph_grad(g, v) : cx_graph_data(g, v);
}

/* The record keeps every step-th value of the flat tensor: compare those of got[n]. */
static void check_kept_values(const cx_record *r, const char *name, const float *got, int64_t n, double rtol) {
    const cx_tensor *want = cx_record_tensor(r, name);
    int64_t step = (int64_t)meta_number(meta_entry(r, "steps", name), 0), count = step > 0 ? (n + step - 1) / step : 0;
    if (!CHECK(step > 0 && want->dtype == CX_F32 && cx_tensor_numel(want) == count)) {
        printf("  (%s %s: %lld values kept of %lld, step %lld)\n", r->id, name, (long long)cx_tensor_numel(want),
               (long long)n, (long long)step);
        return;
    }
    const float *ref = want->data;
    float *kept = malloc((size_t)count * sizeof *kept);
    double scale = 0;
    for (int64_t i = 0; i < count; i++) {
        kept[i] = got[i * step];
        scale = fmax(scale, fabs((double)ref[i]));
    }
    if (!CHECK_CLOSE_F32(kept, ref, count, 0, rtol * scale + ATOL)) {
        double float32_error = meta_number(meta_entry(r, "float32_error", name), -1);
        printf("  (%s %s: rtol %g; largest reference magnitude %g; PyTorch's float32 error %g)\n", r->id, name, rtol,
               scale, float32_error);
    }
    free(kept);
}

/* Build as record `id` says, fill with detweights, run forward in its mode (and in training
 * mode backward from det_tensor("probe")), and compare every tensor the record holds. */
static void check_record(const cx_backbone *b, const char *id) {
    cx_record r;
    if (!b || !find_record(id, &r)) return;
    const cx_value *input = cx_map_get(&r.meta, "input");
    bool train = !strcmp(cx_map_str(&r.meta, "mode", ""), "train");
    int64_t shape[4];
    bool has_shape = input && input->kind == CX_ARRAY && input->u.arr.n == 4;
    for (int i = 0; i < 4; i++) shape[i] = has_shape ? (int64_t)meta_number(&input->u.arr.items[i], -1) : -1;
    cx_backbone_options opt = {(int)meta_number(cx_map_get(&r.meta, "num_classes"), -1), 0.0, false};
    if (!CHECK(shape[0] > 0 && shape[1] > 0 && opt.num_classes > 0)) {
        cx_record_free(&r);
        return;
    }
    int threads = cx_nn_threads();
    cx_nn_set_threads(2);
    cx_graph *g = cx_graph_new((int)shape[0]);
    cx_var x = cx_graph_input(g, "input", 3, shape + 1, train);
    cx_backbone_outputs out;
    if (!CHECK_EQ(b->build(g, x, &opt, &out), 0)) {
        printf("  (%s: %s)\n", id, cx_errmsg());
    } else {
        if (train) check_keys(g, cx_map_get(&r.meta, "keys"), id);
        cx_graph_output(g, out.features);
        cx_graph_output(g, out.logits);
        if (CHECK_EQ(cx_graph_plan(g, train ? CX_MODE_TRAIN : CX_MODE_EVAL), 0)) {
            cx_det_fill(g);
            cx_det_tensor("input", 4, shape, cx_graph_data(g, x));
            CHECK_EQ(cx_graph_forward(g, 1, 0), 0);
            if (train) {
                memset(cx_graph_grad(g, out.features), 0, (size_t)cx_graph_numel(g, out.features) * sizeof(float));
                cx_det_tensor("probe", 2, cx_graph_shape(g, out.logits), cx_graph_grad(g, out.logits));
                cx_graph_zero_grad(g);
                cx_graph_backward(g);
            }
            CHECK(cx_record_tensor(&r, "features") && cx_record_tensor(&r, "logits"));
            CHECK(!train || cx_record_tensor(&r, "input_grad"));
            for (size_t i = 0; i < r.ntensors; i++) {
                int64_t n = 0;
                double rtol = 0;
                const float *got = graph_values(g, x, &out, r.tensors[i].name, &n, &rtol);
                if (CHECK(got != NULL)) check_kept_values(&r, r.tensors[i].name, got, n, rtol);
                else printf("  (%s: no %s in the graph)\n", id, r.tensors[i].name);
            }
        }
    }
    cx_graph_free(g);
    cx_record_free(&r);
    cx_nn_set_threads(threads);
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
        tvs_check_counts(b);
    }
}

/* Gray input, the input limits and the dropout concern only the stem, the geometry of the
 * transitions and the head, which every depth shares: densenet121 checks them. */
TEST(densenet_gray_input_limits_and_no_default_dropout) {
    const cx_backbone *b = find_densenet("densenet121");
    if (!CHECK(b != NULL)) return;
    tvs_check_gray_input(b);
    tvs_check_input_limits(b);
    tvs_check_default_dropout(b, b->build, false, false);
}
