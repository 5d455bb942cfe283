/* The phantom generator: determinism, masks and boxes, labels, opacities, centers, the
 * clinical model and bit depth. Oracles are direct recomputations from the pixels and
 * metadata (bounding boxes, sums, binning, correlations, AUROC by pair counting). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/phantom.h"
#include "data/phantom_internal.h"
#include "io/stream.h"
#include "test.h"

static cx_phantom *phantom(int width, int height, int patients, int all_labels, uint64_t seed) {
    cx_phantom_config cfg;
    cx_phantom_defaults(&cfg);
    cfg.width = width;
    cfg.height = height;
    cfg.patients = patients;
    cfg.all_labels = all_labels;
    cfg.seed = seed;
    return cx_phantom_new(&cfg);
}

static int64_t meta_int(const cx_record *r, const char *key) {
    const cx_value *v = cx_map_get(&r->meta, key);
    return v && v->kind == CX_INT ? v->u.i : -1;
}

static bool records_equal(const cx_record *a, const cx_record *b) {
    if (strcmp(a->id, b->id) || !cx_value_equal(&a->meta, &b->meta) || a->ntensors != b->ntensors) return false;
    for (size_t k = 0; k < a->ntensors; k++) {
        const cx_tensor *t = &a->tensors[k], *u = cx_record_tensor(b, t->name);
        if (!u || !cx_tensor_same_shape(t, u) || t->dtype != u->dtype || memcmp(t->data, u->data, t->nbytes)) return false;
    }
    return true;
}

TEST(phantom_config_ranges) {
    cx_phantom_config cfg;
    cx_phantom_defaults(&cfg);
    CHECK_EQ(cx_phantom_validate(&cfg), 0);
    CHECK(cfg.width == 128 && cfg.height == 128 && cfg.bits == 8 && cfg.patients == 60 && cfg.centers == 6);
    CHECK(cfg.seed == 1 && cfg.datasets == CX_PHANTOM_BOTH && cfg.all_labels == 0);
    struct { const char *field; cx_phantom_config cfg; } bad[] = {
        {"width", cfg}, {"width", cfg}, {"height", cfg}, {"bits", cfg}, {"patients", cfg},
        {"centers", cfg}, {"centers", cfg}, {"datasets", cfg}, {"all_labels", cfg},
    };
    bad[0].cfg.width = 63;
    bad[1].cfg.width = 1025;
    bad[2].cfg.height = 63;
    bad[3].cfg.bits = 12;
    bad[4].cfg.patients = 0;
    bad[5].cfg.centers = 5;
    bad[6].cfg.centers = 27;
    bad[7].cfg.datasets = 0;
    bad[8].cfg.all_labels = 2;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cx_err_clear();
        CHECK_EQ(cx_phantom_validate(&bad[k].cfg), EX_USAGE);
        if (!CHECK(strstr(cx_errmsg(), bad[k].field) != NULL)) printf("  message: %s\n", cx_errmsg());
        CHECK(cx_phantom_new(&bad[k].cfg) == NULL);
    }
    cx_err_clear();
    cfg.width = 64;
    cfg.height = 1024;
    cfg.bits = 16;
    cfg.centers = 26;
    CHECK_EQ(cx_phantom_validate(&cfg), 0);
}

/* Same configuration, same bytes; record i made alone (here: in reverse order, from a second
 * generator) equals record i made in sequence. */
TEST(phantom_deterministic) {
    cx_phantom *a = phantom(96, 80, 5, 0, 11), *b = phantom(96, 80, 5, 0, 11), *other = phantom(96, 80, 5, 0, 12);
    size_t n = cx_phantom_count(a);
    CHECK_EQ(n, cx_phantom_count(b));
    cx_record *seq = calloc(n, sizeof *seq);
    for (size_t i = 0; i < n; i++) {
        cx_record_init(&seq[i]);
        CHECK_EQ(cx_phantom_record(a, i, &seq[i]), 0);
    }
    cx_record r;
    cx_record_init(&r);
    int mismatches = 0;
    for (size_t i = n; i-- > 0;) {
        CHECK_EQ(cx_phantom_record(b, i, &r), 0);
        mismatches += !records_equal(&seq[i], &r);
    }
    CHECK_EQ(mismatches, 0);
    CHECK_EQ(cx_phantom_record(other, 0, &r), 0);
    const cx_tensor *img = cx_record_tensor(&r, "image");
    CHECK(img && img->shape[0] == 80 && img->shape[1] == 96);
    CHECK(img && memcmp(img->data, cx_record_tensor(&seq[0], "image")->data, img->nbytes) != 0);
    for (size_t i = 0; i < n; i++) cx_record_free(&seq[i]);
    free(seq);
    cx_record_free(&r);
    cx_phantom_free(a);
    cx_phantom_free(b);
    cx_phantom_free(other);
}

