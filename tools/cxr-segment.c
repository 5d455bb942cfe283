/* cxr-segment: fit a lung U-Net on image + mask streams, or segment an image stream with one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "image/components.h"
#include "io/outfile.h"
#include "io/stream.h"
#include "nn/nn.h"
#include "seg/seg.h"

static const cx_tool tool = {
    "cxr-segment", "fit [options] -o MODEL.cxs TRAIN.cxs...\n"
    "       cxr-segment [apply] -m MODEL.cxs [options] [-o OUT.cxs] [IN.cxs]",
    "Lung segmentation with a U-Net. 'fit' trains one on image streams whose records carry a mask\n"
    "tensor (records without it are skipped); 'apply' (the default) adds a lung mask to every record.\n"
    "\n"
    "fit options:\n"
    "  -o, --output MODEL     the best model (highest validation Dice; the last epoch without\n"
    "                         validation), rewritten when it improves (required)\n"
    "      --preset NAME      lung-unet-small (default) or lung-unet-4l\n"
    "      --base N           first-level width; all widths scale with it (default: the preset's)\n"
    "      --size N           model input side, a multiple of 16 (default 128)\n"
    "      --epochs N         (default 30)   --batch N (default 8)   --lr X (default 0.001)\n"
    "      --weight-decay X   Adam's L2 term (default 0)\n"
    "      --dice-weight X    loss = BCE + X * soft Dice (default 1)\n"
    "      --val STREAM       validation records (with masks)\n"
    "      --val-fraction F   hold out this fraction of the patients of the training streams\n"
    "                         (a fixed hash of meta.patient; default 0 = none)\n"
    "      --state FILE       the full training state after every epoch\n"
    "      --resume           continue from --state FILE\n"
    "      --log LOG.cxs      one record per epoch (kind \"log\")\n"
    "      --mask NAME        the mask tensor to learn (default mask)\n"
    "      --no-augment       train on the images as they are\n"
    "      --rotate DEG --shift F --scale F --gamma F --contrast F --brightness F --noise F\n"
    "                         augmentation ranges (defaults 10, 0.06, 0.1, 0.25, 0.2, 0.1, 0.03)\n"
    "      --flip             also flip left-right (off: chest X-rays have a laterality)\n"
    "      --seed N           (default 1)\n"
    "\n"
    "apply options:\n"
    "  -m, --model MODEL      a model written by 'fit' (required)\n"
    "  -o, --output FILE      write here (default: standard output); written whole or not at all\n"
    "      --output-tensor N  the mask's name (default mask; an existing tensor is replaced)\n"
    "      --truth NAME       compare with this ground-truth mask tensor: meta dice and iou, and a\n"
    "                         summary (mean, median, 5th percentile, worst 5%) on stderr\n"
    "      --truth-box FIELD  compare the lung box (the two largest components) with this\n"
    "                         [x0, y0, x1, y1] field: meta box_iou\n"
    "      --report FILE      the summaries as JSON\n"
    "      --threshold X      on the probabilities (default 0.5)\n"
    "      --min-fraction F   smallest region kept, of the image area (default 0.02)\n"
    "      --strict           a suspicious mask is an error (default: a warning)\n"
    "  -q, --quiet            no warnings about suspicious masks (lung_qc still says)\n"
    "\n"
    "both:\n"
    "      --image NAME       the image tensor (default image)\n"
    "      --threads N        (default: all CPUs)\n"
    "      --help, --version\n"
    "\n"
    "apply adds meta lung_fraction, lung_components (before post-processing) and lung_qc (ok,\n"
    "no_lung, fraction, components). See cxr-segment(1).\n"
    "Exit status: 0 ok, 64 usage, 65 bad data (or a suspicious mask with --strict), 66 no input,\n"
    "70 training diverged, 73 cannot create, 74 I/O error.\n",
};

enum {
    OPT_PRESET = CX_OPT_FIRST_TOOL, OPT_BASE, OPT_SIZE, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_WD, OPT_DICE_WEIGHT,
    OPT_VAL, OPT_VAL_FRACTION, OPT_STATE, OPT_RESUME, OPT_LOG, OPT_MASK, OPT_NO_AUGMENT, OPT_ROTATE, OPT_SHIFT,
    OPT_SCALE, OPT_GAMMA, OPT_CONTRAST, OPT_BRIGHTNESS, OPT_NOISE, OPT_FLIP, OPT_SEED, OPT_OUTPUT_TENSOR, OPT_TRUTH,
    OPT_TRUTH_BOX, OPT_REPORT, OPT_THRESHOLD, OPT_MIN_FRACTION, OPT_STRICT, OPT_IMAGE, OPT_THREADS,
};

/* ---------------- fit ---------------- */

