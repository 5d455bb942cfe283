#include "train/task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static const char *const loss_names[] = {"ce", "bce", "nll", "mae", "mse", "recon"};

const char *cx_task_loss_name(cx_task_loss l) { return loss_names[l]; }

int cx_task_loss_parse(const char *s, cx_task_loss *l) {
    for (int i = 0; i < (int)(sizeof loss_names / sizeof loss_names[0]); i++)
        if (!strcmp(s, loss_names[i])) {
            *l = (cx_task_loss)i;
            return 0;
        }
    return -1;
}

bool cx_task_is_classification(const cx_task *t) {
    return t->kind == CX_TASK_BINARY || t->kind == CX_TASK_MULTICLASS;
}

void cx_tasks_m3h_losses(cx_task *tasks, int n) {
    for (int i = 0; i < n; i++) {
        if (tasks[i].loss_given) continue;
        if (tasks[i].kind == CX_TASK_BINARY) tasks[i].loss = CX_LOSS_BCE;
        else if (tasks[i].kind == CX_TASK_MULTICLASS) tasks[i].loss = CX_LOSS_NLL;
    }
}

int cx_task_outputs(const cx_task *t) {
    if (t->kind == CX_TASK_REGRESSION) return 1;
    if (t->kind == CX_TASK_CLUSTERING) return 0;
    if (t->kind == CX_TASK_BINARY && t->loss == CX_LOSS_BCE) return 1;
    return t->classes;
}

static bool valid_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

static bool loss_fits(const cx_task *t) {
    switch (t->kind) {
    case CX_TASK_BINARY: return t->loss == CX_LOSS_CE || t->loss == CX_LOSS_BCE || t->loss == CX_LOSS_NLL;
    case CX_TASK_MULTICLASS: return t->loss == CX_LOSS_CE || t->loss == CX_LOSS_NLL;
    case CX_TASK_REGRESSION: return t->loss == CX_LOSS_MAE || t->loss == CX_LOSS_MSE;
    case CX_TASK_CLUSTERING: return t->loss == CX_LOSS_RECON;
    }
    return false;
}

/* Copy the next ':'-separated part of *p into buf (of size n); false when too long. */
static bool next_part(const char **p, char *buf, size_t n) {
    size_t len = strcspn(*p, ":");
    if (len >= n) return false;
    memcpy(buf, *p, len);
    buf[len] = 0;
    *p += len + ((*p)[len] == ':');
    return true;
}

int cx_task_parse(const char *spec, cx_task *t) {
    memset(t, 0, sizeof *t);
    t->weight = 1;
    char head[256], kind[32] = "", classes[32] = "";
    size_t hlen = strcspn(spec, ",");
    if (hlen >= sizeof head) return cx_err(EX_USAGE, "task '%s': too long", spec);
    memcpy(head, spec, hlen);
    head[hlen] = 0;
    const char *p = head;
    if (!next_part(&p, t->name, sizeof t->name) || !next_part(&p, kind, sizeof kind) ||
        !next_part(&p, t->field, sizeof t->field) || !next_part(&p, classes, sizeof classes) || *p)
        return cx_err(EX_USAGE, "task '%s': not NAME:KIND:FIELD[:K][,weight=W][,loss=L]", spec);
    if (!valid_name(t->name))
        return cx_err(EX_USAGE, "task '%s': the name must be letters, digits, '_' or '-'", spec);
    if (!t->field[0]) return cx_err(EX_USAGE, "task '%s': no FIELD", spec);
    if (cx_task_kind_parse(kind, &t->kind))
        return cx_err(EX_USAGE, "task '%s': unknown kind '%s' (binary, multiclass, regression, clustering)", spec, kind);
    long k = 0;
    if (classes[0]) {
        char *end;
        k = strtol(classes, &end, 10);
        if (*end || k < 2 || k > 1000) return cx_err(EX_USAGE, "task '%s': K must be an integer 2..1000", spec);
    }
    switch (t->kind) {
    case CX_TASK_BINARY:
        if (k && k != 2) return cx_err(EX_USAGE, "task '%s': a binary task has K = 2", spec);
        t->classes = 2, t->loss = CX_LOSS_CE;
        break;
    case CX_TASK_MULTICLASS:
        if (!k) return cx_err(EX_USAGE, "task '%s': a multiclass task needs K (NAME:multiclass:FIELD:K)", spec);
        t->classes = (int)k, t->loss = CX_LOSS_CE;
        break;
    case CX_TASK_REGRESSION:
        if (k) return cx_err(EX_USAGE, "task '%s': a regression task takes no K", spec);
        t->loss = CX_LOSS_MAE;
        break;
    case CX_TASK_CLUSTERING:
        t->classes = k ? (int)k : 15, t->loss = CX_LOSS_RECON;
        break;
    }
    for (const char *opt = spec + hlen; *opt == ',';) {
        opt++;
        size_t len = strcspn(opt, ",");
        char item[96];
        if (len >= sizeof item) return cx_err(EX_USAGE, "task '%s': option too long", spec);
        memcpy(item, opt, len);
        item[len] = 0;
        opt += len;
        char *end;
        if (!strncmp(item, "weight=", 7)) {
            t->weight = strtod(item + 7, &end);
            if (end == item + 7 || *end || !(t->weight > 0) || !isfinite(t->weight))
                return cx_err(EX_USAGE, "task '%s': weight must be a number > 0", spec);
        } else if (!strncmp(item, "loss=", 5)) {
            if (cx_task_loss_parse(item + 5, &t->loss))
                return cx_err(EX_USAGE, "task '%s': unknown loss '%s' (ce, bce, nll, mae, mse)", spec, item + 5);
            t->loss_given = true;
        } else {
            return cx_err(EX_USAGE, "task '%s': unknown option '%s' (weight=W, loss=L)", spec, item);
        }
    }
    if (!loss_fits(t))
        return cx_err(EX_USAGE, "task '%s': loss %s does not fit a %s task", spec, cx_task_loss_name(t->loss),
                      cx_task_kind_name(t->kind));
    return 0;
}

