/* lib/train: tasks, the indicator loss, starting from checkpoints (FT, MDMT average), early
 * stopping, and a heads-only model learning a planted signal. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "io/stream.h"
#include "nn/checkpoint.h"
#include "nn/nn.h"
#include "test.h"
#include "train/evaluate.h"
#include "train/model.h"
#include "train/task.h"
#include "train/train.h"

/* ---- tasks ---- */

TEST(train_task_specs_parse_and_round_trip) {
    cx_task t;
    CHECK_EQ(cx_task_parse("prognosis:binary:prognosis", &t), 0);
    CHECK(t.kind == CX_TASK_BINARY && t.classes == 2 && t.loss == CX_LOSS_CE && t.weight == 1);
    CHECK_EQ(cx_task_outputs(&t), 2);
    CHECK_EQ(cx_task_parse("brixia:multiclass:brixia_class:4,weight=0.5,loss=nll", &t), 0);
    CHECK(t.kind == CX_TASK_MULTICLASS && t.classes == 4 && t.loss == CX_LOSS_NLL && t.weight == 0.5);
    CHECK(!strcmp(t.field, "brixia_class"));
    cx_value v = cx_task_to_value(&t);
    cx_task back;
    CHECK_EQ(cx_task_from_value(&v, &back), 0);
    CHECK(!memcmp(&back, &t, sizeof t));
    cx_value_free(&v);
    CHECK_EQ(cx_task_parse("p:binary:prognosis,loss=bce", &t), 0);
    CHECK_EQ(cx_task_outputs(&t), 1);
    CHECK_EQ(cx_task_parse("g:regression:brixia_global", &t), 0);
    CHECK(t.loss == CX_LOSS_MAE && cx_task_outputs(&t) == 1);
    /* refusals, each naming the problem */
    CHECK_EQ(cx_task_parse("b:multiclass:brixia_class", &t), EX_USAGE);
    CHECK(strstr(cx_errmsg(), "needs K") != NULL);
    CHECK_EQ(cx_task_parse("b:ordinal:x", &t), EX_USAGE);
    CHECK_EQ(cx_task_parse("g:regression:y,loss=ce", &t), EX_USAGE);
    CHECK_EQ(cx_task_parse("a.b:binary:y", &t), EX_USAGE);
    CHECK_EQ(cx_task_parse("a:binary:y,weight=-1", &t), EX_USAGE);
    CHECK_EQ(cx_task_parse("a:binary", &t), EX_USAGE);
    /* labels: absent and null are "no label"; a class out of range is an error */
    CHECK_EQ(cx_task_parse("b:multiclass:c:4", &t), 0);
    cx_value meta = cx_map();
    double y = -1;
    CHECK_EQ(cx_task_label(&t, &meta, &y), 0);
    cx_map_set(&meta, "c", cx_nil());
    CHECK_EQ(cx_task_label(&t, &meta, &y), 0);
    cx_map_set(&meta, "c", cx_int(3));
    CHECK(cx_task_label(&t, &meta, &y) == 1 && y == 3);
    cx_map_set(&meta, "c", cx_int(4));
    CHECK_EQ(cx_task_label(&t, &meta, &y), -1);
    CHECK(strstr(cx_errmsg(), "meta.c: 4 is not a class 0..3") != NULL);
    cx_map_set(&meta, "c", cx_float(1.5));
    CHECK_EQ(cx_task_label(&t, &meta, &y), -1);
    cx_value_free(&meta);
}

/* ---- helpers ---- */

/* Embedding data with a planted signal: x ~ N(0, 1)^dim; task 0 binary y = [x0 + 0.5 e > 0],
 * task 1 regression y = x1 + 0.1 e. Record i has task 0's label when i % 3 != 2 and task 1's
 * when i % 3 != 0, so some records have one label, some two. */
