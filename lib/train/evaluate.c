#include "train/evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/checkpoint.h"

int cx_mt_model_load(cx_mt_model *m, const char *checkpoint, int max_batch) {
    cx_value config;
    if (cx_checkpoint_config(checkpoint, &config)) return cx_errcode();
    cx_mt_config c;
    int rc = cx_mt_config_from_value(cx_map_get(&config, "model"), &c);
    cx_value_free(&config);
    if (rc) return cx_err_prefix("%s: header", checkpoint);
    if ((rc = cx_mt_model_build(m, &c, max_batch)) || (rc = cx_graph_plan(m->g, CX_MODE_EVAL))) return rc;
    cx_train_state st = {0};
    rc = cx_checkpoint_load(checkpoint, m->g, &st);
    cx_train_state_free(&st);
    return rc;
}

static cx_value number_or_nil(double x) { return isnan(x) ? cx_nil() : cx_float(x); }

int cx_mt_metrics_record(const cx_mt_config *c, const cx_mt_predictions *p, const cx_mt_data *d, int t,
                         const cx_value *tags, const cx_bootstrap_options *b, cx_record *rec) {
    const cx_task *task = &c->tasks[t];
    cx_record_free(rec);
    cx_record_set_id(rec, task->name);
    cx_map_set(&rec->meta, "task", cx_str(task->name));
    cx_map_set(&rec->meta, "kind", cx_str(cx_task_kind_name(task->kind)));
    cx_task_output out;
    cx_mt_task_output(p, d, task, t, &out, NULL);
    cx_map_set(&rec->meta, "n", cx_int(out.n));
    for (size_t i = 0; tags && i < tags->u.map.n; i++)
        cx_map_set(&rec->meta, tags->u.map.keys[i], cx_value_copy(&tags->u.map.vals[i]));
    const char *const *names;
    int nm = cx_metric_names(task->kind, &names), rc = 0;
    char key[96];
    for (int k = 0; k < nm && !rc; k++) {
        double x = NAN;
        if (out.n > 0) rc = cx_metric(names[k], &out, NULL, out.n, &x);
        cx_map_set(&rec->meta, names[k], number_or_nil(x));
        if (rc || !b || b->resamples < 1) continue;
        cx_interval ci = {NAN, NAN, NAN, 0, 0, 0};
        if (out.n > 0) rc = cx_bootstrap(names[k], &out, b->resamples, b->fraction, b->level, b->seed, &ci);
        snprintf(key, sizeof key, "%s_std", names[k]);
        cx_map_set(&rec->meta, key, number_or_nil(ci.std));
        snprintf(key, sizeof key, "%s_lo", names[k]);
        cx_map_set(&rec->meta, key, number_or_nil(ci.lo));
        snprintf(key, sizeof key, "%s_hi", names[k]);
        cx_map_set(&rec->meta, key, number_or_nil(ci.hi));
    }
    if (!rc && cx_task_is_classification(task)) {
        int64_t shape[2] = {task->classes, task->classes};
        cx_tensor *conf = cx_record_add_tensor(rec, "confusion", CX_I64, 2, shape);
        if (out.n > 0) cx_confusion(&out, NULL, out.n, conf->data);
    }
    cx_mt_task_output_free(&out);
    return rc ? cx_err_prefix("task %s", task->name) : 0;
}

void cx_mt_prediction_record(const cx_mt_config *c, const cx_mt_predictions *p, const cx_mt_data *d, int64_t i,
                             cx_record *rec) {
    cx_record_free(rec);
    cx_record_set_id(rec, d->id[i]);
    cx_value_free(&rec->meta);
    rec->meta = cx_value_copy(&d->keep[i]);
    char key[96];
    for (int t = 0; t < c->ntasks; t++) {
        const cx_task *task = &c->tasks[t];
        double y = d->label[i * d->ntasks + t];
        snprintf(key, sizeof key, "%s_true", task->name);
        bool integer = cx_task_is_classification(task) || (task->kind == CX_TASK_CLUSTERING && y == floor(y));
        cx_map_set(&rec->meta, key, isnan(y) ? cx_nil() : integer ? cx_int((int64_t)y) : cx_float(y));
        snprintf(key, sizeof key, "%s_pred", task->name);
        if (task->kind == CX_TASK_CLUSTERING) {
            cx_map_set(&rec->meta, key, cx_int(p->cluster[t][i]));
            continue;
        }
        if (task->kind == CX_TASK_REGRESSION) {
            cx_map_set(&rec->meta, key, cx_float(p->value[t][i]));
            continue;
        }
        const float *prob = p->prob[t] + i * task->classes;
        cx_task_output one = {.kind = task->kind, .k = task->classes, .n = 1, .prob = prob};
        cx_map_set(&rec->meta, key, cx_int(cx_predicted_class(&one, 0)));
        snprintf(key, sizeof key, "%s_prob", task->name);
        int64_t shape[1] = {task->classes};
        cx_tensor *pt = cx_record_add_tensor(rec, key, CX_F32, 1, shape);
        memcpy(pt->data, prob, (size_t)task->classes * sizeof *prob);
    }
    if (p->attention) {
        int64_t shape[2] = {c->ntasks, c->ntasks};
        cx_tensor *at = cx_record_add_tensor(rec, "attention", CX_F32, 2, shape);
        memcpy(at->data, p->attention + i * c->ntasks * c->ntasks, (size_t)(c->ntasks * c->ntasks) * sizeof(float));
    }
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

cx_value cx_mt_task_set(const cx_mt_config *c) {
    const char *names[CX_MAX_TASKS];
    for (int t = 0; t < c->ntasks; t++) names[t] = c->tasks[t].name;
    qsort(names, (size_t)c->ntasks, sizeof names[0], compare_names);
    char list[CX_MAX_TASKS * CX_TASK_NAME_MAX];
    size_t len = 0;
    for (int t = 0; t < c->ntasks; t++) len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", t ? "," : "", names[t]);
    return cx_str(list);
}
