/* Cross-validation folds (lib/data/folds.c) against scikit-learn 1.2's StratifiedGroupKFold
 * (tests/data/ref/folds.cxs from tests/ref/gen_folds.py) and direct checks of the fold table. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/folds.h"
#include "spatial_ref.h"
#include "test.h"

/* Spread allowed above scikit-learn's unshuffled folds when ties are broken by a seed instead. */
#define SPREAD_MARGIN 0.005

typedef struct {
    int64_t n, ngroups, nclasses;
    const int64_t *group, *klass;
    int64_t *counts;   /* [ngroups, nclasses] */
} ref_case;

static bool case_load(ref_case *c, const cx_record *rec) {
    const cx_tensor *g = cx_record_tensor(rec, "group");
    if (!CHECK(g && g->ndim == 1)) return false;
    c->n = g->shape[0];
    c->group = ref_i64(rec, "group", c->n);
    c->klass = ref_i64(rec, "klass", c->n);
    if (!c->group || !c->klass) return false;
    c->ngroups = c->nclasses = 0;
    for (int64_t i = 0; i < c->n; i++) {
        if (c->group[i] + 1 > c->ngroups) c->ngroups = c->group[i] + 1;
        if (c->klass[i] + 1 > c->nclasses) c->nclasses = c->klass[i] + 1;
    }
    c->counts = calloc((size_t)(c->ngroups * c->nclasses), sizeof *c->counts);
    for (int64_t i = 0; i < c->n; i++) c->counts[c->group[i] * c->nclasses + c->klass[i]]++;
    return true;
}

static double case_spread(const ref_case *c, int k, const int *fold_of_group) {
    int64_t *fold_counts = cx_folds_class_counts(c->counts, c->ngroups, c->nclasses, k, fold_of_group);
    double spread = cx_folds_spread(fold_counts, k, c->nclasses);
    free(fold_counts);
    return spread;
}

/* Every fold holds at least one group. */
static bool folds_filled(const int *fold_of_group, int64_t ngroups, int k) {
    int *groups = calloc((size_t)k, sizeof *groups);
    bool ok = true;
    for (int64_t g = 0; g < ngroups; g++) {
        if (fold_of_group[g] < 0 || fold_of_group[g] >= k) ok = false;
        else groups[fold_of_group[g]]++;
    }
    for (int f = 0; f < k; f++) ok = ok && groups[f] > 0;
    free(groups);
    return ok;
}

/* Without shuffling, the greedy places every group where scikit-learn does (when scikit-learn
 * fills every fold), and the spread formula gives numpy's number for scikit-learn's folds. */
TEST(folds_match_sklearn_unshuffled) {
    ref_cases rc;
    ref_open(&rc, "folds");
    int compared = 0;
    while (ref_next(&rc)) {
        ref_case c;
        if (!case_load(&c, &rc.rec)) continue;
        int k = ref_int(&rc.rec, "k");
        const int64_t *sk_fold = ref_i64(&rc.rec, "sklearn_fold", c.n);
        int *fold_of_group = malloc((size_t)c.ngroups * sizeof *fold_of_group);
        CHECK_EQ(cx_folds_stratified(c.counts, c.ngroups, c.nclasses, k, false, 0, fold_of_group), 0);
        if (!ref_flag(&rc.rec, "sklearn_empty_fold")) {
            int64_t differ = 0;
            for (int64_t i = 0; i < c.n; i++) differ += fold_of_group[c.group[i]] != sk_fold[i];
            if (!CHECK_EQ(differ, 0)) fprintf(stderr, "  case %s: %lld records in another fold\n", rc.rec.id, (long long)differ);
            CHECK_NEAR(case_spread(&c, k, fold_of_group), ref_num(&rc.rec, "spread_sklearn"), 1e-12, 1e-15);
            compared++;
        }
        free(fold_of_group);
        free(c.counts);
    }
    ref_close(&rc);
    CHECK(compared >= 4);
}

/* With ties broken by a seed the folds are as balanced as scikit-learn's (within a margin), and
 * the same seed gives the same folds. */
