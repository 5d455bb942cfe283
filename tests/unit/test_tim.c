/* The TIM matrix, ranks and greedy task-set search (lib/eval/tim.c). The expected values are
 * worked out by hand in the comments (scores are multiples of 1/16, so every sum is exact in
 * binary floating point); the random case compares with a direct evaluation of the paper's
 * formula that loops over the subsets S itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "eval/tim.h"
#include "test.h"

enum { A = 1, B = 2, C = 4, D = 8, E = 16 };   /* task sets over tasks a=0, b=1, c=2, d=3, e=4 */

static void check_cell(const double *delta, const int64_t *used, int m, int i, int j, double want, int64_t want_used) {
    char what[64];
    snprintf(what, sizeof what, "delta[%d][%d]", i, j);
    if (!cx_test_check(used[i * m + j] == want_used, what, __FILE__, __LINE__))
        printf("  used %lld subsets, want %lld\n", (long long)used[i * m + j], (long long)want_used);
    if (want_used == 0) cx_test_check(isnan(delta[i * m + j]), what, __FILE__, __LINE__);
    else cx_test_near(delta[i * m + j], want, 0, 1e-15, what, __FILE__, __LINE__);
}

/* Three tasks, every subset run. f_i(set) for i in set:
 *   f_a: {a} .5    {a,b} .75   {a,c} .625   {a,b,c} .875
 *   f_b: {b} .5    {a,b} .25   {b,c} .5     {a,b,c} .375
 *   f_c: {c} .75   {a,c} .875  {b,c} .625   {a,b,c} .75
 * M = 3: two subsets per cell, S = {} and S = {the third task}.
 *   delta_ab = ((.75 - .5) + (.875 - .625)) / 2     =  .25
 *   delta_ac = ((.625 - .5) + (.875 - .75)) / 2     =  .125
 *   delta_ba = ((.25 - .5) + (.375 - .5)) / 2       = -.1875
 *   delta_bc = ((.5 - .5) + (.375 - .25)) / 2       =  .0625
 *   delta_ca = ((.875 - .75) + (.75 - .625)) / 2    =  .125
 *   delta_cb = ((.625 - .75) + (.75 - .875)) / 2    = -.125 */
static void three_task_table(cx_tim_table *t, bool with_abc, bool with_a) {
    cx_tim_table_init(t, 3);
    if (with_a) cx_tim_table_add(t, A, 0, .5);
    cx_tim_table_add(t, B, 1, .5);
    cx_tim_table_add(t, C, 2, .75);
    cx_tim_table_add(t, A | B, 0, .75);
    cx_tim_table_add(t, A | B, 1, .25);
    cx_tim_table_add(t, A | C, 0, .625);
    cx_tim_table_add(t, A | C, 2, .875);
    cx_tim_table_add(t, B | C, 1, .5);
    cx_tim_table_add(t, B | C, 2, .625);
    if (with_abc) {
        cx_tim_table_add(t, A | B | C, 0, .875);
        cx_tim_table_add(t, A | B | C, 1, .375);
        cx_tim_table_add(t, A | B | C, 2, .75);
    }
}

TEST(tim_three_tasks_exact) {
    cx_tim_table t;
    three_task_table(&t, true, true);
    CHECK_EQ(cx_tim_subsets_per_cell(3), 2);
    double delta[9];
    int64_t used[9];
    cx_tim_delta(&t, delta, used);
    check_cell(delta, used, 3, 0, 1, .25, 2);
    check_cell(delta, used, 3, 0, 2, .125, 2);
    check_cell(delta, used, 3, 1, 0, -.1875, 2);
    check_cell(delta, used, 3, 1, 2, .0625, 2);
    check_cell(delta, used, 3, 2, 0, .125, 2);
    check_cell(delta, used, 3, 2, 1, -.125, 2);
    for (int i = 0; i < 3; i++) CHECK(delta[i * 3 + i] == 0 && used[i * 3 + i] == 0);
    /* ranks per row: a: b .25 > c .125 > 0 -> c 1, b 2; b: a -1, c 1; c: a 1, b -1 */
    int32_t rank[9];
    cx_tim_ranks(3, delta, rank);
    const int32_t want[9] = {0, 2, 1, -1, 0, 1, 1, -1, 0};
    for (int c = 0; c < 9; c++)
        if (!CHECK_EQ(rank[c], want[c])) printf("  rank cell %d: %d, want %d\n", c, rank[c], want[c]);
    cx_tim_table_free(&t);
}

