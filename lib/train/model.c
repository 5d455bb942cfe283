#include "train/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/stream.h"
#include "models/backbone.h"
#include "models/layers.h"

void cx_mt_config_default(cx_mt_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->input, sizeof c->input, "image");
    c->head = CX_HEAD_MLP;
    c->head_dropout = 0.5;
    cx_m3h_config_default(&c->m3h);
    c->latent_dim = 16;
    c->contrastive_weight = 1;
}

const char *cx_head_kind_name(cx_head_kind h) { return h == CX_HEAD_MLP ? "mlp" : "linear"; }

int cx_head_kind_parse(const char *s, cx_head_kind *h) {
    if (!strcmp(s, "mlp")) *h = CX_HEAD_MLP;
    else if (!strcmp(s, "linear")) *h = CX_HEAD_LINEAR;
    else return -1;
    return 0;
}

int64_t cx_mt_input_numel(const cx_mt_config *c) {
    return c->backbone[0] ? (int64_t)c->channels * c->size * c->size : c->in_dim;
}

cx_value cx_mt_config_to_value(const cx_mt_config *c) {
    cx_value v = cx_map();
    bool m3h = c->arch == CX_ARCH_M3H;
    cx_map_set(&v, "arch", cx_str(m3h ? "m3h" : "mdmt"));
    cx_map_set(&v, "backbone", c->backbone[0] ? cx_str(c->backbone) : cx_nil());
    cx_map_set(&v, "input", cx_str(c->input));
    if (c->backbone[0]) {
        cx_map_set(&v, "channels", cx_int(c->channels));
        cx_map_set(&v, "size", cx_int(c->size));
    } else {
        cx_map_set(&v, "in_dim", cx_int(c->in_dim));
    }
    if (m3h) {
        cx_value net;
        cx_m3h_config_to_value(&c->m3h, &net);
        cx_map_set(&v, "m3h", net);
        cx_map_set(&v, "latent_dim", cx_int(c->latent_dim));
        cx_map_set(&v, "contrastive_weight", cx_float(c->contrastive_weight));
    } else {
        cx_map_set(&v, "head", cx_str(cx_head_kind_name(c->head)));
        cx_map_set(&v, "head_dropout", cx_float(c->head_dropout));
    }
    cx_value tasks = cx_array();
    for (int t = 0; t < c->ntasks; t++) cx_array_push(&tasks, cx_task_to_value(&c->tasks[t]));
    cx_map_set(&v, "tasks", tasks);
    return v;
}

static int int_field(const cx_value *v, const char *key, int lo, int hi, int *out) {
    double x;
    const cx_value *f = cx_map_get(v, key);
    if (!f || !cx_value_number(f, &x) || x != floor(x) || x < lo || x > hi)
        return cx_err(EX_DATAERR, "config.%s: missing or not an integer %d..%d", key, lo, hi);
    *out = (int)x;
    return 0;
}

/* The M3H part of a config: the network, which must fit the tasks and the input width. */
static int m3h_from_value(const cx_value *v, cx_mt_config *c) {
    if (cx_m3h_config_from_value(cx_map_get(v, "m3h"), &c->m3h)) return cx_err_prefix("config.m3h");
    const cx_value *w = cx_map_get(v, "contrastive_weight");
    if (!w || !cx_value_number(w, &c->contrastive_weight) || !(c->contrastive_weight >= 0))
        return cx_err(EX_DATAERR, "config.contrastive_weight: missing or negative");
    int width = 0;
    for (int m = 0; m < c->m3h.n_modalities; m++) width += c->m3h.modality_dim[m];
    if (c->backbone[0] || width != c->in_dim || c->m3h.n_tasks != c->ntasks)
        return cx_err(EX_DATAERR, "config.m3h: does not fit the model's input width or tasks");
    for (int t = 0; t < c->ntasks; t++)
        if (c->m3h.task_is_clustering[t] != (c->tasks[t].kind == CX_TASK_CLUSTERING))
            return cx_err(EX_DATAERR, "config.m3h: task %d is clustering in one place only", t);
    return int_field(v, "latent_dim", 1, 1 << 20, &c->latent_dim);
}

