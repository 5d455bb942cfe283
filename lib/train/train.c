#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "io/stream.h"
#include "eval/cluster.h"
#include "nn/checkpoint.h"

/* ---- losses ---- */

void cx_mt_loss_balanced(cx_mt_loss *l, const cx_mt_config *c, const cx_mt_data *d) {
    for (int t = 0; t < c->ntasks; t++) {
        const cx_task *task = &c->tasks[t];
        if (!cx_task_is_classification(task)) continue;
        int k = task->classes;
        int64_t *count = cx_calloc((size_t)k, sizeof *count), n = 0;
        for (int64_t i = 0; i < d->n; i++) {
            double y = d->label[i * d->ntasks + t];
            if (!isnan(y)) count[(int)y]++, n++;
        }
        if (task->loss == CX_LOSS_BCE) {
            l->class_weight[t] = cx_malloc(sizeof(float));
            l->class_weight[t][0] = count[1] ? (float)((double)count[0] / (double)count[1]) : 1.0f;
        } else {
            l->class_weight[t] = cx_malloc((size_t)k * sizeof(float));
            for (int j = 0; j < k; j++) l->class_weight[t][j] = count[j] ? (float)((double)n / ((double)k * count[j])) : 0.0f;
        }
        free(count);
    }
}

void cx_mt_loss_free(cx_mt_loss *l) {
    for (int t = 0; t < CX_MAX_TASKS; t++) {
        free(l->class_weight[t]);
        l->class_weight[t] = NULL;
    }
}

double cx_mt_loss_compute(const cx_mt_model *m, const cx_mt_loss *l, const double *labels, int batch,
                          double *task_loss, bool grads) {
    int nt = m->cfg.ntasks;
    float *mask = cx_malloc((size_t)batch * sizeof *mask), *target = cx_malloc((size_t)batch * sizeof *target);
    int32_t *cls = cx_malloc((size_t)batch * sizeof *cls);
    double total = 0;
    for (int t = 0; t < nt; t++) {
        const cx_task *task = &m->cfg.tasks[t];
        if (task->kind == CX_TASK_CLUSTERING) {   /* unsupervised: cx_mt_model_aux_loss */
            if (task_loss) task_loss[t] = 0;
            continue;
        }
        int w = cx_task_outputs(task);
        for (int i = 0; i < batch; i++) {
            double y = labels[i * nt + t];
            bool has = !isnan(y);
            mask[i] = has ? 1.0f : 0.0f;
            cls[i] = has ? (int32_t)y : 0;
            target[i] = has ? (float)y : 0.0f;
        }
        const float *out = cx_graph_data(m->g, m->out[t]), *cw = l->class_weight[t];
        float *dout = grads ? cx_graph_grad(m->g, m->out[t]) : NULL, scale = (float)task->weight;
        if (dout) memset(dout, 0, (size_t)batch * (size_t)w * sizeof *dout);
        cx_class_loss_desc cd = {batch, w, l->norm};
        cx_elem_loss_desc ed = {batch, w, l->norm};
        double lt = 0;
        switch (task->loss) {
        case CX_LOSS_CE:
            lt = cx_cross_entropy_forward(&cd, NULL, out, cls, cw, mask);
            if (dout) cx_cross_entropy_backward(&cd, dout, &scale, out, cls, cw, mask);
            break;
        case CX_LOSS_NLL:
            lt = cx_nll_forward(&cd, NULL, out, cls, cw, mask);
            if (dout) cx_nll_backward(&cd, dout, &scale, cls, cw, mask);
            break;
        case CX_LOSS_BCE:
            lt = cx_bce_logits_forward(&ed, NULL, out, target, cw, mask);
            if (dout) cx_bce_logits_backward(&ed, dout, &scale, out, target, cw, mask);
            break;
        case CX_LOSS_MAE:
            lt = cx_l1_forward(&ed, NULL, out, target, mask);
            if (dout) cx_l1_backward(&ed, dout, NULL, &scale, out, target, mask);
            break;
        case CX_LOSS_MSE:
            lt = cx_mse_forward(&ed, NULL, out, target, mask);
            if (dout) cx_mse_backward(&ed, dout, NULL, &scale, out, target, mask);
            break;
        case CX_LOSS_RECON:
            break;
        }
        if (task_loss) task_loss[t] = lt;
        total += task->weight * lt;
    }
    free(mask);
    free(target);
    free(cls);
    return total;
}