/* The same table less the run {a,b,c}: each cell keeps only S = {}, one of its two subsets.
 *   delta_ab = .75 - .5 = .25; delta_ac = .625 - .5 = .125; delta_ba = .25 - .5 = -.25;
 *   delta_bc = .5 - .5 = 0; delta_ca = .875 - .75 = .125; delta_cb = .625 - .75 = -.125.
 * Less {a} as well: row a has no usable subset (S = {} lacks f_a({a}), S = {c} lacks
 * f_a({a,b,c}), S = {b} lacks f_a({a,b,c})), while column a keeps its S = {} terms. */
TEST(tim_three_tasks_missing_subsets) {
    cx_tim_table t;
    three_task_table(&t, false, true);
    double delta[9];
    int64_t used[9];
    cx_tim_delta(&t, delta, used);
    check_cell(delta, used, 3, 0, 1, .25, 1);
    check_cell(delta, used, 3, 0, 2, .125, 1);
    check_cell(delta, used, 3, 1, 0, -.25, 1);
    check_cell(delta, used, 3, 1, 2, 0, 1);
    check_cell(delta, used, 3, 2, 0, .125, 1);
    check_cell(delta, used, 3, 2, 1, -.125, 1);
    cx_taskset *subsets;
    CHECK_EQ(cx_tim_cell_subsets(&t, 0, 1, &subsets), 1);
    CHECK(subsets[0] == 0);
    free(subsets);
    cx_tim_table_free(&t);

    three_task_table(&t, false, false);
    cx_tim_delta(&t, delta, used);
    check_cell(delta, used, 3, 0, 1, 0, 0);
    check_cell(delta, used, 3, 0, 2, 0, 0);
    check_cell(delta, used, 3, 1, 0, -.25, 1);
    check_cell(delta, used, 3, 2, 0, .125, 1);
    int32_t rank[9];
    cx_tim_ranks(3, delta, rank);
    CHECK(rank[1] == CX_TIM_NO_RANK && rank[2] == CX_TIM_NO_RANK && rank[0] == 0);
    CHECK(rank[5] == 0);   /* delta_bc = 0 exactly */
    cx_tim_table_free(&t);
}

/* Four tasks a, b, c, d with f_i(set) = .5 + sum over j in set, j != i, of w[i][j], plus .5
 * for task a when both b and c are in the set (an interaction).
 *   w = a: (-, .25, -.125, .0625)  b: (.125, -, 0, -.25)  c: (-.5, .25, -, .125)  d: (0, 0, .375, -)
 * M = 4: four subsets per cell. Without the interaction delta_ij = w[i][j] for every S. With it,
 * delta_ab gains .5 for the S in {{c}, {c,d}}, two of the four subsets of {c, d}:
 *   delta_ab = .25 + .5 * 2/4 = .5,  delta_ac = -.125 + .5 * 2/4 = .125,  delta_ad = .0625.
 * Without the run {a,b,c,d}, delta_ab averages S = {}, {c}, {d}: (.25 + .75 + .25) / 3 = 5/12,
 * and delta_ad averages S = {}, {b}, {c} (S = {b,c} needs {a,b,c,d}): .0625. */
static const double four_w[4][4] = {{0, .25, -.125, .0625}, {.125, 0, 0, -.25}, {-.5, .25, 0, .125}, {0, 0, .375, 0}};

