/* stat-ttest: t-tests and the Wilcoxon signed-rank test between two sets of runs, per metric. */
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "io/outfile.h"
#include "io/select.h"
#include "stats/compare.h"

static const cx_tool tool = {
    "stat-ttest", "-c FIELD=A,B -k COLUMNS [options] [FILE]",
    "Compare two sets of runs on numeric columns: paired, Welch's or Student's t-test, or the\n"
    "Wilcoxon signed-rank test, one- or two-tailed, with exact p-values, degrees of freedom, the\n"
    "mean difference a - b with its confidence interval, Cohen's d and stars (* p < 0.05,\n"
    "** p < 0.01, *** p < 0.001). FILE is a metrics or summary stream (record metadata are the\n"
    "fields) or a TSV/CSV table with a header row; standard input when absent or '-'.\n"
    "\n"
    "  -c, --compare FIELD=A,B  side a: rows whose FIELD is A; side b: FIELD is B (repeatable:\n"
    "                           each comparison is answered)\n"
    "  -k, --column LIST[:ALT]  numeric columns to compare, comma-separated, with the alternative\n"
    "                           for this group (repeatable: e.g. -k acc_mean,f1_mean:greater\n"
    "                           -k acc_std,f1_std:less)\n"
    "  -p, --pair-by LIST       pair rows of a and b by these key fields (e.g. backbone); needed\n"
    "                           by the paired tests, checked for every test when given\n"
    "  -t, --test LIST          paired, welch, student, wilcoxon, or several, comma-separated\n"
    "                           (default paired)\n"
    "  -a, --alternative ALT    two-sided (default), greater (a > b) or less (a < b)\n"
    "  -w, --where F=V          use only rows whose field F is V (F!=V: is not) (repeatable: all)\n"
    "      --confidence X       level of the confidence interval (default 0.95)\n"
    "      --drop-unpaired      drop keys found on one side only and rows without the column,\n"
    "                           with a warning (default: an error naming the key)\n"
    "  -f, --format FMT         text (default), tsv (every number, one line per answer) or\n"
    "                           markdown (the MDMT paper's Table 2 block: p-values with stars)\n"
    "      --table              the same as --format markdown\n"
    "  -o, --output FILE        write here (default: standard output); written whole or not at all\n"
    "      --help, --version\n"
    "\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73 cannot create, 74 I/O error.\n",
};

#define MAX_ITEMS 64

typedef struct { char *field, *a, *b; } comparison;
typedef struct { char *columns[MAX_ITEMS]; int n; cx_alternative alternative; } column_group;

/* Split a comma list (modified in place) into at most MAX_ITEMS non-empty items; -1 on an empty one. */
static int split_list(char *list, char **items) {
    int n = 0;
    for (char *p = list;; p++) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (!*p || n == MAX_ITEMS) return -1;
        items[n++] = p;
        if (!comma) return n;
        p = comma;
    }
}

static comparison parse_compare(const char *text) {
    char *copy = cx_strdup(text), *eq = strchr(copy, '='), *items[MAX_ITEMS];
    if (!eq || eq == copy || split_list(eq + 1, items) != 2)
        cx_usage_error("--compare: '%s' is not FIELD=A,B", text);
    *eq = 0;
    return (comparison){copy, items[0], items[1]};
}

