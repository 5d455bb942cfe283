/* cxr-split: one output stream per value of a metadata field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "io/stream.h"

static const cx_tool tool = {
    "cxr-split", "--by FIELD -o PATTERN [options] [STREAM]",
    "Split a cxr-mtl stream by the value of a metadata field (fold, center, dataset, ...): each\n"
    "record goes to the stream named by PATTERN with '%s' replaced by the field's value. The\n"
    "outputs appear together when the whole input has been read, or none does.\n"
    "\n"
    "  -b, --by FIELD       the metadata field to split on (required)\n"
    "  -o, --output PATTERN output paths, containing %s once, e.g. 'folds/fold-%s.cxs' (required)\n"
    "      --missing VALUE  the value for records without FIELD (default: such a record is an error)\n"
    "      --help, --version\n"
    "\n"
    "Values become file names: characters other than letters, digits, '.', '_' and '-' turn into '_'.\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73 cannot create, 74 I/O error.\n",
};

#define MAX_PARTS 1000

typedef struct { char *value; cx_writer *w; } part;

/* A value as a file-name part: unsafe characters become '_'. */
static char *file_part(char *buf) {
    for (char *p = buf; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '_' || *p == '-'))
            *p = '_';
    return buf;
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *by = NULL, *pattern = NULL, *missing = NULL;
    enum { OPT_MISSING = CX_OPT_FIRST_TOOL };
    static const struct option longopts[] = {
        {"by", required_argument, 0, 'b'}, {"output", required_argument, 0, 'o'},
        {"missing", required_argument, 0, OPT_MISSING}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "b:o:", longopts)) != -1) {
        if (c == 'b') by = optarg;
        else if (c == 'o') pattern = optarg;
        else if (c == OPT_MISSING) missing = optarg;
    }
    if (!by) cx_usage_error("--by FIELD is required");
    if (!pattern) cx_usage_error("--output PATTERN is required");
    const char *pct = strstr(pattern, "%s");
    if (!pct || strchr(pattern, '%') != pct || strchr(pct + 2, '%'))
        cx_usage_error("--output: PATTERN must contain %%s exactly once and no other %%");
    if (argc - optind > 1) cx_usage_error("one input stream at most");
    cx_reader *in = cx_reader_open(optind < argc ? argv[optind] : "-");
    if (!in) cx_die();
    cx_value header = cx_header_new(cx_header_kind(cx_reader_header(in)));
    cx_header_add_input(&header, cx_reader_header(in));
    cx_map_set(&header, "split_by", cx_str(by));
    part parts[MAX_PARTS];
    int nparts = 0, rc;
    cx_record rec;
    cx_record_init(&rec);
    while ((rc = cx_reader_next(in, &rec)) == 1) {
        const cx_value *v = cx_map_get(&rec.meta, by);
        char *text;
        if (v && v->kind != CX_NIL) text = file_part(cx_value_plain_text(v));
        else if (missing) text = file_part(cx_strdup(missing));
        else cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): meta.%s: missing (use --missing VALUE)",
                      cx_reader_name(in), (long long)rec.index, rec.id, by);
        int k = 0;
        while (k < nparts && strcmp(parts[k].value, text)) k++;
        if (k == nparts) {
            if (nparts == MAX_PARTS) cx_fatal(EX_DATAERR, "%s: more than %d distinct values of %s", cx_reader_name(in), MAX_PARTS, by);
            char path[4096];
            snprintf(path, sizeof path, "%.*s%s%s", (int)(pct - pattern), pattern, text, pct + 2);
            parts[k].value = text;
            parts[k].w = cx_writer_open(path, &header);
            if (!parts[k].w) cx_die();
            nparts++;
        } else {
            free(text);
        }
        if (cx_writer_put(parts[k].w, &rec)) cx_die();
    }
    if (rc < 0) cx_die();   /* every temporary is removed at exit */
    for (int k = 0; k < nparts; k++) {
        if (cx_writer_close(parts[k].w)) cx_die();
        free(parts[k].value);
    }
    cx_reader_close(in);
    cx_record_free(&rec);
    cx_value_free(&header);
    return 0;
}
