/* tim-score: the M3H task interaction measurement (TIM) from the metrics of runs over task sets,
 * its per-source ranks and heatmap, and the paper's greedy task-set search as a list of runs. */
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/error.h"
#include "eval/metrics.h"
#include "eval/tim.h"
#include "io/outfile.h"
#include "io/stream.h"

extern char **environ;

static const cx_tool tool = {
    "tim-score", "[options] [METRICS.cxs...]",
    "The TIM matrix of M3H from metrics streams of runs over task sets (mt-eval output with the\n"
    "tag task_set): delta[i][j] = mean over S in subsets of T-{i,j} of f_i(S+{i,j}) - f_i(S+{i}),\n"
    "row i = the SOURCE task whose score f_i is measured, column j = the TARGET task added.\n"
    "Exact when every subset was run, otherwise the mean over the subsets S present (counted per\n"
    "cell). Several records of one (task_set, task), e.g. folds or seeds, are averaged.\n"
    "\n"
    "  -m, --metric NAME     the score of every task (default per kind: binary, multiclass auroc;\n"
    "                        regression r2; clustering silhouette)\n"
    "  -t, --tasks LIST      the task universe T, a comma list (default: every task the runs name);\n"
    "                        runs over other tasks are left out\n"
    "  -f, --format FMT      tsv (default) or markdown: the delta, used-subset and rank matrices\n"
    "  -o, --output FILE     also write a stream of kind \"tim\", one record per source/target pair\n"
    "      --heatmap PNG     draw the ranks (rows source, columns target) with gnuplot\n"
    "      --heatmap-values rank|delta   what the heatmap colours (default rank)\n"
    "      --next            print the task sets the greedy search needs run next, one comma list a\n"
    "                        line (nothing when every search has ended)\n"
    "      --chosen          print per task the best set the greedy search found and its score\n"
    "      --beam N          sets kept per step of the search (default 3)\n"
    "      --max-size K      largest set the search tries (default 3)\n"
    "      --plan K          print every task set of size 1..K not yet run (K = M: the exact matrix;\n"
    "                        K = 2: singletons and pairs, the paper's heatmap)\n"
    "      --help, --version\n"
    "\n"
    "Inputs: standard input when none is given, except with --next, --chosen and --plan, which\n"
    "then start from no runs (they need --tasks).\n"
    "Exit status: 0 ok, 64 usage, 65 bad data, 66 no input, 69 gnuplot missing, 70 gnuplot failed,\n"
    "73 cannot create, 74 I/O error.\n",
};

/* One metrics record kept until the task universe is known. */
typedef struct {
    char *task, *task_set;
    bool has_score;
    double score;
} run_record;

typedef struct {
    run_record *records;
    size_t n, cap;
    cx_tim_tasks seen;        /* every task named by a task_set */
    char **metric_of_task;    /* parallel to the names of seen: the metric that scored it */
    size_t null_scores;
    cx_value inputs;          /* an array: the headers of the streams read, for provenance */
} run_records;

/* The metric a record is scored by: --metric, or its kind's default. */
static const char *record_metric(const char *metric, const cx_record *rec, const char *file) {
    if (metric) return metric;
    const char *kind = cx_map_str(&rec->meta, "kind", NULL);
    cx_task_kind k;
    if (!kind || cx_task_kind_parse(kind, &k))
        cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): meta.kind: %s%s%s (use --metric NAME)", file,
                 (long long)rec->index, rec->id, kind ? "unknown kind \"" : "missing", kind ? kind : "", kind ? "\"" : "");
    if (k == CX_TASK_REGRESSION) return "r2";
    if (k == CX_TASK_CLUSTERING) return "silhouette";
    return "auroc";
}

static void remember_metric(run_records *runs, const char *task, const char *metric, const char *file, const cx_record *rec) {
    int t = cx_tim_task_index(&runs->seen, task);
    if (runs->metric_of_task[t] && strcmp(runs->metric_of_task[t], metric))
        cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): task %s is scored by %s here and by %s elsewhere", file,
                 (long long)rec->index, rec->id, task, metric, runs->metric_of_task[t]);
    if (!runs->metric_of_task[t]) runs->metric_of_task[t] = cx_strdup(metric);
}

