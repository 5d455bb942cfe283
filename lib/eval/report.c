/* Table 1 and the gnuplot scripts of the MDMT report (report.h). */
#include "eval/report.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"

int cx_report_init(cx_report *r, const char *task, const char *metrics) {
    memset(r, 0, sizeof *r);
    if (task) {
        r->task = cx_strdup(task);
        r->task_given = true;
    }
    int n = cx_split_list("--metrics", metrics ? metrics : "acc,f1,gmean", &r->metric);
    if (n < 0) return cx_errcode();
    r->nmetrics = n;
    return 0;
}

void cx_report_free(cx_report *r) {
    for (int i = 0; i < r->ncells; i++) {
        cx_report_cell *c = &r->cell[i];
        free(c->backbone);
        free(c->experiment);
        free(c->protocol);
        free(c->mean);
        free(c->std);
    }
    free(r->cell);
    free(r->task);
    cx_free_list(r->metric, r->nmetrics);
    free(r->backbone);     /* the names themselves belong to the cells */
    free(r->experiment);
    free(r->protocol);
    free(r->cell_at);
    memset(r, 0, sizeof *r);
}

/* A meta field as text (strings unquoted); NULL when absent or null. */
static char *field_text(const cx_record *rec, const char *field) {
    const cx_value *v = cx_map_get(&rec->meta, field);
    return v && v->kind != CX_NIL ? cx_value_plain_text(v) : NULL;
}

/* <metric><suffix> of the record: a number, or NaN for null. -1 when absent or not a number. */
static int metric_value(const cx_record *rec, const char *metric, const char *suffix, double *out) {
    char key[96];
    snprintf(key, sizeof key, "%s%s", metric, suffix);
    const cx_value *v = cx_map_get(&rec->meta, key);
    if (!v) return -1;
    if (v->kind == CX_NIL) {
        *out = NAN;
        return 0;
    }
    return cx_value_number(v, out) && v->kind != CX_BOOL ? 0 : -1;
}

int cx_report_add(cx_report *r, const cx_record *rec, const char *source) {
    static const char *const fields[] = {"task", "backbone", "experiment", "protocol"};
    char *text[4];
    int missing = -1;
    for (int i = 0; i < 4; i++)
        if (!(text[i] = field_text(rec, fields[i])) && missing < 0) missing = i;
    int rc = 0;
    if (missing >= 0)
        rc = cx_err(EX_DATAERR, "%s: record %lld (id \"%s\"): meta.%s: missing", source, (long long)rec->index,
                    rec->id, fields[missing]);
    else if (!r->task)
        r->task = cx_strdup(text[0]);
    else if (strcmp(r->task, text[0]) && !r->task_given)
        rc = cx_err(EX_USAGE, "%s: record %lld (id \"%s\"): several tasks (%s, %s): choose one with --task", source,
                    (long long)rec->index, rec->id, r->task, text[0]);
    if (rc || strcmp(r->task, text[0])) {
        for (int i = 0; i < 4; i++) free(text[i]);
        return rc;
    }
    free(text[0]);
    cx_report_cell c = {text[1], text[2], text[3], cx_malloc(sizeof(double) * (size_t)r->nmetrics),
                        cx_malloc(sizeof(double) * (size_t)r->nmetrics)};
    for (int m = 0; m < r->nmetrics && !rc; m++) {
        const char *bad = metric_value(rec, r->metric[m], "_mean", &c.mean[m]) ? "_mean"
                        : metric_value(rec, r->metric[m], "_std", &c.std[m])  ? "_std" : NULL;
        if (bad)
            rc = cx_err(EX_DATAERR, "%s: record %lld (id \"%s\"): meta.%s%s: missing or not a number (mt-summary -o writes it)",
                        source, (long long)rec->index, rec->id, r->metric[m], bad);
    }
    for (int i = 0; i < r->ncells && !rc; i++) {
        const cx_report_cell *o = &r->cell[i];
        if (!strcmp(o->backbone, c.backbone) && !strcmp(o->experiment, c.experiment) && !strcmp(o->protocol, c.protocol))
            rc = cx_err(EX_DATAERR, "%s: record %lld (id \"%s\"): backbone %s, experiment %s, protocol %s seen twice",
                        source, (long long)rec->index, rec->id, c.backbone, c.experiment, c.protocol);
    }
    if (rc) {
        free(c.backbone);
        free(c.experiment);
        free(c.protocol);
        free(c.mean);
        free(c.std);
        return rc;
    }
    if (r->ncells == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->cell = cx_realloc(r->cell, sizeof *r->cell * (size_t)r->cap);
    }
    r->cell[r->ncells++] = c;
    return 0;
}

