#include "train/embed.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "models/backbone.h"
#include "nn/checkpoint.h"
#include "nn/weights.h"

static cx_var find_activation(const cx_graph *g, const char *name) {
    for (cx_var v = 0; v < cx_graph_nvars(g); v++)
        if (cx_graph_kind(g, v) == CX_VAR_ACT && !strcmp(cx_graph_name(g, v), name)) return v;
    return -1;
}

int cx_embedder_build(cx_embedder *e, const char *backbone, const char *weights, const char *checkpoint,
                      const char *layer, int channels, int size, int max_batch) {
    memset(e, 0, sizeof *e);
    cx_mt_config c;
    int rc;
    if (checkpoint) {
        cx_value config;
        if ((rc = cx_checkpoint_config(checkpoint, &config))) return rc;
        rc = cx_mt_config_from_value(cx_map_get(&config, "model"), &c);
        cx_value_free(&config);
        if (rc) return cx_err_prefix("%s: header", checkpoint);
        if (!c.backbone[0]) return cx_err(EX_USAGE, "%s: a heads-only model has no backbone to embed with", checkpoint);
        if (backbone && strcmp(backbone, c.backbone))
            return cx_err(EX_USAGE, "%s holds a %s backbone, not %s", checkpoint, c.backbone, backbone);
        if (c.channels != channels || c.size != size)
            return cx_err(EX_DATAERR, "%s takes crops [%d, %d, %d], the input has [%d, %d, %d]", checkpoint, c.channels,
                          c.size, c.size, channels, size, size);
    } else {
        cx_mt_config_default(&c);
        snprintf(c.backbone, sizeof c.backbone, "%s", backbone);
        c.channels = channels, c.size = size;
        /* a placeholder head, so that the model builds as mt-train builds it */
        cx_task_parse("features:regression:none", &c.tasks[0]);
        c.ntasks = 1;
        c.head = CX_HEAD_LINEAR;
    }
    if ((rc = cx_mt_model_build(&e->model, &c, max_batch))) return rc;
    cx_graph *g = e->model.g;
    e->out = e->model.features;
    if (layer) {
        cx_var v = find_activation(g, layer);
        if (v < 0) return cx_err(EX_USAGE, "%s has no layer \"%s\" (cxr-model -b %s --layers lists them)", c.backbone, layer, c.backbone);
        if (cx_graph_ndim(g, v) == 4) v = cx_graph_adaptive_avgpool(g, v, 1, 1);
        e->out = cx_graph_flatten(g, v);
        if (!cx_graph_ok(g)) return cx_errcode();
    }
    cx_graph_output(g, e->out);
    if ((rc = cx_graph_plan(g, CX_MODE_EVAL))) return rc;
    cx_graph_init(g, 0);
    if (checkpoint) {
        cx_train_state st = {0};
        rc = cx_checkpoint_load(checkpoint, g, &st);
        cx_train_state_free(&st);
        if (rc) return rc;
    } else if (weights) {
        const cx_backbone *b = cx_backbone_find(backbone);
        const char *skip[] = {b->classifier, "heads.", NULL};
        cx_weights_options wo = {.skip_prefixes = skip, .sum_rgb_filters = channels == 1};
        if ((rc = cx_weights_load(g, weights, &wo))) return rc;
    }
    e->dim = (int)cx_graph_shape(g, e->out)[1];
    return 0;
}

void cx_embedder_free(cx_embedder *e) { cx_mt_model_free(&e->model); }

int cx_embedder_run(cx_embedder *e, cx_record *rec, int n, const char *file) {
    cx_graph *g = e->model.g;
    const cx_mt_config *c = &e->model.cfg;
    int64_t numel = (int64_t)c->channels * c->size * c->size;
    int rc;
    if ((rc = cx_graph_set_batch(g, n))) return rc;
    float *x = cx_graph_data(g, e->model.input);
    for (int i = 0; i < n; i++) {
        const cx_tensor *t = cx_record_tensor(&rec[i], "image");
        if (!t || t->ndim != 3 || t->shape[0] != c->channels || t->shape[1] != c->size || t->shape[2] != c->size)
            return cx_err(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.image: missing or not [%d, %d, %d]", file,
                          (long long)rec[i].index, rec[i].id, c->channels, c->size, c->size);
        for (int64_t j = 0; j < numel; j++) x[i * numel + j] = (float)cx_tensor_get(t, j);
    }
    if ((rc = cx_graph_forward(g, 0, 0))) return rc;
    const float *y = cx_graph_data(g, e->out);
    for (int i = 0; i < n; i++) {
        while (rec[i].ntensors) {
            char name[256];
            snprintf(name, sizeof name, "%s", rec[i].tensors[0].name);
            cx_record_remove_tensor(&rec[i], name);
        }
        int64_t shape[1] = {e->dim};
        cx_tensor *t = cx_record_add_tensor(&rec[i], "embedding", CX_F32, 1, shape);
        memcpy(t->data, y + (int64_t)i * e->dim, (size_t)e->dim * sizeof *y);
        cx_map_set(&rec[i].meta, "embedding_model", cx_str(c->backbone));
    }
    return 0;
}