/* 0, or EX_DATAERR past CX_TIM_MAX_TASKS tasks. */
static int add_seen_task(run_records *runs, const char *name) {
    int before = runs->seen.n;
    if (cx_tim_tasks_add(&runs->seen, name)) return cx_errcode();
    if (runs->seen.n == before) return 0;
    /* keep metric_of_task parallel to the sorted names */
    int t = cx_tim_task_index(&runs->seen, name);
    runs->metric_of_task = cx_realloc(runs->metric_of_task, (size_t)runs->seen.n * sizeof *runs->metric_of_task);
    memmove(runs->metric_of_task + t + 1, runs->metric_of_task + t, (size_t)(runs->seen.n - 1 - t) * sizeof *runs->metric_of_task);
    runs->metric_of_task[t] = NULL;
    return 0;
}

static void read_metrics(const char *path, const char *metric, run_records *runs) {
    cx_reader *in = cx_reader_open(path);
    if (!in) cx_die();
    const char *file = cx_reader_name(in);
    const char *kind = cx_header_kind(cx_reader_header(in));
    if (!kind || strcmp(kind, "metrics"))
        cx_fatal(EX_DATAERR, "%s: header: kind \"%s\": not a metrics stream", file, kind ? kind : "");
    cx_array_push(&runs->inputs, cx_value_copy(cx_reader_header(in)));
    cx_record rec;
    cx_record_init(&rec);
    int rc;
    while ((rc = cx_reader_next(in, &rec)) == 1) {
        const char *task = cx_map_str(&rec.meta, "task", NULL);
        const char *task_set = cx_map_str(&rec.meta, "task_set", NULL);
        if (!task || !task_set)
            cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): meta.%s: missing or not a string", file,
                     (long long)rec.index, rec.id, task ? "task_set" : "task");
        cx_tim_tasks in_set;
        if (cx_tim_tasks_parse(&in_set, task_set)) {
            char why[512];
            snprintf(why, sizeof why, "%s", cx_errmsg());   /* cx_fatal rewrites the message it formats */
            cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): meta.task_set: %s", file, (long long)rec.index, rec.id, why);
        }
        if (cx_tim_task_index(&in_set, task) < 0)
            cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): meta.task: \"%s\" is not in task_set \"%s\"", file,
                     (long long)rec.index, rec.id, task, task_set);
        for (int t = 0; t < in_set.n; t++)
            if (add_seen_task(runs, in_set.names[t])) {
                cx_err_prefix("%s: record %lld (id \"%s\"): meta.task_set", file, (long long)rec.index, rec.id);
                cx_die();
            }
        cx_tim_tasks_free(&in_set);
        const char *name = record_metric(metric, &rec, file);
        const cx_value *v = cx_map_get(&rec.meta, name);
        double score = 0;
        if (!v) cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): meta.%s: missing", file, (long long)rec.index, rec.id, name);
        if (v->kind != CX_NIL && (!cx_value_number(v, &score) || !isfinite(score)))
            cx_fatal(EX_DATAERR, "%s: record %lld (id \"%s\"): meta.%s: not a finite number", file, (long long)rec.index,
                     rec.id, name);
        remember_metric(runs, task, name, file, &rec);
        if (runs->n == runs->cap) {
            runs->cap = runs->cap ? 2 * runs->cap : 64;
            runs->records = cx_realloc(runs->records, runs->cap * sizeof *runs->records);
        }
        runs->records[runs->n++] = (run_record){cx_strdup(task), cx_strdup(task_set), v->kind != CX_NIL, score};
        if (v->kind == CX_NIL) runs->null_scores++;
    }
    if (rc < 0) cx_die();
    cx_record_free(&rec);
    cx_reader_close(in);
}

