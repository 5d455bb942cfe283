/* Fold aggregation of metrics records (summary.h). */
#include "eval/summary.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "eval/metrics.h"

/* Every metric of every kind, each once, in cx_metric_names order. */
static int all_metrics(const char **out) {
    static const cx_task_kind kinds[] = {CX_TASK_BINARY, CX_TASK_REGRESSION, CX_TASK_CLUSTERING};
    int n = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        const char *const *names;
        int count = cx_metric_names(kinds[k], &names);
        for (int i = 0; i < count; i++) out[n++] = names[i];
    }
    return n;
}

enum { MAX_METRICS = 16 };

static int metric_index(const cx_summary *s, const char *name) {
    for (int m = 0; m < s->nmetrics; m++)
        if (!strcmp(s->metric[m], name)) return m;
    return -1;
}

int cx_summary_init(cx_summary *s, const char *by, const char *metrics, const char *fold_field,
                    const char *folds_by) {
    memset(s, 0, sizeof *s);
    s->fold_field = fold_field;
    s->nby = cx_split_list("--by", by, &s->by);
    if (s->nby < 0) return cx_errcode();
    s->folds_by = -1;
    for (int b = 0; folds_by && b < s->nby; b++)
        if (!strcmp(s->by[b], folds_by)) s->folds_by = b;
    const char *known[MAX_METRICS];
    int nknown = all_metrics(known);
    s->metric = cx_malloc(sizeof *s->metric * MAX_METRICS);
    if (!metrics) {
        memcpy(s->metric, known, sizeof *known * (size_t)nknown);
        s->nmetrics = nknown;
        return 0;
    }
    char **given;
    int ngiven = cx_split_list("--metrics", metrics, &given);
    if (ngiven < 0) return cx_errcode();
    s->metrics_given = true;
    for (int i = 0; i < ngiven; i++) {
        int k = 0;
        while (k < nknown && strcmp(known[k], given[i])) k++;
        if (k == nknown) {
            cx_err(EX_USAGE, "--metrics: unknown metric '%s'", given[i]);
            cx_free_list(given, ngiven);
            return EX_USAGE;
        }
        s->metric[s->nmetrics++] = known[k];
    }
    cx_free_list(given, ngiven);
    return 0;
}

static void free_group(cx_summary_group *g) {
    cx_value_free(&g->values);
    cx_value_free(&g->folds);
    free(g->id);
    free(g->kind);
    free(g->fold_value);
    free(g->has);
    free(g->mean);
    free(g->std);
    free(g->defined);
}

void cx_summary_free(cx_summary *s) {
    for (int i = 0; i < s->ngroups; i++) free_group(&s->groups[i]);
    free(s->groups);
    cx_free_list(s->by, s->nby);
    free(s->metric);
    memset(s, 0, sizeof *s);
}

static cx_summary_group *find_or_add_group(cx_summary *s, cx_value *values) {
    for (int i = 0; i < s->ngroups; i++)
        if (cx_value_equal(&s->groups[i].values, values)) {
            cx_value_free(values);
            return &s->groups[i];
        }
    if (s->ngroups == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->groups = cx_realloc(s->groups, sizeof *s->groups * (size_t)s->cap);
    }
    cx_summary_group *g = &s->groups[s->ngroups++];
    memset(g, 0, sizeof *g);
    g->values = *values;
    *values = cx_nil();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (size_t i = 0; i < g->values.u.arr.n; i++) {
        if (i) fputc('/', f);
        cx_value_write_plain(f, &g->values.u.arr.items[i]);
    }
    fclose(f);
    g->id = buf;
    g->folds = cx_array();
    g->has = cx_calloc((size_t)s->nmetrics, sizeof *g->has);
    g->mean = cx_calloc((size_t)s->nmetrics, sizeof *g->mean);
    g->std = cx_calloc((size_t)s->nmetrics, sizeof *g->std);
    g->defined = cx_calloc((size_t)s->nmetrics, sizeof *g->defined);
    return g;
}

#define WHERE "%s: record %lld (id \"%s\"): "
#define WHERE_ARGS source, (long long)rec->index, rec->id

