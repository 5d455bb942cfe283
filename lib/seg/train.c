/* Training data for the lung U-Net and the training loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "nn/checkpoint.h"
#include "nn/loss.h"
#include "nn/optim.h"
#include "seg/seg.h"

/* ---- data ---- */

void cx_seg_dataset_init(cx_seg_dataset *d, int size) {
    memset(d, 0, sizeof *d);
    d->size = size;
}

void cx_seg_dataset_free(cx_seg_dataset *d) {
    for (int64_t i = 0; i < d->n; i++) free(d->ids[i]);
    free(d->ids);
    free(d->images);
    free(d->masks);
    memset(d, 0, sizeof *d);
}

/* Room for one more sample; returns its index. */
static int64_t dataset_grow(cx_seg_dataset *d) {
    if (d->n == d->cap) {
        int64_t plane = (int64_t)d->size * d->size;
        d->cap = d->cap ? 2 * d->cap : 16;
        d->images = cx_realloc(d->images, (size_t)(d->cap * plane) * sizeof(float));
        d->masks = cx_realloc(d->masks, (size_t)(d->cap * plane) * sizeof(float));
        d->ids = cx_realloc(d->ids, (size_t)d->cap * sizeof(char *));
    }
    return d->n++;
}

bool cx_seg_is_validation(const cx_record *rec, double fraction) {
    const char *name = cx_map_str(&rec->meta, "patient", rec->id);
    uint64_t hash = 1469598103934665603ull;   /* FNV-1a 64 */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) hash = (hash ^ *p) * 1099511628211ull;
    return (double)(hash % 10000) < fraction * 10000;
}

int cx_seg_dataset_read(const char *path, const char *image_name, const char *mask_name, double val_fraction,
                        cx_seg_dataset *train, cx_seg_dataset *val, int64_t *skipped) {
    cx_reader *rd = cx_reader_open(path);
    if (!rd) return cx_errcode();
    cx_record rec;
    cx_record_init(&rec);
    int got, rc = 0;
    while (!rc && (got = cx_reader_next(rd, &rec)) == 1) {
        const cx_tensor *mt = cx_record_tensor(&rec, mask_name), *it = cx_record_tensor(&rec, image_name);
        if (!mt) {
            (*skipped)++;
            continue;
        }
        float *image = NULL, *mask = NULL;
        int ih, iw, mh, mw;
        if (!it) {
            rc = cx_err(EX_DATAERR, "tensors.%s: missing", image_name);
        } else if (!(rc = cx_seg_plane(it, &image, &ih, &iw)) && !(rc = cx_seg_plane(mt, &mask, &mh, &mw)) &&
                   (ih != mh || iw != mw)) {
            rc = cx_err(EX_DATAERR, "tensors.%s: %dx%d, but the image is %dx%d", mask_name, mw, mh, iw, ih);
        }
        if (!rc) {
            cx_seg_dataset *d = val && cx_seg_is_validation(&rec, val_fraction) ? val : train;
            int64_t k = dataset_grow(d), plane = (int64_t)d->size * d->size;
            cx_seg_prepare_image(image, ih, iw, d->size, d->images + k * plane);
            cx_seg_prepare_mask(mask, ih, iw, d->size, d->masks + k * plane);
            d->ids[k] = cx_strdup(rec.id);
        } else {
            cx_err_prefix("%s: record %lld (id \"%s\")", path, (long long)rec.index, rec.id);
        }
        free(image);
        free(mask);
    }
    if (!rc && got < 0) rc = cx_errcode();
    cx_record_free(&rec);
    cx_reader_close(rd);
    return rc;
}

/* ---- training ---- */

static float sigmoid(float x) { return 1 / (1 + expf(-x)); }

/* Mean over images of the hard Dice (logit > 0 against target > 0.5) of val, in eval mode. */
static int validation_dice(cx_seg_net *n, const cx_seg_dataset *val, double *mean) {
    int64_t plane = (int64_t)val->size * val->size;
    double sum = 0;
    for (int64_t start = 0; start < val->n; start += n->max_batch) {
        int nb = (int)(val->n - start < n->max_batch ? val->n - start : n->max_batch);
        cx_graph_set_batch(n->g, nb);
        memcpy(cx_graph_data(n->g, n->x), val->images + start * plane, (size_t)(nb * plane) * sizeof(float));
        int rc = cx_graph_forward(n->g, 0, 0);
        if (rc) return rc;
        const float *logits = cx_graph_data(n->g, n->logits);
        for (int b = 0; b < nb; b++) {
            const float *l = logits + b * plane, *t = val->masks + (start + b) * plane;
            int64_t inter = 0, pred = 0, truth = 0;
            for (int64_t k = 0; k < plane; k++) {
                bool p = l[k] > 0, y = t[k] > 0.5f;
                inter += p && y;
                pred += p;
                truth += y;
            }
            sum += pred + truth ? 2.0 * (double)inter / (double)(pred + truth) : 1.0;
        }
    }
    *mean = val->n ? sum / (double)val->n : NAN;
    return 0;
}