/* The table over the universe; runs naming a task outside it are left out. */
static void free_runs(run_records *runs) {
    for (size_t r = 0; r < runs->n; r++) {
        free(runs->records[r].task);
        free(runs->records[r].task_set);
    }
    for (int t = 0; t < runs->seen.n; t++) free(runs->metric_of_task[t]);
    free(runs->metric_of_task);
    free(runs->records);
    cx_tim_tasks_free(&runs->seen);
    cx_value_free(&runs->inputs);
}

static void build_table(const run_records *runs, const cx_tim_tasks *tasks, cx_tim_table *table) {
    cx_tim_table_init(table, tasks->n);
    for (size_t r = 0; r < runs->n; r++) {
        cx_taskset set;
        if (cx_tim_set_parse(tasks, runs->records[r].task_set, &set)) continue;   /* checked when read: only "outside" */
        if (runs->records[r].has_score) cx_tim_table_add(table, set, cx_tim_task_index(tasks, runs->records[r].task), runs->records[r].score);
        else cx_tim_table_add_run(table, set);
    }
}

/* ---- the matrix as text ---- */

static void print_cell_number(FILE *f, double v) {
    if (isnan(v)) fputs("-", f);
    else fprintf(f, "%.6g", v);
}

static void print_rank(FILE *f, int32_t r) {
    if (r == CX_TIM_NO_RANK) fputs("-", f);
    else fprintf(f, "%d", r);
}

typedef enum { BLOCK_DELTA, BLOCK_USED, BLOCK_RANK } matrix_block;

typedef struct {
    const cx_tim_tasks *tasks;
    const double *delta;
    const int64_t *used;
    const int32_t *rank;
    int64_t per_cell;
} tim_matrix;

static void print_block(FILE *f, const tim_matrix *m, matrix_block block, bool markdown) {
    int n = m->tasks->n;
    const char *sep = markdown ? " | " : "\t";
    if (markdown) fputs("| ", f);
    if (block == BLOCK_DELTA) fputs("delta", f);
    else if (block == BLOCK_USED) fprintf(f, "used/%lld", (long long)m->per_cell);
    else fputs("rank", f);
    for (int j = 0; j < n; j++) fprintf(f, "%s%s", sep, m->tasks->names[j]);
    fputs(markdown ? " |\n" : "\n", f);
    if (markdown) {
        fputs("|---", f);
        for (int j = 0; j < n; j++) fputs("|---:", f);
        fputs("|\n", f);
    }
    for (int i = 0; i < n; i++) {
        if (markdown) fputs("| ", f);
        fputs(m->tasks->names[i], f);
        for (int j = 0; j < n; j++) {
            fputs(sep, f);
            if (block == BLOCK_DELTA) print_cell_number(f, m->delta[i * n + j]);
            else if (block == BLOCK_USED) fprintf(f, "%lld", (long long)m->used[i * n + j]);
            else print_rank(f, m->rank[i * n + j]);
        }
        fputs(markdown ? " |\n" : "\n", f);
    }
}

static void print_matrix(FILE *f, const tim_matrix *m, const char *metric, bool markdown) {
    if (!markdown) {
        print_block(f, m, BLOCK_DELTA, false);
        fputc('\n', f);
        print_block(f, m, BLOCK_USED, false);
        fputc('\n', f);
        print_block(f, m, BLOCK_RANK, false);
        return;
    }
    int n = m->tasks->n, exact = 0;
    for (int c = 0; c < n * n; c++) exact += c % (n + 1) != 0 && m->used[c] == m->per_cell;
    fprintf(f, "## TIM (%s)\n\nRow i: the source task, whose score is measured; column j: the target task added.\n"
               "delta[i][j] = mean over the subsets S of the other tasks of f_i(S+{i,j}) - f_i(S+{i}).\n\n",
            metric ? metric : "auroc, r2 or silhouette by task kind");
    print_block(f, m, BLOCK_DELTA, true);
    fprintf(f, "\nSubsets S used per cell, of 2^(M-2) = %lld; %d of %d cells exact, the others the mean over "
               "the subsets present.\n\n",
            (long long)m->per_cell, exact, n * (n - 1));
    print_block(f, m, BLOCK_USED, true);
    fputs("\nRanks per source row: positive for delta > 0, negative for delta < 0, growing with |delta|.\n\n", f);
    print_block(f, m, BLOCK_RANK, true);
}