int cx_mt_config_from_value(const cx_value *v, cx_mt_config *c) {
    cx_mt_config_default(c);
    if (!v || v->kind != CX_MAP) return cx_err(EX_DATAERR, "config: not a map");
    const char *arch = cx_map_str(v, "arch", "");
    if (!strcmp(arch, "m3h")) c->arch = CX_ARCH_M3H;
    else if (strcmp(arch, "mdmt")) return cx_err(EX_DATAERR, "config.arch: '%s' is not a model this build knows", arch);
    snprintf(c->backbone, sizeof c->backbone, "%s", cx_map_str(v, "backbone", ""));
    const char *input = cx_map_str(v, "input", NULL);
    if (!input || !*input || strlen(input) >= sizeof c->input) return cx_err(EX_DATAERR, "config.input: missing");
    snprintf(c->input, sizeof c->input, "%s", input);
    if (c->backbone[0]) {
        if (int_field(v, "channels", 1, 3, &c->channels) || int_field(v, "size", 1, 8192, &c->size)) return cx_errcode();
    } else if (int_field(v, "in_dim", 1, 1 << 24, &c->in_dim)) {
        return cx_errcode();
    }
    if (c->arch == CX_ARCH_MDMT) {
        if (cx_head_kind_parse(cx_map_str(v, "head", ""), &c->head)) return cx_err(EX_DATAERR, "config.head: unknown");
        const cx_value *p = cx_map_get(v, "head_dropout");
        if (!p || !cx_value_number(p, &c->head_dropout) || !(c->head_dropout >= 0 && c->head_dropout < 1))
            return cx_err(EX_DATAERR, "config.head_dropout: missing or not in [0, 1)");
    }
    const cx_value *tasks = cx_map_get(v, "tasks");
    if (!tasks || tasks->kind != CX_ARRAY || tasks->u.arr.n < 1 || tasks->u.arr.n > CX_MAX_TASKS)
        return cx_err(EX_DATAERR, "config.tasks: missing, or not 1..%d tasks", CX_MAX_TASKS);
    c->ntasks = (int)tasks->u.arr.n;
    for (int t = 0; t < c->ntasks; t++)
        if (cx_task_from_value(&tasks->u.arr.items[t], &c->tasks[t])) return cx_err_prefix("config.tasks[%d]", t);
    return c->arch == CX_ARCH_M3H ? m3h_from_value(v, c) : 0;
}

int cx_mt_clustering_task(const cx_mt_config *c) {
    for (int t = 0; t < c->ntasks; t++)
        if (c->tasks[t].kind == CX_TASK_CLUSTERING) return t;
    return -1;
}

int cx_mt_config_m3h(cx_mt_config *c, const cx_mt_data *d) {
    if (d->nparts > CX_M3H_MAX_MODALITIES)
        return cx_err(EX_USAGE, "--arch m3h: %d input tensors, at most %d modalities", d->nparts, CX_M3H_MAX_MODALITIES);
    if (c->ntasks > CX_M3H_MAX_TASKS) return cx_err(EX_USAGE, "--arch m3h: at most %d tasks", CX_M3H_MAX_TASKS);
    c->m3h.n_modalities = d->nparts;
    for (int m = 0; m < d->nparts; m++) {
        if (d->part_numel[m] > (1 << 24)) return cx_err(EX_USAGE, "--arch m3h: input tensor %d is too wide", m);
        c->m3h.modality_dim[m] = (int)d->part_numel[m];
    }
    c->m3h.n_tasks = c->ntasks;
    int clustering = 0;
    for (int t = 0; t < c->ntasks; t++) {
        bool is_clustering = c->tasks[t].kind == CX_TASK_CLUSTERING;
        c->m3h.task_is_clustering[t] = is_clustering;
        c->m3h.task_out[t] = is_clustering ? c->latent_dim : cx_task_outputs(&c->tasks[t]);
        if (is_clustering && ++clustering > 1)
            return cx_err(EX_USAGE, "--arch m3h: task %s: at most one clustering task (one autoencoder)", c->tasks[t].name);
    }
    return 0;
}

