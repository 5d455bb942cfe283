/* The MDMT report's Table 1 and plots (mt-report(1), mt-roc(1)).
 *
 * A cx_report collects the records of a summary stream (mt-summary -o: per backbone,
 * experiment, protocol and task, <metric>_mean and <metric>_std over the folds) for one task.
 * Table 1 is, per experiment and protocol, the mean over backbones of the fold means (the
 * paper's "average model performance ... across different backbone architectures"). The bar
 * chart shows every backbone's fold mean with its fold std as a whisker, one bar per experiment.
 * Plots are gnuplot scripts with their data inline; they draw a PNG named in the script, which
 * a caller may replace with `gnuplot -e "png='OTHER.png'" SCRIPT`.
 */
#ifndef CX_EVAL_REPORT_H
#define CX_EVAL_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "eval/roc.h"
#include "io/stream.h"

typedef struct {
    char *backbone, *experiment, *protocol;
    double *mean, *std;   /* [nmetrics]; NaN when null */
} cx_report_cell;

typedef struct {
    char *task;            /* the task reported; NULL until known (the only task of the input) */
    bool task_given;     /* --task given: records of other tasks are skipped, not an error */
    char **metric;         /* short names: acc, f1, gmean */
    int nmetrics;
    cx_report_cell *cell;
    int ncells, cap;
    /* after cx_report_finish: backbones and experiments in the order they first appear,
     * protocols sorted (cv before loco) */
    char **backbone, **experiment, **protocol;
    int nb, ne, np;
    int *cell_at;          /* [nb, ne, np] -> cell index, or -1 */
} cx_report;

/* task: the task to report, or NULL for the only task in the input; metrics: comma list
 * (NULL: "acc,f1,gmean"). 0 or EX_USAGE (an empty or repeated metric). */
int cx_report_init(cx_report *r, const char *task, const char *metrics);
void cx_report_free(cx_report *r);

/* One record of a summary stream; records of other tasks are skipped. source and the record's
 * index and id name it in errors. 0, EX_DATAERR (a field missing, a metric neither number nor
 * null, a (backbone, experiment, protocol) seen twice) or EX_USAGE (a second task and no task
 * chosen); recorded. */
int cx_report_add(cx_report *r, const cx_record *rec, const char *source);

/* Lays the cells out. 0 or EX_DATAERR (no record of the task). */
int cx_report_finish(cx_report *r);

/* Table 1 in Markdown: a row per experiment, a column per protocol and metric ("CV ACC"), each
 * cell the mean over backbones of the fold means in percent with one decimal; "-" where no
 * backbone has a value, and "*" after a mean over fewer backbones than the table has. */
void cx_report_table1(const cx_report *r, FILE *f);

/* A gnuplot script drawing, per protocol (columns) and metric (rows), a bar per backbone and
 * experiment: the fold mean in percent, the fold std as a whisker (none when undefined). */
void cx_report_bars(const cx_report *r, FILE *f, const char *png);

/* A gnuplot script drawing ROC curves, one per name, with their AUC in the key, and the
 * diagonal. */
void cx_roc_plot(FILE *f, const char *png, const char *title, int ncurves, char *const *name, const cx_roc *curve);

#endif