typedef struct {
    cx_progress progress;
    cx_writer *log;
    int64_t epoch;
} fit_log;

static void on_step(void *ctx, int64_t done, int64_t total) {
    fit_log *l = ctx;
    if (done == 1) {
        char what[64];
        snprintf(what, sizeof what, "epoch %lld batches", (long long)l->epoch + 1);
        cx_progress_start(&l->progress, what, total);
    }
    cx_progress_step(&l->progress, 1);
    if (done == total) cx_progress_end(&l->progress);
}

static int on_epoch(void *ctx, const cx_seg_epoch *e) {
    fit_log *l = ctx;
    l->epoch = e->epoch;
    char val[48] = "";
    if (!isnan(e->val_dice)) snprintf(val, sizeof val, "  val_dice %.4f", e->val_dice);
    fprintf(stderr, "%s: epoch %lld/%lld  loss %.4f (bce %.4f, dice %.4f)%s  lr %.3g  %.1f s%s\n", cx_progname(),
            (long long)e->epoch, (long long)e->epochs, e->loss, e->bce, e->dice_loss, val, e->lr, e->seconds,
            e->best ? "  *" : "");
    if (!l->log) return 0;
    cx_record rec;
    cx_record_init(&rec);
    char id[32];
    snprintf(id, sizeof id, "epoch-%lld", (long long)e->epoch);
    cx_record_set_id(&rec, id);
    cx_map_set(&rec.meta, "epoch", cx_int(e->epoch));
    cx_map_set(&rec.meta, "step", cx_int(e->step));
    cx_map_set(&rec.meta, "loss", cx_float(e->loss));
    cx_map_set(&rec.meta, "bce", cx_float(e->bce));
    cx_map_set(&rec.meta, "dice_loss", cx_float(e->dice_loss));
    cx_map_set(&rec.meta, "val_dice", isnan(e->val_dice) ? cx_nil() : cx_float(e->val_dice));
    cx_map_set(&rec.meta, "lr", cx_float(e->lr));
    cx_map_set(&rec.meta, "seconds", cx_float(e->seconds));
    cx_map_set(&rec.meta, "best", cx_bool(e->best));
    int rc = cx_writer_put(l->log, &rec);
    cx_record_free(&rec);
    return rc;
}