/* Ids, visits, data sets from disjoint patients, each with only its own labels. */
TEST(phantom_datasets_and_ids) {
    const int patients = 25;
    cx_phantom *ph = phantom(64, 64, patients, 0, 5);
    size_t n = cx_phantom_count(ph);
    cx_record r;
    cx_record_init(&r);
    int images[2][26] = {{0}}, last_visit = 0, bad_ids = 0, bad_labels = 0;
    char last_patient[32] = "";
    char pg_patients[26][32] = {{0}}, bx_patients[26][32] = {{0}};
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(cx_phantom_record(ph, i, &r), 0);
        const char *ds = cx_map_str(&r.meta, "dataset", ""), *patient = cx_map_str(&r.meta, "patient", "");
        int prognosis = !strcmp(ds, "prognosis");
        int number = atoi(patient + 3), visit = (int)meta_int(&r, "visit");
        char want[64];
        snprintf(want, sizeof want, "%s-%04d-%d", prognosis ? "pg" : "bx", number, visit);
        bad_ids += strcmp(r.id, want) != 0 || strncmp(patient, prognosis ? "pg-" : "bx-", 3) != 0;
        if (number < 1 || number > patients) continue;
        images[!prognosis][number]++;
        snprintf(prognosis ? pg_patients[number] : bx_patients[number], 32, "%s", patient);
        /* visits of a patient are consecutive records 1, 2, 3 */
        CHECK(strcmp(patient, last_patient) ? visit == 1 : visit == last_visit + 1);
        snprintf(last_patient, sizeof last_patient, "%s", patient);
        last_visit = visit;
        bool has_prognosis = cx_map_get(&r.meta, "prognosis") != NULL;
        bool has_brixia = cx_map_get(&r.meta, "brixia_A") && cx_map_get(&r.meta, "brixia_global") &&
                          cx_map_get(&r.meta, "brixia_class");
        bad_labels += prognosis ? !has_prognosis || cx_map_get(&r.meta, "brixia_A") || cx_map_get(&r.meta, "brixia_global")
                                : !has_brixia || has_prognosis;
    }
    CHECK_EQ(bad_ids, 0);
    CHECK_EQ(bad_labels, 0);
    size_t total = 0;
    for (int s = 0; s < 2; s++)
        for (int p = 1; p <= patients; p++) {
            CHECK(images[s][p] >= 1 && images[s][p] <= 3);
            total += (size_t)images[s][p];
        }
    CHECK_EQ(total, n);
    int shared = 0;
    for (int p = 1; p <= patients; p++)
        for (int q = 1; q <= patients; q++) shared += !strcmp(pg_patients[p], bx_patients[q]);
    CHECK_EQ(shared, 0);
    cx_err_clear();
    CHECK(cx_phantom_record(ph, n, &r) != 0);
    CHECK(strstr(cx_errmsg(), "out of range") != NULL);
    cx_record_free(&r);
    cx_phantom_free(ph);
}

/* Masks are 0/1, cover a plausible share of the image in two lungs, the box is the mask's own,
 * and the lungs are darker than the mediastinum between them. */