/* ---- the stream ---- */

static void write_stream(const char *path, const tim_matrix *m, const cx_tim_table *table, const run_records *runs,
                         const char *metric) {
    cx_value header = cx_header_new("tim");
    for (size_t k = 0; k < runs->inputs.u.arr.n; k++) cx_header_add_input(&header, &runs->inputs.u.arr.items[k]);
    cx_value names = cx_array();
    for (int t = 0; t < m->tasks->n; t++) cx_array_push(&names, cx_str(m->tasks->names[t]));
    cx_map_set(&header, "tasks", names);
    cx_map_set(&header, "metric", metric ? cx_str(metric) : cx_nil());
    cx_map_set(&header, "subsets_per_cell", cx_int(m->per_cell));
    cx_writer *w = cx_writer_open(path, &header);
    if (!w) cx_die();
    cx_record rec;
    cx_record_init(&rec);
    int n = m->tasks->n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i == j) continue;
            char *id;
            if (asprintf(&id, "%s+%s", m->tasks->names[i], m->tasks->names[j]) < 0) cx_fatal(EX_OSERR, "out of memory");
            cx_record_free(&rec);
            cx_record_set_id(&rec, id);
            free(id);
            cx_map_set(&rec.meta, "source", cx_str(m->tasks->names[i]));
            cx_map_set(&rec.meta, "target", cx_str(m->tasks->names[j]));
            int seen = cx_tim_task_index(&runs->seen, m->tasks->names[i]);
            const char *source_metric = seen >= 0 ? runs->metric_of_task[seen] : NULL;
            cx_map_set(&rec.meta, "metric", source_metric ? cx_str(source_metric) : cx_nil());
            double d = m->delta[i * n + j];
            int32_t r = m->rank[i * n + j];
            cx_map_set(&rec.meta, "delta", isnan(d) ? cx_nil() : cx_float(d));
            cx_map_set(&rec.meta, "rank", r == CX_TIM_NO_RANK ? cx_nil() : cx_int(r));
            cx_map_set(&rec.meta, "subsets_used", cx_int(m->used[i * n + j]));
            cx_map_set(&rec.meta, "subsets_total", cx_int(m->per_cell));
            cx_map_set(&rec.meta, "exact", cx_bool(m->used[i * n + j] == m->per_cell));
            cx_taskset *subsets;
            size_t count = cx_tim_cell_subsets(table, i, j, &subsets);
            cx_value list = cx_array();
            for (size_t k = 0; k < count; k++) cx_array_push(&list, cx_str_own(cx_tim_set_text(m->tasks, subsets[k])));
            free(subsets);
            cx_map_set(&rec.meta, "subsets", list);
            if (cx_writer_put(w, &rec)) cx_die();
        }
    if (cx_writer_close(w)) cx_die();
    cx_record_free(&rec);
    cx_value_free(&header);
}

/* ---- the heatmap through gnuplot ---- */

