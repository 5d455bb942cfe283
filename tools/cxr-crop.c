/* cxr-crop: image + lung mask -> square, normalised backbone input (a "crop" stream). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "image/crop.h"
#include "io/stream.h"

static const cx_tool tool = {
    "cxr-crop", "[options] [STREAM] [-o OUT]",
    "Crop each X-ray of an image stream to its lungs and make it a backbone input: clip to the\n"
    "2nd..98th percentile, lung box = union of the two largest mask components, grown by a margin,\n"
    "made square, resized to N x N and normalised. Writes a stream of kind \"crop\": tensor image\n"
    "f32 [C, N, N]; meta adds crop_box, crop_lung_box, clip, normalization and crop_size.\n"
    "\n"
    "  -o, --output FILE       write here (default: standard output); written whole or not at all\n"
    "  -s, --size N            output side in pixels, 1..4096 (default 224)\n"
    "  -n, --normalize NAME    imagenet, zscore, minmax or xrv (default imagenet)\n"
    "  -c, --channels 1|3      grey replicated to this many channels (default 3)\n"
    "      --box mask|meta     lung box from the mask (default) or from the metadata field\n"
    "      --box-field NAME    the metadata box for --box meta (default lung_bbox)\n"
    "      --mask NAME         the mask tensor (default mask)\n"
    "      --components K      largest mask components in the box, 1..100 (default 2)\n"
    "      --margin PCT        grow the box by PCT % of its width and height in all (default 5)\n"
    "      --clip LO,HI        clip to these percentiles, 0 <= LO < HI <= 100 (default 2,98)\n"
    "      --no-mask error|full  no lung (empty or missing mask, no box): fail (default) or\n"
    "                          crop the whole image with a warning\n"
    "      --keep-mask         also crop the mask (nearest) to u8 [N, N]\n"
    "      --help, --version\n"
    "\n"
    "See cxr-crop(1) for the geometry. Exit status: 0 ok, 64 usage, 65 bad data (all-black image,\n"
    "empty or missing mask, shape mismatch, box outside the image), 66 no input, 73, 74.\n",
};

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    cx_crop_options o;
    cx_crop_options_default(&o);
    const char *output = "-", *no_mask = "error";
    enum { OPT_BOX = CX_OPT_FIRST_TOOL, OPT_BOX_FIELD, OPT_MASK, OPT_COMPONENTS, OPT_MARGIN, OPT_CLIP, OPT_NO_MASK,
           OPT_KEEP_MASK };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"size", required_argument, 0, 's'},
        {"normalize", required_argument, 0, 'n'}, {"channels", required_argument, 0, 'c'},
        {"box", required_argument, 0, OPT_BOX}, {"box-field", required_argument, 0, OPT_BOX_FIELD},
        {"mask", required_argument, 0, OPT_MASK}, {"components", required_argument, 0, OPT_COMPONENTS},
        {"margin", required_argument, 0, OPT_MARGIN}, {"clip", required_argument, 0, OPT_CLIP},
        {"no-mask", required_argument, 0, OPT_NO_MASK}, {"keep-mask", no_argument, 0, OPT_KEEP_MASK},
        CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "o:s:n:c:", longopts)) != -1) {
        if (c == 'o') output = optarg;
        else if (c == 's') o.size = (int)cx_opt_int("--size", optarg, 1, 4096);
        else if (c == 'n') {
            if (cx_normalization_parse(optarg, &o.norm))
                cx_usage_error("--normalize: '%s' is not imagenet, zscore, minmax or xrv", optarg);
        } else if (c == 'c') {
            if (strcmp(optarg, "1") && strcmp(optarg, "3")) cx_usage_error("--channels: '%s' is not 1 or 3", optarg);
            o.channels = optarg[0] - '0';
        } else if (c == OPT_BOX) {
            if (!strcmp(optarg, "mask")) o.box = CX_BOX_MASK;
            else if (!strcmp(optarg, "meta")) o.box = CX_BOX_META;
            else cx_usage_error("--box: '%s' is not mask or meta", optarg);
        } else if (c == OPT_BOX_FIELD) o.box_field = optarg;
        else if (c == OPT_MASK) o.mask_name = optarg;
        else if (c == OPT_COMPONENTS) o.components = (int)cx_opt_int("--components", optarg, 1, 100);
        else if (c == OPT_MARGIN) o.margin = cx_opt_double("--margin", optarg, 0, 100);
        else if (c == OPT_CLIP) {
            const char *comma = strchr(optarg, ',');
            if (!comma) cx_usage_error("--clip: '%s' is not LO,HI", optarg);
            char lo[64];
            snprintf(lo, sizeof lo, "%.*s", (int)(comma - optarg), optarg);
            o.clip_lo = cx_opt_double("--clip", lo, 0, 100);
            o.clip_hi = cx_opt_double("--clip", comma + 1, 0, 100);
            if (!(o.clip_lo < o.clip_hi)) cx_usage_error("--clip: LO must be below HI");
        } else if (c == OPT_NO_MASK) {
            if (strcmp(optarg, "error") && strcmp(optarg, "full")) cx_usage_error("--no-mask: '%s' is not error or full", optarg);
            no_mask = optarg;
            o.whole_if_no_lung = !strcmp(optarg, "full");
        } else if (c == OPT_KEEP_MASK) o.keep_mask = true;
    }
    if (argc - optind > 1) cx_usage_error("one input stream at most");
    cx_reader *in = cx_reader_open(optind < argc ? argv[optind] : "-");
    if (!in) cx_die();

    cx_value header = cx_header_new("crop");
    cx_header_add_input(&header, cx_reader_header(in));
    cx_value params = cx_map(), clip = cx_array();
    cx_map_set(&params, "size", cx_int(o.size));
    cx_map_set(&params, "channels", cx_int(o.channels));
    cx_map_set(&params, "normalization", cx_str(cx_normalization_name(o.norm)));
    cx_map_set(&params, "box", cx_str(o.box == CX_BOX_MASK ? "mask" : "meta"));
    cx_map_set(&params, o.box == CX_BOX_MASK ? "mask" : "box_field", cx_str(o.box == CX_BOX_MASK ? o.mask_name : o.box_field));
    if (o.box == CX_BOX_MASK) cx_map_set(&params, "components", cx_int(o.components));
    cx_map_set(&params, "margin", cx_float(o.margin));
    cx_array_push(&clip, cx_float(o.clip_lo));
    cx_array_push(&clip, cx_float(o.clip_hi));
    cx_map_set(&params, "clip_percentiles", clip);
    cx_map_set(&params, "no_mask", cx_str(no_mask));
    cx_map_set(&header, "crop", params);
    cx_writer *w = cx_writer_open(output, &header);
    if (!w) cx_die();

    cx_record rec, out;
    cx_record_init(&rec);
    cx_record_init(&out);
    cx_progress progress;
    cx_progress_start(&progress, "records", -1);
    int rc;
    while ((rc = cx_reader_next(in, &rec)) == 1) {
        bool whole;
        if (cx_crop_record(&rec, &o, &out, &whole)) {
            cx_err_prefix("%s: record %lld (id \"%s\")", cx_reader_name(in), (long long)rec.index, rec.id);
            cx_die();   /* the output's temporary is removed at exit */
        }
        if (whole)
            cx_warn("%s: record %lld (id \"%s\"): no lung box; cropped the whole image (--no-mask full)",
                    cx_reader_name(in), (long long)rec.index, rec.id);
        if (cx_writer_put(w, &out)) cx_die();
        cx_progress_step(&progress, 1);
    }
    cx_progress_end(&progress);
    if (rc < 0) cx_die();
    if (cx_writer_close(w)) cx_die();
    cx_reader_close(in);
    cx_record_free(&rec);
    cx_record_free(&out);
    cx_value_free(&header);
    return 0;
}