static double four_task_score(cx_taskset set, int i) {
    double f = .5;
    for (int j = 0; j < 4; j++)
        if (j != i && (set >> j & 1)) f += four_w[i][j];
    if (i == 0 && (set & B) && (set & C)) f += .5;
    return f;
}

static void four_task_table(cx_tim_table *t, int max_size) {
    cx_tim_table_init(t, 4);
    for (cx_taskset set = 1; set < 16; set++) {
        if (cx_tim_set_size(set) > max_size) continue;
        for (int i = 0; i < 4; i++)
            if (set >> i & 1) cx_tim_table_add(t, set, i, four_task_score(set, i));
    }
}

TEST(tim_four_tasks_with_an_interaction) {
    cx_tim_table t;
    four_task_table(&t, 4);
    double delta[16];
    int64_t used[16];
    cx_tim_delta(&t, delta, used);
    check_cell(delta, used, 4, 0, 1, .5, 4);
    check_cell(delta, used, 4, 0, 2, .125, 4);
    check_cell(delta, used, 4, 0, 3, .0625, 4);
    for (int i = 1; i < 4; i++)
        for (int j = 0; j < 4; j++)
            if (j != i) check_cell(delta, used, 4, i, j, four_w[i][j], 4);
    cx_tim_table_free(&t);

    four_task_table(&t, 3);
    cx_tim_delta(&t, delta, used);
    check_cell(delta, used, 4, 0, 1, 5.0 / 12, 3);
    check_cell(delta, used, 4, 0, 3, .0625, 3);
    check_cell(delta, used, 4, 2, 0, -.5, 3);
    cx_taskset *subsets;
    CHECK_EQ(cx_tim_cell_subsets(&t, 0, 1, &subsets), 3);
    CHECK(subsets[0] == 0 && subsets[1] == C && subsets[2] == D);
    free(subsets);
    cx_tim_table_free(&t);

    /* singletons and pairs only: each cell is f_i({i,j}) - f_i({i}) = w[i][j], 1 subset of 4 */
    four_task_table(&t, 2);
    cx_tim_delta(&t, delta, used);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            if (j != i) check_cell(delta, used, 4, i, j, four_w[i][j], 1);
    cx_tim_table_free(&t);
}

/* Several scores of one (set, task) are averaged: folds or seeds of the same run. */
TEST(tim_repeated_scores_are_averaged) {
    cx_tim_table t;
    cx_tim_table_init(&t, 2);
    cx_tim_table_add(&t, A, 0, .5);
    cx_tim_table_add(&t, A, 0, .75);
    cx_tim_table_add(&t, A | B, 0, .75);
    cx_tim_table_add(&t, A | B, 0, 1);
    cx_tim_table_add(&t, A | B, 0, .875);
    double score, delta[4];
    int64_t used[4];
    CHECK(cx_tim_table_score(&t, A, 0, &score) && score == .625);
    cx_tim_delta(&t, delta, used);
    check_cell(delta, used, 2, 0, 1, .875 - .625, 1);   /* (.75 + 1 + .875) / 3 - (.5 + .75) / 2 */
    check_cell(delta, used, 2, 1, 0, 0, 0);             /* no score of b at all */
    CHECK_EQ(cx_tim_table_add(&t, A, 1, .5), EX_DATAERR);   /* b is not in {a} */
    CHECK_EQ(cx_tim_table_add(&t, A | 4, 0, .5), EX_DATAERR);   /* a third task of two */
    CHECK_EQ(cx_tim_table_add(&t, A, 0, NAN), EX_DATAERR);
    cx_tim_table_free(&t);
}

/* Five tasks, random scores, random runs missing: the matrix against the formula evaluated
 * directly, one subset S of T \ {i,j} at a time, from dense arrays. */
