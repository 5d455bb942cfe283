/* embed: a backbone over a crop stream gives an embedding stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "io/stream.h"
#include "models/backbone.h"
#include "nn/nn.h"
#include "train/embed.h"

static const cx_tool tool = {
    "embed", "-b NAME [--weights W | -m CKPT] [options] -o OUT.cxs [IN.cxs]",
    "Run a backbone over the crops of a stream (tensor image [C, S, S]) and write an embedding\n"
    "stream: each record keeps its id and metadata, gains embedding_model, and carries one tensor,\n"
    "embedding f32 [F]: the backbone's pooled features, or an intermediate layer's activation,\n"
    "global-average-pooled.\n"
    "\n"
    "  -b, --backbone NAME   the backbone (cxr-model --list-backbones)\n"
    "      --weights FILE    its weights (safetensors with torchvision/timm names; the classifier\n"
    "                        is skipped; 1-channel crops sum the first conv's RGB filters)\n"
    "  -m, --model CKPT      instead: the backbone of an mt-train checkpoint\n"
    "      --layer NAME      an intermediate activation, as 'cxr-model -b NAME --layers' names it\n"
    "                        (e.g. layer3.1/relu#45); default: the pooled features\n"
    "      --batch N         crops per forward pass (default 32)\n"
    "      --threads N       threads (default: all CPUs)\n"
    "  -o, --output FILE     the embedding stream (default: standard output)\n"
    "      --help, --version\n"
    "\n"
    "Without --weights or -m the backbone has its random initialisation (seed 0), for tests.\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 73 cannot create, 74 I/O error.\n"
    "See embed(1).\n",
};

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *backbone = NULL, *weights = NULL, *checkpoint = NULL, *layer = NULL, *out = "-";
    int batch = 32, threads = 0;
    enum { OPT_WEIGHTS = CX_OPT_FIRST_TOOL, OPT_LAYER, OPT_BATCH, OPT_THREADS };
    static const struct option longopts[] = {
        {"backbone", required_argument, 0, 'b'}, {"weights", required_argument, 0, OPT_WEIGHTS},
        {"model", required_argument, 0, 'm'}, {"layer", required_argument, 0, OPT_LAYER},
        {"batch", required_argument, 0, OPT_BATCH}, {"threads", required_argument, 0, OPT_THREADS},
        {"output", required_argument, 0, 'o'}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "b:m:o:", longopts)) != -1) {
        switch (c) {
        case 'b': backbone = optarg; break;
        case OPT_WEIGHTS: weights = optarg; break;
        case 'm': checkpoint = optarg; break;
        case OPT_LAYER: layer = optarg; break;
        case OPT_BATCH: batch = (int)cx_opt_int("--batch", optarg, 1, 65536); break;
        case OPT_THREADS: threads = (int)cx_opt_int("--threads", optarg, 0, 1024); break;
        case 'o': out = optarg; break;
        }
    }
    if (!backbone && !checkpoint) cx_usage_error("give --backbone NAME or --model CKPT");
    if (weights && checkpoint) cx_usage_error("give --weights or --model, not both");
    if (backbone && !cx_backbone_find(backbone)) cx_usage_error("%s", cx_errmsg());
    if (argc - optind > 1) cx_usage_error("one input stream at most");
    cx_nn_set_threads(threads);

    cx_reader *in = cx_reader_open(optind < argc ? argv[optind] : "-");
    if (!in) cx_die();
    const char *file = cx_reader_name(in);
    cx_record *recs = cx_calloc((size_t)batch, sizeof *recs);
    for (int i = 0; i < batch; i++) cx_record_init(&recs[i]);
    int got = cx_reader_next(in, &recs[0]);
    if (got < 0) cx_die();
    cx_embedder e;
    bool built = false;
    if (got == 1) {
        const cx_tensor *t = cx_record_tensor(&recs[0], "image");
        if (!t || t->ndim != 3 || (t->shape[0] != 1 && t->shape[0] != 3) || t->shape[1] != t->shape[2])
            cx_fatal(EX_DATAERR, "%s: record 0 (id \"%s\"): tensors.image: missing or not a crop [C, S, S] with C 1 or 3",
                     file, recs[0].id);
        if (cx_embedder_build(&e, backbone, weights, checkpoint, layer, (int)t->shape[0], (int)t->shape[1], batch))
            cx_die();   /* a usage error (an unknown layer) keeps its code 64 */
        built = true;
    }
    cx_value header = cx_header_new("embedding");
    cx_header_add_input(&header, cx_reader_header(in));
    cx_map_set(&header, "embedding_model", cx_str(built ? e.model.cfg.backbone : backbone ? backbone : ""));
    if (layer) cx_map_set(&header, "embedding_layer", cx_str(layer));
    cx_writer *w = cx_writer_open(out, &header);
    cx_value_free(&header);
    if (!w) cx_die();
    cx_progress bar;
    cx_progress_start(&bar, "records", -1);
    int n = got;
    while (n > 0) {
        while (n < batch && (got = cx_reader_next(in, &recs[n])) == 1) n++;
        if (got < 0) cx_die();
        if (cx_embedder_run(&e, recs, n, file)) cx_die();
        for (int i = 0; i < n; i++)
            if (cx_writer_put(w, &recs[i])) cx_die();
        cx_progress_step(&bar, n);
        n = 0;
        if (got == 1 && (got = cx_reader_next(in, &recs[0])) == 1) n = 1;
        if (got < 0) cx_die();
    }
    cx_progress_end(&bar);
    if (cx_writer_close(w)) cx_die();
    cx_reader_close(in);
    for (int i = 0; i < batch; i++) cx_record_free(&recs[i]);
    free(recs);
    if (built) cx_embedder_free(&e);
    return 0;
}
