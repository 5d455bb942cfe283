/* M3H's cross-task attention (nn/attention.h): PyTorch's autograd (tests/ref/gen_m3h.py), a
 * direct computation of the formula, finite differences, and the graph op. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/attention.h"
#include "nn/graph.h"
#include "spatial_ref.h"
#include "test.h"

typedef struct {
    cx_task_attention_desc d;
    float *q, *k, *v, *o, *w, *work;
    void *saved;
    const float *probe_o, *probe_w;
} attention_case;

static attention_case case_new(int64_t n, int tasks, int dim, float alpha) {
    attention_case c = {.d = {n, tasks, dim, alpha}};
    int64_t qd = (int64_t)tasks * dim, kd = n * tasks * dim;
    c.q = zeros(qd);
    c.k = zeros(kd);
    c.v = zeros(kd);
    c.o = zeros(kd);
    c.w = zeros(n * tasks * tasks);
    c.work = zeros((int64_t)(cx_task_attention_workspace_bytes(&c.d) / sizeof(float)));
    c.saved = malloc(cx_task_attention_saved_bytes(&c.d));
    return c;
}

static void case_free(attention_case *c) {
    free(c->q);
    free(c->k);
    free(c->v);
    free(c->o);
    free(c->w);
    free(c->work);
    free(c->saved);
}

static void run_forward(attention_case *c) { cx_task_attention_forward(&c->d, c->o, c->w, c->saved, c->q, c->k, c->v, c->work); }

TEST(attention_pytorch) {
    ref_cases rc;
    ref_open(&rc, "m3h_attention");
    while (ref_next(&rc)) {
        const cx_record *r = &rc.rec;
        int n = ref_int(r, "n"), t = ref_int(r, "tasks"), dim = ref_int(r, "dim");
        attention_case c = case_new(n, t, dim, (float)ref_num(r, "alpha"));
        int64_t qd = (int64_t)t * dim, kd = (int64_t)n * t * dim, wd = (int64_t)n * t * t;
        const float *q = ref_f32(r, "q", qd), *k = ref_f32(r, "k", kd), *v = ref_f32(r, "v", kd);
        const float *p0 = ref_f32(r, "probe0", kd), *p1 = ref_f32(r, "probe1", wd);
        if (!q || !k || !v || !p0 || !p1) continue;
        memcpy(c.q, q, (size_t)qd * sizeof(float));
        memcpy(c.k, k, (size_t)kd * sizeof(float));
        memcpy(c.v, v, (size_t)kd * sizeof(float));
        run_forward(&c);
        CHECK_REF(r, "y0", c.o, kd, 1e-5, 1e-6);
        CHECK_REF(r, "y1", c.w, wd, 1e-5, 1e-6);
        float *dq = zeros(qd), *dk = zeros(kd), *dv = zeros(kd);
        cx_task_attention_backward(&c.d, dq, dk, dv, p0, p1, c.q, c.k, c.v, c.w, c.saved, c.work);
        CHECK_REF(r, "dq", dq, qd, 1e-4, 1e-5);
        CHECK_REF(r, "dk", dk, kd, 1e-4, 1e-5);
        CHECK_REF(r, "dv", dv, kd, 1e-4, 1e-5);
        free(dq);
        free(dk);
        free(dv);
        case_free(&c);
    }
    ref_close(&rc);
}

/* The formula written out in double, element by element, sample by sample. */
TEST(attention_direct) {
    int n = 3, t = 4, dim = 6;
    float alpha = 0.7f;
    attention_case c = case_new(n, t, dim, alpha);
    cx_fill_normal(c.q, t * dim, 1, 1.0f);
    cx_fill_normal(c.k, n * t * dim, 2, 1.0f);
    cx_fill_normal(c.v, n * t * dim, 3, 1.0f);
    run_forward(&c);
    for (int s = 0; s < n; s++) {
        double m[4][4], scale = 0;
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++) {
                m[i][j] = 0;
                for (int e = 0; e < dim; e++) m[i][j] += (double)c.q[i * dim + e] * c.k[(s * t + j) * dim + e];
                scale = fmax(scale, fabs(m[i][j]));
            }
        scale += 1e-8;
        for (int i = 0; i < t; i++) {
            double z[4], total = 0;
            for (int j = 0; j < t; j++) total += z[j] = exp((i == j) + alpha * m[i][j] / scale);
            for (int j = 0; j < t; j++) CHECK_NEAR(c.w[(s * t + i) * t + j], z[j] / total, 1e-5, 1e-7);
            for (int e = 0; e < dim; e++) {
                double o = 0;
                for (int j = 0; j < t; j++) o += z[j] / total * c.v[(s * t + j) * dim + e];
                CHECK_NEAR(c.o[(s * t + i) * dim + e], o, 1e-5, 1e-6);
            }
        }
    }
    /* a sample's scale is its own: doubling sample 0's keys leaves its attention unchanged */
    float w1 = c.w[t * t + 1], w0 = c.w[1];
    for (int e = 0; e < t * dim; e++) c.k[e] *= 2;
    run_forward(&c);
    CHECK_NEAR(c.w[1], w0, 1e-5, 1e-7);
    CHECK_NEAR(c.w[t * t + 1], w1, 0, 0);
    case_free(&c);
}

static double attention_loss(void *ctx) {
    attention_case *c = ctx;
    run_forward(c);
    int64_t kd = c->d.n * c->d.tasks * c->d.dim, wd = c->d.n * c->d.tasks * c->d.tasks;
    return cx_dot_f64(c->probe_o, c->o, kd) + cx_dot_f64(c->probe_w, c->w, wd);
}