static int fit(int argc, char **argv) {
    cx_seg_train_options o = {.epochs = 30, .batch = 8, .lr = 1e-3, .dice_weight = 1, .seed = 1};
    strcpy(o.model.preset, "lung-unet-small");
    o.model.size = 128;
    cx_augment_defaults(&o.augment);
    const char *val_path = NULL, *log_path = NULL, *image = "image", *mask = "mask";
    double val_fraction = 0;
    int threads = 0;
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"preset", required_argument, 0, OPT_PRESET},
        {"base", required_argument, 0, OPT_BASE}, {"size", required_argument, 0, OPT_SIZE},
        {"epochs", required_argument, 0, OPT_EPOCHS}, {"batch", required_argument, 0, OPT_BATCH},
        {"lr", required_argument, 0, OPT_LR}, {"weight-decay", required_argument, 0, OPT_WD},
        {"dice-weight", required_argument, 0, OPT_DICE_WEIGHT}, {"val", required_argument, 0, OPT_VAL},
        {"val-fraction", required_argument, 0, OPT_VAL_FRACTION}, {"state", required_argument, 0, OPT_STATE},
        {"resume", no_argument, 0, OPT_RESUME}, {"log", required_argument, 0, OPT_LOG},
        {"mask", required_argument, 0, OPT_MASK}, {"no-augment", no_argument, 0, OPT_NO_AUGMENT},
        {"rotate", required_argument, 0, OPT_ROTATE}, {"shift", required_argument, 0, OPT_SHIFT},
        {"scale", required_argument, 0, OPT_SCALE}, {"gamma", required_argument, 0, OPT_GAMMA},
        {"contrast", required_argument, 0, OPT_CONTRAST}, {"brightness", required_argument, 0, OPT_BRIGHTNESS},
        {"noise", required_argument, 0, OPT_NOISE}, {"flip", no_argument, 0, OPT_FLIP},
        {"seed", required_argument, 0, OPT_SEED}, {"image", required_argument, 0, OPT_IMAGE},
        {"threads", required_argument, 0, OPT_THREADS}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    bool base_given = false;
    while ((c = cx_getopt(argc, argv, "o:", longopts)) != -1) {
        switch (c) {
        case 'o': o.out_path = optarg; break;
        case OPT_PRESET:
            if (strlen(optarg) >= sizeof o.model.preset) cx_usage_error("--preset: unknown preset '%s'", optarg);
            strcpy(o.model.preset, optarg);
            break;
        case OPT_BASE: o.model.base = (int)cx_opt_int("--base", optarg, 1, 1024), base_given = true; break;
        case OPT_SIZE: o.model.size = (int)cx_opt_int("--size", optarg, 16, 4096); break;
        case OPT_EPOCHS: o.epochs = (int)cx_opt_int("--epochs", optarg, 1, 100000); break;
        case OPT_BATCH: o.batch = (int)cx_opt_int("--batch", optarg, 1, 4096); break;
        case OPT_LR: o.lr = cx_opt_double("--lr", optarg, 1e-12, 10); break;
        case OPT_WD: o.weight_decay = cx_opt_double("--weight-decay", optarg, 0, 10); break;
        case OPT_DICE_WEIGHT: o.dice_weight = cx_opt_double("--dice-weight", optarg, 0, 1000); break;
        case OPT_VAL: val_path = optarg; break;
        case OPT_VAL_FRACTION: val_fraction = cx_opt_double("--val-fraction", optarg, 0, 0.9); break;
        case OPT_STATE: o.state_path = optarg; break;
        case OPT_RESUME: o.resume = true; break;
        case OPT_LOG: log_path = optarg; break;
        case OPT_MASK: mask = optarg; break;
        case OPT_NO_AUGMENT: o.no_augment = true; break;
        case OPT_ROTATE: o.augment.rotate_deg = cx_opt_double("--rotate", optarg, 0, 180); break;
        case OPT_SHIFT: o.augment.shift = cx_opt_double("--shift", optarg, 0, 0.5); break;
        case OPT_SCALE: o.augment.scale = cx_opt_double("--scale", optarg, 0, 0.9); break;
        case OPT_GAMMA: o.augment.gamma = cx_opt_double("--gamma", optarg, 0, 2); break;
        case OPT_CONTRAST: o.augment.contrast = cx_opt_double("--contrast", optarg, 0, 0.9); break;
        case OPT_BRIGHTNESS: o.augment.brightness = cx_opt_double("--brightness", optarg, 0, 1); break;
        case OPT_NOISE: o.augment.noise = cx_opt_double("--noise", optarg, 0, 1); break;
        case OPT_FLIP: o.augment.flip = true; break;
        case OPT_SEED: o.seed = (uint64_t)cx_opt_int("--seed", optarg, 0, INT64_MAX); break;
        case OPT_IMAGE: image = optarg; break;
        case OPT_THREADS: threads = (int)cx_opt_int("--threads", optarg, 1, 1024); break;
        }
    }
    if (!o.out_path) cx_usage_error("fit: --output MODEL is required");
    if (optind >= argc) cx_usage_error("fit: no training stream given");
    if (o.resume && !o.state_path) cx_usage_error("--resume needs --state FILE");
    if (val_path && val_fraction > 0) cx_usage_error("--val and --val-fraction exclude each other");
    cx_unet_config preset;
    if (cx_unet_preset(o.model.preset, &preset)) cx_usage_error("--preset: %s", cx_errmsg());
    if (!base_given) o.model.base = preset.widths[0];
    if (o.model.size % (1 << preset.depth))
        cx_usage_error("--size: %d is not a multiple of %d", o.model.size, 1 << preset.depth);
    cx_nn_set_threads(threads);

    cx_seg_dataset train, val;
    cx_seg_dataset_init(&train, o.model.size);
    cx_seg_dataset_init(&val, o.model.size);
    cx_value header = cx_header_new("log");
    int64_t skipped = 0;
    for (int i = optind; i < argc; i++)
        if (cx_seg_dataset_read(argv[i], image, mask, val_fraction, &train, val_fraction > 0 ? &val : NULL, &skipped))
            cx_die();
    if (val_path && cx_seg_dataset_read(val_path, image, mask, 0, &val, NULL, &skipped)) cx_die();
    if (train.n == 0) cx_fatal(EX_DATAERR, "no training record carries a tensor \"%s\"", mask);
    fprintf(stderr, "%s: %lld training and %lld validation images (%lld without \"%s\" skipped)\n", cx_progname(),
            (long long)train.n, (long long)val.n, (long long)skipped, mask);
    o.run_config = cx_map();
    cx_map_set(&o.run_config, "epochs", cx_int(o.epochs));
    cx_map_set(&o.run_config, "batch", cx_int(o.batch));
    cx_map_set(&o.run_config, "lr", cx_float(o.lr));
    cx_map_set(&o.run_config, "seed", cx_int((int64_t)o.seed));
    cx_map_set(&o.run_config, "train_images", cx_int(train.n));
    cx_map_set(&o.run_config, "val_images", cx_int(val.n));
    fit_log l = {.log = NULL};
    if (log_path) {
        cx_map_set(&header, "segmentation", cx_value_copy(&o.run_config));
        if (!(l.log = cx_writer_open(log_path, &header))) cx_die();
    }
    cx_seg_callbacks cb = {on_step, on_epoch, &l};
    if (cx_seg_train(&o, &train, &val, &cb)) cx_die();
    if (l.log && cx_writer_close(l.log)) cx_die();
    cx_value_free(&o.run_config);
    cx_value_free(&header);
    cx_seg_dataset_free(&train);
    cx_seg_dataset_free(&val);
    return 0;
}