TEST(tim_matches_the_formula_on_random_tables) {
    enum { M = 5, SETS = 1 << M };
    cx_rng rng;
    cx_rng_seed(&rng, 11);
    for (int trial = 0; trial < 20; trial++) {
        double f[SETS][M];
        bool run[SETS];
        cx_tim_table t;
        cx_tim_table_init(&t, M);
        double keep = trial == 0 ? 1.0 : 0.7;
        for (int set = 1; set < SETS; set++) {
            run[set] = cx_rng_uniform(&rng) < keep;
            for (int i = 0; i < M; i++) {
                f[set][i] = cx_rng_uniform(&rng);
                if (run[set] && (set >> i & 1)) cx_tim_table_add(&t, (cx_taskset)set, i, f[set][i]);
            }
        }
        double delta[M * M];
        int64_t used[M * M];
        cx_tim_delta(&t, delta, used);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < M; j++) {
                if (i == j) continue;
                double sum = 0;
                int n = 0;
                for (int s = 0; s < SETS; s++) {
                    if (s & (1 << i | 1 << j)) continue;
                    int with = s | 1 << i | 1 << j, without = s | 1 << i;
                    if (!run[with] || !run[without]) continue;
                    sum += f[with][i] - f[without][i];
                    n++;
                }
                check_cell(delta, used, M, i, j, n ? sum / n : 0, n);
                if (trial == 0) CHECK_EQ(n, 8);   /* all 2^(M-2) subsets: the exact value */
            }
        cx_tim_table_free(&t);
    }
}

/* One row of nine targets (the diagonal first): positive ranks grow with delta, negative ones
 * with |delta|, ties share the rank nearest zero, 0 and NAN have rank 0 and none. */
TEST(tim_ranks_signs_and_ties) {
    const double row0[9] = {7, .25, -.5, .25, -.125, 0, NAN, .5, .125};
    double delta[81];
    for (int c = 0; c < 81; c++) delta[c] = NAN;
    memcpy(delta, row0, sizeof row0);
    delta[9 + 3] = -.25;   /* row 1: one negative, the rest undefined */
    int32_t rank[81];
    cx_tim_ranks(9, delta, rank);
    /* positives .125, .25, .25, .5 -> 1, 2, 2, 4; negatives -.125, -.5 -> -1, -2 */
    const int32_t want0[9] = {0, 2, -2, 2, -1, 0, CX_TIM_NO_RANK, 4, 1};
    for (int j = 0; j < 9; j++)
        if (!CHECK_EQ(rank[j], want0[j])) printf("  rank[0][%d] = %d, want %d\n", j, rank[j], want0[j]);
    CHECK_EQ(rank[9 + 1], 0);
    CHECK_EQ(rank[9 + 3], -1);
    CHECK_EQ(rank[9 + 0], CX_TIM_NO_RANK);
}

TEST(tim_task_names_and_sets) {
    cx_tim_tasks tasks;
    CHECK_EQ(cx_tim_tasks_parse(&tasks, "c,a,b_2"), 0);
    CHECK(tasks.n == 3 && !strcmp(tasks.names[0], "a") && !strcmp(tasks.names[1], "b_2") && !strcmp(tasks.names[2], "c"));
    cx_taskset set;
    CHECK_EQ(cx_tim_set_parse(&tasks, "c,a", &set), 0);
    CHECK(set == (A | C));
    char *text = cx_tim_set_text(&tasks, set);
    CHECK(!strcmp(text, "a,c"));
    free(text);
    CHECK_EQ(cx_tim_set_parse(&tasks, "a,zz", &set), 1);
    CHECK_EQ(cx_tim_set_parse(&tasks, "a,,c", &set), EX_DATAERR);
    CHECK_EQ(cx_tim_set_parse(&tasks, "a,c,a", &set), EX_DATAERR);
    CHECK_EQ(cx_tim_set_parse(&tasks, "a b", &set), EX_DATAERR);
    CHECK_EQ(cx_tim_tasks_add(&tasks, "a"), 0);
    CHECK_EQ(tasks.n, 3);
    CHECK_EQ(cx_tim_task_index(&tasks, "c"), 2);
    CHECK_EQ(cx_tim_task_index(&tasks, "b"), -1);
    cx_tim_tasks_free(&tasks);
    CHECK_EQ(cx_tim_tasks_parse(&tasks, "a,b,a"), EX_USAGE);
    CHECK_EQ(cx_tim_tasks_parse(&tasks, "a,b,"), EX_USAGE);
    /* order: size first, then index lists: {a} {b} {a,b} {a,c} {b,c} {a,b,c} */
    cx_taskset order[6] = {A, B, A | B, A | C, B | C, A | B | C};
    for (int k = 0; k + 1 < 6; k++) CHECK(cx_tim_set_compare(order[k], order[k + 1]) < 0 && cx_tim_set_compare(order[k + 1], order[k]) > 0);
}