/* ---- data order ---- */

int64_t *cx_mt_epoch_order(const cx_mt_data *d, cx_sampler sampler, uint64_t seed, int64_t epoch, int64_t *n_out) {
    cx_rng r = cx_rng_split(seed, (uint64_t)epoch);
    int64_t n = d->n, *order = cx_malloc((size_t)n * sizeof *order);
    *n_out = n;
    if (sampler == CX_SAMPLER_RANDOM) {
        for (int64_t i = 0; i < n; i++) order[i] = i;
        cx_rng_shuffle_i64(&r, order, n);
        return order;
    }
    /* balanced: the tasks in turn, a uniform draw among each one's labelled records */
    int nt = d->ntasks, active = 0, turn[CX_MAX_TASKS];
    int64_t *pool[CX_MAX_TASKS], size[CX_MAX_TASKS];
    for (int t = 0; t < nt; t++) {
        pool[t] = cx_malloc((size_t)n * sizeof *pool[t]);
        size[t] = 0;
        for (int64_t i = 0; i < n; i++)
            if (!isnan(d->label[i * nt + t])) pool[t][size[t]++] = i;
        if (size[t]) turn[active++] = t;
    }
    for (int64_t j = 0; j < n; j++) {
        if (!active) {   /* no labels at all: plain order */
            order[j] = j;
            continue;
        }
        int t = turn[j % active];
        order[j] = pool[t][cx_rng_below(&r, (uint64_t)size[t])];
    }
    for (int t = 0; t < nt; t++) free(pool[t]);
    return order;
}

void cx_mt_gather(const cx_mt_model *m, const cx_mt_data *d, const int64_t *idx, int batch, double *labels) {
    /* each graph input takes its slice of the record's floats */
    for (int k = 0, at = 0; k < m->ninputs; at += (int)m->input_numel[k], k++) {
        float *x = cx_graph_data(m->g, m->inputs[k]);
        int64_t width = m->input_numel[k];
        for (int i = 0; i < batch; i++) memcpy(x + i * width, d->x + idx[i] * d->numel + at, (size_t)width * sizeof *x);
    }
    for (int i = 0; i < batch; i++)
        memcpy(labels + (int64_t)i * d->ntasks, d->label + idx[i] * d->ntasks, (size_t)d->ntasks * sizeof *labels);
}

/* ---- predictions ---- */

/* What a labelled sample adds to the denominator of a task's mean (PyTorch's weighted mean). */
static double label_weight(const cx_task *task, const float *cw, double y) {
    return cw && (task->loss == CX_LOSS_CE || task->loss == CX_LOSS_NLL) ? cw[(int)y] : 1.0;
}

/* The nearest of k centroids [k, dim] to a point (ties: the lower index). */
static int32_t nearest_centroid(const float *centroid, int k, int dim, const float *x) {
    int32_t best = 0;
    double best_d = INFINITY;
    for (int c = 0; c < k; c++) {
        double dist = 0;
        for (int j = 0; j < dim; j++) {
            double diff = (double)x[j] - centroid[(int64_t)c * dim + j];
            dist += diff * diff;
        }
        if (dist < best_d) best_d = dist, best = c;
    }
    return best;
}

/* Copy what one forward over records start..start+batch) gave into p. */
static void keep_outputs(cx_mt_model *m, cx_mt_predictions *p, int64_t start, int batch) {
    int nt = m->cfg.ntasks;
    for (int t = 0; t < nt; t++) {
        const cx_task *task = &m->cfg.tasks[t];
        if (task->kind == CX_TASK_CLUSTERING) {
            int dim = m->cfg.latent_dim, k = task->classes;
            const float *z = cx_graph_data(m->g, m->out[t]), *centroid = cx_graph_data(m->g, m->centroids);
            memcpy(p->latent[t] + start * dim, z, (size_t)batch * (size_t)dim * sizeof *z);
            for (int i = 0; i < batch; i++) p->cluster[t][start + i] = nearest_centroid(centroid, k, dim, z + (int64_t)i * dim);
            continue;
        }
        for (int i = 0; i < batch; i++) {
            float *prob = p->prob[t] ? p->prob[t] + (start + i) * task->classes : NULL;
            double *value = p->value[t] ? p->value[t] + start + i : NULL;
            cx_mt_prediction(m, t, i, prob, value);
        }
    }
    if (p->attention)
        memcpy(p->attention + start * nt * nt, cx_graph_data(m->g, m->m3h.attention),
               (size_t)batch * (size_t)(nt * nt) * sizeof(float));
}