/* ---------------- apply ---------------- */

typedef struct {
    double *values;
    char **ids;
    int64_t n, cap;
} scores;

static void scores_add(scores *s, double v, const char *id) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->values = cx_realloc(s->values, (size_t)s->cap * sizeof *s->values);
        s->ids = cx_realloc(s->ids, (size_t)s->cap * sizeof *s->ids);
    }
    s->values[s->n] = v;
    s->ids[s->n++] = cx_strdup(id);
}

/* The id of the record with the lowest score (the first of equals). */
static const char *scores_worst(const scores *s) {
    int64_t k = 0;
    for (int64_t i = 1; i < s->n; i++)
        if (s->values[i] < s->values[k]) k = i;
    return s->n ? s->ids[k] : "";
}

static void scores_free(scores *s) {
    for (int64_t i = 0; i < s->n; i++) free(s->ids[i]);
    free(s->values);
    free(s->ids);
}

/* One summary line on stderr and, when f is given, a JSON member "name": {...}. */
static void report_scores(FILE *f, const char *name, scores *s, bool comma) {
    const char *worst = cx_strdup(scores_worst(s));
    cx_score_summary sum;
    cx_score_summarize(s->values, s->n, &sum);   /* sorts the values (ids no longer match) */
    if (sum.n)
        fprintf(stderr, "%s: %s over %lld images: mean %.4f, median %.4f, 5th percentile %.4f, worst 5%% mean %.4f, "
                "min %.4f (%s)\n", cx_progname(), name, (long long)sum.n, sum.mean, sum.median, sum.p5, sum.worst5_mean,
                sum.min, worst);
    if (f) {
        fprintf(f, "%s  \"%s\": {\"n\": %lld", comma ? ",\n" : "", name, (long long)sum.n);
        if (sum.n) {
            fprintf(f, ", \"mean\": %.6f, \"median\": %.6f, \"p5\": %.6f, \"worst5_mean\": %.6f, \"min\": %.6f, \"min_id\": ",
                    sum.mean, sum.median, sum.p5, sum.worst5_mean, sum.min);
            cx_json_string(f, worst);
        }
        fprintf(f, "}");
    }
    free((void *)worst);
}

typedef struct {
    const char *image, *output_tensor, *truth, *truth_box;
    cx_seg_post post;
    bool strict, quiet;
} apply_options;