/* Plans: every set of size 1..K over M tasks, less the runs present. */
TEST(tim_plans) {
    CHECK_EQ(cx_tim_plan_size(4, 2), 10);    /* 4 + 6 */
    CHECK_EQ(cx_tim_plan_size(4, 9), 15);    /* 2^4 - 1 */
    CHECK_EQ(cx_tim_plan_size(64, 2), 64 + 2016);
    cx_tim_table t;
    cx_tim_table_init(&t, 4);
    cx_tim_table_add(&t, A | B, 0, .5);
    cx_tim_table_add_run(&t, C);
    cx_taskset_list l = {0};
    cx_tim_plan(&t, 2, &l);
    cx_taskset_list_sort(&l);
    cx_taskset want[8] = {A, B, D, A | C, A | D, B | C, B | D, C | D};
    CHECK_EQ(l.n, 8);
    for (size_t k = 0; k < l.n && k < 8; k++) CHECK(l.sets[k] == want[k]);
    cx_taskset_list_free(&l);
    cx_tim_table_free(&t);
}

/* The greedy search for task a over five tasks (scores of a only; f_a):
 *   {a} .5;  {a,b} .6  {a,c} .7  {a,d} .4  {a,e} .55
 * Step to size 2: all but {a,d} beat {a}; the beam (3) is {a,c} .7, {a,b} .6, {a,e} .55.
 * Step to size 3: the sets one task larger than a beam set: {a,b,c} {a,b,d} {a,b,e} {a,c,d}
 * {a,c,e} {a,d,e}. Scores and the best beam set each extends (its parent):
 *   abc .65 (ac .7: no)  abd .62 (ab .6: yes)  abe .58 (ab .6: no)
 *   acd .75 (ac .7: yes) ace .69 (ac .7: no)   ade .56 (ae .55: yes)
 * so the beam becomes acd, abd, ade and the chosen set is {a,c,d} at .75. */
static void greedy_table(cx_tim_table *t, bool with_triples) {
    cx_tim_table_init(t, 5);
    cx_tim_table_add(t, A, 0, .5);
    cx_tim_table_add(t, A | B, 0, .6);
    cx_tim_table_add(t, A | C, 0, .7);
    cx_tim_table_add(t, A | D, 0, .4);
    cx_tim_table_add(t, A | E, 0, .55);
    if (!with_triples) return;
    cx_tim_table_add(t, A | B | C, 0, .65);
    cx_tim_table_add(t, A | B | D, 0, .62);
    cx_tim_table_add(t, A | B | E, 0, .58);
    cx_tim_table_add(t, A | C | D, 0, .75);
    cx_tim_table_add(t, A | C | E, 0, .69);
    cx_tim_table_add(t, A | D | E, 0, .56);
}

