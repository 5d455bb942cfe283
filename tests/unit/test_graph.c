/* The graph against PyTorch (tests/ref/gen_graph.py): a small two-headed network built from
 * every op the graph knows; forward, backward, BatchNorm statistics, eval mode, and three Adam
 * steps; plus the memory plan's promises. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/stream.h"
#include "nn/checkpoint.h"
#include "nn/graph.h"
#include "nn/optim.h"
#include "nn/weights.h"
#include "gradcheck.h"
#include "test.h"

typedef struct {
    cx_graph *g;
    cx_var x, out_a, out_b;
} net;

static cx_var conv(cx_graph *g, cx_var x, const char *name, int cin, int cout, int k, int stride, int groups, bool bias) {
    int64_t ws[4] = {cout, cin / groups, k, k}, bs[1] = {cout};
    int p = k / 2, pad[4] = {p, p, p, p};
    cx_graph_push(g, "%s", name);
    cx_var w = cx_graph_param(g, "weight", 4, ws, CX_INIT_UNIFORM_FAN_IN);
    cx_var b = bias ? cx_graph_param(g, "bias", 1, bs, CX_INIT_UNIFORM_FAN_IN) : -1;
    cx_graph_pop(g);
    return cx_graph_conv2d(g, x, w, b, stride, stride, pad, 1, groups);
}

static cx_var bn(cx_graph *g, cx_var x, const char *name, int c, double eps) {
    int64_t s[1] = {c};
    cx_graph_push(g, "%s", name);
    cx_var w = cx_graph_param(g, "weight", 1, s, CX_INIT_ONE), b = cx_graph_param(g, "bias", 1, s, CX_INIT_ZERO);
    cx_var rm = cx_graph_buffer(g, "running_mean", 1, s, 0), rv = cx_graph_buffer(g, "running_var", 1, s, 1);
    cx_graph_pop(g);
    return cx_graph_batchnorm(g, x, w, b, rm, rv, eps, 0.1);
}

static cx_var linear(cx_graph *g, cx_var x, const char *name, int in, int out) {
    int64_t ws[2] = {out, in}, bs[1] = {out};
    cx_graph_push(g, "%s", name);
    cx_var w = cx_graph_param(g, "weight", 2, ws, CX_INIT_UNIFORM_FAN_IN), b = cx_graph_param(g, "bias", 1, bs, CX_INIT_UNIFORM_FAN_IN);
    cx_graph_pop(g);
    return cx_graph_linear(g, x, w, b);
}

static net build(int batch) {
    net n;
    cx_graph *g = n.g = cx_graph_new(batch);
    int64_t in[3] = {3, 16, 16};
    n.x = cx_graph_input(g, "x", 3, in, true);
    cx_var x = cx_graph_act(g, bn(g, conv(g, n.x, "conv1", 3, 8, 3, 1, 1, false), "bn1", 8, 1e-5), CX_ACT_RELU);
    x = cx_graph_maxpool(g, x, 3, 2, 1, false);
    cx_graph_push(g, "block");
    cx_var r = cx_graph_act(g, bn(g, conv(g, x, "conv1", 8, 8, 3, 1, 1, false), "bn1", 8, 1e-5), CX_ACT_RELU);
    r = bn(g, conv(g, r, "conv2", 8, 8, 3, 1, 1, false), "bn2", 8, 1e-3);
    cx_graph_pop(g);
    x = cx_graph_act(g, cx_graph_add(g, x, r), CX_ACT_RELU);
    cx_var parts[2] = {x, conv(g, x, "side", 8, 4, 1, 1, 1, true)};
    x = cx_graph_channel_shuffle(g, cx_graph_concat(g, parts, 2), 3);
    x = cx_graph_act(g, bn(g, conv(g, x, "dw", 12, 12, 3, 2, 12, false), "bn3", 12, 1e-5), CX_ACT_HARDSWISH);
    cx_var halves[2];
    cx_graph_chunk(g, x, 2, halves);
    cx_var gate = cx_graph_act(g, cx_graph_adaptive_avgpool(g, halves[1], 1, 1), CX_ACT_SIGMOID);
    cx_var joined[2] = {cx_graph_mul(g, halves[0], gate), cx_graph_act(g, halves[1], CX_ACT_SILU)};
    x = cx_graph_concat(g, joined, 2);
    x = cx_graph_upsample(g, x, 8, 8, CX_UPSAMPLE_NEAREST, false);
    x = cx_graph_avgpool(g, x, 2, 2, 0, false, true);
    cx_var f = cx_graph_flatten(g, cx_graph_adaptive_avgpool(g, x, 1, 1));
    n.out_a = linear(g, f, "head_a", 12, 2);
    n.out_b = cx_graph_softmax(g, linear(g, f, "head_b", 12, 4), 1, true);
    cx_graph_output(g, n.out_a);
    cx_graph_output(g, n.out_b);
    return n;
}

static const cx_tensor *ref(const cx_record *r, const char *prefix, const char *name) {
    char key[256];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    const cx_tensor *t = cx_record_tensor(r, key);
    if (!t) printf("  reference has no %s\n", key);
    return t;
}

static bool load_reference(cx_record *r) {
    cx_reader *rd = cx_reader_open("tests/data/ref/graph.cxs");
    CHECK(rd != NULL);
    if (!rd) return false;
    cx_record_init(r);
    bool ok = cx_reader_next(rd, r) == 1;
    cx_reader_close(rd);
    return ok;
}

static void load_state(net *n, const cx_record *r) {
    for (int i = 0; i < cx_graph_state_count(n->g); i++) {
        cx_var v = cx_graph_state_var(n->g, i);
        const cx_tensor *t = ref(r, "param/", cx_graph_name(n->g, v));
        CHECK(t && (int64_t)(t->nbytes / 4) == cx_graph_numel(n->g, v));
        if (t) memcpy(cx_graph_data(n->g, v), t->data, t->nbytes);
    }
}

static void run_loss_backward(net *n, const cx_record *r) {
    memcpy(cx_graph_grad(n->g, n->out_a), ref(r, "", "probe_a")->data, 3 * 2 * sizeof(float));
    memcpy(cx_graph_grad(n->g, n->out_b), ref(r, "", "probe_b")->data, 3 * 4 * sizeof(float));
    cx_graph_zero_grad(n->g);
    cx_graph_backward(n->g);
}

TEST(graph_matches_pytorch_forward_backward_and_statistics) {
    cx_record r;
    if (!load_reference(&r)) return;
    net n = build(3);
    CHECK(cx_graph_ok(n.g));
    CHECK_EQ(cx_graph_plan(n.g, CX_MODE_TRAIN), 0);
    load_state(&n, &r);
    memcpy(cx_graph_data(n.g, n.x), ref(&r, "", "x")->data, 3 * 3 * 16 * 16 * sizeof(float));
    CHECK_EQ(cx_graph_forward(n.g, 1, 0), 0);
    CHECK_CLOSE_F32(cx_graph_data(n.g, n.out_a), (const float *)ref(&r, "", "out_a")->data, 6, 1e-4, 1e-5);
    CHECK_CLOSE_F32(cx_graph_data(n.g, n.out_b), (const float *)ref(&r, "", "out_b")->data, 12, 1e-4, 1e-5);
    run_loss_backward(&n, &r);
    CHECK_CLOSE_F32(cx_graph_grad(n.g, n.x), (const float *)ref(&r, "grad/", "x")->data, 3 * 3 * 16 * 16, 1e-3, 1e-5);
    for (int i = 0; i < cx_graph_state_count(n.g); i++) {
        cx_var v = cx_graph_state_var(n.g, i);
        const char *name = cx_graph_name(n.g, v);
        const cx_tensor *t = ref(&r, cx_graph_kind(n.g, v) == CX_VAR_PARAM ? "grad/" : "running/", name);
        if (!t) { CHECK(false); continue; }
        const float *got = cx_graph_kind(n.g, v) == CX_VAR_PARAM ? cx_graph_grad(n.g, v) : cx_graph_data(n.g, v);
        if (!CHECK_CLOSE_F32(got, (const float *)t->data, (int64_t)(t->nbytes / 4), 1e-3, 1e-5)) printf("  (%s)\n", name);
    }
    /* eval mode with the updated running statistics */
    CHECK_EQ(cx_graph_plan(n.g, CX_MODE_EVAL), 0);
    memcpy(cx_graph_data(n.g, n.x), ref(&r, "", "x")->data, 3 * 3 * 16 * 16 * sizeof(float));
    CHECK_EQ(cx_graph_forward(n.g, 1, 0), 0);
    CHECK_CLOSE_F32(cx_graph_data(n.g, n.out_a), (const float *)ref(&r, "", "eval_a")->data, 6, 1e-4, 1e-5);
    CHECK_CLOSE_F32(cx_graph_data(n.g, n.out_b), (const float *)ref(&r, "", "eval_b")->data, 12, 1e-4, 1e-5);
    cx_graph_free(n.g);
    cx_record_free(&r);
}