TEST(attention_gradcheck) {
    static const struct { int n, t, dim; float alpha; } cases[] = {{2, 3, 4, 0.1f}, {3, 4, 5, 3.0f}, {2, 2, 3, 1.0f}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = cases[i].n, t = cases[i].t, dim = cases[i].dim;
        int64_t qd = (int64_t)t * dim, kd = (int64_t)n * t * dim, wd = (int64_t)n * t * t;
        attention_case c = case_new(n, t, dim, cases[i].alpha);
        cx_fill_normal(c.q, qd, 10 + i, 1.0f);
        cx_fill_normal(c.k, kd, 20 + i, 1.0f);
        cx_fill_normal(c.v, kd, 30 + i, 1.0f);
        float *p0 = zeros(kd), *p1 = zeros(wd), *dq = zeros(qd), *dk = zeros(kd), *dv = zeros(kd);
        cx_fill_normal(p0, kd, 40 + i, 1.0f);
        cx_fill_normal(p1, wd, 50 + i, 1.0f);
        c.probe_o = p0;
        c.probe_w = p1;
        run_forward(&c);
        cx_task_attention_backward(&c.d, dq, dk, dv, p0, p1, c.q, c.k, c.v, c.w, c.saved, c.work);
        char what[64];
        snprintf(what, sizeof what, "attention case %zu dq", i);
        CHECK(cx_gradcheck(what, attention_loss, &c, c.q, dq, qd, 200, 1e-2, 1e-3));
        snprintf(what, sizeof what, "attention case %zu dk", i);
        CHECK(cx_gradcheck(what, attention_loss, &c, c.k, dk, kd, 200, 1e-2, 1e-3));
        snprintf(what, sizeof what, "attention case %zu dv", i);
        CHECK(cx_gradcheck(what, attention_loss, &c, c.v, dv, kd, 200, 1e-2, 1e-3));
        free(p0);
        free(p1);
        free(dq);
        free(dk);
        free(dv);
        case_free(&c);
    }
}

/* The graph op against the PyTorch case "strong": both outputs and all three gradients, with a
 * smaller batch than the graph was built for. */
TEST(attention_graph_op) {
    ref_cases rc;
    ref_open(&rc, "m3h_attention");
    bool found = false;
    while (ref_next(&rc)) {
        const cx_record *r = &rc.rec;
        if (strcmp(r->id, "strong") != 0) continue;
        found = true;
        int n = ref_int(r, "n"), t = ref_int(r, "tasks"), dim = ref_int(r, "dim");
        int64_t qd = (int64_t)t * dim, kd = (int64_t)n * t * dim, wd = (int64_t)n * t * t;
        cx_graph *g = cx_graph_new(n + 2);
        int64_t qshape[2] = {t, dim}, kshape[2] = {t, dim}, flat = t * dim;
        cx_var q = cx_graph_param(g, "query", 2, qshape, CX_INIT_ZERO);
        cx_var k = cx_graph_input(g, "k", 2, kshape, true);
        cx_var v = cx_graph_input(g, "v", 1, &flat, true);   /* a flat [N, T*d] view is accepted */
        cx_var att;
        cx_var y = cx_graph_task_attention(g, q, k, v, ref_num(r, "alpha"), &att);
        cx_var bad_att;
        CHECK(cx_graph_ok(g));
        cx_graph_output(g, y);
        cx_graph_output(g, att);
        CHECK(cx_graph_ndim(g, att) == 3 && cx_graph_shape(g, att)[1] == t && cx_graph_shape(g, att)[2] == t);
        CHECK(cx_graph_plan(g, CX_MODE_TRAIN) == 0);
        CHECK(cx_graph_set_batch(g, n) == 0);
        memcpy(cx_graph_data(g, q), ref_f32(r, "q", qd), (size_t)qd * sizeof(float));
        memcpy(cx_graph_data(g, k), ref_f32(r, "k", kd), (size_t)kd * sizeof(float));
        memcpy(cx_graph_data(g, v), ref_f32(r, "v", kd), (size_t)kd * sizeof(float));
        CHECK(cx_graph_forward(g, 1, 0) == 0);
        CHECK_REF(r, "y0", cx_graph_data(g, y), kd, 1e-5, 1e-6);
        CHECK_REF(r, "y1", cx_graph_data(g, att), wd, 1e-5, 1e-6);
        cx_graph_zero_grad(g);
        memcpy(cx_graph_grad(g, y), ref_f32(r, "probe0", kd), (size_t)kd * sizeof(float));
        memcpy(cx_graph_grad(g, att), ref_f32(r, "probe1", wd), (size_t)wd * sizeof(float));
        cx_graph_backward(g);
        CHECK_REF(r, "dq", cx_graph_grad(g, q), qd, 1e-4, 1e-5);
        CHECK_REF(r, "dk", cx_graph_grad(g, k), kd, 1e-4, 1e-5);
        CHECK_REF(r, "dv", cx_graph_grad(g, v), kd, 1e-4, 1e-5);
        /* a query that is batched, or keys of the wrong width, are refused */
        cx_graph_task_attention(g, k, k, v, 0.1, &bad_att);
        CHECK(!cx_graph_ok(g) && bad_att == -1);
        cx_graph_free(g);
    }
    CHECK(found);
    ref_close(&rc);
}
