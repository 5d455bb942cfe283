/* cxr-topng: tensors of a stream out as PNG files, optionally with a mask laid over. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/error.h"
#include "io/png.h"
#include "io/select.h"
#include "io/stream.h"

static const cx_tool tool = {
    "cxr-topng", "-d DIR [options] [STREAM]",
    "Write one 2-D tensor of each record of a cxr-mtl stream as a PNG file DIR/<id>.png, for\n"
    "people to look at. u8 and u16 tensors are written as 8- and 16-bit PNG unchanged (so PNG ->\n"
    "cxr-ingest -> cxr-topng gives the same pixels back); other dtypes are mapped to 8 bits.\n"
    "\n"
    "  -d, --dir DIR         output directory (created if missing; required)\n"
    "  -t, --tensor NAME     the tensor to write (default: image)\n"
    "      --overlay MASK    lay tensor MASK over the image: an RGB PNG, mask tinted, edge drawn\n"
    "      --channel K       for [C,H,W] or [1,C,H,W] tensors, channel K (default 0)\n"
    "      --range LO:HI     map LO..HI to 0..255 (default for floats: each image's own min..max)\n"
    "      --suffix TEXT     file name DIR/<id><TEXT>.png (default: none)\n"
    "      --id ID, --index RANGE, --where F=V   choose records as in cxr-select(1)\n"
    "      --help, --version\n"
    "\n"
    "Ids become file names with characters other than letters, digits, '.', '_', '-' turned into '_'.\n"
    "A run that fails part way removes the files it wrote.\n"
    "Exit status: 0 ok, 64 usage, 65 bad data (e.g. no such tensor), 66, 73, 74.\n",
};

/* A run is all or nothing: the files it wrote are removed if it fails part way, so a make
 * rule never sees half a directory of PNGs as done. */
static char **written;
static size_t nwritten;
static bool completed;

static void remove_partial_output(void) {
    for (size_t i = 0; i < nwritten; i++) {
        if (!completed) unlink(written[i]);
        free(written[i]);
    }
    free(written);
    written = NULL;
    nwritten = 0;
}

static void remember(const char *path) {
    written = cx_realloc(written, (nwritten + 1) * sizeof *written);
    written[nwritten++] = cx_strdup(path);
}