typedef struct {
    scores dice, iou, box_iou;
    int64_t suspicious;
} apply_totals;

/* Segment one record in place. */
static void segment_record(cx_seg_net *net, const apply_options *o, const char *input, cx_record *rec,
                           apply_totals *t) {
    const cx_tensor *it = cx_record_tensor(rec, o->image);
    float *plane = NULL, *prob;
    int h, w;
    if (!it) cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.%s: missing", input, (long long)rec->index,
                      rec->id, o->image);
    if (cx_seg_plane(it, &plane, &h, &w)) goto fail;
    int64_t n = (int64_t)h * w;
    prob = cx_malloc((size_t)n * sizeof *prob);
    if (cx_seg_predict(net, plane, h, w, prob)) goto fail;
    cx_tensor mask;
    int64_t shape[2] = {h, w};
    if (cx_tensor_init(&mask, o->output_tensor, CX_U8, 2, shape)) goto fail;
    cx_seg_quality q;
    if (cx_seg_postprocess(prob, h, w, &o->post, mask.data, &q)) goto fail;
    free(plane);
    free(prob);
    cx_map_set(&rec->meta, "lung_fraction", cx_float(q.fraction));
    cx_map_set(&rec->meta, "lung_components", cx_int(q.components));
    char why[96];
    const char *suspicious = cx_seg_suspicious(&q, o->post.keep, why, sizeof why);
    cx_map_set(&rec->meta, "lung_qc", cx_str(cx_seg_qc(&q, o->post.keep)));
    if (suspicious) {
        t->suspicious++;
        if (o->strict)
            cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): suspicious lung mask: %s", input, (long long)rec->index,
                     rec->id, suspicious);
        if (!o->quiet) cx_warn("%s: record %lld (id \"%s\"): suspicious lung mask: %s", input, (long long)rec->index, rec->id, suspicious);
    }
    const cx_tensor *truth = o->truth ? cx_record_tensor(rec, o->truth) : NULL;
    if (truth) {
        float *tp;
        int th, tw;
        if (cx_seg_plane(truth, &tp, &th, &tw)) goto fail;
        if (th != h || tw != w) {
            free(tp);
            cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): tensors.%s: %dx%d, but the image is %dx%d", input,
                     (long long)rec->index, rec->id, o->truth, tw, th, w, h);
        }
        uint8_t *tm = cx_malloc((size_t)n);
        for (int64_t k = 0; k < n; k++) tm[k] = tp[k] != 0;
        free(tp);
        double dice, iou;
        cx_mask_overlap(mask.data, tm, n, &dice, &iou);
        free(tm);
        cx_map_set(&rec->meta, "dice", cx_float(dice));
        cx_map_set(&rec->meta, "iou", cx_float(iou));
        scores_add(&t->dice, dice, rec->id);
        scores_add(&t->iou, iou, rec->id);
    }
    int truth_box[4], box[4];
    if (o->truth_box && cx_seg_box_from_value(cx_map_get(&rec->meta, o->truth_box), truth_box)) {
        double iou = cx_mask_box(mask.data, h, w, o->post.keep, box) ? cx_box_iou(box, truth_box) : 0;
        cx_map_set(&rec->meta, "box_iou", cx_float(iou));
        scores_add(&t->box_iou, iou, rec->id);
    }
    cx_record_remove_tensor(rec, o->output_tensor);
    if (cx_record_take_tensor(rec, &mask)) goto fail;
    cx_tensor_free(&mask);
    return;
fail:
    cx_err_prefix("%s: record %lld (id \"%s\")", input, (long long)rec->index, rec->id);
    cx_die();
}