int cx_mt_predict(cx_mt_model *m, const cx_mt_data *d, const cx_mt_loss *l, cx_mt_predictions *p) {
    memset(p, 0, sizeof *p);
    int nt = m->cfg.ntasks, rc;
    p->n = d->n;
    p->ntasks = nt;
    p->latent_dim = m->cfg.latent_dim;
    for (int t = 0; t < nt; t++) {
        const cx_task *task = &m->cfg.tasks[t];
        if (task->kind == CX_TASK_REGRESSION) {
            p->value[t] = cx_malloc((size_t)d->n * sizeof(double));
        } else if (task->kind == CX_TASK_CLUSTERING) {
            p->latent[t] = cx_malloc((size_t)(d->n * m->cfg.latent_dim) * sizeof(float));
            p->cluster[t] = cx_malloc((size_t)d->n * sizeof(int32_t));
        } else {
            p->prob[t] = cx_malloc((size_t)(d->n * task->classes) * sizeof(float));
        }
    }
    if (m->cfg.arch == CX_ARCH_M3H) p->attention = cx_malloc((size_t)(d->n * nt * nt) * sizeof(float));
    if ((rc = cx_graph_plan(m->g, CX_MODE_EVAL))) return rc;
    cx_mt_loss sum = *l;
    sum.norm = CX_REDUCE_SUM;
    int cluster = cx_mt_clustering_task(&m->cfg);
    double loss_sum[CX_MAX_TASKS] = {0}, denom[CX_MAX_TASKS] = {0}, part[CX_MAX_TASKS];
    double *labels = cx_malloc((size_t)(m->max_batch * nt) * sizeof *labels);
    int64_t *idx = cx_malloc((size_t)m->max_batch * sizeof *idx);
    for (int64_t start = 0; start < d->n && !rc; start += m->max_batch) {
        int batch = (int)(d->n - start < m->max_batch ? d->n - start : m->max_batch);
        for (int i = 0; i < batch; i++) idx[i] = start + i;
        cx_graph_set_batch(m->g, batch);
        cx_mt_gather(m, d, idx, batch, labels);
        if ((rc = cx_graph_forward(m->g, 0, 0))) break;
        cx_mt_loss_compute(m, &sum, labels, batch, part, false);
        for (int t = 0; t < nt; t++) {
            loss_sum[t] += part[t];
            const cx_task *task = &m->cfg.tasks[t];
            for (int i = 0; i < batch; i++) {
                double y = labels[i * nt + t];
                if (!isnan(y)) denom[t] += label_weight(task, l->class_weight[t], y);
            }
        }
        if (cluster >= 0) {   /* the reconstruction MSE is a mean over the batch: weigh it by its size */
            double recon;
            cx_mt_model_aux_loss(m, &recon, NULL);
            loss_sum[cluster] += recon * batch;
            denom[cluster] += batch;
        }
        keep_outputs(m, p, start, batch);
    }
    free(labels);
    free(idx);
    for (int t = 0; t < nt; t++) {
        p->task_loss[t] = denom[t] > 0 ? loss_sum[t] / denom[t] : NAN;
        if (denom[t] > 0) p->loss += m->cfg.tasks[t].weight * p->task_loss[t];
    }
    return rc;
}

void cx_mt_predictions_free(cx_mt_predictions *p) {
    for (int t = 0; t < p->ntasks; t++) {
        free(p->prob[t]);
        free(p->value[t]);
        free(p->latent[t]);
        free(p->cluster[t]);
    }
    free(p->attention);
    memset(p, 0, sizeof *p);
}