TEST(folds_balance_with_seeds_like_sklearn) {
    ref_cases rc;
    ref_open(&rc, "folds");
    while (ref_next(&rc)) {
        ref_case c;
        if (!case_load(&c, &rc.rec)) continue;
        int k = ref_int(&rc.rec, "k");
        double sk_spread = ref_num(&rc.rec, "spread_sklearn");
        int *first = malloc((size_t)c.ngroups * sizeof *first), *again = malloc((size_t)c.ngroups * sizeof *again);
        double worst = 0;
        for (uint64_t seed = 1; seed <= 10; seed++) {
            CHECK_EQ(cx_folds_stratified(c.counts, c.ngroups, c.nclasses, k, true, seed, first), 0);
            CHECK(folds_filled(first, c.ngroups, k));
            double s = case_spread(&c, k, first);
            if (s > worst) worst = s;
            CHECK_EQ(cx_folds_stratified(c.counts, c.ngroups, c.nclasses, k, true, seed, again), 0);
            CHECK(!memcmp(first, again, (size_t)c.ngroups * sizeof *first));
        }
        if (!CHECK(worst <= sk_spread + SPREAD_MARGIN))
            fprintf(stderr, "  case %s: spread %.4f, scikit-learn %.4f\n", rc.rec.id, worst, sk_spread);
        free(first);
        free(again);
        free(c.counts);
    }
    ref_close(&rc);
}

/* The seed changes the order of tied groups, hence the folds. */
TEST(folds_seed_changes_assignment) {
    /* 30 one-record groups, two classes: many ties */
    int64_t counts[30 * 2];
    for (int g = 0; g < 30; g++) counts[2 * g] = g % 3 != 0, counts[2 * g + 1] = g % 3 == 0;
    int a[30], b[30];
    CHECK_EQ(cx_folds_stratified(counts, 30, 2, 5, true, 1, a), 0);
    CHECK_EQ(cx_folds_stratified(counts, 30, 2, 5, true, 2, b), 0);
    CHECK(memcmp(a, b, sizeof a) != 0);
    /* perfectly divisible: each fold gets 4 of class 0 and 2 of class 1, whatever the seed */
    int per_fold[5][2] = {{0}};
    for (int g = 0; g < 30; g++) per_fold[b[g]][g % 3 == 0]++;
    for (int f = 0; f < 5; f++) CHECK(per_fold[f][0] == 4 && per_fold[f][1] == 2);
}

TEST(folds_refuse_more_folds_than_groups) {
    int64_t counts[3] = {2, 1, 5};   /* 3 groups, 1 class */
    int fold_of_group[3];
    CHECK_EQ(cx_folds_stratified(counts, 3, 1, 4, true, 1, fold_of_group), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "4 folds but only 3 groups") != NULL);
    CHECK_EQ(cx_folds_stratified(counts, 3, 1, 1, true, 1, fold_of_group), EX_USAGE);
    CHECK_EQ(cx_folds_stratified(counts, 3, 1, 3, true, 1, fold_of_group), 0);
    CHECK(folds_filled(fold_of_group, 3, 3));
    cx_err_clear();
}

TEST(folds_spread_direct) {
    /* classes 0 and 1; fold fractions (1/2, 1/2) and (1/4, 3/4): stds 0 and 1/4 -> mean 1/8 */
    int64_t fold_counts[2 * 2] = {2, 1, 2, 3};
    CHECK_NEAR(cx_folds_spread(fold_counts, 2, 2), 0.125, 1e-15, 0);
}

TEST(folds_keyset_interns_in_order) {
    cx_keyset s;
    cx_keyset_init(&s);
    char name[32];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 1000; i++) {
            snprintf(name, sizeof name, "p-%d", i * 7919 % 1000);
            CHECK_EQ(cx_keyset_add(&s, name), i);
        }
    CHECK_EQ(s.n, 1000);
    CHECK_EQ(cx_keyset_find(&s, "p-0"), 0);
    CHECK_EQ(cx_keyset_find(&s, "p-7919"), -1);
    CHECK(!strcmp(s.names[1], "p-919"));
    cx_keyset_free(&s);
}

static cx_value meta_of(const char *patient, const char *center, const char *dataset, int label) {
    cx_value m = cx_map();
    if (patient) cx_map_set(&m, "patient", cx_str(patient));
    if (center) cx_map_set(&m, "center", cx_str(center));
    cx_map_set(&m, "dataset", cx_str(dataset));
    if (label >= 0) cx_map_set(&m, "label", cx_int(label));
    return m;
}

