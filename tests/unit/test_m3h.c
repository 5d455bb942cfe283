/* The M3H network (models/m3h.h): it builds, its shapes, its gradient against finite
 * differences (the task heads, the contrastive and the reconstruction terms through the whole
 * graph), the auxiliary loss against a direct computation, the bias rule and the config map. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "gradcheck.h"
#include "models/m3h.h"
#include "nn/loss.h"
#include "spatial_ref.h"
#include "test.h"

/* Two modalities (widths 5 and 3), a binary (1 logit), a multiclass (3) and a clustering task
 * (latent 2). */
static cx_m3h_config tiny_config(double dropout) {
    cx_m3h_config c;
    cx_m3h_config_default(&c);
    c.n_modalities = 2;
    c.modality_dim[0] = 5;
    c.modality_dim[1] = 3;
    c.hidden = 6;
    c.proj_dim = 4;
    c.shared_dim = 6;
    c.task_dim = 4;
    c.n_tasks = 3;
    c.task_out[0] = 1;
    c.task_out[1] = 3;
    c.task_out[2] = 2;
    c.task_is_clustering[2] = true;
    c.alpha = 0.5;   /* larger than the paper's 0.1 so the attention's gradient is not negligible */
    c.dropout = dropout;
    return c;
}

typedef struct {
    cx_graph *g;
    cx_m3h_config c;
    cx_m3h_graph m;
    float *probe[CX_M3H_MAX_TASKS];
    float w_contrastive, w_recon, probe_scale;
} net;

static void net_build(net *n, double dropout, int batch) {
    memset(n, 0, sizeof *n);
    n->c = tiny_config(dropout);
    n->g = cx_graph_new(batch);
    CHECK(cx_m3h_build(n->g, &n->c, &n->m) == 0);
    CHECK(cx_graph_plan(n->g, CX_MODE_TRAIN) == 0);
    cx_graph_init(n->g, 5);
    for (int i = 0; i < n->c.n_modalities; i++)
        cx_fill_normal(cx_graph_data(n->g, n->m.input[i]), (int64_t)batch * n->c.modality_dim[i], 60 + i, 1.0f);
    for (int t = 0; t < n->c.n_tasks; t++) {
        int64_t k = (int64_t)batch * n->c.task_out[t];
        n->probe[t] = zeros(k);
        cx_fill_normal(n->probe[t], k, 70 + t, 1.0f);
    }
    n->w_contrastive = n->w_recon = n->probe_scale = 1;
}

static void net_free(net *n) {
    for (int t = 0; t < n->c.n_tasks; t++) free(n->probe[t]);
    cx_graph_free(n->g);
}

/* L = probe_scale * sum over supervised tasks of probe . task_out + the auxiliary loss. */
static double net_loss(void *ctx) {
    net *n = ctx;
    cx_graph_forward(n->g, 3, 0);
    double l = 0;
    for (int t = 0; t < n->c.n_tasks; t++)
        if (!n->c.task_is_clustering[t])
            l += n->probe_scale * cx_dot_f64(n->probe[t], cx_graph_data(n->g, n->m.task_out[t]),
                                             cx_graph_numel(n->g, n->m.task_out[t]));
    return l + cx_m3h_aux_loss(n->g, &n->c, &n->m, n->w_contrastive, n->w_recon);
}

static void net_backward(net *n) {
    cx_graph_forward(n->g, 3, 0);
    cx_graph_zero_grad(n->g);
    for (int t = 0; t < n->c.n_tasks; t++) {
        if (n->c.task_is_clustering[t]) continue;
        float *grad = cx_graph_grad(n->g, n->m.task_out[t]);
        int64_t k = cx_graph_numel(n->g, n->m.task_out[t]);
        for (int64_t i = 0; i < k; i++) grad[i] = n->probe_scale * n->probe[t][i];
    }
    cx_m3h_aux_loss(n->g, &n->c, &n->m, n->w_contrastive, n->w_recon);
    cx_graph_backward(n->g);
}

/* Central differences with a step of 1e-3 (relative to |x| above 1), a tenth of cx_gradcheck's:
 * the attention's scale max|M| has kinks where the arg-max changes hands, and in a whole network
 * a 1e-2 step of a shared parameter moves every score enough to cross one. The attention op
 * itself passes cx_gradcheck (test_attention.c). Checks max_points elements spread evenly. */
static bool finite_differences(const char *what, net *n, float *x, const float *grad, int64_t len, int max_points) {
    int64_t step = len > max_points ? len / max_points : 1;
    bool ok = true;
    for (int64_t i = 0; i < len; i += step) {
        float saved = x[i], h = 1e-3f * fmaxf(1.0f, fabsf(saved));
        x[i] = saved + h;
        double hi = net_loss(n);
        x[i] = saved - h;
        double lo = net_loss(n);
        x[i] = saved;
        double fd = (hi - lo) / ((double)(saved + h) - (double)(saved - h));
        double err = fabs(fd - grad[i]), tol = 2e-3 + 2e-2 * fmax(fabs(fd), fabs((double)grad[i]));
        if (!(err <= tol)) {
            printf("  %s: [%lld] finite difference %.7g, backward %.7g\n", what, (long long)i, fd, (double)grad[i]);
            ok = false;
        }
    }
    return ok;
}

