/* Featurisation (features/features.h) against numpy and scikit-learn (tests/ref/gen_features.py):
 * standardisation and imputation, one-hot levels, TF-IDF with a vocabulary (TfidfVectorizer) and
 * hashed (TfidfTransformer of FNV-1a counts); the tokeniser directly; the parameter stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "features/features.h"
#include "io/stream.h"
#include "test.h"

#define MAX_RECORDS 16

typedef struct {
    cx_record rec[MAX_RECORDS];
    int n;
    int64_t vocabulary;   /* sklearn's vocabulary size */
} fixture;

static bool fixture_read(fixture *fx) {
    memset(fx, 0, sizeof *fx);
    cx_reader *in = cx_reader_open("tests/data/ref/features.cxs");
    if (!CHECK(in != NULL)) return false;
    const cx_value *vocab = cx_map_get(cx_reader_header(in), "vocabulary");
    fx->vocabulary = vocab && vocab->kind == CX_ARRAY ? (int64_t)vocab->u.arr.n : -1;
    cx_record_init(&fx->rec[0]);
    while (fx->n < MAX_RECORDS && cx_reader_next(in, &fx->rec[fx->n]) == 1) cx_record_init(&fx->rec[++fx->n]);
    cx_reader_close(in);
    return CHECK(fx->n == 9);
}

static void fixture_free(fixture *fx) {
    for (int i = 0; i <= fx->n && i < MAX_RECORDS; i++) cx_record_free(&fx->rec[i]);
}

static bool is_train(const cx_record *r) { return !strcmp(cx_map_str(&r->meta, "split", ""), "train"); }

static cx_features *fit(fixture *fx, int text_dim) {
    cx_features *f = cx_features_new("age,sex,spo2,crp", "note", text_dim);
    if (!CHECK(f != NULL)) return NULL;
    for (int i = 0; i < fx->n; i++)
        if (is_train(&fx->rec[i])) CHECK(cx_features_fit_add(f, &fx->rec[i]) == 0);
    CHECK(cx_features_fit_finish(f) == 0);
    return f;
}

/* Apply f to a copy of every record; compare "tabular" and "text" with the reference tensors. */
static void check_against(fixture *fx, const cx_features *f, const char *text_ref) {
    for (int i = 0; i < fx->n; i++) {
        cx_record r;
        cx_record_init(&r);
        cx_record_copy(&r, &fx->rec[i]);
        if (!CHECK(cx_features_apply(f, &r) == 0)) continue;
        /* the copy's own "tabular" (the reference) was replaced by the computed one */
        const cx_tensor *tab = cx_record_tensor(&r, "tabular"), *want_tab = cx_record_tensor(&fx->rec[i], "tabular");
        const cx_tensor *text = cx_record_tensor(&r, "text"), *want_text = cx_record_tensor(&fx->rec[i], text_ref);
        if (CHECK(tab && want_tab && tab->shape[0] == want_tab->shape[0]))
            CHECK_CLOSE_F32(tab->data, want_tab->data, tab->shape[0], 1e-5, 1e-6);
        if (CHECK(text && want_text && text->shape[0] == want_text->shape[0]))
            CHECK_CLOSE_F32(text->data, want_text->data, text->shape[0], 1e-5, 1e-6);
        cx_record_free(&r);
    }
}

TEST(features_tfidf_vocabulary_sklearn) {
    fixture fx;
    if (!fixture_read(&fx)) return;
    cx_features *f = fit(&fx, 0);
    CHECK(cx_features_text_width(f) == fx.vocabulary);
    CHECK(cx_features_tabular_width(f) == 9);
    check_against(&fx, f, "text_vocab");
    cx_features_free(f);
    fixture_free(&fx);
}

TEST(features_tfidf_hashed_sklearn) {
    fixture fx;
    if (!fixture_read(&fx)) return;
    cx_features *f = fit(&fx, 16);
    CHECK(cx_features_text_width(f) == 16);
    check_against(&fx, f, "text_hash");
    cx_features_free(f);
    fixture_free(&fx);
}

