#include "models/m3h.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/layers.h"
#include "nn/loss.h"

void cx_m3h_config_default(cx_m3h_config *c) {
    memset(c, 0, sizeof *c);
    c->hidden = 256;
    c->proj_dim = 128;
    c->shared_dim = 256;
    c->task_dim = 64;
    c->alpha = 0.1;
    c->dropout = 0.1;
}

static int input_width(const cx_m3h_config *c) {
    int total = 0;
    for (int m = 0; m < c->n_modalities; m++) total += c->modality_dim[m];
    return total;
}

static int clustering_task(const cx_m3h_config *c) {
    for (int t = 0; t < c->n_tasks; t++)
        if (c->task_is_clustering[t]) return t;
    return -1;
}

static int check_config(const cx_m3h_config *c) {
    if (c->n_modalities < 1 || c->n_modalities > CX_M3H_MAX_MODALITIES)
        return cx_err(EX_USAGE, "m3h: %d modalities (1..%d)", c->n_modalities, CX_M3H_MAX_MODALITIES);
    if (c->n_tasks < 1 || c->n_tasks > CX_M3H_MAX_TASKS)
        return cx_err(EX_USAGE, "m3h: %d tasks (1..%d)", c->n_tasks, CX_M3H_MAX_TASKS);
    for (int m = 0; m < c->n_modalities; m++)
        if (c->modality_dim[m] < 1) return cx_err(EX_USAGE, "m3h: modality %d has width %d", m, c->modality_dim[m]);
    if (c->hidden < 1 || c->proj_dim < 1 || c->shared_dim < 1 || c->task_dim < 1)
        return cx_err(EX_USAGE, "m3h: widths hidden %d, proj %d, shared %d, task %d must be positive", c->hidden,
                      c->proj_dim, c->shared_dim, c->task_dim);
    int clustering = 0;
    for (int t = 0; t < c->n_tasks; t++) {
        if (c->task_out[t] < 1) return cx_err(EX_USAGE, "m3h: task %d has output width %d", t, c->task_out[t]);
        clustering += c->task_is_clustering[t];
    }
    if (clustering > 1) return cx_err(EX_USAGE, "m3h: %d clustering tasks (at most one autoencoder)", clustering);
    if (!(c->dropout >= 0 && c->dropout < 1)) return cx_err(EX_USAGE, "m3h: dropout %g outside [0, 1)", c->dropout);
    if (!isfinite(c->alpha)) return cx_err(EX_USAGE, "m3h: alpha is not finite");
    return 0;
}

/* Linear(width), ReLU, and dropout when p > 0. */
static cx_var dense_relu(cx_graph *g, cx_var x, const char *name, int width, double p) {
    cx_var y = cx_graph_act(g, cx_layer_linear(g, x, name, width, true), CX_ACT_RELU);
    return p > 0 ? cx_graph_dropout(g, y, p) : y;
}

/* One linear map applied to every task embedding (the same weights), joined into [N, T * d]. */
static cx_var per_task_linear(cx_graph *g, const cx_var *embedding, int tasks, const char *name, int dim) {
    int64_t wshape[2] = {dim, dim}, bshape[1] = {dim};
    cx_graph_push(g, "%s", name);
    cx_var w = cx_graph_param(g, "weight", 2, wshape, CX_INIT_UNIFORM_FAN_IN);
    cx_var b = cx_graph_param(g, "bias", 1, bshape, CX_INIT_UNIFORM_FAN_IN);
    cx_graph_pop(g);
    cx_var mapped[CX_M3H_MAX_TASKS];
    for (int t = 0; t < tasks; t++) mapped[t] = cx_graph_linear(g, embedding[t], w, b);
    return cx_graph_concat(g, mapped, tasks);
}

