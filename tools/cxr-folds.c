/* cxr-folds: add a cross-validation fold to every record (stratified group k-fold or
 * leave-one-center-out). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include "core/cli.h"
#include "core/error.h"
#include "data/folds.h"
#include "io/outfile.h"
#include "io/spool.h"
#include "io/stream.h"

static const cx_tool tool = {
    "cxr-folds", "[-k N --stratify FIELDS --group FIELD --seed N | --by FIELD] [-o OUT] [STREAM]",
    "Add the metadata field 'fold' (0..k-1) to every record of a cxr-mtl stream: stratified k-fold\n"
    "grouped by patient (one patient is never in two folds), or leave-one-center-out (--by).\n"
    "The input is read twice (standard input or a pipe is first copied to a temporary file).\n"
    "\n"
    "  -k, --folds N          number of folds (default 5)\n"
    "  -s, --stratify FIELDS  comma list of label fields; their joint value is the class to balance\n"
    "                         (an absent label is a value of its own)\n"
    "  -g, --group FIELD      records sharing FIELD share a fold (e.g. patient; default: none)\n"
    "      --seed N           seed for the order of tied groups (default 1)\n"
    "  -b, --by FIELD         leave-one-center-out: one fold per value of FIELD (e.g. center), in\n"
    "                         sorted order; -k is then the number of values\n"
    "      --missing-center VALUE  the --by value of records without FIELD (default: an error)\n"
    "  -o, --output FILE      write here (default: standard output); written whole or not at all\n"
    "      --summary FILE     write the fold summary (TSV) to FILE instead of standard error\n"
    "  -q, --quiet            no summary\n"
    "      --help, --version\n"
    "\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73 cannot create, 74 I/O error.\n",
};

static cx_reader *rewind_and_open(int fd, const char *name) {
    if (lseek(fd, 0, SEEK_SET) < 0) cx_fatal(EX_IOERR, "%s: cannot seek: %s", name, strerror(errno));
    cx_reader *in = cx_reader_open_fd(fd, name);
    if (!in) cx_die();
    return in;
}

static void die_at_record(const cx_reader *in, const cx_record *rec) {
    cx_err_prefix("%s: record %lld (id \"%s\")", cx_reader_name(in), (long long)rec->index, rec->id);
    cx_die();
}

static cx_value string_list(const char *list) {
    cx_value arr = cx_array();
    char *copy = cx_strdup(list), *save = NULL;
    for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) cx_array_push(&arr, cx_str(name));
    free(copy);
    return arr;
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    cx_fold_spec spec = {0};
    const char *output = "-", *summary = NULL, *k_text = NULL;
    int k = 5;
    uint64_t seed = 1;
    bool quiet = false;
    enum { OPT_SEED = CX_OPT_FIRST_TOOL, OPT_MISSING_CENTER, OPT_SUMMARY };
    static const struct option longopts[] = {
        {"folds", required_argument, 0, 'k'},  {"stratify", required_argument, 0, 's'},
        {"group", required_argument, 0, 'g'},  {"seed", required_argument, 0, OPT_SEED},
        {"by", required_argument, 0, 'b'},     {"missing-center", required_argument, 0, OPT_MISSING_CENTER},
        {"output", required_argument, 0, 'o'}, {"summary", required_argument, 0, OPT_SUMMARY},
        {"quiet", no_argument, 0, 'q'},        CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "k:s:g:b:o:q", longopts)) != -1) {
        if (c == 'k') k_text = optarg;
        else if (c == 's') spec.stratify = optarg;
        else if (c == 'g') spec.group = optarg;
        else if (c == OPT_SEED) seed = (uint64_t)cx_opt_int("--seed", optarg, 0, INT64_MAX);
        else if (c == 'b') spec.center = optarg;
        else if (c == OPT_MISSING_CENTER) spec.missing_center = optarg;
        else if (c == 'o') output = optarg;
        else if (c == OPT_SUMMARY) summary = optarg;
        else if (c == 'q') quiet = true;
    }
    if (k_text && spec.center) cx_usage_error("-k and --by exclude each other (--by makes one fold per value)");
    if (k_text) k = (int)cx_opt_int("-k", k_text, 2, 1000000);
    if (spec.missing_center && !spec.center) cx_usage_error("--missing-center needs --by FIELD");
    if (spec.stratify && (!*spec.stratify || strstr(spec.stratify, ",,") || spec.stratify[0] == ',' ||
                          spec.stratify[strlen(spec.stratify) - 1] == ','))
        cx_usage_error("--stratify: an empty field name in '%s'", spec.stratify);
    if (quiet && summary) cx_usage_error("--quiet and --summary exclude each other");
    if (argc - optind > 1) cx_usage_error("one input stream at most");
    const char *path = optind < argc ? argv[optind] : "-";

    /* the input as a file descriptor that can be read twice */
    const char *name = strcmp(path, "-") ? path : "standard input";
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
    if (fd < 0) cx_fatal(errno == ENOENT || errno == EACCES ? EX_NOINPUT : EX_IOERR, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || lseek(fd, 0, SEEK_CUR) < 0) {
        int spooled = cx_spool_fd(fd, name);   /* a pipe cannot be read twice */
        if (spooled < 0) cx_die();
        if (fd != STDIN_FILENO) close(fd);
        fd = spooled;
    }

    /* pass 1: groups, classes and centers only */
    cx_fold_table table;
    cx_fold_table_init(&table, &spec);
    cx_reader *in = rewind_and_open(fd, name);
    cx_record rec;
    cx_record_init(&rec);
    int rc;
    while ((rc = cx_reader_next(in, &rec)) == 1)
        if (cx_fold_table_add(&table, &rec.meta)) die_at_record(in, &rec);
    if (rc < 0) cx_die();
    cx_reader_close(in);

    int *fold_of_group = cx_malloc((size_t)(table.ngroups ? table.ngroups : 1) * sizeof *fold_of_group);
    cx_value folds_info = cx_map();
    if (spec.center) {
        k = cx_folds_by_center(&table, fold_of_group);
        if (k < 0) {
            cx_err_prefix("%s", name);
            cx_die();
        }
        const char **centers = cx_malloc((size_t)k * sizeof *centers);
        cx_folds_center_names(&table, centers);
        cx_value list = cx_array();
        for (int f = 0; f < k; f++) cx_array_push(&list, cx_str(centers[f]));
        free(centers);
        cx_map_set(&folds_info, "method", cx_str("leave-one-center-out"));
        cx_map_set(&folds_info, "by", cx_str(spec.center));
        cx_map_set(&folds_info, "k", cx_int(k));
        cx_map_set(&folds_info, "fold_centers", list);
    } else {
        int64_t *counts = cx_fold_table_group_counts(&table);
        if (cx_folds_stratified(counts, table.ngroups, table.classes.n, k, true, seed, fold_of_group)) {
            cx_err_prefix("%s", name);
            cx_die();
        }
        free(counts);
        cx_map_set(&folds_info, "method", cx_str("stratified-group-kfold"));
        cx_map_set(&folds_info, "k", cx_int(k));
        cx_map_set(&folds_info, "seed", cx_int((int64_t)seed));
    }
    cx_map_set(&folds_info, "stratify", spec.stratify ? string_list(spec.stratify) : cx_array());
    cx_map_set(&folds_info, "group", spec.group ? cx_str(spec.group) : cx_nil());

    /* pass 2: copy every record with its fold */
    in = rewind_and_open(fd, name);
    cx_value header = cx_header_new(cx_header_kind(cx_reader_header(in)));
    cx_header_add_input(&header, cx_reader_header(in));
    cx_map_set(&header, "folds", folds_info);
    cx_writer *out = cx_writer_open(output, &header);
    if (!out) cx_die();
    while ((rc = cx_reader_next(in, &rec)) == 1) {
        if (rec.index >= table.nrecords)
            cx_fatal(EX_DATAERR, "%s: record %lld: the input changed while it was read", name, (long long)rec.index);
        cx_map_set(&rec.meta, "fold", cx_int(fold_of_group[table.record_group[rec.index]]));
        if (cx_writer_put(out, &rec)) cx_die();
    }
    if (rc < 0) cx_die();
    if (cx_reader_count(in) != table.nrecords)
        cx_fatal(EX_DATAERR, "%s: the input changed while it was read (%lld records, then %lld)", name,
                 (long long)table.nrecords, (long long)cx_reader_count(in));
    cx_reader_close(in);

    if (summary) {
        cx_outfile *o = cx_outfile_open(summary);
        if (!o) cx_die();
        cx_folds_summary(cx_outfile_fp(o), &table, k, fold_of_group);
        if (cx_writer_close(out) || cx_outfile_commit(o)) cx_die();
    } else {
        if (cx_writer_close(out)) cx_die();
        if (!quiet) cx_folds_summary(stderr, &table, k, fold_of_group);
    }
    close(fd);
    cx_record_free(&rec);
    cx_value_free(&header);
    cx_fold_table_free(&table);
    free(fold_of_group);
    return 0;
}