int cx_summary_add(cx_summary *s, const cx_record *rec, const char *source) {
    const cx_value *meta = &rec->meta;
    cx_value values = cx_array();
    for (int i = 0; i < s->nby; i++) {
        const cx_value *v = cx_map_get(meta, s->by[i]);
        if (!v || v->kind == CX_NIL) {
            cx_value_free(&values);
            return cx_err(EX_DATAERR, WHERE "meta.%s: missing (a --by field)", WHERE_ARGS, s->by[i]);
        }
        cx_array_push(&values, cx_value_copy(v));
    }
    /* the metrics this record must carry */
    bool wanted[MAX_METRICS];
    const char *kind = cx_map_str(meta, "kind", NULL);
    if (s->metrics_given) {
        for (int m = 0; m < s->nmetrics; m++) wanted[m] = true;
    } else {
        cx_task_kind k;
        if (!kind || cx_task_kind_parse(kind, &k)) {
            cx_value_free(&values);
            return cx_err(EX_DATAERR, WHERE "meta.kind: %s (binary, multiclass, regression or clustering)",
                          WHERE_ARGS, kind ? "unknown task kind" : "missing");
        }
        const char *const *names;
        int count = cx_metric_names(k, &names);
        for (int m = 0; m < s->nmetrics; m++) {
            wanted[m] = false;
            for (int i = 0; i < count; i++) wanted[m] |= !strcmp(names[i], s->metric[m]);
        }
    }
    double row[MAX_METRICS];
    for (int m = 0; m < s->nmetrics; m++) {
        row[m] = NAN;
        if (!wanted[m]) continue;
        const cx_value *v = cx_map_get(meta, s->metric[m]);
        if (!v) {
            cx_value_free(&values);
            return cx_err(EX_DATAERR, WHERE "meta.%s: missing", WHERE_ARGS, s->metric[m]);
        }
        if (v->kind == CX_INT) row[m] = (double)v->u.i;
        else if (v->kind == CX_FLOAT) row[m] = v->u.f;
        else if (v->kind != CX_NIL) {
            cx_value_free(&values);
            return cx_err(EX_DATAERR, WHERE "meta.%s: not a number or null", WHERE_ARGS, s->metric[m]);
        }
    }
    cx_summary_group *g = find_or_add_group(s, &values);
    if (g->n_folds > 0 && (kind ? !g->kind || strcmp(kind, g->kind) : g->kind != NULL))
        return cx_err(EX_DATAERR, WHERE "meta.kind: %s, but earlier records of group %s say %s", WHERE_ARGS,
                      kind ? kind : "missing", g->id, g->kind ? g->kind : "nothing");
    const cx_value *fold = s->fold_field ? cx_map_get(meta, s->fold_field) : NULL;
    if (fold && fold->kind != CX_NIL) {
        for (size_t i = 0; i < g->folds.u.arr.n; i++)
            if (cx_value_equal(&g->folds.u.arr.items[i], fold)) {
                char *text = cx_value_plain_text(fold);
                cx_err(EX_DATAERR, WHERE "meta.%s: %s %s appears twice in group %s", WHERE_ARGS, s->fold_field,
                       s->fold_field, text, g->id);
                free(text);
                return EX_DATAERR;
            }
        cx_array_push(&g->folds, cx_value_copy(fold));
    }
    if (g->n_folds == 0 && kind) g->kind = cx_strdup(kind);
    if (g->n_folds == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 8;
        g->fold_value = cx_realloc(g->fold_value, sizeof *g->fold_value * (size_t)g->cap * (size_t)s->nmetrics);
    }
    memcpy(g->fold_value + (size_t)g->n_folds * (size_t)s->nmetrics, row, sizeof *row * (size_t)s->nmetrics);
    for (int m = 0; m < s->nmetrics; m++) g->has[m] |= wanted[m];
    g->n_folds++;
    return 0;
}

/* Whether two groups are expected to have as many folds: the same folds_by value. */
static bool comparable(const cx_summary *s, const cx_summary_group *a, const cx_summary_group *b) {
    return s->folds_by < 0 ||
           cx_value_equal(&a->values.u.arr.items[s->folds_by], &b->values.u.arr.items[s->folds_by]);
}