int cx_m3h_build(cx_graph *g, const cx_m3h_config *c, cx_m3h_graph *out) {
    if (check_config(c)) return cx_errcode();
    int n_mod = c->n_modalities, n_tasks = c->n_tasks, cluster = clustering_task(c);
    for (int m = 0; m < CX_M3H_MAX_MODALITIES; m++) out->input[m] = out->projection[m] = -1;
    for (int t = 0; t < CX_M3H_MAX_TASKS; t++) out->task_out[t] = -1;
    out->attention = out->reconstruction = -1;

    for (int m = 0; m < n_mod; m++) {
        char name[32];
        snprintf(name, sizeof name, "modality%d", m);
        int64_t width = c->modality_dim[m];
        out->input[m] = cx_graph_input(g, name, 1, &width, false);
        cx_graph_push(g, "modality.%d", m);
        cx_var h = dense_relu(g, out->input[m], "fc1", c->hidden, c->dropout);
        out->projection[m] = cx_layer_linear(g, h, "fc2", c->proj_dim, true);
        cx_graph_pop(g);
    }
    cx_graph_push(g, "shared");
    cx_var shared = dense_relu(g, cx_graph_concat(g, out->projection, n_mod), "fc", c->shared_dim, c->dropout);
    cx_graph_pop(g);

    cx_var latent = -1;
    if (cluster >= 0) {
        cx_graph_push(g, "autoencoder");
        cx_graph_push(g, "encoder");
        cx_var h = dense_relu(g, cx_graph_concat(g, out->input, n_mod), "fc1", c->hidden, 0);
        latent = cx_layer_linear(g, h, "fc2", c->task_out[cluster], true);
        cx_graph_pop(g);
        cx_graph_push(g, "decoder");
        h = dense_relu(g, latent, "fc1", c->hidden, 0);
        out->reconstruction = cx_layer_linear(g, h, "fc2", input_width(c), true);
        cx_graph_pop(g);
        cx_graph_pop(g);
    }

    cx_var embedding[CX_M3H_MAX_TASKS];
    for (int t = 0; t < n_tasks; t++) {
        cx_graph_push(g, "task.%d", t);
        embedding[t] = dense_relu(g, t == cluster ? latent : shared, "net", c->task_dim, 0);
        cx_graph_pop(g);
    }

    cx_graph_push(g, "attention");
    int64_t qshape[2] = {n_tasks, c->task_dim};
    cx_var query = cx_graph_param(g, "query.weight", 2, qshape, CX_INIT_XAVIER_UNIFORM);
    cx_var keys = per_task_linear(g, embedding, n_tasks, "key", c->task_dim);
    cx_var values = per_task_linear(g, embedding, n_tasks, "value", c->task_dim);
    cx_var mixed = cx_graph_task_attention(g, query, keys, values, c->alpha, &out->attention);
    cx_graph_pop(g);

    cx_var rows[CX_M3H_MAX_TASKS];   /* [N, 1, task_dim] each */
    if (cx_graph_ok(g)) cx_graph_chunk(g, mixed, n_tasks, rows);
    for (int t = 0; t < n_tasks; t++) {
        if (t == cluster) {
            out->task_out[t] = latent;
            continue;
        }
        cx_graph_push(g, "task.%d", t);
        out->task_out[t] = cx_layer_linear(g, cx_graph_ok(g) ? cx_graph_flatten(g, rows[t]) : -1, "head", c->task_out[t], true);
        cx_graph_pop(g);
    }
    if (!cx_graph_ok(g)) return cx_errcode();

    /* the inputs are kept to the end: they are the reconstruction's target */
    for (int m = 0; m < n_mod; m++) {
        cx_graph_output(g, out->input[m]);
        cx_graph_output(g, out->projection[m]);
    }
    for (int t = 0; t < n_tasks; t++) cx_graph_output(g, out->task_out[t]);
    cx_graph_output(g, out->attention);
    if (out->reconstruction >= 0) cx_graph_output(g, out->reconstruction);
    return 0;
}

static void zero_grad_of(cx_graph *g, cx_var v) {
    float *grad = v >= 0 ? cx_graph_grad(g, v) : NULL;
    if (grad) memset(grad, 0, (size_t)cx_graph_numel(g, v) * sizeof(float));
}