static column_group parse_columns(const char *text, cx_alternative fallback) {
    column_group g = {.alternative = fallback};
    char *copy = cx_strdup(text), *colon = strrchr(copy, ':');
    if (colon) {
        int alt = cx_alternative_parse(colon + 1);
        if (alt < 0) cx_usage_error("--column: '%s' is not an alternative (two-sided, greater, less)", colon + 1);
        g.alternative = alt;
        *colon = 0;
    }
    if ((g.n = split_list(copy, g.columns)) < 0) cx_usage_error("--column: '%s' is not a list of columns", text);
    return g;
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *out = "-", *pair_by = NULL, *format = "text";
    char *test_list = cx_strdup("paired"), *column_texts[MAX_ITEMS];
    comparison comparisons[MAX_ITEMS];
    int ncomparisons = 0, ngroups = 0;
    cx_alternative alternative = CX_ALT_TWO_SIDED;
    double confidence = 0.95;
    bool drop_unpaired = false;
    cx_selection sel;
    cx_selection_init(&sel);
    enum { OPT_CONFIDENCE = CX_OPT_FIRST_TOOL, OPT_DROP, OPT_TABLE };
    static const struct option longopts[] = {
        {"compare", required_argument, 0, 'c'}, {"column", required_argument, 0, 'k'},
        {"pair-by", required_argument, 0, 'p'}, {"test", required_argument, 0, 't'},
        {"alternative", required_argument, 0, 'a'}, {"where", required_argument, 0, 'w'},
        {"confidence", required_argument, 0, OPT_CONFIDENCE}, {"drop-unpaired", no_argument, 0, OPT_DROP},
        {"format", required_argument, 0, 'f'}, {"table", no_argument, 0, OPT_TABLE},
        {"output", required_argument, 0, 'o'}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "c:k:p:t:a:w:f:o:", longopts)) != -1) {
        switch (c) {
        case 'c':
            if (ncomparisons == MAX_ITEMS) cx_usage_error("--compare: at most %d", MAX_ITEMS);
            comparisons[ncomparisons++] = parse_compare(optarg);
            break;
        case 'k':
            if (ngroups == MAX_ITEMS) cx_usage_error("--column: at most %d", MAX_ITEMS);
            column_texts[ngroups++] = optarg;
            break;
        case 'p': pair_by = optarg; break;
        case 't':
            free(test_list);
            test_list = cx_strdup(optarg);
            break;
        case 'a': {
            int alt = cx_alternative_parse(optarg);
            if (alt < 0) cx_usage_error("--alternative: '%s' is not two-sided, greater or less", optarg);
            alternative = alt;
            break;
        }
        case 'w': if (cx_selection_add_where(&sel, optarg)) cx_usage_error("--where: %s", cx_errmsg()); break;
        case OPT_CONFIDENCE: confidence = cx_opt_double("--confidence", optarg, 1e-9, 1 - 1e-9); break;
        case OPT_DROP: drop_unpaired = true; break;
        case 'f': format = optarg; break;
        case OPT_TABLE: format = "markdown"; break;
        case 'o': out = optarg; break;
        }
    }
    if (strcmp(format, "text") && strcmp(format, "tsv") && strcmp(format, "markdown"))
        cx_usage_error("--format: '%s' is not text, tsv or markdown", format);
    if (!ncomparisons) cx_usage_error("--compare FIELD=A,B is required");
    if (!ngroups) cx_usage_error("--column COLUMNS is required");
    if (argc - optind > 1) cx_usage_error("one input at most");
    char *test_names[MAX_ITEMS];
    int ntests = split_list(test_list, test_names);
    if (ntests < 0) cx_usage_error("--test: '%s' is not a list of tests", test_list);
    cx_test_kind tests[MAX_ITEMS];
    for (int k = 0; k < ntests; k++) {
        int test = cx_test_parse(test_names[k]);
        if (test < 0) cx_usage_error("--test: '%s' is not paired, welch, student or wilcoxon", test_names[k]);
        if ((test == CX_TEST_PAIRED || test == CX_TEST_WILCOXON) && !pair_by)
            cx_usage_error("the %s test needs --pair-by FIELD (the key that pairs a row of a with one of b)",
                           test_names[k]);
        tests[k] = test;
    }
    column_group groups[MAX_ITEMS];
    for (int g = 0; g < ngroups; g++) groups[g] = parse_columns(column_texts[g], alternative);

    cx_run_table table;
    if (cx_run_table_read(optind < argc ? argv[optind] : "-", &sel, &table)) cx_die();
    size_t nanswers = 0, cap = 0;
    cx_answer *answers = NULL;
    for (int k = 0; k < ntests; k++)
        for (int g = 0; g < ngroups; g++)
            for (int cmp = 0; cmp < ncomparisons; cmp++)
                for (int i = 0; i < groups[g].n; i++) {
                    cx_question q = {comparisons[cmp].field, comparisons[cmp].a, comparisons[cmp].b,
                                     groups[g].columns[i], tests[k], groups[g].alternative, confidence, pair_by,
                                     drop_unpaired, (k * ngroups + g) * ncomparisons + cmp, i};
                    if (nanswers == cap) answers = cx_realloc(answers, (cap = cap ? 2 * cap : 16) * sizeof *answers);
                    if (cx_answer_question(&table, &q, &answers[nanswers])) cx_die();
                    for (size_t d = 0; d < answers[nanswers].ndropped; d++)
                        cx_warn("%s: %s: dropped %s", table.name, q.column, answers[nanswers].dropped[d]);
                    nanswers++;
                }

    cx_outfile *o = cx_outfile_open(out);
    if (!o) cx_die();
    FILE *f = cx_outfile_fp(o);
    if (!strcmp(format, "tsv")) cx_answers_write_tsv(f, answers, nanswers);
    else if (!strcmp(format, "markdown")) cx_answers_write_markdown(f, answers, nanswers);
    else cx_answers_write_text(f, answers, nanswers);
    if (cx_outfile_commit(o)) cx_die();

    for (size_t i = 0; i < nanswers; i++) cx_answer_free(&answers[i]);
    free(answers);
    cx_run_table_free(&table);
    for (int g = 0; g < ngroups; g++) free(groups[g].columns[0]);
    for (int cmp = 0; cmp < ncomparisons; cmp++) free(comparisons[cmp].field);
    free(test_list);
    cx_selection_free(&sel);
    return 0;
}