void cx_mt_task_output(const cx_mt_predictions *p, const cx_mt_data *d, const cx_task *task, int t,
                       cx_task_output *out, int64_t **rows) {
    memset(out, 0, sizeof *out);
    out->kind = task->kind;
    out->k = task->classes;
    if (task->kind == CX_TASK_CLUSTERING) {
        out->n = d->n;
        out->dim = p->latent_dim;
        out->x = p->latent[t];
        out->cluster = p->cluster[t];
        if (rows) {
            *rows = cx_malloc((size_t)(d->n ? d->n : 1) * sizeof **rows);
            for (int64_t i = 0; i < d->n; i++) (*rows)[i] = i;
        }
        return;
    }
    int64_t m = cx_mt_data_labelled(d, t), j = 0;
    int64_t *row = cx_malloc((size_t)(m ? m : 1) * sizeof *row);
    for (int64_t i = 0; i < d->n; i++)
        if (!isnan(d->label[i * d->ntasks + t])) row[j++] = i;
    out->n = m;
    if (cx_task_is_classification(task)) {
        int32_t *label = cx_malloc((size_t)(m ? m : 1) * sizeof *label);
        float *prob = cx_malloc((size_t)((m ? m : 1) * task->classes) * sizeof *prob);
        for (j = 0; j < m; j++) {
            label[j] = (int32_t)d->label[row[j] * d->ntasks + t];
            memcpy(prob + j * task->classes, p->prob[t] + row[j] * task->classes, (size_t)task->classes * sizeof *prob);
        }
        out->label = label, out->prob = prob;
    } else {
        double *target = cx_malloc((size_t)(m ? m : 1) * sizeof *target), *value = cx_malloc((size_t)(m ? m : 1) * sizeof *value);
        for (j = 0; j < m; j++) {
            target[j] = d->label[row[j] * d->ntasks + t];
            value[j] = p->value[t][row[j]];
        }
        out->target = target, out->value = value;
    }
    if (rows) *rows = row;
    else free(row);
}

void cx_mt_task_output_free(cx_task_output *out) {
    free((void *)out->label);
    free((void *)out->prob);
    free((void *)out->target);
    free((void *)out->value);
    memset(out, 0, sizeof *out);
}

bool cx_metric_higher_is_better(const char *name) { return strcmp(name, "mae") && strcmp(name, "loss"); }

/* ---- the training loop ---- */

/* What a checkpoint's train state holds beyond the engine's: where in the epoch, the best
 * validation score so far, and the log rows. */
typedef struct {
    int64_t batch;                 /* next batch of the current epoch */
    bool have_best, done;
    double best;
    int64_t best_epoch, bad_epochs;
    double loss_sum[CX_MAX_TASKS + 1]; /* this epoch's per-batch task losses (M3H: then the contrastive), summed */
    int64_t loss_count[CX_MAX_TASKS + 1];
    cx_value log;                  /* array of the epochs' rows */
} progress_state;

/* nt: the loss slots (the tasks, and M3H's contrastive loss) */
static cx_value progress_to_value(const progress_state *p, int nt) {
    cx_value v = cx_map();
    cx_map_set(&v, "batch", cx_int(p->batch));
    cx_map_set(&v, "done", cx_bool(p->done));
    cx_map_set(&v, "best", p->have_best && !isnan(p->best) ? cx_float(p->best) : cx_nil());
    cx_map_set(&v, "have_best", cx_bool(p->have_best));
    cx_map_set(&v, "best_epoch", cx_int(p->best_epoch));
    cx_map_set(&v, "bad_epochs", cx_int(p->bad_epochs));
    cx_value sums = cx_array(), counts = cx_array();
    for (int t = 0; t < nt; t++) {
        cx_array_push(&sums, cx_float(p->loss_sum[t]));
        cx_array_push(&counts, cx_int(p->loss_count[t]));
    }
    cx_map_set(&v, "loss_sum", sums);
    cx_map_set(&v, "loss_count", counts);
    cx_map_set(&v, "log", cx_value_copy(&p->log));
    return v;
}