TEST(phantom_masks_and_boxes) {
    cx_phantom *ph = phantom(128, 128, 12, 0, 3);
    size_t n = cx_phantom_count(ph);
    cx_record r;
    cx_record_init(&r);
    int bad_values = 0, bad_fraction = 0, bad_box = 0, bad_sides = 0, bad_contrast = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(cx_phantom_record(ph, i, &r), 0);
        const cx_tensor *mask = cx_record_tensor(&r, "mask"), *image = cx_record_tensor(&r, "image");
        const uint8_t *m = mask->data, *im = image->data;
        int W = 128, H = 128, x0 = W, y0 = H, x1 = -1, y1 = -1;
        long count = 0, left = 0;
        double lung = 0, middle = 0;
        int nmiddle = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                uint8_t v = m[y * W + x];
                bad_values += v > 1;
                if (v) {
                    count++;
                    left += x < W / 2;
                    lung += im[y * W + x];
                    x0 = x < x0 ? x : x0;
                    x1 = x > x1 ? x : x1;
                    y0 = y < y0 ? y : y0;
                    y1 = y > y1 ? y : y1;
                } else if (abs(x - W / 2) < 4 && y > H / 3 && y < 2 * H / 3) {
                    middle += im[y * W + x];
                    nmiddle++;
                }
            }
        double fraction = (double)count / (W * H);
        bad_fraction += fraction < 0.15 || fraction > 0.45;
        bad_sides += left < count / 3 || left > 2 * count / 3;
        if (count == 0 || nmiddle == 0 || lung / count > middle / nmiddle - 10) {
            bad_contrast++;
            printf("  %s: lungs %.1f, mediastinum %.1f\n", r.id, count ? lung / count : 0, nmiddle ? middle / nmiddle : 0);
        }
        const cx_value *box = cx_map_get(&r.meta, "lung_bbox");
        bool box_ok = box && box->kind == CX_ARRAY && box->u.arr.n == 4 && box->u.arr.items[0].u.i == x0 &&
                      box->u.arr.items[1].u.i == y0 && box->u.arr.items[2].u.i == x1 + 1 &&
                      box->u.arr.items[3].u.i == y1 + 1;
        bad_box += !box_ok;
    }
    CHECK_EQ(bad_values, 0);
    CHECK_EQ(bad_fraction, 0);
    CHECK_EQ(bad_sides, 0);
    CHECK_EQ(bad_box, 0);
    CHECK_EQ(bad_contrast, 0);
    cx_record_free(&r);
    cx_phantom_free(ph);
}

static int brixia_class(int global) {
    if (global >= 14) return 3;
    if (global >= 9) return 2;
    if (global >= 5) return 1;
    return 0;
}

TEST(phantom_brixia_labels) {
    cx_phantom *ph = phantom(64, 64, 60, 1, 9);
    size_t n = cx_phantom_count(ph);
    cx_record r;
    cx_record_init(&r);
    int bad = 0, classes[4] = {0};
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(cx_phantom_record(ph, i, &r), 0);
        int sum = 0;
        for (int z = 0; z < 6; z++) {
            char key[16];
            snprintf(key, sizeof key, "brixia_%c", 'A' + z);
            int64_t score = meta_int(&r, key);
            bad += score < 0 || score > 3;
            sum += (int)score;
        }
        int64_t global = meta_int(&r, "brixia_global"), cls = meta_int(&r, "brixia_class"), prog = meta_int(&r, "prognosis");
        bad += global != sum || cls != brixia_class(sum) || (prog != 0 && prog != 1);
        if (cls >= 0 && cls < 4) classes[cls]++;
    }
    CHECK_EQ(bad, 0);
    for (int k = 0; k < 4; k++) CHECK(classes[k] > (int)n / 10);   /* every class is well represented */
    cx_record_free(&r);
    cx_phantom_free(ph);
}

/* Opacity brightens a zone by more the higher its score, and leaves zones scored 0 alone:
 * each case is rendered again with its scores set to zero (same anatomy and noise). */
