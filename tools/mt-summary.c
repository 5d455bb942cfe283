/* mt-summary: mean and standard deviation over folds of the metrics of many runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "eval/summary.h"
#include "io/outfile.h"
#include "io/stream.h"

static const cx_tool tool = {
    "mt-summary", "[options] [METRICS.cxs...]",
    "Read metrics streams (mt-eval -o; standard input when none is named), group their records\n"
    "by meta fields, and give per group and metric the mean and the sample standard deviation\n"
    "(ddof 1) over the group's records, the folds. A metric that is null in a fold is left out\n"
    "of that fold's mean and std. Writes a summary stream and/or prints a table.\n"
    "\n"
    "  -o, --output FILE     the summary stream (kind \"summary\"): one record per group\n"
    "  -b, --by LIST         grouping fields (default backbone,experiment,protocol,task)\n"
    "  -m, --metrics LIST    metrics to summarize, required in every record (default: those of\n"
    "                        each record's kind: acc,f1,gmean,auroc | mae,r2 | silhouette)\n"
    "  -l, --list FILE       read the input paths from FILE, one a line ('#' comments)\n"
    "  -t, --table FORMAT    print a table: tsv, markdown or none (default tsv; none with -o)\n"
    "      --layout LAYOUT   flat (a row per group, default) or s1 (the MDMT paper's Table S1:\n"
    "                        a row per backbone and experiment, a column group per protocol,\n"
    "                        cells mean(std) in percent; metrics from -m or acc,f1,gmean)\n"
    "      --task NAME       the task of the s1 table (default: the only one)\n"
    "      --fold-field F    a value of F seen twice in one group is an error (default fold;\n"
    "                        '' for no check)\n"
    "      --folds-by F      groups with the same value of F (a --by field) should have as\n"
    "                        many folds (default protocol: cv has k, loco one per center)\n"
    "      --help, --version\n"
    "\n"
    "Tables show \"-\" for a missing group or an undefined value, and \"*\" after a group whose\n"
    "fold count differs from the most common one among groups of its --folds-by value (also\n"
    "warned about on standard error).\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73 cannot create, 74 I/O error.\n",
};

typedef struct { char **path; int n; } path_list;

static void add_path(path_list *p, const char *path) {
    p->path = cx_realloc(p->path, sizeof *p->path * (size_t)(p->n + 1));
    p->path[p->n++] = cx_strdup(path);
}

static void read_list_file(path_list *p, const char *file) {
    FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
    if (!f) cx_fatal(EX_NOINPUT, "%s: cannot open", file);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = 0;
        char *start = line + strspn(line, " \t");
        if (*start && *start != '#') add_path(p, start);
    }
    free(line);
    if (f != stdin) fclose(f);
}

/* Every record of one metrics stream into the summary; the header joins the provenance. */
static void read_metrics(cx_summary *s, const char *path, cx_value *header) {
    cx_reader *in = cx_reader_open(path);
    if (!in) cx_die();
    const char *kind = cx_header_kind(cx_reader_header(in));
    if (!kind || strcmp(kind, "metrics"))
        cx_fatal(EX_DATAERR, "%s: header: kind: \"%s\", not a metrics stream", cx_reader_name(in), kind ? kind : "");
    cx_header_add_input(header, cx_reader_header(in));
    cx_record rec;
    cx_record_init(&rec);
    int rc;
    while ((rc = cx_reader_next(in, &rec)) == 1)
        if (cx_summary_add(s, &rec, cx_reader_name(in))) cx_die();
    if (rc < 0) cx_die();
    cx_record_free(&rec);
    cx_reader_close(in);
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *output = NULL, *by = "backbone,experiment,protocol,task", *metrics = NULL, *table = NULL;
    const char *layout = "flat", *task = NULL, *fold_field = "fold", *folds_by = "protocol";
    path_list inputs = {0};
    enum { OPT_LAYOUT = CX_OPT_FIRST_TOOL, OPT_TASK, OPT_FOLD_FIELD, OPT_FOLDS_BY };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},     {"by", required_argument, 0, 'b'},
        {"metrics", required_argument, 0, 'm'},    {"list", required_argument, 0, 'l'},
        {"table", required_argument, 0, 't'},      {"layout", required_argument, 0, OPT_LAYOUT},
        {"task", required_argument, 0, OPT_TASK},  {"fold-field", required_argument, 0, OPT_FOLD_FIELD},
        {"folds-by", required_argument, 0, OPT_FOLDS_BY}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "o:b:m:l:t:", longopts)) != -1) {
        if (c == 'o') output = optarg;
        else if (c == 'b') by = optarg;
        else if (c == 'm') metrics = optarg;
        else if (c == 'l') read_list_file(&inputs, optarg);
        else if (c == 't') table = optarg;
        else if (c == OPT_LAYOUT) layout = optarg;
        else if (c == OPT_TASK) task = optarg;
        else if (c == OPT_FOLD_FIELD) fold_field = optarg;
        else if (c == OPT_FOLDS_BY) folds_by = optarg;
    }
    if (!table) table = output ? "none" : "tsv";
    if (strcmp(table, "tsv") && strcmp(table, "markdown") && strcmp(table, "none"))
        cx_usage_error("--table: '%s' is not tsv, markdown or none", table);
    if (strcmp(layout, "flat") && strcmp(layout, "s1")) cx_usage_error("--layout: '%s' is not flat or s1", layout);
    bool s1 = !strcmp(layout, "s1");
    if (s1 && !strcmp(table, "none")) cx_usage_error("--layout s1 prints a table: drop --table none");
    if (task && !s1) cx_usage_error("--task goes with --layout s1");
    for (int i = optind; i < argc; i++) add_path(&inputs, argv[i]);
    if (inputs.n == 0) add_path(&inputs, "-");

    cx_summary s;
    if (cx_summary_init(&s, by, s1 ? NULL : metrics, *fold_field ? fold_field : NULL, folds_by))
        cx_usage_error("%s", cx_errmsg());
    if (s1 && !cx_summary_has_s1_fields(&s))
        cx_usage_error("--layout s1 needs backbone, experiment, protocol and task among the --by fields");
    cx_value header = cx_header_new("summary");
    for (int i = 0; i < inputs.n; i++) read_metrics(&s, inputs.path[i], &header);
    if (s.ngroups == 0) cx_fatal(EX_DATAERR, "no metrics records in the input");
    cx_summary_finish(&s);
    for (int i = 0; i < s.ngroups; i++)
        if (s.groups[i].n_folds != s.groups[i].expected_folds)
            cx_warn("group %s has %d folds, most comparable groups have %d", s.groups[i].id, s.groups[i].n_folds,
                    s.groups[i].expected_folds);

    cx_writer *w = NULL;
    if (output) {
        cx_value by_fields = cx_array();
        for (int b = 0; b < s.nby; b++) cx_array_push(&by_fields, cx_str(s.by[b]));
        cx_map_set(&header, "summary_by", by_fields);
        cx_map_set(&header, "summary_std", cx_str("sample standard deviation over folds (ddof 1)"));
        w = cx_writer_open(output, &header);
        if (!w || cx_summary_write(&s, w)) cx_die();
    }
    if (strcmp(table, "none")) {
        cx_table_format format = !strcmp(table, "tsv") ? CX_TABLE_TSV : CX_TABLE_MARKDOWN;
        if (s1) {
            int rc = cx_summary_print_s1(&s, stdout, format, task, metrics);
            if (rc == EX_USAGE) cx_usage_error("%s", cx_errmsg());
            if (rc) cx_die();
        } else {
            cx_summary_print_flat(&s, stdout, format);
        }
        if (fflush(stdout) || ferror(stdout)) cx_fatal(EX_IOERR, "standard output: write error");
    }
    /* the stream is committed only once the table, which may still fail, is out */
    if (w && cx_writer_close(w)) cx_die();
    cx_summary_free(&s);
    cx_value_free(&header);
    for (int i = 0; i < inputs.n; i++) free(inputs.path[i]);
    free(inputs.path);
    return 0;
}
