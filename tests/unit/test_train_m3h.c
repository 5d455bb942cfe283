/* lib/train with --arch m3h: the config in checkpoints, the M3H losses of the task kinds, the
 * paper's bias initialisation, modalities fed from their slices of a record, the auxiliary
 * losses in a training step, and predictions (attention rows, clusters by the nearest centroid). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "nn/nn.h"
#include "test.h"
#include "train/evaluate.h"
#include "train/model.h"
#include "train/task.h"
#include "train/train.h"

/* n records of two modalities, widths 3 and 2 (5 floats: record i, float j = i + j / 10), and the
 * labels of four tasks: binary (positive when i % pos_every == 0), regression, multiclass K 3,
 * clustering (no label). */
static void two_modality_data(cx_mt_data *d, int64_t n, int pos_every) {
    memset(d, 0, sizeof *d);
    d->n = n, d->ndim = 1, d->shape[0] = 5, d->numel = 5, d->ntasks = 4;
    d->nparts = 2, d->part_numel[0] = 3, d->part_numel[1] = 2;
    d->x = malloc((size_t)(n * 5) * sizeof *d->x);
    d->label = malloc((size_t)(n * 4) * sizeof *d->label);
    d->id = calloc((size_t)n, sizeof *d->id);
    d->keep = calloc((size_t)n, sizeof *d->keep);
    d->headers = cx_array();
    cx_rng r = cx_rng_split(5, 0);
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < 5; j++) d->x[i * 5 + j] = (float)i + 0.1f * (float)j + 0.01f * (float)cx_rng_normal(&r);
        d->label[i * 4 + 0] = i % pos_every == 0;
        d->label[i * 4 + 1] = 0.5 * (double)i;
        d->label[i * 4 + 2] = (double)(i % 3);
        d->label[i * 4 + 3] = NAN;
        char id[16];
        snprintf(id, sizeof id, "r%lld", (long long)i);
        d->id[i] = cx_strdup(id);
        d->keep[i] = cx_map();
    }
}

static cx_mt_config m3h_config(const cx_mt_data *d) {
    cx_mt_config c;
    cx_mt_config_default(&c);
    c.arch = CX_ARCH_M3H;
    snprintf(c.input, sizeof c.input, "a,b");
    c.in_dim = 5, c.ntasks = 4, c.latent_dim = 3;
    c.m3h.hidden = 8, c.m3h.proj_dim = 4, c.m3h.shared_dim = 8, c.m3h.task_dim = 4, c.m3h.dropout = 0;
    cx_task_parse("pos:binary:pos", &c.tasks[0]);
    cx_task_parse("score:regression:score,weight=2", &c.tasks[1]);
    cx_task_parse("grade:multiclass:grade:3", &c.tasks[2]);
    cx_task_parse("group:clustering:group:2", &c.tasks[3]);
    cx_tasks_m3h_losses(c.tasks, c.ntasks);
    CHECK_EQ(cx_mt_config_m3h(&c, d), 0);
    return c;
}

TEST(train_m3h_config_losses_and_checkpoint_round_trip) {
    cx_mt_data d;
    two_modality_data(&d, 8, 2);
    cx_mt_config c = m3h_config(&d);
    /* M3H defaults: bce (one logit) and nll; a loss the spec names stays */
    CHECK(c.tasks[0].loss == CX_LOSS_BCE && c.tasks[2].loss == CX_LOSS_NLL && c.tasks[1].loss == CX_LOSS_MAE);
    cx_task explicit_ce;
    cx_task_parse("p:binary:p,loss=ce", &explicit_ce);
    cx_tasks_m3h_losses(&explicit_ce, 1);
    CHECK(explicit_ce.loss == CX_LOSS_CE);
    CHECK_EQ(c.m3h.n_modalities, 2);
    CHECK(c.m3h.modality_dim[0] == 3 && c.m3h.modality_dim[1] == 2);
    CHECK(c.m3h.task_out[0] == 1 && c.m3h.task_out[1] == 1 && c.m3h.task_out[2] == 3 && c.m3h.task_out[3] == 3);
    CHECK(c.m3h.task_is_clustering[3] && !c.m3h.task_is_clustering[0]);

    cx_value v = cx_mt_config_to_value(&c);
    cx_mt_config back;
    CHECK_EQ(cx_mt_config_from_value(&v, &back), 0);
    cx_value again = cx_mt_config_to_value(&back);
    CHECK(cx_value_equal(&v, &again));
    CHECK(back.arch == CX_ARCH_M3H && back.latent_dim == 3 && back.m3h.hidden == 8);
    cx_value_free(&again);
    /* a config whose network does not fit its tasks is refused */
    cx_map_set(&v, "in_dim", cx_int(6));
    CHECK_EQ(cx_mt_config_from_value(&v, &back), EX_DATAERR);
    cx_value_free(&v);

    /* two clustering tasks: one autoencoder only */
    cx_task_parse("group2:clustering:g2", &c.tasks[c.ntasks++]);
    CHECK_EQ(cx_mt_config_m3h(&c, &d), EX_USAGE);
    cx_value set = cx_mt_task_set(&c);
    CHECK(!strcmp(set.u.s, "grade,group,group2,pos,score"));
    cx_value_free(&set);
    cx_mt_data_free(&d);
}