static int apply(int argc, char **argv) {
    apply_options o = {.image = "image", .output_tensor = "mask"};
    cx_seg_post_defaults(&o.post);
    const char *model = NULL, *out = "-", *report = NULL;
    int threads = 0;
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"output", required_argument, 0, 'o'},
        {"output-tensor", required_argument, 0, OPT_OUTPUT_TENSOR}, {"truth", required_argument, 0, OPT_TRUTH},
        {"truth-box", required_argument, 0, OPT_TRUTH_BOX}, {"report", required_argument, 0, OPT_REPORT},
        {"threshold", required_argument, 0, OPT_THRESHOLD}, {"min-fraction", required_argument, 0, OPT_MIN_FRACTION},
        {"strict", no_argument, 0, OPT_STRICT}, {"quiet", no_argument, 0, 'q'}, {"image", required_argument, 0, OPT_IMAGE},
        {"threads", required_argument, 0, OPT_THREADS}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "m:o:q", longopts)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'o': out = optarg; break;
        case OPT_OUTPUT_TENSOR: o.output_tensor = optarg; break;
        case OPT_TRUTH: o.truth = optarg; break;
        case OPT_TRUTH_BOX: o.truth_box = optarg; break;
        case OPT_REPORT: report = optarg; break;
        case OPT_THRESHOLD: o.post.threshold = cx_opt_double("--threshold", optarg, 0, 1); break;
        case OPT_MIN_FRACTION: o.post.min_fraction = cx_opt_double("--min-fraction", optarg, 0, 0.5); break;
        case OPT_STRICT: o.strict = true; break;
        case 'q': o.quiet = true; break;
        case OPT_IMAGE: o.image = optarg; break;
        case OPT_THREADS: threads = (int)cx_opt_int("--threads", optarg, 1, 1024); break;
        }
    }
    if (!model) cx_usage_error("--model MODEL is required");
    if (argc - optind > 1) cx_usage_error("one input stream at most");
    if (o.truth && !strcmp(o.truth, o.output_tensor))
        cx_usage_error("--truth %s would be replaced by the output mask: choose --output-tensor", o.truth);
    if (report && !o.truth && !o.truth_box) cx_usage_error("--report needs --truth or --truth-box");
    cx_nn_set_threads(threads);
    cx_seg_net net;
    if (cx_seg_net_load(&net, model, 1)) cx_die();
    const char *input = optind < argc ? argv[optind] : "-";
    cx_reader *in = cx_reader_open(input);
    if (!in) cx_die();
    cx_value header = cx_header_new(cx_header_kind(cx_reader_header(in)));
    cx_header_add_input(&header, cx_reader_header(in));
    cx_value seg = cx_seg_model_to_value(&net.model);
    cx_map_set(&seg, "model_file", cx_str(model));
    cx_map_set(&seg, "tensor", cx_str(o.output_tensor));
    cx_map_set(&seg, "threshold", cx_float(o.post.threshold));
    cx_map_set(&seg, "min_fraction", cx_float(o.post.min_fraction));
    cx_map_set(&header, "segmentation", seg);
    cx_writer *w = cx_writer_open(out, &header);
    if (!w) cx_die();
    cx_outfile *rf = NULL;
    if (report && !(rf = cx_outfile_open(report))) cx_die();
    apply_totals t = {0};
    cx_record rec;
    cx_record_init(&rec);
    cx_progress p;
    cx_progress_start(&p, "records", -1);
    int rc;
    while ((rc = cx_reader_next(in, &rec)) == 1) {
        segment_record(&net, &o, cx_reader_name(in), &rec, &t);
        if (cx_writer_put(w, &rec)) cx_die();
        cx_progress_step(&p, 1);
    }
    cx_progress_end(&p);
    if (rc < 0) cx_die();
    FILE *f = rf ? cx_outfile_fp(rf) : NULL;
    if (f) fprintf(f, "{\n  \"records\": %lld,\n  \"suspicious\": %lld", (long long)cx_reader_count(in), (long long)t.suspicious);
    if (o.truth) {
        report_scores(f, "dice", &t.dice, true);
        report_scores(f, "iou", &t.iou, true);
    }
    if (o.truth_box) report_scores(f, "box_iou", &t.box_iou, true);
    if (f) fprintf(f, "\n}\n");
    if (cx_writer_close(w)) cx_die();
    if (rf && cx_outfile_commit(rf)) cx_die();
    cx_reader_close(in);
    cx_record_free(&rec);
    cx_value_free(&header);
    scores_free(&t.dice);
    scores_free(&t.iou);
    scores_free(&t.box_iou);
    cx_seg_net_free(&net);
    return 0;
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    if (argc > 1 && !strcmp(argv[1], "fit")) return fit(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "apply")) return apply(argc - 1, argv + 1);
    return apply(argc, argv);
}
