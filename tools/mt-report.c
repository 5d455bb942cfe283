/* mt-report: the MDMT paper's Table 1, or a bar chart per backbone, from a summary stream. */
#include <stdio.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "eval/report.h"
#include "io/outfile.h"
#include "io/stream.h"

static const cx_tool tool = {
    "mt-report", "[options] [SUMMARY.cxs]",
    "Read a summary stream (mt-summary -o: per backbone, experiment, protocol and task, the mean\n"
    "and std over folds of each metric; standard input when none is named) and write the MDMT\n"
    "paper's Table 1 in Markdown: per experiment and protocol, the mean over backbones of the\n"
    "fold means, in percent. With --plot, write instead a gnuplot script that draws, per protocol\n"
    "and metric, a bar per backbone and experiment with the fold std as a whisker.\n"
    "\n"
    "  -o, --output FILE     write here (whole or not at all) instead of standard output\n"
    "  -m, --metrics LIST    the metrics, comma-separated (default acc,f1,gmean)\n"
    "      --task NAME       the task reported (default: the only task in the input)\n"
    "      --plot PNG        write a gnuplot script drawing PNG (gnuplot -e \"png='X.png'\" SCRIPT\n"
    "                        draws X.png instead)\n"
    "      --help, --version\n"
    "\n"
    "Table 1 shows \"-\" where no backbone has a value and \"*\" after a mean over fewer backbones\n"
    "than the table has.\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73 cannot create, 74 I/O error.\n",
};

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *output = "-", *metrics = NULL, *task = NULL, *png = NULL;
    enum { OPT_TASK = CX_OPT_FIRST_TOOL, OPT_PLOT };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"metrics", required_argument, 0, 'm'},
        {"task", required_argument, 0, OPT_TASK}, {"plot", required_argument, 0, OPT_PLOT},
        CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "o:m:", longopts)) != -1) {
        if (c == 'o') output = optarg;
        else if (c == 'm') metrics = optarg;
        else if (c == OPT_TASK) task = optarg;
        else if (c == OPT_PLOT) png = optarg;
    }
    if (argc - optind > 1) cx_usage_error("one summary stream at most");
    if (png && !*png) cx_usage_error("--plot: empty file name");
    cx_report r;
    if (cx_report_init(&r, task, metrics)) cx_die();

    cx_reader *in = cx_reader_open(optind < argc ? argv[optind] : "-");
    if (!in) cx_die();
    const char *kind = cx_header_kind(cx_reader_header(in));
    if (!kind || strcmp(kind, "summary"))
        cx_fatal(EX_DATAERR, "%s: header: kind: \"%s\", not a summary stream (mt-summary -o)", cx_reader_name(in),
                 kind ? kind : "");
    cx_record rec;
    cx_record_init(&rec);
    int rc;
    while ((rc = cx_reader_next(in, &rec)) == 1)
        if (cx_report_add(&r, &rec, cx_reader_name(in))) cx_die();
    if (rc < 0) cx_die();
    if (cx_report_finish(&r)) cx_die();

    cx_outfile *out = cx_outfile_open(output);
    if (!out) cx_die();
    if (png) cx_report_bars(&r, cx_outfile_fp(out), png);
    else cx_report_table1(&r, cx_outfile_fp(out));
    if (cx_outfile_commit(out)) cx_die();
    cx_record_free(&rec);
    cx_reader_close(in);
    cx_report_free(&r);
    return 0;
}