static int add(cx_fold_table *t, const char *patient, const char *center, const char *dataset, int label) {
    cx_value m = meta_of(patient, center, dataset, label);
    int rc = cx_fold_table_add(t, &m);
    cx_value_free(&m);
    return rc;
}

TEST(folds_table_groups_and_joint_classes) {
    cx_fold_spec spec = {.group = "patient", .stratify = "dataset,label"};
    cx_fold_table t;
    cx_fold_table_init(&t, &spec);
    CHECK_EQ(add(&t, "p1", NULL, "brixia", 2), 0);
    CHECK_EQ(add(&t, "p2", NULL, "prognosis", -1), 0);   /* no label: a class of its own */
    CHECK_EQ(add(&t, "p1", NULL, "brixia", 3), 0);
    CHECK_EQ(add(&t, "p3", NULL, "brixia", 2), 0);
    CHECK_EQ(t.nrecords, 4);
    CHECK_EQ(t.ngroups, 3);
    CHECK_EQ(t.classes.n, 3);
    CHECK(!strcmp(t.classes.names[0], "\"brixia\",2"));
    CHECK(!strcmp(t.classes.names[1], "\"prognosis\",null"));
    CHECK(t.record_group[2] == 0 && t.record_class[3] == 0);
    int64_t *counts = cx_fold_table_group_counts(&t);   /* [3 groups, 3 classes] */
    int64_t want[9] = {1, 0, 1, 0, 1, 0, 1, 0, 0};
    CHECK(!memcmp(counts, want, sizeof want));
    free(counts);
    CHECK_EQ(add(&t, NULL, NULL, "brixia", 1), EX_DATAERR);
    CHECK(!strcmp(cx_errmsg(), "meta.patient: missing"));
    cx_err_clear();
    cx_fold_table_free(&t);

    /* no group field: every record alone */
    cx_fold_spec alone = {0};
    cx_fold_table_init(&t, &alone);
    for (int i = 0; i < 3; i++) CHECK_EQ(add(&t, "p1", NULL, "brixia", 1), 0);
    CHECK_EQ(t.ngroups, 3);
    CHECK_EQ(t.classes.n, 1);
    cx_fold_table_free(&t);
}

TEST(folds_leave_one_center_out) {
    cx_fold_spec spec = {.group = "patient", .center = "center"};
    cx_fold_table t;
    cx_fold_table_init(&t, &spec);
    CHECK_EQ(add(&t, "p1", "mi", "brixia", 0), 0);
    CHECK_EQ(add(&t, "p2", "bg", "brixia", 0), 0);
    CHECK_EQ(add(&t, "p3", "to", "brixia", 0), 0);
    CHECK_EQ(add(&t, "p1", "mi", "brixia", 1), 0);
    CHECK_EQ(add(&t, "p1", "bg", "brixia", 1), EX_DATAERR);   /* one patient, two centers */
    CHECK(strstr(cx_errmsg(), "meta.patient: \"p1\" is in two centers, \"mi\" and \"bg\"") != NULL);
    CHECK_EQ(add(&t, "p4", NULL, "brixia", 1), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "meta.center: missing") == cx_errmsg());
    cx_err_clear();
    int fold_of_group[3];
    CHECK_EQ(cx_folds_by_center(&t, fold_of_group), 3);
    CHECK(fold_of_group[0] == 1 && fold_of_group[1] == 0 && fold_of_group[2] == 2);   /* bg, mi, to */
    const char *names[3];
    cx_folds_center_names(&t, names);
    CHECK(!strcmp(names[0], "bg") && !strcmp(names[1], "mi") && !strcmp(names[2], "to"));
    cx_fold_table_free(&t);

    cx_fold_spec with_missing = {.center = "center", .missing_center = "unknown"};
    cx_fold_table_init(&t, &with_missing);
    CHECK_EQ(add(&t, "p1", "mi", "brixia", 0), 0);
    CHECK_EQ(cx_folds_by_center(&t, fold_of_group), -1);   /* one center: nothing to leave out */
    CHECK(strstr(cx_errmsg(), "1 center in meta.center") == cx_errmsg());
    CHECK_EQ(add(&t, "p2", NULL, "brixia", 0), 0);
    CHECK_EQ(cx_folds_by_center(&t, fold_of_group), 2);
    CHECK(fold_of_group[0] == 0 && fold_of_group[1] == 1);   /* mi < unknown */
    cx_err_clear();
    cx_fold_table_free(&t);
}