/* w * mean InfoNCE over the modality pairs, with its gradient added into the projections'. */
static double contrastive_term(cx_graph *g, const cx_m3h_config *c, const cx_m3h_graph *m, float w) {
    int n_mod = c->n_modalities, pairs = n_mod * (n_mod - 1) / 2;
    if (pairs == 0 || w == 0) return 0;
    cx_infonce_desc d = {cx_graph_batch(g), c->proj_dim, CX_M3H_INFONCE_TAU, CX_REDUCE_MEAN};
    float *work = cx_malloc(cx_infonce_workspace_bytes(&d));
    float dout = w / (float)pairs;
    double total = 0;
    for (int a = 0; a < n_mod; a++)
        for (int b = a + 1; b < n_mod; b++) {
            const float *pa = cx_graph_data(g, m->projection[a]), *pb = cx_graph_data(g, m->projection[b]);
            total += cx_infonce_forward(&d, NULL, pa, pb, work);
            float *ga = cx_graph_grad(g, m->projection[a]), *gb = cx_graph_grad(g, m->projection[b]);
            if (ga || gb) cx_infonce_backward(&d, ga, gb, &dout, pa, pb, work);
        }
    free(work);
    return w * total / pairs;
}

/* w * MSE(reconstruction, the inputs side by side), with its gradient into the reconstruction's. */
static double reconstruction_term(cx_graph *g, const cx_m3h_config *c, const cx_m3h_graph *m, float w) {
    if (m->reconstruction < 0 || w == 0) return 0;
    int n = cx_graph_batch(g), width = input_width(c);
    float *target = cx_malloc((size_t)n * (size_t)width * sizeof(float));   /* [N, sum dims] */
    for (int i = 0, at = 0; i < c->n_modalities; at += c->modality_dim[i], i++) {
        const float *x = cx_graph_data(g, m->input[i]);
        for (int s = 0; s < n; s++)
            memcpy(target + (size_t)s * width + at, x + (size_t)s * c->modality_dim[i], (size_t)c->modality_dim[i] * sizeof(float));
    }
    cx_elem_loss_desc d = {n, width, CX_REDUCE_MEAN};
    const float *recon = cx_graph_data(g, m->reconstruction);
    double loss = cx_mse_forward(&d, NULL, recon, target, NULL);
    float *grad = cx_graph_grad(g, m->reconstruction);
    if (grad) cx_mse_backward(&d, grad, NULL, &w, recon, target, NULL);
    free(target);
    return w * loss;
}

float cx_m3h_aux_loss(cx_graph *g, const cx_m3h_config *c, const cx_m3h_graph *m, float w_contrastive, float w_recon) {
    for (int i = 0; i < c->n_modalities; i++) zero_grad_of(g, m->projection[i]);
    zero_grad_of(g, m->reconstruction);
    zero_grad_of(g, m->attention);
    int cluster = clustering_task(c);
    if (cluster >= 0) zero_grad_of(g, m->task_out[cluster]);
    return (float)(contrastive_term(g, c, m, w_contrastive) + reconstruction_term(g, c, m, w_recon));
}

int cx_m3h_init_binary_bias(cx_graph *g, const cx_m3h_config *c, int task, int64_t n_pos, int64_t n_neg) {
    if (task < 0 || task >= c->n_tasks || c->task_is_clustering[task] || c->task_out[task] > 2) return 0;
    if (n_pos < 1 || n_neg < 1 || (double)n_pos >= 0.1 * (double)(n_pos + n_neg)) return 0;
    char name[64];
    snprintf(name, sizeof name, "task.%d.head.bias", task);
    float *bias = cx_graph_data(g, cx_graph_find(g, name));
    if (!bias) return 0;
    float logit = (float)log((double)n_pos / (double)n_neg);
    if (c->task_out[task] == 1) bias[0] = logit;
    else {
        bias[0] = 0;
        bias[1] = logit;
    }
    return 1;
}

/* ------------------------------------------------------------------ config as metadata */

