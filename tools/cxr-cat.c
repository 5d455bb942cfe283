/* cxr-cat: concatenate streams into one. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "io/stream.h"

static const cx_tool tool = {
    "cxr-cat", "[options] STREAM... [-o OUT]",
    "Concatenate cxr-mtl streams (records in order, file by file) into one stream. The output\n"
    "header records every input's header as provenance. '-' reads standard input.\n"
    "\n"
    "  -o, --output FILE  write here (default: standard output); written whole or not at all\n"
    "  -k, --kind KIND    the output's kind (default: the inputs' kind, which must agree)\n"
    "      --help, --version\n"
    "\n"
    "Exit status: 0 ok, 64 usage, 65 bad data (including inputs of different kinds), 66 no input,\n"
    "73 cannot create, 74 I/O error. See cxr-cat(1).\n",
};

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *out = "-", *kind = NULL;
    bool forced = false;
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"kind", required_argument, 0, 'k'}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "o:k:", longopts)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'k') kind = optarg, forced = true;
    }
    if (optind == argc) cx_usage_error("no input streams");
    int n = argc - optind;
    /* Open every input first: the header must list them all before the first record is written. */
    cx_reader **in = cx_calloc((size_t)n, sizeof *in);
    for (int i = 0; i < n; i++) {
        in[i] = cx_reader_open(argv[optind + i]);
        if (!in[i]) cx_die();
        const char *k = cx_header_kind(cx_reader_header(in[i]));
        if (!kind) kind = k;
        else if (!forced && strcmp(k, kind))
            cx_fatal(EX_DATAERR, "%s: kind \"%s\" differs from \"%s\" (use --kind to force one)", cx_reader_name(in[i]), k, kind);
    }
    cx_value header = cx_header_new(kind);
    for (int i = 0; i < n; i++) cx_header_add_input(&header, cx_reader_header(in[i]));
    cx_writer *w = cx_writer_open(out, &header);
    if (!w) cx_die();
    cx_record rec;
    cx_record_init(&rec);
    for (int i = 0; i < n; i++) {
        int rc;
        while ((rc = cx_reader_next(in[i], &rec)) == 1)
            if (cx_writer_put(w, &rec)) cx_die();
        if (rc < 0) cx_die();
        cx_reader_close(in[i]);
    }
    if (cx_writer_close(w)) cx_die();
    cx_record_free(&rec);
    cx_value_free(&header);
    free(in);
    return 0;
}