bool cx_mt_is_shared(const char *name) { return strncmp(name, "heads.", 6) != 0; }

static cx_var build_head(cx_graph *g, cx_var x, const cx_mt_config *c, const cx_task *t) {
    int outputs = cx_task_outputs(t);
    cx_graph_push(g, "heads.%s", t->name);
    cx_var y;
    if (c->head == CX_HEAD_LINEAR) {
        cx_graph_pop(g);
        char name[80];
        snprintf(name, sizeof name, "heads.%s", t->name);
        y = cx_layer_linear(g, x, name, outputs, true);
    } else {
        y = cx_graph_act(g, cx_layer_linear(g, x, "0", 128, true), CX_ACT_RELU);
        y = cx_graph_dropout(g, y, c->head_dropout);
        y = cx_graph_act(g, cx_layer_linear(g, y, "3", 32, true), CX_ACT_RELU);
        y = cx_graph_dropout(g, y, c->head_dropout);
        y = cx_layer_linear(g, y, "6", outputs, true);
        cx_graph_pop(g);
    }
    if (t->loss == CX_LOSS_NLL) y = cx_graph_softmax(g, y, 1, true);
    return y;
}

static int build_m3h(cx_mt_model *m, const cx_mt_config *c) {
    if (cx_m3h_build(m->g, &c->m3h, &m->m3h)) return cx_errcode();
    m->ninputs = c->m3h.n_modalities;
    for (int i = 0; i < m->ninputs; i++) m->inputs[i] = m->m3h.input[i], m->input_numel[i] = c->m3h.modality_dim[i];
    m->input = m->features = -1;
    for (int t = 0; t < c->ntasks; t++) {
        m->out[t] = m->m3h.task_out[t];
        if (c->tasks[t].loss != CX_LOSS_NLL) continue;
        m->out[t] = cx_graph_softmax(m->g, m->out[t], 1, true);
        cx_graph_output(m->g, m->out[t]);
    }
    int k = cx_mt_clustering_task(c);
    if (k >= 0) {
        int64_t shape[2] = {c->tasks[k].classes, c->latent_dim};
        m->centroids = cx_graph_buffer(m->g, "clustering.centroids", 2, shape, 0);
    }
    return cx_graph_ok(m->g) ? 0 : cx_errcode();
}

int cx_mt_model_build(cx_mt_model *m, const cx_mt_config *c, int max_batch) {
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->centroids = -1;
    if (c->ntasks < 1) return cx_err(EX_USAGE, "no task");
    if (c->arch == CX_ARCH_MDMT)
        for (int t = 0; t < c->ntasks; t++)
            if (c->tasks[t].kind == CX_TASK_CLUSTERING)
                return cx_err(EX_USAGE, "task %s: clustering tasks need --arch m3h", c->tasks[t].name);
    m->g = cx_graph_new(max_batch);
    m->max_batch = max_batch;
    if (c->arch == CX_ARCH_M3H) return build_m3h(m, c);
    if (c->backbone[0]) {
        const cx_backbone *b = cx_backbone_find(c->backbone);
        if (!b) return cx_errcode();
        int64_t shape[3] = {c->channels, c->size, c->size};
        m->input = cx_graph_input(m->g, "input", 3, shape, false);
        cx_backbone_options opt = {.num_classes = 0, .drop_rate = -1};
        cx_backbone_outputs o;
        if (b->build(m->g, m->input, &opt, &o)) return cx_errcode();
        m->features = o.features;
    } else {
        int64_t shape[1] = {c->in_dim};
        m->input = m->features = cx_graph_input(m->g, "input", 1, shape, false);
    }
    m->ninputs = 1;
    m->inputs[0] = m->input;
    m->input_numel[0] = cx_mt_input_numel(c);
    for (int t = 0; t < c->ntasks; t++) {
        m->out[t] = build_head(m->g, m->features, c, &c->tasks[t]);
        cx_graph_output(m->g, m->out[t]);
    }
    if (!cx_graph_ok(m->g)) return cx_errcode();
    return 0;
}

