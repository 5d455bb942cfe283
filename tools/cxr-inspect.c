/* cxr-inspect: show what a stream holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "io/select.h"
#include "io/stream.h"

static const cx_tool tool = {
    "cxr-inspect", "[options] [STREAM...]",
    "Show the header, provenance and records of cxr-mtl streams (standard input when no file or '-').\n"
    "\n"
    "  -H, --header       the header and its provenance only\n"
    "  -c, --count        print the number of records only\n"
    "  -s, --stats        per-tensor statistics: min, max, mean, std, NaN and Inf counts\n"
    "  -j, --json         one JSON object per line (header, records, summary)\n"
    "      --id ID        only the record with this id (repeatable)\n"
    "      --index RANGE  only records at these positions: N, A-B, A- (0-based; repeatable)\n"
    "  -q, --check        read and validate everything, print nothing; the exit status tells\n"
    "      --csv FIELDS   a CSV table instead: a header row, then per record its id and these\n"
    "                     metadata fields (comma-separated; empty when absent)\n"
    "      --help, --version\n"
    "\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 74 I/O error. See cxr-inspect(1).\n",
};

typedef struct {
    bool header_only, count_only, stats, json, check;
    const char *csv_fields;
    cx_selection sel;
} options;

static void print_tensor(const cx_tensor *t, bool stats, bool json) {
    char shape[160];
    cx_shape_format(shape, sizeof shape, t->ndim, t->shape);
    cx_tensor_stats s;
    if (stats) cx_tensor_stats_compute(t, &s);
    if (json) {
        printf("{\"name\":");
        cx_json_string(stdout, t->name);
        printf(",\"dtype\":\"%s\",\"shape\":%s", cx_dtype_name(t->dtype), shape);
        if (stats) {
            cx_value v[4] = {cx_float(s.min), cx_float(s.max), cx_float(s.mean), cx_float(s.std)};
            const char *k[4] = {"min", "max", "mean", "std"};
            for (int i = 0; i < 4; i++) { printf(",\"%s\":", k[i]); cx_value_write_json(stdout, &v[i]); }
            printf(",\"nan\":%lld,\"inf\":%lld", (long long)s.nan, (long long)s.inf);
        }
        printf("}");
    } else {
        printf("  %-16s %-4s %s", t->name, cx_dtype_name(t->dtype), shape);
        if (stats)
            printf("  min %.6g max %.6g mean %.6g std %.6g nan %lld inf %lld", s.min, s.max, s.mean, s.std,
                   (long long)s.nan, (long long)s.inf);
        printf("\n");
    }
}

static void print_record(const cx_record *r, const char *file, const options *o) {
    if (o->json) {
        printf("{\"record\":%lld,\"file\":", (long long)r->index);
        cx_json_string(stdout, file);
        printf(",\"id\":");
        cx_json_string(stdout, r->id);
        printf(",\"meta\":");
        cx_value_write_json(stdout, &r->meta);
        printf(",\"tensors\":[");
        for (size_t i = 0; i < r->ntensors; i++) {
            if (i) printf(",");
            print_tensor(&r->tensors[i], o->stats, true);
        }
        printf("]}\n");
        return;
    }
    printf("[%lld] %s", (long long)r->index, r->id);
    for (size_t i = 0; i < r->meta.u.map.n; i++) {
        printf("  %s=", r->meta.u.map.keys[i]);
        cx_value_write_plain(stdout, &r->meta.u.map.vals[i]);
    }
    printf("\n");
    for (size_t i = 0; i < r->ntensors; i++) print_tensor(&r->tensors[i], o->stats, false);
}

/* Provenance as an indented tree: tool, argv, then each input's own provenance. */
static void print_provenance(const cx_value *h, int depth) {
    const cx_value *producer = cx_map_get(h, "producer"), *inputs = cx_map_get(h, "inputs");
    printf("%*s%s stream from %s %s:", 2 * depth, "", cx_header_kind(h),
           producer ? cx_map_str(producer, "tool", "?") : "?", producer ? cx_map_str(producer, "version", "") : "");
    const cx_value *argv = producer ? cx_map_get(producer, "argv") : NULL;
    if (argv && argv->kind == CX_ARRAY)
        for (size_t i = 0; i < argv->u.arr.n; i++) {
            printf(" ");
            cx_value_write_plain(stdout, &argv->u.arr.items[i]);
        }
    printf("\n");
    for (size_t i = 0; h->kind == CX_MAP && i < h->u.map.n; i++) {
        const char *k = h->u.map.keys[i];
        if (!strcmp(k, "format") || !strcmp(k, "version") || !strcmp(k, "kind") || !strcmp(k, "producer") ||
            !strcmp(k, "inputs"))
            continue;
        printf("%*s  %s: ", 2 * depth, "", k);
        cx_value_write_plain(stdout, &h->u.map.vals[i]);
        printf("\n");
    }
    if (inputs && inputs->kind == CX_ARRAY)
        for (size_t i = 0; i < inputs->u.arr.n; i++) print_provenance(&inputs->u.arr.items[i], depth + 1);
}