TEST(train_m3h_bias_is_log_odds_only_under_ten_percent_positives) {
    cx_nn_set_threads(1);
    for (int pos_every = 4; pos_every <= 25; pos_every += 21) {   /* 25% and 4% positives */
        cx_mt_data d;
        two_modality_data(&d, 100, pos_every);
        cx_mt_config c = m3h_config(&d);
        cx_mt_model m;
        CHECK_EQ(cx_mt_model_build(&m, &c, 8), 0);
        cx_graph_init(m.g, 1);
        float *bias = cx_graph_data(m.g, cx_graph_find(m.g, "task.0.head.bias"));
        float before = bias[0];
        int set = cx_mt_model_init_bias(&m, &d);
        int64_t pos = (100 + pos_every - 1) / pos_every, neg = 100 - pos;
        if (pos_every == 4) {
            CHECK_EQ(set, 0);
            CHECK(bias[0] == before);
        } else {
            CHECK_EQ(set, 1);
            CHECK_NEAR(bias[0], log((double)pos / (double)neg), 1e-6, 0);
        }
        cx_mt_model_free(&m);
        cx_mt_data_free(&d);
    }
}

TEST(train_m3h_gather_feeds_each_modality_its_slice) {
    cx_mt_data d;
    two_modality_data(&d, 6, 2);
    cx_mt_config c = m3h_config(&d);
    cx_mt_model m;
    CHECK_EQ(cx_mt_model_build(&m, &c, 4), 0);
    CHECK_EQ(cx_graph_plan(m.g, CX_MODE_TRAIN), 0);
    CHECK_EQ(m.ninputs, 2);
    int64_t idx[3] = {5, 0, 3};
    double labels[3 * 4];
    cx_graph_set_batch(m.g, 3);
    cx_mt_gather(&m, &d, idx, 3, labels);
    const float *a = cx_graph_data(m.g, m.inputs[0]), *b = cx_graph_data(m.g, m.inputs[1]);
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) CHECK(a[i * 3 + j] == d.x[idx[i] * 5 + j]);
        for (int j = 0; j < 2; j++) CHECK(b[i * 2 + j] == d.x[idx[i] * 5 + 3 + j]);
        CHECK(labels[i * 4 + 1] == d.label[idx[i] * 4 + 1]);
    }
    cx_mt_model_free(&m);
    cx_mt_data_free(&d);
}

/* The training step's gradient is that of L = sum_t w_t L_t + w_c InfoNCE + w_k MSE: the
 * derivative along a random direction of the parameters, by central differences of that L. */
static double total_loss(cx_mt_model *m, const cx_mt_data *d, const int64_t *idx, int n) {
    cx_mt_loss l = {.norm = CX_REDUCE_MEAN};
    double labels[8 * 4];
    cx_graph_set_batch(m->g, n);
    cx_mt_gather(m, d, idx, n, labels);
    cx_graph_forward(m->g, 1, 0);
    double supervised = cx_mt_loss_compute(m, &l, labels, n, NULL, true);
    double recon, contrastive;
    double aux = cx_mt_model_aux_loss(m, &recon, &contrastive);
    CHECK_NEAR(aux, m->cfg.contrastive_weight * contrastive + m->cfg.tasks[3].weight * recon, 1e-4, 1e-5);
    return supervised + aux;
}

