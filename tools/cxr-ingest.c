/* cxr-ingest: PNG images (and masks, and a CSV of labels) into an image stream. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cli.h"
#include "core/error.h"
#include "io/csv.h"
#include "io/png.h"
#include "io/stream.h"

static const cx_tool tool = {
    "cxr-ingest", "[options] [PNG...] [-o OUT]",
    "Read PNG images into a cxr-mtl image stream: one record per image, its id the file name\n"
    "without .png, tensor \"image\" ([height, width], u8 for 8-bit and u16 for 16-bit files;\n"
    "palette and colour images converted to gray), metadata from a CSV joined on the id.\n"
    "\n"
    "  -o, --output FILE    write here (default: standard output); written whole or not at all\n"
    "  -d, --dir DIR        every *.png in DIR, in name order (after any PNG arguments)\n"
    "      --list FILE      PNG paths, one per line ('-' for standard input)\n"
    "  -l, --labels CSV     metadata: the CSV row whose id column equals the record id\n"
    "                       (repeatable: each CSV joined in turn, a later one's column wins)\n"
    "      --id-column NAME the CSV's id column (default: id)\n"
    "      --columns LIST   only these CSV columns (comma-separated; each must exist)\n"
    "      --require-labels an image with no CSV row is an error (default: a warning; kept)\n"
    "  -m, --mask-dir DIR   add DIR/<id>.png, where it exists, as tensor \"mask\" (u8, nonzero = 1)\n"
    "      --set F=V        add metadata field F=V to every record (repeatable)\n"
    "      --help, --version\n"
    "\n"
    "CSV cells become numbers when they are plain decimal numbers, null when empty, strings\n"
    "otherwise. DICOM: convert first with dcmtk, e.g. 'dcm2pnm +on2 IN.dcm OUT.png' (16-bit PNG);\n"
    "see cxr-ingest(1). Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73, 74.\n",
};

typedef struct { char **items; size_t n, cap; } strlist;

static void push(strlist *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->items = cx_realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n++] = cx_strdup(s);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool has_png_suffix(const char *name) {
    size_t n = strlen(name);
    return n > 4 && !strcasecmp(name + n - 4, ".png");
}

static void add_dir(strlist *paths, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) cx_fatal(EX_NOINPUT, "%s: cannot open directory: %s", dir, strerror(errno));
    strlist names = {0};
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && has_png_suffix(e->d_name)) push(&names, e->d_name);
    closedir(d);
    qsort(names.items, names.n, sizeof *names.items, cmp_str);
    for (size_t i = 0; i < names.n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names.items[i]);
        push(paths, path);
        free(names.items[i]);
    }
    free(names.items);
}

static void add_list(strlist *paths, const char *file) {
    FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
    if (!f) cx_fatal(EX_NOINPUT, "%s: cannot open: %s", file, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (n) push(paths, line);
    }
    free(line);
    if (f != stdin) fclose(f);
}

/* The id: the file name without directory and .png suffix. */
static char *id_of(const char *path) {
    const char *slash = strrchr(path, '/');
    char *id = cx_strdup(slash ? slash + 1 : path);
    if (has_png_suffix(id)) id[strlen(id) - 4] = 0;
    return id;
}

/* One -l CSV: its rows are joined to the images by the id column. */
typedef struct {
    const char *path;
    cx_csv csv;
    long key_col;
} label_table;
#define MAX_LABEL_TABLES 16

/* A --columns name must be a column of some CSV; with one CSV, its own error says so. */
static void check_column(label_table *tables, int ntables, const char *name) {
    for (int t = 0; t < ntables; t++)
        for (size_t col = 0; col < tables[t].csv.ncols; col++)
            if (!strcmp(tables[t].csv.header[col], name)) return;
    if (ntables == 1 && cx_csv_col(&tables[0].csv, name) < 0) cx_die();
    cx_fatal(EX_DATAERR, "--columns: no CSV given with -l has a column '%s'", name);
}