TEST(phantom_opacity_by_zone) {
    cx_phantom_config cfg;
    cx_phantom_defaults(&cfg);
    cfg.bits = 16;
    cfg.patients = 20;
    cfg.datasets = CX_PHANTOM_BRIXIA;
    cx_phantom *ph = cx_phantom_new(&cfg);
    size_t n = cx_phantom_count(ph), npx = (size_t)cfg.width * cfg.height;
    int64_t shape[2] = {cfg.height, cfg.width};
    cx_tensor image, clear, mask;
    cx_tensor_init(&image, "image", CX_U16, 2, shape);
    cx_tensor_init(&clear, "image", CX_U16, 2, shape);
    cx_tensor_init(&mask, "mask", CX_U8, 2, shape);
    uint8_t *zones = malloc(npx), *zones0 = malloc(npx);
    double gain[4] = {0};
    int count[4] = {0}, not_brighter = 0, zone_maps_differ = 0;
    cx_phantom_case *c = malloc(sizeof *c);
    for (size_t i = 0; i < n; i++) {
        cx_phantom_case_draw(ph, i, c);
        const cx_phantom_center *center = &ph->centers[c->center];
        cx_phantom_render(&ph->cfg, center, c, &image, &mask, zones);
        memset(c->brixia, 0, sizeof c->brixia);
        cx_phantom_render(&ph->cfg, center, c, &clear, &mask, zones0);
        zone_maps_differ += memcmp(zones, zones0, npx) != 0;
        cx_phantom_case_draw(ph, i, c);   /* the scores again */
        const uint16_t *a = image.data, *b = clear.data;
        for (int z = 0; z < 6; z++) {
            double diff = 0;
            long pixels = 0;
            for (size_t p = 0; p < npx; p++)
                if (zones[p] == z + 1) {
                    diff += (double)a[p] - b[p];
                    pixels++;
                }
            if (!pixels) continue;
            diff /= pixels * 65535.0;
            int score = c->brixia[z];
            gain[score] += diff;
            count[score]++;
            not_brighter += score > 0 && diff <= 0.005;
        }
    }
    for (int s = 0; s < 4; s++) gain[s] /= count[s] ? count[s] : 1;
    CHECK_EQ(zone_maps_differ, 0);
    CHECK_EQ(not_brighter, 0);
    CHECK(count[0] > 5 && count[1] > 5 && count[2] > 5 && count[3] > 5);
    if (!CHECK(gain[1] > 0.01 && gain[2] > gain[1] * 1.3 && gain[3] > gain[2] * 1.3))
        printf("  mean gain by score: %.4f %.4f %.4f %.4f\n", gain[0], gain[1], gain[2], gain[3]);
    /* only detector blur and edge enhancement reach across a zone border */
    if (!CHECK(fabs(gain[0]) < 0.2 * gain[1])) printf("  mean gain of zones scored 0: %.4f\n", gain[0]);
    free(c);
    free(zones);
    free(zones0);
    cx_tensor_free(&image);
    cx_tensor_free(&clear);
    cx_tensor_free(&mask);
    cx_phantom_free(ph);
}

/* Per center: mean brightness and high-frequency energy (noise, sharpness) of its images. The
 * centers must differ by far more than the standard error of these means. */
TEST(phantom_centers_differ) {
    cx_phantom *ph = phantom(64, 64, 60, 0, 21);
    size_t n = cx_phantom_count(ph);
    cx_record r;
    cx_record_init(&r);
    double sum[2][26] = {{0}}, sum2[2][26] = {{0}};
    int count[26] = {0};
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(cx_phantom_record(ph, i, &r), 0);
        int c = cx_map_str(&r.meta, "center", "center-?")[7] - 'A';
        if (!CHECK(c >= 0 && c < 6)) continue;
        const uint8_t *im = cx_record_tensor(&r, "image")->data;
        double mean = 0, detail = 0;
        for (int y = 1; y < 63; y++)
            for (int x = 1; x < 63; x++) {
                int p = y * 64 + x;
                mean += im[p];
                detail += fabs(im[p] - 0.25 * (im[p - 1] + im[p + 1] + im[p - 64] + im[p + 64]));
            }
        double stat[2] = {mean / (62 * 62), detail / (62 * 62)};
        for (int k = 0; k < 2; k++) {
            sum[k][c] += stat[k];
            sum2[k][c] += stat[k] * stat[k];
        }
        count[c]++;
    }
    for (int k = 0; k < 2; k++) {
        double lo = INFINITY, hi = -INFINITY, worst_se = 0;
        for (int c = 0; c < 6; c++) {
            if (!CHECK(count[c] >= 5)) continue;
            double m = sum[k][c] / count[c], var = sum2[k][c] / count[c] - m * m;
            lo = fmin(lo, m);
            hi = fmax(hi, m);
            worst_se = fmax(worst_se, sqrt(fmax(var, 0) / count[c]));
        }
        if (!CHECK(hi - lo > 4 * worst_se))
            printf("  statistic %d: center means %.3f..%.3f, standard error %.3f\n", k, lo, hi, worst_se);
    }
    cx_record_free(&r);
    cx_phantom_free(ph);
}