/* The parameter stream holds everything: a loaded set gives the same vectors. */
TEST(features_save_load) {
    fixture fx;
    if (!fixture_read(&fx)) return;
    for (int text_dim = 0; text_dim <= 16; text_dim += 16) {
        cx_features *f = fit(&fx, text_dim);
        const char *path = cx_test_tmp("params.cxs");
        CHECK(cx_features_save(f, path, NULL) == 0);
        cx_features *back = cx_features_load(path);
        if (!CHECK(back != NULL)) continue;
        CHECK(cx_features_header(back) != NULL);
        CHECK(cx_features_tabular_width(back) == cx_features_tabular_width(f));
        for (int64_t c = 0; c < cx_features_tabular_width(f); c++)
            CHECK(!strcmp(cx_features_tabular_column(back, c), cx_features_tabular_column(f, c)));
        check_against(&fx, back, text_dim ? "text_hash" : "text_vocab");
        cx_features_free(back);
        cx_features_free(f);
    }
    fixture_free(&fx);
}

TEST(features_columns) {
    fixture fx;
    if (!fixture_read(&fx)) return;
    cx_features *f = fit(&fx, 8);
    static const char *const want[] = {"age", "age_missing", "sex=F", "sex=M", "sex_missing",
                                       "spo2", "spo2_missing", "crp", "crp_missing"};
    for (int c = 0; c < 9; c++) CHECK(!strcmp(cx_features_tabular_column(f, c), want[c]));
    CHECK(cx_features_tabular_column(f, 9) == NULL);
    cx_features_free(f);
    fixture_free(&fx);
}

static void collect(const char *term, void *ctx) {
    char *buf = ctx;
    strcat(buf, term);
    strcat(buf, "|");
}

TEST(features_tokens) {
    char buf[512] = "";
    cx_text_terms("Dry-cough, SpO2 85%!\xc3\xa9t\xc3\xa9 x", collect, buf);
    CHECK(!strcmp(buf, "dry|cough|dry cough|spo2|cough spo2|85|spo2 85|t|85 t|x|t x|"));
    buf[0] = 0;
    cx_text_terms(" ,;  ", collect, buf);
    CHECK(buf[0] == 0);
    CHECK(cx_fnv1a64("") == 14695981039346656037ull);
    CHECK(cx_fnv1a64("a") == 0xaf63dc4c8601ec8cull);   /* the published FNV-1a test vector */
}

TEST(features_errors) {
    cx_record r;
    cx_record_init(&r);
    cx_map_set(&r.meta, "age", cx_str("old"));
    cx_map_set(&r.meta, "note", cx_int(3));
    CHECK(cx_features_new(NULL, NULL, 16) == NULL && cx_errcode() == EX_USAGE);
    CHECK(cx_features_new("age,age", NULL, 16) == NULL && cx_errcode() == EX_USAGE);
    cx_features *f = cx_features_new(NULL, "note", 16);
    CHECK(cx_features_fit_add(f, &r) == EX_DATAERR && strstr(cx_errmsg(), "meta.note") != NULL);
    cx_features_free(f);
    f = cx_features_new("spo2", NULL, 16);
    CHECK(cx_features_fit_add(f, &r) == 0);
    CHECK(cx_features_fit_finish(f) == EX_DATAERR && strstr(cx_errmsg(), "meta.spo2: no value") != NULL);
    cx_features_free(f);
    /* a field numeric in training that holds a word later */
    cx_record train;
    cx_record_init(&train);
    cx_map_set(&train.meta, "age", cx_int(50));
    f = cx_features_new("age", NULL, 16);
    CHECK(cx_features_fit_add(f, &train) == 0 && cx_features_fit_finish(f) == 0);
    CHECK(cx_features_apply(f, &r) == EX_DATAERR && strstr(cx_errmsg(), "meta.age: not a number") != NULL);
    /* one training value: std 0 becomes 1 */
    cx_map_set(&train.meta, "age", cx_int(53));
    CHECK(cx_features_apply(f, &train) == 0);
    CHECK_NEAR(((float *)cx_record_tensor(&train, "tabular")->data)[0], 3, 0, 0);
    cx_features_free(f);
    cx_record_free(&train);
    cx_record_free(&r);
    CHECK(cx_features_load("tests/data/ref/features.cxs") == NULL && cx_errcode() == EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "not \"features\"") != NULL);
    cx_err_clear();
}