static void write_heatmap_script(FILE *f, const tim_matrix *m, bool of_delta, const char *metric) {
    int n = m->tasks->n;
    double extent = 0;   /* the colour range, symmetric around 0 so that white is "no effect" */
    for (int c = 0; c < n * n; c++) {
        double v = of_delta ? m->delta[c] : (m->rank[c] == CX_TIM_NO_RANK ? NAN : (double)m->rank[c]);
        if (!isnan(v) && fabs(v) > extent) extent = fabs(v);
    }
    if (extent == 0) extent = 1;
    int side = 200 + 48 * n, width = side + 200 < 640 ? 640 : side + 200;
    fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) { set terminal pngcairo size %d,%d font ',10' } "
               "else { set terminal png size %d,%d }\n",
            width, side + 60, width, side + 60);
    fputs("set termoption noenhanced\nunset key\nset size ratio -1\n", f);
    fprintf(f, "set title \"TIM %s (%s)\\nrow: source task scored, column: target task added\"\n",
            of_delta ? "delta" : "rank", metric ? metric : "auroc/r2/silhouette by task kind");
    if (!of_delta && extent <= 12) fputs("set cbtics 1\n", f);
    fprintf(f, "set xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n", n - 1, n - 1);
    fputs("set xlabel 'target task (added)'\nset ylabel 'source task (scored)'\nset xtics rotate by 45 right (", f);
    for (int t = 0; t < n; t++) fprintf(f, "%s'%s' %d", t ? ", " : "", m->tasks->names[t], t);
    fputs(")\nset ytics (", f);
    for (int t = 0; t < n; t++) fprintf(f, "%s'%s' %d", t ? ", " : "", m->tasks->names[t], t);
    fputs(")\nset tics scale 0\n", f);
    fputs("set palette defined (-1 '#2166ac', 0 '#f7f7f7', 1 '#b2182b')\n", f);
    fprintf(f, "set cbrange [%.17g:%.17g]\n", -extent, extent);
    fprintf(f, "set cblabel '%s'\n", of_delta ? "delta" : "rank (sign of delta, grows with |delta|)");
    /* defined cells coloured by value; undefined ones grey with a "-" */
    fputs("$cells << EOD\n", f);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int c = i * n + j;
            if (of_delta && !isnan(m->delta[c])) fprintf(f, "%d %d %.17g \"%.3f\"\n", j, i, m->delta[c], m->delta[c]);
            if (!of_delta && m->rank[c] != CX_TIM_NO_RANK) fprintf(f, "%d %d %d \"%d\"\n", j, i, m->rank[c], m->rank[c]);
        }
    fputs("EOD\n$undefined << EOD\n", f);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (isnan(m->delta[i * n + j])) fprintf(f, "%d %d\n", j, i);
    fputs("EOD\n", f);
    fputs("plot $cells using 1:2:(0.5):(0.5):3 with boxxyerror fillstyle solid noborder fillcolor palette, "
          "$cells using 1:2:4 with labels, "
          "$undefined using 1:2:(0.5):(0.5) with boxxyerror fillstyle solid noborder fillcolor rgb '#bdbdbd', "
          "$undefined using 1:2:(\"-\") with labels\n",
          f);
}

/* The first non-empty line of a file, for an error message (static buffer). */
static const char *first_line(FILE *f) {
    static char line[512];
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0]) return line;
    }
    return "no message";
}

/* gnuplot reads the script on its standard input and writes the PNG on its standard output,
 * which is the temporary of the output file; the caller commits it with the other outputs. */
static cx_outfile *draw_heatmap(const char *png, const tim_matrix *m, bool of_delta, const char *metric) {
    FILE *script = tmpfile(), *messages = tmpfile();
    if (!script || !messages) cx_fatal(EX_CANTCREAT, "--heatmap: cannot create a temporary file: %s", strerror(errno));
    write_heatmap_script(script, m, of_delta, metric);
    if (fflush(script)) cx_fatal(EX_IOERR, "--heatmap: cannot write the gnuplot script: %s", strerror(errno));
    rewind(script);
    cx_outfile *out = cx_outfile_open(png);
    if (!out) cx_die();
    fflush(cx_outfile_fp(out));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fileno(script), 0);
    posix_spawn_file_actions_adddup2(&actions, fileno(cx_outfile_fp(out)), 1);
    posix_spawn_file_actions_adddup2(&actions, fileno(messages), 2);
    char *argv[] = {"gnuplot", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc == ENOENT)
        cx_fatal(EX_UNAVAILABLE, "--heatmap: gnuplot not found on PATH (Debian: apt-get install gnuplot-nox)");
    if (rc) cx_fatal(EX_UNAVAILABLE, "--heatmap: cannot run gnuplot: %s", strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) cx_fatal(EX_SOFTWARE, "--heatmap: waiting for gnuplot: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        cx_fatal(EX_SOFTWARE, "--heatmap: gnuplot failed: %s", first_line(messages));
    if (lseek(fileno(cx_outfile_fp(out)), 0, SEEK_END) <= 0)
        cx_fatal(EX_SOFTWARE, "--heatmap: gnuplot wrote no image: %s", first_line(messages));
    fclose(script);
    fclose(messages);
    return out;
}