/* One CSV cell, quoted as RFC 4180 asks when it holds a comma, quote or line break. */
static void csv_cell(const cx_value *v) {
    char *buf = v && v->kind != CX_NIL ? cx_value_plain_text(v) : cx_strdup("");
    if (strpbrk(buf, ",\"\r\n")) {
        putchar('"');
        for (char *p = buf; *p; p++) {
            if (*p == '"') putchar('"');
            putchar(*p);
        }
        putchar('"');
    } else {
        fputs(buf, stdout);
    }
    free(buf);
}

static void print_csv_row(const cx_record *r, const char *fields) {
    cx_value id = cx_str(r->id);
    csv_cell(&id);
    cx_value_free(&id);
    for (const char *p = fields; p && *p;) {
        const char *comma = strchr(p, ',');
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(comma ? comma - p : (long)strlen(p)), p);
        putchar(',');
        csv_cell(cx_map_get(&r->meta, name));
        p = comma ? comma + 1 : NULL;
    }
    putchar('\n');
}

static int inspect(const char *path, options *o) {
    cx_reader *rd = cx_reader_open(path);
    if (!rd) return -1;
    const char *name = cx_reader_name(rd);
    const cx_value *h = cx_reader_header(rd);
    if (o->csv_fields) {
        printf("id,%s\n", o->csv_fields);
    } else if (o->json && !o->count_only && !o->check) {
        printf("{\"file\":");
        cx_json_string(stdout, name);
        printf(",\"header\":");
        cx_value_write_json(stdout, h);
        printf("}\n");
    } else if (!o->count_only && !o->check) {
        printf("%s: ", name);
        print_provenance(h, 0);
    }
    if (o->header_only) {
        cx_reader_close(rd);
        return 0;
    }
    cx_record rec;
    cx_record_init(&rec);
    int rc;
    int64_t shown = 0;
    while ((rc = cx_reader_next(rd, &rec)) == 1) {
        if (!cx_selection_match(&o->sel, &rec)) continue;
        shown++;
        if (o->csv_fields) print_csv_row(&rec, o->csv_fields);
        else if (!o->count_only && !o->check) print_record(&rec, name, o);
    }
    cx_record_free(&rec);
    if (rc == 0 && !o->csv_fields) {
        if (o->json) {
            printf("{\"file\":");
            cx_json_string(stdout, name);
            printf(",\"records\":%lld,\"selected\":%lld}\n", (long long)cx_reader_count(rd), (long long)shown);
        }
        else if (o->count_only) printf("%lld\n", (long long)shown);
        else if (!o->check) printf("%s: %lld records%s\n", name, (long long)cx_reader_count(rd),
                                   cx_selection_active(&o->sel) ? " (selection shown)" : "");
    }
    cx_reader_close(rd);
    return rc < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    options o = {0};
    cx_selection_init(&o.sel);
    enum { OPT_ID = CX_OPT_FIRST_TOOL, OPT_INDEX, OPT_CSV };
    static const struct option longopts[] = {
        {"header", no_argument, 0, 'H'}, {"count", no_argument, 0, 'c'}, {"stats", no_argument, 0, 's'},
        {"json", no_argument, 0, 'j'}, {"check", no_argument, 0, 'q'}, {"id", required_argument, 0, OPT_ID},
        {"index", required_argument, 0, OPT_INDEX}, {"csv", required_argument, 0, OPT_CSV}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "Hcsjq", longopts)) != -1) {
        switch (c) {
        case 'H': o.header_only = true; break;
        case 'c': o.count_only = true; break;
        case 's': o.stats = true; break;
        case 'j': o.json = true; break;
        case 'q': o.check = true; break;
        case OPT_CSV: o.csv_fields = optarg; break;
        case OPT_ID: cx_selection_add_id(&o.sel, optarg); break;
        case OPT_INDEX:
            if (cx_selection_add_index(&o.sel, optarg)) cx_usage_error("--index: %s", cx_errmsg());
            break;
        }
    }
    char *stdin_only[] = {"-"};
    char **files = optind < argc ? argv + optind : stdin_only;
    int nfiles = optind < argc ? argc - optind : 1;
    for (int i = 0; i < nfiles; i++)
        if (inspect(files[i], &o)) cx_die();
    if (fflush(stdout)) cx_fatal(EX_IOERR, "standard output: write failed");
    cx_selection_free(&o.sel);
    return 0;
}