void cx_summary_finish(cx_summary *s) {
    for (int i = 0; i < s->ngroups; i++) {
        cx_summary_group *g = &s->groups[i];
        for (int m = 0; m < s->nmetrics; m++) {
            double sum = 0, ss = 0;
            int n = 0;
            for (int f = 0; f < g->n_folds; f++) {
                double v = g->fold_value[f * s->nmetrics + m];
                if (!isnan(v)) {
                    sum += v;
                    n++;
                }
            }
            double mean = n ? sum / n : NAN;
            for (int f = 0; f < g->n_folds; f++) {
                double v = g->fold_value[f * s->nmetrics + m];
                if (!isnan(v)) ss += (v - mean) * (v - mean);
            }
            g->defined[m] = n;
            g->mean[m] = mean;
            g->std[m] = n >= 2 ? sqrt(ss / (n - 1)) : NAN;
        }
    }
    for (int i = 0; i < s->ngroups; i++) {
        cx_summary_group *g = &s->groups[i];
        int best_count = 0;
        g->expected_folds = 0;
        for (int j = 0; j < s->ngroups; j++) {
            const cx_summary_group *h = &s->groups[j];
            if (!comparable(s, g, h)) continue;
            int count = 0;
            for (int l = 0; l < s->ngroups; l++)
                count += comparable(s, g, &s->groups[l]) && s->groups[l].n_folds == h->n_folds;
            if (count > best_count || (count == best_count && h->n_folds > g->expected_folds)) {
                best_count = count;
                g->expected_folds = h->n_folds;
            }
        }
    }
}

bool cx_summary_metric_used(const cx_summary *s, int m) {
    for (int i = 0; i < s->ngroups; i++)
        if (s->groups[i].has[m]) return true;
    return false;
}

static cx_value number_or_null(double v) { return isnan(v) ? cx_nil() : cx_float(v); }

int cx_summary_write(const cx_summary *s, cx_writer *w) {
    cx_record rec;
    cx_record_init(&rec);
    int rc = 0;
    for (int i = 0; i < s->ngroups && !rc; i++) {
        const cx_summary_group *g = &s->groups[i];
        cx_record_free(&rec);
        cx_record_set_id(&rec, g->id);
        for (int b = 0; b < s->nby; b++) cx_map_set(&rec.meta, s->by[b], cx_value_copy(&g->values.u.arr.items[b]));
        if (g->kind && !cx_map_get(&rec.meta, "kind")) cx_map_set(&rec.meta, "kind", cx_str(g->kind));
        cx_map_set(&rec.meta, "n_folds", cx_int(g->n_folds));
        for (int m = 0; m < s->nmetrics; m++) {
            if (!g->has[m]) continue;
            char key[64];
            snprintf(key, sizeof key, "%s_mean", s->metric[m]);
            cx_map_set(&rec.meta, key, number_or_null(g->mean[m]));
            snprintf(key, sizeof key, "%s_std", s->metric[m]);
            cx_map_set(&rec.meta, key, number_or_null(g->std[m]));
            snprintf(key, sizeof key, "%s_n", s->metric[m]);
            cx_map_set(&rec.meta, key, cx_int(g->defined[m]));
        }
        rc = cx_writer_put(w, &rec);
    }
    cx_record_free(&rec);
    return rc;
}

/* ---- tables ---- */

static void put_cell(FILE *f, cx_table_format format, bool first, const char *text) {
    if (format == CX_TABLE_TSV) fprintf(f, "%s%s", first ? "" : "\t", text);
    else fprintf(f, "| %s ", text);
}

static void end_row(FILE *f, cx_table_format format) { fputs(format == CX_TABLE_TSV ? "\n" : "|\n", f); }

/* Markdown's line under the header: fields left-aligned, numbers right-aligned. */
static void markdown_rule(FILE *f, int text_columns, int number_columns) {
    for (int i = 0; i < text_columns; i++) fputs("|---", f);
    for (int i = 0; i < number_columns; i++) fputs("|---:", f);
    fputs("|\n", f);
}

static void number_cell(FILE *f, cx_table_format format, double v) {
    char buf[64];
    if (isnan(v)) snprintf(buf, sizeof buf, "-");
    else snprintf(buf, sizeof buf, format == CX_TABLE_TSV ? "%.10g" : "%.4f", v);
    put_cell(f, format, false, buf);
}