static int progress_from_value(const cx_value *v, progress_state *p, int nt, const char *path) {
    const cx_value *sums = cx_map_get(v, "loss_sum"), *counts = cx_map_get(v, "loss_count"), *log = cx_map_get(v, "log");
    const cx_value *best = cx_map_get(v, "best"), *have = cx_map_get(v, "have_best"), *done = cx_map_get(v, "done");
    double batch, best_epoch, bad;
    if (!sums || sums->kind != CX_ARRAY || (int)sums->u.arr.n != nt || !counts || counts->kind != CX_ARRAY ||
        (int)counts->u.arr.n != nt || !log || log->kind != CX_ARRAY || !best || !have || have->kind != CX_BOOL ||
        !done || done->kind != CX_BOOL || !cx_value_number(cx_map_get(v, "batch"), &batch) ||
        !cx_value_number(cx_map_get(v, "best_epoch"), &best_epoch) || !cx_value_number(cx_map_get(v, "bad_epochs"), &bad))
        return cx_err(EX_DATAERR, "%s: record __train_state__: meta.extra: not mt-train's state", path);
    p->batch = (int64_t)batch;
    p->best_epoch = (int64_t)best_epoch;
    p->bad_epochs = (int64_t)bad;
    p->have_best = have->u.b;
    p->done = done->u.b;
    if (!cx_value_number(best, &p->best)) p->best = NAN;
    for (int t = 0; t < nt; t++) {
        double c;
        cx_value_number(&sums->u.arr.items[t], &p->loss_sum[t]);
        cx_value_number(&counts->u.arr.items[t], &c);
        p->loss_count[t] = (int64_t)c;
    }
    cx_value_free(&p->log);
    p->log = cx_value_copy(log);
    return 0;
}

static int save(const char *path, const cx_graph *g, cx_train_state *st, const progress_state *p, int nt) {
    cx_value_free(&st->extra);
    st->extra = progress_to_value(p, nt);
    return cx_checkpoint_save(path, g, st);
}

static int write_log(const char *path, const progress_state *p, const cx_mt_data *train) {
    cx_value header = cx_header_new("log");
    for (size_t i = 0; i < train->headers.u.arr.n; i++) cx_header_add_input(&header, &train->headers.u.arr.items[i]);
    cx_writer *w = cx_writer_open(path, &header);
    cx_value_free(&header);
    if (!w) return cx_errcode();
    int rc = 0;
    cx_record rec;
    cx_record_init(&rec);
    for (size_t i = 0; i < p->log.u.arr.n && !rc; i++) {
        const cx_value *row = &p->log.u.arr.items[i];
        double epoch = 0;
        cx_value_number(cx_map_get(row, "epoch"), &epoch);
        char id[32];
        snprintf(id, sizeof id, "epoch-%lld", (long long)epoch);
        cx_record_free(&rec);
        cx_record_set_id(&rec, id);
        cx_value_free(&rec.meta);
        rec.meta = cx_value_copy(row);
        rc = cx_writer_put(w, &rec);
    }
    cx_record_free(&rec);
    if (rc) {
        cx_writer_abort(w);
        return rc;
    }
    return cx_writer_close(w);
}

static cx_value number_or_nil(double x) { return isnan(x) ? cx_nil() : cx_float(x); }

/* The validation part of an epoch's log row; returns the monitored value. */
static int validate(cx_mt_model *m, const cx_mt_data *val, const cx_mt_loss *l, int monitor_task,
                    const char *monitor_metric, cx_value *row, double *monitored) {
    cx_mt_predictions p;
    int rc = cx_mt_predict(m, val, l, &p);
    if (rc) {
        cx_mt_predictions_free(&p);
        return rc;
    }
    cx_map_set(row, "val_loss", number_or_nil(p.loss));
    *monitored = p.loss;
    char key[128];
    for (int t = 0; t < m->cfg.ntasks && !rc; t++) {
        const cx_task *task = &m->cfg.tasks[t];
        snprintf(key, sizeof key, "val_loss_%s", task->name);
        cx_map_set(row, key, number_or_nil(p.task_loss[t]));
        if (t == monitor_task && !strcmp(monitor_metric, "loss")) *monitored = p.task_loss[t];
        cx_task_output out;
        cx_mt_task_output(&p, val, task, t, &out, NULL);
        const char *const *names;
        int nm = cx_metric_names(task->kind, &names);
        for (int k = 0; k < nm && !rc; k++) {
            double x = NAN;
            if (out.n > 0 && (rc = cx_metric(names[k], &out, NULL, out.n, &x))) break;
            snprintf(key, sizeof key, "val_%s_%s", task->name, names[k]);
            cx_map_set(row, key, number_or_nil(x));
            if (t == monitor_task && !strcmp(monitor_metric, names[k])) *monitored = x;
        }
        cx_mt_task_output_free(&out);
    }
    cx_mt_predictions_free(&p);
    return rc;
}