/* ---- the search and the plans ---- */

static void print_sets(const cx_tim_tasks *tasks, cx_taskset_list *l) {
    cx_taskset_list_sort(l);
    for (size_t k = 0; k < l->n; k++) {
        char *text = cx_tim_set_text(tasks, l->sets[k]);
        puts(text);
        free(text);
    }
}

static void run_search(const cx_tim_tasks *tasks, const cx_tim_table *table, int beam, int max_size, bool chosen) {
    cx_taskset_list missing = {0};
    if (chosen) printf("task\tset\tscore\tsearch\n");
    for (int t = 0; t < tasks->n; t++) {
        cx_tim_search s;
        size_t before = missing.n;
        cx_tim_greedy(table, t, beam, max_size, &s, &missing);
        if (!chosen) continue;
        char *text = s.has_chosen ? cx_tim_set_text(tasks, s.chosen) : cx_strdup("-");
        printf("%s\t%s\t", tasks->names[t], text);
        if (s.has_chosen) printf("%.6g", s.chosen_score);
        else fputs("-", stdout);
        if (s.done) printf("\tdone\n");
        else printf("\twaiting for %zu runs\n", missing.n - before);
        free(text);
    }
    if (!chosen) print_sets(tasks, &missing);
    cx_taskset_list_free(&missing);
}

/* A name that goes into gnuplot titles and metadata keys: letters, digits, '_', '-'. */
static bool plain_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