static cx_value int_array(const int *x, int n) {
    cx_value a = cx_array();
    for (int i = 0; i < n; i++) cx_array_push(&a, cx_int(x[i]));
    return a;
}

int cx_m3h_config_to_value(const cx_m3h_config *c, cx_value *out) {
    *out = cx_map();
    cx_map_set(out, "n_modalities", cx_int(c->n_modalities));
    cx_map_set(out, "modality_dim", int_array(c->modality_dim, c->n_modalities));
    cx_map_set(out, "hidden", cx_int(c->hidden));
    cx_map_set(out, "proj_dim", cx_int(c->proj_dim));
    cx_map_set(out, "shared_dim", cx_int(c->shared_dim));
    cx_map_set(out, "task_dim", cx_int(c->task_dim));
    cx_map_set(out, "n_tasks", cx_int(c->n_tasks));
    cx_map_set(out, "task_out", int_array(c->task_out, c->n_tasks));
    cx_value clustering = cx_array();
    for (int t = 0; t < c->n_tasks; t++) cx_array_push(&clustering, cx_bool(c->task_is_clustering[t]));
    cx_map_set(out, "task_is_clustering", clustering);
    cx_map_set(out, "alpha", cx_float(c->alpha));
    cx_map_set(out, "dropout", cx_float(c->dropout));
    return 0;
}

static int get_number(const cx_value *v, const char *key, double *x) {
    if (!cx_value_number(cx_map_get(v, key), x)) return cx_err(EX_DATAERR, "m3h config: %s missing or not a number", key);
    return 0;
}

static int get_int(const cx_value *v, const char *key, int lo, int hi, int *x) {
    double d;
    if (get_number(v, key, &d)) return cx_errcode();
    if (d != floor(d) || d < lo || d > hi) return cx_err(EX_DATAERR, "m3h config: %s = %g outside %d..%d", key, d, lo, hi);
    *x = (int)d;
    return 0;
}

/* An array of n integers (or booleans, read as 0/1) >= lo. */
static int get_ints(const cx_value *v, const char *key, int n, int lo, int *x) {
    const cx_value *a = cx_map_get(v, key);
    if (!a || a->kind != CX_ARRAY || a->u.arr.n != (size_t)n)
        return cx_err(EX_DATAERR, "m3h config: %s is not an array of %d", key, n);
    for (int i = 0; i < n; i++) {
        double d;
        if (!cx_value_number(&a->u.arr.items[i], &d) || d != floor(d) || d < lo || d > 1e9)
            return cx_err(EX_DATAERR, "m3h config: %s[%d] is not an integer >= %d", key, i, lo);
        x[i] = (int)d;
    }
    return 0;
}

int cx_m3h_config_from_value(const cx_value *v, cx_m3h_config *c) {
    cx_m3h_config_default(c);
    int clustering[CX_M3H_MAX_TASKS];
    if (get_int(v, "n_modalities", 1, CX_M3H_MAX_MODALITIES, &c->n_modalities) ||
        get_ints(v, "modality_dim", c->n_modalities, 1, c->modality_dim) ||
        get_int(v, "hidden", 1, 1 << 20, &c->hidden) || get_int(v, "proj_dim", 1, 1 << 20, &c->proj_dim) ||
        get_int(v, "shared_dim", 1, 1 << 20, &c->shared_dim) || get_int(v, "task_dim", 1, 1 << 20, &c->task_dim) ||
        get_int(v, "n_tasks", 1, CX_M3H_MAX_TASKS, &c->n_tasks) || get_ints(v, "task_out", c->n_tasks, 1, c->task_out) ||
        get_ints(v, "task_is_clustering", c->n_tasks, 0, clustering) || get_number(v, "alpha", &c->alpha) ||
        get_number(v, "dropout", &c->dropout))
        return cx_errcode();
    for (int t = 0; t < c->n_tasks; t++) c->task_is_clustering[t] = clustering[t] != 0;
    if (check_config(c)) return cx_err(EX_DATAERR, "m3h config: %s", cx_errmsg());
    return 0;
}
