/* CSV tables (lib/io/csv.c). The expected cells are what RFC 4180 says the text holds, written
 * out by hand; the random round trip quotes its own cells independently of the parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/rng.h"
#include "io/csv.h"
#include "test.h"

static bool parse(const char *text, cx_csv *csv) {
    int rc = cx_csv_parse(text, strlen(text), "labels.csv", csv);
    if (rc) printf("  unexpected error: %s\n", cx_errmsg());
    return CHECK_EQ(rc, 0);
}

/* Every header name and cell, row by row, against want (ncols * (nrows + 1) strings). */
static void check_table(const cx_csv *csv, size_t ncols, size_t nrows, const char *const *want) {
    if (!CHECK_EQ(csv->ncols, ncols) || !CHECK_EQ(csv->nrows, nrows)) return;
    for (size_t c = 0; c < ncols; c++)
        if (!CHECK(strcmp(csv->header[c], want[c]) == 0)) printf("  header %zu: '%s'\n", c, csv->header[c]);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++)
            if (!CHECK(strcmp(cx_csv_cell(csv, r, c), want[(r + 1) * ncols + c]) == 0))
                printf("  cell %zu,%zu: '%s', want '%s'\n", r, c, cx_csv_cell(csv, r, c), want[(r + 1) * ncols + c]);
}

/* cx_csv_parse must fail with EX_DATAERR and a message holding each of the fragments. */
static void check_rejected(const char *text, const char *fragment1, const char *fragment2) {
    cx_csv csv;
    CHECK_EQ(cx_csv_parse(text, strlen(text), "labels.csv", &csv), EX_DATAERR);
    const char *msg = cx_errmsg();
    if (!CHECK(strstr(msg, fragment1) && (!fragment2 || strstr(msg, fragment2)))) printf("  message: %s\n", msg);
    CHECK(csv.cells == NULL && csv.header == NULL && csv.nrows == 0);
}

TEST(csv_quoting_and_crlf) {
    const char *text = "id,name,note\r\n"
                       "1,\"Smith, J\",\"said \"\"hi\"\"\"\r\n"
                       "2,plain,\"two\r\nlines, one \"\"quote\"\"\"\r\n"
                       "3,,\"\"\r\n";
    const char *want[] = {"id", "name", "note",
                          "1", "Smith, J", "said \"hi\"",
                          "2", "plain", "two\r\nlines, one \"quote\"",
                          "3", "", ""};
    cx_csv csv;
    if (!parse(text, &csv)) return;
    check_table(&csv, 3, 3, want);
    CHECK(csv.lines[0] == 2 && csv.lines[1] == 3 && csv.lines[2] == 5);
    cx_csv_free(&csv);
}

TEST(csv_bom_lf_and_no_final_newline) {
    const char *text = "\xEF\xBB\xBFpatient,center\nP1,A\n\"P2\",B";
    const char *want[] = {"patient", "center", "P1", "A", "P2", "B"};
    cx_csv csv;
    if (!parse(text, &csv)) return;
    check_table(&csv, 2, 2, want);
    CHECK_EQ(cx_csv_col(&csv, "patient"), 0);   /* the BOM is not part of the first name */
    cx_csv_free(&csv);
}

TEST(csv_blank_last_lines_ignored) {
    const char *want[] = {"a", "b", "1", "2"};
    const char *texts[] = {"a,b\n1,2\n", "a,b\n1,2\n\n", "a,b\r\n1,2\r\n\r\n", "a,b\n1,2\n\n\n\r\n"};
    for (int k = 0; k < 4; k++) {
        cx_csv csv;
        if (!parse(texts[k], &csv)) continue;
        check_table(&csv, 2, 1, want);
        cx_csv_free(&csv);
    }
    /* a blank line in the middle of a one-column table is an empty cell */
    const char *want1[] = {"x", "1", "", "3"};
    cx_csv csv;
    if (!parse("x\n1\n\n3\n", &csv)) return;
    check_table(&csv, 1, 3, want1);
    cx_csv_free(&csv);
}

