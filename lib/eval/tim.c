/* The TIM matrix, its per-source ranks and the greedy task-set search (see tim.h). */
#include "eval/tim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static cx_taskset task_bit(int t) { return (cx_taskset)1 << t; }

/* ---- task names and sets ---- */

static bool valid_task_name(const char *name, size_t len) {
    if (len == 0) return false;
    for (size_t k = 0; k < len; k++) {
        char c = name[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.'))
            return false;
    }
    return true;
}

static int name_error(int code, const char *name, size_t len) {
    if (len == 0) return cx_err(code, "empty task name");
    return cx_err(code, "task name \"%.*s\": only letters, digits, '_', '-' and '.' are allowed", (int)len, name);
}

/* Position where name is or would go in the sorted names; *found says which. */
static int name_position(const cx_tim_tasks *tasks, const char *name, size_t len, bool *found) {
    int lo = 0, hi = tasks->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = strncmp(tasks->names[mid], name, len);
        if (c == 0 && tasks->names[mid][len] != '\0') c = 1;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < tasks->n && strncmp(tasks->names[lo], name, len) == 0 && tasks->names[lo][len] == '\0';
    return lo;
}

static int add_name(cx_tim_tasks *tasks, const char *name, size_t len, int code, bool refuse_duplicate) {
    if (!valid_task_name(name, len)) return name_error(code, name, len);
    bool found;
    int pos = name_position(tasks, name, len, &found);
    if (found) return refuse_duplicate ? cx_err(code, "task \"%.*s\" named twice", (int)len, name) : 0;
    if (tasks->n == CX_TIM_MAX_TASKS) return cx_err(code, "more than %d tasks", CX_TIM_MAX_TASKS);
    tasks->names = cx_realloc(tasks->names, (size_t)(tasks->n + 1) * sizeof *tasks->names);
    memmove(tasks->names + pos + 1, tasks->names + pos, (size_t)(tasks->n - pos) * sizeof *tasks->names);
    tasks->names[pos] = cx_malloc(len + 1);
    memcpy(tasks->names[pos], name, len);
    tasks->names[pos][len] = '\0';
    tasks->n++;
    return 0;
}

int cx_tim_tasks_parse(cx_tim_tasks *tasks, const char *list) {
    tasks->names = NULL;
    tasks->n = 0;
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int rc = add_name(tasks, p, len, EX_USAGE, true);
        if (rc) {
            cx_tim_tasks_free(tasks);
            return rc;
        }
        if (!comma) return 0;
        p = comma + 1;
    }
}

int cx_tim_tasks_add(cx_tim_tasks *tasks, const char *name) {
    return add_name(tasks, name, strlen(name), EX_DATAERR, false);
}

void cx_tim_tasks_free(cx_tim_tasks *tasks) {
    for (int t = 0; t < tasks->n; t++) free(tasks->names[t]);
    free(tasks->names);
    tasks->names = NULL;
    tasks->n = 0;
}

int cx_tim_task_index(const cx_tim_tasks *tasks, const char *name) {
    bool found;
    int pos = name_position(tasks, name, strlen(name), &found);
    return found ? pos : -1;
}

int cx_tim_set_parse(const cx_tim_tasks *tasks, const char *list, cx_taskset *set) {
    *set = 0;
    int outside = 0;
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!valid_task_name(p, len)) return name_error(EX_DATAERR, p, len);
        bool found;
        int t = name_position(tasks, p, len, &found);
        if (!found) outside = 1;
        else if (*set & task_bit(t)) return cx_err(EX_DATAERR, "task \"%.*s\" named twice", (int)len, p);
        else *set |= task_bit(t);
        if (!comma) return outside;
        p = comma + 1;
    }
}

char *cx_tim_set_text(const cx_tim_tasks *tasks, cx_taskset set) {
    size_t len = 1;
    for (int t = 0; t < tasks->n; t++)
        if (set & task_bit(t)) len += strlen(tasks->names[t]) + 1;
    char *text = cx_malloc(len);
    text[0] = '\0';
    char *end = text;
    for (int t = 0; t < tasks->n; t++)
        if (set & task_bit(t)) end += sprintf(end, "%s%s", end == text ? "" : ",", tasks->names[t]);
    return text;
}