int main(int argc, char **argv) {
    cx_cli_init(&tool, argc, argv);
    const char *metric = NULL, *tasks_list = NULL, *output = NULL, *heatmap = NULL;
    bool markdown = false, next = false, chosen = false, heatmap_of_delta = false;
    int beam = 3, max_size = 3, plan = 0;
    enum { OPT_HEATMAP = CX_OPT_FIRST_TOOL, OPT_HEATMAP_VALUES, OPT_NEXT, OPT_CHOSEN, OPT_BEAM, OPT_MAX_SIZE, OPT_PLAN };
    static const struct option longopts[] = {
        {"metric", required_argument, 0, 'm'}, {"tasks", required_argument, 0, 't'},
        {"format", required_argument, 0, 'f'}, {"output", required_argument, 0, 'o'},
        {"heatmap", required_argument, 0, OPT_HEATMAP}, {"heatmap-values", required_argument, 0, OPT_HEATMAP_VALUES},
        {"next", no_argument, 0, OPT_NEXT}, {"chosen", no_argument, 0, OPT_CHOSEN},
        {"beam", required_argument, 0, OPT_BEAM}, {"max-size", required_argument, 0, OPT_MAX_SIZE},
        {"plan", required_argument, 0, OPT_PLAN}, CX_STD_OPTIONS, {0, 0, 0, 0}};
    int c;
    while ((c = cx_getopt(argc, argv, "m:t:f:o:", longopts)) != -1) {
        if (c == 'm') metric = optarg;
        else if (c == 't') tasks_list = optarg;
        else if (c == 'o') output = optarg;
        else if (c == 'f') {
            if (strcmp(optarg, "tsv") && strcmp(optarg, "markdown")) cx_usage_error("--format: tsv or markdown, not '%s'", optarg);
            markdown = !strcmp(optarg, "markdown");
        } else if (c == OPT_HEATMAP) heatmap = optarg;
        else if (c == OPT_HEATMAP_VALUES) {
            if (strcmp(optarg, "rank") && strcmp(optarg, "delta")) cx_usage_error("--heatmap-values: rank or delta, not '%s'", optarg);
            heatmap_of_delta = !strcmp(optarg, "delta");
        } else if (c == OPT_NEXT) next = true;
        else if (c == OPT_CHOSEN) chosen = true;
        else if (c == OPT_BEAM) beam = (int)cx_opt_int("--beam", optarg, 1, 1000);
        else if (c == OPT_MAX_SIZE) max_size = (int)cx_opt_int("--max-size", optarg, 1, CX_TIM_MAX_TASKS);
        else if (c == OPT_PLAN) plan = (int)cx_opt_int("--plan", optarg, 1, CX_TIM_MAX_TASKS);
    }
    if (next + chosen + (plan > 0) > 1) cx_usage_error("--next, --chosen and --plan exclude each other");
    bool listing = next || chosen || plan > 0;
    if (listing && (output || heatmap)) cx_usage_error("-o and --heatmap go with the matrix, not with --next, --chosen or --plan");
    if (metric && !plain_name(metric)) cx_usage_error("--metric: '%s' is not a metric name", metric);
    cx_tim_tasks tasks = {0};
    if (tasks_list && cx_tim_tasks_parse(&tasks, tasks_list)) cx_usage_error("--tasks: %s", cx_errmsg());

    run_records runs = {.inputs = cx_array()};
    if (optind < argc)
        for (int k = optind; k < argc; k++) read_metrics(argv[k], metric, &runs);
    else if (!listing) read_metrics("-", metric, &runs);
    if (runs.null_scores)
        cx_warn("%zu records without a score (null %s) count as runs with no score", runs.null_scores, metric ? metric : "metric");
    if (!tasks_list) {
        if (runs.seen.n == 0) {
            if (listing) cx_usage_error("no runs to take the tasks from: give --tasks LIST");
            cx_fatal(EX_DATAERR, "no metrics records in the input");
        }
        for (int t = 0; t < runs.seen.n; t++) cx_tim_tasks_add(&tasks, runs.seen.names[t]);   /* names already checked */
    }
    cx_tim_table table;
    build_table(&runs, &tasks, &table);

    if (plan) {
        double count = cx_tim_plan_size(tasks.n, plan);
        if (count > 1e6) cx_usage_error("--plan %d over %d tasks: %.0f sets, more than 1000000", plan, tasks.n, count);
        cx_taskset_list l = {0};
        cx_tim_plan(&table, plan, &l);
        print_sets(&tasks, &l);
        cx_taskset_list_free(&l);
    } else if (listing) {
        run_search(&tasks, &table, beam, max_size, chosen);
    } else {
        int n = tasks.n;
        double *delta = cx_malloc((size_t)n * n * sizeof *delta);     /* [n, n] */
        int64_t *used = cx_malloc((size_t)n * n * sizeof *used);      /* [n, n] */
        int32_t *rank = cx_malloc((size_t)n * n * sizeof *rank);      /* [n, n] */
        cx_tim_delta(&table, delta, used);
        cx_tim_ranks(n, delta, rank);
        tim_matrix m = {&tasks, delta, used, rank, cx_tim_subsets_per_cell(n)};
        cx_outfile *png = heatmap ? draw_heatmap(heatmap, &m, heatmap_of_delta, metric) : NULL;
        if (output) write_stream(output, &m, &table, &runs, metric);
        if (png && cx_outfile_commit(png)) cx_die();
        print_matrix(stdout, &m, metric, markdown);
        free(delta);
        free(used);
        free(rank);
    }
    cx_tim_table_free(&table);
    cx_tim_tasks_free(&tasks);
    free_runs(&runs);
    if (fflush(stdout) || ferror(stdout)) cx_fatal(EX_IOERR, "standard output: write error");
    return 0;
}
