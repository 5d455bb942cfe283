/* cxr-features: tabular and text features for M3H, fitted on a training stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "features/features.h"
#include "io/stream.h"

static const cx_tool tool = {
    "cxr-features", "fit|apply [options] [STREAM]",
    "Turn metadata fields into M3H modality tensors. 'fit' learns from a TRAINING stream and writes\n"
    "a parameter stream (kind \"features\"); 'apply' adds tensors \"tabular\" f32 [D] and \"text\"\n"
    "f32 [H] to every record of any stream, with the training part's parameters only.\n"
    "\n"
    "  cxr-features fit [--tabular FIELDS] [--text FIELD] [--text-dim H | --vocabulary] -o PARAMS [TRAIN]\n"
    "      --tabular FIELDS  metadata fields, comma-separated, in this order; never name a label\n"
    "                        field: numbers are standardised (training mean and std), strings\n"
    "                        one-hot over the training levels; each field adds a missing indicator,\n"
    "                        and a missing number is imputed with the training mean (z = 0)\n"
    "      --text FIELD      a field of clinical notes: TF-IDF of words and word pairs, sublinear tf,\n"
    "                        smoothed idf, L2-normalised (a stand-in for ClinicalBERT)\n"
    "      --text-dim H      hash the terms into H columns (default 1024)\n"
    "      --vocabulary      one column per training term instead of hashing\n"
    "  -o, --output PARAMS   the parameter stream (required)\n"
    "  cxr-features apply -p PARAMS [-o OUT] [STREAM]\n"
    "  -p, --params PARAMS   the parameters that 'fit' wrote (required)\n"
    "  -o, --output OUT      write here (default: standard output)\n"
    "      --help, --version\n"
    "\n"
    "Inputs default to standard input; outputs appear whole or not at all. See cxr-features(1).\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73 cannot create, 74 I/O error.\n",
};

/* Prefix the recorded error with where it happened, and die. */
static void die_at(const cx_reader *in, const cx_record *rec) {
    cx_err_prefix("%s: record %lld (id \"%s\")", cx_reader_name(in), (long long)rec->index, rec->id);
    cx_die();
}

static int fit(int argc, char **argv) {
    const char *tabular = NULL, *text = NULL, *out = NULL;
    int text_dim = 1024;
    bool vocabulary = false, dim_given = false;
    enum { OPT_TABULAR = CX_OPT_FIRST_TOOL, OPT_TEXT, OPT_TEXT_DIM, OPT_VOCABULARY };
    static const struct option longopts[] = {
        {"tabular", required_argument, 0, OPT_TABULAR}, {"text", required_argument, 0, OPT_TEXT},
        {"text-dim", required_argument, 0, OPT_TEXT_DIM}, {"vocabulary", no_argument, 0, OPT_VOCABULARY},
        {"output", required_argument, 0, 'o'}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "o:", longopts)) != -1) {
        if (c == OPT_TABULAR) tabular = optarg;
        else if (c == OPT_TEXT) text = optarg;
        else if (c == OPT_TEXT_DIM) {
            text_dim = (int)cx_opt_int("--text-dim", optarg, 1, 1 << 24);
            dim_given = true;
        } else if (c == OPT_VOCABULARY) vocabulary = true;
        else if (c == 'o') out = optarg;
    }
    if (!tabular && !text) cx_usage_error("fit: --tabular FIELDS or --text FIELD is required");
    if (!out) cx_usage_error("fit: --output PARAMS is required");
    if (vocabulary && dim_given) cx_usage_error("fit: --vocabulary and --text-dim exclude each other");
    if ((vocabulary || dim_given) && !text) cx_usage_error("fit: --text-dim and --vocabulary need --text");
    if (argc - optind > 1) cx_usage_error("fit: one training stream at most");
    cx_features *f = cx_features_new(tabular, text, vocabulary ? 0 : text_dim);
    if (!f) cx_usage_error("fit: %s", cx_errmsg());
    cx_reader *in = cx_reader_open(optind < argc ? argv[optind] : "-");
    if (!in) cx_die();
    cx_record rec;
    cx_record_init(&rec);
    int rc;
    while ((rc = cx_reader_next(in, &rec)) == 1)
        if (cx_features_fit_add(f, &rec)) die_at(in, &rec);
    if (rc < 0) cx_die();
    if (cx_features_fit_finish(f)) {
        cx_err_prefix("%s", cx_reader_name(in));
        cx_die();
    }
    if (cx_features_save(f, out, cx_reader_header(in))) cx_die();
    cx_record_free(&rec);
    cx_reader_close(in);
    cx_features_free(f);
    return 0;
}

static int apply(int argc, char **argv) {
    const char *params = NULL, *out = "-";
    static const struct option longopts[] = {
        {"params", required_argument, 0, 'p'}, {"output", required_argument, 0, 'o'}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "p:o:", longopts)) != -1) {
        if (c == 'p') params = optarg;
        else if (c == 'o') out = optarg;
    }
    if (!params) cx_usage_error("apply: --params PARAMS is required");
    if (argc - optind > 1) cx_usage_error("apply: one input stream at most");
    cx_features *f = cx_features_load(params);
    if (!f) cx_die();
    cx_reader *in = cx_reader_open(optind < argc ? argv[optind] : "-");
    if (!in) cx_die();
    cx_value header = cx_header_new(cx_header_kind(cx_reader_header(in)));
    cx_header_add_input(&header, cx_reader_header(in));
    cx_header_add_input(&header, cx_features_header(f));
    cx_value info = cx_map();
    cx_map_set(&info, "params", cx_str(params));
    cx_map_set(&info, "tabular", cx_int(cx_features_tabular_width(f)));
    cx_map_set(&info, "text", cx_int(cx_features_text_width(f)));
    cx_map_set(&header, "features", info);
    cx_writer *w = cx_writer_open(out, &header);
    if (!w) cx_die();
    cx_record rec;
    cx_record_init(&rec);
    int rc;
    while ((rc = cx_reader_next(in, &rec)) == 1) {
        if (cx_features_apply(f, &rec)) die_at(in, &rec);
        if (cx_writer_put(w, &rec)) cx_die();
    }
    if (rc < 0 || cx_writer_close(w)) cx_die();   /* a failed output is removed at exit */
    cx_record_free(&rec);
    cx_reader_close(in);
    cx_value_free(&header);
    cx_features_free(f);
    return 0;
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    if (argc > 1 && !strcmp(argv[1], "fit")) return fit(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "apply")) return apply(argc - 1, argv + 1);
    if (argc > 1 && argv[1][0] != '-') cx_usage_error("unknown step '%s' (fit or apply)", argv[1]);
    static const struct option longopts[] = {CX_STD_OPTIONS, {0, 0, 0, 0}};
    while (cx_getopt(argc, argv, "", longopts) != -1) {
    }
    cx_usage_error("a step is required: fit or apply");
}
