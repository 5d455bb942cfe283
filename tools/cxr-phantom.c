/* cxr-phantom: write a stream of synthetic chest X-rays with masks and labels. */
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "data/phantom.h"
#include "io/stream.h"

static const cx_tool tool = {
    "cxr-phantom", "[options] [-o FILE]",
    "Write a cxr-mtl stream (kind \"image\") of synthetic frontal chest X-rays with exact lung masks,\n"
    "Brixia zone scores, a prognosis label, clinical fields and a note. Record i depends only on\n"
    "the options and i: the same options give the same bytes.\n"
    "\n"
    "  -o, --output FILE      write here (default: standard output); written whole or not at all\n"
    "      --seed N           random seed (default 1)\n"
    "      --size WxH | N     image size, each side 64..1024 (default 128)\n"
    "      --bits 8|16        pixel depth (default 8)\n"
    "      --patients N       patients per data set, 1..1000000 (default 60)\n"
    "      --centers N        acquisition centers, 6..26 (default 6)\n"
    "      --dataset D        prognosis, brixia or both (default both, from disjoint patients)\n"
    "      --all-labels       every record carries every label (default: its data set's own)\n"
    "      --count N          write only the first N records\n"
    "      --help, --version\n"
    "\n"
    "Exit status: 0 ok, 64 usage, 73 cannot create, 74 I/O error.\n",
};

static void parse_size(const char *text, cx_phantom_config *cfg) {
    const char *x = strchr(text, 'x');
    if (!x) {
        cfg->width = cfg->height = (int)cx_opt_int("--size", text, 64, 1024);
        return;
    }
    char width[32];
    size_t n = (size_t)(x - text);
    if (n == 0 || n >= sizeof width) cx_usage_error("--size: '%s' is not WxH or N", text);
    memcpy(width, text, n);
    width[n] = 0;
    cfg->width = (int)cx_opt_int("--size", width, 64, 1024);
    cfg->height = (int)cx_opt_int("--size", x + 1, 64, 1024);
}

static cx_value config_value(const cx_phantom_config *cfg) {
    static const char *const datasets[] = {"", "prognosis", "brixia", "both"};
    cx_value v = cx_map();
    cx_map_set(&v, "seed", cx_int((int64_t)cfg->seed));
    cx_map_set(&v, "width", cx_int(cfg->width));
    cx_map_set(&v, "height", cx_int(cfg->height));
    cx_map_set(&v, "bits", cx_int(cfg->bits));
    cx_map_set(&v, "patients", cx_int(cfg->patients));
    cx_map_set(&v, "centers", cx_int(cfg->centers));
    cx_map_set(&v, "dataset", cx_str(datasets[cfg->datasets]));
    cx_map_set(&v, "all_labels", cx_bool(cfg->all_labels));
    return v;
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    cx_phantom_config cfg;
    cx_phantom_defaults(&cfg);
    const char *out = "-";
    int64_t count = -1;
    enum { OPT_SEED = CX_OPT_FIRST_TOOL, OPT_SIZE, OPT_BITS, OPT_PATIENTS, OPT_CENTERS, OPT_DATASET, OPT_ALL, OPT_COUNT };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"seed", required_argument, 0, OPT_SEED},
        {"size", required_argument, 0, OPT_SIZE}, {"bits", required_argument, 0, OPT_BITS},
        {"patients", required_argument, 0, OPT_PATIENTS}, {"centers", required_argument, 0, OPT_CENTERS},
        {"dataset", required_argument, 0, OPT_DATASET}, {"all-labels", no_argument, 0, OPT_ALL},
        {"count", required_argument, 0, OPT_COUNT}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "o:", longopts)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case OPT_SEED: cfg.seed = (uint64_t)cx_opt_int("--seed", optarg, 0, INT64_MAX); break;
        case OPT_SIZE: parse_size(optarg, &cfg); break;
        case OPT_BITS:
            cfg.bits = (int)cx_opt_int("--bits", optarg, 8, 16);
            if (cfg.bits != 8 && cfg.bits != 16) cx_usage_error("--bits: %d is neither 8 nor 16", cfg.bits);
            break;
        case OPT_PATIENTS: cfg.patients = (int)cx_opt_int("--patients", optarg, 1, 1000000); break;
        case OPT_CENTERS: cfg.centers = (int)cx_opt_int("--centers", optarg, 6, 26); break;
        case OPT_DATASET:
            if (!strcmp(optarg, "prognosis")) cfg.datasets = CX_PHANTOM_PROGNOSIS;
            else if (!strcmp(optarg, "brixia")) cfg.datasets = CX_PHANTOM_BRIXIA;
            else if (!strcmp(optarg, "both")) cfg.datasets = CX_PHANTOM_BOTH;
            else cx_usage_error("--dataset: '%s' is not prognosis, brixia or both", optarg);
            break;
        case OPT_ALL: cfg.all_labels = 1; break;
        case OPT_COUNT: count = cx_opt_int("--count", optarg, 0, INT64_MAX); break;
        }
    }
    if (optind < argc) cx_usage_error("unexpected argument '%s'", argv[optind]);
    cx_phantom *ph = cx_phantom_new(&cfg);
    if (!ph) cx_die();
    size_t n = cx_phantom_count(ph);
    if (count >= 0 && (size_t)count < n) n = (size_t)count;

    cx_value header = cx_header_new("image");
    cx_map_set(&header, "phantom", config_value(&cfg));
    cx_writer *w = cx_writer_open(out, &header);
    if (!w) cx_die();
    cx_record rec;
    cx_record_init(&rec);
    cx_progress progress;
    cx_progress_start(&progress, "images", (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        if (cx_phantom_record(ph, i, &rec) || cx_writer_put(w, &rec)) cx_die();
        cx_progress_step(&progress, 1);
    }
    cx_progress_end(&progress);
    if (cx_writer_close(w)) cx_die();
    cx_record_free(&rec);
    cx_value_free(&header);
    cx_phantom_free(ph);
    return 0;
}