/* Every parameter tensor, a few elements each, by finite differences. */
static void check_param_grads(net *n, const char *what) {
    for (int s = 0; s < cx_graph_state_count(n->g); s++) {
        cx_var p = cx_graph_state_var(n->g, s);
        if (cx_graph_kind(n->g, p) != CX_VAR_PARAM) continue;
        int64_t len = cx_graph_numel(n->g, p);
        float *grad = zeros(len);
        memcpy(grad, cx_graph_grad(n->g, p), (size_t)len * sizeof(float));
        char name[160];
        snprintf(name, sizeof name, "%s %s", what, cx_graph_name(n->g, p));
        CHECK(finite_differences(name, n, cx_graph_data(n->g, p), grad, len, 8));
        free(grad);
    }
}

TEST(m3h_builds_with_shapes) {
    net n;
    net_build(&n, 0.1, 6);
    cx_graph *g = n.g;
    CHECK(cx_graph_set_batch(g, 4) == 0);
    CHECK(cx_graph_forward(g, 1, 0) == 0);
    const int64_t *a = cx_graph_shape(g, n.m.attention);
    CHECK(cx_graph_ndim(g, n.m.attention) == 3 && a[0] == 4 && a[1] == 3 && a[2] == 3);
    CHECK(cx_graph_shape(g, n.m.reconstruction)[1] == 8);
    CHECK(cx_graph_shape(g, n.m.projection[1])[1] == 4);
    for (int t = 0; t < 3; t++) CHECK(cx_graph_shape(g, n.m.task_out[t])[1] == n.c.task_out[t]);
    const float *w = cx_graph_data(g, n.m.attention);
    for (int r = 0; r < 4 * 3; r++) {   /* rows of W are distributions, self-weight largest (alpha < 1) */
        double sum = 0;
        for (int j = 0; j < 3; j++) sum += w[r * 3 + j];
        CHECK_NEAR(sum, 1, 1e-5, 1e-6);
        CHECK(w[r * 3 + r % 3] > w[r * 3 + (r + 1) % 3]);
    }
    CHECK(cx_graph_find(g, "attention.query.weight") >= 0 && cx_graph_find(g, "task.0.head.bias") >= 0);
    CHECK(cx_graph_find(g, "task.2.head.bias") < 0);   /* a clustering task has no head: its output is the latent */
    CHECK(cx_graph_find(g, "autoencoder.decoder.fc2.weight") >= 0);
    /* eval mode: the auxiliary loss's value is there without gradients */
    float train_loss = cx_m3h_aux_loss(g, &n.c, &n.m, 1, 1);
    CHECK(cx_graph_plan(g, CX_MODE_EVAL) == 0);
    CHECK(cx_graph_forward(g, 1, 0) == 0);
    float eval_loss = cx_m3h_aux_loss(g, &n.c, &n.m, 1, 1);
    CHECK(isfinite(eval_loss) && eval_loss > 0 && eval_loss != train_loss);   /* no dropout in eval */
    net_free(&n);
}

TEST(m3h_gradient) {
    net n;
    net_build(&n, 0, 5);
    net_backward(&n);
    check_param_grads(&n, "m3h");
    net_free(&n);
}

/* Dropout masks come from (seed, step): the same mask in every finite-difference evaluation. */
TEST(m3h_gradient_dropout) {
    net n;
    net_build(&n, 0.3, 5);
    net_backward(&n);
    check_param_grads(&n, "m3h dropout");
    net_free(&n);
}

/* The auxiliary loss alone (no task gradient): InfoNCE and MSE through the whole graph, with
 * weights that are not 1, so a missing weight shows. */
TEST(m3h_aux_loss_gradient) {
    net n;
    net_build(&n, 0, 5);
    n.probe_scale = 0;
    n.w_contrastive = 0.7f;
    n.w_recon = 1.9f;
    net_backward(&n);
    check_param_grads(&n, "m3h aux");
    net_free(&n);
}

/* The value, computed directly: InfoNCE of the two projections and the MSE of the reconstruction
 * against the inputs side by side. */
