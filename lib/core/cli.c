#include "core/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"

static const cx_tool *current_tool;
static int saved_argc;
static char **saved_argv;

void cx_cli_init(const cx_tool *tool, int argc, char **argv) {
    current_tool = tool;
    /* a copy of the pointers: getopt_long permutes argv, and provenance records what was typed */
    saved_argc = argc;
    saved_argv = cx_malloc(((size_t)argc + 1) * sizeof *saved_argv);
    memcpy(saved_argv, argv, ((size_t)argc + 1) * sizeof *saved_argv);
    cx_set_progname(tool->name);
}

const cx_tool *cx_cli_tool(void) { return current_tool; }
int cx_cli_argc(void) { return saved_argc; }
char **cx_cli_argv(void) { return saved_argv; }

void cx_usage_error(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: ", cx_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; try '%s --help'\n", cx_progname());
    exit(EX_USAGE);
}

/* The option as the user typed it, for messages: getopt leaves it in argv[optind - 1]. */
static const char *offending(int argc, char **argv) {
    int at = optind - 1;
    return at >= 1 && at < argc ? argv[at] : "?";
}

int cx_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts) {
    opterr = 0;
    char spec[256];
    snprintf(spec, sizeof spec, ":%s", shortopts);   /* leading ':' tells a missing argument from an unknown option */
    int c = getopt_long(argc, argv, spec, longopts, NULL);
    switch (c) {
    case CX_OPT_HELP:
        printf("Usage: %s %s\n%s", current_tool->name, current_tool->summary, current_tool->usage);
        exit(0);
    case CX_OPT_VERSION:
        printf("%s (cxr-mtl) %s\n", current_tool->name, CX_VERSION);
        exit(0);
    case '?':
        if (optopt) cx_usage_error("unknown option '-%c'", optopt);
        cx_usage_error("unknown option '%s'", offending(argc, argv));
    case ':':   /* the option as typed: a long option's internal code means nothing to the user */
        cx_usage_error("option '%s' needs a value", offending(argc, argv));
    default: return c;
    }
}

bool cx_in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

int cx_split_list(const char *what, const char *list, char ***items) {
    int n = 0;
    *items = NULL;
    for (const char *p = list;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0) {
            cx_err(EX_USAGE, "%s: empty item in '%s'", what, list);
            goto fail;
        }
        char *item = cx_malloc(len + 1);
        memcpy(item, p, len);
        item[len] = 0;
        for (int i = 0; i < n; i++)
            if (!strcmp((*items)[i], item)) {
                cx_err(EX_USAGE, "%s: '%s' given twice", what, item);
                free(item);
                goto fail;
            }
        *items = cx_realloc(*items, sizeof **items * (size_t)(n + 1));
        (*items)[n++] = item;
        if (!end) return n;
        p = end + 1;
    }
fail:
    cx_free_list(*items, n);
    *items = NULL;
    return -1;
}

void cx_free_list(char **items, int n) {
    for (int i = 0; i < n; i++) free(items[i]);
    free(items);
}

int64_t cx_opt_int(const char *opt, const char *text, int64_t lo, int64_t hi) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || errno) cx_usage_error("%s: '%s' is not an integer", opt, text);
    if (v < lo || v > hi) cx_usage_error("%s: %lld is outside %lld..%lld", opt, v, (long long)lo, (long long)hi);
    return v;
}

double cx_opt_double(const char *opt, const char *text, double lo, double hi) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v)) cx_usage_error("%s: '%s' is not a number", opt, text);
    if (v < lo || v > hi) cx_usage_error("%s: %g is outside %g..%g", opt, v, lo, hi);
    return v;
}

double cx_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cx_progress_start(cx_progress *p, const char *what, int64_t total) {
    const char *force = getenv("CXR_PROGRESS");
    p->what = what;
    p->total = total;
    p->done = 0;
    p->t0 = p->last = cx_now();
    p->on = force ? !strcmp(force, "1") : isatty(STDERR_FILENO);
}

static void progress_draw(const cx_progress *p, double now) {
    double rate = p->done / fmax(now - p->t0, 1e-9);
    if (p->total > 0)
        fprintf(stderr, "\r%s: %s %lld/%lld (%.1f/s)  ", cx_progname(), p->what, (long long)p->done,
                (long long)p->total, rate);
    else
        fprintf(stderr, "\r%s: %s %lld (%.1f/s)  ", cx_progname(), p->what, (long long)p->done, rate);
}

void cx_progress_step(cx_progress *p, int64_t n) {
    p->done += n;
    if (!p->on) return;
    double now = cx_now();
    if (now - p->last < 0.25) return;
    p->last = now;
    progress_draw(p, now);
}

void cx_progress_end(cx_progress *p) {
    if (!p->on) return;
    progress_draw(p, cx_now());
    fputc('\n', stderr);
}
