/* Cross-validation folds: stratified, patient-grouped k-fold and leave-one-center-out.
 *
 * A fold table is what a first pass over a stream collects: per record only its group (the
 * patient: all records of one group share a fold), its class (the joint value of the
 * stratification fields) and, for leave-one-center-out, its center. The folds are then
 * assigned per group, and a second pass writes each record's fold (cxr-folds(1)).
 *
 * Keys are text: a group or center is its value's plain form (as cxr-inspect shows it); a class
 * is the JSON form of each stratification field's value joined by ',', an absent field counting
 * as null, so "absent" is a value of its own: "\"brixia\",null,2".
 */
#ifndef CX_DATA_FOLDS_H
#define CX_DATA_FOLDS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/value.h"

/* Distinct strings, each with a dense index in order of first appearance. */
typedef struct {
    char **names;       /* [n] */
    int64_t n, cap;
    int64_t *slots;     /* open-addressing hash table of indices + 1; 0 = empty */
    int64_t nslots;
} cx_keyset;

void cx_keyset_init(cx_keyset *s);
void cx_keyset_free(cx_keyset *s);
int64_t cx_keyset_add(cx_keyset *s, const char *name);          /* its index; added when new */
int64_t cx_keyset_find(const cx_keyset *s, const char *name);   /* -1 when absent */

/* What decides a record's group, class and center. */
typedef struct {
    const char *group;            /* meta field of the group ("patient"); NULL: each record alone */
    const char *stratify;         /* comma list of meta fields; NULL: one class */
    const char *center;           /* meta field of the center for leave-one-center-out; NULL: k-fold */
    const char *missing_center;   /* center of records without one; NULL: such a record is an error */
} cx_fold_spec;

typedef struct {
    cx_fold_spec spec;
    cx_keyset groups, classes, centers;
    int64_t ngroups;              /* == groups.n, or nrecords when spec.group is NULL */
    int64_t nrecords, cap;
    int64_t *record_group;        /* [nrecords] */
    int64_t *record_class;        /* [nrecords] */
    int64_t *group_center;        /* [ngroups] when spec.center is set */
} cx_fold_table;

void cx_fold_table_init(cx_fold_table *t, const cx_fold_spec *spec);
void cx_fold_table_free(cx_fold_table *t);
/* Note the next record from its metadata. 0, or EX_DATAERR recorded as "meta.FIELD: ..." (a missing
 * group or center, a group seen in two centers) for the caller to prefix with the record. */
int cx_fold_table_add(cx_fold_table *t, const cx_value *meta);

/* Per group, its record count in each class: [ngroups, nclasses], malloc'd. */
int64_t *cx_fold_table_group_counts(const cx_fold_table *t);

/* Stratified group k-fold (the greedy of scikit-learn's StratifiedGroupKFold): groups in the given
 * order (shuffled with seed when shuffle is set), stably sorted by decreasing standard deviation of
 * their class counts, each go to the fold that minimises the mean over classes of the standard
 * deviation over folds of the fraction of the class in the fold (ties: the fold with fewer records,
 * then the lower index). One change: when as many groups are left as folds are empty, a group goes
 * to an empty fold, so that no fold ends empty.
 * counts [ngroups, nclasses]; fold_of_group [ngroups] out. EX_DATAERR when k > ngroups or k < 2. */
int cx_folds_stratified(const int64_t *counts, int64_t ngroups, int64_t nclasses, int k, bool shuffle,
                        uint64_t seed, int *fold_of_group);

/* Leave-one-center-out: fold of each group = rank of its center among the center names in byte
 * order. Returns the number of folds (centers); EX_DATAERR recorded and -1 for fewer than 2. */
int cx_folds_by_center(const cx_fold_table *t, int *fold_of_group);
/* The names of the centers in fold order ([ncenters], pointers into t). */
void cx_folds_center_names(const cx_fold_table *t, const char **names);

/* Class counts per fold [k, nclasses] (calloc'd) from per-group counts. */
int64_t *cx_folds_class_counts(const int64_t *counts, int64_t ngroups, int64_t nclasses, int k,
                               const int *fold_of_group);
/* The balance of an assignment: mean over classes of the (population) standard deviation over the
 * k folds of the fraction of the class's records in each fold; 0 is perfect. fold_counts [k, nclasses]. */
double cx_folds_spread(const int64_t *fold_counts, int k, int64_t nclasses);

/* The summary table, tab-separated: fold, center (leave-one-center-out), records, groups, then one
 * column per class (its key), a total row and the spread as a comment line. */
void cx_folds_summary(FILE *f, const cx_fold_table *t, int k, const int *fold_of_group);

#endif