int cx_tasks_read(const char *path, cx_task *tasks, int *n, int max) {
    FILE *f = fopen(path, "r");
    if (!f) return cx_err(EX_NOINPUT, "%s: cannot open", path);
    char line[512];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *s = line, *e = line + strlen(line);
        while (*s == ' ' || *s == '\t') s++;
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
        if (!*s) continue;
        if (*n == max) rc = cx_err(EX_USAGE, "%s: line %d: more than %d tasks", path, lineno, max);
        else if (cx_task_parse(s, &tasks[*n])) rc = cx_err_prefix("%s: line %d", path, lineno);
        else (*n)++;
    }
    fclose(f);
    return rc;
}

int cx_tasks_check(const cx_task *tasks, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(tasks[i].name, tasks[j].name)) return cx_err(EX_USAGE, "task '%s' given twice", tasks[i].name);
    return 0;
}

cx_value cx_task_to_value(const cx_task *t) {
    char spec[256];
    int len = snprintf(spec, sizeof spec, "%s:%s:%s", t->name, cx_task_kind_name(t->kind), t->field);
    if (t->kind == CX_TASK_MULTICLASS || t->kind == CX_TASK_CLUSTERING)
        len += snprintf(spec + len, sizeof spec - (size_t)len, ":%d", t->classes);
    snprintf(spec + len, sizeof spec - (size_t)len, ",weight=%.17g,loss=%s", t->weight, cx_task_loss_name(t->loss));
    return cx_str(spec);
}

int cx_task_from_value(const cx_value *v, cx_task *t) {
    if (!v || v->kind != CX_STR) return cx_err(EX_DATAERR, "task: not a string");
    if (cx_task_parse(v->u.s, t)) return cx_err(EX_DATAERR, "%s", cx_errmsg());
    return 0;
}

int cx_task_label(const cx_task *t, const cx_value *meta, double *label) {
    const cx_value *v = cx_map_get(meta, t->field);
    if (!v || v->kind == CX_NIL) return 0;
    double x;
    if (v->kind == CX_STR || !cx_value_number(v, &x) || !isfinite(x)) {
        cx_err(EX_DATAERR, "meta.%s: not a number (task %s)", t->field, t->name);
        return -1;
    }
    if (cx_task_is_classification(t) && (x != floor(x) || x < 0 || x >= t->classes)) {
        cx_err(EX_DATAERR, "meta.%s: %g is not a class 0..%d (task %s)", t->field, x, t->classes - 1, t->name);
        return -1;
    }
    *label = x;
    return 1;
}