int cx_tim_set_size(cx_taskset set) { return __builtin_popcountll(set); }

int cx_tim_set_compare(cx_taskset a, cx_taskset b) {
    int sa = cx_tim_set_size(a), sb = cx_tim_set_size(b);
    if (sa != sb) return sa < sb ? -1 : 1;
    if (a == b) return 0;
    /* Equal sizes: the index lists agree below the lowest differing bit, and the set holding
     * that bit has the smaller next index there. */
    cx_taskset lowest = (a ^ b) & (~(a ^ b) + 1);
    return (a & lowest) ? -1 : 1;
}

/* ---- the table ---- */

void cx_tim_table_init(cx_tim_table *t, int ntasks) {
    memset(t, 0, sizeof *t);
    t->ntasks = ntasks;
}

void cx_tim_table_free(cx_tim_table *t) {
    free(t->scores);
    free(t->runs);
    cx_tim_table_init(t, 0);
}

static int entry_compare(cx_taskset set_a, int task_a, cx_taskset set_b, int task_b) {
    if (set_a != set_b) return set_a < set_b ? -1 : 1;
    return (task_a > task_b) - (task_a < task_b);
}

/* Index of (set, task) or where it would go; *found says which. */
static size_t score_position(const cx_tim_table *t, cx_taskset set, int task, bool *found) {
    size_t lo = 0, hi = t->nscores;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (entry_compare(t->scores[mid].set, t->scores[mid].task, set, task) < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < t->nscores && t->scores[lo].set == set && t->scores[lo].task == task;
    return lo;
}

static size_t run_position(const cx_tim_table *t, cx_taskset set, bool *found) {
    size_t lo = 0, hi = t->nruns;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->runs[mid] < set) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < t->nruns && t->runs[lo] == set;
    return lo;
}

void cx_tim_table_add_run(cx_tim_table *t, cx_taskset set) {
    bool found;
    size_t pos = run_position(t, set, &found);
    if (found) return;
    if (t->nruns == t->cap_runs) {
        t->cap_runs = t->cap_runs ? 2 * t->cap_runs : 64;
        t->runs = cx_realloc(t->runs, t->cap_runs * sizeof *t->runs);
    }
    memmove(t->runs + pos + 1, t->runs + pos, (t->nruns - pos) * sizeof *t->runs);
    t->runs[pos] = set;
    t->nruns++;
}

int cx_tim_table_add(cx_tim_table *t, cx_taskset set, int task, double score) {
    if (task < 0 || task >= t->ntasks || !(set & task_bit(task)))
        return cx_err(EX_DATAERR, "task %d is not in the set of tasks trained", task);
    if (t->ntasks < 64 && (set >> t->ntasks)) return cx_err(EX_DATAERR, "a task set names a task beyond the %d known", t->ntasks);
    if (!isfinite(score)) return cx_err(EX_DATAERR, "score %g is not finite", score);
    cx_tim_table_add_run(t, set);
    bool found;
    size_t pos = score_position(t, set, task, &found);
    if (!found) {
        if (t->nscores == t->cap_scores) {
            t->cap_scores = t->cap_scores ? 2 * t->cap_scores : 64;
            t->scores = cx_realloc(t->scores, t->cap_scores * sizeof *t->scores);
        }
        memmove(t->scores + pos + 1, t->scores + pos, (t->nscores - pos) * sizeof *t->scores);
        t->scores[pos] = (cx_tim_score_entry){.set = set, .task = task, .sum = 0, .count = 0};
        t->nscores++;
    }
    t->scores[pos].sum += score;
    t->scores[pos].count++;
    return 0;
}

bool cx_tim_table_has_run(const cx_tim_table *t, cx_taskset set) {
    bool found;
    run_position(t, set, &found);
    return found;
}

bool cx_tim_table_score(const cx_tim_table *t, cx_taskset set, int task, double *score) {
    bool found;
    size_t pos = score_position(t, set, task, &found);
    if (found) *score = t->scores[pos].sum / t->scores[pos].count;
    return found;
}

/* ---- the matrix ---- */