void cx_summary_print_flat(const cx_summary *s, FILE *f, cx_table_format format) {
    int used = 0;
    for (int b = 0; b < s->nby; b++) put_cell(f, format, b == 0, s->by[b]);
    put_cell(f, format, false, "n_folds");
    for (int m = 0; m < s->nmetrics; m++) {
        if (!cx_summary_metric_used(s, m)) continue;
        char name[64];
        snprintf(name, sizeof name, "%s_mean", s->metric[m]);
        put_cell(f, format, false, name);
        snprintf(name, sizeof name, "%s_std", s->metric[m]);
        put_cell(f, format, false, name);
        used++;
    }
    end_row(f, format);
    if (format == CX_TABLE_MARKDOWN) markdown_rule(f, s->nby, 1 + 2 * used);
    for (int i = 0; i < s->ngroups; i++) {
        const cx_summary_group *g = &s->groups[i];
        for (int b = 0; b < s->nby; b++) {
            char *text = cx_value_plain_text(&g->values.u.arr.items[b]);
            put_cell(f, format, b == 0, text);
            free(text);
        }
        char folds[32];
        snprintf(folds, sizeof folds, "%d%s", g->n_folds, g->n_folds != g->expected_folds ? "*" : "");
        put_cell(f, format, false, folds);
        for (int m = 0; m < s->nmetrics; m++) {
            if (!cx_summary_metric_used(s, m)) continue;
            number_cell(f, format, g->has[m] ? g->mean[m] : NAN);
            number_cell(f, format, g->has[m] ? g->std[m] : NAN);
        }
        end_row(f, format);
    }
}

/* ---- Table S1 ---- */

typedef struct { char **item; int n; } text_set;

static int text_set_add(text_set *t, const char *text) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->item[i], text)) return i;
    t->item = cx_realloc(t->item, sizeof *t->item * (size_t)(t->n + 1));
    t->item[t->n] = cx_strdup(text);
    return t->n++;
}

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int by_field(const cx_summary *s, const char *name) {
    for (int b = 0; b < s->nby; b++)
        if (!strcmp(s->by[b], name)) return b;
    return -1;
}

static const char *metric_heading(const char *name, char *buf, size_t size) {
    if (!strcmp(name, "gmean")) return "GM";
    snprintf(buf, size, "%s", name);
    for (char *p = buf; *p; p++) *p = (char)toupper((unsigned char)*p);
    return buf;
}

enum { S1_BACKBONE, S1_EXPERIMENT, S1_PROTOCOL, S1_TASK, S1_FIELDS };
static const char *const s1_field_name[S1_FIELDS] = {"backbone", "experiment", "protocol", "task"};

bool cx_summary_has_s1_fields(const cx_summary *s) {
    for (int i = 0; i < S1_FIELDS; i++)
        if (by_field(s, s1_field_name[i]) < 0) return false;
    return true;
}

