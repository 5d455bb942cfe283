#include "nn/checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/stream.h"

#define STATE_ID "__train_state__"

static cx_value optim_to_value(const cx_optim *o) {
    cx_value m = cx_map();
    cx_map_set(&m, "kind", cx_str(cx_optim_kind_name(o->cfg.kind)));
    cx_map_set(&m, "lr", cx_float(o->cfg.lr));
    cx_map_set(&m, "weight_decay", cx_float(o->cfg.weight_decay));
    cx_map_set(&m, "beta1", cx_float(o->cfg.beta1));
    cx_map_set(&m, "beta2", cx_float(o->cfg.beta2));
    cx_map_set(&m, "eps", cx_float(o->cfg.eps));
    cx_map_set(&m, "momentum", cx_float(o->cfg.momentum));
    cx_map_set(&m, "dampening", cx_float(o->cfg.dampening));
    cx_map_set(&m, "nesterov", cx_bool(o->cfg.nesterov));
    cx_map_set(&m, "step", cx_int(o->step));
    return m;
}

static int number(const cx_value *map, const char *key, double *out, const char *path) {
    const cx_value *v = cx_map_get(map, key);
    if (!v || !cx_value_number(v, out))
        return cx_err(EX_DATAERR, "%s: record %s: meta.optimizer.%s: missing or not a number", path, STATE_ID, key);
    return 0;
}

static int optim_from_value(const cx_value *m, cx_optim *o, const char *path) {
    double d[8];
    const char *keys[8] = {"lr", "weight_decay", "beta1", "beta2", "eps", "momentum", "dampening", "step"};
    if (!m || m->kind != CX_MAP) return cx_err(EX_DATAERR, "%s: record %s: meta.optimizer: missing", path, STATE_ID);
    for (int i = 0; i < 8; i++)
        if (number(m, keys[i], &d[i], path)) return cx_errcode();
    cx_optim_config cfg = {0};
    if (cx_optim_kind_parse(cx_map_str(m, "kind", ""), &cfg.kind))
        return cx_err(EX_DATAERR, "%s: record %s: meta.optimizer.kind: unknown", path, STATE_ID);
    cfg.lr = d[0], cfg.weight_decay = d[1], cfg.beta1 = d[2], cfg.beta2 = d[3], cfg.eps = d[4];
    cfg.momentum = d[5], cfg.dampening = d[6];
    const cx_value *nesterov = cx_map_get(m, "nesterov");
    cfg.nesterov = nesterov && nesterov->kind == CX_BOOL && nesterov->u.b;
    if (cx_optim_init(o, &cfg)) return cx_err_prefix("%s: record %s", path, STATE_ID);
    o->step = (int64_t)d[7];
    return 0;
}

/* The i-th optimiser state array of st (m for i = 0, v for i = 1), or NULL. */
static float *state_array(const cx_train_state *st, int i) { return i == 0 ? st->m : i == 1 ? st->v : NULL; }

int cx_checkpoint_save(const char *path, const cx_graph *g, const cx_train_state *st) {
    cx_value header = cx_header_new("checkpoint");
    cx_map_set(&header, "checkpoint_version", cx_int(CX_CHECKPOINT_VERSION));
    cx_map_set(&header, "config", st->config.kind == CX_MAP ? cx_value_copy(&st->config) : cx_map());
    cx_writer *w = cx_writer_open(path, &header);
    cx_value_free(&header);
    if (!w) return cx_errcode();
    int64_t nparams;
    const float *params = cx_graph_params(g, &nparams);
    int nstates = cx_optim_state_count(&st->optim.cfg), rc = 0;
    cx_record rec;
    for (int i = 0; i < cx_graph_state_count(g) && !rc; i++) {
        cx_var v = cx_graph_state_var(g, i);
        bool param = cx_graph_kind(g, v) == CX_VAR_PARAM;
        cx_record_init(&rec);
        cx_record_set_id(&rec, cx_graph_name(g, v));
        cx_map_set(&rec.meta, "kind", cx_str(param ? "param" : "buffer"));
        const float *data = cx_graph_data(g, v);
        cx_tensor *t = cx_record_add_tensor(&rec, "value", CX_F32, cx_graph_ndim(g, v), cx_graph_shape(g, v));
        memcpy(t->data, data, t->nbytes);
        for (int k = 0; param && k < nstates; k++) {
            const float *arr = state_array(st, k);
            if (!arr) continue;
            t = cx_record_add_tensor(&rec, cx_optim_state_name(&st->optim.cfg, k), CX_F32, cx_graph_ndim(g, v), cx_graph_shape(g, v));
            memcpy(t->data, arr + (data - params), t->nbytes);
        }
        rc = cx_writer_put(w, &rec);
        cx_record_free(&rec);
    }
    if (!rc) {
        cx_record_init(&rec);
        cx_record_set_id(&rec, STATE_ID);
        cx_map_set(&rec.meta, "step", cx_int(st->step));
        cx_map_set(&rec.meta, "epoch", cx_int(st->epoch));
        cx_map_set(&rec.meta, "optimizer", optim_to_value(&st->optim));
        cx_map_set(&rec.meta, "extra", st->extra.kind == CX_MAP ? cx_value_copy(&st->extra) : cx_map());
        int64_t four = 4;
        cx_tensor *t = cx_record_add_tensor(&rec, "rng", CX_I64, 1, &four);
        memcpy(t->data, st->rng.s, sizeof st->rng.s);
        rc = cx_writer_put(w, &rec);
        cx_record_free(&rec);
    }
    if (rc) {
        cx_writer_abort(w);
        return rc;
    }
    return cx_writer_close(w);
}