/* The table's row for id, as metadata (all columns but the id, or those of --columns). */
static void join_row(label_table *t, const char *columns, bool require, const char *id,
                     const char *image, cx_value *meta) {
    long row = cx_csv_find(&t->csv, (size_t)t->key_col, id);
    if (row == -2) cx_die();
    if (row < 0) {
        if (require) cx_fatal(EX_DATAERR, "%s: no row for id \"%s\" (image %s)", t->path, id, image);
        cx_warn("%s: no row for id \"%s\"; record kept without labels", t->path, id);
        return;
    }
    for (size_t col = 0; col < t->csv.ncols; col++) {
        if ((long)col == t->key_col || (columns && !cx_in_list(columns, t->csv.header[col]))) continue;
        cx_map_set(meta, t->csv.header[col], cx_value_parse_scalar(cx_csv_cell(&t->csv, (size_t)row, col)));
    }
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *out = "-", *id_column = "id", *columns = NULL, *mask_dir = NULL;
    label_table tables[MAX_LABEL_TABLES];
    int ntables = 0;
    bool require_labels = false;
    strlist paths = {0}, dirs = {0};
    cx_value set = cx_map();
    enum { OPT_LIST = CX_OPT_FIRST_TOOL, OPT_ID_COLUMN, OPT_COLUMNS, OPT_REQUIRE, OPT_SET };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"dir", required_argument, 0, 'd'},
        {"list", required_argument, 0, OPT_LIST}, {"labels", required_argument, 0, 'l'},
        {"id-column", required_argument, 0, OPT_ID_COLUMN}, {"columns", required_argument, 0, OPT_COLUMNS},
        {"require-labels", no_argument, 0, OPT_REQUIRE}, {"mask-dir", required_argument, 0, 'm'},
        {"set", required_argument, 0, OPT_SET}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "o:d:l:m:", longopts)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'd': push(&dirs, optarg); break;
        case OPT_LIST: add_list(&paths, optarg); break;
        case 'l':
            if (ntables == MAX_LABEL_TABLES) cx_usage_error("-l: at most %d CSV files", MAX_LABEL_TABLES);
            tables[ntables++] = (label_table){optarg, {0}, -1};
            break;
        case OPT_ID_COLUMN: id_column = optarg; break;
        case OPT_COLUMNS: columns = optarg; break;
        case OPT_REQUIRE: require_labels = true; break;
        case 'm': mask_dir = optarg; break;
        case OPT_SET: {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) cx_usage_error("--set: '%s' is not FIELD=VALUE", optarg);
            *eq = 0;
            cx_map_set(&set, optarg, cx_value_parse_scalar(eq + 1));
            break;
        }
        }
    }
    for (int i = optind; i < argc; i++) push(&paths, argv[i]);
    for (size_t i = 0; i < dirs.n; i++) add_dir(&paths, dirs.items[i]);
    if (!paths.n) cx_usage_error("no images (give PNG files, --dir or --list)");

    for (int t = 0; t < ntables; t++) {
        if (cx_csv_read(tables[t].path, &tables[t].csv)) cx_die();
        if ((tables[t].key_col = cx_csv_col(&tables[t].csv, id_column)) < 0) cx_die();
    }
    for (const char *p = columns; p && *p;) {
        const char *comma = strchr(p, ',');
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(comma ? comma - p : (long)strlen(p)), p);
        check_column(tables, ntables, name);
        p = comma ? comma + 1 : NULL;
    }

    cx_value header = cx_header_new("image");
    if (ntables == 1) cx_map_set(&header, "labels", cx_str(tables[0].path));
    if (ntables > 1) {
        cx_value paths_value = cx_array();
        for (int t = 0; t < ntables; t++) cx_array_push(&paths_value, cx_str(tables[t].path));
        cx_map_set(&header, "labels", paths_value);
    }
    cx_writer *w = cx_writer_open(out, &header);
    if (!w) cx_die();
    cx_progress progress;
    cx_progress_start(&progress, "images", (int64_t)paths.n);
    cx_record rec;
    cx_record_init(&rec);
    for (size_t i = 0; i < paths.n; i++) {
        char *id = id_of(paths.items[i]);
        cx_record_free(&rec);
        cx_record_set_id(&rec, id);
        cx_tensor image;
        if (cx_png_read(paths.items[i], "image", &image)) cx_die();
        cx_record_take_tensor(&rec, &image);
        if (mask_dir) {
            char mpath[4096];
            struct stat st;
            snprintf(mpath, sizeof mpath, "%s/%s.png", mask_dir, id);
            if (stat(mpath, &st) == 0) {
                cx_tensor mask, mask8;
                if (cx_png_read(mpath, "mask", &mask)) cx_die();
                if (!cx_tensor_same_shape(&mask, cx_record_tensor(&rec, "image")))
                    cx_fatal(EX_DATAERR, "%s: mask size differs from its image %s", mpath, paths.items[i]);
                cx_tensor_init(&mask8, "mask", CX_U8, mask.ndim, mask.shape);
                for (int64_t k = 0; k < cx_tensor_numel(&mask); k++)
                    ((uint8_t *)mask8.data)[k] = cx_tensor_get(&mask, k) > 0;
                cx_tensor_free(&mask);
                cx_record_take_tensor(&rec, &mask8);
            }
        }
        cx_map_set(&rec.meta, "source", cx_str(paths.items[i]));
        for (int t = 0; t < ntables; t++) join_row(&tables[t], columns, require_labels, id, paths.items[i], &rec.meta);
        for (size_t k = 0; k < set.u.map.n; k++) cx_map_set(&rec.meta, set.u.map.keys[k], cx_value_copy(&set.u.map.vals[k]));
        if (cx_writer_put(w, &rec)) cx_die();
        free(id);
        cx_progress_step(&progress, 1);
    }
    cx_progress_end(&progress);
    if (cx_writer_close(w)) cx_die();
    cx_record_free(&rec);
    for (int t = 0; t < ntables; t++) cx_csv_free(&tables[t].csv);
    cx_value_free(&header);
    cx_value_free(&set);
    for (size_t i = 0; i < paths.n; i++) free(paths.items[i]);
    for (size_t i = 0; i < dirs.n; i++) free(dirs.items[i]);
    free(paths.items);
    free(dirs.items);
    return 0;
}
