/* The questions stat-ttest answers on a table of runs: one row per run (a record of a metrics
 * or summary stream, or a row of a CSV/TSV file), two sides chosen by a field's value
 * (experiment=mdmt against experiment=stl), a numeric column compared between them, rows paired
 * by key fields (backbone) for the paired tests. Then the answers as TSV, as Markdown (the
 * MDMT paper's Table 2 block) or as text.
 */
#ifndef CX_STATS_COMPARE_H
#define CX_STATS_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/value.h"
#include "io/select.h"
#include "stats/tests.h"

typedef struct {
    cx_value meta;   /* the row's fields (a map) */
    char *where;     /* 'record 3 (id "x")' or 'line 4', for messages */
} cx_run;

typedef struct {
    char *name;      /* the file, for messages */
    cx_run *runs;
    size_t n, cap;
} cx_run_table;

/* Read a cxr-mtl stream (any kind; record metadata are the fields, tensors are ignored) or a
 * text table with a header row, tab-separated when its first line holds a tab, CSV otherwise;
 * text cells are read as command-line values are (numbers become numbers, an empty cell is
 * absent). The kind is told by the first byte (a stream starts with a msgpack map). "-" is
 * standard input. Keeps the rows that sel matches (sel NULL: all). 0 or an error code
 * (EX_NOINPUT, EX_DATAERR, EX_IOERR; recorded, naming the file). */
int cx_run_table_read(const char *path, cx_selection *sel, cx_run_table *t);
void cx_run_table_free(cx_run_table *t);

typedef struct {
    const char *field, *a, *b;   /* side a: rows whose field reads a; side b: reads b */
    const char *column;          /* the numeric field compared */
    cx_test_kind test;
    cx_alternative alternative;
    double confidence;
    const char *pair_by;         /* comma-separated key fields, or NULL (then only Welch and Student) */
    bool drop_unpaired;          /* drop unpaired keys and rows without a value instead of failing */
    int row, col;                /* the question's cell in the Markdown grid */
} cx_question;

typedef struct {
    cx_question q;
    cx_test_result r;
    char **dropped;              /* what --drop-unpaired dropped, one line each, for warnings */
    size_t ndropped;
} cx_answer;

/* Pair (or gather) the values and run the test. With pair_by, every key must occur once per
 * side; a key on one side only, or a row without a value, is an error naming the key (or is
 * dropped and listed in ans->dropped when drop_unpaired). Values must be finite numbers.
 * 0 or an error code (recorded, naming the file, the row and the field). */
int cx_answer_question(const cx_run_table *t, const cx_question *q, cx_answer *ans);
void cx_answer_free(cx_answer *ans);

/* One line per answer under a header row; every number in full ("%.15g"; an infinite value is
 * inf or -inf, an undefined one an empty cell, explained in the note column). */
void cx_answers_write_tsv(FILE *f, const cx_answer *ans, size_t n);
/* The Table 2 block: one table row per distinct q.row, one column per q.col, cells "p stars". */
void cx_answers_write_markdown(FILE *f, const cx_answer *ans, size_t n);
/* A paragraph per answer, for reading. */
void cx_answers_write_text(FILE *f, const cx_answer *ans, size_t n);

#endif