TEST(graph_three_adam_steps_match_pytorch) {
    cx_record r;
    if (!load_reference(&r)) return;
    net n = build(3);
    CHECK_EQ(cx_graph_plan(n.g, CX_MODE_TRAIN), 0);
    load_state(&n, &r);
    int64_t np;
    float *params = cx_graph_params(n.g, &np), *grads = cx_graph_param_grads(n.g, &np);
    float *m = calloc((size_t)np, sizeof *m), *v = calloc((size_t)np, sizeof *v);
    cx_optim opt;
    cx_optim_config cfg = {.kind = CX_OPTIM_ADAM, .lr = 1e-2, .weight_decay = 1e-4, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    CHECK_EQ(cx_optim_init(&opt, &cfg), 0);
    cx_param_group all = {params, grads, np, m, v};
    const float *losses = ref(&r, "", "adam_losses")->data;
    for (int step = 0; step < 3; step++) {
        memcpy(cx_graph_data(n.g, n.x), ref(&r, "", "x")->data, 3 * 3 * 16 * 16 * sizeof(float));
        CHECK_EQ(cx_graph_forward(n.g, 1, step), 0);
        double loss = 0;
        const float *pa = ref(&r, "", "probe_a")->data, *pb = ref(&r, "", "probe_b")->data;
        for (int k = 0; k < 6; k++) loss += (double)pa[k] * cx_graph_data(n.g, n.out_a)[k];
        for (int k = 0; k < 12; k++) loss += (double)pb[k] * cx_graph_data(n.g, n.out_b)[k];
        CHECK_NEAR(loss, losses[step], 1e-4, 1e-5);
        run_loss_backward(&n, &r);
        cx_optim_step(&opt, &all, 1);
    }
    for (int i = 0; i < cx_graph_state_count(n.g); i++) {
        cx_var var = cx_graph_state_var(n.g, i);
        if (cx_graph_kind(n.g, var) != CX_VAR_PARAM) continue;
        const cx_tensor *t = ref(&r, "adam/", cx_graph_name(n.g, var));
        if (t && !CHECK_CLOSE_F32(cx_graph_data(n.g, var), (const float *)t->data, (int64_t)(t->nbytes / 4), 1e-3, 1e-5))
            printf("  (%s)\n", cx_graph_name(n.g, var));
    }
    free(m);
    free(v);
    cx_graph_free(n.g);
    cx_record_free(&r);
}

TEST(graph_plan_reuses_memory_and_runs_smaller_batches) {
    cx_record r;
    if (!load_reference(&r)) return;
    net n = build(8);
    CHECK_EQ(cx_graph_plan(n.g, CX_MODE_TRAIN), 0);
    size_t train_bytes = cx_graph_activation_bytes(n.g);
    CHECK_EQ(cx_graph_plan(n.g, CX_MODE_EVAL), 0);
    size_t eval_bytes = cx_graph_activation_bytes(n.g);
    CHECK(eval_bytes < train_bytes / 2);   /* inference keeps only what is still to be read */
    /* batch 3 of a graph planned for 8 gives the batch-3 reference */
    CHECK_EQ(cx_graph_plan(n.g, CX_MODE_TRAIN), 0);
    load_state(&n, &r);
    CHECK_EQ(cx_graph_set_batch(n.g, 3), 0);
    memcpy(cx_graph_data(n.g, n.x), ref(&r, "", "x")->data, 3 * 3 * 16 * 16 * sizeof(float));
    CHECK_EQ(cx_graph_forward(n.g, 1, 0), 0);
    CHECK_CLOSE_F32(cx_graph_data(n.g, n.out_a), (const float *)ref(&r, "", "out_a")->data, 6, 1e-4, 1e-5);
    run_loss_backward(&n, &r);
    cx_var w = cx_graph_find(n.g, "block.conv2.weight");
    CHECK(w >= 0);
    CHECK_CLOSE_F32(cx_graph_grad(n.g, w), (const float *)ref(&r, "grad/", "block.conv2.weight")->data, 8 * 8 * 9, 1e-3, 1e-5);
    CHECK_EQ(cx_graph_set_batch(n.g, 9), EX_SOFTWARE);
    cx_graph_free(n.g);
    cx_record_free(&r);
}

TEST(graph_build_errors_name_the_layer) {
    cx_graph *g = cx_graph_new(2);
    int64_t in[3] = {3, 8, 8}, ws[4] = {4, 5, 3, 3};
    cx_var x = cx_graph_input(g, "x", 3, in, false);
    cx_graph_push(g, "features.conv0");
    cx_var w = cx_graph_param(g, "weight", 4, ws, CX_INIT_ZERO);
    cx_graph_pop(g);
    int pad[4] = {1, 1, 1, 1};
    CHECK_EQ(cx_graph_conv2d(g, x, w, -1, 1, 1, pad, 1, 1), -1);
    CHECK(!cx_graph_ok(g));
    CHECK(strstr(cx_errmsg(), "features.conv0.weight has shape [4, 5, 3, 3], [4, 3, 3, 3] wanted") != NULL);
    CHECK_EQ(cx_graph_plan(g, CX_MODE_EVAL), EX_SOFTWARE);
    cx_graph_free(g);
}

/* Finite differences through a whole graph in training mode, dropout and drop-path included:
 * the masks depend only on (seed, step), so every re-run of forward sees the same ones. */
typedef struct { net n; float probe[2 * 5]; } fd_ctx;

static double graph_loss(void *p) {
    fd_ctx *c = p;
    cx_graph_forward(c->n.g, 42, 7);
    return cx_dot_f64(c->probe, cx_graph_data(c->n.g, c->n.out_a), 2 * 5);
}

TEST(graph_gradients_pass_finite_differences_with_dropout) {
    fd_ctx c;
    cx_graph *g = c.n.g = cx_graph_new(2);
    int64_t in[3] = {2, 6, 6};
    c.n.x = cx_graph_input(g, "x", 3, in, true);
    cx_var x = cx_graph_act(g, bn(g, conv(g, c.n.x, "conv", 2, 4, 3, 1, 1, true), "bn", 4, 1e-5), CX_ACT_SILU);
    x = cx_graph_drop_path(g, cx_graph_dropout(g, x, 0.3), 0.2);
    /* average pooling: a max pool's argmax may flip under a finite-difference step */
    x = cx_graph_flatten(g, cx_graph_avgpool(g, x, 2, 2, 0, true, false));
    c.n.out_a = linear(g, x, "fc", 4 * 3 * 3, 5);
    cx_graph_output(g, c.n.out_a);
    CHECK(cx_graph_ok(g));
    CHECK_EQ(cx_graph_plan(g, CX_MODE_TRAIN), 0);
    cx_graph_init(g, 3);
    cx_fill_normal(cx_graph_data(g, c.n.x), 2 * 2 * 6 * 6, 5, 1.0f);
    cx_fill_normal(c.probe, 10, 6, 1.0f);
    graph_loss(&c);
    memcpy(cx_graph_grad(g, c.n.out_a), c.probe, sizeof c.probe);
    cx_graph_zero_grad(g);
    cx_graph_backward(g);
    int64_t nx = 2 * 2 * 6 * 6;
    float *gx = malloc(nx * sizeof *gx);
    memcpy(gx, cx_graph_grad(g, c.n.x), nx * sizeof *gx);
    CHECK(cx_gradcheck("graph input", graph_loss, &c, cx_graph_data(g, c.n.x), gx, nx, 60, 1e-2, 1e-3));
    const char *names[] = {"conv.weight", "conv.bias", "bn.weight", "bn.bias", "fc.weight"};
    for (int i = 0; i < 5; i++) {
        cx_var v = cx_graph_find(g, names[i]);
        int64_t n = cx_graph_numel(g, v);
        float *gv = malloc(n * sizeof *gv);
        memcpy(gv, cx_graph_grad(g, v), n * sizeof *gv);
        CHECK(cx_gradcheck(names[i], graph_loss, &c, cx_graph_data(g, v), gv, n, 40, 1e-2, 1e-3));
        free(gv);
    }
    /* the masks really drop something, and the same (seed, step) gives the same output */
    float first[10];
    graph_loss(&c);   /* the last gradcheck forward ran on a perturbed value */
    memcpy(first, cx_graph_data(g, c.n.out_a), sizeof first);
    cx_graph_forward(g, 42, 7);
    CHECK(!memcmp(first, cx_graph_data(g, c.n.out_a), sizeof first));
    cx_graph_forward(g, 42, 8);
    CHECK(memcmp(first, cx_graph_data(g, c.n.out_a), sizeof first) != 0);
    free(gx);
    cx_graph_free(g);
}

/* ---- checkpoints and weights ---- */

static net small_net(void) {
    net n;
    cx_graph *g = n.g = cx_graph_new(4);
    int64_t in[3] = {1, 8, 8};
    n.x = cx_graph_input(g, "x", 3, in, false);
    cx_var x = cx_graph_act(g, bn(g, conv(g, n.x, "features.conv0", 1, 4, 3, 2, 1, false), "features.norm0", 4, 1e-5), CX_ACT_RELU);
    x = cx_graph_dropout(g, x, 0.25);
    n.out_a = linear(g, cx_graph_flatten(g, cx_graph_adaptive_avgpool(g, x, 1, 1)), "fc", 4, 3);
    cx_graph_output(g, n.out_a);
    return n;
}

/* Steps [from, to) of a toy regression whose data come from st->rng: resuming must reproduce them. */
static void train_steps(net *n, cx_train_state *st, int to) {
    int64_t np;
    float *params = cx_graph_params(n->g, &np), *grads = cx_graph_param_grads(n->g, &np);
    cx_param_group all = {params, grads, np, st->m, st->v};
    for (; st->step < to; st->step++) {
        float *x = cx_graph_data(n->g, n->x);
        for (int i = 0; i < 4 * 64; i++) x[i] = (float)cx_rng_normal(&st->rng);
        cx_graph_forward(n->g, 11, st->step);
        float *dy = cx_graph_grad(n->g, n->out_a);
        const float *y = cx_graph_data(n->g, n->out_a);
        for (int i = 0; i < 12; i++) dy[i] = y[i] - (float)(i % 3);
        cx_graph_zero_grad(n->g);
        cx_graph_backward(n->g);
        cx_optim_step(&st->optim, &all, 1);
    }
}

static void start(net *n, cx_train_state *st) {
    *n = small_net();
    cx_graph_plan(n->g, CX_MODE_TRAIN);
    cx_graph_init(n->g, 5);
    int64_t np;
    cx_graph_params(n->g, &np);
    memset(st, 0, sizeof *st);
    st->m = calloc((size_t)np, sizeof(float));
    st->v = calloc((size_t)np, sizeof(float));
    cx_optim_config cfg = {.kind = CX_OPTIM_ADAM, .lr = 1e-2, .weight_decay = 1e-4, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    cx_optim_init(&st->optim, &cfg);
    cx_rng_seed(&st->rng, 99);
    st->config = cx_map();
    st->extra = cx_map();
    cx_map_set(&st->config, "backbone", cx_str("toy"));
}

static void finish_state(net *n, cx_train_state *st) {
    free(st->m);
    free(st->v);
    cx_train_state_free(st);
    cx_graph_free(n->g);
}

TEST(checkpoint_resume_is_bit_identical) {
    net a, b;
    cx_train_state sa, sb;
    start(&a, &sa);
    train_steps(&a, &sa, 3);
    cx_map_set(&sa.extra, "best", cx_float(0.25));
    const char *path = cx_test_tmp("ckpt.cxs");
    CHECK_EQ(cx_checkpoint_save(path, a.g, &sa), 0);
    train_steps(&a, &sa, 7);

    start(&b, &sb);   /* different state until loaded */
    CHECK_EQ(cx_checkpoint_load(path, b.g, &sb), 0);
    CHECK_EQ(sb.step, 3);
    CHECK_EQ(sb.optim.step, 3);
    CHECK(!strcmp(cx_map_str(&sb.config, "backbone", ""), "toy"));
    double best = 0;
    CHECK(cx_value_number(cx_map_get(&sb.extra, "best"), &best) && best == 0.25);
    train_steps(&b, &sb, 7);
    int64_t np, nb;
    const float *pa = cx_graph_params(a.g, &np), *pb = cx_graph_params(b.g, &np);
    const float *ba = cx_graph_buffers(a.g, &nb), *bb = cx_graph_buffers(b.g, &nb);
    CHECK(!memcmp(pa, pb, (size_t)np * sizeof(float)));
    CHECK(!memcmp(ba, bb, (size_t)nb * sizeof(float)));
    CHECK(!memcmp(sa.m, sb.m, (size_t)np * sizeof(float)));
    CHECK(!memcmp(sa.v, sb.v, (size_t)np * sizeof(float)));
    CHECK(!memcmp(sa.rng.s, sb.rng.s, sizeof sa.rng.s));
    finish_state(&a, &sa);
    finish_state(&b, &sb);
}

TEST(checkpoint_refuses_another_model) {
    net a, b;
    cx_train_state sa, sb;
    start(&a, &sa);
    const char *path = cx_test_tmp("ckpt2.cxs");
    CHECK_EQ(cx_checkpoint_save(path, a.g, &sa), 0);
    b.g = cx_graph_new(4);
    int64_t in[3] = {1, 8, 8};
    cx_var x = cx_graph_input(b.g, "x", 3, in, false);
    b.out_a = linear(b.g, cx_graph_flatten(b.g, cx_graph_adaptive_avgpool(b.g, conv(b.g, x, "features.conv0", 1, 5, 3, 2, 1, false), 1, 1)), "fc", 5, 3);
    memset(&sb, 0, sizeof sb);
    CHECK_EQ(cx_checkpoint_load(path, b.g, &sb), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "features.conv0.weight") != NULL);
    cx_graph_free(b.g);
    finish_state(&a, &sa);
}

TEST(weights_round_trip_and_strict_keys) {
    net a = small_net(), b = small_net();
    cx_graph_init(a.g, 1);
    cx_graph_init(b.g, 2);
    const char *path = cx_test_tmp("w.safetensors");
    CHECK_EQ(cx_weights_save(a.g, path, NULL), 0);
    CHECK_EQ(cx_weights_load(b.g, path, NULL), 0);
    int64_t np;
    CHECK(!memcmp(cx_graph_params(a.g, &np), cx_graph_params(b.g, &np), (size_t)np * sizeof(float)));

    /* a model with another head: strict loading names the key, skipping it works */
    cx_graph *c = cx_graph_new(2);
    int64_t in[3] = {1, 8, 8};
    cx_var x = cx_graph_input(c, "x", 3, in, false);
    x = cx_graph_act(c, bn(c, conv(c, x, "features.conv0", 1, 4, 3, 2, 1, false), "features.norm0", 4, 1e-5), CX_ACT_RELU);
    linear(c, cx_graph_flatten(c, cx_graph_adaptive_avgpool(c, x, 1, 1)), "fc", 4, 7);
    cx_graph_alloc_state(c);
    CHECK_EQ(cx_weights_load(c, path, NULL), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "key \"fc.weight\" has shape [3, 4] in the file, [7, 4] in the model") != NULL);
    const char *skip[] = {"fc.", NULL};
    cx_weights_options opt = {.skip_prefixes = skip};
    CHECK_EQ(cx_weights_load(c, path, &opt), 0);
    CHECK(!memcmp(cx_graph_data(c, cx_graph_find(c, "features.conv0.weight")),
                  cx_graph_data(a.g, cx_graph_find(a.g, "features.conv0.weight")), 4 * 9 * sizeof(float)));
    cx_graph_free(c);

    /* RGB filters summed into a gray model */
    cx_graph *rgb = cx_graph_new(1);
    int64_t in3[3] = {3, 8, 8};
    cx_var x3 = cx_graph_input(rgb, "x", 3, in3, false);
    conv(rgb, x3, "features.conv0", 3, 4, 3, 2, 1, false);
    cx_graph_init(rgb, 4);
    const char *p3 = cx_test_tmp("rgb.safetensors");
    CHECK_EQ(cx_weights_save(rgb, p3, NULL), 0);
    cx_graph *gray = cx_graph_new(1);
    cx_var x1 = cx_graph_input(gray, "x", 3, in, false);
    conv(gray, x1, "features.conv0", 1, 4, 3, 2, 1, false);
    cx_graph_alloc_state(gray);
    CHECK_EQ(cx_weights_load(gray, p3, NULL), EX_DATAERR);
    cx_weights_options sum = {.sum_rgb_filters = true};
    CHECK_EQ(cx_weights_load(gray, p3, &sum), 0);
    const float *w3 = cx_graph_data(rgb, cx_graph_find(rgb, "features.conv0.weight"));
    const float *w1 = cx_graph_data(gray, cx_graph_find(gray, "features.conv0.weight"));
    CHECK_NEAR(w1[4 * 9 - 1], (double)w3[(3 * 3 + 0) * 9 + 8] + w3[(3 * 3 + 1) * 9 + 8] + w3[(3 * 3 + 2) * 9 + 8], 1e-6, 0);
    cx_graph_free(rgb);
    cx_graph_free(gray);
    cx_graph_free(a.g);
    cx_graph_free(b.g);
}