int64_t cx_tim_subsets_per_cell(int ntasks) { return ntasks < 2 ? 1 : (int64_t)1 << (ntasks - 2); }

/* Calls visit(S, difference) for every subset S usable in cell (i, j): each score of i in a
 * run that holds j pairs with the run without j, and S = that run less {i, j}. */
typedef void (*subset_visit)(void *ctx, int i, int j, cx_taskset subset, double difference);

static void each_usable_subset(const cx_tim_table *t, int only_i, int only_j, subset_visit visit, void *ctx) {
    for (size_t k = 0; k < t->nscores; k++) {
        const cx_tim_score_entry *with = &t->scores[k];
        int i = with->task;
        if (only_i >= 0 && i != only_i) continue;
        for (int j = 0; j < t->ntasks; j++) {
            if (j == i || !(with->set & task_bit(j)) || (only_j >= 0 && j != only_j)) continue;
            double without;
            if (!cx_tim_table_score(t, with->set & ~task_bit(j), i, &without)) continue;
            visit(ctx, i, j, with->set & ~(task_bit(i) | task_bit(j)), with->sum / with->count - without);
        }
    }
}

typedef struct { int ntasks; double *sum; int64_t *used; } delta_sums;

static void add_difference(void *ctx, int i, int j, cx_taskset subset, double difference) {
    delta_sums *d = ctx;
    d->sum[i * d->ntasks + j] += difference;
    d->used[i * d->ntasks + j]++;
}

void cx_tim_delta(const cx_tim_table *t, double *delta, int64_t *used) {
    int m = t->ntasks;
    for (int c = 0; c < m * m; c++) {
        delta[c] = 0;
        used[c] = 0;
    }
    delta_sums sums = {m, delta, used};
    each_usable_subset(t, -1, -1, add_difference, &sums);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            if (i == j) continue;
            int c = i * m + j;
            delta[c] = used[c] ? delta[c] / (double)used[c] : NAN;
        }
}

/* Each score entry gives its own S, so the subsets come unique. */
static void collect_subset(void *ctx, int i, int j, cx_taskset subset, double difference) {
    cx_taskset_list_add(ctx, subset);
}

size_t cx_tim_cell_subsets(const cx_tim_table *t, int i, int j, cx_taskset **subsets) {
    cx_taskset_list l = {0};
    if (i != j) each_usable_subset(t, i, j, collect_subset, &l);
    cx_taskset_list_sort(&l);
    *subsets = l.sets;
    return l.n;
}

void cx_tim_ranks(int ntasks, const double *delta, int32_t *rank) {
    for (int i = 0; i < ntasks; i++) {
        const double *row = delta + (size_t)i * ntasks;
        for (int j = 0; j < ntasks; j++) {
            double v = row[j];
            int32_t *r = &rank[(size_t)i * ntasks + j];
            if (j == i || v == 0) *r = 0;
            else if (isnan(v)) *r = CX_TIM_NO_RANK;
            else {
                /* 1 + the targets of the same sign strictly nearer zero */
                int32_t nearer = 0;
                for (int k = 0; k < ntasks; k++) {
                    if (k == i || isnan(row[k])) continue;
                    if (v > 0 ? (row[k] > 0 && row[k] < v) : (row[k] < 0 && row[k] > v)) nearer++;
                }
                *r = v > 0 ? 1 + nearer : -(1 + nearer);
            }
        }
    }
}

/* ---- the greedy search ---- */

void cx_taskset_list_free(cx_taskset_list *l) {
    free(l->sets);
    memset(l, 0, sizeof *l);
}

void cx_taskset_list_add(cx_taskset_list *l, cx_taskset set) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->sets = cx_realloc(l->sets, l->cap * sizeof *l->sets);
    }
    l->sets[l->n++] = set;
}

void cx_taskset_list_add_unique(cx_taskset_list *l, cx_taskset set) {
    for (size_t k = 0; k < l->n; k++)
        if (l->sets[k] == set) return;
    cx_taskset_list_add(l, set);
}

static int qsort_set_compare(const void *a, const void *b) {
    return cx_tim_set_compare(*(const cx_taskset *)a, *(const cx_taskset *)b);
}