/* AUROC of score for label (Mann-Whitney: the share of (positive, negative) pairs ordered right,
 * ties counting half). */
static double auroc(const int *label, const double *score, int n) {
    double good = 0, pairs = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (label[i] == 1 && label[j] == 0) {
                good += score[i] > score[j] ? 1 : score[i] == score[j] ? 0.5 : 0;
                pairs++;
            }
    return pairs ? good / pairs : 0.5;
}

static double pearson(const double *a, const double *b, int n) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        ma += a[i] / n;
        mb += b[i] / n;
    }
    for (int i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / sqrt(saa * sbb);
}

/* Severity carries real but not trivial information about prognosis, and so do the clinical
 * fields and the note; fields are in range and absent now and then; a patient's images share
 * demographics and center. */
TEST(phantom_clinical_model) {
    cx_phantom *ph = phantom(64, 64, 150, 1, 4);
    int n = (int)cx_phantom_count(ph);
    cx_record r;
    cx_record_init(&r);
    int *label = calloc((size_t)n, sizeof *label);
    double *global = calloc((size_t)n, sizeof *global), *prog = calloc((size_t)n, sizeof *prog);
    static const struct { const char *field; double lo, hi; } ranges[] = {
        {"age", 18, 100}, {"spo2", 60, 100}, {"temperature", 35, 42}, {"crp", 0, 400}, {"ldh", 50, 2000},
        {"lymphocytes", 0.05, 6}, {"wbc", 1, 40}, {"comorbidities", 0, 7}, {"day", 0, 30},
    };
    int present[10] = {0}, out_of_range = 0, sex_bad = 0, inconsistent = 0, empty_notes = 0;
    int dyspnoea[2] = {0}, per_label[2] = {0};
    char patient[32] = "", center[16] = "";
    int64_t age = -1;
    for (int i = 0; i < n; i++) {
        CHECK_EQ(cx_phantom_record(ph, (size_t)i, &r), 0);
        label[i] = (int)meta_int(&r, "prognosis");
        global[i] = (double)meta_int(&r, "brixia_global");
        prog[i] = label[i];
        for (int k = 0; k < 9; k++) {
            const cx_value *v = cx_map_get(&r.meta, ranges[k].field);
            double x;
            if (!v) continue;
            present[k]++;
            out_of_range += !cx_value_number(v, &x) || x < ranges[k].lo || x > ranges[k].hi;
        }
        const char *sex = cx_map_str(&r.meta, "sex", NULL);
        if (sex) {
            present[9]++;
            sex_bad += strcmp(sex, "M") && strcmp(sex, "F");
        }
        const char *p = cx_map_str(&r.meta, "patient", ""), *c = cx_map_str(&r.meta, "center", "");
        if (!strcmp(p, patient)) {
            inconsistent += strcmp(c, center) != 0;
            if (age >= 0 && meta_int(&r, "age") >= 0) inconsistent += meta_int(&r, "age") != age;
        } else {
            age = -1;
        }
        if (meta_int(&r, "age") >= 0) age = meta_int(&r, "age");
        snprintf(patient, sizeof patient, "%s", p);
        snprintf(center, sizeof center, "%s", c);
        const char *note = cx_map_str(&r.meta, "note", "");
        empty_notes += strlen(note) < 20;
        if (label[i] == 0 || label[i] == 1) {
            per_label[label[i]]++;
            dyspnoea[label[i]] += strstr(note, "dyspnoea") || strstr(note, "breath") || strstr(note, "hypoxaemi") ||
                                  strstr(note, "oxygen");
        }
    }
    double corr = pearson(prog, global, n), auc = auroc(label, global, n), prevalence = 0;
    for (int i = 0; i < n; i++) prevalence += label[i] / (double)n;
    if (!CHECK(corr > 0.2)) printf("  correlation of prognosis and Brixia global: %.3f\n", corr);
    if (!CHECK(auc > 0.7 && auc < 0.9)) printf("  AUROC of Brixia global for prognosis: %.3f\n", auc);
    CHECK(prevalence > 0.25 && prevalence < 0.75);
    CHECK_EQ(out_of_range, 0);
    CHECK_EQ(sex_bad, 0);
    CHECK_EQ(inconsistent, 0);
    CHECK_EQ(empty_notes, 0);
    for (int k = 0; k < 10; k++) {
        double missing = 1 - (double)present[k] / n;
        /* day is always there; the tabular fields are absent 4-10% of the time */
        if (k == 8) CHECK_EQ(present[k], n);
        else if (!CHECK(missing > 0.02 && missing < 0.15)) printf("  field %d missing in %.3f\n", k, missing);
    }
    double share[2] = {(double)dyspnoea[0] / per_label[0], (double)dyspnoea[1] / per_label[1]};
    if (!CHECK(share[1] > share[0] + 0.1)) printf("  breathing words in notes: mild %.2f, severe %.2f\n", share[0], share[1]);
    free(label);
    free(global);
    free(prog);
    cx_record_free(&r);
    cx_phantom_free(ph);
}