/* A 2-D view of channel k of a [H,W], [C,H,W] or [1,C,H,W] tensor (copied). */
static int plane(const cx_tensor *t, long k, const char *where, cx_tensor *out) {
    int64_t hw[2];
    int64_t c = 1;
    if (t->ndim == 2) { hw[0] = t->shape[0]; hw[1] = t->shape[1]; }
    else if (t->ndim == 3) { c = t->shape[0]; hw[0] = t->shape[1]; hw[1] = t->shape[2]; }
    else if (t->ndim == 4 && t->shape[0] == 1) { c = t->shape[1]; hw[0] = t->shape[2]; hw[1] = t->shape[3]; }
    else return cx_err(EX_DATAERR, "%s: tensor \"%s\" has %d dims (2, 3 or [1,C,H,W] wanted)", where, t->name, t->ndim);
    if (k >= c) return cx_err(EX_DATAERR, "%s: tensor \"%s\" has %lld channels, --channel %ld", where, t->name, (long long)c, k);
    if (cx_tensor_init(out, t->name, t->dtype, 2, hw)) return cx_errcode();
    size_t bytes = out->nbytes;
    memcpy(out->data, (const char *)t->data + (size_t)k * bytes, bytes);
    return 0;
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *dir = NULL, *tensor = "image", *overlay = NULL, *suffix = "";
    long channel = 0;
    double lo = 0, hi = 0;
    cx_selection sel;
    cx_selection_init(&sel);
    enum { OPT_OVERLAY = CX_OPT_FIRST_TOOL, OPT_CHANNEL, OPT_RANGE, OPT_SUFFIX, OPT_ID, OPT_INDEX, OPT_WHERE };
    static const struct option longopts[] = {
        {"dir", required_argument, 0, 'd'}, {"tensor", required_argument, 0, 't'},
        {"overlay", required_argument, 0, OPT_OVERLAY}, {"channel", required_argument, 0, OPT_CHANNEL},
        {"range", required_argument, 0, OPT_RANGE}, {"suffix", required_argument, 0, OPT_SUFFIX},
        {"id", required_argument, 0, OPT_ID}, {"index", required_argument, 0, OPT_INDEX},
        {"where", required_argument, 0, OPT_WHERE}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "d:t:", longopts)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 't': tensor = optarg; break;
        case OPT_OVERLAY: overlay = optarg; break;
        case OPT_CHANNEL: channel = (long)cx_opt_int("--channel", optarg, 0, 1 << 20); break;
        case OPT_RANGE: {
            char *colon = strchr(optarg, ':');
            if (!colon) cx_usage_error("--range: '%s' is not LO:HI", optarg);
            *colon = 0;
            lo = cx_opt_double("--range", optarg, -1e300, 1e300);
            hi = cx_opt_double("--range", colon + 1, -1e300, 1e300);
            if (!(hi > lo)) cx_usage_error("--range: HI must exceed LO");
            break;
        }
        case OPT_SUFFIX: suffix = optarg; break;
        case OPT_ID: cx_selection_add_id(&sel, optarg); break;
        case OPT_INDEX: if (cx_selection_add_index(&sel, optarg)) cx_usage_error("--index: %s", cx_errmsg()); break;
        case OPT_WHERE: if (cx_selection_add_where(&sel, optarg)) cx_usage_error("--where: %s", cx_errmsg()); break;
        }
    }
    if (!dir) cx_usage_error("--dir DIR is required");
    if (argc - optind > 1) cx_usage_error("one input stream at most");
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) cx_fatal(EX_CANTCREAT, "%s: cannot create directory: %s", dir, strerror(errno));
    cx_reader *in = cx_reader_open(optind < argc ? argv[optind] : "-");
    if (!in) cx_die();
    cx_atexit(remove_partial_output);
    cx_record rec;
    cx_record_init(&rec);
    int rc;
    while ((rc = cx_reader_next(in, &rec)) == 1) {
        if (!cx_selection_match(&sel, &rec)) continue;
        char where[512], path[4096], *safe = cx_strdup(rec.id);
        snprintf(where, sizeof where, "%s: record %lld (id \"%s\")", cx_reader_name(in), (long long)rec.index, rec.id);
        for (char *p = safe; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
                *p = '_';
        snprintf(path, sizeof path, "%s/%s%s.png", dir, safe, suffix);
        free(safe);
        const cx_tensor *t = cx_record_tensor(&rec, tensor);
        if (!t) cx_fatal(EX_DATAERR, "%s: no tensor \"%s\"", where, tensor);
        cx_tensor img;
        if (plane(t, channel, where, &img)) cx_die();
        if (overlay) {
            const cx_tensor *m = cx_record_tensor(&rec, overlay);
            if (!m) cx_fatal(EX_DATAERR, "%s: no tensor \"%s\"", where, overlay);
            cx_tensor mask, rgb;
            if (plane(m, 0, where, &mask)) cx_die();
            if (cx_overlay(&img, &mask, lo, hi, &rgb)) cx_err_prefix("%s", where), cx_die();
            if (cx_png_write(path, &rgb, 0, 0)) cx_die();
            remember(path);
            cx_tensor_free(&mask);
            cx_tensor_free(&rgb);
        } else if (cx_png_write(path, &img, lo, hi)) {
            cx_die();
        } else {
            remember(path);
        }
        cx_tensor_free(&img);
    }
    if (rc < 0) cx_die();
    completed = true;
    cx_reader_close(in);
    cx_record_free(&rec);
    cx_selection_free(&sel);
    return 0;
}