static double extra_number(const cx_value *extra, const char *key, double def) {
    const cx_value *v = cx_map_get(extra, key);
    double d;
    return v && cx_value_number(v, &d) ? d : def;
}

/* The model file: weights and buffers, no optimiser state. */
static int save_model(const char *path, const cx_seg_net *n, const cx_train_state *st) {
    cx_train_state model = *st;
    model.m = model.v = NULL;
    return cx_checkpoint_save(path, n->g, &model);
}

int cx_seg_train(const cx_seg_train_options *o, const cx_seg_dataset *train, const cx_seg_dataset *val,
                 const cx_seg_callbacks *cb) {
    if (train->n < 1) return cx_err(EX_DATAERR, "no training record carries a mask");
    cx_seg_net net;
    int rc = cx_seg_net_build(&net, &o->model, o->batch);
    if (rc) return rc;
    int S = o->model.size;
    int64_t plane = (int64_t)S * S, nparams;
    cx_train_state st;
    memset(&st, 0, sizeof st);
    float *target = cx_malloc((size_t)(o->batch * plane) * sizeof(float));
    float *prob = cx_malloc((size_t)(o->batch * plane) * sizeof(float));
    float *dprob = cx_malloc((size_t)(o->batch * plane) * sizeof(float));
    int64_t *order = cx_malloc((size_t)train->n * sizeof *order);
    if ((rc = cx_graph_plan(net.g, CX_MODE_TRAIN))) goto done;
    cx_graph_init(net.g, o->seed);
    float *params = cx_graph_params(net.g, &nparams), *grads = cx_graph_param_grads(net.g, &nparams);
    st.m = cx_calloc((size_t)nparams, sizeof(float));
    st.v = cx_calloc((size_t)nparams, sizeof(float));
    cx_optim_config ocfg = {.kind = CX_OPTIM_ADAM, .lr = o->lr, .weight_decay = o->weight_decay, .beta1 = 0.9,
                            .beta2 = 0.999, .eps = 1e-8};
    if ((rc = cx_optim_init(&st.optim, &ocfg))) goto done;
    cx_rng_seed(&st.rng, o->seed);
    st.config = cx_map();
    cx_map_set(&st.config, "segmentation", cx_seg_model_to_value(&o->model));
    if (o->run_config.kind == CX_MAP) cx_map_set(&st.config, "training", cx_value_copy(&o->run_config));
    st.extra = cx_map();
    if (o->resume) {
        if ((rc = cx_checkpoint_load(o->state_path, net.g, &st))) goto done;
        cx_seg_model saved;
        if ((rc = cx_seg_model_from_value(cx_map_get(&st.config, "segmentation"), &saved, o->state_path))) goto done;
        if (strcmp(saved.preset, o->model.preset) || saved.base != o->model.base || saved.size != o->model.size) {
            rc = cx_err(EX_USAGE, "%s: a %s model (base %d, size %d); this run asks for %s (base %d, size %d)",
                        o->state_path, saved.preset, saved.base, saved.size, o->model.preset, o->model.base,
                        o->model.size);
            goto done;
        }
    }
    int64_t steps_per_epoch = (train->n + o->batch - 1) / o->batch, total_steps = steps_per_epoch * o->epochs;
    cx_lr_schedule sched = {.kind = CX_LR_COSINE, .lr = o->lr, .t_max = total_steps > 0 ? total_steps : 1};
    cx_param_group all = {params, grads, nparams, st.m, st.v};
    double best = extra_number(&st.extra, "best_val_dice", -1);
    for (int64_t epoch = st.epoch; epoch < o->epochs; epoch++) {
        double t0 = cx_now(), sum_loss = 0, sum_bce = 0, sum_dice = 0;
        for (int64_t i = 0; i < train->n; i++) order[i] = i;
        cx_rng_shuffle_i64(&st.rng, order, train->n);
        for (int64_t s = 0; s < steps_per_epoch; s++) {
            int64_t start = s * o->batch;
            int nb = (int)(train->n - start < o->batch ? train->n - start : o->batch);
            cx_graph_set_batch(net.g, nb);
            float *x = cx_graph_data(net.g, net.x);
            for (int b = 0; b < nb; b++) {
                int64_t k = order[start + b];
                cx_augmentation a;
                if (o->no_augment) cx_augment_identity(&a);
                else cx_augment_draw(&o->augment, S, S, &st.rng, &a);
                cx_augment_pair(&a, train->images + k * plane, train->masks + k * plane, S, S, x + b * plane,
                                target + b * plane);
            }
            if ((rc = cx_graph_forward(net.g, o->seed, st.step))) goto done;
            const float *logits = cx_graph_data(net.g, net.logits);
            float *dlogits = cx_graph_grad(net.g, net.logits);
            int64_t n = nb * plane;
            cx_elem_loss_desc bd = {.n = nb, .k = (int)plane, .reduction = CX_REDUCE_MEAN};
            cx_dice_desc dd = {.n = nb, .k = (int)plane, .eps = CX_DICE_EPS, .reduction = CX_REDUCE_MEAN};
            for (int64_t k = 0; k < n; k++) prob[k] = sigmoid(logits[k]);
            float bce = cx_bce_logits_forward(&bd, NULL, logits, target, NULL, NULL);
            float dice = cx_dice_forward(&dd, NULL, prob, target, NULL);
            /* d(BCE + w Dice)/d logits: BCE's own, plus Dice's through the sigmoid p' = p (1 - p) */
            float one = 1, w = (float)o->dice_weight;
            memset(dlogits, 0, (size_t)n * sizeof(float));
            memset(dprob, 0, (size_t)n * sizeof(float));
            cx_bce_logits_backward(&bd, dlogits, &one, logits, target, NULL, NULL);
            cx_dice_backward(&dd, dprob, &w, prob, target, NULL);
            for (int64_t k = 0; k < n; k++) dlogits[k] += dprob[k] * prob[k] * (1 - prob[k]);
            cx_graph_zero_grad(net.g);
            cx_graph_backward(net.g);
            st.optim.cfg.lr = cx_lr_at(&sched, st.step);
            cx_optim_step(&st.optim, &all, 1);
            st.step++;
            if (!isfinite(bce) || !isfinite(dice)) {
                rc = cx_err(EX_SOFTWARE, "epoch %lld, step %lld: the loss is not finite (lower --lr?)",
                            (long long)epoch + 1, (long long)st.step);
                goto done;
            }
            sum_bce += bce;
            sum_dice += dice;
            sum_loss += bce + o->dice_weight * dice;
            if (cb && cb->on_step) cb->on_step(cb->ctx, s + 1, steps_per_epoch);
        }
        st.epoch = epoch + 1;
        cx_seg_epoch e = {.epoch = epoch + 1, .step = st.step, .epochs = o->epochs, .val_dice = NAN,
                          .lr = st.optim.cfg.lr, .loss = sum_loss / (double)steps_per_epoch,
                          .bce = sum_bce / (double)steps_per_epoch, .dice_loss = sum_dice / (double)steps_per_epoch};
        if (val && val->n) {
            if ((rc = cx_graph_plan(net.g, CX_MODE_EVAL)) || (rc = validation_dice(&net, val, &e.val_dice)) ||
                (rc = cx_graph_plan(net.g, CX_MODE_TRAIN)))
                goto done;
            e.best = e.val_dice > best;
        } else {
            e.best = true;   /* without validation the last epoch is the model */
        }
        if (e.best) {
            best = val && val->n ? e.val_dice : best;
            cx_map_set(&st.extra, "best_val_dice", cx_float(best));
            cx_map_set(&st.extra, "best_epoch", cx_int(epoch + 1));
            if ((rc = save_model(o->out_path, &net, &st))) goto done;
        }
        if (o->state_path && (rc = cx_checkpoint_save(o->state_path, net.g, &st))) goto done;
        e.seconds = cx_now() - t0;
        if (cb && cb->on_epoch && (rc = cb->on_epoch(cb->ctx, &e))) goto done;
    }
done:
    free(target);
    free(prob);
    free(dprob);
    free(order);
    free(st.m);
    free(st.v);
    cx_train_state_free(&st);
    cx_seg_net_free(&net);
    return rc;
}