/* 16-bit output is the same picture with real 16-bit detail: > 256 levels, low bytes in use,
 * the full range reached, and within one 8-bit step of the 8-bit rendering. */
TEST(phantom_16bit) {
    cx_phantom_config cfg;
    cx_phantom_defaults(&cfg);
    cfg.patients = 3;
    cx_phantom *p8 = cx_phantom_new(&cfg);
    cfg.bits = 16;
    cx_phantom *p16 = cx_phantom_new(&cfg);
    cx_record a, b;
    cx_record_init(&a);
    cx_record_init(&b);
    CHECK_EQ(cx_phantom_record(p8, 0, &a), 0);
    CHECK_EQ(cx_phantom_record(p16, 0, &b), 0);
    const cx_tensor *t8 = cx_record_tensor(&a, "image"), *t16 = cx_record_tensor(&b, "image");
    CHECK(t8->dtype == CX_U8 && t16->dtype == CX_U16);
    const uint8_t *v8 = t8->data;
    const uint16_t *v16 = t16->data;
    uint8_t *seen = calloc(65536, 1);
    int distinct = 0, low_bytes = 0, far = 0, max = 0;
    for (int p = 0; p < 128 * 128; p++) {
        distinct += !seen[v16[p]];
        seen[v16[p]] = 1;
        low_bytes += (v16[p] & 0xff) != 0;
        far += fabs(v16[p] / 257.0 - v8[p]) > 1.0;
        max = v16[p] > max ? v16[p] : max;
    }
    if (!CHECK(distinct > 256)) printf("  %d distinct levels\n", distinct);
    CHECK(low_bytes > 128 * 128 * 9 / 10);
    CHECK(max > 50000);
    CHECK_EQ(far, 0);
    free(seen);
    cx_record_free(&a);
    cx_record_free(&b);
    cx_phantom_free(p8);
    cx_phantom_free(p16);
}

/* Extreme shapes render, with a lung mask inside the image and a matching box. */
TEST(phantom_shapes) {
    int sizes[3][2] = {{64, 1024}, {1024, 64}, {64, 64}};
    for (int k = 0; k < 3; k++) {
        cx_phantom *ph = phantom(sizes[k][0], sizes[k][1], 1, 0, 2);
        cx_record r;
        cx_record_init(&r);
        CHECK_EQ(cx_phantom_record(ph, 0, &r), 0);
        const cx_tensor *m = cx_record_tensor(&r, "mask");
        CHECK(m->shape[0] == sizes[k][1] && m->shape[1] == sizes[k][0]);
        long lung = 0;
        for (int64_t p = 0; p < m->shape[0] * m->shape[1]; p++) lung += ((const uint8_t *)m->data)[p];
        CHECK(lung > 0);
        const cx_value *box = cx_map_get(&r.meta, "lung_bbox");
        CHECK(box && box->u.arr.items[2].u.i <= sizes[k][0] && box->u.arr.items[3].u.i <= sizes[k][1]);
        cx_record_free(&r);
        cx_phantom_free(ph);
    }
}