/* "loss" (task -1), "TASK:loss" or "TASK:METRIC" with a metric the task's kind reports. */
static int parse_monitor(const cx_mt_config *c, const char *monitor, int *task, const char **metric) {
    *task = -1;
    *metric = "loss";
    if (!strcmp(monitor, "loss")) return 0;
    const char *colon = strchr(monitor, ':');
    for (int t = 0; colon && t < c->ntasks; t++) {
        if (strlen(c->tasks[t].name) != (size_t)(colon - monitor) || strncmp(monitor, c->tasks[t].name, (size_t)(colon - monitor)))
            continue;
        *task = t;
        *metric = colon + 1;
        if (!strcmp(*metric, "loss")) return 0;
        if (c->tasks[t].kind == CX_TASK_CLUSTERING)
            return cx_err(EX_USAGE, "--monitor %s: the clusters exist only after training; monitor %s:loss", monitor,
                          c->tasks[t].name);
        const char *const *names;
        int nm = cx_metric_names(c->tasks[t].kind, &names);
        for (int k = 0; k < nm; k++)
            if (!strcmp(names[k], *metric)) return 0;
        return cx_err(EX_USAGE, "--monitor %s: a %s task reports no metric '%s'", monitor,
                      cx_task_kind_name(c->tasks[t].kind), *metric);
    }
    return cx_err(EX_USAGE, "--monitor %s: not 'loss' or TASK:METRIC with one of the tasks", monitor);
}

static bool better(double x, double best, bool higher) {
    if (isnan(x)) return false;
    if (isnan(best)) return true;
    return higher ? x > best : x < best;
}

/* k-means on the training latents of the best checkpoint; its centroids into that checkpoint. */
static int fit_clusters(cx_mt_model *m, const cx_mt_data *train, const cx_train_options *o) {
    int t = cx_mt_clustering_task(&m->cfg), k = m->cfg.tasks[t].classes, dim = m->cfg.latent_dim;
    int64_t np;
    cx_graph_params(m->g, &np);
    cx_train_state st = {0};
    st.m = cx_calloc((size_t)(np ? np : 1), sizeof(float));
    st.v = cx_calloc((size_t)(np ? np : 1), sizeof(float));
    cx_mt_loss none = {.norm = CX_REDUCE_MEAN};
    cx_mt_predictions p = {0};
    int rc = cx_checkpoint_load(o->best_path, m->g, &st);
    if (!rc && !(rc = cx_mt_predict(m, train, &none, &p))) {
        cx_kmeans_options ko;
        cx_kmeans_defaults(&ko, k);
        ko.seed = o->seed;
        int32_t *assign = cx_malloc((size_t)train->n * sizeof *assign);
        rc = cx_kmeans(p.latent[t], train->n, dim, &ko, cx_graph_data(m->g, m->centroids), assign, NULL);
        free(assign);
    }
    cx_mt_predictions_free(&p);
    if (!rc) rc = cx_checkpoint_save(o->best_path, m->g, &st);
    free(st.m);
    free(st.v);
    cx_train_state_free(&st);
    return rc ? cx_err_prefix("task %s: k-means", m->cfg.tasks[t].name) : 0;
}