TEST(train_m3h_step_gradient_matches_finite_differences_of_the_total_loss) {
    cx_nn_set_threads(1);
    cx_mt_data d;
    two_modality_data(&d, 8, 2);
    for (int64_t i = 0; i < d.n * 5; i++) d.x[i] = 0.2f * d.x[i] - 0.5f;   /* moderate inputs */
    cx_mt_config c = m3h_config(&d);
    c.contrastive_weight = 0.7;
    c.tasks[3].weight = 0.5;
    cx_mt_model m;
    CHECK_EQ(cx_mt_model_build(&m, &c, 8), 0);
    CHECK_EQ(cx_graph_plan(m.g, CX_MODE_TRAIN), 0);
    cx_graph_init(m.g, 2);
    int64_t np, idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    float *params = cx_graph_params(m.g, &np), *grads = cx_graph_param_grads(m.g, &np);
    total_loss(&m, &d, idx, 8);
    cx_graph_zero_grad(m.g);
    cx_graph_backward(m.g);
    double analytic = 0, eps = 1e-3;
    float *dir = malloc((size_t)np * sizeof *dir), *saved = malloc((size_t)np * sizeof *saved);
    cx_rng r = cx_rng_split(9, 0);
    for (int64_t i = 0; i < np; i++) dir[i] = (float)cx_rng_normal(&r), analytic += (double)dir[i] * grads[i];
    memcpy(saved, params, (size_t)np * sizeof *saved);
    for (int64_t i = 0; i < np; i++) params[i] = saved[i] + (float)eps * dir[i];
    double up = total_loss(&m, &d, idx, 8);
    for (int64_t i = 0; i < np; i++) params[i] = saved[i] - (float)eps * dir[i];
    double down = total_loss(&m, &d, idx, 8);
    double numeric = (up - down) / (2 * eps);
    printf("  analytic %.6f numeric %.6f\n", analytic, numeric);
    CHECK_NEAR(analytic, numeric, 2e-2, 1e-3);
    free(dir);
    free(saved);
    cx_mt_model_free(&m);
    cx_mt_data_free(&d);
}

TEST(train_m3h_predictions_attention_rows_and_nearest_centroid_clusters) {
    cx_nn_set_threads(1);
    cx_mt_data d;
    two_modality_data(&d, 10, 2);
    cx_mt_config c = m3h_config(&d);
    cx_mt_model m;
    CHECK_EQ(cx_mt_model_build(&m, &c, 4), 0);
    cx_graph_init(m.g, 3);
    float *centroid = cx_graph_data(m.g, m.centroids);   /* [2, 3] */
    for (int j = 0; j < 6; j++) centroid[j] = (float)(j % 3) - (j < 3 ? 1.0f : -1.0f);
    cx_mt_loss l = {.norm = CX_REDUCE_MEAN};
    cx_mt_predictions p;
    CHECK_EQ(cx_mt_predict(&m, &d, &l, &p), 0);
    for (int64_t i = 0; i < d.n; i++) {
        for (int row = 0; row < 4; row++) {
            double sum = 0;
            for (int col = 0; col < 4; col++) sum += p.attention[(i * 4 + row) * 4 + col];
            CHECK_NEAR(sum, 1, 1e-5, 0);
        }
        const float *z = p.latent[3] + i * 3;
        double d0 = 0, d1 = 0;
        for (int j = 0; j < 3; j++) d0 += pow(z[j] - centroid[j], 2), d1 += pow(z[j] - centroid[3 + j], 2);
        CHECK_EQ(p.cluster[3][i], d1 < d0 ? 1 : 0);
    }
    /* the clustering task is scored on every record; its validation loss is the reconstruction */
    cx_task_output out;
    cx_mt_task_output(&p, &d, &c.tasks[3], 3, &out, NULL);
    CHECK(out.n == d.n && out.dim == 3 && out.x == p.latent[3]);
    cx_mt_task_output_free(&out);
    CHECK(isfinite(p.task_loss[3]) && p.task_loss[3] > 0);
    cx_mt_predictions_free(&p);
    cx_mt_model_free(&m);
    cx_mt_data_free(&d);
}