TEST(csv_empty_first_line_is_one_unnamed_column) {
    const char *want[] = {"", "k1", "", "k2"};
    cx_csv csv;
    if (!parse("\nk1\n\nk2\n", &csv)) return;
    check_table(&csv, 1, 3, want);
    cx_csv_free(&csv);
}

TEST(csv_header_only) {
    cx_csv csv;
    if (!parse("a,b,c\n", &csv)) return;
    CHECK_EQ(csv.ncols, 3);
    CHECK_EQ(csv.nrows, 0);
    CHECK_EQ(cx_csv_find(&csv, 1, "x"), -1);
    cx_csv_free(&csv);
}

TEST(csv_malformed) {
    check_rejected("a,b\n1,2\n3\n", "labels.csv:3:", "1 fields");
    check_rejected("a,b\n1,2,3\n", "labels.csv:2:", "3 fields");
    check_rejected("a,b\n\"1\n2\",2\n3,4,5\n", "labels.csv:4:", NULL);   /* lines counted inside quotes */
    check_rejected("id,x,id\n1,2,3\n", "labels.csv:1:", "'id'");
    check_rejected("a,b\n1,\"open\n", "labels.csv:2:", "never closed");
    check_rejected("a,b\n1,\"x\"y\n", "labels.csv:2:", "column 2");
    check_rejected("a,b\n1,x\"y\"\n", "labels.csv:2:", "quote");
    check_rejected("", "labels.csv", "no header");
    check_rejected("\r\n\n", "labels.csv", "no header");
    const char nul[] = "a,b\n1,x\0y\n";
    cx_csv csv;
    CHECK_EQ(cx_csv_parse(nul, sizeof nul - 1, "labels.csv", &csv), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "NUL") != NULL);
}

TEST(csv_column_lookup) {
    cx_csv csv;
    if (!parse("id,label,fold\n1,0,2\n", &csv)) return;
    CHECK_EQ(cx_csv_col(&csv, "fold"), 2);
    CHECK_EQ(cx_csv_col(&csv, "id"), 0);
    CHECK_EQ(cx_csv_col(&csv, "severity"), -1);
    CHECK_EQ(cx_errcode(), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "labels.csv") && strstr(cx_errmsg(), "severity"));
    cx_csv_free(&csv);
}

TEST(csv_find_by_key) {
    enum { N = 300 };
    /* rows in a shuffled order; column 0 "P<k>", column 1 "<k * 7>" */
    int64_t order[N];
    for (int i = 0; i < N; i++) order[i] = i;
    cx_rng r;
    cx_rng_seed(&r, 5);
    cx_rng_shuffle_i64(&r, order, N);
    size_t cap = 32 * N, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "patient,score\n");
    for (int i = 0; i < N; i++) len += (size_t)snprintf(text + len, cap - len, "P%lld,%lld\n", (long long)order[i], (long long)order[i] * 7);
    cx_csv csv;
    if (parse(text, &csv)) {
        int bad = 0;
        char key[32];
        for (int k = 0; k < N; k++) {
            snprintf(key, sizeof key, "P%d", k);
            long row = cx_csv_find(&csv, 0, key);
            bad += row < 0 || order[row] != k;
            snprintf(key, sizeof key, "%d", k * 7);
            row = cx_csv_find(&csv, 1, key);   /* another key column: the index is rebuilt */
            bad += row < 0 || order[row] != k;
        }
        CHECK_EQ(bad, 0);
        CHECK_EQ(cx_csv_find(&csv, 0, "P300"), -1);
        CHECK_EQ(cx_csv_find(&csv, 0, ""), -1);
        CHECK_EQ(cx_csv_find(&csv, 2, "P1"), -2);
        cx_csv_free(&csv);
    }
    free(text);
}