int cx_mt_model_init_bias(cx_mt_model *m, const cx_mt_data *train) {
    int set = 0;
    for (int t = 0; m->cfg.arch == CX_ARCH_M3H && t < m->cfg.ntasks; t++) {
        if (m->cfg.tasks[t].kind != CX_TASK_BINARY) continue;
        int64_t pos = 0, neg = 0;
        for (int64_t i = 0; i < train->n; i++) {
            double y = train->label[i * train->ntasks + t];
            if (!isnan(y)) pos += y == 1, neg += y == 0;
        }
        set += cx_m3h_init_binary_bias(m->g, &m->cfg.m3h, t, pos, neg);
    }
    return set;
}

double cx_mt_model_aux_loss(cx_mt_model *m, double *recon, double *contrastive) {
    if (recon) *recon = 0;
    if (contrastive) *contrastive = 0;
    if (m->cfg.arch != CX_ARCH_M3H) return 0;
    const cx_mt_config *c = &m->cfg;
    int k = cx_mt_clustering_task(c);
    float w_recon = k >= 0 ? (float)c->tasks[k].weight : 0, w_c = (float)c->contrastive_weight;
    /* the reconstruction alone first (no InfoNCE: weight 0), for its unweighted value; then
     * both, which writes the gradients the training step uses */
    double r = k >= 0 ? cx_m3h_aux_loss(m->g, &c->m3h, &m->m3h, 0, 1) : 0;
    double total = cx_m3h_aux_loss(m->g, &c->m3h, &m->m3h, w_c, w_recon);
    if (recon) *recon = r;
    if (contrastive) *contrastive = w_c > 0 ? (total - w_recon * r) / w_c : 0;
    /* an nll task's loss reads its log-softmax: the logits below it get no seed of their own */
    for (int t = 0; t < c->ntasks; t++) {
        float *grad = m->out[t] != m->m3h.task_out[t] ? cx_graph_grad(m->g, m->m3h.task_out[t]) : NULL;
        if (grad) memset(grad, 0, (size_t)cx_graph_numel(m->g, m->m3h.task_out[t]) * sizeof *grad);
    }
    return total;
}

void cx_mt_model_free(cx_mt_model *m) {
    cx_graph_free(m->g);
    m->g = NULL;
}

/* The task whose head a state name belongs to, or -1. */
static int head_task(const cx_mt_config *c, const char *name) {
    if (cx_mt_is_shared(name)) return -1;
    for (int t = 0; t < c->ntasks; t++) {
        size_t len = strlen(c->tasks[t].name);
        if (!strncmp(name + 6, c->tasks[t].name, len) && name[6 + len] == '.') return t;
    }
    return -1;
}