/* Index of s among names[0..n) (the names are the cells' own strings). */
static int find_name(char **names, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

static int add_name(char ***names, int *n, char *s) {
    int i = find_name(*names, *n, s);
    if (i >= 0) return i;
    *names = cx_realloc(*names, sizeof **names * (size_t)(*n + 1));
    (*names)[*n] = s;
    return (*n)++;
}

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cx_report_finish(cx_report *r) {
    if (r->ncells == 0)
        return cx_err(EX_DATAERR, "no summary record%s%s", r->task ? " of task " : "", r->task ? r->task : "");
    for (int i = 0; i < r->ncells; i++) {
        add_name(&r->backbone, &r->nb, r->cell[i].backbone);
        add_name(&r->experiment, &r->ne, r->cell[i].experiment);
        add_name(&r->protocol, &r->np, r->cell[i].protocol);
    }
    qsort(r->protocol, (size_t)r->np, sizeof *r->protocol, by_text);
    int cells = r->nb * r->ne * r->np;
    r->cell_at = cx_malloc(sizeof *r->cell_at * (size_t)cells);
    for (int i = 0; i < cells; i++) r->cell_at[i] = -1;
    for (int i = 0; i < r->ncells; i++) {
        const cx_report_cell *c = &r->cell[i];
        int b = find_name(r->backbone, r->nb, c->backbone), e = find_name(r->experiment, r->ne, c->experiment);
        int p = find_name(r->protocol, r->np, c->protocol);
        r->cell_at[(b * r->ne + e) * r->np + p] = i;
    }
    return 0;
}

static const cx_report_cell *cell_of(const cx_report *r, int b, int e, int p) {
    int i = r->cell_at[(b * r->ne + e) * r->np + p];
    return i >= 0 ? &r->cell[i] : NULL;
}

/* "ACC", "F1", "GM" (the paper's headings); other metrics upper-cased. */
static void put_upper(FILE *f, const char *s) {
    if (!strcmp(s, "gmean")) s = "gm";
    for (; *s; s++) fputc(toupper((unsigned char)*s), f);
}

void cx_report_table1(const cx_report *r, FILE *f) {
    fputs("| Experiment |", f);
    for (int p = 0; p < r->np; p++)
        for (int m = 0; m < r->nmetrics; m++) {
            fputc(' ', f);
            put_upper(f, r->protocol[p]);
            fputc(' ', f);
            put_upper(f, r->metric[m]);
            fputs(" |", f);
        }
    fputs("\n|---|", f);
    for (int i = 0; i < r->np * r->nmetrics; i++) fputs("---:|", f);
    fputc('\n', f);
    bool partial = false;
    for (int e = 0; e < r->ne; e++) {
        fprintf(f, "| %s |", r->experiment[e]);
        for (int p = 0; p < r->np; p++)
            for (int m = 0; m < r->nmetrics; m++) {
                double sum = 0;
                int count = 0;
                for (int b = 0; b < r->nb; b++) {
                    const cx_report_cell *c = cell_of(r, b, e, p);
                    if (c && !isnan(c->mean[m])) {
                        sum += c->mean[m];
                        count++;
                    }
                }
                if (count == 0) fputs(" - |", f);
                else fprintf(f, " %.1f%s |", 100 * sum / count, count < r->nb ? "*" : "");
                partial |= count > 0 && count < r->nb;
            }
        fputc('\n', f);
    }
    fprintf(f, "\nMean over %d backbone%s of the mean over folds, %%, task %s.", r->nb, r->nb == 1 ? "" : "s", r->task);
    if (partial) fputs(" *: over fewer backbones (the others lack the experiment or the value is undefined).", f);
    fputc('\n', f);
}

/* A gnuplot single-quoted string: no escapes inside, a quote doubled. */
static void gp_string(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* Terminal and output; `png` may be set on gnuplot's command line to draw elsewhere. */
static void gp_preamble(FILE *f, const char *png, int width, int height) {
    fputs("# gnuplot script written by the cxr-mtl report; gnuplot -e \"png='OTHER.png'\" draws elsewhere\n", f);
    fputs("if (!exists(\"png\")) png = ", f);
    gp_string(f, png);
    fprintf(f, "\nset terminal pngcairo noenhanced size %d,%d font ',10'\nset output png\n", width, height);
}

void cx_report_bars(const cx_report *r, FILE *f, const char *png) {
    gp_preamble(f, png, 560 * r->np + 160, 320 * r->nmetrics + 60);
    /* one data block per protocol: a row per backbone, (mean, std) per experiment, in % */
    for (int p = 0; p < r->np; p++)
        for (int m = 0; m < r->nmetrics; m++) {
            fprintf(f, "$p%dm%d << EOD\n", p, m);
            for (int b = 0; b < r->nb; b++) {
                fputc('"', f);
                for (const char *s = r->backbone[b]; *s; s++) fputc(*s == '"' ? '\'' : *s, f);
                fputc('"', f);
                for (int e = 0; e < r->ne; e++) {
                    const cx_report_cell *c = cell_of(r, b, e, p);
                    if (!c || isnan(c->mean[m])) fputs(" - -", f);
                    else fprintf(f, " %.6g %.6g", 100 * c->mean[m], isnan(c->std[m]) ? 0.0 : 100 * c->std[m]);
                }
                fputc('\n', f);
            }
            fputs("EOD\n", f);
        }
    fputs("set datafile missing '-'\nset style data histograms\nset style histogram errorbars gap 1 lw 1\n"
          "set style fill solid 0.7 border -1\nset boxwidth 0.9\nset yrange [0:100]\nset grid ytics\n"
          "set xtics rotate by -30 nomirror\nset key outside right top\n", f);
    fprintf(f, "set multiplot layout %d,%d title ", r->nmetrics, r->np);
    char title[256];
    snprintf(title, sizeof title, "%s: mean over folds per backbone, whisker = std over folds", r->task);
    gp_string(f, title);
    fputc('\n', f);
    for (int m = 0; m < r->nmetrics; m++)
        for (int p = 0; p < r->np; p++) {
            fputs("set title '", f);
            put_upper(f, r->protocol[p]);
            fputc(' ', f);
            put_upper(f, r->metric[m]);
            fputs(" (%)'\nplot ", f);
            for (int e = 0; e < r->ne; e++) {
                if (e) fputs(", ", f);
                if (e == 0) fprintf(f, "$p%dm%d using 2:3:xtic(1) title ", p, m);
                else fprintf(f, "'' using %d:%d title ", 2 + 2 * e, 3 + 2 * e);
                gp_string(f, r->experiment[e]);
            }
            fputc('\n', f);
        }
    fputs("unset multiplot\n", f);
}

void cx_roc_plot(FILE *f, const char *png, const char *title, int ncurves, char *const *name, const cx_roc *curve) {
    gp_preamble(f, png, 640, 600);
    for (int c = 0; c < ncurves; c++) {
        fprintf(f, "$c%d << EOD\n", c);
        for (int64_t i = 0; i < curve[c].n; i++) fprintf(f, "%.9g %.9g\n", curve[c].fpr[i], curve[c].tpr[i]);
        fputs("EOD\n", f);
    }
    fputs("set size square\nset xrange [0:1]\nset yrange [0:1]\nset grid\nset key bottom right\n"
          "set xlabel 'false positive rate'\nset ylabel 'true positive rate'\n", f);
    if (title) {
        fputs("set title ", f);
        gp_string(f, title);
        fputc('\n', f);
    }
    fputs("plot ", f);
    for (int c = 0; c < ncurves; c++) {
        char key[256];
        snprintf(key, sizeof key, "%s (AUC %.3f, %lld+/%lld-)", name[c], cx_roc_auc(&curve[c]),
                 (long long)curve[c].positives, (long long)curve[c].negatives);
        fprintf(f, "$c%d using 1:2 with lines lw 2 title ", c);
        gp_string(f, key);
        fputs(", ", f);
    }
    fputs("x with lines dashtype 2 linecolor 'gray' notitle\n", f);
}
