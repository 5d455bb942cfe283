/* mt-roc: ROC curves of a classification task from predictions streams, pooled per curve. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "eval/report.h"
#include "eval/roc.h"
#include "io/outfile.h"
#include "io/stream.h"

static const cx_tool tool = {
    "mt-roc", "--task NAME [options] CURVE=PREDICTIONS.cxs[,PREDICTIONS.cxs...]...",
    "Read predictions streams (mt-eval -p) and give one ROC curve per CURVE, pooling the records\n"
    "of its files (e.g. the test folds of one experiment): the points at every distinct score, as\n"
    "scikit-learn's roc_curve(drop_intermediate=False). The score of a record is its probability\n"
    "of the positive class, tensor <task>_prob [K], column --class; its truth <task>_true ==\n"
    "--class. Records whose <task>_true is absent or null have no label and are skipped.\n"
    "Writes a TSV (curve, fpr, tpr, threshold) or, with --plot, a gnuplot script.\n"
    "\n"
    "      --task NAME       the task (required)\n"
    "      --class C         the positive class (default 1: binary tasks)\n"
    "  -o, --output FILE     write here (whole or not at all) instead of standard output\n"
    "      --plot PNG        write a gnuplot script drawing the curves into PNG, AUC in the key\n"
    "                        (gnuplot -e \"png='X.png'\" SCRIPT draws X.png instead)\n"
    "      --title TEXT      the plot's title\n"
    "      --help, --version\n"
    "\n"
    "File names may not contain commas. A curve needs both classes among its labelled records.\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73 cannot create, 74 I/O error.\n",
};

typedef struct { double *score; bool *positive; int64_t n, cap; } samples;

static void add_sample(samples *s, double score, bool positive) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->score = cx_realloc(s->score, sizeof *s->score * (size_t)s->cap);
        s->positive = cx_realloc(s->positive, sizeof *s->positive * (size_t)s->cap);
    }
    s->score[s->n] = score;
    s->positive[s->n++] = positive;
}

/* The labelled records of one predictions stream into s. */
static void read_predictions(samples *s, const char *path, const char *task, int positive_class) {
    cx_reader *in = cx_reader_open(path);
    if (!in) cx_die();
    const char *name = cx_reader_name(in), *kind = cx_header_kind(cx_reader_header(in));
    if (!kind || strcmp(kind, "predictions"))
        cx_fatal(EX_DATAERR, "%s: header: kind: \"%s\", not a predictions stream (mt-eval -p)", name, kind ? kind : "");
    char true_field[256], prob_field[256];
    snprintf(true_field, sizeof true_field, "%s_true", task);
    snprintf(prob_field, sizeof prob_field, "%s_prob", task);
    cx_record rec;
    cx_record_init(&rec);
    int rc;
    while ((rc = cx_reader_next(in, &rec)) == 1) {
        const cx_value *label = cx_map_get(&rec.meta, true_field);
        if (!label || label->kind == CX_NIL) continue;
        const cx_tensor *prob = cx_record_tensor(&rec, prob_field);
        if (!prob || prob->dtype != CX_F32 || prob->ndim != 1)
            cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.%s: %s", name, (long long)rec.index, rec.id,
                     prob_field, prob ? "not f32 [K]" : "missing");
        int64_t k = prob->shape[0];
        if (label->kind != CX_INT || label->u.i < 0 || label->u.i >= k)
            cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): meta.%s: not a class index 0..%lld", name,
                     (long long)rec.index, rec.id, true_field, (long long)k - 1);
        if (positive_class >= k)
            cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.%s: %lld classes, no class %d", name,
                     (long long)rec.index, rec.id, prob_field, (long long)k, positive_class);
        float score = ((const float *)prob->data)[positive_class];
        if (!isfinite(score))
            cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.%s[%d]: %g is not a finite number", name,
                     (long long)rec.index, rec.id, prob_field, positive_class, score);
        add_sample(s, score, label->u.i == positive_class);
    }
    if (rc < 0) cx_die();
    cx_record_free(&rec);
    cx_reader_close(in);
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *output = "-", *task = NULL, *png = NULL, *title = NULL;
    int positive_class = 1;
    enum { OPT_TASK = CX_OPT_FIRST_TOOL, OPT_CLASS, OPT_PLOT, OPT_TITLE };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"task", required_argument, 0, OPT_TASK},
        {"class", required_argument, 0, OPT_CLASS}, {"plot", required_argument, 0, OPT_PLOT},
        {"title", required_argument, 0, OPT_TITLE}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "o:", longopts)) != -1) {
        if (c == 'o') output = optarg;
        else if (c == OPT_TASK) task = optarg;
        else if (c == OPT_CLASS) positive_class = (int)cx_opt_int("--class", optarg, 0, 1 << 20);
        else if (c == OPT_PLOT) png = optarg;
        else if (c == OPT_TITLE) title = optarg;
    }
    if (!task || !*task) cx_usage_error("--task NAME is required");
    if (png && !*png) cx_usage_error("--plot: empty file name");
    int ncurves = argc - optind;
    if (ncurves < 1) cx_usage_error("no curve: give NAME=FILE[,FILE...]");
    for (int i = optind; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i] || !eq[1]) cx_usage_error("'%s': a curve is NAME=FILE[,FILE...]", argv[i]);
    }

    char **name = cx_calloc((size_t)ncurves, sizeof *name);
    cx_roc *curve = cx_calloc((size_t)ncurves, sizeof *curve);
    for (int i = 0; i < ncurves; i++) {
        const char *arg = argv[optind + i], *eq = strchr(arg, '=');
        name[i] = cx_strdup(arg);
        name[i][eq - arg] = 0;
        samples s = {0};
        char *files = cx_strdup(eq + 1), *save = NULL;
        for (char *path = strtok_r(files, ",", &save); path; path = strtok_r(NULL, ",", &save))
            read_predictions(&s, path, task, positive_class);
        free(files);
        if (cx_roc_curve(s.score, s.positive, s.n, &curve[i])) {
            cx_err_prefix("curve %s: task %s", name[i], task);
            cx_die();
        }
        free(s.score);
        free(s.positive);
    }

    cx_outfile *out = cx_outfile_open(output);
    if (!out) cx_die();
    FILE *f = cx_outfile_fp(out);
    if (png) {
        cx_roc_plot(f, png, title, ncurves, name, curve);
    } else {
        fputs("curve\tfpr\ttpr\tthreshold\n", f);
        for (int i = 0; i < ncurves; i++)
            for (int64_t p = 0; p < curve[i].n; p++)
                fprintf(f, "%s\t%.17g\t%.17g\t%.9g\n", name[i], curve[i].fpr[p], curve[i].tpr[p], curve[i].threshold[p]);
    }
    if (cx_outfile_commit(out)) cx_die();
    for (int i = 0; i < ncurves; i++) {
        free(name[i]);
        cx_roc_free(&curve[i]);
    }
    free(name);
    free(curve);
    return 0;
}