int cx_mt_model_init_from(cx_mt_model *m, const char *const *paths, int n, bool take_heads) {
    cx_graph *g = m->g;
    int nstate = cx_graph_state_count(g);
    double **sum = cx_calloc((size_t)nstate, sizeof *sum);
    int *count = cx_calloc((size_t)nstate, sizeof *count);
    int rc = 0;
    cx_record rec;
    cx_record_init(&rec);
    for (int k = 0; k < n && !rc; k++) {
        cx_reader *rd = cx_reader_open(paths[k]);
        if (!rd) {
            rc = cx_errcode();
            break;
        }
        if (strcmp(cx_header_kind(cx_reader_header(rd)), "checkpoint")) {
            rc = cx_err(EX_DATAERR, "%s: a %s stream, not a checkpoint", paths[k], cx_header_kind(cx_reader_header(rd)));
            cx_reader_close(rd);
            break;
        }
        const cx_value *config = cx_map_get(cx_map_get(cx_reader_header(rd), "config"), "model");
        const char *backbone = cx_map_str(config, "backbone", "");
        if (config && strcmp(backbone, m->cfg.backbone)) {
            rc = cx_err(EX_DATAERR, "%s: a %s model; this one is %s (the shared weights must have the same shapes)", paths[k],
                        backbone[0] ? backbone : "heads-only", m->cfg.backbone[0] ? m->cfg.backbone : "heads-only");
            cx_reader_close(rd);
            break;
        }
        bool *seen = cx_calloc((size_t)nstate, sizeof *seen);
        int got;
        while (!rc && (got = cx_reader_next(rd, &rec)) == 1) {
            cx_var v = cx_graph_find(g, rec.id);
            if (v < 0) continue;   /* the train state, another task's head */
            int i = 0;
            while (cx_graph_state_var(g, i) != v) i++;
            bool shared = cx_mt_is_shared(rec.id);
            if (!shared && (!take_heads || head_task(&m->cfg, rec.id) < 0)) continue;
            const cx_tensor *t = cx_record_tensor(&rec, "value");
            if (!t || t->dtype != CX_F32 || t->ndim != cx_graph_ndim(g, v) ||
                memcmp(t->shape, cx_graph_shape(g, v), (size_t)t->ndim * sizeof t->shape[0])) {
                char want[128];
                cx_shape_format(want, sizeof want, cx_graph_ndim(g, v), cx_graph_shape(g, v));
                rc = cx_err(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.value: not f32 %s as the model has it",
                            paths[k], (long long)rec.index, rec.id, want);
                break;
            }
            int64_t len = cx_graph_numel(g, v);
            if (!sum[i]) sum[i] = cx_calloc((size_t)len, sizeof(double));
            const float *x = t->data;
            for (int64_t j = 0; j < len; j++) sum[i][j] += x[j];
            count[i]++;
            seen[i] = true;
        }
        if (!rc && got < 0) rc = cx_errcode();
        for (int i = 0; i < nstate && !rc; i++) {
            const char *name = cx_graph_name(g, cx_graph_state_var(g, i));
            if (cx_mt_is_shared(name) && !seen[i])
                rc = cx_err(EX_DATAERR, "%s: missing key \"%s\" (checkpoints to start from need the same backbone)",
                            paths[k], name);
        }
        free(seen);
        cx_reader_close(rd);
    }
    for (int i = 0; i < nstate; i++) {
        if (!rc && count[i]) {
            cx_var v = cx_graph_state_var(g, i);
            float *dst = cx_graph_data(g, v);
            for (int64_t j = 0; j < cx_graph_numel(g, v); j++) dst[j] = (float)(sum[i][j] / count[i]);
        }
        free(sum[i]);
    }
    free(sum);
    free(count);
    cx_record_free(&rec);
    return rc;
}

void cx_mt_prediction(const cx_mt_model *m, int t, int i, float *prob, double *value) {
    const cx_task *task = &m->cfg.tasks[t];
    int w = cx_task_outputs(task);
    const float *y = cx_graph_data(m->g, m->out[t]) + (int64_t)i * w;
    if (task->kind == CX_TASK_REGRESSION) {
        *value = y[0];
    } else if (task->loss == CX_LOSS_BCE) {
        float p = 1.0f / (1.0f + expf(-y[0]));
        prob[0] = 1.0f - p, prob[1] = p;
    } else if (task->loss == CX_LOSS_NLL) {
        for (int k = 0; k < w; k++) prob[k] = expf(y[k]);
    } else {
        float top = y[0], total = 0;
        for (int k = 1; k < w; k++) top = y[k] > top ? y[k] : top;
        for (int k = 0; k < w; k++) total += prob[k] = expf(y[k] - top);
        for (int k = 0; k < w; k++) prob[k] /= total;
    }
}
