/* cxr-select: keep the records of a stream that match, optionally editing metadata and tensors. */
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "io/select.h"
#include "io/stream.h"

static const cx_tool tool = {
    "cxr-select", "[options] [STREAM] [-o OUT]",
    "Copy the records of a cxr-mtl stream that match every given condition (standard input when\n"
    "STREAM is absent or '-').\n"
    "\n"
    "  -o, --output FILE      write here (default: standard output); written whole or not at all\n"
    "      --id ID            records with this id (repeatable: any of them)\n"
    "      --ids-from FILE    records whose id is a line of FILE\n"
    "      --index RANGE      records at positions N, A-B or A- (0-based; repeatable)\n"
    "      --has FIELD        records whose metadata has FIELD, not null (repeatable: all)\n"
    "  -w, --where F=V        records whose FIELD equals VALUE (numbers compare as numbers; F!=V\n"
    "                         for inequality; an empty V means absent) (repeatable: all)\n"
    "  -v, --invert           keep the records that do NOT match\n"
    "      --set F=V          set metadata FIELD to VALUE in every kept record (repeatable)\n"
    "      --unset FIELD      remove a metadata field (repeatable)\n"
    "      --keep-tensors L   keep only these tensors (comma-separated names)\n"
    "      --drop-tensors L   remove these tensors (comma-separated names)\n"
    "      --help, --version\n"
    "\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73 cannot create, 74 I/O error.\n",
};

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *out = "-", *keep = NULL, *drop = NULL;
    cx_selection sel;
    cx_selection_init(&sel);
    cx_value set = cx_map(), unset = cx_array();
    enum { OPT_ID = CX_OPT_FIRST_TOOL, OPT_IDS_FROM, OPT_INDEX, OPT_HAS, OPT_SET, OPT_UNSET, OPT_KEEP, OPT_DROP };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"id", required_argument, 0, OPT_ID},
        {"ids-from", required_argument, 0, OPT_IDS_FROM}, {"index", required_argument, 0, OPT_INDEX},
        {"has", required_argument, 0, OPT_HAS}, {"where", required_argument, 0, 'w'},
        {"invert", no_argument, 0, 'v'}, {"set", required_argument, 0, OPT_SET},
        {"unset", required_argument, 0, OPT_UNSET}, {"keep-tensors", required_argument, 0, OPT_KEEP},
        {"drop-tensors", required_argument, 0, OPT_DROP}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "o:w:v", longopts)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case OPT_ID: cx_selection_add_id(&sel, optarg); break;
        case OPT_IDS_FROM: if (cx_selection_add_ids_from(&sel, optarg)) cx_die(); break;
        case OPT_INDEX: if (cx_selection_add_index(&sel, optarg)) cx_usage_error("--index: %s", cx_errmsg()); break;
        case OPT_HAS: cx_selection_add_has(&sel, optarg); break;
        case 'w': if (cx_selection_add_where(&sel, optarg)) cx_usage_error("--where: %s", cx_errmsg()); break;
        case 'v': sel.invert = true; break;
        case OPT_SET: {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) cx_usage_error("--set: '%s' is not FIELD=VALUE", optarg);
            *eq = 0;
            cx_map_set(&set, optarg, cx_value_parse_scalar(eq + 1));
            break;
        }
        case OPT_UNSET: cx_array_push(&unset, cx_str(optarg)); break;
        case OPT_KEEP: keep = optarg; break;
        case OPT_DROP: drop = optarg; break;
        }
    }
    if (argc - optind > 1) cx_usage_error("one input stream at most (use cxr-cat to join streams)");
    cx_reader *in = cx_reader_open(optind < argc ? argv[optind] : "-");
    if (!in) cx_die();
    cx_value header = cx_header_new(cx_header_kind(cx_reader_header(in)));
    cx_header_add_input(&header, cx_reader_header(in));
    cx_writer *w = cx_writer_open(out, &header);
    if (!w) cx_die();
    cx_record rec;
    cx_record_init(&rec);
    int rc;
    while ((rc = cx_reader_next(in, &rec)) == 1) {
        if (!cx_selection_match(&sel, &rec)) continue;
        for (size_t i = 0; i < set.u.map.n; i++) cx_map_set(&rec.meta, set.u.map.keys[i], cx_value_copy(&set.u.map.vals[i]));
        for (size_t i = 0; i < unset.u.arr.n; i++) cx_map_del(&rec.meta, unset.u.arr.items[i].u.s);
        for (size_t i = rec.ntensors; i-- > 0;) {
            const char *name = rec.tensors[i].name;
            if ((keep && !cx_in_list(keep, name)) || (drop && cx_in_list(drop, name))) cx_record_remove_tensor(&rec, name);
        }
        if (cx_writer_put(w, &rec)) cx_die();
    }
    if (rc < 0) cx_die();
    if (cx_writer_close(w)) cx_die();
    cx_reader_close(in);
    cx_record_free(&rec);
    cx_value_free(&header);
    cx_value_free(&set);
    cx_value_free(&unset);
    cx_selection_free(&sel);
    return 0;
}
