/* The M3H task interaction measurement (TIM) and the paper's greedy task-set search, as pure
 * functions over a table of runs: (set of jointly trained tasks, task) -> that task's score.
 *
 * Tasks are numbered 0..M-1 (M <= 64) and a task set is a bitmask (bit t = task t).
 * For a source task i (the task whose score is measured) and a target task j (the task added):
 *
 *   delta[i][j] = 2^-(M-2) * sum over S subset of T \ {i,j} of [ f_i(S + {i,j}) - f_i(S + {i}) ]
 *
 * that is, the mean over the 2^(M-2) subsets S of how much adding j changes i's score. When
 * some runs are missing, cx_tim_delta averages the differences over the subsets S for which
 * both runs have a score for i (the exact value when all are present) and says how many. */
#ifndef CX_EVAL_TIM_H
#define CX_EVAL_TIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CX_TIM_MAX_TASKS 64
/* rank of a cell whose delta is undefined (no subset usable) */
#define CX_TIM_NO_RANK INT32_MIN

typedef uint64_t cx_taskset;

/* The task names, in index order; names are sorted so that index order is name order. */
typedef struct {
    char **names;
    int n;
} cx_tim_tasks;

/* From a comma list ("b,a,c"): the names sorted and unique. EX_USAGE recorded for an empty
 * name, a bad character (names are letters, digits, '_', '-', '.'), a duplicate, or more than
 * CX_TIM_MAX_TASKS names. */
int cx_tim_tasks_parse(cx_tim_tasks *tasks, const char *list);
/* Add one name (kept sorted; nothing when already there). EX_DATAERR for a bad name or too many. */
int cx_tim_tasks_add(cx_tim_tasks *tasks, const char *name);
void cx_tim_tasks_free(cx_tim_tasks *tasks);
int cx_tim_task_index(const cx_tim_tasks *tasks, const char *name);   /* -1 when absent */
/* A comma list of task names as a set. Returns 0, 1 when it names a task outside tasks
 * (*outside = that name's position in the list), or EX_DATAERR (empty, bad name, duplicate). */
int cx_tim_set_parse(const cx_tim_tasks *tasks, const char *list, cx_taskset *set);
/* The set as a comma list of names in index order (malloc'd; "" for the empty set). */
char *cx_tim_set_text(const cx_tim_tasks *tasks, cx_taskset set);
int cx_tim_set_size(cx_taskset set);
/* Order of printed plans: smaller sets first, then the sorted index lists lexicographically. */
int cx_tim_set_compare(cx_taskset a, cx_taskset b);

/* ---- the table of runs ---- */
typedef struct {
    cx_taskset set;
    int task;
    double sum;     /* of the scores recorded for (set, task): folds, seeds, ... are averaged */
    int count;
} cx_tim_score_entry;

typedef struct {
    int ntasks;
    cx_tim_score_entry *scores;   /* sorted by (set, task) */
    size_t nscores, cap_scores;
    cx_taskset *runs;             /* sorted: every set that was run, with or without scores */
    size_t nruns, cap_runs;
} cx_tim_table;

void cx_tim_table_init(cx_tim_table *t, int ntasks);
void cx_tim_table_free(cx_tim_table *t);
/* A run over set exists (its scores may all be undefined). */
void cx_tim_table_add_run(cx_tim_table *t, cx_taskset set);
/* One score of task in a run over set (the run is added too). EX_DATAERR when task is not in
 * set, or the set names a task >= ntasks, or score is not finite. */
int cx_tim_table_add(cx_tim_table *t, cx_taskset set, int task, double score);
bool cx_tim_table_has_run(const cx_tim_table *t, cx_taskset set);
/* The mean of the scores recorded for (set, task); false when there are none. */
bool cx_tim_table_score(const cx_tim_table *t, cx_taskset set, int task, double *score);

/* ---- the matrix ---- */
/* 2^(M-2), the number of subsets S per cell (1 when M < 2). */
int64_t cx_tim_subsets_per_cell(int ntasks);
/* delta [M, M] row-major (row i = source task, column j = target task added) and used [M, M]:
 * how many subsets S entered the mean. A cell with used = 0 is NAN; the diagonal is 0 with
 * used = 0. */
void cx_tim_delta(const cx_tim_table *t, double *delta, int64_t *used);
/* The subsets S used for cell (i, j), in cx_tim_set_compare order; returns how many (the
 * caller frees *subsets). */
size_t cx_tim_cell_subsets(const cx_tim_table *t, int i, int j, cx_taskset **subsets);

/* Per source row: rank [M, M] of the targets by delta. A positive delta gets a positive rank,
 * a negative one a negative rank, growing with |delta|: among the P targets of row i with
 * delta > 0 the largest has rank P and the smallest rank 1; among the N with delta < 0 the
 * most negative has rank -N and the one nearest zero -1. Equal deltas share the rank nearest
 * zero (1, 2, 2, 4). delta = 0 and the diagonal rank 0; an undefined (NAN) delta ranks
 * CX_TIM_NO_RANK. The rank is thus increasing in delta within each row. */
void cx_tim_ranks(int ntasks, const double *delta, int32_t *rank);

/* ---- the greedy task-set search (M3H "task selection") ---- */
typedef struct {
    cx_taskset *sets;
    size_t n, cap;
} cx_taskset_list;

void cx_taskset_list_free(cx_taskset_list *l);
void cx_taskset_list_add(cx_taskset_list *l, cx_taskset set);
void cx_taskset_list_add_unique(cx_taskset_list *l, cx_taskset set);
void cx_taskset_list_sort(cx_taskset_list *l);   /* cx_tim_set_compare order */

typedef struct {
    int task;                /* the task i whose score f_i is maximised */
    bool done;               /* the search for it ended; otherwise runs are missing */
    bool has_chosen;         /* false when {i} itself has no score */
    cx_taskset chosen;       /* the best set seen on the beam so far ({i} first) */
    double chosen_score;
} cx_tim_search;

/* The search for task i over the runs present: the beam starts as [{i}]; each step forms
 * every set B + {j} (B on the beam, j not in B), and keeps the best `beam` of those that beat
 * their parent (the best-scoring beam set they extend) by f_i; it ends when none does or sets
 * of max_size were tried. The chosen set is the best-scoring set ever on the beam. When a
 * step needs sets that were never run, they are added to `missing` and the search stops
 * there (done = false). A set that was run but has no score for i never beats its parent. */
void cx_tim_greedy(const cx_tim_table *t, int task, int beam, int max_size, cx_tim_search *out,
                   cx_taskset_list *missing);

/* How many sets of size 1..max_size there are over M tasks (a double: it can be huge). */
double cx_tim_plan_size(int ntasks, int max_size);
/* Every set of size 1..max_size over M tasks that was not run, into l (unsorted). */
void cx_tim_plan(const cx_tim_table *t, int max_size, cx_taskset_list *l);

#endif