int cx_mt_train(cx_mt_model *m, const cx_mt_data *train, const cx_mt_data *val, const cx_train_options *o,
                const cx_value *run_config) {
    cx_graph *g = m->g;
    int nt = m->cfg.ntasks, monitor_task, rc;
    bool m3h = m->cfg.arch == CX_ARCH_M3H;
    int nslots = nt + m3h, cluster = cx_mt_clustering_task(&m->cfg);
    const char *monitor_metric;
    if ((rc = parse_monitor(&m->cfg, o->monitor ? o->monitor : "loss", &monitor_task, &monitor_metric))) return rc;
    bool higher = cx_metric_higher_is_better(monitor_metric);
    if (cluster >= 0 && m->cfg.tasks[cluster].classes > train->n)
        return cx_err(EX_DATAERR, "task %s: %d clusters but %lld training records", m->cfg.tasks[cluster].name,
                      m->cfg.tasks[cluster].classes, (long long)train->n);
    if ((rc = cx_graph_plan(g, CX_MODE_TRAIN))) return rc;
    int64_t np, nbuf;
    float *params = cx_graph_params(g, &np), *grads = cx_graph_param_grads(g, &np);
    cx_graph_buffers(g, &nbuf);
    cx_train_state st = {0};
    st.m = cx_calloc((size_t)(np ? np : 1), sizeof(float));
    st.v = cx_calloc((size_t)(np ? np : 1), sizeof(float));
    st.config = cx_map();
    cx_map_set(&st.config, "model", cx_mt_config_to_value(&m->cfg));
    cx_map_set(&st.config, "train", run_config ? cx_value_copy(run_config) : cx_map());
    st.extra = cx_map();
    progress_state ps = {.best = NAN, .log = cx_array()};
    cx_mt_loss loss = {.norm = o->loss_norm};
    double *labels = NULL;
    int64_t *order = NULL;
    if ((rc = cx_optim_init(&st.optim, &o->optim))) goto out;
    if (o->resume) {
        cx_value want = st.config;
        st.config = cx_nil();
        if ((rc = cx_checkpoint_config(o->state_path, &st.config))) goto resume_out;
        if (!cx_value_equal(cx_map_get(&st.config, "model"), cx_map_get(&want, "model"))) {
            rc = cx_err(EX_USAGE, "--resume: %s holds another model or task set than this command line", o->state_path);
            goto resume_out;
        }
        if (!cx_value_equal(cx_map_get(&st.config, "train"), cx_map_get(&want, "train"))) {
            rc = cx_err(EX_USAGE, "--resume: %s was made with other training options or data", o->state_path);
            goto resume_out;
        }
        if ((rc = cx_checkpoint_load(o->state_path, g, &st))) goto resume_out;
        rc = progress_from_value(&st.extra, &ps, nslots, o->state_path);
    resume_out:
        cx_value_free(&want);
        if (rc) goto out;
    }
    if (o->balanced_class_weights) cx_mt_loss_balanced(&loss, &m->cfg, train);
    cx_lr_schedule sched = {.kind = CX_LR_CONSTANT, .lr = o->optim.lr};
    if (o->warmup > 0)
        sched = (cx_lr_schedule){.kind = CX_LR_WARMUP, .lr = o->optim.lr, .start_factor = 1.0 / (double)(o->warmup + 1),
                                 .warmup = o->warmup};
    cx_param_group all = {params, grads, np, st.m, st.v};
    labels = cx_malloc((size_t)(o->batch * nt) * sizeof *labels);
    /* a last batch of one sample cannot go through BatchNorm in training */
    int64_t nbatches = (train->n + o->batch - 1) / o->batch;
    if (nbuf > 0 && train->n % o->batch == 1 && nbatches > 1) nbatches--;
    if (nbuf > 0 && train->n == 1) {
        rc = cx_err(EX_DATAERR, "one training record: BatchNorm needs batches of at least 2");
        goto out;
    }
    for (; !ps.done && st.epoch < o->epochs; st.epoch++) {
        int64_t epoch = st.epoch, n;
        st.optim.cfg.lr = cx_lr_at(&sched, epoch);
        free(order);
        order = cx_mt_epoch_order(train, o->sampler, o->seed, epoch, &n);
        if ((rc = cx_graph_plan(g, CX_MODE_TRAIN))) goto out;
        char what[64];
        snprintf(what, sizeof what, "epoch %lld/%lld batches", (long long)epoch + 1, (long long)o->epochs);
        cx_progress bar;
        if (o->progress) cx_progress_start(&bar, what, nbatches);
        for (; ps.batch < nbatches; ps.batch++) {
            int64_t start = ps.batch * o->batch;
            int batch = (int)(n - start < o->batch ? n - start : o->batch);
            cx_graph_set_batch(g, batch);
            cx_mt_gather(m, train, order + start, batch, labels);
            if ((rc = cx_graph_forward(g, o->seed, st.step))) goto out;
            double part[CX_MAX_TASKS + 1];
            cx_mt_loss_compute(m, &loss, labels, batch, part, true);
            if (m3h) cx_mt_model_aux_loss(m, cluster >= 0 ? &part[cluster] : NULL, &part[nt]);
            for (int t = 0; t < nslots; t++) {
                bool any = t == nt || t == cluster;   /* the unsupervised losses see every record */
                for (int i = 0; i < batch && !any; i++) any = !isnan(labels[i * nt + t]);
                if (any) ps.loss_sum[t] += part[t], ps.loss_count[t]++;
            }
            cx_graph_zero_grad(g);
            cx_graph_backward(g);
            cx_optim_step(&st.optim, &all, 1);
            st.step++;
            if (o->progress) cx_progress_step(&bar, 1);
            bool stop = o->max_steps > 0 && st.step >= o->max_steps;
            if (o->state_path && (stop || (o->checkpoint_steps > 0 && st.step % o->checkpoint_steps == 0))) {
                ps.batch++;   /* the state after this batch */
                rc = save(o->state_path, g, &st, &ps, nslots);
                ps.batch--;
                if (rc) goto out;
            }
            if (stop) {
                if (o->progress) cx_progress_end(&bar);
                goto out;
            }
        }
        if (o->progress) cx_progress_end(&bar);

        cx_value row = cx_map();
        cx_map_set(&row, "epoch", cx_int(epoch));
        cx_map_set(&row, "lr", cx_float(st.optim.cfg.lr));
        cx_map_set(&row, "steps", cx_int(st.step));
        double train_loss = 0;
        char key[128];
        for (int t = 0; t < nt; t++) {
            double mean = ps.loss_count[t] ? ps.loss_sum[t] / (double)ps.loss_count[t] : NAN;
            if (ps.loss_count[t]) train_loss += m->cfg.tasks[t].weight * mean;
            snprintf(key, sizeof key, "train_loss_%s", m->cfg.tasks[t].name);
            cx_map_set(&row, key, number_or_nil(mean));
            ps.loss_sum[t] = 0, ps.loss_count[t] = 0;
        }
        if (m3h) {
            double mean = ps.loss_count[nt] ? ps.loss_sum[nt] / (double)ps.loss_count[nt] : NAN;
            if (ps.loss_count[nt]) train_loss += m->cfg.contrastive_weight * mean;
            cx_map_set(&row, "train_loss_contrastive", number_or_nil(mean));
            ps.loss_sum[nt] = 0, ps.loss_count[nt] = 0;
        }
        cx_map_set(&row, "train_loss", cx_float(train_loss));
        bool improved = true;
        if (val) {
            double x = NAN;
            if ((rc = validate(m, val, &loss, monitor_task, monitor_metric, &row, &x))) {
                cx_value_free(&row);
                goto out;
            }
            improved = !ps.have_best || better(x, ps.best, higher);
            if (improved) ps.best = x, ps.have_best = true, ps.best_epoch = epoch, ps.bad_epochs = 0;
            else ps.bad_epochs++;
        } else {
            ps.best_epoch = epoch;
        }
        cx_map_set(&row, "best_epoch", cx_int(ps.best_epoch));
        cx_array_push(&ps.log, row);
        ps.batch = 0;
        /* early stopping counts from the end of the warm-up */
        ps.done = st.epoch + 1 >= o->epochs ||
                  (val && o->patience > 0 && epoch + 1 >= o->warmup && ps.bad_epochs >= o->patience);
        st.epoch++;   /* the state after this epoch */
        if (improved && (rc = save(o->best_path, g, &st, &ps, nslots))) goto out;
        if (o->state_path && (rc = save(o->state_path, g, &st, &ps, nslots))) goto out;
        if (o->log_path && (rc = write_log(o->log_path, &ps, train))) goto out;
        st.epoch--;
    }
    if (cluster >= 0) rc = fit_clusters(m, train, o);
out:
    free(order);
    free(labels);
    free(st.m);
    free(st.v);
    cx_train_state_free(&st);
    cx_value_free(&ps.log);
    cx_mt_loss_free(&loss);
    return rc;
}
