/* mt-eval: apply a checkpoint to a stream; write metrics per task and predictions per record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "io/stream.h"
#include "nn/nn.h"
#include "train/evaluate.h"

static const cx_tool tool = {
    "mt-eval", "-m CKPT [-o METRICS.cxs] [-p PREDICTIONS.cxs] [options] INPUT.cxs...",
    "Apply a checkpoint of mt-train (mdmt or M3H) to the records of the input streams (their union)\n"
    "and write the metrics of each task over the records that have its label (a stream of kind\n"
    "\"metrics\", one record per task: acc, f1, gmean, auroc for classification, mae, r2 for\n"
    "regression, silhouette for clustering, and the confusion matrix; tag task_set, the sorted task\n"
    "names, unless --tag sets it) and the predictions (kind \"predictions\", one record per input\n"
    "record; M3H adds tensor attention [T, T]).\n"
    "\n"
    "  -m, --model CKPT      the checkpoint (required)\n"
    "  -o, --output FILE     the metrics stream (default: standard output)\n"
    "  -p, --predictions FILE  the predictions stream\n"
    "      --tag KEY=VALUE   copy KEY into every metrics record (repeatable; e.g. fold=2)\n"
    "      --bootstrap N     N bootstrap resamples per metric: <metric>_std, _lo, _hi (default 0)\n"
    "      --bootstrap-fraction F  resample size as a fraction of n (default 1: with replacement;\n"
    "                        below 1 without, e.g. 0.9 as the M3H paper)\n"
    "      --level L         the percentile interval's coverage (default 0.95)\n"
    "      --seed N          the bootstrap's seed (default 1)\n"
    "      --batch N         records per forward pass (default 64)\n"
    "      --threads N       threads (default: all CPUs)\n"
    "      --help, --version\n"
    "\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73 cannot create, 74 I/O error.\n"
    "See mt-eval(1).\n",
};

#define MAX_INPUTS 64

static int put_all(cx_writer *w, cx_record *rec) { return w ? cx_writer_put(w, rec) : 0; }

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *model_path = NULL, *metrics_path = "-", *predictions_path = NULL;
    cx_bootstrap_options boot = {.resamples = 0, .fraction = 1.0, .level = 0.95, .seed = 1};
    int batch = 64, threads = 0;
    cx_value tags = cx_map();
    enum { OPT_TAG = CX_OPT_FIRST_TOOL, OPT_BOOTSTRAP, OPT_FRACTION, OPT_LEVEL, OPT_SEED, OPT_BATCH, OPT_THREADS };
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"output", required_argument, 0, 'o'},
        {"predictions", required_argument, 0, 'p'}, {"tag", required_argument, 0, OPT_TAG},
        {"bootstrap", required_argument, 0, OPT_BOOTSTRAP}, {"bootstrap-fraction", required_argument, 0, OPT_FRACTION},
        {"level", required_argument, 0, OPT_LEVEL}, {"seed", required_argument, 0, OPT_SEED},
        {"batch", required_argument, 0, OPT_BATCH}, {"threads", required_argument, 0, OPT_THREADS},
        CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "m:o:p:", longopts)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'o': metrics_path = optarg; break;
        case 'p': predictions_path = optarg; break;
        case OPT_TAG: {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) cx_usage_error("--tag: '%s' is not KEY=VALUE", optarg);
            *eq = 0;
            cx_map_set(&tags, optarg, cx_value_parse_scalar(eq + 1));
            *eq = '=';
            break;
        }
        case OPT_BOOTSTRAP: boot.resamples = (int)cx_opt_int("--bootstrap", optarg, 0, 1000000); break;
        case OPT_FRACTION: boot.fraction = cx_opt_double("--bootstrap-fraction", optarg, 1e-6, 1); break;
        case OPT_LEVEL: boot.level = cx_opt_double("--level", optarg, 1e-6, 0.999999); break;
        case OPT_SEED: boot.seed = (uint64_t)cx_opt_int("--seed", optarg, 0, INT64_MAX); break;
        case OPT_BATCH: batch = (int)cx_opt_int("--batch", optarg, 1, 65536); break;
        case OPT_THREADS: threads = (int)cx_opt_int("--threads", optarg, 0, 1024); break;
        }
    }
    if (!model_path) cx_usage_error("--model CKPT is required");
    if (optind == argc) cx_usage_error("no input stream");
    if (argc - optind > MAX_INPUTS) cx_usage_error("at most %d input streams", MAX_INPUTS);
    if (predictions_path && !strcmp(predictions_path, "-") && !strcmp(metrics_path, "-"))
        cx_usage_error("only one of --output and --predictions can be standard output");
    cx_nn_set_threads(threads);

    cx_mt_model model;
    if (cx_mt_model_load(&model, model_path, batch)) cx_die();
    const cx_mt_config *cfg = &model.cfg;
    cx_mt_data data;
    if (cx_mt_data_load(&data, (const char *const *)argv + optind, argc - optind, cfg->input, cfg->tasks, cfg->ntasks))
        cx_die();
    if (data.numel != cx_mt_input_numel(cfg))
        cx_fatal(EX_DATAERR, "%s: tensors.%s: %lld values per record, the model takes %lld", argv[optind], cfg->input,
                 (long long)data.numel, (long long)cx_mt_input_numel(cfg));
    for (int i = 0; i < model.ninputs; i++)
        if (data.part_numel[i] != model.input_numel[i])
            cx_fatal(EX_DATAERR, "%s: input tensor %d of %s: %lld values per record, the model takes %lld", argv[optind],
                     i + 1, cfg->input, (long long)data.part_numel[i], (long long)model.input_numel[i]);
    if (!cx_map_get(&tags, "task_set")) cx_map_set(&tags, "task_set", cx_mt_task_set(cfg));
    cx_mt_loss loss = {.norm = CX_REDUCE_MEAN};
    cx_mt_predictions pred;
    if (cx_mt_predict(&model, &data, &loss, &pred)) cx_die();

    cx_value header = cx_header_new("metrics");
    for (size_t i = 0; i < data.headers.u.arr.n; i++) cx_header_add_input(&header, &data.headers.u.arr.items[i]);
    cx_map_set(&header, "checkpoint", cx_str(model_path));
    cx_map_set(&header, "model", cx_mt_config_to_value(cfg));
    cx_writer *metrics = cx_writer_open(metrics_path, &header), *predictions = NULL;
    if (!metrics) cx_die();
    if (predictions_path) {
        cx_map_set(&header, "kind", cx_str("predictions"));
        if (!(predictions = cx_writer_open(predictions_path, &header))) cx_die();
    }
    cx_value_free(&header);
    cx_record rec;
    cx_record_init(&rec);
    for (int t = 0; t < cfg->ntasks; t++)
        if (cx_mt_metrics_record(cfg, &pred, &data, t, &tags, &boot, &rec) || put_all(metrics, &rec)) cx_die();
    for (int64_t i = 0; predictions && i < data.n; i++) {
        cx_mt_prediction_record(cfg, &pred, &data, i, &rec);
        if (put_all(predictions, &rec)) cx_die();
    }
    if (predictions && cx_writer_close(predictions)) cx_die();
    if (cx_writer_close(metrics)) cx_die();
    cx_record_free(&rec);
    cx_mt_predictions_free(&pred);
    cx_mt_data_free(&data);
    cx_mt_model_free(&model);
    cx_value_free(&tags);
    return 0;
}