void cx_taskset_list_sort(cx_taskset_list *l) {
    if (l->n > 1) qsort(l->sets, l->n, sizeof *l->sets, qsort_set_compare);
}

typedef struct { cx_taskset set; double score; } scored_set;

/* Best score first; equal scores in cx_tim_set_compare order, so the beam is deterministic. */
static int scored_compare(const void *pa, const void *pb) {
    const scored_set *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return cx_tim_set_compare(a->set, b->set);
}

void cx_tim_greedy(const cx_tim_table *t, int task, int beam, int max_size, cx_tim_search *out,
                   cx_taskset_list *missing) {
    int m = t->ntasks;
    *out = (cx_tim_search){.task = task};
    cx_taskset start = task_bit(task);
    double start_score;
    if (!cx_tim_table_score(t, start, task, &start_score)) {
        if (cx_tim_table_has_run(t, start)) out->done = true;   /* run, but i's score undefined */
        else cx_taskset_list_add_unique(missing, start);
        return;
    }
    out->has_chosen = true;
    out->chosen = start;
    out->chosen_score = start_score;

    scored_set *kept = cx_malloc((size_t)beam * sizeof *kept);          /* [beam] */
    kept[0] = (scored_set){start, start_score};
    int nkept = 1;
    /* candidates of one step: at most beam * (m - 1) */
    scored_set *improved = cx_malloc((size_t)beam * (size_t)m * sizeof *improved);
    cx_taskset_list candidates = {0};
    for (int size = 2; size <= max_size; size++) {
        candidates.n = 0;
        for (int b = 0; b < nkept; b++)
            for (int j = 0; j < m; j++)
                if (!(kept[b].set & task_bit(j))) cx_taskset_list_add_unique(&candidates, kept[b].set | task_bit(j));
        cx_taskset_list_sort(&candidates);
        bool waiting = false;
        for (size_t c = 0; c < candidates.n; c++)
            if (!cx_tim_table_has_run(t, candidates.sets[c])) {
                cx_taskset_list_add_unique(missing, candidates.sets[c]);
                waiting = true;
            }
        if (waiting) goto out;
        int nimproved = 0;
        for (size_t c = 0; c < candidates.n; c++) {
            cx_taskset set = candidates.sets[c];
            double score, parent = -INFINITY;
            if (!cx_tim_table_score(t, set, task, &score)) continue;
            for (int b = 0; b < nkept; b++)
                if ((kept[b].set & set) == kept[b].set && kept[b].score > parent) parent = kept[b].score;
            if (score > parent) improved[nimproved++] = (scored_set){set, score};
        }
        if (nimproved == 0) break;
        qsort(improved, (size_t)nimproved, sizeof *improved, scored_compare);
        nkept = nimproved < beam ? nimproved : beam;
        memcpy(kept, improved, (size_t)nkept * sizeof *kept);
        if (kept[0].score > out->chosen_score) {
            out->chosen = kept[0].set;
            out->chosen_score = kept[0].score;
        }
    }
    out->done = true;
out:
    cx_taskset_list_free(&candidates);
    free(improved);
    free(kept);
}

/* ---- plans ---- */

double cx_tim_plan_size(int ntasks, int max_size) {
    double total = 0, choose = 1;   /* C(M, k) */
    for (int k = 1; k <= max_size && k <= ntasks; k++) {
        choose = choose * (ntasks - k + 1) / k;
        total += choose;
    }
    return total;
}

/* Sets that extend `set` with tasks >= from, up to size max_size. */
static void plan_from(const cx_tim_table *t, cx_taskset set, int from, int size, int max_size, cx_taskset_list *l) {
    for (int j = from; j < t->ntasks; j++) {
        cx_taskset grown = set | task_bit(j);
        if (!cx_tim_table_has_run(t, grown)) cx_taskset_list_add(l, grown);   /* each set is met once */
        if (size + 1 < max_size) plan_from(t, grown, j + 1, size + 1, max_size, l);
    }
}

void cx_tim_plan(const cx_tim_table *t, int max_size, cx_taskset_list *l) {
    plan_from(t, 0, 0, 0, max_size, l);
}
