/* mt-train: train a multi-task model (shared backbone or embedding input, one head per task). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/error.h"
#include "models/backbone.h"
#include "nn/nn.h"
#include "nn/weights.h"
#include "train/data.h"
#include "train/model.h"
#include "train/train.h"

static const cx_tool tool = {
    "mt-train", "[options] --task SPEC... -o BEST.cxs INPUT.cxs...",
    "Train a multi-task model on the union of the input streams (crop streams through a backbone,\n"
    "or embedding streams with heads only), one head per task; a record without a task's label adds\n"
    "nothing to that task's loss. Writes the best checkpoint (by the validation monitor; the last\n"
    "epoch without --val) to BEST.cxs.\n"
    "\n"
    "Tasks and model:\n"
    "      --task NAME:KIND:FIELD[:K][,weight=W][,loss=L]   a task (repeatable); KIND binary,\n"
    "                        multiclass (K classes), regression, clustering (M3H; K clusters,\n"
    "                        default 15); L ce, bce, nll (classification), mae, mse (regression);\n"
    "                        defaults ce and mae (M3H: bce and nll), weight 1\n"
    "      --tasks FILE      task specs, one per line ('#' comments); see cxr-tasks(5)\n"
    "  -b, --backbone NAME   train this backbone end to end on tensor 'image' [C, S, S]\n"
    "      --input T[,T...]  heads only, on these 1-D tensors concatenated (e.g. embedding)\n"
    "      --arch mdmt|m3h   the model (default mdmt); m3h takes --input, each tensor a modality\n"
    "      --head mlp|linear the task heads (default mlp: F->128->32->n, ReLU, dropout)\n"
    "      --head-dropout P  the MLP head's dropout (default 0.5)\n"
    "      --weights FILE    backbone weights (safetensors, torchvision names; the classifier is\n"
    "                        skipped; a 1-channel input sums the RGB filters of the first conv)\n"
    "      --init CKPT       FT: the shared weights from a checkpoint, new heads\n"
    "      --init-average CKPT  MDMT (repeat for each): the element-wise mean of the checkpoints'\n"
    "                        shared weights; each task's head from the checkpoints that have one\n"
    "\n"
    "M3H (--arch m3h):\n"
    "      --hidden N (256)  --proj-dim N (128)  --shared-dim N (256)  --task-dim N (64)\n"
    "                        the modality nets' hidden and projection widths, the shared-task\n"
    "                        net's and the task nets' (attention) widths\n"
    "      --latent-dim N    the clustering autoencoder's latent width (default 16)\n"
    "      --alpha X         cross-task attention strength (default 0.1)\n"
    "      --dropout P       dropout of the modality and shared nets (default 0.1)\n"
    "      --contrastive-weight W  w_c of the InfoNCE loss between modalities (default 1)\n"
    "\n"
    "Optimisation:\n"
    "      --optim adam|adamw   (default adam)      --lr X (1e-3)      --weight-decay X (1e-4)\n"
    "      --beta1 X (0.9)  --beta2 X (0.999)        --epochs N (300)   --warmup N epochs (0)\n"
    "      --batch N (128)  --seed N (1)             --threads N (default: all CPUs)\n"
    "      --sampler random|balanced  (default random: batches drawn from the union)\n"
    "      --loss-norm task-mean|batch-sum  (default task-mean)\n"
    "      --class-weights none|balanced    (default none; balanced n/(K n_c))\n"
    "\n"
    "Validation, checkpoints, log:\n"
    "      --val FILE        validation stream (repeatable: their union)\n"
    "      --monitor M       loss (default), TASK:loss or TASK:METRIC (acc f1 gmean auroc mae r2)\n"
    "      --patience N      stop after N epochs without improvement (default 40; 0 never)\n"
    "  -o, --output FILE     the best checkpoint (required)\n"
    "      --state FILE      the latest checkpoint, rewritten each epoch\n"
    "      --checkpoint-steps N  also rewrite --state every N steps\n"
    "      --max-steps N     stop after N steps in all (saving --state), to be resumed\n"
    "      --resume          continue from --state (same command line): bit-identical\n"
    "      --log FILE        the training log stream (one record per epoch)\n"
    "      --help, --version\n"
    "\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73 cannot create, 74 I/O error.\n"
    "See mt-train(1), cxr-tasks(5).\n",
};

#define MAX_INPUTS 64

static void add_path(const char **list, int *n, const char *path, const char *what) {
    if (*n == MAX_INPUTS) cx_usage_error("%s: at most %d", what, MAX_INPUTS);
    list[(*n)++] = path;
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    cx_mt_config cfg;
    cx_mt_config_default(&cfg);
    cx_train_options o = {
        .optim = {.kind = CX_OPTIM_ADAM, .lr = 1e-3, .weight_decay = 1e-4, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
        .epochs = 300, .batch = 128, .seed = 1, .sampler = CX_SAMPLER_RANDOM, .loss_norm = CX_REDUCE_MEAN,
        .monitor = "loss", .patience = 40};
    const char *backbone = NULL, *input = NULL, *weights = NULL, *init = NULL, *arch = "mdmt";
    const char *inits[MAX_INPUTS], *vals[MAX_INPUTS];
    int ninits = 0, nvals = 0, threads = 0;
    const char *m3h_option = NULL, *mdmt_option = NULL;   /* the last option that only one arch takes */
    enum { OPT_TASK = CX_OPT_FIRST_TOOL, OPT_TASKS, OPT_INPUT, OPT_ARCH, OPT_HEAD, OPT_HEAD_DROPOUT, OPT_WEIGHTS,
           OPT_INIT, OPT_INIT_AVERAGE, OPT_OPTIM, OPT_LR, OPT_WD, OPT_BETA1, OPT_BETA2, OPT_EPOCHS, OPT_WARMUP,
           OPT_BATCH, OPT_SEED, OPT_THREADS, OPT_SAMPLER, OPT_LOSS_NORM, OPT_CLASS_WEIGHTS, OPT_VAL, OPT_MONITOR,
           OPT_PATIENCE, OPT_STATE, OPT_CKPT_STEPS, OPT_MAX_STEPS, OPT_RESUME, OPT_LOG, OPT_HIDDEN, OPT_PROJ_DIM,
           OPT_SHARED_DIM, OPT_TASK_DIM, OPT_LATENT_DIM, OPT_ALPHA, OPT_DROPOUT, OPT_CONTRASTIVE };
    static const struct option longopts[] = {
        {"task", required_argument, 0, OPT_TASK}, {"tasks", required_argument, 0, OPT_TASKS},
        {"backbone", required_argument, 0, 'b'}, {"input", required_argument, 0, OPT_INPUT},
        {"arch", required_argument, 0, OPT_ARCH}, {"head", required_argument, 0, OPT_HEAD},
        {"head-dropout", required_argument, 0, OPT_HEAD_DROPOUT}, {"weights", required_argument, 0, OPT_WEIGHTS},
        {"init", required_argument, 0, OPT_INIT}, {"init-average", required_argument, 0, OPT_INIT_AVERAGE},
        {"optim", required_argument, 0, OPT_OPTIM}, {"lr", required_argument, 0, OPT_LR},
        {"weight-decay", required_argument, 0, OPT_WD}, {"beta1", required_argument, 0, OPT_BETA1},
        {"beta2", required_argument, 0, OPT_BETA2}, {"epochs", required_argument, 0, OPT_EPOCHS},
        {"warmup", required_argument, 0, OPT_WARMUP}, {"batch", required_argument, 0, OPT_BATCH},
        {"seed", required_argument, 0, OPT_SEED}, {"threads", required_argument, 0, OPT_THREADS},
        {"sampler", required_argument, 0, OPT_SAMPLER}, {"loss-norm", required_argument, 0, OPT_LOSS_NORM},
        {"class-weights", required_argument, 0, OPT_CLASS_WEIGHTS}, {"val", required_argument, 0, OPT_VAL},
        {"monitor", required_argument, 0, OPT_MONITOR}, {"patience", required_argument, 0, OPT_PATIENCE},
        {"output", required_argument, 0, 'o'}, {"state", required_argument, 0, OPT_STATE},
        {"checkpoint-steps", required_argument, 0, OPT_CKPT_STEPS}, {"max-steps", required_argument, 0, OPT_MAX_STEPS},
        {"resume", no_argument, 0, OPT_RESUME}, {"log", required_argument, 0, OPT_LOG},
        {"hidden", required_argument, 0, OPT_HIDDEN}, {"proj-dim", required_argument, 0, OPT_PROJ_DIM},
        {"shared-dim", required_argument, 0, OPT_SHARED_DIM}, {"task-dim", required_argument, 0, OPT_TASK_DIM},
        {"latent-dim", required_argument, 0, OPT_LATENT_DIM}, {"alpha", required_argument, 0, OPT_ALPHA},
        {"dropout", required_argument, 0, OPT_DROPOUT}, {"contrastive-weight", required_argument, 0, OPT_CONTRASTIVE},
        CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "b:o:", longopts)) != -1) {
        switch (c) {
        case OPT_TASK:
            if (cfg.ntasks == CX_MAX_TASKS) cx_usage_error("--task: at most %d tasks", CX_MAX_TASKS);
            if (cx_task_parse(optarg, &cfg.tasks[cfg.ntasks])) cx_usage_error("--task: %s", cx_errmsg());
            cfg.ntasks++;
            break;
        case OPT_TASKS:
            if (cx_tasks_read(optarg, cfg.tasks, &cfg.ntasks, CX_MAX_TASKS)) {
                if (cx_errcode() == EX_USAGE) cx_usage_error("--tasks: %s", cx_errmsg());
                cx_die();
            }
            break;
        case 'b': backbone = optarg; break;
        case OPT_INPUT: input = optarg; break;
        case OPT_ARCH: arch = optarg; break;
        case OPT_HEAD:
            if (cx_head_kind_parse(optarg, &cfg.head)) cx_usage_error("--head: '%s' is not mlp or linear", optarg);
            mdmt_option = "--head";
            break;
        case OPT_HEAD_DROPOUT:
            cfg.head_dropout = cx_opt_double("--head-dropout", optarg, 0, 0.999);
            mdmt_option = "--head-dropout";
            break;
        case OPT_HIDDEN: cfg.m3h.hidden = (int)cx_opt_int(m3h_option = "--hidden", optarg, 1, 1 << 16); break;
        case OPT_PROJ_DIM: cfg.m3h.proj_dim = (int)cx_opt_int(m3h_option = "--proj-dim", optarg, 1, 1 << 16); break;
        case OPT_SHARED_DIM: cfg.m3h.shared_dim = (int)cx_opt_int(m3h_option = "--shared-dim", optarg, 1, 1 << 16); break;
        case OPT_TASK_DIM: cfg.m3h.task_dim = (int)cx_opt_int(m3h_option = "--task-dim", optarg, 1, 1 << 16); break;
        case OPT_LATENT_DIM: cfg.latent_dim = (int)cx_opt_int(m3h_option = "--latent-dim", optarg, 1, 1 << 16); break;
        case OPT_ALPHA: cfg.m3h.alpha = cx_opt_double(m3h_option = "--alpha", optarg, -1000, 1000); break;
        case OPT_DROPOUT: cfg.m3h.dropout = cx_opt_double(m3h_option = "--dropout", optarg, 0, 0.999); break;
        case OPT_CONTRASTIVE:
            cfg.contrastive_weight = cx_opt_double(m3h_option = "--contrastive-weight", optarg, 0, 1e6);
            break;
        case OPT_WEIGHTS: weights = optarg; break;
        case OPT_INIT: init = optarg; break;
        case OPT_INIT_AVERAGE: add_path(inits, &ninits, optarg, "--init-average"); break;
        case OPT_OPTIM:
            if (cx_optim_kind_parse(optarg, &o.optim.kind) || o.optim.kind == CX_OPTIM_SGD)
                cx_usage_error("--optim: '%s' is not adam or adamw", optarg);
            break;
        case OPT_LR: o.optim.lr = cx_opt_double("--lr", optarg, 0, 10); break;
        case OPT_WD: o.optim.weight_decay = cx_opt_double("--weight-decay", optarg, 0, 10); break;
        case OPT_BETA1: o.optim.beta1 = cx_opt_double("--beta1", optarg, 0, 0.999999); break;
        case OPT_BETA2: o.optim.beta2 = cx_opt_double("--beta2", optarg, 0, 0.999999); break;
        case OPT_EPOCHS: o.epochs = cx_opt_int("--epochs", optarg, 1, 1000000); break;
        case OPT_WARMUP: o.warmup = cx_opt_int("--warmup", optarg, 0, 1000000); break;
        case OPT_BATCH: o.batch = (int)cx_opt_int("--batch", optarg, 1, 65536); break;
        case OPT_SEED: o.seed = (uint64_t)cx_opt_int("--seed", optarg, 0, INT64_MAX); break;
        case OPT_THREADS: threads = (int)cx_opt_int("--threads", optarg, 0, 1024); break;
        case OPT_SAMPLER:
            if (!strcmp(optarg, "random")) o.sampler = CX_SAMPLER_RANDOM;
            else if (!strcmp(optarg, "balanced")) o.sampler = CX_SAMPLER_BALANCED;
            else cx_usage_error("--sampler: '%s' is not random or balanced", optarg);
            break;
        case OPT_LOSS_NORM:
            if (!strcmp(optarg, "task-mean")) o.loss_norm = CX_REDUCE_MEAN;
            else if (!strcmp(optarg, "batch-sum")) o.loss_norm = CX_REDUCE_SUM;
            else cx_usage_error("--loss-norm: '%s' is not task-mean or batch-sum", optarg);
            break;
        case OPT_CLASS_WEIGHTS:
            if (!strcmp(optarg, "none")) o.balanced_class_weights = false;
            else if (!strcmp(optarg, "balanced")) o.balanced_class_weights = true;
            else cx_usage_error("--class-weights: '%s' is not none or balanced", optarg);
            break;
        case OPT_VAL: add_path(vals, &nvals, optarg, "--val"); break;
        case OPT_MONITOR: o.monitor = optarg; break;
        case OPT_PATIENCE: o.patience = (int)cx_opt_int("--patience", optarg, 0, 1000000); break;
        case 'o': o.best_path = optarg; break;
        case OPT_STATE: o.state_path = optarg; break;
        case OPT_CKPT_STEPS: o.checkpoint_steps = cx_opt_int("--checkpoint-steps", optarg, 1, INT64_MAX); break;
        case OPT_MAX_STEPS: o.max_steps = cx_opt_int("--max-steps", optarg, 1, INT64_MAX); break;
        case OPT_RESUME: o.resume = true; break;
        case OPT_LOG: o.log_path = optarg; break;
        }
    }
    if (!strcmp(arch, "m3h")) cfg.arch = CX_ARCH_M3H;
    else if (strcmp(arch, "mdmt")) cx_usage_error("--arch: '%s' is not mdmt or m3h", arch);
    if (!cfg.ntasks) cx_usage_error("give at least one --task or --tasks FILE");
    if (cfg.arch == CX_ARCH_M3H) {
        if (backbone) cx_usage_error("--arch m3h takes embeddings (--input TENSOR[,TENSOR...]), not --backbone");
        if (weights || init || ninits) cx_usage_error("--arch m3h: --weights, --init and --init-average are for mdmt");
        if (mdmt_option) cx_usage_error("%s: only for --arch mdmt", mdmt_option);
        cx_tasks_m3h_losses(cfg.tasks, cfg.ntasks);
    } else {
        if (m3h_option) cx_usage_error("%s: only for --arch m3h", m3h_option);
        for (int t = 0; t < cfg.ntasks; t++)
            if (cfg.tasks[t].kind == CX_TASK_CLUSTERING)
                cx_usage_error("task %s: clustering tasks need --arch m3h", cfg.tasks[t].name);
    }
    if (cx_tasks_check(cfg.tasks, cfg.ntasks)) cx_usage_error("%s", cx_errmsg());
    if (!!backbone + !!input != 1) cx_usage_error("give one of --backbone NAME (crops) or --input TENSORS (embeddings)");
    if (weights && !backbone) cx_usage_error("--weights needs --backbone");
    if (!!weights + !!init + !!ninits > 1) cx_usage_error("give at most one of --weights, --init, --init-average");
    if (!o.best_path) cx_usage_error("--output BEST.cxs is required");
    if (o.resume && !o.state_path) cx_usage_error("--resume needs --state FILE");
    if ((o.max_steps || o.checkpoint_steps) && !o.state_path) cx_usage_error("--max-steps and --checkpoint-steps need --state FILE");
    if (optind == argc) cx_usage_error("no input stream");
    if (argc - optind > MAX_INPUTS) cx_usage_error("at most %d input streams", MAX_INPUTS);
    if (backbone) {
        snprintf(cfg.backbone, sizeof cfg.backbone, "%s", backbone);
        if (!cx_backbone_find(backbone)) cx_usage_error("%s", cx_errmsg());
    } else {
        if (strlen(input) >= sizeof cfg.input) cx_usage_error("--input: too long");
        int names = 1;
        for (const char *p = input; *p; p++) names += *p == ',';
        if (names > CX_TRAIN_MAX_PARTS) cx_usage_error("--input: at most %d tensors", CX_TRAIN_MAX_PARTS);
        snprintf(cfg.input, sizeof cfg.input, "%s", input);
    }
    cx_nn_set_threads(threads);
    o.progress = true;

    cx_mt_data train, val;
    if (cx_mt_data_load(&train, (const char *const *)argv + optind, argc - optind, cfg.input, cfg.tasks, cfg.ntasks))
        cx_die();
    if (nvals && cx_mt_data_load(&val, vals, nvals, cfg.input, cfg.tasks, cfg.ntasks)) cx_die();
    if (backbone) {
        if (train.ndim != 3 || (train.shape[0] != 1 && train.shape[0] != 3) || train.shape[1] != train.shape[2])
            cx_fatal(EX_DATAERR, "%s: tensors.image: not a crop [C, S, S] with C 1 or 3", argv[optind]);
        cfg.channels = (int)train.shape[0];
        cfg.size = (int)train.shape[1];
    } else {
        cfg.in_dim = (int)train.numel;
    }
    if (cfg.arch == CX_ARCH_M3H && cx_mt_config_m3h(&cfg, &train)) cx_usage_error("%s", cx_errmsg());
    for (int p = 0; nvals && p < train.nparts; p++)
        if (val.part_numel[p] != train.part_numel[p])
            cx_fatal(EX_DATAERR, "%s: input tensor %d has %lld values per record, in the training inputs %lld", vals[0],
                     p + 1, (long long)val.part_numel[p], (long long)train.part_numel[p]);
    for (int t = 0; t < cfg.ntasks; t++)
        if (cfg.tasks[t].kind != CX_TASK_CLUSTERING && !cx_mt_data_labelled(&train, t))
            cx_fatal(EX_DATAERR, "no training record has a label for task %s (meta.%s)", cfg.tasks[t].name, cfg.tasks[t].field);

    cx_mt_model model;
    if (cx_mt_model_build(&model, &cfg, o.batch)) cx_die();
    if (cx_graph_plan(model.g, CX_MODE_TRAIN)) cx_die();
    cx_graph_init(model.g, o.seed);
    cx_mt_model_init_bias(&model, &train);
    if (weights) {
        const cx_backbone *b = cx_backbone_find(backbone);
        const char *skip[] = {b->classifier, "heads.", NULL};
        cx_weights_options wo = {.skip_prefixes = skip, .allow_unexpected = false, .sum_rgb_filters = cfg.channels == 1};
        if (cx_weights_load(model.g, weights, &wo)) cx_die();
    }
    if (init && cx_mt_model_init_from(&model, &init, 1, false)) cx_die();
    if (ninits && cx_mt_model_init_from(&model, inits, ninits, true)) cx_die();

    /* what a resumed run must share with the run it continues */
    cx_value run = cx_map();
    cx_map_set(&run, "optim", cx_str(cx_optim_kind_name(o.optim.kind)));
    cx_map_set(&run, "lr", cx_float(o.optim.lr));
    cx_map_set(&run, "weight_decay", cx_float(o.optim.weight_decay));
    cx_map_set(&run, "beta1", cx_float(o.optim.beta1));
    cx_map_set(&run, "beta2", cx_float(o.optim.beta2));
    cx_map_set(&run, "epochs", cx_int(o.epochs));
    cx_map_set(&run, "warmup", cx_int(o.warmup));
    cx_map_set(&run, "batch", cx_int(o.batch));
    cx_map_set(&run, "seed", cx_int((int64_t)o.seed));
    cx_map_set(&run, "sampler", cx_str(o.sampler == CX_SAMPLER_RANDOM ? "random" : "balanced"));
    cx_map_set(&run, "loss_norm", cx_str(o.loss_norm == CX_REDUCE_MEAN ? "task-mean" : "batch-sum"));
    cx_map_set(&run, "class_weights", cx_str(o.balanced_class_weights ? "balanced" : "none"));
    cx_map_set(&run, "monitor", cx_str(o.monitor));
    cx_map_set(&run, "patience", cx_int(o.patience));
    cx_map_set(&run, "train_records", cx_int(train.n));
    cx_map_set(&run, "val_records", cx_int(nvals ? val.n : 0));
    cx_value starts = cx_array();
    if (weights) cx_array_push(&starts, cx_str(weights));
    if (init) cx_array_push(&starts, cx_str(init));
    for (int i = 0; i < ninits; i++) cx_array_push(&starts, cx_str(inits[i]));
    cx_map_set(&run, "init", starts);
    cx_map_set(&run, "init_mode", cx_str(weights ? "weights" : init ? "ft" : ninits ? "average" : "random"));

    if (cx_mt_train(&model, &train, nvals ? &val : NULL, &o, &run)) cx_die();   /* a usage error keeps its code 64 */
    cx_value_free(&run);
    cx_mt_model_free(&model);
    cx_mt_data_free(&train);
    if (nvals) cx_mt_data_free(&val);
    return 0;
}