int cx_summary_print_s1(const cx_summary *s, FILE *f, cx_table_format format, const char *task,
                        const char *metrics) {
    if (!cx_summary_has_s1_fields(s))
        return cx_err(EX_USAGE, "--layout s1 needs backbone, experiment, protocol and task among the --by fields");
    int field[S1_FIELDS];
    for (int i = 0; i < S1_FIELDS; i++) field[i] = by_field(s, s1_field_name[i]);
    char **metric_list;
    int nm = cx_split_list("--metrics", metrics ? metrics : "acc,f1,gmean", &metric_list);
    if (nm < 0) return cx_errcode();
    int *metric = cx_malloc(sizeof *metric * (size_t)nm);
    int rc = 0;
    for (int i = 0; i < nm && !rc; i++)
        if ((metric[i] = metric_index(s, metric_list[i])) < 0)
            rc = cx_err(EX_USAGE, "--metrics: %s is not among the metrics summarized", metric_list[i]);
    /* each group's four texts */
    int ng = s->ngroups;
    char **text = cx_calloc((size_t)ng * S1_FIELDS, sizeof *text);
    text_set tasks = {0}, backbones = {0}, experiments = {0}, protocols = {0};
    for (int i = 0; i < ng; i++)
        for (int j = 0; j < S1_FIELDS; j++) text[i * S1_FIELDS + j] = cx_value_plain_text(&s->groups[i].values.u.arr.items[field[j]]);
    for (int i = 0; i < ng; i++) text_set_add(&tasks, text[i * S1_FIELDS + S1_TASK]);
    if (!rc && !task && tasks.n > 1) {
        char *names = NULL;
        size_t len = 0;
        FILE *list = open_memstream(&names, &len);
        for (int i = 0; i < tasks.n; i++) fprintf(list, "%s%s", i ? ", " : "", tasks.item[i]);
        fclose(list);
        rc = cx_err(EX_USAGE, "--layout s1: several tasks (%s): choose one with --task", names);
        free(names);
    }
    if (!rc && !task) task = tasks.item[0];
    int *cell_group = NULL;
    if (!rc) {
        for (int i = 0; i < ng; i++) {
            if (strcmp(text[i * S1_FIELDS + S1_TASK], task)) continue;
            text_set_add(&backbones, text[i * S1_FIELDS + S1_BACKBONE]);
            text_set_add(&experiments, text[i * S1_FIELDS + S1_EXPERIMENT]);
            text_set_add(&protocols, text[i * S1_FIELDS + S1_PROTOCOL]);
        }
        if (backbones.n == 0) rc = cx_err(EX_DATAERR, "--task %s: no group of that task", task);
        else qsort(protocols.item, (size_t)protocols.n, sizeof *protocols.item, by_text);
    }
    if (!rc) {
        /* cell (backbone, experiment, protocol) -> group, -1 when missing */
        int cells = backbones.n * experiments.n * protocols.n;
        cell_group = cx_malloc(sizeof *cell_group * (size_t)cells);
        for (int c = 0; c < cells; c++) cell_group[c] = -1;
        for (int i = 0; i < ng && !rc; i++) {
            if (strcmp(text[i * S1_FIELDS + S1_TASK], task)) continue;
            int b = text_set_add(&backbones, text[i * S1_FIELDS + S1_BACKBONE]);
            int e = text_set_add(&experiments, text[i * S1_FIELDS + S1_EXPERIMENT]);
            int p = text_set_add(&protocols, text[i * S1_FIELDS + S1_PROTOCOL]);
            int c = (b * experiments.n + e) * protocols.n + p;
            if (cell_group[c] >= 0)
                rc = cx_err(EX_DATAERR, "--layout s1: groups %s and %s share a cell; group by fewer fields",
                            s->groups[cell_group[c]].id, s->groups[i].id);
            cell_group[c] = i;
        }
    }
    if (!rc) {
        char buf[64], heading[160];
        put_cell(f, format, true, format == CX_TABLE_TSV ? "backbone" : "Backbone");
        put_cell(f, format, false, format == CX_TABLE_TSV ? "experiment" : "Experiment");
        for (int p = 0; p < protocols.n; p++)
            for (int m = 0; m < nm; m++) {
                snprintf(heading, sizeof heading, "%s %s", protocols.item[p], metric_heading(metric_list[m], buf, sizeof buf));
                for (char *q = heading; *q != ' '; q++) *q = (char)toupper((unsigned char)*q);
                put_cell(f, format, false, heading);
            }
        end_row(f, format);
        if (format == CX_TABLE_MARKDOWN) markdown_rule(f, 2, protocols.n * nm);
        for (int b = 0; b < backbones.n; b++)
            for (int e = 0; e < experiments.n; e++) {
                put_cell(f, format, true, backbones.item[b]);
                put_cell(f, format, false, experiments.item[e]);
                for (int p = 0; p < protocols.n; p++) {
                    int gi = cell_group[(b * experiments.n + e) * protocols.n + p];
                    const cx_summary_group *g = gi >= 0 ? &s->groups[gi] : NULL;
                    for (int m = 0; m < nm; m++) {
                        char cell[64];
                        double mean = g && g->has[metric[m]] ? g->mean[metric[m]] : NAN;
                        double std = g ? g->std[metric[m]] : NAN;
                        const char *flag = g && g->n_folds != g->expected_folds ? "*" : "";
                        if (isnan(mean)) snprintf(cell, sizeof cell, "-%s", g ? flag : "");
                        else if (isnan(std)) snprintf(cell, sizeof cell, "%.1f(-)%s", 100 * mean, flag);
                        else snprintf(cell, sizeof cell, "%.1f(%.1f)%s", 100 * mean, 100 * std, flag);
                        put_cell(f, format, false, cell);
                    }
                }
                end_row(f, format);
            }
    }
    free(cell_group);
    for (int i = 0; i < ng * S1_FIELDS; i++) free(text[i]);
    free(text);
    cx_free_list(tasks.item, tasks.n);
    cx_free_list(backbones.item, backbones.n);
    cx_free_list(experiments.item, experiments.n);
    cx_free_list(protocols.item, protocols.n);
    free(metric);
    cx_free_list(metric_list, nm);
    return rc;
}