TEST(tim_greedy_search) {
    cx_tim_table t;
    cx_tim_search s;
    cx_taskset_list missing = {0};

    cx_tim_table_init(&t, 5);   /* nothing run: {a} first */
    cx_tim_greedy(&t, 0, 3, 3, &s, &missing);
    CHECK(!s.done && !s.has_chosen && missing.n == 1 && missing.sets[0] == A);
    missing.n = 0;
    cx_tim_table_add(&t, A, 0, .5);   /* then every pair with a */
    cx_tim_greedy(&t, 0, 3, 3, &s, &missing);
    cx_taskset_list_sort(&missing);
    CHECK(!s.done && s.has_chosen && s.chosen == A && missing.n == 4);
    CHECK(missing.n == 4 && missing.sets[0] == (A | B) && missing.sets[3] == (A | E));
    missing.n = 0;
    cx_tim_table_free(&t);

    greedy_table(&t, false);
    cx_tim_greedy(&t, 0, 3, 3, &s, &missing);
    cx_taskset_list_sort(&missing);
    cx_taskset want[6] = {A | B | C, A | B | D, A | B | E, A | C | D, A | C | E, A | D | E};
    CHECK(!s.done && s.chosen == (A | C) && s.chosen_score == .7);
    if (CHECK_EQ(missing.n, 6))
        for (int k = 0; k < 6; k++) CHECK(missing.sets[k] == want[k]);
    missing.n = 0;
    /* a beam of 1 keeps only {a,c}: it needs {a,b,c}, {a,c,d}, {a,c,e} */
    cx_tim_greedy(&t, 0, 1, 3, &s, &missing);
    cx_taskset_list_sort(&missing);
    CHECK(missing.n == 3 && missing.sets[0] == (A | B | C) && missing.sets[1] == (A | C | D) && missing.sets[2] == (A | C | E));
    missing.n = 0;
    /* sets of size 2 at most: done after the pairs */
    cx_tim_greedy(&t, 0, 3, 2, &s, &missing);
    CHECK(s.done && missing.n == 0 && s.chosen == (A | C));
    cx_tim_table_free(&t);

    greedy_table(&t, true);
    cx_tim_greedy(&t, 0, 3, 3, &s, &missing);
    CHECK(s.done && missing.n == 0 && s.chosen == (A | C | D) && s.chosen_score == .75);
    /* up to size 4: the beam acd, abd, ade grows into {a,b,c,d}, {a,b,d,e}, {a,c,d,e} */
    cx_tim_greedy(&t, 0, 3, 4, &s, &missing);
    cx_taskset_list_sort(&missing);
    CHECK(!s.done && s.chosen == (A | C | D));
    CHECK(missing.n == 3 && missing.sets[0] == (A | B | C | D) && missing.sets[1] == (A | B | D | E) &&
          missing.sets[2] == (A | C | D | E));
    missing.n = 0;
    /* with a beam of 1: {a,c} then only {a,c,d} beats it */
    cx_tim_greedy(&t, 0, 1, 3, &s, &missing);
    CHECK(s.done && s.chosen == (A | C | D));
    cx_taskset_list_free(&missing);
    cx_tim_table_free(&t);
}

/* No pair beats {b}: the search stops at the first step and keeps {b}. A run of {c} without a
 * score for c (an undefined metric) ends c's search with nothing chosen. */
TEST(tim_greedy_stops_without_gain) {
    cx_tim_table t;
    cx_tim_table_init(&t, 3);
    cx_tim_table_add(&t, B, 1, .9);
    cx_tim_table_add(&t, A | B, 1, .8);
    cx_tim_table_add(&t, B | C, 1, .9);   /* equal is no gain */
    cx_tim_table_add_run(&t, C);
    cx_tim_search s;
    cx_taskset_list missing = {0};
    cx_tim_greedy(&t, 1, 3, 3, &s, &missing);
    CHECK(s.done && s.has_chosen && s.chosen == B && s.chosen_score == .9 && missing.n == 0);
    cx_tim_greedy(&t, 2, 3, 3, &s, &missing);
    CHECK(s.done && !s.has_chosen && missing.n == 0);
    cx_taskset_list_free(&missing);
    cx_tim_table_free(&t);
}
