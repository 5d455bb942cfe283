/* Fold aggregation (mt-summary(1)): records of metrics streams grouped by some of their meta
 * fields (backbone, experiment, protocol, task), and per group and metric the mean and the
 * sample standard deviation (ddof = 1, as numpy.std(ddof=1)) over the group's records, the
 * folds. A metric that is null in a fold (undefined there) is left out of that fold's mean and
 * std; <metric>_n says how many folds gave a value.
 *
 * The summary stream (kind "summary", cxr-metrics(5)) has one record per group, in the order
 * the groups first appear; id = the group's values joined by "/"; flat meta: the --by fields,
 * `kind` (when every record of the group has the same), `n_folds`, and per metric
 * `<metric>_mean`, `<metric>_std` (null when undefined: no value, or fewer than 2 values for
 * the std) and `<metric>_n`.
 */
#ifndef CX_EVAL_SUMMARY_H
#define CX_EVAL_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "core/value.h"
#include "io/stream.h"

typedef struct {
    cx_value values;     /* array: the group's value of each --by field, in order */
    char *id;            /* those values as text joined by "/" */
    char *kind;          /* the task kind its records name, or NULL */
    int n_folds;         /* records */
    cx_value folds;      /* array: the fold-field value of each record that has one */
    double *fold_value;  /* [n_folds * nmetrics]: NaN for null or absent */
    bool *has;           /* [nmetrics]: whether the group's records carry the metric */
    double *mean, *std;  /* [nmetrics], after cx_summary_finish */
    int *defined;        /* [nmetrics]: folds with a value */
    int expected_folds;  /* the most common n_folds among comparable groups, after finish */
    int cap;
} cx_summary_group;

typedef struct {
    char **by;           /* grouping fields */
    int nby;
    const char **metric; /* the metrics looked for */
    int nmetrics;
    bool metrics_given;  /* true: every record must carry all of them; false: those of its kind */
    const char *fold_field;   /* a value seen twice in one group is an error; NULL: no check */
    int folds_by;        /* the --by field whose groups share a fold count (protocol), or -1: all */
    cx_summary_group *groups;
    int ngroups, cap;
} cx_summary;

/* by: comma list of fields; metrics: comma list, or NULL for every metric of cx_metric_names
 * (each record then must carry the metrics of its meta `kind`). folds_by: a --by field (e.g.
 * protocol: cv has k folds, loco one per center) within whose values groups are expected to
 * have the same fold count; NULL or a field not among by: all groups. 0 or EX_USAGE (an empty
 * or repeated field, an unknown metric). */
int cx_summary_init(cx_summary *s, const char *by, const char *metrics, const char *fold_field,
                    const char *folds_by);
void cx_summary_free(cx_summary *s);

/* Add one record of a metrics stream; source and the record's index and id name it in errors.
 * 0 or EX_DATAERR (a --by field or a metric missing, a metric neither number nor null, a
 * repeated fold, a kind that differs within the group; recorded). */
int cx_summary_add(cx_summary *s, const cx_record *rec, const char *source);

/* Means and standard deviations; each group's expected fold count: the most common among the
 * groups with its folds_by value (ties: the larger). */
void cx_summary_finish(cx_summary *s);

/* Whether a metric occurs in any group (tables show only those). */
bool cx_summary_metric_used(const cx_summary *s, int m);

/* One summary record per group. 0 or the writer's error code. */
int cx_summary_write(const cx_summary *s, cx_writer *w);

typedef enum { CX_TABLE_TSV, CX_TABLE_MARKDOWN } cx_table_format;

/* One row per group: the --by fields, n_folds, and <metric>_mean, <metric>_std for the metrics
 * in use (numbers with 10 significant digits in TSV, 4 decimals in Markdown). "-" marks a
 * metric the group lacks or an undefined value; "*" after n_folds a group whose fold count
 * differs from its expected_folds. */
void cx_summary_print_flat(const cx_summary *s, FILE *f, cx_table_format format);

/* The MDMT paper's Table S1 for one task: a row per (backbone, experiment), backbones and
 * experiments in the order they first appear; a column group per protocol in sorted order
 * (cv before loco), and in each a column per metric of the comma list metrics (NULL:
 * "acc,f1,gmean", headed ACC, F1, GM; others upper-cased); cells "mean(std)" in percent with one decimal ("-" for a group
 * that is missing, or an undefined mean; "69.9(-)" when the std is undefined; a "*" after a
 * cell whose group's fold count differs from its expected_folds). Needs backbone, experiment,
 * protocol and task among the --by fields and one group per cell. task NULL: the one task
 * present. 0 or EX_USAGE / EX_DATAERR (recorded). */
/* Whether backbone, experiment, protocol and task are all --by fields (as the s1 layout needs). */
bool cx_summary_has_s1_fields(const cx_summary *s);
int cx_summary_print_s1(const cx_summary *s, FILE *f, cx_table_format format, const char *task,
                        const char *metrics);

#endif