/* A branch whose result feeds nothing (here linear -> dropout, as an M3H clustering-only run
 * leaves its shared-task net) gets no gradient: backward skips it and the parameters it reads
 * get zeros, while the live branch's gradients are those of a graph without the dead one. */
static void build_two_branches(cx_graph *g, bool dead_branch, cx_var *x, cx_var *y) {
    int64_t xs[1] = {3}, ws[2] = {2, 3}, bs[1] = {2};
    *x = cx_graph_input(g, "x", 1, xs, true);
    cx_var w = cx_graph_param(g, "live.weight", 2, ws, CX_INIT_UNIFORM_FAN_IN);
    cx_var b = cx_graph_param(g, "live.bias", 1, bs, CX_INIT_UNIFORM_FAN_IN);
    *y = cx_graph_linear(g, *x, w, b);
    if (dead_branch) {
        cx_var dw = cx_graph_param(g, "dead.weight", 2, ws, CX_INIT_UNIFORM_FAN_IN);
        cx_graph_dropout(g, cx_graph_linear(g, *x, dw, -1), 0.5);
    }
    cx_graph_output(g, *y);
}

TEST(graph_backward_skips_a_branch_that_feeds_nothing) {
    cx_graph *with = cx_graph_new(2), *without = cx_graph_new(2);
    cx_var xa, ya, xb, yb;
    build_two_branches(with, true, &xa, &ya);
    build_two_branches(without, false, &xb, &yb);
    if (!CHECK_EQ(cx_graph_plan(with, CX_MODE_TRAIN), 0) || !CHECK_EQ(cx_graph_plan(without, CX_MODE_TRAIN), 0)) return;
    cx_graph_init(with, 5);
    cx_graph_init(without, 5);
    cx_var live = cx_graph_find(with, "live.weight"), dead = cx_graph_find(with, "dead.weight");
    memcpy(cx_graph_data(without, cx_graph_find(without, "live.weight")), cx_graph_data(with, live), 6 * sizeof(float));
    memcpy(cx_graph_data(without, cx_graph_find(without, "live.bias")),
           cx_graph_data(with, cx_graph_find(with, "live.bias")), 2 * sizeof(float));
    for (int i = 0; i < 6; i++) cx_graph_data(with, xa)[i] = cx_graph_data(without, xb)[i] = 0.25f * (float)(i - 2);
    CHECK_EQ(cx_graph_forward(with, 1, 0), 0);
    CHECK_EQ(cx_graph_forward(without, 1, 0), 0);
    cx_graph_zero_grad(with);
    cx_graph_zero_grad(without);
    for (int i = 0; i < 4; i++) cx_graph_grad(with, ya)[i] = cx_graph_grad(without, yb)[i] = 1.0f + (float)i;
    cx_graph_backward(with);
    cx_graph_backward(without);
    CHECK(!memcmp(cx_graph_grad(with, live), cx_graph_grad(without, cx_graph_find(without, "live.weight")), 6 * sizeof(float)));
    CHECK(!memcmp(cx_graph_grad(with, xa), cx_graph_grad(without, xb), 6 * sizeof(float)));
    float zeros[6] = {0};
    CHECK(!memcmp(cx_graph_grad(with, dead), zeros, sizeof zeros));
    cx_graph_free(with);
    cx_graph_free(without);
}