static void planted_data(cx_mt_data *d, int64_t n, int dim, uint64_t seed) {
    memset(d, 0, sizeof *d);
    cx_rng r;
    cx_rng_seed(&r, seed);
    d->n = n, d->ndim = 1, d->shape[0] = dim, d->numel = dim, d->ntasks = 2;
    d->x = malloc((size_t)(n * dim) * sizeof *d->x);
    d->label = malloc((size_t)(n * 2) * sizeof *d->label);
    d->id = calloc((size_t)n, sizeof *d->id);
    d->keep = calloc((size_t)n, sizeof *d->keep);
    d->headers = cx_array();
    for (int64_t i = 0; i < n; i++) {
        float *x = d->x + i * dim;
        for (int k = 0; k < dim; k++) x[k] = (float)cx_rng_normal(&r);
        double e = cx_rng_normal(&r);
        d->label[i * 2] = i % 3 != 2 ? (x[0] + 0.5 * e > 0) : NAN;
        d->label[i * 2 + 1] = i % 3 != 0 ? x[1] + 0.1 * e : NAN;
        char id[32];
        snprintf(id, sizeof id, "r%lld", (long long)i);
        d->id[i] = cx_strdup(id);
        d->keep[i] = cx_map();
    }
}

static cx_mt_config embedding_config(int dim, cx_head_kind head, double dropout) {
    cx_mt_config c;
    cx_mt_config_default(&c);
    snprintf(c.input, sizeof c.input, "embedding");
    c.in_dim = dim, c.head = head, c.head_dropout = dropout, c.ntasks = 2;
    cx_task_parse("prognosis:binary:prognosis", &c.tasks[0]);
    cx_task_parse("score:regression:score,weight=2", &c.tasks[1]);
    return c;
}

/* Forward records idx[0..n) in training mode and backward the loss: the parameter gradients stay
 * in the graph; returns the loss. */
static double loss_and_grad(cx_mt_model *m, const cx_mt_data *d, const cx_mt_loss *l, const int64_t *idx, int n,
                            double *task_loss) {
    double labels[64 * 2];
    cx_graph_set_batch(m->g, n);
    cx_mt_gather(m, d, idx, n, labels);
    cx_graph_forward(m->g, 3, 0);
    double total = cx_mt_loss_compute(m, l, labels, n, task_loss, true);
    cx_graph_zero_grad(m->g);
    cx_graph_backward(m->g);
    return total;
}

/* ---- the indicator and the normalisations ---- */

