/* cxr-model: describe a model of the registry and check weights against it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/tensor.h"
#include "models/backbone.h"
#include "models/unet.h"
#include "nn/graph.h"
#include "nn/nn.h"
#include "nn/weights.h"

static const cx_tool tool = {
    "cxr-model", "[options]",
    "Describe a model: its layers, parameter and buffer names (state_dict keys), and memory plan;\n"
    "check that a safetensors weights file loads into it, or write initial weights.\n"
    "\n"
    "      --list-backbones  the backbones every tool accepts, with feature sizes and parameters\n"
    "  -b, --backbone NAME   the backbone to describe\n"
    "      --unet PRESET     a lung U-Net preset instead (lung-unet-4l, lung-unet-small)\n"
    "      --input CxHxW     the input (default 3x224x224; a U-Net 1x256x256); C is 1 or 3\n"
    "      --batch N         the batch the plan is made for (default 1)\n"
    "      --classes N       also build the backbone's own classifier with N classes (default 0)\n"
    "      --train           plan for training (default: inference)\n"
    "      --plan            print the memory plan (parameters, activations, workspace)\n"
    "      --layers          print every op with its output shape\n"
    "      --keys            print every parameter and buffer name with its shape\n"
    "  -w, --weights FILE    load FILE (safetensors) strictly: a missing, unexpected or mis-shaped\n"
    "                        key is an error naming it\n"
    "      --skip PREFIX     leave keys starting with PREFIX alone when loading (repeatable)\n"
    "      --sum-rgb         load RGB first-layer filters into a 1-channel model by summing them\n"
    "      --save FILE       write the model's weights (initialised, or as loaded) to FILE\n"
    "      --seed N          initialisation seed (default 0)\n"
    "      --help, --version\n"
    "\n"
    "Exit status: 0 ok, 64 usage (an unknown backbone names the known ones), 65 bad weights,\n"
    "66 no such file, 73 cannot create. See cxr-model(1).\n",
};

static void parse_input(const char *text, int64_t shape[3]) {
    long long c, h, w;
    char tail;
    if (sscanf(text, "%lldx%lldx%lld%c", &c, &h, &w, &tail) != 3 || (c != 1 && c != 3) || h < 1 || w < 1 ||
        h > 8192 || w > 8192)
        cx_usage_error("--input: '%s' is not CxHxW with C 1 or 3", text);
    shape[0] = c, shape[1] = h, shape[2] = w;
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *backbone = NULL, *unet = NULL, *weights = NULL, *save = NULL;
    const char *skips[64];
    int nskips = 0;
    int64_t input[3] = {0, 0, 0};
    int batch = 1, classes = 0;
    uint64_t seed = 0;
    bool list = false, train = false, plan = false, layers = false, keys = false, sum_rgb = false;
    enum { OPT_LIST = CX_OPT_FIRST_TOOL, OPT_UNET, OPT_INPUT, OPT_BATCH, OPT_CLASSES, OPT_TRAIN, OPT_PLAN, OPT_LAYERS,
           OPT_KEYS, OPT_SKIP, OPT_SUM_RGB, OPT_SAVE, OPT_SEED };
    static const struct option longopts[] = {
        {"list-backbones", no_argument, 0, OPT_LIST}, {"backbone", required_argument, 0, 'b'},
        {"unet", required_argument, 0, OPT_UNET}, {"input", required_argument, 0, OPT_INPUT},
        {"batch", required_argument, 0, OPT_BATCH}, {"classes", required_argument, 0, OPT_CLASSES},
        {"train", no_argument, 0, OPT_TRAIN}, {"plan", no_argument, 0, OPT_PLAN}, {"layers", no_argument, 0, OPT_LAYERS},
        {"keys", no_argument, 0, OPT_KEYS}, {"weights", required_argument, 0, 'w'}, {"skip", required_argument, 0, OPT_SKIP},
        {"sum-rgb", no_argument, 0, OPT_SUM_RGB}, {"save", required_argument, 0, OPT_SAVE},
        {"seed", required_argument, 0, OPT_SEED}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "b:w:", longopts)) != -1) {
        switch (c) {
        case OPT_LIST: list = true; break;
        case 'b': backbone = optarg; break;
        case OPT_UNET: unet = optarg; break;
        case OPT_INPUT: parse_input(optarg, input); break;
        case OPT_BATCH: batch = (int)cx_opt_int("--batch", optarg, 1, 4096); break;
        case OPT_CLASSES: classes = (int)cx_opt_int("--classes", optarg, 0, 1 << 20); break;
        case OPT_TRAIN: train = true; break;
        case OPT_PLAN: plan = true; break;
        case OPT_LAYERS: layers = true; break;
        case OPT_KEYS: keys = true; break;
        case 'w': weights = optarg; break;
        case OPT_SKIP:
            if (nskips == 63) cx_usage_error("--skip: at most 63 prefixes");
            skips[nskips++] = optarg;
            break;
        case OPT_SUM_RGB: sum_rgb = true; break;
        case OPT_SAVE: save = optarg; break;
        case OPT_SEED: seed = (uint64_t)cx_opt_int("--seed", optarg, 0, INT64_MAX); break;
        }
    }
    skips[nskips] = NULL;
    if (optind < argc) cx_usage_error("unexpected argument '%s'", argv[optind]);
    if (list) {
        cx_backbone_list(stdout);
        if (!backbone && !unet) return 0;
    }
    if (!!backbone + !!unet != 1) cx_usage_error("give one of --backbone NAME or --unet PRESET");

    cx_graph *g = cx_graph_new(batch);
    cx_var out;
    if (backbone) {
        const cx_backbone *b = cx_backbone_find(backbone);
        if (!b) cx_usage_error("%s", cx_errmsg());
        if (!input[0]) input[0] = 3, input[1] = input[2] = 224;
        if (input[1] < b->min_input || input[2] < b->min_input)
            cx_usage_error("--input: %s takes inputs of at least %dx%d", b->name, b->min_input, b->min_input);
        cx_var x = cx_graph_input(g, "input", 3, input, false);
        cx_backbone_options opt = {.num_classes = classes, .drop_rate = -1};
        cx_backbone_outputs o;
        if (b->build(g, x, &opt, &o) || !cx_graph_ok(g)) cx_die();
        out = classes ? o.logits : o.features;
    } else {
        cx_unet_config cfg;
        if (cx_unet_preset(unet, &cfg)) cx_usage_error("%s", cx_errmsg());
        if (!input[0]) input[0] = 1, input[1] = input[2] = 256;
        cx_var x = cx_graph_input(g, "input", 3, input, false);
        out = cx_unet_build(g, x, &cfg);
        if (out < 0 || !cx_graph_ok(g)) cx_die();
    }
    cx_graph_output(g, out);
    cx_nn_set_threads(1);
    if (cx_graph_plan(g, train ? CX_MODE_TRAIN : CX_MODE_EVAL)) cx_die();
    cx_graph_init(g, seed);
    if (weights) {
        cx_weights_options wo = {.skip_prefixes = skips, .sum_rgb_filters = sum_rgb};
        if (cx_weights_load(g, weights, &wo)) cx_die();
    }

    int64_t nparams = 0;
    for (int i = 0; i < cx_graph_state_count(g); i++) {
        cx_var v = cx_graph_state_var(g, i);
        if (cx_graph_kind(g, v) == CX_VAR_PARAM) nparams += cx_graph_numel(g, v);
        if (keys) {
            char shape[160];
            cx_shape_format(shape, sizeof shape, cx_graph_ndim(g, v), cx_graph_shape(g, v));
            printf("%s %s\n", cx_graph_name(g, v), shape);
        }
    }
    char oshape[160];
    cx_shape_format(oshape, sizeof oshape, cx_graph_ndim(g, out), cx_graph_shape(g, out));
    if (!keys) printf("%s: input %lldx%lldx%lld, output %s, %lld parameters%s%s\n", backbone ? backbone : unet,
                      (long long)input[0], (long long)input[1], (long long)input[2], oshape, (long long)nparams,
                      weights ? ", weights from " : "", weights ? weights : "");
    if (plan || layers) cx_graph_print_plan(g, stdout, layers);
    if (save) {
        cx_value meta = cx_map();
        cx_map_set(&meta, "model", cx_str(backbone ? backbone : unet));
        cx_map_set(&meta, "producer", cx_str("cxr-model " CX_VERSION));
        if (cx_weights_save(g, save, &meta)) cx_die();
        cx_value_free(&meta);
    }
    cx_graph_free(g);
    return 0;
}