TEST(m3h_aux_loss_value) {
    net n;
    net_build(&n, 0, 5);
    cx_graph *g = n.g;
    cx_graph_forward(g, 3, 0);
    const float *p0 = cx_graph_data(g, n.m.projection[0]), *p1 = cx_graph_data(g, n.m.projection[1]);
    cx_infonce_desc d = {5, 4, CX_M3H_INFONCE_TAU, CX_REDUCE_MEAN};
    float *work = malloc(cx_infonce_workspace_bytes(&d));
    double contrastive = cx_infonce_forward(&d, NULL, p0, p1, work);
    free(work);
    const float *recon = cx_graph_data(g, n.m.reconstruction);
    const float *x0 = cx_graph_data(g, n.m.input[0]), *x1 = cx_graph_data(g, n.m.input[1]);
    double se = 0;
    for (int s = 0; s < 5; s++)
        for (int j = 0; j < 8; j++) {
            double x = j < 5 ? x0[s * 5 + j] : x1[s * 3 + j - 5], e = recon[s * 8 + j] - x;
            se += e * e;
        }
    float got = cx_m3h_aux_loss(g, &n.c, &n.m, 0.25f, 3.0f);
    CHECK_NEAR(got, 0.25 * contrastive + 3.0 * se / 40, 1e-5, 1e-6);
    CHECK_NEAR(cx_m3h_aux_loss(g, &n.c, &n.m, 0, 0), 0, 0, 0);
    /* the gradients it does not own are zeroed */
    const float *ga = cx_graph_grad(g, n.m.attention), *gl = cx_graph_grad(g, n.m.task_out[2]);
    CHECK(ga && gl && max_abs(ga, 5 * 9) == 0 && max_abs(gl, 5 * 2) == 0);
    net_free(&n);
}

TEST(m3h_single_modality_and_task) {
    cx_m3h_config c;
    cx_m3h_config_default(&c);
    c.n_modalities = 1;
    c.modality_dim[0] = 7;
    c.n_tasks = 1;
    c.task_out[0] = 1;
    cx_graph *g = cx_graph_new(3);
    cx_m3h_graph m;
    CHECK(cx_m3h_build(g, &c, &m) == 0);
    CHECK(m.reconstruction == -1);
    CHECK(cx_graph_plan(g, CX_MODE_TRAIN) == 0);
    cx_graph_init(g, 1);
    cx_fill_normal(cx_graph_data(g, m.input[0]), 21, 1, 1.0f);
    CHECK(cx_graph_forward(g, 1, 0) == 0);
    CHECK_NEAR(cx_graph_data(g, m.attention)[2], 1, 0, 0);   /* one task attends to itself only */
    CHECK_NEAR(cx_m3h_aux_loss(g, &c, &m, 1, 1), 0, 0, 0);
    CHECK(cx_graph_ndim(g, cx_graph_find(g, "modality.0.fc1.weight")) == 2);
    CHECK(cx_graph_shape(g, cx_graph_find(g, "modality.0.fc1.weight"))[0] == 256);   /* the default width */
    cx_graph_free(g);
}

TEST(m3h_bad_config) {
    cx_m3h_config c = tiny_config(0);
    c.task_is_clustering[0] = true;   /* two autoencoders */
    cx_graph *g = cx_graph_new(2);
    cx_m3h_graph m;
    CHECK(cx_m3h_build(g, &c, &m) == EX_USAGE);
    CHECK(strstr(cx_errmsg(), "clustering") != NULL);
    c = tiny_config(0);
    c.n_modalities = 0;
    CHECK(cx_m3h_build(g, &c, &m) == EX_USAGE);
    c = tiny_config(0);
    c.task_out[1] = 0;
    CHECK(cx_m3h_build(g, &c, &m) == EX_USAGE);
    cx_graph_free(g);
    cx_err_clear();
}

TEST(m3h_binary_bias) {
    net n;
    net_build(&n, 0, 2);
    float *bias = cx_graph_data(n.g, cx_graph_find(n.g, "task.0.head.bias"));
    float before = bias[0];
    CHECK(cx_m3h_init_binary_bias(n.g, &n.c, 0, 30, 70) == 0);   /* 30% positives: left alone */
    CHECK(bias[0] == before);
    CHECK(cx_m3h_init_binary_bias(n.g, &n.c, 0, 5, 95) == 1);
    CHECK_NEAR(bias[0], log(5.0 / 95.0), 1e-6, 0);
    CHECK(cx_m3h_init_binary_bias(n.g, &n.c, 0, 0, 95) == 0);    /* no positive: no log(0) */
    CHECK(cx_m3h_init_binary_bias(n.g, &n.c, 2, 1, 95) == 0);    /* clustering */
    n.c.task_out[1] = 2;                                          /* a 2-logit head gets it on column 1 */
    float *bias1 = cx_graph_data(n.g, cx_graph_find(n.g, "task.1.head.bias"));
    CHECK(cx_m3h_init_binary_bias(n.g, &n.c, 1, 1, 99) == 1);
    CHECK(bias1[0] == 0 && fabs(bias1[1] - log(1.0 / 99.0)) < 1e-6);
    net_free(&n);
}

TEST(m3h_config_value) {
    cx_m3h_config c = tiny_config(0.25), back;
    cx_value v;
    CHECK(cx_m3h_config_to_value(&c, &v) == 0);
    CHECK(cx_m3h_config_from_value(&v, &back) == 0);
    CHECK(memcmp(&c, &back, sizeof c) == 0);
    cx_map_set(&v, "task_out", cx_array());   /* the wrong length */
    CHECK(cx_m3h_config_from_value(&v, &back) == EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "task_out") != NULL);
    cx_map_del(&v, "task_out");
    CHECK(cx_m3h_config_from_value(&v, &back) == EX_DATAERR);
    cx_value_free(&v);
    cx_err_clear();
}
