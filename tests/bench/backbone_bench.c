/* backbone_bench: one training or inference configuration of a backbone, timed the way
 * /work/shared/bench/pytorch_bench.py times PyTorch (so the two can stand in one table):
 * a gray 1xRxR batch replicated to 3 channels inside the timed step, the architecture's own
 * classifier with 14 classes, cross-entropy, Adam (lr 1e-4); median of `iters` steps after
 * `warmup`. Prints one JSON line, with the peak RSS of this process.
 *
 *   backbone_bench MODEL train|infer [batch] [res] [threads] [warmup] [iters] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/rng.h"
#include "models/backbone.h"
#include "nn/graph.h"
#include "nn/loss.h"
#include "nn/nn.h"
#include "nn/optim.h"

#define NUM_CLASSES 14

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: backbone_bench MODEL train|infer [batch] [res] [threads] [warmup] [iters]\n");
        return EX_USAGE;
    }
    const char *name = argv[1];
    bool train = !strcmp(argv[2], "train");
    int batch = argc > 3 ? atoi(argv[3]) : (train ? 16 : 32), res = argc > 4 ? atoi(argv[4]) : 224;
    int threads = argc > 5 ? atoi(argv[5]) : 2, warmup = argc > 6 ? atoi(argv[6]) : 2, iters = argc > 7 ? atoi(argv[7]) : 5;
    cx_nn_set_threads(threads);
    const cx_backbone *b = cx_backbone_find(name);
    if (!b) cx_die();

    cx_graph *g = cx_graph_new(batch);
    int64_t shape[3] = {3, res, res};
    cx_var x = cx_graph_input(g, "input", 3, shape, false);
    cx_backbone_options opt = {.num_classes = NUM_CLASSES, .drop_rate = -1};
    cx_backbone_outputs out;
    if (b->build(g, x, &opt, &out) || !cx_graph_ok(g)) cx_die();
    cx_graph_output(g, out.logits);
    if (cx_graph_plan(g, train ? CX_MODE_TRAIN : CX_MODE_EVAL)) cx_die();
    cx_graph_init(g, 0);

    cx_rng rng;
    cx_rng_seed(&rng, 0);
    float *gray = cx_malloc((size_t)batch * res * res * sizeof *gray);
    for (int64_t i = 0; i < (int64_t)batch * res * res; i++) gray[i] = (float)cx_rng_normal(&rng);
    int32_t *target = cx_malloc((size_t)batch * sizeof *target);
    for (int i = 0; i < batch; i++) target[i] = (int32_t)cx_rng_below(&rng, NUM_CLASSES);
    int64_t np;
    float *params = cx_graph_params(g, &np), *grads = cx_graph_param_grads(g, &np);
    float *m = train ? cx_calloc((size_t)np, sizeof *m) : NULL, *v = train ? cx_calloc((size_t)np, sizeof *v) : NULL;
    cx_optim adam;
    cx_optim_config cfg = {.kind = CX_OPTIM_ADAM, .lr = 1e-4, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    cx_optim_init(&adam, &cfg);
    cx_param_group all = {params, grads, np, m, v};
    cx_class_loss_desc ce = {batch, NUM_CLASSES, CX_REDUCE_MEAN};
    float one = 1.0f;

    double *times = cx_malloc((size_t)(warmup + iters) * sizeof *times);
    for (int it = 0; it < warmup + iters; it++) {
        double t0 = cx_now();
        float *in = cx_graph_data(g, x);
        for (int n = 0; n < batch; n++)   /* replicate gray to 3 channels, as the PyTorch harness */
            for (int c = 0; c < 3; c++)
                memcpy(in + ((size_t)n * 3 + c) * res * res, gray + (size_t)n * res * res, (size_t)res * res * sizeof *in);
        if (cx_graph_forward(g, 0, it)) cx_die();
        if (train) {
            float *logits = cx_graph_data(g, out.logits), *dlogits = cx_graph_grad(g, out.logits);
            cx_cross_entropy_forward(&ce, NULL, logits, target, NULL, NULL);
            memset(dlogits, 0, (size_t)batch * NUM_CLASSES * sizeof *dlogits);
            cx_cross_entropy_backward(&ce, dlogits, &one, logits, target, NULL, NULL);
            cx_graph_zero_grad(g);
            cx_graph_backward(g);
            cx_optim_step(&adam, &all, 1);
        }
        times[it] = cx_now() - t0;
    }
    qsort(times + warmup, (size_t)iters, sizeof *times, cmp_double);
    double median = iters % 2 ? times[warmup + iters / 2] : 0.5 * (times[warmup + iters / 2 - 1] + times[warmup + iters / 2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"cxr-mtl\", \"model\": \"%s\", \"mode\": \"%s\", \"batch\": %d, \"res\": %d, \"threads\": %d, "
           "\"iters\": %d, \"warmup\": %d, \"median_s\": %.6f, \"min_s\": %.6f, \"img_per_s\": %.3f, "
           "\"peak_rss_mb\": %.1f, \"activation_mb\": %.1f}\n",
           name, train ? "train" : "infer", batch, res, threads, iters, warmup, median, times[warmup],
           batch / median, ru.ru_maxrss / 1024.0, cx_graph_activation_bytes(g) / 1048576.0);
    cx_graph_free(g);
    free(gray), free(target), free(m), free(v), free(times);
    return 0;
}