static cx_reader *open_checkpoint(const char *path) {
    cx_reader *rd = cx_reader_open(path);
    if (!rd) return NULL;
    const cx_value *h = cx_reader_header(rd);
    const cx_value *version = cx_map_get(h, "checkpoint_version");
    if (strcmp(cx_header_kind(h), "checkpoint")) {
        cx_err(EX_DATAERR, "%s: a %s stream, not a checkpoint", path, cx_header_kind(h));
    } else if (!version || version->kind != CX_INT || version->u.i != CX_CHECKPOINT_VERSION) {
        cx_err(EX_DATAERR, "%s: header: checkpoint_version: this build reads version %d", path, CX_CHECKPOINT_VERSION);
    } else {
        return rd;
    }
    cx_reader_close(rd);
    return NULL;
}

int cx_checkpoint_config(const char *path, cx_value *config) {
    cx_reader *rd = open_checkpoint(path);
    if (!rd) return cx_errcode();
    const cx_value *c = cx_map_get(cx_reader_header(rd), "config");
    *config = c && c->kind == CX_MAP ? cx_value_copy(c) : cx_map();
    cx_reader_close(rd);
    return 0;
}

static int tensor_fits(const cx_tensor *t, const cx_graph *g, cx_var v) {
    if (t->dtype != CX_F32 || t->ndim != cx_graph_ndim(g, v)) return 0;
    return !memcmp(t->shape, cx_graph_shape(g, v), (size_t)t->ndim * sizeof t->shape[0]);
}

int cx_checkpoint_load(const char *path, cx_graph *g, cx_train_state *st) {
    cx_reader *rd = open_checkpoint(path);
    if (!rd) return cx_errcode();
    cx_graph_alloc_state(g);
    int n = cx_graph_state_count(g), rc = 0, got;
    bool *seen = cx_calloc((size_t)n + 1, sizeof *seen), have_state = false;
    int64_t nparams;
    float *params = cx_graph_params(g, &nparams);
    cx_record rec;
    cx_record_init(&rec);
    cx_train_state loaded = {0};
    while (!rc && (got = cx_reader_next(rd, &rec)) == 1) {
        if (!strcmp(rec.id, STATE_ID)) {
            const cx_tensor *r = cx_record_tensor(&rec, "rng");
            const cx_value *step = cx_map_get(&rec.meta, "step"), *epoch = cx_map_get(&rec.meta, "epoch");
            if (!r || r->dtype != CX_I64 || r->nbytes != sizeof loaded.rng.s || !step || step->kind != CX_INT ||
                !epoch || epoch->kind != CX_INT) {
                rc = cx_err(EX_DATAERR, "%s: record %s: missing rng, step or epoch", path, STATE_ID);
                break;
            }
            memcpy(loaded.rng.s, r->data, sizeof loaded.rng.s);
            loaded.step = step->u.i;
            loaded.epoch = epoch->u.i;
            if ((rc = optim_from_value(cx_map_get(&rec.meta, "optimizer"), &loaded.optim, path))) break;
            const cx_value *extra = cx_map_get(&rec.meta, "extra");
            loaded.extra = extra && extra->kind == CX_MAP ? cx_value_copy(extra) : cx_map();
            have_state = true;
            continue;
        }
        cx_var v = cx_graph_find(g, rec.id);
        const cx_tensor *t = cx_record_tensor(&rec, "value");
        if (v < 0) {
            rc = cx_err(EX_DATAERR, "%s: record %lld: unexpected key \"%s\" (not in the model)", path, (long long)rec.index, rec.id);
        } else if (!t || !tensor_fits(t, g, v)) {
            rc = cx_err(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.value: missing, or not f32 of the model's shape",
                        path, (long long)rec.index, rec.id);
        } else {
            float *dst = cx_graph_data(g, v);
            memcpy(dst, t->data, t->nbytes);
            for (int k = 0; k < 2 && cx_graph_kind(g, v) == CX_VAR_PARAM; k++) {
                float *arr = state_array(st, k);
                if (!arr) continue;
                /* Adam's first moment or SGD's momentum; Adam's second moment */
                const cx_tensor *s = cx_record_tensor(&rec, k ? "exp_avg_sq" : "exp_avg");
                if (!s && !k) s = cx_record_tensor(&rec, "momentum_buffer");
                if (!s || !tensor_fits(s, g, v)) {
                    rc = cx_err(EX_DATAERR, "%s: record %lld (id \"%s\"): optimiser state %s missing or mis-shaped", path,
                                (long long)rec.index, rec.id, k ? "exp_avg_sq" : "exp_avg");
                    break;
                }
                memcpy(arr + (dst - params), s->data, s->nbytes);
            }
            for (int i = 0; i < n; i++)
                if (cx_graph_state_var(g, i) == v) seen[i] = true;
        }
    }
    if (!rc && got < 0) rc = cx_errcode();
    for (int i = 0; i < n && !rc; i++)
        if (!seen[i]) rc = cx_err(EX_DATAERR, "%s: missing key \"%s\"", path, cx_graph_name(g, cx_graph_state_var(g, i)));
    if (!rc && !have_state) rc = cx_err(EX_DATAERR, "%s: no %s record", path, STATE_ID);
    if (!rc) {
        st->step = loaded.step;
        st->epoch = loaded.epoch;
        st->rng = loaded.rng;
        st->optim = loaded.optim;
        cx_value_free(&st->extra);
        st->extra = loaded.extra;
        loaded.extra = cx_nil();
        cx_value_free(&st->config);
        rc = cx_checkpoint_config(path, &st->config);
    }
    cx_value_free(&loaded.extra);
    cx_record_free(&rec);
    cx_reader_close(rd);
    free(seen);
    return rc;
}

void cx_train_state_free(cx_train_state *st) {
    cx_value_free(&st->config);
    cx_value_free(&st->extra);
}