TEST(csv_duplicate_key) {
    cx_csv csv;
    if (!parse("id,label\nA,1\nB,0\n\"multi\nline\",1\nA,0\n", &csv)) return;
    CHECK_EQ(cx_csv_find(&csv, 1, "1"), -2);   /* label repeats */
    CHECK_EQ(cx_csv_find(&csv, 0, "B"), -2);   /* A on lines 2 and 6 */
    CHECK_EQ(cx_errcode(), EX_DATAERR);
    const char *msg = cx_errmsg();
    if (!CHECK(strstr(msg, "labels.csv") && strstr(msg, "'A'") && strstr(msg, "2 and 6"))) printf("  message: %s\n", msg);
    cx_csv_free(&csv);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

TEST(csv_read_file_and_stdin) {
    const char *path = cx_test_tmp("labels.csv");
    write_file(path, "k,v\nx,\"1,5\"\n");
    const char *want[] = {"k", "v", "x", "1,5"};
    cx_csv csv;
    if (CHECK_EQ(cx_csv_read(path, &csv), 0)) {
        check_table(&csv, 2, 1, want);
        CHECK(strcmp(csv.name, path) == 0);
        cx_csv_free(&csv);
    }
    int saved = dup(0);
    if (CHECK(freopen(path, "rb", stdin) != NULL)) {
        if (CHECK_EQ(cx_csv_read("-", &csv), 0)) {
            check_table(&csv, 2, 1, want);
            cx_csv_free(&csv);
        }
    }
    dup2(saved, 0);
    close(saved);
    clearerr(stdin);
    CHECK_EQ(cx_csv_read(cx_test_tmp("absent.csv"), &csv), EX_NOINPUT);
    CHECK(strstr(cx_errmsg(), "absent.csv") != NULL);
}

/* Random tables with commas, quotes, CR, LF and UTF-8 in the cells, written with RFC 4180
 * quoting (always where needed, sometimes where not) and either line end, parse back whole. */
TEST(csv_random_round_trip) {
    static const char *pieces[] = {"a", "Zz", ",", "\"", "\n", "\r\n", "\r", " ", "\xc3\xa9", "0.5", ""};
    enum { NPIECES = sizeof pieces / sizeof pieces[0] };
    cx_rng r;
    cx_rng_seed(&r, 11);
    for (int trial = 0; trial < 40; trial++) {
        size_t ncols = 1 + cx_rng_below(&r, 5), nrows = cx_rng_below(&r, 8), ncells = ncols * (nrows + 1);
        const char *eol = cx_rng_below(&r, 2) ? "\r\n" : "\n";
        char **cells = calloc(ncells, sizeof *cells);
        char *text = calloc(ncells * 64 + 64, 1);
        size_t len = 0;
        for (size_t i = 0; i < ncells; i++) {
            cells[i] = calloc(32, 1);
            if (i < ncols) snprintf(cells[i], 32, "col%zu", i);   /* header names are unique */
            else
                for (uint64_t k = cx_rng_below(&r, 5); k > 0; k--) strcat(cells[i], pieces[cx_rng_below(&r, NPIECES)]);
            bool special = strpbrk(cells[i], ",\"\r\n") != NULL || (ncols == 1 && !cells[i][0]);
            bool quote = special || cx_rng_below(&r, 4) == 0;
            if (quote) text[len++] = '"';
            for (const char *p = cells[i]; *p; p++) {
                if (*p == '"') text[len++] = '"';
                text[len++] = *p;
            }
            if (quote) text[len++] = '"';
            const char *sep = (i + 1) % ncols ? "," : eol;
            bool last = i + 1 == ncells;
            if (!last || cx_rng_below(&r, 2)) len += (size_t)sprintf(text + len, "%s", sep);   /* final newline optional */
        }
        cx_csv csv;
        if (parse(text, &csv)) {
            check_table(&csv, ncols, nrows, (const char *const *)cells);
            cx_csv_free(&csv);
        }
        for (size_t i = 0; i < ncells; i++) free(cells[i]);
        free(cells);
        free(text);
    }
}