TEST(train_unlabelled_records_add_nothing_to_loss_or_gradient) {
    cx_nn_set_threads(1);
    cx_mt_data d;
    planted_data(&d, 12, 6, 1);
    /* records 0..8 and three more with no label at all */
    for (int64_t i = 9; i < 12; i++) d.label[i * 2] = d.label[i * 2 + 1] = NAN;
    cx_mt_config c = embedding_config(6, CX_HEAD_MLP, 0.0);
    cx_mt_model m;
    CHECK_EQ(cx_mt_model_build(&m, &c, 12), 0);
    CHECK_EQ(cx_graph_plan(m.g, CX_MODE_TRAIN), 0);
    cx_graph_init(m.g, 4);
    int64_t np;
    float *grads = cx_graph_param_grads(m.g, &np);
    float *with = malloc((size_t)np * sizeof *with);
    cx_mt_loss l = {.norm = CX_REDUCE_MEAN};
    for (int norm = 0; norm < 2; norm++) {
        l.norm = norm ? CX_REDUCE_SUM : CX_REDUCE_MEAN;
        int64_t all[12] = {0, 9, 1, 2, 10, 3, 4, 5, 6, 11, 7, 8}, labelled[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
        double a = loss_and_grad(&m, &d, &l, all, 12, NULL);
        memcpy(with, grads, (size_t)np * sizeof *with);
        double b = loss_and_grad(&m, &d, &l, labelled, 9, NULL);
        CHECK_NEAR(a, b, 1e-6, 0);
        CHECK_CLOSE_F32(with, grads, np, 1e-5, 1e-7);
    }
    free(with);
    cx_mt_model_free(&m);
    cx_mt_data_free(&d);
}

TEST(train_task_mean_and_batch_sum_match_a_direct_computation) {
    cx_nn_set_threads(1);
    cx_mt_data d;
    planted_data(&d, 8, 5, 2);
    cx_mt_config c = embedding_config(5, CX_HEAD_LINEAR, 0.0);
    cx_mt_model m;
    CHECK_EQ(cx_mt_model_build(&m, &c, 8), 0);
    CHECK_EQ(cx_graph_plan(m.g, CX_MODE_TRAIN), 0);
    cx_graph_init(m.g, 5);
    int64_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    for (int norm = 0; norm < 2; norm++) {
        cx_mt_loss l = {.norm = norm ? CX_REDUCE_SUM : CX_REDUCE_MEAN};
        double part[2];
        double total = loss_and_grad(&m, &d, &l, idx, 8, part);
        /* direct: cross-entropy of the 2 logits, |value - target|, over the labelled records */
        const float *logits = cx_graph_data(m.g, m.out[0]), *value = cx_graph_data(m.g, m.out[1]);
        double ce = 0, mae = 0;
        int nce = 0, nmae = 0;
        for (int i = 0; i < 8; i++) {
            double y0 = d.label[i * 2], y1 = d.label[i * 2 + 1];
            if (!isnan(y0)) {
                double z0 = logits[2 * i], z1 = logits[2 * i + 1], top = fmax(z0, z1);
                double lse = top + log(exp(z0 - top) + exp(z1 - top));
                ce += lse - (y0 ? z1 : z0), nce++;
            }
            if (!isnan(y1)) mae += fabs(value[i] - y1), nmae++;
        }
        if (!norm) ce /= nce, mae /= nmae;
        CHECK_NEAR(part[0], ce, 1e-5, 1e-7);
        CHECK_NEAR(part[1], mae, 1e-5, 1e-7);
        CHECK_NEAR(total, ce + 2 * mae, 1e-5, 1e-7);   /* the regression task has weight 2 */
        /* the output gradient of a labelled record: weight * dL/dvalue = 2 sign(...) / n (mean) */
        const float *dvalue = cx_graph_grad(m.g, m.out[1]);
        for (int i = 0; i < 8; i++) {
            double y1 = d.label[i * 2 + 1];
            double want = isnan(y1) ? 0 : 2.0 * (value[i] > y1 ? 1 : -1) / (norm ? 1 : nmae);
            CHECK_NEAR(dvalue[i], want, 1e-6, 1e-7);
        }
    }
    cx_mt_model_free(&m);
    cx_mt_data_free(&d);
}

/* ---- starting from checkpoints ---- */

static cx_mt_config crop_config(const char *task_spec) {
    cx_mt_config c;
    cx_mt_config_default(&c);
    snprintf(c.backbone, sizeof c.backbone, "shufflenet_v2_x0_5");
    c.channels = 1, c.size = 32, c.ntasks = 1;
    cx_task_parse(task_spec, &c.tasks[0]);
    return c;
}

static void save_model(const char *path, cx_mt_model *m) {
    cx_train_state st = {0};
    cx_optim_config oc = {.kind = CX_OPTIM_ADAM, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    cx_optim_init(&st.optim, &oc);
    st.config = cx_map();
    cx_map_set(&st.config, "model", cx_mt_config_to_value(&m->cfg));
    st.extra = cx_map();
    CHECK_EQ(cx_checkpoint_save(path, m->g, &st), 0);
    cx_train_state_free(&st);
}

static void built(cx_mt_model *m, const cx_mt_config *c, uint64_t seed) {
    CHECK_EQ(cx_mt_model_build(m, c, 2), 0);
    CHECK_EQ(cx_graph_plan(m->g, CX_MODE_EVAL), 0);
    cx_graph_init(m->g, seed);
    /* BatchNorm buffers start equal (0 and 1) in every model: make them differ too */
    int64_t nb;
    float *buf = cx_graph_buffers(m->g, &nb);
    for (int64_t i = 0; i < nb; i++) buf[i] += (float)(seed % 7) * 0.01f * (float)(i % 5);
}

static const float *state(const cx_mt_model *m, int i) { return cx_graph_data(m->g, cx_graph_state_var(m->g, i)); }

TEST(train_init_average_is_the_exact_elementwise_mean_and_takes_each_tasks_head) {
    cx_nn_set_threads(1);
    cx_mt_config ca = crop_config("prognosis:binary:prognosis"), cb = crop_config("brixia:multiclass:brixia_class:4");
    cx_mt_config cm = ca;
    cm.tasks[1] = cb.tasks[0];
    cm.ntasks = 2;
    cx_mt_model a, b, mdmt;
    built(&a, &ca, 11);
    built(&b, &cb, 12);
    built(&mdmt, &cm, 13);
    const char *paths[2] = {cx_test_tmp("stl-a.cxs"), cx_test_tmp("stl-b.cxs")};
    save_model(paths[0], &a);
    save_model(paths[1], &b);
    CHECK_EQ(cx_mt_model_init_from(&mdmt, paths, 2, true), 0);
    int shared = 0, heads = 0;
    bool mean_ok = true, head_ok = true;
    for (int i = 0; i < cx_graph_state_count(mdmt.g); i++) {
        const char *name = cx_graph_name(mdmt.g, cx_graph_state_var(mdmt.g, i));
        int64_t n = cx_graph_numel(mdmt.g, cx_graph_state_var(mdmt.g, i));
        const float *got = state(&mdmt, i);
        if (cx_mt_is_shared(name)) {
            shared++;
            const float *x = state(&a, i), *y = state(&b, i);
            for (int64_t j = 0; j < n; j++) mean_ok &= got[j] == (float)(((double)x[j] + (double)y[j]) / 2);
        } else {
            heads++;
            const cx_mt_model *from = strstr(name, "heads.prognosis.") == name ? &a : &b;
            cx_var v = cx_graph_find(from->g, name);
            head_ok &= v >= 0 && !memcmp(got, cx_graph_data(from->g, v), (size_t)n * sizeof *got);
        }
    }
    CHECK(shared > 100 && heads == 12);
    CHECK(mean_ok);
    CHECK(head_ok);
    /* another backbone cannot be averaged in */
    cx_mt_config other = crop_config("prognosis:binary:prognosis");
    snprintf(other.backbone, sizeof other.backbone, "resnet18");
    cx_mt_model r;
    built(&r, &other, 1);
    CHECK_EQ(cx_mt_model_init_from(&r, paths, 2, true), EX_DATAERR);
    if (!CHECK(strstr(cx_errmsg(), "stl-a.cxs: a shufflenet_v2_x0_5 model; this one is resnet18") != NULL)) printf("  (%s)\n", cx_errmsg());
    cx_mt_model_free(&r);
    cx_mt_model_free(&a);
    cx_mt_model_free(&b);
    cx_mt_model_free(&mdmt);
}

TEST(train_ft_keeps_the_backbone_bit_exact_and_the_new_heads) {
    cx_nn_set_threads(1);
    cx_mt_config cb = crop_config("brixia:multiclass:brixia_class:4"), ca = crop_config("prognosis:binary:prognosis");
    cx_mt_model b, ft, fresh;
    built(&b, &cb, 21);
    built(&ft, &ca, 22);
    built(&fresh, &ca, 22);
    const char *path = cx_test_tmp("stl-brixia.cxs");
    save_model(path, &b);
    CHECK_EQ(cx_mt_model_init_from(&ft, &path, 1, false), 0);
    bool backbone_ok = true, heads_ok = true;
    for (int i = 0; i < cx_graph_state_count(ft.g); i++) {
        cx_var v = cx_graph_state_var(ft.g, i);
        const char *name = cx_graph_name(ft.g, v);
        size_t bytes = (size_t)cx_graph_numel(ft.g, v) * sizeof(float);
        if (cx_mt_is_shared(name)) backbone_ok &= !memcmp(state(&ft, i), cx_graph_data(b.g, cx_graph_find(b.g, name)), bytes);
        else heads_ok &= !memcmp(state(&ft, i), state(&fresh, i), bytes);
    }
    CHECK(backbone_ok);
    CHECK(heads_ok);
    cx_mt_model_free(&b);
    cx_mt_model_free(&ft);
    cx_mt_model_free(&fresh);
}

/* ---- the training loop ---- */

static cx_train_options options(const char *best, const char *log) {
    cx_train_options o = {
        .optim = {.kind = CX_OPTIM_ADAM, .lr = 1e-2, .weight_decay = 1e-4, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
        .epochs = 30, .batch = 32, .seed = 7, .loss_norm = CX_REDUCE_MEAN, .monitor = "loss", .patience = 0,
        .best_path = best, .log_path = log};
    return o;
}

static int64_t log_rows(const char *path, double *last_best_epoch) {
    cx_reader *rd = cx_reader_open(path);
    if (!rd) return -1;
    cx_record rec;
    cx_record_init(&rec);
    int64_t n = 0;
    while (cx_reader_next(rd, &rec) == 1) n++, cx_value_number(cx_map_get(&rec.meta, "best_epoch"), last_best_epoch);
    cx_record_free(&rec);
    cx_reader_close(rd);
    return n;
}

TEST(train_early_stopping_stops_after_patience_epochs_without_improvement) {
    cx_nn_set_threads(1);
    cx_mt_data tr, va;
    planted_data(&tr, 40, 4, 3);
    planted_data(&va, 20, 4, 4);
    cx_mt_config c = embedding_config(4, CX_HEAD_LINEAR, 0.0);
    cx_mt_model m;
    CHECK_EQ(cx_mt_model_build(&m, &c, 32), 0);
    CHECK_EQ(cx_graph_plan(m.g, CX_MODE_TRAIN), 0);
    cx_graph_init(m.g, 1);
    /* lr 0: the validation loss never changes, so epoch 0 stays the best and the run stops after
     * epoch 0 + patience */
    cx_train_options o = options(cx_test_tmp("es-best.cxs"), cx_test_tmp("es-log.cxs"));
    o.optim.lr = 0, o.optim.weight_decay = 0, o.patience = 3;
    CHECK_EQ(cx_mt_train(&m, &tr, &va, &o, NULL), 0);
    double best_epoch = -1;
    CHECK_EQ(log_rows(o.log_path, &best_epoch), 4);
    CHECK_EQ(best_epoch, 0);
    /* the same with a warm-up of 6 epochs: no stop before the warm-up ends */
    o.warmup = 6;
    CHECK_EQ(cx_mt_train(&m, &tr, &va, &o, NULL), 0);
    CHECK_EQ(log_rows(o.log_path, &best_epoch), 6);
    cx_mt_model_free(&m);
    cx_mt_data_free(&tr);
    cx_mt_data_free(&va);
}

TEST(train_heads_only_learns_a_planted_signal) {
    cx_nn_set_threads(1);
    cx_mt_data tr, te;
    planted_data(&tr, 600, 8, 5);
    planted_data(&te, 300, 8, 6);
    cx_mt_config c = embedding_config(8, CX_HEAD_MLP, 0.5);
    cx_mt_model m;
    CHECK_EQ(cx_mt_model_build(&m, &c, 32), 0);
    CHECK_EQ(cx_graph_plan(m.g, CX_MODE_TRAIN), 0);
    cx_graph_init(m.g, 2);
    cx_train_options o = options(cx_test_tmp("learn-best.cxs"), NULL);
    o.epochs = 15;
    CHECK_EQ(cx_mt_train(&m, &tr, NULL, &o, NULL), 0);
    /* the checkpoint mt-eval would load predicts as the trained model does */
    cx_mt_model back;
    CHECK_EQ(cx_mt_model_load(&back, o.best_path, 50), 0);
    cx_mt_loss l = {.norm = CX_REDUCE_MEAN};
    cx_mt_predictions p;
    CHECK_EQ(cx_mt_predict(&back, &te, &l, &p), 0);
    cx_task_output out;
    cx_mt_task_output(&p, &te, &back.cfg.tasks[0], 0, &out, NULL);
    double auroc = 0, r2 = 0;
    CHECK_EQ(cx_metric("auroc", &out, NULL, out.n, &auroc), 0);
    printf("  planted signal: test AUROC %.3f", auroc);
    CHECK(auroc > 0.85);   /* the Bayes rate is about 0.93; chance 0.5 */
    cx_mt_task_output_free(&out);
    cx_mt_task_output(&p, &te, &back.cfg.tasks[1], 1, &out, NULL);
    CHECK_EQ(cx_metric("r2", &out, NULL, out.n, &r2), 0);
    printf(", R^2 %.3f\n", r2);
    CHECK(r2 > 0.5);
    /* the metrics record says the same as lib/eval, and its acc is the fraction of right argmaxes */
    cx_record rec;
    cx_record_init(&rec);
    CHECK_EQ(cx_mt_metrics_record(&back.cfg, &p, &te, 0, NULL, NULL, &rec), 0);
    double acc = -1, auroc_rec = -1, n = 0;
    cx_value_number(cx_map_get(&rec.meta, "acc"), &acc);
    cx_value_number(cx_map_get(&rec.meta, "auroc"), &auroc_rec);
    cx_value_number(cx_map_get(&rec.meta, "n"), &n);
    int64_t right = 0, labelled = 0;
    for (int64_t i = 0; i < te.n; i++) {
        double y = te.label[i * 2];
        if (isnan(y)) continue;
        labelled++;
        right += (p.prob[0][2 * i + 1] > p.prob[0][2 * i]) == (y == 1);
    }
    CHECK_EQ((int64_t)n, labelled);
    CHECK_NEAR(acc, (double)right / (double)labelled, 1e-12, 0);
    CHECK_EQ(auroc_rec, auroc);
    const cx_tensor *conf = cx_record_tensor(&rec, "confusion");
    CHECK(conf && conf->dtype == CX_I64 && conf->shape[0] == 2);
    const int64_t *cm = conf->data;
    CHECK_EQ(cm[0] + cm[3], right);
    cx_record_free(&rec);
    cx_mt_task_output_free(&out);
    cx_mt_predictions_free(&p);
    cx_mt_model_free(&back);
    cx_mt_model_free(&m);
    cx_mt_data_free(&tr);
    cx_mt_data_free(&te);
}

TEST(train_balanced_class_weights_and_sampler) {
    cx_mt_data d;
    planted_data(&d, 30, 3, 8);
    cx_mt_config c = embedding_config(3, CX_HEAD_LINEAR, 0.0);
    cx_mt_loss l = {.norm = CX_REDUCE_MEAN};
    cx_mt_loss_balanced(&l, &c, &d);
    int64_t count[2] = {0, 0}, n = 0;
    for (int64_t i = 0; i < d.n; i++)
        if (!isnan(d.label[i * 2])) count[(int)d.label[i * 2]]++, n++;
    CHECK(count[0] > 0 && count[1] > 0);
    CHECK_NEAR(l.class_weight[0][0], (double)n / (2.0 * count[0]), 1e-6, 0);
    CHECK_NEAR(l.class_weight[0][1], (double)n / (2.0 * count[1]), 1e-6, 0);
    CHECK(l.class_weight[1] == NULL);   /* regression: none */
    cx_mt_loss_free(&l);
    /* balanced: slots alternate between the tasks, each drawing one of its labelled records */
    int64_t m;
    int64_t *order = cx_mt_epoch_order(&d, CX_SAMPLER_BALANCED, 3, 0, &m);
    CHECK_EQ(m, d.n);
    bool ok = true;
    for (int64_t j = 0; j < m; j++) ok &= !isnan(d.label[order[j] * 2 + j % 2]);
    CHECK(ok);
    free(order);
    /* random: a permutation, the same for the same (seed, epoch), another for the next epoch */
    int64_t *a = cx_mt_epoch_order(&d, CX_SAMPLER_RANDOM, 3, 1, &m), *b = cx_mt_epoch_order(&d, CX_SAMPLER_RANDOM, 3, 1, &m);
    int64_t *next = cx_mt_epoch_order(&d, CX_SAMPLER_RANDOM, 3, 2, &m);
    CHECK(!memcmp(a, b, (size_t)m * sizeof *a));
    CHECK(memcmp(a, next, (size_t)m * sizeof *a) != 0);
    bool hit[30] = {false};
    int64_t seen = 0;
    for (int64_t j = 0; j < m && j < 30; j++)
        if (a[j] >= 0 && a[j] < 30) seen += !hit[a[j]], hit[a[j]] = true;
    CHECK_EQ(seen, 30);
    free(a);
    free(b);
    free(next);
    cx_mt_data_free(&d);
}
